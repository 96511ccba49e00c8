#include "hypercall.h"

#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "core/boot_guest.h"
#include "core/guest_walk.h"
#include "core/host_pt.h"
#include "core/ipi.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "core/root_log.h"
#include "core/seal.h"
#include "core/vcpu_launch.h"
#include "ept/ept.h"
#include "hook/msr_hook.h"
#include "marrow/hypercall.h"
#include "vmx/exit.h"
#include "vmx/host_idt.h"

/* Guest-physical memory as root mode reaches it: the identity EPT makes it
 * host-physical, which the host page table's physical map covers (RAM
 * only: a guest pointer into MMIO is refused, not touched). */
static bool gpa_read(uint64_t gpa, void *buf, size_t len, void *ctx)
{
	(void)ctx;
	const void *p = host_pt_phys(mw.host_pt, gpa, len);
	if (!p)
		return false;
	memcpy(buf, p, len);
	return true;
}

static bool gpa_write(uint64_t gpa, const void *buf, size_t len, void *ctx)
{
	(void)ctx;
	void *p = host_pt_phys(mw.host_pt, gpa, len);
	if (!p)
		return false;
	memcpy(p, buf, len);
	return true;
}

static struct guest_paging guest_paging_now(void)
{
	return (struct guest_paging){
		.cr0 = vmcs_read(VMCS_GUEST_CR0),
		.cr3 = vmcs_read(VMCS_GUEST_CR3),
		.cr4 = vmcs_read(VMCS_GUEST_CR4),
		.efer = vmcs_read(VMCS_GUEST_IA32_EFER),
		.cpl = guest_cpl(),
		.maxphyaddr = mw.caps.phys_addr_bits,
	};
}

static enum mw_hc_status copy_to_guest(uint64_t gva, const void *src, size_t len)
{
	struct guest_paging gp = guest_paging_now();
	return guest_copy_to(&gp, gva, src, len, gpa_read, gpa_write, NULL) == WALK_OK
		       ? MW_HC_OK
		       : MW_HC_ERR_BAD_POINTER;
}

enum mw_hc_status hc_copy_from_guest(uint64_t gva, void *dst, size_t len)
{
	struct guest_paging gp = guest_paging_now();
	return guest_copy_from(&gp, gva, dst, len, gpa_read, NULL) == WALK_OK
		       ? MW_HC_OK
		       : MW_HC_ERR_BAD_POINTER;
}

static struct vcpu *target_cpu(struct exit_ctx *c, uint64_t index)
{
	if (index == MW_HC_THIS_CPU)
		return c->v;
	if (index >= mw.cpu_count)
		return NULL;
	return mw.vcpus[index];
}

static uint64_t features(void)
{
	uint64_t f = MW_HC_FEATURE_EPT | MW_HC_FEATURE_VPID;
	if (mw.ctl.unrestricted_guest)
		f |= MW_HC_FEATURE_UNRESTRICTED_GUEST;
	if (mw.ctl.virtual_nmis)
		f |= MW_HC_FEATURE_VIRTUAL_NMIS;
	if (mw.mtf_works)
		f |= MW_HC_FEATURE_MTF;
	if (mw.ctl.execute_only_ept)
		f |= MW_HC_FEATURE_EXECUTE_ONLY_EPT;
	if (mw.ctl.vmfunc)
		f |= MW_HC_FEATURE_VMFUNC;
	return f;
}

static void set_mtf(bool on)
{
	uint64_t proc = vmcs_read(VMCS_CPU_BASED_VM_EXEC_CONTROL);
	vmcs_write(VMCS_CPU_BASED_VM_EXEC_CONTROL,
		   on ? proc | PROC_MONITOR_TRAP_FLAG : proc & ~(uint64_t)PROC_MONITOR_TRAP_FLAG);
}

static enum mw_hc_status hc_probe_mtf(struct exit_ctx *c, uint64_t step)
{
	struct vcpu *v = c->v;

	if (!mw.ctl.mtf || v->step.method != STEP_NONE)
		return MW_HC_ERR_BAD_ARGUMENT;
	if (step == 0) {
		v->mtf_probe = MTF_PROBE_ARMED;
		set_mtf(true);
		return MW_HC_OK;
	}
	c->regs->rdx = v->mtf_probe == MTF_PROBE_SEEN;
	v->mtf_probe = MTF_PROBE_IDLE;
	set_mtf(false);
	return MW_HC_OK;
}

bool vcpu_mtf_probe_exit(struct vcpu *v)
{
	if (v->mtf_probe != MTF_PROBE_ARMED)
		return false;
	v->mtf_probe = MTF_PROBE_SEEN;
	set_mtf(false);
	return true;
}

static enum mw_hc_status hc_stats(struct exit_ctx *c, uint64_t buf, uint64_t size, uint64_t cpu)
{
	struct vcpu *t = target_cpu(c, cpu);
	struct mw_cpu_stats snapshot;

	if (!t || size == 0)
		return MW_HC_ERR_BAD_ARGUMENT;
	/* A copy first: the target CPU may be counting while we read. */
	vcpu_fill_ept_stats(t);
	memcpy(&snapshot, &t->stats, sizeof(snapshot));
	size_t n = size < sizeof(snapshot) ? (size_t)size : sizeof(snapshot);
	enum mw_hc_status s = copy_to_guest(buf, &snapshot, n);
	if (s == MW_HC_OK)
		c->regs->rdx = n;
	return s;
}

/* Whole records, each as one line, while they fit. The reader lock is a
 * try-lock: a second reader of the same ring is told to retry, never made
 * to wait in root mode. */
static enum mw_hc_status hc_read_log(struct exit_ctx *c, uint64_t buf, uint64_t size, uint64_t cpu)
{
	struct vcpu *t = target_cpu(c, cpu);
	char line[LOG_RECORD_MAX + 1];
	struct log_record_info info;
	uint64_t written = 0, lost = 0;
	uint32_t unlocked = 0;

	if (!t || size < sizeof(line) || size > GUEST_COPY_MAX)
		return MW_HC_ERR_BAD_ARGUMENT;
	if (!__atomic_compare_exchange_n(&t->log_reader, &unlocked, 1, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return MW_HC_ERR_BUSY;
	enum mw_hc_status s = MW_HC_OK;
	while (size - written >= sizeof(line)) {
		size_t n = log_ring_read(&t->log, line, sizeof(line) - 1, &info);
		if (n == 0)
			break;
		lost += info.lost;
		line[n - 1] = '\n'; /* the NUL becomes the line's end */
		s = copy_to_guest(buf + written, line, n);
		if (s != MW_HC_OK)
			break;
		written += n;
	}
	__atomic_store_n(&t->log_reader, 0, __ATOMIC_RELEASE);
	c->regs->rdx = written;
	c->regs->r8 = lost;
	return s;
}

/* The other CPUs learn of MW_HC_DEVIRTUALIZE_ALL from an NMI (NMIs exit),
 * which they recognise as marrow's by expected_nmis and do not pass on. */
static void signal_other_cpus(const struct vcpu *self)
{
	for (unsigned i = 0; i < mw.cpu_count; i++) {
		struct vcpu *t = mw.vcpus[i];
		if (t == self || !t->virtualized)
			continue;
		/* Its next exits must reach the C dispatcher, which leaves. */
		__atomic_store_n(&t->fast_path, 0, __ATOMIC_RELEASE);
		__atomic_fetch_add(&t->expected_nmis, 1, __ATOMIC_RELAXED);
		lapic_send_nmi_root(t->apic_id);
	}
}

bool vcpu_claim_expected_nmi(struct vcpu *v)
{
	uint32_t expected = __atomic_load_n(&v->expected_nmis, __ATOMIC_RELAXED);

	while (expected) {
		if (__atomic_compare_exchange_n(&v->expected_nmis, &expected, expected - 1, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

static enum exit_action call(struct exit_ctx *c, uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	struct guest_regs *r = c->regs;
	enum mw_hc_status s = MW_HC_OK;

	switch (fn) {
	case MW_HC_PING:
		r->rdx = MW_HC_SIGNATURE;
		r->r8 = ((uint64_t)c->v->index << 32) | (MW_HC_VERSION_MAJOR << 16) |
			MW_HC_VERSION_MINOR;
		break;
	case MW_HC_INFO:
		r->rdx = mw.cpu_count;
		r->r8 = features();
		break;
	case MW_HC_EPT_FLUSH:
		vcpu_ept_flush(c->v);
		break;
	case MW_HC_SYNC_CONTROLS:
		/* Not mid-step: a TF step's #DB intercept stays until it ends. */
		if (c->v->step.method != STEP_TF)
			vmcs_write(VMCS_EXCEPTION_BITMAP, mw_exception_bitmap());
		msr_hooks_sync();
		break;
	case MW_HC_PROBE_MTF:
		s = hc_probe_mtf(c, a1);
		break;
	case MW_HC_READ_MSR: {
		uint32_t field;
		if (vmcs_msr_field((uint32_t)a1, &field))
			r->rdx = vmcs_read(field);
		else if (root_rdmsr((uint32_t)a1, &r->rdx))
			s = MW_HC_ERR_BAD_ARGUMENT;
		break;
	}
	case MW_HC_STATS:
		s = hc_stats(c, a1, a2, a3);
		break;
	case MW_HC_READ_LOG:
		s = hc_read_log(c, a1, a2, a3);
		break;
	case MW_HC_DEVIRTUALIZE_ALL:
		__atomic_store_n(&mw.leave_all, true, __ATOMIC_RELEASE);
		signal_other_cpus(c->v);
		r->rax = MW_HC_OK;
		return EXIT_ADVANCE_AND_LEAVE;
	case MW_HC_DEVIRTUALIZE_CPU:
		r->rax = MW_HC_OK;
		return EXIT_ADVANCE_AND_LEAVE;
	case MW_HC_BOOT_HANDOFF:
		return boot_handoff(c, a1, a2);
	case MW_HC_SEAL:
		return seal_hypercall(c);
	default:
		s = MW_HC_ERR_UNKNOWN_FUNCTION;
		break;
	}
	r->rax = s;
	return EXIT_ADVANCE;
}

enum exit_action hypercall_dispatch(struct exit_ctx *c)
{
	struct guest_regs *r = c->regs;

	/* Only the kernel, and only with the key; anything else is what
	 * VMCALL does outside VMX non-root operation: #UD (SDM 2B VMCALL).
	 * Once a boot-time guest runs (boot_guest.h), nothing at all. */
	if (__atomic_load_n(&mw.sealed, __ATOMIC_ACQUIRE)) {
		c->v->stats.hypercalls_refused++;
		inject_ud(c);
		return EXIT_RESUME;
	}
	if (guest_cpl() != 0 || r->rcx != mw.cfg.hypercall_key) {
		c->v->stats.hypercalls_refused++;
		root_log(c->v, MW_LOG_WARN, "refused VMCALL at %llx (CPL %u%s)",
			 (unsigned long long)vmcs_read(VMCS_GUEST_RIP), guest_cpl(),
			 guest_cpl() == 0 ? ", wrong key" : "");
		inject_ud(c);
		return EXIT_RESUME;
	}
	/* After the UEFI seal (core/seal.h) only what neither shows nor
	 * changes marrow, and the refusal is the same #UD. */
	if (__atomic_load_n(&mw.memory_sealed, __ATOMIC_ACQUIRE) && !seal_allows(r->rax)) {
		c->v->stats.hypercalls_refused++;
		root_log(c->v, MW_LOG_WARN, "refused VMCALL %llu at %llx: marrow is sealed",
			 (unsigned long long)r->rax, (unsigned long long)vmcs_read(VMCS_GUEST_RIP));
		inject_ud(c);
		return EXIT_RESUME;
	}
	c->v->stats.hypercalls++;
	return call(c, r->rax, r->rdx, r->r8, r->r9);
}

enum exit_action handle_vmcall(struct exit_ctx *c)
{
	return hypercall_dispatch(c);
}
