/* Suites that end a run badly on purpose, each run only when named, so that
 * tests/run_all.py can prove the host runner tells a hang, a crash (triple
 * fault) and a panic apart from a pass. */
#include "arch/x86/intrin.h"
#include "guest_test.h"
#include "src/platform/baremetal/console.h"

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
