/* Physical memory range arithmetic: which pages of the firmware's memory map
 * the kernel may hand out. Pure logic, unit-tested. */
#ifndef MARROW_BAREMETAL_MEMMAP_H
#define MARROW_BAREMETAL_MEMMAP_H

#include <stddef.h>
#include <stdint.h>

#include "mb2.h"

/* A half-open physical range [base, end). */
struct mem_range {
	uint64_t base;
	uint64_t end;
};

/* Computes the usable page ranges: the map's available regions, shrunk
 * inward to whole pages, minus every non-available region (where the
 * firmware reports overlaps, the reservation wins), minus the caller's
 * reserved ranges, clipped to [min_addr, max_addr). The result is sorted and
 * merged. Returns the number of ranges written, or -1 when more than max_out
 * would be needed. */
int memmap_usable(const struct mb2_region *regions, size_t region_count,
		  const struct mem_range *reserved, size_t reserved_count, uint64_t min_addr,
		  uint64_t max_addr, struct mem_range *out, size_t max_out);

/* Total bytes in a range list. */
uint64_t memmap_total(const struct mem_range *r, size_t n);

#endif
