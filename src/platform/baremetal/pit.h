/* Delays measured by the 8254 PIT, channel 2: the same on hardware and in
 * Bochs, where the TSC counts instructions rather than time. */
#ifndef MARROW_BAREMETAL_PIT_H
#define MARROW_BAREMETAL_PIT_H

#include <stdint.h>

void pit_delay_us(uint32_t us);

#endif
