/* The boot-time loader (docs/boot.md): GRUB starts this kernel with
 * `multiboot2 /marrow.elf load`, followed by the guest kernel as the first
 * module (its command line the module's) and that kernel's own modules (a
 * Linux kernel's initrd). marrow keeps its memory in the ranges
 * loader_arena chose, virtualizes every CPU, loads the guest kernel, parks
 * the APs in wait-for-SIPI and starts the kernel on the boot CPU as its
 * guest, with marrow's memory hidden from it. */
#ifndef MARROW_BAREMETAL_LOADER_H
#define MARROW_BAREMETAL_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/boot_guest.h"
#include "mb2.h"

/* Where the guest's boot information goes (boot protocols' structures, the
 * GDT the entry uses): low memory, which every kernel leaves alone until it
 * has read what it was given. */
#define LOADER_INFO_BASE 0x10000ull
#define LOADER_INFO_SIZE 0x10000ull

/* The memory marrow will allocate from in loader mode: the lowest 2 MiB-
 * aligned RAM above the kernel image, the boot information and every
 * module, sized for cpu_count CPUs. False (with the reason) when none fits
 * below 4 GiB. */
bool loader_arena(const struct mb2_info *mbi, uint64_t info_lo, uint64_t info_hi,
		  unsigned cpu_count, struct mw_phys_range *arena, char *why, size_t why_len);

/* Loads and starts the guest; never returns (the run ends with the reason
 * when anything is refused, and nothing of the guest has run then). */
__attribute__((noreturn)) void loader_run(const struct mb2_info *mbi,
					  const struct mw_phys_range *arena);

#endif
