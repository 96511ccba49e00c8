/* Moving marrow's image to memory the OS leaves alone. A gnu-efi image
 * relocates itself at start-up from its ELF dynamic relocations (only
 * R_X86_64_RELATIVE: "base + addend"); a copy made afterwards holds
 * pointers into the original, which the same table, applied again with the
 * distance between the two, moves into the copy. Pure logic. */
#ifndef MARROW_UEFI_RELOC_H
#define MARROW_UEFI_RELOC_H

#include <stddef.h>
#include <stdint.h>

/* ELF64 Rela (System V ABI, AMD64 supplement). */
struct uefi_rela {
	uint64_t offset; /* from the image base */
	uint64_t info;	 /* type in the low 32 bits */
	int64_t addend;
};

#define UEFI_R_X86_64_NONE 0
#define UEFI_R_X86_64_RELATIVE 8

/* The dynamic section's tags that locate the table. */
#define UEFI_DT_NULL 0
#define UEFI_DT_RELA 7
#define UEFI_DT_RELASZ 8
#define UEFI_DT_RELAENT 9

struct uefi_dyn {
	int64_t tag;
	uint64_t val;
};

enum uefi_reloc_status {
	UEFI_RELOC_OK = 0,
	UEFI_RELOC_NO_TABLE,	/* the dynamic section names no Rela table */
	UEFI_RELOC_BAD_ENTSIZE, /* entries of a size other than struct uefi_rela */
	UEFI_RELOC_BAD_TYPE,	/* a relocation other than RELATIVE or NONE */
	UEFI_RELOC_OUT_OF_IMAGE /* a target outside [0, image_size - 8] */
};

const char *uefi_reloc_status_str(enum uefi_reloc_status s);

/* Finds the Rela table of the image at `base` from its dynamic section
 * (an address inside the image): *table and *count. */
enum uefi_reloc_status uefi_reloc_find(uint8_t *base, const struct uefi_dyn *dyn,
				       const struct uefi_rela **table, size_t *count);

/* Checks every entry first, then adds delta to each RELATIVE target in the
 * copy at `copy` (image_size bytes): all or nothing. */
enum uefi_reloc_status uefi_reloc_apply(uint8_t *copy, size_t image_size,
					const struct uefi_rela *table, size_t count,
					uint64_t delta);

#endif
