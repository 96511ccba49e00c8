/* Control-register accesses that exit: writes that touch a CR0/CR4 bit
 * marrow owns (the guest/host masks: VMX's fixed bits and CR4.VMXE), and,
 * where the CPU forces them, CR3/CR8 accesses. The guest sees the values it
 * wrote (read shadows) and the faults a CPU without VMX would give. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "core/marrow.h"
#include "exit.h"
#include "vmcs_setup.h"

#define CR3_PCID_NOFLUSH (1ull << 63)

/* The checks MOV to CR0 makes (SDM 2A MOV to/from control registers,
 * SDM 3A 2.5): reserved bits 63:32, PG without PE, NW without CD. */
static bool cr0_write_faults(uint64_t value)
{
	return (value >> 32) || ((value & CR0_PG) && !(value & CR0_PE)) ||
	       ((value & CR0_NW) && !(value & CR0_CD));
}

/* Paging switched on or off by an emulated write: with EFER.LME set, that
 * enters or leaves IA-32e mode, EFER.LMA following CR0.PG (SDM 3A 10.8.5,
 * 10.8.5.4), and VM entry needs the "IA-32e mode guest" control to match
 * (SDM 3C 27.3.1.1). Enabling needs CR4.PAE, disabling must not happen in
 * 64-bit code: #GP otherwise (SDM 2A MOV to CR0). False when it faults. */
static bool follow_long_mode(uint64_t old_cr0, uint64_t value)
{
	uint64_t efer = vmcs_read(VMCS_GUEST_IA32_EFER);
	uint64_t entry = vmcs_read(VMCS_VM_ENTRY_CONTROLS);
	bool enable = !(old_cr0 & CR0_PG) && (value & CR0_PG);
	bool disable = (old_cr0 & CR0_PG) && !(value & CR0_PG);

	if (enable && (efer & EFER_LME)) {
		if (!(vmcs_read(VMCS_GUEST_CR4) & CR4_PAE))
			return false;
		vmcs_write(VMCS_GUEST_IA32_EFER, efer | EFER_LMA);
		vmcs_write(VMCS_VM_ENTRY_CONTROLS, entry | ENTRY_CTL_IA32E_MODE_GUEST);
	} else if (disable && (efer & EFER_LMA)) {
		if (vmcs_read(VMCS_GUEST_CS_AR_BYTES) & (1u << 13)) /* CS.L */
			return false;
		vmcs_write(VMCS_GUEST_IA32_EFER, efer & ~EFER_LMA);
		vmcs_write(VMCS_VM_ENTRY_CONTROLS, entry & ~(uint64_t)ENTRY_CTL_IA32E_MODE_GUEST);
	}
	return true;
}

static enum exit_action emulate_cr0_write(struct exit_ctx *c, uint64_t value)
{
	if (cr0_write_faults(value) || !follow_long_mode(vmcs_read(VMCS_GUEST_CR0), value)) {
		inject_gp0(c);
		return EXIT_RESUME;
	}
	uint64_t mask = vmx_cr0_mask();
	uint64_t fixed0 = mw.caps.cr0_fixed0;
	if (mw.ctl.unrestricted_guest)
		fixed0 &= ~(CR0_PE | CR0_PG);
	/* The real CR0 keeps VMX's fixed bits; the guest reads its own. */
	uint64_t real = (value | fixed0) & mw.caps.cr0_fixed1;
	vmcs_write(VMCS_GUEST_CR0, (real & mask) | (value & ~mask));
	vmcs_write(VMCS_CR0_READ_SHADOW, value);
	return EXIT_ADVANCE;
}

/* Bits a CPU without VMX reserves: everything the VMX fixed-1 MSR does not
 * allow, plus VMXE itself, since CPUID shows no VMX (SDM 3A 2.5: setting a
 * reserved CR4 bit raises #GP). */
static enum exit_action emulate_cr4_write(struct exit_ctx *c, uint64_t value)
{
	uint64_t allowed = mw.caps.cr4_fixed1 & ~CR4_VMXE;

	if (value & ~allowed) {
		inject_gp0(c);
		return EXIT_RESUME;
	}
	uint64_t real = (value | mw.caps.cr4_fixed0 | CR4_VMXE) & mw.caps.cr4_fixed1;
	vmcs_write(VMCS_GUEST_CR4, real);
	vmcs_write(VMCS_CR4_READ_SHADOW, value);
	return EXIT_ADVANCE;
}

/* Only when the CPU cannot turn CR3-load exiting off. Without the
 * no-flush bit, a CR3 load flushes the guest's non-global translations. */
static enum exit_action emulate_cr3_write(struct exit_ctx *c, uint64_t value)
{
	vmcs_write(VMCS_GUEST_CR3, value & ~CR3_PCID_NOFLUSH);
	if (!(value & CR3_PCID_NOFLUSH) || !(vmcs_read(VMCS_GUEST_CR4) & CR4_PCIDE))
		vmx_invvpid(INVVPID_SINGLE_CONTEXT_KEEP_GLOBALS, c->v->vpid, 0);
	return EXIT_ADVANCE;
}

static enum exit_action mov_to_cr(struct exit_ctx *c, unsigned cr, uint64_t value)
{
	switch (cr) {
	case 0:
		return emulate_cr0_write(c, value);
	case 3:
		return emulate_cr3_write(c, value);
	case 4:
		return emulate_cr4_write(c, value);
	case 8:
		if (value >> 4) {
			inject_gp0(c);
			return EXIT_RESUME;
		}
		__asm__ volatile("mov %0, %%cr8" ::"r"(value));
		return EXIT_ADVANCE;
	default:
		inject_ud(c);
		return EXIT_RESUME;
	}
}

static enum exit_action mov_from_cr(struct exit_ctx *c, unsigned cr, unsigned gpr)
{
	uint64_t value;

	if (cr == 3) {
		value = vmcs_read(VMCS_GUEST_CR3);
	} else if (cr == 8) {
		__asm__ volatile("mov %%cr8, %0" : "=r"(value));
	} else {
		inject_ud(c);
		return EXIT_RESUME;
	}
	gpr_write(c, gpr, value);
	return EXIT_ADVANCE;
}

enum exit_action handle_cr_access(struct exit_ctx *c)
{
	uint64_t q = exit_qualification();
	unsigned cr = CR_QUAL_NUMBER(q);
	uint64_t cr0 = guest_cr0();

	if (guest_cpl() != 0) {
		inject_gp0(c);
		return EXIT_RESUME;
	}
	switch (CR_QUAL_ACCESS_TYPE(q)) {
	case CR_ACCESS_MOV_TO_CR:
		return mov_to_cr(c, cr, gpr_read(c, CR_QUAL_GPR(q)));
	case CR_ACCESS_MOV_FROM_CR:
		return mov_from_cr(c, cr, CR_QUAL_GPR(q));
	case CR_ACCESS_CLTS:
		return emulate_cr0_write(c, cr0 & ~CR0_TS);
	default: {
		/* LMSW loads CR0 bits 3:0 but cannot clear PE (SDM 2A LMSW):
		 * bit 0 of the old value stays. */
		uint64_t src = CR_QUAL_LMSW_DATA(q) & 0xf;
		return emulate_cr0_write(c, (cr0 & ~0xeull) | src);
	}
	}
}
