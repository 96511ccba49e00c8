/* Guest register access for exit handlers. */
#include "exit.h"

uint64_t gpr_read(const struct exit_ctx *c, unsigned n)
{
	if (n == 4)
		return vmcs_read(VMCS_GUEST_RSP);
	return ((const uint64_t *)c->regs)[n & 15];
}

void gpr_write(struct exit_ctx *c, unsigned n, uint64_t value)
{
	if (n == 4)
		vmcs_write(VMCS_GUEST_RSP, value);
	else
		((uint64_t *)c->regs)[n & 15] = value;
}

unsigned guest_cpl(void)
{
	return (unsigned)(vmcs_read(VMCS_GUEST_SS_AR_BYTES) >> 5) & 3;
}
