/* Tables the linker script gathers into named sections (linker.ld): exception
 * fixups, guest tests, benchmark cases. Their bounds are linker symbols; the
 * number of entries is computed from addresses, not by comparing pointers to
 * different objects. */
#ifndef MARROW_BAREMETAL_SECTIONS_H
#define MARROW_BAREMETAL_SECTIONS_H

#include <stddef.h>
#include <stdint.h>

#define SECTION_ENTRIES(start, end) \
	((size_t)(((uintptr_t)(end) - (uintptr_t)(start)) / sizeof((start)[0])))

#endif
