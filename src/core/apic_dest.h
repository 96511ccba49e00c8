/* Which local APICs an interprocessor interrupt reaches: the destination
 * shorthand, physical and logical destination modes, flat and cluster
 * models, xAPIC and x2APIC formats (SDM 3A 11.6.1 "Interrupt Command
 * Register", 11.6.2 "Determining IPI Destination", 11.12.9 "ICR Operation
 * in x2APIC Mode", 11.12.10.2 "Deriving Logical x2APIC ID"). Pure. */
#ifndef MARROW_CORE_APIC_DEST_H
#define MARROW_CORE_APIC_DEST_H

#include <stdbool.h>
#include <stdint.h>

/* ICR fields. In xAPIC mode the destination is ICR bits 63:56; in x2APIC
 * mode bits 63:32. */
#define ICR_VECTOR(icr) ((uint32_t)(icr)&0xff)
#define ICR_DELIVERY_MODE(icr) (((uint32_t)(icr) >> 8) & 7)
#define ICR_LOGICAL (1u << 11)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_TRIGGER_LEVEL (1u << 15)
#define ICR_SHORTHAND(icr) (((uint32_t)(icr) >> 18) & 3)

enum icr_delivery {
	ICR_FIXED = 0,
	ICR_LOWEST = 1,
	ICR_SMI = 2,
	ICR_NMI = 4,
	ICR_INIT = 5,
	ICR_STARTUP = 6,
};

enum icr_shorthand {
	ICR_NO_SHORTHAND = 0,
	ICR_SELF = 1,
	ICR_ALL_INCLUDING_SELF = 2,
	ICR_ALL_EXCLUDING_SELF = 3,
};

/* A possible target: its APIC ID and, for xAPIC logical mode, its logical
 * destination (LDR) and destination format (DFR) registers. */
struct apic_target {
	uint32_t id;
	uint32_t ldr, dfr;
};

/* Does the IPI in icr, sent by the APIC with ID sender_id, reach t? */
bool apic_ipi_reaches(uint64_t icr, bool x2apic, uint32_t sender_id, const struct apic_target *t);

/* INIT level de-assert (delivery mode INIT, level 0, trigger level): on
 * every processor since the Pentium 4 it does nothing (SDM 3A 11.6.1). */
static inline bool icr_is_init_deassert(uint64_t icr)
{
	return ICR_DELIVERY_MODE(icr) == ICR_INIT && !(icr & ICR_LEVEL_ASSERT) &&
	       (icr & ICR_TRIGGER_LEVEL);
}

#endif
