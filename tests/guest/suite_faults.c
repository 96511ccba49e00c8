/* Fault injection, point by point (core/fault.h): every allocation
 * mw_virtualize_all makes, and every VMX instruction a CPU runs while it
 * launches, made to fail in turn. Each failure must be reported as
 * injected, naming the point; no CPU may stay virtualized or keep a changed
 * CR0/CR4; no page may be kept. Then a clean launch still works. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "core/fault.h"
#include "core/mw_string.h"
#include "platform/platform.h"
#include "src/platform/baremetal/percpu.h"
#include "src/platform/baremetal/platform_bm.h"
#include "vmx_util.h"

struct cpu_regs {
	uint64_t cr0[BM_MAX_CPUS], cr4[BM_MAX_CPUS];
};

static void save_regs(void *arg)
{
	struct cpu_regs *r = arg;
	r->cr0[platform_cpu_index()] = read_cr0();
	r->cr4[platform_cpu_index()] = read_cr4();
}

static bool regs_unchanged(void *arg)
{
	const struct cpu_regs *r = arg;
	unsigned i = platform_cpu_index();
	return read_cr0() == r->cr0[i] && read_cr4() == r->cr4[i] && !mw_cpu_virtualized(i);
}

static bool detail_names(const struct mw_error *err, const char *what)
{
	for (const char *p = err->detail; *p; p++)
		if (strncmp(p, what, strlen(what)) == 0)
			return true;
	return false;
}

GUEST_TEST(faults, every_allocation_failure_is_reported_and_rolled_back)
{
	struct cpu_regs regs;
	uint64_t free_before = bm_free_page_count();
	struct mw_config cfg;
	unsigned points = 0;

	platform_on_each_cpu(save_regs, &regs);
	for (uint32_t n = 1;; n++) {
		vt_config(&cfg);
		cfg.fault_alloc = n;
		struct mw_error err;
		enum mw_status s = mw_virtualize_all(&cfg, &err);
		if (s == MW_OK) {
			/* Past the last point: every allocation succeeded. */
			GT_ASSERT_EQ(fault_alloc_hit(), 0);
			points = n - 1;
			vt_down();
			break;
		}
		char msg[256];
		mw_error_format(&err, msg, sizeof(msg));
		if (s != MW_ERR_INJECTED || fault_alloc_hit() != n ||
		    !detail_names(&err, "made to fail"))
			gt_fail(__FILE__, __LINE__, "allocation %u: %s", n, msg);
		GT_ASSERT_EQ(mw_virtualized_count(), 0);
		GT_ASSERT(!mw.active);
		GT_ASSERT_EQ(bm_free_page_count(), free_before);
		vt_on_each_cpu_ok(regs_unchanged, &regs, "CR0/CR4 back, not virtualized");
		GT_ASSERT(n < 10000);
	}
	GT_ASSERT_EQ(points, fault_alloc_count());
	/* At least: the MTRR snapshots, the host page table, the MSR bitmap
	 * and, per CPU, its six regions and its EPT. */
	GT_ASSERT(points >= 3 + 7 * platform_cpu_count());
	GT_ASSERT_EQ(bm_free_page_count(), free_before);
	gt_note("%u allocation points on %u CPUs, each failed once and rolled back", points,
		platform_cpu_count());
}

GUEST_TEST(faults, every_vmx_instruction_failure_is_reported_and_rolled_back)
{
	struct cpu_regs regs;
	uint64_t free_before = bm_free_page_count();
	unsigned victim = platform_cpu_count() - 1, points = 0;
	struct mw_config cfg;

	platform_on_each_cpu(save_regs, &regs);
	for (uint32_t n = 1;; n++) {
		vt_config(&cfg);
		cfg.fault_cpu = (int)victim;
		cfg.fault_vmx_insn = n;
		struct mw_error err;
		enum mw_status s = mw_virtualize_all(&cfg, &err);
		if (s == MW_OK) {
			points = n - 1;
			vt_down();
			break;
		}
		char msg[256];
		mw_error_format(&err, msg, sizeof(msg));
		if (s != MW_ERR_INJECTED || err.cpu != (int)victim ||
		    !detail_names(&err, "made to fail"))
			gt_fail(__FILE__, __LINE__, "instruction %u: %s", n, msg);
		GT_ASSERT_EQ(mw_virtualized_count(), 0);
		GT_ASSERT_EQ(bm_free_page_count(), free_before);
		vt_on_each_cpu_ok(regs_unchanged, &regs, "CR0/CR4 back, not virtualized");
		if (n == 1)
			GT_ASSERT(detail_names(&err, "VMXON"));
		GT_ASSERT(n < 10000);
	}
	/* VMXON, VMCLEAR, VMPTRLD, every VMCS field, INVEPT, INVVPID,
	 * VMLAUNCH. */
	GT_ASSERT(points > 60);
	gt_note("%u VMX instructions in cpu %u's launch, each failed once and rolled back", points,
		victim);
}
