/* What `make run` shows: every CPU virtualized, the kernel still running as
 * the guest (each CPU answers a hypercall), per-CPU exit statistics, then
 * clean devirtualization. */
#include "demo.h"

#include "arch/x86/intrin.h"
#include "console.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "ept/mtrr.h"
#include "marrow/hypercall.h"
#include "marrow/stats.h"
#include "marrow_bm.h"
#include "platform/platform.h"
#include "platform_bm.h"
#include "smp.h"
#include "vmx/vmx_defs.h"

static void say_hello(void *arg)
{
	uint64_t key = *(const uint64_t *)arg;
	struct mw_hc_result r = mw_vmcall(MW_HC_PING, key, 0, 0, 0);
	struct cpuid_regs leaf1 = cpuid(1);

	kprintf("marrow: cpu %u (APIC ID %u) runs as a guest: ping %s, CPUID.1:ECX.VMX=%u\n",
		platform_cpu_index(), this_cpu()->apic_id,
		r.status == MW_HC_OK && r.rdx == MW_HC_SIGNATURE ? "answered" : "FAILED",
		(leaf1.ecx >> 5) & 1);
}

static void print_stats(unsigned cpu, uint64_t key)
{
	static struct mw_cpu_stats s;
	struct mw_hc_result r =
		mw_vmcall(MW_HC_STATS, key, (uint64_t)(uintptr_t)&s, sizeof(s), cpu);

	if (r.status != MW_HC_OK) {
		kprintf("marrow: cpu %u: stats hypercall failed (%llu)\n", cpu,
			(unsigned long long)r.status);
		return;
	}
	kprintf("marrow: cpu %u: %llu exits:", cpu, (unsigned long long)s.exits_total);
	for (unsigned i = 0; i < MW_STATS_EXIT_REASONS; i++)
		if (s.exits[i])
			kprintf(" %s=%llu", exit_reason_name(i), (unsigned long long)s.exits[i]);
	kprintf("; %llu hypercalls, %llu NMIs injected\n", (unsigned long long)s.hypercalls,
		(unsigned long long)s.injected_nmis);
	kprintf("marrow: cpu %u: EPT %llu pages (PML4 %llu, PDPT %llu, PD %llu, PT %llu), %llu in "
		"its split pool\n",
		cpu,
		(unsigned long long)(s.ept_tables[1] + s.ept_tables[2] + s.ept_tables[3] +
				     s.ept_tables[4]),
		(unsigned long long)s.ept_tables[4], (unsigned long long)s.ept_tables[3],
		(unsigned long long)s.ept_tables[2], (unsigned long long)s.ept_tables[1],
		(unsigned long long)s.ept_pool_free);
}

/* The memory types the EPT carries, as the MTRRs give them. */
static void print_memory_types(void)
{
	struct mtrr_range r[16];
	int n = mtrr_build_ranges(mw.mtrrs, r, 16);

	if (n < 0) {
		kprintf("marrow: memory types: more than 16 ranges\n");
		return;
	}
	for (int i = 0; i < n; i++)
		kprintf("marrow: memory type %016llx-%016llx %s\n", (unsigned long long)r[i].base,
			(unsigned long long)(r[i].end - 1), mtrr_type_name(r[i].type));
}

void demo_run(void)
{
	struct mw_config cfg;
	struct mw_error err;
	uint64_t free_before = bm_free_page_count();

	bm_marrow_config(&cfg);
	if (mw_virtualize_all(&cfg, &err) != MW_OK) {
		char msg[160];
		mw_error_format(&err, msg, sizeof(msg));
		kprintf("marrow: virtualization failed: %s\n", msg);
		return;
	}
	kprintf("marrow: %u of %u CPUs virtualized (%llu KiB for marrow); EPT maps %llu GiB, "
		"%zu pages of it shared by every CPU\n",
		mw_virtualized_count(), platform_cpu_count(),
		(unsigned long long)((free_before - bm_free_page_count()) * 4),
		(unsigned long long)(mw.ept_limit >> 30), mw.ept_shared_pages);
	print_memory_types();
	platform_on_each_cpu(say_hello, &cfg.hypercall_key);
	for (unsigned i = 0; i < platform_cpu_count(); i++)
		print_stats(i, cfg.hypercall_key);
	mw_drain_logs();
	enum mw_status s = mw_devirtualize_all();
	kprintf("marrow: devirtualized: %s; %u CPUs still virtualized, memory %s\n",
		mw_status_str(s), mw_virtualized_count(),
		bm_free_page_count() == free_before ? "all returned" : "NOT all returned");
	struct cpuid_regs leaf1 = cpuid(1);
	kprintf("marrow: the kernel runs on, natively: CPUID.1:ECX.VMX=%u\n", (leaf1.ecx >> 5) & 1);
}
