/* MSR indices (from msr.def) and the bits marrow reads in them. */
#ifndef MARROW_ARCH_X86_MSR_H
#define MARROW_ARCH_X86_MSR_H

#include <stdint.h>

enum msr_index {
#define MSR(name, index) MSR_##name = index,
#include "msr.def"
#undef MSR
};

/* Returns the MSR's architectural name, or NULL for one not in msr.def. */
const char *msr_name(uint32_t index);

/* IA32_FEATURE_CONTROL (SDM 3C 23.7) */
#define FEATURE_CONTROL_LOCK (1ull << 0)
#define FEATURE_CONTROL_VMXON_IN_SMX (1ull << 1)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX (1ull << 2)

/* IA32_EFER (SDM 3A 2.2.1) */
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* IA32_APIC_BASE (SDM 3A 11.4.4) */
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_ADDR_MASK 0x000ffffffffff000ull

/* IA32_MTRRCAP, IA32_MTRR_DEF_TYPE (SDM 3A 11.11.2.1) */
#define MTRRCAP_VCNT_MASK 0xffull
#define MTRRCAP_FIX (1ull << 8)
#define MTRRCAP_WC (1ull << 10)
#define MTRR_DEF_TYPE_MASK 0xffull
#define MTRR_DEF_FE (1ull << 10)
#define MTRR_DEF_E (1ull << 11)
#define MTRR_PHYSMASK_VALID (1ull << 11)

#endif
