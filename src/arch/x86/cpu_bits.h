/* Architectural bit positions in control registers, RFLAGS and CPUID that
 * marrow tests or sets (SDM 3A 2.5, 2.3; SDM 2A "CPUID"). */
#ifndef MARROW_ARCH_X86_CPU_BITS_H
#define MARROW_ARCH_X86_CPU_BITS_H

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)

#define CR4_VME (1ull << 0)
#define CR4_PVI (1ull << 1)
#define CR4_TSD (1ull << 2)
#define CR4_DE (1ull << 3)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_MCE (1ull << 6)
#define CR4_PGE (1ull << 7)
#define CR4_PCE (1ull << 8)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_UMIP (1ull << 11)
#define CR4_LA57 (1ull << 12)
#define CR4_VMXE (1ull << 13)
#define CR4_SMXE (1ull << 14)
#define CR4_FSGSBASE (1ull << 16)
#define CR4_PCIDE (1ull << 17)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE (1ull << 22)

#define RFLAGS_CF (1ull << 0)
#define RFLAGS_FIXED1 (1ull << 1)
#define RFLAGS_ZF (1ull << 6)
#define RFLAGS_TF (1ull << 8)
#define RFLAGS_IF (1ull << 9)
#define RFLAGS_DF (1ull << 10)
#define RFLAGS_IOPL_MASK (3ull << 12)
#define RFLAGS_VM (1ull << 17)
#define RFLAGS_AC (1ull << 18)

/* CPUID.1:ECX and EDX */
#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_1_ECX_SMX (1u << 6)
#define CPUID_1_ECX_XSAVE (1u << 26)
#define CPUID_1_ECX_OSXSAVE (1u << 27)
#define CPUID_1_ECX_X2APIC (1u << 21)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_7_ECX_PKU (1u << 3)
#define CPUID_7_ECX_OSPKE (1u << 4)
#define CPUID_1_EDX_MSR (1u << 5)
#define CPUID_1_EDX_APIC (1u << 9)
#define CPUID_1_EDX_MTRR (1u << 12)
#define CPUID_1_EDX_PAT (1u << 16)
/* CPUID.80000001H:EDX */
#define CPUID_80000001_EDX_NX (1u << 20)
#define CPUID_80000001_EDX_LM (1u << 29)

/* Exception vectors (SDM 3A 6.3.1) */
enum x86_vector {
	VEC_DE = 0,
	VEC_DB = 1,
	VEC_NMI = 2,
	VEC_BP = 3,
	VEC_OF = 4,
	VEC_BR = 5,
	VEC_UD = 6,
	VEC_NM = 7,
	VEC_DF = 8,
	VEC_TS = 10,
	VEC_NP = 11,
	VEC_SS = 12,
	VEC_GP = 13,
	VEC_PF = 14,
	VEC_MF = 16,
	VEC_AC = 17,
	VEC_MC = 18,
	VEC_XM = 19,
	VEC_VE = 20,
	VEC_CP = 21,
};

#endif
