/* The hypercall interface (include/marrow/hypercall.h, docs/hypercalls.md),
 * served in root mode from the VMCALL exit. */
#ifndef MARROW_CORE_HYPERCALL_H
#define MARROW_CORE_HYPERCALL_H

#include "vmx/exit.h"

enum exit_action hypercall_dispatch(struct exit_ctx *c);

/* Counts an NMI on v: true when it is one marrow sent itself (consumed),
 * false when it belongs to the guest. Root-safe, lock-free. */
bool vcpu_claim_expected_nmi(struct vcpu *v);

/* An MTF exit while MW_HC_PROBE_MTF is armed: recorded, MTF off again;
 * true when it was the probe's. */
bool vcpu_mtf_probe_exit(struct vcpu *v);

#endif
