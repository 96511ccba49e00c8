/* The MTRR memory-type engine (SDM 3A 11.11). Pure logic: see mtrr.h.
 *
 * How ranges are found without touching every page: the type of an address
 * is a function of which fixed sub-range holds it (below 1 MiB) or of the set
 * of variable ranges that match it. mtrr_next_boundary() answers, for an
 * address a, the first address after a where that set can change, computed
 * from each pair's base and mask with bit arithmetic. Walking from boundary
 * to boundary visits each run once; with ordinary (contiguous) masks there
 * are at most 88 fixed sub-ranges plus two boundaries per variable pair. */
#include "mtrr.h"

#include <stdbool.h>

#include "arch/x86/msr.h"

#define MTRR_PAGE_MASK 0xfffull
#define MTRR_TYPE_FIELD 0xffull
#define MTRR_BIT(t) (1u << (t))

unsigned mtrr_phys_bits(const struct mtrr_state *s)
{
	if (s->phys_bits < MTRR_MIN_PHYS_BITS)
		return MTRR_MIN_PHYS_BITS;
	if (s->phys_bits > MTRR_MAX_PHYS_BITS)
		return MTRR_MAX_PHYS_BITS;
	return s->phys_bits;
}

uint64_t mtrr_phys_end(const struct mtrr_state *s)
{
	return 1ull << mtrr_phys_bits(s);
}

const char *mtrr_type_name(uint8_t type)
{
	switch (type) {
	case MTRR_UC:
		return "UC";
	case MTRR_WC:
		return "WC";
	case MTRR_WT:
		return "WT";
	case MTRR_WP:
		return "WP";
	case MTRR_WB:
		return "WB";
	case MTRR_MIXED:
		return "mixed";
	default:
		return "reserved";
	}
}

/* A type field as the engine uses it: reserved encodings (SDM 3A Table 11-8)
 * cannot be loaded by WRMSR, so one here means a bad snapshot; UC is safe. */
static uint8_t mtrr_valid_type(uint64_t field)
{
	uint8_t t = (uint8_t)(field & MTRR_TYPE_FIELD);

	switch (t) {
	case MTRR_UC:
	case MTRR_WC:
	case MTRR_WT:
	case MTRR_WP:
	case MTRR_WB:
		return t;
	default:
		return MTRR_UC;
	}
}

/* SDM 3A 11.11.2.1: E clear disables every MTRR (UC everywhere). */
static bool mtrr_enabled(const struct mtrr_state *s)
{
	return (s->def_type & MTRR_DEF_E) != 0;
}

/* The fixed ranges count only with E and FE set, and only on a CPU that has
 * them (MTRRCAP.FIX, SDM 3A 11.11.1). */
static bool mtrr_fixed_enabled(const struct mtrr_state *s)
{
	return mtrr_enabled(s) && (s->def_type & MTRR_DEF_FE) && (s->cap & MTRRCAP_FIX);
}

/* SDM 3A 11.11.2.2, Table 11-9: the 88 fixed sub-ranges numbered from 0; slot
 * n is byte n % 8 of fixed[n / 8]. 64 KiB below 0x80000, 16 KiB up to 0xc0000,
 * 4 KiB up to 1 MiB. pa must be below 1 MiB. */
static unsigned mtrr_fixed_slot(uint64_t pa, uint64_t *size)
{
	if (pa < 0x80000) {
		*size = 0x10000;
		return (unsigned)(pa >> 16);
	}
	if (pa < 0xc0000) {
		*size = 0x4000;
		return 8 + (unsigned)((pa - 0x80000) >> 14);
	}
	*size = 0x1000;
	return 24 + (unsigned)((pa - 0xc0000) >> 12);
}

static uint8_t mtrr_fixed_type(const struct mtrr_state *s, uint64_t pa)
{
	uint64_t size;
	unsigned slot = mtrr_fixed_slot(pa, &size);

	return mtrr_valid_type(s->fixed[slot / 8] >> (8 * (slot % 8)));
}

/* A valid variable pair reduced to what the match compares (SDM 3A
 * 11.11.2.3): "address AND PhysMask = PhysBase AND PhysMask", with PhysMask
 * and PhysBase being bits MAXPHYADDR-1:12 only. Bits above MAXPHYADDR are
 * reserved and must not take part (a mask written for a narrower CPU would
 * otherwise exclude every address); address bits 11:0 are never compared. */
struct mtrr_match {
	uint64_t base; /* PhysBase AND PhysMask */
	uint64_t mask;
	uint8_t type;
};

static bool mtrr_var_get(const struct mtrr_state *s, unsigned i, struct mtrr_match *m)
{
	if (!(s->var[i].mask & MTRR_PHYSMASK_VALID))
		return false;
	m->mask = s->var[i].mask & (mtrr_phys_end(s) - 1) & ~MTRR_PAGE_MASK;
	m->base = s->var[i].base & m->mask;
	m->type = mtrr_valid_type(s->var[i].base);
	return true;
}

static unsigned mtrr_vcnt(const struct mtrr_state *s)
{
	return (unsigned)(s->cap & MTRRCAP_VCNT_MASK);
}

/* SDM 3A 11.11.4.1, rule 2: combines the types of the matching variable
 * ranges (a bit set of types); none matching gives the default (rule 3). */
static uint8_t mtrr_combine(unsigned seen, uint8_t def)
{
	if (seen == 0)
		return def;
	if (seen & MTRR_BIT(MTRR_UC))
		return MTRR_UC;
	if ((seen & (seen - 1)) == 0) /* one type, however many ranges */
		return (uint8_t)__builtin_ctz(seen);
	if (seen == (MTRR_BIT(MTRR_WT) | MTRR_BIT(MTRR_WB)))
		return MTRR_WT;
	/* "For overlaps not defined by the above rules, processor behavior is
	 * undefined": UC is the one type that is right for any memory. */
	return MTRR_UC;
}

static uint8_t mtrr_var_type(const struct mtrr_state *s, uint64_t pa)
{
	unsigned seen = 0;
	struct mtrr_match m;

	for (unsigned i = 0; i < mtrr_vcnt(s); i++)
		if (mtrr_var_get(s, i, &m) && (pa & m.mask) == m.base)
			seen |= MTRR_BIT(m.type);
	return mtrr_combine(seen, mtrr_valid_type(s->def_type));
}

uint8_t mtrr_type_of(const struct mtrr_state *s, uint64_t pa)
{
	if (!mtrr_enabled(s) || pa >= mtrr_phys_end(s))
		return MTRR_UC;
	/* SDM 3A 11.11.4.1 rule 1: below 1 MiB the fixed ranges win outright. */
	if (pa < MTRR_FIXED_END && mtrr_fixed_enabled(s))
		return mtrr_fixed_type(s, pa);
	return mtrr_var_type(s, pa);
}

/* The smallest x >= t below end with (x & m->mask) == m->base, or end. The
 * matching addresses are base | y for y over the subsets of the free (not
 * masked) bits, in the same order as y, so this is "the next y" with the
 * highest bit where t disagrees with the pattern deciding. */
static uint64_t mtrr_next_match(const struct mtrr_match *m, uint64_t t, uint64_t end)
{
	if (t >= end)
		return end;
	uint64_t diff = (t ^ m->base) & m->mask;
	if (diff == 0)
		return t;
	uint64_t bit = 1ull << (63 - __builtin_clzll(diff));
	if (m->base & bit) /* t has 0 where 1 is needed: set it, lowest tail */
		return (t & ~(2 * bit - 1)) | bit | (m->base & (bit - 1));
	/* t has 1 where 0 is needed: carry into the lowest free bit above that
	 * is clear in t, then the lowest tail. */
	uint64_t free_zero = ~t & ~m->mask & (end - 1) & ~(2 * bit - 1);
	if (free_zero == 0)
		return end;
	uint64_t j = free_zero & -free_zero;
	return (t & ~(2 * j - 1)) | j | (m->base & (j - 1));
}

/* The first address after a (a < end) where "m matches" changes. A match
 * lasts until a carry reaches the lowest masked bit; a miss lasts until the
 * next match. With a contiguous mask (a power-of-two range) that gives the
 * range's two ends; a non-contiguous mask (legal, and "not encouraged", SDM
 * 3A 11.11.2.3) is many intervals and costs a walk step for each one. */
static uint64_t mtrr_var_next_change(const struct mtrr_match *m, uint64_t a, uint64_t end)
{
	if ((a & m->mask) != m->base)
		return mtrr_next_match(m, a + 1, end);
	if (m->mask == 0)
		return end;
	return (a | ((m->mask & -m->mask) - 1)) + 1;
}

/* The end of a's fixed sub-range, or the nearest point where the set of
 * matching variable ranges changes: the type is a function of those. */
uint64_t mtrr_next_boundary(const struct mtrr_state *s, uint64_t a)
{
	uint64_t end = mtrr_phys_end(s);
	uint64_t next = end;
	struct mtrr_match m;

	if (a >= end)
		return 0;
	if (!mtrr_enabled(s))
		return end;
	if (a < MTRR_FIXED_END && mtrr_fixed_enabled(s)) {
		uint64_t size;
		mtrr_fixed_slot(a, &size);
		return (a & ~(size - 1)) + size;
	}
	for (unsigned i = 0; i < mtrr_vcnt(s); i++) {
		if (!mtrr_var_get(s, i, &m))
			continue;
		uint64_t n = mtrr_var_next_change(&m, a, end);
		if (n < next)
			next = n;
	}
	return next;
}

int mtrr_type_of_range(const struct mtrr_state *s, uint64_t base, uint64_t len, uint8_t *type)
{
	uint64_t end = mtrr_phys_end(s);

	*type = MTRR_MIXED;
	if (len == 0 || base + (len - 1) < base)
		return 0;
	uint64_t last = base + (len - 1);
	uint8_t t = mtrr_type_of(s, base);
	/* At and above 2^MAXPHYADDR everything is UC: no boundary there. */
	for (uint64_t a = base; a < end;) {
		a = mtrr_next_boundary(s, a);
		if (a > last)
			break;
		if (mtrr_type_of(s, a) != t)
			return 0;
	}
	*type = t;
	return 1;
}

int mtrr_build_ranges(const struct mtrr_state *s, struct mtrr_range *out, size_t max)
{
	uint64_t end = mtrr_phys_end(s);
	size_t n = 0;

	for (uint64_t a = 0; a < end;) {
		uint64_t next = mtrr_next_boundary(s, a);
		uint8_t t = mtrr_type_of(s, a);
		if (n > 0 && out[n - 1].type == t) {
			out[n - 1].end = next; /* runs are contiguous: extend */
		} else {
			if (n >= max || n >= (size_t)INT32_MAX)
				return -1;
			out[n].base = a;
			out[n].end = next;
			out[n].type = t;
			n++;
		}
		a = next;
	}
	return (int)n;
}
