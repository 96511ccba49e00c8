/* marrow's internal status codes and the error record that names the CPU,
 * the step and the decoded reason of a failure. */
#ifndef MARROW_CORE_STATUS_H
#define MARROW_CORE_STATUS_H

#include <stddef.h>
#include <stdint.h>

enum mw_status {
	MW_OK = 0,
	MW_ERR_NOT_INTEL,      /* CPUID vendor is not GenuineIntel */
	MW_ERR_NO_VMX,	       /* CPUID.1:ECX.VMX is clear */
	MW_ERR_VMX_LOCKED_OFF, /* FEATURE_CONTROL locked without VMXON outside SMX */
	MW_ERR_VMX_CAPS,       /* a required VMX capability is missing */
	MW_ERR_NO_EPT,	       /* EPT, or a part of it marrow needs, is missing */
	MW_ERR_NO_VPID,	       /* VPID or single-context INVVPID is missing */
	MW_ERR_CPU_MISMATCH,   /* CPUs report different VMX capabilities */
	MW_ERR_NO_MEMORY,
	MW_ERR_VMX_INSTRUCTION, /* a VMX instruction failed (see vm_error) */
	MW_ERR_VMX_FAULT,	/* a VMX instruction raised an exception */
	MW_ERR_ALREADY,		/* already virtualized */
	MW_ERR_NOT_VIRTUALIZED,
	MW_ERR_INJECTED, /* fault injection for tests */
	MW_ERR_BAD_CONFIG,
	MW_ERR_TOO_MANY_CPUS,
	MW_ERR_UNSUPPORTED,  /* the CPU or the platform lacks what it needs */
	MW_ERR_BAD_ARGUMENT, /* e.g. an address that is not RAM */
	MW_ERR_EXISTS,	     /* already hooked */
	MW_ERR_NOT_FOUND,    /* no such hook */
	MW_ERR_FULL,	     /* no free hook slot */
	MW_ERR_BUSY,	     /* another hook change is in progress */
};

const char *mw_status_str(enum mw_status s);

/* Where in bringing a CPU up a failure happened. */
enum mw_step {
	MW_STEP_NONE = 0,
	MW_STEP_SUPPORT, /* vendor, CPUID, FEATURE_CONTROL */
	MW_STEP_CAPS,	 /* capability MSRs and control adjustment */
	MW_STEP_ALLOC,	 /* memory for the CPU's VMX structures */
	MW_STEP_VMXON,
	MW_STEP_VMCLEAR,
	MW_STEP_VMPTRLD,
	MW_STEP_VMCS, /* writing the VMCS fields */
	MW_STEP_VMLAUNCH,
	MW_STEP_COUNT,
};

const char *mw_step_str(enum mw_step s);
/* For configuration: the step named s ("vmxon", "vmlaunch"...), or
 * MW_STEP_NONE. */
enum mw_step mw_step_from_name(const char *s);

struct mw_error {
	enum mw_status status;
	int cpu; /* -1 when no single CPU is at fault */
	enum mw_step step;
	uint32_t vm_error; /* VM-instruction error number, 0 if none */
	char detail[192];  /* e.g. which capability is missing */
};

/* One line: "cpu 2: vmlaunch: VMX instruction failed: VM entry with
 * invalid host-state field(s) (VM-instruction error 8)". */
int mw_error_format(const struct mw_error *e, char *buf, size_t size);
void mw_error_set(struct mw_error *e, enum mw_status s, int cpu, enum mw_step step, const char *fmt,
		  ...) __attribute__((format(printf, 5, 6)));

#endif
