/* Little-endian fields at any alignment, as the formats marrow parses lay
 * them out (multiboot, ELF, the Linux boot protocol, ACPI, PE): memcpy
 * rather than a cast, which would be undefined at an odd address and
 * would break strict aliasing. Pure; x86 is little-endian. */
#ifndef MARROW_CORE_UNALIGNED_H
#define MARROW_CORE_UNALIGNED_H

#include <stdint.h>

#include "core/mw_string.h"

static inline uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

#endif
