/* VMX definitions generated from the .def tables, and the control and
 * information-field bits marrow uses (SDM Vol. 3C chapters 25-28). */
#ifndef MARROW_VMX_DEFS_H
#define MARROW_VMX_DEFS_H

#include <stdint.h>

enum vmcs_field {
#define VMCS_FIELD(name, enc) VMCS_##name = enc,
#include "vmcs_fields.def"
#undef VMCS_FIELD
};

enum exit_reason {
#define EXIT_REASON(name, num) EXIT_##name = num,
#include "exit_reasons.def"
#undef EXIT_REASON
	EXIT_REASON_MAX = 78, /* one past the highest reason in the table */
};

/* Field widths, from bits 14:13 of the encoding (SDM 3C 25.11.2). */
enum vmcs_width {
	VMCS_WIDTH_16 = 0,
	VMCS_WIDTH_64 = 1,
	VMCS_WIDTH_32 = 2,
	VMCS_WIDTH_NATURAL = 3,
};

static inline enum vmcs_width vmcs_field_width(uint32_t encoding)
{
	return (enum vmcs_width)((encoding >> 13) & 3);
}

/* Bits 11:10: 0 control, 1 read-only data, 2 guest state, 3 host state. */
static inline unsigned vmcs_field_type(uint32_t encoding)
{
	return (encoding >> 10) & 3;
}

const char *vmcs_field_name(uint32_t encoding);
const char *exit_reason_name(uint32_t basic_reason);
const char *vm_error_str(uint32_t number);

/* The exit-reason field (SDM 3C 25.9.1): the basic reason is bits 15:0;
 * bit 31 says the VM entry failed. */
#define EXIT_REASON_BASIC(r) ((r)&0xffff)
#define EXIT_REASON_ENTRY_FAILURE (1u << 31)

/* Pin-based VM-execution controls (SDM 3C 25.6.1) */
#define PIN_EXTERNAL_INTERRUPT_EXITING (1u << 0)
#define PIN_NMI_EXITING (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PIN_PREEMPTION_TIMER (1u << 6)
#define PIN_POSTED_INTERRUPTS (1u << 7)

/* Primary processor-based VM-execution controls (SDM 3C 25.6.2) */
#define PROC_INTERRUPT_WINDOW_EXITING (1u << 2)
#define PROC_USE_TSC_OFFSETTING (1u << 3)
#define PROC_HLT_EXITING (1u << 7)
#define PROC_INVLPG_EXITING (1u << 9)
#define PROC_MWAIT_EXITING (1u << 10)
#define PROC_RDPMC_EXITING (1u << 11)
#define PROC_RDTSC_EXITING (1u << 12)
#define PROC_CR3_LOAD_EXITING (1u << 15)
#define PROC_CR3_STORE_EXITING (1u << 16)
#define PROC_CR8_LOAD_EXITING (1u << 19)
#define PROC_CR8_STORE_EXITING (1u << 20)
#define PROC_USE_TPR_SHADOW (1u << 21)
#define PROC_NMI_WINDOW_EXITING (1u << 22)
#define PROC_MOV_DR_EXITING (1u << 23)
#define PROC_UNCONDITIONAL_IO_EXITING (1u << 24)
#define PROC_USE_IO_BITMAPS (1u << 25)
#define PROC_MONITOR_TRAP_FLAG (1u << 27)
#define PROC_USE_MSR_BITMAPS (1u << 28)
#define PROC_MONITOR_EXITING (1u << 29)
#define PROC_PAUSE_EXITING (1u << 30)
#define PROC_ACTIVATE_SECONDARY (1u << 31)

/* Secondary processor-based VM-execution controls (SDM 3C 25.6.2) */
#define PROC2_VIRTUALIZE_APIC_ACCESSES (1u << 0)
#define PROC2_ENABLE_EPT (1u << 1)
#define PROC2_DESCRIPTOR_TABLE_EXITING (1u << 2)
#define PROC2_ENABLE_RDTSCP (1u << 3)
#define PROC2_VIRTUALIZE_X2APIC (1u << 4)
#define PROC2_ENABLE_VPID (1u << 5)
#define PROC2_WBINVD_EXITING (1u << 6)
#define PROC2_UNRESTRICTED_GUEST (1u << 7)
#define PROC2_APIC_REGISTER_VIRT (1u << 8)
#define PROC2_VIRTUAL_INTR_DELIVERY (1u << 9)
#define PROC2_PAUSE_LOOP_EXITING (1u << 10)
#define PROC2_RDRAND_EXITING (1u << 11)
#define PROC2_ENABLE_INVPCID (1u << 12)
#define PROC2_ENABLE_VMFUNC (1u << 13)
#define PROC2_VMCS_SHADOWING (1u << 14)
#define PROC2_ENCLS_EXITING (1u << 15)
#define PROC2_RDSEED_EXITING (1u << 16)
#define PROC2_ENABLE_PML (1u << 17)
#define PROC2_EPT_VIOLATION_VE (1u << 18)
#define PROC2_CONCEAL_VMX_FROM_PT (1u << 19)
#define PROC2_ENABLE_XSAVES (1u << 20)
#define PROC2_MODE_BASED_EPT_EXEC (1u << 22)
#define PROC2_SUBPAGE_WRITE_PERMS (1u << 23)
#define PROC2_PT_USES_GPA (1u << 24)
#define PROC2_USE_TSC_SCALING (1u << 25)
#define PROC2_ENABLE_USER_WAIT_PAUSE (1u << 26)
#define PROC2_ENABLE_ENCLV_EXITING (1u << 28)

/* VM-exit controls (SDM 3C 25.7.1) */
#define EXIT_CTL_SAVE_DEBUG_CONTROLS (1u << 2)
#define EXIT_CTL_HOST_ADDR_SPACE_SIZE (1u << 9)
#define EXIT_CTL_LOAD_PERF_GLOBAL_CTRL (1u << 12)
#define EXIT_CTL_ACK_INTERRUPT_ON_EXIT (1u << 15)
#define EXIT_CTL_SAVE_PAT (1u << 18)
#define EXIT_CTL_LOAD_PAT (1u << 19)
#define EXIT_CTL_SAVE_EFER (1u << 20)
#define EXIT_CTL_LOAD_EFER (1u << 21)
#define EXIT_CTL_SAVE_PREEMPTION_TIMER (1u << 22)
#define EXIT_CTL_CONCEAL_VMX_FROM_PT (1u << 24)

/* VM-entry controls (SDM 3C 25.8.1) */
#define ENTRY_CTL_LOAD_DEBUG_CONTROLS (1u << 2)
#define ENTRY_CTL_IA32E_MODE_GUEST (1u << 9)
#define ENTRY_CTL_ENTRY_TO_SMM (1u << 10)
#define ENTRY_CTL_DEACT_DUAL_MONITOR (1u << 11)
#define ENTRY_CTL_LOAD_PERF_GLOBAL_CTRL (1u << 13)
#define ENTRY_CTL_LOAD_PAT (1u << 14)
#define ENTRY_CTL_LOAD_EFER (1u << 15)
#define ENTRY_CTL_CONCEAL_VMX_FROM_PT (1u << 17)

/* IA32_VMX_BASIC (SDM 3D A.1) */
#define VMX_BASIC_REVISION_MASK 0x7fffffffull
#define VMX_BASIC_REGION_SIZE(v) (((v) >> 32) & 0x1fff)
#define VMX_BASIC_32BIT_ADDRESSES (1ull << 48)
#define VMX_BASIC_MEMORY_TYPE(v) (((v) >> 50) & 0xf)
#define VMX_BASIC_TRUE_CONTROLS (1ull << 55)
#define VMX_MEMORY_TYPE_WB 6

/* IA32_VMX_MISC (SDM 3D A.6) */
#define VMX_MISC_STORES_LMA (1ull << 5)
#define VMX_MISC_ACTIVITY_HLT (1ull << 6)
#define VMX_MISC_ACTIVITY_SHUTDOWN (1ull << 7)
#define VMX_MISC_ACTIVITY_WAIT_SIPI (1ull << 8)

/* IA32_VMX_EPT_VPID_CAP (SDM 3D A.10) */
#define EPT_CAP_EXECUTE_ONLY (1ull << 0)
#define EPT_CAP_PWL4 (1ull << 6)
#define EPT_CAP_PWL5 (1ull << 7)
#define EPT_CAP_MEMTYPE_UC (1ull << 8)
#define EPT_CAP_MEMTYPE_WB (1ull << 14)
#define EPT_CAP_2MB_PAGES (1ull << 16)
#define EPT_CAP_1GB_PAGES (1ull << 17)
#define EPT_CAP_INVEPT (1ull << 20)
#define EPT_CAP_ACCESSED_DIRTY (1ull << 21)
#define EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define EPT_CAP_INVEPT_ALL (1ull << 26)
#define VPID_CAP_INVVPID (1ull << 32)
#define VPID_CAP_INVVPID_ADDRESS (1ull << 40)
#define VPID_CAP_INVVPID_SINGLE (1ull << 41)
#define VPID_CAP_INVVPID_ALL (1ull << 42)
#define VPID_CAP_INVVPID_SINGLE_KEEP_GLOBALS (1ull << 43)

/* Interruption-information fields (SDM 3C 25.8.3, 25.9.2) */
#define INTR_INFO_VECTOR_MASK 0xffu
#define INTR_INFO_TYPE_SHIFT 8
#define INTR_INFO_TYPE_MASK (7u << INTR_INFO_TYPE_SHIFT)
#define INTR_INFO_DELIVER_ERROR_CODE (1u << 11)
#define INTR_INFO_NMI_UNBLOCKED_BY_IRET (1u << 12)
#define INTR_INFO_VALID (1u << 31)

enum intr_type {
	INTR_TYPE_EXTERNAL = 0,
	INTR_TYPE_NMI = 2,
	INTR_TYPE_HW_EXCEPTION = 3,
	INTR_TYPE_SW_INTERRUPT = 4,
	INTR_TYPE_PRIV_SW_EXCEPTION = 5,
	INTR_TYPE_SW_EXCEPTION = 6,
	INTR_TYPE_OTHER = 7,
};

/* Guest interruptibility state (SDM 3C 25.4.2) */
#define INTERRUPTIBILITY_STI (1u << 0)
#define INTERRUPTIBILITY_MOV_SS (1u << 1)
#define INTERRUPTIBILITY_SMI (1u << 2)
#define INTERRUPTIBILITY_NMI (1u << 3)

/* Guest activity state (SDM 3C 25.4.2) */
enum activity_state {
	ACTIVITY_ACTIVE = 0,
	ACTIVITY_HLT = 1,
	ACTIVITY_SHUTDOWN = 2,
	ACTIVITY_WAIT_SIPI = 3,
};

/* Segment access rights as the VMCS holds them (SDM 3C 25.4.1): the
 * descriptor's bits 47:40 and 55:52, plus bit 16 "unusable". */
#define VMX_AR_UNUSABLE (1u << 16)

/* Exit qualification for control-register accesses (SDM 3C 28.2.1,
 * table 28-3). */
#define CR_QUAL_NUMBER(q) ((q)&0xf)
#define CR_QUAL_ACCESS_TYPE(q) (((q) >> 4) & 3)
#define CR_QUAL_LMSW_MEMORY (1u << 6)
#define CR_QUAL_GPR(q) (((q) >> 8) & 0xf)
#define CR_QUAL_LMSW_DATA(q) (((q) >> 16) & 0xffff)
enum cr_access_type {
	CR_ACCESS_MOV_TO_CR = 0,
	CR_ACCESS_MOV_FROM_CR = 1,
	CR_ACCESS_CLTS = 2,
	CR_ACCESS_LMSW = 3,
};

/* INVEPT and INVVPID types (SDM 3C 30.3) */
enum invept_type {
	INVEPT_SINGLE_CONTEXT = 1,
	INVEPT_ALL_CONTEXT = 2,
};
enum invvpid_type {
	INVVPID_INDIVIDUAL_ADDRESS = 0,
	INVVPID_SINGLE_CONTEXT = 1,
	INVVPID_ALL_CONTEXT = 2,
	INVVPID_SINGLE_CONTEXT_KEEP_GLOBALS = 3,
};

#endif
