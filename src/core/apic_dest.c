#include "apic_dest.h"

#define XAPIC_BROADCAST 0xffu
#define X2APIC_BROADCAST 0xffffffffu
#define DFR_FLAT 0xfu /* DFR bits 31:28 */

static uint32_t destination(uint64_t icr, bool x2apic)
{
	return x2apic ? (uint32_t)(icr >> 32) : (uint32_t)(icr >> 56);
}

/* The logical x2APIC ID follows from the x2APIC ID: cluster in 31:16, one
 * bit of 16 in 15:0 (SDM 3A 11.12.10.2). */
static bool x2apic_logical(uint32_t dest, uint32_t id)
{
	uint32_t cluster = id >> 4, bit = 1u << (id & 0xf);
	return (dest >> 16) == cluster && (dest & 0xffff & bit);
}

/* xAPIC: the flat model ANDs the 8-bit destination with LDR[31:24]; the
 * cluster model compares cluster numbers (bits 7:4) and ANDs bits 3:0
 * (SDM 3A 11.6.2.2). */
static bool xapic_logical(uint32_t dest, const struct apic_target *t)
{
	uint32_t ldr = t->ldr >> 24;
	if ((t->dfr >> 28) == DFR_FLAT)
		return dest & ldr;
	return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xf);
}

bool apic_ipi_reaches(uint64_t icr, bool x2apic, uint32_t sender_id, const struct apic_target *t)
{
	switch (ICR_SHORTHAND(icr)) {
	case ICR_SELF:
		return t->id == sender_id;
	case ICR_ALL_INCLUDING_SELF:
		return true;
	case ICR_ALL_EXCLUDING_SELF:
		return t->id != sender_id;
	default:
		break;
	}
	uint32_t dest = destination(icr, x2apic);
	if (dest == (x2apic ? X2APIC_BROADCAST : XAPIC_BROADCAST))
		return true;
	if (!(icr & ICR_LOGICAL))
		return dest == t->id;
	return x2apic ? x2apic_logical(dest, t->id) : xapic_logical(dest, t);
}
