/* Suites that end a run badly on purpose, each run only when named, so that
 * tests/run_all.py can prove the host runner tells a hang, a crash (triple
 * fault) and a panic apart from a pass. */
#include "arch/x86/intrin.h"
#include "guest_test.h"
#include "src/platform/baremetal/console.h"
#include "vmx_util.h"

GUEST_TEST_EXPLICIT(hang, spins_forever)
{
	cpu_cli();
	for (;;)
		cpu_pause();
}

GUEST_TEST_EXPLICIT(crash, triple_faults)
{
	static const struct desc_ptr empty_idt = { 0, 0 };

	/* With no IDT, the breakpoint faults, the fault double-faults, and
	 * the double fault shuts the CPU down (SDM 3A 6.15, interrupt 8). */
	cpu_cli();
	lidt(&empty_idt);
	__asm__ volatile("int3");
}

GUEST_TEST_EXPLICIT(panic, panics)
{
	panic("deliberate panic from the panic suite");
}

/* Under marrow, the guest's triple fault is an exit marrow cannot continue
 * from: it must print its diagnostic and end the run, not hang. */
GUEST_TEST_EXPLICIT(vmx_triple_fault, is_diagnosed_by_marrow)
{
	static const struct desc_ptr empty_idt = { 0, 0 };

	vt_up(NULL);
	cpu_cli();
	lidt(&empty_idt);
	__asm__ volatile("int3");
}
