/* What driver.c needs from platform_win.c beyond platform.h. */
#ifndef MARROW_WINDOWS_WIN_PLATFORM_H
#define MARROW_WINDOWS_WIN_PLATFORM_H

#include "nt_decls.h"

#include "marrow/hypercall.h"

/* Snapshots the physical memory map (PASSIVE_LEVEL, before anything
 * asks for it: MmGetPhysicalMemoryRanges may not be called at the IRQLs
 * the core runs at). */
NTSTATUS win_platform_init(void);

/* Broadcasts whose DPCs did not reach every CPU exactly once since the
 * last call (and resets the count). */
unsigned win_platform_take_fanout_failures(void);

/* A hypercall with marrow's key, made at DISPATCH_LEVEL on a CPU marrow
 * virtualizes; false (no VMCALL, which would raise #UD) if this CPU is not
 * virtualized. */
bool win_hypercall(uint64_t function, uint64_t a1, uint64_t a2, uint64_t a3,
		   struct mw_hc_result *r);

#endif
