/* The multiboot2 parser on the boot information Bochs + GRUB really gave,
 * and on malformed buffers: every size is checked, nothing is read past the
 * buffer (ASan watches). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures/bochs_mb2.h"
#include "src/platform/baremetal/mb2.h"

static void test_bochs_info_parses(void **state)
{
	(void)state;
	struct mb2_info info;

	assert_int_equal(mb2_parse(bochs_mb2_info, sizeof(bochs_mb2_info), &info), MB2_OK);
	assert_int_equal(info.total_size, sizeof(bochs_mb2_info));
	assert_non_null(info.cmdline);
	assert_string_equal(info.cmdline, "dump_mbi");
	assert_non_null(info.bootloader);
	assert_non_null(strstr(info.bootloader, "GRUB"));
	assert_int_equal(info.module_count, 0);
	assert_non_null(info.rsdp);
	assert_memory_equal(info.rsdp, "RSD PTR ", 8);
}

static void test_bochs_memory_map(void **state)
{
	(void)state;
	struct mb2_info info;
	/* As the kernel printed it at boot. */
	static const struct mb2_region want[] = {
		{ 0x0, 0x9f000, MB2_MEM_AVAILABLE },
		{ 0x9f000, 0x1000, MB2_MEM_RESERVED },
		{ 0xe8000, 0x18000, MB2_MEM_RESERVED },
		{ 0x100000, 0x7ef0000, MB2_MEM_AVAILABLE },
		{ 0x7ff0000, 0x10000, MB2_MEM_ACPI_RECLAIMABLE },
		{ 0xfffc0000, 0x40000, MB2_MEM_RESERVED },
	};

	assert_int_equal(mb2_parse(bochs_mb2_info, sizeof(bochs_mb2_info), &info), MB2_OK);
	assert_int_equal(info.region_count, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < info.region_count; i++) {
		assert_int_equal(info.regions[i].base, want[i].base);
		assert_int_equal(info.regions[i].length, want[i].length);
		assert_int_equal(info.regions[i].type, want[i].type);
	}
}

/* A builder for synthetic boot information. */
struct builder {
	uint8_t buf[4096] __attribute__((aligned(8)));
	uint32_t len;
};

static void put32(struct builder *b, uint32_t v)
{
	memcpy(b->buf + b->len, &v, 4);
	b->len += 4;
}

static void put64(struct builder *b, uint64_t v)
{
	memcpy(b->buf + b->len, &v, 8);
	b->len += 8;
}

static void begin(struct builder *b)
{
	memset(b, 0, sizeof(*b));
	put32(b, 0); /* total size, patched by finish() */
	put32(b, 0);
}

static void align8(struct builder *b)
{
	b->len = (b->len + 7) & ~7u;
}

static void add_string_tag(struct builder *b, uint32_t type, const char *s)
{
	uint32_t size = 8 + (uint32_t)strlen(s) + 1;
	put32(b, type);
	put32(b, size);
	memcpy(b->buf + b->len, s, strlen(s) + 1);
	b->len += (uint32_t)strlen(s) + 1;
	align8(b);
}

static void add_mmap(struct builder *b, const struct mb2_region *r, size_t n, uint32_t entry_size)
{
	put32(b, 6);
	put32(b, 16 + (uint32_t)n * entry_size);
	put32(b, entry_size);
	put32(b, 0);
	for (size_t i = 0; i < n; i++) {
		uint32_t start = b->len;
		put64(b, r[i].base);
		put64(b, r[i].length);
		put32(b, r[i].type);
		put32(b, 0);
		b->len = start + entry_size;
	}
	align8(b);
}

static void finish(struct builder *b)
{
	put32(b, 0); /* end tag */
	put32(b, 8);
	memcpy(b->buf, &b->len, 4);
}

static void test_map_with_holes_and_reserved_ranges(void **state)
{
	(void)state;
	struct builder b;
	struct mb2_info info;
	static const struct mb2_region map[] = {
		{ 0x0, 0x9fc00, MB2_MEM_AVAILABLE },
		{ 0x9fc00, 0x400, MB2_MEM_RESERVED },
		{ 0xf0000, 0x10000, MB2_MEM_RESERVED },
		{ 0x100000, 0xbfee0000, MB2_MEM_AVAILABLE },
		{ 0xbffe0000, 0x20000, MB2_MEM_RESERVED },
		{ 0xfeffc000, 0x4000, MB2_MEM_RESERVED },
		{ 0x100000000ull, 0x140000000ull, MB2_MEM_AVAILABLE },
		{ 0x240000000ull, 0x1000, MB2_MEM_BADRAM },
		{ 0xfd00000000ull, 0x300000000ull, MB2_MEM_RESERVED },
	};

	begin(&b);
	add_string_tag(&b, 1, "tests=all");
	add_mmap(&b, map, 9, 24);
	finish(&b);
	assert_int_equal(mb2_parse(b.buf, b.len, &info), MB2_OK);
	assert_string_equal(info.cmdline, "tests=all");
	assert_int_equal(info.region_count, 9);
	assert_int_equal(info.regions[6].base, 0x100000000ull);
	assert_int_equal(info.regions[8].length, 0x300000000ull);
	assert_int_equal(info.regions[7].type, MB2_MEM_BADRAM);
}

static void test_larger_entry_size_is_honoured(void **state)
{
	(void)state;
	struct builder b;
	struct mb2_info info;
	static const struct mb2_region map[] = {
		{ 0x0, 0x1000, MB2_MEM_AVAILABLE },
		{ 0x100000, 0x200000, MB2_MEM_AVAILABLE },
	};

	begin(&b);
	add_mmap(&b, map, 2, 32); /* a future, larger entry format */
	finish(&b);
	assert_int_equal(mb2_parse(b.buf, b.len, &info), MB2_OK);
	assert_int_equal(info.region_count, 2);
	assert_int_equal(info.regions[1].base, 0x100000);
}

static void test_truncated_buffers_are_rejected(void **state)
{
	(void)state;
	struct mb2_info info;

	/* Every prefix shorter than the whole is refused, never over-read. */
	for (size_t len = 0; len < sizeof(bochs_mb2_info); len++) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, bochs_mb2_info, len);
		assert_int_not_equal(mb2_parse(copy, len, &info), MB2_OK);
		free(copy);
	}
}

static void test_malformed_tags(void **state)
{
	(void)state;
	struct builder b;
	struct mb2_info info;

	/* A tag whose size is below the 8-byte header. */
	begin(&b);
	put32(&b, 1);
	put32(&b, 4);
	finish(&b);
	assert_int_equal(mb2_parse(b.buf, b.len, &info), MB2_ERR_BAD_TAG);

	/* A tag that runs past the total size. */
	begin(&b);
	put32(&b, 1);
	put32(&b, 4000);
	put64(&b, 0);
	finish(&b);
	assert_int_equal(mb2_parse(b.buf, b.len, &info), MB2_ERR_TRUNCATED);

	/* A command line without its NUL. */
	begin(&b);
	put32(&b, 1);
	put32(&b, 16);
	memcpy(b.buf + b.len, "abcdefgh", 8);
	b.len += 8;
	finish(&b);
	assert_int_equal(mb2_parse(b.buf, b.len, &info), MB2_ERR_UNTERMINATED);

	/* A memory map whose entries are too small to hold an entry. */
	begin(&b);
	put32(&b, 6);
	put32(&b, 16);
	put32(&b, 8);
	put32(&b, 0);
	finish(&b);
	assert_int_equal(mb2_parse(b.buf, b.len, &info), MB2_ERR_BAD_MMAP);

	/* No end tag. */
	begin(&b);
	add_string_tag(&b, 1, "x");
	memcpy(b.buf, &b.len, 4);
	assert_int_equal(mb2_parse(b.buf, b.len, &info), MB2_ERR_NO_END_TAG);

	/* A total size larger than the buffer. */
	begin(&b);
	finish(&b);
	assert_int_equal(mb2_parse(b.buf, b.len - 1, &info), MB2_ERR_TRUNCATED);
}

static void test_too_many_regions(void **state)
{
	(void)state;
	static struct builder b;
	static struct mb2_region map[MB2_MAX_REGIONS + 1];
	struct mb2_info info;

	for (size_t i = 0; i < MB2_MAX_REGIONS + 1; i++)
		map[i] = (struct mb2_region){ i * 0x1000, 0x1000, MB2_MEM_AVAILABLE };
	begin(&b);
	add_mmap(&b, map, MB2_MAX_REGIONS + 1, 24);
	finish(&b);
	assert_true(b.len <= sizeof(b.buf));
	assert_int_equal(mb2_parse(b.buf, b.len, &info), MB2_ERR_TOO_MANY);
	assert_string_equal(mb2_status_str(MB2_ERR_TOO_MANY),
			    "more memory regions or modules than supported");
}

static void test_modules_and_acpi(void **state)
{
	(void)state;
	struct builder b;
	struct mb2_info info;
	uint8_t rsdp1[20] = "RSD PTR ", rsdp2[36] = "RSD PTR ";

	begin(&b);
	put32(&b, 3); /* module */
	put32(&b, 16 + 7);
	put32(&b, 0x200000);
	put32(&b, 0x280000);
	memcpy(b.buf + b.len, "initrd", 7);
	b.len += 7;
	align8(&b);
	put32(&b, 14); /* old RSDP */
	put32(&b, 8 + 20);
	memcpy(b.buf + b.len, rsdp1, 20);
	b.len += 20;
	align8(&b);
	put32(&b, 15); /* new RSDP */
	put32(&b, 8 + 36);
	rsdp2[15] = 2;
	memcpy(b.buf + b.len, rsdp2, 36);
	b.len += 36;
	align8(&b);
	finish(&b);

	assert_int_equal(mb2_parse(b.buf, b.len, &info), MB2_OK);
	assert_int_equal(info.module_count, 1);
	assert_int_equal(info.modules[0].start, 0x200000);
	assert_int_equal(info.modules[0].end, 0x280000);
	assert_string_equal(info.modules[0].cmdline, "initrd");
	assert_int_equal(info.rsdp_revision, 2); /* the ACPI 2.0 one wins */
	assert_int_equal(info.rsdp_len, 36);
}

/* Found by fuzz_mb2 (tests/fuzz): an entry size near 2^32 wrapped
 * `off + entry_size` in 32 bits, so a tag with no room for one entry gave
 * garbage regions read from the tag's own header, and a 16-byte tag at the
 * end of the buffer was read 20 bytes past its end (ASan: the buffer here
 * is an exact-size heap copy). Such a tag holds no entry. */
static void test_fuzz_mmap_entry_size_near_4g(void **state)
{
	(void)state;
	struct builder b;
	struct mb2_info info;
	static const uint32_t sizes[] = { 0xffffffffu, 0xfffffff0u, 0x80000000u };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		begin(&b);
		put32(&b, 6);
		put32(&b, 16 + 24);
		put32(&b, sizes[i]);
		put32(&b, 0);
		put64(&b, 0x1000); /* room for one 24-byte entry, not one of sizes[i] */
		put64(&b, 0x2000);
		put64(&b, MB2_MEM_AVAILABLE);
		finish(&b);
		assert_int_equal(mb2_parse(b.buf, b.len, &info), MB2_OK);
		assert_int_equal(info.region_count, 0);

		/* The tag alone, last before the end tag, in an exact-size copy. */
		begin(&b);
		put32(&b, 6);
		put32(&b, 16);
		put32(&b, sizes[i]);
		put32(&b, 0);
		finish(&b);
		uint8_t *copy = malloc(b.len);
		assert_non_null(copy);
		memcpy(copy, b.buf, b.len);
		assert_int_equal(mb2_parse(copy, b.len, &info), MB2_OK);
		assert_int_equal(info.region_count, 0);
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bochs_info_parses),
		cmocka_unit_test(test_bochs_memory_map),
		cmocka_unit_test(test_map_with_holes_and_reserved_ranges),
		cmocka_unit_test(test_larger_entry_size_is_honoured),
		cmocka_unit_test(test_truncated_buffers_are_rejected),
		cmocka_unit_test(test_malformed_tags),
		cmocka_unit_test(test_too_many_regions),
		cmocka_unit_test(test_modules_and_acpi),
		cmocka_unit_test(test_fuzz_mmap_entry_size_near_4g),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
