/* EPT violations and misconfigurations. A violation goes to the handler
 * the configuration registers (hooks); one nobody handles, and every
 * misconfiguration, stops with a full diagnostic: the guest-physical and
 * linear addresses, the qualification decoded, the entry at each level. */
#include "core/boot_apic.h"
#include "core/boot_hidden.h"
#include "core/marrow.h"
#include "core/root_log.h"
#include "ept/ept.h"
#include "exit.h"
#include "hook/split.h"

/* Exit qualification for EPT violations (SDM 3C 28.2.1, table 28-7). */
#define EPT_QUAL_READ (1u << 0)
#define EPT_QUAL_WRITE (1u << 1)
#define EPT_QUAL_FETCH (1u << 2)
#define EPT_QUAL_READABLE (1u << 3)
#define EPT_QUAL_WRITABLE (1u << 4)
#define EPT_QUAL_EXECUTABLE (1u << 5)
#define EPT_QUAL_LINEAR_VALID (1u << 7)
#define EPT_QUAL_TRANSLATION (1u << 8)
#define EPT_QUAL_NMI_UNBLOCKED (1u << 12)

static void report_walk(struct vcpu *v, uint64_t gpa)
{
	uint64_t entries[EPT_LEVELS];
	unsigned n = ept_walk(v->ept, gpa, entries);
	static const char *const names[EPT_LEVELS] = { "PML4E", "PDPTE", "PDE", "PTE" };

	for (unsigned i = 0; i < n; i++)
		root_fatal_note(v, "marrow:   %s %016llx", names[i],
				(unsigned long long)entries[i]);
}

enum exit_action handle_ept_violation(struct exit_ctx *c)
{
	uint64_t gpa = vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS);
	uint64_t q = exit_qualification();

	bool handled = split_on_violation(c->v, gpa, q);
	/* A write to the local APIC page, when INITs are emulated, or an
	 * access to marrow's own memory once hidden (a boot-time guest's, or
	 * any after the UEFI seal): emulated, RIP already moved
	 * (core/boot_apic.h, core/boot_hidden.h, core/seal.h). */
	if (!handled && mw.cfg.emulate_init && boot_apic_violation(c, gpa, q))
		return EXIT_RESUME;
	if (!handled && mw.hidden_count && boot_hidden_violation(c, gpa, q))
		return EXIT_RESUME;
	if (!handled && mw.cfg.ept_violation_handler)
		handled = mw.cfg.ept_violation_handler(c->v, gpa, q);
	if (handled) {
		c->v->stats.ept_violations++;
		/* The IRET that faulted had unblocked NMIs; it runs again, so
		 * the blocking comes back (SDM 3C 28.2.3). */
		if ((q & EPT_QUAL_NMI_UNBLOCKED) && mw.ctl.virtual_nmis)
			vmcs_write(VMCS_GUEST_INTERRUPTIBILITY_INFO,
				   vmcs_read(VMCS_GUEST_INTERRUPTIBILITY_INFO) |
					   INTERRUPTIBILITY_NMI);
		return EXIT_RESUME;
	}
	root_fatal_note(
		c->v,
		"marrow: EPT violation: gpa %llx, %s%s%s access to a page %s%s%s; linear %s%llx%s",
		(unsigned long long)gpa, (q & EPT_QUAL_READ) ? "read" : "",
		(q & EPT_QUAL_WRITE) ? "write" : "", (q & EPT_QUAL_FETCH) ? "fetch" : "",
		(q & EPT_QUAL_READABLE) ? "r" : "-", (q & EPT_QUAL_WRITABLE) ? "w" : "-",
		(q & EPT_QUAL_EXECUTABLE) ? "x" : "-", (q & EPT_QUAL_LINEAR_VALID) ? "" : "(none) ",
		(unsigned long long)((q & EPT_QUAL_LINEAR_VALID)
					     ? vmcs_read(VMCS_GUEST_LINEAR_ADDRESS)
					     : 0),
		(q & EPT_QUAL_TRANSLATION) ? " (its translation)" : " (a paging-structure walk)");
	report_walk(c->v, gpa);
	root_fatal_exit(c->v, "an EPT violation that no handler claimed");
}

enum exit_action handle_ept_misconfig(struct exit_ctx *c)
{
	uint64_t gpa = vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS);

	root_fatal_note(c->v, "marrow: EPT misconfiguration at gpa %llx", (unsigned long long)gpa);
	report_walk(c->v, gpa);
	root_fatal_exit(c->v, "EPT misconfiguration");
}
