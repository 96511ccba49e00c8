/* The masked pattern scanner, and the SSDT locator on images built from
 * tests/e2e/windows/fixtures (a stand-in for ntoskrnl's
 * KiSystemServiceRepeat, descriptor tables and KiServiceTable), mapped as
 * the loader would, then damaged in the ways the locator must notice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/core/pattern.h"
#include "src/core/pe.h"
#include "src/platform/windows/win_ssdt.h"

#define BUILD MW_TEST_BUILD_DIR

static void test_pattern_parse(void **state)
{
	(void)state;
	struct pattern p;
	assert_true(pattern_parse(&p, "4C 8D 15 ?? ?? ?? ??"));
	assert_int_equal(p.len, 7);
	assert_int_equal(p.bytes[0], 0x4c);
	assert_int_equal(p.mask[0], 0xff);
	assert_int_equal(p.mask[3], 0x00);
	assert_true(pattern_parse(&p, "  4? ?c  ff"));
	assert_int_equal(p.len, 3);
	assert_int_equal(p.mask[0], 0xf0);
	assert_int_equal(p.mask[1], 0x0f);
	assert_int_equal(p.bytes[1], 0x0c);
	/* Refused: empty, all wildcards, odd digits, junk, glued bytes, too
	 * long. */
	const char *bad[] = { "", "   ", "?? ??", "4", "4C 8", "4G", "4C8D", "4C,8D", "4C 8D1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(pattern_parse(&p, bad[i]));
		assert_int_equal(p.len, 0);
	}
	char longest[3 * PATTERN_MAX + 4] = "";
	for (int i = 0; i < PATTERN_MAX; i++)
		strcat(longest, "AB ");
	assert_true(pattern_parse(&p, longest));
	strcat(longest, "AB");
	assert_false(pattern_parse(&p, longest));
}

static void test_pattern_matches(void **state)
{
	(void)state;
	struct pattern p;
	size_t first;
	const uint8_t hay[] = { 0x00, 0x4c, 0x8d, 0x15, 0x11, 0x22, 0x33, 0x44, 0x4c,
				0x8d, 0x15, 0xaa, 0xbb, 0xcc, 0xdd, 0x4c, 0x8d };

	/* Zero matches. */
	pattern_parse(&p, "4C 8D 1D");
	assert_int_equal(pattern_count(hay, sizeof(hay), &p, &first), 0);
	assert_int_equal(first, PATTERN_NONE);
	/* Two, with the wildcards taking any bytes; the trailing "4C 8D" is
	 * too short to match. */
	pattern_parse(&p, "4C 8D 15 ?? ?? ?? ??");
	assert_int_equal(pattern_count(hay, sizeof(hay), &p, &first), 2);
	assert_int_equal(first, 1);
	assert_int_equal(pattern_find(hay, sizeof(hay), &p, 2), 8);
	assert_int_equal(pattern_find(hay, sizeof(hay), &p, 9), PATTERN_NONE);
	/* One, where a masked nibble decides. */
	pattern_parse(&p, "15 ?1 2?");
	assert_int_equal(pattern_count(hay, sizeof(hay), &p, &first), 1);
	assert_int_equal(first, 3);
	/* A match ending at the last byte, and a pattern longer than the
	 * buffer. */
	pattern_parse(&p, "DD 4C 8D");
	assert_int_equal(pattern_find(hay, sizeof(hay), &p, 0), 14);
	pattern_parse(&p, "4C 8D 15 ?? ?? ?? ?? ??");
	assert_int_equal(pattern_find(hay, 7, &p, 0), PATTERN_NONE);
	assert_int_equal(pattern_find(NULL, 0, &p, 0), PATTERN_NONE);
	/* Many, overlapping. */
	uint8_t same[64];
	memset(same, 0x90, sizeof(same));
	pattern_parse(&p, "90 ?? 90");
	assert_int_equal(pattern_count(same, sizeof(same), &p, &first), 62);
	assert_int_equal(first, 0);
	/* A heap buffer of exact size: no read past its end (ASan). */
	uint8_t *h = malloc(5);
	memcpy(h, "\x01\x02\x03\x04\x05", 5);
	pattern_parse(&p, "04 05");
	assert_int_equal(pattern_find(h, 5, &p, 0), 3);
	pattern_parse(&p, "05 ??");
	assert_int_equal(pattern_find(h, 5, &p, 0), PATTERN_NONE);
	free(h);
}

struct mapped {
	uint8_t *file, *image;
	size_t file_size;
	struct pe_image pe; /* image layout */
};

static struct mapped map_fixture(const char *name)
{
	struct mapped m;
	char path[512];
	struct pe_image f;

	snprintf(path, sizeof(path), "%s/windows/fixtures/%s", BUILD, name);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		fail_msg("cannot open %s (make windows builds it)", path);
	fseek(fp, 0, SEEK_END);
	m.file_size = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	m.file = malloc(m.file_size);
	assert_int_equal(fread(m.file, 1, m.file_size, fp), m.file_size);
	fclose(fp);
	assert_int_equal(pe_parse(&f, m.file, m.file_size, PE_LAYOUT_FILE), PE_OK);
	m.image = malloc(f.size_of_image);
	assert_int_equal(pe_map_image(&f, m.image, f.size_of_image), PE_OK);
	assert_int_equal(pe_parse(&m.pe, m.image, f.size_of_image, PE_LAYOUT_IMAGE), PE_OK);
	return m;
}

static void unmap(struct mapped *m)
{
	free(m->file);
	free(m->image);
}

/* Sets IMAGE_SCN_MEM_DISCARDABLE on the INIT section, as the kernel's own
 * INIT is (gas cannot set the flag). */
static void mark_init_discardable(struct mapped *m)
{
	for (unsigned i = 0; i < m->pe.section_count; i++) {
		uint8_t *h = m->image + m->pe.section_table + 40 * i;
		if (memcmp(h, "INIT\0", 5) == 0) {
			h[39] |= 0x02; /* bit 25 of Characteristics, at offset 36 */
			return;
		}
	}
	fail_msg("fixture has no INIT section");
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The routines' addresses the fixture recorded after "MWANSWER". */
static void expected_routines(const struct mapped *m, uint64_t out[3])
{
	struct pattern p;
	pattern_parse(&p, "4D 57 41 4E 53 57 45 52");
	size_t at = pattern_find(m->image, m->pe.size_of_image, &p, 0);
	assert_int_not_equal(at, PATTERN_NONE);
	for (int i = 0; i < 3; i++)
		out[i] = rd64(m->image + at + 8 + 8 * i);
}

static void test_ssdt_found_in_fixture(void **state)
{
	(void)state;
	struct mapped m = map_fixture("fake_ntoskrnl.exe");
	struct win_ssdt s;
	uint64_t want[3], va;

	/* Before INIT is discardable the decoy there counts too. */
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_AMBIGUOUS);
	assert_int_equal(s.matches, 2);
	mark_init_discardable(&m);
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_OK);
	assert_int_equal(s.matches, 1); /* the .rdata decoy is not code */
	assert_int_equal(s.count, 3);
	assert_true(s.descriptor_rva != s.shadow_rva);
	expected_routines(&m, want);
	for (uint32_t i = 0; i < 3; i++) {
		assert_true(win_ssdt_routine(&s, i, &va));
		assert_int_equal(va, want[i]);
	}
	assert_false(win_ssdt_routine(&s, 3, &va));
	/* The same image at another base: pointers in it are absolute, so a
	 * base that does not match them is refused. */
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base + 0x100000, &s),
			 WIN_SSDT_BAD_TABLE);
	unmap(&m);
}

static void test_ssdt_ambiguous_and_missing(void **state)
{
	(void)state;
	struct mapped m = map_fixture("fake_ntoskrnl_twice.exe");
	struct win_ssdt s;
	mark_init_discardable(&m);
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_AMBIGUOUS);
	assert_int_equal(s.matches, 2);
	unmap(&m);

	/* No match at all in a real image that is not a kernel. */
	FILE *fp = fopen("/usr/lib/grub/x86_64-efi/monolithic/grubx64.efi", "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	size_t n = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	uint8_t *file = malloc(n);
	assert_int_equal(fread(file, 1, n, fp), n);
	fclose(fp);
	struct pe_image f, img;
	assert_int_equal(pe_parse(&f, file, n, PE_LAYOUT_FILE), PE_OK);
	uint8_t *image = malloc(f.size_of_image);
	pe_map_image(&f, image, f.size_of_image);
	assert_int_equal(pe_parse(&img, image, f.size_of_image, PE_LAYOUT_IMAGE), PE_OK);
	assert_int_equal(win_ssdt_locate(&img, img.image_base, &s), WIN_SSDT_NOT_FOUND);
	/* File layout is refused: the locator needs the mapped image. */
	assert_int_equal(win_ssdt_locate(&f, f.image_base, &s), WIN_SSDT_BAD_IMAGE);
	free(image);
	free(file);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_ssdt_damage_detected(void **state)
{
	(void)state;
	struct mapped m = map_fixture("fake_ntoskrnl.exe");
	struct win_ssdt s;
	mark_init_discardable(&m);
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_OK);
	uint8_t *lea = m.image + s.code_rva;
	uint8_t *desc = m.image + s.descriptor_rva;
	uint8_t *table = m.image + s.table_rva;
	uint8_t saved[32], saved_lea[4], saved_entry[4];
	memcpy(saved, desc, 32);
	memcpy(saved_lea, lea + 3, 4);
	memcpy(saved_entry, table + 4, 4);

	/* The LEA pointing at code (itself) or outside the image. */
	wr32(lea + 3, (uint32_t)-7);
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_BAD_DESCRIPTOR);
	wr32(lea + 3, 0x7ffffff0u);
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_BAD_DESCRIPTOR);
	wr32(lea + 3, 0x80000000u);
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_BAD_DESCRIPTOR);
	memcpy(lea + 3, saved_lea, 4);
	/* No services, too many, a table outside the image. */
	wr64(desc + 16, 0);
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_BAD_TABLE);
	wr64(desc + 16, WIN_SSDT_MAX_SERVICES + 1);
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_BAD_TABLE);
	wr64(desc + 16, 0x100000); /* the table would run past the image */
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_BAD_TABLE);
	memcpy(desc, saved, 32);
	wr64(desc, m.pe.image_base - 8);
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_BAD_TABLE);
	wr64(desc, m.pe.image_base + m.pe.size_of_image);
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_BAD_TABLE);
	memcpy(desc, saved, 32);
	/* An entry pointing into data, or before the image. */
	wr32(table + 4, (uint32_t)((s.descriptor_rva - s.table_rva) << 4));
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_BAD_TABLE);
	wr32(table + 4, 0x80000000u);
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_BAD_TABLE);
	memcpy(table + 4, saved_entry, 4);
	assert_int_equal(win_ssdt_locate(&m.pe, m.pe.image_base, &s), WIN_SSDT_OK);
	assert_int_equal(rd32(table + 4) & 0xf, 2);
	unmap(&m);
}

static void test_ssdt_entry_decoding(void **state)
{
	(void)state;
	/* Bits 31:4 are a signed offset, bits 3:0 the stack argument count. */
	assert_int_equal(win_ssdt_entry_offset(0x00001230u), 0x123);
	assert_int_equal(win_ssdt_entry_stack_args(0x00001233u), 3);
	assert_int_equal(win_ssdt_entry_offset(0xfffffff5u), -1);
	assert_int_equal(win_ssdt_entry_stack_args(0xfffffff5u), 5);
	assert_int_equal(win_ssdt_entry_offset(0x80000000u), -0x8000000);
	assert_int_equal(win_ssdt_entry_offset(0x7ffffff0u), 0x7ffffff);
	assert_string_equal(win_ssdt_status_str(WIN_SSDT_AMBIGUOUS),
			    "KiSystemServiceRepeat pattern found more than once");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_parse),
		cmocka_unit_test(test_pattern_matches),
		cmocka_unit_test(test_ssdt_found_in_fixture),
		cmocka_unit_test(test_ssdt_ambiguous_and_missing),
		cmocka_unit_test(test_ssdt_damage_detected),
		cmocka_unit_test(test_ssdt_entry_decoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
