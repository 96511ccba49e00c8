/* Physical page allocator: a bitmap over a window of page frames, first-fit
 * for contiguous runs with alignment. Pure bookkeeping (the caller zeroes
 * and locks), so it is unit-tested on the host. */
#ifndef MARROW_BAREMETAL_PMM_H
#define MARROW_BAREMETAL_PMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pmm {
	uint64_t base;	     /* physical address of the first frame tracked */
	uint64_t frames;     /* frames tracked */
	uint8_t *used;	     /* one bit per frame, 1 = not available */
	uint64_t free_count; /* frames currently available */
};

enum pmm_status {
	PMM_OK = 0,
	PMM_ERR_EXHAUSTED, /* no free run of the size and alignment asked */
	PMM_ERR_BAD_ARG,   /* zero count, alignment not a power of two */
	PMM_ERR_NOT_OWNED, /* freeing frames outside the window or unaligned */
	PMM_ERR_DOUBLE_FREE,
};

const char *pmm_status_str(enum pmm_status s);

/* Bytes of bitmap needed for a window of `frames` frames. */
static inline size_t pmm_bitmap_bytes(uint64_t frames)
{
	return (size_t)((frames + 7) / 8);
}

/* Starts with every frame unavailable; base must be page-aligned. */
void pmm_init(struct pmm *p, uint64_t base, uint64_t frames, uint8_t *bitmap);
/* Marks [start, end) available (page-aligned, clipped to the window). */
void pmm_add_range(struct pmm *p, uint64_t start, uint64_t end);
/* Finds `count` contiguous free frames whose first address is a multiple of
 * align_pages pages, marks them used and returns their address. */
enum pmm_status pmm_alloc(struct pmm *p, uint64_t count, uint64_t align_pages, uint64_t *addr);
/* Same, but only below `limit` (for real-mode trampolines and the like). */
enum pmm_status pmm_alloc_below(struct pmm *p, uint64_t count, uint64_t align_pages, uint64_t limit,
				uint64_t *addr);
enum pmm_status pmm_free(struct pmm *p, uint64_t addr, uint64_t count);
bool pmm_is_free(const struct pmm *p, uint64_t addr);

#endif
