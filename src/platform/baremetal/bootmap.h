/* The memory map a boot-time guest is given (docs/boot.md): the firmware's,
 * with marrow's own memory marked reserved, and the checks the loader makes
 * against it before it writes a byte. Entries use the multiboot2 (= E820)
 * types. Pure. */
#ifndef MARROW_BAREMETAL_BOOTMAP_H
#define MARROW_BAREMETAL_BOOTMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/boot_guest.h"
#include "mb2.h"

/* Every available region of fw, minus the hidden ranges, whose parts inside
 * it become reserved entries; other regions unchanged; sorted by base.
 * Returns the number of entries, or -1 when more than max are needed. */
int bootmap_build(const struct mb2_region *fw, size_t n, const struct mw_phys_range *hidden,
		  size_t nh, struct mb2_region *out, size_t max);

/* Is all of [base, end) available RAM in the map? */
bool bootmap_available(const struct mb2_region *map, size_t n, uint64_t base, uint64_t end);

/* The lowest address at or above min, a multiple of align (a power of
 * two), where [address, address+size) is available RAM in the map and
 * meets none of the busy ranges, below limit; false when there is none. */
bool bootmap_place(const struct mb2_region *map, size_t n, const struct mw_phys_range *busy,
		   size_t nbusy, uint64_t min, uint64_t size, uint64_t align, uint64_t limit,
		   uint64_t *out);

/* The KiB of available RAM from 0 up to the first hole (at most 640), and
 * from 1 MiB up to the first hole: multiboot's mem_lower and mem_upper, the
 * BIOS's INT 12h and E801 answers. */
uint32_t bootmap_lower_kib(const struct mb2_region *map, size_t n);
uint32_t bootmap_upper_kib(const struct mb2_region *map, size_t n);

static inline bool ranges_overlap(uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end)
{
	return a < b_end && b < a_end;
}

#endif
