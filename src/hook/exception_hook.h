/* Exception interception: a vector routed to a root-mode handler through
 * the exception bitmap (SDM 3C 25.6.3), the capability an IDT hook gives,
 * without touching the guest's IDT. What the handler does not take is
 * reflected to the guest unchanged. */
#ifndef MARROW_HOOK_EXCEPTION_HOOK_H
#define MARROW_HOOK_EXCEPTION_HOOK_H

#include <stdint.h>

#include "core/status.h"

struct vcpu;

enum mw_exception_verdict {
	MW_EXC_REFLECT, /* deliver it to the guest as it came */
	MW_EXC_SKIP,	/* handled: resume after the instruction (INT3, INTO) */
	MW_EXC_RETRY,	/* handled: resume at the same instruction */
};

struct mw_exception_event {
	unsigned vector;
	uint64_t error_code;	/* when the exception has one */
	uint64_t qualification; /* #PF: the address; #DB: DR6 bits */
	uint64_t rip;
};

/* Runs in VMX root mode: root-safe code only. */
typedef enum mw_exception_verdict (*mw_exception_handler)(struct vcpu *v,
							  const struct mw_exception_event *e);

/* One handler per vector (0-31, not 2: NMIs are marrow's own). */
enum mw_status mw_exception_hook(unsigned vector, mw_exception_handler handler);
enum mw_status mw_exception_unhook(unsigned vector);

/* Every exception hook goes (marrow is leaving). */
void exception_hooks_remove_all(void);

/* Root mode: the handler's verdict, or MW_EXC_REFLECT when none. */
enum mw_exception_verdict exception_hook_dispatch(struct vcpu *v,
						  const struct mw_exception_event *e);

#endif
