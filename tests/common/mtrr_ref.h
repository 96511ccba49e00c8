/* The MTRR engine's brute-force reference, shared by the unit test
 * (tests/unit/test_mtrr.c) and the fuzzer (tests/fuzz/fuzz_mtrr.c).
 *
 * The reference is written independently of src/ept/mtrr.c, straight from
 * the SDM text (3A 11.11.2.1-3 and the precedences of 11.11.4.1): one address
 * at a time, a table lookup for the fixed ranges and an "address AND PhysMask
 * = PhysBase AND PhysMask" test for every variable pair. The checks compare
 * the engine with it on every run between the boundaries enumerated here
 * on their own. A failed comparison goes to mtrr_ref_report, which prints
 * the case and the state and calls the program's mtrr_ref_fail. */
#ifndef MARROW_TESTS_COMMON_MTRR_REF_H
#define MARROW_TESTS_COMMON_MTRR_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/ept/mtrr.h"

/* The enumeration's capacity: boundaries in all, and zero mask bits above a
 * pair's lowest one bit (each doubles the pair's intervals). */
#define MTRR_REF_MAX_BOUNDS 20000
#define MTRR_REF_MAX_HOLES 12
#define MTRR_REF_MAX_RANGES 20000

/* Provided by the program: reports msg as a failure and does not return
 * (cmocka's fail_msg, or abort() for libFuzzer). */
void mtrr_ref_fail(const char *msg) __attribute__((noreturn));

/* Names the case that the next failure reports (printf format). */
void mtrr_ref_case(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the case, the message and s (if not NULL), then mtrr_ref_fail. */
void mtrr_ref_report(const struct mtrr_state *s, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#define MTRR_REF_EXPECT(s, cond, ...)                             \
	do {                                                      \
		if (!(cond))                                      \
			mtrr_ref_report((s), #cond, __VA_ARGS__); \
	} while (0)

/* MAXPHYADDR as marrow clamps it, and the reference type of one address. */
unsigned mtrr_ref_bits(const struct mtrr_state *s);
int mtrr_ref_type(const struct mtrr_state *s, uint64_t pa);

/* Whether s is within the enumeration's capacity (checks on a state that
 * is not report a failure of the test itself). */
bool mtrr_ref_fits(const struct mtrr_state *s);

/* The built list of s (mtrr_build_ranges into out, max entries) is an
 * exact, sorted, merged cover of [0, 2^MAXPHYADDR) agreeing with the
 * reference on every piece; returns its length. Prepares the pieces that
 * check_range and check_next compare with. */
int mtrr_ref_check_build(const struct mtrr_state *s, struct mtrr_range *out, size_t max);

/* One address, one range, one next-boundary question; range and next use
 * the pieces of the state last given to check_build or check_all. */
void mtrr_ref_check_addr(const struct mtrr_state *s, uint64_t pa);
void mtrr_ref_check_range(const struct mtrr_state *s, uint64_t base, uint64_t len);
void mtrr_ref_check_next(const struct mtrr_state *s, uint64_t a);

/* Aligned blocks of the EPT page sizes (4 KiB to 512 GiB) on both sides of
 * a, and the bytes at a - 1 and a, as range questions. Each costs a walk
 * over every boundary in the block. */
void mtrr_ref_check_ranges_around(const struct mtrr_state *s, uint64_t a);

/* The boundaries of the state last prepared: sorted, from 0 to
 * 2^MAXPHYADDR. */
const uint64_t *mtrr_ref_boundaries(size_t *count);

/* Linear in the boundaries: the built list, addresses at and around every
 * boundary, every piece, every built range and the whole space as range
 * questions, and the next boundary from each. */
void mtrr_ref_check_pieces(const struct mtrr_state *s);

/* Everything: check_pieces, then the ranges around every boundary. */
void mtrr_ref_check_all(const struct mtrr_state *s);

#endif
