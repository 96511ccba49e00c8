#include "mb_info.h"

#include <stdbool.h>

#include "bootmap.h"
#include "core/mw_string.h"

#define FOUR_GIB (1ull << 32)

/* A cursor over the output buffer; a write that does not fit marks it
 * failed and writes nothing. */
struct out {
	uint8_t *buf;
	size_t size, used;
	uint64_t pa;
	bool failed;
};

static uint8_t *take(struct out *o, size_t len, size_t align)
{
	size_t at = (o->used + align - 1) & ~(align - 1);
	if (o->failed || at > o->size || len > o->size - at) {
		o->failed = true;
		return NULL;
	}
	o->used = at + len;
	memset(o->buf + at, 0, len);
	return o->buf + at;
}

static uint64_t pa_of(const struct out *o, const uint8_t *p)
{
	return o->pa + (uint64_t)(p - o->buf);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static size_t finish(struct out *o)
{
	return o->failed || o->pa + o->used > FOUR_GIB ? 0 : o->used;
}

static bool modules_below_4g(const struct mb_info_input *in)
{
	for (size_t i = 0; i < in->module_count; i++)
		if (in->modules[i].end > FOUR_GIB)
			return false;
	return true;
}

/* ---- multiboot2 ---- */

enum {
	TAG_END = 0,
	TAG_CMDLINE = 1,
	TAG_BOOTLOADER = 2,
	TAG_MODULE = 3,
	TAG_MEMINFO = 4,
	TAG_MMAP = 6,
	TAG_ACPI_OLD = 14,
	TAG_ACPI_NEW = 15,
};

static uint8_t *tag(struct out *o, uint32_t type, size_t size)
{
	uint8_t *t = take(o, size, 8);
	if (t) {
		put32(t, type);
		put32(t + 4, (uint32_t)size);
	}
	return t;
}

static void string_tag(struct out *o, uint32_t type, const char *s)
{
	size_t n = strlen(s) + 1;
	uint8_t *t = tag(o, type, 8 + n);
	if (t)
		memcpy(t + 8, s, n);
}

static void mb2_modules(struct out *o, const struct mb_info_input *in)
{
	for (size_t i = 0; i < in->module_count; i++) {
		const struct mb_module *m = &in->modules[i];
		const char *s = m->cmdline ? m->cmdline : "";
		size_t n = strlen(s) + 1;
		uint8_t *t = tag(o, TAG_MODULE, 16 + n);
		if (!t)
			return;
		put32(t + 8, (uint32_t)m->start);
		put32(t + 12, (uint32_t)m->end);
		memcpy(t + 16, s, n);
	}
}

static void mb2_mmap(struct out *o, const struct mb_info_input *in)
{
	uint8_t *t = tag(o, TAG_MMAP, 16 + 24 * in->map_count);
	if (!t)
		return;
	put32(t + 8, 24); /* entry_size */
	put32(t + 12, 0); /* entry_version */
	for (size_t i = 0; i < in->map_count; i++) {
		uint8_t *e = t + 16 + 24 * i;
		put64(e, in->map[i].base);
		put64(e + 8, in->map[i].length);
		put32(e + 16, in->map[i].type);
	}
}

size_t mb2_info_build(const struct mb_info_input *in, uint8_t *buf, size_t size, uint64_t pa)
{
	struct out o = { buf, size, 0, pa, false };

	if (!modules_below_4g(in))
		return 0;
	take(&o, 8, 8); /* total_size and reserved, filled at the end */
	string_tag(&o, TAG_CMDLINE, in->cmdline);
	string_tag(&o, TAG_BOOTLOADER, in->bootloader);
	mb2_modules(&o, in);
	uint8_t *mi = tag(&o, TAG_MEMINFO, 16);
	if (mi) {
		put32(mi + 8, bootmap_lower_kib(in->map, in->map_count));
		put32(mi + 12, bootmap_upper_kib(in->map, in->map_count));
	}
	mb2_mmap(&o, in);
	if (in->rsdp) {
		uint8_t *t = tag(&o, in->rsdp_revision >= 2 ? TAG_ACPI_NEW : TAG_ACPI_OLD,
				 8 + in->rsdp_len);
		if (t)
			memcpy(t + 8, in->rsdp, in->rsdp_len);
	}
	tag(&o, TAG_END, 8);
	if (!o.failed)
		put32(buf, (uint32_t)o.used);
	return finish(&o);
}

/* ---- multiboot 0.6.96 ---- */

#define MB1_INFO_SIZE 120
#define MB1_HAS_MEM (1u << 0)
#define MB1_HAS_CMDLINE (1u << 2)
#define MB1_HAS_MODS (1u << 3)
#define MB1_HAS_MMAP (1u << 6)
#define MB1_HAS_LOADER_NAME (1u << 9)

static uint32_t string_pa(struct out *o, const char *s)
{
	size_t n = strlen(s) + 1;
	uint8_t *p = take(o, n, 1);
	if (!p)
		return 0;
	memcpy(p, s, n);
	return (uint32_t)pa_of(o, p);
}

static void mb1_mmap(struct out *o, const struct mb_info_input *in, uint8_t *info)
{
	uint8_t *m = take(o, 24 * in->map_count, 4);
	if (!m)
		return;
	for (size_t i = 0; i < in->map_count; i++) {
		uint8_t *e = m + 24 * i;
		put32(e, 20); /* size, not counting itself */
		put64(e + 4, in->map[i].base);
		put64(e + 12, in->map[i].length);
		put32(e + 20, in->map[i].type);
	}
	put32(info + 44, (uint32_t)(24 * in->map_count));
	put32(info + 48, (uint32_t)pa_of(o, m));
}

static void mb1_modules(struct out *o, const struct mb_info_input *in, uint8_t *info)
{
	uint8_t *mods = take(o, 16 * in->module_count, 4);
	if (!mods)
		return;
	for (size_t i = 0; i < in->module_count; i++) {
		const struct mb_module *m = &in->modules[i];
		put32(mods + 16 * i, (uint32_t)m->start);
		put32(mods + 16 * i + 4, (uint32_t)m->end);
		put32(mods + 16 * i + 8, string_pa(o, m->cmdline ? m->cmdline : ""));
	}
	put32(info + 20, (uint32_t)in->module_count);
	put32(info + 24, (uint32_t)pa_of(o, mods));
}

size_t mb1_info_build(const struct mb_info_input *in, uint8_t *buf, size_t size, uint64_t pa)
{
	struct out o = { buf, size, 0, pa, false };

	if (!modules_below_4g(in))
		return 0;
	uint8_t *info = take(&o, MB1_INFO_SIZE, 8);
	if (!info)
		return 0;
	put32(info,
	      MB1_HAS_MEM | MB1_HAS_CMDLINE | MB1_HAS_MODS | MB1_HAS_MMAP | MB1_HAS_LOADER_NAME);
	put32(info + 4, bootmap_lower_kib(in->map, in->map_count));
	put32(info + 8, bootmap_upper_kib(in->map, in->map_count));
	put32(info + 16, string_pa(&o, in->cmdline));
	mb1_mmap(&o, in, info);
	mb1_modules(&o, in, info);
	put32(info + 64, string_pa(&o, in->bootloader));
	return finish(&o);
}
