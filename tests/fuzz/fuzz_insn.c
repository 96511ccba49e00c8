/* libFuzzer harness: the x86-64 instruction-length decoder
 * (src/hook/insn.c).
 *
 * The input is code; the instruction at its start is decoded from every
 * prefix of the input (0 to 16 bytes), each an exact-size heap copy, so that
 * ASan sees any read past avail. Checked:
 *  - as bytes are added the status goes TRUNCATED, ..., TRUNCATED, then one
 *    answer that no further byte changes; an instruction decodes first with
 *    exactly its length available; 15 bytes are always enough to decide;
 *  - on an error the output is zeroed;
 *  - the fields of a decoded instruction agree with its bytes and with each
 *    other (every part inside it in encoding order; the prefix flags, the
 *    segment, REX, VEX/EVEX, the escapes and the opcode where they say; the
 *    displacement size from ModRM and SIB; RIP-relative exactly for ModRM
 *    mod=00 rm=101; branch operands and immediates last);
 *  - the same instruction followed by other bytes decodes the same;
 *  - its length is the one LLVM's disassembler gives (llvm_x86.c), except
 *    where LLVM 14 is known to depart from the SDM (llvm_comparable). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "fuzz/llvm_x86.h"
#include "hook/insn.h"

#define MAX_AVAIL 16

static bool is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x66:
	case 0x67:
	case 0xF0:
	case 0xF2:
	case 0xF3:
	case 0x26:
	case 0x2E:
	case 0x36:
	case 0x3E:
	case 0x64:
	case 0x65:
		return true;
	}
	return false;
}

static bool is_rex(uint8_t b)
{
	return (b & 0xF0) == 0x40;
}

/* The prefix flags and segment the prefix bytes [0, n) stand for. */
static void prefixes_of(const uint8_t *c, unsigned n, uint8_t *flags, uint8_t *segment)
{
	*flags = 0;
	*segment = 0;
	for (unsigned i = 0; i < n; i++) {
		switch (c[i]) {
		case 0x66:
			*flags |= INSN_PFX_OPSIZE;
			break;
		case 0x67:
			*flags |= INSN_PFX_ADDRSIZE;
			break;
		case 0xF0:
			*flags |= INSN_PFX_LOCK;
			break;
		case 0xF2:
			*flags |= INSN_PFX_REPNE;
			break;
		case 0xF3:
			*flags |= INSN_PFX_REP;
			break;
		case 0x26:
		case 0x2E:
		case 0x36:
		case 0x3E:
		case 0x64:
		case 0x65:
			*segment = c[i];
			break;
		}
	}
}

/* Prefixes, REX, VEX/EVEX and the escape bytes before the opcode. */
static void check_lead(const struct insn *in, const uint8_t *c)
{
	uint8_t flags, segment;

	for (unsigned i = 0; i < in->prefix_len; i++)
		FUZZ_CHECK(is_legacy_prefix(c[i]) || is_rex(c[i]), "byte %u (%02x) in the prefixes",
			   i, c[i]);
	prefixes_of(c, in->prefix_len, &flags, &segment);
	FUZZ_CHECK(flags == in->prefixes && segment == in->segment,
		   "prefixes %02x segment %02x, the bytes say %02x %02x", in->prefixes, in->segment,
		   flags, segment);
	unsigned at = in->prefix_len;
	if (in->rex) {
		FUZZ_CHECK(is_rex(in->rex) && c[at] == in->rex && !in->vex_len, "REX %02x at %u",
			   in->rex, at);
		at++;
	}
	if (in->vex_len) {
		static const uint8_t lead_of_len[5] = { 0, 0, 0xC5, 0xC4, 0x62 };
		FUZZ_CHECK(in->vex_len >= 2 && in->vex_len <= 4 &&
				   c[at] == lead_of_len[in->vex_len],
			   "VEX length %u, lead %02x", in->vex_len, c[at]);
		FUZZ_CHECK(!(in->prefixes &
			     (INSN_PFX_LOCK | INSN_PFX_OPSIZE | INSN_PFX_REP | INSN_PFX_REPNE)),
			   "LOCK, 66, F2 or F3 before VEX");
		FUZZ_CHECK(in->opcode_offset == at + in->vex_len, "opcode at %u after VEX at %u",
			   in->opcode_offset, at);
		FUZZ_CHECK(in->map >= INSN_MAP_0F && in->map <= INSN_MAP_6 && in->map != 4,
			   "VEX map %u", in->map);
		return;
	}
	static const uint8_t escapes[4][2] = { { 0 }, { 0x0F }, { 0x0F, 0x38 }, { 0x0F, 0x3A } };
	unsigned esc = in->map == INSN_MAP_ONE ? 0 : in->map == INSN_MAP_0F ? 1 : 2;
	FUZZ_CHECK(in->map <= INSN_MAP_0F3A, "map %u without VEX", in->map);
	FUZZ_CHECK(in->opcode_offset == at + esc && !memcmp(c + at, escapes[in->map], esc),
		   "opcode at %u, map %u, after the prefixes at %u", in->opcode_offset, in->map,
		   at);
	if (in->map == INSN_MAP_ONE)
		FUZZ_CHECK(in->mandatory == 0, "mandatory prefix %02x in the one-byte map",
			   in->mandatory);
}

/* ModRM, SIB, displacement, immediates, branch operand: back to back after
 * the opcode, up to the end. */
static void check_body(const struct insn *in, const uint8_t *c)
{
	unsigned end = in->opcode_offset + 1u;
	uint8_t mod = in->modrm >> 6, rm = in->modrm & 7;
	/* MOV to/from CR/DR: ModRM names registers whatever mod says. */
	bool reg_only = in->map == INSN_MAP_0F && !in->vex_len && (in->opcode & 0xFC) == 0x20;

	if (in->has_modrm) {
		FUZZ_CHECK(in->modrm_offset == end && c[end] == in->modrm, "ModRM at %u",
			   in->modrm_offset);
		end++;
		bool sib = !reg_only && mod != 3 && rm == 4;
		FUZZ_CHECK(in->has_sib == sib, "SIB %d for ModRM %02x", in->has_sib, in->modrm);
		if (sib) {
			FUZZ_CHECK(c[end] == in->sib, "SIB byte");
			end++;
		}
		unsigned disp = reg_only || mod == 3			 ? 0
				: mod == 1				 ? 1
				: mod == 2				 ? 4
				: rm == 5 || (sib && (in->sib & 7) == 5) ? 4
									 : 0;
		FUZZ_CHECK(in->disp_size == disp, "displacement of %u bytes, ModRM %02x SIB %02x",
			   in->disp_size, in->modrm, in->sib);
		FUZZ_CHECK(in->rip_relative == (!reg_only && mod == 0 && rm == 5),
			   "rip_relative %d for ModRM %02x", in->rip_relative, in->modrm);
	} else {
		FUZZ_CHECK(!in->has_sib && !in->disp_size && !in->rip_relative && !in->modrm,
			   "SIB, displacement or RIP-relative without ModRM");
	}
	if (in->disp_size) {
		FUZZ_CHECK(in->disp_offset == end, "displacement at %u, not %u", in->disp_offset,
			   end);
		end += in->disp_size;
	}
	if (in->imm_size) {
		FUZZ_CHECK((in->imm_size == 1 || in->imm_size == 2 || in->imm_size == 4 ||
			    in->imm_size == 8) &&
				   in->imm2_size <= 1 && in->imm_offset == end,
			   "immediate of %u+%u bytes at %u", in->imm_size, in->imm2_size,
			   in->imm_offset);
		end += in->imm_size + in->imm2_size;
	} else {
		FUZZ_CHECK(!in->imm2_size && !in->imm_offset, "a second immediate alone");
	}
	if (in->rel_branch) {
		FUZZ_CHECK((in->rel_size == 1 || in->rel_size == 2 || in->rel_size == 4) &&
				   in->rel_offset == end && !in->imm_size,
			   "branch operand of %u bytes at %u", in->rel_size, in->rel_offset);
		end += in->rel_size;
	} else {
		FUZZ_CHECK(!in->rel_size && !in->rel_offset, "branch operand without a branch");
	}
	FUZZ_CHECK(end == in->length, "the parts end at %u, the length is %u", end, in->length);
	FUZZ_CHECK(in->operand_size == 2 || in->operand_size == 4 || in->operand_size == 8,
		   "operand size %u", in->operand_size);
	FUZZ_CHECK(in->address_size == ((in->prefixes & INSN_PFX_ADDRSIZE) ? 4 : 8),
		   "address size %u", in->address_size);
}

/* VEX/EVEX instructions LLVM names without a leading v or k. */
static bool vex_mnemonic(const char *m)
{
	static const char *const bmi[] = { "andn", "bextr", "blsi", "blsmsk", "blsr",
					   "bzhi", "mulx",  "pdep", "pext",   "rorx",
					   "sarx", "shlx",  "shrx" };

	if (m[0] == 'v' || m[0] == 'k')
		return true;
	for (size_t i = 0; i < sizeof(bmi) / sizeof(bmi[0]); i++)
		if (!strncmp(m, bmi[i], strlen(bmi[i])))
			return true;
	return false;
}

/* Where LLVM 14's length is not evidence against the decoder: it refuses
 * the bytes, or it is known to depart from the SDM there. */
static bool llvm_comparable(const struct insn *in, const uint8_t *c, const struct llvm_insn *l)
{
	if (!l->length)
		return false; /* undefined opcodes the decoder measures by rule */
	/* A REX not right before the opcode is ignored (SDM 2A 2.2.1); LLVM
	 * applies the first REX it sees and ignores legacy prefixes after it
	 * (40 48 B8: LLVM 7 bytes, the processor 11; 40 66 B8: 7 vs 5). */
	for (unsigned i = 0; i < in->prefix_len; i++)
		if (is_rex(c[i]))
			return false;
	/* 66 on a near JMP/CALL/Jcc: Intel ignores it in 64-bit mode (SDM 2A
	 * JMP, Jcc, CALL: operand size fixed at 64 bits), the decoder follows
	 * Intel; LLVM decodes a rel16 as AMD processors do. */
	if (in->rel_branch && (in->prefixes & INSN_PFX_OPSIZE) &&
	    ((in->map == INSN_MAP_ONE && (in->opcode == 0xE8 || in->opcode == 0xE9)) ||
	     (in->map == INSN_MAP_0F && (in->opcode & 0xF0) == 0x80)))
		return false;
	/* An undefined VEX/EVEX opcode: LLVM decodes it through the legacy
	 * tables (C5 F9 C9 as BSWAP, C5 79 30 as WRMSR), not as VEX. */
	if (in->vex_len && !vex_mnemonic(l->mnemonic))
		return false;
	/* 66 as the mandatory prefix with another prefix between it and a
	 * REX.W: LLVM no longer takes 66 as mandatory (66 2E 48 0F 78 C0 is
	 * a VMREAD to LLVM, an EXTRQ with two imm8 to objdump and the decoder,
	 * as it is to both without the 2E). */
	if (in->mandatory == 0x66 && (in->rex & INSN_REX_W) && c[in->prefix_len - 1] != 0x66)
		return false;
	/* 66 with F2/F3 on a one-byte opcode: 66 sets the operand size
	 * (SDM 2A 2.1.1; 66 F3 C7 /0 takes an imm16), LLVM drops it. */
	if (in->map == INSN_MAP_ONE && (in->prefixes & INSN_PFX_OPSIZE) &&
	    (in->prefixes & (INSN_PFX_REP | INSN_PFX_REPNE)))
		return false;
	return true;
}

static const struct insn zero;

static enum insn_status decode_copy(const uint8_t *c, size_t n, struct insn *in)
{
	uint8_t *copy = fuzz_copy(c, n);
	enum insn_status st = insn_decode(copy, n, in);

	free(copy);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max = size < MAX_AVAIL ? size : MAX_AVAIL;
	struct insn first = zero, in;
	enum insn_status answer = INSN_ERR_TRUNCATED;
	size_t decided = 0;

	for (size_t k = 0; k <= max; k++) {
		enum insn_status st = decode_copy(data, k, &in);
		FUZZ_CHECK(insn_status_str(st) != NULL, "no status string");
		if (st != INSN_OK)
			FUZZ_CHECK(!memcmp(&in, &zero, sizeof(in)), "output not zeroed on %s",
				   insn_status_str(st));
		if (answer == INSN_ERR_TRUNCATED) {
			answer = st;
			decided = k;
			first = in;
			if (st == INSN_OK)
				FUZZ_CHECK(in.length == k,
					   "decoded first with %zu bytes, length %u", k, in.length);
			continue;
		}
		FUZZ_CHECK(st == answer && !memcmp(&in, &first, sizeof(in)),
			   "%s with %zu bytes, %s with %zu", insn_status_str(answer), decided,
			   insn_status_str(st), k);
	}
	if (max >= INSN_MAX_LEN)
		FUZZ_CHECK(answer != INSN_ERR_TRUNCATED, "15 bytes were not enough");
	if (answer != INSN_OK)
		return 0;

	check_lead(&first, data);
	check_body(&first, data);

	/* Followed by other bytes: the same instruction. */
	uint8_t padded[INSN_MAX_LEN + MAX_AVAIL];
	static const uint8_t fills[] = { 0x00, 0xFF, 0x66, 0x0F };
	for (size_t f = 0; f < sizeof(fills); f++) {
		memset(padded, fills[f], sizeof(padded));
		memcpy(padded, data, first.length);
		FUZZ_CHECK(insn_decode(padded, sizeof(padded), &in) == INSN_OK &&
				   !memcmp(&in, &first, sizeof(in)),
			   "followed by %02x bytes it decodes differently", fills[f]);
	}

	struct llvm_insn l;
	llvm_x86_decode(data, max, &l);
	if (llvm_comparable(&first, data, &l))
		FUZZ_CHECK(l.length == first.length, "length %u, LLVM %zu (%s)", first.length,
			   l.length, l.text);
	return 0;
}
