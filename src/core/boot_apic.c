#include "boot_apic.h"

#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "core/apic_dest.h"
#include "core/apic_root.h"
#include "core/hypercall.h"
#include "core/ipi.h"
#include "core/marrow.h"
#include "core/msr_bitmap.h"
#include "core/root_log.h"
#include "vmx/emulate.h"
#include "vmx/guest_state.h"
#include "vmx/host_idt.h"

#define MSR_X2APIC_ICR 0x830
#define EPT_QUAL_WRITE (1u << 1)
#define DFR_RESERVED_ONES 0x0fffffffu
#define ICR_DELIVERY_PENDING (1u << 12)
/* Waiting for NMIs in flight: a bound, never a hang (an NMI takes a few
 * hundred instructions to arrive). */
#define DRAIN_POLLS 1000000

uint64_t boot_apic_page(void)
{
	uint64_t base = 0;
	root_rdmsr(MSR_IA32_APIC_BASE, &base);
	return base & APIC_BASE_ADDR_MASK;
}

void boot_apic_track(struct vcpu *v)
{
	bool x2 = apic_root_x2apic();
	v->apic_ldr = apic_root_read(APIC_REG_LDR);
	v->apic_dfr = x2 ? 0 : apic_root_read(APIC_REG_DFR);
	v->apic_icr_high = x2 ? 0 : apic_root_read(APIC_REG_ICR_HIGH);
}

void boot_apic_msr_intercepts(uint8_t *bitmap)
{
	msr_bitmap_intercept(bitmap, MSR_X2APIC_ICR, false, true);
	msr_bitmap_intercept(bitmap, MSR_IA32_APIC_BASE, false, true);
}

void boot_apic_init_cpu(struct exit_ctx *c)
{
	struct vcpu *v = c->v;

	guest_state_init(c);
	vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI);
	/* INIT discards pending NMIs; nothing may ask for a window either:
	 * Bochs 2.7 takes a pending NMI-window exit for a wake-up. */
	v->pending_nmis = 0;
	vmcs_write(VMCS_CPU_BASED_VM_EXEC_CONTROL,
		   vmcs_read(VMCS_CPU_BASED_VM_EXEC_CONTROL) &
			   ~(uint64_t)(PROC_NMI_WINDOW_EXITING | PROC_INTERRUPT_WINDOW_EXITING));
	apic_root_init_reset();
	v->apic_ldr = 0;
	v->apic_dfr = 0xffffffffu;
	v->apic_icr_high = 0;
	__atomic_store_n(&v->waiting_sipi, true, __ATOMIC_RELEASE);
}

/* The NMIs marrow sent to make this CPU exit have all arrived (root mode's
 * IDT counts them): none may still be pending when it waits for a SIPI. */
static void drain_kicks(struct vcpu *v)
{
	for (unsigned n = 0; n < DRAIN_POLLS; n++) {
		if (!__atomic_load_n(&v->init_kicks, __ATOMIC_ACQUIRE) &&
		    !__atomic_load_n(&v->expected_nmis, __ATOMIC_ACQUIRE))
			return;
		cpu_pause();
	}
	root_log(v, MW_LOG_WARN, "INIT: NMIs still in flight after %u polls", DRAIN_POLLS);
}

void boot_apic_apply_init(struct exit_ctx *c)
{
	struct vcpu *v = c->v;

	if (!__atomic_load_n(&v->init_pending, __ATOMIC_ACQUIRE))
		return;
	drain_kicks(v);
	__atomic_store_n(&v->init_pending, 0, __ATOMIC_RELEASE);
	boot_apic_init_cpu(c);
	v->stats.inits_emulated++;
	root_log(v, MW_LOG_INFO, "INIT: cpu %u waits for SIPI", v->index);
}

/* INIT for t, from self's guest. */
static void request_init(struct vcpu *self, struct vcpu *t)
{
	if (__atomic_load_n(&t->waiting_sipi, __ATOMIC_ACQUIRE))
		return; /* blocked in wait-for-SIPI (SDM 3C 25.2) */
	__atomic_fetch_add(&t->init_kicks, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&t->init_pending, 1, __ATOMIC_RELEASE);
	if (t != self) {
		__atomic_fetch_add(&t->expected_nmis, 1, __ATOMIC_RELAXED);
		lapic_send_nmi_root(t->apic_id);
		/* marrow's NMI used the ICR's high dword: the guest's again. */
		if (!apic_root_x2apic())
			apic_root_write(APIC_REG_ICR_HIGH, self->apic_icr_high);
	}
	__atomic_fetch_sub(&t->init_kicks, 1, __ATOMIC_RELEASE);
}

/* An INIT takes effect before the sender's next instruction on hardware;
 * here on the target's next exit. The sender waits for it (bounded), so
 * that a SIPI it sends soon after cannot reach a target that does not wait
 * for one yet, which would drop it (SDM 3A 10.4.4). */
static void wait_for_init(struct vcpu *self, const struct vcpu *t)
{
	for (unsigned n = 0; n < DRAIN_POLLS; n++) {
		if (__atomic_load_n(&t->waiting_sipi, __ATOMIC_ACQUIRE))
			return;
		cpu_pause();
	}
	root_log(self, MW_LOG_WARN, "INIT: cpu %u not waiting for SIPI after %u polls", t->index,
		 DRAIN_POLLS);
}

static bool reaches(const struct vcpu *self, const struct vcpu *t, uint64_t icr, bool x2apic)
{
	struct apic_target at = { t->apic_id, t->apic_ldr, t->apic_dfr };
	return apic_ipi_reaches(icr, x2apic, self->apic_id, &at);
}

static void emulate_init(struct vcpu *self, uint64_t icr, bool x2apic)
{
	if (icr_is_init_deassert(icr))
		return;
	for (unsigned i = 0; i < mw.cpu_count; i++)
		if (reaches(self, mw.vcpus[i], icr, x2apic))
			request_init(self, mw.vcpus[i]);
	for (unsigned i = 0; i < mw.cpu_count; i++)
		if (mw.vcpus[i] != self && reaches(self, mw.vcpus[i], icr, x2apic))
			wait_for_init(self, mw.vcpus[i]);
}

/* A SIPI for several CPUs (a shorthand, a broadcast, a logical group) goes
 * out as one physical-destination SIPI per CPU it reaches. Bochs 2.7 takes
 * the SIPI VM exit of the first target in wait-for-SIPI from inside its
 * broadcast loop and leaves that loop (the exit's longjmp), so the other
 * targets never get it: with OVMF's broadcast INIT-SIPI-SIPI on 4 CPUs one
 * AP stayed waiting for SIPI. One SIPI per target is what the broadcast
 * means on hardware too (SDM 3A 11.6.1). The targets are marrow's CPUs. */
static void sipi_each(const struct vcpu *self, uint64_t icr, bool x2apic)
{
	uint32_t low = (uint32_t)icr & ~(ICR_LOGICAL | (3u << 18));

	for (unsigned i = 0; i < mw.cpu_count; i++) {
		const struct vcpu *t = mw.vcpus[i];
		if (!reaches(self, t, icr, x2apic))
			continue;
		if (x2apic) {
			root_wrmsr(MSR_X2APIC_ICR, ((uint64_t)t->apic_id << 32) | low);
			continue;
		}
		for (unsigned n = 0;
		     n < DRAIN_POLLS && (apic_root_read(APIC_REG_ICR_LOW) & ICR_DELIVERY_PENDING);
		     n++)
			cpu_pause();
		apic_root_write(APIC_REG_ICR_HIGH, t->apic_id << 24);
		apic_root_write(APIC_REG_ICR_LOW, low);
	}
	if (!x2apic)
		apic_root_write(APIC_REG_ICR_HIGH, self->apic_icr_high);
}

static bool for_one_cpu(uint64_t icr, bool x2apic)
{
	uint32_t broadcast = x2apic ? 0xffffffffu : 0xffu;
	uint32_t dest = x2apic ? (uint32_t)(icr >> 32) : (uint32_t)(icr >> 56);
	return ICR_SHORTHAND(icr) == ICR_NO_SHORTHAND && !(icr & ICR_LOGICAL) && dest != broadcast;
}

/* Returns false when the real APIC refused the write (x2APIC: #GP). */
static bool icr_write(struct vcpu *self, uint64_t icr, bool x2apic)
{
	if (ICR_DELIVERY_MODE(icr) == ICR_INIT) {
		emulate_init(self, icr, x2apic);
		return true;
	}
	if (ICR_DELIVERY_MODE(icr) == ICR_STARTUP && !for_one_cpu(icr, x2apic)) {
		sipi_each(self, icr, x2apic);
		return true;
	}
	if (x2apic)
		return root_wrmsr(MSR_X2APIC_ICR, icr) == 0;
	/* The high dword first: marrow's own IPIs may have changed it since
	 * the guest wrote it. */
	apic_root_write(APIC_REG_ICR_HIGH, (uint32_t)(icr >> 32));
	apic_root_write(APIC_REG_ICR_LOW, (uint32_t)icr);
	return true;
}

static void apic_register_write(struct vcpu *v, uint32_t reg, uint32_t value)
{
	switch (reg) {
	case APIC_REG_ICR_LOW:
		icr_write(v, ((uint64_t)v->apic_icr_high << 32) | value, false);
		return;
	case APIC_REG_ICR_HIGH:
		v->apic_icr_high = value;
		break;
	case APIC_REG_LDR:
		v->apic_ldr = value;
		break;
	case APIC_REG_DFR:
		v->apic_dfr = value | DFR_RESERVED_ONES;
		break;
	default:
		break;
	}
	apic_root_write(reg, value);
}

bool boot_apic_violation(struct exit_ctx *c, uint64_t gpa, uint64_t q)
{
	struct emul e = { 0 };

	if ((gpa & ~0xfffull) != boot_apic_page())
		return false;
	/* The page is read-only to the guest: only writes come here. APIC
	 * registers are 32 bits wide at 16-byte boundaries (SDM 3A
	 * 11.4.1); anything else is outside what the APIC defines. */
	bool ok = (q & EPT_QUAL_WRITE) && emul_decode(c, &e);
	if (!ok || e.insn.size != 4 || (gpa & 0xf) || e.insn.kind == MEM_LOAD) {
		char bytes[64];

		emul_bytes_text(&e, bytes, sizeof(bytes));
		root_fatal_note(c->v, "marrow: local APIC access at %llx by %s (rip %llx)",
				(unsigned long long)gpa, bytes,
				(unsigned long long)vmcs_read(VMCS_GUEST_RIP));
		root_fatal_exit(c->v, "a local APIC access marrow does not emulate");
	}
	uint32_t reg = (uint32_t)(gpa & 0xff0);
	uint32_t value = (uint32_t)emul_store_value(c, &e);
	if (e.insn.kind == MEM_XCHG)
		emul_load(c, &e, apic_root_read(reg));
	apic_register_write(c->v, reg, value);
	c->v->stats.apic_writes_emulated++;
	emul_skip(&e);
	return true;
}

bool boot_apic_wrmsr(struct exit_ctx *c, uint32_t msr, uint64_t value, enum exit_action *action)
{
	if (msr == MSR_X2APIC_ICR) {
		/* Outside x2APIC mode the MSR does not exist: #GP. */
		bool ok = apic_root_x2apic() && icr_write(c->v, value, true);
		if (!ok)
			inject_gp0(c);
		else
			c->v->stats.apic_writes_emulated++;
		*action = ok ? EXIT_ADVANCE : EXIT_RESUME;
		return true;
	}
	if (msr == MSR_IA32_APIC_BASE) {
		if ((value & APIC_BASE_ADDR_MASK) != boot_apic_page())
			root_fatal_exit(c->v, "the guest moves its local APIC, which a boot-time "
					      "guest may not (docs/boot.md)");
		bool ok = root_wrmsr(msr, value) == 0;
		if (!ok)
			inject_gp0(c);
		*action = ok ? EXIT_ADVANCE : EXIT_RESUME;
		return true;
	}
	return false;
}
