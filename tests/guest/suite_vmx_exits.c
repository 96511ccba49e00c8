/* One test at least per exit handler, each asserting what the guest sees:
 * register values, the exception its own IDT receives (vector, error code,
 * RIP), RIP moving past an emulated instruction. Where a CPU without
 * marrow defines the answer, the test runs the same code natively first and
 * compares. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "arch/x86/safe.h"
#include "core/msr_bitmap.h"
#include "core/mw_string.h"
#include "platform/platform.h"
#include "src/platform/baremetal/lapic.h"
#include "src/platform/baremetal/percpu.h"
#include "src/platform/baremetal/trap.h"
#include "src/platform/baremetal/user.h"
#include "vmx/vmx_defs.h"
#include "vmx_util.h"

static unsigned me(void)
{
	return platform_cpu_index();
}

/* ---- CPUID ---- */

GUEST_TEST(vmx_exits, cpuid_hides_vmx_and_nothing_else_of_leaf_1)
{
	struct cpuid_regs native = cpuid(1), native_hv = cpuid(0x40000000);

	GT_ASSERT(native.ecx & CPUID_1_ECX_VMX); /* the test bed has VMX */
	vt_up(NULL);
	uint64_t before = vt_exits(me(), EXIT_CPUID);
	struct cpuid_regs under = cpuid(1), under_hv = cpuid(0x40000000);
	GT_ASSERT_EQ(vt_exits(me(), EXIT_CPUID), before + 2);
	vt_down();
	GT_ASSERT_EQ(under.ecx, native.ecx & ~CPUID_1_ECX_VMX);
	GT_ASSERT_EQ(under.eax, native.eax);
	GT_ASSERT_EQ(under.ebx, native.ebx);
	GT_ASSERT_EQ(under.edx, native.edx);
	/* Invisible by default: the hypervisor leaf is the CPU's own. */
	GT_ASSERT_EQ(under_hv.eax, native_hv.eax);
	GT_ASSERT_EQ(under_hv.ebx, native_hv.ebx);
}

GUEST_TEST(vmx_exits, cpuid_names_marrow_when_configured)
{
	struct mw_config cfg;

	vt_config(&cfg);
	cfg.cpuid_identify = true;
	vt_up(&cfg);
	struct cpuid_regs l1 = cpuid(1), base = cpuid(0x40000000), info = cpuid(0x40000001);
	vt_down();
	GT_ASSERT(l1.ecx & CPUID_1_ECX_HYPERVISOR);
	GT_ASSERT(!(l1.ecx & CPUID_1_ECX_VMX));
	GT_ASSERT_EQ(base.eax, 0x40000001);
	char sig[13];
	memcpy(sig, &base.ebx, 4);
	memcpy(sig + 4, &base.ecx, 4);
	memcpy(sig + 8, &base.edx, 4);
	sig[12] = '\0';
	GT_ASSERT_EQ(strcmp(sig, "marrowmarrow"), 0);
	GT_ASSERT_EQ(info.eax, (MW_HC_VERSION_MAJOR << 16) | MW_HC_VERSION_MINOR);
}

/* ---- RDMSR / WRMSR ---- */

struct msr_op {
	uint32_t msr;
	uint64_t value;
	bool write;
};

static void do_msr(void *arg)
{
	struct msr_op *op = arg;
	if (op->write)
		wrmsr(op->msr, op->value);
	else
		op->value = rdmsr(op->msr);
}

/* The vector a RDMSR/WRMSR raises (-1 for none), value read in *value. */
static int msr_trap(uint32_t msr, bool write, uint64_t *value)
{
	struct msr_op op = { msr, value ? *value : 0, write };
	int v = gt_trap_of(do_msr, &op, NULL);
	if (value)
		*value = op.value;
	return v;
}

GUEST_TEST(vmx_exits, feature_control_reads_locked_with_vmx_off)
{
	uint64_t native = rdmsr(MSR_IA32_FEATURE_CONTROL), under = 0;

	GT_ASSERT(native & FEATURE_CONTROL_VMXON_OUTSIDE_SMX);
	vt_up(NULL);
	uint64_t before = vt_exits(me(), EXIT_RDMSR);
	GT_ASSERT_EQ(msr_trap(MSR_IA32_FEATURE_CONTROL, false, &under), -1);
	GT_ASSERT_EQ(vt_exits(me(), EXIT_RDMSR), before + 1);
	uint64_t write = native;
	int wrote = msr_trap(MSR_IA32_FEATURE_CONTROL, true, &write);
	vt_down();
	GT_ASSERT(under & FEATURE_CONTROL_LOCK);
	GT_ASSERT_EQ(under & (FEATURE_CONTROL_VMXON_IN_SMX | FEATURE_CONTROL_VMXON_OUTSIDE_SMX), 0);
	GT_ASSERT_EQ(wrote, VEC_GP); /* locked: writes fault */
	GT_ASSERT_EQ(rdmsr(MSR_IA32_FEATURE_CONTROL), native);
}

GUEST_TEST(vmx_exits, vmx_capability_msrs_raise_gp)
{
	uint64_t v = 0;

	GT_ASSERT_EQ(msr_trap(MSR_IA32_VMX_BASIC, false, &v), -1); /* natively present */
	vt_up(NULL);
	for (uint32_t m = VMX_MSR_FIRST; m <= VMX_MSR_LAST; m++) {
		GT_ASSERT_EQ(msr_trap(m, false, &v), VEC_GP);
		v = 0;
		GT_ASSERT_EQ(msr_trap(m, true, &v), VEC_GP);
	}
	vt_down();
}

GUEST_TEST(vmx_exits, missing_msrs_raise_gp_in_the_guest_as_natively)
{
	static const uint32_t missing[] = { 0x12345678, 0x40000000, 0x400000ff,
					    0xc0011000, 0x2ff0,	    0xc0003000 };
	int native[6], under_read[6], under_write[6];
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		native[i] = msr_trap(missing[i], false, &v);
	vt_up(NULL);
	uint64_t faults = mw.vcpus[me()]->stats.msr_faults;
	for (int i = 0; i < 6; i++) {
		under_read[i] = msr_trap(missing[i], false, &v);
		v = 0;
		under_write[i] = msr_trap(missing[i], true, &v);
	}
	uint64_t faults_after = mw.vcpus[me()]->stats.msr_faults;
	vt_down();
	for (int i = 0; i < 6; i++) {
		GT_ASSERT_EQ(native[i], VEC_GP);
		GT_ASSERT_EQ(under_read[i], VEC_GP);
		GT_ASSERT_EQ(under_write[i], VEC_GP);
	}
	/* Those outside the bitmap's ranges exit and are counted. */
	GT_ASSERT(faults_after - faults >= 8);
}

GUEST_TEST(vmx_exits, passed_through_msrs_read_and_write_as_natively)
{
	uint64_t star = rdmsr(MSR_IA32_STAR), tsc_aux = rdmsr(MSR_IA32_TSC_AUX);

	vt_up(NULL);
	uint64_t before = vt_exits(me(), EXIT_RDMSR) + vt_exits(me(), EXIT_WRMSR);
	GT_ASSERT_EQ(rdmsr(MSR_IA32_STAR), star);
	wrmsr(MSR_IA32_TSC_AUX, 0x1234);
	GT_ASSERT_EQ(rdmsr(MSR_IA32_TSC_AUX), 0x1234);
	wrmsr(MSR_IA32_TSC_AUX, tsc_aux);
	/* The bitmap lets them through without an exit. */
	GT_ASSERT_EQ(vt_exits(me(), EXIT_RDMSR) + vt_exits(me(), EXIT_WRMSR), before);
	vt_down();
}

/* ---- control registers ---- */

static void do_write_cr4(void *arg)
{
	write_cr4(*(uint64_t *)arg);
}

static void do_write_cr0(void *arg)
{
	write_cr0(*(uint64_t *)arg);
}

GUEST_TEST(vmx_exits, cr4_vmxe_reads_clear_and_cannot_be_set)
{
	uint64_t cr4 = read_cr4();
	struct trap_info info;

	GT_ASSERT(!(cr4 & CR4_VMXE));
	vt_up(NULL);
	GT_ASSERT_EQ(read_cr4(), cr4); /* the shadow: VMXE clear */
	uint64_t set = cr4 | CR4_VMXE;
	uint64_t before = vt_exits(me(), EXIT_CR_ACCESS);
	int v = gt_trap_of(do_write_cr4, &set, &info);
	uint64_t exits = vt_exits(me(), EXIT_CR_ACCESS) - before;
	uint64_t after = read_cr4();
	vt_down();
	GT_ASSERT_EQ(v, VEC_GP); /* as on a CPU without VMX */
	GT_ASSERT_EQ(info.error_code, 0);
	GT_ASSERT_EQ(exits, 1);
	GT_ASSERT_EQ(after, cr4);
}

GUEST_TEST(vmx_exits, cr4_reserved_bits_fault_as_natively)
{
	uint64_t cr4 = read_cr4(), bad = cr4 | (1ull << 63);

	GT_ASSERT_EQ(gt_trap_of(do_write_cr4, &bad, NULL), VEC_GP);
	vt_up(NULL);
	int v = gt_trap_of(do_write_cr4, &bad, NULL);
	/* A bit VMX itself does not fix is the guest's to change without
	 * exits: toggling OSXMMEXCPT is allowed and seen. */
	uint64_t toggled = cr4 ^ CR4_OSXMMEXCPT;
	write_cr4(toggled);
	uint64_t seen = read_cr4();
	write_cr4(cr4);
	vt_down();
	GT_ASSERT_EQ(v, VEC_GP);
	GT_ASSERT_EQ(seen, toggled);
	GT_ASSERT_EQ(read_cr4(), cr4);
}

GUEST_TEST(vmx_exits, cr0_ne_is_the_guests_to_clear_through_the_shadow)
{
	uint64_t cr0 = read_cr0();

	GT_ASSERT(cr0 & CR0_NE);
	vt_up(NULL);
	uint64_t before = vt_exits(me(), EXIT_CR_ACCESS);
	write_cr0(cr0 & ~CR0_NE); /* VMX keeps NE set underneath */
	uint64_t seen = read_cr0();
	write_cr0(cr0);
	uint64_t exits = vt_exits(me(), EXIT_CR_ACCESS) - before;
	uint64_t upper = cr0 | (1ull << 32);
	int v = gt_trap_of(do_write_cr0, &upper, NULL);
	vt_down();
	GT_ASSERT_EQ(seen, cr0 & ~CR0_NE);
	GT_ASSERT_EQ(exits, 2);
	GT_ASSERT_EQ(v, VEC_GP); /* CR0[63:32] are reserved */
	GT_ASSERT_EQ(read_cr0(), cr0);
}

/* ---- XSETBV ---- */

struct xsetbv_op {
	uint32_t index;
	uint64_t value;
};

static void do_xsetbv(void *arg)
{
	const struct xsetbv_op *op = arg;
	xsetbv(op->index, op->value);
}

static void xsetbv_outcomes(int out[4])
{
	uint64_t xcr0 = xgetbv(0);
	struct xsetbv_op ops[4] = {
		{ 0, xcr0 },		   /* the current value: fine */
		{ 1, xcr0 },		   /* no XCR1 for XSETBV here */
		{ 0, 0 },		   /* x87 bit clear */
		{ 0, xcr0 | (1ull << 62) } /* a bit the CPU does not support */
	};
	for (int i = 0; i < 4; i++)
		out[i] = gt_trap_of(do_xsetbv, &ops[i], NULL);
}

GUEST_TEST(vmx_exits, xsetbv_is_validated_as_the_cpu_would)
{
	int native[4], under[4];

	GT_ASSERT(read_cr4() & CR4_OSXSAVE);
	xsetbv_outcomes(native);
	vt_up(NULL);
	uint64_t before = vt_exits(me(), EXIT_XSETBV);
	xsetbv_outcomes(under);
	uint64_t exits = vt_exits(me(), EXIT_XSETBV) - before;
	uint64_t xcr0 = xgetbv(0);
	vt_down();
	GT_ASSERT_EQ(native[0], -1);
	for (int i = 1; i < 4; i++)
		GT_ASSERT_EQ(native[i], VEC_GP);
	for (int i = 0; i < 4; i++)
		GT_ASSERT_EQ(under[i], native[i]);
	GT_ASSERT_EQ(exits, 4);
	GT_ASSERT_EQ(xcr0, xgetbv(0));
}

GUEST_TEST(vmx_exits, xsetbv_from_ring_3_raises_gp)
{
	/* xor ecx,ecx; mov eax,3; xor edx,edx; xsetbv */
	static const uint8_t code[] = { 0x31, 0xc9, 0xb8, 0x03, 0,    0,
					0,    0x31, 0xd2, 0x0f, 0x01, 0xd1 };
	struct trap_info native, under;

	GT_ASSERT(user_run(code, sizeof(code), &native));
	vt_up(NULL);
	GT_ASSERT(user_run(code, sizeof(code), &under));
	vt_down();
	GT_ASSERT_EQ(native.vector, VEC_GP);
	GT_ASSERT_EQ(under.vector, VEC_GP);
	GT_ASSERT_EQ(under.rip, 9);
	GT_ASSERT_EQ(under.error_code, 0);
}

/* ---- INVD, WBINVD, GETSEC, HLT ---- */

GUEST_TEST(vmx_exits, invd_and_wbinvd_run_and_write_back)
{
	struct mw_config cfg;
	volatile uint64_t data = 0x5a5a;

	vt_config(&cfg);
	cfg.exit_on_wbinvd = true;
	vt_up(&cfg);
	uint64_t invd = vt_exits(me(), EXIT_INVD), wb = vt_exits(me(), EXIT_WBINVD);
	__asm__ volatile("invd" ::: "memory");
	__asm__ volatile("wbinvd" ::: "memory");
	uint64_t invd_exits = vt_exits(me(), EXIT_INVD) - invd;
	uint64_t wb_exits = vt_exits(me(), EXIT_WBINVD) - wb;
	vt_down();
	GT_ASSERT_EQ(invd_exits, 1);
	GT_ASSERT_EQ(wb_exits, 1);
	GT_ASSERT_EQ(data, 0x5a5a); /* INVD did not throw the line away */
}

static void do_getsec(void *arg)
{
	(void)arg;
	__asm__ volatile("getsec" ::: "memory");
}

GUEST_TEST(vmx_exits, getsec_raises_ud)
{
	int native = gt_trap_of(do_getsec, NULL, NULL);

	vt_up(NULL);
	int under = gt_trap_of(do_getsec, NULL, NULL);
	vt_down();
	GT_ASSERT_EQ(native, VEC_UD);
	GT_ASSERT_EQ(under, VEC_UD);
}

static volatile uint32_t test_ipis;

static bool count_test_ipi(struct trap_frame *f)
{
	(void)f;
	test_ipis++;
	return true;
}

GUEST_TEST(vmx_exits, hlt_exiting_halts_until_the_next_interrupt)
{
	struct mw_config cfg;

	vt_config(&cfg);
	cfg.exit_on_hlt = true;
	trap_set_handler(VEC_TEST_IPI, count_test_ipi);
	test_ipis = 0;
	vt_up(&cfg);
	uint64_t before = vt_exits(me(), EXIT_HLT);
	cpu_cli();
	lapic_send_ipi(lapic_id(), VEC_TEST_IPI); /* pending until STI */
	cpu_sti_hlt();
	cpu_cli();
	uint64_t exits = vt_exits(me(), EXIT_HLT) - before;
	vt_down();
	trap_set_handler(VEC_TEST_IPI, NULL);
	GT_ASSERT_EQ(exits, 1);
	GT_ASSERT_EQ(test_ipis, 1);
}

/* ---- RDTSC, RDTSCP ---- */

GUEST_TEST(vmx_exits, rdtsc_and_rdtscp_exiting_give_the_time_stamp)
{
	struct mw_config cfg;
	uint32_t aux;

	vt_config(&cfg);
	cfg.exit_on_rdtsc = true;
	vt_up(&cfg);
	uint64_t before = vt_exits(me(), EXIT_RDTSC), before_p = vt_exits(me(), EXIT_RDTSCP);
	uint64_t t1 = rdtsc(), t2 = rdtsc();
	uint32_t lo, hi;
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	uint64_t t3 = ((uint64_t)hi << 32) | lo;
	uint64_t exits = vt_exits(me(), EXIT_RDTSC) - before;
	uint64_t exits_p = vt_exits(me(), EXIT_RDTSCP) - before_p;
	vt_down();
	GT_ASSERT(t1 < t2 && t2 < t3);
	GT_ASSERT_EQ(exits, 2);
	GT_ASSERT_EQ(exits_p, 1);
	GT_ASSERT_EQ(aux, (uint32_t)rdmsr(MSR_IA32_TSC_AUX));
}

/* ---- VMX instructions ---- */

static uint64_t vmx_operand;

#define VMX_INSN_TEST_FN(name, text)                                                  \
	static void try_##name(void *arg)                                             \
	{                                                                             \
		(void)arg;                                                            \
		uint64_t r = 0;                                                       \
		__asm__ volatile(text : "+r"(r) : "m"(vmx_operand) : "memory", "cc"); \
	}

VMX_INSN_TEST_FN(vmxon, "vmxon %1")
VMX_INSN_TEST_FN(vmclear, "vmclear %1")
VMX_INSN_TEST_FN(vmptrld, "vmptrld %1")
VMX_INSN_TEST_FN(vmptrst, "vmptrst %1")
VMX_INSN_TEST_FN(vmread, "vmread %0, %0")
VMX_INSN_TEST_FN(vmwrite, "vmwrite %0, %0")
VMX_INSN_TEST_FN(vmlaunch, "vmlaunch")
VMX_INSN_TEST_FN(vmresume, "vmresume")
VMX_INSN_TEST_FN(vmxoff, "vmxoff")
VMX_INSN_TEST_FN(invept, "invept %1, %0")
VMX_INSN_TEST_FN(invvpid, "invvpid %1, %0")
VMX_INSN_TEST_FN(vmfunc, "xor %%eax, %%eax; vmfunc")

static void (*const vmx_insns[])(void *) = {
	try_vmxon,    try_vmclear,  try_vmptrld, try_vmptrst, try_vmread,  try_vmwrite,
	try_vmlaunch, try_vmresume, try_vmxoff,	 try_invept,  try_invvpid, try_vmfunc,
};

GUEST_TEST(vmx_exits, every_vmx_instruction_raises_ud)
{
	const unsigned n = sizeof(vmx_insns) / sizeof(vmx_insns[0]);
	int native[12], under[12];

	for (unsigned i = 0; i < n; i++)
		native[i] = gt_trap_of(vmx_insns[i], NULL, NULL);
	vt_up(NULL);
	for (unsigned i = 0; i < n; i++)
		under[i] = gt_trap_of(vmx_insns[i], NULL, NULL);
	uint64_t injected = mw.vcpus[me()]->stats.injected_exceptions;
	vt_down();
	for (unsigned i = 0; i < n; i++) {
		GT_ASSERT_EQ(native[i], VEC_UD);
		GT_ASSERT_EQ(under[i], VEC_UD);
	}
	GT_ASSERT(injected >= n - 1); /* all but VMFUNC exit and get #UD */
}
