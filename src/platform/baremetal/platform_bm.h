/* Bare-metal glue around the page allocator, and the parts of boot state the
 * rest of the kernel asks about. */
#ifndef MARROW_BAREMETAL_PLATFORM_BM_H
#define MARROW_BAREMETAL_PLATFORM_BM_H

#include <stddef.h>
#include <stdint.h>

#include "core/boot_guest.h"
#include "mb2.h"

/* The page allocator over the boot memory map, minus the kernel, the boot
 * information [info_lo, info_hi) and the modules; only over the arena when
 * one is given (loader mode: marrow's memory, hidden from its guest). */
void bm_memory_init(const struct mb2_info *mbi, uint64_t info_lo, uint64_t info_hi,
		    const struct mw_phys_range *arena);
void *bm_alloc_pages(size_t count);
void *bm_alloc_pages_below(size_t count, uint64_t limit);
void bm_free_pages(void *va, size_t count);
uint64_t bm_free_page_count(void);
uint64_t bm_total_page_count(void);
const struct mb2_info *bm_boot_info(void);

#endif
