/* The boot information a multiboot kernel receives: the multiboot
 * information structure (Multiboot 0.6.96, section 3.3) or the multiboot2
 * information tags (Multiboot2 2.0, section 3.6), built in a buffer that
 * will sit at a known physical address below 4 GiB (the structures hold
 * 32-bit physical pointers). Pure. */
#ifndef MARROW_BAREMETAL_MB_INFO_H
#define MARROW_BAREMETAL_MB_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "mb2.h"

#define MB1_BOOTLOADER_MAGIC 0x2badb002u

struct mb_module {
	uint64_t start, end;
	const char *cmdline;
};

struct mb_info_input {
	const char *cmdline;	/* the kernel's, never NULL */
	const char *bootloader; /* the loader's name */
	const struct mb_module *modules;
	size_t module_count;
	const struct mb2_region *map; /* the guest's memory map */
	size_t map_count;
	const void *rsdp; /* a copy of the ACPI RSDP, or NULL */
	size_t rsdp_len;
	uint32_t rsdp_revision; /* 0: ACPI 1.0, 2: ACPI 2.0+ */
};

/* Each writes the structure into buf (size bytes), which the kernel will
 * find at physical address pa, and returns the bytes used; 0 when it does
 * not fit or an address is not below 4 GiB. */
size_t mb2_info_build(const struct mb_info_input *in, uint8_t *buf, size_t size, uint64_t pa);
size_t mb1_info_build(const struct mb_info_input *in, uint8_t *buf, size_t size, uint64_t pa);

#endif
