/* EPT: the guest-physical to host-physical translation (SDM 3C 29.3).
 *
 * marrow's EPT is an identity map of the whole guest-physical space, 0 to
 * 2^MAXPHYADDR, with the largest page (1 GiB, 2 MiB, 4 KiB) over which the
 * MTRRs give one memory type, that type in the leaf, full read/write/execute
 * rights. Each CPU has its own tree (hooks change one CPU's view at a
 * time) and its own pool of preallocated pages, from which splits take
 * their tables: nothing here allocates, so every operation but ept_build
 * and ept_free may run in VMX root mode.
 *
 * Tables are reached by their physical addresses (the entries hold them);
 * the tree keeps the virtual address of every page it owns, so it never
 * asks the OS to translate.
 *
 * Above the first 512 GiB (one PML4 entry), nothing a hook touches usually
 * lives, yet mapping it all costs a PDPT per 512 GiB (128 pages for a
 * 46-bit CPU). Those tables are built once, in a shared tree that no CPU
 * modifies, and every CPU's PML4 points at them; a CPU that must change
 * one first copies it into a page of its own pool (copy on write). */
#ifndef MARROW_EPT_EPT_H
#define MARROW_EPT_EPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* EPT entry bits (SDM 3C 29.3.2, tables 29-1 to 29-6) */
#define EPT_READ (1ull << 0)
#define EPT_WRITE (1ull << 1)
#define EPT_EXEC (1ull << 2)
#define EPT_RWX (EPT_READ | EPT_WRITE | EPT_EXEC)
#define EPT_MEMTYPE_SHIFT 3
#define EPT_MEMTYPE_MASK (7ull << EPT_MEMTYPE_SHIFT)
#define EPT_IGNORE_PAT (1ull << 6)
#define EPT_LARGE (1ull << 7)
#define EPT_ADDR_MASK 0x000ffffffffff000ull

/* EPTP (SDM 3C 25.6.11): memory type in bits 2:0, walk length - 1 in 5:3. */
#define EPTP_MEMTYPE_WB 6ull
#define EPTP_WALK_4 (3ull << 3)

/* Levels, numbered as the SDM's walk: 1 maps 4 KiB pages (PT), 2 maps 2 MiB
 * (PD), 3 maps 1 GiB (PDPT), 4 is the PML4. */
#define EPT_LEVELS 4
static inline uint64_t ept_level_size(unsigned level)
{
	return 1ull << (12 + 9 * (level - 1));
}

/* A page the tree owns, by both addresses. */
struct ept_page {
	uint64_t pa;
	uint64_t *va;
};

/* How the tree gets and identifies pages (ept_build only). */
struct ept_alloc {
	/* One zeroed 4 KiB page, or false. */
	bool (*page)(struct ept_page *out, void *ctx);
	void (*free)(const struct ept_page *page, void *ctx);
	void *ctx;
};

/* The memory type of [base, base+len), or false when it is not uniform
 * (ept_build splits further). */
typedef bool (*ept_type_fn)(uint64_t base, uint64_t len, uint8_t *type, void *ctx);

/* Enough for the shared tables of a 48-bit space (1 + 511 PDPTs) with
 * room for what the types split below them. */
#define EPT_MAX_PAGES 640

struct ept {
	uint64_t eptp;
	uint64_t pml4_pa;
	unsigned phys_bits;
	uint64_t limit; /* guest-physical addresses below this are mapped */
	/* The shared tables (above 512 GiB) this tree points into, or NULL
	 * for a tree that owns all of its tables. */
	const struct ept *shared;
	/* Every page the tree owns: tables in use, then the free pool. */
	size_t page_count;
	struct ept_page pages[EPT_MAX_PAGES];
	/* The pool: indexes into pages[] of tables not in use, LIFO. */
	size_t pool_free;
	uint16_t pool[EPT_MAX_PAGES];
	/* Tables in use per level (2 = page directories...), for reports. */
	uint32_t tables_per_level[EPT_LEVELS + 1];
};

struct ept_build_params {
	unsigned phys_bits; /* MAXPHYADDR, for the report */
	uint64_t limit;	    /* the map covers [0, limit), a multiple of 1 GiB */
	bool use_1g;	    /* 1 GiB leaves allowed (EPT capability) */
	size_t pool_pages;  /* pages kept back for later splits */
	ept_type_fn type_of;
	void *type_ctx;
	/* A shared tree from ept_build_shared to point into above 512 GiB,
	 * or NULL to build everything in this tree. */
	const struct ept *shared;
};

/* Builds the tree. On failure every page already taken is given back. */
enum mw_status ept_build(struct ept *e, const struct ept_build_params *p,
			 const struct ept_alloc *a);
/* Builds the shared tables for [512 GiB, limit) (pool_pages and shared are
 * ignored). Trees built over it must be freed before it. */
enum mw_status ept_build_shared(struct ept *shared, const struct ept_build_params *p,
				const struct ept_alloc *a);
void ept_free(struct ept *e, const struct ept_alloc *a);

/* The leaf entry that maps gpa and its level (1-3); NULL beyond the map. */
uint64_t *ept_leaf(const struct ept *e, uint64_t gpa, unsigned *level);
/* The entries the walk for gpa meets, PML4 first: out[4 - level] for each
 * level visited; returns how many (a leaf ends the walk). For reports. */
unsigned ept_walk(const struct ept *e, uint64_t gpa, uint64_t out[EPT_LEVELS]);

/* Turns the large leaf at `level` (2 or 3) mapping gpa into a table of
 * the next level with the same frames, type and rights, taken from the
 * pool. MW_OK if it was already split; MW_ERR_NO_MEMORY when the pool is
 * empty (nothing changed). */
enum mw_status ept_split(struct ept *e, uint64_t gpa, unsigned level);
/* Splits down to the 4 KiB entry mapping gpa and returns it. */
uint64_t *ept_split_to_4k(struct ept *e, uint64_t gpa, enum mw_status *status);
/* Where the table under the entry at `level` (2 or 3) for gpa maps one
 * contiguous, aligned run with one type and the same rights (and no table
 * below it), replaces it with a large leaf and returns the table to the
 * pool. True if merged. */
bool ept_merge(struct ept *e, uint64_t gpa, unsigned level);
/* The 4 KiB page at gpa now maps `frame` with `rights` (EPT_READ...), the
 * memory type unchanged; splits as needed. */
enum mw_status ept_set_page(struct ept *e, uint64_t gpa, uint64_t frame, uint64_t rights);

/* Every 4 KiB page of [base, base+len) (page-aligned, inside the map) now
 * has `rights` (0: not present, an access is an EPT violation), frames and
 * memory types unchanged, in the largest leaves the range allows: only the
 * leaves that straddle its ends are split, from the pool. MW_ERR_NO_MEMORY
 * when the pool runs dry, and then no right has changed. */
enum mw_status ept_set_rights(struct ept *e, uint64_t base, uint64_t len, uint64_t rights);

/* Pages the tree uses and owns (tables, not the pool, not shared ones). */
size_t ept_table_pages(const struct ept *e);

#endif
