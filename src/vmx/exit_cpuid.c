/* CPUID: the CPU's own answer, minus VMX (marrow is invisible: SDM 2A
 * CPUID leaf 1 ECX[5]). With cpuid_identify, the hypervisor-present bit
 * and the 0x40000000 leaves name marrow (docs/hypercalls.md). */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "exit.h"
#include "marrow/hypercall.h"
#include "vmcs_setup.h"

#define LEAF_HYPERVISOR_BASE 0x40000000u
#define LEAF_HYPERVISOR_INFO 0x40000001u

static bool identify(uint32_t leaf, struct cpuid_regs *r)
{
	if (leaf == LEAF_HYPERVISOR_BASE) {
		/* Highest hypervisor leaf, then the signature in EBX, ECX, EDX
		 * (the order its 12 bytes are read in, as for the vendor). */
		static const char signature[12] = { 'm', 'a', 'r', 'r', 'o', 'w',
						    'm', 'a', 'r', 'r', 'o', 'w' };
		r->eax = LEAF_HYPERVISOR_INFO;
		memcpy(&r->ebx, signature, 4);
		memcpy(&r->ecx, signature + 4, 4);
		memcpy(&r->edx, signature + 8, 4);
		return true;
	}
	if (leaf == LEAF_HYPERVISOR_INFO) {
		*r = (struct cpuid_regs){ (MW_HC_VERSION_MAJOR << 16) | MW_HC_VERSION_MINOR, 0, 0,
					  0 };
		return true;
	}
	return false;
}

/* CR4 as the guest set it: its own bits, and the shadow of those marrow
 * owns. */
static uint64_t guest_cr4(void)
{
	uint64_t owned = vmx_cr4_mask();
	return (vmcs_read(VMCS_GUEST_CR4) & ~owned) | (vmcs_read(VMCS_CR4_READ_SHADOW) & owned);
}

/* CPUID.1:ECX.OSXSAVE and CPUID.(7,0):ECX.OSPKE mirror CR4.OSXSAVE and
 * CR4.PKE (SDM 2A CPUID); executed in root mode they show root mode's CR4,
 * so they are set from the guest's. */
static void mirror_guest_cr4(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r)
{
	uint64_t cr4 = guest_cr4();

	if (leaf == 1)
		r->ecx = (r->ecx & ~CPUID_1_ECX_OSXSAVE) |
			 ((cr4 & CR4_OSXSAVE) ? CPUID_1_ECX_OSXSAVE : 0);
	if (leaf == 7 && subleaf == 0)
		r->ecx = (r->ecx & ~CPUID_7_ECX_OSPKE) | ((cr4 & CR4_PKE) ? CPUID_7_ECX_OSPKE : 0);
}

enum exit_action handle_cpuid(struct exit_ctx *c)
{
	uint32_t leaf = (uint32_t)c->regs->rax, subleaf = (uint32_t)c->regs->rcx;
	struct cpuid_regs r;

	if (!(mw.cfg.cpuid_identify && identify(leaf, &r))) {
		r = cpuid_count(leaf, subleaf);
		mirror_guest_cr4(leaf, subleaf, &r);
		if (leaf == 1) {
			r.ecx &= ~CPUID_1_ECX_VMX;
			if (mw.cfg.cpuid_identify)
				r.ecx |= CPUID_1_ECX_HYPERVISOR;
		}
	}
	gpr_write32(c, 0, r.eax);
	gpr_write32(c, 3, r.ebx);
	gpr_write32(c, 1, r.ecx);
	gpr_write32(c, 2, r.edx);
	return EXIT_ADVANCE;
}
