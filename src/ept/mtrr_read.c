/* Snapshots the running CPU's MTRRs into a struct mtrr_state (SDM 3A 11.11).
 * Kernel only: it executes CPUID and RDMSR. Every RDMSR is the faulting-safe
 * one, so a CPU (or an emulator) that lacks an MSR it claims gives 0, not a
 * crash; a 0 DEF_TYPE means MTRRs disabled, which is UC everywhere. */
#include <stdint.h>

#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "arch/x86/safe.h"
#include "core/mw_string.h"
#include "mtrr.h"

/* In the order of struct mtrr_state.fixed (SDM 3A 11.11.2.2, Table 11-9). */
static const uint32_t mtrr_fixed_msrs[MTRR_NUM_FIXED] = {
	MSR_IA32_MTRR_FIX64K_00000, MSR_IA32_MTRR_FIX16K_80000, MSR_IA32_MTRR_FIX16K_A0000,
	MSR_IA32_MTRR_FIX4K_C0000,  MSR_IA32_MTRR_FIX4K_C8000,	MSR_IA32_MTRR_FIX4K_D0000,
	MSR_IA32_MTRR_FIX4K_D8000,  MSR_IA32_MTRR_FIX4K_E0000,	MSR_IA32_MTRR_FIX4K_E8000,
	MSR_IA32_MTRR_FIX4K_F0000,  MSR_IA32_MTRR_FIX4K_F8000,
};

static uint64_t mtrr_rdmsr(uint32_t msr)
{
	uint64_t v;

	if (!rdmsr_safe(msr, &v))
		return 0;
	return v;
}

void mtrr_read(struct mtrr_state *s, unsigned phys_addr_bits)
{
	memset(s, 0, sizeof(*s));
	s->phys_bits = phys_addr_bits;
	/* SDM 3A 11.11.1: no MTRR feature, no MTRR MSRs; E = 0 stands for it. */
	if (!(cpuid(1).edx & CPUID_1_EDX_MTRR))
		return;
	s->cap = mtrr_rdmsr(MSR_IA32_MTRRCAP);
	s->def_type = mtrr_rdmsr(MSR_IA32_MTRR_DEF_TYPE);
	if (s->cap & MTRRCAP_FIX)
		for (unsigned i = 0; i < MTRR_NUM_FIXED; i++)
			s->fixed[i] = mtrr_rdmsr(mtrr_fixed_msrs[i]);
	unsigned vcnt = (unsigned)(s->cap & MTRRCAP_VCNT_MASK);
	for (unsigned i = 0; i < vcnt && i < MTRR_MAX_VAR; i++) {
		s->var[i].base = mtrr_rdmsr(MSR_IA32_MTRR_PHYSBASE0 + 2 * i);
		s->var[i].mask = mtrr_rdmsr(MSR_IA32_MTRR_PHYSMASK0 + 2 * i);
	}
}
