/* Virtualize every CPU, all or nothing, and devirtualize them again. */
#include "marrow.h"

#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "core/boot_apic.h"
#include "core/boot_guest.h"
#include "core/fault.h"
#include "core/fmt.h"
#include "core/host_pt.h"
#include "core/msr_bitmap.h"
#include "core/mw_string.h"
#include "core/vcpu_launch.h"
#include "ept/ept.h"
#include "ept/mtrr.h"
#include "hook/hooks.h"
#include "marrow/hypercall.h"
#include "platform/platform.h"
#include "vmx/host_idt.h"

struct marrow mw;
static struct host_pt host_pt;
/* The EPT tables above 512 GiB, shared read-only by every CPU's tree. */
static struct ept *ept_shared;

#define EPT_STRUCT_PAGES ((sizeof(struct ept) + 4095) / 4096)

#define MTRR_PAGES ((sizeof(struct mtrr_state) + 4095) / 4096)

struct cpu_probe {
	struct vmx_caps caps;
	struct mw_error err;
	struct mtrr_state *mtrrs; /* a page per CPU, allocated before the probe */
	bool reached;		  /* probe_cpu ran: the CPU was online */
};

static struct cpu_probe probes[MW_MAX_CPUS];

void mw_config_default(struct mw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/* A key that differs from run to run; a platform that needs a known
	 * key (tests, a management tool) sets its own. */
	cfg->hypercall_key = rdtsc() * 0x9e3779b97f4a7c15ull ^ 0x6d6172726f77ull;
	cfg->fault_cpu = -1;
}

static void probe_cpu(void *arg)
{
	(void)arg;
	unsigned i = platform_cpu_index();
	struct cpu_probe *p = &probes[i];

	p->reached = true;
	mw_error_set(&p->err, MW_OK, (int)i, MW_STEP_NONE, NULL);
	if (mw.cfg.fault_cpu == (int)i && mw.cfg.fault_step == MW_STEP_SUPPORT) {
		mw_error_set(&p->err, MW_ERR_INJECTED, (int)i, MW_STEP_SUPPORT, NULL);
		return;
	}
	if (vmx_check_support((int)i, &p->err) != MW_OK)
		return;
	if (mw.cfg.fault_cpu == (int)i && mw.cfg.fault_step == MW_STEP_CAPS) {
		mw_error_set(&p->err, MW_ERR_INJECTED, (int)i, MW_STEP_CAPS, NULL);
		return;
	}
	if (vmx_read_caps(&p->caps, (int)i, &p->err) != MW_OK)
		return;
	if (p->mtrrs)
		mtrr_read(p->mtrrs, p->caps.phys_addr_bits);
}

static enum mw_status probe_compare(struct mw_error *err, unsigned *first);

/* Frees the probe's MTRR snapshots, but keep's when it is kept as
 * mw.mtrrs (keep < 0: all of them). */
static void free_probe_mtrrs(int keep)
{
	for (unsigned i = 0; i < mw.cpu_count; i++) {
		if (probes[i].mtrrs && (int)i != keep)
			platform_free_pages(probes[i].mtrrs, MTRR_PAGES);
		probes[i].mtrrs = NULL;
	}
}

/* Every CPU supports VMX and reports the same capabilities and MTRRs
 * (SDM 3A 11.11.8: the MTRRs must be the same on every processor; the EPT
 * types are computed once from them). A CPU the platform did not reach
 * (offline, on an OS with CPU hotplug) is skipped: it is probed when it
 * comes online (mw_virtualize_this_cpu). The first CPU's MTRRs are kept
 * in mw.mtrrs. */
static enum mw_status probe_all(struct mw_error *err)
{
	for (unsigned i = 0; i < mw.cpu_count; i++) {
		probes[i].reached = false;
		probes[i].mtrrs = mw_alloc_pages(MTRR_PAGES);
		if (!probes[i].mtrrs) {
			free_probe_mtrrs(-1);
			mw_error_set(err, MW_ERR_NO_MEMORY, (int)i, MW_STEP_CAPS, "MTRR snapshot");
			return err->status;
		}
	}
	platform_on_each_cpu(probe_cpu, NULL);
	unsigned first = UINT32_MAX;
	enum mw_status s = probe_compare(err, &first);
	if (s == MW_OK)
		mw.mtrrs = probes[first].mtrrs;
	free_probe_mtrrs(s == MW_OK ? (int)first : -1);
	return s;
}

/* On success *first is the first CPU reached: the reference for the
 * others. */
static enum mw_status probe_compare(struct mw_error *err, unsigned *first)
{
	for (unsigned i = 0; i < mw.cpu_count; i++) {
		if (!probes[i].reached)
			continue;
		if (probes[i].err.status != MW_OK) {
			*err = probes[i].err;
			return err->status;
		}
		if (*first == UINT32_MAX) {
			*first = i;
			continue;
		}
		if (memcmp(probes[i].mtrrs, probes[*first].mtrrs, sizeof(struct mtrr_state)) != 0) {
			mw_error_set(err, MW_ERR_CPU_MISMATCH, (int)i, MW_STEP_CAPS,
				     "MTRRs differ from cpu %u's", *first);
			return err->status;
		}
		if (memcmp(&probes[i].caps, &probes[*first].caps, sizeof(struct vmx_caps)) != 0) {
			mw_error_set(err, MW_ERR_CPU_MISMATCH, (int)i, MW_STEP_CAPS,
				     "capabilities differ from cpu %u's", *first);
			return err->status;
		}
	}
	if (*first == UINT32_MAX) {
		mw_error_set(err, MW_ERR_BAD_CONFIG, -1, MW_STEP_SUPPORT, "no CPU was reached");
		return err->status;
	}
	mw.caps = probes[*first].caps;
	return vmx_derive_controls(&mw.caps, &mw.ctl, err);
}

static bool ept_page(struct ept_page *out, void *ctx)
{
	(void)ctx;
	out->va = mw_alloc_pages(1);
	out->pa = out->va ? platform_virt_to_phys(out->va) : 0;
	return out->va != NULL;
}

static void ept_page_free(const struct ept_page *page, void *ctx)
{
	(void)ctx;
	platform_free_pages(page->va, 1);
}

static const struct ept_alloc ept_pages = { ept_page, ept_page_free, NULL };

static bool mtrr_type(uint64_t base, uint64_t len, uint8_t *type, void *ctx)
{
	return mtrr_type_of_range(ctx, base, len, type) == 1;
}

/* The guest-physical space the EPT maps: all of it, up to MAXPHYADDR (at
 * most the 48 bits a 4-level EPT reaches). Without 1 GiB pages that would
 * cost a page directory per GiB, so the map then stops above the highest
 * range the firmware reports (at least 4 GiB, for the MMIO below it). */
static uint64_t ept_map_limit(void)
{
	unsigned bits = mw.caps.phys_addr_bits > 48 ? 48 : mw.caps.phys_addr_bits;
	if (mw.ctl.ept_1g_pages)
		return 1ull << bits;
	struct platform_mem_range map[64];
	size_t n = platform_memory_map(map, 64);
	uint64_t top = 4ull << 30;
	for (size_t i = 0; i < n && i < 64; i++)
		if (map[i].base + map[i].length > top)
			top = map[i].base + map[i].length;
	top = (top + (1ull << 30) - 1) & ~((1ull << 30) - 1);
	return top < (1ull << bits) ? top : 1ull << bits;
}

static enum mw_status build_ept(struct vcpu *v)
{
	struct ept_build_params p = {
		.phys_bits = mw.caps.phys_addr_bits,
		.limit = mw.ept_limit,
		.use_1g = mw.ctl.ept_1g_pages,
		.pool_pages =
			mw.cfg.ept_pool_pages ? mw.cfg.ept_pool_pages : MW_EPT_POOL_PAGES_DEFAULT,
		.type_of = mtrr_type,
		.type_ctx = mw.mtrrs,
		.shared = ept_shared,
	};
	v->ept = mw_alloc_pages(EPT_STRUCT_PAGES);
	if (!v->ept)
		return MW_ERR_NO_MEMORY;
	enum mw_status s = ept_build(v->ept, &p, &ept_pages);
	/* Guest writes to the local APIC exit, to be emulated (boot_apic.h). */
	if (s == MW_OK && mw.cfg.emulate_init)
		s = ept_set_rights(v->ept, boot_apic_page(), 4096, EPT_READ | EPT_EXEC);
	if (s != MW_OK) {
		platform_free_pages(v->ept, EPT_STRUCT_PAGES);
		v->ept = NULL;
	}
	return s;
}

/* Only a map reaching past the first PML4 entry has anything to share. */
static enum mw_status build_shared_ept(void)
{
	struct ept_build_params p = {
		.phys_bits = mw.caps.phys_addr_bits,
		.limit = mw.ept_limit,
		.use_1g = mw.ctl.ept_1g_pages,
		.type_of = mtrr_type,
		.type_ctx = mw.mtrrs,
	};
	if (mw.ept_limit <= (512ull << 30))
		return MW_OK;
	ept_shared = mw_alloc_pages(EPT_STRUCT_PAGES);
	if (!ept_shared)
		return MW_ERR_NO_MEMORY;
	enum mw_status s = ept_build_shared(ept_shared, &p, &ept_pages);
	mw.ept_shared_pages = s == MW_OK ? ept_table_pages(ept_shared) : 0;
	if (s != MW_OK) {
		platform_free_pages(ept_shared, EPT_STRUCT_PAGES);
		ept_shared = NULL;
	}
	return s;
}

static void free_vcpu(struct vcpu *v)
{
	if (v->ept) {
		ept_free(v->ept, &ept_pages);
		platform_free_pages(v->ept, EPT_STRUCT_PAGES);
	}
	if (v->vmxon_region)
		platform_free_pages(v->vmxon_region, 1);
	if (v->vmcs)
		platform_free_pages(v->vmcs, 1);
	if (v->host_stack)
		platform_free_pages(v->host_stack, HOST_STACK_PAGES);
	if (v->host_idt)
		platform_free_pages(v->host_idt, 1);
	if (v->log_buffer)
		platform_free_pages(v->log_buffer, LOG_RING_PAGES);
	platform_free_pages(v, VCPU_PAGES);
}

static void free_all(void)
{
	for (unsigned i = 0; i < MW_MAX_CPUS; i++) {
		if (mw.vcpus[i])
			free_vcpu(mw.vcpus[i]);
		mw.vcpus[i] = NULL;
	}
	if (mw.msr_bitmap)
		platform_free_pages(mw.msr_bitmap, 1);
	mw.msr_bitmap = NULL;
	if (mw.lapic_mmio)
		platform_unmap_mmio(mw.lapic_mmio, 4096);
	mw.lapic_mmio = NULL;
	/* After every CPU's tree: they point into it. */
	if (ept_shared) {
		ept_free(ept_shared, &ept_pages);
		platform_free_pages(ept_shared, EPT_STRUCT_PAGES);
		ept_shared = NULL;
	}
	host_pt_free(&host_pt);
	if (mw.mtrrs)
		platform_free_pages(mw.mtrrs, MTRR_PAGES);
	mw.mtrrs = NULL;
}

static struct vcpu *alloc_vcpu(unsigned i)
{
	struct vcpu *v = mw_alloc_pages(VCPU_PAGES);
	if (!v)
		return NULL;
	v->self = v;
	v->index = i;
	v->vpid = (uint16_t)(i + 1); /* VPID 0 is the host's (SDM 3C 29.1) */
	v->vmxon_region = mw_alloc_pages(1);
	v->vmcs = mw_alloc_pages(1);
	v->host_stack = mw_alloc_pages(HOST_STACK_PAGES);
	v->host_idt = mw_alloc_pages(1);
	v->log_buffer = mw_alloc_pages(LOG_RING_PAGES);
	if (!v->vmxon_region || !v->vmcs || !v->host_stack || !v->host_idt || !v->log_buffer) {
		free_vcpu(v);
		return NULL;
	}
	v->vmxon_pa = platform_virt_to_phys(v->vmxon_region);
	v->vmcs_pa = platform_virt_to_phys(v->vmcs);
	v->stats.size = sizeof(v->stats);
	v->stats.ept_pool_free = 0; /* filled in when its EPT is built */
	log_ring_init(&v->log, v->log_buffer, LOG_RING_PAGES * 4096);
	host_idt_build(v->host_idt, read_cs());
	return v;
}

/* Everything root mode will use is allocated here, by the calling thread,
 * before any CPU enters VMX operation: root mode never allocates. */
static enum mw_status allocate_all(struct mw_error *err)
{
	enum mw_status s = host_pt_build(&host_pt, mw.cfg.host_pt_source);
	if (s != MW_OK) {
		mw_error_set(err, s, -1, MW_STEP_ALLOC, "host page table");
		return s;
	}
	mw.host_cr3 = platform_virt_to_phys(host_pt.pml4);
	mw.host_pt = &host_pt;
	mw.ept_limit = ept_map_limit();
	s = build_shared_ept();
	if (s != MW_OK) {
		mw_error_set(err, s, -1, MW_STEP_ALLOC, "shared EPT tables (%llu GiB)",
			     (unsigned long long)(mw.ept_limit >> 30));
		return s;
	}
	mw.msr_bitmap = mw_alloc_pages(1);
	if (!mw.msr_bitmap) {
		mw_error_set(err, MW_ERR_NO_MEMORY, -1, MW_STEP_ALLOC, "MSR bitmap");
		return err->status;
	}
	msr_bitmap_build(mw.msr_bitmap);
	if (mw.cfg.emulate_init)
		boot_apic_msr_intercepts(mw.msr_bitmap);
	/* In xAPIC mode root mode reaches the ICR through this mapping (NMIs
	 * for MW_HC_DEVIRTUALIZE_ALL); x2APIC mode needs none. */
	if (!(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC)) {
		mw.lapic_mmio = mw_map_mmio(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK, 4096);
		if (!mw.lapic_mmio) {
			mw_error_set(err, MW_ERR_NO_MEMORY, -1, MW_STEP_ALLOC,
				     "mapping the local APIC");
			return err->status;
		}
	}
	mw.msr_bitmap_pa = platform_virt_to_phys(mw.msr_bitmap);
	/* After an emulated INIT the guest waits for its SIPI and starts in
	 * real mode: the wait-for-SIPI activity state (IA32_VMX_MISC bit 8,
	 * SDM 3C A.6) and unrestricted guest. */
	if (mw.cfg.emulate_init &&
	    (!mw.ctl.unrestricted_guest || !(mw.caps.misc & VMX_MISC_ACTIVITY_WAIT_SIPI))) {
		mw_error_set(err, MW_ERR_UNSUPPORTED, -1, MW_STEP_ALLOC,
			     "emulated INIT needs unrestricted guest and the wait-for-SIPI "
			     "activity state");
		return err->status;
	}
	for (unsigned i = 0; i < mw.cpu_count; i++) {
		if (mw.cfg.fault_cpu == (int)i && mw.cfg.fault_step == MW_STEP_ALLOC) {
			mw_error_set(err, MW_ERR_INJECTED, (int)i, MW_STEP_ALLOC, NULL);
			return err->status;
		}
		mw.vcpus[i] = alloc_vcpu(i);
		if (!mw.vcpus[i]) {
			mw_error_set(err, MW_ERR_NO_MEMORY, (int)i, MW_STEP_ALLOC,
				     "VMX regions and stacks");
			return err->status;
		}
		s = build_ept(mw.vcpus[i]);
		if (s != MW_OK) {
			mw_error_set(err, s, (int)i, MW_STEP_ALLOC, "EPT (%llu GiB)",
				     (unsigned long long)(mw.ept_limit >> 30));
			return s;
		}
	}
	return MW_OK;
}

static void launch_cpu(void *arg)
{
	(void)arg;
	vcpu_launch(mw.vcpus[platform_cpu_index()]);
}

/* Leaves VMX operation on the calling CPU, then lets the platform restore
 * what VM exits changed in its host state. */
static bool leave_this_cpu(void)
{
	bool left = vcpu_leave(mw.vcpus[platform_cpu_index()]);
	platform_cpu_left_vmx();
	return left;
}

static void leave_cpu(void *arg)
{
	(void)arg;
	leave_this_cpu();
}

struct mtf_check {
	volatile bool missed;
};

static void check_mtf_on_cpu(void *arg)
{
	struct mtf_check *m = arg;
	uint64_t key = mw.cfg.hypercall_key;

	if (mw_vmcall(MW_HC_PROBE_MTF, key, 0, 0, 0).status != MW_HC_OK) {
		m->missed = true;
		return;
	}
	__asm__ volatile("nop; nop");
	if (mw_vmcall(MW_HC_PROBE_MTF, key, 1, 0, 0).rdx != 1)
		m->missed = true;
}

/* Hooks step one instruction with MTF where it works, which the
 * capability MSR alone cannot tell (Bochs 2.7 offers the control and never
 * exits for it): each CPU arms it, runs two NOPs and looks. */
static void check_mtf(void)
{
	struct mtf_check m = { .missed = false };

	if (!mw.ctl.mtf)
		return;
	platform_on_each_cpu(check_mtf_on_cpu, &m);
	static bool told;
	mw.mtf_works = !m.missed;
	if (!mw.mtf_works && !told) {
		told = true;
		static const char msg[] = "marrow: the monitor trap flag causes no VM exits here: "
					  "hooked pages are stepped with TF and #DB\n";
		platform_log(msg, sizeof(msg) - 1);
	}
}

enum mw_status mw_virtualize_all(const struct mw_config *cfg, struct mw_error *err)
{
	if (mw.active) {
		mw_error_set(err, MW_ERR_ALREADY, -1, MW_STEP_NONE, NULL);
		return err->status;
	}
	memset(&mw, 0, sizeof(mw));
	mw.cfg = *cfg;
	mw.cpu_count = platform_cpu_count();
	if (mw.cpu_count > MW_MAX_CPUS) {
		mw_error_set(err, MW_ERR_TOO_MANY_CPUS, -1, MW_STEP_NONE, "%u CPUs, at most %u",
			     mw.cpu_count, MW_MAX_CPUS);
		return err->status;
	}
	fault_alloc_reset();
	enum mw_status s = probe_all(err);
	if (s == MW_OK)
		s = allocate_all(err);
	if (s != MW_OK) {
		free_all();
		if (fault_alloc_hit()) {
			/* The test asked for it: say which allocation it was. */
			err->status = MW_ERR_INJECTED;
			size_t n = strlen(err->detail);
			mw_snprintf(err->detail + n, sizeof(err->detail) - n,
				    " (allocation %u made to fail)", fault_alloc_hit());
		}
		return err->status;
	}

	platform_on_each_cpu(launch_cpu, NULL);
	for (unsigned i = 0; i < mw.cpu_count; i++) {
		if (mw.vcpus[i]->launch_error.status != MW_OK) {
			*err = mw.vcpus[i]->launch_error;
			/* All or nothing: the CPUs that made it leave again. */
			platform_on_each_cpu(leave_cpu, NULL);
			if (mw_virtualized_count() == 0)
				free_all();
			else
				mw.active = true; /* memory still in use: keep it */
			return err->status;
		}
	}
	mw.active = true;
	check_mtf();
	return MW_OK;
}

static void drain_one(struct vcpu *v)
{
	char line[LOG_RECORD_MAX + 1], out[LOG_RECORD_MAX + 48];
	struct log_record_info info;
	uint32_t unlocked = 0;

	if (!__atomic_compare_exchange_n(&v->log_reader, &unlocked, 1, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return;
	while (log_ring_read(&v->log, line, sizeof(line), &info)) {
		int n;
		if (info.lost) {
			n = mw_snprintf(out, sizeof(out), "marrow: cpu %u: %llu records lost\n",
					v->index, (unsigned long long)info.lost);
			platform_log(out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
		}
		n = mw_snprintf(out, sizeof(out), "marrow: cpu %u: %s\n", v->index, line);
		platform_log(out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
	}
	__atomic_store_n(&v->log_reader, 0, __ATOMIC_RELEASE);
}

static void flush_this_cpu(void *arg)
{
	(void)arg;
	if (mw_cpu_virtualized(platform_cpu_index()))
		mw_vmcall(MW_HC_EPT_FLUSH, mw.cfg.hypercall_key, 0, 0, 0);
}

static void sync_this_cpu(void *arg)
{
	(void)arg;
	if (mw_cpu_virtualized(platform_cpu_index()))
		mw_vmcall(MW_HC_SYNC_CONTROLS, mw.cfg.hypercall_key, 0, 0, 0);
}

void mw_sync_controls(void)
{
	platform_on_each_cpu(sync_this_cpu, NULL);
}

void mw_ept_flush_all(void)
{
	platform_on_each_cpu(flush_this_cpu, NULL);
}

void mw_drain_logs(void)
{
	for (unsigned i = 0; i < mw.cpu_count; i++)
		if (mw.vcpus[i])
			drain_one(mw.vcpus[i]);
}

enum mw_status mw_devirtualize_all(void)
{
	if (!mw.active)
		return MW_ERR_NOT_VIRTUALIZED;
	/* Hooks first, while the CPUs that are still virtualized can switch
	 * their views back together. */
	hooks_remove_all();
	platform_on_each_cpu(leave_cpu, NULL);
	mw_drain_logs(); /* before the rings' pages go */
	enum mw_status s = mw_virtualized_count() ? MW_ERR_VMX_INSTRUCTION : MW_OK;
	if (s == MW_OK) {
		hooks_free_all();
		mw.active = false;
		free_all();
	}
	return s;
}

enum mw_status mw_virtualize_this_cpu(struct mw_error *err)
{
	unsigned i = platform_cpu_index();
	struct vcpu *v = i < mw.cpu_count ? mw.vcpus[i] : NULL;

	if (!mw.active || !v) {
		mw_error_set(err, MW_ERR_NOT_VIRTUALIZED, (int)i, MW_STEP_NONE,
			     "marrow is not active");
		return err->status;
	}
	if (v->virtualized) {
		mw_error_set(err, MW_ERR_ALREADY, (int)i, MW_STEP_NONE, NULL);
		return err->status;
	}
	/* The same checks as at load time: VMX usable here, and the
	 * capabilities and MTRRs the shared controls and EPT were derived
	 * from. */
	struct cpu_probe *p = &probes[i];
	p->mtrrs = platform_alloc_pages(MTRR_PAGES);
	if (!p->mtrrs) {
		mw_error_set(err, MW_ERR_NO_MEMORY, (int)i, MW_STEP_CAPS, "MTRR snapshot");
		return err->status;
	}
	probe_cpu(NULL);
	bool same_mtrrs = memcmp(p->mtrrs, mw.mtrrs, sizeof(struct mtrr_state)) == 0;
	platform_free_pages(p->mtrrs, MTRR_PAGES);
	p->mtrrs = NULL;
	if (p->err.status != MW_OK) {
		*err = p->err;
		return err->status;
	}
	if (memcmp(&p->caps, &mw.caps, sizeof(struct vmx_caps)) != 0 || !same_mtrrs) {
		mw_error_set(err, MW_ERR_CPU_MISMATCH, (int)i, MW_STEP_CAPS,
			     "capabilities or MTRRs differ from those marrow was started with");
		return err->status;
	}
	/* Whatever the CPU's last run left pending belongs to a guest state
	 * that no longer exists. */
	v->pending_nmis = 0;
	v->expected_nmis = 0;
	v->leave_requested = false;
	/* No hook may change between the launch and this CPU taking them on. */
	hooks_cpu_lock();
	vcpu_launch(v);
	if (v->launch_error.status == MW_OK)
		hooks_cpu_online();
	hooks_cpu_unlock();
	*err = v->launch_error;
	return err->status;
}

enum mw_status mw_devirtualize_this_cpu(void)
{
	unsigned i = platform_cpu_index();

	if (!mw.active || i >= mw.cpu_count || !mw.vcpus[i])
		return MW_ERR_NOT_VIRTUALIZED;
	return leave_this_cpu() ? MW_OK : MW_ERR_VMX_INSTRUCTION;
}

bool mw_cpu_virtualized(unsigned cpu)
{
	return cpu < mw.cpu_count && mw.vcpus[cpu] && mw.vcpus[cpu]->virtualized;
}

unsigned mw_virtualized_count(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < mw.cpu_count; i++)
		n += mw_cpu_virtualized(i);
	return n;
}
