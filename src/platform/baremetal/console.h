/* The kernel console: formatted output to COM1, one line at a time per CPU
 * so that lines from several CPUs do not interleave. */
#ifndef MARROW_BAREMETAL_CONSOLE_H
#define MARROW_BAREMETAL_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>

void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);
void kputs(const char *s);
void console_write(const char *s, size_t len);

/* Prints the message and the calling CPU, then ends the run as a failure. */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

#endif
