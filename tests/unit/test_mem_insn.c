/* The memory-instruction decoder on encodings GNU as produced (the
 * assembly is in each case's comment), in 64-, 32- and 16-bit code; every
 * truncation of each encoding; and what it must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "src/vmx/mem_insn.h"

struct decode_case {
	const char *text;
	unsigned bits;
	uint8_t bytes[15];
	uint8_t len;
	struct mem_insn want;
};

#define K_LOAD MEM_LOAD
#define K_STORE MEM_STORE
#define K_IMM MEM_STORE_IMM
#define K_XCHG MEM_XCHG

static const struct decode_case cases[] = {
	{ "mov %eax,0x300(%rdx)",
	  64,
	  { 0x89, 0x82, 0x00, 0x03, 0x00, 0x00 },
	  6,
	  { 6, K_STORE, 4, 0, false, 0, 0, 0 } },
	{ "mov 0x20(%rdx),%eax", 64, { 0x8b, 0x42, 0x20 }, 3, { 3, K_LOAD, 4, 0, false, 4, 0, 0 } },
	{ "movl $0xc4500,0x300(%rax)",
	  64,
	  { 0xc7, 0x80, 0x00, 0x03, 0x00, 0x00, 0x00, 0x45, 0x0c, 0x00 },
	  10,
	  { 10, K_IMM, 4, 0, false, 0, 0, 0xc4500 } },
	{ "mov %r9,(%rbx)", 64, { 0x4c, 0x89, 0x0b }, 3, { 3, K_STORE, 8, 9, false, 0, 0, 0 } },
	{ "mov (%rsp,%rcx,8),%r12d",
	  64,
	  { 0x44, 0x8b, 0x24, 0xcc },
	  4,
	  { 4, K_LOAD, 4, 12, false, 4, 0, 0 } },
	{ "mov %ah,(%rdi)", 64, { 0x88, 0x27 }, 2, { 2, K_STORE, 1, 0, true, 0, 0, 0 } },
	{ "mov %sil,0x1(%rdi)",
	  64,
	  { 0x40, 0x88, 0x77, 0x01 },
	  4,
	  { 4, K_STORE, 1, 6, false, 0, 0, 0 } },
	{ "mov %ax,%fs:(%rdx)",
	  64,
	  { 0x64, 0x66, 0x89, 0x02 },
	  4,
	  { 4, K_STORE, 2, 0, false, 0, 0, 0 } },
	{ "movzbl (%rax),%ecx",
	  64,
	  { 0x0f, 0xb6, 0x08 },
	  3,
	  { 3, K_LOAD, 1, 1, false, 4, EXTEND_ZERO, 0 } },
	{ "movswq 0x10(%rax),%r8",
	  64,
	  { 0x4c, 0x0f, 0xbf, 0x40, 0x10 },
	  5,
	  { 5, K_LOAD, 2, 8, false, 8, EXTEND_SIGN, 0 } },
	{ "xchg %eax,0xb0(%rdx)",
	  64,
	  { 0x87, 0x82, 0xb0, 0x00, 0x00, 0x00 },
	  6,
	  { 6, K_XCHG, 4, 0, false, 4, 0, 0 } },
	{ "movq $-2,0x8(%rax)",
	  64,
	  { 0x48, 0xc7, 0x40, 0x08, 0xfe, 0xff, 0xff, 0xff },
	  8,
	  { 8, K_IMM, 8, 0, false, 0, 0, 0xfffffffffffffffeull } },
	{ "movabs %eax,0xfee00300",
	  64,
	  { 0xa3, 0x00, 0x03, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00 },
	  9,
	  { 9, K_STORE, 4, 0, false, 4, 0, 0 } },
	{ "movb $0x7f,(%rax)", 64, { 0xc6, 0x00, 0x7f }, 3, { 3, K_IMM, 1, 0, false, 0, 0, 0x7f } },
	{ "mov 0x1234(%rip),%rdx",
	  64,
	  { 0x48, 0x8b, 0x15, 0x34, 0x12, 0x00, 0x00 },
	  7,
	  { 7, K_LOAD, 8, 2, false, 8, 0, 0 } },
	{ "addr32 mov %eax,(%edx)",
	  64,
	  { 0x67, 0x89, 0x02 },
	  3,
	  { 3, K_STORE, 4, 0, false, 0, 0, 0 } },
	{ "mov %eax,0xfee00300 (32-bit)",
	  32,
	  { 0xa3, 0x00, 0x03, 0xe0, 0xfe },
	  5,
	  { 5, K_STORE, 4, 0, false, 4, 0, 0 } },
	{ "movw $0x4500,(%eax) (32-bit)",
	  32,
	  { 0x66, 0xc7, 0x00, 0x00, 0x45 },
	  5,
	  { 5, K_IMM, 2, 0, false, 0, 0, 0x4500 } },
	{ "mov (%ebx,%esi,4),%cx (32-bit)",
	  32,
	  { 0x66, 0x8b, 0x0c, 0xb3 },
	  4,
	  { 4, K_LOAD, 2, 1, false, 2, 0, 0 } },
	{ "movsbl -0x1(%ebp),%edx (32-bit)",
	  32,
	  { 0x0f, 0xbe, 0x55, 0xff },
	  4,
	  { 4, K_LOAD, 1, 2, false, 4, EXTEND_SIGN, 0 } },
	{ "mov %ax,(%bx,%si) (16-bit)",
	  16,
	  { 0x89, 0x00 },
	  2,
	  { 2, K_STORE, 2, 0, false, 0, 0, 0 } },
	{ "mov 0x1234,%eax (16-bit)",
	  16,
	  { 0x66, 0xa1, 0x34, 0x12 },
	  4,
	  { 4, K_LOAD, 4, 0, false, 4, 0, 0 } },
	{ "movw $0x55aa,0(%bp) (16-bit)",
	  16,
	  { 0xc7, 0x46, 0x00, 0xaa, 0x55 },
	  5,
	  { 5, K_IMM, 2, 0, false, 0, 0, 0x55aa } },
};

static void test_encodings(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct decode_case *c = &cases[i];
		struct mem_insn got;
		enum mem_insn_status s = mem_insn_decode(c->bytes, c->len, c->bits, &got);
		if (s != MEM_INSN_OK || memcmp(&got, &c->want, sizeof(got)) != 0)
			fail_msg("%s: status %d, length %u kind %u size %u reg %u high %d regsize "
				 "%u "
				 "extend %u imm %llx",
				 c->text, s, got.length, got.kind, got.size, got.reg, got.high_byte,
				 got.reg_size, got.extend, (unsigned long long)got.imm);
		/* Every shorter buffer is a truncation, never a wrong answer. */
		for (uint8_t n = 0; n < c->len; n++)
			assert_int_equal(mem_insn_decode(c->bytes, n, c->bits, &got),
					 MEM_INSN_TRUNCATED);
	}
}

static void test_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint8_t bytes[8];
		uint8_t len;
		unsigned bits;
	} refused[] = {
		{ "lock xchg %eax,(%rdx)", { 0xf0, 0x87, 0x02 }, 3, 64 },
		{ "add %eax,(%rdx)", { 0x01, 0x02 }, 2, 64 },
		{ "mov %eax,%edx (no memory operand)", { 0x89, 0xc2 }, 2, 64 },
		{ "rep movsb", { 0xf3, 0xa4 }, 2, 64 },
		{ "c7 /1 (not MOV)", { 0xc7, 0x08, 0, 0, 0, 0 }, 6, 64 },
		{ "0f 05 (syscall)", { 0x0f, 0x05 }, 2, 64 },
		{ "inc %eax in 32-bit code, not a REX", { 0x40, 0x89, 0x02 }, 3, 32 },
		{ "a bad mode", { 0x89, 0x02 }, 2, 8 },
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct mem_insn got;
		if (mem_insn_decode(refused[i].bytes, refused[i].len, refused[i].bits, &got) !=
		    MEM_INSN_UNSUPPORTED)
			fail_msg("%s was not refused", refused[i].text);
	}
}

static void test_register_values(void **state)
{
	(void)state;
	struct mem_insn in = { .size = 1, .high_byte = true, .reg_size = 1 };
	assert_int_equal(mem_insn_reg_value(&in, 0x1234), 0x12);
	assert_int_equal(mem_insn_reg_result(&in, 0xffffffffffffffffull, 0xab),
			 0xffffffffffffabffull);
	in = (struct mem_insn){ .size = 2, .reg_size = 2 };
	assert_int_equal(mem_insn_reg_result(&in, 0x1111222233334444ull, 0xffffabcd),
			 0x111122223333abcdull);
	in = (struct mem_insn){ .size = 4, .reg_size = 4 };
	assert_int_equal(mem_insn_reg_result(&in, ~0ull, 0x80000000), 0x80000000);
	in = (struct mem_insn){ .size = 2, .reg_size = 8, .extend = EXTEND_SIGN };
	assert_int_equal(mem_insn_reg_result(&in, 0, 0x8000), 0xffffffffffff8000ull);
	in = (struct mem_insn){ .size = 1, .reg_size = 4, .extend = EXTEND_ZERO };
	assert_int_equal(mem_insn_reg_result(&in, ~0ull, 0xff), 0xff);
	in = (struct mem_insn){ .size = 8, .reg_size = 8 };
	assert_int_equal(mem_insn_reg_value(&in, 0x123456789abcdef0ull), 0x123456789abcdef0ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_register_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
