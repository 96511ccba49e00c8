/* Virtualize every CPU, all or nothing, and devirtualize them again. */
#include "marrow.h"

#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "core/host_pt.h"
#include "core/msr_bitmap.h"
#include "core/mw_string.h"
#include "core/vcpu_launch.h"
#include "ept/ept.h"
#include "platform/platform.h"
#include "vmx/host_idt.h"

struct marrow mw;
static struct host_pt host_pt;
static struct ept ept;

struct cpu_probe {
	struct vmx_caps caps;
	struct mw_error err;
	bool reached; /* probe_cpu ran: the CPU was online */
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
	vmx_read_caps(&p->caps, (int)i, &p->err);
}

/* Every CPU supports VMX and reports the same capabilities. A CPU the
 * platform did not reach (offline, on an OS with CPU hotplug) is skipped:
 * it is probed again if it comes online (mw_virtualize_this_cpu). */
static enum mw_status probe_all(struct mw_error *err)
{
	const struct cpu_probe *first = NULL;

	memset(probes, 0, sizeof(probes));
	platform_on_each_cpu(probe_cpu, NULL);
	for (unsigned i = 0; i < mw.cpu_count; i++) {
		if (!probes[i].reached)
			continue;
		if (probes[i].err.status != MW_OK) {
			*err = probes[i].err;
			return err->status;
		}
		if (!first) {
			first = &probes[i];
		} else if (memcmp(&probes[i].caps, &first->caps, sizeof(struct vmx_caps)) != 0) {
			mw_error_set(err, MW_ERR_CPU_MISMATCH, (int)i, MW_STEP_CAPS,
				     "capabilities differ from cpu %d's", first->err.cpu);
			return err->status;
		}
	}
	if (!first) {
		mw_error_set(err, MW_ERR_BAD_CONFIG, -1, MW_STEP_SUPPORT, "no CPU was reached");
		return err->status;
	}
	mw.caps = first->caps;
	enum mw_status s = vmx_derive_controls(&mw.caps, &mw.ctl, err);
	return s;
}

static void free_vcpu(struct vcpu *v)
{
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
	ept_free(&ept);
	host_pt_free(&host_pt);
}

static struct vcpu *alloc_vcpu(unsigned i)
{
	struct vcpu *v = platform_alloc_pages(VCPU_PAGES);
	if (!v)
		return NULL;
	v->self = v;
	v->index = i;
	v->vpid = (uint16_t)(i + 1); /* VPID 0 is the host's (SDM 3C 29.1) */
	v->vmxon_region = platform_alloc_pages(1);
	v->vmcs = platform_alloc_pages(1);
	v->host_stack = platform_alloc_pages(HOST_STACK_PAGES);
	v->host_idt = platform_alloc_pages(1);
	v->log_buffer = platform_alloc_pages(LOG_RING_PAGES);
	if (!v->vmxon_region || !v->vmcs || !v->host_stack || !v->host_idt || !v->log_buffer) {
		free_vcpu(v);
		return NULL;
	}
	v->vmxon_pa = platform_virt_to_phys(v->vmxon_region);
	v->vmcs_pa = platform_virt_to_phys(v->vmcs);
	v->stats.size = sizeof(v->stats);
	log_ring_init(&v->log, v->log_buffer, LOG_RING_PAGES * 4096);
	host_idt_build(v->host_idt, read_cs());
	return v;
}

/* Everything root mode will use is allocated here, by the calling thread,
 * before any CPU enters VMX operation: root mode never allocates. */
static enum mw_status allocate_all(struct mw_error *err)
{
	enum mw_status s = host_pt_build(&host_pt);
	if (s != MW_OK) {
		mw_error_set(err, s, -1, MW_STEP_ALLOC, "host page table");
		return s;
	}
	mw.host_cr3 = platform_virt_to_phys(host_pt.pml4);
	mw.host_pt = &host_pt;
	s = ept_build_identity(&ept, mw.caps.phys_addr_bits, mw.ctl.ept_1g_pages);
	if (s != MW_OK) {
		mw_error_set(err, s, -1, MW_STEP_ALLOC, "EPT identity map");
		return s;
	}
	mw.ept = &ept;
	mw.eptp = ept.eptp;
	mw.msr_bitmap = platform_alloc_pages(1);
	if (!mw.msr_bitmap) {
		mw_error_set(err, MW_ERR_NO_MEMORY, -1, MW_STEP_ALLOC, "MSR bitmap");
		return err->status;
	}
	msr_bitmap_build(mw.msr_bitmap);
	/* In xAPIC mode root mode reaches the ICR through this mapping (NMIs
	 * for MW_HC_DEVIRTUALIZE_ALL); x2APIC mode needs none. */
	if (!(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC))
		mw.lapic_mmio =
			platform_map_mmio(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK, 4096);
	mw.msr_bitmap_pa = platform_virt_to_phys(mw.msr_bitmap);
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
	enum mw_status s = probe_all(err);
	if (s == MW_OK)
		s = allocate_all(err);
	if (s != MW_OK) {
		free_all();
		return s;
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
	return MW_OK;
}

enum mw_status mw_devirtualize_all(void)
{
	if (!mw.active)
		return MW_ERR_NOT_VIRTUALIZED;
	platform_on_each_cpu(leave_cpu, NULL);
	enum mw_status s = mw_virtualized_count() ? MW_ERR_VMX_INSTRUCTION : MW_OK;
	if (s == MW_OK) {
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
	 * capabilities the shared controls and EPT were derived from. */
	probe_cpu(NULL);
	if (probes[i].err.status != MW_OK) {
		*err = probes[i].err;
		return err->status;
	}
	if (memcmp(&probes[i].caps, &mw.caps, sizeof(struct vmx_caps)) != 0) {
		mw_error_set(err, MW_ERR_CPU_MISMATCH, (int)i, MW_STEP_CAPS,
			     "capabilities differ from those marrow was started with");
		return err->status;
	}
	/* Whatever the CPU's last run left pending belongs to a guest state
	 * that no longer exists. */
	v->pending_nmis = 0;
	v->expected_nmis = 0;
	v->leave_requested = false;
	vcpu_launch(v);
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
