/* The MTRR memory-type engine: the effective memory type of any physical
 * address, or of a range, from a snapshot of the MTRRs, with the precedence
 * rules of SDM 3A 11.11.4.1. The EPT identity map asks it which ranges are
 * uniform enough for a large page and which type to put in the entries.
 *
 * Everything except mtrr_read() is pure (no MSR access, no allocation), so it
 * is unit-tested on the host against a brute-force reference.
 *
 * Conventions, where the SDM leaves a choice:
 * - A reserved memory type (2, 3, 7, 8..255) in any MTRR field reads as UC.
 *   The processor refuses to load one (#GP on WRMSR), so it only comes from a
 *   bad snapshot; UC is the type that cannot corrupt memory.
 * - Overlapping variable ranges whose types the SDM does not combine (e.g. WC
 *   with WB) give UC: SDM 3A 11.11.4.1 calls the result undefined.
 * - Addresses at or above 2^MAXPHYADDR do not exist; they read as UC.
 * - phys_bits outside [32, 52] is clamped to that interval: no processor
 *   reports anything else (SDM 3A 4.1.4), and 52 keeps 2^bits in a uint64_t. */
#ifndef MARROW_EPT_MTRR_H
#define MARROW_EPT_MTRR_H

#include <stddef.h>
#include <stdint.h>

/* Memory type encodings (SDM 3A 11.11.1, Table 11-8). MTRR_MIXED is not an
 * MTRR encoding: it is what a range with more than one type reports. */
enum mtrr_type {
	MTRR_UC = 0,
	MTRR_WC = 1,
	MTRR_WT = 4,
	MTRR_WP = 5,
	MTRR_WB = 6,
	MTRR_MIXED = 0xff,
};

#define MTRR_NUM_FIXED 11	   /* FIX64K_00000, FIX16K_80000/A0000, FIX4K_C0000..F8000 */
#define MTRR_MAX_VAR 255	   /* MTRRCAP.VCNT is 8 bits wide */
#define MTRR_FIXED_END 0x100000ull /* the fixed ranges cover the first MiB */
#define MTRR_MIN_PHYS_BITS 32
#define MTRR_MAX_PHYS_BITS 52

struct mtrr_var {
	uint64_t base; /* IA32_MTRR_PHYSBASEn: type in 7:0, base in MAXPHYADDR-1:12 */
	uint64_t mask; /* IA32_MTRR_PHYSMASKn: valid in 11, mask in MAXPHYADDR-1:12 */
};

/* A snapshot of one CPU's MTRRs (about 4 KiB: keep it off small stacks). */
struct mtrr_state {
	uint64_t cap;			   /* IA32_MTRRCAP: VCNT 7:0, FIX 8, WC 10 */
	uint64_t def_type;		   /* IA32_MTRR_DEF_TYPE: type 7:0, FE 10, E 11 */
	uint64_t fixed[MTRR_NUM_FIXED];	   /* in MSR order, 0x250, 0x258, 0x259, 0x268.. */
	struct mtrr_var var[MTRR_MAX_VAR]; /* pairs 0..VCNT-1 are real */
	unsigned phys_bits;		   /* MAXPHYADDR: CPUID.80000008H:EAX[7:0] */
};

/* A maximal run of one memory type: [base, end). */
struct mtrr_range {
	uint64_t base;
	uint64_t end;
	uint8_t type;
};

/* The effective memory type of the byte at physical address pa. */
uint8_t mtrr_type_of(const struct mtrr_state *s, uint64_t pa);

/* Whether [base, base + len) has one memory type: 1 and *type set to it, or
 * 0 and *type set to MTRR_MIXED. An empty range, or one that wraps past
 * 2^64, also answers 0. Cost: one step per edge inside the range (see
 * mtrr_next_boundary), not per page. Ordinary power-of-two ranges have two
 * edges each; a pair with a non-contiguous mask (legal, never used by sane
 * firmware) matches 2^h intervals for h zero mask bits above its lowest one
 * bit, and each is an edge: correct, but slow if h is large. */
int mtrr_type_of_range(const struct mtrr_state *s, uint64_t base, uint64_t len, uint8_t *type);

/* [0, 2^MAXPHYADDR) as sorted, maximal runs of one type (neighbours differ in
 * type). Returns the number written to out, or -1 if more than max would be
 * needed (out's contents are then unspecified). One step per edge, as for
 * mtrr_type_of_range; it stops as soon as max is exceeded. */
int mtrr_build_ranges(const struct mtrr_state *s, struct mtrr_range *out, size_t max);

/* For pa below 2^MAXPHYADDR: the first address above pa at which the type
 * may change, at most 2^MAXPHYADDR; the type is constant on [pa, that).
 * Each answer is a real edge (of a fixed sub-range, or where a variable pair
 * starts or stops matching), so walking with it visits no needless points.
 * For pa at or above 2^MAXPHYADDR it returns 0: no edge below 2^64. */
uint64_t mtrr_next_boundary(const struct mtrr_state *s, uint64_t pa);

/* "UC", "WC", "WT", "WP", "WB", "mixed", or "reserved". */
const char *mtrr_type_name(uint8_t type);

/* The MAXPHYADDR the engine uses for s (phys_bits, clamped) and 2^that. */
unsigned mtrr_phys_bits(const struct mtrr_state *s);
uint64_t mtrr_phys_end(const struct mtrr_state *s);

/* Snapshots this CPU's MTRRs (kernel only, mtrr_read.c). An MSR that faults
 * reads as 0; without CPUID.1:EDX.MTRR the snapshot says MTRRs disabled,
 * which is UC everywhere. phys_addr_bits is CPUID.80000008H:EAX[7:0]. */
void mtrr_read(struct mtrr_state *s, unsigned phys_addr_bits);

#endif
