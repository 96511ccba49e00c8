/* The PE parser and section walker on real images (the driver and tool
 * this build makes, Debian's mingw-w64 DLLs and GRUB's EFI binary) and on
 * malformed ones: every truncation of a real image, damaged headers and
 * section tables, and random header corruption. Each malformed buffer is
 * its own heap block of exactly its size, so AddressSanitizer sees any
 * read past its end. */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/core/pe.h"

#define BUILD MW_TEST_BUILD_DIR

struct file {
	uint8_t *data;
	size_t size;
};

static struct file load(const char *path)
{
	struct file f = { NULL, 0 };
	FILE *fp = fopen(path, "rb");
	if (!fp)
		fail_msg("cannot open %s (run make windows; scripts/deps.sh installs the rest)",
			 path);
	fseek(fp, 0, SEEK_END);
	f.size = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	f.data = malloc(f.size);
	assert_non_null(f.data);
	assert_int_equal(fread(f.data, 1, f.size, fp), f.size);
	fclose(fp);
	return f;
}

/* The first file matching a glob pattern (Debian's GCC version is in the
 * path). */
static struct file load_glob(const char *pattern)
{
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0)
		fail_msg("no file matches %s", pattern);
	struct file f = load(g.gl_pathv[0]);
	globfree(&g);
	return f;
}

static uint8_t *copy(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	assert_non_null(c);
	memcpy(c, p, n);
	return c;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)v);
	wr16(p + 2, (uint16_t)(v >> 16));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct walk {
	unsigned count;
	size_t bytes;
	uint32_t last_va;
	char names[16][9];
};

static bool count_section(const struct pe_section *s, const uint8_t *data, size_t len, void *ctx)
{
	struct walk *w = ctx;
	/* Reading every byte lets ASan check the reported extent. */
	volatile uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += data[i];
	(void)sum;
	if (w->count < 16)
		memcpy(w->names[w->count], s->name, 9);
	w->count++;
	w->bytes += len;
	assert_true(w->count == 1 || s->virtual_address > w->last_va);
	w->last_va = s->virtual_address;
	return true;
}

static bool has_section(const struct walk *w, const char *name)
{
	for (unsigned i = 0; i < w->count && i < 16; i++)
		if (strcmp(w->names[i], name) == 0)
			return true;
	return false;
}

/* What every well-formed x64 image must satisfy, in both layouts. */
static void check_image(const struct file *f, uint16_t subsystem)
{
	struct pe_image img, mapped;
	struct walk all = { 0 }, code = { 0 };

	assert_int_equal(pe_parse(&img, f->data, f->size, PE_LAYOUT_FILE), PE_OK);
	assert_int_equal(img.machine, PE_MACHINE_AMD64);
	assert_true(img.pe32_plus);
	assert_int_equal(img.subsystem, subsystem);
	assert_true(img.section_count > 0);
	assert_int_equal(pe_for_each_section(&img, 0, 0, count_section, &all), img.section_count);
	pe_for_each_section(&img, PE_SCN_MEM_EXECUTE, 0, count_section, &code);
	assert_true(code.count >= 1);
	assert_true(has_section(&code, ".text"));
	/* The entry point is code. */
	struct pe_section s;
	if (img.entry_rva) {
		assert_int_equal(pe_section_of_rva(&img, img.entry_rva, &s), PE_OK);
		assert_true(s.characteristics & PE_SCN_MEM_EXECUTE);
		assert_non_null(pe_rva_ptr(&img, img.entry_rva, 1));
	}
	/* A nonzero CheckSum is the one the linker computed. */
	if (img.checksum)
		assert_int_equal(pe_checksum(f->data, f->size, img.checksum_offset), img.checksum);

	/* Mapped as a loader would, the same headers and section bytes. */
	uint8_t *image = malloc(img.size_of_image);
	assert_non_null(image);
	assert_int_equal(pe_map_image(&img, image, img.size_of_image), PE_OK);
	assert_int_equal(pe_parse(&mapped, image, img.size_of_image, PE_LAYOUT_IMAGE), PE_OK);
	assert_int_equal(mapped.section_count, img.section_count);
	assert_int_equal(mapped.entry_rva, img.entry_rva);
	for (unsigned i = 0; i < img.section_count; i++) {
		struct pe_section a, b;
		size_t alen, blen;
		pe_section_get(&img, i, &a);
		pe_section_get(&mapped, i, &b);
		const uint8_t *ad = pe_section_data(&img, &a, &alen);
		const uint8_t *bd = pe_section_data(&mapped, &b, &blen);
		assert_true(blen >= alen);
		if (alen)
			assert_memory_equal(ad, bd, alen);
		/* pe_rva_ptr finds the same bytes in the file. */
		if (alen)
			assert_ptr_equal(pe_rva_ptr(&img, a.virtual_address, alen), ad);
		assert_null(
			pe_rva_ptr(&img, a.virtual_address,
				   alen + 1 + (a.raw_size > a.virtual_size ? 0 : a.virtual_size)));
	}
	assert_null(pe_rva_ptr(&mapped, mapped.size_of_image - 4, 8));
	assert_null(pe_rva_ptr(&mapped, 0xfffffff0u, 0x20));
	free(image);
}

static void test_marrow_sys(void **state)
{
	(void)state;
	struct file f = load(BUILD "/windows/marrow.sys");
	struct pe_image img;
	check_image(&f, PE_SUBSYSTEM_NATIVE);
	pe_parse(&img, f.data, f.size, PE_LAYOUT_FILE);
	/* A driver: relocatable, with imports and unwind data. */
	assert_true(img.dir_count > PE_DIR_BASERELOC);
	assert_true(img.dirs[PE_DIR_BASERELOC].size > 0);
	assert_true(img.dirs[PE_DIR_IMPORT].size > 0);
	assert_true(img.dirs[PE_DIR_EXCEPTION].size > 0);
	assert_true(img.dll_characteristics & PE_DLLCHAR_NX_COMPAT);
	assert_true(img.checksum != 0);
	free(f.data);
}

static void test_marrowctl_exe(void **state)
{
	(void)state;
	struct file f = load(BUILD "/windows/marrowctl.exe");
	check_image(&f, PE_SUBSYSTEM_WINDOWS_CUI);
	free(f.data);
}

static void test_debian_mingw_dlls(void **state)
{
	(void)state;
	const char *dlls[] = { "/usr/lib/gcc/x86_64-w64-mingw32/*-win32/libgcc_s_seh-1.dll",
			       "/usr/lib/gcc/x86_64-w64-mingw32/*-win32/libssp-0.dll",
			       "/usr/x86_64-w64-mingw32/lib/libwinpthread-1.dll" };
	for (size_t i = 0; i < sizeof(dlls) / sizeof(dlls[0]); i++) {
		struct file f = load_glob(dlls[i]);
		struct pe_image img;
		/* GUI (2) or console (3) subsystem, as the linker chose. */
		assert_int_equal(pe_parse(&img, f.data, f.size, PE_LAYOUT_FILE), PE_OK);
		check_image(&f, img.subsystem);
		assert_true(img.file_characteristics & 0x2000); /* IMAGE_FILE_DLL */
		assert_true(img.checksum != 0);
		free(f.data);
	}
}

static void test_debian_grub_efi(void **state)
{
	(void)state;
	struct file f = load("/usr/lib/grub/x86_64-efi/monolithic/grubx64.efi");
	check_image(&f, PE_SUBSYSTEM_EFI_APPLICATION);
	free(f.data);
}

/* Every prefix of a real image shorter than its headers is refused, and
 * every longer prefix that cuts a section's data is too. */
static void test_every_truncation_rejected(void **state)
{
	(void)state;
	struct file f = load(BUILD "/windows/marrowctl.exe");
	struct pe_image img;
	assert_int_equal(pe_parse(&img, f.data, f.size, PE_LAYOUT_FILE), PE_OK);
	size_t data_end = 0;
	for (unsigned i = 0; i < img.section_count; i++) {
		struct pe_section s;
		pe_section_get(&img, i, &s);
		if (s.raw_size && s.raw_offset + s.raw_size > data_end)
			data_end = s.raw_offset + s.raw_size;
	}
	for (size_t len = 0; len < f.size; len += len < img.size_of_headers + 64 ? 1 : 509) {
		uint8_t *c = copy(f.data, len);
		struct pe_image t;
		enum pe_status s = pe_parse(&t, c, len, PE_LAYOUT_FILE);
		if (len < data_end)
			assert_int_not_equal(s, PE_OK);
		else
			assert_int_equal(s, PE_OK);
		free(c);
	}
	/* In image layout the buffer must cover SizeOfImage. */
	struct pe_image t;
	uint8_t *image = malloc(img.size_of_image);
	assert_non_null(image);
	assert_int_equal(pe_map_image(&img, image, img.size_of_image), PE_OK);
	assert_int_equal(pe_parse(&t, image, img.size_of_image - 1, PE_LAYOUT_IMAGE),
			 PE_ERR_TRUNCATED);
	assert_int_equal(pe_map_image(&img, image, img.size_of_image - 1), PE_ERR_BAD_ARG);
	free(image);
	free(f.data);
}

/* Offsets of the headers of a parsed file, for damaging them. */
struct offsets {
	size_t pe, coff, opt, table;
};

static struct offsets offsets_of(const uint8_t *d)
{
	struct offsets o;
	o.pe = rd32(d + 0x3c);
	o.coff = o.pe + 4;
	o.opt = o.coff + 20;
	o.table = o.opt + (size_t)(d[o.coff + 16] | d[o.coff + 17] << 8);
	return o;
}

static enum pe_status parse_damaged(const struct file *f, void (*damage)(uint8_t *, struct offsets))
{
	uint8_t *c = copy(f->data, f->size);
	struct pe_image img;
	damage(c, offsets_of(c));
	enum pe_status s = pe_parse(&img, c, f->size, PE_LAYOUT_FILE);
	free(c);
	return s;
}

static void no_mz(uint8_t *d, struct offsets o)
{
	(void)o;
	d[0] = 'Z';
}
static void lfanew_huge(uint8_t *d, struct offsets o)
{
	(void)o;
	wr32(d + 0x3c, 0xfffffff0u);
}
static void no_pe(uint8_t *d, struct offsets o)
{
	d[o.pe + 1] = 'X';
}
static void bad_magic(uint8_t *d, struct offsets o)
{
	wr16(d + o.opt, 0x30b);
}
static void opt_too_small(uint8_t *d, struct offsets o)
{
	wr16(d + o.coff + 16, 64);
}
static void opt_too_large(uint8_t *d, struct offsets o)
{
	wr16(d + o.coff + 16, 0xffff);
}
static void dirs_huge(uint8_t *d, struct offsets o)
{
	wr32(d + o.opt + 108, 0x40000000u);
}
static void sections_huge(uint8_t *d, struct offsets o)
{
	wr16(d + o.coff + 2, 0xffff);
}
static void sections_past_headers(uint8_t *d, struct offsets o)
{
	/* 96 entries: allowed in number, but the table runs past SizeOfHeaders
	 * (and, for a small file, past its end). */
	wr16(d + o.coff + 2, PE_MAX_SECTIONS);
}
static void overlapping_va(uint8_t *d, struct offsets o)
{
	/* Section 1 starts inside section 0. */
	wr32(d + o.table + 40 + 12, rd32(d + o.table + 12) + 16);
}
static void descending_va(uint8_t *d, struct offsets o)
{
	wr32(d + o.table + 12, rd32(d + o.table + 40 + 12) + 0x1000);
}
static void raw_past_end(uint8_t *d, struct offsets o)
{
	wr32(d + o.table + 20, 0xfffff000u);
}
static void raw_size_huge(uint8_t *d, struct offsets o)
{
	wr32(d + o.table + 16, 0x7fffffffu);
}
static void raw_overlapping(uint8_t *d, struct offsets o)
{
	wr32(d + o.table + 40 + 20, rd32(d + o.table + 20));
}
static void vsize_past_image(uint8_t *d, struct offsets o)
{
	wr32(d + o.table + 8, 0xfffffff0u);
}
static void entry_past_image(uint8_t *d, struct offsets o)
{
	wr32(d + o.opt + 16, 0x7fffffffu);
}
static void bad_alignment(uint8_t *d, struct offsets o)
{
	wr32(d + o.opt + 36, 0x300);
}
static void headers_past_image(uint8_t *d, struct offsets o)
{
	wr32(d + o.opt + 60, rd32(d + o.opt + 56) + 0x1000);
}

static void test_malformed_headers_rejected(void **state)
{
	(void)state;
	struct file f = load(BUILD "/windows/marrow.sys");
	const struct {
		void (*damage)(uint8_t *, struct offsets);
		enum pe_status want;
	} cases[] = {
		{ no_mz, PE_ERR_NOT_MZ },
		{ lfanew_huge, PE_ERR_TRUNCATED },
		{ no_pe, PE_ERR_NOT_PE },
		{ bad_magic, PE_ERR_BAD_OPTIONAL },
		{ opt_too_small, PE_ERR_BAD_OPTIONAL },
		{ opt_too_large, PE_ERR_BAD_LAYOUT },
		{ dirs_huge, PE_ERR_BAD_OPTIONAL },
		{ sections_huge, PE_ERR_TOO_MANY_SECTIONS },
		{ sections_past_headers, PE_ERR_BAD_LAYOUT },
		{ overlapping_va, PE_ERR_SECTION_OVERLAP },
		{ descending_va, PE_ERR_SECTION_OVERLAP },
		{ raw_past_end, PE_ERR_SECTION_BOUNDS },
		{ raw_size_huge, PE_ERR_SECTION_BOUNDS },
		{ raw_overlapping, PE_ERR_SECTION_OVERLAP },
		{ vsize_past_image, PE_ERR_SECTION_BOUNDS },
		{ entry_past_image, PE_ERR_BAD_LAYOUT },
		{ bad_alignment, PE_ERR_BAD_LAYOUT },
		{ headers_past_image, PE_ERR_BAD_LAYOUT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum pe_status s = parse_damaged(&f, cases[i].damage);
		if (s != cases[i].want)
			fail_msg("case %zu: got %s, want %s", i, pe_status_str(s),
				 pe_status_str(cases[i].want));
	}
	struct pe_image img;
	assert_int_equal(pe_parse(&img, NULL, 10, PE_LAYOUT_FILE), PE_ERR_BAD_ARG);
	assert_int_equal(pe_parse(&img, f.data, 63, PE_LAYOUT_FILE), PE_ERR_TRUNCATED);
	free(f.data);
}

/* Random damage to the headers and section table of a real image: the
 * parser may accept or refuse, but never reads out of bounds, and what it
 * accepts can be walked completely. Fixed seed: reproducible. */
static void test_random_header_damage(void **state)
{
	(void)state;
	struct file f = load(BUILD "/windows/marrow.sys");
	struct pe_image img;
	assert_int_equal(pe_parse(&img, f.data, f.size, PE_LAYOUT_FILE), PE_OK);
	size_t span = img.section_table + (size_t)img.section_count * 40;
	unsigned accepted = 0;
	srand(12345);
	for (int round = 0; round < 3000; round++) {
		/* A size just past the headers: damage pointing into the
		 * sections then reaches the end of the buffer. */
		size_t len = rand() % 2 ? f.size : span + (size_t)(rand() % 8192);
		if (len > f.size)
			len = f.size;
		uint8_t *c = copy(f.data, len);
		for (int k = 0; k < 1 + rand() % 4; k++)
			c[(size_t)rand() % span] = (uint8_t)rand();
		struct pe_image t;
		for (int layout = 0; layout < 2; layout++) {
			if (pe_parse(&t, c, len, layout ? PE_LAYOUT_IMAGE : PE_LAYOUT_FILE) !=
			    PE_OK)
				continue;
			accepted++;
			struct walk w = { 0 };
			pe_for_each_section(&t, 0, 0, count_section, &w);
			for (unsigned d = 0; d < t.dir_count; d++)
				if (t.dirs[d].size)
					pe_rva_ptr(&t, t.dirs[d].rva, t.dirs[d].size);
		}
		free(c);
	}
	/* Some damage lands in fields nothing checks (timestamps...). */
	assert_true(accepted > 0);
	free(f.data);
}

static void test_checksum(void **state)
{
	(void)state;
	/* Spec: the sum of 16-bit words with carries folded, plus the length;
	 * the CheckSum field counts as zero, an odd last byte as a low byte. */
	uint8_t b[7] = { 0xff, 0xff, 0x01, 0x00, 0xaa, 0xbb, 0x05 };
	/* 0xffff + 0x0001 = 0x10000 -> 0x0001; + 0xbbaa = 0xbbab; + 0x0005. */
	assert_int_equal(pe_checksum(b, 7, 100), 0xbbb0 + 7);
	/* With the field over bytes 2..5, only 0xffff and 0x0005 count. */
	assert_int_equal(pe_checksum(b, 7, 2), 0xffff + 0x5 - 0xffff + 7);
	assert_int_equal(pe_checksum(b, 0, 0), 0);
	/* A flipped byte in a real image changes it. */
	struct file f = load(BUILD "/windows/marrow.sys");
	struct pe_image img;
	pe_parse(&img, f.data, f.size, PE_LAYOUT_FILE);
	f.data[f.size - 1] ^= 0x40;
	assert_int_not_equal(pe_checksum(f.data, f.size, img.checksum_offset), img.checksum);
	free(f.data);
}

static bool stop_after_first(const struct pe_section *s, const uint8_t *data, size_t len, void *ctx)
{
	(void)s;
	(void)data;
	(void)len;
	++*(unsigned *)ctx;
	return false;
}

static void test_walker_filters_and_stops(void **state)
{
	(void)state;
	struct file f = load(BUILD "/windows/marrow.sys");
	struct pe_image img;
	struct walk w = { 0 }, nx = { 0 };
	unsigned calls = 0;
	assert_int_equal(pe_parse(&img, f.data, f.size, PE_LAYOUT_FILE), PE_OK);
	pe_for_each_section(&img, PE_SCN_MEM_WRITE, 0, count_section, &w);
	assert_true(has_section(&w, ".bss"));
	assert_false(has_section(&w, ".text"));
	pe_for_each_section(&img, 0, PE_SCN_MEM_EXECUTE, count_section, &nx);
	assert_false(has_section(&nx, ".text"));
	assert_true(has_section(&nx, ".rdata"));
	assert_int_equal(pe_for_each_section(&img, 0, 0, stop_after_first, &calls), 1);
	assert_int_equal(calls, 1);
	struct pe_section s;
	assert_int_equal(pe_section_of_rva(&img, 0, &s), PE_ERR_NOT_FOUND);
	assert_string_equal(pe_status_str(PE_ERR_SECTION_OVERLAP),
			    "sections overlap or are out of order");
	free(f.data);
}

/* Found by fuzz_pe (tests/fuzz): pe_rva_ptr of 0 bytes in a section with no
 * file data computed NULL + 0, which is undefined behaviour (clang's UBSan
 * reports it; GCC's, which these tests use, does not, so the input that
 * found it, tests/fuzz/corpus/pe/regress_rva_ptr_bss_len0, is replayed by
 * the fuzzer's bounded run in make test). A file has no bytes for .bss at
 * any length: NULL. The mapped image has them (zeros). */
static void test_fuzz_rva_ptr_in_bss(void **state)
{
	(void)state;
	struct file f = load(BUILD "/windows/marrow.sys");
	struct pe_image img;
	struct pe_section s;
	unsigned bss = 0;

	assert_int_equal(pe_parse(&img, f.data, f.size, PE_LAYOUT_FILE), PE_OK);
	for (unsigned i = 0; i < img.section_count; i++) {
		pe_section_get(&img, i, &s);
		if (s.raw_size != 0)
			continue;
		bss++;
		assert_null(pe_rva_ptr(&img, s.virtual_address, 0));
		assert_null(pe_rva_ptr(&img, s.virtual_address, 1));
		assert_null(pe_rva_ptr(&img, s.virtual_address + s.virtual_size - 1, 1));
	}
	assert_true(bss > 0);
	uint8_t *image = malloc(img.size_of_image);
	struct pe_image mapped;
	assert_non_null(image);
	assert_int_equal(pe_map_image(&img, image, img.size_of_image), PE_OK);
	assert_int_equal(pe_parse(&mapped, image, img.size_of_image, PE_LAYOUT_IMAGE), PE_OK);
	for (unsigned i = 0; i < img.section_count; i++) {
		pe_section_get(&img, i, &s);
		if (s.raw_size == 0)
			assert_non_null(pe_rva_ptr(&mapped, s.virtual_address, 0));
	}
	free(image);
	free(f.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_marrow_sys),
		cmocka_unit_test(test_marrowctl_exe),
		cmocka_unit_test(test_debian_mingw_dlls),
		cmocka_unit_test(test_debian_grub_efi),
		cmocka_unit_test(test_every_truncation_rejected),
		cmocka_unit_test(test_malformed_headers_rejected),
		cmocka_unit_test(test_random_header_damage),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_walker_filters_and_stops),
		cmocka_unit_test(test_fuzz_rva_ptr_in_bss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
