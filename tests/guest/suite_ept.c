/* The EPT as the guest meets it: MTRR types on the LAPIC page and every
 * range of the firmware's map, the whole guest-physical space mapped up to
 * MAXPHYADDR, split/merge restoring the live tree, and permission changes
 * seen by the owning CPU only, through a registered violation handler. */
#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "core/mw_string.h"
#include "core/vcpu_launch.h"
#include "ept/ept.h"
#include "ept/mtrr.h"
#include "platform/platform.h"
#include "src/platform/baremetal/paging.h"
#include "src/platform/baremetal/percpu.h"
#include "vmx/vmx_defs.h"
#include "vmx_util.h"

static uint8_t leaf_type(const struct ept *e, uint64_t gpa)
{
	unsigned level;
	const uint64_t *leaf = ept_leaf(e, gpa, &level);
	return leaf ? (uint8_t)((*leaf & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT) : 0xee;
}

static void check_type(const struct ept *e, uint64_t gpa, unsigned cpu)
{
	uint8_t want = mtrr_type_of(mw.mtrrs, gpa), got = leaf_type(e, gpa);
	if (got != want)
		gt_fail(__FILE__, __LINE__, "cpu %u gpa %llx: EPT type %s, MTRRs say %s", cpu,
			(unsigned long long)gpa, mtrr_type_name(got), mtrr_type_name(want));
}

GUEST_TEST(ept, types_follow_the_mtrrs_for_the_apic_and_every_range)
{
	struct platform_mem_range map[64];
	size_t n = platform_memory_map(map, 64);
	uint64_t apic = rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK;
	unsigned checked = 0;

	vt_up(NULL);
	for (unsigned c = 0; c < mw.cpu_count; c++) {
		const struct ept *e = mw.vcpus[c]->ept;
		check_type(e, apic, c);
		GT_ASSERT_EQ(leaf_type(e, apic), MTRR_UC); /* device memory, uncached */
		for (size_t i = 0; i < n && i < 64; i++) {
			uint64_t first = map[i].base & ~0xfffull;
			uint64_t last = (map[i].base + map[i].length - 1) & ~0xfffull;
			check_type(e, first, c);
			check_type(e, last, c);
			check_type(e, first + ((last - first) / 2 & ~0xfffull), c);
			checked += 3;
		}
		/* Every range the MTRRs give, at both ends. */
		struct mtrr_range r[16];
		int nr = mtrr_build_ranges(mw.mtrrs, r, 16);
		GT_ASSERT(nr > 0);
		for (int i = 0; i < nr; i++) {
			check_type(e, r[i].base, c);
			if (r[i].end - 1 < mw.ept_limit)
				check_type(e, (r[i].end - 1) & ~0xfffull, c);
		}
	}
	/* The snapshot marrow used is the CPU's. */
	static struct mtrr_state now;
	mtrr_read(&now, mw.caps.phys_addr_bits);
	GT_ASSERT_EQ(memcmp(&now, mw.mtrrs, sizeof(now)), 0);
	vt_down();
	gt_note("%u map points checked on %u CPUs; LAPIC %llx is UC", checked, platform_cpu_count(),
		(unsigned long long)apic);
}

GUEST_TEST(ept, the_whole_guest_physical_space_is_mapped)
{
	unsigned bits = (cpuid(0x80000008).eax & 0xff) > 48 ? 48 : cpuid(0x80000008).eax & 0xff;
	const uint64_t probes[] = { (1ull << bits) - 4096, (1ull << bits) - (1ull << 30) + 8,
				    (1ull << (bits - 1)) + 0x123000, 5ull << 30, 0xe0000000 };
	uint64_t native[5], under[5];

	for (int i = 0; i < 5; i++)
		native[i] = *(volatile uint64_t *)paging_map_phys(probes[i]);
	vt_up(NULL);
	uint64_t violations = vt_exits(platform_cpu_index(), EXIT_EPT_VIOLATION);
	for (int i = 0; i < 5; i++) {
		volatile uint64_t *p = paging_map_phys(probes[i]);
		under[i] = *p;
		if (i < 3)
			*p = 0x1234; /* no memory there: the write goes nowhere */
	}
	uint64_t new_violations = vt_exits(platform_cpu_index(), EXIT_EPT_VIOLATION) - violations;
	GT_ASSERT_EQ(mw.ept_limit, 1ull << bits);
	vt_down();
	/* A violation with no handler would have ended the run; none came. */
	GT_ASSERT_EQ(new_violations, 0);
	for (int i = 0; i < 5; i++)
		GT_ASSERT_EQ(under[i], native[i]);
}

GUEST_TEST(ept, split_then_merge_restores_the_live_tree)
{
	const uint64_t gpa = (48ull << 20) + 0x3000; /* RAM the kernel does not use now */
	unsigned level;

	vt_up(NULL);
	struct ept *e = mw.vcpus[platform_cpu_index()]->ept;
	uint64_t before = *ept_leaf(e, gpa, &level);
	unsigned before_level = level;
	size_t pages = ept_table_pages(e), pool = e->pool_free;
	enum mw_status s;
	uint64_t *pte = ept_split_to_4k(e, gpa, &s);
	GT_ASSERT_EQ(s, MW_OK);
	GT_ASSERT(pte != NULL);
	GT_ASSERT_EQ(*pte & EPT_ADDR_MASK, gpa & ~0xfffull);
	mw_ept_flush_all();
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)gpa;
	*p = 0x5a5a5a5a;
	GT_ASSERT_EQ(*p, 0x5a5a5a5a); /* still the same memory */
	for (unsigned l = 2; l <= before_level; l++)
		GT_ASSERT(ept_merge(e, gpa, l));
	mw_ept_flush_all();
	GT_ASSERT_EQ(*ept_leaf(e, gpa, &level), before);
	GT_ASSERT_EQ(level, before_level);
	GT_ASSERT_EQ(ept_table_pages(e), pages);
	GT_ASSERT_EQ(e->pool_free, pool);
	vt_down();
}

/* The handler runs in root mode: only root-safe code. */
static volatile uint64_t violation_gpa, violation_qual;
static volatile uint32_t violations_seen[BM_MAX_CPUS];

static bool restore_write(struct vcpu *v, uint64_t gpa, uint64_t qual)
{
	violation_gpa = gpa;
	violation_qual = qual;
	violations_seen[v->index]++;
	if (ept_set_page(v->ept, gpa, gpa & ~0xfffull, EPT_RWX) != MW_OK)
		return false;
	vcpu_ept_flush(v);
	return true;
}

static const uint64_t guarded = (52ull << 20) + 0x8000;

static void write_guarded(void *arg)
{
	(void)arg;
	*(volatile uint64_t *)(uintptr_t)guarded = platform_cpu_index();
}

static void make_read_only_everywhere(void *arg)
{
	(void)arg;
	struct ept *e = mw.vcpus[platform_cpu_index()]->ept;
	ept_set_page(e, guarded, guarded, EPT_READ | EPT_EXEC);
}

GUEST_TEST(ept, a_permission_change_reaches_only_the_cpus_whose_tree_changed)
{
	struct mw_config cfg;
	unsigned me = platform_cpu_index(), n = platform_cpu_count();

	vt_config(&cfg);
	cfg.ept_violation_handler = restore_write;
	for (unsigned i = 0; i < BM_MAX_CPUS; i++)
		violations_seen[i] = 0;
	vt_up(&cfg);
	/* This CPU's tree only. */
	GT_ASSERT_EQ(ept_set_page(mw.vcpus[me]->ept, guarded, guarded, EPT_READ | EPT_EXEC), MW_OK);
	vt_call(MW_HC_EPT_FLUSH, 0, 0, 0);
	platform_on_each_cpu(write_guarded, NULL);
	GT_ASSERT_EQ(violations_seen[me], 1);
	for (unsigned i = 0; i < n; i++)
		if (i != me)
			GT_ASSERT_EQ(violations_seen[i], 0);
	GT_ASSERT_EQ(violation_gpa, guarded);
	GT_ASSERT(violation_qual & 2);		  /* a write */
	GT_ASSERT(!(violation_qual & (1u << 4))); /* to a page not writable */
	/* Every CPU's tree, then the global flush: each CPU takes one. */
	platform_on_each_cpu(make_read_only_everywhere, NULL);
	mw_ept_flush_all();
	platform_on_each_cpu(write_guarded, NULL);
	uint64_t counted = mw.vcpus[me]->stats.ept_violations;
	vt_down();
	for (unsigned i = 0; i < n; i++)
		GT_ASSERT_EQ(violations_seen[i], i == me ? 2 : 1);
	GT_ASSERT_EQ(counted, 2);
}

/* Explicit only: each ends the run with marrow's diagnostic. */
GUEST_TEST_EXPLICIT(ept_violation, without_a_handler_is_diagnosed)
{
	vt_up(NULL);
	struct ept *e = mw.vcpus[platform_cpu_index()]->ept;
	ept_set_page(e, guarded, guarded, EPT_READ);
	vt_call(MW_HC_EPT_FLUSH, 0, 0, 0);
	write_guarded(NULL);
}

GUEST_TEST_EXPLICIT(ept_misconfig, is_diagnosed)
{
	vt_up(NULL);
	struct ept *e = mw.vcpus[platform_cpu_index()]->ept;
	/* Write without read is a misconfiguration (SDM 3C 29.3.3.1). */
	ept_set_page(e, guarded, guarded, EPT_WRITE);
	vt_call(MW_HC_EPT_FLUSH, 0, 0, 0);
	write_guarded(NULL);
}
