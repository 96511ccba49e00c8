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

/* Bits in the guest/host mask read as the shadow says, the rest as the
 * guest set them (SDM 3C 25.6.6): a bit marrow does not own can change
 * without an exit, and only GUEST_CRn has it. */
uint64_t guest_cr0(void)
{
	uint64_t m = vmcs_read(VMCS_CR0_GUEST_HOST_MASK);
	return (vmcs_read(VMCS_GUEST_CR0) & ~m) | (vmcs_read(VMCS_CR0_READ_SHADOW) & m);
}

uint64_t guest_cr4(void)
{
	uint64_t m = vmcs_read(VMCS_CR4_GUEST_HOST_MASK);
	return (vmcs_read(VMCS_GUEST_CR4) & ~m) | (vmcs_read(VMCS_CR4_READ_SHADOW) & m);
}
