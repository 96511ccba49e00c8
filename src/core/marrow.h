/* marrow's core: the API a platform calls to virtualize every CPU and to
 * leave again, and the global state behind it. */
#ifndef MARROW_CORE_MARROW_H
#define MARROW_CORE_MARROW_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "core/vcpu.h"
#include "vmx/vmx_caps.h"

#define MW_MAX_CPUS 64

struct mw_config {
	/* VMCALLs are honoured only with this key in RCX (and at CPL 0). */
	uint64_t hypercall_key;
	/* Show marrow through CPUID: the hypervisor-present bit
	 * (CPUID.1:ECX[31]) and leaf 0x40000000. Off: invisible. */
	bool cpuid_identify;
	/* Test knobs: exits that are normally off. */
	bool exit_on_rdtsc;
	bool exit_on_wbinvd;
	bool exit_on_hlt;
	uint32_t exception_bitmap; /* exceptions to intercept and reflect */
	/* Fault injection: make CPU fault_cpu fail at fault_step. */
	int fault_cpu;
	enum mw_step fault_step;
	/* Root-mode fatal diagnostics also go to this 16550 port (0: off). */
	uint16_t debug_port;
	/* Called in root mode after a fatal diagnostic (root-safe; may not
	 * return). NULL: the CPU halts. */
	void (*root_fatal_hook)(void);
};

/* Defaults: a key, invisible, no test knobs, no fault injection. */
void mw_config_default(struct mw_config *cfg);

struct marrow {
	struct mw_config cfg;
	struct vmx_caps caps;
	struct vmx_controls ctl;
	unsigned cpu_count;
	struct vcpu *vcpus[MW_MAX_CPUS];
	void *msr_bitmap;
	uint64_t msr_bitmap_pa;
	uint64_t host_cr3;
	struct host_pt *host_pt;
	uint64_t eptp;
	struct ept *ept;
	void *lapic_mmio; /* xAPIC registers, for root-mode NMIs */
	volatile bool active;
	volatile bool leave_all; /* MW_HC_DEVIRTUALIZE_ALL in progress */
};

extern struct marrow mw;

/* Virtualizes every CPU, all or nothing. On failure no CPU is left
 * virtualized, every page is returned, and err names the CPU, the step and
 * the decoded reason. */
enum mw_status mw_virtualize_all(const struct mw_config *cfg, struct mw_error *err);
/* Devirtualizes every CPU still virtualized and frees everything. */
enum mw_status mw_devirtualize_all(void);

/* For platforms with CPU hotplug, while marrow is active (between
 * mw_virtualize_all and mw_devirtualize_all). Both run on the CPU
 * concerned, not preemptible, interrupts disabled, and allocate nothing:
 * mw_virtualize_all prepared a vCPU for every CPU the platform counts.
 * A CPU that was offline at mw_virtualize_all, or that left with
 * mw_devirtualize_this_cpu, comes in with mw_virtualize_this_cpu after the
 * same support and capability checks; err says why it did not. */
enum mw_status mw_virtualize_this_cpu(struct mw_error *err);
/* Takes the calling CPU out of VMX operation (e.g. before it goes
 * offline); the other CPUs stay virtualized. MW_OK also when it already
 * was out. */
enum mw_status mw_devirtualize_this_cpu(void);
bool mw_cpu_virtualized(unsigned cpu);
/* Number of CPUs currently virtualized. */
unsigned mw_virtualized_count(void);

#endif
