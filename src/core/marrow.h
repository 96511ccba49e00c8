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

struct mw_boot_config;
struct mw_phys_range;

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
	/* Fault injection (core/fault.h): make CPU fault_cpu fail at
	 * fault_step, or at its VMX instruction number fault_vmx_insn of the
	 * launch; or make allocation number fault_alloc fail (0: off). */
	int fault_cpu;
	enum mw_step fault_step;
	uint32_t fault_vmx_insn;
	uint32_t fault_alloc;
	/* Pages each CPU's EPT keeps for splits (hooks); 0: the default. */
	unsigned ept_pool_pages;
	/* Called in root mode (root-safe code only) for an EPT violation; true
	 * when it dealt with it and the guest resumes, false for marrow's fatal
	 * diagnostic. NULL: every violation is fatal. */
	bool (*ept_violation_handler)(struct vcpu *v, uint64_t gpa, uint64_t qualification);
	/* The page table whose kernel-half mappings root mode copies
	 * (physical address of its PML4); 0: the current CR3. A platform whose
	 * own tables do not outlive it gives one it owns (UEFI: the firmware's
	 * tables are boot-services memory the OS reuses). */
	uint64_t host_pt_source;
	/* The INIT IPIs the guest sends are emulated, never delivered
	 * (core/boot_apic.h): its local APIC page is read-only in EPT and its
	 * x2APIC ICR writes exit. For a guest that starts its APs under
	 * marrow (a boot-time guest, an OS booted after UEFI marrow.efi). */
	bool emulate_init;
	/* Root-mode fatal diagnostics also go to this 16550 port (0: off). */
	uint16_t debug_port;
	/* Called in root mode after a fatal diagnostic (root-safe; may not
	 * return). NULL: the CPU halts. */
	void (*root_fatal_hook)(void);
	/* Set when marrow starts first and boots the next kernel as its
	 * guest (core/boot_guest.h); NULL when it takes over a running OS. */
	const struct mw_boot_config *boot;
};

#define MW_EPT_POOL_PAGES_DEFAULT 16

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
	struct mtrr_state *mtrrs; /* the boot CPU's; every CPU's is the same */
	uint64_t ept_limit;	  /* guest-physical addresses below are mapped */
	size_t ept_shared_pages;  /* tables above 512 GiB, shared by all CPUs */

	void *lapic_mmio; /* xAPIC registers, for root-mode NMIs */
	/* Vectors intercepted for exception hooks (hook/exception_hook.c). */
	volatile uint32_t exception_hooks;
	/* The monitor trap flag causes VM exits (checked at load on every
	 * CPU: Bochs 2.7 offers it but never exits). */
	bool mtf_works;
	/* Boot-time guest (core/boot_guest.h): APs parked so far, and set
	 * once the guest kernel runs (no hypercall is served after). */
	volatile uint32_t boot_parked;
	volatile bool sealed;
	/* marrow's own memory (core/seal.h): the ranges every CPU's EPT maps
	 * not present once hidden, and, set by MW_HC_SEAL (UEFI), hidden on
	 * every CPU with only harmless hypercalls served. */
	const struct mw_phys_range *hidden;
	unsigned hidden_count;
	volatile bool memory_sealed;
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
/* The exceptions every CPU intercepts: the configuration's and the hooked
 * ones. Root-safe. */
static inline uint32_t mw_exception_bitmap(void)
{
	return mw.cfg.exception_bitmap | __atomic_load_n(&mw.exception_hooks, __ATOMIC_ACQUIRE);
}
/* Makes every CPU load mw_exception_bitmap() into its VMCS; outside root
 * mode. */
void mw_sync_controls(void);

/* Makes every CPU drop its cached EPT translations (after changing EPT
 * entries of a running CPU); outside root mode. */
void mw_ept_flush_all(void);
/* Moves every CPU's log records (written in root mode) to platform_log, as
 * lines "marrow: cpu N: text". Outside root mode only; a ring another
 * reader holds (MW_HC_READ_LOG) is skipped this time. */
void mw_drain_logs(void);
/* Number of CPUs currently virtualized. */
unsigned mw_virtualized_count(void);

#endif
