/* Per-CPU data of the bare-metal kernel. GS base points at the CPU's own
 * struct bm_cpu, whose first field points at itself, so this_cpu() is one
 * load. */
#ifndef MARROW_BAREMETAL_PERCPU_H
#define MARROW_BAREMETAL_PERCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "boot_layout.h"
#include "gdt.h"

#define BM_MAX_CPUS 64

struct bm_call;
struct catch_frame;
struct trap_frame;

struct bm_cpu {
	struct bm_cpu *self; /* must stay first: this_cpu() reads gs:0 */
	unsigned index;
	uint32_t apic_id;
	volatile bool online;
	uint64_t stack_top;
	uint64_t user_trap_stack_top;	/* RSP0: where traps from ring 3 land */
	struct bm_call *volatile call;	/* platform_on_each_cpu mailbox */
	struct bm_call *volatile async; /* smp_start_async mailbox */
	/* The frame of the code the wake IPI interrupted while this CPU runs
	 * a call from it (NULL: the call runs from the idle loop). */
	struct trap_frame *volatile interrupted;
	volatile bool in_async;		     /* running an smp_start_async job */
	struct catch_frame *catch;	     /* armed by catch_run() */
	volatile uint32_t last_fault_vector; /* set by extable fixups */
	struct cpu_tables tables;	     /* this CPU's GDT and TSS */
};

extern struct bm_cpu bm_cpus[BM_MAX_CPUS];
extern unsigned bm_cpu_count;

static inline struct bm_cpu *this_cpu(void)
{
	struct bm_cpu *c;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

/* Points GS base at the CPU's data; done first on every CPU. */
void percpu_install(struct bm_cpu *cpu);

#endif
