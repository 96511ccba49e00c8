#include "status.h"

#include <stdarg.h>

#include "core/fmt.h"
#include "core/mw_string.h"
#include "vmx/vmx_defs.h"

const char *mw_status_str(enum mw_status s)
{
	switch (s) {
	case MW_OK:
		return "ok";
	case MW_ERR_NOT_INTEL:
		return "not an Intel CPU";
	case MW_ERR_NO_VMX:
		return "the CPU has no VMX (CPUID.1:ECX.VMX is 0)";
	case MW_ERR_VMX_LOCKED_OFF:
		return "VMX is disabled by the firmware (IA32_FEATURE_CONTROL locked without "
		       "VMXON)";
	case MW_ERR_VMX_CAPS:
		return "a required VMX capability is missing";
	case MW_ERR_NO_EPT:
		return "EPT is missing or incomplete";
	case MW_ERR_NO_VPID:
		return "VPID is missing or incomplete";
	case MW_ERR_CPU_MISMATCH:
		return "CPUs report different VMX capabilities";
	case MW_ERR_NO_MEMORY:
		return "out of memory";
	case MW_ERR_VMX_INSTRUCTION:
		return "VMX instruction failed";
	case MW_ERR_VMX_FAULT:
		return "VMX instruction raised an exception";
	case MW_ERR_ALREADY:
		return "already virtualized";
	case MW_ERR_NOT_VIRTUALIZED:
		return "not virtualized";
	case MW_ERR_INJECTED:
		return "failure injected for a test";
	case MW_ERR_BAD_CONFIG:
		return "bad configuration";
	case MW_ERR_TOO_MANY_CPUS:
		return "more CPUs than marrow supports";
	case MW_ERR_UNSUPPORTED:
		return "not supported here";
	case MW_ERR_BAD_ARGUMENT:
		return "bad argument";
	case MW_ERR_EXISTS:
		return "already hooked";
	case MW_ERR_NOT_FOUND:
		return "no such hook";
	case MW_ERR_FULL:
		return "no free hook slot";
	case MW_ERR_BUSY:
		return "another hook change is in progress";
	}
	return "unknown status";
}

static const char *const step_names[MW_STEP_COUNT] = {
	[MW_STEP_NONE] = "none",	 [MW_STEP_SUPPORT] = "support",
	[MW_STEP_CAPS] = "caps",	 [MW_STEP_ALLOC] = "alloc",
	[MW_STEP_VMXON] = "vmxon",	 [MW_STEP_VMCLEAR] = "vmclear",
	[MW_STEP_VMPTRLD] = "vmptrld",	 [MW_STEP_VMCS] = "vmcs",
	[MW_STEP_VMLAUNCH] = "vmlaunch",
};

const char *mw_step_str(enum mw_step s)
{
	return (unsigned)s < MW_STEP_COUNT ? step_names[s] : "unknown step";
}

enum mw_step mw_step_from_name(const char *s)
{
	for (unsigned i = 1; i < MW_STEP_COUNT; i++)
		if (strcmp(s, step_names[i]) == 0)
			return (enum mw_step)i;
	return MW_STEP_NONE;
}

void mw_error_set(struct mw_error *e, enum mw_status s, int cpu, enum mw_step step, const char *fmt,
		  ...)
{
	e->status = s;
	e->cpu = cpu;
	e->step = step;
	e->vm_error = 0;
	e->detail[0] = '\0';
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		mw_vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
		va_end(ap);
	}
}

int mw_error_format(const struct mw_error *e, char *buf, size_t size)
{
	char where[24] = "";
	char vmerr[96] = "";

	if (e->cpu >= 0)
		mw_snprintf(where, sizeof(where), "cpu %d: ", e->cpu);
	if (e->vm_error)
		mw_snprintf(vmerr, sizeof(vmerr), ": %s (VM-instruction error %u)",
			    vm_error_str(e->vm_error), e->vm_error);
	/* Errors outside bring-up (hooks) have no step to name. */
	return mw_snprintf(buf, size, "%s%s%s%s%s%s%s", where,
			   e->step == MW_STEP_NONE ? "" : mw_step_str(e->step),
			   e->step == MW_STEP_NONE ? "" : ": ", mw_status_str(e->status),
			   e->detail[0] ? ": " : "", e->detail, vmerr);
}
