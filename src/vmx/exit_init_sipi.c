/* INIT and SIPI. In VMX non-root operation an INIT always exits; marrow
 * puts the guest in the state INIT gives (SDM 3A 10.1.1, table 10-1) and
 * into wait-for-SIPI; the SIPI that follows starts it in real mode at the
 * vector's page, as on hardware (SDM 3A 10.4.4). The guest's own AP
 * start-up therefore works under marrow; it needs unrestricted guest. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "core/root_log.h"
#include "exit.h"

#define AR_CODE16 0x9b /* present, code, readable, accessed */
#define AR_DATA16 0x93 /* present, data, writable, accessed */
#define AR_LDT 0x82
#define AR_TSS16_BUSY 0x8b

static void real_mode_segment(unsigned i, uint16_t sel, uint64_t base, uint32_t ar)
{
	vmcs_write(VMCS_GUEST_ES_SELECTOR + 2 * i, sel);
	vmcs_write(VMCS_GUEST_ES_BASE + 2 * i, base);
	vmcs_write(VMCS_GUEST_ES_LIMIT + 2 * i, 0xffff);
	vmcs_write(VMCS_GUEST_ES_AR_BYTES + 2 * i, ar);
}

static void init_state(struct exit_ctx *c)
{
	uint64_t old_cr0 = vmcs_read(VMCS_CR0_READ_SHADOW);
	/* INIT keeps CD and NW, sets ET, clears the rest (table 10-1). */
	uint64_t cr0 = (old_cr0 & (CR0_CD | CR0_NW)) | CR0_ET;
	uint64_t fixed0 = mw.caps.cr0_fixed0 & ~(CR0_PE | CR0_PG);

	vmcs_write(VMCS_GUEST_CR0, (cr0 | fixed0) & mw.caps.cr0_fixed1);
	vmcs_write(VMCS_CR0_READ_SHADOW, cr0);
	vmcs_write(VMCS_GUEST_CR3, 0);
	vmcs_write(VMCS_GUEST_CR4, mw.caps.cr4_fixed0 | CR4_VMXE);
	vmcs_write(VMCS_CR4_READ_SHADOW, 0);
	write_cr2(0);
	vmcs_write(VMCS_GUEST_IA32_EFER, 0);
	vmcs_write(VMCS_VM_ENTRY_CONTROLS,
		   vmcs_read(VMCS_VM_ENTRY_CONTROLS) & ~(uint64_t)ENTRY_CTL_IA32E_MODE_GUEST);
	vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1);
	vmcs_write(VMCS_GUEST_RIP, 0xfff0);
	vmcs_write(VMCS_GUEST_RSP, 0);
	real_mode_segment(1, 0xf000, 0xffff0000, AR_CODE16); /* CS */
	for (unsigned i = 0; i < 6; i++)
		if (i != 1)
			real_mode_segment(i, 0, 0, AR_DATA16);
	real_mode_segment(6, 0, 0, AR_LDT);
	real_mode_segment(7, 0, 0, AR_TSS16_BUSY);
	vmcs_write(VMCS_GUEST_GDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0xffff);
	vmcs_write(VMCS_GUEST_DR7, 0x400);
	vmcs_write(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VMCS_VM_ENTRY_INTR_INFO, 0);

	memset(c->regs, 0, sizeof(*c->regs));
	c->regs->rdx = cpuid(1).eax; /* the processor signature (table 10-1) */
	/* The guest's translations were for the old address space. */
	vmx_invvpid(INVVPID_SINGLE_CONTEXT, c->v->vpid, 0);
}

void init_sipi_reset(struct exit_ctx *c)
{
	init_state(c);
	c->v->pending_nmis = 0; /* INIT discards pending NMIs too */
}

enum exit_action handle_init(struct exit_ctx *c)
{
	if (!mw.ctl.unrestricted_guest || !(mw.caps.misc & VMX_MISC_ACTIVITY_WAIT_SIPI))
		root_fatal_exit(c->v,
				"INIT: this CPU cannot run a real-mode guest or wait for SIPI");
	init_sipi_reset(c);
	vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI);
	root_log(c->v, MW_LOG_INFO, "INIT: cpu %u waits for SIPI", c->v->index);
	return EXIT_RESUME;
}

enum exit_action handle_sipi(struct exit_ctx *c)
{
	init_sipi_start(c, exit_qualification() & 0xff);
	return EXIT_RESUME;
}

void init_sipi_start(struct exit_ctx *c, unsigned vector)
{
	/* CS = vector << 8, base vector << 12, IP 0 (SDM 3A 10.4.4). */
	real_mode_segment(1, (uint16_t)(vector << 8), (uint64_t)vector << 12, AR_CODE16);
	vmcs_write(VMCS_GUEST_RIP, 0);
	/* Nothing blocks events in a CPU that just started (the exit may have
	 * saved SMI blocking for the wait-for-SIPI state). */
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	root_log(c->v, MW_LOG_INFO, "SIPI: cpu %u starts at %05x", c->v->index, vector << 12);
}
