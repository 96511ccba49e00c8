/* The boot information marrow gives a multiboot kernel, read back with the
 * parsers the guest build of the kernel uses (mb2_parse, mb1_parse): every
 * field survives; the multiboot structure's fixed fields are where the
 * specification puts them; a buffer too small or a module above 4 GiB is
 * refused; and mb1_parse refuses malformed structures without reading past
 * what its mapper allows (ASan watches). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/platform/baremetal/mb1.h"
#include "src/platform/baremetal/mb2.h"
#include "src/platform/baremetal/mb_info.h"

#define PA 0x10100ull /* where the loader puts the information */
#define MiB (1ull << 20)

static const struct mb2_region map[] = {
	{ 0, 0x9f000, MB2_MEM_AVAILABLE },	    { 0x9f000, 0x1000, MB2_MEM_RESERVED },
	{ 0x100000, 15 * MiB, MB2_MEM_AVAILABLE },  { 16 * MiB, MiB, MB2_MEM_RESERVED },
	{ 17 * MiB, 100 * MiB, MB2_MEM_AVAILABLE },
};
static const struct mb_module mods[] = { { 0x200000, 0x200100, "first one" },
					 { 0x201000, 0x3fffff, "" } };
static const uint8_t rsdp[36] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ', 1, 2, 3 };

static struct mb_info_input input(void)
{
	return (struct mb_info_input){
		.cmdline = "tests=smp,bootguest",
		.bootloader = "marrow",
		.modules = mods,
		.module_count = 2,
		.map = map,
		.map_count = 5,
		.rsdp = rsdp,
		.rsdp_len = sizeof(rsdp),
		.rsdp_revision = 2,
	};
}

static void check_common(const struct mb2_info *got)
{
	assert_string_equal(got->cmdline, "tests=smp,bootguest");
	assert_string_equal(got->bootloader, "marrow");
	assert_int_equal(got->module_count, 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(got->modules[i].start, mods[i].start);
		assert_int_equal(got->modules[i].end, mods[i].end);
		assert_string_equal(got->modules[i].cmdline, mods[i].cmdline);
	}
	assert_int_equal(got->region_count, 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(got->regions[i].base, map[i].base);
		assert_int_equal(got->regions[i].length, map[i].length);
		assert_int_equal(got->regions[i].type, map[i].type);
	}
}

static void test_multiboot2_round_trip(void **state)
{
	(void)state;
	static uint8_t buf[4096];
	struct mb_info_input in = input();
	struct mb2_info got;

	size_t used = mb2_info_build(&in, buf, sizeof(buf), PA);
	assert_true(used > 0);
	assert_int_equal(mb2_parse(buf, used, &got), MB2_OK);
	assert_int_equal(got.total_size, used);
	check_common(&got);
	assert_int_equal(got.rsdp_revision, 2);
	assert_int_equal(got.rsdp_len, sizeof(rsdp));
	assert_memory_equal(got.rsdp, rsdp, sizeof(rsdp));
	/* The basic memory information tag (type 4): KiB below 640K and from
	 * 1 MiB to the first hole. */
	bool seen = false;
	for (size_t off = 8; off < used;) {
		uint32_t type, size, lower, upper;
		memcpy(&type, buf + off, 4);
		memcpy(&size, buf + off + 4, 4);
		if (type == 4) {
			memcpy(&lower, buf + off + 8, 4);
			memcpy(&upper, buf + off + 12, 4);
			assert_int_equal(lower, 0x9f000 >> 10);
			assert_int_equal(upper, 15 * 1024);
			seen = true;
		}
		off += (size + 7) & ~7u;
	}
	assert_true(seen);
	for (size_t small = 0; small < used; small += 8)
		assert_int_equal(mb2_info_build(&in, buf, small, PA), 0);
}

/* mb1_parse's view of physical memory: the buffer at PA. */
struct window {
	const uint8_t *buf;
	size_t len;
};

static const void *map_window(uint64_t pa, size_t len, void *ctx)
{
	const struct window *w = ctx;
	if (pa < PA || pa - PA > w->len || len > w->len - (pa - PA))
		return NULL;
	return w->buf + (pa - PA);
}

static void test_multiboot_round_trip(void **state)
{
	(void)state;
	static uint8_t buf[4096];
	struct mb_info_input in = input();
	struct mb2_info got;
	uint64_t lo, hi;

	size_t used = mb1_info_build(&in, buf, sizeof(buf), PA);
	assert_true(used > 0);
	/* An exact-size copy: ASan catches any read past what was built. */
	uint8_t *exact = malloc(used);
	memcpy(exact, buf, used);
	struct window w = { exact, used };
	assert_int_equal(mb1_parse(PA, map_window, &w, &got, &lo, &hi), MB2_OK);
	check_common(&got);
	assert_null(got.rsdp); /* multiboot has none: the kernel scans for it */
	assert_int_equal(lo, PA);
	assert_true(hi <= PA + used);
	uint32_t flags, lower, upper;
	memcpy(&flags, exact, 4);
	memcpy(&lower, exact + 4, 4);
	memcpy(&upper, exact + 8, 4);
	assert_int_equal(flags, (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
	assert_int_equal(lower, 0x9f000 >> 10);
	assert_int_equal(upper, 15 * 1024);
	free(exact);
	for (size_t small = 0; small < used; small++)
		assert_int_equal(mb1_info_build(&in, buf, small, PA), 0);
}

static void test_refusals(void **state)
{
	(void)state;
	static uint8_t buf[4096];
	struct mb_info_input in = input();
	const struct mb_module high[] = { { 0xfffff000ull, 0x100001000ull, "x" } };

	in.modules = high;
	in.module_count = 1;
	assert_int_equal(mb2_info_build(&in, buf, sizeof(buf), PA), 0);
	assert_int_equal(mb1_info_build(&in, buf, sizeof(buf), PA), 0);
	in = input();
	/* Structures that would end above 4 GiB. */
	assert_int_equal(mb1_info_build(&in, buf, sizeof(buf), 0xffffff00ull), 0);
}

static void test_multiboot_malformed(void **state)
{
	(void)state;
	static uint8_t buf[4096];
	struct mb_info_input in = input();
	struct mb2_info got;
	uint64_t lo, hi;
	size_t used = mb1_info_build(&in, buf, sizeof(buf), PA);
	struct window w = { buf, used };
	uint32_t v;

	/* The structure itself outside what can be read. */
	assert_int_equal(mb1_parse(PA + used, map_window, &w, &got, &lo, &hi), MB2_ERR_TRUNCATED);
	/* A map entry whose size is under 20. */
	uint32_t mmap_addr;
	memcpy(&mmap_addr, buf + 48, 4);
	memcpy(&v, buf + (mmap_addr - PA), 4);
	uint32_t bad = 12;
	memcpy(buf + (mmap_addr - PA), &bad, 4);
	assert_int_equal(mb1_parse(PA, map_window, &w, &got, &lo, &hi), MB2_ERR_BAD_MMAP);
	memcpy(buf + (mmap_addr - PA), &v, 4);
	/* A map longer than what can be read. */
	uint32_t long_len = 4096;
	memcpy(&v, buf + 44, 4);
	memcpy(buf + 44, &long_len, 4);
	assert_int_equal(mb1_parse(PA, map_window, &w, &got, &lo, &hi), MB2_ERR_TRUNCATED);
	memcpy(buf + 44, &v, 4);
	/* Too many modules. */
	uint32_t many = MB2_MAX_MODULES + 1;
	memcpy(&v, buf + 20, 4);
	memcpy(buf + 20, &many, 4);
	assert_int_equal(mb1_parse(PA, map_window, &w, &got, &lo, &hi), MB2_ERR_TOO_MANY);
	memcpy(buf + 20, &v, 4);
	/* A command line without its NUL within what can be read. */
	uint32_t cmd;
	memcpy(&cmd, buf + 16, 4);
	struct window cut = { buf, (size_t)(cmd - PA) + 5 };
	assert_int_equal(mb1_parse(PA, map_window, &cut, &got, &lo, &hi), MB2_ERR_UNTERMINATED);
	/* And intact, it parses. */
	assert_int_equal(mb1_parse(PA, map_window, &w, &got, &lo, &hi), MB2_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multiboot2_round_trip),
		cmocka_unit_test(test_multiboot_round_trip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_multiboot_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
