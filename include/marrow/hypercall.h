/* marrow's hypercall ABI, shared with guests and tools (docs/hypercalls.md).
 *
 * A guest calls marrow with VMCALL at CPL 0:
 *   RAX = function (enum mw_hc_function)
 *   RCX = the 64-bit key marrow was loaded with
 *   RDX, R8, R9 = arguments
 * and gets back RAX = status (enum mw_hc_status), RDX and R8 = results.
 * Any other VMCALL (CPL > 0, wrong key) raises #UD, exactly as on a CPU
 * without marrow. All other registers are preserved. */
#ifndef MARROW_HYPERCALL_H
#define MARROW_HYPERCALL_H

#include <stdint.h>

#define MW_HC_VERSION_MAJOR 1
#define MW_HC_VERSION_MINOR 0
/* "marrow" in ASCII, little-endian, returned by MW_HC_PING in RDX. */
#define MW_HC_SIGNATURE 0x0000776f7272616dull

enum mw_hc_function {
	/* -> RDX = MW_HC_SIGNATURE, R8 = version (major << 16 | minor),
	 *    and the calling CPU's index in the high 32 bits of R8. */
	MW_HC_PING = 1,
	/* RDX = guest-virtual buffer, R8 = its size, R9 = CPU index.
	 * Copies that CPU's struct mw_cpu_stats (stats.h) into the buffer;
	 * -> RDX = bytes copied. */
	MW_HC_STATS = 2,
	/* RDX = guest-virtual buffer, R8 = its size, R9 = CPU index.
	 * Moves that CPU's log records (text lines, each ending in '\n') into
	 * the buffer, as many whole records as fit; -> RDX = bytes written,
	 * R8 = records dropped since the last read (the ring was full). */
	MW_HC_READ_LOG = 3,
	/* Leaves VMX operation on the calling CPU; the guest continues at the
	 * next instruction, no longer virtualized. */
	MW_HC_DEVIRTUALIZE_CPU = 4,
	/* Leaves VMX operation on every CPU: the others are signalled with an
	 * NMI and leave at their next instruction boundary. */
	MW_HC_DEVIRTUALIZE_ALL = 5,
	/* -> RDX = number of CPUs marrow runs on, R8 = feature bits
	 *    (enum mw_hc_feature). */
	MW_HC_INFO = 6,
	/* Drops the calling CPU's cached EPT translations (INVEPT): marrow's
	 * own code calls it after changing a running CPU's EPT entries. */
	MW_HC_EPT_FLUSH = 7,
	/* Reloads the calling CPU's exception bitmap and the real values of
	 * hooked MSRs from marrow's settings (marrow's own code calls it after
	 * hooking an exception or an MSR). */
	MW_HC_SYNC_CONTROLS = 8,
	/* RDX = MSR index. -> RDX = the real MSR's value on the calling CPU,
	 * as root mode reads it (a hooked MSR's guest view may differ);
	 * MW_HC_ERR_BAD_ARGUMENT when the CPU has no such MSR. */
	MW_HC_READ_MSR = 9,
	/* RDX = 0: the calling CPU arms the monitor trap flag; RDX = 1:
	 * -> RDX = 1 if an MTF VM exit came in between, and disarms it.
	 * marrow's own check, at load, that MTF works (it does not in
	 * Bochs 2.7). */
	MW_HC_PROBE_MTF = 10,
};

enum mw_hc_status {
	MW_HC_OK = 0,
	MW_HC_ERR_UNKNOWN_FUNCTION = 1,
	MW_HC_ERR_BAD_POINTER = 2,  /* a buffer the guest's page tables do not map */
	MW_HC_ERR_BAD_ARGUMENT = 3, /* a size too small, a CPU index out of range */
	MW_HC_ERR_BUSY = 4,	    /* another CPU is reading the same log */
};

enum mw_hc_feature {
	MW_HC_FEATURE_EPT = 1u << 0,
	MW_HC_FEATURE_VPID = 1u << 1,
	MW_HC_FEATURE_UNRESTRICTED_GUEST = 1u << 2,
	MW_HC_FEATURE_VIRTUAL_NMIS = 1u << 3,
	MW_HC_FEATURE_MTF = 1u << 4,
	MW_HC_FEATURE_EXECUTE_ONLY_EPT = 1u << 5,
	MW_HC_FEATURE_VMFUNC = 1u << 6,
};

/* Passes as the CPU index to mean "the calling CPU". */
#define MW_HC_THIS_CPU 0xffffffffffffffffull

struct mw_hc_result {
	uint64_t status;
	uint64_t rdx;
	uint64_t r8;
};

#if defined(__GNUC__) && defined(__x86_64__)
/* The guest side of a hypercall. A VMCALL that marrow refuses raises #UD in
 * the caller, as on hardware: call it only where a #UD is handled or
 * marrow is known to be present. */
static inline struct mw_hc_result mw_vmcall(uint64_t function, uint64_t key, uint64_t a1,
					    uint64_t a2, uint64_t a3)
{
	struct mw_hc_result r;
	uint64_t rax = function;
	register uint64_t r8 __asm__("r8") = a2;
	register uint64_t r9 __asm__("r9") = a3;
	__asm__ volatile("vmcall" : "+a"(rax), "+d"(a1), "+r"(r8) : "c"(key), "r"(r9) : "memory");
	r.status = rax;
	r.rdx = a1;
	r.r8 = r8;
	return r;
}
#endif

#endif
