/* The boot-time loader's image parsers (docs/boot.md): the builds of the
 * bare-metal kernel that marrow boots (a multiboot2 ELF, and a multiboot
 * kernel loaded by its header's address fields, whose memory image must be
 * the same bytes its ELF program headers describe), marrow itself, and
 * synthetic multiboot, multiboot2, ELF and bzImage headers for every
 * refusal the specifications call for. ASan watches every read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/platform/baremetal/boot_layout.h"
#include "src/platform/baremetal/bzimage.h"
#include "src/platform/baremetal/elf_segments.h"
#include "src/platform/baremetal/guest_image.h"
#include "src/platform/baremetal/mb_header.h"

#define BUILD MW_TEST_BUILD_DIR

struct file {
	uint8_t *data;
	size_t len;
};

static struct file load(const char *path)
{
	struct file f = { NULL, 0 };
	FILE *fp = fopen(path, "rb");
	if (!fp)
		fail_msg("%s: cannot open (make guests builds it)", path);
	fseek(fp, 0, SEEK_END);
	f.len = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	/* An exact-size copy, so that ASan sees any read past the end. */
	f.data = malloc(f.len);
	assert_int_equal(fread(f.data, 1, f.len, fp), f.len);
	fclose(fp);
	return f;
}

/* The physical memory image [lo, hi) that the segments describe. */
static uint8_t *memory_image(const struct guest_image *g, const uint8_t *file, uint64_t *lo,
			     uint64_t *hi)
{
	*lo = UINT64_MAX;
	*hi = 0;
	for (size_t i = 0; i < g->seg_count; i++) {
		if (g->segs[i].dest < *lo)
			*lo = g->segs[i].dest;
		if (g->segs[i].dest + g->segs[i].mem_size > *hi)
			*hi = g->segs[i].dest + g->segs[i].mem_size;
	}
	uint8_t *m = calloc(1, *hi - *lo);
	for (size_t i = 0; i < g->seg_count; i++)
		memcpy(m + (g->segs[i].dest - *lo), file + g->segs[i].file_off,
		       g->segs[i].file_size);
	return m;
}

static void test_guest_mb2_elf(void **state)
{
	(void)state;
	struct file f = load(BUILD "/guest-mb2.elf");
	struct guest_image g;
	struct load_error err;

	assert_true(guest_image_probe(f.data, f.len, &g, &err));
	assert_int_equal(g.kind, GUEST_MULTIBOOT2);
	assert_true(g.seg_count >= 2);
	assert_int_equal(g.segs[0].dest, GUEST_KERNEL_LOAD_ADDR);
	assert_int_equal(g.entry, GUEST_KERNEL_LOAD_ADDR + 0x18); /* _start, after the header */
	assert_int_equal(g.mb2_required, 0);
	assert_false(g.page_align_modules);
	free(f.data);
}

static void test_marrow_itself(void **state)
{
	(void)state;
	struct file f = load(BUILD "/marrow.elf");
	struct guest_image g;
	struct load_error err;

	assert_true(guest_image_probe(f.data, f.len, &g, &err));
	assert_int_equal(g.kind, GUEST_MULTIBOOT2);
	assert_int_equal(g.segs[0].dest, KERNEL_LOAD_ADDR);
	free(f.data);
}

/* The multiboot build loads by its address fields; its file is also an
 * ELF whose program headers describe the very same memory. */
static void test_guest_mb1_address_fields_match_its_elf(void **state)
{
	(void)state;
	struct file f = load(BUILD "/guest-mb1.elf");
	struct guest_image mb, elf;
	struct load_error err;
	uint64_t lo1, hi1, lo2, hi2;

	assert_true(guest_image_probe(f.data, f.len, &mb, &err));
	assert_int_equal(mb.kind, GUEST_MULTIBOOT1);
	assert_int_equal(mb.seg_count, 1);
	assert_true(mb.page_align_modules);
	assert_true(elf_load_segments(f.data, f.len, &elf, false, &err));
	assert_int_equal(mb.entry, elf.entry);
	uint8_t *a = memory_image(&mb, f.data, &lo1, &hi1);
	uint8_t *b = memory_image(&elf, f.data, &lo2, &hi2);
	assert_int_equal(lo1, GUEST_KERNEL_LOAD_ADDR);
	assert_int_equal(lo1, lo2);
	assert_int_equal(hi1, hi2);
	assert_memory_equal(a, b, hi1 - lo1);
	free(a);
	free(b);
	free(f.data);
}

/* ---- synthetic multiboot2 headers ---- */

struct image {
	uint8_t b[512];
	size_t tag_at;
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

/* A multiboot2 header at offset 64, whose tags the test adds. */
static void mb2_begin(struct image *im)
{
	memset(im, 0, sizeof(*im));
	put32(im->b + 64, MB2_HEADER_MAGIC);
	im->tag_at = 64 + 16;
}

static uint8_t *mb2_tag(struct image *im, uint16_t type, uint16_t flags, uint32_t size)
{
	uint8_t *t = im->b + im->tag_at;
	put16(t, type);
	put16(t + 2, flags);
	put32(t + 4, size);
	im->tag_at += (size + 7) & ~7u;
	return t;
}

static void mb2_end(struct image *im, uint32_t arch)
{
	mb2_tag(im, 0, 0, 8);
	uint32_t len = (uint32_t)(im->tag_at - 64);
	put32(im->b + 68, arch);
	put32(im->b + 72, len);
	put32(im->b + 76, -(MB2_HEADER_MAGIC + arch + len));
}

/* The address and entry tags: the whole 512-byte file at 0x100000 - 64
 * (so the header is at 0x100000), 1 KiB of bss. */
static void mb2_aout(struct image *im)
{
	uint8_t *a = mb2_tag(im, 2, 0, 24);
	put32(a + 8, 0x100000);
	put32(a + 12, 0x100000 - 64);
	put32(a + 16, 0);
	put32(a + 20, 0x100000 - 64 + 512 + 1024);
	uint8_t *e = mb2_tag(im, 3, 0, 12);
	put32(e + 8, 0x100040);
}

static void test_mb2_address_tags(void **state)
{
	(void)state;
	struct image im;
	struct guest_image g;
	struct load_error err;

	mb2_begin(&im);
	mb2_aout(&im);
	mb2_tag(&im, 6, 0, 8);	 /* module alignment */
	mb2_tag(&im, 10, 0, 24); /* relocatable: loading where linked is allowed */
	uint8_t *req = mb2_tag(&im, 1, 0, 16);
	put32(req + 8, 6); /* memory map */
	put32(req + 12, 15);
	uint8_t *opt = mb2_tag(&im, 1, 1, 12); /* optional: VBE info, not given */
	put32(opt + 8, 7);
	mb2_end(&im, 0);
	assert_true(guest_image_probe(im.b, sizeof(im.b), &g, &err));
	assert_int_equal(g.kind, GUEST_MULTIBOOT2);
	assert_int_equal(g.seg_count, 1);
	assert_int_equal(g.segs[0].dest, 0x100000 - 64);
	assert_int_equal(g.segs[0].file_off, 0);
	assert_int_equal(g.segs[0].file_size, 512);
	assert_int_equal(g.segs[0].mem_size, 512 + 1024);
	assert_int_equal(g.entry, 0x100040);
	assert_true(g.page_align_modules);
	assert_int_equal(g.mb2_required, (1u << 6) | (1u << 15));
}

static void expect_refusal(const struct image *im, const char *words)
{
	struct guest_image g;
	struct load_error err;

	assert_false(guest_image_probe(im->b, sizeof(im->b), &g, &err));
	if (!strstr(err.text, words))
		fail_msg("refused with \"%s\", expected \"%s\"", err.text, words);
}

static void test_mb2_refusals(void **state)
{
	(void)state;
	struct image im;

	mb2_begin(&im);
	mb2_aout(&im);
	put32(mb2_tag(&im, 1, 0, 12) + 8, 8); /* framebuffer info, required */
	mb2_end(&im, 0);
	expect_refusal(&im, "requires information tag 8");

	mb2_begin(&im);
	mb2_aout(&im);
	mb2_tag(&im, 5, 0, 20); /* framebuffer, required */
	mb2_end(&im, 0);
	expect_refusal(&im, "requires a framebuffer");

	mb2_begin(&im);
	mb2_aout(&im);
	mb2_tag(&im, 5, 1, 20); /* ...optional: fine */
	mb2_tag(&im, 42, 1, 8); /* an unknown optional tag: fine */
	mb2_end(&im, 0);
	struct guest_image g;
	struct load_error err;
	assert_true(guest_image_probe(im.b, sizeof(im.b), &g, &err));

	mb2_begin(&im);
	mb2_aout(&im);
	mb2_tag(&im, 42, 0, 8); /* an unknown required tag */
	mb2_end(&im, 0);
	expect_refusal(&im, "header tag 42");

	mb2_begin(&im);
	mb2_aout(&im);
	mb2_end(&im, 4); /* MIPS */
	expect_refusal(&im, "architecture 4");

	mb2_begin(&im);
	uint8_t *a = mb2_tag(&im, 2, 0, 24);
	put32(a + 8, 0x100000);
	put32(a + 12, 0x100000);
	mb2_end(&im, 0);
	expect_refusal(&im, "without an entry address tag");

	mb2_begin(&im);
	a = mb2_tag(&im, 2, 0, 24);
	put32(a + 8, 0x100000);
	put32(a + 12, 0x100000 - 4096); /* before the file's start */
	mb2_tag(&im, 3, 0, 12);
	mb2_end(&im, 0);
	expect_refusal(&im, "not at or below");

	mb2_begin(&im);
	mb2_end(&im, 0);
	im.b[64 + 12] ^= 1; /* checksum: no header at all, and not ELF or Linux */
	expect_refusal(&im, "neither a multiboot");

	mb2_begin(&im);
	mb2_end(&im, 0); /* no address tag: must be ELF */
	expect_refusal(&im, "not an ELF file");

	mb2_begin(&im);
	mb2_aout(&im);
	mb2_end(&im, 0);
	put32(im.b + 64 + 8, 1000); /* header_length past the file */
	put32(im.b + 64 + 12, -(MB2_HEADER_MAGIC + 1000));
	expect_refusal(&im, "header_length");
}

/* ---- synthetic multiboot headers ---- */

static void mb1_header(struct image *im, uint32_t flags)
{
	memset(im, 0, sizeof(*im));
	uint8_t *h = im->b + 32;
	put32(h, MB1_HEADER_MAGIC);
	put32(h + 4, flags);
	put32(h + 8, -(MB1_HEADER_MAGIC + flags));
	put32(h + 12, 0x100020); /* header_addr */
	put32(h + 16, 0x100000); /* load_addr */
	put32(h + 20, 0x100100); /* load_end_addr */
	put32(h + 24, 0x100400); /* bss_end_addr */
	put32(h + 28, 0x100040); /* entry_addr */
}

static void test_mb1_headers(void **state)
{
	(void)state;
	struct image im;
	struct guest_image g;
	struct load_error err;

	mb1_header(&im, (1u << 16) | 3);
	assert_true(guest_image_probe(im.b, sizeof(im.b), &g, &err));
	assert_int_equal(g.kind, GUEST_MULTIBOOT1);
	assert_int_equal(g.segs[0].dest, 0x100000);
	assert_int_equal(g.segs[0].file_off, 0);
	assert_int_equal(g.segs[0].file_size, 0x100);
	assert_int_equal(g.segs[0].mem_size, 0x400);
	assert_int_equal(g.entry, 0x100040);
	assert_true(g.page_align_modules);

	mb1_header(&im, (1u << 16) | (1u << 2));
	expect_refusal(&im, "video mode");
	mb1_header(&im, (1u << 16) | (1u << 5));
	expect_refusal(&im, "flags 20");
	mb1_header(&im, 0); /* no address fields: must be ELF */
	expect_refusal(&im, "not an ELF file");
	mb1_header(&im, 1u << 16);
	put32(im.b + 32 + 20, 0x100000); /* load_end_addr not above load_addr */
	expect_refusal(&im, "load_end_addr");
	mb1_header(&im, 1u << 16);
	put32(im.b + 32 + 24, 0x100080); /* bss ends before the data */
	expect_refusal(&im, "bss_end_addr");
	mb1_header(&im, 1u << 16);
	put32(im.b + 32 + 20, 0x101000); /* more than the file has */
	expect_refusal(&im, "bytes to load");
}

/* ---- ELF ---- */

/* A minimal ELF64 executable: one PT_LOAD of 16 bytes at offset 0x100,
 * virtual 0xffffffff80100000, physical 0x100000, entry inside it. */
static void elf64(struct image *im)
{
	memset(im, 0, sizeof(*im));
	uint8_t *h = im->b;
	memcpy(h,
	       "\x7f"
	       "ELF",
	       4);
	h[4] = 2;	   /* ELFCLASS64 */
	h[5] = 1;	   /* little-endian */
	put16(h + 16, 2);  /* ET_EXEC */
	put16(h + 18, 62); /* EM_X86_64 */
	uint64_t entry = 0xffffffff80100008ull, phoff = 64;
	memcpy(h + 24, &entry, 8);
	memcpy(h + 32, &phoff, 8);
	put16(h + 54, 56); /* phentsize */
	put16(h + 56, 1);  /* phnum */
	uint8_t *p = h + 64;
	put32(p, 1); /* PT_LOAD */
	uint64_t off = 0x100, va = 0xffffffff80100000ull, pa = 0x100000, fsz = 16, msz = 32;
	memcpy(p + 8, &off, 8);
	memcpy(p + 16, &va, 8);
	memcpy(p + 24, &pa, 8);
	memcpy(p + 32, &fsz, 8);
	memcpy(p + 40, &msz, 8);
}

static void expect_elf_refusal(const struct image *im, const char *words)
{
	struct guest_image g;
	struct load_error err;

	assert_false(elf_load_segments(im->b, sizeof(im->b), &g, false, &err));
	if (!strstr(err.text, words))
		fail_msg("refused with \"%s\", expected \"%s\"", err.text, words);
}

static void test_elf(void **state)
{
	(void)state;
	struct image im;
	struct guest_image g;
	struct load_error err;

	elf64(&im);
	assert_true(elf_load_segments(im.b, sizeof(im.b), &g, false, &err));
	assert_int_equal(g.seg_count, 1);
	assert_int_equal(g.segs[0].dest, 0x100000);
	assert_int_equal(g.entry, 0x100008); /* the higher-half entry, made physical */

	elf64(&im);
	im.b[5] = 2;
	expect_elf_refusal(&im, "little-endian");
	elf64(&im);
	put16(im.b + 18, 40);
	expect_elf_refusal(&im, "machine 40");
	elf64(&im);
	put16(im.b + 16, 3);
	expect_elf_refusal(&im, "not an executable");
	elf64(&im);
	put16(im.b + 56, 100); /* program headers past the file */
	expect_elf_refusal(&im, "program headers run past");
	elf64(&im);
	put32(im.b + 64, 4); /* PT_NOTE: nothing to load */
	expect_elf_refusal(&im, "nothing to load");
	elf64(&im);
	uint64_t big = 0x10000;
	memcpy(im.b + 64 + 32, &big, 8);
	expect_elf_refusal(&im, "more file bytes than memory");
	elf64(&im);
	memcpy(im.b + 64 + 40, &big, 8);
	memcpy(im.b + 64 + 32, &big, 8);
	expect_elf_refusal(&im, "past the end of the file");
	elf64(&im);
	uint64_t high = 0xfffffff0; /* + 32 bytes crosses 4 GiB */
	memcpy(im.b + 64 + 24, &high, 8);
	expect_elf_refusal(&im, "not below 4 GiB");
}

/* ---- bzImage ---- */

static uint8_t *bzimage(size_t *len, uint16_t version)
{
	*len = 5 * 512 + 4096;
	uint8_t *b = calloc(1, *len);
	b[0x1f1] = 4; /* setup_sects */
	put16(b + 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a; /* the header runs to 0x26c */
	memcpy(b + 0x202, "HdrS", 4);
	put16(b + 0x206, version);
	b[0x211] = 0x01;	      /* LOADED_HIGH */
	put32(b + 0x22c, 0x7fffffff); /* initrd_addr_max */
	put32(b + 0x230, 0x200000);   /* kernel_alignment */
	b[0x234] = 1;		      /* relocatable */
	put32(b + 0x238, 2047);	      /* cmdline_size */
	uint64_t pref = 0x1000000;
	memcpy(b + 0x258, &pref, 8);
	put32(b + 0x260, 0x3000000); /* init_size */
	return b;
}

static void test_bzimage_header(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = bzimage(&len, 0x020f);
	struct guest_image g;
	struct load_error err;

	assert_true(guest_image_probe(b, len, &g, &err));
	assert_int_equal(g.kind, GUEST_LINUX);
	assert_int_equal(g.linux_setup_size, 5 * 512);
	assert_true(g.linux_relocatable);
	assert_int_equal(g.linux_alignment, 0x200000);
	assert_int_equal(g.linux_init_size, 0x3000000);
	assert_int_equal(g.linux_cmdline_size, 2047);
	assert_int_equal(g.segs[0].file_off, 5 * 512);
	assert_int_equal(g.segs[0].file_size, 4096);
	assert_int_equal(g.segs[0].mem_size, 0x3000000);
	b[0x1f1] = 0; /* 0 means 4 */
	assert_true(guest_image_probe(b, len, &g, &err));
	assert_int_equal(g.linux_setup_size, 5 * 512);
	free(b);

	b = bzimage(&len, 0x0204);
	assert_false(guest_image_probe(b, len, &g, &err));
	assert_non_null(strstr(err.text, "older than 2.06"));
	free(b);
	b = bzimage(&len, 0x020f);
	b[0x211] = 0;
	assert_false(guest_image_probe(b, len, &g, &err));
	assert_non_null(strstr(err.text, "zImage"));
	free(b);
	b = bzimage(&len, 0x020f);
	put32(b + 0x230, 0x300000);
	assert_false(guest_image_probe(b, len, &g, &err));
	assert_non_null(strstr(err.text, "power of two"));
	free(b);
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void test_bzimage_boot_params(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = bzimage(&len, 0x020f);
	struct guest_image g;
	struct load_error err;
	static uint8_t zp[LINUX_BOOT_PARAMS_SIZE];
	static const struct mb2_region map[] = {
		{ 0, 0x9f000, MB2_MEM_AVAILABLE },
		{ 0x100000, 0xf00000, MB2_MEM_AVAILABLE },
		{ 0x1000000, 0x100000, MB2_MEM_RESERVED },
		{ 0x1100000, 0x6ef0000, MB2_MEM_AVAILABLE },
	};
	struct linux_boot lb = { .kernel_addr = 0x2000000,
				 .cmdline_addr = 0x12000,
				 .initrd_addr = 0x200000,
				 .initrd_size = 0x80000,
				 .map = map,
				 .map_count = 4 };

	assert_true(guest_image_probe(b, len, &g, &err));
	assert_true(bzimage_boot_params(b, len, &g, &lb, zp, &err));
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(zp[0x1f1], 4);
	assert_int_equal(zp[0x210], 0xff); /* type_of_loader: undefined */
	assert_int_equal(zp[0x211] & 0x80, 0);
	assert_int_equal(rd32(zp + 0x214), 0x2000000);
	assert_int_equal(rd32(zp + 0x218), 0x200000);
	assert_int_equal(rd32(zp + 0x21c), 0x80000);
	assert_int_equal(rd32(zp + 0x228), 0x12000);
	assert_int_equal(rd32(zp + 0x1e0), 0xf00000 >> 10); /* alt_mem_k: up to the hole */
	assert_int_equal(zp[0x1e8], 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(rd64(zp + 0x2d0 + 20 * i), map[i].base);
		assert_int_equal(rd64(zp + 0x2d8 + 20 * i), map[i].length);
		assert_int_equal(rd32(zp + 0x2e0 + 20 * i), map[i].type);
	}
	lb.map_count = LINUX_E820_MAX + 1;
	assert_false(bzimage_boot_params(b, len, &g, &lb, zp, &err));
	free(b);
}

static void test_not_a_kernel(void **state)
{
	(void)state;
	struct image im;
	memset(&im, 0x5a, sizeof(im));
	expect_refusal(&im, "neither a multiboot nor a multiboot2 kernel nor a Linux bzImage");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_mb2_elf),
		cmocka_unit_test(test_marrow_itself),
		cmocka_unit_test(test_guest_mb1_address_fields_match_its_elf),
		cmocka_unit_test(test_mb2_address_tags),
		cmocka_unit_test(test_mb2_refusals),
		cmocka_unit_test(test_mb1_headers),
		cmocka_unit_test(test_elf),
		cmocka_unit_test(test_bzimage_header),
		cmocka_unit_test(test_bzimage_boot_params),
		cmocka_unit_test(test_not_a_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
