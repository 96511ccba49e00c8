/* The multiboot information structure (Multiboot 0.6.96, section 3.3), for
 * a build of this kernel that a multiboot loader starts (the boot-time
 * guest test kernel, docs/boot.md). The structure holds physical pointers;
 * every one is reached through a callback that refuses what the kernel
 * cannot map, and every size is bounded. The result is the same struct
 * mb2_info the multiboot2 parser fills (no RSDP: multiboot has none). Pure. */
#ifndef MARROW_BAREMETAL_MB1_H
#define MARROW_BAREMETAL_MB1_H

#include <stddef.h>
#include <stdint.h>

#include "mb2.h"

/* The memory at physical [pa, pa+len) as the caller can read it, or NULL. */
typedef const void *(*mb1_map_fn)(uint64_t pa, size_t len, void *ctx);

/* Parses the structure at info_pa. *lo and *hi receive the lowest and
 * highest+1 physical address of everything it refers to (the structure, the
 * memory map, the module list, the strings), which the kernel must not
 * reuse while it needs them. */
enum mb2_status mb1_parse(uint64_t info_pa, mb1_map_fn map, void *ctx, struct mb2_info *out,
			  uint64_t *lo, uint64_t *hi);

#endif
