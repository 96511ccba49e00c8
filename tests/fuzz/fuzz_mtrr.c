/* libFuzzer harness: the MTRR memory-type engine (src/ept/mtrr.c),
 * differentially against the brute-force per-address reference that
 * test_mtrr uses too (tests/common/mtrr_ref.c).
 *
 * The input is an MTRR snapshot, every field as raw as the MSRs hold it
 * (reserved types, reserved bits, pairs past VCNT, any MAXPHYADDR): the
 * MAXPHYADDR, MTRRCAP, the default type, the variable pairs, the fixed
 * ranges; then a byte that picks boundaries, then addresses and lengths to
 * ask about. Each snapshot gets the reference's comparison of every run
 * (mtrr_ref_check_pieces: the built list, every boundary and piece, the
 * whole space), ranges of the EPT page sizes around AROUND of its
 * boundaries, then the input's own questions.
 *
 * One bound: a variable pair whose mask has h zero bits above its lowest
 * one bit matches 2^h intervals, each an edge the engine walks and the
 * reference enumerates. A pair with more than MAX_HOLES such bits gets its
 * lowest ones filled, so that one input stays one fast test case; inputs
 * over the reference's capacity are skipped. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "src/arch/x86/msr.h"
#include "src/ept/mtrr.h"
#include "tests/common/mtrr_ref.h"

#define MAX_HOLES 5
/* Pairs read from the input; pairs past them (up to VCNT) stay zero. */
#define INPUT_PAIRS 16
/* Valid pairs placed past VCNT, which the engine must ignore. */
#define EXTRA_PAIRS 2
/* Boundaries whose surrounding blocks are asked about. */
#define AROUND 8

void mtrr_ref_fail(const char *msg)
{
	fprintf(stderr, "fuzz_mtrr: %s\n", msg);
	abort();
}

static struct mtrr_state st;
static struct mtrr_range ranges[MTRR_REF_MAX_RANGES];

/* Fills the lowest holes of a pair's mask until at most MAX_HOLES remain. */
static uint64_t few_holes(uint64_t mask, unsigned bits)
{
	uint64_t field = ((1ull << bits) - 1) & ~0xfffull, m = mask & field;

	if (!m)
		return mask;
	uint64_t low = m & -m;
	uint64_t holes = ~m & field & ~(2 * low - 1);
	while (__builtin_popcountll(holes) > MAX_HOLES) {
		uint64_t h = holes & -holes;
		mask |= h;
		holes &= ~h;
	}
	return mask;
}

static void read_pair(struct fuzz_in *in, struct mtrr_var *v, unsigned width)
{
	v->base = fuzz_u64(in);
	v->mask = few_holes(fuzz_u64(in), width);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	memset(&st, 0, sizeof(st));
	uint8_t bits = fuzz_u8(&in);
	st.phys_bits = bits & 0x80 ? bits & 0x7f : 32 + bits % 21;
	unsigned vcnt = fuzz_u8(&in);
	st.cap = vcnt | ((uint64_t)fuzz_u8(&in) << 8); /* FIX, WC, SMRR... */
	st.def_type = fuzz_u16(&in);
	unsigned width = mtrr_phys_bits(&st);
	for (unsigned i = 0; i < vcnt && i < INPUT_PAIRS; i++)
		read_pair(&in, &st.var[i], width);
	for (unsigned i = vcnt; i < vcnt + EXTRA_PAIRS && i < MTRR_MAX_VAR; i++)
		read_pair(&in, &st.var[i], width);
	for (int i = 0; i < MTRR_NUM_FIXED; i++)
		st.fixed[i] = fuzz_u64(&in);
	if (!mtrr_ref_fits(&st))
		return 0;

	mtrr_ref_case("fuzz_mtrr, %zu-byte input", size);
	mtrr_ref_check_pieces(&st);
	/* The blocks around a few boundaries the input picks (all of them, as
	 * check_all does, is quadratic in the boundaries). */
	size_t nb;
	const uint64_t *b = mtrr_ref_boundaries(&nb);
	uint8_t around = fuzz_u8(&in);
	for (unsigned k = 0; k < AROUND; k++)
		mtrr_ref_check_ranges_around(&st, b[(around + k * 37u) % nb]);
	/* The list is cut off, not overrun, one entry short; every type in it
	 * has a name. */
	int n = mtrr_build_ranges(&st, ranges, MTRR_REF_MAX_RANGES);
	FUZZ_CHECK(n > 0, "mtrr_build_ranges: %d", n);
	FUZZ_CHECK(mtrr_build_ranges(&st, ranges, (size_t)n - 1) == -1, "%d ranges fit in %d", n,
		   n - 1);
	for (int i = 0; i < n; i++)
		FUZZ_CHECK(strcmp(mtrr_type_name(ranges[i].type), "reserved") &&
				   strcmp(mtrr_type_name(ranges[i].type), "mixed"),
			   "range %d has type %u", i, ranges[i].type);
	/* The input's own questions, against the pieces prepared above. */
	while (in.n >= 16) {
		uint64_t a = fuzz_u64(&in), len = fuzz_u64(&in);
		/* Mostly near the top of the address space or small. */
		if (a & 1)
			a %= mtrr_phys_end(&st) + mtrr_phys_end(&st) / 8;
		if (len & 1)
			len >>= (len >> 1) & 63;
		mtrr_ref_check_addr(&st, a);
		mtrr_ref_check_next(&st, a);
		mtrr_ref_check_range(&st, a, len);
	}
	return 0;
}
