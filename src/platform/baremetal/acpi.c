#include "acpi.h"

#include "core/mw_string.h"
#include "core/unaligned.h"

#define SDT_HEADER_LEN 36
#define MADT_ENTRIES_OFFSET 44
#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_X2APIC 9
#define MADT_LAPIC_ENABLED (1u << 0)

const char *acpi_status_str(enum acpi_status s)
{
	switch (s) {
	case ACPI_OK:
		return "ok";
	case ACPI_ERR_RSDP:
		return "bad RSDP";
	case ACPI_ERR_ROOT:
		return "bad RSDT/XSDT";
	case ACPI_ERR_NO_MADT:
		return "no MADT";
	case ACPI_ERR_MADT:
		return "malformed MADT";
	}
	return "unknown";
}

static bool checksum_ok(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum == 0;
}

/* Maps a whole system description table: header first, then its length. */
static const uint8_t *map_sdt(uint64_t pa, acpi_map_fn map, void *ctx, const char *sig)
{
	const uint8_t *h = map(pa, SDT_HEADER_LEN, ctx);
	if (!h || memcmp(h, sig, 4) != 0)
		return NULL;
	uint32_t len = rd32(h + 4);
	if (len < SDT_HEADER_LEN)
		return NULL;
	const uint8_t *t = map(pa, len, ctx);
	if (!t || !checksum_ok(t, len))
		return NULL;
	return t;
}

static void add_cpu(struct acpi_cpus *out, uint32_t apic_id)
{
	for (size_t i = 0; i < out->count; i++)
		if (out->apic_ids[i] == apic_id)
			return; /* listed both as xAPIC and x2APIC */
	if (out->count == ACPI_MAX_CPUS) {
		out->truncated = true;
		return;
	}
	out->apic_ids[out->count++] = apic_id;
}

static enum acpi_status parse_madt(const uint8_t *madt, struct acpi_cpus *out)
{
	uint32_t len = rd32(madt + 4);
	if (len < MADT_ENTRIES_OFFSET)
		return ACPI_ERR_MADT;
	out->lapic_address = rd32(madt + SDT_HEADER_LEN);
	for (uint32_t off = MADT_ENTRIES_OFFSET; off + 2 <= len;) {
		uint8_t type = madt[off];
		uint8_t elen = madt[off + 1];
		if (elen < 2 || elen > len - off)
			return ACPI_ERR_MADT;
		if (type == MADT_TYPE_LAPIC && elen >= 8) {
			if (rd32(madt + off + 4) & MADT_LAPIC_ENABLED)
				add_cpu(out, madt[off + 3]);
		} else if (type == MADT_TYPE_X2APIC && elen >= 16) {
			if (rd32(madt + off + 8) & MADT_LAPIC_ENABLED)
				add_cpu(out, rd32(madt + off + 4));
		}
		off += elen;
	}
	return ACPI_OK;
}

enum acpi_status acpi_find_cpus(const void *rsdp_ptr, size_t rsdp_len, acpi_map_fn map, void *ctx,
				struct acpi_cpus *out)
{
	const uint8_t *rsdp = rsdp_ptr;

	memset(out, 0, sizeof(*out));
	if (!rsdp || rsdp_len < 20 || memcmp(rsdp, "RSD PTR ", 8) != 0 || !checksum_ok(rsdp, 20))
		return ACPI_ERR_RSDP;

	bool use_xsdt = false;
	uint64_t root_pa = rd32(rsdp + 16);
	if (rsdp[15] >= 2 && rsdp_len >= 36) {
		uint32_t xlen = rd32(rsdp + 20);
		if (xlen >= 36 && xlen <= rsdp_len && checksum_ok(rsdp, xlen) && rd64(rsdp + 24)) {
			root_pa = rd64(rsdp + 24);
			use_xsdt = true;
		}
	}

	const uint8_t *root = map_sdt(root_pa, map, ctx, use_xsdt ? "XSDT" : "RSDT");
	if (!root)
		return ACPI_ERR_ROOT;
	size_t entry_size = use_xsdt ? 8 : 4;
	uint32_t root_len = rd32(root + 4);
	for (uint32_t off = SDT_HEADER_LEN; off + entry_size <= root_len; off += entry_size) {
		uint64_t pa = use_xsdt ? rd64(root + off) : rd32(root + off);
		const uint8_t *h = map(pa, SDT_HEADER_LEN, ctx);
		if (!h || memcmp(h, "APIC", 4) != 0)
			continue;
		const uint8_t *madt = map_sdt(pa, map, ctx, "APIC");
		if (!madt)
			return ACPI_ERR_MADT;
		return parse_madt(madt, out);
	}
	return ACPI_ERR_NO_MADT;
}

static const uint8_t *rsdp_at(const uint8_t *p, acpi_map_fn map, void *ctx, uint64_t pa,
			      size_t *len, uint32_t *revision)
{
	if (memcmp(p, "RSD PTR ", 8) != 0 || !checksum_ok(p, 20))
		return NULL;
	*revision = p[15];
	*len = 20;
	if (*revision >= 2) {
		uint32_t full = rd32(p + 20);
		const uint8_t *whole = full >= 36 && full <= 4096 ? map(pa, full, ctx) : NULL;
		if (!whole || !checksum_ok(whole, full))
			return NULL;
		*len = full;
		return whole;
	}
	return p;
}

static const void *scan(acpi_map_fn map, void *ctx, uint64_t base, size_t size, size_t *len,
			uint32_t *revision)
{
	const uint8_t *area = map(base, size, ctx);
	if (!area)
		return NULL;
	for (size_t off = 0; off + 20 <= size; off += 16) {
		const uint8_t *r = rsdp_at(area + off, map, ctx, base + off, len, revision);
		if (r)
			return r;
	}
	return NULL;
}

const void *acpi_scan_rsdp(acpi_map_fn map, void *ctx, size_t *len, uint32_t *revision)
{
	const uint8_t *bda = map(0x40e, 2, ctx);
	uint64_t ebda = bda ? (uint64_t)(bda[0] | (bda[1] << 8)) << 4 : 0;
	const void *r = ebda >= 0x80000 && ebda < 0xa0000
				? scan(map, ctx, ebda, 1024, len, revision)
				: NULL;
	return r ? r : scan(map, ctx, 0xe0000, 0x20000, len, revision);
}
