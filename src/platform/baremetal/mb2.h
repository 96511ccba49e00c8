/* Multiboot2 boot information parser (Multiboot2 spec 3.6). Pure: reads a
 * buffer, validates every size against it, touches nothing else. */
#ifndef MARROW_BAREMETAL_MB2_H
#define MARROW_BAREMETAL_MB2_H

#include <stddef.h>
#include <stdint.h>

#define MB2_BOOTLOADER_MAGIC 0x36d76289u
#define MB2_MAX_REGIONS 128
#define MB2_MAX_MODULES 16

/* Memory map entry types (Multiboot2 spec 3.6.8). */
enum mb2_mem_type {
	MB2_MEM_AVAILABLE = 1,
	MB2_MEM_RESERVED = 2,
	MB2_MEM_ACPI_RECLAIMABLE = 3,
	MB2_MEM_NVS = 4,
	MB2_MEM_BADRAM = 5,
};

struct mb2_region {
	uint64_t base;
	uint64_t length;
	uint32_t type;
};

struct mb2_module {
	uint32_t start;
	uint32_t end;
	const char *cmdline;
};

struct mb2_info {
	uint32_t total_size;
	const char *cmdline;	/* NULL when absent */
	const char *bootloader; /* NULL when absent */
	size_t region_count;
	struct mb2_region regions[MB2_MAX_REGIONS];
	size_t module_count;
	struct mb2_module modules[MB2_MAX_MODULES];
	const void *rsdp; /* the RSDP copy inside the info, NULL when absent */
	size_t rsdp_len;
	uint32_t rsdp_revision; /* 0: ACPI 1.0 RSDP, 2: ACPI 2.0+ */
};

enum mb2_status {
	MB2_OK = 0,
	MB2_ERR_TRUNCATED,    /* a size runs past the buffer */
	MB2_ERR_BAD_TAG,      /* a tag too small for its type */
	MB2_ERR_NO_END_TAG,   /* the tags end without an end tag */
	MB2_ERR_UNTERMINATED, /* a string tag without its NUL */
	MB2_ERR_TOO_MANY,     /* more regions or modules than the limits */
	MB2_ERR_BAD_MMAP,     /* memory map entry size too small */
};

const char *mb2_status_str(enum mb2_status s);

/* Parses the boot information at buf, of at most buf_len bytes readable. */
enum mb2_status mb2_parse(const void *buf, size_t buf_len, struct mb2_info *out);

#endif
