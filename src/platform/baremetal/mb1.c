#include "mb1.h"

#include <stdbool.h>

#include "core/mw_string.h"
#include "core/unaligned.h"

#define INFO_SIZE 88 /* through the VBE fields; the kernel reads no further */
#define HAS_MEM (1u << 0)
#define HAS_CMDLINE (1u << 2)
#define HAS_MODS (1u << 3)
#define HAS_MMAP (1u << 6)
#define HAS_LOADER_NAME (1u << 9)
#define MAX_STRING 4096
#define MAX_MMAP_BYTES (MB2_MAX_REGIONS * 64)

struct reader {
	mb1_map_fn map;
	void *ctx;
	uint64_t lo, hi;
};

static const uint8_t *get(struct reader *r, uint64_t pa, size_t len)
{
	const uint8_t *p = r->map(pa, len, r->ctx);
	if (p) {
		if (pa < r->lo)
			r->lo = pa;
		if (pa + len > r->hi)
			r->hi = pa + len;
	}
	return p;
}

/* A NUL-terminated string at pa, at most MAX_STRING bytes with its NUL. */
static const char *string_at(struct reader *r, uint64_t pa, enum mb2_status *s)
{
	for (size_t len = 1; len <= MAX_STRING; len++) {
		const uint8_t *p = get(r, pa, len);
		if (!p)
			break;
		if (p[len - 1] == '\0')
			return (const char *)p;
	}
	*s = MB2_ERR_UNTERMINATED;
	return NULL;
}

static enum mb2_status parse_mmap(struct reader *r, uint32_t len, uint32_t addr,
				  struct mb2_info *out)
{
	if (len > MAX_MMAP_BYTES)
		return MB2_ERR_TOO_MANY;
	const uint8_t *m = get(r, addr, len);
	if (!m)
		return MB2_ERR_TRUNCATED;
	/* Each entry starts with its size, which does not count itself. */
	for (uint32_t off = 0; off + 4 <= len;) {
		uint32_t size = rd32(m + off);
		if (size < 20)
			return MB2_ERR_BAD_MMAP;
		if (size > len - off - 4)
			return MB2_ERR_TRUNCATED;
		if (out->region_count == MB2_MAX_REGIONS)
			return MB2_ERR_TOO_MANY;
		struct mb2_region *reg = &out->regions[out->region_count++];
		reg->base = rd64(m + off + 4);
		reg->length = rd64(m + off + 12);
		reg->type = rd32(m + off + 20);
		off += size + 4;
	}
	return MB2_OK;
}

static enum mb2_status parse_mods(struct reader *r, uint32_t count, uint32_t addr,
				  struct mb2_info *out)
{
	if (count > MB2_MAX_MODULES)
		return MB2_ERR_TOO_MANY;
	const uint8_t *mods = count ? get(r, addr, 16 * count) : NULL;
	if (count && !mods)
		return MB2_ERR_TRUNCATED;
	for (uint32_t i = 0; i < count; i++) {
		enum mb2_status s = MB2_OK;
		struct mb2_module *m = &out->modules[out->module_count++];
		m->start = rd32(mods + 16 * i);
		m->end = rd32(mods + 16 * i + 4);
		uint32_t str = rd32(mods + 16 * i + 8);
		m->cmdline = str ? string_at(r, str, &s) : "";
		if (s != MB2_OK)
			return s;
	}
	return MB2_OK;
}

enum mb2_status mb1_parse(uint64_t info_pa, mb1_map_fn map, void *ctx, struct mb2_info *out,
			  uint64_t *lo, uint64_t *hi)
{
	struct reader r = { map, ctx, UINT64_MAX, 0 };
	enum mb2_status s = MB2_OK;

	memset(out, 0, sizeof(*out));
	const uint8_t *info = get(&r, info_pa, INFO_SIZE);
	if (!info)
		return MB2_ERR_TRUNCATED;
	uint32_t flags = rd32(info);
	out->total_size = INFO_SIZE;
	if ((flags & HAS_CMDLINE) && !(out->cmdline = string_at(&r, rd32(info + 16), &s)))
		return s;
	if ((flags & HAS_LOADER_NAME) && !(out->bootloader = string_at(&r, rd32(info + 64), &s)))
		return s;
	if (flags & HAS_MODS) {
		s = parse_mods(&r, rd32(info + 20), rd32(info + 24), out);
		if (s != MB2_OK)
			return s;
	}
	if (flags & HAS_MMAP) {
		s = parse_mmap(&r, rd32(info + 44), rd32(info + 48), out);
		if (s != MB2_OK)
			return s;
	}
	if (!(flags & HAS_MMAP) && (flags & HAS_MEM)) {
		/* No map: what mem_lower and mem_upper describe. */
		out->regions[0] =
			(struct mb2_region){ 0, (uint64_t)rd32(info + 4) << 10, MB2_MEM_AVAILABLE };
		out->regions[1] = (struct mb2_region){ 0x100000, (uint64_t)rd32(info + 8) << 10,
						       MB2_MEM_AVAILABLE };
		out->region_count = 2;
	}
	*lo = r.lo;
	*hi = r.hi;
	return MB2_OK;
}
