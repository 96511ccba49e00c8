/* What the guest of marrow.efi sees, on every CPU, in the order run: marrow
 * answers, hides VMX, behaves as a CPU without VMX, counts, and finally
 * leaves every CPU. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "marrow/stats.h"
#include "uefi_test.h"

#define MAX_CPUS 64
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_VMX_BASIC 0x480
#define FC_LOCK 1u
#define FC_VMXON_OUTSIDE_SMX 4u

struct per_cpu {
	uint64_t status[MAX_CPUS], rdx[MAX_CPUS], r8[MAX_CPUS];
	int vector[MAX_CPUS];
	uint32_t ecx1[MAX_CPUS], hv_ebx[MAX_CPUS];
};

static struct per_cpu pc;

static void ping_here(unsigned cpu, void *arg)
{
	struct mw_hc_result r = { 0 };
	(void)arg;
	pc.vector[cpu] = ut_vmcall(MW_HC_PING, ut_key, &r);
	pc.status[cpu] = r.status;
	pc.rdx[cpu] = r.rdx;
	pc.r8[cpu] = r.r8;
}

static void clear(void)
{
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		pc.status[i] = pc.rdx[i] = pc.r8[i] = ~0ull;
		pc.vector[i] = -2;
	}
}

/* Every CPU the firmware lists runs under marrow: each answers PING. */
static void ping_answers_on_every_cpu(void)
{
	clear();
	UT_CHECK(ut_on_each_cpu(ping_here, NULL));
	for (unsigned i = 0; i < ut_cpu_count(); i++) {
		UT_CHECK_EQ(pc.vector[i], -1);
		UT_CHECK_EQ(pc.status[i], MW_HC_OK);
		UT_CHECK_EQ(pc.rdx[i], MW_HC_SIGNATURE);
	}
}

static void info_counts_every_cpu(void)
{
	struct mw_hc_result r = { 0 };
	UT_CHECK_EQ(ut_vmcall(MW_HC_INFO, ut_key, &r), -1);
	UT_CHECK_EQ(r.status, MW_HC_OK);
	UT_CHECK_EQ(r.rdx, ut_cpu_count());
	UT_CHECK(r.r8 & MW_HC_FEATURE_EPT);
	ut_note("marrow runs on %llu CPUs, features 0x%llx", (unsigned long long)r.rdx,
		(unsigned long long)r.r8);
}

static void cpuid_here(unsigned cpu, void *arg)
{
	(void)arg;
	pc.ecx1[cpu] = cpuid(1).ecx;
	pc.hv_ebx[cpu] = cpuid(0x40000000).ebx;
}

/* CPUID.1:ECX.VMX (bit 5) and the hypervisor-present bit (31) are clear,
 * and leaf 0x40000000 carries no "marrow" signature (invisible by
 * default). */
static void cpuid_hides_vmx_on_every_cpu(void)
{
	UT_CHECK(ut_on_each_cpu(cpuid_here, NULL));
	for (unsigned i = 0; i < ut_cpu_count(); i++) {
		UT_CHECK_EQ(pc.ecx1[i] & (1u << 5), 0);
		UT_CHECK_EQ(pc.ecx1[i] & (1u << 31), 0);
		UT_CHECK(pc.hv_ebx[i] != 0x72726f6d /* "morr" */);
	}
}

static void feature_control_reads_locked_without_vmxon(void)
{
	uint64_t fc = 0;
	UT_CHECK_EQ(ut_rdmsr(MSR_FEATURE_CONTROL, &fc), -1);
	UT_CHECK_EQ(fc & FC_LOCK, FC_LOCK);
	UT_CHECK_EQ(fc & FC_VMXON_OUTSIDE_SMX, 0);
}

static void vmx_capability_msrs_raise_gp(void)
{
	uint64_t v = 0;
	for (uint32_t msr = MSR_VMX_BASIC; msr <= 0x491; msr++)
		UT_CHECK_EQ(ut_rdmsr(msr, &v), 13);
}

static void vmxon_raises_ud(void)
{
	UT_CHECK_EQ(ut_vmxon(0x1000), 6);
}

static void a_wrong_key_raises_ud(void)
{
	struct mw_hc_result r = { 0 };
	UT_CHECK_EQ(ut_vmcall(MW_HC_PING, ut_key ^ 1, &r), 6);
}

static uint64_t stats_of(struct mw_cpu_stats *out, uint64_t cpu)
{
	uint64_t rax = MW_HC_STATS, rdx = (uint64_t)(uintptr_t)out;
	register uint64_t r8 __asm__("r8") = sizeof(*out);
	register uint64_t r9 __asm__("r9") = cpu;

	__asm__ volatile("vmcall"
			 : "+a"(rax), "+d"(rdx), "+r"(r8), "+r"(r9)
			 : "c"(ut_key)
			 : "memory");
	return rax;
}

static uint64_t stats_call(struct mw_cpu_stats *out)
{
	return stats_of(out, MW_HC_THIS_CPU);
}

/* OVMF wakes its APs for every StartupAllAPs with INIT-SIPI-SIPI: with
 * more than one CPU marrow emulates the INITs (docs/uefi.md), so each AP
 * that answered above took an emulated INIT and a real SIPI (its VM exit)
 * and is still under marrow, and no real INIT ever reached a CPU; the BSP
 * sent them through emulated local APIC writes. With one CPU nothing is
 * emulated. */
#define EXIT_INIT 3 /* basic exit reasons (SDM 3D appendix C) */
#define EXIT_SIPI 4

static void firmware_ap_wakeups_are_emulated(void)
{
	static struct mw_cpu_stats s;

	for (unsigned i = 0; i < ut_cpu_count(); i++) {
		UT_CHECK_EQ(stats_of(&s, i), MW_HC_OK);
		UT_CHECK_EQ(s.exits[EXIT_INIT], 0);
		if (i == 0 || ut_cpu_count() == 1) {
			UT_CHECK_EQ(s.inits_emulated, 0);
			UT_CHECK_EQ(s.exits[EXIT_SIPI], 0);
			continue;
		}
		UT_CHECK(s.inits_emulated >= 1);
		UT_CHECK(s.exits[EXIT_SIPI] >= 1);
		ut_note("cpu %u: %llu INITs emulated, %llu SIPI exits", i,
			(unsigned long long)s.inits_emulated,
			(unsigned long long)s.exits[EXIT_SIPI]);
	}
	UT_CHECK_EQ(stats_of(&s, 0), MW_HC_OK);
	if (ut_cpu_count() > 1) {
		UT_CHECK(s.apic_writes_emulated > 0);
		ut_note("cpu 0: %llu local APIC writes emulated",
			(unsigned long long)s.apic_writes_emulated);
	} else {
		UT_CHECK_EQ(s.apic_writes_emulated, 0);
	}
}

/* The statistics hypercall copies this CPU's counters, and a CPUID is
 * counted. */
static void stats_count_exits(void)
{
	static struct mw_cpu_stats a, b;

	UT_CHECK_EQ(stats_call(&a), MW_HC_OK);
	(void)cpuid(0);
	UT_CHECK_EQ(stats_call(&b), MW_HC_OK);
	UT_CHECK(a.exits_total > 0);
	UT_CHECK(b.exits[10] >= a.exits[10] + 1);
	ut_note("this CPU's exits so far: %llu, CPUID %llu", (unsigned long long)b.exits_total,
		(unsigned long long)b.exits[10]);
}

static void vmcall_here(unsigned cpu, void *arg)
{
	struct mw_hc_result r;
	(void)arg;
	pc.vector[cpu] = ut_vmcall(MW_HC_PING, ut_key, &r);
	pc.ecx1[cpu] = cpuid(1).ecx;
}

/* Last: marrow leaves every CPU; each then raises #UD for VMCALL (no VMX
 * operation) and shows the CPU's own VMX bit again. */
static void devirtualize_all_leaves_every_cpu(void)
{
	struct mw_hc_result r = { 0 };
	UT_CHECK_EQ(ut_vmcall(MW_HC_DEVIRTUALIZE_ALL, ut_key, &r), -1);
	UT_CHECK_EQ(r.status, MW_HC_OK);
	clear();
	UT_CHECK(ut_on_each_cpu(vmcall_here, NULL));
	for (unsigned i = 0; i < ut_cpu_count(); i++) {
		UT_CHECK_EQ(pc.vector[i], 6);
		UT_CHECK_EQ(pc.ecx1[i] & (1u << 5), 1u << 5);
	}
}

const struct ut_test ut_tests[] = {
	{ "uefi/ping_answers_on_every_cpu", ping_answers_on_every_cpu },
	{ "uefi/info_counts_every_cpu", info_counts_every_cpu },
	{ "uefi/cpuid_hides_vmx_on_every_cpu", cpuid_hides_vmx_on_every_cpu },
	{ "uefi/feature_control_reads_locked_without_vmxon",
	  feature_control_reads_locked_without_vmxon },
	{ "uefi/vmx_capability_msrs_raise_gp", vmx_capability_msrs_raise_gp },
	{ "uefi/vmxon_raises_ud", vmxon_raises_ud },
	{ "uefi/a_wrong_key_raises_ud", a_wrong_key_raises_ud },
	{ "uefi/stats_count_exits", stats_count_exits },
	{ "uefi/firmware_ap_wakeups_are_emulated", firmware_ap_wakeups_are_emulated },
	{ "uefi/devirtualize_all_leaves_every_cpu", devirtualize_all_leaves_every_cpu },
};
const unsigned ut_test_count = sizeof(ut_tests) / sizeof(ut_tests[0]);
