/* Exits marrow cannot continue the guest from, and exits it never enables.
 * None of them is a guest's doing that a CPU without marrow would survive:
 * a triple fault resets a real machine; a failed VM entry, an EPT
 * misconfiguration or an unexpected instruction exit is marrow's own bug.
 * Each stops with a full diagnostic (root_fatal_exit), never a silent hang. */
#include "core/root_log.h"
#include "exit.h"

enum exit_action handle_triple_fault(struct exit_ctx *c)
{
	root_fatal_exit(c->v, "the guest triple-faulted (a real CPU would shut down)");
}

enum exit_action handle_entry_failure(struct exit_ctx *c)
{
	switch (c->reason) {
	case EXIT_ENTRY_FAIL_GUEST_STATE:
		root_fatal_exit(c->v, "VM entry failed: invalid guest state");
	case EXIT_ENTRY_FAIL_MSR_LOADING:
		root_fatal_exit(c->v, "VM entry failed: MSR loading");
	default:
		root_fatal_exit(c->v, "VM entry failed: machine check during entry");
	}
}

enum exit_action handle_task_switch(struct exit_ctx *c)
{
	/* Only a 32-bit guest can switch tasks in hardware (IA-32e mode has
	 * no task switching); marrow does not emulate it. */
	root_fatal_exit(c->v, "hardware task switch (not supported)");
}

enum exit_action handle_unexpected(struct exit_ctx *c)
{
	c->v->stats.unexpected_exits++;
	root_fatal_exit(c->v, "an exit marrow does not enable");
}
