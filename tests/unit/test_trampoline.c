/* The inline-hook trampoline builder on real functions (fixtures/
 * tramp_cases.s, assembled by binutils: gen_tramp_cases.py).
 *
 * First what tramp_build writes: the instructions it copies match objdump's
 * boundaries, each rewritten branch has the form the SDM gives it near and
 * far, displacements and jumps at the exact edges of rel32's reach, every
 * refusal with the offset of the instruction at fault, truncated code,
 * short buffers (exact-size heap copies: AddressSanitizer sees any access
 * past them), the patch jump and the offset maps.
 *
 * Then it is run: each executable case is copied to a fixed address in
 * executable memory, run unpatched against a reference written in C, then
 * hooked (patched with tramp_patch_jump to a handler that counts the call
 * and calls the trampoline) with the trampoline placed 64 KiB below and
 * above it and 12 GiB below and above it, through a 5-byte patch (to a
 * thunk next to the code) and a 14-byte one (straight to the handler), with
 * the rest of the patched bytes overwritten by INT3; and run again. */
#define _GNU_SOURCE /* REG_RIP */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <cmocka.h>

#include "fixtures/tramp_cases.h"
#include "hook/trampoline.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define GIB (1ull << 30)
#define TWO_GIB (1ull << 31)
#define NEAR_CODE 0x500000000000ull /* a made-up address for tests that do not run */
#define OUT_BUF 1024

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* --- building from exact-size heap copies */

struct built {
	enum tramp_status st;
	struct tramp_result res;
	uint8_t out[OUT_BUF];
};

/* Builds case id from its first avail bytes at code_addr, into out_cap
 * bytes that will run at out_addr. */
static void build_n(enum tramp_case_id id, size_t avail, uint64_t code_addr, size_t min_len,
		    size_t out_cap, uint64_t out_addr, struct built *b)
{
	const struct tramp_case *tc = &tramp_cases[id];
	uint8_t *code = malloc(avail ? avail : 1), *out = malloc(out_cap ? out_cap : 1);

	assert_non_null(code);
	assert_non_null(out);
	assert_true(avail <= tc->size && out_cap <= OUT_BUF);
	memcpy(code, tc->bytes, avail);
	memset(out, 0xA5, out_cap);
	memset(b->out, 0xA5, sizeof(b->out));
	b->st = tramp_build(code, avail, code_addr, min_len, out, out_cap, out_addr, &b->res);
	memcpy(b->out, out, out_cap);
	free(code);
	free(out);
}

static void build(enum tramp_case_id id, size_t min_len, uint64_t code_addr, uint64_t out_addr,
		  struct built *b)
{
	build_n(id, tramp_cases[id].size, code_addr, min_len, OUT_BUF, out_addr, b);
}

static void expect_ok(const struct built *b, enum tramp_case_id id)
{
	if (b->st != TRAMP_OK)
		fail_msg("%s: %s at offset %zu", tramp_cases[id].name, tramp_status_str(b->st),
			 b->res.fail_offset);
}

/* What objdump says tramp_build must copy for min_len: the instructions up
 * to the first boundary at or past it. */
static size_t objdump_cover(enum tramp_case_id id, size_t min_len, size_t *count)
{
	const struct tramp_case *tc = &tramp_cases[id];

	for (size_t i = 0; i < tc->insn_count; i++) {
		size_t end = i + 1 < tc->insn_count ? tc->insn_offsets[i + 1] : tc->code_size;

		if (end >= min_len) {
			*count = i + 1;
			return end;
		}
	}
	fail_msg("%s: fewer than %zu bytes of code", tc->name, min_len);
	return 0;
}

/* res agrees with objdump on what was copied, and stays within its bound. */
static void expect_cover(const struct built *b, enum tramp_case_id id, size_t min_len)
{
	const struct tramp_case *tc = &tramp_cases[id];
	size_t count, copied = objdump_cover(id, min_len, &count);

	assert_int_equal(b->res.copied, copied);
	assert_int_equal(b->res.count, count);
	for (size_t i = 0; i < count; i++) {
		size_t end = i + 1 < tc->insn_count ? tc->insn_offsets[i + 1] : tc->code_size;

		assert_int_equal(b->res.insns[i].orig_offset, tc->insn_offsets[i]);
		assert_int_equal(b->res.insns[i].orig_length, end - tc->insn_offsets[i]);
	}
	assert_true(b->res.length <= TRAMP_OUT_MAX(min_len));
}

/* The jump back at res.back_offset goes to code_addr + copied. */
static void expect_jump_back(const struct built *b, uint64_t code_addr, uint64_t out_addr)
{
	const uint8_t *j = b->out + b->res.back_offset;
	uint64_t target = code_addr + b->res.copied;

	if (j[0] == 0xE9) {
		assert_int_equal(b->res.length, b->res.back_offset + 5);
		assert_int_equal(out_addr + b->res.back_offset + 5 + (int64_t)(int32_t)le32(j + 1),
				 target);
		return;
	}
	assert_int_equal(b->res.length, b->res.back_offset + 14);
	assert_memory_equal(j, "\xff\x25\x00\x00\x00\x00", 6);
	assert_int_equal(le64(j + 6), target);
}

/* --- what tramp_build copies */

/* push rbp / mov rbp, rsp / sub rsp, 0x20 for a 5-byte patch: 8 bytes as
 * they are, then E9 back to byte 8. */
static void test_frame_bytes(void **state)
{
	struct built b;
	uint64_t out_addr = NEAR_CODE + 0x1000;

	(void)state;
	build(TC_FRAME, 5, NEAR_CODE, out_addr, &b);
	expect_ok(&b, TC_FRAME);
	expect_cover(&b, TC_FRAME, 5);
	assert_int_equal(b.res.copied, 8);
	assert_memory_equal(b.out, tramp_cases[TC_FRAME].bytes, 8);
	assert_int_equal(b.res.back_offset, 8);
	assert_int_equal(b.out[8], 0xE9);
	assert_int_equal((int32_t)le32(b.out + 9), (int64_t)(NEAR_CODE + 8 - (out_addr + 13)));
	assert_int_equal(b.res.length, 13);
	/* Nothing written past the trampoline. */
	assert_int_equal(b.out[13], 0xA5);
}

/* For every min_len, the instructions copied are objdump's, and the bytes
 * of those that need no relocation are the original ones. */
static void test_cover_follows_objdump(void **state)
{
	static const enum tramp_case_id ids[] = { TC_FRAME, TC_ENDBR, TC_RIPREL, TC_CC_G };

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(ids); k++) {
		for (size_t min_len = 1; min_len <= tramp_cases[ids[k]].code_size; min_len++) {
			struct built b;

			if (min_len > TRAMP_MAX_MIN_LEN)
				break;
			build(ids[k], min_len, NEAR_CODE, NEAR_CODE + 0x1000, &b);
			if (b.st == TRAMP_ERR_TOO_SMALL)
				continue; /* the function's RET comes first: test_refusals */
			expect_ok(&b, ids[k]);
			expect_cover(&b, ids[k], min_len);
			expect_jump_back(&b, NEAR_CODE, NEAR_CODE + 0x1000);
		}
	}
}

/* endbr64 + push rbp cover a 5-byte patch exactly: nothing more is taken. */
static void test_endbr_exact(void **state)
{
	struct built b;

	(void)state;
	build(TC_ENDBR, 5, NEAR_CODE, NEAR_CODE - 0x1000, &b);
	expect_ok(&b, TC_ENDBR);
	assert_int_equal(b.res.copied, 5);
	assert_int_equal(b.res.count, 2);
	assert_memory_equal(b.out, "\xf3\x0f\x1e\xfa\x55", 5);
	expect_jump_back(&b, NEAR_CODE, NEAR_CODE - 0x1000);
}

/* Each Jcc rel8 (conditions 0-15, SDM 2A Jcc) near: 0F 80+cc rel32 to the
 * same target; far: the inverted Jcc rel8 (cc ^ 1) over JMP [RIP+0]. */
static void test_jcc_forms(void **state)
{
	const struct tramp_case *tc = &tramp_cases[TC_JCC_ALL];
	uint64_t target = NEAR_CODE + tc->insn_offsets[16];
	uint64_t near = NEAR_CODE + 0x1000, far = NEAR_CODE + 12 * GIB;
	struct built b;

	(void)state;
	build(TC_JCC_ALL, 32, NEAR_CODE, near, &b);
	expect_ok(&b, TC_JCC_ALL);
	expect_cover(&b, TC_JCC_ALL, 32);
	for (unsigned cc = 0; cc < 16; cc++) {
		const uint8_t *s = b.out + 6 * cc;

		assert_int_equal(b.res.insns[cc].tramp_offset, 6 * cc);
		assert_int_equal(s[0], 0x0F);
		assert_int_equal(s[1], 0x80 + cc);
		assert_int_equal(near + 6 * cc + 6 + (int64_t)(int32_t)le32(s + 2), target);
	}
	expect_jump_back(&b, NEAR_CODE, near);

	build(TC_JCC_ALL, 32, NEAR_CODE, far, &b);
	expect_ok(&b, TC_JCC_ALL);
	for (unsigned cc = 0; cc < 16; cc++) {
		const uint8_t *s = b.out + 16 * cc;

		assert_int_equal(b.res.insns[cc].tramp_length, 16);
		assert_int_equal(s[0], 0x70 + (cc ^ 1));
		assert_int_equal(s[1], 14);
		assert_memory_equal(s + 2, "\xff\x25\x00\x00\x00\x00", 6);
		assert_int_equal(le64(s + 8), target);
	}
	expect_jump_back(&b, NEAR_CODE, far);
	assert_int_equal(b.res.length, 16 * 16 + 14);
}

/* Found by fuzz_tramp (tests/fuzz): a Jcc whose target is exactly
 * at + 6 + 2^31 from its relocated place misses rel32 by one byte, while the
 * JMP after the inverted Jcc, a byte further on, reaches it with rel32:
 * the inverted Jcc must jump over those 5 bytes, not over 14 (it landed 9
 * bytes into the next instruction). One byte nearer, the near form. */
static void test_jcc_far_edge(void **state)
{
	const struct tramp_case *tc = &tramp_cases[TC_JCC_ALL];
	uint64_t target = NEAR_CODE + tc->insn_offsets[16];
	uint64_t out = target - 6 - TWO_GIB; /* the first Jcc is at out */
	struct built b;

	(void)state;
	build(TC_JCC_ALL, 2, NEAR_CODE, out, &b);
	expect_ok(&b, TC_JCC_ALL);
	assert_int_equal(b.res.insns[0].tramp_length, 7);
	assert_int_equal(b.out[0], 0x70 + 1); /* jno: jo inverted */
	assert_int_equal(b.out[1], 5);	      /* over the E9 rel32 */
	assert_int_equal(b.out[2], 0xE9);
	assert_int_equal(out + 7 + (int64_t)(int32_t)le32(b.out + 3), target);
	assert_int_equal(b.res.back_offset, 7);
	expect_jump_back(&b, NEAR_CODE, out);

	build(TC_JCC_ALL, 2, NEAR_CODE, out + 1, &b);
	expect_ok(&b, TC_JCC_ALL);
	assert_int_equal(b.res.insns[0].tramp_length, 6);
	assert_int_equal(b.out[1], 0x80);
	assert_int_equal(out + 1 + 6 + (int64_t)(int32_t)le32(b.out + 2), target);
}

/* CALL rel32 near stays E8 to the same callee; far it becomes
 * CALL [RIP+2]; JMP +8; .quad callee, returning to the JMP +8. */
static void test_call_forms(void **state)
{
	const struct tramp_case *tc = &tramp_cases[TC_CALL];
	uint64_t callee = NEAR_CODE + tc->insn_offsets[6];
	uint64_t near = NEAR_CODE - 0x1000, far = NEAR_CODE - 12 * GIB;
	struct built b;

	(void)state;
	assert_int_equal(tc->insn_offsets[2], 4); /* objdump: the call is at byte 4 */
	build(TC_CALL, 5, NEAR_CODE, near, &b);
	expect_ok(&b, TC_CALL);
	expect_cover(&b, TC_CALL, 5);
	assert_memory_equal(b.out, tc->bytes, 4);
	assert_int_equal(b.out[4], 0xE8);
	assert_int_equal(near + 9 + (int64_t)(int32_t)le32(b.out + 5), callee);
	expect_jump_back(&b, NEAR_CODE, near);

	build(TC_CALL, 5, NEAR_CODE, far, &b);
	expect_ok(&b, TC_CALL);
	assert_memory_equal(b.out + 4, "\xff\x15\x02\x00\x00\x00\xeb\x08", 8);
	assert_int_equal(le64(b.out + 12), callee);
	assert_int_equal(b.res.insns[2].tramp_length, 16);
	assert_int_equal(b.res.back_offset, 20);
	expect_jump_back(&b, NEAR_CODE, far);
}

/* JMP rel32 and JMP rel8: E9 rel32 near, JMP [RIP+0] far. */
static void test_jmp_forms(void **state)
{
	const struct tramp_case *tc = &tramp_cases[TC_JMP];
	uint64_t target = NEAR_CODE + tc->insn_offsets[3];
	uint64_t near = NEAR_CODE + 0x100000, far = NEAR_CODE + 12 * GIB;
	struct built b;

	(void)state;
	build(TC_JMP, 5, NEAR_CODE, near, &b);
	expect_ok(&b, TC_JMP);
	expect_cover(&b, TC_JMP, 5);
	assert_int_equal(b.out[4], 0xE9);
	assert_int_equal(near + 9 + (int64_t)(int32_t)le32(b.out + 5), target);

	build(TC_JMP_LONG, 14, NEAR_CODE, far, &b);
	expect_ok(&b, TC_JMP_LONG);
	expect_cover(&b, TC_JMP_LONG, 14);
	assert_memory_equal(b.out + 12, "\xff\x25\x00\x00\x00\x00", 6);
	assert_int_equal(le64(b.out + 18), NEAR_CODE + tramp_cases[TC_JMP_LONG].insn_offsets[5]);
	expect_jump_back(&b, NEAR_CODE, far);
}

/* LOOP and JECXZ keep opcode and prefixes with rel8 +2, then a short JMP
 * over the JMP to the target (E9 near, JMP [RIP+0] far). */
static void test_loop_forms(void **state)
{
	uint64_t near = NEAR_CODE + 0x1000, far = NEAR_CODE + 12 * GIB;
	uint64_t loop_target = NEAR_CODE + tramp_cases[TC_LOOP].insn_offsets[5];
	uint64_t jecxz_target = NEAR_CODE + tramp_cases[TC_JECXZ].insn_offsets[6];
	struct built b;

	(void)state;
	build(TC_LOOP, 5, NEAR_CODE, near, &b);
	expect_ok(&b, TC_LOOP);
	expect_cover(&b, TC_LOOP, 5);
	assert_memory_equal(b.out + 3, "\xe2\x02\xeb\x05\xe9", 5);
	assert_int_equal(near + 12 + (int64_t)(int32_t)le32(b.out + 8), loop_target);

	build(TC_LOOP, 5, NEAR_CODE, far, &b);
	expect_ok(&b, TC_LOOP);
	assert_memory_equal(b.out + 3, "\xe2\x02\xeb\x0e\xff\x25\x00\x00\x00\x00", 10);
	assert_int_equal(le64(b.out + 13), loop_target);
	assert_int_equal(b.res.insns[1].tramp_length, 18);

	build(TC_JECXZ, 5, NEAR_CODE, far, &b);
	expect_ok(&b, TC_JECXZ);
	expect_cover(&b, TC_JECXZ, 5);
	assert_memory_equal(b.out + 3, "\x67\xe3\x02\xeb\x0e\xff\x25\x00\x00\x00\x00", 11);
	assert_int_equal(le64(b.out + 14), jecxz_target);
}

/* A branch back to the function's first byte is kept as a branch there. */
static void test_entry_branch_kept(void **state)
{
	uint64_t far = NEAR_CODE + 12 * GIB;
	struct built b;

	(void)state;
	build(TC_ENTRY_LOOP, 5, NEAR_CODE, far, &b);
	expect_ok(&b, TC_ENTRY_LOOP);
	expect_cover(&b, TC_ENTRY_LOOP, 5);
	/* jnz rel8 far: jz +14 over JMP [RIP+0] to code_addr. */
	assert_memory_equal(b.out + 3, "\x74\x0e\xff\x25\x00\x00\x00\x00", 8);
	assert_int_equal(le64(b.out + 11), NEAR_CODE);
}

/* A RIP-relative operand followed by an immediate gets the displacement
 * that reaches the same data, up to the exact edges of rel32. */
static void test_riprel_reach(void **state)
{
	const struct tramp_case *tc = &tramp_cases[TC_RIPREL_IMM];
	uint64_t data = NEAR_CODE + tc->code_size; /* tc_riprel_imm_data */
	uint64_t lo = data - 8 - INT32_MAX;	   /* the lowest out_addr that reaches */
	uint64_t hi = data - 8 + TWO_GIB;	   /* the highest */
	struct built b;

	(void)state;
	assert_int_equal(tc->insn_offsets[1], 8); /* imul rax, [rip+x], 0x11: 8 bytes */
	build(TC_RIPREL_IMM, 5, NEAR_CODE, lo, &b);
	expect_ok(&b, TC_RIPREL_IMM);
	assert_int_equal(le32(b.out + 3), (uint32_t)INT32_MAX);
	assert_int_equal(b.out[7], 0x11);
	assert_memory_equal(b.out, tc->bytes, 3);
	build(TC_RIPREL_IMM, 5, NEAR_CODE, hi, &b);
	expect_ok(&b, TC_RIPREL_IMM);
	assert_int_equal(le32(b.out + 3), 0x80000000u);
	build(TC_RIPREL_IMM, 5, NEAR_CODE, lo - 1, &b);
	assert_int_equal(b.st, TRAMP_ERR_OUT_OF_RANGE);
	assert_int_equal(b.res.fail_offset, 0);
	build(TC_RIPREL_IMM, 5, NEAR_CODE, hi + 1, &b);
	assert_int_equal(b.st, TRAMP_ERR_OUT_OF_RANGE);
	/* tc_riprel with a 14-byte patch: both RIP-relative instructions. */
	build(TC_RIPREL, 14, NEAR_CODE, NEAR_CODE + 0x7fff0000, &b);
	expect_ok(&b, TC_RIPREL);
	build(TC_RIPREL, 14, NEAR_CODE, NEAR_CODE - 3 * GIB, &b);
	assert_int_equal(b.st, TRAMP_ERR_OUT_OF_RANGE);
}

/* The jump back is E9 up to the edges of rel32, then the absolute form. */
static void test_jump_back_reach(void **state)
{
	/* tc_frame, 5-byte patch: 8 bytes copied, the jump back at out + 8. */
	uint64_t lo = NEAR_CODE + 8 - 13 - INT32_MAX, hi = NEAR_CODE + 8 - 13 + TWO_GIB;
	struct built b;

	(void)state;
	build(TC_FRAME, 5, NEAR_CODE, lo, &b);
	assert_int_equal(b.out[8], 0xE9);
	expect_jump_back(&b, NEAR_CODE, lo);
	build(TC_FRAME, 5, NEAR_CODE, hi, &b);
	assert_int_equal(b.out[8], 0xE9);
	expect_jump_back(&b, NEAR_CODE, hi);
	build(TC_FRAME, 5, NEAR_CODE, lo - 1, &b);
	assert_int_equal(b.out[8], 0xFF);
	expect_jump_back(&b, NEAR_CODE, lo - 1);
	build(TC_FRAME, 5, NEAR_CODE, hi + 1, &b);
	assert_int_equal(b.out[8], 0xFF);
	expect_jump_back(&b, NEAR_CODE, hi + 1);
}

/* --- refusals */

struct refusal {
	enum tramp_case_id id;
	size_t min_len;
	uint64_t out_addr;
	enum tramp_status st;
	size_t fail_offset;
};

static void test_refusals(void **state)
{
	static const struct refusal r[] = {
		/* jmp 1b at byte 10, to byte 2. */
		{ TC_JMP_BACK, 12, NEAR_CODE + 0x1000, TRAMP_ERR_BRANCH_INTO_COPY, 10 },
		/* jnz 1b at byte 8, to byte 2. */
		{ TC_JNZ_BACK, 10, NEAR_CODE + 0x1000, TRAMP_ERR_BRANCH_INTO_COPY, 8 },
		/* jz at byte 3 to byte 5, the last byte copied. */
		{ TC_EDGE, 6, NEAR_CODE + 0x1000, TRAMP_ERR_BRANCH_INTO_COPY, 3 },
		/* ret at byte 2. */
		{ TC_RET_EARLY, 5, NEAR_CODE + 0x1000, TRAMP_ERR_TOO_SMALL, 2 },
		/* jmp at byte 4 ends at 9, before a 14-byte patch ends. */
		{ TC_JMP, 14, NEAR_CODE + 0x1000, TRAMP_ERR_TOO_SMALL, 4 },
		/* jmp [rip+x] at byte 4 ends at 10. */
		{ TC_JMP_IND, 14, NEAR_CODE + 0x1000, TRAMP_ERR_TOO_SMALL, 4 },
		{ TC_CALL_PC, 5, NEAR_CODE + 0x1000, TRAMP_ERR_UNSUPPORTED, 0 },
		{ TC_XBEGIN, 5, NEAR_CODE + 0x1000, TRAMP_ERR_UNSUPPORTED, 0 },
		{ TC_BND_JMP, 5, NEAR_CODE + 0x1000, TRAMP_ERR_UNSUPPORTED, 4 },
		{ TC_DATA16_JMP, 5, NEAR_CODE + 0x1000, TRAMP_ERR_UNSUPPORTED, 4 },
		{ TC_REX_JMP, 5, NEAR_CODE + 0x1000, TRAMP_ERR_UNSUPPORTED, 4 },
		{ TC_DATA16_LOOP, 5, NEAR_CODE + 0x1000, TRAMP_ERR_UNSUPPORTED, 3 },
		{ TC_EIP_REL, 5, NEAR_CODE + 0x1000, TRAMP_ERR_UNSUPPORTED, 0 },
		/* lea rax, [rip + byte 1] at byte 1. */
		{ TC_LEA_INTO, 5, NEAR_CODE + 0x1000, TRAMP_ERR_REF_INTO_COPY, 1 },
		{ TC_BAD, 5, NEAR_CODE + 0x1000, TRAMP_ERR_DECODE, 1 },
		{ TC_RIPREL, 5, NEAR_CODE + 12 * GIB, TRAMP_ERR_OUT_OF_RANGE, 0 },
		{ TC_LEA_ENTRY, 5, NEAR_CODE - 12 * GIB, TRAMP_ERR_OUT_OF_RANGE, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(r); i++) {
		struct built b;

		build(r[i].id, r[i].min_len, NEAR_CODE, r[i].out_addr, &b);
		if (b.st != r[i].st || b.res.fail_offset != r[i].fail_offset)
			fail_msg("%s, min_len %zu: %s at %zu, expected %s at %zu",
				 tramp_cases[r[i].id].name, r[i].min_len, tramp_status_str(b.st),
				 b.res.fail_offset, tramp_status_str(r[i].st), r[i].fail_offset);
	}
}

/* The same functions with fewer bytes covered are fine: the refused
 * instruction is not copied, or its target is outside the copy. */
static void test_refusals_depend_on_cover(void **state)
{
	struct built b;

	(void)state;
	/* jz to byte 5, the first byte not copied. */
	build(TC_EDGE, 5, NEAR_CODE, NEAR_CODE + 0x1000, &b);
	expect_ok(&b, TC_EDGE);
	assert_int_equal(b.res.copied, 5);
	/* jmp 1b (byte 10) not copied; jz 2f (byte 8) goes to byte 12. */
	build(TC_JMP_BACK, 10, NEAR_CODE, NEAR_CODE + 0x1000, &b);
	expect_ok(&b, TC_JMP_BACK);
	assert_int_equal(b.res.copied, 10);
	/* tc_jmp_ind with a 5-byte patch: the indirect JMP is the last one
	 * copied, its displacement relocated. */
	build(TC_JMP_IND, 5, NEAR_CODE, NEAR_CODE + 0x1000, &b);
	expect_ok(&b, TC_JMP_IND);
	expect_cover(&b, TC_JMP_IND, 5);
	assert_memory_equal(b.out + 4, "\xff\x25", 2);
	assert_int_equal(NEAR_CODE + 0x1000 + 10 + (int64_t)(int32_t)le32(b.out + 6),
			 NEAR_CODE + tramp_cases[TC_JMP_IND].code_size);
	/* lea rax, [rip + tc_lea_entry]: the function's own address. */
	build(TC_LEA_ENTRY, 14, NEAR_CODE, NEAR_CODE + 0x1000, &b);
	expect_ok(&b, TC_LEA_ENTRY);
	assert_int_equal(NEAR_CODE + 0x1000 + 7 + (int64_t)(int32_t)le32(b.out + 3), NEAR_CODE);
}

/* code_avail ending inside the instructions to copy: TRAMP_ERR_TRUNCATED at
 * the instruction cut, never a read past it (exact heap copy). */
static void test_truncated(void **state)
{
	(void)state;
	for (size_t avail = 0; avail <= 16; avail++) {
		struct built b;

		build_n(TC_FRAME, avail, NEAR_CODE, 14, OUT_BUF, NEAR_CODE + 0x1000, &b);
		if (avail < 16) {
			size_t count, cut = objdump_cover(TC_FRAME, avail + 1, &count);

			assert_int_equal(b.st, TRAMP_ERR_TRUNCATED);
			assert_int_equal(b.res.fail_offset,
					 tramp_cases[TC_FRAME].insn_offsets[count - 1]);
			assert_true(cut > avail);
		} else {
			expect_ok(&b, TC_FRAME);
			assert_int_equal(b.res.copied, 16);
		}
	}
}

/* Every out_cap short of the trampoline's length: TRAMP_ERR_TOO_SMALL and
 * no write past it (exact heap buffer); at its length: the same bytes. */
static void test_out_cap(void **state)
{
	static const enum tramp_case_id ids[] = { TC_FRAME, TC_CALL,	TC_JZ,	    TC_LOOP,
						  TC_JECXZ, TC_JCC_ALL, TC_JMP_LONG };
	static const uint64_t outs[] = { NEAR_CODE + 0x1000, NEAR_CODE + 12 * GIB };

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(ids); k++) {
		for (size_t o = 0; o < ARRAY_LEN(outs); o++) {
			size_t min_len = ids[k] == TC_JCC_ALL ? 32 : 14;
			struct built full, b;

			build(ids[k], min_len, NEAR_CODE, outs[o], &full);
			expect_ok(&full, ids[k]);
			for (size_t cap = 0; cap < full.res.length; cap++) {
				build_n(ids[k], tramp_cases[ids[k]].size, NEAR_CODE, min_len, cap,
					outs[o], &b);
				assert_int_equal(b.st, TRAMP_ERR_TOO_SMALL);
			}
			build_n(ids[k], tramp_cases[ids[k]].size, NEAR_CODE, min_len,
				full.res.length, outs[o], &b);
			expect_ok(&b, ids[k]);
			assert_memory_equal(b.out, full.out, full.res.length);
		}
	}
}

static void test_bad_args(void **state)
{
	uint8_t code[16] = { 0x90 }, out[64];
	struct tramp_result res;

	(void)state;
	assert_int_equal(tramp_build(code, 16, 0, 5, out, 64, 0, NULL), TRAMP_ERR_BAD_ARG);
	assert_int_equal(tramp_build(NULL, 16, 0, 5, out, 64, 0, &res), TRAMP_ERR_BAD_ARG);
	assert_int_equal(tramp_build(code, 16, 0, 5, NULL, 64, 0, &res), TRAMP_ERR_BAD_ARG);
	assert_int_equal(tramp_build(code, 16, 0, 0, out, 64, 0, &res), TRAMP_ERR_BAD_ARG);
	assert_int_equal(tramp_build(code, 16, 0, TRAMP_MAX_MIN_LEN + 1, out, 64, 0, &res),
			 TRAMP_ERR_BAD_ARG);
}

/* --- the function sweep, the maps, the patch */

static void test_check_function(void **state)
{
	const struct tramp_case *back = &tramp_cases[TC_JMP_BACK];
	const struct tramp_case *ref = &tramp_cases[TC_BODY_REF];
	size_t fail = 99;

	(void)state;
	/* 5 bytes patched: jmp 1b at byte 10 goes to byte 2. */
	assert_int_equal(tramp_check_function(back->bytes, back->code_size, NEAR_CODE, 5, &fail),
			 TRAMP_ERR_BRANCH_INTO_COPY);
	assert_int_equal(fail, 10);
	/* 2 bytes patched: byte 2 is outside. */
	assert_int_equal(tramp_check_function(back->bytes, back->code_size, NEAR_CODE, 2, &fail),
			 TRAMP_OK);
	assert_int_equal(tramp_check_function(ref->bytes, ref->code_size, NEAR_CODE, 5, &fail),
			 TRAMP_ERR_REF_INTO_COPY);
	assert_int_equal(fail, 5);
	/* Nothing to find in the other cases, patched for 5 bytes. */
	for (int id = 0; id < TC_COUNT; id++) {
		const struct tramp_case *tc = &tramp_cases[id];
		size_t count, copied;
		enum tramp_status st;

		if (id == TC_JMP_BACK || id == TC_JNZ_BACK || id == TC_BODY_REF ||
		    tc->code_size < 5)
			continue;
		copied = objdump_cover((enum tramp_case_id)id, 5, &count);
		st = tramp_check_function(tc->bytes, tc->code_size, NEAR_CODE, copied, &fail);
		if (st != TRAMP_OK)
			fail_msg("%s: %s at %zu", tc->name, tramp_status_str(st), fail);
	}
	/* Cut inside an instruction; bytes that are no instruction. */
	assert_int_equal(tramp_check_function(back->bytes, 9, NEAR_CODE, 5, &fail),
			 TRAMP_ERR_TRUNCATED);
	assert_int_equal(fail, 8);
	assert_int_equal(tramp_check_function(tramp_cases[TC_BAD].bytes, 3, NEAR_CODE, 1, &fail),
			 TRAMP_ERR_DECODE);
	assert_int_equal(fail, 1);
	assert_int_equal(tramp_check_function(back->bytes, 4, NEAR_CODE, 5, &fail),
			 TRAMP_ERR_BAD_ARG);
}

/* Instruction starts map both ways; the jump back maps to copied; offsets
 * inside an instruction or inside a rewritten sequence do not map. */
static void test_offset_maps(void **state)
{
	struct built b;
	size_t t, o;

	(void)state;
	/* tc_jz, 14-byte patch, far: test(3) jz->16 lea(4) lea(4) ret(1). */
	build(TC_JZ, 14, NEAR_CODE, NEAR_CODE + 12 * GIB, &b);
	expect_ok(&b, TC_JZ);
	expect_cover(&b, TC_JZ, 14);
	{
		static const size_t orig[] = { 0, 3, 5, 9, 13, 14 };
		static const size_t tramp[] = { 0, 3, 19, 23, 27, 28 };

		for (size_t i = 0; i < ARRAY_LEN(orig); i++) {
			assert_true(tramp_orig_to_tramp(&b.res, orig[i], &t));
			assert_int_equal(t, tramp[i]);
			assert_true(tramp_tramp_to_orig(&b.res, tramp[i], &o));
			assert_int_equal(o, orig[i]);
		}
	}
	assert_false(tramp_orig_to_tramp(&b.res, 1, &t));
	assert_false(tramp_orig_to_tramp(&b.res, 4, &t));
	assert_false(tramp_orig_to_tramp(&b.res, 15, &t));
	assert_false(tramp_tramp_to_orig(&b.res, 5, &o)); /* inside the jz sequence */
	assert_false(tramp_tramp_to_orig(&b.res, 29, &o));
	/* A failed build maps nothing. */
	build(TC_RET_EARLY, 5, NEAR_CODE, NEAR_CODE + 0x1000, &b);
	assert_false(tramp_orig_to_tramp(&b.res, 0, &t));
	assert_false(tramp_tramp_to_orig(&b.res, 0, &o));
}

/* E9 rel32 while it reaches (SDM 2A JMP), to the exact edges; then
 * FF 25 00000000 and the address; 0 and nothing written when cap is short. */
static void test_patch_jump(void **state)
{
	const uint64_t at = 0x7ff000001000ull;
	const uint64_t reach_hi = at + 5 + INT32_MAX, reach_lo = at + 5 - TWO_GIB;
	uint8_t buf[16];

	(void)state;
	assert_int_equal(tramp_patch_length(at, reach_hi), 5);
	assert_int_equal(tramp_patch_length(at, reach_lo), 5);
	assert_int_equal(tramp_patch_length(at, reach_hi + 1), 14);
	assert_int_equal(tramp_patch_length(at, reach_lo - 1), 14);

	memset(buf, 0xA5, sizeof(buf));
	assert_int_equal(tramp_patch_jump(buf, 5, at, reach_hi), 5);
	assert_memory_equal(buf, "\xe9\xff\xff\xff\x7f\xa5", 6);
	assert_int_equal(tramp_patch_jump(buf, 5, at, reach_lo), 5);
	assert_memory_equal(buf, "\xe9\x00\x00\x00\x80\xa5", 6);
	assert_int_equal(tramp_patch_jump(buf, 14, at, reach_lo - 1), 14);
	assert_memory_equal(buf, "\xff\x25\x00\x00\x00\x00", 6);
	assert_int_equal(le64(buf + 6), reach_lo - 1);
	assert_int_equal(buf[14], 0xA5);

	memset(buf, 0xA5, sizeof(buf));
	assert_int_equal(tramp_patch_jump(buf, 4, at, reach_hi), 0);
	assert_int_equal(tramp_patch_jump(buf, 13, at, reach_hi + 1), 0);
	assert_int_equal(tramp_patch_jump(NULL, 16, at, reach_hi), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xA5);
	/* Modulo 2^64, as the processor adds: from the top to the bottom. */
	assert_int_equal(tramp_patch_length(0xfffffffffffffff0ull, 0x10), 5);
}

static void test_status_strings(void **state)
{
	(void)state;
	for (int s = TRAMP_OK; s <= TRAMP_ERR_BAD_ARG; s++) {
		assert_string_not_equal(tramp_status_str((enum tramp_status)s), "unknown");
		for (int u = TRAMP_OK; u < s; u++)
			assert_string_not_equal(tramp_status_str((enum tramp_status)s),
						tramp_status_str((enum tramp_status)u));
	}
	assert_string_equal(tramp_status_str((enum tramp_status)99), "unknown");
}

/* --- running hooked code */

/* Fixed places (outside AddressSanitizer's shadow): the code with a thunk
 * 32 KiB after it, trampolines 64 KiB below and above the code, and 12 GiB
 * below and above. */
#define AREA 0x10000ull
#define FAR (12 * GIB)
static const uint64_t exec_bases[] = { 0x2a0000000000ull, 0x3b0000000000ull, 0x1c0000000000ull };

enum placement { NEAR_BELOW, NEAR_ABOVE, FAR_BELOW, FAR_ABOVE, PLACEMENTS };
static const char *const placement_names[] = { "64 KiB below", "64 KiB above", "12 GiB below",
					       "12 GiB above" };

struct exec_mem {
	bool mapped;
	uint64_t base; /* near mapping: [base, base + 3 * AREA) */
	uint64_t code, thunk, tramp[PLACEMENTS];
};

static struct exec_mem mem;

static bool map_at(uint64_t addr, size_t len)
{
	void *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return false;
	if ((uint64_t)p != addr) {
		/* A kernel without MAP_FIXED_NOREPLACE took it as a hint. */
		munmap(p, len);
		errno = EEXIST;
		return false;
	}
	return true;
}

static bool map_layout(uint64_t base)
{
	if (!map_at(base, 3 * AREA))
		return false;
	if (!map_at(base + AREA - FAR, AREA)) {
		munmap((void *)base, 3 * AREA);
		return false;
	}
	if (!map_at(base + AREA + FAR, AREA)) {
		munmap((void *)base, 3 * AREA);
		munmap((void *)(base + AREA - FAR), AREA);
		return false;
	}
	mem = (struct exec_mem){
		.mapped = true, .base = base, .code = base + AREA, .thunk = base + AREA + AREA / 2
	};
	mem.tramp[NEAR_BELOW] = base;
	mem.tramp[NEAR_ABOVE] = base + 2 * AREA;
	mem.tramp[FAR_BELOW] = base + AREA - FAR;
	mem.tramp[FAR_ABOVE] = base + AREA + FAR;
	return true;
}

/* Maps once; fails the test, naming the addresses, if no layout is free. */
static void exec_mem_get(void)
{
	char tried[256] = "";
	int err = 0;

	if (mem.mapped)
		return;
	for (size_t i = 0; i < ARRAY_LEN(exec_bases); i++) {
		if (map_layout(exec_bases[i]))
			return;
		err = errno;
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), " %#llx",
			 (unsigned long long)exec_bases[i]);
	}
	fail_msg("cannot map code and trampolines at any base of:%s (last error: %s)", tried,
		 strerror(err));
}

static void exec_mem_protect(int prot)
{
	assert_int_equal(mprotect((void *)mem.base, 3 * AREA, prot), 0);
	assert_int_equal(mprotect((void *)mem.tramp[FAR_BELOW], AREA, prot), 0);
	assert_int_equal(mprotect((void *)mem.tramp[FAR_ABOVE], AREA, prot), 0);
}

typedef uint64_t (*fn2_t)(uint64_t, uint64_t);

static fn2_t as_fn(uint64_t addr)
{
	return (fn2_t)(uintptr_t)addr;
}

/* The hook: counts, then calls the original through the trampoline. */
static fn2_t hook_tramp;
static unsigned hook_hits;

static uint64_t hook_handler(uint64_t x, uint64_t y)
{
	hook_hits++;
	return hook_tramp(x, y);
}

struct exec_case;
typedef uint64_t (*ref_fn)(const struct exec_case *ec, uint64_t x, uint64_t y, uint64_t self);

struct exec_case {
	enum tramp_case_id id;
	ref_fn ref;		       /* the result in C */
	int cc;			       /* for cc_ref */
	enum tramp_status far_status;  /* with the trampoline 12 GiB away */
	enum tramp_status long_status; /* with the 14-byte patch */
	bool hits_x;		       /* the hook runs x times per call (entry_loop) */
};

/* Condition cc of `cmp x, y` (SDM 2A Jcc; SDM 1 Appendix B, EFLAGS). */
static bool cc_holds(int cc, uint64_t x, uint64_t y)
{
	uint64_t r = x - y;
	bool cf = x < y, zf = r == 0, sf = r >> 63, of = ((x ^ y) & (x ^ r)) >> 63;
	bool pf = !(__builtin_popcount((unsigned)(r & 0xff)) & 1), v;

	switch (cc >> 1) {
	case 0:
		v = of;
		break;
	case 1:
		v = cf;
		break;
	case 2:
		v = zf;
		break;
	case 3:
		v = cf || zf;
		break;
	case 4:
		v = sf;
		break;
	case 5:
		v = pf;
		break;
	case 6:
		v = sf != of;
		break;
	default:
		v = zf || sf != of;
		break;
	}
	return (cc & 1) ? !v : v;
}

static uint64_t ref_cc(const struct exec_case *ec, uint64_t x, uint64_t y, uint64_t self)
{
	(void)self;
	return cc_holds(ec->cc, x, y) ? 1 : 2;
}

#define REF(name, expr)                                                                \
	static uint64_t ref_##name(const struct exec_case *ec, uint64_t x, uint64_t y, \
				   uint64_t self)                                      \
	{                                                                              \
		(void)ec;                                                              \
		(void)x;                                                               \
		(void)y;                                                               \
		(void)self;                                                            \
		return (expr);                                                         \
	}

static const uint64_t riprel_table[4] = { 10, 20, 30, 40 };

REF(frame, x *x + 1)
REF(endbr, x + 7)
REF(riprel, 1000 + riprel_table[x & 3])
REF(riprel_imm, 0x123 * 0x11 + x + y)
REF(call, x + y + 100)
REF(jz, x ? 3 * (x + 1) : 77)
REF(jnz32, x ? 5 * x : 6)
REF(jmp, 2 * x + 5)
REF(loop, x - 1 != 0 ? x - 1 + 100 : 3)
REF(loope, x - 1 != 0 && y == 7 ? x - 1 + 200 : 1)
REF(loopne, x - 1 != 0 && y != 7 ? x - 1 + 200 : 1)
REF(jrcxz, x == 0 ? 55 : 2 * x + y + 1)
REF(jecxz, (uint32_t)x == 0 ? 55 : 2 * x + y + 1)
REF(entry_loop, 84)
REF(lea_entry, self + x + y)

/* Values that give every flag both ways under cmp, and the edges of
 * LOOP's and JrCXZ's counters. */
static const uint64_t exec_values[] = {
	0,
	1,
	2,
	7,
	0x80,
	0xffffffffull,
	1ull << 32,
	0x7fffffffffffffffull,
	0x8000000000000000ull,
	0xffffffffffffffffull,
};
static const uint64_t entry_loop_values[] = { 1, 2, 3, 10, 100 };

/* A fault or an INT3 in the code under test (a patched byte run, a bad
 * branch, the INT3 filling unused memory) comes back here as a failure of
 * the test, with where it happened, instead of ending the run. */
static sigjmp_buf fault_jmp;
static volatile uint64_t fault_rip;
static const int fault_signals[] = { SIGTRAP, SIGSEGV, SIGILL, SIGBUS, SIGFPE };

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	fault_rip = (uint64_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
	siglongjmp(fault_jmp, sig);
}

/* Calls the function at mem.code; *sig is 0 or the signal it raised. */
static uint64_t call_guarded(uint64_t x, uint64_t y, int *sig)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
	struct sigaction old[ARRAY_LEN(fault_signals)];
	volatile uint64_t got = 0;
	int caught;

	for (size_t i = 0; i < ARRAY_LEN(fault_signals); i++)
		assert_int_equal(sigaction(fault_signals[i], &sa, &old[i]), 0);
	caught = sigsetjmp(fault_jmp, 1);
	if (!caught)
		got = as_fn(mem.code)(x, y);
	for (size_t i = 0; i < ARRAY_LEN(fault_signals); i++)
		sigaction(fault_signals[i], &old[i], NULL);
	*sig = caught;
	return got;
}

/* Each input against the C reference, the hook's count as expected. */
static void exec_check(const struct exec_case *ec, const char *how, bool hooked)
{
	const struct tramp_case *tc = &tramp_cases[ec->id];
	bool small = ec->hits_x;
	size_t nx = small ? ARRAY_LEN(entry_loop_values) : ARRAY_LEN(exec_values);

	for (size_t i = 0; i < nx; i++) {
		for (size_t j = 0; j < ARRAY_LEN(exec_values); j++) {
			uint64_t x = small ? entry_loop_values[i] : exec_values[i],
				 y = exec_values[j];
			uint64_t want = ec->ref(ec, x, y, mem.code), got;
			unsigned hits = hooked ? (ec->hits_x ? (unsigned)x : 1) : 0;
			int sig;

			hook_hits = 0;
			got = call_guarded(x, y, &sig);
			if (sig)
				fail_msg("%s %s: f(%#llx, %#llx) raised signal %d (%s) at %#llx; "
					 "code at %#llx",
					 tc->name, how, (unsigned long long)x,
					 (unsigned long long)y, sig, strsignal(sig),
					 (unsigned long long)fault_rip,
					 (unsigned long long)mem.code);
			if (got != want || hook_hits != hits)
				fail_msg("%s %s: f(%#llx, %#llx) = %#llx, hook ran %u times; "
					 "expected %#llx, %u",
					 tc->name, how, (unsigned long long)x,
					 (unsigned long long)y, (unsigned long long)got, hook_hits,
					 (unsigned long long)want, hits);
		}
	}
}

/* Copies the case to mem.code and runs it unpatched. */
static void exec_fresh(const struct exec_case *ec)
{
	const struct tramp_case *tc = &tramp_cases[ec->id];

	exec_mem_protect(PROT_READ | PROT_WRITE);
	memset((void *)mem.base, 0xCC, 3 * AREA);
	memset((void *)mem.tramp[FAR_BELOW], 0xCC, AREA);
	memset((void *)mem.tramp[FAR_ABOVE], 0xCC, AREA);
	memcpy((void *)mem.code, tc->bytes, tc->size);
	exec_mem_protect(PROT_READ | PROT_EXEC);
	exec_check(ec, "unpatched", false);
}

/* Hooks the case with the trampoline at placement pl, through a 5-byte
 * patch to the thunk or a 14-byte one to the handler, and runs it. */
static void exec_hooked(const struct exec_case *ec, enum placement pl, bool direct)
{
	const struct tramp_case *tc = &tramp_cases[ec->id];
	uint64_t handler = (uint64_t)(uintptr_t)hook_handler, tramp = mem.tramp[pl];
	uint64_t dest = direct ? handler : mem.thunk;
	size_t min_len = tramp_patch_length(mem.code, dest);
	enum tramp_status want = direct ? ec->long_status : TRAMP_OK;
	struct tramp_result res;
	enum tramp_status st;
	char how[96];

	snprintf(how, sizeof(how), "hooked, %zu-byte patch, trampoline %s", min_len,
		 placement_names[pl]);
	exec_fresh(ec);
	exec_mem_protect(PROT_READ | PROT_WRITE);
	/* The thunk: from next to the code to the handler, far away. */
	assert_int_equal(tramp_patch_jump((uint8_t *)mem.thunk, 14, mem.thunk, handler), 14);
	assert_int_equal(min_len, direct ? 14 : 5);
	if (want == TRAMP_OK && (pl == FAR_BELOW || pl == FAR_ABOVE))
		want = ec->far_status;
	st = tramp_build((const uint8_t *)mem.code, tc->size, mem.code, min_len, (uint8_t *)tramp,
			 AREA, tramp, &res);
	if (st != want)
		fail_msg("%s %s: %s at %zu, expected %s", tc->name, how, tramp_status_str(st),
			 res.fail_offset, tramp_status_str(want));
	if (st != TRAMP_OK)
		return;
	assert_true(res.length <= TRAMP_OUT_MAX(min_len));
	assert_int_equal(tramp_patch_jump((uint8_t *)mem.code, res.copied, mem.code, dest),
			 min_len);
	/* The rest of the replaced instructions must never run again. */
	memset((uint8_t *)mem.code + min_len, 0xCC, res.copied - min_len);
	exec_mem_protect(PROT_READ | PROT_EXEC);
	hook_tramp = as_fn(tramp);
	exec_check(ec, how, true);
}

static void test_exec(void **state)
{
	const struct exec_case *ec = *state;

	exec_mem_get();
	for (int pl = 0; pl < PLACEMENTS; pl++) {
		exec_hooked(ec, (enum placement)pl, false);
		exec_hooked(ec, (enum placement)pl, true);
	}
}

#define EXEC_CASE(name, ...) \
	static const struct exec_case exec_##name = { .id = TC_##name, __VA_ARGS__ }
#define CC_CASE(name, n) EXEC_CASE(name, .ref = ref_cc, .cc = n)

EXEC_CASE(FRAME, .ref = ref_frame);
EXEC_CASE(ENDBR, .ref = ref_endbr);
EXEC_CASE(RIPREL, .ref = ref_riprel, .far_status = TRAMP_ERR_OUT_OF_RANGE);
EXEC_CASE(RIPREL_IMM, .ref = ref_riprel_imm, .far_status = TRAMP_ERR_OUT_OF_RANGE);
EXEC_CASE(CALL, .ref = ref_call);
EXEC_CASE(JZ, .ref = ref_jz);
EXEC_CASE(JNZ32, .ref = ref_jnz32);
EXEC_CASE(JMP, .ref = ref_jmp, .long_status = TRAMP_ERR_TOO_SMALL);
EXEC_CASE(JMP_LONG, .ref = ref_jmp);
EXEC_CASE(LOOP, .ref = ref_loop);
EXEC_CASE(LOOPE, .ref = ref_loope);
EXEC_CASE(LOOPNE, .ref = ref_loopne);
EXEC_CASE(JRCXZ, .ref = ref_jrcxz);
EXEC_CASE(JECXZ, .ref = ref_jecxz);
EXEC_CASE(ENTRY_LOOP, .ref = ref_entry_loop, .hits_x = true);
EXEC_CASE(LEA_ENTRY, .ref = ref_lea_entry, .far_status = TRAMP_ERR_OUT_OF_RANGE);
CC_CASE(CC_O, 0);
CC_CASE(CC_NO, 1);
CC_CASE(CC_B, 2);
CC_CASE(CC_AE, 3);
CC_CASE(CC_E, 4);
CC_CASE(CC_NE, 5);
CC_CASE(CC_BE, 6);
CC_CASE(CC_A, 7);
CC_CASE(CC_S, 8);
CC_CASE(CC_NS, 9);
CC_CASE(CC_P, 10);
CC_CASE(CC_NP, 11);
CC_CASE(CC_L, 12);
CC_CASE(CC_GE, 13);
CC_CASE(CC_LE, 14);
CC_CASE(CC_G, 15);

#define EXEC_TEST(name)                                                    \
	{                                                                  \
		"exec_" #name, test_exec, NULL, NULL, (void *)&exec_##name \
	}

static int teardown_exec_mem(void **state)
{
	(void)state;
	if (mem.mapped) {
		munmap((void *)mem.base, 3 * AREA);
		munmap((void *)mem.tramp[FAR_BELOW], AREA);
		munmap((void *)mem.tramp[FAR_ABOVE], AREA);
		mem.mapped = false;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_bytes),
		cmocka_unit_test(test_cover_follows_objdump),
		cmocka_unit_test(test_endbr_exact),
		cmocka_unit_test(test_jcc_forms),
		cmocka_unit_test(test_jcc_far_edge),
		cmocka_unit_test(test_call_forms),
		cmocka_unit_test(test_jmp_forms),
		cmocka_unit_test(test_loop_forms),
		cmocka_unit_test(test_entry_branch_kept),
		cmocka_unit_test(test_riprel_reach),
		cmocka_unit_test(test_jump_back_reach),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_refusals_depend_on_cover),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_out_cap),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_check_function),
		cmocka_unit_test(test_offset_maps),
		cmocka_unit_test(test_patch_jump),
		cmocka_unit_test(test_status_strings),
		EXEC_TEST(FRAME),
		EXEC_TEST(ENDBR),
		EXEC_TEST(RIPREL),
		EXEC_TEST(RIPREL_IMM),
		EXEC_TEST(CALL),
		EXEC_TEST(JZ),
		EXEC_TEST(JNZ32),
		EXEC_TEST(JMP),
		EXEC_TEST(JMP_LONG),
		EXEC_TEST(LOOP),
		EXEC_TEST(LOOPE),
		EXEC_TEST(LOOPNE),
		EXEC_TEST(JRCXZ),
		EXEC_TEST(JECXZ),
		EXEC_TEST(ENTRY_LOOP),
		EXEC_TEST(LEA_ENTRY),
		EXEC_TEST(CC_O),
		EXEC_TEST(CC_NO),
		EXEC_TEST(CC_B),
		EXEC_TEST(CC_AE),
		EXEC_TEST(CC_E),
		EXEC_TEST(CC_NE),
		EXEC_TEST(CC_BE),
		EXEC_TEST(CC_A),
		EXEC_TEST(CC_S),
		EXEC_TEST(CC_NS),
		EXEC_TEST(CC_P),
		EXEC_TEST(CC_NP),
		EXEC_TEST(CC_L),
		EXEC_TEST(CC_GE),
		EXEC_TEST(CC_LE),
		EXEC_TEST(CC_G),
	};

	return cmocka_run_group_tests(tests, NULL, teardown_exec_mem);
}
