/* The local APIC, in xAPIC (MMIO) or x2APIC (MSR) mode, whichever the
 * firmware left enabled (SDM 3A 11). */
#ifndef MARROW_BAREMETAL_LAPIC_H
#define MARROW_BAREMETAL_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

void lapic_init_cpu(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
/* The calling CPU's timer raises vector once, after count bus clocks. */
void lapic_timer_oneshot(uint32_t count, uint8_t vector);
void lapic_timer_stop(void);
void lapic_send_nmi(uint32_t apic_id);
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t page);
uint64_t lapic_base(void);
bool lapic_is_x2apic(void);

#endif
