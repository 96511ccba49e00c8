/* A polled 16550 UART writer that is safe in VMX root mode (no locks, no
 * OS): the last-resort channel for fatal diagnostics, off unless the
 * platform configures a port. */
#ifndef MARROW_CORE_DEBUG_PORT_H
#define MARROW_CORE_DEBUG_PORT_H

#include <stddef.h>
#include <stdint.h>

void debug_port_write(uint16_t port, const char *s, size_t len);

#endif
