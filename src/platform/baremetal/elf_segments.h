/* The loadable segments of an ELF executable (System V ABI, "Program
 * Header"), as multiboot loaders place them: at their physical addresses
 * (p_paddr), below 4 GiB since the kernel starts in 32-bit protected mode.
 * ELF32 (EM_386) and ELF64 (EM_X86_64), little-endian. Pure. */
#ifndef MARROW_BAREMETAL_ELF_SEGMENTS_H
#define MARROW_BAREMETAL_ELF_SEGMENTS_H

#include "guest_image.h"

/* Fills img->segs and, unless keep_entry, img->entry: e_entry moved into
 * physical addresses when it lies in a segment whose virtual and physical
 * addresses differ (as GRUB does for higher-half kernels). */
bool elf_load_segments(const uint8_t *buf, size_t len, struct guest_image *img, bool keep_entry,
		       struct load_error *err);

#endif
