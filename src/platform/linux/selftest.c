/* Proof that the core's exception-table entries (arch/x86/safe.h) reach
 * Linux's fault handlers. This file includes marrow's headers only: their
 * rdmsr_safe() and Linux's macro of the same name cannot meet. */
#include <stdbool.h>

#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/safe.h"
#include "mwl_selftest.h"

bool mwl_extable_selftest(void)
{
	/* XCR0 bit 0 (x87) can never be cleared: XSETBV of 0 raises #GP on
	 * every CPU (SDM 2B XSETBV), with no effect. Linux's #GP handler must
	 * find our __ex_table entry and resume at the fixup, where
	 * xsetbv_safe returns false. Without XSAVE enabled there is nothing
	 * to try (XSETBV would #UD, which the same entry also covers). */
	if (!(cpuid(1).ecx & CPUID_1_ECX_OSXSAVE))
		return true;
	return !xsetbv_safe(0, 0);
}
