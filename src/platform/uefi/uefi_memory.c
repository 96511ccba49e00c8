/* Memory for marrow on UEFI: pages from AllocatePages as
 * EfiRuntimeServicesData, which the OS keeps out of its usable RAM after
 * ExitBootServices (UEFI 7.2, "Memory Type Usage after
 * ExitBootServices()"), so root mode's structures outlive the firmware;
 * and the firmware's memory map, converted once at load. */
#include <efi.h>

#include "core/mw_string.h"
#include "uefi_memmap.h"
#include "uefi_owned.h"
#include "uefi_platform.h"

static struct uefi_owned owned;

static struct uefi_owned_range self;

const struct uefi_owned *uefi_owned_ranges(void)
{
	return &owned;
}

void uefi_owned_set_self(uint64_t base, uint64_t pages)
{
	if (uefi_owned_add(&owned, base, pages))
		self = (struct uefi_owned_range){ base, pages };
}

void uefi_owned_forget_self(void)
{
	if (self.pages)
		uefi_owned_remove(&owned, self.base, self.pages);
	self.pages = 0;
}

void *uefi_alloc_owned(size_t pages, EFI_MEMORY_TYPE type)
{
	EFI_PHYSICAL_ADDRESS pa = 0;

	/* AllocatePages is for the BSP and for boot services only (UEFI 7.2;
	 * PI volume 2: MP procedures may not call boot services). */
	if (uefi.boot_services_gone || !uefi_on_bsp() || !pages)
		return NULL;
	if (EFI_ERROR(uefi.bs->AllocatePages(AllocateAnyPages, type, pages, &pa)))
		return NULL;
	if (!uefi_owned_add(&owned, pa, pages)) {
		uefi.bs->FreePages(pa, pages);
		return NULL;
	}
	void *va = (void *)(uintptr_t)pa; /* the firmware maps memory 1:1 */
	memset(va, 0, pages * 4096);
	return va;
}

void uefi_free_owned(void *va, size_t pages)
{
	if (uefi.boot_services_gone || !va)
		return;
	uefi_owned_remove(&owned, (uint64_t)(uintptr_t)va, pages);
	uefi.bs->FreePages((EFI_PHYSICAL_ADDRESS)(uintptr_t)va, pages);
}

void *platform_alloc_pages(size_t count)
{
	return uefi_alloc_owned(count, EfiRuntimeServicesData);
}

void platform_free_pages(void *va, size_t count)
{
	uefi_free_owned(va, count);
}

EFI_STATUS uefi_memory_init(void)
{
	UINTN size = 0, key, desc_size;
	UINT32 version;
	EFI_MEMORY_DESCRIPTOR *map = NULL;
	EFI_STATUS s = uefi.bs->GetMemoryMap(&size, NULL, &key, &desc_size, &version);

	if (s != EFI_BUFFER_TOO_SMALL)
		return EFI_ERROR(s) ? s : EFI_LOAD_ERROR;
	/* The pool allocation itself may add descriptors. */
	size += 8 * desc_size;
	s = uefi.bs->AllocatePool(EfiLoaderData, size, (void **)&map);
	if (EFI_ERROR(s))
		return s;
	s = uefi.bs->GetMemoryMap(&size, map, &key, &desc_size, &version);
	if (!EFI_ERROR(s)) {
		int n = uefi_memmap_convert(map, size, desc_size, uefi.mem, UEFI_MEM_RANGES);
		if (n < 0)
			s = EFI_BUFFER_TOO_SMALL;
		else
			uefi.mem_count = (size_t)n;
	}
	uefi.bs->FreePool(map);
	return s;
}

size_t platform_memory_map(struct platform_mem_range *out, size_t max)
{
	for (size_t i = 0; i < uefi.mem_count && i < max; i++)
		out[i] = uefi.mem[i];
	return uefi.mem_count;
}

/* Not provided: inline hooks need code within 2 GiB of a kernel that has
 * not been loaded yet, and the OS remaps runtime memory where it likes
 * (SetVirtualAddressMap), so no address given here would still be the
 * code's after ExitBootServices. Inline and LSTAR hooks report
 * "unsupported"; there is no write alias either. */
void *platform_alloc_code(size_t pages, void **write)
{
	(void)pages;
	*write = NULL;
	return NULL;
}

void platform_free_code(void *code, void *write, size_t pages)
{
	(void)code;
	(void)write;
	(void)pages;
}

uint64_t *platform_interrupted_rip(void)
{
	return NULL;
}

void platform_quiesce(const void *code, size_t len)
{
	(void)code;
	(void)len;
}

/* During boot services the firmware identity-maps all memory (UEFI 2.3.4,
 * x64 platforms), and so does marrow's own page table. */
uint64_t platform_virt_to_phys(const void *va)
{
	return (uint64_t)(uintptr_t)va;
}

void *platform_map_mmio(uint64_t pa, size_t len)
{
	(void)len;
	return (void *)(uintptr_t)pa;
}

void platform_unmap_mmio(void *va, size_t len)
{
	(void)va;
	(void)len;
}

void *platform_phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

/* The host page table copies all of marrow's identity map. */
uint64_t platform_kernel_va_start(void)
{
	return 0;
}
