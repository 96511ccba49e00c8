/* CPU exceptions inside a test come back to it, described: the vector, the
 * error code and the faulting instruction. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/safe.h"
#include "guest_test.h"
#include "src/platform/baremetal/percpu.h"

extern char trap_ud2_site[], trap_int3_site[];

static void do_ud2(void *arg)
{
	(void)arg;
	__asm__ volatile(".globl trap_ud2_site\ntrap_ud2_site: ud2");
}

GUEST_TEST(trap, invalid_opcode_is_caught_with_its_rip)
{
	struct trap_info info;
	GT_ASSERT_EQ(gt_trap_of(do_ud2, NULL, &info), VEC_UD);
	GT_ASSERT_EQ(info.rip, (uintptr_t)trap_ud2_site);
}

static void do_null_read(void *arg)
{
	volatile uint64_t *p = arg;
	(void)*p;
}

GUEST_TEST(trap, page_fault_reports_address_and_error_code)
{
	struct trap_info info;
	GT_ASSERT_EQ(gt_trap_of(do_null_read, (void *)8, &info), VEC_PF);
	GT_ASSERT_EQ(info.cr2, 8);
	GT_ASSERT_EQ(info.error_code & 1, 0); /* not-present page */
}

static void do_bad_rdmsr(void *arg)
{
	(void)arg;
	(void)rdmsr(0x12345678);
}

GUEST_TEST(trap, rdmsr_of_missing_msr_raises_gp)
{
	struct trap_info info;
	GT_ASSERT_EQ(gt_trap_of(do_bad_rdmsr, NULL, &info), VEC_GP);
	GT_ASSERT_EQ(info.error_code, 0);
}

GUEST_TEST(trap, rdmsr_safe_turns_gp_into_false)
{
	uint64_t v = 0;
	this_cpu()->last_fault_vector = 0;
	GT_ASSERT(!rdmsr_safe(0x12345678, &v));
	GT_ASSERT_EQ(this_cpu()->last_fault_vector, VEC_GP);
	GT_ASSERT(rdmsr_safe(0x10 /* IA32_TIME_STAMP_COUNTER */, &v));
	GT_ASSERT(v != 0);
}

static void do_int3(void *arg)
{
	(void)arg;
	__asm__ volatile("int3\n.globl trap_int3_site\ntrap_int3_site:");
}

GUEST_TEST(trap, breakpoint_is_a_trap_after_the_instruction)
{
	struct trap_info info;
	GT_ASSERT_EQ(gt_trap_of(do_int3, NULL, &info), VEC_BP);
	GT_ASSERT_EQ(info.rip, (uintptr_t)trap_int3_site);
}

static void do_divide_by_zero(void *arg)
{
	volatile uint32_t zero = (uint32_t)(uintptr_t)arg;
	uint32_t q;
	__asm__ volatile("xor %%edx, %%edx\n\tdivl %1" : "=a"(q) : "r"(zero), "a"(7) : "rdx");
	(void)q;
}

GUEST_TEST(trap, divide_error_is_caught)
{
	GT_ASSERT_EQ(gt_trap_of(do_divide_by_zero, NULL, NULL), VEC_DE);
}

static void returns_normally(void *arg)
{
	*(int *)arg = 42;
}

GUEST_TEST(trap, no_exception_means_no_trap)
{
	int v = 0;
	GT_ASSERT_EQ(gt_trap_of(returns_normally, &v, NULL), -1);
	GT_ASSERT_EQ(v, 42);
}
