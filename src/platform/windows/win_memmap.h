/* Physical memory as Windows reports it (MmGetPhysicalMemoryRanges: an
 * array of RAM runs, base and length in bytes, ending with a zero entry)
 * turned into the core's memory map (platform.h). Pure. */
#ifndef MARROW_WINDOWS_WIN_MEMMAP_H
#define MARROW_WINDOWS_WIN_MEMMAP_H

#include <stddef.h>
#include <stdint.h>

#include "platform/platform.h"

/* PHYSICAL_MEMORY_RANGE's two LARGE_INTEGERs, as plain numbers. */
struct win_phys_run {
	uint64_t base;
	uint64_t bytes;
};

/* Reads runs up to the zero terminator (or max_runs), drops empty and
 * wrapping ones, trims each inward to whole 4 KiB pages (only memory
 * known to be RAM is reported as RAM), sorts them and merges those that
 * overlap or touch. Writes up to max_out ranges of type PLATFORM_MEM_RAM
 * and returns how many there are in all (which may exceed max_out).
 * Handles at most WIN_MEMMAP_MAX_RUNS runs; any beyond are ignored. */
#define WIN_MEMMAP_MAX_RUNS 256
size_t win_memmap_from_runs(const struct win_phys_run *runs, size_t max_runs,
			    struct platform_mem_range *out, size_t max_out);

#endif
