/* The code marrow generates for hooks (src/hook/stub.c): decoded with
 * marrow's own decoder, instruction by instruction, and run. The inline
 * stub counts a call and reaches the handler with the arguments and return
 * value intact; the syscall stub counts by RAX (the numbers past its table
 * together), preserves every register but RFLAGS and jumps through the
 * entry slot, which may change between calls. Both run in memory below
 * 2 GiB (MAP_32BIT), where their absolute addresses fit. */
#define _GNU_SOURCE /* MAP_32BIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "hook/insn.h"
#include "hook/stub.h"

static uint8_t *map_low(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

/* Decodes n instructions from code and checks their lengths. */
static void expect_lengths(const uint8_t *code, const unsigned *lengths, unsigned n)
{
	unsigned at = 0;
	for (unsigned i = 0; i < n; i++) {
		struct insn in;
		assert_int_equal(insn_decode(code + at, 16, &in), INSN_OK);
		assert_int_equal(in.length, lengths[i]);
		at += in.length;
	}
}

static uint64_t doubled(uint64_t x, uint64_t y)
{
	return 2 * x + y;
}

static void test_inline_stub_decodes(void **state)
{
	(void)state;
	uint8_t slot[STUB_SLOT_SIZE] = { 0 };
	static const unsigned lengths[] = { 8, 6 };
	const uint64_t at = 0x7000000, hits = 0x7100000, handler = 0x6f00008;
	struct insn in;

	stub_inline_build(slot, at, hits, handler);
	expect_lengths(slot, lengths, 2);
	/* Both operands are RIP-relative and land on the two variables. */
	assert_int_equal(insn_decode(slot, 16, &in), INSN_OK);
	assert_true(in.rip_relative);
	int32_t d;
	memcpy(&d, slot + in.disp_offset, 4);
	assert_true(at + 8 + (uint64_t)(int64_t)d == hits);
	assert_int_equal(insn_decode(slot + 8, 16, &in), INSN_OK);
	assert_true(in.rip_relative);
	memcpy(&d, slot + 8 + in.disp_offset, 4);
	assert_true(at + 14 + (uint64_t)(int64_t)d == handler);
	assert_true(STUB_SLOT_TRAMP >= 14);
}

static void test_inline_stub_reach(void **state)
{
	(void)state;
	const uint64_t at = 0x100000000ull;
	assert_true(stub_reaches(at, at + 0x7fffffffull));
	assert_false(stub_reaches(at, at + 0x80000000ull));
	assert_true(stub_reaches(at, at + 16 - 0x80000000ull));
	assert_false(stub_reaches(at, at + 15 - 0x80000000ull));
	assert_false(stub_reaches(0, 0xffffffff00000000ull));
}

static void test_inline_stub_runs(void **state)
{
	(void)state;
	/* The code, and its two variables a page away, below 2 GiB. */
	uint8_t *slot = map_low(2 * 4096);
	uint64_t *data = (uint64_t *)(void *)(slot + 4096);
	uint64_t (*hooked)(uint64_t, uint64_t);

	data[0] = 0;
	data[1] = (uint64_t)(uintptr_t)doubled;
	stub_inline_build(slot, (uint64_t)(uintptr_t)slot, (uint64_t)(uintptr_t)&data[0],
			  (uint64_t)(uintptr_t)&data[1]);
	hooked = (uint64_t(*)(uint64_t, uint64_t))(void *)slot;
	for (uint64_t i = 0; i < 10; i++)
		assert_true(hooked(i, 7) == 2 * i + 7);
	assert_true(data[0] == 10);
	munmap(slot, 2 * 4096);
}

static void test_lstar_stub_decodes(void **state)
{
	(void)state;
	uint8_t s[STUB_LSTAR_LEN + 8] = { 0 };
	static const unsigned lengths[] = { 6, 2, 9, 2, 9, 7 };
	struct insn in;

	stub_lstar_build(s, 0x100000, 0x200000);
	expect_lengths(s, lengths, 6);
	assert_int_equal(6 + 2 + 9 + 2 + 9 + 7, STUB_LSTAR_LEN);
	/* jb reaches the indexed increment, jmp the final jump. */
	assert_int_equal(insn_decode(s + 6, 16, &in), INSN_OK);
	assert_true(in.rel_branch);
	assert_int_equal(8 + (int8_t)s[7], 19);
	assert_int_equal(insn_decode(s + 17, 16, &in), INSN_OK);
	assert_true(in.rel_branch);
	assert_int_equal(19 + (int8_t)s[18], 28);
	/* No operand is RIP-relative: the addresses are absolute. */
	for (unsigned at = 0; at < STUB_LSTAR_LEN; at += in.length) {
		assert_int_equal(insn_decode(s + at, 16, &in), INSN_OK);
		assert_false(in.rip_relative);
	}
}

/* The entries the stub jumps to: they return to the caller of the stub
 * (a CALL stands in for SYSCALL), recording what RAX, RCX and R11 held. */
uint64_t seen_rax, seen_rcx, seen_r11, entry2_calls;
void stub_test_entry(void);
void stub_test_entry2(void);
__asm__(".text\n"
	"stub_test_entry:\n\t"
	"mov %rax, seen_rax(%rip)\n\t"
	"mov %rcx, seen_rcx(%rip)\n\t"
	"mov %r11, seen_r11(%rip)\n\t"
	"ret\n"
	"stub_test_entry2:\n\t"
	"incq entry2_calls(%rip)\n\t"
	"ret\n");

static void syscall_through(const uint8_t *stub, uint64_t rax)
{
	__asm__ volatile("mov $0x1111, %%rcx\n\t"
			 "mov $0x2222, %%r11\n\t"
			 "call *%[stub]"
			 : "+a"(rax)
			 : [stub] "r"(stub)
			 : "rcx", "r11", "memory", "cc");
}

static void test_lstar_stub_runs(void **state)
{
	(void)state;
	uint8_t *page = map_low(3 * 4096);
	uint64_t *counts = (uint64_t *)(void *)(page + 4096);
	uint64_t *entry = (uint64_t *)(void *)(page + 2 * 4096);

	assert_true(stub_fits_abs32((uint64_t)(uintptr_t)counts));
	*entry = (uint64_t)(uintptr_t)stub_test_entry;
	stub_lstar_build(page, (uint64_t)(uintptr_t)counts, (uint64_t)(uintptr_t)entry);
	syscall_through(page, 0);
	syscall_through(page, 7);
	syscall_through(page, 7);
	syscall_through(page, STUB_SYSCALLS - 1);
	syscall_through(page, STUB_SYSCALLS);
	syscall_through(page, ~0ull);
	assert_true(counts[0] == 1);
	assert_true(counts[7] == 2);
	assert_true(counts[STUB_SYSCALLS - 1] == 1);
	assert_true(counts[STUB_SYSCALLS] == 2); /* 511 and 2^64-1 */
	assert_true(seen_rax == ~0ull);
	assert_true(seen_rcx == 0x1111);
	assert_true(seen_r11 == 0x2222);
	/* The guest moves its entry: the next SYSCALL goes there. */
	*entry = (uint64_t)(uintptr_t)stub_test_entry2;
	syscall_through(page, 7);
	assert_true(entry2_calls == 1);
	assert_true(counts[7] == 3);
	munmap(page, 3 * 4096);
}

static void test_abs32_reach(void **state)
{
	(void)state;
	assert_true(stub_fits_abs32(0));
	assert_true(stub_fits_abs32(0x7fffffff));
	assert_false(stub_fits_abs32(0x80000000));
	assert_false(stub_fits_abs32(0xffffffff7fffffffull));
	assert_true(stub_fits_abs32(0xffffffff80000000ull));
	assert_true(stub_fits_abs32(0xffffffffffffffffull));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_stub_decodes),
		cmocka_unit_test(test_inline_stub_reach),
		cmocka_unit_test(test_inline_stub_runs),
		cmocka_unit_test(test_lstar_stub_decodes),
		cmocka_unit_test(test_lstar_stub_runs),
		cmocka_unit_test(test_abs32_reach),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
