/* The page allocator hands out distinct, zeroed, page-aligned, contiguous
 * pages, reports exhaustion, and takes every page back. */
#include "core/mw_string.h"
#include "guest_test.h"
#include "platform/platform.h"
#include "src/platform/baremetal/platform_bm.h"

#define NPAGES 64

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

GUEST_TEST(alloc, pages_are_distinct_zeroed_and_aligned)
{
	uint8_t *pages[NPAGES];
	uint64_t before = bm_free_page_count();

	for (int i = 0; i < NPAGES; i++) {
		pages[i] = platform_alloc_pages(1);
		GT_ASSERT(pages[i] != NULL);
		GT_ASSERT_EQ((uintptr_t)pages[i] & 4095, 0);
		GT_ASSERT(all_zero(pages[i], 4096));
		for (int j = 0; j < i; j++)
			GT_ASSERT_NE(pages[i], pages[j]);
		memset(pages[i], 0xa5, 4096); /* dirty it for the next round */
	}
	GT_ASSERT_EQ(bm_free_page_count(), before - NPAGES);
	for (int i = 0; i < NPAGES; i++)
		platform_free_pages(pages[i], 1);
	GT_ASSERT_EQ(bm_free_page_count(), before);

	/* Pages that come back dirty are handed out zeroed again. */
	for (int i = 0; i < NPAGES; i++) {
		pages[i] = platform_alloc_pages(1);
		GT_ASSERT(pages[i] != NULL);
		GT_ASSERT(all_zero(pages[i], 4096));
	}
	for (int i = 0; i < NPAGES; i++)
		platform_free_pages(pages[i], 1);
	GT_ASSERT_EQ(bm_free_page_count(), before);
}

GUEST_TEST(alloc, runs_are_physically_contiguous)
{
	const size_t n = 16;
	uint8_t *run = platform_alloc_pages(n);

	GT_ASSERT(run != NULL);
	uint64_t pa = platform_virt_to_phys(run);
	for (size_t i = 0; i < n; i++)
		GT_ASSERT_EQ(platform_virt_to_phys(run + i * 4096), pa + i * 4096);
	GT_ASSERT(all_zero(run, n * 4096));
	GT_ASSERT_EQ(platform_phys_to_virt(pa), run);
	platform_free_pages(run, n);
}

GUEST_TEST(alloc, exhaustion_is_an_error_not_a_crash)
{
	uint64_t before = bm_free_page_count();

	GT_ASSERT(platform_alloc_pages(before + 1) == NULL);
	GT_ASSERT_EQ(bm_free_page_count(), before);
	GT_ASSERT(platform_alloc_pages((size_t)1 << 40) == NULL);
	GT_ASSERT_EQ(bm_free_page_count(), before);
}

GUEST_TEST(alloc, memory_map_is_reported)
{
	struct platform_mem_range map[64];
	size_t n = platform_memory_map(map, 64);
	uint64_t ram = 0;

	GT_ASSERT(n > 0 && n <= 64);
	for (size_t i = 0; i < n; i++)
		if (map[i].type == PLATFORM_MEM_RAM)
			ram += map[i].length;
	/* What the allocator manages is RAM the map reports. */
	GT_ASSERT(ram >= bm_total_page_count() * 4096);
	GT_ASSERT(bm_total_page_count() > 0);
}
