/* Just enough ACPI to find the CPUs: RSDP -> RSDT/XSDT -> MADT, with every
 * checksum and length checked (ACPI 6.4, 5.2). Physical memory is reached
 * through a caller-supplied mapper, so the parser is unit-tested on the host
 * with synthetic tables. */
#ifndef MARROW_BAREMETAL_ACPI_H
#define MARROW_BAREMETAL_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS 64

/* Returns a pointer to `len` readable bytes at physical address pa, or NULL
 * when that memory cannot be read. */
typedef const void *(*acpi_map_fn)(uint64_t pa, size_t len, void *ctx);

struct acpi_cpus {
	size_t count;
	uint32_t apic_ids[ACPI_MAX_CPUS];
	uint64_t lapic_address; /* from the MADT */
	bool truncated;		/* more enabled CPUs than ACPI_MAX_CPUS */
};

enum acpi_status {
	ACPI_OK = 0,
	ACPI_ERR_RSDP, /* bad RSDP signature or checksum */
	ACPI_ERR_ROOT, /* RSDT/XSDT unreadable, bad signature or checksum */
	ACPI_ERR_NO_MADT,
	ACPI_ERR_MADT, /* MADT unreadable or malformed */
};

const char *acpi_status_str(enum acpi_status s);

/* Searches for the RSDP where a legacy BIOS leaves it (ACPI 6.4, 5.2.5.1):
 * the first KiB of the EBDA (its segment at 40EH), then E0000H-FFFFFH, on
 * 16-byte boundaries, signature and checksum checked (the extended checksum
 * too for revision 2+). For kernels a multiboot loader starts, whose boot
 * information has no RSDP. Returns NULL when there is none; *len is 20 or
 * the table's length, *revision its revision. */
const void *acpi_scan_rsdp(acpi_map_fn map, void *ctx, size_t *len, uint32_t *revision);

/* Lists the enabled processors' APIC IDs from the MADT, in MADT order. */
enum acpi_status acpi_find_cpus(const void *rsdp, size_t rsdp_len, acpi_map_fn map, void *ctx,
				struct acpi_cpus *out);

#endif
