/* marrow as a boot-time hypervisor (docs/boot.md). The platform loads the
 * next kernel, virtualizes every CPU with mw_config.boot set, and then
 * hands each CPU's guest a new start: every AP parks, its guest becoming a
 * processor in wait-for-SIPI as after INIT (SDM 3A 10.1.1), and the boot
 * CPU's guest starts the kernel at its entry point, in the flat 32-bit
 * protected mode the boot protocols specify. From its handoff on, a CPU's
 * EPT maps marrow's memory (the ranges in mw_boot_config) not present; the
 * guest kernel owns everything else from its first instruction.
 *
 * Once the boot CPU has handed off, marrow is sealed: no hypercall is
 * served any more (every VMCALL raises #UD, as without marrow), so nothing
 * the guest does can devirtualize a CPU or lift the protection. */
#ifndef MARROW_CORE_BOOT_GUEST_H
#define MARROW_CORE_BOOT_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "vmx/guest_state.h"

#define MW_BOOT_MAX_HIDDEN 4

/* A physical range [base, end). */
struct mw_phys_range {
	uint64_t base, end;
};

struct mw_boot_config {
	/* marrow's own memory, page-aligned ranges: code, data, stacks, VMX
	 * regions, EPT tables, everything it allocated. */
	struct mw_phys_range hidden[MW_BOOT_MAX_HIDDEN];
	unsigned hidden_count;
};

/* The boot CPU's start: segments and entry point, and the GPRs the boot
 * protocol fills (EAX/EBX for multiboot, ESI for Linux). */
struct mw_boot_entry {
	struct guest_entry32 state;
	uint32_t eax, ebx, ecx, edx, esi, edi, ebp;
};

/* After mw_virtualize_all with cfg.boot set: can the CPUs be handed off
 * (unrestricted guest, the wait-for-SIPI activity state, sane ranges)? */
enum mw_status mw_boot_check(struct mw_error *err);

/* On an AP: parks it. Returns only on failure. */
enum mw_status mw_boot_park_this_cpu(struct mw_error *err);
/* APs parked so far. */
unsigned mw_boot_parked_cpus(void);

/* On the boot CPU, once every AP has parked: starts the guest kernel and
 * seals marrow. Returns only on failure. */
enum mw_status mw_boot_start(const struct mw_boot_entry *e, struct mw_error *err);

/* Root mode: the VMCALL behind both, an internal function that is not part
 * of the hypercall ABI (include/marrow/hypercall.h) and is refused unless
 * marrow was loaded for a boot-time guest and is not sealed yet. */
#define MW_HC_BOOT_HANDOFF 0x80000001u

struct exit_ctx;
enum exit_action boot_handoff(struct exit_ctx *c, uint64_t op, uint64_t entry_gva);

#endif
