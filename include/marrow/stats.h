/* Per-CPU statistics as MW_HC_STATS returns them (ABI: only append). */
#ifndef MARROW_STATS_H
#define MARROW_STATS_H

#include <stdint.h>

#define MW_STATS_EXIT_REASONS 80

struct mw_cpu_stats {
	uint64_t size; /* sizeof(struct mw_cpu_stats) as marrow knows it */
	uint64_t exits_total;
	uint64_t exits[MW_STATS_EXIT_REASONS]; /* by basic exit reason */
	uint64_t injected_exceptions;	       /* #UD, #GP... marrow raised or reflected */
	uint64_t injected_nmis;
	uint64_t nmis_in_root;	     /* NMIs that arrived while marrow ran */
	uint64_t hypercalls;	     /* honoured */
	uint64_t hypercalls_refused; /* VMCALLs answered with #UD */
	uint64_t unexpected_exits;   /* exit reasons marrow does not enable */
	uint64_t msr_faults;	     /* guest RDMSR/WRMSR that raised #GP */
	/* This CPU's EPT: tables in use by level ([1] page tables, [2] page
	 * directories, [3] PDPTs, [4] the PML4; [0] unused) and pages left in
	 * its split pool. */
	uint64_t ept_tables[5];
	uint64_t ept_pool_free;
	uint64_t ept_violations; /* passed to the registered handler */
	/* With emulated INITs (mw_config.emulate_init, core/boot_apic.h):
	 * the guest's local APIC writes marrow carried out (xAPIC page
	 * stores, x2APIC ICR writes), and the INITs this CPU took, emulated.
	 * The SIPIs that follow are real: exits[4] counts them. */
	uint64_t apic_writes_emulated;
	uint64_t inits_emulated;
};

#endif
