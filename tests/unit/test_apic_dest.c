/* Which APICs an IPI reaches (SDM 3A 11.6.2, 11.12.9, 11.12.10.2): the
 * shorthands, physical IDs and broadcast, xAPIC flat and cluster logical
 * destinations, x2APIC logical IDs; and INIT de-assert. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "src/core/apic_dest.h"

#define INIT_ASSERT ((uint64_t)ICR_INIT << 8 | ICR_LEVEL_ASSERT)
#define XAPIC_DEST(d) ((uint64_t)(d) << 56)
#define X2APIC_DEST(d) ((uint64_t)(d) << 32)

static const struct apic_target cpus[4] = {
	{ 0, 0x01000000, 0xffffffff },
	{ 1, 0x02000000, 0xffffffff },
	{ 2, 0x04000000, 0xffffffff },
	{ 3, 0x08000000, 0xffffffff },
};

/* Bit i set: cpus[i] is reached. */
static unsigned reached(uint64_t icr, bool x2apic, uint32_t sender, const struct apic_target *t)
{
	unsigned set = 0;
	for (unsigned i = 0; i < 4; i++)
		set |= (unsigned)apic_ipi_reaches(icr, x2apic, sender, &t[i]) << i;
	return set;
}

static void test_shorthands(void **state)
{
	(void)state;
	assert_int_equal(reached(INIT_ASSERT | (1u << 18), false, 2, cpus), 0x4);
	assert_int_equal(reached(INIT_ASSERT | (2u << 18), false, 2, cpus), 0xf);
	assert_int_equal(reached(INIT_ASSERT | (3u << 18), false, 2, cpus), 0xb);
	/* A shorthand ignores the destination field. */
	assert_int_equal(reached(INIT_ASSERT | (3u << 18) | XAPIC_DEST(1), false, 0, cpus), 0xe);
}

static void test_physical(void **state)
{
	(void)state;
	assert_int_equal(reached(INIT_ASSERT | XAPIC_DEST(3), false, 0, cpus), 0x8);
	assert_int_equal(reached(INIT_ASSERT | XAPIC_DEST(7), false, 0, cpus), 0);
	assert_int_equal(reached(INIT_ASSERT | XAPIC_DEST(0xff), false, 0, cpus), 0xf);
	assert_int_equal(reached(INIT_ASSERT | X2APIC_DEST(2), true, 0, cpus), 0x4);
	assert_int_equal(reached(INIT_ASSERT | X2APIC_DEST(0xffffffff), true, 0, cpus), 0xf);
	/* 0xff is an ordinary ID in x2APIC mode. */
	assert_int_equal(reached(INIT_ASSERT | X2APIC_DEST(0xff), true, 0, cpus), 0);
}

static void test_xapic_logical(void **state)
{
	(void)state;
	/* Flat: one bit per CPU in LDR[31:24]. */
	assert_int_equal(reached(INIT_ASSERT | ICR_LOGICAL | XAPIC_DEST(0x06), false, 0, cpus),
			 0x6);
	/* Cluster: cluster 1 (bits 7:4), members by bits 3:0. */
	const struct apic_target cl[4] = {
		{ 0, 0x11000000, 0x0fffffff },
		{ 1, 0x12000000, 0x0fffffff },
		{ 2, 0x21000000, 0x0fffffff },
		{ 3, 0x14000000, 0x0fffffff },
	};
	assert_int_equal(reached(INIT_ASSERT | ICR_LOGICAL | XAPIC_DEST(0x15), false, 0, cl), 0x9);
	assert_int_equal(reached(INIT_ASSERT | ICR_LOGICAL | XAPIC_DEST(0x21), false, 0, cl), 0x4);
	assert_int_equal(reached(INIT_ASSERT | ICR_LOGICAL | XAPIC_DEST(0xff), false, 0, cl), 0xf);
}

static void test_x2apic_logical(void **state)
{
	(void)state;
	/* IDs 0x00, 0x01, 0x11, 0x12: clusters 0, 0, 1, 1. */
	const struct apic_target x2[4] = {
		{ 0x00, 0, 0 }, { 0x01, 0, 0 }, { 0x11, 0, 0 }, { 0x12, 0, 0 }
	};
	assert_int_equal(reached(INIT_ASSERT | ICR_LOGICAL | X2APIC_DEST(0x00000003), true, 0, x2),
			 0x3);
	assert_int_equal(reached(INIT_ASSERT | ICR_LOGICAL | X2APIC_DEST(0x00010004), true, 0, x2),
			 0x8);
	assert_int_equal(reached(INIT_ASSERT | ICR_LOGICAL | X2APIC_DEST(0x00010001), true, 0, x2),
			 0);
}

static void test_init_deassert(void **state)
{
	(void)state;
	assert_true(icr_is_init_deassert((uint64_t)ICR_INIT << 8 | ICR_TRIGGER_LEVEL));
	assert_false(icr_is_init_deassert(INIT_ASSERT | ICR_TRIGGER_LEVEL));
	assert_false(icr_is_init_deassert(INIT_ASSERT));
	assert_false(icr_is_init_deassert((uint64_t)ICR_STARTUP << 8 | ICR_TRIGGER_LEVEL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shorthands),    cmocka_unit_test(test_physical),
		cmocka_unit_test(test_xapic_logical), cmocka_unit_test(test_x2apic_logical),
		cmocka_unit_test(test_init_deassert),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
