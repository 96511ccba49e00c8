#include "msr_hook.h"

#include "arch/x86/msr.h"
#include "arch/x86/safe.h"
#include "core/marrow.h"
#include "core/msr_bitmap.h"
#include "core/spinlock.h"
#include "marrow/hypercall.h"
#include "platform/platform.h"
#include "vmx/host_idt.h"

/* Outside root mode the table changes under hooks_lock; root mode reads
 * only entries it sees live (release/acquire). A slot is never reused
 * while live, and its policy fields do not change while live. */
static struct mw_msr_hook hooks[MW_MSR_HOOKS_MAX];
static struct spinlock hooks_lock;
/* Hooks live: with none (the usual case) an MSR exit does not search. */
static volatile unsigned live_count;

static struct mw_msr_hook *find(uint32_t msr)
{
	if (!__atomic_load_n(&live_count, __ATOMIC_ACQUIRE))
		return NULL;
	for (unsigned i = 0; i < MW_MSR_HOOKS_MAX; i++)
		if (__atomic_load_n(&hooks[i].live, __ATOMIC_ACQUIRE) && hooks[i].msr == msr)
			return &hooks[i];
	return NULL;
}

/* FEATURE_CONTROL and the VMX capability MSRs are marrow's own answers
 * (vmx/exit_msr.c): a hook would make VMX visible again. */
static bool marrow_owns(uint32_t msr)
{
	return msr == MSR_IA32_FEATURE_CONTROL || (msr >= VMX_MSR_FIRST && msr <= VMX_MSR_LAST);
}

static enum mw_status refuse(struct mw_error *err, enum mw_status s, uint32_t msr, const char *why)
{
	mw_error_set(err, s, -1, MW_STEP_NONE, "MSR 0x%x: %s", msr, why);
	return s;
}

/* Whether the MSR exists, asked of root mode: its RDMSR has a fault fixup
 * on every platform (on Windows a #GP outside root mode is a bug check). */
static bool msr_exists(uint32_t msr)
{
	return mw_vmcall(MW_HC_READ_MSR, mw.cfg.hypercall_key, msr, 0, 0).status == MW_HC_OK;
}

enum mw_status mw_msr_hook(uint32_t msr, enum mw_msr_read_policy read,
			   enum mw_msr_write_policy write, uint64_t shadow,
			   struct mw_msr_hook **out, struct mw_error *err)
{
	if (!mw.active)
		return refuse(err, MW_ERR_NOT_VIRTUALIZED, msr, "marrow is not running");
	if (read > MW_MSR_READ_SHADOW || write > MW_MSR_WRITE_GP)
		return refuse(err, MW_ERR_BAD_ARGUMENT, msr, "unknown read or write policy");
	if (marrow_owns(msr))
		return refuse(err, MW_ERR_BAD_ARGUMENT, msr,
			      "marrow answers this MSR itself (VMX stays hidden)");
	if (!msr_exists(msr))
		return refuse(err, MW_ERR_BAD_ARGUMENT, msr, "the CPU has no such MSR");

	struct mw_msr_hook *h = NULL;
	spin_lock(&hooks_lock);
	bool exists = find(msr) != NULL;
	for (unsigned i = 0; !exists && !h && i < MW_MSR_HOOKS_MAX; i++)
		if (!hooks[i].live)
			h = &hooks[i];
	if (h) {
		h->msr = msr;
		h->read = read;
		h->write = write;
		h->shadow = shadow;
		h->reads = h->writes = 0;
		h->force_real = false;
		__atomic_store_n(&h->live, true, __ATOMIC_RELEASE);
		__atomic_fetch_add(&live_count, 1, __ATOMIC_RELEASE);
	}
	spin_unlock(&hooks_lock);
	if (!h)
		return exists ? refuse(err, MW_ERR_EXISTS, msr, "already hooked")
			      : refuse(err, MW_ERR_FULL, msr, "every MSR hook slot is in use");
	/* MSRs outside the bitmap's two ranges exit anyway (SDM 3C 25.6.9). */
	msr_bitmap_intercept(mw.msr_bitmap, msr, true, true);
	mw_sync_controls();
	*out = h;
	return MW_OK;
}

struct msr_write {
	uint32_t msr;
	uint64_t value;
};

static void write_on_cpu(void *arg)
{
	const struct msr_write *w = arg;
	wrmsr_safe(w->msr, w->value);
}

enum mw_status mw_msr_unhook(struct mw_msr_hook *h)
{
	if (!h || h < hooks || h >= hooks + MW_MSR_HOOKS_MAX || !h->live)
		return MW_ERR_NOT_FOUND;
	bool forced = h->force_real;
	if (forced) {
		/* The guest's value back into every CPU's MSR ... */
		h->real = h->shadow;
		mw_sync_controls();
		h->force_real = false;
	}
	msr_bitmap_release(mw.msr_bitmap, h->msr);
	mw_sync_controls();
	__atomic_store_n(&h->live, false, __ATOMIC_RELEASE);
	__atomic_fetch_sub(&live_count, 1, __ATOMIC_RELEASE);
	/* ... and a guest write that went into the shadow meanwhile, now
	 * directly (the MSR no longer exits). */
	if (forced && h->shadow != h->real) {
		struct msr_write w = { h->msr, h->shadow };
		platform_on_each_cpu(write_on_cpu, &w);
	}
	return MW_OK;
}

void msr_hooks_remove_all(void)
{
	for (unsigned i = 0; i < MW_MSR_HOOKS_MAX; i++)
		if (hooks[i].live)
			mw_msr_unhook(&hooks[i]);
}

void msr_hook_force_real(struct mw_msr_hook *h, uint64_t value)
{
	h->real = value;
	__atomic_store_n(&h->force_real, true, __ATOMIC_RELEASE);
	mw_sync_controls();
}

/* ---- root mode ---- */

enum msr_hook_action msr_hook_read(uint32_t msr, uint64_t *value)
{
	struct mw_msr_hook *h = find(msr);

	if (!h)
		return MSR_HOOK_NONE;
	__atomic_fetch_add(&h->reads, 1, __ATOMIC_RELAXED);
	if (h->read == MW_MSR_READ_SHADOW) {
		*value = h->shadow;
		return MSR_HOOK_DONE;
	}
	return MSR_HOOK_PASS;
}

enum msr_hook_action msr_hook_write(uint32_t msr, uint64_t value)
{
	struct mw_msr_hook *h = find(msr);

	if (!h)
		return MSR_HOOK_NONE;
	__atomic_fetch_add(&h->writes, 1, __ATOMIC_RELAXED);
	switch (h->write) {
	case MW_MSR_WRITE_SHADOW:
		h->shadow = value;
		return MSR_HOOK_DONE;
	case MW_MSR_WRITE_IGNORE:
		return MSR_HOOK_DONE;
	case MW_MSR_WRITE_GP:
		return MSR_HOOK_GP;
	default:
		return MSR_HOOK_PASS;
	}
}

void msr_hooks_sync(void)
{
	for (unsigned i = 0; i < MW_MSR_HOOKS_MAX; i++) {
		const struct mw_msr_hook *h = &hooks[i];
		if (__atomic_load_n(&h->live, __ATOMIC_ACQUIRE) && h->force_real)
			root_wrmsr(h->msr, h->real);
	}
}

void msr_hooks_restore(void)
{
	for (unsigned i = 0; i < MW_MSR_HOOKS_MAX; i++) {
		const struct mw_msr_hook *h = &hooks[i];
		if (__atomic_load_n(&h->live, __ATOMIC_ACQUIRE) && h->force_real)
			root_wrmsr(h->msr, h->shadow);
	}
}
