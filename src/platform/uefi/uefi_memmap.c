#include "uefi_memmap.h"

#include <stdbool.h>

#define PAGE_SHIFT 12

enum platform_mem_type uefi_mem_kind(uint32_t efi_type)
{
	switch (efi_type) {
	/* RAM: what the OS may use once boot services end, and the runtime
	 * services' memory, which is RAM the OS leaves to the firmware
	 * (guest pointers may point there, EPT maps it write-back). */
	case UEFI_MEM_LOADER_CODE:
	case UEFI_MEM_LOADER_DATA:
	case UEFI_MEM_BOOT_CODE:
	case UEFI_MEM_BOOT_DATA:
	case UEFI_MEM_CONVENTIONAL:
	case UEFI_MEM_RUNTIME_CODE:
	case UEFI_MEM_RUNTIME_DATA:
		return PLATFORM_MEM_RAM;
	case UEFI_MEM_ACPI_RECLAIM:
		return PLATFORM_MEM_ACPI;
	case UEFI_MEM_ACPI_NVS:
		return PLATFORM_MEM_NVS;
	case UEFI_MEM_UNUSABLE:
		return PLATFORM_MEM_BAD;
	default:
		/* Reserved, MMIO, port space, PAL code, persistent and
		 * unaccepted memory: nothing the core may treat as RAM. */
		return PLATFORM_MEM_RESERVED;
	}
}

/* Inserts r into out[0..n) sorted by base; false on overlap. */
static bool insert_sorted(struct platform_mem_range *out, size_t n,
			  const struct platform_mem_range *r)
{
	size_t i = n;
	while (i > 0 && out[i - 1].base > r->base) {
		out[i] = out[i - 1];
		i--;
	}
	out[i] = *r;
	if (i > 0 && out[i - 1].base + out[i - 1].length > r->base)
		return false;
	if (i + 1 <= n && r->base + r->length > out[i + 1].base)
		return false;
	return true;
}

/* Merges neighbours of one kind in place; returns the new count. */
static size_t merge(struct platform_mem_range *out, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w > 0 && out[w - 1].type == out[i].type &&
		    out[w - 1].base + out[w - 1].length == out[i].base) {
			out[w - 1].length += out[i].length;
			continue;
		}
		out[w++] = out[i];
	}
	return w;
}

int uefi_memmap_convert(const void *map, size_t map_size, size_t desc_size,
			struct platform_mem_range *out, size_t max)
{
	size_t n = 0;

	if (desc_size < sizeof(struct uefi_mem_desc))
		return -1;
	for (size_t off = 0; off + desc_size <= map_size; off += desc_size) {
		struct uefi_mem_desc d;
		__builtin_memcpy(&d, (const uint8_t *)map + off, sizeof(d));
		if (!d.pages)
			continue;
		if (d.pages > (UINT64_MAX - d.physical_start) >> PAGE_SHIFT)
			return -1;
		struct platform_mem_range r = { d.physical_start, d.pages << PAGE_SHIFT,
						uefi_mem_kind(d.type) };
		/* One slot is kept free for the insertion before merging. */
		if (n == max) {
			n = merge(out, n);
			if (n == max)
				return -1;
		}
		if (!insert_sorted(out, n, &r))
			return -1;
		n++;
	}
	return (int)merge(out, n);
}
