/* CPUID: the CPU's own answer, minus VMX (marrow is invisible: SDM 2A
 * CPUID leaf 1 ECX[5]). With cpuid_identify, the hypervisor-present bit
 * and the 0x40000000 leaves name marrow (docs/hypercalls.md). */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "exit.h"
#include "marrow/hypercall.h"

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

/* CPUID reports some of the OS's own enables, read from CR4: OSXSAVE
 * (leaf 1 ECX[27]) and OSPKE (leaf 7 subleaf 0 ECX[4]) (SDM 2A CPUID).
 * Executed in root mode, it reports root mode's CR4: the guest's goes in
 * instead (a boot-time guest's CR4 is its own from its first instruction). */

static void os_enables(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r)
{
	uint64_t cr4 = guest_cr4();

	if (leaf == 1) {
		r->ecx &= ~CPUID_1_ECX_OSXSAVE;
		if ((r->ecx & CPUID_1_ECX_XSAVE) && (cr4 & CR4_OSXSAVE))
			r->ecx |= CPUID_1_ECX_OSXSAVE;
	} else if (leaf == 7 && subleaf == 0) {
		r->ecx &= ~CPUID_7_ECX_OSPKE;
		if ((r->ecx & CPUID_7_ECX_PKU) && (cr4 & CR4_PKE))
			r->ecx |= CPUID_7_ECX_OSPKE;
	}
}

enum exit_action handle_cpuid(struct exit_ctx *c)
{
	uint32_t leaf = (uint32_t)c->regs->rax, subleaf = (uint32_t)c->regs->rcx;
	struct cpuid_regs r;

	if (!(mw.cfg.cpuid_identify && identify(leaf, &r))) {
		r = cpuid_count(leaf, subleaf);
		os_enables(leaf, subleaf, &r);
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
