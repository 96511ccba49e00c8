/* Per-CPU GDT and 64-bit TSS (SDM 3A 3.4.5, 7.7). */
#ifndef MARROW_BAREMETAL_GDT_H
#define MARROW_BAREMETAL_GDT_H

#include <stdint.h>

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};

/* IST slots (1-based, as the IDT gate holds them). */
#define IST_DOUBLE_FAULT 1
#define IST_NMI 2
#define IST_MACHINE_CHECK 3
#define IST_COUNT 3

#define GDT_ENTRIES 8

struct cpu_tables {
	uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
	struct tss64 tss __attribute__((aligned(16)));
};

/* Builds the CPU's GDT and TSS, loads them and reloads every segment
 * register. ist_stack_tops[i] is the top of IST stack i+1; kernel_stack_top
 * is RSP0 (the stack ring-3 code traps onto). */
void gdt_load_cpu(struct cpu_tables *t, const uint64_t ist_stack_tops[IST_COUNT],
		  uint64_t kernel_stack_top);

#endif
