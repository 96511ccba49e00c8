/* The calling CPU's local APIC as VMX root mode reaches it: registers named
 * by their xAPIC offset, through MSRs in x2APIC mode (SDM 3A 11.12.1.2) and
 * through marrow's mapping of the APIC page (mw.lapic_mmio, made before
 * launch) in xAPIC mode. Root-safe; a register the mode lacks (DFR in
 * x2APIC mode) reads 0 and ignores writes. */
#ifndef MARROW_CORE_APIC_ROOT_H
#define MARROW_CORE_APIC_ROOT_H

#include <stdbool.h>
#include <stdint.h>

#define APIC_REG_ID 0x020
#define APIC_REG_VERSION 0x030
#define APIC_REG_TPR 0x080
#define APIC_REG_EOI 0x0b0
#define APIC_REG_LDR 0x0d0
#define APIC_REG_DFR 0x0e0
#define APIC_REG_SVR 0x0f0
#define APIC_REG_ISR0 0x100
#define APIC_REG_ESR 0x280
#define APIC_REG_LVT_CMCI 0x2f0
#define APIC_REG_ICR_LOW 0x300
#define APIC_REG_ICR_HIGH 0x310
#define APIC_REG_LVT_TIMER 0x320
#define APIC_REG_LVT_ERROR 0x370
#define APIC_REG_TIMER_INITIAL 0x380
#define APIC_REG_TIMER_DIVIDE 0x3e0

bool apic_root_x2apic(void);
uint32_t apic_root_read(uint32_t reg);
void apic_root_write(uint32_t reg, uint32_t value);

/* Puts the APIC in the state an INIT leaves it in (SDM 3A 11.4.7.3: that of
 * power-up, 11.4.7.1, but for the APIC ID): software-disabled, every LVT
 * masked, TPR, timer and logical destination cleared, no interrupt in
 * service. What software cannot clear stays: an interrupt already in the
 * IRR is delivered once the guest enables the APIC again. */
void apic_root_init_reset(void);

#endif
