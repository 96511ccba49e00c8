/* Instructions that exit unconditionally or by a test knob: INVD, WBINVD,
 * XSETBV, GETSEC, the VMX instructions, RDTSC/RDTSCP, HLT. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "exit.h"
#include "host_idt.h"

enum exit_action handle_invd(struct exit_ctx *c)
{
	(void)c;
	/* INVD would throw away dirty lines of marrow's and every other
	 * agent's data; write them back instead, which is what an OS that
	 * issues INVD can rely on anyway. */
	wbinvd();
	return EXIT_ADVANCE;
}

enum exit_action handle_wbinvd(struct exit_ctx *c)
{
	(void)c;
	wbinvd();
	return EXIT_ADVANCE;
}

/* XCR0 rules (SDM 1 13.3, SDM 2C XSETBV): only XCR0 exists (ECX=0), bit 0
 * (x87) must be set, only bits CPUID.(EAX=0DH,ECX=0):EDX:EAX allows, AVX
 * needs SSE, the AVX-512 bits come together and need AVX, AMX tile data
 * and config come together. */
static bool xcr0_valid(uint64_t v)
{
	struct cpuid_regs d = cpuid_count(0xd, 0);
	uint64_t supported = ((uint64_t)d.edx << 32) | d.eax;
	const uint64_t avx512 = 0xe0, amx = 0x60000;

	if (!(v & 1) || (v & ~supported))
		return false;
	if ((v & 4) && !(v & 2))
		return false;
	if ((v & avx512) && ((v & avx512) != avx512 || !(v & 4)))
		return false;
	if ((v & amx) && (v & amx) != amx)
		return false;
	return true;
}

enum exit_action handle_xsetbv(struct exit_ctx *c)
{
	uint32_t index = (uint32_t)c->regs->rcx;
	uint64_t value = ((c->regs->rdx & 0xffffffffull) << 32) | (c->regs->rax & 0xffffffffull);

	/* #UD without CR4.OSXSAVE (as the guest sees CR4), #GP for CPL > 0 or
	 * a bad index or value. */
	if (!(guest_cr4() & CR4_OSXSAVE)) {
		inject_ud(c);
		return EXIT_RESUME;
	}
	if (guest_cpl() != 0 || index != 0 || !xcr0_valid(value) || root_xsetbv(index, value)) {
		inject_gp0(c);
		return EXIT_RESUME;
	}
	return EXIT_ADVANCE;
}

enum exit_action handle_getsec(struct exit_ctx *c)
{
	/* GETSEC exits whatever CR4.SMXE says; the guest never has SMX
	 * enabled under marrow, so it gets what it would: #UD. */
	inject_ud(c);
	return EXIT_RESUME;
}

enum exit_action handle_vmx_instruction(struct exit_ctx *c)
{
	/* CPUID shows no VMX and CR4.VMXE cannot be set: every VMX
	 * instruction is #UD, as on a CPU without VMX (SDM 3C 31.3). */
	inject_ud(c);
	return EXIT_RESUME;
}

/* RDTSC exiting is only on for tests: the guest gets the TSC plus the
 * offset it would have seen (SDM 3C 26.3: TSC offsetting). */
static uint64_t guest_tsc(void)
{
	uint64_t tsc = rdtsc();
	if (vmcs_read(VMCS_CPU_BASED_VM_EXEC_CONTROL) & PROC_USE_TSC_OFFSETTING)
		tsc += vmcs_read(VMCS_TSC_OFFSET);
	return tsc;
}

static bool time_stamp_disabled(void)
{
	return (guest_cr4() & CR4_TSD) && guest_cpl() != 0;
}

enum exit_action handle_rdtsc(struct exit_ctx *c)
{
	if (time_stamp_disabled()) {
		inject_gp0(c);
		return EXIT_RESUME;
	}
	uint64_t tsc = guest_tsc();
	gpr_write32(c, 0, (uint32_t)tsc);
	gpr_write32(c, 2, (uint32_t)(tsc >> 32));
	return EXIT_ADVANCE;
}

enum exit_action handle_rdtscp(struct exit_ctx *c)
{
	uint64_t aux = 0;

	if (time_stamp_disabled()) {
		inject_gp0(c);
		return EXIT_RESUME;
	}
	uint64_t tsc = guest_tsc();
	root_rdmsr(MSR_IA32_TSC_AUX, &aux);
	gpr_write32(c, 0, (uint32_t)tsc);
	gpr_write32(c, 2, (uint32_t)(tsc >> 32));
	gpr_write32(c, 1, (uint32_t)aux);
	return EXIT_ADVANCE;
}

enum exit_action handle_hlt(struct exit_ctx *c)
{
	(void)c;
	/* HLT exiting is a test knob: halt the guest as the instruction
	 * would. The CPU wakes it for the next interrupt or NMI. */
	vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
	return EXIT_ADVANCE;
}
