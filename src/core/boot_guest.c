/* Handing every CPU's guest a new start (boot_guest.h). */
#include "boot_guest.h"

#include "core/boot_apic.h"
#include "core/hypercall.h"
#include "core/marrow.h"
#include "core/seal.h"
#include "core/vcpu_launch.h"
#include "ept/ept.h"
#include "marrow/hypercall.h"
#include "platform/platform.h"
#include "vmx/exit.h"

enum boot_op { BOOT_OP_PARK = 1, BOOT_OP_START = 2 };

static bool can_hand_off(void)
{
	return mw.ctl.unrestricted_guest && (mw.caps.misc & VMX_MISC_ACTIVITY_WAIT_SIPI);
}

enum mw_status mw_boot_check(struct mw_error *err)
{
	const struct mw_boot_config *b = mw.cfg.boot;

	if (!mw.active || !b) {
		mw_error_set(err, MW_ERR_BAD_CONFIG, -1, MW_STEP_NONE,
			     "marrow is not running for a boot-time guest");
		return err->status;
	}
	if (!can_hand_off()) {
		mw_error_set(err, MW_ERR_UNSUPPORTED, -1, MW_STEP_CAPS,
			     "a boot-time guest needs unrestricted guest and the wait-for-SIPI "
			     "activity state");
		return err->status;
	}
	for (unsigned i = 0; i < b->hidden_count; i++) {
		const struct mw_phys_range *r = &b->hidden[i];
		if (((r->base | r->end) & 0xfff) || r->end <= r->base || r->end > mw.ept_limit) {
			mw_error_set(
				err, MW_ERR_BAD_CONFIG, -1, MW_STEP_NONE,
				"hidden range %llx-%llx is not page-aligned inside the EPT map",
				(unsigned long long)r->base, (unsigned long long)r->end);
			return err->status;
		}
	}
	/* The same ranges are what every handoff hides (core/seal.h). */
	if (mw_hide_ranges(b->hidden, b->hidden_count) != MW_OK) {
		mw_error_set(err, MW_ERR_BAD_CONFIG, -1, MW_STEP_NONE,
			     "marrow's memory cannot be hidden any more");
		return err->status;
	}
	return MW_OK;
}

static enum mw_status handoff_failed(enum mw_hc_status hc, uint64_t detail, const char *what,
				     struct mw_error *err)
{
	enum mw_status s =
		hc == MW_HC_ERR_BAD_ARGUMENT ? (enum mw_status)detail : MW_ERR_BAD_CONFIG;
	mw_error_set(err, s, (int)platform_cpu_index(), MW_STEP_NONE, "%s", what);
	return s;
}

enum mw_status mw_boot_park_this_cpu(struct mw_error *err)
{
	struct mw_hc_result r =
		mw_vmcall(MW_HC_BOOT_HANDOFF, mw.cfg.hypercall_key, BOOT_OP_PARK, 0, 0);
	return handoff_failed((enum mw_hc_status)r.status, r.rdx, "parking the CPU", err);
}

unsigned mw_boot_parked_cpus(void)
{
	return __atomic_load_n(&mw.boot_parked, __ATOMIC_ACQUIRE);
}

enum mw_status mw_boot_start(const struct mw_boot_entry *e, struct mw_error *err)
{
	struct mw_hc_result r = mw_vmcall(MW_HC_BOOT_HANDOFF, mw.cfg.hypercall_key, BOOT_OP_START,
					  (uint64_t)(uintptr_t)e, 0);
	return handoff_failed((enum mw_hc_status)r.status, r.rdx, "starting the guest kernel", err);
}

/* ---- root mode ---- */

/* marrow's memory leaves this CPU's guest-physical space (core/seal.h). */
static enum mw_status hide_marrow(struct vcpu *v)
{
	enum mw_status s = seal_hide_in(v);
	if (s == MW_OK)
		vcpu_ept_flush(v);
	return s;
}

static enum mw_status check_handoff(struct exit_ctx *c, uint64_t op, uint64_t gva,
				    struct mw_boot_entry *e)
{
	if (!mw.cfg.boot || __atomic_load_n(&mw.sealed, __ATOMIC_ACQUIRE) || c->v->handed_off)
		return MW_ERR_BAD_CONFIG;
	if (!can_hand_off())
		return MW_ERR_UNSUPPORTED;
	if (op == BOOT_OP_PARK)
		return MW_OK;
	if (op != BOOT_OP_START)
		return MW_ERR_BAD_ARGUMENT;
	/* The guest kernel starts last: no AP may still run marrow's code
	 * with marrow's memory mapped once the kernel runs. */
	if (mw_boot_parked_cpus() != mw.cpu_count - 1)
		return MW_ERR_BUSY;
	return hc_copy_from_guest(gva, e, sizeof(*e)) == MW_HC_OK ? MW_OK : MW_ERR_BAD_ARGUMENT;
}

static void park(struct exit_ctx *c)
{
	boot_apic_init_cpu(c);
	__atomic_fetch_add(&mw.boot_parked, 1, __ATOMIC_RELEASE);
}

static void start(struct exit_ctx *c, const struct mw_boot_entry *e)
{
	struct guest_regs *r = c->regs;

	guest_state_entry32(c, &e->state);
	vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	c->v->pending_nmis = 0;
	*r = (struct guest_regs){ .rax = e->eax,
				  .rbx = e->ebx,
				  .rcx = e->ecx,
				  .rdx = e->edx,
				  .rsi = e->esi,
				  .rdi = e->edi,
				  .rbp = e->ebp };
	__atomic_store_n(&mw.sealed, true, __ATOMIC_RELEASE);
}

enum exit_action boot_handoff(struct exit_ctx *c, uint64_t op, uint64_t entry_gva)
{
	struct mw_boot_entry e;
	enum mw_status s = check_handoff(c, op, entry_gva, &e);

	if (s == MW_OK)
		s = hide_marrow(c->v);
	if (s != MW_OK) {
		c->regs->rax = MW_HC_ERR_BAD_ARGUMENT;
		c->regs->rdx = s;
		return EXIT_ADVANCE;
	}
	c->v->handed_off = true;
	boot_apic_track(c->v);
	if (op == BOOT_OP_PARK)
		park(c);
	else
		start(c, &e);
	return EXIT_RESUME;
}
