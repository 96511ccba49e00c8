/* Bringing every CPU under marrow and back: all or nothing, with every
 * page returned, the failure of any CPU at any step reported by CPU, step
 * and reason, and many cycles in a row. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "core/fmt.h"
#include "core/mw_string.h"
#include "platform/platform.h"
#include "src/platform/baremetal/platform_bm.h"
#include "vmx_util.h"

static bool ping_answers(void *arg)
{
	(void)arg;
	struct mw_hc_result r = vt_call(MW_HC_PING, 0, 0, 0);
	return r.status == MW_HC_OK && r.rdx == MW_HC_SIGNATURE &&
	       (r.r8 >> 32) == platform_cpu_index() &&
	       (r.r8 & 0xffffffff) == ((MW_HC_VERSION_MAJOR << 16) | MW_HC_VERSION_MINOR);
}

static void do_ping(void *arg)
{
	(void)arg;
	vt_call(MW_HC_PING, 0, 0, 0);
}

static bool ping_raises_ud(void *arg)
{
	(void)arg;
	return gt_trap_of(do_ping, NULL, NULL) == VEC_UD;
}

GUEST_TEST(vmx_launch, every_cpu_runs_as_guest_then_natively_again)
{
	uint64_t free_before = bm_free_page_count();

	vt_on_each_cpu_ok(ping_raises_ud, NULL, "VMCALL before marrow");
	vt_up(NULL);
	GT_ASSERT(bm_free_page_count() < free_before);
	vt_on_each_cpu_ok(ping_answers, NULL, "ping under marrow");
	vt_down();
	vt_on_each_cpu_ok(ping_raises_ud, NULL, "VMCALL after marrow");
	GT_ASSERT_EQ(bm_free_page_count(), free_before);
}

GUEST_TEST(vmx_launch, the_kernel_state_survives_the_round_trip)
{
	uint64_t cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();
	uint64_t efer = rdmsr(0xc0000080), gs_base = rdmsr(0xc0000101);
	struct desc_ptr gdt = sgdt(), idt = sidt();
	uint16_t tr = str();

	vt_up(NULL);
	/* The guest reads back what it had, VMXE included. */
	GT_ASSERT_EQ(read_cr0(), cr0);
	GT_ASSERT_EQ(read_cr4(), cr4);
	GT_ASSERT_EQ(read_cr3(), cr3);
	vt_down();
	GT_ASSERT_EQ(read_cr0(), cr0);
	GT_ASSERT_EQ(read_cr3(), cr3);
	GT_ASSERT_EQ(read_cr4(), cr4);
	GT_ASSERT_EQ(rdmsr(0xc0000080), efer);
	GT_ASSERT_EQ(rdmsr(0xc0000101), gs_base);
	struct desc_ptr gdt2 = sgdt(), idt2 = sidt();
	GT_ASSERT_EQ(gdt2.base, gdt.base);
	GT_ASSERT_EQ(gdt2.limit, gdt.limit);
	GT_ASSERT_EQ(idt2.base, idt.base);
	GT_ASSERT_EQ(idt2.limit, idt.limit);
	GT_ASSERT_EQ(str(), tr);
}

GUEST_TEST(vmx_launch, twice_is_refused_and_devirtualize_without_marrow_too)
{
	struct mw_config cfg;
	struct mw_error err;

	GT_ASSERT_EQ(mw_devirtualize_all(), MW_ERR_NOT_VIRTUALIZED);
	vt_up(NULL);
	vt_config(&cfg);
	GT_ASSERT_EQ(mw_virtualize_all(&cfg, &err), MW_ERR_ALREADY);
	GT_ASSERT_EQ(mw_virtualized_count(), platform_cpu_count());
	vt_down();
}

/* Fault injection: the chosen CPU fails at the chosen step; marrow must
 * report exactly that and leave no CPU virtualized and no page taken. */
GUEST_TEST(vmx_launch, a_failure_on_any_cpu_at_any_step_is_rolled_back)
{
	unsigned victim = platform_cpu_count() - 1;
	uint64_t free_before = bm_free_page_count();

	for (int step = MW_STEP_SUPPORT; step < MW_STEP_COUNT; step++) {
		struct mw_config cfg;
		struct mw_error err;
		char msg[160], want[32];

		vt_config(&cfg);
		cfg.fault_cpu = (int)victim;
		cfg.fault_step = (enum mw_step)step;
		GT_ASSERT_EQ(mw_virtualize_all(&cfg, &err), MW_ERR_INJECTED);
		GT_ASSERT_EQ(err.cpu, victim);
		GT_ASSERT_EQ(err.step, step);
		GT_ASSERT_EQ(mw_virtualized_count(), 0);
		GT_ASSERT(!mw.active);
		GT_ASSERT_EQ(bm_free_page_count(), free_before);
		mw_error_format(&err, msg, sizeof(msg));
		mw_snprintf(want, sizeof(want), "cpu %u: %s:", victim, mw_step_str(err.step));
		GT_ASSERT_EQ(strncmp(msg, want, strlen(want)), 0);
		vt_on_each_cpu_ok(ping_raises_ud, NULL, "VMCALL after a failed launch");
	}
	/* And a clean launch still works afterwards. */
	vt_up(NULL);
	vt_down();
	GT_ASSERT_EQ(bm_free_page_count(), free_before);
}

GUEST_TEST(vmx_launch, step_names_round_trip)
{
	for (int s = MW_STEP_SUPPORT; s < MW_STEP_COUNT; s++)
		GT_ASSERT_EQ(mw_step_from_name(mw_step_str((enum mw_step)s)), s);
	GT_ASSERT_EQ(mw_step_from_name("no-such-step"), MW_STEP_NONE);
}

GUEST_TEST(vmx_launch, fifty_cycles_return_every_page)
{
	uint64_t free_before = bm_free_page_count();

	for (int i = 0; i < 50; i++) {
		vt_up(NULL);
		vt_on_each_cpu_ok(ping_answers, NULL, "ping in a cycle");
		vt_down();
	}
	GT_ASSERT_EQ(bm_free_page_count(), free_before);
	vt_on_each_cpu_ok(ping_raises_ud, NULL, "VMCALL after the cycles");
}
