/* The MTRR engine's brute-force reference and the comparisons (see
 * mtrr_ref.h). */
#include "tests/common/mtrr_ref.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_BOUNDS MTRR_REF_MAX_BOUNDS
#define MAX_HOLES MTRR_REF_MAX_HOLES

/* ---------------------------------------------------------------------
 * The reference: per address, from the SDM text. */

/* marrow's convention for a MAXPHYADDR no CPU reports: clamp to [32, 52]. */
unsigned mtrr_ref_bits(const struct mtrr_state *s)
{
	if (s->phys_bits < 32)
		return 32;
	if (s->phys_bits > 52)
		return 52;
	return s->phys_bits;
}

/* Table 11-8: 0 UC, 1 WC, 4 WT, 5 WP, 6 WB; everything else is reserved,
 * which marrow reads as UC. */
static int ref_sane(uint64_t field)
{
	int t = (int)(field & 0xff);

	if (t == 0 || t == 1 || t == 4 || t == 5 || t == 6)
		return t;
	return 0;
}

/* Table 11-9, one row per MSR: where its eight fields start and how much
 * each one covers. */
static const struct {
	uint64_t start, size;
} ref_fixed_rows[11] = {
	{ 0x00000, 0x10000 }, { 0x80000, 0x4000 }, { 0xa0000, 0x4000 }, { 0xc0000, 0x1000 },
	{ 0xc8000, 0x1000 },  { 0xd0000, 0x1000 }, { 0xd8000, 0x1000 }, { 0xe0000, 0x1000 },
	{ 0xe8000, 0x1000 },  { 0xf0000, 0x1000 }, { 0xf8000, 0x1000 },
};

static int ref_fixed(const struct mtrr_state *s, uint64_t pa)
{
	for (int r = 0; r < 11; r++) {
		for (int f = 0; f < 8; f++) {
			uint64_t lo =
				ref_fixed_rows[r].start + (uint64_t)f * ref_fixed_rows[r].size;
			if (pa >= lo && pa < lo + ref_fixed_rows[r].size)
				return ref_sane(s->fixed[r] >> (8 * f));
		}
	}
	mtrr_ref_report(s, "pa < 1 MiB", "ref_fixed: %#llx is not below 1 MiB",
			(unsigned long long)pa);
	return -1;
}

int mtrr_ref_type(const struct mtrr_state *s, uint64_t pa)
{
	unsigned bits = mtrr_ref_bits(s);
	bool e = (s->def_type >> 11) & 1, fe = (s->def_type >> 10) & 1, fix = (s->cap >> 8) & 1;

	/* 11.11.2.1: E clear, all of memory is UC. */
	if (!e)
		return 0;
	/* Nothing exists at or above 2^MAXPHYADDR; marrow says UC there. */
	if ((pa >> bits) != 0)
		return 0;
	/* 11.11.4.1 rule 1: in the first MiB the enabled fixed ranges decide. */
	if (pa < 0x100000 && fe && fix)
		return ref_fixed(s, pa);

	/* Rule 2: the variable ranges. PhysMask and PhysBase are bits
	 * MAXPHYADDR-1:12 of their registers (11.11.2.3). */
	uint64_t field = (((uint64_t)1 << bits) - 1) & ~(uint64_t)0xfff;
	unsigned vcnt = s->cap & 0xff;
	int matches = 0, first = -1;
	bool identical = true, uc = false, wt = false, wb = false, other = false;
	for (unsigned i = 0; i < vcnt; i++) {
		if (!((s->var[i].mask >> 11) & 1))
			continue;
		uint64_t physmask = s->var[i].mask & field;
		uint64_t physbase = s->var[i].base & field;
		if ((pa & physmask) != (physbase & physmask))
			continue;
		int t = ref_sane(s->var[i].base);
		matches++;
		if (first < 0)
			first = t;
		else if (t != first)
			identical = false;
		uc |= t == 0;
		wt |= t == 4;
		wb |= t == 6;
		other |= t == 1 || t == 5;
	}
	/* Rule 3: no match, the default type. */
	if (matches == 0)
		return ref_sane(s->def_type);
	/* One match, or several with identical types. */
	if (identical)
		return first;
	/* Several: UC if any is UC; WT for WT with WB; otherwise undefined,
	 * which marrow makes UC. */
	if (uc)
		return 0;
	if (wt && wb && !other)
		return 4;
	return 0;
}

/* ---------------------------------------------------------------------
 * The test's own boundaries: every address where the reference can change,
 * enumerated without the engine's arithmetic. Each variable pair matches
 * the intervals [PhysBase | y, + 2^L) where 2^L is the lowest mask bit and
 * y runs over the subsets of the mask's zero bits above it ("holes"). */

static uint64_t bnd[MAX_BOUNDS + 1];
static int ptype[MAX_BOUNDS + 1];    /* reference type of [bnd[i], bnd[i+1]) */
static size_t pnext[MAX_BOUNDS + 1]; /* first later piece with another type */
static size_t nbnd;

static void bnd_add(uint64_t a)
{
	if (nbnd >= MAX_BOUNDS)
		mtrr_ref_report(NULL, "nbnd < MAX_BOUNDS", "more than %d boundaries", MAX_BOUNDS);
	bnd[nbnd++] = a;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void bnd_var(const struct mtrr_state *s, unsigned i, uint64_t end)
{
	uint64_t field = (end - 1) & ~0xfffull;
	uint64_t m = s->var[i].mask & field;
	uint64_t b = s->var[i].base & m;

	if (m == 0)
		return; /* matches everything: no boundary of its own */
	uint64_t low = m & -m;
	uint64_t holes = ~m & field & ~(2 * low - 1);
	if (__builtin_popcountll(holes) > MAX_HOLES)
		mtrr_ref_report(s, "holes <= MAX_HOLES",
				"variable pair %u has too many holes for the reference", i);
	for (uint64_t y = 0;; y = (y - holes) & holes) {
		bnd_add(b | y);
		bnd_add((b | y) + low);
		if (y == holes)
			break;
	}
}

bool mtrr_ref_fits(const struct mtrr_state *s)
{
	uint64_t end = (uint64_t)1 << mtrr_ref_bits(s);
	uint64_t field = (end - 1) & ~0xfffull, bounds = 2 + 88 + 1;

	for (unsigned i = 0; i < (s->cap & 0xff); i++) {
		if (!((s->var[i].mask >> 11) & 1))
			continue;
		uint64_t m = s->var[i].mask & field;
		if (m == 0)
			continue;
		uint64_t low = m & -m;
		int holes = __builtin_popcountll(~m & field & ~(2 * low - 1));
		if (holes > MAX_HOLES)
			return false;
		bounds += 2ull << holes;
	}
	return bounds <= MAX_BOUNDS;
}

/* Fills bnd[] (sorted, distinct, starting at 0, ending at 2^MAXPHYADDR),
 * the reference type of each piece and, for range questions, pnext[]. */
static void ref_prepare(const struct mtrr_state *s)
{
	uint64_t end = (uint64_t)1 << mtrr_ref_bits(s);

	nbnd = 0;
	bnd_add(0);
	bnd_add(end);
	/* The 88 fixed sub-ranges' starts (Table 11-9) and 1 MiB, where they
	 * end: exactly the edges they can make, no 4 KiB grid, so that
	 * check_next also finds a walk that stops inside a sub-range. */
	for (int r = 0; r < 11; r++)
		for (int f = 0; f < 8; f++)
			bnd_add(ref_fixed_rows[r].start + (uint64_t)f * ref_fixed_rows[r].size);
	bnd_add(0x100000);
	for (unsigned i = 0; i < (s->cap & 0xff); i++)
		if ((s->var[i].mask >> 11) & 1)
			bnd_var(s, i, end);
	qsort(bnd, nbnd, sizeof(bnd[0]), cmp_u64);
	size_t n = 0;
	for (size_t i = 0; i < nbnd; i++)
		if (bnd[i] <= end && (n == 0 || bnd[i] != bnd[n - 1]))
			bnd[n++] = bnd[i];
	nbnd = n;
	MTRR_REF_EXPECT(s, bnd[nbnd - 1] == end, "the boundaries end at %#llx",
			(unsigned long long)bnd[nbnd - 1]);
	/* Pieces: [bnd[i], bnd[i+1]), the last one [end, 2^64). */
	for (size_t i = 0; i < nbnd; i++)
		ptype[i] = mtrr_ref_type(s, bnd[i]);
	pnext[nbnd - 1] = nbnd;
	for (size_t i = nbnd - 1; i-- > 0;)
		pnext[i] = ptype[i + 1] != ptype[i] ? i + 1 : pnext[i + 1];
}

/* The piece holding a: the last i with bnd[i] <= a. */
static size_t piece_of(uint64_t a)
{
	size_t lo = 0, hi = nbnd;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (bnd[mid] <= a)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The reference answer for a range, from the pieces. */
static int ref_range(uint64_t base, uint64_t len, int *type)
{
	*type = -1;
	if (len == 0 || base + (len - 1) < base)
		return 0;
	size_t i = piece_of(base), j = piece_of(base + (len - 1));
	if (pnext[i] <= j)
		return 0;
	*type = ptype[i];
	return 1;
}

/* ---------------------------------------------------------------------
 * Comparing the engine with the reference. Failures name the case. */

static char where[160];

void mtrr_ref_case(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(where, sizeof(where), fmt, ap);
	va_end(ap);
}

static void dump_state(const struct mtrr_state *s)
{
	fprintf(stderr, "state: phys_bits %u cap %#llx def_type %#llx\n", s->phys_bits,
		(unsigned long long)s->cap, (unsigned long long)s->def_type);
	for (int i = 0; i < MTRR_NUM_FIXED; i++)
		fprintf(stderr, "  fixed[%d] %#018llx\n", i, (unsigned long long)s->fixed[i]);
	for (unsigned i = 0; i < MTRR_MAX_VAR; i++)
		if (s->var[i].base || s->var[i].mask)
			fprintf(stderr, "  var[%u] base %#llx mask %#llx\n", i,
				(unsigned long long)s->var[i].base,
				(unsigned long long)s->var[i].mask);
}

void mtrr_ref_report(const struct mtrr_state *s, const char *cond, const char *fmt, ...)
{
	char msg[400], full[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", where, msg);
	if (s)
		dump_state(s);
	snprintf(full, sizeof(full), "%s: %s (%s)", where, msg, cond);
	mtrr_ref_fail(full);
}

void mtrr_ref_check_addr(const struct mtrr_state *s, uint64_t pa)
{
	int want = mtrr_ref_type(s, pa);
	uint8_t got = mtrr_type_of(s, pa);

	MTRR_REF_EXPECT(s, got == want, "mtrr_type_of(%#llx) = %s, reference %s",
			(unsigned long long)pa, mtrr_type_name(got), mtrr_type_name((uint8_t)want));
}

void mtrr_ref_check_range(const struct mtrr_state *s, uint64_t base, uint64_t len)
{
	int want_type;
	int want = ref_range(base, len, &want_type);
	uint8_t got_type = 0x55;
	int got = mtrr_type_of_range(s, base, len, &got_type);

	MTRR_REF_EXPECT(s, got == want && (want ? got_type == want_type : got_type == MTRR_MIXED),
			"mtrr_type_of_range(%#llx, %#llx) = %d %s, reference %d %s",
			(unsigned long long)base, (unsigned long long)len, got,
			mtrr_type_name(got_type), want,
			want ? mtrr_type_name((uint8_t)want_type) : "mixed");
}

/* mtrr_next_boundary: above a, a real edge (one of the test's boundaries,
 * so the engine's walk takes no needless steps), and the reference type is
 * constant up to it. */
void mtrr_ref_check_next(const struct mtrr_state *s, uint64_t a)
{
	uint64_t end = (uint64_t)1 << mtrr_ref_bits(s);
	uint64_t next = mtrr_next_boundary(s, a);
	int t;

	if (a >= end) {
		MTRR_REF_EXPECT(s, next == 0, "mtrr_next_boundary(%#llx) = %#llx past the top",
				(unsigned long long)a, (unsigned long long)next);
		return;
	}
	MTRR_REF_EXPECT(s, next > a && next <= end && bnd[piece_of(next)] == next,
			"mtrr_next_boundary(%#llx) = %#llx is not an edge", (unsigned long long)a,
			(unsigned long long)next);
	MTRR_REF_EXPECT(s, ref_range(a, next - a, &t) == 1,
			"mtrr_next_boundary(%#llx) = %#llx skips a type change",
			(unsigned long long)a, (unsigned long long)next);
}

static bool is_type(uint8_t t)
{
	return t == MTRR_UC || t == MTRR_WC || t == MTRR_WT || t == MTRR_WP || t == MTRR_WB;
}

static struct mtrr_range ranges[MTRR_REF_MAX_RANGES];

/* The built list: an exact, sorted, merged cover of [0, 2^MAXPHYADDR), whose
 * every range agrees with the reference at its first and last byte and at
 * every piece boundary inside it. Returns the count. */
int mtrr_ref_check_build(const struct mtrr_state *s, struct mtrr_range *rng, size_t max)
{
	uint64_t end = (uint64_t)1 << mtrr_ref_bits(s);
	int n = mtrr_build_ranges(s, rng, max);

	ref_prepare(s);

	MTRR_REF_EXPECT(s, n > 0, "mtrr_build_ranges returned %d", n);
	MTRR_REF_EXPECT(s, rng[0].base == 0, "first range starts at %#llx",
			(unsigned long long)rng[0].base);
	MTRR_REF_EXPECT(s, rng[n - 1].end == end, "last range ends at %#llx, not %#llx",
			(unsigned long long)rng[n - 1].end, (unsigned long long)end);
	for (int i = 0; i < n; i++) {
		MTRR_REF_EXPECT(s, rng[i].base < rng[i].end, "range %d is empty or inverted", i);
		MTRR_REF_EXPECT(s, is_type(rng[i].type), "range %d has type %u", i, rng[i].type);
		if (i > 0) {
			MTRR_REF_EXPECT(s, rng[i].base == rng[i - 1].end,
					"gap or overlap before range %d", i);
			MTRR_REF_EXPECT(s, rng[i].type != rng[i - 1].type,
					"ranges %d and %d not merged", i - 1, i);
		}
		MTRR_REF_EXPECT(s,
				mtrr_ref_type(s, rng[i].base) == rng[i].type &&
					mtrr_ref_type(s, rng[i].end - 1) == rng[i].type,
				"range %d [%#llx, %#llx) %s disagrees with the reference at an end",
				i, (unsigned long long)rng[i].base, (unsigned long long)rng[i].end,
				mtrr_type_name(rng[i].type));
	}
	/* Every piece's first and last byte: in a range of the piece's type. */
	int r = 0;
	for (size_t i = 0; i + 1 < nbnd; i++) {
		while (rng[r].end <= bnd[i])
			r++;
		MTRR_REF_EXPECT(s, rng[r].type == ptype[i],
				"piece at %#llx: range says %s, reference %s",
				(unsigned long long)bnd[i], mtrr_type_name(rng[r].type),
				mtrr_type_name((uint8_t)ptype[i]));
		int q = r;
		while (rng[q].end < bnd[i + 1])
			q++;
		MTRR_REF_EXPECT(s, rng[q].type == ptype[i], "piece ending at %#llx: range says %s",
				(unsigned long long)bnd[i + 1], mtrr_type_name(rng[q].type));
	}
	return n;
}

void mtrr_ref_check_ranges_around(const struct mtrr_state *s, uint64_t a)
{
	static const uint64_t sizes[] = { 0x1000, 0x200000, 0x40000000, 0x8000000000 };

	for (unsigned k = 0; k < 4; k++) {
		uint64_t sz = sizes[k];
		mtrr_ref_check_range(s, a & ~(sz - 1), sz);
		if (a >= sz)
			mtrr_ref_check_range(s, (a - 1) & ~(sz - 1), sz);
	}
	if (a > 0)
		mtrr_ref_check_range(s, a - 1, 2);
	mtrr_ref_check_range(s, a, 1);
}

const uint64_t *mtrr_ref_boundaries(size_t *count)
{
	*count = nbnd;
	return bnd;
}

void mtrr_ref_check_pieces(const struct mtrr_state *s)
{
	uint64_t end = (uint64_t)1 << mtrr_ref_bits(s);

	int n = mtrr_ref_check_build(s, ranges, MTRR_REF_MAX_RANGES); /* prepares the pieces too */
	for (size_t i = 0; i < nbnd; i++) {
		uint64_t p = bnd[i];
		mtrr_ref_check_addr(s, p);
		mtrr_ref_check_addr(s, p + 1);
		mtrr_ref_check_addr(s, p + 0xfff);
		if (p > 0) {
			mtrr_ref_check_addr(s, p - 1);
			mtrr_ref_check_addr(s, p - 0x1000);
		}
		/* The reference itself is constant on each piece. */
		if (i + 1 < nbnd)
			MTRR_REF_EXPECT(s, mtrr_ref_type(s, bnd[i + 1] - 1) == ptype[i],
					"test bug: piece %#llx not uniform", (unsigned long long)p);
		if (i + 1 < nbnd) {
			mtrr_ref_check_range(s, p, bnd[i + 1] - p);
			mtrr_ref_check_range(s, p, bnd[i + 1] - p + 1);
		}
		if (p > 0)
			mtrr_ref_check_range(s, p - 1, 2);
		mtrr_ref_check_range(s, p, 1);
		mtrr_ref_check_next(s, p);
		mtrr_ref_check_next(s, p + 0x800);
		if (p > 0)
			mtrr_ref_check_next(s, p - 1);
	}
	for (int i = 0; i < n; i++) {
		uint8_t t;
		MTRR_REF_EXPECT(s,
				mtrr_type_of_range(s, ranges[i].base,
						   ranges[i].end - ranges[i].base, &t) == 1 &&
					t == ranges[i].type,
				"built range %d is not uniform to mtrr_type_of_range", i);
		mtrr_ref_check_range(s, ranges[i].base, ranges[i].end - ranges[i].base + 0x1000);
	}
	mtrr_ref_check_range(s, 0, end);
	mtrr_ref_check_range(s, 0, ~0ull);
	mtrr_ref_check_range(s, end - 0x1000, 0x2000);
	mtrr_ref_check_addr(s, end);
	mtrr_ref_check_addr(s, ~0ull);
}

void mtrr_ref_check_all(const struct mtrr_state *s)
{
	mtrr_ref_check_pieces(s);
	for (size_t i = 0; i < nbnd; i++)
		mtrr_ref_check_ranges_around(s, bnd[i]);
}
