/* COM1, polled: the bare-metal kernel's console. */
#ifndef MARROW_BAREMETAL_SERIAL_H
#define MARROW_BAREMETAL_SERIAL_H

#include <stddef.h>

void serial_init(void);
void serial_write(const char *s, size_t len);
/* Waits until the UART has sent every byte (LSR.TEMT), so nothing is lost
 * when the run ends right after. */
void serial_drain(void);

#endif
