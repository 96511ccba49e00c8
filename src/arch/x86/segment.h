/* Segment descriptors as the VMCS wants them: base, limit (expanded for
 * granularity) and access rights in the VMCS layout (SDM 3C 25.4.1, table
 * 25-2), read from a descriptor table in memory. Pure: the caller passes the
 * table, so it is unit-tested on the host. */
#ifndef MARROW_ARCH_X86_SEGMENT_H
#define MARROW_ARCH_X86_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

/* Access-rights bits (VMCS layout: descriptor bits 47:40 and 55:52). */
#define SEG_AR_TYPE_MASK 0xfu
#define SEG_AR_ACCESSED (1u << 0)
#define SEG_AR_S (1u << 4) /* code or data, not system */
#define SEG_AR_DPL_SHIFT 5
#define SEG_AR_P (1u << 7)
#define SEG_AR_L (1u << 13)
#define SEG_AR_DB (1u << 14)
#define SEG_AR_G (1u << 15)
#define SEG_AR_UNUSABLE (1u << 16)

#define SEG_TYPE_LDT 0x2u
#define SEG_TYPE_TSS64_AVAILABLE 0x9u
#define SEG_TYPE_TSS64_BUSY 0xbu

struct seg_desc {
	uint64_t base;
	uint32_t limit;
	uint32_t ar;
};

struct desc_table {
	const void *base; /* readable copy or mapping of the table */
	uint32_t limit;	  /* as in GDTR/LDTR: last valid byte offset */
};

/* Decodes selector sel from gdt (or ldt when the selector's TI bit is set).
 * A null selector, one beyond the table's limit, or a non-present
 * descriptor comes back marked unusable, with the rest zero. System
 * descriptors (TSS, LDT) are 16 bytes in IA-32e mode and give a 64-bit
 * base. Returns false when the selector is unusable. */
bool seg_decode(const struct desc_table *gdt, const struct desc_table *ldt, uint16_t sel,
		struct seg_desc *out);

#endif
