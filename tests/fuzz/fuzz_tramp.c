/* libFuzzer harness: the inline-hook trampoline builder
 * (src/hook/trampoline.c) on fuzzed code, patch sizes, placements and
 * buffer sizes.
 *
 * Input: min_len, a placement (the trampoline near the code, at either
 * edge of rel32's reach from it, or anywhere), the code's address, the
 * output capacity, the code size, then the code. Code and output are
 * exact-size heap buffers (ASan sees any access past them). Checked:
 *  - bad arguments are refused; the result does not depend on out_cap
 *    but for running out of it, and TRAMP_OUT_MAX(min_len) always suffices;
 *  - on an error, fail_offset is where the instructions say: the start of
 *    the instruction that cannot be decoded, moved or reached;
 *  - on success, what the result says matches the bytes: the copied
 *    instructions are whole, contiguous and cover min_len; each relocated
 *    form is decoded and followed through every path (conditional branches
 *    both ways, JMP [RIP+0] and CALL [RIP+2] through their 8-byte slots),
 *    and must leave to the same places under the same conditions as the
 *    original instruction, falling through to the next relocated form
 *    where the original fell through to the next instruction; bytes not
 *    relocated are copied exactly, RIP-relative operands reach the same
 *    address; the jump back reaches code_addr + copied; every byte of the
 *    trampoline is either run or read as a jump slot, nothing past its
 *    length is written;
 *  - the offset maps, tramp_check_function and the patch jump agree. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "hook/insn.h"
#include "hook/trampoline.h"

#define CANARY 0xA5
#define BIG_CAP 4096
#define MAX_EXITS 8
#define MAX_STEPS 8
#define COND_ALWAYS (-1)

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int64_t le_signed(const uint8_t *p, unsigned n)
{
	uint64_t v = le(p, n);
	unsigned shift = 64 - 8 * n;

	return (int64_t)(v << shift) >> shift;
}

/* Where control leaves a piece of code: to target, or calling target and
 * coming back, under a condition: COND_ALWAYS, a Jcc condition code cc
 * (0-15; cc ^ 1 is its negation, SDM 2A Jcc), or 16 + 2 * (op - E0) for
 * LOOPcc/JrCXZ op taken, one more for not taken. */
enum exit_kind { EXIT_JUMP, EXIT_CALL };

struct exit_ {
	int kind;
	int cond;
	uint64_t target;
};

struct exits {
	struct exit_ e[MAX_EXITS];
	unsigned n;
};

static void add_exit(struct exits *x, int kind, int cond, uint64_t target)
{
	FUZZ_CHECK(x->n < MAX_EXITS, "more than %d ways out", MAX_EXITS);
	x->e[x->n++] = (struct exit_){ kind, cond, target };
}

static int cmp_exit(const void *a, const void *b)
{
	const struct exit_ *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind - y->kind;
	if (x->cond != y->cond)
		return x->cond - y->cond;
	return x->target < y->target ? -1 : x->target > y->target;
}

static bool same_exits(struct exits *a, struct exits *b)
{
	qsort(a->e, a->n, sizeof(a->e[0]), cmp_exit);
	qsort(b->e, b->n, sizeof(b->e[0]), cmp_exit);
	return a->n == b->n && !memcmp(a->e, b->e, a->n * sizeof(a->e[0]));
}

static void print_exits(const char *what, const struct exits *x)
{
	fprintf(stderr, "%s:", what);
	for (unsigned i = 0; i < x->n; i++)
		fprintf(stderr, " %s %#llx if %d;", x->e[i].kind == EXIT_CALL ? "call" : "jump",
			(unsigned long long)x->e[i].target, x->e[i].cond);
	fprintf(stderr, "\n");
}

static int loop_cond(uint8_t op)
{
	return 16 + 2 * (op - 0xE0);
}

/* One relocated sequence, [start, end) at address base, followed. */
struct seq {
	const uint8_t *bytes;
	uint64_t base;
	size_t len;
	const uint8_t *orig; /* the original instruction: LOOPcc keeps its prefixes */
	const struct insn *orig_in;
	uint8_t use[64]; /* 1: run as code, 2: read as a jump slot */
	struct exits out;
};

static void follow(struct seq *s, size_t pos, int cond, unsigned steps);

/* Control goes to target under cond: inside the sequence, follow it. */
static void go(struct seq *s, uint64_t target, int cond, unsigned steps)
{
	/* Addresses are modulo 2^64, as tramp_build computes them. */
	if (target - s->base < s->len)
		follow(s, (size_t)(target - s->base), cond, steps + 1);
	else
		add_exit(&s->out, EXIT_JUMP, cond, target);
}

static int branch_cond(int cond, int c)
{
	FUZZ_CHECK(cond == COND_ALWAYS, "a condition inside a conditional path");
	return c;
}

static void mark(struct seq *s, size_t from, size_t n, uint8_t how)
{
	FUZZ_CHECK(from + n <= s->len && s->len <= sizeof(s->use), "mark past the sequence");
	for (size_t i = from; i < from + n; i++) {
		FUZZ_CHECK(!s->use[i] || s->use[i] == how, "byte %zu both run and read", i);
		s->use[i] = how;
	}
}

/* An indirect JMP/CALL through [RIP + disp32]: the 8-byte slot must lie in
 * the sequence. */
static uint64_t slot_target(struct seq *s, size_t next, const uint8_t *disp)
{
	int64_t slot = (int64_t)next + le_signed(disp, 4);

	FUZZ_CHECK(slot >= 0 && (uint64_t)slot + 8 <= s->len, "jump slot at %lld outside",
		   (long long)slot);
	mark(s, (size_t)slot, 8, 2);
	return le(s->bytes + slot, 8);
}

static void follow(struct seq *s, size_t pos, int cond, unsigned steps)
{
	struct insn in;

	FUZZ_CHECK(steps < MAX_STEPS, "a path of more than %d instructions", MAX_STEPS);
	if (pos == s->len) {
		add_exit(&s->out, EXIT_JUMP, cond, s->base + s->len);
		return;
	}
	enum insn_status st = insn_decode(s->bytes + pos, s->len - pos, &in);
	FUZZ_CHECK(st == INSN_OK, "relocated code at +%zu: %s", pos, insn_status_str(st));
	mark(s, pos, in.length, 1);
	size_t next = pos + in.length;
	const uint8_t *p = s->bytes + pos;
	if (in.rel_branch) {
		uint64_t t = s->base + next + (uint64_t)le_signed(p + in.rel_offset, in.rel_size);
		uint8_t op = in.opcode;
		if (in.map == INSN_MAP_ONE && (op == 0xEB || op == 0xE9)) {
			go(s, t, cond, steps);
		} else if ((in.map == INSN_MAP_ONE && (op & 0xF0) == 0x70) ||
			   (in.map == INSN_MAP_0F && (op & 0xF0) == 0x80)) {
			go(s, t, branch_cond(cond, op & 15), steps);
			go(s, s->base + next, branch_cond(cond, (op & 15) ^ 1), steps);
		} else if (in.map == INSN_MAP_ONE && op == 0xE8) {
			add_exit(&s->out, EXIT_CALL, cond, t);
			go(s, s->base + next, cond, steps);
		} else if (in.map == INSN_MAP_ONE && op >= 0xE0 && op <= 0xE3) {
			FUZZ_CHECK(in.opcode_offset == s->orig_in->opcode_offset &&
					   !memcmp(p, s->orig, in.opcode_offset),
				   "LOOPcc/JrCXZ without its original prefixes");
			go(s, t, branch_cond(cond, loop_cond(op)), steps);
			go(s, s->base + next, branch_cond(cond, loop_cond(op) ^ 1), steps);
		} else {
			FUZZ_CHECK(0, "unexpected branch %02x in relocated code", op);
		}
		return;
	}
	/* FF /4 and FF /2 with mod 00 rm 101: JMP/CALL [RIP + disp32]. */
	FUZZ_CHECK(in.map == INSN_MAP_ONE && in.opcode == 0xFF &&
			   (in.modrm == 0x25 || in.modrm == 0x15) && !in.prefix_len && !in.rex,
		   "unexpected instruction %02x in a relocated branch", in.opcode);
	uint64_t t = slot_target(s, next, p + in.disp_offset);
	if (in.modrm == 0x25) {
		go(s, t, cond, steps);
	} else {
		add_exit(&s->out, EXIT_CALL, cond, t);
		go(s, s->base + next, cond, steps);
	}
}

/* Where the original instruction at addr leaves to, with "the next
 * instruction" standing for fall, the end of its relocated form. */
static void orig_exits(const struct insn *in, const uint8_t *p, uint64_t addr, uint64_t fall,
		       struct exits *x)
{
	uint64_t t = addr + in->length + (uint64_t)le_signed(p + in->rel_offset, in->rel_size);
	uint8_t op = in->opcode;

	if (in->map == INSN_MAP_0F || (op & 0xF0) == 0x70) { /* Jcc */
		add_exit(x, EXIT_JUMP, op & 15, t);
		add_exit(x, EXIT_JUMP, (op & 15) ^ 1, fall);
	} else if (op == 0xE8) {
		add_exit(x, EXIT_CALL, COND_ALWAYS, t);
		add_exit(x, EXIT_JUMP, COND_ALWAYS, fall);
	} else if (op >= 0xE0 && op <= 0xE3) {
		add_exit(x, EXIT_JUMP, loop_cond(op), t);
		add_exit(x, EXIT_JUMP, loop_cond(op) ^ 1, fall);
	} else {
		FUZZ_CHECK(op == 0xE9 || op == 0xEB, "branch %02x was relocated", op);
		add_exit(x, EXIT_JUMP, COND_ALWAYS, t);
	}
}

struct build {
	const uint8_t *code;
	size_t code_avail;
	uint64_t code_addr, out_addr;
	size_t min_len, out_cap;
};

/* Builds into an exact-size buffer of cap bytes, filled with CANARY first;
 * out receives a copy of it. */
static enum tramp_status build_into(const struct build *b, size_t cap, uint8_t *out,
				    struct tramp_result *res)
{
	uint8_t *code = fuzz_copy(b->code, b->code_avail);
	uint8_t *buf = malloc(cap ? cap : 1);

	FUZZ_CHECK(buf != NULL, "out of memory");
	memset(buf, CANARY, cap);
	enum tramp_status st = tramp_build(code, b->code_avail, b->code_addr, b->min_len, buf, cap,
					   b->out_addr, res);
	memcpy(out, buf, cap);
	free(buf);
	free(code);
	return st;
}

/* The instructions tramp_build must copy: whole ones from offset 0 until
 * min_len is covered (or the first that does not decode). */
struct cover {
	size_t offsets[TRAMP_MAX_INSNS + 1];
	size_t count, copied;
	enum insn_status last;
};

static void cover_of(const struct build *b, struct cover *c)
{
	size_t off = 0;

	c->count = 0;
	c->last = INSN_OK;
	while (off < b->min_len) {
		struct insn in;
		c->offsets[c->count] = off;
		c->last = insn_decode(b->code + off, b->code_avail - off, &in);
		if (c->last != INSN_OK)
			break;
		c->count++;
		off += in.length;
	}
	c->copied = off;
}

static bool is_boundary(const struct cover *c, size_t off)
{
	for (size_t i = 0; i <= c->count; i++)
		if (c->offsets[i] == off)
			return true;
	return false;
}

/* What an error says, against the instructions themselves. */
static void check_error(const struct build *b, enum tramp_status st, const struct tramp_result *res)
{
	struct cover c;
	struct insn in;

	cover_of(b, &c);
	FUZZ_CHECK(is_boundary(&c, res->fail_offset), "%s at %zu, not an instruction start",
		   tramp_status_str(st), res->fail_offset);
	if (st == TRAMP_ERR_DECODE || st == TRAMP_ERR_TRUNCATED) {
		enum insn_status ist = insn_decode(b->code + res->fail_offset,
						   b->code_avail - res->fail_offset, &in);
		FUZZ_CHECK(ist != INSN_OK &&
				   (ist == INSN_ERR_TRUNCATED) == (st == TRAMP_ERR_TRUNCATED),
			   "%s at %zu, the decoder says %s", tramp_status_str(st), res->fail_offset,
			   insn_status_str(ist));
		return;
	}
	FUZZ_CHECK(c.last == INSN_OK, "%s, yet the copy does not decode", tramp_status_str(st));
	if (st == TRAMP_ERR_TOO_SMALL) {
		/* With room enough, only an instruction that ends the flow
		 * before min_len (trampoline.h's list) is too small. */
		insn_decode(b->code + res->fail_offset, b->code_avail - res->fail_offset, &in);
		uint8_t op = in.opcode, reg = (in.modrm >> 3) & 7;
		bool ends = !in.vex_len &&
			    ((in.map == INSN_MAP_ONE &&
			      (op == 0xC2 || op == 0xC3 || op == 0xCA || op == 0xCB || op == 0xCC ||
			       op == 0xCF || op == 0xE9 || op == 0xEB ||
			       (op == 0xFF && (reg == 4 || reg == 5)))) ||
			     (in.map == INSN_MAP_0F && (op == 0x0B || op == 0x07 || op == 0x35)));
		FUZZ_CHECK(ends && res->fail_offset + in.length < b->min_len,
			   "too small at %zu (%02x), which does not end the flow before %zu",
			   res->fail_offset, op, b->min_len);
		return;
	}
	if (st != TRAMP_ERR_BRANCH_INTO_COPY && st != TRAMP_ERR_REF_INTO_COPY)
		return;
	FUZZ_CHECK(res->fail_offset < c.copied &&
			   insn_decode(b->code + res->fail_offset, b->code_avail - res->fail_offset,
				       &in) == INSN_OK,
		   "%s at %zu, past the copy", tramp_status_str(st), res->fail_offset);
	const uint8_t *p = b->code + res->fail_offset;
	uint64_t next = b->code_addr + res->fail_offset + in.length, t;
	if (st == TRAMP_ERR_BRANCH_INTO_COPY) {
		FUZZ_CHECK(in.rel_branch, "branch into the copy from a non-branch");
		t = next + (uint64_t)le_signed(p + in.rel_offset, in.rel_size);
	} else {
		FUZZ_CHECK(in.rip_relative, "RIP-relative into the copy from a non-RIP-relative");
		t = next + (uint64_t)le_signed(p + in.disp_offset, 4);
	}
	FUZZ_CHECK(t - b->code_addr >= 1 && t - b->code_addr < c.copied,
		   "%s: target %#llx is not in the patched bytes", tramp_status_str(st),
		   (unsigned long long)t);
}

/* Whether an address the trampoline sends control to lies inside it, where
 * following the relocated code could not tell it from internal jumps. */
static bool lands_inside(const struct build *b, const struct tramp_result *res, uint64_t t)
{
	return t - b->out_addr < res->length;
}

static void check_insn(const struct build *b, const struct tramp_result *res, size_t i,
		       const uint8_t *out, bool *skipped)
{
	const struct tramp_insn *ti = &res->insns[i];
	const uint8_t *p = b->code + ti->orig_offset;
	const uint8_t *q = out + ti->tramp_offset;
	uint64_t addr = b->code_addr + ti->orig_offset, at = b->out_addr + ti->tramp_offset;
	struct insn in;

	FUZZ_CHECK(insn_decode(p, b->code_avail - ti->orig_offset, &in) == INSN_OK &&
			   in.length == ti->orig_length,
		   "instruction %zu: length %u, result says %u", i, in.length, ti->orig_length);
	if (!in.rel_branch) {
		FUZZ_CHECK(ti->tramp_length == ti->orig_length, "instruction %zu resized", i);
		if (!in.rip_relative) {
			FUZZ_CHECK(!memcmp(p, q, in.length), "instruction %zu changed", i);
			return;
		}
		FUZZ_CHECK(!memcmp(p, q, in.disp_offset) &&
				   !memcmp(p + in.disp_offset + 4, q + in.disp_offset + 4,
					   in.length - in.disp_offset - 4u),
			   "instruction %zu changed beyond its displacement", i);
		uint64_t was = addr + in.length + (uint64_t)le_signed(p + in.disp_offset, 4);
		uint64_t now = at + in.length + (uint64_t)le_signed(q + in.disp_offset, 4);
		FUZZ_CHECK(was == now, "instruction %zu: RIP-relative %#llx, relocated %#llx", i,
			   (unsigned long long)was, (unsigned long long)now);
		return;
	}
	struct exits want = { .n = 0 };
	orig_exits(&in, p, addr, at + ti->tramp_length, &want);
	for (unsigned k = 0; k < want.n; k++)
		if (want.e[k].target != at + ti->tramp_length &&
		    lands_inside(b, res, want.e[k].target)) {
			*skipped = true;
			return;
		}
	struct seq s = {
		.bytes = q, .base = at, .len = ti->tramp_length, .orig = p, .orig_in = &in
	};
	FUZZ_CHECK(s.len <= sizeof(s.use), "instruction %zu relocated into %zu bytes", i, s.len);
	follow(&s, 0, COND_ALWAYS, 0);
	for (size_t k = 0; k < s.len; k++)
		FUZZ_CHECK(s.use[k], "instruction %zu: relocated byte %zu is neither run nor read",
			   i, k);
	if (!same_exits(&want, &s.out)) {
		print_exits("original", &want);
		print_exits("relocated", &s.out);
		fprintf(stderr, "relocated bytes:");
		for (size_t k = 0; k < s.len; k++)
			fprintf(stderr, " %02x", s.bytes[k]);
		fprintf(stderr, "\n");
	}
	FUZZ_CHECK(same_exits(&want, &s.out),
		   "instruction %zu (%02x at %#llx) relocated to %#llx leaves elsewhere", i,
		   in.opcode, (unsigned long long)addr, (unsigned long long)at);
}

/* The whole result: contiguous copies covering min_len, each relocated
 * form checked, the jump back, the canary past the end, the maps. */
static void check_ok(const struct build *b, const struct tramp_result *res, const uint8_t *out,
		     size_t cap)
{
	size_t orig = 0, tr = 0;
	bool skipped = false;

	FUZZ_CHECK(res->count >= 1 && res->count <= TRAMP_MAX_INSNS, "%zu instructions",
		   res->count);
	for (size_t i = 0; i < res->count; i++) {
		FUZZ_CHECK(res->insns[i].orig_offset == orig && res->insns[i].tramp_offset == tr,
			   "instruction %zu at %u/%u, expected %zu/%zu", i,
			   res->insns[i].orig_offset, res->insns[i].tramp_offset, orig, tr);
		FUZZ_CHECK(i + 1 == res->count || orig + res->insns[i].orig_length < b->min_len,
			   "instruction %zu copied past min_len", i + 1);
		orig += res->insns[i].orig_length;
		tr += res->insns[i].tramp_length;
	}
	FUZZ_CHECK(res->copied == orig && orig >= b->min_len && orig <= b->code_avail,
		   "copied %zu, instructions cover %zu, min_len %zu", res->copied, orig,
		   b->min_len);
	FUZZ_CHECK(res->back_offset == tr && res->length > tr && res->length <= cap &&
			   res->length <= TRAMP_OUT_MAX(b->min_len),
		   "back at %zu, length %zu of %zu", res->back_offset, res->length, cap);
	for (size_t k = res->length; k < cap; k++)
		FUZZ_CHECK(out[k] == CANARY, "byte %zu past the trampoline written", k);
	if (lands_inside(b, res, b->code_addr + res->copied))
		return; /* the jump back's target is inside the trampoline */
	for (size_t i = 0; i < res->count && !skipped; i++)
		check_insn(b, res, i, out, &skipped);

	struct seq back = { .bytes = out + res->back_offset,
			    .base = b->out_addr + res->back_offset,
			    .len = res->length - res->back_offset };
	struct exits want = { .n = 0 };
	struct insn none = { 0 };
	back.orig_in = &none;
	add_exit(&want, EXIT_JUMP, COND_ALWAYS, b->code_addr + res->copied);
	follow(&back, 0, COND_ALWAYS, 0);
	FUZZ_CHECK(same_exits(&want, &back.out), "the jump back does not reach code + %zu",
		   res->copied);

	/* Offset maps: boundaries both ways, nothing else. */
	for (size_t k = 0; k <= res->copied + 1; k++) {
		size_t t, o;
		bool start = k == res->copied;
		for (size_t i = 0; i < res->count; i++)
			start |= res->insns[i].orig_offset == k;
		bool mapped = tramp_orig_to_tramp(res, k, &t);
		FUZZ_CHECK(mapped == start, "orig offset %zu mapped %d", k, mapped);
		if (mapped)
			FUZZ_CHECK(tramp_tramp_to_orig(res, t, &o) && o == k,
				   "orig %zu -> tramp %zu -> orig %zu", k, t, o);
	}
	/* The rest of the function: what tramp_check_function reports about
	 * branches into the patched bytes is what a sweep here finds. */
	size_t fail = 99;
	enum tramp_status fst =
		tramp_check_function(b->code, b->code_avail, b->code_addr, res->copied, &fail);
	size_t off = res->copied;
	enum tramp_status want_st = TRAMP_OK;
	while (off < b->code_avail && want_st == TRAMP_OK) {
		struct insn in;
		enum insn_status ist = insn_decode(b->code + off, b->code_avail - off, &in);
		if (ist != INSN_OK) {
			want_st =
				ist == INSN_ERR_TRUNCATED ? TRAMP_ERR_TRUNCATED : TRAMP_ERR_DECODE;
			break;
		}
		uint64_t next = b->code_addr + off + in.length;
		uint64_t rel = in.rel_branch
				       ? next + (uint64_t)le_signed(b->code + off + in.rel_offset,
								    in.rel_size)
				       : 0;
		uint64_t rip =
			in.rip_relative
				? next + (uint64_t)le_signed(b->code + off + in.disp_offset, 4)
				: 0;
		if (in.rel_branch && rel - b->code_addr >= 1 && rel - b->code_addr < res->copied)
			want_st = TRAMP_ERR_BRANCH_INTO_COPY;
		else if (in.rip_relative && rip - b->code_addr >= 1 &&
			 rip - b->code_addr < res->copied)
			want_st = TRAMP_ERR_REF_INTO_COPY;
		else
			off += in.length;
	}
	FUZZ_CHECK(fst == want_st && fail == (want_st == TRAMP_OK ? 0 : off),
		   "tramp_check_function: %s at %zu, the sweep: %s at %zu", tramp_status_str(fst),
		   fail, tramp_status_str(want_st), off);
}

/* The patch: one JMP from code_addr to out_addr, as short as reaches. */
static void check_patch(uint64_t at, uint64_t target)
{
	uint8_t buf[TRAMP_ABS_JMP_LEN];
	size_t n = tramp_patch_jump(buf, sizeof(buf), at, target);
	struct seq s = { .bytes = buf, .base = at, .len = n };
	struct exits want = { .n = 0 };
	struct insn none = { 0 };

	FUZZ_CHECK(n == tramp_patch_length(at, target), "patch of %zu bytes, length says %zu", n,
		   tramp_patch_length(at, target));
	FUZZ_CHECK(tramp_patch_jump(buf, n - 1, at, target) == 0, "patch fits in %zu bytes", n - 1);
	s.orig_in = &none;
	add_exit(&want, EXIT_JUMP, COND_ALWAYS, target);
	if (target - at < n)
		return; /* a jump into itself: following it proves nothing */
	follow(&s, 0, COND_ALWAYS, 0);
	if (!same_exits(&want, &s.out)) {
		print_exits("original", &want);
		print_exits("relocated", &s.out);
		fprintf(stderr, "relocated bytes:");
		for (size_t k = 0; k < s.len; k++)
			fprintf(stderr, " %02x", s.bytes[k]);
		fprintf(stderr, "\n");
	}
	FUZZ_CHECK(same_exits(&want, &s.out), "the patch does not jump to the trampoline");
	if (n == TRAMP_ABS_JMP_LEN) {
		int64_t d = (int64_t)(target - (at + TRAMP_REL_JMP_LEN));
		FUZZ_CHECK(d < INT32_MIN || d > INT32_MAX, "14-byte patch where 5 bytes reach");
	}
}

/* Placements: near, at the edges of rel32's reach (where every encoding
 * switches form), or anywhere. */
static uint64_t place(uint8_t how, uint64_t code_addr, uint64_t raw)
{
	switch (how & 3) {
	case 0:
		return code_addr + (uint64_t)(int64_t)(int32_t)raw;
	case 1:
		return code_addr + (1ull << 31) + (uint64_t)(int64_t)(int16_t)raw;
	case 2:
		return code_addr - (1ull << 31) + (uint64_t)(int64_t)(int16_t)raw;
	default:
		return raw;
	}
}

static uint8_t out_a[BIG_CAP], out_b[BIG_CAP];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct build b;
	struct tramp_result ra, rb;
	uint8_t len_sel = fuzz_u8(&in), how = fuzz_u8(&in);

	b.min_len = len_sel < 0xF0 ? 1u + len_sel % TRAMP_MAX_MIN_LEN : len_sel & 0x3f;
	b.code_addr = fuzz_u64(&in);
	b.out_addr = place(how, b.code_addr, fuzz_u64(&in));
	uint16_t cap_sel = fuzz_u16(&in), avail_sel = fuzz_u16(&in);
	b.code = in.p;
	b.code_avail = avail_sel & 0x8000 ? in.n : (avail_sel & 0x7fff) % (in.n + 1);
	b.out_cap = cap_sel & 0x8000 ? TRAMP_OUT_MAX(b.min_len) : cap_sel % (BIG_CAP + 1);

	enum tramp_status st_a = build_into(&b, b.out_cap, out_a, &ra);
	enum tramp_status st_b = build_into(&b, BIG_CAP, out_b, &rb);
	FUZZ_CHECK(tramp_status_str(st_a) != NULL, "no status string");
	if (b.min_len == 0 || b.min_len > TRAMP_MAX_MIN_LEN) {
		FUZZ_CHECK(st_a == TRAMP_ERR_BAD_ARG && st_b == TRAMP_ERR_BAD_ARG,
			   "min_len %zu accepted", b.min_len);
		return 0;
	}
	FUZZ_CHECK(tramp_build(NULL, b.code_avail, 0, b.min_len, out_a, 1, 0, &ra) ==
				   TRAMP_ERR_BAD_ARG &&
			   tramp_build(b.code, b.code_avail, 0, b.min_len, NULL, 1, 0, &ra) ==
				   TRAMP_ERR_BAD_ARG &&
			   tramp_build(b.code, b.code_avail, 0, b.min_len, out_a, 1, 0, NULL) ==
				   TRAMP_ERR_BAD_ARG,
		   "a NULL argument accepted");
	st_a = build_into(&b, b.out_cap, out_a, &ra);

	/* The capacity changes nothing but whether it fits. */
	if (st_a == TRAMP_OK)
		FUZZ_CHECK(st_b == TRAMP_OK && !memcmp(&ra, &rb, sizeof(ra)) &&
				   !memcmp(out_a, out_b, ra.length),
			   "the result depends on out_cap");
	else if (st_b == TRAMP_OK)
		FUZZ_CHECK(st_a == TRAMP_ERR_TOO_SMALL && b.out_cap < rb.length,
			   "%zu bytes of %zu: %s", b.out_cap, rb.length, tramp_status_str(st_a));
	else
		FUZZ_CHECK(st_a == st_b || st_a == TRAMP_ERR_TOO_SMALL,
			   "%s with %zu bytes, %s with %d", tramp_status_str(st_a), b.out_cap,
			   tramp_status_str(st_b), BIG_CAP);
	if (st_b == TRAMP_OK) {
		FUZZ_CHECK(rb.length <= TRAMP_OUT_MAX(b.min_len), "%zu bytes, over TRAMP_OUT_MAX",
			   rb.length);
		check_ok(&b, &rb, out_b, BIG_CAP);
	} else if (st_b != TRAMP_ERR_TOO_SMALL) {
		check_error(&b, st_b, &rb);
	}
	check_patch(b.code_addr, b.out_addr);
	return 0;
}
