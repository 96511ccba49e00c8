#include "segment.h"

#include "core/mw_string.h"

static bool read_entry(const struct desc_table *t, uint32_t offset, uint64_t *entry)
{
	if (!t || !t->base || offset + 7 > t->limit || offset + 7 < offset)
		return false;
	memcpy(entry, (const uint8_t *)t->base + offset, 8);
	return true;
}

bool seg_decode(const struct desc_table *gdt, const struct desc_table *ldt, uint16_t sel,
		struct seg_desc *out)
{
	const struct desc_table *table = (sel & 4) ? ldt : gdt;
	uint32_t offset = sel & ~7u;
	uint64_t d;

	memset(out, 0, sizeof(*out));
	out->ar = SEG_AR_UNUSABLE;
	if ((sel & ~3u) == 0 || !read_entry(table, offset, &d))
		return false; /* null selector (any RPL) or beyond the limit */

	uint32_t ar = (uint32_t)(d >> 40) & 0xf0ff;
	if (!(ar & SEG_AR_P))
		return false;

	uint32_t limit = (uint32_t)(d & 0xffff) | (uint32_t)((d >> 32) & 0xf0000);
	if (ar & SEG_AR_G)
		limit = (limit << 12) | 0xfff;
	uint64_t base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);

	if (!(ar & SEG_AR_S)) {
		/* A system descriptor's upper half holds base bits 63:32
		 * (SDM 3A 7.2.3, 8.5.1 for IA-32e mode). */
		uint64_t hi;
		if (!read_entry(table, offset + 8, &hi))
			return false;
		base |= (hi & 0xffffffffull) << 32;
	}
	out->base = base;
	out->limit = limit;
	out->ar = ar;
	return true;
}
