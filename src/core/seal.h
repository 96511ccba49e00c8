/* marrow's own memory taken out of the guest's reach (docs/boot.md,
 * docs/uefi.md, "Self-protection"). The platform names the ranges marrow
 * owns (code, data, stacks, VMX regions, EPT tables, log rings: everything
 * it allocated); each CPU's EPT then maps them not present, and the
 * guest's accesses are answered as non-existent memory (boot_hidden.h).
 *
 * Two users. A boot-time guest (boot_guest.h) hides them CPU by CPU at
 * its handoff and is then sealed completely (no hypercall at all). UEFI
 * hides them on every CPU at once with MW_HC_SEAL, issued by marrow.efi's
 * ExitBootServices notification, the last marrow code that runs as the
 * guest; after it, only the hypercalls that neither show nor change
 * marrow are served (seal_allows). */
#ifndef MARROW_CORE_SEAL_H
#define MARROW_CORE_SEAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/boot_guest.h"
#include "core/status.h"
#include "vmx/exit.h"

/* Outside root mode, while marrow is active and not sealed: the ranges to
 * hide, page-aligned, not overlapping (the caller keeps the array alive
 * for as long as marrow runs). */
enum mw_status mw_hide_ranges(const struct mw_phys_range *r, unsigned count);

/* Root mode: the ranges leave v's EPT, all or none: every split first
 * (rights unchanged), then the rights, which cannot fail once nothing is
 * left to split. No INVEPT: the caller flushes. */
enum mw_status seal_hide_in(struct vcpu *v);

/* Root mode: gpa lies in a hidden range. */
bool seal_is_hidden(uint64_t gpa);

/* The VMCALL that seals, an internal function outside the hypercall ABI
 * (include/marrow/hypercall.h), for the last marrow code that runs as the
 * guest: RAX = MW_HC_SEAL, RCX = the key. It hides the ranges in every
 * CPU's EPT and refuses from then on every hypercall but PING, INFO and
 * STATS. The code that issued it is marrow's own and now hidden, so on
 * success the guest does not continue after the VMCALL but at the return
 * address on top of its stack, popped, as RET would (RAX = MW_HC_OK); on
 * failure after the VMCALL, RAX = MW_HC_ERR_BAD_ARGUMENT and RDX = the
 * enum mw_status, nothing hidden. Not for a boot-time guest (it has its
 * own handoff). */
#define MW_HC_SEAL 0x80000002u
enum exit_action seal_hypercall(struct exit_ctx *c);
/* After MW_HC_SEAL: may function fn still be served? */
bool seal_allows(uint64_t fn);
/* At the end of every exit: a seal issued on another CPU changed this
 * CPU's EPT; its cached translations go. */
void seal_flush_if_asked(struct vcpu *v);

#endif
