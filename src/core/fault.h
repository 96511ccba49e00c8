/* Fault injection for tests: any one allocation marrow makes while it
 * virtualizes, or any one VMX instruction a CPU runs while it launches, can
 * be made to fail (struct mw_config: fault_alloc, fault_cpu +
 * fault_vmx_insn), so that a test can enumerate every point and check that
 * each failure is reported, rolled back and leaks nothing. Off, each check
 * is a compare. */
#ifndef MARROW_CORE_FAULT_H
#define MARROW_CORE_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vcpu;

/* Allocation points, counted from 1 in the order mw_virtualize_all makes
 * them (all on the calling CPU). */
void fault_alloc_reset(void);
/* The point that was made to fail, 0 if none. */
uint32_t fault_alloc_hit(void);
/* Allocation points passed so far. */
uint32_t fault_alloc_count(void);
void *mw_alloc_pages(size_t count);
void *mw_map_mmio(uint64_t pa, size_t len);

/* Before each VMX instruction of v's launch: true when this one must fail
 * (v is cfg.fault_cpu and this is its instruction cfg.fault_vmx_insn,
 * counted from 1). */
bool fault_vmx_point(struct vcpu *v);

#endif
