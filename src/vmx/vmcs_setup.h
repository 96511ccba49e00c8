#ifndef MARROW_VMX_VMCS_SETUP_H
#define MARROW_VMX_VMCS_SETUP_H

#include <stdint.h>

#include "vmx_insn.h"

struct vcpu;

/* Writes every VMCS field of the current VMCS from the live CPU (guest),
 * marrow's exit path (host) and the chosen controls. On failure returns the
 * VMWRITE's result and the field that failed. */
enum vmx_result vmcs_setup(struct vcpu *v, uint32_t *failed_field);

/* The CR0/CR4 bits marrow owns (guest/host masks). */
uint64_t vmx_cr0_mask(void);
uint64_t vmx_cr4_mask(void);

#endif
