/* What root mode runs on, in memory marrow owns. After ExitBootServices
 * the OS reuses the firmware's page tables and GDT (boot-services memory),
 * so marrow gives the core its own: an identity map of physical memory
 * for the host page table to copy (mw_config.host_pt_source), and per CPU
 * a copy of the firmware's GDT with a 64-bit TSS appended for the host TR
 * (VM entry refuses a null host TR selector, SDM 3C 27.2.3; OVMF runs with
 * TR = 0). */
#include <efi.h>

#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/paging.h"
#include "core/mw_string.h"
#include "uefi_platform.h"

#define GIB (1ull << 30)
#define GDT_AREA 2048	  /* the GDT copy; the TSS follows in the same page */
#define TSS_SIZE 104	  /* SDM 3A 8.7: the 64-bit TSS */
#define TSS_AVAILABLE 0x9 /* 64-bit TSS, available (SDM 3A 3.5) */
#define TSS_TYPE_BUSY 0x2 /* the busy bit of the type field */
#define CPUID_PAGE1GB (1u << 26)

static uint8_t *cpu_tables[UEFI_MAX_CPUS];

struct __attribute__((packed)) gdtr {
	uint16_t limit;
	uint64_t base;
};

static uint64_t map_top(void)
{
	uint64_t top = 4 * GIB; /* the MMIO below 4 GiB, the local APIC */
	for (size_t i = 0; i < uefi.mem_count; i++)
		if (uefi.mem[i].base + uefi.mem[i].length > top)
			top = uefi.mem[i].base + uefi.mem[i].length;
	return (top + GIB - 1) & ~(GIB - 1);
}

/* Identity, writable, executable, PAT index 0 (write-back, the MTRRs
 * making MMIO uncached), in 1 GiB pages where the CPU has them. */
static EFI_STATUS build_identity_map(void)
{
	uint64_t gib = map_top() / GIB;
	uint64_t pdpts = (gib + 511) / 512;
	bool huge = cpuid(0x80000001).edx & CPUID_PAGE1GB;
	uint64_t *pml4 = platform_alloc_pages(1);
	uint64_t *pdpt = platform_alloc_pages(pdpts);
	uint64_t *pd = huge ? NULL : platform_alloc_pages(gib);

	if (!pml4 || !pdpt || (!huge && !pd) || pdpts > 512)
		return EFI_OUT_OF_RESOURCES;
	for (uint64_t i = 0; i < pdpts; i++)
		pml4[i] = platform_virt_to_phys(pdpt + 512 * i) | PTE_P | PTE_W;
	for (uint64_t g = 0; g < gib; g++) {
		if (huge) {
			pdpt[g] = (g * GIB) | PTE_P | PTE_W | PTE_PS;
			continue;
		}
		for (uint64_t m = 0; m < 512; m++)
			pd[g * 512 + m] = (g * GIB + m * LARGE_PAGE_SIZE) | PTE_P | PTE_W | PTE_PS;
		pdpt[g] = platform_virt_to_phys(pd + 512 * g) | PTE_P | PTE_W;
	}
	uefi.identity_pml4_pa = platform_virt_to_phys(pml4);
	return EFI_SUCCESS;
}

EFI_STATUS uefi_host_init(void)
{
	for (unsigned i = 0; i < uefi.cpu_count; i++) {
		cpu_tables[i] = platform_alloc_pages(1);
		if (!cpu_tables[i])
			return EFI_OUT_OF_RESOURCES;
	}
	return build_identity_map();
}

static void set_tss_descriptor(uint8_t *slot, uint64_t base)
{
	uint64_t lo = (TSS_SIZE - 1) | (base & 0xffffff) << 16 | (uint64_t)TSS_AVAILABLE << 40 |
		      1ull << 47 /* present */ | (base >> 24 & 0xff) << 56;
	uint64_t hi = base >> 32;
	memcpy(slot, &lo, 8);
	memcpy(slot + 8, &hi, 8);
}

bool uefi_enter_marrow_tables(unsigned cpu, struct uefi_cpu_tables *saved)
{
	struct gdtr fw, mine;
	uint8_t *page = cpu_tables[cpu];

	__asm__ volatile("sgdt %0" : "=m"(fw));
	__asm__ volatile("str %0" : "=r"(saved->tr));
	memcpy(saved->gdtr, &fw, sizeof(fw));
	uint16_t tss_sel = (uint16_t)((fw.limit + 1 + 7) & ~7u);
	if (!page || tss_sel + 16 > GDT_AREA)
		return false;
	memcpy(page, (const void *)(uintptr_t)fw.base, fw.limit + 1u);
	memset(page + GDT_AREA, 0, TSS_SIZE);
	set_tss_descriptor(page + tss_sel, (uint64_t)(uintptr_t)(page + GDT_AREA));
	mine.limit = (uint16_t)(tss_sel + 15);
	mine.base = (uint64_t)(uintptr_t)page;
	__asm__ volatile("lgdt %0" ::"m"(mine));
	__asm__ volatile("ltr %0" ::"r"(tss_sel));
	return true;
}

void uefi_leave_marrow_tables(const struct uefi_cpu_tables *saved)
{
	struct gdtr fw;

	memcpy(&fw, saved->gdtr, sizeof(fw));
	__asm__ volatile("lgdt %0" ::"m"(fw));
	/* A firmware that had its own TSS gets it back; LTR wants it marked
	 * available. With TR 0 (OVMF), TR keeps marrow's TSS, which nothing
	 * uses until the OS loads its own. */
	if (saved->tr && saved->tr + 8u <= fw.limit + 1u) {
		uint8_t *type = (uint8_t *)(uintptr_t)(fw.base + (saved->tr & ~7u) + 5);
		*type &= (uint8_t)~TSS_TYPE_BUSY;
		__asm__ volatile("ltr %0" ::"r"(saved->tr));
	}
}

/* Nothing to give back: a VM exit leaves TR's limit at 0x67 (SDM 3C
 * 28.5.2), which is the limit of marrow's own TSS that TR holds here
 * (TSS_SIZE - 1, no I/O bitmap), and neither OVMF nor marrow sets
 * CR4.PCIDE, so root mode's translations are not kept under a PCID. */
void platform_cpu_left_vmx(void)
{
}
