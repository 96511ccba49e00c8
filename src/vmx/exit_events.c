/* Exits caused by events: exceptions and NMIs (exit reason 0), external
 * interrupts and the interrupt window (not enabled: counted, harmless). */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "core/hypercall.h"
#include "core/marrow.h"
#include "core/root_log.h"
#include "exit.h"
#include "hook/exception_hook.h"
#include "hook/split.h"
#include "host_idt.h"

#define DB_VECTOR 1

/* An NMI exit: marrow's own signal (MW_HC_DEVIRTUALIZE_ALL) is consumed,
 * any other NMI is the guest's and is delivered to it. */
static enum exit_action guest_nmi(struct exit_ctx *c)
{
	if (!vcpu_claim_expected_nmi(c->v))
		__atomic_fetch_add(&c->v->pending_nmis, 1, __ATOMIC_RELAXED);
	/* An NMI that arrived meanwhile is taken right here by the host IDT
	 * and queued too. */
	root_unblock_nmis();
	return EXIT_RESUME;
}

/* An intercepted exception goes back to the guest as it came: same vector,
 * error code, and for software exceptions the instruction length (SDM 3C
 * 27.6.1). #PF and #DB also need the state the CPU did not write because
 * of the exit: CR2 and DR6 (SDM 3C 28.1). */
static enum exit_action reflect_exception(struct exit_ctx *c, uint32_t info)
{
	unsigned vector = info & INTR_INFO_VECTOR_MASK;
	unsigned type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;

	if (vector == 14)
		write_cr2(exit_qualification());
	if (vector == 1)
		write_dr6((read_dr6() & ~0x600full) | (exit_qualification() & 0x600f) | 0xffff0ff0);
	if (type == INTR_TYPE_SW_EXCEPTION || type == INTR_TYPE_PRIV_SW_EXCEPTION) {
		vmcs_write(VMCS_VM_ENTRY_INTR_INFO, info & ~INTR_INFO_NMI_UNBLOCKED_BY_IRET);
		vmcs_write(VMCS_VM_ENTRY_INSTRUCTION_LEN, vmcs_read(VMCS_VM_EXIT_INSTRUCTION_LEN));
		c->v->stats.injected_exceptions++;
		return EXIT_RESUME;
	}
	inject_exception(c, vector, info & INTR_INFO_DELIVER_ERROR_CODE,
			 (uint32_t)vmcs_read(VMCS_VM_EXIT_INTR_ERROR_CODE));
	return EXIT_RESUME;
}

/* The end of a hooked page's TF step (hook/split.c). The #DB goes on to
 * the guest only if it wanted one too: its own TF, or a breakpoint that hit
 * in the stepped instruction, with just those DR6 bits. */
static enum exit_action step_debug_trap(struct exit_ctx *c, uint64_t reflect_bits)
{
	if (!reflect_bits)
		return EXIT_RESUME;
	write_dr6((read_dr6() & ~0x600full) | reflect_bits | 0xffff0ff0);
	inject_exception(c, DB_VECTOR, false, 0);
	return EXIT_RESUME;
}

/* A vector an exception hook intercepts: the handler decides. Skipping is
 * only meaningful for INT3 and INTO, whose exits report the instruction's
 * length; for other exceptions it means the same as retrying. */
static enum exit_action hooked_exception(struct exit_ctx *c, uint32_t info, bool *taken)
{
	unsigned type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	struct mw_exception_event e = {
		.vector = info & INTR_INFO_VECTOR_MASK,
		.error_code = (info & INTR_INFO_DELIVER_ERROR_CODE)
				      ? vmcs_read(VMCS_VM_EXIT_INTR_ERROR_CODE)
				      : 0,
		.qualification = exit_qualification(),
		.rip = vmcs_read(VMCS_GUEST_RIP),
	};

	*taken = true;
	switch (exception_hook_dispatch(c->v, &e)) {
	case MW_EXC_SKIP:
		return type == INTR_TYPE_SW_EXCEPTION ? EXIT_ADVANCE : EXIT_RESUME;
	case MW_EXC_RETRY:
		return EXIT_RESUME;
	default:
		*taken = false;
		return EXIT_RESUME;
	}
}

enum exit_action handle_exception_nmi(struct exit_ctx *c)
{
	uint32_t info = (uint32_t)vmcs_read(VMCS_VM_EXIT_INTR_INFO);
	unsigned type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	unsigned vector = info & INTR_INFO_VECTOR_MASK;

	/* An NMI unblocked by the IRET that faulted: the guest's NMI blocking
	 * must be put back before re-entry (SDM 3C 28.2.3). */
	if ((info & INTR_INFO_NMI_UNBLOCKED_BY_IRET) && type != INTR_TYPE_NMI)
		vmcs_write(VMCS_GUEST_INTERRUPTIBILITY_INFO,
			   vmcs_read(VMCS_GUEST_INTERRUPTIBILITY_INFO) | INTERRUPTIBILITY_NMI);
	if (type == INTR_TYPE_NMI)
		return guest_nmi(c);
	uint64_t reflect_bits;
	if (vector == DB_VECTOR && split_on_debug(c->v, exit_qualification(), &reflect_bits))
		return step_debug_trap(c, reflect_bits);
	if (mw.exception_hooks & (1u << vector)) {
		bool taken;
		enum exit_action a = hooked_exception(c, info, &taken);
		if (taken)
			return a;
	}
	return reflect_exception(c, info);
}

enum exit_action handle_external_interrupt(struct exit_ctx *c)
{
	/* Only a TF step over a hooked page enables external-interrupt
	 * exiting: it is dropped, and the interrupt, which was not
	 * acknowledged, is delivered at re-entry (SDM 3C 25.2). */
	if (!split_abort_step(c->v))
		c->v->stats.unexpected_exits++;
	return EXIT_RESUME;
}

enum exit_action handle_interrupt_window(struct exit_ctx *c)
{
	c->v->stats.unexpected_exits++;
	vmcs_write(VMCS_CPU_BASED_VM_EXEC_CONTROL,
		   vmcs_read(VMCS_CPU_BASED_VM_EXEC_CONTROL) &
			   ~(uint64_t)PROC_INTERRUPT_WINDOW_EXITING);
	return EXIT_RESUME;
}

enum exit_action handle_mtf(struct exit_ctx *c)
{
	if (split_on_mtf(c->v) || vcpu_mtf_probe_exit(c->v))
		return EXIT_RESUME;
	c->v->stats.unexpected_exits++;
	vmcs_write(VMCS_CPU_BASED_VM_EXEC_CONTROL,
		   vmcs_read(VMCS_CPU_BASED_VM_EXEC_CONTROL) & ~(uint64_t)PROC_MONITOR_TRAP_FLAG);
	return EXIT_RESUME;
}

enum exit_action handle_preemption_timer(struct exit_ctx *c)
{
	c->v->stats.unexpected_exits++;
	vmcs_write(VMCS_PIN_BASED_VM_EXEC_CONTROL,
		   vmcs_read(VMCS_PIN_BASED_VM_EXEC_CONTROL) & ~(uint64_t)PIN_PREEMPTION_TIMER);
	return EXIT_RESUME;
}
