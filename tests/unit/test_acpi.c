/* Finding CPUs in the MADT, through RSDT or XSDT, with checksums and lengths
 * checked, on synthetic tables in a fake physical memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "src/platform/baremetal/acpi.h"

static uint8_t mem[0x4000];

static const void *map_fake(uint64_t pa, size_t len, void *ctx)
{
	(void)ctx;
	if (pa >= sizeof(mem) || len > sizeof(mem) - pa)
		return NULL;
	return mem + pa;
}

static void fix_checksum(uint8_t *p, size_t len, size_t at)
{
	uint8_t sum = 0;
	p[at] = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	p[at] = (uint8_t)(0 - sum);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static size_t sdt(uint64_t pa, const char *sig, size_t len)
{
	memcpy(mem + pa, sig, 4);
	put32(mem + pa + 4, (uint32_t)len);
	return len;
}

/* MADT at 0x2000 with: LAPIC id 0 enabled, LAPIC id 1 enabled, LAPIC id 5
 * disabled, I/O APIC, x2APIC id 300 enabled, x2APIC id 1 (duplicate). */
static size_t build_madt(void)
{
	uint8_t *m = mem + 0x2000;
	size_t off = 44;
	const uint8_t lapics[3][8] = { { 0, 8, 0, 0, 1, 0, 0, 0 },
				       { 0, 8, 1, 1, 1, 0, 0, 0 },
				       { 0, 8, 2, 5, 0, 0, 0, 0 } };
	for (int i = 0; i < 3; i++, off += 8)
		memcpy(m + off, lapics[i], 8);
	const uint8_t ioapic[12] = { 1, 12, 0, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0 };
	memcpy(m + off, ioapic, 12);
	off += 12;
	uint8_t x2[16] = { 9, 16 };
	put32(x2 + 4, 300);
	put32(x2 + 8, 1);
	memcpy(m + off, x2, 16);
	off += 16;
	put32(x2 + 4, 1);
	memcpy(m + off, x2, 16);
	off += 16;
	sdt(0x2000, "APIC", off);
	put32(m + 36, 0xfee00000);
	fix_checksum(m, off, 9);
	return off;
}

static void build_rsdt(void)
{
	uint8_t *r = mem + 0x1000;
	sdt(0x1000, "FACP", 36); /* another table first, at 0x3000 */
	memcpy(mem + 0x3000, "FACP", 4);
	put32(mem + 0x3004, 36);
	fix_checksum(mem + 0x3000, 36, 9);
	sdt(0x1000, "RSDT", 44);
	put32(r + 36, 0x3000);
	put32(r + 40, 0x2000);
	fix_checksum(r, 44, 9);
}

static void build_rsdp(uint8_t *rsdp, int revision, uint64_t xsdt)
{
	memset(rsdp, 0, 36);
	memcpy(rsdp, "RSD PTR ", 8);
	rsdp[15] = (uint8_t)revision;
	put32(rsdp + 16, 0x1000);
	fix_checksum(rsdp, 20, 8);
	if (revision >= 2) {
		put32(rsdp + 20, 36);
		put64(rsdp + 24, xsdt);
		fix_checksum(rsdp, 36, 32);
	}
}

static int setup(void **state)
{
	(void)state;
	memset(mem, 0, sizeof(mem));
	build_madt();
	build_rsdt();
	return 0;
}

static void test_rsdt_path(void **state)
{
	(void)state;
	uint8_t rsdp[36];
	struct acpi_cpus cpus;
	build_rsdp(rsdp, 0, 0);
	assert_int_equal(acpi_find_cpus(rsdp, 20, map_fake, NULL, &cpus), ACPI_OK);
	assert_int_equal(cpus.count, 3); /* 0, 1, 300; 5 disabled; 1 listed twice */
	assert_int_equal(cpus.apic_ids[0], 0);
	assert_int_equal(cpus.apic_ids[1], 1);
	assert_int_equal(cpus.apic_ids[2], 300);
	assert_int_equal(cpus.lapic_address, 0xfee00000);
	assert_false(cpus.truncated);
}

static void test_xsdt_path(void **state)
{
	(void)state;
	uint8_t rsdp[36];
	struct acpi_cpus cpus;
	/* XSDT at 0x1800 pointing at the MADT; the RSDT is then not used. */
	sdt(0x1800, "XSDT", 44);
	put64(mem + 0x1800 + 36, 0x2000);
	fix_checksum(mem + 0x1800, 44, 9);
	memset(mem + 0x1000, 0, 64); /* break the RSDT to prove it is not read */
	build_rsdp(rsdp, 2, 0x1800);
	assert_int_equal(acpi_find_cpus(rsdp, 36, map_fake, NULL, &cpus), ACPI_OK);
	assert_int_equal(cpus.count, 3);
}

static void test_bad_checksums(void **state)
{
	(void)state;
	uint8_t rsdp[36];
	struct acpi_cpus cpus;
	build_rsdp(rsdp, 0, 0);
	rsdp[0] = 'X';
	assert_int_equal(acpi_find_cpus(rsdp, 20, map_fake, NULL, &cpus), ACPI_ERR_RSDP);
	build_rsdp(rsdp, 0, 0);
	rsdp[19] ^= 1;
	assert_int_equal(acpi_find_cpus(rsdp, 20, map_fake, NULL, &cpus), ACPI_ERR_RSDP);

	build_rsdp(rsdp, 0, 0);
	mem[0x1000 + 20] ^= 1; /* RSDT checksum */
	assert_int_equal(acpi_find_cpus(rsdp, 20, map_fake, NULL, &cpus), ACPI_ERR_ROOT);
	build_rsdt();
	mem[0x2000 + 50] ^= 1; /* MADT checksum */
	assert_int_equal(acpi_find_cpus(rsdp, 20, map_fake, NULL, &cpus), ACPI_ERR_MADT);
	assert_int_equal(acpi_find_cpus(NULL, 0, map_fake, NULL, &cpus), ACPI_ERR_RSDP);
}

static void test_malformed_madt_entries(void **state)
{
	(void)state;
	uint8_t rsdp[36];
	struct acpi_cpus cpus;
	build_rsdp(rsdp, 0, 0);
	mem[0x2000 + 44 + 1] = 0; /* a zero-length entry would loop forever */
	fix_checksum(mem + 0x2000, 44 + 3 * 8 + 12 + 32, 9);
	assert_int_equal(acpi_find_cpus(rsdp, 20, map_fake, NULL, &cpus), ACPI_ERR_MADT);

	setup(NULL);
	mem[0x2000 + 44 + 1] = 200; /* an entry running past the table */
	fix_checksum(mem + 0x2000, 44 + 3 * 8 + 12 + 32, 9);
	assert_int_equal(acpi_find_cpus(rsdp, 20, map_fake, NULL, &cpus), ACPI_ERR_MADT);
}

static void test_no_madt_and_unmapped_tables(void **state)
{
	(void)state;
	uint8_t rsdp[36];
	struct acpi_cpus cpus;
	build_rsdp(rsdp, 0, 0);
	memcpy(mem + 0x2000, "SSDT", 4);
	assert_int_equal(acpi_find_cpus(rsdp, 20, map_fake, NULL, &cpus), ACPI_ERR_NO_MADT);

	/* An RSDT entry pointing outside readable memory is skipped. */
	setup(NULL);
	put32(mem + 0x1000 + 36, 0x7fff0000);
	fix_checksum(mem + 0x1000, 44, 9);
	assert_int_equal(acpi_find_cpus(rsdp, 20, map_fake, NULL, &cpus), ACPI_OK);
	assert_string_equal(acpi_status_str(ACPI_ERR_NO_MADT), "no MADT");
}

/* The legacy BIOS areas, 0 to 1 MiB, for the RSDP scan. */
static uint8_t low[0x100000];

static const void *map_low(uint64_t pa, size_t len, void *ctx)
{
	(void)ctx;
	if (pa >= sizeof(low) || len > sizeof(low) - pa)
		return NULL;
	return low + pa;
}

static void test_rsdp_scan(void **state)
{
	(void)state;
	size_t len;
	uint32_t rev;

	memset(low, 0, sizeof(low));
	assert_null(acpi_scan_rsdp(map_low, NULL, &len, &rev));
	/* In the BIOS area, on a 16-byte boundary, after a decoy with a bad
	 * checksum. */
	build_rsdp(low + 0xf0010, 2, 0x2000);
	memcpy(low + 0xe0100, "RSD PTR ", 8);
	const uint8_t *r = acpi_scan_rsdp(map_low, NULL, &len, &rev);
	assert_ptr_equal(r, low + 0xf0010);
	assert_int_equal(len, 36);
	assert_int_equal(rev, 2);
	/* The EBDA (segment at 40EH) comes first. */
	low[0x40e] = 0x00;
	low[0x40f] = 0x9f; /* 9F000H */
	build_rsdp(low + 0x9f020, 0, 0);
	r = acpi_scan_rsdp(map_low, NULL, &len, &rev);
	assert_ptr_equal(r, low + 0x9f020);
	assert_int_equal(len, 20);
	assert_int_equal(rev, 0);
	/* A revision-2 RSDP whose extended checksum is wrong is no RSDP. */
	low[0x9f020] = 0;
	low[0xf0010 + 32] ^= 0xff;
	assert_null(acpi_scan_rsdp(map_low, NULL, &len, &rev));
	/* Nor is one that is not on a 16-byte boundary. */
	build_rsdp(low + 0xe0008, 0, 0);
	assert_null(acpi_scan_rsdp(map_low, NULL, &len, &rev));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rsdt_path, setup),
		cmocka_unit_test_setup(test_xsdt_path, setup),
		cmocka_unit_test_setup(test_bad_checksums, setup),
		cmocka_unit_test_setup(test_malformed_madt_entries, setup),
		cmocka_unit_test_setup(test_no_madt_and_unmapped_tables, setup),
		cmocka_unit_test(test_rsdp_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
