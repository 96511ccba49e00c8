#include "boot_hidden.h"

#include "core/boot_apic.h"
#include "core/marrow.h"
#include "core/root_log.h"
#include "core/seal.h"
#include "vmx/emulate.h"

/* Exit qualification for EPT violations (SDM 3C 28.2.1, table 28-7). */
#define QUAL_FETCH (1u << 2)
#define QUAL_LINEAR_VALID (1u << 7)
#define QUAL_TRANSLATION (1u << 8)

__attribute__((noreturn)) static void cannot_answer(struct exit_ctx *c, uint64_t gpa,
						    const struct emul *e, const char *why)
{
	char bytes[64];

	emul_bytes_text(e, bytes, sizeof(bytes));
	root_fatal_note(c->v,
			"marrow: the guest reached marrow's memory at gpa %llx (rip %llx, "
			"instruction %s)",
			(unsigned long long)gpa, (unsigned long long)vmcs_read(VMCS_GUEST_RIP),
			bytes);
	root_fatal_exit(c->v, why);
}

bool boot_hidden_violation(struct exit_ctx *c, uint64_t gpa, uint64_t q)
{
	struct emul e = { 0 };

	if (!seal_is_hidden(gpa))
		return false;
	c->v->stats.ept_violations++;
	/* A walk of the guest's page tables met marrow's memory: the tables
	 * would read as all ones (reserved bits set), which no guest means. */
	if ((q & QUAL_LINEAR_VALID) && !(q & QUAL_TRANSLATION))
		cannot_answer(c, gpa, &e, "the guest's page tables lie in marrow's memory");
	if (q & QUAL_FETCH) {
		inject_ud(c);
		return true;
	}
	if (!emul_decode(c, &e))
		cannot_answer(c, gpa, &e,
			      "an access to marrow's memory by an instruction marrow does not "
			      "emulate");
	if (e.insn.kind == MEM_LOAD || e.insn.kind == MEM_XCHG)
		emul_load(c, &e, ~0ull);
	emul_skip(&e);
	return true;
}
