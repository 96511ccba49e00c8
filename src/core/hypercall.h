/* The hypercall interface (include/marrow/hypercall.h, docs/hypercalls.md),
 * served in root mode from the VMCALL exit. */
#ifndef MARROW_CORE_HYPERCALL_H
#define MARROW_CORE_HYPERCALL_H

#include "marrow/hypercall.h"
#include "vmx/exit.h"

enum exit_action hypercall_dispatch(struct exit_ctx *c);

/* Copies len bytes (at most GUEST_COPY_MAX) from guest-virtual gva, walked
 * through the current guest's page tables. */
enum mw_hc_status hc_copy_from_guest(uint64_t gva, void *dst, size_t len);

/* Counts an NMI on v: true when it is one marrow sent itself (consumed),
 * false when it belongs to the guest. Root-safe, lock-free. */
bool vcpu_claim_expected_nmi(struct vcpu *v);

/* An MTF exit while MW_HC_PROBE_MTF is armed: recorded, MTF off again;
 * true when it was the probe's. */
bool vcpu_mtf_probe_exit(struct vcpu *v);

#endif
