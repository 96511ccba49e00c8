/* The boot-time guest's memory map: Bochs' firmware map with marrow's
 * memory carved out as reserved, exactly; hidden ranges across and at the
 * edges of regions; the availability checks and placement the loader
 * makes; multiboot's mem_lower/mem_upper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "src/platform/baremetal/bootmap.h"

#define MiB (1ull << 20)
#define A MB2_MEM_AVAILABLE
#define R MB2_MEM_RESERVED

/* As GRUB passed it in Bochs with 128 MiB (the kernel prints it). */
static const struct mb2_region bochs[] = {
	{ 0x0, 0x9f000, A },	    { 0x9f000, 0x1000, R },    { 0xe8000, 0x18000, R },
	{ 0x100000, 0x7ef0000, A }, { 0x7ff0000, 0x10000, 3 }, { 0xfffc0000, 0x40000, R },
};

static void expect_map(const struct mb2_region *got, int n, const struct mb2_region *want, int wn)
{
	assert_int_equal(n, wn);
	for (int i = 0; i < n; i++) {
		if (got[i].base != want[i].base || got[i].length != want[i].length ||
		    got[i].type != want[i].type)
			fail_msg("entry %d: %llx+%llx type %u, want %llx+%llx type %u", i,
				 (unsigned long long)got[i].base, (unsigned long long)got[i].length,
				 got[i].type, (unsigned long long)want[i].base,
				 (unsigned long long)want[i].length, want[i].type);
	}
}

static void test_bochs_map_with_marrow(void **state)
{
	(void)state;
	const struct mw_phys_range hidden[] = { { 16 * MiB, 16 * MiB + 0xd9000 },
						{ 18 * MiB, 22 * MiB } };
	const struct mb2_region want[] = {
		{ 0x0, 0x9f000, A },	   { 0x9f000, 0x1000, R },
		{ 0xe8000, 0x18000, R },   { 0x100000, 15 * MiB, A },
		{ 16 * MiB, 0xd9000, R },  { 16 * MiB + 0xd9000, 2 * MiB - 0xd9000, A },
		{ 18 * MiB, 4 * MiB, R },  { 22 * MiB, 0x7ff0000 - 22 * MiB, A },
		{ 0x7ff0000, 0x10000, 3 }, { 0xfffc0000, 0x40000, R },
	};
	struct mb2_region out[16];

	int n = bootmap_build(bochs, 6, hidden, 2, out, 16);
	expect_map(out, n, want, 10);
	assert_int_equal(bootmap_build(bochs, 6, hidden, 2, out, 9), -1);
	assert_int_equal(bootmap_lower_kib(out, (size_t)n), 0x9f000 >> 10);
	assert_int_equal(bootmap_upper_kib(out, (size_t)n), 15 * 1024);
	assert_int_equal(bootmap_upper_kib(bochs, 6), 0x7ef0000 >> 10);
}

static void test_hidden_at_edges_and_across(void **state)
{
	(void)state;
	/* Two adjacent RAM regions, given out of order; one hidden range
	 * across their boundary, one at the very start of the first. */
	const struct mb2_region fw[] = { { 8 * MiB, 8 * MiB, A }, { 0, 8 * MiB, A } };
	const struct mw_phys_range hidden[] = { { 6 * MiB, 10 * MiB }, { 0, 1 * MiB } };
	const struct mb2_region want[] = {
		{ 0, MiB, R },		 { MiB, 5 * MiB, A },	   { 6 * MiB, 2 * MiB, R },
		{ 8 * MiB, 2 * MiB, R }, { 10 * MiB, 6 * MiB, A },
	};
	struct mb2_region out[8];

	expect_map(out, bootmap_build(fw, 2, hidden, 2, out, 8), want, 5);
	/* A hidden range covering a whole region, and one outside RAM. */
	const struct mw_phys_range all[] = { { 0, 8 * MiB }, { 64 * MiB, 65 * MiB } };
	const struct mb2_region want2[] = { { 0, 8 * MiB, R }, { 8 * MiB, 8 * MiB, A } };
	expect_map(out, bootmap_build(fw, 2, all, 2, out, 8), want2, 2);
}

static void test_availability(void **state)
{
	(void)state;
	const struct mw_phys_range hidden[] = { { 16 * MiB, 17 * MiB } };
	struct mb2_region m[16];
	int n = bootmap_build(bochs, 6, hidden, 1, m, 16);

	assert_true(bootmap_available(m, (size_t)n, 0x10000, 0x20000));
	assert_true(bootmap_available(m, (size_t)n, MiB, 16 * MiB));
	assert_false(bootmap_available(m, (size_t)n, 15 * MiB, 16 * MiB + 1));
	assert_false(bootmap_available(m, (size_t)n, 0x9e000, 0xa0000));     /* into the EBDA */
	assert_false(bootmap_available(m, (size_t)n, 0x7fe0000, 0x8000000)); /* into ACPI */
	assert_false(bootmap_available(m, (size_t)n, 0x9f000, 0x100000));
	/* The firmware lists both: the reservation wins. */
	const struct mb2_region overlap[] = { { 0, 32 * MiB, A }, { 4 * MiB, MiB, R } };
	assert_false(bootmap_available(overlap, 2, 3 * MiB, 5 * MiB));
	assert_true(bootmap_available(overlap, 2, 5 * MiB, 6 * MiB));
}

static void test_placement(void **state)
{
	(void)state;
	const struct mw_phys_range hidden[] = { { 16 * MiB, 17 * MiB }, { 18 * MiB, 22 * MiB } };
	struct mb2_region m[16];
	size_t n = (size_t)bootmap_build(bochs, 6, hidden, 2, m, 16);
	const struct mw_phys_range busy[] = { { 2 * MiB, 12 * MiB }, { 0x10000, 0x20000 } };
	uint64_t at;

	/* 2 MiB-aligned, 4 MiB, from 16 MiB: 22 MiB is the first free. */
	assert_true(bootmap_place(m, n, busy, 2, 16 * MiB, 4 * MiB, 2 * MiB, 1ull << 32, &at));
	assert_int_equal(at, 22 * MiB);
	/* 16 MiB-aligned: 32 MiB. */
	assert_true(bootmap_place(m, n, busy, 2, 16 * MiB, 40 * MiB, 16 * MiB, 1ull << 32, &at));
	assert_int_equal(at, 32 * MiB);
	/* From 1 MiB: 1 MiB fits below the busy range, 2 MiB goes past it. */
	assert_true(bootmap_place(m, n, busy, 2, MiB, MiB, MiB, 1ull << 32, &at));
	assert_int_equal(at, MiB);
	assert_true(bootmap_place(m, n, busy, 2, MiB, 3 * MiB, MiB, 1ull << 32, &at));
	assert_int_equal(at, 12 * MiB);
	/* Too large for any RAM; or for the limit. */
	assert_false(bootmap_place(m, n, busy, 2, MiB, 200 * MiB, MiB, 1ull << 32, &at));
	assert_false(bootmap_place(m, n, busy, 2, 100 * MiB, 4 * MiB, MiB, 101 * MiB, &at));
	/* Page granularity works around a small busy range. */
	const struct mw_phys_range small[] = { { MiB, MiB + 0x3000 } };
	assert_true(bootmap_place(m, n, small, 1, MiB, 0x1000, 0x1000, 1ull << 32, &at));
	assert_int_equal(at, MiB + 0x3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bochs_map_with_marrow),
		cmocka_unit_test(test_hidden_at_edges_and_across),
		cmocka_unit_test(test_availability),
		cmocka_unit_test(test_placement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
