/* What this CPU's VMX can do: the support check (SDM 3C 24.6, 24.7) and
 * the capability MSRs (SDM 3D appendix A), and the control settings marrow
 * derives from them. */
#ifndef MARROW_VMX_CAPS_H
#define MARROW_VMX_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

struct vmx_caps {
	uint64_t basic;
	uint64_t pin, proc, proc2, exit, entry; /* TRUE_ variants where offered */
	uint64_t misc;
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	uint64_t ept_vpid;
	uint64_t vmfunc;
	unsigned phys_addr_bits; /* MAXPHYADDR, CPUID 80000008H:EAX[7:0] */
};

/* The controls marrow runs with, derived from the capabilities. */
struct vmx_controls {
	uint32_t pin, proc, proc2, exit, entry;
	bool virtual_nmis;
	bool unrestricted_guest;
	bool mtf;
	bool execute_only_ept;
	bool ept_1g_pages;
	bool vmfunc;
};

/* Checks vendor, CPUID.1:ECX.VMX and IA32_FEATURE_CONTROL on the calling
 * CPU, locking FEATURE_CONTROL with VMXON-outside-SMX when the firmware
 * left it unlocked. Fills err (step MW_STEP_SUPPORT) on refusal. */
enum mw_status vmx_check_support(int cpu, struct mw_error *err);

/* Reads the capability MSRs of the calling CPU. */
enum mw_status vmx_read_caps(struct vmx_caps *caps, int cpu, struct mw_error *err);

/* Derives the controls and checks what marrow requires (EPT with 4-level
 * walks and WB, INVEPT single-context, VPID with single-context INVVPID,
 * MSR bitmaps, secondary controls, 64-bit host). Pure. */
enum mw_status vmx_derive_controls(const struct vmx_caps *caps, struct vmx_controls *out,
				   struct mw_error *err);

/* Pure: a control word from a capability MSR whose low half is allowed-0
 * (bits that must be 1) and high half allowed-1 (bits that may be 1). Bits
 * in `required` that cannot be 1 are returned in *missing (and the result
 * is still computed); bits in `optional` are set where allowed. */
uint32_t vmx_adjust_controls(uint64_t cap, uint32_t required, uint32_t optional, uint32_t *missing);

/* Pure: CR0/CR4 values adjusted to the fixed bits (SDM 3D A.7, A.8). */
static inline uint64_t vmx_fixed_bits(uint64_t value, uint64_t fixed0, uint64_t fixed1)
{
	return (value | fixed0) & fixed1;
}

#endif
