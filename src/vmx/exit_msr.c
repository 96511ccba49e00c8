/* RDMSR and WRMSR that the MSR bitmap sends here (IA32_FEATURE_CONTROL, the
 * VMX capability MSRs) or that lie outside its ranges. Everything is
 * answered as a CPU without VMX would: an MSR that does not exist raises
 * #GP in the guest, never a fault in marrow (SDM 2B RDMSR: #GP(0) for a
 * reserved or unimplemented MSR). */
#include "arch/x86/msr.h"
#include "core/boot_apic.h"
#include "core/marrow.h"
#include "core/msr_bitmap.h"
#include "exit.h"
#include "hook/msr_hook.h"
#include "host_idt.h"

bool vmcs_msr_field(uint32_t msr, uint32_t *field)
{
	switch (msr) {
	case MSR_IA32_EFER:
		*field = VMCS_GUEST_IA32_EFER;
		return true;
	case MSR_IA32_PAT:
		*field = VMCS_GUEST_IA32_PAT;
		return true;
	case MSR_IA32_DEBUGCTL:
		*field = VMCS_GUEST_IA32_DEBUGCTL;
		return true;
	case MSR_IA32_SYSENTER_CS:
		*field = VMCS_GUEST_SYSENTER_CS;
		return true;
	case MSR_IA32_SYSENTER_ESP:
		*field = VMCS_GUEST_SYSENTER_ESP;
		return true;
	case MSR_IA32_SYSENTER_EIP:
		*field = VMCS_GUEST_SYSENTER_EIP;
		return true;
	case MSR_IA32_FS_BASE:
		*field = VMCS_GUEST_FS_BASE;
		return true;
	case MSR_IA32_GS_BASE:
		*field = VMCS_GUEST_GS_BASE;
		return true;
	default:
		return false;
	}
}

static bool is_vmx_msr(uint32_t msr)
{
	return msr >= VMX_MSR_FIRST && msr <= VMX_MSR_LAST;
}

static enum exit_action refuse(struct exit_ctx *c)
{
	c->v->stats.msr_faults++;
	inject_gp0(c);
	return EXIT_RESUME;
}

/* The guest's view of an MSR nobody hooks, or that a hook passes. */
static bool read_real(uint32_t msr, uint64_t *value)
{
	uint32_t field;

	if (msr == MSR_IA32_FEATURE_CONTROL) {
		if (root_rdmsr(msr, value))
			return false;
		/* Locked, with VMXON disabled: what firmware leaves on a CPU
		 * whose VMX is off (SDM 3C 24.7). */
		*value = (*value | FEATURE_CONTROL_LOCK) &
			 ~(FEATURE_CONTROL_VMXON_IN_SMX | FEATURE_CONTROL_VMXON_OUTSIDE_SMX);
		return true;
	}
	if (vmcs_msr_field(msr, &field)) {
		*value = vmcs_read(field);
		return true;
	}
	return root_rdmsr(msr, value) == 0;
}

enum exit_action handle_rdmsr(struct exit_ctx *c)
{
	uint32_t msr = (uint32_t)c->regs->rcx;
	uint64_t value = 0;

	if (is_vmx_msr(msr))
		return refuse(c); /* CPUID says there is no VMX */
	/* FEATURE_CONTROL is never hooked (msr_hook.c). */
	switch (msr == MSR_IA32_FEATURE_CONTROL ? MSR_HOOK_NONE : msr_hook_read(msr, &value)) {
	case MSR_HOOK_DONE:
		break;
	case MSR_HOOK_GP:
		return refuse(c);
	default:
		if (!read_real(msr, &value))
			return refuse(c);
		break;
	}
	gpr_write32(c, 0, (uint32_t)value);
	gpr_write32(c, 2, (uint32_t)(value >> 32));
	return EXIT_ADVANCE;
}

enum exit_action handle_wrmsr(struct exit_ctx *c)
{
	uint32_t msr = (uint32_t)c->regs->rcx, field;
	uint64_t value = ((c->regs->rdx & 0xffffffffull) << 32) | (c->regs->rax & 0xffffffffull);

	enum exit_action boot_action;
	if (mw.cfg.emulate_init && boot_apic_wrmsr(c, msr, value, &boot_action))
		return boot_action; /* the x2APIC ICR, IA32_APIC_BASE */
	/* FEATURE_CONTROL is locked (writes #GP, SDM 3C 24.7); the VMX
	 * capability MSRs are read-only and, here, absent. */
	if (msr == MSR_IA32_FEATURE_CONTROL || is_vmx_msr(msr))
		return refuse(c);
	switch (msr_hook_write(msr, value)) {
	case MSR_HOOK_DONE:
		return EXIT_ADVANCE;
	case MSR_HOOK_GP:
		return refuse(c);
	default:
		break;
	}
	if (vmcs_msr_field(msr, &field)) {
		vmcs_write(field, value);
		return EXIT_ADVANCE;
	}
	if (root_wrmsr(msr, value))
		return refuse(c);
	return EXIT_ADVANCE;
}
