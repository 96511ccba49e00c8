/* Sending an NMI to another CPU from VMX root mode, through the local APIC
 * in x2APIC (MSR) or xAPIC (MMIO, mapped before launch) mode. */
#ifndef MARROW_CORE_IPI_H
#define MARROW_CORE_IPI_H

#include <stdint.h>

/* The calling CPU's APIC ID as the ICR wants it. */
uint32_t lapic_current_id(void);
void lapic_send_nmi_root(uint32_t apic_id);

#endif
