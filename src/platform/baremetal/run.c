#include "run.h"

#include "arch/x86/intrin.h"
#include "console.h"
#include "serial.h"

/* Bochs' shutdown port: writing "Shutdown" ends the emulator. */
#define BOCHS_SHUTDOWN_PORT 0x8900

static volatile int run_ending;

__attribute__((noreturn)) static void stop_bochs(void)
{
	/* Bochs' magic breakpoint (xchg bx,bx) drops into its debugger, whose
	 * rc file says quit: Bochs exits 0. Without it, the shutdown port. */
	__asm__ volatile("xchg %%bx, %%bx" ::: "memory");
	for (const char *s = "Shutdown"; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s);
	for (;;)
		cpu_hlt();
}

void run_end_from_root(void)
{
	static const char line[] = "marrow: run failed: fatal error in VMX root mode\n";

	cpu_cli();
	if (__atomic_exchange_n(&run_ending, 1, __ATOMIC_SEQ_CST))
		for (;;)
			cpu_hlt();
	serial_write(line, sizeof(line) - 1);
	serial_drain();
	stop_bochs();
}

void run_end(enum run_verdict verdict, const char *reason)
{
	cpu_cli();
	/* One verdict per run: a second CPU failing at the same time waits. */
	if (__atomic_exchange_n(&run_ending, 1, __ATOMIC_SEQ_CST))
		for (;;)
			cpu_hlt();

	if (verdict == RUN_COMPLETE)
		kputs("marrow: run complete\n");
	else
		kprintf("marrow: run failed: %s\n", reason ? reason : "unknown");
	serial_drain();
	stop_bochs();
}
