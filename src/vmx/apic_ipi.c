#include "apic_ipi.h"

#include "arch/x86/cpu_bits.h"
#include "core/guest_walk.h"
#include "core/host_pt.h"
#include "core/ipi.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "core/root_log.h"
#include "ept/ept.h"
#include "exit.h"
#include "hook/insn.h"

#define PAGE_MASK (~0xfffull)
#define EPT_QUAL_WRITE (1u << 1)

/* xAPIC registers (SDM 3A 10.4.1, table 10-1) and ICR fields (10.6.1). */
#define APIC_ICR_LOW 0x300
#define APIC_ICR_HIGH 0x310
#define ICR_MODE(low) (((low) >> 8) & 7)
#define ICR_MODE_INIT 5
#define ICR_MODE_SIPI 6
#define ICR_LOGICAL (1u << 11)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_TRIGGER_LEVEL (1u << 15)
#define ICR_SHORTHAND(low) (((low) >> 18) & 3)
#define SHORTHAND_NONE 0
#define SHORTHAND_SELF 1
#define SHORTHAND_ALL 2
#define SHORTHAND_OTHERS 3
#define XAPIC_BROADCAST 0xff

/* Requests to a vCPU (struct vcpu.ipi_request). */
#define IPI_REQ_INIT 0x100u
#define IPI_REQ_SIPI 0x200u /* the low byte: the vector */

enum mw_status apic_ipi_protect(struct ept *e, uint64_t apic_base)
{
	uint64_t page = apic_base & PAGE_MASK;
	return ept_set_page(e, page, page, EPT_READ | EPT_EXEC);
}

static bool gpa_read(uint64_t gpa, void *buf, size_t len, void *ctx)
{
	(void)ctx;
	const void *p = host_pt_phys(mw.host_pt, gpa, len);
	if (!p)
		return false;
	memcpy(buf, p, len);
	return true;
}

/* The bytes at the guest's RIP, as far as they are mapped (up to 15). */
static size_t fetch_insn(uint8_t *buf)
{
	struct guest_paging gp = {
		.cr0 = vmcs_read(VMCS_GUEST_CR0),
		.cr3 = vmcs_read(VMCS_GUEST_CR3),
		.cr4 = vmcs_read(VMCS_GUEST_CR4),
		.efer = vmcs_read(VMCS_GUEST_IA32_EFER),
		.cpl = guest_cpl(),
		.maxphyaddr = mw.caps.phys_addr_bits,
	};
	uint64_t rip = vmcs_read(VMCS_GUEST_CS_BASE) + vmcs_read(VMCS_GUEST_RIP);
	size_t first = 4096 - (rip & 0xfff);

	if (first > INSN_MAX_LEN)
		first = INSN_MAX_LEN;
	if (guest_copy_from(&gp, rip, buf, first, gpa_read, NULL) != WALK_OK)
		return 0;
	if (first < INSN_MAX_LEN &&
	    guest_copy_from(&gp, rip + first, buf + first, INSN_MAX_LEN - first, gpa_read, NULL) ==
		    WALK_OK)
		return INSN_MAX_LEN;
	return first;
}

static volatile uint32_t *apic_reg(unsigned off)
{
	return (volatile uint32_t *)((uint8_t *)mw.lapic_mmio + off);
}

static struct vcpu *vcpu_of_apic(uint32_t apic_id)
{
	for (unsigned i = 0; i < mw.cpu_count; i++)
		if (mw.vcpus[i] && mw.vcpus[i]->apic_id == apic_id)
			return mw.vcpus[i];
	return NULL;
}

/* Sends an IPI to one APIC ID with the real ICR (a CPU marrow does not run
 * on). */
static void send_real(uint32_t apic_id, uint32_t low)
{
	*apic_reg(APIC_ICR_HIGH) = apic_id << 24;
	*apic_reg(APIC_ICR_LOW) = low & ~(3u << 18) & ~ICR_LOGICAL;
}

static void request(struct vcpu *target, uint32_t req)
{
	/* Bits accumulate: a SIPI may follow its INIT before the target has
	 * looked, and the target then does both, in order. */
	__atomic_fetch_or(&target->ipi_request, req, __ATOMIC_RELEASE);
	/* The NMI brings the target into root mode (NMI exiting), where it
	 * finds the request; marrow claims it as its own. */
	__atomic_fetch_add(&target->expected_nmis, 1, __ATOMIC_SEQ_CST);
	lapic_send_nmi_root(target->apic_id);
}

/* One target of an INIT or SIPI. A SIPI counts only after an INIT, once,
 * as on hardware (a CPU not waiting for SIPI ignores it, SDM 3A 8.4.4.1). */
static void deliver(struct vcpu *self, uint32_t apic_id, uint32_t low)
{
	struct vcpu *t = vcpu_of_apic(apic_id);
	unsigned mode = ICR_MODE(low);

	if (!t || !t->virtualized) {
		send_real(apic_id, low);
		return;
	}
	if (mode == ICR_MODE_INIT) {
		/* The level de-assert of the old protocol does nothing on
		 * processors since the Pentium 4 (SDM 3A 10.6.1). */
		if ((low & ICR_TRIGGER_LEVEL) && !(low & ICR_LEVEL_ASSERT))
			return;
		t->init_seen = true;
		t->stats.inits_emulated++;
		if (t != self)
			request(t, IPI_REQ_INIT);
		return;
	}
	if (!t->init_seen || t == self)
		return;
	t->init_seen = false;
	t->stats.sipis_emulated++;
	request(t, IPI_REQ_SIPI | (low & 0xff));
}

static void write_icr(struct vcpu *self, uint32_t low)
{
	unsigned mode = ICR_MODE(low);
	uint32_t high = *apic_reg(APIC_ICR_HIGH);

	if ((mode != ICR_MODE_INIT && mode != ICR_MODE_SIPI) || (low & ICR_LOGICAL)) {
		*apic_reg(APIC_ICR_LOW) = low;
		return;
	}
	unsigned sh = ICR_SHORTHAND(low);
	uint32_t dest = high >> 24;
	if (sh == SHORTHAND_SELF) {
		deliver(self, self->apic_id, low);
		return;
	}
	if (sh == SHORTHAND_NONE && dest != XAPIC_BROADCAST) {
		deliver(self, dest, low);
		return;
	}
	/* Broadcast: every CPU marrow knows, and the writer too unless the
	 * shorthand excludes it. */
	for (unsigned i = 0; i < mw.cpu_count; i++) {
		struct vcpu *t = mw.vcpus[i];
		if (t && (t != self || sh != SHORTHAND_OTHERS))
			deliver(self, t->apic_id, low);
	}
}

/* The instruction that wrote: MOV r/m32, r32 (89), MOV r/m32, imm32
 * (C7 /0) or XCHG r/m32, r32 (87), the forms compilers emit for a volatile
 * 32-bit store (SDM 2B). Returns its length, 0 for anything else. */
static unsigned decode_store(struct exit_ctx *c, const uint8_t *code, size_t avail, uint32_t *value,
			     int *xchg_reg)
{
	struct insn in;

	if (insn_decode(code, avail, &in) != INSN_OK || in.map != INSN_MAP_ONE || !in.has_modrm ||
	    in.operand_size != 4 || (in.modrm >> 6) == 3)
		return 0;
	unsigned reg = ((in.modrm >> 3) & 7) | ((in.rex & INSN_REX_R) ? 8 : 0);
	*xchg_reg = -1;
	switch (in.opcode) {
	case 0x89:
		*value = (uint32_t)gpr_read(c, reg);
		return in.length;
	case 0x87:
		*value = (uint32_t)gpr_read(c, reg);
		*xchg_reg = (int)reg;
		return in.length;
	case 0xc7:
		if ((in.modrm >> 3) & 7 || in.imm_size != 4)
			return 0;
		memcpy(value, code + in.imm_offset, 4);
		return in.length;
	default:
		return 0;
	}
}

bool apic_ipi_on_violation(struct vcpu *v, uint64_t gpa, uint64_t qualification)
{
	uint8_t code[INSN_MAX_LEN];
	struct exit_ctx c = { .v = v, .regs = &v->frame->regs, .reason = EXIT_EPT_VIOLATION };
	uint32_t value;
	int xchg_reg;

	if (!mw.cfg.emulate_init_sipi || (gpa & PAGE_MASK) != (mw.apic_base & PAGE_MASK) ||
	    !(qualification & EPT_QUAL_WRITE) || !mw.lapic_mmio)
		return false;
	size_t avail = fetch_insn(code);
	unsigned len = avail ? decode_store(&c, code, avail, &value, &xchg_reg) : 0;
	unsigned off = (unsigned)(gpa & 0xfff);
	if (!len || (off & 3)) {
		root_log(v, MW_LOG_ERROR,
			 "local APIC write at %x by an instruction marrow "
			 "does not emulate (%02x %02x %02x)",
			 off, code[0], code[1], code[2]);
		return false; /* marrow's EPT diagnostic follows */
	}
	uint32_t old = *apic_reg(off);
	if (off == APIC_ICR_LOW)
		write_icr(v, value);
	else
		*apic_reg(off) = value;
	if (xchg_reg >= 0)
		gpr_write32(&c, (unsigned)xchg_reg, old);
	v->stats.apic_writes_emulated++;
	/* The store is done: past it, and out of any STI/MOV SS shadow. */
	vmcs_write(VMCS_GUEST_RIP, vmcs_read(VMCS_GUEST_RIP) + len);
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY_INFO,
		   vmcs_read(VMCS_GUEST_INTERRUPTIBILITY_INFO) &
			   ~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	return true;
}

void apic_ipi_poll(struct exit_ctx *c)
{
	uint32_t req = __atomic_exchange_n(&c->v->ipi_request, 0, __ATOMIC_ACQUIRE);

	if (req & IPI_REQ_INIT) {
		/* Halted with interrupts off until the SIPI's NMI: nothing but
		 * an NMI (marrow's) ends a HLT with IF clear. */
		init_sipi_reset(c);
		vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
		root_log(c->v, MW_LOG_INFO, "INIT (emulated): cpu %u waits for SIPI", c->v->index);
	}
	if (req & IPI_REQ_SIPI)
		init_sipi_start(c, req & 0xff);
}
