/* Inline-hook trampolines (see trampoline.h).
 *
 * tramp_build works in two passes over the original code: the first decodes
 * whole instructions until min_len bytes are covered, which fixes `copied`
 * (the bytes the patch replaces) before any branch target is judged against
 * it; the second checks and emits each instruction for its new address.
 * Every emitted sequence is encoded first into a small local buffer and
 * then appended whole, or not at all when out is full. */
#include "hook/trampoline.h"

#include "core/mw_string.h"
#include "hook/insn.h"

/* Opcodes (SDM 2A): one-byte map unless noted. */
#define OP_JCC8 0x70	    /* 70+cc rel8 */
#define OP_JCC32 0x80	    /* 0F 80+cc rel32 */
#define OP_TWO_BYTE 0x0F    /* escape to the 0F map */
#define OP_CALL32 0xE8	    /* E8 rel32 */
#define OP_JMP32 0xE9	    /* E9 rel32 */
#define OP_JMP8 0xEB	    /* EB rel8 */
#define OP_GRP5 0xFF	    /* FF /2 CALL r/m64, /4 JMP r/m64 */
#define MODRM_RIP_CALL 0x15 /* mod 00, reg 2 (CALL), rm 101 (RIP+disp32) */
#define MODRM_RIP_JMP 0x25  /* mod 00, reg 4 (JMP), rm 101 (RIP+disp32) */

/* The longest sequence emitted for one instruction: LOOPcc with 13 prefix
 * bytes, its rel8, JMP rel8 and the 14-byte absolute JMP. */
#define TRAMP_SEQ_MAX 32

/* What to do with a copied instruction. */
enum tramp_kind {
	TK_PLAIN,  /* copied as it is */
	TK_RIPREL, /* copied with a new RIP-relative displacement */
	TK_JMP,	   /* JMP rel8/rel32 */
	TK_JCC,	   /* Jcc rel8/rel32 */
	TK_CALL,   /* CALL rel32 */
	TK_LOOP,   /* LOOPNE, LOOPE, LOOP, JrCXZ (E0-E3), rel8 */
	TK_OTHER,  /* XBEGIN or a relative branch we do not know: refused */
};

/* Where the trampoline is written (buf, cap) and where it will run (addr). */
struct tramp_out {
	uint8_t *buf;
	size_t cap;
	size_t pos;
	uint64_t addr;
	bool full; /* a sequence did not fit: nothing of it was written */
};

/* The original code being copied. */
struct tramp_src {
	const uint8_t *code;
	uint64_t addr;
	size_t copied;
};

const char *tramp_status_str(enum tramp_status status)
{
	switch (status) {
	case TRAMP_OK:
		return "ok";
	case TRAMP_ERR_DECODE:
		return "invalid instruction in the bytes to copy";
	case TRAMP_ERR_TRUNCATED:
		return "code ends inside the instructions to copy";
	case TRAMP_ERR_BRANCH_INTO_COPY:
		return "branch into the patched bytes";
	case TRAMP_ERR_REF_INTO_COPY:
		return "RIP-relative reference into the patched bytes";
	case TRAMP_ERR_OUT_OF_RANGE:
		return "RIP-relative displacement out of range from the trampoline";
	case TRAMP_ERR_TOO_SMALL:
		return "function shorter than the patch, or trampoline buffer too small";
	case TRAMP_ERR_UNSUPPORTED:
		return "instruction that cannot be relocated";
	case TRAMP_ERR_BAD_ARG:
		return "bad argument";
	}
	return "unknown";
}

static void tramp_le_put(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A little-endian signed field of 1, 2 or 4 bytes. */
static int64_t tramp_le_signed(const uint8_t *p, size_t n)
{
	uint32_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	if (n == 1)
		return (int8_t)v;
	if (n == 2)
		return (int16_t)v;
	return (int32_t)v;
}

/* The rel32 that takes an instruction ending at next to target, if one does:
 * relative targets are next + sign-extended rel (SDM 2A JMP, Jcc, CALL),
 * computed modulo 2^64. */
static bool tramp_rel32(uint64_t next, uint64_t target, int32_t *rel)
{
	int64_t d = (int64_t)(target - next);

	if (d < INT32_MIN || d > INT32_MAX)
		return false;
	*rel = (int32_t)d;
	return true;
}

/* Whether target is one of the bytes the patch replaces but the first. */
static bool tramp_in_copy(const struct tramp_src *s, uint64_t target)
{
	uint64_t d = target - s->addr;

	return d >= 1 && d < s->copied;
}

/* FF /r with RIP+disp32 (SDM 2A 2.2.1.6), then the 8-byte address it reads. */
static size_t tramp_enc_indirect(uint8_t *seq, uint8_t modrm, uint32_t disp)
{
	seq[0] = OP_GRP5;
	seq[1] = modrm;
	tramp_le_put(seq + 2, disp, 4);
	return 6;
}

/* JMP from at to target: E9 rel32 when it reaches, else JMP [RIP+0] and the
 * target right after it (SDM 2A JMP). */
static size_t tramp_enc_jmp(uint8_t *seq, uint64_t at, uint64_t target)
{
	int32_t rel;

	if (tramp_rel32(at + TRAMP_REL_JMP_LEN, target, &rel)) {
		seq[0] = OP_JMP32;
		tramp_le_put(seq + 1, (uint32_t)rel, 4);
		return TRAMP_REL_JMP_LEN;
	}
	tramp_enc_indirect(seq, MODRM_RIP_JMP, 0);
	tramp_le_put(seq + 6, target, 8);
	return TRAMP_ABS_JMP_LEN;
}

/* Jcc (condition cc) from at to target: 0F 8x rel32, else the inverted
 * condition (cc ^ 1, SDM 2A Jcc: the conditions come in pairs) jumping with
 * rel8 over a JMP to the target. */
static size_t tramp_enc_jcc(uint8_t *seq, uint64_t at, uint8_t cc, uint64_t target)
{
	int32_t rel;

	if (tramp_rel32(at + 6, target, &rel)) {
		seq[0] = OP_TWO_BYTE;
		seq[1] = (uint8_t)(OP_JCC32 | cc);
		tramp_le_put(seq + 2, (uint32_t)rel, 4);
		return 6;
	}
	/* The inverted Jcc jumps over the JMP, whichever form that takes: a
	 * rel32 from at + 7 reaches at + 6 + 2^31, which one from at + 6 does
	 * not, so it is not always the 14-byte form (found by
	 * tests/fuzz/fuzz_tramp: a fixed 14 landed 9 bytes past a 5-byte JMP). */
	size_t n = tramp_enc_jmp(seq + 2, at + 2, target);
	seq[0] = (uint8_t)(OP_JCC8 | (cc ^ 1));
	seq[1] = (uint8_t)n;
	return 2 + n;
}

/* CALL from at to target: E8 rel32, else CALL [RIP+2]; JMP +8; the target.
 * The far form pushes the address of its JMP +8, which steps over the 8
 * bytes: the callee returns to what follows the call in the trampoline. */
static size_t tramp_enc_call(uint8_t *seq, uint64_t at, uint64_t target)
{
	int32_t rel;

	if (tramp_rel32(at + 5, target, &rel)) {
		seq[0] = OP_CALL32;
		tramp_le_put(seq + 1, (uint32_t)rel, 4);
		return 5;
	}
	tramp_enc_indirect(seq, MODRM_RIP_CALL, 2);
	seq[6] = OP_JMP8;
	seq[7] = 8;
	tramp_le_put(seq + 8, target, 8);
	return 16;
}

/* LOOPcc/JrCXZ have only a rel8 (SDM 2A LOOP/LOOPcc, Jcc "JrCXZ"): the
 * original prefixes and opcode (67 selects ECX) jump to a JMP to the target
 * placed after a short JMP that the not-taken path takes to step over it:
 * `loopcc +2; jmp short +n; jmp target`. */
static size_t tramp_enc_loop(uint8_t *seq, uint64_t at, const uint8_t *orig, const struct insn *in,
			     uint64_t target)
{
	size_t n = in->opcode_offset + 1u, far;

	memcpy(seq, orig, n);
	seq[n] = 2;
	seq[n + 1] = OP_JMP8;
	far = tramp_enc_jmp(seq + n + 3, at + n + 3, target);
	seq[n + 2] = (uint8_t)far;
	return n + 3 + far;
}

/* SDM 2A 2.2.1.6: the effective address is the next instruction's RIP plus
 * the sign-extended disp32. */
static uint64_t tramp_rip_target(const struct insn *in, const uint8_t *p, uint64_t addr)
{
	return addr + in->length + (uint64_t)tramp_le_signed(p + in->disp_offset, 4);
}

static uint64_t tramp_branch_target(const struct insn *in, const uint8_t *p, uint64_t addr)
{
	return addr + in->length + (uint64_t)tramp_le_signed(p + in->rel_offset, in->rel_size);
}

static enum tramp_kind tramp_kind_of(const struct insn *in)
{
	if (!in->rel_branch)
		return in->rip_relative ? TK_RIPREL : TK_PLAIN;
	if (in->map == INSN_MAP_0F)
		return (in->opcode & 0xF0) == OP_JCC32 ? TK_JCC : TK_OTHER;
	if (in->map != INSN_MAP_ONE)
		return TK_OTHER;
	if ((in->opcode & 0xF0) == OP_JCC8)
		return TK_JCC;
	switch (in->opcode) {
	case OP_CALL32:
		return TK_CALL;
	case OP_JMP32:
	case OP_JMP8:
		return TK_JMP;
	case 0xE0:
	case 0xE1:
	case 0xE2:
	case 0xE3:
		return TK_LOOP;
	}
	return TK_OTHER;
}

/* Instructions after which the next byte need not be code: RET (C3, C2),
 * RETF (CB, CA), IRET (CF), JMP (EB, E9, FF /4, FF /5), INT3 (CC, the
 * padding compilers put between functions), UD2 (0F 0B), SYSRET (0F 07),
 * SYSEXIT (0F 35). */
static bool tramp_ends_flow(const struct insn *in)
{
	uint8_t reg = (in->modrm >> 3) & 7;

	if (in->vex_len)
		return false;
	if (in->map == INSN_MAP_0F)
		return in->opcode == 0x0B || in->opcode == 0x07 || in->opcode == 0x35;
	if (in->map != INSN_MAP_ONE)
		return false;
	switch (in->opcode) {
	case 0xC2:
	case 0xC3:
	case 0xCA:
	case 0xCB:
	case 0xCC:
	case 0xCF:
	case OP_JMP32:
	case OP_JMP8:
		return true;
	case OP_GRP5:
		return reg == 4 || reg == 5;
	}
	return false;
}

/* A relative JMP/Jcc/CALL is re-encoded without its prefixes, which keeps
 * its meaning only for the branch hints 2E and 3E (SDM 2A 2.1.1): 66
 * truncates the target on AMD but not on Intel, F2 is MPX's BND. A REX is
 * ignored by the processor; compilers never emit one there, so it is
 * refused with the rest rather than trusted. */
static bool tramp_hints_only(const struct insn *in, const uint8_t *p)
{
	if (in->rex)
		return false;
	for (unsigned i = 0; i < in->prefix_len; i++)
		if (p[i] != 0x2E && p[i] != 0x3E)
			return false;
	return true;
}

/* Whether the instruction at p (address addr) can be moved at all. */
static enum tramp_status tramp_check(const struct tramp_src *s, const struct insn *in,
				     const uint8_t *p, uint64_t addr)
{
	enum tramp_kind kind = tramp_kind_of(in);
	uint64_t target;

	if (kind == TK_PLAIN)
		return TRAMP_OK;
	if (kind == TK_RIPREL) {
		/* With 67 the address is EIP-relative, truncated to 32 bits. */
		if (in->address_size != 8)
			return TRAMP_ERR_UNSUPPORTED;
		return tramp_in_copy(s, tramp_rip_target(in, p, addr)) ? TRAMP_ERR_REF_INTO_COPY
								       : TRAMP_OK;
	}
	if (kind == TK_OTHER || (kind != TK_LOOP && !tramp_hints_only(in, p)))
		return TRAMP_ERR_UNSUPPORTED;
	/* LOOPcc keeps its prefixes; with 66 AMD would truncate the target. */
	if (kind == TK_LOOP && (in->prefixes & INSN_PFX_OPSIZE))
		return TRAMP_ERR_UNSUPPORTED;
	target = tramp_branch_target(in, p, addr);
	/* call next; pop reg: the pop would read the trampoline's address. */
	if (kind == TK_CALL && target == addr + in->length)
		return TRAMP_ERR_UNSUPPORTED;
	return tramp_in_copy(s, target) ? TRAMP_ERR_BRANCH_INTO_COPY : TRAMP_OK;
}

/* Encodes the relocated form of the instruction at p (address addr) for
 * address at; 0 if a RIP-relative displacement does not reach. */
static size_t tramp_encode(uint8_t *seq, uint64_t at, const struct insn *in, const uint8_t *p,
			   uint64_t addr)
{
	uint64_t target = in->rel_branch ? tramp_branch_target(in, p, addr) : 0;
	int32_t disp;

	switch (tramp_kind_of(in)) {
	case TK_RIPREL:
		if (!tramp_rel32(at + in->length, tramp_rip_target(in, p, addr), &disp))
			return 0;
		memcpy(seq, p, in->length);
		tramp_le_put(seq + in->disp_offset, (uint32_t)disp, 4);
		return in->length;
	case TK_JMP:
		return tramp_enc_jmp(seq, at, target);
	case TK_JCC:
		return tramp_enc_jcc(seq, at, in->opcode & 0x0F, target);
	case TK_CALL:
		return tramp_enc_call(seq, at, target);
	case TK_LOOP:
		return tramp_enc_loop(seq, at, p, in, target);
	default:
		memcpy(seq, p, in->length);
		return in->length;
	}
}

/* Appends n bytes, or marks out full and writes nothing. */
static void tramp_put(struct tramp_out *o, const uint8_t *seq, size_t n)
{
	if (o->full || n > o->cap - o->pos) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->pos, seq, n);
	o->pos += n;
}

/* Pass 1: the whole instructions covering min_len bytes, into res->insns
 * and res->copied. */
static enum tramp_status tramp_scan(const uint8_t *code, size_t code_avail, size_t min_len,
				    struct tramp_result *res)
{
	size_t off = 0;

	while (off < min_len) {
		struct insn in;
		enum insn_status st = insn_decode(code + off, code_avail - off, &in);

		res->fail_offset = off;
		if (st == INSN_ERR_TRUNCATED)
			return TRAMP_ERR_TRUNCATED;
		if (st != INSN_OK)
			return TRAMP_ERR_DECODE;
		res->insns[res->count].orig_offset = (uint8_t)off;
		res->insns[res->count].orig_length = in.length;
		res->count++;
		off += in.length;
		if (off < min_len && tramp_ends_flow(&in))
			return TRAMP_ERR_TOO_SMALL;
	}
	res->copied = off;
	return TRAMP_OK;
}

/* Pass 2 for one copied instruction. */
static enum tramp_status tramp_relocate(const struct tramp_src *s, struct tramp_out *o,
					struct tramp_insn *ti)
{
	const uint8_t *p = s->code + ti->orig_offset;
	uint64_t addr = s->addr + ti->orig_offset;
	uint8_t seq[TRAMP_SEQ_MAX];
	struct insn in;
	enum tramp_status st;
	size_t n;

	/* Decoded in pass 1 already: this cannot fail. */
	if (insn_decode(p, ti->orig_length, &in) != INSN_OK)
		return TRAMP_ERR_DECODE;
	st = tramp_check(s, &in, p, addr);
	if (st != TRAMP_OK)
		return st;
	n = tramp_encode(seq, o->addr + o->pos, &in, p, addr);
	if (n == 0)
		return TRAMP_ERR_OUT_OF_RANGE;
	ti->tramp_offset = (uint16_t)o->pos;
	ti->tramp_length = (uint16_t)n;
	tramp_put(o, seq, n);
	return o->full ? TRAMP_ERR_TOO_SMALL : TRAMP_OK;
}

enum tramp_status tramp_build(const uint8_t *code, size_t code_avail, uint64_t code_addr,
			      size_t min_len, uint8_t *out, size_t out_cap, uint64_t out_addr,
			      struct tramp_result *res)
{
	struct tramp_src s = { .code = code, .addr = code_addr };
	struct tramp_out o = { .buf = out, .cap = out_cap, .addr = out_addr };
	uint8_t seq[TRAMP_ABS_JMP_LEN];
	enum tramp_status st;

	if (!res)
		return TRAMP_ERR_BAD_ARG;
	memset(res, 0, sizeof(*res));
	if (!code || !out || min_len == 0 || min_len > TRAMP_MAX_MIN_LEN)
		return TRAMP_ERR_BAD_ARG;
	st = tramp_scan(code, code_avail, min_len, res);
	if (st != TRAMP_OK)
		return st;
	s.copied = res->copied;
	for (size_t i = 0; i < res->count; i++) {
		res->fail_offset = res->insns[i].orig_offset;
		st = tramp_relocate(&s, &o, &res->insns[i]);
		if (st != TRAMP_OK)
			return st;
	}
	res->fail_offset = res->copied;
	res->back_offset = o.pos;
	tramp_put(&o, seq, tramp_enc_jmp(seq, out_addr + o.pos, code_addr + res->copied));
	if (o.full)
		return TRAMP_ERR_TOO_SMALL;
	res->length = o.pos;
	res->fail_offset = 0;
	return TRAMP_OK;
}

enum tramp_status tramp_check_function(const uint8_t *code, size_t func_len, uint64_t code_addr,
				       size_t copied, size_t *fail_offset)
{
	struct tramp_src s = { .code = code, .addr = code_addr, .copied = copied };
	size_t off = copied;

	if (!code || !fail_offset || copied > func_len)
		return TRAMP_ERR_BAD_ARG;
	*fail_offset = 0;
	while (off < func_len) {
		struct insn in;
		enum insn_status st = insn_decode(code + off, func_len - off, &in);
		uint64_t addr = code_addr + off;

		*fail_offset = off;
		if (st != INSN_OK)
			return st == INSN_ERR_TRUNCATED ? TRAMP_ERR_TRUNCATED : TRAMP_ERR_DECODE;
		if (in.rel_branch && tramp_in_copy(&s, tramp_branch_target(&in, code + off, addr)))
			return TRAMP_ERR_BRANCH_INTO_COPY;
		if (in.rip_relative && tramp_in_copy(&s, tramp_rip_target(&in, code + off, addr)))
			return TRAMP_ERR_REF_INTO_COPY;
		off += in.length;
	}
	*fail_offset = 0;
	return TRAMP_OK;
}

bool tramp_orig_to_tramp(const struct tramp_result *res, size_t orig_offset, size_t *tramp_offset)
{
	if (res->length == 0)
		return false;
	if (orig_offset == res->copied) {
		*tramp_offset = res->back_offset;
		return true;
	}
	for (size_t i = 0; i < res->count; i++) {
		if (res->insns[i].orig_offset == orig_offset) {
			*tramp_offset = res->insns[i].tramp_offset;
			return true;
		}
	}
	return false;
}

bool tramp_tramp_to_orig(const struct tramp_result *res, size_t tramp_offset, size_t *orig_offset)
{
	if (res->length == 0)
		return false;
	if (tramp_offset == res->back_offset) {
		*orig_offset = res->copied;
		return true;
	}
	for (size_t i = 0; i < res->count; i++) {
		if (res->insns[i].tramp_offset == tramp_offset) {
			*orig_offset = res->insns[i].orig_offset;
			return true;
		}
	}
	return false;
}

size_t tramp_patch_length(uint64_t at, uint64_t target)
{
	int32_t rel;

	return tramp_rel32(at + TRAMP_REL_JMP_LEN, target, &rel) ? TRAMP_REL_JMP_LEN
								 : TRAMP_ABS_JMP_LEN;
}

size_t tramp_patch_jump(uint8_t *dst, size_t cap, uint64_t at, uint64_t target)
{
	uint8_t seq[TRAMP_ABS_JMP_LEN];
	size_t n = tramp_enc_jmp(seq, at, target);

	if (!dst || n > cap)
		return 0;
	memcpy(dst, seq, n);
	return n;
}
