#include "paging.h"

#include "arch/x86/intrin.h"
#include "arch/x86/paging.h"
#include "boot_layout.h"
#include "console.h"
#include "core/mw_string.h"

#define PT_POOL_SIZE 64
#define MMIO_START (3ull << 30)

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __kernel_start[], __kernel_end[];

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint64_t pt_pool[PT_POOL_SIZE][512] __attribute__((aligned(4096)));
static unsigned pt_used;

static uint64_t *pde_for(uint64_t va)
{
	return &pd[va >> 30][PD_INDEX(va)];
}

/* Turns the 2 MiB page holding va into a page table of 4 KiB pages with the
 * same flags, and returns that table (or the existing one). */
static uint64_t *split_large(uint64_t va)
{
	uint64_t *pde = pde_for(va);

	if (!(*pde & PTE_PS))
		return (uint64_t *)(uintptr_t)(*pde & PTE_ADDR_MASK);
	if (pt_used == PT_POOL_SIZE)
		return NULL;
	uint64_t *pt = pt_pool[pt_used++];
	uint64_t flags = *pde & ~(PTE_ADDR_MASK | PTE_PS);
	uint64_t base = *pde & PTE_ADDR_MASK & ~(LARGE_PAGE_SIZE - 1);
	for (unsigned i = 0; i < 512; i++)
		pt[i] = (base + i * PAGE_SIZE) | flags;
	*pde = (uint64_t)(uintptr_t)pt | PTE_P | PTE_W | PTE_U;
	return pt;
}

static uint64_t *pte_for(uint64_t va)
{
	uint64_t *pt = split_large(va);
	return pt ? &pt[PT_INDEX(va)] : NULL;
}

static void set_range(uint64_t start, uint64_t end, uint64_t flags)
{
	for (uint64_t va = start & ~(PAGE_SIZE - 1); va < end; va += PAGE_SIZE) {
		uint64_t *pte = pte_for(va);
		if (!pte)
			panic("paging: out of page tables mapping %llx", (unsigned long long)va);
		*pte = va | flags;
	}
}

void paging_init(void)
{
	const uint64_t rw_nx = PTE_P | PTE_W | PTE_NX;

	pml4[0] = (uint64_t)(uintptr_t)pdpt | PTE_P | PTE_W | PTE_U;
	for (unsigned g = 0; g < 4; g++) {
		pdpt[g] = (uint64_t)(uintptr_t)pd[g] | PTE_P | PTE_W | PTE_U;
		for (unsigned i = 0; i < 512; i++) {
			uint64_t pa = ((uint64_t)g << 30) + (uint64_t)i * LARGE_PAGE_SIZE;
			uint64_t flags = rw_nx | PTE_PS;
			if (pa >= MMIO_START)
				flags |= PTE_PCD | PTE_PWT;
			pd[g][i] = pa | flags;
		}
	}

	/* Page 0 absent; the AP trampoline page executable. */
	set_range(0, PAGE_SIZE, 0);
	*pte_for(0) = 0;
	set_range(AP_TRAMPOLINE_ADDR, AP_TRAMPOLINE_ADDR + PAGE_SIZE, PTE_P | PTE_W);

	/* The kernel image: text RX, rodata R, data and bss RW, all NX but
	 * text. */
	set_range((uint64_t)(uintptr_t)__text_start, (uint64_t)(uintptr_t)__text_end, PTE_P);
	set_range((uint64_t)(uintptr_t)__rodata_start, (uint64_t)(uintptr_t)__rodata_end,
		  PTE_P | PTE_NX);
	set_range((uint64_t)(uintptr_t)__rodata_end, (uint64_t)(uintptr_t)__kernel_end, rw_nx);

	write_cr3((uint64_t)(uintptr_t)pml4);
}

uint64_t paging_root(void)
{
	return (uint64_t)(uintptr_t)pml4;
}

/* The window: PML4 slot 1 (512 GiB up), one PDPT, one PD, one 2 MiB page. */
#define WINDOW_VA (512ull << 30)
static uint64_t window_pdpt[512] __attribute__((aligned(4096)));
static uint64_t window_pd[512] __attribute__((aligned(4096)));

void *paging_map_phys(uint64_t pa)
{
	uint64_t base = pa & ~(LARGE_PAGE_SIZE - 1);

	pml4[PML4_INDEX(WINDOW_VA)] = (uint64_t)(uintptr_t)window_pdpt | PTE_P | PTE_W;
	window_pdpt[0] = (uint64_t)(uintptr_t)window_pd | PTE_P | PTE_W;
	window_pd[0] = base | PTE_P | PTE_W | PTE_PS | PTE_NX | PTE_PCD | PTE_PWT;
	invlpg((void *)(uintptr_t)WINDOW_VA);
	return (void *)(uintptr_t)(WINDOW_VA + (pa - base));
}

bool paging_set_exec(uint64_t va, uint64_t len, bool exec)
{
	for (uint64_t a = va & ~(PAGE_SIZE - 1); a < va + len; a += PAGE_SIZE) {
		uint64_t *pte = pte_for(a);
		if (!pte)
			return false;
		if (exec)
			*pte &= ~PTE_NX;
		else
			*pte |= PTE_NX;
		invlpg((void *)(uintptr_t)a);
	}
	return true;
}

void paging_make_supervisor(uint64_t va, uint64_t len)
{
	for (uint64_t a = va & ~(PAGE_SIZE - 1); a < va + len; a += PAGE_SIZE) {
		uint64_t *pte = pte_for(a);
		if (!pte)
			continue;
		*pte = (*pte & ~PTE_U) | PTE_NX;
		invlpg((void *)(uintptr_t)a);
	}
}

bool paging_make_user(uint64_t va, uint64_t len, bool exec)
{
	for (uint64_t a = va & ~(PAGE_SIZE - 1); a < va + len; a += PAGE_SIZE) {
		uint64_t *pte = pte_for(a);
		if (!pte)
			return false;
		*pte |= PTE_U;
		if (exec)
			*pte &= ~PTE_NX;
		invlpg((void *)(uintptr_t)a);
	}
	return true;
}
