#include "mb2.h"

#include "core/mw_string.h"
#include "core/unaligned.h"

enum mb2_tag_type {
	TAG_END = 0,
	TAG_CMDLINE = 1,
	TAG_BOOTLOADER = 2,
	TAG_MODULE = 3,
	TAG_MMAP = 6,
	TAG_ACPI_OLD = 14,
	TAG_ACPI_NEW = 15,
};

const char *mb2_status_str(enum mb2_status s)
{
	switch (s) {
	case MB2_OK:
		return "ok";
	case MB2_ERR_TRUNCATED:
		return "a size runs past the end of the boot information";
	case MB2_ERR_BAD_TAG:
		return "a tag is too small for its type";
	case MB2_ERR_NO_END_TAG:
		return "no end tag";
	case MB2_ERR_UNTERMINATED:
		return "a string is not NUL-terminated";
	case MB2_ERR_TOO_MANY:
		return "more memory regions or modules than supported";
	case MB2_ERR_BAD_MMAP:
		return "memory map entry size too small";
	}
	return "unknown";
}

/* A string field occupying [p, p+len) must hold its NUL inside. */
static const char *string_in(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!p[i])
			return (const char *)p;
	return NULL;
}

static enum mb2_status parse_mmap(const uint8_t *tag, uint32_t size, struct mb2_info *out)
{
	if (size < 16)
		return MB2_ERR_BAD_TAG;
	uint32_t entry_size = rd32(tag + 8);
	if (entry_size < 20)
		return MB2_ERR_BAD_MMAP;
	/* off <= size holds throughout, so `size - off` cannot wrap, whereas
	 * `off + entry_size` did for an entry size near 2^32 (found by
	 * tests/fuzz/fuzz_mb2: entries read past the tag and the buffer). */
	for (uint32_t off = 16; entry_size <= size - off; off += entry_size) {
		if (out->region_count == MB2_MAX_REGIONS)
			return MB2_ERR_TOO_MANY;
		struct mb2_region *r = &out->regions[out->region_count++];
		r->base = rd64(tag + off);
		r->length = rd64(tag + off + 8);
		r->type = rd32(tag + off + 16);
	}
	return MB2_OK;
}

static enum mb2_status parse_module(const uint8_t *tag, uint32_t size, struct mb2_info *out)
{
	if (size < 17)
		return MB2_ERR_BAD_TAG;
	if (out->module_count == MB2_MAX_MODULES)
		return MB2_ERR_TOO_MANY;
	const char *cmdline = string_in(tag + 16, size - 16);
	if (!cmdline)
		return MB2_ERR_UNTERMINATED;
	struct mb2_module *m = &out->modules[out->module_count++];
	m->start = rd32(tag + 8);
	m->end = rd32(tag + 12);
	m->cmdline = cmdline;
	return MB2_OK;
}

static enum mb2_status parse_tag(const uint8_t *tag, uint32_t type, uint32_t size,
				 struct mb2_info *out)
{
	switch (type) {
	case TAG_CMDLINE:
	case TAG_BOOTLOADER: {
		if (size < 9)
			return MB2_ERR_BAD_TAG;
		const char *s = string_in(tag + 8, size - 8);
		if (!s)
			return MB2_ERR_UNTERMINATED;
		if (type == TAG_CMDLINE)
			out->cmdline = s;
		else
			out->bootloader = s;
		return MB2_OK;
	}
	case TAG_MODULE:
		return parse_module(tag, size, out);
	case TAG_MMAP:
		return parse_mmap(tag, size, out);
	case TAG_ACPI_OLD:
	case TAG_ACPI_NEW:
		if (size < 8 + 20) /* an RSDP is at least 20 bytes */
			return MB2_ERR_BAD_TAG;
		/* Prefer the ACPI 2.0 RSDP when both are given. */
		if (type == TAG_ACPI_NEW || !out->rsdp) {
			out->rsdp = tag + 8;
			out->rsdp_len = size - 8;
			out->rsdp_revision = type == TAG_ACPI_NEW ? 2 : 0;
		}
		return MB2_OK;
	default:
		return MB2_OK; /* tags we do not use are skipped */
	}
}

enum mb2_status mb2_parse(const void *buf, size_t buf_len, struct mb2_info *out)
{
	const uint8_t *base = buf;

	memset(out, 0, sizeof(*out));
	if (buf_len < 8)
		return MB2_ERR_TRUNCATED;
	uint32_t total = rd32(base);
	if (total < 8 || total > buf_len)
		return MB2_ERR_TRUNCATED;
	out->total_size = total;

	/* Tags start at offset 8 and are 8-byte aligned (spec 3.6.1). */
	for (uint32_t off = 8; off + 8 <= total;) {
		uint32_t type = rd32(base + off);
		uint32_t size = rd32(base + off + 4);
		if (size < 8)
			return MB2_ERR_BAD_TAG;
		if (size > total - off)
			return MB2_ERR_TRUNCATED;
		if (type == TAG_END)
			return MB2_OK;
		enum mb2_status s = parse_tag(base + off, type, size, out);
		if (s != MB2_OK)
			return s;
		uint32_t step = (size + 7u) & ~7u;
		if (step > total - off)
			break;
		off += step;
	}
	return MB2_ERR_NO_END_TAG;
}
