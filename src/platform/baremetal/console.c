#include "console.h"

#include "arch/x86/intrin.h"
#include "core/fmt.h"
#include "core/mw_string.h"
#include "core/spinlock.h"
#include "percpu.h"
#include "run.h"
#include "serial.h"

static struct spinlock console_lock;
/* The CPU holding console_lock, so that a fault while printing (or a panic
 * inside kprintf) does not deadlock on its own lock. */
static volatile int console_owner = -1;

void console_write(const char *s, size_t len)
{
	uint64_t flags = read_rflags();
	int me = (int)this_cpu()->index;
	bool nested = console_owner == me;

	cpu_cli();
	if (!nested) {
		spin_lock(&console_lock);
		console_owner = me;
	}
	serial_write(s, len);
	if (!nested) {
		console_owner = -1;
		spin_unlock(&console_lock);
	}
	if (flags & (1u << 9))
		cpu_sti();
}

void kvprintf(const char *fmt, va_list ap)
{
	char buf[512];
	int n = mw_vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	console_write(buf, len);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

void kputs(const char *s)
{
	console_write(s, strlen(s));
}

void panic(const char *fmt, ...)
{
	va_list ap;
	cpu_cli();
	kprintf("PANIC on cpu %u: ", this_cpu()->index);
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kputs("\n");
	run_end(RUN_FAILED, "panic");
}
