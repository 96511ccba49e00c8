/* The definitions of root_fatal_trap and root_fatal_exit, not the macros. */
#define MW_ROOT_LOG_IMPL
#include "root_log.h"

#include <stdarg.h>

#include "arch/x86/intrin.h"
#include "core/debug_port.h"
#include "core/fmt.h"
#include "core/log_ring.h"
#include "core/marrow.h"
#include "core/vcpu.h"
#include "vmx/vmx_defs.h"
#include "vmx/vmx_insn.h"

static void root_vlog(struct vcpu *v, enum mw_log_level level, const char *fmt, va_list ap)
{
	log_ring_vprintf(&v->log, level, rdtsc(), fmt, ap);
}

void root_log(struct vcpu *v, enum mw_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	root_vlog(v, level, fmt, ap);
	va_end(ap);
}

/* A fatal line goes to the ring and, formatted once more, to the debug
 * port: the ring may never be drained if this CPU is going down. */
void root_fatal_note(struct vcpu *v, const char *fmt, ...)
{
	char line[192];
	va_list ap;

	va_start(ap, fmt);
	int n = mw_vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	size_t len = n < (int)sizeof(line) - 1 ? (size_t)n : sizeof(line) - 2;
	root_log(v, MW_LOG_ERROR, "%s", line);
	line[len] = '\n';
	debug_port_write(mw.cfg.debug_port, line, len + 1);
}

__attribute__((noreturn)) static void stop_cpu(void)
{
	if (mw.cfg.root_fatal_hook)
		mw.cfg.root_fatal_hook();
	for (;;)
		__asm__ volatile("cli; hlt");
}

void root_fatal_trap(struct vcpu *v, uint64_t vector, uint64_t error_code, uint64_t rip,
		     uint64_t rsp)
{
	root_fatal_note(v,
			"marrow: FATAL: exception %llu (error 0x%llx) in VMX root mode on cpu %u",
			(unsigned long long)vector, (unsigned long long)error_code, v->index);
	root_fatal_note(v, "marrow:   rip %016llx rsp %016llx cr2 %016llx", (unsigned long long)rip,
			(unsigned long long)rsp, (unsigned long long)read_cr2());
	stop_cpu();
}

void root_fatal_exit(struct vcpu *v, const char *why)
{
	uint32_t reason = (uint32_t)v->exit_reason;

	root_fatal_note(v, "marrow: FATAL on cpu %u: %s", v->index, why);
	root_fatal_note(v, "marrow:   exit reason %u (%s)%s, qualification 0x%llx",
			EXIT_REASON_BASIC(reason), exit_reason_name(EXIT_REASON_BASIC(reason)),
			(reason & EXIT_REASON_ENTRY_FAILURE) ? ", VM-entry failure" : "",
			(unsigned long long)vmcs_read(VMCS_EXIT_QUALIFICATION));
	root_fatal_note(v, "marrow:   guest rip %016llx rsp %016llx rflags %016llx",
			(unsigned long long)vmcs_read(VMCS_GUEST_RIP),
			(unsigned long long)vmcs_read(VMCS_GUEST_RSP),
			(unsigned long long)vmcs_read(VMCS_GUEST_RFLAGS));
	root_fatal_note(v, "marrow:   guest cr0 %016llx cr3 %016llx cr4 %016llx",
			(unsigned long long)vmcs_read(VMCS_GUEST_CR0),
			(unsigned long long)vmcs_read(VMCS_GUEST_CR3),
			(unsigned long long)vmcs_read(VMCS_GUEST_CR4));
	root_fatal_note(
		v,
		"marrow:   guest cs %04llx ss %04llx efer %llx activity %llu interruptibility %llx",
		(unsigned long long)vmcs_read(VMCS_GUEST_CS_SELECTOR),
		(unsigned long long)vmcs_read(VMCS_GUEST_SS_SELECTOR),
		(unsigned long long)vmcs_read(VMCS_GUEST_IA32_EFER),
		(unsigned long long)vmcs_read(VMCS_GUEST_ACTIVITY_STATE),
		(unsigned long long)vmcs_read(VMCS_GUEST_INTERRUPTIBILITY_INFO));
	root_fatal_note(v, "marrow:   guest-physical %016llx linear %016llx idt-vectoring %llx",
			(unsigned long long)vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS),
			(unsigned long long)vmcs_read(VMCS_GUEST_LINEAR_ADDRESS),
			(unsigned long long)vmcs_read(VMCS_IDT_VECTORING_INFO));
	stop_cpu();
}
