/* Every CPU the firmware lists came up, runs code, and is reached exactly
 * once by each platform_on_each_cpu. */
#include "guest_test.h"
#include "platform/platform.h"
#include "src/platform/baremetal/lapic.h"
#include "src/platform/baremetal/smp.h"

GUEST_TEST(smp, every_listed_cpu_is_up)
{
	GT_ASSERT(bm_cpus_expected >= 1);
	GT_ASSERT_EQ(bm_cpu_count, bm_cpus_expected);
	GT_ASSERT_EQ(platform_cpu_count(), bm_cpu_count);
	for (unsigned i = 0; i < bm_cpu_count; i++)
		GT_ASSERT(bm_cpus[i].online);
}

static volatile uint32_t hits[BM_MAX_CPUS];

static void count_hit(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&hits[platform_cpu_index()], 1, __ATOMIC_RELAXED);
}

GUEST_TEST(smp, on_each_cpu_reaches_each_cpu_exactly_once)
{
	const unsigned rounds = 100;

	for (unsigned i = 0; i < BM_MAX_CPUS; i++)
		hits[i] = 0;
	for (unsigned r = 0; r < rounds; r++)
		platform_on_each_cpu(count_hit, NULL);
	for (unsigned i = 0; i < BM_MAX_CPUS; i++)
		GT_ASSERT_EQ(hits[i], i < platform_cpu_count() ? rounds : 0);
}

static uint32_t seen_apic_id[BM_MAX_CPUS];
static uint32_t seen_index_matches[BM_MAX_CPUS];

static void record_identity(void *arg)
{
	(void)arg;
	unsigned i = platform_cpu_index();
	seen_apic_id[i] = lapic_id();
	seen_index_matches[i] = this_cpu() == &bm_cpus[i];
}

GUEST_TEST(smp, each_cpu_has_its_own_identity)
{
	unsigned n = platform_cpu_count();

	platform_on_each_cpu(record_identity, NULL);
	for (unsigned i = 0; i < n; i++) {
		GT_ASSERT(seen_index_matches[i]);
		GT_ASSERT_EQ(seen_apic_id[i], bm_cpus[i].apic_id);
		for (unsigned j = 0; j < i; j++)
			GT_ASSERT_NE(seen_apic_id[i], seen_apic_id[j]);
	}
}

static uint64_t stack_of[BM_MAX_CPUS];

static void record_stack(void *arg)
{
	(void)arg;
	uint64_t rsp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(rsp));
	stack_of[platform_cpu_index()] = rsp;
}

GUEST_TEST(smp, each_cpu_runs_on_its_own_stack)
{
	unsigned n = platform_cpu_count();

	platform_on_each_cpu(record_stack, NULL);
	for (unsigned i = 0; i < n; i++) {
		/* The stack pointer lies inside that CPU's stack. */
		GT_ASSERT(stack_of[i] <= bm_cpus[i].stack_top);
		GT_ASSERT(stack_of[i] >
			  bm_cpus[i].stack_top - (i ? CPU_STACK_SIZE : BOOT_STACK_SIZE));
	}
}
