#ifndef MARROW_CORE_VCPU_LAUNCH_H
#define MARROW_CORE_VCPU_LAUNCH_H

#include <stdbool.h>

struct vcpu;

/* On the calling CPU: VMXON, VMCLEAR, VMPTRLD, VMCS setup, VMLAUNCH. On
 * success returns as the guest with v->virtualized set; on failure the CPU
 * is back as it was and v->launch_error says where and why. */
void vcpu_launch(struct vcpu *v);

/* On the calling CPU: leaves VMX operation through the devirtualize
 * hypercall. True when the CPU is no longer virtualized. */
bool vcpu_leave(const struct vcpu *v);

/* Root-safe: INVEPT of v's own EPT (single-context where the CPU has it). */
void vcpu_ept_flush(const struct vcpu *v);
/* Root-safe: copies v's EPT footprint into its statistics. */
void vcpu_fill_ept_stats(struct vcpu *v);

#endif
