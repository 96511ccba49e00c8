/* Emulating, in root mode, the guest instruction an EPT violation stopped
 * (mem_insn.h lists which): fetch it from the guest's RIP through the
 * guest's own segments and page tables, decode it, read its source, write
 * its result, move past it. Root-safe. */
#ifndef MARROW_VMX_EMULATE_H
#define MARROW_VMX_EMULATE_H

#include <stdbool.h>
#include <stdint.h>

#include "mem_insn.h"

struct exit_ctx;

struct emul {
	struct mem_insn insn;
	uint8_t bytes[15];
	uint8_t fetched;    /* bytes read from the guest */
	unsigned code_bits; /* 16, 32 or 64 */
	uint64_t rip;
};

/* Fetches and decodes the instruction at the guest's RIP. False when it
 * cannot be fetched or is not one mem_insn_decode knows (e->fetched tells
 * which, and e->bytes hold what was read, for the diagnostic). */
bool emul_decode(struct exit_ctx *c, struct emul *e);

/* What a MEM_STORE, MEM_STORE_IMM or MEM_XCHG writes to memory. */
uint64_t emul_store_value(const struct exit_ctx *c, const struct emul *e);
/* A MEM_LOAD's or MEM_XCHG's register gets value (memory's, size bytes). */
void emul_load(struct exit_ctx *c, const struct emul *e, uint64_t value);
/* The instruction is done. */
void emul_skip(const struct emul *e);

/* "88 a7 12 ..." for diagnostics. */
void emul_bytes_text(const struct emul *e, char *buf, unsigned size);

#endif
