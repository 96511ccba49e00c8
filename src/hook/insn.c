/* The x86-64 instruction-length decoder (see insn.h).
 *
 * An instruction is: legacy prefixes, then REX or VEX/EVEX, the opcode (with
 * its 0F / 0F 38 / 0F 3A escape), ModRM, SIB, displacement, immediates
 * (SDM 2A 2.1, Figure 2-1). Only the opcode decides which of the rest follow,
 * so the one-byte and 0F maps are tables of per-opcode attributes taken from
 * the opcode maps of SDM 2A Appendix A; the 0F 38, 0F 3A and VEX/EVEX maps
 * follow regular rules and are decoded by those rules. */
#include "hook/insn.h"

#include "core/mw_string.h"

/* What follows the opcode and ModRM: the low four bits of an attribute. */
enum insn_ops {
	OPS_NONE,
	OPS_IB,	    /* imm8 */
	OPS_IW,	    /* imm16 */
	OPS_IZ,	    /* imm16 with a 16-bit operand size, else imm32 (SDM 2A A.2.2 "z") */
	OPS_IV,	    /* imm16/32/64 by operand size: MOV r, imm ("v") */
	OPS_MOFFS,  /* an offset of the address size: MOV AL/rAX <-> moffs (A0-A3) */
	OPS_IW_IB,  /* imm16 then imm8: ENTER */
	OPS_IB_IB,  /* imm8 then imm8: EXTRQ/INSERTQ */
	OPS_GRP3,   /* F6/F7: an immediate for /0 and /1 (TEST) only */
	OPS_REL8,   /* rel8 */
	OPS_REL32,  /* rel32: in 64-bit mode Intel ignores 66 on near branches */
	OPS_XBEGIN, /* rel16 with a 16-bit operand size, else rel32 (SDM 2D XBEGIN) */
};

#define A_OPS 0x0f
#define A_M 0x10   /* a ModRM byte follows the opcode */
#define A_D64 0x20 /* operand size defaults to 64 bits (SDM 2A A.2.5 "d64") */
#define A_CHK 0x40 /* validity or operands depend on ModRM or a prefix: insn_check() */
#define A_BAD 0x80 /* #UD in 64-bit mode, reserved, or a prefix/escape taken earlier */

/* Short names for the tables only. */
#define NO OPS_NONE
#define IB OPS_IB
#define IW OPS_IW
#define IZ OPS_IZ
#define IV OPS_IV
#define MO OPS_MOFFS
#define J1 OPS_REL8
#define J4 OPS_REL32
#define M_ A_M
#define MB (A_M | OPS_IB)
#define MZ (A_M | OPS_IZ)
#define MC (A_M | A_CHK)
#define G3 (A_M | OPS_GRP3)
#define CB (A_M | A_CHK | OPS_IB)
#define CZ (A_M | A_CHK | OPS_IZ)
#define PP A_D64
#define PB (A_D64 | OPS_IB)
#define PW (A_D64 | OPS_IW)
#define PZ (A_D64 | OPS_IZ)
#define MP (A_M | A_CHK | A_D64)
#define EN (A_D64 | OPS_IW_IB) /* ENTER */
#define XX A_BAD
#define PF A_BAD /* prefix, REX, VEX/EVEX or escape: consumed before the lookup */

/* SDM 2A Table A-2, the one-byte map, as 64-bit mode sees it: the "i64"
 * entries (06 07 0E 16 17 1E 1F 27 2F 37 3F 60 61 82 9A CE D4 D5 EA) and
 * D6 are #UD; 40-4F are REX; 62 is EVEX and C4/C5 are VEX. */
/* clang-format off */
static const uint8_t insn_map_one[256] = {
	/*      0   1   2   3   4   5   6   7   8   9   A   B   C   D   E   F */
	/* 0 */ M_, M_, M_, M_, IB, IZ, XX, XX, M_, M_, M_, M_, IB, IZ, XX, PF,
	/* 1 */ M_, M_, M_, M_, IB, IZ, XX, XX, M_, M_, M_, M_, IB, IZ, XX, XX,
	/* 2 */ M_, M_, M_, M_, IB, IZ, PF, XX, M_, M_, M_, M_, IB, IZ, PF, XX,
	/* 3 */ M_, M_, M_, M_, IB, IZ, PF, XX, M_, M_, M_, M_, IB, IZ, PF, XX,
	/* 4 */ PF, PF, PF, PF, PF, PF, PF, PF, PF, PF, PF, PF, PF, PF, PF, PF,
	/* 5 */ PP, PP, PP, PP, PP, PP, PP, PP, PP, PP, PP, PP, PP, PP, PP, PP,
	/* 6 */ XX, XX, PF, M_, PF, PF, PF, PF, PZ, MZ, PB, MB, NO, NO, NO, NO,
	/* 7 */ J1, J1, J1, J1, J1, J1, J1, J1, J1, J1, J1, J1, J1, J1, J1, J1,
	/* 8 */ MB, MZ, XX, MB, M_, M_, M_, M_, M_, M_, M_, M_, M_, MC, M_, MP,
	/* 9 */ NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, XX, NO, PP, PP, NO, NO,
	/* A */ MO, MO, MO, MO, NO, NO, NO, NO, IB, IZ, NO, NO, NO, NO, NO, NO,
	/* B */ IB, IB, IB, IB, IB, IB, IB, IB, IV, IV, IV, IV, IV, IV, IV, IV,
	/* C */ MB, MB, PW, PP, PF, PF, CB, CZ, EN, PP, IW, NO, NO, IB, XX, NO,
	/* D */ M_, M_, M_, M_, XX, XX, XX, NO, M_, M_, M_, M_, M_, M_, M_, M_,
	/* E */ J1, J1, J1, J1, IB, IB, IB, IB, J4, J4, XX, J1, NO, NO, NO, NO,
	/* F */ PF, NO, PF, PF, NO, NO, G3, G3, NO, NO, NO, NO, NO, NO, MC, MC,
};
/* clang-format on */

/* SDM 2A Table A-3, the two-byte (0F) map. The mandatory prefixes select
 * different instructions of the same shape, except at 78 (VMREAD, or with
 * 66/F2 EXTRQ/INSERTQ with two imm8) and B8 (POPCNT needs F3): insn_check().
 * 0F 0F is 3DNow!, whose imm8 is the real opcode (AMD 3DNow! manual). */
/* clang-format off */
static const uint8_t insn_map_0f[256] = {
	/*      0   1   2   3   4   5   6   7   8   9   A   B   C   D   E   F */
	/* 0 */ M_, M_, M_, M_, XX, NO, NO, NO, NO, NO, XX, NO, XX, M_, NO, MB,
	/* 1 */ M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_,
	/* 2 */ M_, M_, M_, M_, XX, XX, XX, XX, M_, M_, M_, M_, M_, M_, M_, M_,
	/* 3 */ NO, NO, NO, NO, NO, NO, XX, NO, PF, XX, PF, XX, XX, XX, XX, XX,
	/* 4 */ M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_,
	/* 5 */ M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_,
	/* 6 */ M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_,
	/* 7 */ MB, MB, MB, MB, M_, M_, M_, NO, MC, M_, XX, XX, M_, M_, M_, M_,
	/* 8 */ J4, J4, J4, J4, J4, J4, J4, J4, J4, J4, J4, J4, J4, J4, J4, J4,
	/* 9 */ M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_,
	/* A */ PP, PP, NO, M_, MB, M_, XX, XX, PP, PP, NO, M_, MB, M_, M_, M_,
	/* B */ M_, M_, M_, M_, M_, M_, M_, M_, MC, M_, CB, M_, M_, M_, M_, M_,
	/* C */ M_, M_, MB, M_, MB, MB, MB, M_, NO, NO, NO, NO, NO, NO, NO, NO,
	/* D */ M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_,
	/* E */ M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_,
	/* F */ M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_,
};
/* clang-format on */

#undef NO
#undef IB
#undef IW
#undef IZ
#undef IV
#undef MO
#undef J1
#undef J4
#undef M_
#undef MB
#undef MZ
#undef MC
#undef G3
#undef CB
#undef CZ
#undef PP
#undef PB
#undef PW
#undef PZ
#undef MP
#undef EN
#undef XX
#undef PF

/* The bytes being decoded and how far we are. */
struct insn_cursor {
	const uint8_t *code;
	size_t avail;
	uint8_t pos;
};

const char *insn_status_str(enum insn_status status)
{
	switch (status) {
	case INSN_OK:
		return "ok";
	case INSN_ERR_TRUNCATED:
		return "instruction truncated";
	case INSN_ERR_INVALID:
		return "invalid or unknown instruction";
	case INSN_ERR_TOO_LONG:
		return "instruction longer than 15 bytes";
	}
	return "unknown";
}

/* Whether n more bytes exist. Past 15 bytes the instruction is too long
 * whatever the buffer holds, so that is checked first. */
static enum insn_status insn_need(const struct insn_cursor *c, unsigned n)
{
	if (c->pos + n > INSN_MAX_LEN)
		return INSN_ERR_TOO_LONG;
	if (c->pos + n > c->avail)
		return INSN_ERR_TRUNCATED;
	return INSN_OK;
}

static enum insn_status insn_fetch(struct insn_cursor *c, uint8_t *byte)
{
	enum insn_status st = insn_need(c, 1);

	if (st == INSN_OK)
		*byte = c->code[c->pos++];
	return st;
}

/* Steps over a field of n bytes and tells where it starts. */
static enum insn_status insn_skip(struct insn_cursor *c, unsigned n, uint8_t *offset)
{
	enum insn_status st = insn_need(c, n);

	if (st == INSN_OK) {
		*offset = c->pos;
		c->pos += n;
	}
	return st;
}

/* Records a legacy prefix (SDM 2A 2.1.1); false if b is none. */
static bool insn_legacy_prefix(struct insn *in, uint8_t b)
{
	switch (b) {
	case 0x66:
		in->prefixes |= INSN_PFX_OPSIZE;
		return true;
	case 0x67:
		in->prefixes |= INSN_PFX_ADDRSIZE;
		return true;
	case 0xF0:
		in->prefixes |= INSN_PFX_LOCK;
		return true;
	case 0xF2:
	case 0xF3:
		/* Of F2 and F3 the last one counts, as a REP or as the
		 * mandatory prefix of an SSE opcode. */
		in->prefixes |= b == 0xF2 ? INSN_PFX_REPNE : INSN_PFX_REP;
		in->mandatory = b;
		return true;
	case 0x26:
	case 0x2E:
	case 0x36:
	case 0x3E:
	case 0x64:
	case 0x65:
		in->segment = b;
		return true;
	}
	return false;
}

/* Legacy prefixes and REX, in any order; stops before the first other byte.
 * A REX counts only right before the opcode (SDM 2A 2.2.1): one followed by
 * a legacy prefix or by another REX is ignored, though it still takes a byte. */
static enum insn_status insn_prefixes(struct insn_cursor *c, struct insn *in)
{
	for (;;) {
		uint8_t b;
		enum insn_status st = insn_fetch(c, &b);

		if (st != INSN_OK)
			return st;
		if (insn_legacy_prefix(in, b)) {
			in->rex = 0;
		} else if ((b & 0xF0) == 0x40) {
			in->rex = b;
		} else {
			c->pos--;
			in->prefix_len = c->pos - (in->rex ? 1 : 0);
			return INSN_OK;
		}
	}
}

/* VEX map 1 follows the 0F map: ModRM everywhere but VZEROUPPER/VZEROALL
 * (77), an imm8 where the 0F opcode has one (SDM 2A 2.3, Table A-3). */
static uint8_t insn_vex_attr(unsigned map, uint8_t op, bool evex)
{
	if (map == INSN_MAP_0F3A)
		return A_M | OPS_IB;
	if (map != INSN_MAP_0F)
		return A_M;
	if (op == 0x77 && !evex)
		return OPS_NONE;
	if ((op >= 0x70 && op <= 0x73) || op == 0xC2 || (op >= 0xC4 && op <= 0xC6))
		return A_M | OPS_IB;
	return A_M;
}

/* The opcode map a VEX/EVEX prefix selects, or -1 if reserved: VEX.mmmmm
 * 1-3 (SDM 2A 2.3.5, Figure 2-9); EVEX.mmm 1-3, 5 and 6 (AVX512-FP16), with
 * P0 bit 3 clear and P1 bit 2 set (SDM 2A 2.7.1). */
static int insn_vex_map(uint8_t lead, const uint8_t *p)
{
	unsigned map;

	if (lead == 0xC5)
		return INSN_MAP_0F;
	if (lead == 0xC4) {
		map = p[0] & 0x1F;
		return map >= 1 && map <= 3 ? (int)map : -1;
	}
	if ((p[0] & 0x08) || !(p[1] & 0x04))
		return -1;
	map = p[0] & 0x07;
	return map == 4 || map == 7 || map == 0 ? -1 : (int)map;
}

/* C5 (2 bytes), C4 (3 bytes) or EVEX 62 (4 bytes); in 64-bit mode these are
 * never LES, LDS or BOUND. A LOCK, 66, F2, F3 or REX before them is #UD
 * (SDM 2A 2.3.2-2.3.4; EVEX alike, 2.7). */
static enum insn_status insn_vex(struct insn_cursor *c, struct insn *in, uint8_t lead,
				 uint8_t *attr)
{
	static const uint8_t pp_prefix[4] = { 0, 0x66, 0xF3, 0xF2 };
	uint8_t p[3], w;
	int map;
	enum insn_status st;

	if (in->rex ||
	    (in->prefixes & (INSN_PFX_LOCK | INSN_PFX_OPSIZE | INSN_PFX_REP | INSN_PFX_REPNE)))
		return INSN_ERR_INVALID;
	in->vex_len = lead == 0xC5 ? 2 : lead == 0xC4 ? 3 : 4;
	for (unsigned i = 0; i + 1 < in->vex_len; i++) {
		st = insn_fetch(c, &p[i]);
		if (st != INSN_OK)
			return st;
	}
	map = insn_vex_map(lead, p);
	if (map < 0)
		return INSN_ERR_INVALID;
	/* pp (and W, but for C5) are in C5's byte 1, C4's byte 2, EVEX's P1. */
	w = lead == 0xC5 ? p[0] : p[1];
	in->mandatory = pp_prefix[w & 3];
	in->operand_size = (lead != 0xC5 && (w & 0x80)) ? 8 : 4;
	in->map = (uint8_t)map;
	in->opcode_offset = c->pos;
	st = insn_fetch(c, &in->opcode);
	if (st == INSN_OK)
		*attr = insn_vex_attr(in->map, in->opcode, lead == 0x62);
	return st;
}

/* The opcode with its escapes; *attr receives its attributes. */
static enum insn_status insn_opcode(struct insn_cursor *c, struct insn *in, uint8_t *attr)
{
	uint8_t b;
	enum insn_status st = insn_fetch(c, &b);

	if (st != INSN_OK)
		return st;
	if (b == 0xC4 || b == 0xC5 || b == 0x62)
		return insn_vex(c, in, b, attr);
	if (b != 0x0F) {
		/* In the one-byte map F2/F3 are REP prefixes, not opcode selectors. */
		in->mandatory = 0;
		in->map = INSN_MAP_ONE;
		in->opcode = b;
		in->opcode_offset = c->pos - 1;
		*attr = insn_map_one[b];
		return INSN_OK;
	}
	if (!in->mandatory && (in->prefixes & INSN_PFX_OPSIZE))
		in->mandatory = 0x66;
	st = insn_fetch(c, &b);
	if (st != INSN_OK)
		return st;
	if (b != 0x38 && b != 0x3A) {
		in->map = INSN_MAP_0F;
		in->opcode = b;
		in->opcode_offset = c->pos - 1;
		*attr = insn_map_0f[b];
		return INSN_OK;
	}
	/* SDM 2A A.3: every 0F 38 opcode has a ModRM, every 0F 3A one an imm8 too. */
	in->map = b == 0x38 ? INSN_MAP_0F38 : INSN_MAP_0F3A;
	*attr = b == 0x38 ? A_M : (A_M | OPS_IB);
	in->opcode_offset = c->pos;
	return insn_fetch(c, &in->opcode);
}

/* SDM 2A 2.2.1.2: REX.W wins over 66; "d64" opcodes are 64-bit unless 66. */
static uint8_t insn_operand_size(const struct insn *in, uint8_t attr)
{
	if (in->rex & INSN_REX_W)
		return 8;
	if (in->prefixes & INSN_PFX_OPSIZE)
		return 2;
	return (attr & A_D64) ? 8 : 4;
}

/* MOV to/from control and debug registers (0F 20-23) ignore ModRM.mod and
 * always name a register (SDM 2B MOV-Move to/from Control Registers). */
static bool insn_modrm_reg_only(const struct insn *in)
{
	return in->map == INSN_MAP_0F && !in->vex_len && (in->opcode & 0xFC) == 0x20;
}

/* ModRM, SIB and displacement with 64-bit (or, with 67, 32-bit) addressing,
 * which share one format (SDM 2A 2.1.5 Tables 2-2 and 2-3, 2.2.1.6). */
static enum insn_status insn_modrm(struct insn_cursor *c, struct insn *in)
{
	uint8_t mod, disp;
	enum insn_status st;

	in->has_modrm = true;
	in->modrm_offset = c->pos;
	st = insn_fetch(c, &in->modrm);
	mod = in->modrm >> 6;
	if (st != INSN_OK || mod == 3 || insn_modrm_reg_only(in))
		return st;
	disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if ((in->modrm & 7) == 4) {
		in->has_sib = true;
		st = insn_fetch(c, &in->sib);
		/* SIB base 101 with mod 00: no base, disp32. */
		if (mod == 0 && (in->sib & 7) == 5)
			disp = 4;
	} else if (mod == 0 && (in->modrm & 7) == 5) {
		/* In 64-bit mode mod 00 rm 101 is RIP-relative (SDM 2A 2.2.1.6). */
		in->rip_relative = true;
		disp = 4;
	}
	if (st != INSN_OK || !disp)
		return st;
	in->disp_size = disp;
	return insn_skip(c, disp, &in->disp_offset);
}

/* C6/C7 (group 11): /0 is MOV r/m, imm; the only other encodings are
 * C6 F8 XABORT imm8 and C7 F8 XBEGIN rel (SDM 2A Table A-6, 2D XBEGIN). */
static enum insn_status insn_check_grp11(const struct insn *in, uint8_t *attr)
{
	if (((in->modrm >> 3) & 7) == 0)
		return INSN_OK;
	if (in->modrm != 0xF8)
		return INSN_ERR_INVALID;
	if (in->opcode == 0xC7)
		*attr = (uint8_t)((*attr & ~A_OPS) | OPS_XBEGIN);
	return INSN_OK;
}

/* FF (group 5): /7 is reserved, far CALL/JMP (/3, /5) need memory; near
 * CALL/JMP (/2, /4) are 64-bit and PUSH (/6) "d64" (SDM 2A Table A-6). */
static enum insn_status insn_check_grp5(struct insn *in)
{
	uint8_t reg = (in->modrm >> 3) & 7;

	if (reg == 7 || ((reg == 3 || reg == 5) && (in->modrm >> 6) == 3))
		return INSN_ERR_INVALID;
	if (reg == 2 || reg == 4)
		in->operand_size = 8;
	else if (reg == 6)
		in->operand_size = insn_operand_size(in, A_D64);
	return INSN_OK;
}

/* 0F map entries whose validity or immediates depend on a prefix or ModRM. */
static enum insn_status insn_check_0f(const struct insn *in, uint8_t *attr)
{
	uint8_t reg = (in->modrm >> 3) & 7;

	switch (in->opcode) {
	case 0x78:
		/* 66: EXTRQ xmm, imm8, imm8; F2: INSERTQ xmm, xmm, imm8, imm8
		 * (AMD SSE4a, register forms only). Without a prefix: VMREAD.
		 * F3 0F 78 is neither: VMREAD is NP (#UD with F3, SDM 3C
		 * VMREAD) and AMD assigns no F3 form. With a 66 as well, LLVM
		 * reads a 2-immediate EXTRQ where this read a VMREAD: its
		 * length would be a guess, so it is refused (found by
		 * tests/fuzz/fuzz_insn). */
		if (in->mandatory == 0xF3)
			return INSN_ERR_INVALID;
		if (in->mandatory != 0x66 && in->mandatory != 0xF2)
			return INSN_OK;
		if ((in->modrm >> 6) != 3 || (in->mandatory == 0x66 && reg != 0))
			return INSN_ERR_INVALID;
		*attr = (uint8_t)((*attr & ~A_OPS) | OPS_IB_IB);
		return INSN_OK;
	case 0xB8:
		/* POPCNT is F3 0F B8; without F3 it is JMPE, not in 64-bit mode. */
		return in->mandatory == 0xF3 ? INSN_OK : INSN_ERR_INVALID;
	case 0xBA:
		/* Group 8: only /4../7 (BT, BTS, BTR, BTC) exist. */
		return reg >= 4 ? INSN_OK : INSN_ERR_INVALID;
	}
	return INSN_OK;
}

/* Opcodes marked A_CHK: validity and operands by ModRM.reg or prefix. */
static enum insn_status insn_check(struct insn *in, uint8_t *attr)
{
	uint8_t mod = in->modrm >> 6, reg = (in->modrm >> 3) & 7;

	if (in->map == INSN_MAP_0F)
		return insn_check_0f(in, attr);
	switch (in->opcode) {
	case 0x8D:
		/* LEA of a register is #UD. */
		return mod == 3 ? INSN_ERR_INVALID : INSN_OK;
	case 0x8F:
		/* Only /0 (POP r/m) exists; AMD's XOP uses the others. */
		return reg == 0 ? INSN_OK : INSN_ERR_INVALID;
	case 0xC6:
	case 0xC7:
		return insn_check_grp11(in, attr);
	case 0xFE:
		/* Group 4: INC and DEC r/m8 only. */
		return reg < 2 ? INSN_OK : INSN_ERR_INVALID;
	case 0xFF:
		return insn_check_grp5(in);
	}
	return INSN_OK;
}

/* LOCK is #UD but on a memory destination of ADD ADC AND BTC BTR BTS
 * CMPXCHG CMPXCHG8B/16B DEC INC NEG NOT OR SBB SUB XOR XADD XCHG
 * (SDM 2A LOCK). */
static bool insn_lockable(const struct insn *in)
{
	uint8_t op = in->opcode, reg = (in->modrm >> 3) & 7;

	if (!in->has_modrm || (in->modrm >> 6) == 3 || in->vex_len)
		return false;
	if (in->map == INSN_MAP_0F)
		return op == 0xAB || op == 0xB3 || op == 0xBB || op == 0xB0 || op == 0xB1 ||
		       op == 0xC0 || op == 0xC1 || (op == 0xBA && reg >= 5) ||
		       (op == 0xC7 && reg == 1);
	if (in->map != INSN_MAP_ONE)
		return false;
	switch (op) {
	case 0x80:
	case 0x81:
	case 0x83:
		return reg != 7; /* not CMP */
	case 0x86:
	case 0x87:
		return true;
	case 0xF6:
	case 0xF7:
		return reg == 2 || reg == 3;
	case 0xFE:
	case 0xFF:
		return reg < 2;
	}
	/* ADD OR ADC SBB AND SUB XOR r/m, r: 00 01 08 09 ... 30 31. */
	return op < 0x38 && (op & 7) < 2;
}

static enum insn_status insn_imm(struct insn_cursor *c, struct insn *in, uint8_t size,
				 uint8_t size2)
{
	in->imm_size = size;
	in->imm2_size = size2;
	return insn_skip(c, size + size2, &in->imm_offset);
}

static enum insn_status insn_rel(struct insn_cursor *c, struct insn *in, uint8_t size)
{
	in->rel_branch = true;
	in->rel_size = size;
	in->operand_size = 8;
	return insn_skip(c, size, &in->rel_offset);
}

/* Immediates and relative branch operands: the last bytes of the instruction. */
static enum insn_status insn_operands(struct insn_cursor *c, struct insn *in, uint8_t attr)
{
	switch (attr & A_OPS) {
	case OPS_IB:
		return insn_imm(c, in, 1, 0);
	case OPS_IW:
		return insn_imm(c, in, 2, 0);
	case OPS_IZ:
		return insn_imm(c, in, in->operand_size == 2 ? 2 : 4, 0);
	case OPS_IV:
		return insn_imm(c, in, in->operand_size, 0);
	case OPS_MOFFS:
		return insn_imm(c, in, in->address_size, 0);
	case OPS_IW_IB:
		return insn_imm(c, in, 2, 1);
	case OPS_IB_IB:
		return insn_imm(c, in, 1, 1);
	case OPS_GRP3:
		if (((in->modrm >> 3) & 7) >= 2)
			return INSN_OK;
		return insn_imm(c, in, !(in->opcode & 1) ? 1 : in->operand_size == 2 ? 2 : 4, 0);
	case OPS_REL8:
		return insn_rel(c, in, 1);
	case OPS_REL32:
		return insn_rel(c, in, 4);
	case OPS_XBEGIN:
		/* rel16 only with a 16-bit operand size: REX.W wins over 66
		 * (SDM 2A 2.2.1.2), so 66 REX.W C7 F8 takes a rel32 (found by
		 * tests/fuzz/fuzz_insn: the prefix alone gave rel16). */
		return insn_rel(c, in, in->operand_size == 2 ? 2 : 4);
	}
	return INSN_OK;
}

/* Everything after the opcode, once its attributes are known. */
static enum insn_status insn_body(struct insn_cursor *c, struct insn *in, uint8_t attr)
{
	enum insn_status st = INSN_OK;

	if (attr & A_BAD)
		return INSN_ERR_INVALID;
	in->address_size = (in->prefixes & INSN_PFX_ADDRSIZE) ? 4 : 8;
	if (!in->vex_len)
		in->operand_size = insn_operand_size(in, attr);
	if (attr & A_M)
		st = insn_modrm(c, in);
	if (st == INSN_OK && (attr & A_CHK))
		st = insn_check(in, &attr);
	if (st == INSN_OK && (in->prefixes & INSN_PFX_LOCK) && !insn_lockable(in))
		st = INSN_ERR_INVALID;
	if (st == INSN_OK)
		st = insn_operands(c, in, attr);
	return st;
}

enum insn_status insn_decode(const uint8_t *code, size_t avail, struct insn *out)
{
	struct insn_cursor c = { .code = code, .avail = avail, .pos = 0 };
	uint8_t attr = 0;
	enum insn_status st;

	memset(out, 0, sizeof(*out));
	st = insn_prefixes(&c, out);
	if (st == INSN_OK)
		st = insn_opcode(&c, out, &attr);
	if (st == INSN_OK)
		st = insn_body(&c, out, attr);
	if (st != INSN_OK) {
		memset(out, 0, sizeof(*out));
		return st;
	}
	out->length = c.pos;
	return INSN_OK;
}
