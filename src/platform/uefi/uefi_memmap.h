/* The firmware's memory map (UEFI specification 7.2, GetMemoryMap) as
 * platform.h ranges: each EFI memory type mapped to what it is once the OS
 * runs, adjacent ranges of one kind merged (OVMF reports over a hundred
 * descriptors, most of them pieces of RAM). Pure logic. */
#ifndef MARROW_UEFI_MEMMAP_H
#define MARROW_UEFI_MEMMAP_H

#include <stddef.h>
#include <stdint.h>

#include "platform/platform.h"

/* EFI_MEMORY_DESCRIPTOR (UEFI 7.2); the firmware's descriptor size may be
 * larger than this, so the map is walked with its own stride. */
struct uefi_mem_desc {
	uint32_t type;
	uint32_t pad;
	uint64_t physical_start;
	uint64_t virtual_start;
	uint64_t pages;
	uint64_t attribute;
};

/* EFI_MEMORY_TYPE values (UEFI 7.2, table "Memory Type Usage before
 * ExitBootServices()"). */
enum uefi_mem_type {
	UEFI_MEM_RESERVED = 0,
	UEFI_MEM_LOADER_CODE = 1,
	UEFI_MEM_LOADER_DATA = 2,
	UEFI_MEM_BOOT_CODE = 3,
	UEFI_MEM_BOOT_DATA = 4,
	UEFI_MEM_RUNTIME_CODE = 5,
	UEFI_MEM_RUNTIME_DATA = 6,
	UEFI_MEM_CONVENTIONAL = 7,
	UEFI_MEM_UNUSABLE = 8,
	UEFI_MEM_ACPI_RECLAIM = 9,
	UEFI_MEM_ACPI_NVS = 10,
	UEFI_MEM_MMIO = 11,
	UEFI_MEM_MMIO_PORT = 12,
	UEFI_MEM_PAL_CODE = 13,
	UEFI_MEM_PERSISTENT = 14,
	UEFI_MEM_UNACCEPTED = 15,
};

enum platform_mem_type uefi_mem_kind(uint32_t efi_type);

/* Converts the map (map_size bytes of descriptors desc_size apart) into at
 * most max ranges, sorted by base, merging neighbours of one kind. Returns
 * the number of ranges, or -1 when they do not fit in max or the map is
 * malformed (a descriptor size below the structure's, overlaps). */
int uefi_memmap_convert(const void *map, size_t map_size, size_t desc_size,
			struct platform_mem_range *out, size_t max);

#endif
