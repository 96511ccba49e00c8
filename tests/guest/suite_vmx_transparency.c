/* What the guest can read does not change under marrow, except the
 * documented differences (docs/hypercalls.md "What the guest sees"):
 * CPUID.1:ECX.VMX is clear; IA32_FEATURE_CONTROL reads locked without
 * VMXON; the VMX capability MSRs raise #GP. Every CPUID leaf and subleaf and
 * two MSR ranges are read natively, then under marrow, on every CPU. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "arch/x86/safe.h"
#include "core/msr_bitmap.h"
#include "platform/platform.h"
#include "src/platform/baremetal/percpu.h"
#include "vmx_util.h"

#define SUBLEAVES 8
#define MAX_LEAVES 64

struct cpuid_snapshot {
	uint32_t basic_max, ext_max;
	struct cpuid_regs basic[MAX_LEAVES][SUBLEAVES];
	struct cpuid_regs ext[MAX_LEAVES][SUBLEAVES];
};

/* Per CPU, allocated for the test: two snapshots each. */
static struct cpuid_snapshot *native_cpuid, *under_cpuid;

#define SNAPSHOT_PAGES ((sizeof(struct cpuid_snapshot) + 4095) / 4096)

static void take_cpuid(struct cpuid_snapshot *s)
{
	s->basic_max = cpuid(0).eax;
	s->ext_max = cpuid(0x80000000).eax;
	for (uint32_t l = 0; l <= s->basic_max && l < MAX_LEAVES; l++)
		for (uint32_t sub = 0; sub < SUBLEAVES; sub++)
			s->basic[l][sub] = cpuid_count(l, sub);
	for (uint32_t l = 0; l <= s->ext_max - 0x80000000 && l < MAX_LEAVES; l++)
		for (uint32_t sub = 0; sub < SUBLEAVES; sub++)
			s->ext[l][sub] = cpuid_count(0x80000000 + l, sub);
}

static void snapshot_native(void *arg)
{
	(void)arg;
	take_cpuid(&native_cpuid[platform_cpu_index()]);
}

static void snapshot_under(void *arg)
{
	(void)arg;
	take_cpuid(&under_cpuid[platform_cpu_index()]);
}

static bool same_regs(struct cpuid_regs a, struct cpuid_regs b)
{
	return a.eax == b.eax && a.ebx == b.ebx && a.ecx == b.ecx && a.edx == b.edx;
}

GUEST_TEST(vmx_transparency, every_cpuid_leaf_reads_the_same_but_the_vmx_bit)
{
	size_t pages = SNAPSHOT_PAGES * platform_cpu_count();
	native_cpuid = platform_alloc_pages(pages);
	under_cpuid = platform_alloc_pages(pages);
	if (!native_cpuid || !under_cpuid) {
		gt_fail(__FILE__, __LINE__, "no memory for the CPUID snapshots");
		return;
	}
	platform_on_each_cpu(snapshot_native, NULL);
	vt_up(NULL);
	platform_on_each_cpu(snapshot_under, NULL);
	vt_down();
	unsigned compared = 0;
	for (unsigned c = 0; c < platform_cpu_count(); c++) {
		struct cpuid_snapshot *n = &native_cpuid[c], *u = &under_cpuid[c];
		GT_ASSERT_EQ(u->basic_max, n->basic_max);
		GT_ASSERT_EQ(u->ext_max, n->ext_max);
		for (uint32_t l = 0; l <= n->basic_max && l < MAX_LEAVES; l++) {
			for (uint32_t sub = 0; sub < SUBLEAVES; sub++) {
				struct cpuid_regs want = n->basic[l][sub];
				if (l == 1)
					want.ecx &= ~CPUID_1_ECX_VMX;
				if (!same_regs(u->basic[l][sub], want))
					gt_fail(__FILE__, __LINE__,
						"cpu %u leaf %x.%u: %08x %08x %08x %08x natively",
						c, l, sub, want.eax, want.ebx, want.ecx, want.edx);
				compared++;
			}
		}
		for (uint32_t l = 0; l <= n->ext_max - 0x80000000 && l < MAX_LEAVES; l++) {
			for (uint32_t sub = 0; sub < SUBLEAVES; sub++) {
				if (!same_regs(u->ext[l][sub], n->ext[l][sub]))
					gt_fail(__FILE__, __LINE__, "cpu %u leaf %x.%u differs", c,
						0x80000000 + l, sub);
				compared++;
			}
		}
	}
	platform_free_pages(native_cpuid, pages);
	platform_free_pages(under_cpuid, pages);
	gt_note("%u CPUID leaf/subleaf results compared", compared);
	GT_ASSERT(compared >= 8 * 20);
}

/* MSRs whose value changes by itself between two reads. */
static bool volatile_msr(uint32_t msr)
{
	switch (msr) {
	case MSR_IA32_TIME_STAMP_COUNTER:
	case 0xe7:  /* IA32_MPERF */
	case 0xe8:  /* IA32_APERF */
	case 0x6e0: /* IA32_TSC_DEADLINE */
		return true;
	default:
		return false;
	}
}

static bool documented_difference(uint32_t msr)
{
	return msr == MSR_IA32_FEATURE_CONTROL || (msr >= VMX_MSR_FIRST && msr <= VMX_MSR_LAST);
}

#define MSR_LOW_COUNT 0x2000
#define MSR_HIGH_BASE 0xc0000000
#define MSR_HIGH_COUNT 0x2000

struct msr_reading {
	bool ok;
	uint64_t value;
};

#define MSR_READING_PAGES \
	(((MSR_LOW_COUNT + MSR_HIGH_COUNT) * sizeof(struct msr_reading) + 4095) / 4096)

static uint32_t msr_at(unsigned i)
{
	return i < MSR_LOW_COUNT ? i : MSR_HIGH_BASE + (i - MSR_LOW_COUNT);
}

GUEST_TEST(vmx_transparency, msrs_read_the_same_but_the_documented_ones)
{
	unsigned readable = 0, compared = 0;
	struct msr_reading *native_msr = platform_alloc_pages(MSR_READING_PAGES);

	if (!native_msr) {
		gt_fail(__FILE__, __LINE__, "no memory for the MSR readings");
		return;
	}
	for (unsigned i = 0; i < MSR_LOW_COUNT + MSR_HIGH_COUNT; i++) {
		native_msr[i].ok = rdmsr_safe(msr_at(i), &native_msr[i].value);
		readable += native_msr[i].ok;
	}
	vt_up(NULL);
	for (unsigned i = 0; i < MSR_LOW_COUNT + MSR_HIGH_COUNT; i++) {
		uint32_t msr = msr_at(i);
		uint64_t v = 0;
		bool ok = rdmsr_safe(msr, &v);
		if (documented_difference(msr))
			continue;
		compared++;
		if (ok != native_msr[i].ok)
			gt_fail(__FILE__, __LINE__, "MSR %x: %s natively, %s under marrow", msr,
				native_msr[i].ok ? "reads" : "faults", ok ? "reads" : "faults");
		else if (ok && !volatile_msr(msr) && v != native_msr[i].value)
			gt_fail(__FILE__, __LINE__, "MSR %x: %llx natively, %llx under marrow", msr,
				(unsigned long long)native_msr[i].value, (unsigned long long)v);
	}
	vt_down();
	platform_free_pages(native_msr, MSR_READING_PAGES);
	gt_note("%u MSRs compared, %u readable natively", compared, readable);
	GT_ASSERT(readable > 50);
}
