/* Instructions that may fault, with the fault turned into a return value
 * instead of a crash: RDMSR of an MSR that does not exist, XSETBV of a bad
 * value. Each faulting instruction has an exception-table entry mapping its
 * address to a recovery label; the platform's exception handler (and the
 * core's host IDT in root mode) looks the faulting RIP up, records the
 * vector and resumes at the label. */
#ifndef MARROW_ARCH_X86_SAFE_H
#define MARROW_ARCH_X86_SAFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct extable_entry {
	uint64_t fault_rip;
	uint64_t fixup_rip;
};

/* fault and fixup are assembler operands as strings, e.g. "1b", "%l[fault]". */
#if defined(MW_PLATFORM_LINUX)
/* In the Linux module, a fault outside root mode reaches Linux's own
 * handlers, which search __ex_table in the format of Linux 6.1
 * (arch/x86/include/asm/asm.h, _ASM_EXTABLE_TYPE): three 32-bit words, the
 * fault and fixup addresses each relative to its own word, then the fixup
 * type. Type 1 is EX_TYPE_DEFAULT (asm/extable_fixup_types.h): resume at
 * the fixup, nothing else. The Linux platform checks both facts against
 * the headers it is built with. */
#define MW_LINUX_EX_TYPE_DEFAULT 1 /* the third word below */
#define MW_LINUX_EXTABLE_ENTRY_SIZE 12
#define EXTABLE_ENTRY(fault, fixup)          \
	".pushsection __ex_table, \"a\"\n\t" \
	".balign 4\n\t"                      \
	".long (" fault ") - .\n\t"          \
	".long (" fixup ") - .\n\t"          \
	".long 1\n\t"                        \
	".popsection\n\t"
#else
#define EXTABLE_ENTRY(fault, fixup)        \
	".pushsection .extable, \"a\"\n\t" \
	".balign 8\n\t"                    \
	".quad " fault ", " fixup "\n\t"   \
	".popsection\n\t"
#endif

/* Looks a faulting RIP up in a table of n entries; 0 when absent. */
static inline uint64_t extable_find(const struct extable_entry *table, size_t n, uint64_t rip)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].fault_rip == rip)
			return table[i].fixup_rip;
	return 0;
}

#if !defined(_WIN32)
static inline bool rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0; /* dead stores; cppcheck does not read asm goto outputs */
	__asm__ goto("1: rdmsr\n\t" EXTABLE_ENTRY("1b", "%l[fault]")
		     : "=a"(lo), "=d"(hi)
		     : "c"(msr)
		     :
		     : fault);
	*val = ((uint64_t)hi << 32) | lo;
	return true;
/* cppcheck-suppress unusedLabel ; the asm goto jumps here */
fault:
	return false;
}

static inline bool wrmsr_safe(uint32_t msr, uint64_t val)
{
	__asm__ goto("1: wrmsr\n\t" EXTABLE_ENTRY("1b", "%l[fault]")
		     :
		     : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
		     : "memory"
		     : fault);
	return true;
/* cppcheck-suppress unusedLabel ; the asm goto jumps here */
fault:
	return false;
}

static inline bool xsetbv_safe(uint32_t index, uint64_t val)
{
	__asm__ goto("1: xsetbv\n\t" EXTABLE_ENTRY("1b", "%l[fault]")
		     :
		     : "c"(index), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
		     : "memory"
		     : fault);
	return true;
/* cppcheck-suppress unusedLabel ; the asm goto jumps here */
fault:
	return false;
}

#else
/* Windows: outside root mode the exception-table entries above would be
 * dead letters. The #GP of a faulting RDMSR goes to the Windows kernel's own
 * handler, which consults only the unwind and exception data of the image
 * (Microsoft x64 exception handling; mingw-w64 has no __try for C), and for
 * a driver with no handler it bug checks. So here the "safe" accessors are
 * plain instructions, and are used outside root mode only for MSRs that
 * exist whenever the CPU has VMX: IA32_FEATURE_CONTROL (SDM 3C 24.7:
 * CPUID.1:ECX.VMX implies it), the VMX capability MSRs, each read only when
 * VMX_BASIC or a control says it exists (SDM 3D A.1-A.11), and IA32_DEBUGCTL
 * (architectural, SDM 4 table 2-2). They always report success. Root mode
 * is unaffected: it uses root_rdmsr and friends (vmx/host_idt.h) with
 * marrow's own host IDT fixups on every platform. XSETBV of a bad value is
 * a #GP that nothing can prove away, so xsetbv_safe is not provided here:
 * code outside root mode that needs it must decide what to do on Windows. */
static inline bool rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	*val = ((uint64_t)hi << 32) | lo;
	return true;
}

static inline bool wrmsr_safe(uint32_t msr, uint64_t val)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
			 : "memory");
	return true;
}
#endif

#endif
