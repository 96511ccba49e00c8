/* libFuzzer harness: the multiboot2 boot-information parser
 * (src/platform/baremetal/mb2.c) on arbitrary bytes.
 *
 * The input is the boot information. Checked on every input:
 *  - no read outside the buffer (ASan: the parser gets an exact-size copy);
 *  - every pointer it returns lies inside the first total_size bytes, each
 *    string ends there, the RSDP copy too;
 *  - the same answer as a reference parser written here from the
 *    Multiboot2 specification (3.6) with 64-bit arithmetic throughout;
 *  - bytes past total_size change nothing: the parser is run again on the
 *    same information followed by junk. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "src/platform/baremetal/mb2.h"

/* The reference: the spec's layout, marrow's limits and error order. */
static uint32_t ref_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool ref_has_nul(const uint8_t *p, uint64_t len)
{
	return len && memchr(p, 0, len) != NULL;
}

struct ref_info {
	size_t regions, modules;
	bool cmdline, bootloader;
	uint64_t rsdp_off; /* 0: none */
	uint32_t rsdp_revision;
};

static enum mb2_status ref_tag(const uint8_t *t, uint32_t type, uint64_t size, uint64_t off,
			       struct ref_info *r)
{
	switch (type) {
	case 1:
	case 2:
		if (size < 9)
			return MB2_ERR_BAD_TAG;
		if (!ref_has_nul(t + 8, size - 8))
			return MB2_ERR_UNTERMINATED;
		*(type == 1 ? &r->cmdline : &r->bootloader) = true;
		return MB2_OK;
	case 3: /* module: start, end, then its NUL-terminated string */
		if (size < 17)
			return MB2_ERR_BAD_TAG;
		if (r->modules == MB2_MAX_MODULES)
			return MB2_ERR_TOO_MANY;
		if (!ref_has_nul(t + 16, size - 16))
			return MB2_ERR_UNTERMINATED;
		r->modules++;
		return MB2_OK;
	case 6: { /* memory map: entry_size, entry_version, entries */
		if (size < 16)
			return MB2_ERR_BAD_TAG;
		uint64_t esz = ref_rd32(t + 8);
		if (esz < 20)
			return MB2_ERR_BAD_MMAP;
		for (uint64_t n = (size - 16) / esz; n > 0; n--) {
			if (r->regions == MB2_MAX_REGIONS)
				return MB2_ERR_TOO_MANY;
			r->regions++;
		}
		return MB2_OK;
	}
	case 14:
	case 15: /* ACPI old/new RSDP copies; the new one wins */
		if (size < 28)
			return MB2_ERR_BAD_TAG;
		if (type == 15 || !r->rsdp_off) {
			r->rsdp_off = off + 8;
			r->rsdp_revision = type == 15 ? 2 : 0;
		}
		return MB2_OK;
	}
	return MB2_OK;
}

static enum mb2_status ref_parse(const uint8_t *b, size_t len, struct ref_info *r)
{
	memset(r, 0, sizeof(*r));
	if (len < 8)
		return MB2_ERR_TRUNCATED;
	uint64_t total = ref_rd32(b);
	if (total < 8 || total > len)
		return MB2_ERR_TRUNCATED;
	for (uint64_t off = 8; off + 8 <= total; off = (off + ref_rd32(b + off + 4) + 7) & ~7ull) {
		uint32_t type = ref_rd32(b + off);
		uint64_t size = ref_rd32(b + off + 4);
		if (size < 8)
			return MB2_ERR_BAD_TAG;
		if (off + size > total)
			return MB2_ERR_TRUNCATED;
		if (type == 0)
			return MB2_OK;
		enum mb2_status s = ref_tag(b + off, type, size, off, r);
		if (s != MB2_OK)
			return s;
	}
	return MB2_ERR_NO_END_TAG;
}

/* p lies in [base, base + total) and a NUL ends it there. */
static void check_string(const uint8_t *base, uint32_t total, const char *s, const char *what)
{
	const uint8_t *p = (const uint8_t *)s;

	FUZZ_CHECK(p >= base + 8 && p < base + total, "%s at offset %td, total %u", what, p - base,
		   total);
	FUZZ_CHECK(memchr(p, 0, (size_t)(base + total - p)) != NULL, "%s unterminated", what);
}

static void check_info(const uint8_t *b, const struct mb2_info *in)
{
	if (in->cmdline)
		check_string(b, in->total_size, in->cmdline, "cmdline");
	if (in->bootloader)
		check_string(b, in->total_size, in->bootloader, "bootloader");
	for (size_t i = 0; i < in->module_count; i++)
		check_string(b, in->total_size, in->modules[i].cmdline, "module string");
	if (in->rsdp) {
		const uint8_t *r = in->rsdp;
		FUZZ_CHECK(r >= b + 8 && in->rsdp_len >= 20 &&
				   in->rsdp_len <= (size_t)(b + in->total_size - r),
			   "RSDP at %td, %zu bytes, total %u", r - b, in->rsdp_len, in->total_size);
	}
}

/* The pointers of a and b (parsed from buffers at ba and bb) at the same
 * offsets, and every value equal. */
static bool same_ptr(const void *p, const uint8_t *ba, const void *q, const uint8_t *bb)
{
	if (!p || !q)
		return p == q;
	return (const uint8_t *)p - ba == (const uint8_t *)q - bb;
}

static void check_same(const struct mb2_info *a, const uint8_t *ba, const struct mb2_info *b,
		       const uint8_t *bb)
{
	FUZZ_CHECK(a->total_size == b->total_size && a->region_count == b->region_count &&
			   a->module_count == b->module_count && a->rsdp_len == b->rsdp_len &&
			   a->rsdp_revision == b->rsdp_revision,
		   "a result changed with bytes past total_size");
	FUZZ_CHECK(same_ptr(a->cmdline, ba, b->cmdline, bb) &&
			   same_ptr(a->bootloader, ba, b->bootloader, bb) &&
			   same_ptr(a->rsdp, ba, b->rsdp, bb),
		   "a pointer changed with bytes past total_size");
	FUZZ_CHECK(!memcmp(a->regions, b->regions, a->region_count * sizeof(a->regions[0])),
		   "a region changed with bytes past total_size");
	for (size_t i = 0; i < a->module_count; i++)
		FUZZ_CHECK(a->modules[i].start == b->modules[i].start &&
				   a->modules[i].end == b->modules[i].end &&
				   same_ptr(a->modules[i].cmdline, ba, b->modules[i].cmdline, bb),
			   "module %zu changed with bytes past total_size", i);
}

static struct mb2_info info, info2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_copy(data, size);
	struct ref_info ref;
	enum mb2_status st = mb2_parse(buf, size, &info);
	enum mb2_status want = ref_parse(buf, size, &ref);

	FUZZ_CHECK(st == want, "mb2_parse: %s, reference: %s", mb2_status_str(st),
		   mb2_status_str(want));
	FUZZ_CHECK(mb2_status_str(st) != NULL, "no status string");
	if (st == MB2_OK) {
		FUZZ_CHECK(info.total_size >= 8 && info.total_size <= size, "total_size %u of %zu",
			   info.total_size, size);
		FUZZ_CHECK(info.region_count == ref.regions && info.module_count == ref.modules &&
				   !!info.cmdline == ref.cmdline &&
				   !!info.bootloader == ref.bootloader &&
				   (info.rsdp ? (uint64_t)((const uint8_t *)info.rsdp - buf) : 0) ==
					   ref.rsdp_off &&
				   info.rsdp_revision == ref.rsdp_revision,
			   "fields differ from the reference: %zu/%zu regions, %zu/%zu modules",
			   info.region_count, ref.regions, info.module_count, ref.modules);
		check_info(buf, &info);
	}
	/* Whenever the buffer holds total_size bytes: the same information with
	 * junk after it gives the same answer. */
	uint32_t total = size >= 4 ? ref_rd32(buf) : 0;
	if (size >= 8 && total >= 8 && total <= size) {
		size_t junk = 64;
		uint8_t *longer = malloc(total + junk);
		FUZZ_CHECK(longer != NULL, "out of memory");
		memcpy(longer, buf, total);
		memset(longer + total, 0xA5, junk);
		enum mb2_status st2 = mb2_parse(longer, total + junk, &info2);
		FUZZ_CHECK(st2 == st, "junk past total_size: %s, without: %s", mb2_status_str(st2),
			   mb2_status_str(st));
		if (st == MB2_OK)
			check_same(&info, buf, &info2, longer);
		free(longer);
	}
	free(buf);
	return 0;
}
