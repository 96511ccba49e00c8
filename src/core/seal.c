/* Hiding marrow's memory from the guest (seal.h). */
#include "seal.h"

#include "arch/x86/intrin.h"
#include "core/apic_root.h"
#include "core/hypercall.h"
#include "core/ipi.h"
#include "core/marrow.h"
#include "core/root_log.h"
#include "core/vcpu_launch.h"
#include "ept/ept.h"
#include "marrow/hypercall.h"

/* Waiting for the other CPUs' flushes: a bound, never a hang (an NMI takes
 * a few hundred instructions to arrive). */
#define FLUSH_POLLS 1000000

enum mw_status mw_hide_ranges(const struct mw_phys_range *r, unsigned count)
{
	if (!mw.active || mw.sealed || __atomic_load_n(&mw.memory_sealed, __ATOMIC_ACQUIRE))
		return MW_ERR_BAD_CONFIG;
	for (unsigned i = 0; i < count; i++)
		if (((r[i].base | r[i].end) & 0xfff) || r[i].end <= r[i].base ||
		    r[i].end > mw.ept_limit)
			return MW_ERR_BAD_ARGUMENT;
	mw.hidden = r;
	/* The count last: root mode reads the list only up to it. */
	__atomic_store_n(&mw.hidden_count, count, __ATOMIC_RELEASE);
	return MW_OK;
}

bool seal_is_hidden(uint64_t gpa)
{
	for (unsigned i = 0; i < mw.hidden_count; i++)
		if (gpa >= mw.hidden[i].base && gpa < mw.hidden[i].end)
			return true;
	return false;
}

static enum mw_status split_all(struct vcpu *v)
{
	for (unsigned i = 0; i < mw.hidden_count; i++) {
		const struct mw_phys_range *r = &mw.hidden[i];
		enum mw_status s = ept_set_rights(v->ept, r->base, r->end - r->base, EPT_RWX);
		if (s != MW_OK)
			return s;
	}
	return MW_OK;
}

static void clear_all(struct vcpu *v)
{
	for (unsigned i = 0; i < mw.hidden_count; i++) {
		const struct mw_phys_range *r = &mw.hidden[i];
		ept_set_rights(v->ept, r->base, r->end - r->base, 0);
	}
}

enum mw_status seal_hide_in(struct vcpu *v)
{
	/* (The APIC page is read-only since the EPT was built, when INITs
	 * are emulated: marrow.c; it is never marrow's memory.) */
	enum mw_status s = split_all(v);
	if (s == MW_OK)
		clear_all(v);
	return s;
}

bool seal_allows(uint64_t fn)
{
	/* Answers that show neither marrow's memory nor its log and change
	 * nothing: a sealed marrow can still be found and counted. */
	return fn == MW_HC_PING || fn == MW_HC_INFO || fn == MW_HC_STATS;
}

void seal_flush_if_asked(struct vcpu *v)
{
	if (!__atomic_load_n(&v->ept_flush_pending, __ATOMIC_ACQUIRE))
		return;
	vcpu_ept_flush(v);
	__atomic_store_n(&v->ept_flush_pending, false, __ATOMIC_RELEASE);
}

/* Another CPU's cached translations of the pages just hidden may still be
 * used until that CPU executes INVEPT itself (SDM 3C 28.4.3.1: INVEPT acts
 * on the logical processor that executes it). Each one flushes at the end
 * of its next exit; a running guest is made to exit with an NMI, which
 * marrow recognises as its own (expected_nmis). A CPU waiting for a SIPI
 * runs nothing until its SIPI exit, which flushes first. */
static void kick(struct vcpu *self, struct vcpu *t)
{
	__atomic_store_n(&t->ept_flush_pending, true, __ATOMIC_RELEASE);
	if (!__atomic_load_n(&t->virtualized, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&t->waiting_sipi, __ATOMIC_ACQUIRE))
		return;
	__atomic_fetch_add(&t->expected_nmis, 1, __ATOMIC_RELAXED);
	lapic_send_nmi_root(t->apic_id);
	/* marrow's NMI used the ICR's high dword: the guest's again
	 * (core/boot_apic.c keeps it when INITs are emulated). */
	if (mw.cfg.emulate_init && !apic_root_x2apic())
		apic_root_write(APIC_REG_ICR_HIGH, self->apic_icr_high);
}

static void wait_flushed(struct vcpu *self, const struct vcpu *t)
{
	for (unsigned n = 0; n < FLUSH_POLLS; n++) {
		if (!__atomic_load_n(&t->ept_flush_pending, __ATOMIC_ACQUIRE) ||
		    !__atomic_load_n(&t->virtualized, __ATOMIC_ACQUIRE) ||
		    __atomic_load_n(&t->waiting_sipi, __ATOMIC_ACQUIRE))
			return;
		cpu_pause();
	}
	root_log(self, MW_LOG_WARN, "seal: cpu %u has not flushed its EPT after %u polls", t->index,
		 FLUSH_POLLS);
}

/* The return address the guest continues at (on top of its stack), which
 * must not be hidden itself. */
static enum mw_status check_seal(uint64_t *ret)
{
	if (mw.cfg.boot || mw.sealed || __atomic_load_n(&mw.memory_sealed, __ATOMIC_ACQUIRE))
		return MW_ERR_BAD_CONFIG;
	if (!mw.hidden_count)
		return MW_ERR_BAD_ARGUMENT;
	uint64_t rsp = vmcs_read(VMCS_GUEST_RSP);
	if (hc_copy_from_guest(rsp, ret, sizeof(*ret)) != MW_HC_OK || seal_is_hidden(rsp) ||
	    seal_is_hidden(*ret))
		return MW_ERR_BAD_ARGUMENT;
	return MW_OK;
}

/* Every CPU's EPT is changed from here: the UEFI platform that seals this
 * way changes no EPT at run time otherwise (it installs no hooks), so no
 * other CPU edits its own tree meanwhile; the splits keep every
 * translation, so a CPU that still walks the old entries sees the same. */
enum exit_action seal_hypercall(struct exit_ctx *c)
{
	uint64_t ret = 0;
	enum mw_status s = check_seal(&ret);

	for (unsigned i = 0; s == MW_OK && i < mw.cpu_count; i++)
		s = split_all(mw.vcpus[i]);
	if (s != MW_OK) {
		/* (Splits come from each CPU's EPT pool, mw_config.ept_pool_pages:
		 * two per range end at most.) */
		root_log(c->v, MW_LOG_ERROR, "seal refused (status %d): marrow stays visible",
			 (int)s);
		c->regs->rax = MW_HC_ERR_BAD_ARGUMENT;
		c->regs->rdx = s;
		return EXIT_ADVANCE;
	}
	for (unsigned i = 0; i < mw.cpu_count; i++)
		clear_all(mw.vcpus[i]);
	__atomic_store_n(&mw.memory_sealed, true, __ATOMIC_RELEASE);
	vcpu_ept_flush(c->v);
	for (unsigned i = 0; i < mw.cpu_count; i++)
		if (mw.vcpus[i] != c->v)
			kick(c->v, mw.vcpus[i]);
	for (unsigned i = 0; i < mw.cpu_count; i++)
		if (mw.vcpus[i] != c->v)
			wait_flushed(c->v, mw.vcpus[i]);
	root_log(c->v, MW_LOG_INFO, "sealed: %u ranges hidden on %u CPUs", mw.hidden_count,
		 mw.cpu_count);
	/* RET: the caller's code is hidden now (seal.h). */
	vmcs_write(VMCS_GUEST_RSP, vmcs_read(VMCS_GUEST_RSP) + 8);
	vmcs_write(VMCS_GUEST_RIP, ret);
	c->regs->rax = MW_HC_OK;
	return EXIT_RESUME;
}
