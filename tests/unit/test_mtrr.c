/* The MTRR memory-type engine (src/ept/mtrr.c) against a reference written
 * independently, straight from the SDM text (3A 11.11.2.1-3 and the
 * precedences of 11.11.4.1): one address at a time, a table lookup for the
 * fixed ranges and an "address AND PhysMask = PhysBase AND PhysMask" test
 * for every variable pair (tests/common/mtrr_ref.c, which the fuzzer
 * tests/fuzz/fuzz_mtrr.c shares). Hand-written cases pin each rule; a PC
 * layout is checked at four widths; a seeded random differential test
 * compares every run between the boundaries the reference enumerates on
 * its own.
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
#include "tests/common/mtrr_ref.h"

#define KiB 0x400ull
#define MiB 0x100000ull
#define GiB 0x40000000ull

#define DEFAULT_SEED 0x6d7472725f736565ull
#define RANDOM_CASES 1500

/* The reference reports its failures through cmocka. */
void mtrr_ref_fail(const char *msg)
{
	fail_msg("%s", msg);
	abort(); /* not reached: fail_msg does not return */
}

#define MAX_RANGES MTRR_REF_MAX_RANGES
static struct mtrr_range rng[MAX_RANGES];

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
	uint64_t end = (uint64_t)1 << mtrr_ref_bits(s);

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

	MTRR_REF_EXPECT(s, got == n, "%d ranges, expected %d", got, n);
	for (int i = 0; i < n; i++)
		MTRR_REF_EXPECT(s,
				rng[i].base == want[i].base && rng[i].end == want[i].end &&
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

	MTRR_REF_EXPECT(s, got == uniform && t == (uniform ? type : MTRR_MIXED),
			"mtrr_type_of_range(%#llx, %#llx) = %d %s", (unsigned long long)base,
			(unsigned long long)len, got, mtrr_type_name(t));
}

static struct mtrr_state st, st2;

/* ---------------------------------------------------------------------
 * Hand-written cases, one rule each. */

static void test_disabled(void **state)
{
	(void)state;
	mtrr_ref_case("disabled");
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
	mtrr_ref_check_all(&st);
	/* All zero (what mtrr_read gives without MTRR support) is the same. */
	memset(&st, 0, sizeof(st));
	st.phys_bits = 39;
	const struct mtrr_range zero[] = { { 0, 1ull << 39, MTRR_UC } };
	expect_ranges(&st, zero, 1);
	mtrr_ref_check_all(&st);
}

static void test_fixed_disabled(void **state)
{
	(void)state;
	/* FE clear: the variable ranges and the default cover the first MiB
	 * as any other memory (SDM 3A 11.11.2.1). */
	mtrr_ref_case("FE clear");
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
	mtrr_ref_check_all(&st);

	/* FE set on a CPU without fixed ranges (MTRRCAP.FIX clear): ignored. */
	mtrr_ref_case("MTRRCAP.FIX clear");
	st.def_type |= MTRR_DEF_FE;
	st.cap &= ~MTRRCAP_FIX;
	expect_ranges(&st, want, 2);
	mtrr_ref_check_all(&st);
}

static void test_fixed_ranges(void **state)
{
	(void)state;
	mtrr_ref_case("fixed ranges");
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
	mtrr_ref_check_all(&st);

	/* Every one of the 88 fields different from its neighbours. */
	static const uint8_t cycle[] = { MTRR_UC, MTRR_WC, MTRR_WT, MTRR_WP, MTRR_WB };
	for (int slot = 0; slot < 88; slot++) {
		st.fixed[slot / 8] &= ~(0xffull << (8 * (slot % 8)));
		st.fixed[slot / 8] |= (uint64_t)cycle[slot % 5] << (8 * (slot % 8));
	}
	mtrr_ref_case("88 fixed fields");
	assert_true(mtrr_ref_check_build(&st, rng, MAX_RANGES) >= 88);
	mtrr_ref_check_all(&st);
}

static void test_default_type(void **state)
{
	(void)state;
	mtrr_ref_case("default type");
	st_init(&st, 39, MTRR_WB, true);
	st_fixed_all(&st, MTRR_WB);
	st.cap &= ~MTRRCAP_VCNT_MASK; /* no variable pairs at all */
	const struct mtrr_range want[] = { { 0, 1ull << 39, MTRR_WB } };
	expect_ranges(&st, want, 1);
	expect_range(&st, 0, 1ull << 39, 1, MTRR_WB);
	mtrr_ref_check_all(&st);
	/* Unmatched memory takes the default, matched memory does not. */
	st_init(&st, 39, MTRR_WT, false);
	st_var(&st, 3, 8 * GiB, 8 * GiB, MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 8 * GiB - 1), MTRR_WT);
	assert_int_equal(mtrr_type_of(&st, 8 * GiB), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 16 * GiB), MTRR_WT);
	mtrr_ref_check_all(&st);
}

static void test_single_and_identical(void **state)
{
	(void)state;
	mtrr_ref_case("identical types");
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
	mtrr_ref_check_all(&st);
}

static void test_uc_wins(void **state)
{
	(void)state;
	mtrr_ref_case("UC wins");
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
	mtrr_ref_check_all(&st);
}

static void test_wt_wb(void **state)
{
	(void)state;
	mtrr_ref_case("WT with WB");
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
	mtrr_ref_check_all(&st);
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
		mtrr_ref_case("undefined overlap %u", k);
		st_init(&st, 36, MTRR_WB, false);
		st_var(&st, 0, 4 * GiB, 4 * GiB, pairs[k][0]);
		st_var(&st, 1, 4 * GiB, 1 * GiB, pairs[k][1]);
		if (pairs[k][2])
			st_var(&st, 2, 4 * GiB, 2 * GiB, pairs[k][2]);
		MTRR_REF_EXPECT(&st, mtrr_type_of(&st, 4 * GiB) == MTRR_UC, "overlap %u is not UC",
				k);
		MTRR_REF_EXPECT(&st,
				mtrr_type_of(&st, 4 * GiB + 1 * GiB + 4 * KiB) != MTRR_UC ||
					pairs[k][2],
				"overlap %u: UC past the inner range", k);
		mtrr_ref_check_all(&st);
	}
}

static void test_valid_bit_and_vcnt(void **state)
{
	(void)state;
	mtrr_ref_case("valid bit, VCNT");
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
	mtrr_ref_check_all(&st);
	/* VCNT 255: every pair counts. */
	st.cap |= MTRRCAP_VCNT_MASK;
	assert_int_equal(mtrr_type_of(&st, 0), MTRR_UC);
	mtrr_ref_check_all(&st);
}

static void test_masks_above_maxphyaddr(void **state)
{
	(void)state;
	/* A mask and a base with every bit up to 63 set: the bits at and above
	 * MAXPHYADDR are reserved and take no part in the match. */
	mtrr_ref_case("bits above MAXPHYADDR");
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
	mtrr_ref_check_all(&st);

	/* Firmware written for 36 bits on a 46-bit CPU: PhysMask bits 45:36
	 * are zero, so they are not compared and the 1 GiB range repeats every
	 * 64 GiB, as the SDM's formula says. */
	mtrr_ref_case("36-bit mask on a 46-bit CPU");
	st_init(&st, 46, MTRR_UC, false);
	st.var[0].base = MTRR_WB;
	st.var[0].mask = 0xfc0000000ull | MTRR_PHYSMASK_VALID;
	assert_int_equal(mtrr_type_of(&st, 64 * GiB), MTRR_WB);
	assert_int_equal(mtrr_type_of(&st, 65 * GiB), MTRR_UC);
	assert_int_equal(mtrr_type_of(&st, (1ull << 46) - 63 * GiB - 1), MTRR_WB);
	int n = mtrr_ref_check_build(&st, rng, MAX_RANGES);
	assert_int_equal(n, 2048);
	assert_int_equal(rng[2].base, 64 * GiB);
	assert_int_equal(rng[2].end, 65 * GiB);
	expect_range(&st, 0, 64 * GiB, 0, 0);
	expect_range(&st, 128 * GiB, 1 * GiB, 1, MTRR_WB);
	mtrr_ref_check_all(&st);
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
		mtrr_ref_case("PC layout, %u bits", bits);
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
		mtrr_ref_check_all(&st);
	}
}

static void test_noncontiguous_masks(void **state)
{
	(void)state;
	/* PhysMask with a hole at bit 20: two 4 KiB intervals, 1 MiB apart. */
	mtrr_ref_case("mask with one hole");
	st_init(&st, 36, MTRR_UC, false);
	st.var[0].base = 0x10000000ull | MTRR_WB;
	st.var[0].mask = (0xffffff000ull & ~(1ull << 20)) | MTRR_PHYSMASK_VALID;
	const struct mtrr_range want[] = {
		{ 0, 0x10000000, MTRR_UC },	     { 0x10000000, 0x10001000, MTRR_WB },
		{ 0x10001000, 0x10100000, MTRR_UC }, { 0x10100000, 0x10101000, MTRR_WB },
		{ 0x10101000, 1ull << 36, MTRR_UC },
	};
	expect_ranges(&st, want, 5);
	mtrr_ref_check_all(&st);

	/* Ten holes (bits 35:26) of WB over a WB default: 1024 intervals that
	 * merge into one run. */
	mtrr_ref_case("ten holes, same type");
	st_init(&st, 36, MTRR_WB, false);
	st.var[0].base = 0x1000000ull | MTRR_WB;
	st.var[0].mask = 0x3fff000ull | MTRR_PHYSMASK_VALID;
	const struct mtrr_range one[] = { { 0, 1ull << 36, MTRR_WB } };
	expect_ranges(&st, one, 1);
	expect_range(&st, 0, 1ull << 36, 1, MTRR_WB);
	mtrr_ref_check_all(&st);
	/* The same with a UC default: 2049 runs. */
	st.def_type &= ~MTRR_DEF_TYPE_MASK; /* default UC */
	assert_int_equal(mtrr_ref_check_build(&st, rng, MAX_RANGES), 2049);
	mtrr_ref_check_all(&st);

	/* Only bit 12 in the mask: every other page, 2^23 intervals. The answer
	 * is that long, so the work stops at max, and a range question stops at
	 * the first change. */
	mtrr_ref_case("alternate pages");
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
	mtrr_ref_case("reserved types");
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
	mtrr_ref_check_all(&st);
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
	mtrr_ref_case("range edges");
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
	mtrr_ref_check_all(&st);
}

static void test_build_max(void **state)
{
	(void)state;
	mtrr_ref_case("build max");
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
	mtrr_ref_case("phys_bits clamped");
	st_init(&st, 0, MTRR_WB, false);
	assert_int_equal(mtrr_phys_bits(&st), 32);
	assert_int_equal(mtrr_phys_end(&st), 1ull << 32);
	assert_int_equal(mtrr_build_ranges(&st, rng, 4), 1);
	assert_int_equal(rng[0].end, 1ull << 32);
	assert_int_equal(mtrr_type_of(&st, 1ull << 32), MTRR_UC);
	mtrr_ref_check_all(&st);
	st.phys_bits = 64;
	assert_int_equal(mtrr_phys_bits(&st), 52);
	assert_int_equal(mtrr_build_ranges(&st, rng, 4), 1);
	assert_int_equal(rng[0].end, 1ull << 52);
	mtrr_ref_check_all(&st);
	st.phys_bits = 40;
	assert_int_equal(mtrr_phys_bits(&st), 40);
}

/* 255 pairs in use at 52 bits: the walk is per boundary, not per page. */
static void test_many_ranges(void **state)
{
	(void)state;
	static const uint8_t cycle[] = { MTRR_WB, MTRR_UC, MTRR_WT, MTRR_WC, MTRR_WB, MTRR_WP };
	mtrr_ref_case("255 ranges");
	st_init(&st, 52, MTRR_UC, true);
	st_fixed_all(&st, MTRR_WB);
	st.cap |= MTRRCAP_VCNT_MASK;
	for (unsigned i = 0; i < 255; i++) {
		uint64_t size = 1ull << (12 + (i * 7) % 40);
		uint64_t base = ((uint64_t)i * 0x9e3779b97f4a7c15ull) & ((1ull << 52) - 1);
		st_var(&st, i, base & ~(size - 1), size, cycle[i % 6]);
	}
	mtrr_ref_check_all(&st);
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
	unsigned bits = mtrr_ref_bits(s);
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
		mtrr_ref_case("random seed %#llx case %d", (unsigned long long)seed, c);
		rnd_state(&st2);
		mtrr_ref_check_all(&st2);
		/* Random addresses and random ranges of every magnitude. */
		uint64_t end = 1ull << mtrr_ref_bits(&st2);
		for (int k = 0; k < 32; k++) {
			uint64_t a = rnd_below(end + end / 8);
			mtrr_ref_check_addr(&st2, a);
			mtrr_ref_check_next(&st2, a);
			mtrr_ref_check_range(&st2, a,
					     1 + rnd_below(1ull << rnd_below(mtrr_ref_bits(&st2))));
		}
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
