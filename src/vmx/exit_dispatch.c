/* The one C entry point of every VM exit: a table indexed by the basic exit
 * reason, with a handler for every reason (SDM 3D appendix C). */
#include "arch/x86/cpu_bits.h"
#include "core/boot_apic.h"
#include "core/compiler.h"
#include "core/marrow.h"
#include "core/root_log.h"
#include "core/seal.h"
#include "exit.h"

static const exit_handler_fn handlers[EXIT_REASON_MAX] = {
	[EXIT_EXCEPTION_NMI] = handle_exception_nmi,
	[EXIT_EXTERNAL_INTERRUPT] = handle_external_interrupt,
	[EXIT_TRIPLE_FAULT] = handle_triple_fault,
	[EXIT_INIT_SIGNAL] = handle_init,
	[EXIT_STARTUP_IPI] = handle_sipi,
	[EXIT_INTERRUPT_WINDOW] = handle_interrupt_window,
	[EXIT_NMI_WINDOW] = handle_nmi_window,
	[EXIT_TASK_SWITCH] = handle_task_switch,
	[EXIT_CPUID] = handle_cpuid,
	[EXIT_GETSEC] = handle_getsec,
	[EXIT_HLT] = handle_hlt,
	[EXIT_INVD] = handle_invd,
	[EXIT_RDTSC] = handle_rdtsc,
	[EXIT_VMCALL] = handle_vmcall,
	[EXIT_VMCLEAR] = handle_vmx_instruction,
	[EXIT_VMLAUNCH] = handle_vmx_instruction,
	[EXIT_VMPTRLD] = handle_vmx_instruction,
	[EXIT_VMPTRST] = handle_vmx_instruction,
	[EXIT_VMREAD] = handle_vmx_instruction,
	[EXIT_VMRESUME] = handle_vmx_instruction,
	[EXIT_VMWRITE] = handle_vmx_instruction,
	[EXIT_VMXOFF] = handle_vmx_instruction,
	[EXIT_VMXON] = handle_vmx_instruction,
	[EXIT_CR_ACCESS] = handle_cr_access,
	[EXIT_RDMSR] = handle_rdmsr,
	[EXIT_WRMSR] = handle_wrmsr,
	[EXIT_ENTRY_FAIL_GUEST_STATE] = handle_entry_failure,
	[EXIT_ENTRY_FAIL_MSR_LOADING] = handle_entry_failure,
	[EXIT_MONITOR_TRAP_FLAG] = handle_mtf,
	[EXIT_ENTRY_FAIL_MACHINE_CHECK] = handle_entry_failure,
	[EXIT_EPT_VIOLATION] = handle_ept_violation,
	[EXIT_EPT_MISCONFIG] = handle_ept_misconfig,
	[EXIT_INVEPT] = handle_vmx_instruction,
	[EXIT_RDTSCP] = handle_rdtscp,
	[EXIT_PREEMPTION_TIMER] = handle_preemption_timer,
	[EXIT_INVVPID] = handle_vmx_instruction,
	[EXIT_WBINVD] = handle_wbinvd,
	[EXIT_XSETBV] = handle_xsetbv,
	[EXIT_VMFUNC] = handle_vmx_instruction,
};

/* The exits that can happen while an event is being delivered through the
 * guest's IDT (SDM 3C 28.2.4): only for these is IDT-vectoring information
 * worth reading. An instruction's own exit never interrupts a delivery. */
static const bool may_interrupt_delivery[EXIT_REASON_MAX] = {
	[EXIT_EXCEPTION_NMI] = true, [EXIT_TRIPLE_FAULT] = true,  [EXIT_TASK_SWITCH] = true,
	[EXIT_APIC_ACCESS] = true,   [EXIT_EPT_VIOLATION] = true, [EXIT_EPT_MISCONFIG] = true,
	[EXIT_PML_FULL] = true,	     [EXIT_SPP_EVENT] = true,
};

/* A guest event whose delivery the exit interrupted is delivered again
 * (SDM 3C 28.2.4, 28.4.2): an exit must not lose an interrupt or an
 * exception the guest was about to take. */
static void redeliver_interrupted_event(void)
{
	uint32_t info = (uint32_t)vmcs_read(VMCS_IDT_VECTORING_INFO);

	if (!(info & INTR_INFO_VALID))
		return;
	vmcs_write(VMCS_VM_ENTRY_INTR_INFO, info & ~INTR_INFO_NMI_UNBLOCKED_BY_IRET);
	if (info & INTR_INFO_DELIVER_ERROR_CODE)
		vmcs_write(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE,
			   vmcs_read(VMCS_IDT_VECTORING_ERROR_CODE));
	unsigned type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	if (type == INTR_TYPE_SW_INTERRUPT || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
	    type == INTR_TYPE_SW_EXCEPTION)
		vmcs_write(VMCS_VM_ENTRY_INSTRUCTION_LEN, vmcs_read(VMCS_VM_EXIT_INSTRUCTION_LEN));
}

/* The instruction the exit emulated is complete: move past it, end any
 * STI/MOV SS interrupt shadow, and raise the single-step trap the guest's
 * own RFLAGS.TF asks for (SDM 3C 28.3.3: pending debug exceptions). */
void exit_skip_instruction(uint64_t length)
{
	uint64_t rip = vmcs_read(VMCS_GUEST_RIP) + length;
	uint64_t interruptibility = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY_INFO);

	vmcs_write(VMCS_GUEST_RIP, rip);
	if (interruptibility & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmcs_write(VMCS_GUEST_INTERRUPTIBILITY_INFO,
			   interruptibility &
				   ~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	if (vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_TF)
		vmcs_write(VMCS_GUEST_PENDING_DBG_EXCEPTIONS,
			   vmcs_read(VMCS_GUEST_PENDING_DBG_EXCEPTIONS) | (1u << 14) /* BS */);
}

/* Leaving drops whatever VM entry would have delivered, so an event queued
 * for injection, or a guest NMI not yet delivered, goes first: they are
 * delivered under VMX and the CPU leaves at the next NMI-window exit. */
static bool leave_now(struct exit_ctx *c)
{
	struct vcpu *v = c->v;
	bool event_queued = vmcs_read(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID;

	/* Mid-step over a hooked page the guest runs with marrow's TF or MTF
	 * and a data view: the step's end (a few instructions away) comes
	 * first. */
	if (v->step.method != STEP_NONE) {
		v->leave_requested = true;
		v->fast_path = 0;
		return false;
	}
	if ((event_queued || v->pending_nmis) && request_nmi_window()) {
		v->leave_requested = true;
		v->fast_path = 0; /* the next exit must come here */
		return false;
	}
	v->leave_requested = false;
	vmx_leave(c);
	return true;
}

/* A guest that enters or leaves long mode itself (an AP's trampoline after
 * SIPI, a boot loader) changes EFER.LMA without an exit; VM entry requires
 * the "IA-32e mode guest" control to match it (SDM 3C 27.3.1.1). CPUs that
 * store LMA there on exit (IA32_VMX_MISC bit 5) need no help. */
static void sync_ia32e_mode_control(void)
{
	if (mw.caps.misc & VMX_MISC_STORES_LMA)
		return;
	uint64_t entry = vmcs_read(VMCS_VM_ENTRY_CONTROLS);
	bool lma = vmcs_read(VMCS_GUEST_IA32_EFER) & (1u << 10);
	if (lma != !!(entry & ENTRY_CTL_IA32E_MODE_GUEST))
		vmcs_write(VMCS_VM_ENTRY_CONTROLS, entry ^ ENTRY_CTL_IA32E_MODE_GUEST);
}

/* Returns true to resume the guest, false when this CPU left VMX operation
 * and vmx_exit_stub must IRETQ through the frame. */
MW_ASM_ABI bool vmx_exit_handler(struct exit_frame *f);
MW_ASM_ABI bool vmx_exit_handler(struct exit_frame *f)
{
	struct vcpu *v = this_vcpu();
	uint32_t full = (uint32_t)vmcs_read(VMCS_VM_EXIT_REASON);
	struct exit_ctx c = { .v = v, .regs = &f->regs, .reason = EXIT_REASON_BASIC(full) };

	v->frame = f;
	v->exit_reason = full;
	v->stats.exits_total++;
	if (c.reason < MW_STATS_EXIT_REASONS)
		v->stats.exits[c.reason]++;

	enum exit_action action;
	if (full & EXIT_REASON_ENTRY_FAILURE) {
		action = handle_entry_failure(&c);
	} else {
		if (c.reason < EXIT_REASON_MAX && may_interrupt_delivery[c.reason])
			redeliver_interrupted_event();
		exit_handler_fn h = c.reason < EXIT_REASON_MAX ? handlers[c.reason] : NULL;
		action = (h ? h : handle_unexpected)(&c);
	}
	if (action != EXIT_RESUME)
		exit_skip_instruction(vmcs_read(VMCS_VM_EXIT_INSTRUCTION_LEN));
	sync_ia32e_mode_control();
	/* A leave asked for now, by MW_HC_DEVIRTUALIZE_ALL (every CPU leaves
	 * at its next exit) or earlier and deferred. */
	if (action == EXIT_ADVANCE_AND_LEAVE || mw.leave_all || v->leave_requested) {
		if (leave_now(&c))
			return false;
	}
	if (v->scrub_smi_blocking)
		vmcs_write(VMCS_GUEST_INTERRUPTIBILITY_INFO,
			   vmcs_read(VMCS_GUEST_INTERRUPTIBILITY_INFO) &
				   ~(uint64_t)INTERRUPTIBILITY_SMI);
	/* An INIT emulated for this CPU (core/boot_apic.h). */
	if (mw.cfg.emulate_init)
		boot_apic_apply_init(&c);
	/* A seal on another CPU hid marrow's memory in this one's EPT. */
	seal_flush_if_asked(v);
	deliver_pending_nmis(v);
	return true;
}

/* VMRESUME itself failed (VMfail): the VMCS is broken, which is marrow's
 * bug, not the guest's; report it. */
MW_ASM_ABI __attribute__((noreturn)) void vmx_resume_failed(uint64_t rflags);
MW_ASM_ABI void vmx_resume_failed(uint64_t rflags)
{
	struct vcpu *v = this_vcpu();
	uint32_t err = (rflags & RFLAGS_ZF) ? (uint32_t)vmcs_read(VMCS_VM_INSTRUCTION_ERROR) : 0;

	root_log(v, MW_LOG_ERROR, "VMRESUME failed: %s (VM-instruction error %u)",
		 err ? vm_error_str(err) : "VMfailInvalid", err);
	root_fatal_exit(v, err ? vm_error_str(err) : "VMRESUME failed: VMfailInvalid");
}
