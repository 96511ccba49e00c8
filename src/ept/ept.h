/* EPT: the guest-physical to host-physical translation (SDM 3C 29.3). This
 * first version is an identity map of the whole guest-physical space with
 * the largest pages available, read/write/execute, write-back; the EPT
 * issue makes memory types MTRR-correct and adds splits. */
#ifndef MARROW_EPT_EPT_H
#define MARROW_EPT_EPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* EPT entry bits (SDM 3C 29.3.2) */
#define EPT_READ (1ull << 0)
#define EPT_WRITE (1ull << 1)
#define EPT_EXEC (1ull << 2)
#define EPT_RWX (EPT_READ | EPT_WRITE | EPT_EXEC)
#define EPT_MEMTYPE_SHIFT 3
#define EPT_IGNORE_PAT (1ull << 6)
#define EPT_LARGE (1ull << 7)
#define EPT_ADDR_MASK 0x000ffffffffff000ull

/* EPTP (SDM 3C 25.6.11): memory type in bits 2:0, walk length - 1 in 5:3. */
#define EPTP_MEMTYPE_WB 6ull
#define EPTP_WALK_4 (3ull << 3)

#define EPT_MAX_TABLE_PAGES 1024

struct ept {
	uint64_t *pml4;
	uint64_t eptp;
	unsigned phys_bits; /* the guest-physical space mapped is [0, 2^phys_bits) */
	size_t table_count;
	void *tables[EPT_MAX_TABLE_PAGES]; /* every page, for freeing */
};

/* Builds the identity map of [0, 2^phys_bits): 1 GiB pages when use_1g,
 * else 2 MiB pages. */
enum mw_status ept_build_identity(struct ept *e, unsigned phys_bits, bool use_1g);
void ept_free(struct ept *e);

#endif
