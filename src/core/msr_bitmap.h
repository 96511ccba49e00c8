/* The MSR bitmap (SDM 3C 25.6.9): which RDMSR/WRMSR exit. Shared by all
 * CPUs; MSR hooks set and clear bits while they run (each CPU then reloads
 * its controls, MW_HC_SYNC_CONTROLS). */
#ifndef MARROW_CORE_MSR_BITMAP_H
#define MARROW_CORE_MSR_BITMAP_H

#include <stdbool.h>
#include <stdint.h>

/* Marks reads and/or writes of msr as exiting. MSRs outside the two ranges
 * the bitmap covers always exit; returns false for them. */
bool msr_bitmap_intercept(uint8_t *bitmap, uint32_t msr, bool reads, bool writes);
/* Lets reads and writes of msr pass again, unless marrow itself answers
 * it (msr_bitmap_build). */
void msr_bitmap_release(uint8_t *bitmap, uint32_t msr);
bool msr_bitmap_exits(const uint8_t *bitmap, uint32_t msr, bool write);
/* marrow's bitmap: IA32_FEATURE_CONTROL and the VMX capability MSRs. */
void msr_bitmap_build(uint8_t *bitmap);

#define VMX_MSR_FIRST 0x480
#define VMX_MSR_LAST 0x493

#endif
