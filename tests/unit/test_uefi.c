/* The UEFI platform's pure logic: marrow.efi's command line, the firmware
 * memory map as platform ranges, moving the image's pointers into its
 * resident copy, and the list of pages marrow keeps from the OS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/boot_guest.h"
#include "src/platform/uefi/uefi_args.h"
#include "src/platform/uefi/uefi_memmap.h"
#include "src/platform/uefi/uefi_owned.h"
#include "src/platform/uefi/uefi_reloc.h"

/* UCS-2 from ASCII, as the firmware passes LoadOptions. */
static size_t ucs2(const char *s, uint16_t *out)
{
	size_t n = 0;
	for (; s[n]; n++)
		out[n] = (uint16_t)(unsigned char)s[n];
	out[n] = 0;
	return n + 1;
}

static void expect_ucs2(const uint16_t *got, const char *want)
{
	size_t i = 0;
	for (; want[i]; i++)
		assert_int_equal(got[i], (unsigned char)want[i]);
	assert_int_equal(got[i], 0);
}

static void parse(const char *text, bool skip_first, struct uefi_args *a, bool ok)
{
	uint16_t buf[2048];
	size_t n = ucs2(text, buf);
	assert_int_equal(uefi_args_parse(buf, n, skip_first, a), ok);
}

static void test_args_shell_line_with_loader(void **state)
{
	struct uefi_args a;
	(void)state;
	parse("marrowldr.efi key=0x1234abcd \\vmlinuz initrd=\\initrd.img console=ttyS0", true, &a,
	      true);
	assert_true(a.have_key);
	assert_int_equal(a.key, 0x1234abcd);
	assert_int_equal(a.serial_port, UEFI_ARGS_DEFAULT_SERIAL);
	expect_ucs2(a.path, "\\vmlinuz");
	expect_ucs2(a.rest, "initrd=\\initrd.img console=ttyS0");
}

static void test_args_options_after_the_path_belong_to_the_loader(void **state)
{
	struct uefi_args a;
	(void)state;
	parse("\\EFI\\debian\\grubx64.efi key=5 serial=off", false, &a, true);
	assert_false(a.have_key);
	expect_ucs2(a.path, "\\EFI\\debian\\grubx64.efi");
	expect_ucs2(a.rest, "key=5 serial=off");
}

static void test_args_empty_and_options_only(void **state)
{
	struct uefi_args a;
	(void)state;
	assert_true(uefi_args_parse(NULL, 0, false, &a));
	assert_int_equal(a.path[0], 0);
	parse("marrow.efi", true, &a, true);
	assert_int_equal(a.path[0], 0);
	parse("  key=FFFFFFFFFFFFFFFF   serial=2f8 ", false, &a, true);
	assert_int_equal(a.key, 0xffffffffffffffffull);
	assert_int_equal(a.serial_port, 0x2f8);
	assert_int_equal(a.path[0], 0);
	parse("serial=off", false, &a, true);
	assert_int_equal(a.serial_port, 0);
}

static void test_args_quotes(void **state)
{
	struct uefi_args a;
	(void)state;
	parse("\"\\EFI\\my loader.efi\" \"a b\"", false, &a, true);
	expect_ucs2(a.path, "\\EFI\\my loader.efi");
	expect_ucs2(a.rest, "\"a b\"");
	parse("\"\\unterminated", false, &a, false);
	assert_non_null(strstr(a.error, "quote"));
}

static void test_args_bad_options_are_errors(void **state)
{
	struct uefi_args a;
	(void)state;
	parse("key=", false, &a, false);
	assert_non_null(strstr(a.error, "key="));
	parse("key=12345678123456789", false, &a, false); /* 17 digits */
	parse("key=xyz", false, &a, false);
	parse("serial=10000", false, &a, false); /* beyond 16 bits */
	assert_non_null(strstr(a.error, "serial="));
	parse("serial=0", false, &a, false);
	parse("serial=", false, &a, false);
}

static void test_args_too_long(void **state)
{
	char text[3000];
	struct uefi_args a;
	(void)state;
	memset(text, 'p', 400);
	text[400] = 0;
	parse(text, false, &a, false); /* a path beyond UEFI_ARGS_PATH_MAX */
	strcpy(text, "\\l.efi ");
	memset(text + 7, 'x', 1500);
	text[1507] = 0;
	parse(text, false, &a, false);
	assert_non_null(strstr(a.error, "arguments"));
}

static struct uefi_mem_desc desc(uint32_t type, uint64_t base, uint64_t pages)
{
	return (struct uefi_mem_desc){ .type = type, .physical_start = base, .pages = pages };
}

static void test_memmap_kinds(void **state)
{
	(void)state;
	assert_int_equal(uefi_mem_kind(UEFI_MEM_CONVENTIONAL), PLATFORM_MEM_RAM);
	assert_int_equal(uefi_mem_kind(UEFI_MEM_BOOT_DATA), PLATFORM_MEM_RAM);
	assert_int_equal(uefi_mem_kind(UEFI_MEM_RUNTIME_DATA), PLATFORM_MEM_RAM);
	assert_int_equal(uefi_mem_kind(UEFI_MEM_ACPI_RECLAIM), PLATFORM_MEM_ACPI);
	assert_int_equal(uefi_mem_kind(UEFI_MEM_ACPI_NVS), PLATFORM_MEM_NVS);
	assert_int_equal(uefi_mem_kind(UEFI_MEM_UNUSABLE), PLATFORM_MEM_BAD);
	assert_int_equal(uefi_mem_kind(UEFI_MEM_MMIO), PLATFORM_MEM_RESERVED);
	assert_int_equal(uefi_mem_kind(UEFI_MEM_RESERVED), PLATFORM_MEM_RESERVED);
	assert_int_equal(uefi_mem_kind(99), PLATFORM_MEM_RESERVED);
}

/* Out of order, with a larger descriptor stride than the structure (as
 * firmware may report), neighbours merged by kind. */
static void test_memmap_sorts_and_merges(void **state)
{
	enum { STRIDE = 48 };
	uint8_t map[8 * STRIDE];
	struct uefi_mem_desc d[8] = {
		desc(UEFI_MEM_BOOT_DATA, 0x100000, 0x100),
		desc(UEFI_MEM_CONVENTIONAL, 0x0, 0xa0),
		desc(UEFI_MEM_CONVENTIONAL, 0x200000, 0x1e00),
		desc(UEFI_MEM_ACPI_NVS, 0x2000000, 0x10),
		desc(UEFI_MEM_RESERVED, 0xa0000, 0x60),
		desc(UEFI_MEM_LOADER_CODE, 0x2010000, 0x10),
		desc(UEFI_MEM_MMIO, 0xffc00000, 0x400),
		desc(UEFI_MEM_CONVENTIONAL, 0x5000000, 0), /* empty: skipped */
	};
	struct platform_mem_range out[8];
	(void)state;
	memset(map, 0xee, sizeof(map));
	for (int i = 0; i < 8; i++)
		memcpy(map + i * STRIDE, &d[i], sizeof(d[i]));
	int n = uefi_memmap_convert(map, sizeof(map), STRIDE, out, 8);
	assert_int_equal(n, 6);
	assert_int_equal(out[0].base, 0);
	assert_int_equal(out[0].length, 0xa0000);
	assert_int_equal(out[1].type, PLATFORM_MEM_RESERVED);
	assert_int_equal(out[2].base, 0x100000); /* boot data + conventional: RAM */
	assert_int_equal(out[2].length, 0x1f00000);
	assert_int_equal(out[2].type, PLATFORM_MEM_RAM);
	assert_int_equal(out[3].type, PLATFORM_MEM_NVS);
	assert_int_equal(out[4].base, 0x2010000);
	assert_int_equal(out[4].type, PLATFORM_MEM_RAM);
	assert_int_equal(out[5].base, 0xffc00000);
	assert_int_equal(out[5].type, PLATFORM_MEM_RESERVED);
}

static void test_memmap_limits_and_malformed(void **state)
{
	struct uefi_mem_desc d[3] = {
		desc(UEFI_MEM_CONVENTIONAL, 0x0, 0x10),
		desc(UEFI_MEM_RESERVED, 0x20000, 0x10),
		desc(UEFI_MEM_CONVENTIONAL, 0x40000, 0x10),
	};
	struct platform_mem_range out[3];
	(void)state;
	assert_int_equal(uefi_memmap_convert(d, sizeof(d), sizeof(d[0]), out, 3), 3);
	assert_int_equal(uefi_memmap_convert(d, sizeof(d), sizeof(d[0]), out, 2), -1);
	assert_int_equal(uefi_memmap_convert(d, sizeof(d), 8, out, 3), -1); /* stride too small */
	d[1] = desc(UEFI_MEM_RESERVED, 0x8000, 0x10);			    /* overlaps d[0] */
	assert_int_equal(uefi_memmap_convert(d, sizeof(d), sizeof(d[0]), out, 3), -1);
	d[1] = desc(UEFI_MEM_RESERVED, 0xfffffffffffff000ull, 2); /* wraps */
	assert_int_equal(uefi_memmap_convert(d, sizeof(d), sizeof(d[0]), out, 3), -1);
}

static void test_reloc_moves_pointers_into_the_copy(void **state)
{
	uint64_t image[8] = { 0 };
	const uint64_t old_base = 0x6000000, new_base = 0x7000000;
	struct uefi_rela rela[3] = {
		{ 8, UEFI_R_X86_64_RELATIVE, 0x20 },
		{ 24, UEFI_R_X86_64_NONE, 0 },
		{ 32, UEFI_R_X86_64_RELATIVE, 0x40 },
	};
	struct uefi_dyn dyn[] = { { UEFI_DT_RELA, 64 },
				  { UEFI_DT_RELASZ, sizeof(rela) },
				  { UEFI_DT_RELAENT, sizeof(struct uefi_rela) },
				  { UEFI_DT_NULL, 0 } };
	uint8_t holder[64 + sizeof(rela)];
	const struct uefi_rela *table;
	size_t count;
	(void)state;
	memcpy(holder + 64, rela, sizeof(rela));
	assert_int_equal(uefi_reloc_find(holder, dyn, &table, &count), UEFI_RELOC_OK);
	assert_ptr_equal(table, (void *)(holder + 64));
	assert_int_equal(count, 3);
	/* As the start-up code left them: old base + addend. */
	image[1] = old_base + 0x20;
	image[3] = 0x1234;
	image[4] = old_base + 0x40;
	assert_int_equal(uefi_reloc_apply((uint8_t *)image, sizeof(image), table, count,
					  new_base - old_base),
			 UEFI_RELOC_OK);
	assert_int_equal(image[1], new_base + 0x20);
	assert_int_equal(image[3], 0x1234);
	assert_int_equal(image[4], new_base + 0x40);
}

static void test_reloc_refuses_what_it_cannot_apply(void **state)
{
	uint64_t image[4] = { 1, 2, 3, 4 };
	struct uefi_rela bad_type[1] = { { 0, 1 /* R_X86_64_64 */, 0 } };
	struct uefi_rela outside[2] = { { 0, UEFI_R_X86_64_RELATIVE, 0 },
					{ 28, UEFI_R_X86_64_RELATIVE, 0 } };
	struct uefi_dyn entsize[] = { { UEFI_DT_RELA, 8 },
				      { UEFI_DT_RELASZ, 48 },
				      { UEFI_DT_RELAENT, 16 },
				      { UEFI_DT_NULL, 0 } };
	struct uefi_dyn none[] = { { UEFI_DT_RELASZ, 48 }, { UEFI_DT_NULL, 0 } };
	const struct uefi_rela *t;
	size_t n;
	(void)state;
	assert_int_equal(uefi_reloc_apply((uint8_t *)image, sizeof(image), bad_type, 1, 0x1000),
			 UEFI_RELOC_BAD_TYPE);
	/* All or nothing: the first entry was valid, and is not applied. */
	assert_int_equal(uefi_reloc_apply((uint8_t *)image, sizeof(image), outside, 2, 0x1000),
			 UEFI_RELOC_OUT_OF_IMAGE);
	assert_int_equal(image[0], 1);
	assert_int_equal(uefi_reloc_find((uint8_t *)image, entsize, &t, &n),
			 UEFI_RELOC_BAD_ENTSIZE);
	assert_int_equal(uefi_reloc_find((uint8_t *)image, none, &t, &n), UEFI_RELOC_NO_TABLE);
	assert_non_null(strstr(uefi_reloc_status_str(UEFI_RELOC_BAD_TYPE), "RELATIVE"));
}

static void test_owned_merges_splits_and_fills(void **state)
{
	static struct uefi_owned o;
	(void)state;
	memset(&o, 0, sizeof(o));
	assert_true(uefi_owned_add(&o, 0x10000, 2));
	assert_true(uefi_owned_add(&o, 0x12000, 1)); /* after: merged */
	assert_true(uefi_owned_add(&o, 0xf000, 1));  /* before: merged */
	assert_int_equal(o.count, 1);
	assert_int_equal(o.r[0].base, 0xf000);
	assert_int_equal(uefi_owned_pages(&o), 4);
	assert_true(uefi_owned_remove(&o, 0x10000, 1)); /* a hole: split */
	assert_int_equal(o.count, 2);
	assert_int_equal(uefi_owned_pages(&o), 3);
	assert_false(uefi_owned_remove(&o, 0x10000, 1)); /* not recorded any more */
	assert_true(uefi_owned_remove(&o, 0xf000, 1));
	assert_true(uefi_owned_remove(&o, 0x11000, 2));
	assert_int_equal(o.count, 0);
	for (unsigned i = 0; i < UEFI_OWNED_MAX; i++)
		assert_true(uefi_owned_add(&o, 0x100000 + i * 0x2000ull, 1));
	assert_false(uefi_owned_add(&o, 0x90000000, 1)); /* full: refused */
}

static void test_owned_sorted_for_the_seal(void **state)
{
	static struct uefi_owned o;
	struct mw_phys_range r[4];
	(void)state;
	memset(&o, 0, sizeof(o));
	/* Out of order; 0x20000 and 0x10000 become touching through 0x11000,
	 * which uefi_owned_add alone does not merge. */
	assert_true(uefi_owned_add(&o, 0x20000, 1));
	assert_true(uefi_owned_add(&o, 0x10000, 1));
	assert_true(uefi_owned_add(&o, 0x40000, 2));
	assert_true(uefi_owned_add(&o, 0x11000, 15)); /* 0x11000-0x20000: merged with 0x10000 */
	assert_int_equal(uefi_owned_sorted(&o, r, 4), 2);
	assert_int_equal(r[0].base, 0x10000);
	assert_int_equal(r[0].end, 0x21000);
	assert_int_equal(r[1].base, 0x40000);
	assert_int_equal(r[1].end, 0x42000);
	assert_int_equal(uefi_owned_sorted(&o, r, 2), -1); /* three entries, room for two */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_shell_line_with_loader),
		cmocka_unit_test(test_args_options_after_the_path_belong_to_the_loader),
		cmocka_unit_test(test_args_empty_and_options_only),
		cmocka_unit_test(test_args_quotes),
		cmocka_unit_test(test_args_bad_options_are_errors),
		cmocka_unit_test(test_args_too_long),
		cmocka_unit_test(test_memmap_kinds),
		cmocka_unit_test(test_memmap_sorts_and_merges),
		cmocka_unit_test(test_memmap_limits_and_malformed),
		cmocka_unit_test(test_reloc_moves_pointers_into_the_copy),
		cmocka_unit_test(test_reloc_refuses_what_it_cannot_apply),
		cmocka_unit_test(test_owned_merges_splits_and_fills),
		cmocka_unit_test(test_owned_sorted_for_the_seal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
