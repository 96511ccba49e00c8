#include "debug_port.h"

#include "arch/x86/intrin.h"

#define UART_LSR 5
#define LSR_THRE (1u << 5)
#define LSR_TEMT (1u << 6)
/* A bound on waiting for the UART, so a dead port cannot hang root mode. */
#define MAX_POLLS 100000

static void put(uint16_t port, char c)
{
	for (int i = 0; i < MAX_POLLS && !(inb(port + UART_LSR) & LSR_THRE); i++)
		cpu_pause();
	outb(port, (uint8_t)c);
}

void debug_port_write(uint16_t port, const char *s, size_t len)
{
	if (!port)
		return;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			put(port, '\r');
		put(port, s[i]);
	}
	for (int i = 0; i < MAX_POLLS && !(inb(port + UART_LSR) & LSR_TEMT); i++)
		cpu_pause();
}
