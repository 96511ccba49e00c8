#include "msr_bitmap.h"

#include "arch/x86/msr.h"
#include "core/mw_string.h"

/* Layout: read-low, read-high, write-low, write-high, 1 KiB each; low is
 * MSRs 0-1FFFH, high is C0000000H-C0001FFFH. */
static bool locate(uint32_t msr, bool write, uint32_t *byte, uint8_t *bit)
{
	uint32_t base;

	if (msr <= 0x1fff)
		base = 0;
	else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		base = 1024;
	else
		return false;
	uint32_t n = msr & 0x1fff;
	*byte = base + (write ? 2048 : 0) + n / 8;
	*bit = (uint8_t)(1u << (n % 8));
	return true;
}

bool msr_bitmap_intercept(uint8_t *bitmap, uint32_t msr, bool reads, bool writes)
{
	uint32_t byte;
	uint8_t bit;

	if (!locate(msr, false, &byte, &bit))
		return false;
	if (reads)
		bitmap[byte] |= bit;
	if (writes && locate(msr, true, &byte, &bit))
		bitmap[byte] |= bit;
	return true;
}

void msr_bitmap_release(uint8_t *bitmap, uint32_t msr)
{
	uint32_t byte;
	uint8_t bit;

	if (msr == MSR_IA32_FEATURE_CONTROL || (msr >= VMX_MSR_FIRST && msr <= VMX_MSR_LAST))
		return; /* always marrow's */
	if (locate(msr, false, &byte, &bit))
		bitmap[byte] &= (uint8_t)~bit;
	if (locate(msr, true, &byte, &bit))
		bitmap[byte] &= (uint8_t)~bit;
}

bool msr_bitmap_exits(const uint8_t *bitmap, uint32_t msr, bool write)
{
	uint32_t byte;
	uint8_t bit;

	return !locate(msr, write, &byte, &bit) || (bitmap[byte] & bit);
}

/* The VMX capability MSRs, IA32_VMX_BASIC (480H) to IA32_VMX_EXIT_CTLS2
 * (493H) (SDM 4, table 2-2). MSRs right after them (4C1H IA32_A_PMC0...)
 * are not VMX and pass through. */

void msr_bitmap_build(uint8_t *bitmap)
{
	memset(bitmap, 0, 4096);
	msr_bitmap_intercept(bitmap, MSR_IA32_FEATURE_CONTROL, true, true);
	for (uint32_t m = VMX_MSR_FIRST; m <= VMX_MSR_LAST; m++)
		msr_bitmap_intercept(bitmap, m, true, true);
}
