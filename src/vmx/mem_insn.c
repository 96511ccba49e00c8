#include "mem_insn.h"

/* Prefix groups (SDM 2A 2.1.1): LOCK and REP are refused (LOCK MOV is #UD,
 * REP with these is undefined, LOCK XCHG locks anyway and needs nothing). */
#define PFX_OPSIZE 0x66
#define PFX_ADDRSIZE 0x67
#define PFX_LOCK 0xf0

struct decoder {
	const uint8_t *code;
	size_t avail, at;
	unsigned code_bits;
	unsigned op_size, addr_size;
	uint8_t rex;
	bool truncated;
};

static uint8_t next(struct decoder *d)
{
	if (d->at >= d->avail || d->at >= 15) {
		d->truncated = true;
		return 0;
	}
	return d->code[d->at++];
}

static uint64_t take_le(struct decoder *d, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)next(d) << (8 * i);
	return v;
}

static bool is_segment_prefix(uint8_t b)
{
	return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65;
}

/* Legacy prefixes, then a REX in 64-bit code (which must come last). */
static bool prefixes(struct decoder *d, bool *opsize, bool *addrsize, uint8_t *first_opcode)
{
	for (;;) {
		uint8_t b = next(d);
		if (d->truncated)
			return false;
		if (b == PFX_OPSIZE)
			*opsize = true;
		else if (b == PFX_ADDRSIZE)
			*addrsize = true;
		else if (is_segment_prefix(b))
			continue;
		else if (b == PFX_LOCK || b == 0xf2 || b == 0xf3)
			return false;
		else if (d->code_bits == 64 && (b & 0xf0) == 0x40) {
			d->rex = b;
			*first_opcode = next(d);
			return !d->truncated;
		} else {
			*first_opcode = b;
			return true;
		}
	}
}

static void sizes(struct decoder *d, bool opsize, bool addrsize)
{
	if (d->code_bits == 16) {
		d->op_size = opsize ? 4 : 2;
		d->addr_size = addrsize ? 4 : 2;
	} else {
		d->op_size = (d->rex & 0x08) ? 8 : opsize ? 2 : 4;
		d->addr_size = d->code_bits == 64 ? (addrsize ? 4 : 8) : (addrsize ? 2 : 4);
	}
}

/* Skips ModRM's memory operand (SIB, displacement); false when it names a
 * register (mod 3) or the bytes run out. */
static bool memory_operand(struct decoder *d, uint8_t modrm)
{
	unsigned mod = modrm >> 6, rm = modrm & 7;

	if (mod == 3)
		return false;
	if (d->addr_size == 2) { /* SDM 2A table 2-1 */
		unsigned disp = mod == 1 ? 1 : mod == 2 ? 2 : (rm == 6 ? 2 : 0);
		take_le(d, disp);
		return !d->truncated;
	}
	unsigned disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (rm == 4) { /* a SIB byte (table 2-3) */
		uint8_t sib = next(d);
		if (mod == 0 && (sib & 7) == 5)
			disp = 4;
	} else if (mod == 0 && rm == 5) {
		disp = 4; /* disp32, RIP-relative in 64-bit code */
	}
	take_le(d, disp);
	return !d->truncated;
}

static void set_reg(struct decoder *d, struct mem_insn *out, uint8_t modrm, unsigned size)
{
	out->reg = (uint8_t)(((modrm >> 3) & 7) | ((d->rex & 0x04) ? 8 : 0));
	/* Without REX, 8-bit registers 4-7 are AH, CH, DH, BH (SDM 2A 2.2.1.2). */
	out->high_byte = size == 1 && !d->rex && out->reg >= 4;
	if (out->high_byte)
		out->reg -= 4;
}

static enum mem_insn_status modrm_form(struct decoder *d, struct mem_insn *out, uint8_t op)
{
	uint8_t modrm = next(d);
	unsigned size = (op & 1) ? d->op_size : 1;

	if (d->truncated)
		return MEM_INSN_TRUNCATED;
	if ((op == 0xc6 || op == 0xc7) && ((modrm >> 3) & 7) != 0)
		return MEM_INSN_UNSUPPORTED; /* C6/C7 /0 only */
	if (!memory_operand(d, modrm))
		return d->truncated ? MEM_INSN_TRUNCATED : MEM_INSN_UNSUPPORTED;
	out->size = (uint8_t)size;
	switch (op) {
	case 0x88:
	case 0x89:
		out->kind = MEM_STORE;
		break;
	case 0x8a:
	case 0x8b:
		out->kind = MEM_LOAD;
		out->reg_size = (uint8_t)size;
		break;
	case 0x86:
	case 0x87:
		out->kind = MEM_XCHG;
		out->reg_size = (uint8_t)size;
		break;
	default: { /* C6, C7: the immediate is at most 32 bits, sign-extended */
		unsigned imm = size > 4 ? 4 : size;
		uint64_t v = take_le(d, imm);
		if ((v >> (8 * imm - 1)) & 1)
			v |= ~0ull << (8 * imm);
		out->kind = MEM_STORE_IMM;
		out->imm = size == 8 ? v : v & ((1ull << (8 * size)) - 1);
		return d->truncated ? MEM_INSN_TRUNCATED : MEM_INSN_OK;
	}
	}
	set_reg(d, out, modrm, size);
	return MEM_INSN_OK;
}

/* 0F B6/B7 (MOVZX), 0F BE/BF (MOVSX): a 1- or 2-byte load extended into
 * the operand-size register. */
static enum mem_insn_status movx(struct decoder *d, struct mem_insn *out)
{
	uint8_t op = next(d);

	if (d->truncated)
		return MEM_INSN_TRUNCATED;
	if (op != 0xb6 && op != 0xb7 && op != 0xbe && op != 0xbf)
		return MEM_INSN_UNSUPPORTED;
	uint8_t modrm = next(d);
	if (d->truncated)
		return MEM_INSN_TRUNCATED;
	if (!memory_operand(d, modrm))
		return d->truncated ? MEM_INSN_TRUNCATED : MEM_INSN_UNSUPPORTED;
	out->kind = MEM_LOAD;
	out->size = (op & 1) ? 2 : 1;
	out->reg_size = (uint8_t)d->op_size;
	out->extend = op >= 0xbe ? EXTEND_SIGN : EXTEND_ZERO;
	set_reg(d, out, modrm, d->op_size);
	return MEM_INSN_OK;
}

/* A0-A3: AL/eAX and a memory offset of the address size. */
static enum mem_insn_status moffs(struct decoder *d, struct mem_insn *out, uint8_t op)
{
	unsigned size = (op & 1) ? d->op_size : 1;

	take_le(d, d->addr_size);
	if (d->truncated)
		return MEM_INSN_TRUNCATED;
	out->kind = op >= 0xa2 ? MEM_STORE : MEM_LOAD;
	out->size = (uint8_t)size;
	out->reg_size = (uint8_t)size;
	out->reg = 0;
	return MEM_INSN_OK;
}

enum mem_insn_status mem_insn_decode(const uint8_t *code, size_t avail, unsigned code_bits,
				     struct mem_insn *out)
{
	struct decoder d = { .code = code, .avail = avail, .code_bits = code_bits };
	bool opsize = false, addrsize = false;
	uint8_t op = 0;
	enum mem_insn_status s;

	*out = (struct mem_insn){ 0 };
	if (code_bits != 16 && code_bits != 32 && code_bits != 64)
		return MEM_INSN_UNSUPPORTED;
	if (!prefixes(&d, &opsize, &addrsize, &op))
		return d.truncated ? MEM_INSN_TRUNCATED : MEM_INSN_UNSUPPORTED;
	sizes(&d, opsize, addrsize);
	switch (op) {
	case 0x86:
	case 0x87:
	case 0x88:
	case 0x89:
	case 0x8a:
	case 0x8b:
	case 0xc6:
	case 0xc7:
		s = modrm_form(&d, out, op);
		break;
	case 0x0f:
		s = movx(&d, out);
		break;
	case 0xa0:
	case 0xa1:
	case 0xa2:
	case 0xa3:
		s = moffs(&d, out, op);
		break;
	default:
		return MEM_INSN_UNSUPPORTED;
	}
	if (s == MEM_INSN_OK && d.truncated)
		s = MEM_INSN_TRUNCATED;
	if (s != MEM_INSN_OK) {
		*out = (struct mem_insn){ 0 };
		return s;
	}
	out->length = (uint8_t)d.at;
	return MEM_INSN_OK;
}

static uint64_t mask(unsigned bytes)
{
	return bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
}

uint64_t mem_insn_reg_value(const struct mem_insn *in, uint64_t reg)
{
	if (in->high_byte)
		return (reg >> 8) & 0xff;
	return reg & mask(in->size);
}

uint64_t mem_insn_reg_result(const struct mem_insn *in, uint64_t old, uint64_t value)
{
	value &= mask(in->size);
	if (in->extend == EXTEND_SIGN && ((value >> (8 * in->size - 1)) & 1))
		value |= ~mask(in->size);
	if (in->high_byte)
		return (old & ~0xff00ull) | (value & 0xff) << 8;
	switch (in->reg_size) {
	case 8:
		return value;
	case 4:
		return value & 0xffffffffull;
	default:
		return (old & ~mask(in->reg_size)) | (value & mask(in->reg_size));
	}
}
