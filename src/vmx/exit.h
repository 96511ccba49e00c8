/* What every exit handler shares: the exit's context, the action it asks
 * for, and helpers to read and write guest registers and inject events. */
#ifndef MARROW_VMX_EXIT_H
#define MARROW_VMX_EXIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vcpu.h"
#include "vmx_defs.h"
#include "vmx_insn.h"

struct exit_ctx {
	struct vcpu *v;
	struct guest_regs *regs;
	uint32_t reason; /* basic exit reason */
};

/* Read by the handlers that use it, not on every exit. */
static inline uint64_t exit_qualification(void)
{
	return vmcs_read(VMCS_EXIT_QUALIFICATION);
}

enum exit_action {
	EXIT_RESUME,		/* re-enter the guest at the same RIP */
	EXIT_ADVANCE,		/* the instruction is done: skip it, re-enter */
	EXIT_ADVANCE_AND_LEAVE, /* skip it and leave VMX operation on this CPU */
};

typedef enum exit_action (*exit_handler_fn)(struct exit_ctx *c);

/* The instruction at the guest's RIP, length bytes long, is done: RIP
 * moves past it, an STI/MOV SS shadow ends, the guest's own RFLAGS.TF
 * single-step trap is raised (exit_dispatch.c). Handlers that return
 * EXIT_ADVANCE get this with the exit's instruction length; emulation of an
 * instruction whose exit reports none (an EPT violation) calls it. */
void exit_skip_instruction(uint64_t length);

/* GPR n in x86 numbering (0 RAX ... 4 RSP ... 15 R15). */
uint64_t gpr_read(const struct exit_ctx *c, unsigned n);
void gpr_write(struct exit_ctx *c, unsigned n, uint64_t value);
/* A 32-bit result, as instructions write EAX/EDX: upper half cleared. */
static inline void gpr_write32(struct exit_ctx *c, unsigned n, uint32_t value)
{
	gpr_write(c, n, value);
}

/* CR0 and CR4 as the guest reads them. */
uint64_t guest_cr0(void);
uint64_t guest_cr4(void);

/* The guest's current privilege level: SS.DPL (SDM 3C 25.4.1). */
unsigned guest_cpl(void);

/* Queues a hardware exception for the next VM entry, folding it with an
 * event already queued as the CPU would (#DF, or shutdown). */
void inject_exception(struct exit_ctx *c, unsigned vector, bool has_error, uint32_t error);
static inline void inject_ud(struct exit_ctx *c)
{
	inject_exception(c, 6, false, 0);
}
static inline void inject_gp0(struct exit_ctx *c)
{
	inject_exception(c, 13, true, 0);
}
/* Delivers queued guest NMIs now if the guest can take one, else asks for
 * an NMI-window exit. Called on every way back into the guest. */
void deliver_pending_nmis(struct vcpu *v);

/* Asks for an exit as soon as the guest can take an NMI (NMI-window
 * exiting, which needs virtual NMIs). False when the CPU cannot. */
bool request_nmi_window(void);

/* Leaves VMX operation: restores the guest's system state on the real CPU
 * and fills the exit frame's IRETQ part (vmx_leave.c). */
void vmx_leave(struct exit_ctx *c);

/* The handlers, by exit reason (exit_*.c). */
enum exit_action handle_exception_nmi(struct exit_ctx *c);
enum exit_action handle_external_interrupt(struct exit_ctx *c);
enum exit_action handle_triple_fault(struct exit_ctx *c);
enum exit_action handle_init(struct exit_ctx *c);
enum exit_action handle_sipi(struct exit_ctx *c);
enum exit_action handle_interrupt_window(struct exit_ctx *c);
enum exit_action handle_nmi_window(struct exit_ctx *c);
enum exit_action handle_task_switch(struct exit_ctx *c);
enum exit_action handle_cpuid(struct exit_ctx *c);
enum exit_action handle_getsec(struct exit_ctx *c);
enum exit_action handle_hlt(struct exit_ctx *c);
enum exit_action handle_invd(struct exit_ctx *c);
enum exit_action handle_wbinvd(struct exit_ctx *c);
enum exit_action handle_rdtsc(struct exit_ctx *c);
enum exit_action handle_rdtscp(struct exit_ctx *c);
enum exit_action handle_vmcall(struct exit_ctx *c);
enum exit_action handle_vmx_instruction(struct exit_ctx *c);
enum exit_action handle_cr_access(struct exit_ctx *c);
/* MSRs the VMCS holds for the guest (its EFER, PAT, FS base...): reading
 * or writing the real MSR in root mode would touch marrow's, not the
 * guest's. True with the guest-state field for msr. */
bool vmcs_msr_field(uint32_t msr, uint32_t *field);
enum exit_action handle_rdmsr(struct exit_ctx *c);
enum exit_action handle_wrmsr(struct exit_ctx *c);
enum exit_action handle_entry_failure(struct exit_ctx *c);
enum exit_action handle_ept_violation(struct exit_ctx *c);
enum exit_action handle_ept_misconfig(struct exit_ctx *c);
enum exit_action handle_xsetbv(struct exit_ctx *c);
enum exit_action handle_mtf(struct exit_ctx *c);
enum exit_action handle_preemption_timer(struct exit_ctx *c);
enum exit_action handle_unexpected(struct exit_ctx *c);

#endif
