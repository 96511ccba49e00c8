/* Choosing the VMX controls from the capability MSRs: pure, unit-tested. */
#include "core/mw_string.h"
#include "vmx_caps.h"
#include "vmx_defs.h"

uint32_t vmx_adjust_controls(uint64_t cap, uint32_t required, uint32_t optional, uint32_t *missing)
{
	uint32_t must_be_one = (uint32_t)cap;
	uint32_t may_be_one = (uint32_t)(cap >> 32);

	*missing = required & ~may_be_one;
	return must_be_one | ((required | optional) & may_be_one);
}

static enum mw_status refuse(struct mw_error *err, enum mw_status s, const char *what,
			     uint32_t bits)
{
	mw_error_set(err, s, -1, MW_STEP_CAPS, "%s 0x%x not supported", what, bits);
	return s;
}

static enum mw_status check_basic(const struct vmx_caps *c, struct mw_error *err)
{
	if (VMX_BASIC_REGION_SIZE(c->basic) > 4096 || VMX_BASIC_REGION_SIZE(c->basic) == 0) {
		mw_error_set(err, MW_ERR_VMX_CAPS, -1, MW_STEP_CAPS,
			     "VMCS region of %llu bytes does not fit a page",
			     (unsigned long long)VMX_BASIC_REGION_SIZE(c->basic));
		return err->status;
	}
	if (VMX_BASIC_MEMORY_TYPE(c->basic) != VMX_MEMORY_TYPE_WB) {
		mw_error_set(err, MW_ERR_VMX_CAPS, -1, MW_STEP_CAPS,
			     "VMCS memory type %llu is not write-back",
			     (unsigned long long)VMX_BASIC_MEMORY_TYPE(c->basic));
		return err->status;
	}
	if (c->basic & VMX_BASIC_32BIT_ADDRESSES) {
		mw_error_set(err, MW_ERR_VMX_CAPS, -1, MW_STEP_CAPS,
			     "VMX structures limited to 32-bit addresses");
		return err->status;
	}
	return MW_OK;
}

static enum mw_status check_ept_vpid(const struct vmx_caps *c, struct mw_error *err)
{
	uint64_t e = c->ept_vpid;

	if (!(e & EPT_CAP_PWL4) || !(e & EPT_CAP_MEMTYPE_WB)) {
		mw_error_set(err, MW_ERR_NO_EPT, -1, MW_STEP_CAPS,
			     "4-level write-back EPT not supported (EPT_VPID_CAP 0x%llx)",
			     (unsigned long long)e);
		return err->status;
	}
	if (!(e & EPT_CAP_INVEPT) || !(e & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		mw_error_set(err, MW_ERR_NO_EPT, -1, MW_STEP_CAPS, "INVEPT not supported");
		return err->status;
	}
	if (!(e & VPID_CAP_INVVPID) || !(e & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL))) {
		mw_error_set(err, MW_ERR_NO_VPID, -1, MW_STEP_CAPS, "INVVPID not supported");
		return err->status;
	}
	return MW_OK;
}

enum mw_status vmx_derive_controls(const struct vmx_caps *c, struct vmx_controls *out,
				   struct mw_error *err)
{
	uint32_t missing;
	enum mw_status s = check_basic(c, err);

	if (s != MW_OK)
		return s;
	memset(out, 0, sizeof(*out));

	/* NMIs exit so that marrow can see NMIs meant for itself and deliver
	 * the guest's ones without loss; virtual NMIs make NMI-window exiting
	 * possible (SDM 3C 27.2.1.1: NMI-window exiting needs virtual NMIs,
	 * which need NMI exiting). */
	out->pin = vmx_adjust_controls(c->pin, PIN_NMI_EXITING, PIN_VIRTUAL_NMIS, &missing);
	if (missing)
		return refuse(err, MW_ERR_VMX_CAPS, "pin-based controls", missing);
	out->virtual_nmis = out->pin & PIN_VIRTUAL_NMIS;

	/* Nothing but MSR accesses in the bitmap and what must exit exits:
	 * CR3 and CR8 accesses, HLT, INVLPG, I/O stay in the guest (true
	 * controls let those default-1 bits be 0). */
	out->proc = vmx_adjust_controls(c->proc, PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY, 0,
					&missing);
	if (missing)
		return refuse(err, MW_ERR_VMX_CAPS, "processor-based controls", missing);
	out->mtf = (c->proc >> 32) & PROC_MONITOR_TRAP_FLAG;

	out->proc2 = vmx_adjust_controls(c->proc2, PROC2_ENABLE_EPT | PROC2_ENABLE_VPID,
					 PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID |
						 PROC2_ENABLE_XSAVES | PROC2_UNRESTRICTED_GUEST |
						 PROC2_ENABLE_USER_WAIT_PAUSE |
						 PROC2_CONCEAL_VMX_FROM_PT,
					 &missing);
	if (missing & PROC2_ENABLE_EPT)
		return refuse(err, MW_ERR_NO_EPT, "secondary control enable-EPT", missing);
	if (missing & PROC2_ENABLE_VPID)
		return refuse(err, MW_ERR_NO_VPID, "secondary control enable-VPID", missing);
	out->unrestricted_guest = out->proc2 & PROC2_UNRESTRICTED_GUEST;
	s = check_ept_vpid(c, err);
	if (s != MW_OK)
		return s;
	out->execute_only_ept = c->ept_vpid & EPT_CAP_EXECUTE_ONLY;
	out->ept_1g_pages = c->ept_vpid & EPT_CAP_1GB_PAGES;
	out->vmfunc = ((c->proc2 >> 32) & PROC2_ENABLE_VMFUNC) && (c->vmfunc & 1);

	out->exit = vmx_adjust_controls(
		c->exit,
		EXIT_CTL_HOST_ADDR_SPACE_SIZE | EXIT_CTL_SAVE_DEBUG_CONTROLS | EXIT_CTL_SAVE_PAT |
			EXIT_CTL_LOAD_PAT | EXIT_CTL_SAVE_EFER | EXIT_CTL_LOAD_EFER,
		EXIT_CTL_CONCEAL_VMX_FROM_PT, &missing);
	if (missing)
		return refuse(err, MW_ERR_VMX_CAPS, "VM-exit controls", missing);
	out->entry = vmx_adjust_controls(c->entry,
					 ENTRY_CTL_LOAD_DEBUG_CONTROLS | ENTRY_CTL_LOAD_PAT |
						 ENTRY_CTL_LOAD_EFER | ENTRY_CTL_IA32E_MODE_GUEST,
					 ENTRY_CTL_CONCEAL_VMX_FROM_PT, &missing);
	if (missing)
		return refuse(err, MW_ERR_VMX_CAPS, "VM-entry controls", missing);
	/* IA-32e mode guest is set per CPU at launch from EFER.LMA. */
	out->entry &= ~ENTRY_CTL_IA32E_MODE_GUEST;
	return MW_OK;
}
