/* Offsets in struct vcpu that vmx_entry.S uses through GS (root mode's GS
 * base is the CPU's struct vcpu). vcpu.h checks each with _Static_assert,
 * so the assembly cannot drift from the structure. */
#ifndef MARROW_CORE_VCPU_ASM_H
#define MARROW_CORE_VCPU_ASM_H

#define VCPU_FAST_PATH 8     /* uint32_t: nonzero, the stub may handle CPUID */
#define VCPU_SCRATCH 12	     /* uint32_t: the fast path's CPUID leaf */
#define VCPU_STATS 16	     /* struct mw_cpu_stats */
#define VCPU_EXITS_TOTAL 24  /* stats.exits_total */
#define VCPU_EXITS_CPUID 112 /* stats.exits[EXIT_CPUID] */

#endif
