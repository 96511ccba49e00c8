/* MSR hooks: a policy per MSR for the guest's RDMSR and WRMSR (the real
 * MSR, a shadow value, dropped, or #GP), with counts. marrow's own MSRs
 * (IA32_FEATURE_CONTROL, the VMX capability MSRs) cannot be hooked. */
#ifndef MARROW_HOOK_MSR_HOOK_H
#define MARROW_HOOK_MSR_HOOK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

enum mw_msr_read_policy {
	MW_MSR_READ_PASS,   /* the real MSR */
	MW_MSR_READ_SHADOW, /* the hook's shadow value */
};

enum mw_msr_write_policy {
	MW_MSR_WRITE_PASS,   /* to the real MSR */
	MW_MSR_WRITE_SHADOW, /* into the shadow only */
	MW_MSR_WRITE_IGNORE, /* dropped, silently */
	MW_MSR_WRITE_GP,     /* refused with #GP, as for a read-only MSR */
};

#define MW_MSR_HOOKS_MAX 16

struct mw_msr_hook {
	uint32_t msr;
	enum mw_msr_read_policy read;
	enum mw_msr_write_policy write;
	volatile uint64_t shadow;
	volatile uint64_t reads, writes; /* the guest's, counted */
	/* Every CPU's real MSR is kept at `real` (hook modules: LSTAR). */
	volatile bool force_real;
	volatile uint64_t real;
	volatile bool live;
};

/* Hooks msr on every CPU. The MSR must exist (RDMSR of it must not fault
 * here). shadow is the first shadow value. */
enum mw_status mw_msr_hook(uint32_t msr, enum mw_msr_read_policy read,
			   enum mw_msr_write_policy write, uint64_t shadow,
			   struct mw_msr_hook **out, struct mw_error *err);
/* Unhooks; a forced MSR gets the guest's (shadow) value on every CPU. */
enum mw_status mw_msr_unhook(struct mw_msr_hook *h);

/* Every MSR hook goes (marrow is leaving). */
void msr_hooks_remove_all(void);

/* For hook modules: keeps the real MSR of every CPU at value (the guest
 * still sees the hook's policy). */
void msr_hook_force_real(struct mw_msr_hook *h, uint64_t value);

/* Root mode. What to do with the guest's access of msr. */
enum msr_hook_action {
	MSR_HOOK_NONE, /* not hooked */
	MSR_HOOK_PASS, /* access the real MSR */
	MSR_HOOK_DONE, /* *value holds the answer (read) / nothing to do (write) */
	MSR_HOOK_GP,   /* the guest gets #GP */
};
enum msr_hook_action msr_hook_read(uint32_t msr, uint64_t *value);
enum msr_hook_action msr_hook_write(uint32_t msr, uint64_t value);
/* Root mode: loads the forced real values into this CPU's MSRs
 * (MW_HC_SYNC_CONTROLS) ... */
void msr_hooks_sync(void);
/* ... and, when the CPU leaves VMX operation, the guest's values. */
void msr_hooks_restore(void);

#endif
