/* MSR hooks, the LSTAR syscall hook and exception interception as the
 * guest meets them: each policy on every CPU, the real MSR underneath, the
 * guest's LSTAR kept through a hook, a devirtualization and a guest's own
 * WRMSR, SYSCALLs from ring 3 counted by number, and an intercepted #BP
 * taken, skipped or passed on. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "arch/x86/safe.h"
#include "core/mw_string.h"
#include "hook/exception_hook.h"
#include "hook/lstar_hook.h"
#include "hook/msr_hook.h"
#include "platform/platform.h"
#include "src/platform/baremetal/boot_layout.h"
#include "src/platform/baremetal/user.h"
#include "vmx_util.h"

static uint64_t real_msr(uint32_t msr)
{
	struct mw_hc_result r = vt_call(MW_HC_READ_MSR, msr, 0, 0);
	GT_ASSERT_EQ(r.status, MW_HC_OK);
	return r.rdx;
}

static struct mw_msr_hook *msr_hook_ok(uint32_t msr, enum mw_msr_read_policy rd,
				       enum mw_msr_write_policy wr, uint64_t shadow)
{
	struct mw_msr_hook *h = NULL;
	struct mw_error err;
	if (mw_msr_hook(msr, rd, wr, shadow, &h, &err) != MW_OK) {
		char msg[256];
		mw_error_format(&err, msg, sizeof(msg));
		gt_fail(__FILE__, __LINE__, "mw_msr_hook: %s", msg);
	}
	return h;
}

static bool reads(void *arg)
{
	return rdmsr(MSR_IA32_SYSENTER_ESP) == *(const uint64_t *)arg;
}

GUEST_TEST(hook, msr_hook_policies_hold_on_every_cpu)
{
	const uint32_t m = MSR_IA32_SYSENTER_ESP; /* held in the VMCS */
	uint64_t native = rdmsr(m), want;

	vt_up(NULL);
	struct mw_msr_hook *h = msr_hook_ok(m, MW_MSR_READ_SHADOW, MW_MSR_WRITE_SHADOW, 0x1234000);
	want = 0x1234000;
	vt_on_each_cpu_ok(reads, &want, "RDMSR returns the shadow");
	wrmsr(m, 0x5678000);
	want = 0x5678000;
	vt_on_each_cpu_ok(reads, &want, "WRMSR went into the shadow");
	GT_ASSERT_EQ(real_msr(m), native);
	GT_ASSERT(h->reads >= 2 * platform_cpu_count());
	GT_ASSERT_EQ(h->writes, 1);
	GT_ASSERT_EQ(mw_msr_unhook(h), MW_OK);
	GT_ASSERT_EQ(rdmsr(m), native);

	h = msr_hook_ok(m, MW_MSR_READ_PASS, MW_MSR_WRITE_GP, 0);
	GT_ASSERT(!wrmsr_safe(m, 0x9000));
	GT_ASSERT_EQ(rdmsr(m), native);
	GT_ASSERT_EQ(mw_msr_unhook(h), MW_OK);

	h = msr_hook_ok(m, MW_MSR_READ_PASS, MW_MSR_WRITE_IGNORE, 0);
	GT_ASSERT(wrmsr_safe(m, 0x9000));
	GT_ASSERT_EQ(rdmsr(m), native);
	GT_ASSERT_EQ(mw_msr_unhook(h), MW_OK);

	h = msr_hook_ok(m, MW_MSR_READ_PASS, MW_MSR_WRITE_PASS, 0);
	wrmsr(m, 0xa000);
	GT_ASSERT_EQ(rdmsr(m), 0xa000);
	GT_ASSERT_EQ(real_msr(m), 0xa000);
	GT_ASSERT_EQ(h->writes, 1);
	GT_ASSERT_EQ(mw_msr_unhook(h), MW_OK);
	wrmsr(m, native);

	/* An MSR root mode reaches directly: the guest's own, not the VMCS. */
	const uint32_t k = MSR_IA32_KERNEL_GS_BASE;
	uint64_t kgs = rdmsr(k);
	h = msr_hook_ok(k, MW_MSR_READ_PASS, MW_MSR_WRITE_SHADOW, 0);
	wrmsr(k, 0x777000);
	GT_ASSERT_EQ(rdmsr(k), kgs);
	GT_ASSERT_EQ(h->shadow, 0x777000);
	GT_ASSERT_EQ(mw_msr_unhook(h), MW_OK);
	vt_down();
}

static void expect_msr_refusal(uint32_t msr, enum mw_status want, const char *what)
{
	struct mw_msr_hook *h;
	struct mw_error err;
	enum mw_status s = mw_msr_hook(msr, MW_MSR_READ_SHADOW, MW_MSR_WRITE_SHADOW, 0, &h, &err);
	char msg[256];
	mw_error_format(&err, msg, sizeof(msg));
	if (s != want)
		gt_fail(__FILE__, __LINE__, "%s: %s, not %s", what, mw_status_str(s),
			mw_status_str(want));
	gt_note("%s: %s", what, msg);
}

GUEST_TEST(hook, bad_msr_hooks_are_refused_with_a_reason)
{
	expect_msr_refusal(MSR_IA32_SYSENTER_ESP, MW_ERR_NOT_VIRTUALIZED, "not running");
	vt_up(NULL);
	expect_msr_refusal(MSR_IA32_FEATURE_CONTROL, MW_ERR_BAD_ARGUMENT, "IA32_FEATURE_CONTROL");
	expect_msr_refusal(0x480, MW_ERR_BAD_ARGUMENT, "IA32_VMX_BASIC");
	expect_msr_refusal(0xdeadbeef, MW_ERR_BAD_ARGUMENT, "an MSR that does not exist");
	struct mw_msr_hook *h =
		msr_hook_ok(MSR_IA32_SYSENTER_ESP, MW_MSR_READ_PASS, MW_MSR_WRITE_PASS, 0);
	expect_msr_refusal(MSR_IA32_SYSENTER_ESP, MW_ERR_EXISTS, "hooked twice");
	GT_ASSERT_EQ(mw_msr_unhook(h), MW_OK);
	GT_ASSERT_EQ(mw_msr_unhook(h), MW_ERR_NOT_FOUND);
	GT_ASSERT_EQ(mw_msr_unhook(NULL), MW_ERR_NOT_FOUND);
	vt_down();
}

/* Two syscall entries of the test's own: count, return to ring 3 (the user
 * stack is kept; nothing here needs a kernel stack). */
volatile uint64_t hk_syscalls, hk_syscalls2;
void hk_syscall_entry(void);
void hk_syscall_entry2(void);
__asm__(".pushsection .text\n"
	".globl hk_syscall_entry\n"
	"hk_syscall_entry:\n\t"
	"lock incq hk_syscalls(%rip)\n\t"
	"sysretq\n"
	".globl hk_syscall_entry2\n"
	"hk_syscall_entry2:\n\t"
	"lock incq hk_syscalls2(%rip)\n\t"
	"sysretq\n"
	".popsection\n");

/* mov eax, 7; syscall; mov eax, 9; syscall; mov eax, 600; syscall; hlt */
static const uint8_t user_syscalls[] = { 0xb8, 7, 0, 0,	   0,	 0x0f, 0x05, 0xb8,
					 9,    0, 0, 0,	   0x0f, 0x05, 0xb8, 0x58,
					 0x02, 0, 0, 0x0f, 0x05, 0xf4 };

struct syscall_msrs {
	uint64_t efer, star, lstar, fmask;
};

static void set_syscall_msrs(void *arg)
{
	const struct syscall_msrs *m = arg;
	wrmsr(MSR_IA32_EFER, m->efer);
	wrmsr(MSR_IA32_STAR, m->star);
	wrmsr(MSR_IA32_LSTAR, m->lstar);
	wrmsr(MSR_IA32_FMASK, m->fmask);
}

static bool lstar_reads(void *arg)
{
	return rdmsr(MSR_IA32_LSTAR) == *(const uint64_t *)arg;
}

static void run_user_syscalls(void)
{
	struct trap_info t;
	GT_ASSERT(user_run(user_syscalls, sizeof(user_syscalls), &t));
	GT_ASSERT_EQ(t.vector, VEC_GP); /* the HLT at the end */
	GT_ASSERT_EQ(t.rip, sizeof(user_syscalls) - 1);
}

GUEST_TEST(hook, the_lstar_hook_counts_syscalls_while_the_guest_sees_its_entry)
{
	struct syscall_msrs saved = { rdmsr(MSR_IA32_EFER), rdmsr(MSR_IA32_STAR),
				      rdmsr(MSR_IA32_LSTAR), rdmsr(MSR_IA32_FMASK) };
	/* SYSCALL enters CS 08H/SS 10H; SYSRET returns to CS 2BH/SS 23H. */
	struct syscall_msrs test = { saved.efer | EFER_SCE,
				     ((uint64_t)SEL_UCODE32 << 48) | ((uint64_t)SEL_KCODE << 32),
				     (uint64_t)(uintptr_t)hk_syscall_entry, RFLAGS_TF | RFLAGS_IF };
	uint64_t entry = test.lstar, entry2 = (uint64_t)(uintptr_t)hk_syscall_entry2;
	struct mw_error err;

	platform_on_each_cpu(set_syscall_msrs, &test);
	hk_syscalls = hk_syscalls2 = 0;
	run_user_syscalls();
	GT_ASSERT_EQ(hk_syscalls, 3);

	vt_up(NULL);
	GT_ASSERT_EQ(mw_lstar_hook(&err), MW_OK);
	GT_ASSERT_EQ(mw_lstar_hook(&err), MW_ERR_EXISTS);
	vt_on_each_cpu_ok(lstar_reads, &entry, "RDMSR(LSTAR) is the guest's entry");
	GT_ASSERT_EQ(real_msr(MSR_IA32_LSTAR), mw_lstar_stub());
	GT_ASSERT_EQ(mw_lstar_guest_entry(), entry);
	run_user_syscalls();
	GT_ASSERT_EQ(hk_syscalls, 6);
	GT_ASSERT_EQ(mw_syscall_count(7), 1);
	GT_ASSERT_EQ(mw_syscall_count(9), 1);
	GT_ASSERT_EQ(mw_syscall_count(8), 0);
	GT_ASSERT_EQ(mw_syscall_count(600), 1); /* the slot for numbers past the table */
	/* The guest moves its entry: the stub follows, reads show it. */
	wrmsr(MSR_IA32_LSTAR, entry2);
	vt_on_each_cpu_ok(lstar_reads, &entry2, "RDMSR(LSTAR) is the new entry");
	GT_ASSERT_EQ(real_msr(MSR_IA32_LSTAR), mw_lstar_stub());
	run_user_syscalls();
	GT_ASSERT_EQ(hk_syscalls2, 3);
	GT_ASSERT_EQ(mw_syscall_count(7), 2);
	GT_ASSERT_EQ(mw_lstar_unhook(), MW_OK);
	GT_ASSERT_EQ(mw_lstar_unhook(), MW_ERR_NOT_FOUND);
	GT_ASSERT_EQ(real_msr(MSR_IA32_LSTAR), entry2);
	vt_on_each_cpu_ok(lstar_reads, &entry2, "LSTAR is the guest's after unhooking");
	run_user_syscalls();
	GT_ASSERT_EQ(hk_syscalls2, 6);
	GT_ASSERT_EQ(mw_syscall_count(7), 0);

	/* Leaving with the hook in place gives the guest its LSTAR back: by
	 * marrow's teardown, and by a guest's MW_HC_DEVIRTUALIZE_ALL. */
	test.lstar = entry;
	platform_on_each_cpu(set_syscall_msrs, &test);
	GT_ASSERT_EQ(mw_lstar_hook(&err), MW_OK);
	vt_down();
	vt_on_each_cpu_ok(lstar_reads, &entry, "LSTAR after devirtualizing");
	vt_up(NULL);
	GT_ASSERT_EQ(mw_lstar_hook(&err), MW_OK);
	GT_ASSERT_EQ(vt_call(MW_HC_DEVIRTUALIZE_ALL, 0, 0, 0).status, MW_HC_OK);
	for (uint32_t i = 0; i < 10000000 && mw_virtualized_count(); i++)
		cpu_pause(); /* the others leave at marrow's NMI */
	GT_ASSERT_EQ(mw_virtualized_count(), 0);
	vt_on_each_cpu_ok(lstar_reads, &entry, "LSTAR after MW_HC_DEVIRTUALIZE_ALL");
	GT_ASSERT_EQ(mw_devirtualize_all(), MW_OK);
	run_user_syscalls();
	GT_ASSERT_EQ(hk_syscalls, 9);
	platform_on_each_cpu(set_syscall_msrs, &saved);
}

/* ---- exception interception ---- */

void hk_int3(void *arg);
__asm__(".pushsection .text\n"
	".globl hk_int3\n"
	"hk_int3:\n\t"
	"int3\n\t"
	"ret\n"
	".popsection\n");

static volatile enum mw_exception_verdict bp_verdict;
static volatile uint64_t bp_seen, bp_rip;

static enum mw_exception_verdict on_bp(struct vcpu *v, const struct mw_exception_event *e)
{
	(void)v;
	__atomic_fetch_add(&bp_seen, 1, __ATOMIC_RELAXED);
	bp_rip = e->rip;
	return bp_verdict;
}

static bool int3_is_skipped(void *arg)
{
	(void)arg;
	return gt_trap_of(hk_int3, NULL, NULL) == -1;
}

GUEST_TEST(hook, an_intercepted_breakpoint_is_handled_skipped_or_passed_on)
{
	unsigned cpus = platform_cpu_count();

	GT_ASSERT_EQ(gt_trap_of(hk_int3, NULL, NULL), VEC_BP);
	vt_up(NULL);
	bp_seen = 0;
	bp_verdict = MW_EXC_SKIP;
	GT_ASSERT_EQ(mw_exception_hook(VEC_BP, on_bp), MW_OK);
	GT_ASSERT_EQ(mw_exception_hook(VEC_BP, on_bp), MW_ERR_EXISTS);
	vt_on_each_cpu_ok(int3_is_skipped, NULL, "INT3 handled by the hook");
	GT_ASSERT_EQ(bp_seen, cpus);
	GT_ASSERT_EQ(bp_rip, (uint64_t)(uintptr_t)hk_int3);
	/* Passed on: the guest takes its #BP, after the INT3, as always. */
	bp_verdict = MW_EXC_REFLECT;
	struct trap_info t;
	GT_ASSERT_EQ(gt_trap_of(hk_int3, NULL, &t), VEC_BP);
	GT_ASSERT_EQ(t.rip, (uint64_t)(uintptr_t)hk_int3 + 1);
	GT_ASSERT_EQ(bp_seen, cpus + 1);
	GT_ASSERT_EQ(mw_exception_unhook(VEC_BP), MW_OK);
	GT_ASSERT_EQ(mw_exception_unhook(VEC_BP), MW_ERR_NOT_FOUND);
	GT_ASSERT_EQ(gt_trap_of(hk_int3, NULL, NULL), VEC_BP);
	GT_ASSERT_EQ(bp_seen, cpus + 1);
	GT_ASSERT_EQ(mw_exception_hook(VEC_NMI, on_bp), MW_ERR_BAD_ARGUMENT);
	GT_ASSERT_EQ(mw_exception_hook(32, on_bp), MW_ERR_BAD_ARGUMENT);
	GT_ASSERT_EQ(mw_exception_hook(VEC_UD, NULL), MW_ERR_BAD_ARGUMENT);
	vt_down();
}
