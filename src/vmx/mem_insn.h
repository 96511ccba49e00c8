/* Decoding the few instructions that move data between a register or an
 * immediate and memory, in 16-, 32- and 64-bit code: what root mode needs
 * to finish, by emulation, a guest access that an EPT violation stopped
 * (the local APIC's registers, memory hidden from a boot-time guest). The
 * violation gives the address; this gives the direction, the size, the
 * register or immediate and the length. Anything else is refused, never
 * guessed (SDM 2A chapter 2 for the encodings, 2B for MOV, MOVZX, MOVSX,
 * XCHG). Pure and freestanding. */
#ifndef MARROW_VMX_MEM_INSN_H
#define MARROW_VMX_MEM_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mem_insn_kind {
	MEM_LOAD,      /* register <- memory (MOV, MOVZX, MOVSX, MOV AL/eAX <- moffs) */
	MEM_STORE,     /* memory <- register (MOV, MOV moffs <- AL/eAX) */
	MEM_STORE_IMM, /* memory <- immediate (MOV r/m, imm) */
	MEM_XCHG,      /* both: memory <- register, register <- old memory */
};

enum mem_extend { EXTEND_NONE, EXTEND_ZERO, EXTEND_SIGN };

struct mem_insn {
	uint8_t length;	  /* bytes, prefixes included */
	uint8_t kind;	  /* enum mem_insn_kind */
	uint8_t size;	  /* bytes of memory accessed: 1, 2, 4 or 8 */
	uint8_t reg;	  /* the GPR (0 RAX ... 15 R15), for all but MEM_STORE_IMM */
	bool high_byte;	  /* the register is AH, CH, DH or BH (reg 0-3 bits 15:8) */
	uint8_t reg_size; /* MEM_LOAD: bytes of the register written (MOVZX/MOVSX: 2, 4, 8) */
	uint8_t extend;	  /* MEM_LOAD: enum mem_extend */
	uint64_t imm;	  /* MEM_STORE_IMM: the value, sign-extended to size */
};

enum mem_insn_status {
	MEM_INSN_OK = 0,
	MEM_INSN_TRUNCATED,   /* the bytes end inside the instruction */
	MEM_INSN_UNSUPPORTED, /* not one of the instructions above, or no memory operand */
};

/* code_bits: 16, 32 or 64, the code segment's default (CS.D, CS.L). */
enum mem_insn_status mem_insn_decode(const uint8_t *code, size_t avail, unsigned code_bits,
				     struct mem_insn *out);

/* The value a register holds as the instruction reads it (size bytes of
 * reg, or the high byte). */
uint64_t mem_insn_reg_value(const struct mem_insn *in, uint64_t reg);
/* The register after a MEM_LOAD (or MEM_XCHG) of value: extended as the
 * instruction does; a 32-bit write clears bits 63:32, 8- and 16-bit
 * writes keep the other bits (SDM 1 3.4.1.1). */
uint64_t mem_insn_reg_result(const struct mem_insn *in, uint64_t old, uint64_t value);

#endif
