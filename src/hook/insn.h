/* The x86-64 instruction-length decoder: for one instruction of 64-bit mode
 * code it reports the length and where each part of the encoding lies
 * (prefixes, REX/VEX/EVEX, opcode, ModRM, SIB, displacement, immediates),
 * whether the instruction addresses memory RIP-relative and whether it is a
 * relative branch. Inline hooks use it to copy whole instructions into a
 * trampoline and to relocate the RIP-relative displacements and relative
 * branch operands found there.
 *
 * It decodes lengths, not meanings: it never guesses. An opcode that does not
 * exist in 64-bit mode (SDM 2A Appendix A, "i64" and reserved entries), an
 * encoding Intel defines as #UD for a reason visible in the bytes (a LOCK on
 * an instruction that cannot be locked, a REX or 66/F2/F3 before VEX), an
 * instruction longer than 15 bytes (SDM 2A 2.3.11) or a buffer that ends
 * inside the instruction is an error. Freestanding: no C library. */
#ifndef MARROW_HOOK_INSN_H
#define MARROW_HOOK_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SDM 2A 2.3.11: the processor refuses instructions longer than this. */
#define INSN_MAX_LEN 15

enum insn_status {
	INSN_OK = 0,
	INSN_ERR_TRUNCATED, /* the buffer ends inside the instruction */
	INSN_ERR_INVALID,   /* #UD in 64-bit mode, or an encoding we do not know */
	INSN_ERR_TOO_LONG,  /* more than INSN_MAX_LEN bytes */
};

/* Opcode maps, numbered as VEX.mmmmm and EVEX.mmm number them (SDM 2A 2.3.5
 * Figure 2-9, 2.7.1), with 0 for the one-byte map. */
enum insn_map {
	INSN_MAP_ONE = 0,  /* one-byte opcodes */
	INSN_MAP_0F = 1,   /* 0F xx */
	INSN_MAP_0F38 = 2, /* 0F 38 xx */
	INSN_MAP_0F3A = 3, /* 0F 3A xx */
	INSN_MAP_5 = 5,	   /* EVEX map 5 (AVX512-FP16) */
	INSN_MAP_6 = 6,	   /* EVEX map 6 (AVX512-FP16) */
};

/* struct insn.prefixes: legacy prefixes present (SDM 2A 2.1.1). */
#define INSN_PFX_OPSIZE 0x01   /* 66 */
#define INSN_PFX_ADDRSIZE 0x02 /* 67 */
#define INSN_PFX_LOCK 0x04     /* F0 */
#define INSN_PFX_REP 0x08      /* F3 */
#define INSN_PFX_REPNE 0x10    /* F2 */

/* Bits of struct insn.rex (SDM 2A 2.2.1.2). */
#define INSN_REX_W 0x08
#define INSN_REX_R 0x04
#define INSN_REX_X 0x02
#define INSN_REX_B 0x01

/* Every offset is from the instruction's first byte. A field whose size is 0
 * (or whose has_ flag is false) is absent and its offset is 0. */
struct insn {
	uint8_t length;	    /* total bytes, 1..INSN_MAX_LEN */
	uint8_t prefix_len; /* legacy prefix bytes at offset 0, with any ignored REX among them */
	uint8_t prefixes;   /* INSN_PFX_* */
	uint8_t segment;    /* the last segment override (26 2E 36 3E 64 65), or 0 */
	uint8_t mandatory;  /* 66, F2, F3 selecting a 0F-map or VEX opcode, or 0 */
	uint8_t rex;	    /* the REX byte in effect (40..4F) at offset prefix_len, or 0 */
	uint8_t vex_len;    /* 0, 2 (C5), 3 (C4) or 4 (EVEX 62), at offset prefix_len */
	uint8_t map;	    /* enum insn_map */
	uint8_t opcode;	    /* the opcode byte within its map */
	uint8_t opcode_offset;
	bool has_modrm;
	uint8_t modrm;
	uint8_t modrm_offset;
	bool has_sib; /* the SIB byte is at modrm_offset + 1 */
	uint8_t sib;
	uint8_t disp_offset;
	uint8_t disp_size; /* 0, 1 or 4 */
	uint8_t imm_offset;
	uint8_t imm_size;  /* 0, 1, 2, 4 or 8 */
	uint8_t imm2_size; /* a second immediate right after the first (ENTER, EXTRQ), or 0 */
	bool rip_relative; /* ModRM mod=00 rm=101: disp_offset holds the 32-bit displacement */
	bool rel_branch;   /* JMP/Jcc/CALL/LOOPcc/JrCXZ/XBEGIN with a relative operand */
	uint8_t rel_offset;
	uint8_t rel_size;     /* 1, 2 (XBEGIN with 66) or 4 */
	uint8_t operand_size; /* effective operand size in bytes: 2, 4 or 8 (byte forms not told) */
	uint8_t address_size; /* effective address size in bytes: 4 (with 67) or 8 */
};

/* Decodes the instruction at code, of which avail bytes may be read (fewer
 * than INSN_MAX_LEN is fine). On INSN_OK *out describes it; on an error *out
 * is zeroed. Never reads beyond code[avail - 1] or code[INSN_MAX_LEN - 1]. */
enum insn_status insn_decode(const uint8_t *code, size_t avail, struct insn *out);

const char *insn_status_str(enum insn_status status);

#endif
