/* PE/COFF parsing. Offsets and rules cite the Microsoft "PE Format"
 * specification (learn.microsoft.com/windows/win32/debug/pe-format). Every
 * read goes through rd16/rd32/rd64 after a bounds check done with 64-bit
 * arithmetic, so no field value can make an offset wrap. */
#include "pe.h"

#include "core/mw_string.h"
#include "core/unaligned.h"

#define DOS_HEADER_SIZE 64
#define DOS_LFANEW 0x3c
#define COFF_HEADER_SIZE 20
#define SECTION_HEADER_SIZE 40
/* The optional header's fixed part, before the data directories. */
#define OPT_FIXED_PE32 96
#define OPT_FIXED_PE32_PLUS 112

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

const char *pe_status_str(enum pe_status s)
{
	switch (s) {
	case PE_OK:
		return "ok";
	case PE_ERR_BAD_ARG:
		return "bad argument";
	case PE_ERR_TRUNCATED:
		return "headers run past the end of the buffer";
	case PE_ERR_NOT_MZ:
		return "no MZ signature";
	case PE_ERR_NOT_PE:
		return "no PE signature";
	case PE_ERR_BAD_OPTIONAL:
		return "bad optional header";
	case PE_ERR_TOO_MANY_SECTIONS:
		return "too many sections";
	case PE_ERR_SECTION_BOUNDS:
		return "section outside the file or image";
	case PE_ERR_SECTION_OVERLAP:
		return "sections overlap or are out of order";
	case PE_ERR_BAD_LAYOUT:
		return "inconsistent sizes or alignments";
	case PE_ERR_NOT_FOUND:
		return "not found";
	}
	return "unknown PE status";
}

void pe_section_get(const struct pe_image *img, unsigned i, struct pe_section *out)
{
	const uint8_t *h = img->base + img->section_table + (size_t)i * SECTION_HEADER_SIZE;

	memcpy(out->name, h, 8);
	out->name[8] = '\0';
	out->virtual_size = rd32(h + 8);
	out->virtual_address = rd32(h + 12);
	out->raw_size = rd32(h + 16);
	out->raw_offset = rd32(h + 20);
	out->characteristics = rd32(h + 36);
	/* An image section's VirtualSize may be 0, meaning SizeOfRawData
	 * ("Section Table": VirtualSize, SizeOfRawData). */
	if (out->virtual_size == 0)
		out->virtual_size = out->raw_size;
}

/* The optional header: its magic decides the field offsets ("Optional
 * Header Standard Fields" and "Windows-Specific Fields"). */
static enum pe_status parse_optional(struct pe_image *img, const uint8_t *opt, uint32_t opt_size)
{
	if (opt_size < 2)
		return PE_ERR_BAD_OPTIONAL;
	uint16_t magic = rd16(opt);
	uint32_t fixed, ndirs;

	if (magic == PE_OPT_MAGIC_PE32_PLUS) {
		img->pe32_plus = true;
		fixed = OPT_FIXED_PE32_PLUS;
	} else if (magic == PE_OPT_MAGIC_PE32) {
		img->pe32_plus = false;
		fixed = OPT_FIXED_PE32;
	} else {
		return PE_ERR_BAD_OPTIONAL;
	}
	if (opt_size < fixed)
		return PE_ERR_BAD_OPTIONAL;
	img->entry_rva = rd32(opt + 16);
	img->image_base = img->pe32_plus ? rd64(opt + 24) : rd32(opt + 28);
	img->section_alignment = rd32(opt + 32);
	img->file_alignment = rd32(opt + 36);
	img->size_of_image = rd32(opt + 56);
	img->size_of_headers = rd32(opt + 60);
	img->checksum = rd32(opt + 64);
	img->subsystem = rd16(opt + 68);
	img->dll_characteristics = rd16(opt + 70);
	ndirs = rd32(opt + fixed - 4);
	/* The directories must fit in SizeOfOptionalHeader. */
	if ((uint64_t)ndirs * 8 > opt_size - fixed)
		return PE_ERR_BAD_OPTIONAL;
	img->dir_count = ndirs < PE_MAX_DIRS ? ndirs : PE_MAX_DIRS;
	for (uint32_t i = 0; i < img->dir_count; i++) {
		img->dirs[i].rva = rd32(opt + fixed + 8 * i);
		img->dirs[i].size = rd32(opt + fixed + 8 * i + 4);
	}
	return PE_OK;
}

/* Sizes and alignments: SectionAlignment >= FileAlignment, both powers of
 * two; the headers fit in the image and (file) in the buffer; the image
 * fits in the buffer when it is mapped. */
static enum pe_status check_layout(const struct pe_image *img, uint64_t table_end)
{
	if (!is_pow2(img->section_alignment) || !is_pow2(img->file_alignment) ||
	    img->section_alignment < img->file_alignment)
		return PE_ERR_BAD_LAYOUT;
	if (img->size_of_headers > img->size_of_image || table_end > img->size_of_headers)
		return PE_ERR_BAD_LAYOUT;
	if (img->entry_rva >= img->size_of_image)
		return PE_ERR_BAD_LAYOUT;
	if (img->layout == PE_LAYOUT_FILE && img->size_of_headers > img->size)
		return PE_ERR_TRUNCATED;
	if (img->layout == PE_LAYOUT_IMAGE && img->size_of_image > img->size)
		return PE_ERR_TRUNCATED;
	return PE_OK;
}

static bool ranges_overlap(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len)
{
	return a_len && b_len && a < b + b_len && b < a + a_len;
}

/* Sections in ascending, disjoint virtual order, after the headers and
 * inside SizeOfImage ("Section Table": "the VAs for sections must be
 * assigned by the linker so that they are in ascending order and
 * adjacent"); in a file, raw data inside the file and not shared. */
static enum pe_status check_sections(const struct pe_image *img)
{
	uint64_t prev_end = img->size_of_headers;

	for (unsigned i = 0; i < img->section_count; i++) {
		struct pe_section s;
		pe_section_get(img, i, &s);
		uint64_t end = (uint64_t)s.virtual_address + s.virtual_size;
		if (end > img->size_of_image)
			return PE_ERR_SECTION_BOUNDS;
		if (s.virtual_address < prev_end)
			return PE_ERR_SECTION_OVERLAP;
		prev_end = end;
		if (img->layout != PE_LAYOUT_FILE || s.raw_size == 0)
			continue;
		if ((uint64_t)s.raw_offset + s.raw_size > img->size)
			return PE_ERR_SECTION_BOUNDS;
		for (unsigned j = 0; j < i; j++) {
			struct pe_section t;
			pe_section_get(img, j, &t);
			if (ranges_overlap(s.raw_offset, s.raw_size, t.raw_offset, t.raw_size))
				return PE_ERR_SECTION_OVERLAP;
		}
	}
	return PE_OK;
}

enum pe_status pe_parse(struct pe_image *img, const void *buf, size_t size, enum pe_layout layout)
{
	const uint8_t *b = buf;

	if (!img || !buf)
		return PE_ERR_BAD_ARG;
	memset(img, 0, sizeof(*img));
	img->base = b;
	img->size = size;
	img->layout = layout;
	if (size < DOS_HEADER_SIZE)
		return PE_ERR_TRUNCATED;
	if (b[0] != 'M' || b[1] != 'Z')
		return PE_ERR_NOT_MZ;
	uint64_t pe = rd32(b + DOS_LFANEW);
	if (pe + 4 + COFF_HEADER_SIZE > size)
		return PE_ERR_TRUNCATED;
	if (b[pe] != 'P' || b[pe + 1] != 'E' || b[pe + 2] != 0 || b[pe + 3] != 0)
		return PE_ERR_NOT_PE;
	const uint8_t *coff = b + pe + 4;
	img->machine = rd16(coff);
	img->section_count = rd16(coff + 2);
	uint32_t opt_size = rd16(coff + 16);
	img->file_characteristics = rd16(coff + 18);

	uint64_t opt = pe + 4 + COFF_HEADER_SIZE;
	if (opt + opt_size > size)
		return PE_ERR_TRUNCATED;
	enum pe_status s = parse_optional(img, b + opt, opt_size);
	if (s != PE_OK)
		return s;
	img->checksum_offset = (uint32_t)(opt + 64);

	if (img->section_count > PE_MAX_SECTIONS)
		return PE_ERR_TOO_MANY_SECTIONS;
	uint64_t table = opt + opt_size;
	uint64_t table_end = table + (uint64_t)img->section_count * SECTION_HEADER_SIZE;
	if (table_end > size)
		return PE_ERR_TRUNCATED;
	img->section_table = (uint32_t)table;
	s = check_layout(img, table_end);
	if (s != PE_OK)
		return s;
	return check_sections(img);
}

const uint8_t *pe_section_data(const struct pe_image *img, const struct pe_section *s, size_t *len)
{
	if (img->layout == PE_LAYOUT_IMAGE) {
		*len = s->virtual_size;
		return img->base + s->virtual_address;
	}
	/* Raw data past the loaded size is file-alignment padding. */
	*len = s->raw_size < s->virtual_size ? s->raw_size : s->virtual_size;
	return *len ? img->base + s->raw_offset : NULL;
}

unsigned pe_for_each_section(const struct pe_image *img, uint32_t must_have, uint32_t must_not,
			     pe_section_fn fn, void *ctx)
{
	unsigned visited = 0;

	for (unsigned i = 0; i < img->section_count; i++) {
		struct pe_section s;
		pe_section_get(img, i, &s);
		if ((s.characteristics & must_have) != must_have || (s.characteristics & must_not))
			continue;
		size_t len;
		const uint8_t *data = pe_section_data(img, &s, &len);
		visited++;
		if (!fn(&s, data, len, ctx))
			break;
	}
	return visited;
}

enum pe_status pe_section_of_rva(const struct pe_image *img, uint32_t rva, struct pe_section *out)
{
	for (unsigned i = 0; i < img->section_count; i++) {
		pe_section_get(img, i, out);
		if (rva >= out->virtual_address &&
		    (uint64_t)rva < (uint64_t)out->virtual_address + out->virtual_size)
			return PE_OK;
	}
	return PE_ERR_NOT_FOUND;
}

const void *pe_rva_ptr(const struct pe_image *img, uint32_t rva, size_t len)
{
	uint64_t end = (uint64_t)rva + len;
	struct pe_section s;

	if (img->layout == PE_LAYOUT_IMAGE)
		return end <= img->size_of_image ? img->base + rva : NULL;
	if (end <= img->size_of_headers)
		return img->base + rva;
	if (pe_section_of_rva(img, rva, &s) != PE_OK)
		return NULL;
	size_t avail;
	const uint8_t *data = pe_section_data(img, &s, &avail);
	/* A section with no file data (.bss) has nothing to point into: data
	 * is NULL, and NULL + 0 for len 0 was undefined (found by fuzz_pe). */
	if (!data || end > (uint64_t)s.virtual_address + avail)
		return NULL;
	return data + (rva - s.virtual_address);
}

uint32_t pe_checksum(const void *file, size_t size, uint32_t checksum_offset)
{
	const uint8_t *b = file;
	uint64_t sum = 0;

	for (size_t i = 0; i < size; i += 2) {
		uint32_t lo = b[i], hi = i + 1 < size ? b[i + 1] : 0;
		/* The CheckSum field itself counts as zero. */
		if (i >= checksum_offset && i < (uint64_t)checksum_offset + 4)
			lo = 0;
		if (i + 1 >= checksum_offset && i + 1 < (uint64_t)checksum_offset + 4)
			hi = 0;
		sum += lo | (hi << 8);
		sum = (sum & 0xffff) + (sum >> 16);
	}
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint32_t)(sum + size);
}

enum pe_status pe_map_image(const struct pe_image *file, void *dst, size_t dst_size)
{
	uint8_t *d = dst;

	if (file->layout != PE_LAYOUT_FILE || dst_size < file->size_of_image)
		return PE_ERR_BAD_ARG;
	memset(d, 0, file->size_of_image);
	memcpy(d, file->base, file->size_of_headers);
	for (unsigned i = 0; i < file->section_count; i++) {
		struct pe_section s;
		size_t len;
		pe_section_get(file, i, &s);
		const uint8_t *data = pe_section_data(file, &s, &len);
		if (len)
			memcpy(d + s.virtual_address, data, len);
	}
	return PE_OK;
}
