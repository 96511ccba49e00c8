/* The MTRR memory-type engine (src/ept/mtrr.c) against a reference written
 * here, independently, straight from the SDM text (3A 11.11.2.1-3 and the
 * precedences of 11.11.4.1): one address at a time, a table lookup for the
 * fixed ranges and an "address AND PhysMask = PhysBase AND PhysMask" test
 * for every variable pair. Hand-written cases pin each rule; a PC layout is
 * checked at four widths; a seeded random differential test compares every
 * run between the boundaries the test enumerates on its own.
 *
 * MTRR_SEED=<n> in the environment replays the random test with another
 * seed; a failure prints the seed and the case number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/arch/x86/msr.h"
#include "src/ept/mtrr.h"

#define KiB 0x400ull
#define MiB 0x100000ull
#define GiB 0x40000000ull

#define DEFAULT_SEED 0x6d7472725f736565ull
#define RANDOM_CASES 1500

/* ---------------------------------------------------------------------
 * The reference: per address, from the SDM text. */

/* marrow's convention for a MAXPHYADDR no CPU reports: clamp to [32, 52]. */
static unsigned ref_bits(const struct mtrr_state *s)
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
	fail_msg("ref_fixed: %#llx is not below 1 MiB", (unsigned long long)pa);
	return -1;
}

static int ref_type(const struct mtrr_state *s, uint64_t pa)
{
	unsigned bits = ref_bits(s);
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

#define MAX_BOUNDS 20000
#define MAX_HOLES 12

static uint64_t bnd[MAX_BOUNDS + 1];
static int ptype[MAX_BOUNDS + 1];    /* reference type of [bnd[i], bnd[i+1]) */
static size_t pnext[MAX_BOUNDS + 1]; /* first later piece with another type */
static size_t nbnd;

static void bnd_add(uint64_t a)
{
	if (nbnd >= MAX_BOUNDS)
		fail_msg("more than %d boundaries", MAX_BOUNDS);
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
		fail_msg("variable pair %u has too many holes for the test", i);
	for (uint64_t y = 0;; y = (y - holes) & holes) {
		bnd_add(b | y);
		bnd_add((b | y) + low);
		if (y == holes)
			break;
	}
}

/* Fills bnd[] (sorted, distinct, starting at 0, ending at 2^MAXPHYADDR),
 * the reference type of each piece and, for range questions, pnext[]. */
static void ref_prepare(const struct mtrr_state *s)
{
	uint64_t end = (uint64_t)1 << ref_bits(s);

	nbnd = 0;
	bnd_add(0);
	bnd_add(end);
	for (uint64_t a = 0; a <= 0x100000; a += 0x1000)
		bnd_add(a);
	for (unsigned i = 0; i < (s->cap & 0xff); i++)
		if ((s->var[i].mask >> 11) & 1)
			bnd_var(s, i, end);
	qsort(bnd, nbnd, sizeof(bnd[0]), cmp_u64);
	size_t n = 0;
	for (size_t i = 0; i < nbnd; i++)
		if (bnd[i] <= end && (n == 0 || bnd[i] != bnd[n - 1]))
			bnd[n++] = bnd[i];
	nbnd = n;
	assert_true(bnd[nbnd - 1] == end);
	/* Pieces: [bnd[i], bnd[i+1]), the last one [end, 2^64). */
	for (size_t i = 0; i < nbnd; i++)
		ptype[i] = ref_type(s, bnd[i]);
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
static const struct mtrr_state *cur;

static void dump_state(const struct mtrr_state *s)
{
	print_error("state: phys_bits %u cap %#llx def_type %#llx\n", s->phys_bits,
		    (unsigned long long)s->cap, (unsigned long long)s->def_type);
	for (int i = 0; i < MTRR_NUM_FIXED; i++)
		print_error("  fixed[%d] %#018llx\n", i, (unsigned long long)s->fixed[i]);
	for (unsigned i = 0; i < MTRR_MAX_VAR; i++)
		if (s->var[i].base || s->var[i].mask)
			print_error("  var[%u] base %#llx mask %#llx\n", i,
				    (unsigned long long)s->var[i].base,
				    (unsigned long long)s->var[i].mask);
}

#define EXPECT(cond, ...)                                 \
	do {                                              \
		if (!(cond)) {                            \
			print_error("%s: ", where);       \
			print_error(__VA_ARGS__);         \
			print_error("\n");                \
			if (cur)                          \
				dump_state(cur);          \
			fail_msg("%s: %s", where, #cond); \
		}                                         \
	} while (0)

static void check_addr(const struct mtrr_state *s, uint64_t pa)
{
	int want = ref_type(s, pa);
	uint8_t got = mtrr_type_of(s, pa);

	EXPECT(got == want, "mtrr_type_of(%#llx) = %s, reference %s", (unsigned long long)pa,
	       mtrr_type_name(got), mtrr_type_name((uint8_t)want));
}

static void check_range(const struct mtrr_state *s, uint64_t base, uint64_t len)
{
	int want_type;
	int want = ref_range(base, len, &want_type);
	uint8_t got_type = 0x55;
	int got = mtrr_type_of_range(s, base, len, &got_type);

	EXPECT(got == want && (want ? got_type == want_type : got_type == MTRR_MIXED),
	       "mtrr_type_of_range(%#llx, %#llx) = %d %s, reference %d %s",
	       (unsigned long long)base, (unsigned long long)len, got, mtrr_type_name(got_type),
	       want, want ? mtrr_type_name((uint8_t)want_type) : "mixed");
}

/* mtrr_next_boundary: above a, a real edge (one of the test's boundaries,
 * so the engine's walk takes no needless steps), and the reference type is
 * constant up to it. */
static void check_next(const struct mtrr_state *s, uint64_t a)
{
	uint64_t end = (uint64_t)1 << ref_bits(s);
	uint64_t next = mtrr_next_boundary(s, a);
	int t;

	if (a >= end) {
		EXPECT(next == 0, "mtrr_next_boundary(%#llx) = %#llx past the top",
		       (unsigned long long)a, (unsigned long long)next);
		return;
	}
	EXPECT(next > a && next <= end && bnd[piece_of(next)] == next,
	       "mtrr_next_boundary(%#llx) = %#llx is not an edge", (unsigned long long)a,
	       (unsigned long long)next);
	EXPECT(ref_range(a, next - a, &t) == 1,
	       "mtrr_next_boundary(%#llx) = %#llx skips a type change", (unsigned long long)a,
	       (unsigned long long)next);
}

static bool is_type(uint8_t t)
{
	return t == MTRR_UC || t == MTRR_WC || t == MTRR_WT || t == MTRR_WP || t == MTRR_WB;
}

#define MAX_RANGES 20000
static struct mtrr_range rng[MAX_RANGES];

/* The built list: an exact, sorted, merged cover of [0, 2^MAXPHYADDR), whose
 * every range agrees with the reference at its first and last byte and at
 * every piece boundary inside it. Returns the count. */
static int check_build(const struct mtrr_state *s)
{
	uint64_t end = (uint64_t)1 << ref_bits(s);
	int n = mtrr_build_ranges(s, rng, MAX_RANGES);

	cur = s;
	ref_prepare(s);

	EXPECT(n > 0, "mtrr_build_ranges returned %d", n);
	EXPECT(rng[0].base == 0, "first range starts at %#llx", (unsigned long long)rng[0].base);
	EXPECT(rng[n - 1].end == end, "last range ends at %#llx, not %#llx",
	       (unsigned long long)rng[n - 1].end, (unsigned long long)end);
	for (int i = 0; i < n; i++) {
		EXPECT(rng[i].base < rng[i].end, "range %d is empty or inverted", i);
		EXPECT(is_type(rng[i].type), "range %d has type %u", i, rng[i].type);
		if (i > 0) {
			EXPECT(rng[i].base == rng[i - 1].end, "gap or overlap before range %d", i);
			EXPECT(rng[i].type != rng[i - 1].type, "ranges %d and %d not merged", i - 1,
			       i);
		}
		EXPECT(ref_type(s, rng[i].base) == rng[i].type &&
			       ref_type(s, rng[i].end - 1) == rng[i].type,
		       "range %d [%#llx, %#llx) %s disagrees with the reference at an end", i,
		       (unsigned long long)rng[i].base, (unsigned long long)rng[i].end,
		       mtrr_type_name(rng[i].type));
	}
	/* Every piece's first and last byte: in a range of the piece's type. */
	int r = 0;
	for (size_t i = 0; i + 1 < nbnd; i++) {
		while (rng[r].end <= bnd[i])
			r++;
		EXPECT(rng[r].type == ptype[i], "piece at %#llx: range says %s, reference %s",
		       (unsigned long long)bnd[i], mtrr_type_name(rng[r].type),
		       mtrr_type_name((uint8_t)ptype[i]));
		int q = r;
		while (rng[q].end < bnd[i + 1])
			q++;
		EXPECT(rng[q].type == ptype[i], "piece ending at %#llx: range says %s",
		       (unsigned long long)bnd[i + 1], mtrr_type_name(rng[q].type));
	}
	return n;
}

static void check_ranges_around(const struct mtrr_state *s, uint64_t a)
{
	static const uint64_t sizes[] = { 0x1000, 0x200000, 0x40000000, 0x8000000000 };

	for (unsigned k = 0; k < 4; k++) {
		uint64_t sz = sizes[k];
		check_range(s, a & ~(sz - 1), sz);
		if (a >= sz)
			check_range(s, (a - 1) & ~(sz - 1), sz);
	}
	if (a > 0)
		check_range(s, a - 1, 2);
	check_range(s, a, 1);
}

/* Everything: addresses at and around every boundary, every piece and every
 * built range as a range question, aligned blocks of the EPT page sizes
 * around every boundary, and the whole space. */
static void check_all(const struct mtrr_state *s)
{
	uint64_t end = (uint64_t)1 << ref_bits(s);

	int n = check_build(s); /* prepares the pieces too */
	for (size_t i = 0; i < nbnd; i++) {
		uint64_t p = bnd[i];
		check_addr(s, p);
		check_addr(s, p + 1);
		check_addr(s, p + 0xfff);
		if (p > 0) {
			check_addr(s, p - 1);
			check_addr(s, p - 0x1000);
		}
		/* The reference itself is constant on each piece. */
		if (i + 1 < nbnd)
			EXPECT(ref_type(s, bnd[i + 1] - 1) == ptype[i],
			       "test bug: piece %#llx not uniform", (unsigned long long)p);
		if (i + 1 < nbnd) {
			check_range(s, p, bnd[i + 1] - p);
			check_range(s, p, bnd[i + 1] - p + 1);
		}
		check_ranges_around(s, p);
		check_next(s, p);
		check_next(s, p + 0x800);
		if (p > 0)
			check_next(s, p - 1);
	}
	for (int i = 0; i < n; i++) {
		uint8_t t;
		EXPECT(mtrr_type_of_range(s, rng[i].base, rng[i].end - rng[i].base, &t) == 1 &&
			       t == rng[i].type,
		       "built range %d is not uniform to mtrr_type_of_range", i);
		check_range(s, rng[i].base, rng[i].end - rng[i].base + 0x1000);
	}
	check_range(s, 0, end);
	check_range(s, 0, ~0ull);
	check_range(s, end - 0x1000, 0x2000);
	check_addr(s, end);
	check_addr(s, ~0ull);
	cur = NULL;
}

/* ---------------------------------------------------------------------
 * Building states by hand. */

#define ALL_BYTES(t) (0x0101010101010101ull * (uint8_t)(t))

static void st_init(struct mtrr_state *s, unsigned bits, uint8_t def, bool fe)
{
	memset(s, 0, sizeof(*s));
	s->phys_bits = bits;
	s->cap = 16 | MTRRCAP_FIX | MTRRCAP_WC;
	s->def_type = MTRR_DEF_E | (fe ? MTRR_DEF_FE : 0) | def;
}

/* A power-of-two range as firmware writes it, mask up to MAXPHYADDR. */
static void st_var(struct mtrr_state *s, unsigned i, uint64_t base, uint64_t size, uint8_t type)
{
	uint64_t end = (uint64_t)1 << ref_bits(s);

	s->var[i].base = base | type;
	s->var[i].mask = ((end - 1) & ~(size - 1)) | MTRR_PHYSMASK_VALID;
}

static void st_fixed_all(struct mtrr_state *s, uint8_t type)
{
	for (int i = 0; i < MTRR_NUM_FIXED; i++)
		s->fixed[i] = ALL_BYTES(type);
}

static void expect_ranges(const struct mtrr_state *s, const struct mtrr_range *want, int n)
{
	int got = mtrr_build_ranges(s, rng, MAX_RANGES);

	EXPECT(got == n, "%d ranges, expected %d", got, n);
	for (int i = 0; i < n; i++)
		EXPECT(rng[i].base == want[i].base && rng[i].end == want[i].end &&
			       rng[i].type == want[i].type,
		       "range %d is [%#llx, %#llx) %s, expected [%#llx, %#llx) %s", i,
		       (unsigned long long)rng[i].base, (unsigned long long)rng[i].end,
		       mtrr_type_name(rng[i].type), (unsigned long long)want[i].base,
		       (unsigned long long)want[i].end, mtrr_type_name(want[i].type));
}

static void expect_range(const struct mtrr_state *s, uint64_t base, uint64_t len, int uniform,
			 uint8_t type)
{
	uint8_t t;
	int got = mtrr_type_of_range(s, base, len, &t);

	EXPECT(got == uniform && t == (uniform ? type : MTRR_MIXED),
	       "mtrr_type_of_range(%#llx, %#llx) = %d %s", (unsigned long long)base,
	       (unsigned long long)len, got, mtrr_type_name(t));
}

static struct mtrr_state st, st2;

/* ---------------------------------------------------------------------
 * Hand-written cases, one rule each. */

static void test_disabled(void **state)
{
	(void)state;
	snprintf(where, sizeof(where), "disabled");
	st_init(&st, 36, MTRR_WB, true);
	st_fixed_all(&st, MTRR_WB);
	st_var(&st, 0, 0, 4 * GiB, MTRR_WB);
	st.def_type &= ~MTRR_DEF_E; /* FE and everything else stay set */
	assert_int_equal(mtrr_type_of(&st, 0), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 0xa0000), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 2 * GiB), MTRR_UC);
	const struct mtrr_range want[] = { { 0, 1ull << 36, MTRR_UC } };
	expect_ranges(&st, want, 1);
	expect_range(&st, 0, 1ull << 36, 1, MTRR_UC);
	check_all(&st);
	/* All zero (what mtrr_read gives without MTRR support) is the same. */
	memset(&st, 0, sizeof(st));
	st.phys_bits = 39;
	const struct mtrr_range zero[] = { { 0, 1ull << 39, MTRR_UC } };
	expect_ranges(&st, zero, 1);
	check_all(&st);
}

static void test_fixed_disabled(void **state)
{
	(void)state;
	/* FE clear: the variable ranges and the default cover the first MiB
	 * as any other memory (SDM 3A 11.11.2.1). */
	snprintf(where, sizeof(where), "FE clear");
	st_init(&st, 36, MTRR_WB, false);
	st_fixed_all(&st, MTRR_WC);
	st_var(&st, 0, 0, 512 * KiB, MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 0), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 0x7ffff), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 0x80000), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 0xfffff), MTRR_WB);
	const struct mtrr_range want[] = { { 0, 512 * KiB, MTRR_UC },
					   { 512 * KiB, 1ull << 36, MTRR_WB } };
	expect_ranges(&st, want, 2);
	expect_range(&st, 0, 2 * MiB, 0, 0);
	expect_range(&st, 512 * KiB, (1ull << 36) - 512 * KiB, 1, MTRR_WB);
	expect_range(&st, 512 * KiB, 1ull << 36, 0, 0); /* UC past the top */
	check_all(&st);

	/* FE set on a CPU without fixed ranges (MTRRCAP.FIX clear): ignored. */
	snprintf(where, sizeof(where), "MTRRCAP.FIX clear");
	st.def_type |= MTRR_DEF_FE;
	st.cap &= ~MTRRCAP_FIX;
	expect_ranges(&st, want, 2);
	check_all(&st);
}

static void test_fixed_ranges(void **state)
{
	(void)state;
	snprintf(where, sizeof(where), "fixed ranges");
	st_init(&st, 36, MTRR_WB, true);
	st_fixed_all(&st, MTRR_WB);
	/* One field of each kind, at the edges of Table 11-9. */
	st.fixed[0] = ALL_BYTES(MTRR_WB) & ~(0xffull << 56);	 /* 70000-7FFFF: UC */
	st.fixed[1] = (ALL_BYTES(MTRR_WB) & ~0xffull) | MTRR_WT; /* 80000-83FFF */
	st.fixed[2] = (ALL_BYTES(MTRR_WB) & ~(0xffull << 56)) | (uint64_t)MTRR_WC << 56;
	st.fixed[3] = (ALL_BYTES(MTRR_WB) & ~(0xffull << 8)) | (uint64_t)MTRR_WP << 8;
	st.fixed[10] = (ALL_BYTES(MTRR_WB) & ~(0xffull << 56)) | (uint64_t)MTRR_WP << 56;
	/* A variable UC range over the first 2 MiB loses below 1 MiB (rule 1). */
	st_var(&st, 0, 0, 2 * MiB, MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 0x6ffff), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 0x70000), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 0x7ffff), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 0x80000), MTRR_WT);
	assert_int_equal(mtrr_type_of(&st, 0x83fff), MTRR_WT);
	assert_int_equal(mtrr_type_of(&st, 0x84000), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 0xbbfff), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 0xbc000), MTRR_WC);
	assert_int_equal(mtrr_type_of(&st, 0xc0fff), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 0xc1000), MTRR_WP);
	assert_int_equal(mtrr_type_of(&st, 0xc2000), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 0xfefff), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 0xff000), MTRR_WP);
	assert_int_equal(mtrr_type_of(&st, 0xfffff), MTRR_WP);
	assert_int_equal(mtrr_type_of(&st, 0x100000), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 0x200000), MTRR_WB);
	const struct mtrr_range want[] = {
		{ 0, 0x70000, MTRR_WB },	   { 0x70000, 0x80000, MTRR_UC },
		{ 0x80000, 0x84000, MTRR_WT },	   { 0x84000, 0xbc000, MTRR_WB },
		{ 0xbc000, 0xc0000, MTRR_WC },	   { 0xc0000, 0xc1000, MTRR_WB },
		{ 0xc1000, 0xc2000, MTRR_WP },	   { 0xc2000, 0xff000, MTRR_WB },
		{ 0xff000, 0x100000, MTRR_WP },	   { 0x100000, 0x200000, MTRR_UC },
		{ 0x200000, 1ull << 36, MTRR_WB },
	};
	expect_ranges(&st, want, 11);
	check_all(&st);

	/* Every one of the 88 fields different from its neighbours. */
	static const uint8_t cycle[] = { MTRR_UC, MTRR_WC, MTRR_WT, MTRR_WP, MTRR_WB };
	for (int slot = 0; slot < 88; slot++) {
		st.fixed[slot / 8] &= ~(0xffull << (8 * (slot % 8)));
		st.fixed[slot / 8] |= (uint64_t)cycle[slot % 5] << (8 * (slot % 8));
	}
	snprintf(where, sizeof(where), "88 fixed fields");
	assert_true(check_build(&st) >= 88);
	check_all(&st);
}

static void test_default_type(void **state)
{
	(void)state;
	snprintf(where, sizeof(where), "default type");
	st_init(&st, 39, MTRR_WB, true);
	st_fixed_all(&st, MTRR_WB);
	st.cap &= ~MTRRCAP_VCNT_MASK; /* no variable pairs at all */
	const struct mtrr_range want[] = { { 0, 1ull << 39, MTRR_WB } };
	expect_ranges(&st, want, 1);
	expect_range(&st, 0, 1ull << 39, 1, MTRR_WB);
	check_all(&st);
	/* Unmatched memory takes the default, matched memory does not. */
	st_init(&st, 39, MTRR_WT, false);
	st_var(&st, 3, 8 * GiB, 8 * GiB, MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 8 * GiB - 1), MTRR_WT);
	assert_int_equal(mtrr_type_of(&st, 8 * GiB), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 16 * GiB), MTRR_WT);
	check_all(&st);
}

static void test_single_and_identical(void **state)
{
	(void)state;
	snprintf(where, sizeof(where), "identical types");
	st_init(&st, 36, MTRR_UC, false);
	st_var(&st, 0, 0xd0000000, 256 * MiB, MTRR_WC);
	st_var(&st, 1, 0xd8000000, 64 * MiB, MTRR_WC); /* inside the first */
	st_var(&st, 2, 1 * GiB, 1 * GiB, MTRR_WP);
	st_var(&st, 3, 1 * GiB, 512 * MiB, MTRR_WP);
	st_var(&st, 4, 1 * GiB, 256 * MiB, MTRR_WP);
	assert_int_equal(mtrr_type_of(&st, 0xd8000000), MTRR_WC);
	assert_int_equal(mtrr_type_of(&st, 0xdfffffff), MTRR_WC);
	assert_int_equal(mtrr_type_of(&st, 1 * GiB), MTRR_WP);
	const struct mtrr_range want[] = {
		{ 0, 1 * GiB, MTRR_UC },
		{ 1 * GiB, 2 * GiB, MTRR_WP },
		{ 2 * GiB, 0xd0000000, MTRR_UC },
		{ 0xd0000000, 0xe0000000, MTRR_WC },
		{ 0xe0000000, 1ull << 36, MTRR_UC },
	};
	expect_ranges(&st, want, 5);
	check_all(&st);
}

static void test_uc_wins(void **state)
{
	(void)state;
	snprintf(where, sizeof(where), "UC wins");
	st_init(&st, 36, MTRR_UC, false);
	st_var(&st, 0, 0, 4 * GiB, MTRR_WB);
	st_var(&st, 1, 1 * GiB, 256 * MiB, MTRR_UC);
	st_var(&st, 2, 1 * GiB, 1 * GiB, MTRR_WT);
	st_var(&st, 3, 3 * GiB, 1 * GiB, MTRR_WC);
	st_var(&st, 4, 3 * GiB, 256 * MiB, MTRR_UC);
	st_var(&st, 5, 6 * GiB, 2 * GiB, MTRR_WP);
	st_var(&st, 6, 7 * GiB, 1 * GiB, MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 1 * GiB), MTRR_UC);		   /* UC WB WT */
	assert_int_equal(mtrr_type_of(&st, 1 * GiB + 256 * MiB), MTRR_WT); /* WT WB */
	assert_int_equal(mtrr_type_of(&st, 3 * GiB), MTRR_UC);		   /* UC WC WB */
	assert_int_equal(mtrr_type_of(&st, 3 * GiB + 256 * MiB), MTRR_UC); /* WC WB: undefined */
	assert_int_equal(mtrr_type_of(&st, 6 * GiB), MTRR_WP);
	assert_int_equal(mtrr_type_of(&st, 7 * GiB), MTRR_UC); /* UC WP */
	const struct mtrr_range want[] = {
		{ 0, 1 * GiB, MTRR_WB },
		{ 1 * GiB, 1 * GiB + 256 * MiB, MTRR_UC },
		{ 1 * GiB + 256 * MiB, 2 * GiB, MTRR_WT },
		{ 2 * GiB, 3 * GiB, MTRR_WB },
		{ 3 * GiB, 6 * GiB, MTRR_UC },
		{ 6 * GiB, 7 * GiB, MTRR_WP },
		{ 7 * GiB, 1ull << 36, MTRR_UC },
	};
	expect_ranges(&st, want, 7);
	check_all(&st);
}

static void test_wt_wb(void **state)
{
	(void)state;
	snprintf(where, sizeof(where), "WT with WB");
	st_init(&st, 39, MTRR_WB, false);
	st_var(&st, 0, 0, 8 * GiB, MTRR_WB);
	st_var(&st, 1, 2 * GiB, 2 * GiB, MTRR_WT);
	st_var(&st, 2, 2 * GiB, 1 * GiB, MTRR_WB);  /* WT WB WB: still WT */
	st_var(&st, 3, 16 * GiB, 4 * GiB, MTRR_WT); /* WT with the default WB: WT */
	assert_int_equal(mtrr_type_of(&st, 2 * GiB), MTRR_WT);
	assert_int_equal(mtrr_type_of(&st, 3 * GiB), MTRR_WT);
	assert_int_equal(mtrr_type_of(&st, 4 * GiB), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 16 * GiB), MTRR_WT);
	const struct mtrr_range want[] = {
		{ 0, 2 * GiB, MTRR_WB },	   { 2 * GiB, 4 * GiB, MTRR_WT },
		{ 4 * GiB, 16 * GiB, MTRR_WB },	   { 16 * GiB, 20 * GiB, MTRR_WT },
		{ 20 * GiB, 1ull << 39, MTRR_WB },
	};
	expect_ranges(&st, want, 5);
	check_all(&st);
}

static void test_undefined_overlaps(void **state)
{
	(void)state;
	/* SDM 3A 11.11.4.1: "processor behavior is undefined"; marrow: UC. */
	static const uint8_t pairs[][3] = {
		{ MTRR_WC, MTRR_WB, 0 },       { MTRR_WP, MTRR_WB, 0 },
		{ MTRR_WC, MTRR_WT, 0 },       { MTRR_WT, MTRR_WP, 0 },
		{ MTRR_WC, MTRR_WP, 0 },       { MTRR_WT, MTRR_WB, MTRR_WC },
		{ MTRR_WB, MTRR_WT, MTRR_WP },
	};
	for (unsigned k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
		snprintf(where, sizeof(where), "undefined overlap %u", k);
		st_init(&st, 36, MTRR_WB, false);
		st_var(&st, 0, 4 * GiB, 4 * GiB, pairs[k][0]);
		st_var(&st, 1, 4 * GiB, 1 * GiB, pairs[k][1]);
		if (pairs[k][2])
			st_var(&st, 2, 4 * GiB, 2 * GiB, pairs[k][2]);
		EXPECT(mtrr_type_of(&st, 4 * GiB) == MTRR_UC, "overlap %u is not UC", k);
		EXPECT(mtrr_type_of(&st, 4 * GiB + 1 * GiB + 4 * KiB) != MTRR_UC || pairs[k][2],
		       "overlap %u: UC past the inner range", k);
		check_all(&st);
	}
}

static void test_valid_bit_and_vcnt(void **state)
{
	(void)state;
	snprintf(where, sizeof(where), "valid bit, VCNT");
	st_init(&st, 36, MTRR_WB, false);
	st.cap = (st.cap & ~MTRRCAP_VCNT_MASK) | 4;
	st_var(&st, 0, 0, 4 * GiB, MTRR_UC);
	st.var[0].mask &= ~MTRR_PHYSMASK_VALID; /* invalid: ignored */
	st_var(&st, 1, 2 * GiB, 1 * GiB, MTRR_WT);
	st_var(&st, 4, 0, 1ull << 36, MTRR_UC); /* past VCNT: ignored */
	st_var(&st, 254, 0, 1ull << 36, MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 0), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 2 * GiB), MTRR_WT);
	const struct mtrr_range want[] = {
		{ 0, 2 * GiB, MTRR_WB },
		{ 2 * GiB, 3 * GiB, MTRR_WT },
		{ 3 * GiB, 1ull << 36, MTRR_WB },
	};
	expect_ranges(&st, want, 3);
	check_all(&st);
	/* VCNT 255: every pair counts. */
	st.cap |= MTRRCAP_VCNT_MASK;
	assert_int_equal(mtrr_type_of(&st, 0), MTRR_UC);
	check_all(&st);
}

static void test_masks_above_maxphyaddr(void **state)
{
	(void)state;
	/* A mask and a base with every bit up to 63 set: the bits at and above
	 * MAXPHYADDR are reserved and take no part in the match. */
	snprintf(where, sizeof(where), "bits above MAXPHYADDR");
	st_init(&st, 36, MTRR_UC, false);
	st.var[0].base = 0xfff0000080000000ull | MTRR_WB;
	st.var[0].mask = 0xffffffffc0000000ull | MTRR_PHYSMASK_VALID;
	st.var[1].base = 0xfffffff000000000ull | 0x100000000ull | MTRR_WT;
	st.var[1].mask = ~0xfffull; /* a 4 KiB range at 4 GiB; bits 10:0 clear */
	st.var[1].mask |= MTRR_PHYSMASK_VALID;
	const struct mtrr_range want[] = {
		{ 0, 2 * GiB, MTRR_UC },
		{ 2 * GiB, 3 * GiB, MTRR_WB },
		{ 3 * GiB, 4 * GiB, MTRR_UC },
		{ 4 * GiB, 4 * GiB + 4 * KiB, MTRR_WT },
		{ 4 * GiB + 4 * KiB, 1ull << 36, MTRR_UC },
	};
	expect_ranges(&st, want, 5);
	check_all(&st);

	/* Firmware written for 36 bits on a 46-bit CPU: PhysMask bits 45:36
	 * are zero, so they are not compared and the 1 GiB range repeats every
	 * 64 GiB, as the SDM's formula says. */
	snprintf(where, sizeof(where), "36-bit mask on a 46-bit CPU");
	st_init(&st, 46, MTRR_UC, false);
	st.var[0].base = MTRR_WB;
	st.var[0].mask = 0xfc0000000ull | MTRR_PHYSMASK_VALID;
	assert_int_equal(mtrr_type_of(&st, 64 * GiB), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 65 * GiB), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, (1ull << 46) - 63 * GiB - 1), MTRR_WB);
	int n = check_build(&st);
	assert_int_equal(n, 2048);
	assert_int_equal(rng[2].base, 64 * GiB);
	assert_int_equal(rng[2].end, 65 * GiB);
	expect_range(&st, 0, 64 * GiB, 0, 0);
	expect_range(&st, 128 * GiB, 1 * GiB, 1, MTRR_WB);
	check_all(&st);
}

/* A PC: RAM below 3 GiB and from 4 GiB to 9 GiB, MMIO hole at 3 GiB, the
 * legacy first MiB from the fixed ranges (RAM, VGA, option ROMs/BIOS). */
static void st_pc(struct mtrr_state *s, unsigned bits)
{
	st_init(s, bits, MTRR_UC, true);
	s->fixed[0] = ALL_BYTES(MTRR_WB);
	s->fixed[1] = ALL_BYTES(MTRR_WB);
	s->fixed[2] = ALL_BYTES(MTRR_UC);
	for (int i = 3; i < MTRR_NUM_FIXED; i++)
		s->fixed[i] = ALL_BYTES(MTRR_WP);
	st_var(s, 0, 0, 4 * GiB, MTRR_WB);
	st_var(s, 1, 3 * GiB, 1 * GiB, MTRR_UC);
	st_var(s, 2, 4 * GiB, 4 * GiB, MTRR_WB);
	st_var(s, 3, 8 * GiB, 1 * GiB, MTRR_WB);
	st_var(s, 4, 0xd0000000, 256 * MiB, MTRR_WC); /* a framebuffer in the hole: UC */
}

static void test_pc_layout_widths(void **state)
{
	(void)state;
	static const unsigned widths[] = { 36, 39, 46, 52 };
	for (unsigned k = 0; k < 4; k++) {
		unsigned bits = widths[k];
		snprintf(where, sizeof(where), "PC layout, %u bits", bits);
		st_pc(&st, bits);
		const struct mtrr_range want[] = {
			{ 0, 0xa0000, MTRR_WB },
			{ 0xa0000, 0xc0000, MTRR_UC },
			{ 0xc0000, 0x100000, MTRR_WP },
			{ 0x100000, 3 * GiB, MTRR_WB },
			{ 3 * GiB, 4 * GiB, MTRR_UC },
			{ 4 * GiB, 9 * GiB, MTRR_WB },
			{ 9 * GiB, 1ull << bits, MTRR_UC },
		};
		expect_ranges(&st, want, 7);
		/* What the EPT builder will ask. */
		expect_range(&st, 0, 2 * MiB, 0, 0);
		expect_range(&st, 0, 1 * GiB, 0, 0);
		expect_range(&st, 2 * MiB, 2 * MiB, 1, MTRR_WB);
		expect_range(&st, 1 * GiB, 1 * GiB, 1, MTRR_WB);
		expect_range(&st, 2 * GiB, 1 * GiB, 1, MTRR_WB);
		expect_range(&st, 3 * GiB, 1 * GiB, 1, MTRR_UC);
		expect_range(&st, 3 * GiB - 4 * KiB, 8 * KiB, 0, 0);
		expect_range(&st, 4 * GiB, 4 * GiB, 1, MTRR_WB);
		expect_range(&st, 8 * GiB, 1 * GiB, 1, MTRR_WB);
		expect_range(&st, 9 * GiB, 1 * GiB, 1, MTRR_UC);
		expect_range(&st, 512 * GiB, 512 * GiB, 1, MTRR_UC);
		expect_range(&st, 9 * GiB, (1ull << bits) - 9 * GiB, 1, MTRR_UC);
		expect_range(&st, 0xa0000, 0x20000, 1, MTRR_UC);
		expect_range(&st, 0xc0000, 0x40000, 1, MTRR_WP);
		expect_range(&st, 0xbf000, 0x2000, 0, 0);
		assert_int_equal(mtrr_next_boundary(&st, 0x100000), 3 * GiB);
		/* The framebuffer's edges are edges, though UC stays UC. */
		assert_int_equal(mtrr_next_boundary(&st, 3 * GiB), 0xd0000000);
		assert_int_equal(mtrr_next_boundary(&st, 0xd0000000), 0xe0000000);
		assert_int_equal(mtrr_next_boundary(&st, 0xe0000000), 4 * GiB);
		assert_int_equal(mtrr_next_boundary(&st, 4 * GiB), 8 * GiB);
		assert_int_equal(mtrr_next_boundary(&st, 8 * GiB), 9 * GiB);
		assert_int_equal(mtrr_next_boundary(&st, 9 * GiB), 1ull << bits);
		assert_int_equal(mtrr_next_boundary(&st, 1ull << bits), 0);
		assert_int_equal(mtrr_next_boundary(&st, 0xa1000), 0xa4000);
		check_all(&st);
	}
}

static void test_noncontiguous_masks(void **state)
{
	(void)state;
	/* PhysMask with a hole at bit 20: two 4 KiB intervals, 1 MiB apart. */
	snprintf(where, sizeof(where), "mask with one hole");
	st_init(&st, 36, MTRR_UC, false);
	st.var[0].base = 0x10000000ull | MTRR_WB;
	st.var[0].mask = (0xffffff000ull & ~(1ull << 20)) | MTRR_PHYSMASK_VALID;
	const struct mtrr_range want[] = {
		{ 0, 0x10000000, MTRR_UC },	     { 0x10000000, 0x10001000, MTRR_WB },
		{ 0x10001000, 0x10100000, MTRR_UC }, { 0x10100000, 0x10101000, MTRR_WB },
		{ 0x10101000, 1ull << 36, MTRR_UC },
	};
	expect_ranges(&st, want, 5);
	check_all(&st);

	/* Ten holes (bits 35:26) of WB over a WB default: 1024 intervals that
	 * merge into one run. */
	snprintf(where, sizeof(where), "ten holes, same type");
	st_init(&st, 36, MTRR_WB, false);
	st.var[0].base = 0x1000000ull | MTRR_WB;
	st.var[0].mask = 0x3fff000ull | MTRR_PHYSMASK_VALID;
	const struct mtrr_range one[] = { { 0, 1ull << 36, MTRR_WB } };
	expect_ranges(&st, one, 1);
	expect_range(&st, 0, 1ull << 36, 1, MTRR_WB);
	check_all(&st);
	/* The same with a UC default: 2049 runs. */
	st.def_type &= ~MTRR_DEF_TYPE_MASK; /* default UC */
	assert_int_equal(check_build(&st), 2049);
	check_all(&st);

	/* Only bit 12 in the mask: every other page, 2^23 intervals. The answer
	 * is that long, so the work stops at max, and a range question stops at
	 * the first change. */
	snprintf(where, sizeof(where), "alternate pages");
	st_init(&st, 36, MTRR_UC, false);
	st.var[0].base = MTRR_WB;
	st.var[0].mask = 0x1000ull | MTRR_PHYSMASK_VALID;
	assert_int_equal(mtrr_build_ranges(&st, rng, 100), -1);
	expect_range(&st, 0, 8 * KiB, 0, 0);
	expect_range(&st, 0, 1ull << 36, 0, 0);
	expect_range(&st, 0x123456000ull, 4 * KiB, 1, MTRR_WB);
	expect_range(&st, 0x123457000ull, 4 * KiB, 1, MTRR_UC);
	assert_int_equal(mtrr_next_boundary(&st, 0), 0x1000);
	assert_int_equal(mtrr_next_boundary(&st, 0x1fff), 0x2000);
	assert_int_equal(mtrr_next_boundary(&st, 0xfffffe000ull), 0xfffffe000ull + 0x1000);
	assert_int_equal(mtrr_next_boundary(&st, 0xffffff000ull), 1ull << 36);
	assert_int_equal(mtrr_type_of(&st, 0xfffffefffull), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 0xffffff000ull), MTRR_UC);
}

static void test_reserved_types(void **state)
{
	(void)state;
	snprintf(where, sizeof(where), "reserved types");
	st_init(&st, 36, 7, true); /* default type 7: reserved */
	st_fixed_all(&st, MTRR_WB);
	st.fixed[0] = ALL_BYTES(2);
	st.fixed[3] = ALL_BYTES(3);
	st_var(&st, 0, 4 * GiB, 4 * GiB, MTRR_WB);
	st_var(&st, 1, 4 * GiB, 1 * GiB, 3);	 /* with WB: a UC */
	st_var(&st, 2, 16 * GiB, 1 * GiB, 0xff); /* alone: UC */
	st_var(&st, 3, 32 * GiB, 1 * GiB, 0x86);
	st_var(&st, 4, 32 * GiB, 1 * GiB, MTRR_WT);
	assert_int_equal(mtrr_type_of(&st, 0), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 0x80000), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 0xc0000), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 2 * GiB), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 4 * GiB), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 5 * GiB), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 16 * GiB), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, 32 * GiB), MTRR_UC);
	check_all(&st);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(mtrr_type_name(MTRR_UC), "UC");
	assert_string_equal(mtrr_type_name(MTRR_WC), "WC");
	assert_string_equal(mtrr_type_name(MTRR_WT), "WT");
	assert_string_equal(mtrr_type_name(MTRR_WP), "WP");
	assert_string_equal(mtrr_type_name(MTRR_WB), "WB");
	assert_string_equal(mtrr_type_name(MTRR_MIXED), "mixed");
	assert_string_equal(mtrr_type_name(2), "reserved");
	assert_string_equal(mtrr_type_name(3), "reserved");
	assert_string_equal(mtrr_type_name(7), "reserved");
	assert_string_equal(mtrr_type_name(0x80), "reserved");
}

static void test_range_edges(void **state)
{
	(void)state;
	snprintf(where, sizeof(where), "range edges");
	st_pc(&st, 36);
	uint64_t end = 1ull << 36;
	expect_range(&st, 4 * GiB, 0, 0, 0);		      /* empty */
	expect_range(&st, ~0ull - 0xfff, 0x2000, 0, 0);	      /* wraps */
	expect_range(&st, ~0ull - 0xfff, 0x1000, 1, MTRR_UC); /* ends at 2^64 */
	expect_range(&st, 0, ~0ull, 0, 0);
	expect_range(&st, end - 4 * KiB, 8 * KiB, 1, MTRR_UC); /* UC on both sides */
	expect_range(&st, end, 1 * GiB, 1, MTRR_UC);
	expect_range(&st, 9 * GiB, ~0ull - 9 * GiB + 1, 1, MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, end), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, ~0ull), MTRR_UC);
	/* WB up to the top: crossing 2^MAXPHYADDR changes the type. */
	st_var(&st, 5, end / 2, end / 2, MTRR_WB);
	expect_range(&st, end - 4 * KiB, 4 * KiB, 1, MTRR_WB);
	expect_range(&st, end - 4 * KiB, 8 * KiB, 0, 0);
	expect_range(&st, 3 * GiB + 5, 1, 1, MTRR_UC); /* one byte */
	check_all(&st);
}

static void test_build_max(void **state)
{
	(void)state;
	snprintf(where, sizeof(where), "build max");
	st_pc(&st, 39);
	assert_int_equal(mtrr_build_ranges(&st, rng, 7), 7);
	assert_int_equal(mtrr_build_ranges(&st, rng, 6), -1);
	assert_int_equal(mtrr_build_ranges(&st, rng, 1), -1);
	assert_int_equal(mtrr_build_ranges(&st, NULL, 0), -1);
	st.def_type = 0;
	assert_int_equal(mtrr_build_ranges(&st, rng, 1), 1);
}

static void test_phys_bits_clamped(void **state)
{
	(void)state;
	snprintf(where, sizeof(where), "phys_bits clamped");
	st_init(&st, 0, MTRR_WB, false);
	assert_int_equal(mtrr_phys_bits(&st), 32);
	assert_int_equal(mtrr_phys_end(&st), 1ull << 32);
	assert_int_equal(mtrr_build_ranges(&st, rng, 4), 1);
	assert_int_equal(rng[0].end, 1ull << 32);
	assert_int_equal(mtrr_type_of(&st, 1ull << 32), MTRR_UC);
	check_all(&st);
	st.phys_bits = 64;
	assert_int_equal(mtrr_phys_bits(&st), 52);
	assert_int_equal(mtrr_build_ranges(&st, rng, 4), 1);
	assert_int_equal(rng[0].end, 1ull << 52);
	check_all(&st);
	st.phys_bits = 40;
	assert_int_equal(mtrr_phys_bits(&st), 40);
}

/* 255 pairs in use at 52 bits: the walk is per boundary, not per page. */
static void test_many_ranges(void **state)
{
	(void)state;
	static const uint8_t cycle[] = { MTRR_WB, MTRR_UC, MTRR_WT, MTRR_WC, MTRR_WB, MTRR_WP };
	snprintf(where, sizeof(where), "255 ranges");
	st_init(&st, 52, MTRR_UC, true);
	st_fixed_all(&st, MTRR_WB);
	st.cap |= MTRRCAP_VCNT_MASK;
	for (unsigned i = 0; i < 255; i++) {
		uint64_t size = 1ull << (12 + (i * 7) % 40);
		uint64_t base = ((uint64_t)i * 0x9e3779b97f4a7c15ull) & ((1ull << 52) - 1);
		st_var(&st, i, base & ~(size - 1), size, cycle[i % 6]);
	}
	check_all(&st);
}

/* ---------------------------------------------------------------------
 * The random differential test. */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned percent)
{
	return rnd_below(100) < percent;
}

static uint8_t rnd_type(void)
{
	static const uint8_t pool[] = { MTRR_UC, MTRR_UC, MTRR_WC, MTRR_WT, MTRR_WT,
					MTRR_WP, MTRR_WB, MTRR_WB, MTRR_WB };
	static const uint8_t reserved[] = { 2, 3, 7, 0x42, 0xff };
	if (chance(3))
		return reserved[rnd_below(sizeof(reserved))];
	return pool[rnd_below(sizeof(pool))];
}

static void rnd_var(struct mtrr_state *s, unsigned i, unsigned bits)
{
	uint64_t end = 1ull << bits;
	unsigned top = chance(50) ? (bits < 34 ? bits : 34) : bits;
	unsigned k = 12 + (unsigned)rnd_below(top - 12 + 1);
	uint64_t size = 1ull << k;
	uint64_t base = rnd_below(chance(60) && bits > 34 ? 1ull << 34 : end);
	if (!chance(15))
		base &= ~(size - 1); /* firmware aligns; the CPU ignores the rest */
	base &= (end - 1) & ~0xfffull;
	uint64_t mask = (end - 1) & ~(size - 1);
	if (chance(15) && k < bits) /* up to four holes: non-contiguous */
		for (unsigned h = (unsigned)rnd_below(4) + 1; h > 0; h--)
			mask &= ~(1ull << (k + rnd_below(bits - k)));
	if (chance(10)) { /* reserved bits above MAXPHYADDR */
		mask |= rnd() & ~(end - 1);
		base |= rnd() & ~(end - 1);
	}
	if (chance(5)) { /* reserved low bits */
		mask |= rnd() & 0x7ff;
		base |= rnd() & 0xf00;
	}
	s->var[i].base = base | rnd_type();
	s->var[i].mask = mask | (chance(85) ? MTRR_PHYSMASK_VALID : 0);
}

static void rnd_state(struct mtrr_state *s)
{
	static const unsigned widths[] = { 32, 36, 39, 40, 46, 48, 52 };

	memset(s, 0, sizeof(*s));
	s->phys_bits = chance(3) ? (unsigned)rnd_below(70) : widths[rnd_below(7)];
	unsigned bits = ref_bits(s);
	unsigned vcnt = (unsigned)(chance(10) ? rnd_below(40) : rnd_below(11));
	s->cap = vcnt | (chance(90) ? MTRRCAP_FIX : 0) | (chance(50) ? MTRRCAP_WC : 0);
	s->def_type = rnd_type() | (chance(90) ? MTRR_DEF_E : 0) | (chance(70) ? MTRR_DEF_FE : 0);
	for (int i = 0; i < MTRR_NUM_FIXED; i++) {
		if (chance(50)) {
			s->fixed[i] = ALL_BYTES(rnd_type());
			continue;
		}
		for (int f = 0; f < 8; f++)
			s->fixed[i] |= (uint64_t)rnd_type() << (8 * f);
	}
	/* A few valid pairs past VCNT too: they must be ignored. */
	for (unsigned i = 0; i < vcnt + 4 && i < MTRR_MAX_VAR; i++)
		rnd_var(s, i, bits);
}

static void test_random_differential(void **state)
{
	(void)state;
	uint64_t seed = DEFAULT_SEED;
	const char *env = getenv("MTRR_SEED");
	if (env && *env)
		seed = strtoull(env, NULL, 0);
	rng_state = seed;
	for (int c = 0; c < RANDOM_CASES; c++) {
		snprintf(where, sizeof(where), "random seed %#llx case %d",
			 (unsigned long long)seed, c);
		rnd_state(&st2);
		check_all(&st2);
		/* Random addresses and random ranges of every magnitude. */
		cur = &st2;
		uint64_t end = 1ull << ref_bits(&st2);
		for (int k = 0; k < 32; k++) {
			uint64_t a = rnd_below(end + end / 8);
			check_addr(&st2, a);
			check_next(&st2, a);
			check_range(&st2, a, 1 + rnd_below(1ull << rnd_below(ref_bits(&st2))));
		}
		cur = NULL;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_fixed_disabled),
		cmocka_unit_test(test_fixed_ranges),
		cmocka_unit_test(test_default_type),
		cmocka_unit_test(test_single_and_identical),
		cmocka_unit_test(test_uc_wins),
		cmocka_unit_test(test_wt_wb),
		cmocka_unit_test(test_undefined_overlaps),
		cmocka_unit_test(test_valid_bit_and_vcnt),
		cmocka_unit_test(test_masks_above_maxphyaddr),
		cmocka_unit_test(test_pc_layout_widths),
		cmocka_unit_test(test_noncontiguous_masks),
		cmocka_unit_test(test_reserved_types),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_range_edges),
		cmocka_unit_test(test_build_max),
		cmocka_unit_test(test_phys_bits_clamped),
		cmocka_unit_test(test_many_ranges),
		cmocka_unit_test(test_random_differential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
