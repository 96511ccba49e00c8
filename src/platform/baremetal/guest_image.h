/* A guest kernel image as the boot-time loader sees it (docs/boot.md): which
 * boot protocol it speaks, the pieces of the file to place where in
 * physical memory, and what it asks of its loader. Pure: the parsers read a
 * buffer and touch nothing else; every offset and size is checked against
 * the buffer, and a refusal says why. */
#ifndef MARROW_BAREMETAL_GUEST_IMAGE_H
#define MARROW_BAREMETAL_GUEST_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum guest_kind {
	GUEST_MULTIBOOT2, /* Multiboot2 specification, version 2.0 */
	GUEST_MULTIBOOT1, /* Multiboot specification 0.6.96 */
	GUEST_LINUX,	  /* Linux/x86 boot protocol, bzImage */
};

/* Bytes [file_off, file_off + file_size) of the image go to physical
 * address dest; [dest + file_size, dest + mem_size) is zeroed. */
struct load_seg {
	uint64_t dest;
	uint64_t file_off;
	uint64_t file_size;
	uint64_t mem_size;
};

#define GUEST_MAX_SEGS 16

/* Multiboot2 information tags the kernel may ask for (Multiboot2 3.6),
 * as bits 1u << type. */
#define MB2_INFO_CMDLINE 1
#define MB2_INFO_BOOTLOADER 2
#define MB2_INFO_MODULE 3
#define MB2_INFO_MEMINFO 4
#define MB2_INFO_MMAP 6
#define MB2_INFO_ACPI_OLD 14
#define MB2_INFO_ACPI_NEW 15

struct guest_image {
	enum guest_kind kind;
	struct load_seg segs[GUEST_MAX_SEGS];
	size_t seg_count;
	uint32_t entry; /* multiboot: physical entry point */
	/* Multiboot: modules on page boundaries (MB1 flag 0, MB2 tag 6). */
	bool page_align_modules;
	/* Multiboot2: the information tags a non-optional request tag asks
	 * for (each one the loader can give). */
	uint32_t mb2_required;
	/* Linux: the setup header, as found at 0x1f1 (bzimage.h). */
	uint16_t linux_version;
	bool linux_relocatable;
	uint32_t linux_setup_size; /* bytes before the protected-mode kernel */
	uint32_t linux_init_size;
	uint32_t linux_alignment;
	uint32_t linux_cmdline_size;
	uint32_t linux_initrd_max;
	uint64_t linux_pref_address;
};

/* A refusal, one line. */
struct load_error {
	char text[200];
};

/* Writes the reason and returns false. */
bool load_fail(struct load_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Which protocol the image speaks, and its layout. Multiboot2 is tried
 * first, then multiboot, then Linux: an image with both multiboot
 * headers boots as multiboot2 (as GRUB's multiboot2 command would). */
bool guest_image_probe(const uint8_t *img, size_t len, struct guest_image *out,
		       struct load_error *err);

const char *guest_kind_name(enum guest_kind k);

#endif
