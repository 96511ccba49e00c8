/* Usable-range arithmetic: alignment inward, reserved regions subtracted
 * (the firmware's and the kernel's), overlaps, merging, clipping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixtures/bochs_mb2.h"
#include "src/platform/baremetal/memmap.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void expect_ranges(const struct mem_range *got, int n, const struct mem_range *want,
			  int nwant)
{
	assert_int_equal(n, nwant);
	for (int i = 0; i < n; i++) {
		assert_int_equal(got[i].base, want[i].base);
		assert_int_equal(got[i].end, want[i].end);
	}
}

static void test_bochs_map_minus_kernel(void **state)
{
	(void)state;
	struct mb2_info info;
	struct mem_range out[16];
	/* The kernel image at 16 MiB and the boot information, as at boot. */
	const struct mem_range reserved[] = { { 0x1000000, 0x1065000 }, { 0x10000, 0x105d8 } };

	assert_int_equal(mb2_parse(bochs_mb2_info, sizeof(bochs_mb2_info), &info), MB2_OK);
	int n = memmap_usable(info.regions, info.region_count, reserved, 2, MiB, 4 * GiB, out, 16);
	const struct mem_range want[] = { { MiB, 0x1000000 }, { 0x1065000, 0x7ff0000 } };
	expect_ranges(out, n, want, 2);
	assert_int_equal(memmap_total(out, (size_t)n), 0x7ff0000 - MiB - 0x65000);
}

static void test_unaligned_regions_shrink_inward(void **state)
{
	(void)state;
	const struct mb2_region map[] = {
		{ 0x1800, 0x3000, MB2_MEM_AVAILABLE }, /* 0x1800-0x4800 -> 0x2000-0x4000 */
		{ 0x10000, 0x800, MB2_MEM_AVAILABLE }, /* less than a page: gone */
	};
	struct mem_range out[4];
	int n = memmap_usable(map, 2, NULL, 0, 0, UINT64_MAX, out, 4);
	const struct mem_range want[] = { { 0x2000, 0x4000 } };
	expect_ranges(out, n, want, 1);
}

static void test_reserved_overlap_wins(void **state)
{
	(void)state;
	/* Firmware that reports RAM and a reservation over the same pages. */
	const struct mb2_region map[] = {
		{ 0x100000, 0x1000000, MB2_MEM_AVAILABLE },
		{ 0x800800, 0x1000, MB2_MEM_RESERVED }, /* straddles two pages */
		{ 0x1000000, 0x100000, MB2_MEM_NVS },	/* at the very end */
	};
	struct mem_range out[4];
	int n = memmap_usable(map, 3, NULL, 0, 0, UINT64_MAX, out, 4);
	const struct mem_range want[] = { { 0x100000, 0x800000 }, { 0x802000, 0x1000000 } };
	expect_ranges(out, n, want, 2);
}

static void test_adjacent_and_overlapping_ram_merge(void **state)
{
	(void)state;
	const struct mb2_region map[] = {
		{ 0x300000, 0x100000, MB2_MEM_AVAILABLE },
		{ 0x100000, 0x100000, MB2_MEM_AVAILABLE },
		{ 0x200000, 0x100000, MB2_MEM_AVAILABLE }, /* joins the two */
		{ 0x180000, 0x300000, MB2_MEM_AVAILABLE }, /* overlaps all */
		{ 0x900000, 0x1000, MB2_MEM_AVAILABLE },
	};
	struct mem_range out[4];
	int n = memmap_usable(map, 5, NULL, 0, 0, UINT64_MAX, out, 4);
	const struct mem_range want[] = { { 0x100000, 0x480000 }, { 0x900000, 0x901000 } };
	expect_ranges(out, n, want, 2);
}

static void test_clipping_and_reserved_splits(void **state)
{
	(void)state;
	const struct mb2_region map[] = {
		{ 0, 0xa0000, MB2_MEM_AVAILABLE },
		{ MiB, 6 * GiB - MiB, MB2_MEM_AVAILABLE },
	};
	const struct mem_range reserved[] = {
		{ 16 * MiB, 17 * MiB }, { 20 * MiB + 1, 20 * MiB + 2 }, /* rounds out to a page */
	};
	struct mem_range out[8];
	int n = memmap_usable(map, 2, reserved, 2, MiB, 4 * GiB, out, 8);
	const struct mem_range want[] = { { MiB, 16 * MiB },
					  { 17 * MiB, 20 * MiB },
					  { 20 * MiB + 0x1000, 4 * GiB } };
	expect_ranges(out, n, want, 3);
}

static void test_overflowing_output_is_an_error(void **state)
{
	(void)state;
	const struct mb2_region map[] = {
		{ 0x1000, 0x1000, MB2_MEM_AVAILABLE },
		{ 0x3000, 0x1000, MB2_MEM_AVAILABLE },
		{ 0x5000, 0x1000, MB2_MEM_AVAILABLE },
	};
	struct mem_range out[3];
	assert_int_equal(memmap_usable(map, 3, NULL, 0, 0, UINT64_MAX, out, 2), -1);
	/* A reservation splitting a full list needs room too. */
	const struct mb2_region one[] = { { 0x0, 0x10000, MB2_MEM_AVAILABLE } };
	const struct mem_range mid[] = { { 0x4000, 0x5000 } };
	assert_int_equal(memmap_usable(one, 1, mid, 1, 0, UINT64_MAX, out, 1), -1);
}

static void test_region_at_top_of_address_space(void **state)
{
	(void)state;
	/* base + length overflows 64 bits: the end saturates, and only the
	 * very last page (whose end 2^64 a half-open range cannot hold) is
	 * dropped. */
	const struct mb2_region map[] = { { 0xffffffffffffe000ull, 0x4000, MB2_MEM_AVAILABLE } };
	struct mem_range out[2];
	int n = memmap_usable(map, 1, NULL, 0, 0, UINT64_MAX, out, 2);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].base, 0xffffffffffffe000ull);
	assert_int_equal(out[0].end, 0xfffffffffffff000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bochs_map_minus_kernel),
		cmocka_unit_test(test_unaligned_regions_shrink_inward),
		cmocka_unit_test(test_reserved_overlap_wins),
		cmocka_unit_test(test_adjacent_and_overlapping_ram_merge),
		cmocka_unit_test(test_clipping_and_reserved_splits),
		cmocka_unit_test(test_overflowing_output_is_an_error),
		cmocka_unit_test(test_region_at_top_of_address_space),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
