/* Bringing one CPU into VMX operation as a guest of itself, and back. Runs
 * on the CPU concerned (through platform_on_each_cpu). */
#include "vcpu_launch.h"

#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "core/boot_apic.h"
#include "core/compiler.h"
#include "core/fault.h"
#include "core/fmt.h"
#include "core/ipi.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "core/root_log.h"
#include "ept/ept.h"
#include "marrow/hypercall.h"
#include "vmx/vmcs_setup.h"
#include "vmx/vmx_caps.h"
#include "vmx/vmx_defs.h"
#include "vmx/vmx_insn.h"

/* vmx_entry.S: 0 when it returns as the guest, 1 VMfailInvalid, 2
 * VMfailValid. */
MW_ASM_ABI int vmx_launch(void);

static bool injected(const struct vcpu *v, enum mw_step step, struct mw_error *err)
{
	if (mw.cfg.fault_cpu != (int)v->index || mw.cfg.fault_step != step)
		return false;
	mw_error_set(err, MW_ERR_INJECTED, (int)v->index, step, NULL);
	return true;
}

static void vmx_failed(struct vcpu *v, enum mw_step step, enum vmx_result r, const char *what)
{
	struct mw_error *err = &v->launch_error;

	if (r == VMX_INJECTED) {
		mw_error_set(err, MW_ERR_INJECTED, (int)v->index, step,
			     "%s (VMX instruction %u made to fail)", what, v->vmx_points);
		return;
	}
	mw_error_set(err, MW_ERR_VMX_INSTRUCTION, (int)v->index, step, "%s", what);
	if (r == VMX_FAIL_VALID)
		err->vm_error = (uint32_t)vmcs_read(VMCS_VM_INSTRUCTION_ERROR);
	else
		mw_snprintf(err->detail, sizeof(err->detail), "%s: VMfailInvalid", what);
}

/* Each VMX instruction of the launch goes through here: the counted point
 * where a test can make it fail (core/fault.h). */
#define VMX_STEP(v, insn) (fault_vmx_point(v) ? VMX_INJECTED : (insn))

static void restore_control_registers(const struct vcpu *v)
{
	write_cr4(v->original_cr4);
	write_cr0(v->original_cr0);
}

/* VMXON requires CR0/CR4 to respect the fixed bits (SDM 3C 24.8). */
static void enter_vmx_cr_state(struct vcpu *v)
{
	v->original_cr0 = read_cr0();
	v->original_cr4 = read_cr4();
	write_cr0(vmx_fixed_bits(v->original_cr0, mw.caps.cr0_fixed0, mw.caps.cr0_fixed1));
	write_cr4(
		vmx_fixed_bits(v->original_cr4 | CR4_VMXE, mw.caps.cr4_fixed0, mw.caps.cr4_fixed1));
}

/* Everything after VMXON, up to the launch; returns the step that failed
 * or MW_STEP_NONE. */
static enum mw_step load_vmcs(struct vcpu *v)
{
	struct mw_error *err = &v->launch_error;
	uint32_t field;
	enum vmx_result r;

	if (injected(v, MW_STEP_VMCLEAR, err))
		return MW_STEP_VMCLEAR;
	if ((r = VMX_STEP(v, vmx_clear(v->vmcs_pa))) != VMX_OK) {
		vmx_failed(v, MW_STEP_VMCLEAR, r, "VMCLEAR");
		return MW_STEP_VMCLEAR;
	}
	if (injected(v, MW_STEP_VMPTRLD, err))
		return MW_STEP_VMPTRLD;
	if ((r = VMX_STEP(v, vmx_ptrld(v->vmcs_pa))) != VMX_OK) {
		vmx_failed(v, MW_STEP_VMPTRLD, r, "VMPTRLD");
		return MW_STEP_VMPTRLD;
	}
	if (injected(v, MW_STEP_VMCS, err))
		return MW_STEP_VMCS;
	if ((r = vmcs_setup(v, &field)) == VMX_OK) {
		field = VMCS_GUEST_RFLAGS; /* last: the flags as they are now */
		r = VMX_STEP(v, vmx_write(field, read_rflags()));
	}
	if (r != VMX_OK) {
		char what[64];
		mw_snprintf(what, sizeof(what), "VMWRITE of %s (0x%x)", vmcs_field_name(field),
			    field);
		vmx_failed(v, MW_STEP_VMCS, r, what);
		return MW_STEP_VMCS;
	}
	return MW_STEP_NONE;
}

void vcpu_ept_flush(const struct vcpu *v)
{
	bool single = mw.caps.ept_vpid & EPT_CAP_INVEPT_SINGLE;
	vmx_invept(single ? INVEPT_SINGLE_CONTEXT : INVEPT_ALL_CONTEXT, v->ept->eptp);
}

void vcpu_fill_ept_stats(struct vcpu *v)
{
	for (unsigned l = 1; l <= EPT_LEVELS; l++)
		v->stats.ept_tables[l] = v->ept->tables_per_level[l];
	v->stats.ept_pool_free = v->ept->pool_free;
}

/* Stale translations tagged with this VPID or EPTP may survive from an
 * earlier run of marrow: drop them before the first entry. */
static bool flush_guest_tlbs(struct vcpu *v)
{
	uint64_t caps = mw.caps.ept_vpid;
	bool single = caps & EPT_CAP_INVEPT_SINGLE;
	enum vmx_result r = VMX_STEP(
		v, vmx_invept(single ? INVEPT_SINGLE_CONTEXT : INVEPT_ALL_CONTEXT, v->ept->eptp));

	if (r != VMX_OK) {
		vmx_failed(v, MW_STEP_VMLAUNCH, r, "INVEPT");
		return false;
	}
	r = VMX_STEP(v, vmx_invvpid((caps & VPID_CAP_INVVPID_SINGLE) ? INVVPID_SINGLE_CONTEXT
								     : INVVPID_ALL_CONTEXT,
				    v->vpid, 0));
	if (r != VMX_OK) {
		vmx_failed(v, MW_STEP_VMLAUNCH, r, "INVVPID");
		return false;
	}
	return true;
}

void vcpu_launch(struct vcpu *v)
{
	struct mw_error *err = &v->launch_error;
	enum vmx_result r;

	mw_error_set(err, MW_OK, (int)v->index, MW_STEP_NONE, NULL);
	v->vmx_points = 0;
	v->apic_id = lapic_current_id();
	if (mw.cfg.emulate_init)
		boot_apic_track(v);
	/* The assembly CPUID path knows nothing of the identification
	 * leaves: with them on, every CPUID goes to the C handler. */
	v->fast_path = !mw.cfg.cpuid_identify;
	/* The revision identifier goes in the first 31 bits of both regions
	 * (SDM 3C 25.2, 25.11.5). */
	*(uint32_t *)v->vmxon_region = (uint32_t)(mw.caps.basic & VMX_BASIC_REVISION_MASK);
	*(uint32_t *)v->vmcs = (uint32_t)(mw.caps.basic & VMX_BASIC_REVISION_MASK);

	if (injected(v, MW_STEP_VMXON, err))
		return;
	enter_vmx_cr_state(v);
	if ((r = VMX_STEP(v, vmx_on(v->vmxon_pa))) != VMX_OK) {
		restore_control_registers(v);
		vmx_failed(v, MW_STEP_VMXON, r, "VMXON");
		return;
	}
	enum mw_step failed = load_vmcs(v);
	if (failed == MW_STEP_NONE && injected(v, MW_STEP_VMLAUNCH, err))
		failed = MW_STEP_VMLAUNCH;
	if (failed == MW_STEP_NONE && !flush_guest_tlbs(v))
		failed = MW_STEP_VMLAUNCH;
	if (failed == MW_STEP_NONE && fault_vmx_point(v)) {
		vmx_failed(v, MW_STEP_VMLAUNCH, VMX_INJECTED, "VMLAUNCH");
		failed = MW_STEP_VMLAUNCH;
	}
	if (failed == MW_STEP_NONE) {
		int rc = vmx_launch();
		if (rc == 0) {
			/* Back here as the guest. */
			v->virtualized = true;
			log_ring_printf(&v->log, MW_LOG_INFO, rdtsc(),
					"virtualized (VPID %u, APIC ID %u, EPTP %llx)", v->vpid,
					v->apic_id, (unsigned long long)v->ept->eptp);
			return;
		}
		vmx_failed(v, MW_STEP_VMLAUNCH, rc == 1 ? VMX_FAIL_INVALID : VMX_FAIL_VALID,
			   "VMLAUNCH");
		failed = MW_STEP_VMLAUNCH;
	}
	if (failed >= MW_STEP_VMPTRLD)
		vmx_clear(v->vmcs_pa);
	vmx_off();
	restore_control_registers(v);
}

bool vcpu_leave(const struct vcpu *v)
{
	if (!v->virtualized)
		return true;
	struct mw_hc_result r = mw_vmcall(MW_HC_DEVIRTUALIZE_CPU, mw.cfg.hypercall_key, 0, 0, 0);
	return r.status == MW_HC_OK && !v->virtualized;
}
