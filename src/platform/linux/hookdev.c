/* /dev/marrow's hook ioctls (include/marrow/linux_ioctl.h, 0x40-0x46):
 * counting inline hooks on kernel functions by name, MSR hooks, and the
 * syscall (LSTAR) hook with its per-syscall counts. The hooks themselves
 * are the core's (src/hook, docs/hooks.md); this file names them, keeps
 * the table marrowctl lists, and turns refusals into an errno and words.
 * Every change runs with CPU hotplug held off and mwl.lock held: a CPU
 * coming online takes on the hooks as they are. */
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <linux/cpu.h>
#include <linux/errno.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "hook/inline_hook.h"
#include "hook/lstar_hook.h"
#include "hook/msr_hook.h"
#include "hook/stub.h"
#include "mwl.h"
#include "mwl_hooks.h"
#include "mwl_ksym.h"

/* Hooks marrowctl added and has not removed. */
#define HOOKS_MAX 64

struct named_hook {
	bool live;
	char symbol[MW_IOC_SYMBOL_MAX];
	unsigned long address, patched_at;
	struct mw_inline_hook *h;
};

static struct named_hook hooks[HOOKS_MAX];
static struct mw_msr_hook *msr_hooks[MW_MSR_HOOKS_MAX];

static const u8 endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

static int status_errno(enum mw_status s)
{
	switch (s) {
	case MW_OK:
		return 0;
	case MW_ERR_NOT_VIRTUALIZED:
		return -ENXIO;
	case MW_ERR_UNSUPPORTED:
	case MW_ERR_NO_EPT:
		return -EOPNOTSUPP;
	case MW_ERR_BAD_ARGUMENT:
		return -EINVAL;
	case MW_ERR_EXISTS:
		return -EEXIST;
	case MW_ERR_NOT_FOUND:
		return -ENOENT;
	case MW_ERR_FULL:
		return -ENOSPC;
	case MW_ERR_BUSY:
		return -EBUSY;
	case MW_ERR_NO_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Fills error with the reason and returns ret. */
static __printf(3, 4) int refuse(char *error, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error, MW_IOC_ERROR_MAX, fmt, ap);
	va_end(ap);
	return ret;
}

static int core_refused(char *error, const struct mw_error *err)
{
	mw_error_format(err, error, MW_IOC_ERROR_MAX);
	return status_errno(err->status);
}

/* Reads the caller's structure, which must be at least ours (every field
 * is needed). */
static int get_in(void *dst, const void __user *arg, size_t size)
{
	uint32_t theirs;

	if (get_user(theirs, (const uint32_t __user *)arg))
		return -EFAULT;
	if (theirs < size)
		return -EINVAL;
	if (copy_from_user(dst, arg, size))
		return -EFAULT;
	*(uint32_t *)dst = size;
	return 0;
}

/* Copies the structure back (reason included) and returns ret. */
static long put_out(void __user *arg, const void *src, size_t size, int ret)
{
	return copy_to_user(arg, src, size) ? -EFAULT : ret;
}

static struct named_hook *find_hook(const char *symbol, unsigned long address)
{
	for (unsigned i = 0; i < HOOKS_MAX; i++)
		if (hooks[i].live &&
		    (symbol ? !strcmp(hooks[i].symbol, symbol) : hooks[i].address == address))
			return &hooks[i];
	return NULL;
}

static int hook_add_locked(struct mw_ioc_hook *req)
{
	char *error = req->error;
	u8 head[5];

	if (!mwl_active())
		return refuse(error, -ENXIO, "marrow is inactive");
	if (!req->symbol[0])
		return refuse(error, -EINVAL, "no symbol given");
	unsigned long addr = mwl_ksym(req->symbol);
	if (!addr)
		return refuse(error, -ENOENT, "no kernel symbol '%s' (see /proc/kallsyms)",
			      req->symbol);
	req->address = addr;
	const char *why = mwl_ksym_refuse(addr);
	if (why)
		return refuse(error, -EINVAL, "%s at 0x%lx: %s", req->symbol, addr, why);
	if (find_hook(NULL, addr))
		return refuse(error, -EEXIST, "%s is already hooked", req->symbol);
	struct named_hook *slot = NULL;
	for (unsigned i = 0; i < HOOKS_MAX && !slot; i++)
		if (!hooks[i].live)
			slot = &hooks[i];
	if (!slot)
		return refuse(error, -ENOSPC,
			      "%d hooks are installed already, the most marrow.ko "
			      "keeps",
			      HOOKS_MAX);
	if (copy_from_kernel_nofault(head, (const void *)addr, sizeof(head)))
		return refuse(error, -EINVAL, "%s at 0x%lx: cannot read its bytes", req->symbol,
			      addr);
	/* With indirect branch tracking an indirect call must land on the
	 * ENDBR64: the jump goes after it. */
	unsigned long at = addr;
	if (!memcmp(head, endbr64, sizeof(endbr64)))
		at += sizeof(endbr64);
	if (head[at - addr] == 0xcc)
		return refuse(error, -EBUSY,
			      "%s at 0x%lx: an INT3 is there (a kprobe or a debugger's breakpoint)",
			      req->symbol, at);
	struct mw_error err;
	struct mw_inline_hook *h;
	enum mw_status s = mw_hook_install_counting((void *)at, &h, &err);
	if (s != MW_OK) {
		int ret = core_refused(error, &err);
		size_t n = strlen(error);
		snprintf(error + n, MW_IOC_ERROR_MAX - n, " (%s)", req->symbol);
		return ret;
	}
	slot->live = true;
	strscpy(slot->symbol, req->symbol, sizeof(slot->symbol));
	slot->address = addr;
	slot->patched_at = at;
	slot->h = h;
	req->patched_at = at;
	req->hits = 0;
	pr_info("marrow: hooked %s at 0x%lx (counting calls)\n", req->symbol, at);
	return 0;
}

static int hook_remove_locked(struct mw_ioc_hook *req)
{
	struct named_hook *nh = find_hook(req->symbol, 0);

	if (!mwl_active())
		return refuse(req->error, -ENXIO, "marrow is inactive");
	if (!nh)
		return refuse(req->error, -ENOENT, "%s is not hooked", req->symbol);
	enum mw_status s = mw_hook_remove(nh->h);
	if (s != MW_OK)
		return refuse(req->error, status_errno(s), "%s: %s", req->symbol, mw_status_str(s));
	req->address = nh->address;
	req->patched_at = nh->patched_at;
	req->hits = mw_hook_hits(nh->h);
	nh->live = false;
	pr_info("marrow: unhooked %s after %llu calls\n", req->symbol,
		(unsigned long long)req->hits);
	return 0;
}

/* Runs fn under the hook locks; copies the structure back either way. */
static long hook_call(void __user *arg, int (*fn)(struct mw_ioc_hook *))
{
	struct mw_ioc_hook *req = kzalloc(sizeof(*req), GFP_KERNEL);
	int ret;

	if (!req)
		return -ENOMEM;
	ret = get_in(req, arg, sizeof(*req));
	if (ret) {
		kfree(req);
		return ret;
	}
	req->symbol[sizeof(req->symbol) - 1] = '\0';
	memset(req->error, 0, sizeof(req->error));
	mwl_lock_all();
	ret = fn(req);
	mwl_unlock_all();
	long r = put_out(arg, req, sizeof(*req), ret);
	kfree(req);
	return r;
}

/* The list protocol shared by inline and MSR hooks: count out, entries
 * into the user's buffer up to its capacity. */
struct list_req {
	uint32_t size, count;
	uint64_t buffer, capacity;
};

static long hook_list(void __user *arg)
{
	struct list_req req;
	struct mw_ioc_hook *e = kzalloc(sizeof(*e), GFP_KERNEL);
	int ret = 0;

	BUILD_BUG_ON(sizeof(struct list_req) != sizeof(struct mw_ioc_hook_list));
	if (!e)
		return -ENOMEM;
	ret = get_in(&req, arg, sizeof(req));
	if (ret)
		goto out;
	req.count = 0;
	mutex_lock(&mwl.lock);
	for (unsigned i = 0; i < HOOKS_MAX && !ret; i++) {
		if (!hooks[i].live || !mwl_active())
			continue;
		if (req.count < req.capacity) {
			memset(e, 0, sizeof(*e));
			strscpy(e->symbol, hooks[i].symbol, sizeof(e->symbol));
			e->address = hooks[i].address;
			e->patched_at = hooks[i].patched_at;
			e->hits = mw_hook_hits(hooks[i].h);
			if (copy_to_user(u64_to_user_ptr(req.buffer) + req.count * sizeof(*e), e,
					 sizeof(*e)))
				ret = -EFAULT;
		}
		req.count++;
	}
	mutex_unlock(&mwl.lock);
	if (!ret)
		ret = put_out(arg, &req, sizeof(req), 0);
out:
	kfree(e);
	return ret;
}

/* MSRs exist only in the two ranges the VMX MSR bitmap covers (SDM 3C
 * 25.6.9) on Intel CPUs; an index elsewhere is a typo. */
static bool msr_index_plausible(uint32_t msr)
{
	return msr <= 0x1fff || (msr >= 0xc0000000 && msr <= 0xc0001fff);
}

static struct mw_msr_hook **find_msr(uint32_t msr)
{
	for (unsigned i = 0; i < MW_MSR_HOOKS_MAX; i++)
		if (msr_hooks[i] && msr_hooks[i]->msr == msr)
			return &msr_hooks[i];
	return NULL;
}

static void msr_fill(struct mw_ioc_msr_hook *out, const struct mw_msr_hook *h)
{
	out->msr = h->msr;
	out->read = h->read;
	out->write = h->write;
	out->shadow = h->shadow;
	out->reads = h->reads;
	out->writes = h->writes;
}

static int msr_add_locked(struct mw_ioc_msr_hook *req)
{
	char *error = req->error;

	if (!mwl_active())
		return refuse(error, -ENXIO, "marrow is inactive");
	if (!msr_index_plausible(req->msr))
		return refuse(error, -EINVAL,
			      "MSR 0x%x: no such MSR index (Intel MSRs are 0-0x1fff and "
			      "0xc0000000-0xc0001fff)",
			      req->msr);
	if (req->read > MW_IOC_MSR_READ_SHADOW || req->write > MW_IOC_MSR_WRITE_GP)
		return refuse(error, -EINVAL, "MSR 0x%x: unknown read or write policy", req->msr);
	if (find_msr(req->msr))
		return refuse(error, -EEXIST, "MSR 0x%x is already hooked", req->msr);
	struct mw_msr_hook **slot = NULL;
	for (unsigned i = 0; i < MW_MSR_HOOKS_MAX && !slot; i++)
		if (!msr_hooks[i])
			slot = &msr_hooks[i];
	if (!slot)
		return refuse(error, -ENOSPC, "MSR 0x%x: no MSR hook slot left", req->msr);
	struct mw_error err;
	enum mw_status s = mw_msr_hook(req->msr, req->read, req->write, req->shadow, slot, &err);
	if (s != MW_OK) {
		*slot = NULL;
		return core_refused(error, &err);
	}
	msr_fill(req, *slot);
	pr_info("marrow: MSR 0x%x hooked\n", req->msr);
	return 0;
}

static int msr_remove_locked(struct mw_ioc_msr_hook *req)
{
	struct mw_msr_hook **slot = find_msr(req->msr);

	if (!mwl_active())
		return refuse(req->error, -ENXIO, "marrow is inactive");
	if (!slot)
		return refuse(req->error, -ENOENT, "MSR 0x%x is not hooked", req->msr);
	msr_fill(req, *slot);
	enum mw_status s = mw_msr_unhook(*slot);
	if (s != MW_OK)
		return refuse(req->error, status_errno(s), "MSR 0x%x: %s", req->msr,
			      mw_status_str(s));
	*slot = NULL;
	pr_info("marrow: MSR 0x%x unhooked\n", req->msr);
	return 0;
}

static long msr_call(void __user *arg, int (*fn)(struct mw_ioc_msr_hook *))
{
	struct mw_ioc_msr_hook req;
	int ret = get_in(&req, arg, sizeof(req));

	if (ret)
		return ret;
	memset(req.error, 0, sizeof(req.error));
	mwl_lock_all();
	ret = fn(&req);
	mwl_unlock_all();
	return put_out(arg, &req, sizeof(req), ret);
}

static long msr_list(void __user *arg)
{
	struct list_req req;
	struct mw_ioc_msr_hook e;
	int ret = get_in(&req, arg, sizeof(req));

	BUILD_BUG_ON(sizeof(struct list_req) != sizeof(struct mw_ioc_msr_hook_list));
	if (ret)
		return ret;
	req.count = 0;
	mutex_lock(&mwl.lock);
	for (unsigned i = 0; i < MW_MSR_HOOKS_MAX && !ret; i++) {
		if (!msr_hooks[i] || !mwl_active())
			continue;
		if (req.count < req.capacity) {
			memset(&e, 0, sizeof(e));
			msr_fill(&e, msr_hooks[i]);
			if (copy_to_user(u64_to_user_ptr(req.buffer) + req.count * sizeof(e), &e,
					 sizeof(e)))
				ret = -EFAULT;
		}
		req.count++;
	}
	mutex_unlock(&mwl.lock);
	return ret ? ret : put_out(arg, &req, sizeof(req), 0);
}

static int copy_counts(uint64_t user)
{
	uint64_t *c;
	int ret = 0;

	if (!user)
		return 0;
	c = kcalloc(MW_IOC_SYSCALLS_MAX, sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	BUILD_BUG_ON(MW_IOC_SYSCALLS_MAX != STUB_SYSCALLS + 1);
	for (unsigned i = 0; i < MW_IOC_SYSCALLS_MAX; i++)
		c[i] = mw_syscall_count(i);
	if (copy_to_user(u64_to_user_ptr(user), c, MW_IOC_SYSCALLS_MAX * sizeof(*c)))
		ret = -EFAULT;
	kfree(c);
	return ret;
}

static int syscalls_locked(struct mw_ioc_syscalls *req)
{
	char *error = req->error;
	struct mw_error err;
	int ret = 0;

	if (!mwl_active())
		return refuse(error, -ENXIO, "marrow is inactive");
	switch (req->op) {
	case MW_IOC_SYSCALLS_QUERY:
		break;
	case MW_IOC_SYSCALLS_ON:
		/* Under KPTI, SYSCALL enters on the user page tables, which
		 * map the kernel's entry trampoline only: a stub in module
		 * text would fault before the kernel's CR3 switch. */
		if (boot_cpu_has(X86_FEATURE_PTI))
			return refuse(error, -EOPNOTSUPP,
				      "kernel page-table isolation is on: the syscall entry runs "
				      "on the user page tables, which do not map marrow's stub "
				      "(boot with pti=off to use the syscall hook)");
		if (mw_lstar_stub())
			return refuse(error, -EEXIST, "the syscall hook is already on");
		if (mw_lstar_hook(&err) != MW_OK)
			return core_refused(error, &err);
		pr_info("marrow: syscall (LSTAR) hook on\n");
		break;
	case MW_IOC_SYSCALLS_OFF:
		if (!mw_lstar_stub())
			return refuse(error, -ENOENT, "the syscall hook is not on");
		/* The final counts, before they go with the hook. */
		ret = copy_counts(req->counts);
		req->counts = 0;
		req->entry = mw_lstar_guest_entry();
		mw_lstar_unhook();
		pr_info("marrow: syscall (LSTAR) hook off\n");
		break;
	default:
		return refuse(error, -EINVAL, "unknown operation %u", req->op);
	}
	req->stub = mw_lstar_stub();
	req->on = req->stub != 0;
	if (req->on)
		req->entry = mw_lstar_guest_entry();
	else if (req->op != MW_IOC_SYSCALLS_OFF)
		rdmsrl(MSR_LSTAR, req->entry);
	if (!ret)
		ret = copy_counts(req->counts);
	return ret;
}

static long syscalls_call(void __user *arg)
{
	struct mw_ioc_syscalls req;
	int ret = get_in(&req, arg, sizeof(req));

	if (ret)
		return ret;
	memset(req.error, 0, sizeof(req.error));
	mwl_lock_all();
	ret = syscalls_locked(&req);
	mwl_unlock_all();
	return put_out(arg, &req, sizeof(req), ret);
}

long mwl_hook_ioctl(unsigned int cmd, void __user *arg)
{
	switch (cmd) {
	case MW_IOC_HOOK_ADD:
		return hook_call(arg, hook_add_locked);
	case MW_IOC_HOOK_REMOVE:
		return hook_call(arg, hook_remove_locked);
	case MW_IOC_HOOK_LIST:
		return hook_list(arg);
	case MW_IOC_MSR_HOOK_ADD:
		return msr_call(arg, msr_add_locked);
	case MW_IOC_MSR_HOOK_REMOVE:
		return msr_call(arg, msr_remove_locked);
	case MW_IOC_MSR_HOOK_LIST:
		return msr_list(arg);
	case MW_IOC_SYSCALLS:
		return syscalls_call(arg);
	default:
		return -ENOTTY;
	}
}

void mwl_hooks_forget_locked(void)
{
	lockdep_assert_held(&mwl.lock);
	memset(hooks, 0, sizeof(hooks));
	memset(msr_hooks, 0, sizeof(msr_hooks));
}

void mwl_hooks_counts_locked(unsigned *inline_hooks, unsigned *msr, bool *syscalls)
{
	*inline_hooks = *msr = 0;
	for (unsigned i = 0; i < HOOKS_MAX; i++)
		*inline_hooks += hooks[i].live;
	for (unsigned i = 0; i < MW_MSR_HOOKS_MAX; i++)
		*msr += msr_hooks[i] != NULL;
	*syscalls = mwl_active() && mw_lstar_stub();
}
