#include "host_pt.h"

#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/paging.h"
#include "core/fault.h"
#include "core/mw_string.h"
#include "platform/platform.h"

#define CPUID_80000001_EDX_PAGE1GB (1u << 26)
#define MAX_PHYS_MAP (512ull << 30) /* one PML4 slot */

static void record_ram(struct host_pt *h)
{
	struct platform_mem_range map[64];
	size_t n = platform_memory_map(map, 64);

	h->ram_count = 0;
	h->phys_limit = 0;
	for (size_t i = 0; i < n && i < 64; i++) {
		if (map[i].type != PLATFORM_MEM_RAM || h->ram_count == HOST_PT_MAX_RAM_RANGES)
			continue;
		uint64_t end = map[i].base + map[i].length;
		if (end > MAX_PHYS_MAP)
			end = MAX_PHYS_MAP;
		if (end <= map[i].base)
			continue;
		h->ram[h->ram_count].base = map[i].base;
		h->ram[h->ram_count].end = end;
		h->ram_count++;
		if (end > h->phys_limit)
			h->phys_limit = end;
	}
}

/* The highest upper-half PML4 slot the kernel does not use. */
static int free_slot(const uint64_t *pml4)
{
	for (int i = 510; i >= 256; i--)
		if (!(pml4[i] & PTE_P))
			return i;
	return -1;
}

static enum mw_status map_physical(struct host_pt *h)
{
	uint64_t gib = (h->phys_limit + HUGE_PAGE_SIZE - 1) / HUGE_PAGE_SIZE;
	const uint64_t flags = PTE_P | PTE_W | PTE_NX;

	h->pdpt = mw_alloc_pages(1);
	if (!h->pdpt)
		return MW_ERR_NO_MEMORY;
	if (cpuid(0x80000001).edx & CPUID_80000001_EDX_PAGE1GB) {
		for (uint64_t i = 0; i < gib; i++)
			h->pdpt[i] = (i * HUGE_PAGE_SIZE) | flags | PTE_PS;
		return MW_OK;
	}
	h->pd_pages = gib;
	h->pds = mw_alloc_pages(gib);
	if (!h->pds)
		return MW_ERR_NO_MEMORY;
	for (uint64_t i = 0; i < gib * 512; i++)
		h->pds[i] = (i * LARGE_PAGE_SIZE) | flags | PTE_PS;
	for (uint64_t i = 0; i < gib; i++)
		h->pdpt[i] = platform_virt_to_phys(h->pds + i * 512) | PTE_P | PTE_W;
	return MW_OK;
}

/* On failure, host_pt_free() returns what was allocated. */
enum mw_status host_pt_build(struct host_pt *h, uint64_t source_pa)
{
	uint64_t root = source_pa ? source_pa : read_cr3();
	const uint64_t *current = platform_phys_to_virt(root & PTE_ADDR_MASK);
	uint64_t start = platform_kernel_va_start();

	memset(h, 0, sizeof(*h));
	if (!current)
		return MW_ERR_BAD_CONFIG;
	h->pml4 = mw_alloc_pages(1);
	if (!h->pml4)
		return MW_ERR_NO_MEMORY;
	/* Copy the kernel's PML4 slots: those covering [start, 2^64). */
	unsigned first = (unsigned)((start >> 39) & 0x1ff);
	for (unsigned i = first; i < 512; i++)
		h->pml4[i] = current[i];

	int slot = free_slot(h->pml4);
	if (slot < 0)
		return MW_ERR_BAD_CONFIG;
	record_ram(h);
	enum mw_status s = map_physical(h);
	if (s != MW_OK)
		return s;
	h->pml4[slot] = platform_virt_to_phys(h->pdpt) | PTE_P | PTE_W;
	/* Sign-extend the slot's address (canonical upper half). */
	h->phys_va = 0xffff000000000000ull | ((uint64_t)slot << 39);
	return MW_OK;
}

void host_pt_free(struct host_pt *h)
{
	if (h->pds)
		platform_free_pages(h->pds, h->pd_pages);
	if (h->pdpt)
		platform_free_pages(h->pdpt, 1);
	if (h->pml4)
		platform_free_pages(h->pml4, 1);
	memset(h, 0, sizeof(*h));
}

void *host_pt_phys(const struct host_pt *h, uint64_t pa, size_t len)
{
	uint64_t end = pa + len;

	if (end < pa || end > h->phys_limit)
		return NULL;
	for (size_t i = 0; i < h->ram_count; i++)
		if (pa >= h->ram[i].base && end <= h->ram[i].end)
			return (void *)(uintptr_t)(h->phys_va + pa);
	return NULL;
}
