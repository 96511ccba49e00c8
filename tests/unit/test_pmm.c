/* The bitmap page allocator: first fit, alignment, limits, exhaustion,
 * double free and foreign frees reported, free count kept exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "src/platform/baremetal/pmm.h"

#define PG 4096ull

static struct pmm p;
static uint8_t bitmap[1024];

/* A window of 256 frames at 1 MiB with two usable runs:
 * [1 MiB + 16 pages, 1 MiB + 64 pages) and [1 MiB + 128 pages, 1 MiB + 256 pages). */
static int setup(void **state)
{
	(void)state;
	pmm_init(&p, 0x100000, 256, bitmap);
	pmm_add_range(&p, 0x100000 + 16 * PG, 0x100000 + 64 * PG);
	pmm_add_range(&p, 0x100000 + 128 * PG, 0x100000 + 256 * PG);
	return 0;
}

static void test_counts(void **state)
{
	(void)state;
	assert_int_equal(p.free_count, 48 + 128);
	assert_false(pmm_is_free(&p, 0x100000));
	assert_true(pmm_is_free(&p, 0x100000 + 16 * PG));
	assert_false(pmm_is_free(&p, 0x100000 + 64 * PG));
	/* Adding a range twice does not count it twice. */
	pmm_add_range(&p, 0x100000 + 16 * PG, 0x100000 + 20 * PG);
	assert_int_equal(p.free_count, 48 + 128);
}

static void test_first_fit_and_distinct(void **state)
{
	(void)state;
	uint64_t a, b, c;
	assert_int_equal(pmm_alloc(&p, 1, 1, &a), PMM_OK);
	assert_int_equal(pmm_alloc(&p, 1, 1, &b), PMM_OK);
	assert_int_equal(a, 0x100000 + 16 * PG);
	assert_int_equal(b, a + PG);
	/* A run too long for the first hole comes from the second. */
	assert_int_equal(pmm_alloc(&p, 60, 1, &c), PMM_OK);
	assert_int_equal(c, 0x100000 + 128 * PG);
	assert_int_equal(p.free_count, 48 + 128 - 62);
}

static void test_alignment(void **state)
{
	(void)state;
	uint64_t a;
	/* Alignment is in absolute frames: free frames start at 0x110, and
	 * the first 32-frame-aligned one is 0x120. */
	assert_int_equal(pmm_alloc(&p, 4, 32, &a), PMM_OK);
	assert_int_equal(a, 0x120000);
	assert_int_equal(pmm_alloc(&p, 1, 3, &a), PMM_ERR_BAD_ARG);
	assert_int_equal(pmm_alloc(&p, 0, 1, &a), PMM_ERR_BAD_ARG);
}

static void test_limit(void **state)
{
	(void)state;
	uint64_t a;
	/* Below 1 MiB + 20 pages there are only 4 free frames. */
	assert_int_equal(pmm_alloc_below(&p, 5, 1, 0x100000 + 20 * PG, &a), PMM_ERR_EXHAUSTED);
	assert_int_equal(pmm_alloc_below(&p, 4, 1, 0x100000 + 20 * PG, &a), PMM_OK);
	assert_int_equal(a, 0x100000 + 16 * PG);
	assert_int_equal(pmm_alloc_below(&p, 1, 1, 0x1000, &a), PMM_ERR_EXHAUSTED);
}

static void test_exhaustion_changes_nothing(void **state)
{
	(void)state;
	uint64_t a;
	uint64_t before = p.free_count;
	assert_int_equal(pmm_alloc(&p, 129, 1, &a), PMM_ERR_EXHAUSTED); /* no run that long */
	assert_int_equal(pmm_alloc(&p, before + 1, 1, &a), PMM_ERR_EXHAUSTED);
	assert_int_equal(p.free_count, before);
	/* Everything, then nothing more. */
	assert_int_equal(pmm_alloc(&p, 48, 1, &a), PMM_OK);
	assert_int_equal(pmm_alloc(&p, 128, 1, &a), PMM_OK);
	assert_int_equal(p.free_count, 0);
	assert_int_equal(pmm_alloc(&p, 1, 1, &a), PMM_ERR_EXHAUSTED);
}

static void test_free_checks(void **state)
{
	(void)state;
	uint64_t a;
	assert_int_equal(pmm_alloc(&p, 8, 1, &a), PMM_OK);
	assert_int_equal(pmm_free(&p, a, 8), PMM_OK);
	assert_int_equal(p.free_count, 176);
	assert_int_equal(pmm_free(&p, a, 1), PMM_ERR_DOUBLE_FREE);
	assert_int_equal(pmm_free(&p, a + 1, 1), PMM_ERR_NOT_OWNED);  /* unaligned */
	assert_int_equal(pmm_free(&p, 0x1000, 1), PMM_ERR_NOT_OWNED); /* below the window */
	assert_int_equal(pmm_free(&p, 0x100000 + 255 * PG, 2), PMM_ERR_NOT_OWNED); /* past it */
	assert_int_equal(pmm_free(&p, a, 0), PMM_ERR_BAD_ARG);
	assert_int_equal(p.free_count, 176);
	/* A partial double free frees nothing. */
	assert_int_equal(pmm_alloc(&p, 2, 1, &a), PMM_OK);
	assert_int_equal(pmm_free(&p, a, 3), PMM_ERR_DOUBLE_FREE);
	assert_int_equal(p.free_count, 174);
}

static void test_fragmentation_round_trip(void **state)
{
	(void)state;
	uint64_t pages[176];
	/* Take every page singly, free every other one, then a 2-page run
	 * must fail while single pages succeed. */
	for (int i = 0; i < 176; i++)
		assert_int_equal(pmm_alloc(&p, 1, 1, &pages[i]), PMM_OK);
	for (int i = 0; i < 176; i += 2)
		assert_int_equal(pmm_free(&p, pages[i], 1), PMM_OK);
	uint64_t a;
	assert_int_equal(pmm_alloc(&p, 2, 1, &a), PMM_ERR_EXHAUSTED);
	assert_int_equal(pmm_alloc(&p, 1, 1, &a), PMM_OK);
	assert_int_equal(a, pages[0]);
	assert_int_equal(pmm_free(&p, a, 1), PMM_OK);
	for (int i = 1; i < 176; i += 2)
		assert_int_equal(pmm_free(&p, pages[i], 1), PMM_OK);
	assert_int_equal(p.free_count, 176);
	assert_string_equal(pmm_status_str(PMM_ERR_DOUBLE_FREE), "pages freed twice");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_counts, setup),
		cmocka_unit_test_setup(test_first_fit_and_distinct, setup),
		cmocka_unit_test_setup(test_alignment, setup),
		cmocka_unit_test_setup(test_limit, setup),
		cmocka_unit_test_setup(test_exhaustion_changes_nothing, setup),
		cmocka_unit_test_setup(test_free_checks, setup),
		cmocka_unit_test_setup(test_fragmentation_round_trip, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
