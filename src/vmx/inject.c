/* Event injection (SDM 3C 27.6) and the exception-folding rules of SDM 3A
 * 6.15 ("Exception and Interrupt Reference", table 6-5). */
#include "core/root_log.h"
#include "exit.h"
#include "hook/split.h"

enum exception_class { BENIGN, CONTRIBUTORY, PAGE_FAULT, DOUBLE_FAULT };

static enum exception_class classify(uint32_t info)
{
	unsigned type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	unsigned vector = info & INTR_INFO_VECTOR_MASK;

	if (type != INTR_TYPE_HW_EXCEPTION)
		return BENIGN;
	switch (vector) {
	case 0:	 /* #DE */
	case 10: /* #TS */
	case 11: /* #NP */
	case 12: /* #SS */
	case 13: /* #GP */
		return CONTRIBUTORY;
	case 14:
		return PAGE_FAULT;
	case 8:
		return DOUBLE_FAULT;
	default:
		return BENIGN;
	}
}

static bool vector_has_error_code(unsigned vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21;
}

void inject_exception(struct exit_ctx *c, unsigned vector, bool has_error, uint32_t error)
{
	uint32_t info = INTR_INFO_VALID | (INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) |
			(vector & INTR_INFO_VECTOR_MASK);
	uint32_t queued = (uint32_t)vmcs_read(VMCS_VM_ENTRY_INTR_INFO);

	if (queued & INTR_INFO_VALID) {
		enum exception_class first = classify(queued), second = classify(info);
		if (first == DOUBLE_FAULT && second != BENIGN) {
			/* A fault while delivering #DF: the CPU would shut down. */
			root_fatal_exit(c->v,
					"exception while delivering #DF (guest triple fault)");
		}
		if ((first == CONTRIBUTORY && second == CONTRIBUTORY) ||
		    (first == PAGE_FAULT && second != BENIGN)) {
			vector = 8;
			has_error = true;
			error = 0;
			info = INTR_INFO_VALID | (INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) |
			       8;
		}
		/* Otherwise the new exception is delivered and the earlier event
		 * is dropped, as a benign first event would be. */
	}
	if (has_error && vector_has_error_code(vector)) {
		info |= INTR_INFO_DELIVER_ERROR_CODE;
		vmcs_write(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	}
	vmcs_write(VMCS_VM_ENTRY_INTR_INFO, info);
	c->v->stats.injected_exceptions++;
}

bool request_nmi_window(void)
{
	if (!(vmcs_read(VMCS_PIN_BASED_VM_EXEC_CONTROL) & PIN_VIRTUAL_NMIS))
		return false;
	vmcs_write(VMCS_CPU_BASED_VM_EXEC_CONTROL,
		   vmcs_read(VMCS_CPU_BASED_VM_EXEC_CONTROL) | PROC_NMI_WINDOW_EXITING);
	return true;
}

static void clear_nmi_window(void)
{
	vmcs_write(VMCS_CPU_BASED_VM_EXEC_CONTROL,
		   vmcs_read(VMCS_CPU_BASED_VM_EXEC_CONTROL) & ~(uint64_t)PROC_NMI_WINDOW_EXITING);
}

/* An NMI is injected only when nothing else is queued and the guest does
 * not block NMIs (virtual-NMI blocking) or events (MOV SS). Blocking by STI
 * does not block NMIs on most processors, but some refuse the injection
 * with it set (SDM 3C 27.3.1.5), so the shadow is dropped. */
void deliver_pending_nmis(struct vcpu *v)
{
	if (!v->pending_nmis)
		return;
	uint64_t blocking = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY_INFO);
	bool queued = vmcs_read(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID;
	if (queued || (blocking & (INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_MOV_SS))) {
		request_nmi_window();
		return;
	}
	if (blocking & INTERRUPTIBILITY_STI)
		vmcs_write(VMCS_GUEST_INTERRUPTIBILITY_INFO,
			   blocking & ~(uint64_t)INTERRUPTIBILITY_STI);
	/* The guest's NMI handler must not run in a hooked page's data view
	 * with marrow's TF. */
	split_abort_step(v);
	vmcs_write(VMCS_VM_ENTRY_INTR_INFO,
		   INTR_INFO_VALID | (INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT) | 2);
	/* A halted guest wakes to take it, as from HLT on hardware. */
	if (vmcs_read(VMCS_GUEST_ACTIVITY_STATE) == ACTIVITY_HLT)
		vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	__atomic_fetch_sub(&v->pending_nmis, 1, __ATOMIC_RELAXED);
	v->stats.injected_nmis++;
	if (v->pending_nmis)
		request_nmi_window();
}

enum exit_action handle_nmi_window(struct exit_ctx *c)
{
	(void)c;
	clear_nmi_window();
	/* deliver_pending_nmis runs on the way back in; a deferred leave is
	 * taken by the dispatcher now that the window is open. */
	return EXIT_RESUME;
}
