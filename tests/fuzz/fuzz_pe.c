/* libFuzzer harness: the PE/COFF parser and section walker
 * (src/core/pe.c) and the SSDT locator that scans images with it
 * (src/platform/windows/win_ssdt.c, src/core/pattern.c).
 *
 * The input is a PE file. It is parsed as a file and as a mapped image, each
 * from an exact-size copy (ASan sees any read past it); whatever parses:
 *  - the guarantees pe.h gives hold (section table inside the buffer, each
 *    section's data inside it, sections ascending and disjoint);
 *  - every byte pe_section_data and pe_rva_ptr hand out is read;
 *  - pe_section_of_rva and pe_for_each_section agree with a walk of the
 *    table done here;
 *  - pe_checksum equals a reference sum computed here;
 *  - a file is laid out with pe_map_image and the result checked byte by
 *    byte (headers, each section's data, zeros elsewhere); the mapped image
 *    must parse as an image, and every RVA range the file resolves must
 *    read the same bytes through the image;
 *  - the SSDT locator runs on the mapped image, and what it reports lies
 *    inside the image. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "src/core/pe.h"
#include "src/platform/windows/win_ssdt.h"

/* Mapping is O(SizeOfImage): larger images are parsed but not mapped. */
#define MAP_MAX (1u << 20)

static volatile uint8_t sink;

/* Reads every byte of [p, p + len), which must lie inside [base, base + size). */
static void touch(const uint8_t *base, size_t size, const uint8_t *p, size_t len, const char *what)
{
	uint8_t x = 0;

	if (!len)
		return;
	FUZZ_CHECK(p && p >= base && len <= size && (size_t)(p - base) <= size - len,
		   "%s: [%td, +%zu) outside the %zu-byte buffer", what, p ? p - base : -1, len,
		   size);
	for (size_t i = 0; i < len; i++)
		x ^= p[i];
	sink = x;
}

static void check_headers(const struct pe_image *img)
{
	FUZZ_CHECK(img->section_count <= PE_MAX_SECTIONS, "%u sections", img->section_count);
	FUZZ_CHECK((uint64_t)img->section_table + 40ull * img->section_count <= img->size,
		   "section table past the buffer");
	FUZZ_CHECK(img->size_of_headers <= img->size_of_image, "headers larger than the image");
	FUZZ_CHECK(img->dir_count <= PE_MAX_DIRS, "%u directories", img->dir_count);
	FUZZ_CHECK((img->layout == PE_LAYOUT_FILE ? img->size_of_headers : img->size_of_image) <=
			   img->size,
		   "headers or image larger than the buffer");
	FUZZ_CHECK((uint64_t)img->checksum_offset + 4 <= img->size, "checksum field past the end");
}

/* The table, walked here: ascending, disjoint, inside the image; each
 * section's data inside the buffer. */
static void check_sections(const struct pe_image *img)
{
	uint64_t prev_end = img->size_of_headers;

	for (unsigned i = 0; i < img->section_count; i++) {
		struct pe_section s;
		size_t len;
		pe_section_get(img, i, &s);
		FUZZ_CHECK(s.virtual_address >= prev_end, "section %u overlaps", i);
		prev_end = (uint64_t)s.virtual_address + s.virtual_size;
		FUZZ_CHECK(prev_end <= img->size_of_image, "section %u past SizeOfImage", i);
		FUZZ_CHECK(s.name[8] == '\0', "section %u name unterminated", i);
		const uint8_t *d = pe_section_data(img, &s, &len);
		FUZZ_CHECK(len <= s.virtual_size, "section %u: %zu bytes of data, %u loaded", i,
			   len, s.virtual_size);
		if (img->layout == PE_LAYOUT_FILE)
			FUZZ_CHECK(
				len == (s.raw_size < s.virtual_size ? s.raw_size : s.virtual_size),
				"section %u: %zu bytes of file data", i, len);
		touch(img->base, img->size, d, len, "section data");
	}
}

/* Field by field: struct pe_section has padding after its name. */
static bool same_section(const struct pe_section *a, const struct pe_section *b)
{
	return !memcmp(a->name, b->name, sizeof(a->name)) &&
	       a->virtual_address == b->virtual_address && a->virtual_size == b->virtual_size &&
	       a->raw_offset == b->raw_offset && a->raw_size == b->raw_size &&
	       a->characteristics == b->characteristics;
}

struct walk_ctx {
	const struct pe_image *img;
	unsigned next; /* the table index the next visit must be at or after */
	unsigned visits, stop_after;
	uint32_t must_have, must_not;
};

static bool on_section(const struct pe_section *s, const uint8_t *data, size_t len, void *ctx)
{
	struct walk_ctx *w = ctx;
	struct pe_section t;

	/* The visited section is the next one in the table that qualifies. */
	for (;;) {
		FUZZ_CHECK(w->next < w->img->section_count, "visited more sections than qualify");
		pe_section_get(w->img, w->next++, &t);
		if ((t.characteristics & w->must_have) == w->must_have &&
		    !(t.characteristics & w->must_not))
			break;
	}
	FUZZ_CHECK(same_section(&t, s), "visited a section other than the table's next");
	touch(w->img->base, w->img->size, data, len, "walked section data");
	return ++w->visits < w->stop_after;
}

static void check_walk(const struct pe_image *img, uint32_t must_have, uint32_t must_not,
		       unsigned stop_after)
{
	struct walk_ctx w = { img, 0, 0, stop_after, must_have, must_not };
	unsigned qualify = 0;

	for (unsigned i = 0; i < img->section_count; i++) {
		struct pe_section s;
		pe_section_get(img, i, &s);
		qualify += (s.characteristics & must_have) == must_have &&
			   !(s.characteristics & must_not);
	}
	unsigned n = pe_for_each_section(img, must_have, must_not, on_section, &w);
	FUZZ_CHECK(n == w.visits && n == (qualify < stop_after ? qualify : stop_after),
		   "walk visited %u, callback saw %u, %u qualify, stop after %u", n, w.visits,
		   qualify, stop_after);
}

/* RVAs worth asking about: section edges, directories, the entry point, the
 * ends of the image. */
static size_t probe_rvas(const struct pe_image *img, uint32_t *rva, size_t max)
{
	size_t n = 0;

#define ADD(v)                                    \
	do {                                      \
		if (n < max)                      \
			rva[n++] = (uint32_t)(v); \
	} while (0)
	ADD(0);
	ADD(img->entry_rva);
	ADD(img->size_of_headers - 1);
	ADD(img->size_of_headers);
	ADD(img->size_of_image - 1);
	ADD(img->size_of_image);
	ADD(0xffffffffu);
	for (unsigned i = 0; i < img->dir_count; i++)
		ADD(img->dirs[i].rva);
	for (unsigned i = 0; i < img->section_count; i++) {
		struct pe_section s;
		pe_section_get(img, i, &s);
		ADD(s.virtual_address - 1);
		ADD(s.virtual_address);
		ADD(s.virtual_address + s.virtual_size / 2);
		ADD(s.virtual_address + s.virtual_size - 1);
		ADD(s.virtual_address + s.virtual_size);
	}
#undef ADD
	return n;
}

static const size_t probe_lens[] = { 0, 1, 4, 8, 32, 4096 };

static void check_rvas(const struct pe_image *img, const struct pe_image *mapped)
{
	uint32_t rvas[7 + PE_MAX_DIRS + 5 * PE_MAX_SECTIONS];
	size_t n = probe_rvas(img, rvas, sizeof(rvas) / sizeof(rvas[0]));

	for (size_t i = 0; i < n; i++) {
		struct pe_section s;
		uint32_t rva = rvas[i];
		bool found = false;

		/* pe_section_of_rva: the first section holding rva, or none. */
		for (unsigned k = 0; k < img->section_count && !found; k++) {
			pe_section_get(img, k, &s);
			found = rva >= s.virtual_address &&
				(uint64_t)rva < (uint64_t)s.virtual_address + s.virtual_size;
		}
		struct pe_section got;
		enum pe_status st = pe_section_of_rva(img, rva, &got);
		FUZZ_CHECK((st == PE_OK) == found, "pe_section_of_rva(%#x): %s", rva,
			   pe_status_str(st));
		if (found)
			FUZZ_CHECK(same_section(&got, &s), "pe_section_of_rva(%#x): wrong one",
				   rva);

		for (size_t k = 0; k < sizeof(probe_lens) / sizeof(probe_lens[0]); k++) {
			size_t len = probe_lens[k];
			const uint8_t *p = pe_rva_ptr(img, rva, len);
			if (img->layout == PE_LAYOUT_IMAGE)
				FUZZ_CHECK(!!p == ((uint64_t)rva + len <= img->size_of_image),
					   "image pe_rva_ptr(%#x, %zu)", rva, len);
			if (!p)
				continue;
			touch(img->base, img->size, p, len, "pe_rva_ptr");
			if (!mapped)
				continue;
			/* What the file resolves, the mapped image holds too. */
			const uint8_t *q = pe_rva_ptr(mapped, rva, len);
			FUZZ_CHECK(q != NULL, "pe_rva_ptr(%#x, %zu): in the file, not the image",
				   rva, len);
			FUZZ_CHECK(!len || !memcmp(p, q, len),
				   "pe_rva_ptr(%#x, %zu): file and image bytes differ", rva, len);
		}
	}
}

/* The checksum the Windows loader checks, computed the plain way: the
 * 16-bit little-endian words of the file, with the CheckSum field's bytes
 * as zero, summed in 64 bits and the carries folded in at the end. */
static bool in_field(size_t i, uint32_t field)
{
	return i >= field && i < (uint64_t)field + 4;
}

static uint32_t ref_checksum(const uint8_t *b, size_t size, uint32_t field)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < size; i += 2) {
		uint32_t lo = in_field(i, field) ? 0 : b[i];
		uint32_t hi = i + 1 < size && !in_field(i + 1, field) ? b[i + 1] : 0;
		sum += lo | hi << 8;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint32_t)(sum + size);
}

/* The mapped image, byte by byte: headers, section data, zeros. */
static void check_mapped(const struct pe_image *file, const uint8_t *img)
{
	uint8_t *want = calloc(file->size_of_image, 1);

	FUZZ_CHECK(want != NULL, "out of memory");
	memcpy(want, file->base, file->size_of_headers);
	for (unsigned i = 0; i < file->section_count; i++) {
		struct pe_section s;
		size_t len;
		pe_section_get(file, i, &s);
		const uint8_t *d = pe_section_data(file, &s, &len);
		if (len)
			memcpy(want + s.virtual_address, d, len);
	}
	FUZZ_CHECK(!memcmp(want, img, file->size_of_image), "pe_map_image wrote other bytes");
	free(want);
}

static void check_ssdt(const struct pe_image *img)
{
	struct win_ssdt s;
	enum win_ssdt_status st = win_ssdt_locate(img, img->image_base, &s);

	FUZZ_CHECK(win_ssdt_status_str(st) != NULL, "no status string");
	if (st != WIN_SSDT_OK)
		return;
	FUZZ_CHECK(s.matches == 1 && s.count > 0 && s.count <= WIN_SSDT_MAX_SERVICES,
		   "%u matches, %u services", s.matches, s.count);
	touch(img->base, img->size, s.table, 4ull * s.count, "service table");
	for (uint32_t i = 0; i <= s.count; i++) {
		uint64_t va;
		bool ok = win_ssdt_routine(&s, i, &va);
		FUZZ_CHECK(ok == (i < s.count), "win_ssdt_routine(%u) of %u", i, s.count);
		if (!ok)
			continue;
		struct pe_section sec;
		FUZZ_CHECK(va - s.runtime_base < img->size_of_image &&
				   pe_section_of_rva(img, (uint32_t)(va - s.runtime_base), &sec) ==
					   PE_OK &&
				   (sec.characteristics & PE_SCN_MEM_EXECUTE),
			   "service %u at %#llx is not code in the image", i,
			   (unsigned long long)va);
	}
}

static void check_parsed(const struct pe_image *img, const struct pe_image *mapped)
{
	check_headers(img);
	check_sections(img);
	check_walk(img, 0, 0, ~0u);
	check_walk(img, PE_SCN_MEM_EXECUTE, PE_SCN_MEM_DISCARDABLE, ~0u);
	check_walk(img, PE_SCN_MEM_READ, PE_SCN_MEM_WRITE, 2);
	check_rvas(img, mapped);
	FUZZ_CHECK(pe_checksum(img->base, img->size, img->checksum_offset) ==
			   ref_checksum(img->base, img->size, img->checksum_offset),
		   "pe_checksum differs from the reference");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_copy(data, size);
	struct pe_image file, image, mapped;

	FUZZ_CHECK(pe_parse(NULL, buf, size, PE_LAYOUT_FILE) == PE_ERR_BAD_ARG, "NULL image");
	if (pe_parse(&image, buf, size, PE_LAYOUT_IMAGE) == PE_OK) {
		check_parsed(&image, NULL);
		check_ssdt(&image);
	}
	enum pe_status st = pe_parse(&file, buf, size, PE_LAYOUT_FILE);
	FUZZ_CHECK(pe_status_str(st) != NULL, "no status string");
	if (st == PE_OK && file.size_of_image <= MAP_MAX) {
		uint8_t *img = malloc(file.size_of_image ? file.size_of_image : 1);
		FUZZ_CHECK(img != NULL, "out of memory");
		FUZZ_CHECK(pe_map_image(&file, img, file.size_of_image - 1) == PE_ERR_BAD_ARG,
			   "pe_map_image accepted a short buffer");
		FUZZ_CHECK(pe_map_image(&file, img, file.size_of_image) == PE_OK,
			   "pe_map_image refused a parsed file");
		check_mapped(&file, img);
		enum pe_status ist = pe_parse(&mapped, img, file.size_of_image, PE_LAYOUT_IMAGE);
		FUZZ_CHECK(ist == PE_OK, "the mapped image does not parse: %s", pe_status_str(ist));
		check_parsed(&file, &mapped);
		check_parsed(&mapped, NULL);
		check_ssdt(&mapped);
		free(img);
	} else if (st == PE_OK) {
		check_parsed(&file, NULL);
	}
	free(buf);
	return 0;
}
