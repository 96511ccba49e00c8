/* The page table marrow's root mode runs on (HOST_CR3). It is marrow's own
 * PML4: the kernel's mappings, copied from the page table current at
 * virtualization time (so a process that exits cannot take them away), and
 * one slot of marrow's own mapping all physical RAM, through which root
 * mode reads and writes guest memory (guest-physical = host-physical under
 * the identity EPT). */
#ifndef MARROW_CORE_HOST_PT_H
#define MARROW_CORE_HOST_PT_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define HOST_PT_MAX_RAM_RANGES 32

struct host_pt {
	uint64_t *pml4;
	uint64_t *pdpt; /* the physical map's PDPT */
	uint64_t *pds;	/* its page directories when 1 GiB pages are missing */
	size_t pd_pages;
	uint64_t phys_va;    /* virtual address of physical address 0 */
	uint64_t phys_limit; /* physical addresses below this are mapped */
	size_t ram_count;
	struct {
		uint64_t base, end;
	} ram[HOST_PT_MAX_RAM_RANGES];
};

/* Copies the kernel-half PML4 entries of the page table at source_pa (0:
 * the current CR3) and adds the physical map. */
enum mw_status host_pt_build(struct host_pt *h, uint64_t source_pa);
void host_pt_free(struct host_pt *h);
/* Root-safe: the host virtual address of [pa, pa+len), or NULL unless the
 * whole range is RAM the physical map covers. */
void *host_pt_phys(const struct host_pt *h, uint64_t pa, size_t len);

#endif
