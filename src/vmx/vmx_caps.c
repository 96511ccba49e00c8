#include "vmx_caps.h"

#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "arch/x86/safe.h"
#include "core/mw_string.h"
#include "vmx_defs.h"

/* CPUID bits of instructions whose VMX "enable" controls marrow sets only
 * when the CPU has the instruction (otherwise the guest must see #UD). */
#define CPUID_80000001_EDX_RDTSCP (1u << 27)
#define CPUID_7_EBX_INVPCID (1u << 10)
#define CPUID_7_ECX_WAITPKG (1u << 5)
#define CPUID_D1_EAX_XSAVES (1u << 3)

enum mw_status vmx_check_support(int cpu, struct mw_error *err)
{
	struct cpuid_regs v = cpuid(0);
	uint64_t fc;

	/* "GenuineIntel" is EBX, EDX, ECX of leaf 0 (SDM 2A CPUID). */
	if (v.ebx != 0x756e6547 || v.edx != 0x49656e69 || v.ecx != 0x6c65746e) {
		char vendor[13];
		memcpy(vendor, &v.ebx, 4);
		memcpy(vendor + 4, &v.edx, 4);
		memcpy(vendor + 8, &v.ecx, 4);
		vendor[12] = '\0';
		mw_error_set(err, MW_ERR_NOT_INTEL, cpu, MW_STEP_SUPPORT, "vendor is %s", vendor);
		return err->status;
	}
	if (!(cpuid(1).ecx & CPUID_1_ECX_VMX)) {
		mw_error_set(err, MW_ERR_NO_VMX, cpu, MW_STEP_SUPPORT, NULL);
		return err->status;
	}
	if (!rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &fc)) {
		mw_error_set(err, MW_ERR_VMX_LOCKED_OFF, cpu, MW_STEP_SUPPORT,
			     "IA32_FEATURE_CONTROL cannot be read");
		return err->status;
	}
	if (fc & FEATURE_CONTROL_LOCK) {
		if (!(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) {
			mw_error_set(err, MW_ERR_VMX_LOCKED_OFF, cpu, MW_STEP_SUPPORT,
				     "IA32_FEATURE_CONTROL is 0x%llx", (unsigned long long)fc);
			return err->status;
		}
		return MW_OK;
	}
	/* Unlocked (OVMF leaves it so): allow VMXON outside SMX and lock, as
	 * the firmware should have (SDM 3C 24.7). */
	fc |= FEATURE_CONTROL_VMXON_OUTSIDE_SMX | FEATURE_CONTROL_LOCK;
	if (!wrmsr_safe(MSR_IA32_FEATURE_CONTROL, fc)) {
		mw_error_set(err, MW_ERR_VMX_LOCKED_OFF, cpu, MW_STEP_SUPPORT,
			     "IA32_FEATURE_CONTROL cannot be written");
		return err->status;
	}
	return MW_OK;
}

struct cpu_insn_support {
	bool rdtscp, invpcid, xsaves, waitpkg;
};

static struct cpu_insn_support cpu_instructions(void)
{
	struct cpu_insn_support s = { 0 };
	uint32_t max = cpuid(0).eax;

	s.rdtscp = cpuid(0x80000000).eax >= 0x80000001 &&
		   (cpuid(0x80000001).edx & CPUID_80000001_EDX_RDTSCP);
	if (max >= 7) {
		struct cpuid_regs l7 = cpuid_count(7, 0);
		s.invpcid = l7.ebx & CPUID_7_EBX_INVPCID;
		s.waitpkg = l7.ecx & CPUID_7_ECX_WAITPKG;
	}
	if (max >= 0xd)
		s.xsaves = cpuid_count(0xd, 1).eax & CPUID_D1_EAX_XSAVES;
	return s;
}

/* The instructions the guest has are recorded in the caps as the allowed-1
 * bits of their enable controls, so that vmx_derive_controls stays pure. */
static void mask_absent_instructions(struct vmx_caps *caps)
{
	struct cpu_insn_support s = cpu_instructions();
	uint64_t drop = 0;

	if (!s.rdtscp)
		drop |= PROC2_ENABLE_RDTSCP;
	if (!s.invpcid)
		drop |= PROC2_ENABLE_INVPCID;
	if (!s.xsaves)
		drop |= PROC2_ENABLE_XSAVES;
	if (!s.waitpkg)
		drop |= PROC2_ENABLE_USER_WAIT_PAUSE;
	caps->proc2 &= ~(drop << 32);
}

static bool read_cap(uint32_t msr, uint64_t *v, int cpu, struct mw_error *err)
{
	if (rdmsr_safe(msr, v))
		return true;
	mw_error_set(err, MW_ERR_VMX_CAPS, cpu, MW_STEP_CAPS, "%s (MSR 0x%x) faults", msr_name(msr),
		     msr);
	return false;
}

enum mw_status vmx_read_caps(struct vmx_caps *c, int cpu, struct mw_error *err)
{
	memset(c, 0, sizeof(*c));
	if (!read_cap(MSR_IA32_VMX_BASIC, &c->basic, cpu, err))
		return err->status;
	bool true_ctls = c->basic & VMX_BASIC_TRUE_CONTROLS;
	if (!read_cap(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS,
		      &c->pin, cpu, err) ||
	    !read_cap(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS,
		      &c->proc, cpu, err) ||
	    !read_cap(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS, &c->exit,
		      cpu, err) ||
	    !read_cap(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS, &c->entry,
		      cpu, err) ||
	    !read_cap(MSR_IA32_VMX_MISC, &c->misc, cpu, err) ||
	    !read_cap(MSR_IA32_VMX_CR0_FIXED0, &c->cr0_fixed0, cpu, err) ||
	    !read_cap(MSR_IA32_VMX_CR0_FIXED1, &c->cr0_fixed1, cpu, err) ||
	    !read_cap(MSR_IA32_VMX_CR4_FIXED0, &c->cr4_fixed0, cpu, err) ||
	    !read_cap(MSR_IA32_VMX_CR4_FIXED1, &c->cr4_fixed1, cpu, err))
		return err->status;
	/* The secondary controls, EPT/VPID and VMFUNC MSRs exist only when
	 * the control that reports them may be 1 (SDM 3D A.3.3, A.10, A.11). */
	if ((c->proc >> 32) & PROC_ACTIVATE_SECONDARY) {
		if (!read_cap(MSR_IA32_VMX_PROCBASED_CTLS2, &c->proc2, cpu, err))
			return err->status;
		mask_absent_instructions(c);
	}
	if (((c->proc2 >> 32) & (PROC2_ENABLE_EPT | PROC2_ENABLE_VPID)) &&
	    !read_cap(MSR_IA32_VMX_EPT_VPID_CAP, &c->ept_vpid, cpu, err))
		return err->status;
	if (((c->proc2 >> 32) & PROC2_ENABLE_VMFUNC) &&
	    !read_cap(MSR_IA32_VMX_VMFUNC, &c->vmfunc, cpu, err))
		return err->status;
	c->phys_addr_bits = cpuid(0x80000000).eax >= 0x80000008 ? cpuid(0x80000008).eax & 0xff : 36;
	return MW_OK;
}
