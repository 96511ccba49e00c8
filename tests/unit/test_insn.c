/* The x86-64 instruction-length decoder against GNU binutils: a table of
 * real encodings written as assembly (fixtures/insn_cases.s), a sweep over
 * every opcode of every map under several prefixes and ModRM forms, and
 * every distinct instruction of compiled code; all their expectations were
 * taken from `as` and `objdump` by gen_insn_table.py. Then the fields of
 * chosen encodings, invalid encodings, truncation and the 15-byte limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures/insn_corpus.h"
#include "fixtures/insn_sweep.h"
#include "fixtures/insn_table.h"
#include "hook/insn.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Decodes exactly n bytes from a heap copy, so that AddressSanitizer sees
 * any read past them. */
static enum insn_status decode_exact(const uint8_t *bytes, size_t n, struct insn *in)
{
	uint8_t *copy = malloc(n ? n : 1);
	enum insn_status st;

	assert_non_null(copy);
	memcpy(copy, bytes, n);
	st = insn_decode(copy, n, in);
	free(copy);
	return st;
}

/* Decodes a string literal of bytes and insists on success. */
#define DECODE(in, lit) decode_ok(&(in), (const uint8_t *)(lit), sizeof(lit) - 1)

static void decode_ok(struct insn *in, const uint8_t *bytes, size_t n)
{
	enum insn_status st = decode_exact(bytes, n, in);

	if (st != INSN_OK)
		fail_msg("%zu bytes starting %02x: %s", n, bytes[0], insn_status_str(st));
	assert_int_equal(in->length, n);
}

#define STATUS(lit) decode_exact((const uint8_t *)(lit), sizeof(lit) - 1, &(struct insn){ 0 })

/* The parts the decoder reports lie inside the instruction, in encoding
 * order, and the operands of branches and immediates are its last bytes. */
static void check_layout(const struct insn *in)
{
	uint8_t end = in->opcode_offset + 1;

	assert_true(in->length >= 1 && in->length <= INSN_MAX_LEN);
	assert_true(in->opcode_offset < in->length);
	if (in->has_modrm) {
		assert_int_equal(in->modrm_offset, end);
		end = in->modrm_offset + 1 + in->has_sib;
	}
	if (in->disp_size) {
		assert_int_equal(in->disp_offset, end);
		end += in->disp_size;
	}
	if (in->imm_size) {
		assert_int_equal(in->imm_offset, end);
		end += in->imm_size + in->imm2_size;
	}
	if (in->rel_size) {
		assert_true(in->rel_branch);
		assert_int_equal(in->rel_offset, end);
		end += in->rel_size;
	}
	assert_int_equal(end, in->length);
	if (in->rip_relative)
		assert_int_equal(in->disp_size, 4);
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(insn_cases); i++) {
		const struct insn_case *c = &insn_cases[i];
		uint8_t padded[32];
		struct insn in;
		enum insn_status st = decode_exact(c->bytes, c->length, &in);

		if (st != INSN_OK || in.length != c->length)
			fail_msg("insn_cases.s:%d `%s`: %s, length %u, want %u", c->line, c->text,
				 insn_status_str(st), in.length, c->length);
		if (in.rip_relative != c->rip_relative ||
		    (c->rip_relative && in.disp_offset != c->disp_offset))
			fail_msg("insn_cases.s:%d `%s`: rip_relative %d at %u, want %d at %u",
				 c->line, c->text, in.rip_relative, in.disp_offset, c->rip_relative,
				 c->disp_offset);
		if (in.rel_branch != c->rel_branch || in.rel_offset != c->rel_offset ||
		    in.rel_size != c->rel_size)
			fail_msg(
				"insn_cases.s:%d `%s`: rel %d at %u size %u, want %d at %u size %u",
				c->line, c->text, in.rel_branch, in.rel_offset, in.rel_size,
				c->rel_branch, c->rel_offset, c->rel_size);
		check_layout(&in);
		/* What follows the instruction does not change it. */
		memset(padded, 0xCC, sizeof(padded));
		memcpy(padded, c->bytes, c->length);
		assert_int_equal(insn_decode(padded, sizeof(padded), &in), INSN_OK);
		assert_int_equal(in.length, c->length);
	}
}

/* Every proper prefix of a valid instruction is TRUNCATED. */
static void test_truncated(void **state)
{
	struct insn in;

	(void)state;
	assert_int_equal(insn_decode((const uint8_t *)"", 0, &in), INSN_ERR_TRUNCATED);
	for (size_t i = 0; i < ARRAY_LEN(insn_cases); i++) {
		const struct insn_case *c = &insn_cases[i];

		for (uint8_t n = 0; n < c->length; n++) {
			enum insn_status st = decode_exact(c->bytes, n, &in);

			if (st != INSN_ERR_TRUNCATED)
				fail_msg("insn_cases.s:%d `%s` cut to %u bytes: %s", c->line,
					 c->text, n, insn_status_str(st));
		}
	}
}

static void test_prologue(void **state)
{
	struct insn in;

	(void)state;
	DECODE(in, "\x55"); /* push rbp */
	assert_int_equal(in.map, INSN_MAP_ONE);
	assert_int_equal(in.opcode, 0x55);
	assert_false(in.has_modrm);
	assert_int_equal(in.operand_size, 8);

	DECODE(in, "\x48\x89\xe5"); /* mov rbp, rsp */
	assert_int_equal(in.rex, 0x48);
	assert_int_equal(in.prefix_len, 0);
	assert_int_equal(in.opcode_offset, 1);
	assert_true(in.has_modrm);
	assert_int_equal(in.modrm, 0xe5);
	assert_int_equal(in.modrm_offset, 2);
	assert_int_equal(in.operand_size, 8);

	DECODE(in, "\x48\x83\xec\x20"); /* sub rsp, 0x20 */
	assert_int_equal(in.imm_offset, 3);
	assert_int_equal(in.imm_size, 1);

	DECODE(in, "\xf3\x0f\x1e\xfa"); /* endbr64 */
	assert_int_equal(in.prefix_len, 1);
	assert_int_equal(in.prefixes, INSN_PFX_REP);
	assert_int_equal(in.mandatory, 0xF3);
	assert_int_equal(in.map, INSN_MAP_0F);
	assert_int_equal(in.opcode, 0x1e);
	assert_int_equal(in.modrm, 0xfa);

	DECODE(in, "\x65\x48\x8b\x04\x25\x28\x00\x00\x00"); /* mov rax, gs:[0x28] */
	assert_int_equal(in.segment, 0x65);
	assert_int_equal(in.prefix_len, 1);
	assert_int_equal(in.rex, 0x48);
	assert_true(in.has_sib);
	assert_int_equal(in.sib, 0x25);
	assert_int_equal(in.disp_offset, 5);
	assert_int_equal(in.disp_size, 4);
	assert_false(in.rip_relative);

	DECODE(in, "\x0f\x1f\x44\x00\x00"); /* nop dword [rax+rax*1+0] */
	assert_true(in.has_sib);
	assert_int_equal(in.disp_offset, 4);
	assert_int_equal(in.disp_size, 1);
}

static void test_rip_relative_and_branches(void **state)
{
	struct insn in;

	(void)state;
	DECODE(in, "\x48\x8d\x05\x34\x12\x00\x00"); /* lea rax, [rip+0x1234] */
	assert_true(in.rip_relative);
	assert_int_equal(in.disp_offset, 3);
	assert_int_equal(in.disp_size, 4);
	assert_false(in.rel_branch);

	/* mov dword [rip+0x1234], 0x5678: the immediate follows the displacement. */
	DECODE(in, "\xc7\x05\x34\x12\x00\x00\x78\x56\x00\x00");
	assert_true(in.rip_relative);
	assert_int_equal(in.disp_offset, 2);
	assert_int_equal(in.imm_offset, 6);
	assert_int_equal(in.imm_size, 4);

	DECODE(in, "\xff\x25\x00\x10\x00\x00"); /* jmp [rip+0x1000]: not relative */
	assert_true(in.rip_relative);
	assert_false(in.rel_branch);
	assert_int_equal(in.operand_size, 8);

	/* 67: EIP-relative, still the displacement to relocate. */
	DECODE(in, "\x67\x8b\x05\x20\x00\x00\x00");
	assert_true(in.rip_relative);
	assert_int_equal(in.address_size, 4);

	/* mod 00 with SIB base 101 is [disp32], not RIP-relative; so is [r13+0]. */
	DECODE(in, "\x8b\x04\x25\x00\x10\x00\x00");
	assert_false(in.rip_relative);
	DECODE(in, "\x41\x8b\x45\x00");
	assert_false(in.rip_relative);
	assert_int_equal(in.disp_size, 1);

	DECODE(in, "\xe8\x00\x01\x00\x00"); /* call rel32 */
	assert_true(in.rel_branch);
	assert_int_equal(in.rel_offset, 1);
	assert_int_equal(in.rel_size, 4);
	assert_int_equal(in.imm_size, 0);
	assert_int_equal(in.operand_size, 8);

	DECODE(in, "\x0f\x84\x00\x01\x00\x00"); /* je rel32 */
	assert_int_equal(in.rel_offset, 2);
	assert_int_equal(in.rel_size, 4);

	DECODE(in, "\x66\xe9\x00\x01\x00\x00"); /* Intel ignores 66 on JMP rel32 */
	assert_int_equal(in.rel_size, 4);

	DECODE(in, "\x67\xe3\x10"); /* jecxz */
	assert_true(in.rel_branch);
	assert_int_equal(in.rel_size, 1);
	assert_int_equal(in.address_size, 4);

	DECODE(in, "\xc7\xf8\x00\x01\x00\x00"); /* xbegin rel32 */
	assert_true(in.rel_branch);
	assert_int_equal(in.rel_offset, 2);
	assert_int_equal(in.rel_size, 4);
	DECODE(in, "\x66\xc7\xf8\x00\x01"); /* xbegin rel16 */
	assert_int_equal(in.rel_offset, 3);
	assert_int_equal(in.rel_size, 2);
	/* REX.W wins over 66: rel32 (found by fuzz_insn; objdump and LLVM agree). */
	DECODE(in, "\x66\x4f\xc7\xf8\x93\x74\x73\x61");
	assert_int_equal(in.rel_offset, 4);
	assert_int_equal(in.rel_size, 4);
	DECODE(in, "\x66\x48\xc7\xf8\x00\x01\x00\x00");
	assert_int_equal(in.rel_size, 4);
	DECODE(in, "\xc6\xf8\x12"); /* xabort imm8 */
	assert_false(in.rel_branch);
	assert_int_equal(in.imm_size, 1);

	DECODE(in, "\x41\xff\xd3"); /* call r11 */
	assert_false(in.rel_branch);
	assert_int_equal(in.operand_size, 8);
}

/* Immediate sizes: 66 and REX.W, with REX.W winning (SDM 2A 2.2.1.2). */
static void test_immediates(void **state)
{
	struct insn in;

	(void)state;
	DECODE(in, "\xb8\x78\x56\x34\x12");
	assert_int_equal(in.imm_size, 4);
	assert_int_equal(in.operand_size, 4);
	DECODE(in, "\x66\xb8\x34\x12");
	assert_int_equal(in.imm_size, 2);
	assert_int_equal(in.operand_size, 2);
	DECODE(in, "\x48\xb8\x88\x77\x66\x55\x44\x33\x22\x11");
	assert_int_equal(in.imm_size, 8);
	DECODE(in, "\x66\x48\xb8\x88\x77\x66\x55\x44\x33\x22\x11");
	assert_int_equal(in.imm_size, 8);
	assert_int_equal(in.operand_size, 8);
	assert_int_equal(in.prefixes, INSN_PFX_OPSIZE);

	/* A REX before a legacy prefix is ignored, though it takes a byte. */
	DECODE(in, "\x48\x66\xb8\x34\x12");
	assert_int_equal(in.rex, 0);
	assert_int_equal(in.prefix_len, 2);
	assert_int_equal(in.imm_size, 2);
	/* Of two REX, the last counts. */
	DECODE(in, "\x41\x48\x8b\xc0");
	assert_int_equal(in.rex, 0x48);
	assert_int_equal(in.prefix_len, 1);

	DECODE(in, "\x66\x05\x34\x12");
	assert_int_equal(in.imm_size, 2);
	DECODE(in, "\x66\x48\x05\x78\x56\x34\x12");
	assert_int_equal(in.imm_size, 4);
	DECODE(in, "\x48\x05\x78\x56\x34\x12");
	assert_int_equal(in.imm_size, 4);

	DECODE(in, "\x68\x78\x56\x34\x12"); /* push imm32: 64-bit operation */
	assert_int_equal(in.imm_size, 4);
	assert_int_equal(in.operand_size, 8);
	DECODE(in, "\x66\x68\x34\x12");
	assert_int_equal(in.imm_size, 2);
	assert_int_equal(in.operand_size, 2);

	DECODE(in, "\xa0\x88\x77\x66\x55\x44\x33\x22\x11"); /* mov al, moffs64 */
	assert_int_equal(in.imm_offset, 1);
	assert_int_equal(in.imm_size, 8);
	DECODE(in, "\x67\xa1\x44\x33\x22\x11"); /* mov eax, moffs32 */
	assert_int_equal(in.imm_size, 4);
	DECODE(in, "\x66\x48\xa3\x88\x77\x66\x55\x44\x33\x22\x11");
	assert_int_equal(in.imm_size, 8);

	DECODE(in, "\xc8\x20\x00\x01"); /* enter 0x20, 1 */
	assert_int_equal(in.imm_offset, 1);
	assert_int_equal(in.imm_size, 2);
	assert_int_equal(in.imm2_size, 1);
	DECODE(in, "\xc2\x08\x00"); /* ret 8 */
	assert_int_equal(in.imm_size, 2);

	/* Group 3: only TEST (/0, /1) has an immediate. */
	DECODE(in, "\xf6\xc1\x01");
	assert_int_equal(in.imm_size, 1);
	DECODE(in, "\xf6\xc9\x01"); /* /1, the alias */
	assert_int_equal(in.imm_size, 1);
	DECODE(in, "\xf6\xd1");
	assert_int_equal(in.imm_size, 0);
	DECODE(in, "\xf7\xc1\x78\x56\x34\x12");
	assert_int_equal(in.imm_size, 4);
	DECODE(in, "\x66\xf7\xc1\x34\x12");
	assert_int_equal(in.imm_size, 2);
	DECODE(in, "\x48\xf7\x05\x00\x01\x00\x00\x78\x56\x34\x12");
	assert_true(in.rip_relative);
	assert_int_equal(in.imm_offset, 7);
	assert_int_equal(in.imm_size, 4);
	DECODE(in, "\xf7\xf1"); /* div ecx */
	assert_int_equal(in.imm_size, 0);

	DECODE(in, "\x66\x0f\x78\xc0\x04\x08"); /* extrq xmm0, 4, 8 */
	assert_int_equal(in.imm_size, 1);
	assert_int_equal(in.imm2_size, 1);
	DECODE(in, "\x0f\x78\xc0"); /* vmread rax, rax */
	assert_int_equal(in.imm_size, 0);
	DECODE(in, "\x0f\x0f\xc1\x9e"); /* pfadd mm0, mm1: 3DNow! suffix */
	assert_int_equal(in.imm_offset, 3);
	assert_int_equal(in.imm_size, 1);
}

static void test_maps_and_mandatory_prefixes(void **state)
{
	struct insn in;

	(void)state;
	DECODE(in, "\x0f\x10\xc1"); /* movups */
	assert_int_equal(in.mandatory, 0);
	DECODE(in, "\x66\x0f\x10\xc1"); /* movupd */
	assert_int_equal(in.mandatory, 0x66);
	DECODE(in, "\xf3\x0f\x10\xc1"); /* movss */
	assert_int_equal(in.mandatory, 0xF3);
	DECODE(in, "\xf2\x0f\x10\xc1"); /* movsd */
	assert_int_equal(in.mandatory, 0xF2);
	/* crc32 ax-sized: F2 selects the opcode, 66 the operand size. */
	DECODE(in, "\x66\xf2\x0f\x38\xf1\xc1");
	assert_int_equal(in.mandatory, 0xF2);
	assert_int_equal(in.prefixes, INSN_PFX_OPSIZE | INSN_PFX_REPNE);
	assert_int_equal(in.map, INSN_MAP_0F38);
	assert_int_equal(in.opcode, 0xf1);
	assert_int_equal(in.opcode_offset, 4);
	assert_int_equal(in.operand_size, 2);
	DECODE(in, "\xf3\x0f\xb8\xc1"); /* popcnt */
	assert_int_equal(in.opcode, 0xb8);
	DECODE(in, "\x66\x4c\x0f\x3a\x0f\xc1\x08"); /* palignr xmm8, xmm1, 8 */
	assert_int_equal(in.map, INSN_MAP_0F3A);
	assert_int_equal(in.rex, 0x4c);
	assert_int_equal(in.prefix_len, 1);
	assert_int_equal(in.imm_offset, 6);
	DECODE(in, "\xf3\x48\xab"); /* rep stosq: REP, not a mandatory prefix */
	assert_int_equal(in.prefixes, INSN_PFX_REP);
	assert_int_equal(in.mandatory, 0);
	DECODE(in, "\xf0\x48\x0f\xb1\x0f"); /* lock cmpxchg [rdi], rcx */
	assert_int_equal(in.prefixes, INSN_PFX_LOCK);
	DECODE(in, "\x2e\x3e\x26\x36\x64\x65\x8b\x00");
	assert_int_equal(in.segment, 0x65);
	assert_int_equal(in.prefix_len, 6);
	/* MOV from CR0 ignores mod: no displacement, not RIP-relative. */
	DECODE(in, "\x0f\x20\x05");
	assert_false(in.rip_relative);
	assert_int_equal(in.disp_size, 0);
}

static void test_vex_evex(void **state)
{
	struct insn in;

	(void)state;
	DECODE(in, "\xc5\xf8\x77"); /* vzeroupper: no ModRM */
	assert_int_equal(in.vex_len, 2);
	assert_int_equal(in.map, INSN_MAP_0F);
	assert_int_equal(in.opcode, 0x77);
	assert_int_equal(in.opcode_offset, 2);
	assert_false(in.has_modrm);

	DECODE(in, "\xc5\xfd\x70\xc1\x1b"); /* vpshufd ymm0, ymm1, 0x1b */
	assert_int_equal(in.mandatory, 0x66);
	assert_int_equal(in.imm_offset, 4);

	DECODE(in, "\xc4\xe3\xfd\x00\xc1\x4e"); /* vpermq ymm0, ymm1, 0x4e */
	assert_int_equal(in.vex_len, 3);
	assert_int_equal(in.map, INSN_MAP_0F3A);
	assert_int_equal(in.opcode_offset, 3);
	assert_int_equal(in.modrm_offset, 4);
	assert_int_equal(in.imm_offset, 5);
	assert_int_equal(in.operand_size, 8); /* VEX.W */

	DECODE(in, "\x65\xc4\xe2\x78\xf2\x00"); /* gs: andn eax, eax, [rax] */
	assert_int_equal(in.segment, 0x65);
	assert_int_equal(in.prefix_len, 1);
	assert_int_equal(in.map, INSN_MAP_0F38);

	DECODE(in, "\x62\xf1\x7c\x48\x58\xc2"); /* vaddps zmm0, zmm0, zmm2 */
	assert_int_equal(in.vex_len, 4);
	assert_int_equal(in.opcode_offset, 4);
	assert_int_equal(in.modrm_offset, 5);

	/* vmovups zmm16, [rip+0x100] */
	DECODE(in, "\x62\xe1\x7c\x48\x10\x05\x00\x01\x00\x00");
	assert_true(in.rip_relative);
	assert_int_equal(in.disp_offset, 6);

	DECODE(in, "\x62\xf3\x75\x48\x25\xc2\x96"); /* vpternlogd */
	assert_int_equal(in.map, INSN_MAP_0F3A);
	assert_int_equal(in.imm_offset, 6);

	DECODE(in, "\x62\xf5\x74\x48\x58\xc2"); /* vaddph: map 5 */
	assert_int_equal(in.map, INSN_MAP_5);
	DECODE(in, "\x62\xf6\x75\x48\x98\xc2"); /* vfmadd132ph: map 6 */
	assert_int_equal(in.map, INSN_MAP_6);
}

/* Opcodes that do not exist in 64-bit mode, reserved group members,
 * encodings Intel defines as #UD: never a length. */
static void test_invalid(void **state)
{
	static const uint8_t one_byte[] = { 0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f,
					    0x27, 0x2f, 0x37, 0x3f, 0x60, 0x61, 0x82,
					    0x9a, 0xce, 0xd4, 0xd5, 0xd6, 0xea };
	static const uint8_t two_byte[] = { 0x04, 0x0a, 0x0c, 0x24, 0x25, 0x26, 0x27,
					    0x36, 0x39, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
					    0x7a, 0x7b, 0xa6, 0xa7, 0xb8 };
	uint8_t buf[16];
	struct insn in;

	(void)state;
	for (size_t i = 0; i < sizeof(one_byte); i++) {
		memset(buf, 0, sizeof(buf));
		buf[0] = one_byte[i];
		if (insn_decode(buf, sizeof(buf), &in) != INSN_ERR_INVALID)
			fail_msg("%02x decodes", one_byte[i]);
	}
	for (size_t i = 0; i < sizeof(two_byte); i++) {
		memset(buf, 0, sizeof(buf));
		buf[0] = 0x0f;
		buf[1] = two_byte[i];
		buf[2] = 0xc0;
		if (insn_decode(buf, sizeof(buf), &in) != INSN_ERR_INVALID)
			fail_msg("0f %02x decodes", two_byte[i]);
	}
	assert_int_equal(STATUS("\x8d\xc0"), INSN_ERR_INVALID);			/* lea eax, eax */
	assert_int_equal(STATUS("\x8f\xc8"), INSN_ERR_INVALID);			/* 8F /1 */
	assert_int_equal(STATUS("\x8f\xe8\x78\xc2\xc0\x01"), INSN_ERR_INVALID); /* AMD XOP */
	assert_int_equal(STATUS("\xc6\xc8\x12"), INSN_ERR_INVALID);		/* C6 /1 */
	assert_int_equal(STATUS("\xc6\xf9\x12"), INSN_ERR_INVALID);		/* C6 /7 not F8 */
	assert_int_equal(STATUS("\xc7\x38\x00\x00\x00\x00"), INSN_ERR_INVALID); /* C7 /7 mem */
	assert_int_equal(STATUS("\xfe\xd0"), INSN_ERR_INVALID);			/* FE /2 */
	assert_int_equal(STATUS("\xff\xf8"), INSN_ERR_INVALID);			/* FF /7 */
	assert_int_equal(STATUS("\xff\xd8"), INSN_ERR_INVALID);		/* far call, register */
	assert_int_equal(STATUS("\xff\xe8"), INSN_ERR_INVALID);		/* far jmp, register */
	assert_int_equal(STATUS("\x0f\xba\xe0\x01"), INSN_OK);		/* bt eax, 1 */
	assert_int_equal(STATUS("\x0f\xba\xc0\x01"), INSN_ERR_INVALID); /* 0F BA /0 */
	assert_int_equal(STATUS("\x66\x0f\x78\xc8\x01\x02"), INSN_ERR_INVALID); /* extrq /1 */
	assert_int_equal(STATUS("\x66\x0f\x78\x00\x01\x02"), INSN_ERR_INVALID); /* extrq mem */

	/* F3 0F 78: VMREAD is NP and AMD has no F3 form; whether 66 or F2 is
	 * also there and in which order, the length would be a guess (found
	 * by fuzz_insn: F3 F3 F3 F3 64 64 66 0F 78 C5 68 65, which LLVM reads
	 * as a 12-byte EXTRQ and the decoder read as a 10-byte VMREAD). */
	assert_int_equal(STATUS("\xf3\xf3\xf3\xf3\x64\x64\x66\x0f\x78\xc5\x68\x65"),
			 INSN_ERR_INVALID);
	assert_int_equal(STATUS("\xf3\x0f\x78\xc0"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\x66\xf3\x0f\x78\xc0\x01\x02"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\xf2\xf3\x0f\x78\xc1\x01\x02"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\xf3\xf2\x0f\x78\xc1\x01\x02"), INSN_OK); /* insertq */
	assert_int_equal(STATUS("\x66\xf2\x0f\x78\xc1\x01\x02"), INSN_OK); /* insertq */

	/* LOCK only on a memory destination of a lockable instruction. */
	assert_int_equal(STATUS("\xf0\x90"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\xf0\x01\xc0"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\xf0\x8b\x00"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\xf0\x83\x38\x01"), INSN_ERR_INVALID);	    /* cmp */
	assert_int_equal(STATUS("\xf0\x0f\x20\xc0"), INSN_ERR_INVALID);	    /* AMD's CR8 alias */
	assert_int_equal(STATUS("\xf0\x0f\xba\x20\x01"), INSN_ERR_INVALID); /* bt */
	assert_int_equal(STATUS("\xf0\x0f\xc7\x00"), INSN_ERR_INVALID);	    /* 0F C7 /0 */
	assert_int_equal(STATUS("\xf0\x0f\xc7\x08"), INSN_OK);		    /* cmpxchg8b */

	/* Legacy prefixes other than segment and 67, and REX, before VEX/EVEX. */
	assert_int_equal(STATUS("\x66\xc5\xf8\x77"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\xf3\xc5\xf8\x77"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\xf2\xc4\xe2\x78\xf2\x00"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\xf0\xc5\xf8\x77"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\x48\xc5\xf8\x77"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\x40\x62\xf1\x7c\x48\x58\xc2"), INSN_ERR_INVALID);
	/* Reserved VEX and EVEX maps and fixed bits. */
	assert_int_equal(STATUS("\xc4\xe0\x78\x10\xc0"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\xc4\xe4\x78\x10\xc0"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\x62\xf0\x7c\x48\x58\xc2"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\x62\xf4\x7c\x48\x58\xc2"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\x62\xf7\x7c\x48\x58\xc2"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\x62\xf9\x7c\x48\x58\xc2"), INSN_ERR_INVALID);
	assert_int_equal(STATUS("\x62\xf1\x78\x48\x58\xc2"), INSN_ERR_INVALID);
}

static void test_too_long(void **state)
{
	uint8_t buf[32];
	struct insn in;

	(void)state;
	memset(buf, 0x66, sizeof(buf));
	assert_int_equal(insn_decode(buf, 16, &in), INSN_ERR_TOO_LONG);
	assert_int_equal(insn_decode(buf, 15, &in), INSN_ERR_TOO_LONG);
	/* A buffer that ends before 15 bytes cannot tell. */
	assert_int_equal(insn_decode(buf, 14, &in), INSN_ERR_TRUNCATED);

	/* 14 prefixes and a NOP: exactly 15 bytes. */
	memset(buf, 0x2e, 14);
	buf[14] = 0x90;
	assert_int_equal(insn_decode(buf, sizeof(buf), &in), INSN_OK);
	assert_int_equal(in.length, 15);
	assert_int_equal(in.prefix_len, 14);
	assert_int_equal(insn_decode(buf, 15, &in), INSN_OK);

	/* 13 prefixes and add ax, imm16: 17 bytes, too long in the immediate. */
	memset(buf, 0x66, 13);
	memcpy(buf + 13, "\x05\x34\x12\x90", 4);
	assert_int_equal(insn_decode(buf, sizeof(buf), &in), INSN_ERR_TOO_LONG);
	/* ... and in a displacement, and in an imm64. */
	memset(buf, 0x2e, 12);
	memcpy(buf + 12, "\x0f\x1f\x84\x00\x00\x00\x00\x00", 8);
	assert_int_equal(insn_decode(buf, sizeof(buf), &in), INSN_ERR_TOO_LONG);
	memset(buf, 0x26, 6);
	memcpy(buf + 6, "\x48\xb8\x88\x77\x66\x55\x44\x33\x22\x11", 10);
	assert_int_equal(insn_decode(buf, sizeof(buf), &in), INSN_ERR_TOO_LONG);
	memmove(buf, buf + 1, 15); /* with five prefixes: 15 bytes */
	assert_int_equal(insn_decode(buf, sizeof(buf), &in), INSN_OK);
	assert_int_equal(in.length, 15);
	assert_int_equal(in.imm_size, 8);
}

static void test_errors_zero_output(void **state)
{
	struct insn in;

	(void)state;
	memset(&in, 0xAA, sizeof(in));
	assert_int_equal(insn_decode((const uint8_t *)"\x06", 1, &in), INSN_ERR_INVALID);
	for (size_t i = 0; i < sizeof(in); i++)
		assert_int_equal(((const uint8_t *)&in)[i], 0);
	assert_string_equal(insn_status_str(INSN_OK), "ok");
	assert_string_equal(insn_status_str(INSN_ERR_TRUNCATED), "instruction truncated");
	assert_string_equal(insn_status_str(INSN_ERR_INVALID), "invalid or unknown instruction");
	assert_string_equal(insn_status_str(INSN_ERR_TOO_LONG), "instruction longer than 15 bytes");
	assert_string_equal(insn_status_str((enum insn_status)99), "unknown");
}

/* --- the sweep: keep in step with sweep_patterns() in gen_insn_table.py */

#define SWEEP_SLOT 32
#define SWEEP_FILL 0x90

struct sweep {
	uint8_t pat[SWEEP_SLOT];
	uint8_t len;
};

static const uint8_t sweep_legacy_prefixes[][2] = { { 0 },	 { 1, 0x66 }, { 1, 0xf2 },
						    { 1, 0xf3 }, { 1, 0x48 }, { 1, 0x67 } };
static const uint8_t sweep_evex_maps[] = { 1, 2, 3, 5, 6 };

static void sweep_put(struct sweep *s, const uint8_t *bytes, size_t n)
{
	memcpy(s->pat + s->len, bytes, n);
	s->len += n;
}

/* The ModRM forms: 16 that vary ModRM.reg (RIP-relative and register), six
 * that vary the addressing; the short list for the regular maps. */
static void sweep_form(struct sweep *s, unsigned form)
{
	static const uint8_t addr[6][2] = { { 0x44, 0x24 }, { 0x84, 0x24 }, { 0x04, 0x25 },
					    { 0x40 },	    { 0x80 },	    { 0x00 } };
	static const uint8_t addr_len[6] = { 2, 2, 2, 1, 1, 1 };
	uint8_t b;

	if (form < 8) {
		b = 0x05 | form << 3;
		sweep_put(s, &b, 1);
	} else if (form < 16) {
		b = 0xc1 | (form - 8) << 3;
		sweep_put(s, &b, 1);
	} else {
		sweep_put(s, addr[form - 16], addr_len[form - 16]);
	}
}

static const uint8_t sweep_short_forms[4] = { 0, 8, 16, 18 }; /* 05, C1, 44 24, 04 25 */

static void sweep_finish(struct sweep *s)
{
	memset(s->pat + s->len, SWEEP_FILL, SWEEP_SLOT - s->len);
}

struct sweep_tally {
	size_t index, agreed, amd_only;
};

/* Where objdump decodes what Intel processors refuse, deliberately: AMD's
 * XOP (8F with ModRM.reg not 0) and EXTRQ other than the /0 that AMD's
 * manual gives (66 0F 78 /0 ib ib). */
static bool sweep_amd_only(const struct sweep *s)
{
	const uint8_t *p = s->pat;
	bool opsize = false;

	for (; *p == 0x66 || *p == 0xf2 || *p == 0xf3 || *p == 0x48 || *p == 0x67; p++)
		opsize |= *p == 0x66;
	if (p[0] == 0x8f)
		return (p[1] & 0x38) != 0;
	return opsize && p[0] == 0x0f && p[1] == 0x78 && (p[2] & 0x38) != 0;
}

static void sweep_one(struct sweep_tally *t, struct sweep *s);

/* Patterns in the generator's order; each is checked as it is built. */
static void sweep_legacy(struct sweep_tally *t)
{
	static const uint8_t esc0f[2] = { 0x0f };

	for (unsigned e = 0; e < 2; e++)
		for (unsigned p = 0; p < ARRAY_LEN(sweep_legacy_prefixes); p++)
			for (unsigned op = 0; op < 256; op++)
				for (unsigned f = 0; f < 22; f++) {
					struct sweep s = { .len = 0 };
					uint8_t b = (uint8_t)op;

					sweep_put(&s, &sweep_legacy_prefixes[p][1],
						  sweep_legacy_prefixes[p][0]);
					sweep_put(&s, esc0f, e);
					sweep_put(&s, &b, 1);
					sweep_form(&s, f);
					sweep_one(t, &s);
				}
}

static void sweep_regular(struct sweep_tally *t, const uint8_t *lead, size_t lead_len)
{
	for (unsigned op = 0; op < 256; op++)
		for (unsigned f = 0; f < 4; f++) {
			struct sweep s = { .len = 0 };
			uint8_t b = (uint8_t)op;

			sweep_put(&s, lead, lead_len);
			sweep_put(&s, &b, 1);
			sweep_form(&s, sweep_short_forms[f]);
			sweep_one(t, &s);
		}
}

static void sweep_all(struct sweep_tally *t)
{
	static const uint8_t sse_prefixes[4] = { 0, 0x66, 0xf2, 0xf3 };

	sweep_legacy(t);
	for (unsigned e = 0; e < 2; e++)
		for (unsigned p = 0; p < 4; p++) {
			uint8_t lead[4] = { sse_prefixes[p], 0x0f, e ? 0x3a : 0x38 };

			sweep_regular(t, p ? lead : lead + 1, p ? 3 : 2);
		}
	for (unsigned pp = 0; pp < 4; pp++) {
		uint8_t lead[2] = { 0xc5, 0xf8 | pp };

		sweep_regular(t, lead, 2);
	}
	for (unsigned map = 1; map <= 3; map++)
		for (unsigned pp = 0; pp < 4; pp++) {
			uint8_t lead[3] = { 0xc4, 0xe0 | map, 0x78 | pp };

			sweep_regular(t, lead, 3);
		}
	for (unsigned m = 0; m < sizeof(sweep_evex_maps); m++)
		for (unsigned pp = 0; pp < 4; pp++) {
			uint8_t lead[4] = { 0x62, 0xf0 | sweep_evex_maps[m], 0x7c | pp, 0x48 };

			sweep_regular(t, lead, 4);
		}
}

static void sweep_one(struct sweep_tally *t, struct sweep *s)
{
	char want;
	struct insn in;
	enum insn_status st;

	assert_true(t->index < INSN_SWEEP_COUNT);
	want = insn_sweep_lengths[t->index++];
	sweep_finish(s);
	st = insn_decode(s->pat, SWEEP_SLOT, &in);
	if (want == '-')
		return;
	if (want == '0') {
		/* objdump cannot decode it; the decoder may, by rule. */
		if (st == INSN_OK)
			check_layout(&in);
		return;
	}
	if (st != INSN_OK && sweep_amd_only(s)) {
		t->amd_only++;
		return;
	}
	if (st != INSN_OK)
		fail_msg("sweep %zu: %02x %02x %02x %02x %02x %02x: %s, objdump length %c",
			 t->index - 1, s->pat[0], s->pat[1], s->pat[2], s->pat[3], s->pat[4],
			 s->pat[5], insn_status_str(st), want);
	if (in.length != (uint8_t)(want <= '9' ? want - '0' : want - 'a' + 10))
		fail_msg("sweep %zu: %02x %02x %02x %02x %02x %02x: length %u, objdump %c",
			 t->index - 1, s->pat[0], s->pat[1], s->pat[2], s->pat[3], s->pat[4],
			 s->pat[5], in.length, want);
	check_layout(&in);
	t->agreed++;
}

static void test_sweep(void **state)
{
	struct sweep_tally t = { 0 };
	size_t decodable = 0;

	(void)state;
	for (size_t i = 0; i < INSN_SWEEP_COUNT; i++)
		decodable += insn_sweep_lengths[i] != '0' && insn_sweep_lengths[i] != '-';
	sweep_all(&t);
	assert_int_equal(t.index, INSN_SWEEP_COUNT);
	/* Everything objdump decodes agrees but AMD-only encodings; what it
	 * cannot decode, the decoder may still measure by rule (undefined 0F 38,
	 * 0F 3A, VEX and EVEX opcodes, SSE opcodes under an unassigned mandatory
	 * prefix, reserved group members). */
	assert_int_equal(t.agreed + t.amd_only, decodable);
	assert_true(t.amd_only < 32);
}

/* Every distinct instruction of compiled code, with exactly its bytes. */
static void test_corpus(void **state)
{
	size_t off = 0;

	(void)state;
	for (size_t i = 0; i < INSN_CORPUS_COUNT; i++) {
		char c = insn_corpus_lengths[i];
		uint8_t want = (uint8_t)(c <= '9' ? c - '0' : c - 'a' + 10);
		const uint8_t *code = insn_corpus_code + off;
		struct insn in;
		enum insn_status st = decode_exact(code, want, &in);

		if (st != INSN_OK || in.length != want)
			fail_msg("corpus %zu at %zu (%02x %02x %02x %02x): %s, length %u, want %u",
				 i, off, code[0], code[1], code[2], code[3], insn_status_str(st),
				 in.length, want);
		check_layout(&in);
		assert_int_equal(decode_exact(code, want - 1u, &in), INSN_ERR_TRUNCATED);
		off += want;
	}
	assert_int_equal(off, sizeof(insn_corpus_code));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_prologue),
		cmocka_unit_test(test_rip_relative_and_branches),
		cmocka_unit_test(test_immediates),
		cmocka_unit_test(test_maps_and_mandatory_prefixes),
		cmocka_unit_test(test_vex_evex),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_errors_zero_output),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
