/* The bare-metal kernel's own page tables: an identity map of the low 4 GiB,
 * 2 MiB pages where possible, 4 KiB pages where permissions differ: kernel
 * text read-only and executable, everything else non-executable, the page at
 * 0 absent (NULL dereferences fault), the top GiB (MMIO) uncached. */
#ifndef MARROW_BAREMETAL_PAGING_H
#define MARROW_BAREMETAL_PAGING_H

#include <stdbool.h>
#include <stdint.h>

/* Highest physical address + 1 the identity map covers. */
#define PAGING_IDENTITY_LIMIT (4ull << 30)

void paging_init(void);
/* Physical address of the PML4, for CR3 (the same on every CPU). */
uint64_t paging_root(void);
/* Makes [va, va+len) accessible from ring 3 (and executable if exec), for
 * guest tests that run code at CPL 3. Returns false if it ran out of page
 * tables. */
bool paging_make_user(uint64_t va, uint64_t len, bool exec);
/* Maps the 2 MiB of physical memory containing pa (any address below
 * 2^MAXPHYADDR, RAM or not) at a fixed window above the identity map, and
 * returns the virtual address of pa in it. One window: the next call
 * replaces the mapping. For tests of high guest-physical addresses. */
void *paging_map_phys(uint64_t pa);

/* Makes [va, va+len) executable (or not again); false if it ran out of
 * page tables. The pages stay writable: generated code. */
bool paging_set_exec(uint64_t va, uint64_t len, bool exec);

/* Undoes paging_make_user: supervisor-only, non-executable. */
void paging_make_supervisor(uint64_t va, uint64_t len);

#endif
