/* Linux bzImage kernels through the Linux/x86 boot protocol
 * (Documentation/arch/x86/boot.rst): the real-mode setup header at 0x1f1,
 * and the zero page (struct boot_params) a boot loader fills for the 32-bit
 * entry: the setup header, the E820 memory map, the command line and the
 * initrd. Pure. */
#ifndef MARROW_BAREMETAL_BZIMAGE_H
#define MARROW_BAREMETAL_BZIMAGE_H

#include "guest_image.h"
#include "mb2.h"

/* Protocol 2.06 is the first with cmdline_size; marrow needs no older. */
#define LINUX_MIN_VERSION 0x0206
#define LINUX_BOOT_PARAMS_SIZE 4096
#define LINUX_E820_MAX 128 /* entries in the zero page */
/* The 32-bit entry's segments (boot protocol, "32-bit boot protocol"). */
#define LINUX_BOOT_CS 0x10
#define LINUX_BOOT_DS 0x18

/* Recognises a bzImage and records what loading it needs. Returns false
 * with err->text empty when it is not a Linux kernel at all. */
bool bzimage_parse(const uint8_t *img, size_t len, struct guest_image *out, struct load_error *err);

struct linux_boot {
	uint32_t kernel_addr; /* where the protected-mode kernel was placed */
	uint32_t cmdline_addr;
	uint64_t initrd_addr, initrd_size; /* size 0: no initrd */
	uint64_t rsdp_addr;		   /* 0: the kernel scans for it */
	const struct mb2_region *map;	   /* the guest's memory map */
	size_t map_count;
};

/* Fills the zero page (LINUX_BOOT_PARAMS_SIZE bytes) for the image's setup
 * header. False when the map has more entries than the zero page holds. */
bool bzimage_boot_params(const uint8_t *img, size_t len, const struct guest_image *gi,
			 const struct linux_boot *b, uint8_t *zero_page, struct load_error *err);

#endif
