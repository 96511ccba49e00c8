/* Writing a fresh VMCS from the CPU as it runs now: the guest is the code
 * that called us, so its state is the live state (SDM 3C 25.4, 27.3.1 for
 * the checks it must pass); the host is marrow's exit path. */
#include "vmcs_setup.h"

#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "arch/x86/safe.h"
#include "arch/x86/segment.h"
#include "core/fault.h"
#include "core/marrow.h"
#include "core/vcpu.h"
#include "ept/ept.h"
#include "platform/platform.h"
#include "vmx_defs.h"
#include "vmx_insn.h"

extern char vmx_exit_stub[];

struct vmcs_writer {
	enum vmx_result result;
	uint32_t field;
	struct vcpu *v; /* for fault injection */
};

static void put(struct vmcs_writer *w, uint32_t field, uint64_t value)
{
	if (w->result != VMX_OK)
		return;
	enum vmx_result r = fault_vmx_point(w->v) ? VMX_INJECTED : vmx_write(field, value);
	if (r != VMX_OK) {
		w->result = r;
		w->field = field;
	}
}

/* Guest segment fields are laid out at a fixed stride from ES (SDM 3D
 * appendix B): selector +2 per segment, limit/AR +2, base +2. */
enum seg_index { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };

static void put_guest_segment(struct vmcs_writer *w, enum seg_index i, uint16_t sel,
			      const struct seg_desc *d)
{
	put(w, VMCS_GUEST_ES_SELECTOR + 2 * i, sel);
	put(w, VMCS_GUEST_ES_LIMIT + 2 * i, d->limit);
	put(w, VMCS_GUEST_ES_AR_BYTES + 2 * i, d->ar);
	put(w, VMCS_GUEST_ES_BASE + 2 * i, d->base);
}

static struct desc_table live_gdt(void)
{
	struct desc_ptr g = sgdt();
	return (struct desc_table){ (const void *)(uintptr_t)g.base, g.limit };
}

static struct desc_table live_ldt(const struct desc_table *gdt, struct seg_desc *ldtr)
{
	uint16_t sel = sldt();
	if (!seg_decode(gdt, NULL, sel, ldtr))
		return (struct desc_table){ NULL, 0 };
	return (struct desc_table){ (const void *)(uintptr_t)ldtr->base, ldtr->limit };
}

/* A usable code or data segment as the CPU holds it has its accessed bit
 * set (loading it set the bit in the descriptor, SDM 3A 3.4.5.1), and VM
 * entry checks it (SDM 3C 27.3.1.2). */
static void guest_data_segment(struct vmcs_writer *w, const struct desc_table *gdt,
			       const struct desc_table *ldt, enum seg_index i, uint16_t sel,
			       unsigned cpl)
{
	struct seg_desc d;

	if (seg_decode(gdt, ldt, sel, &d)) {
		d.ar |= SEG_AR_ACCESSED;
	} else if (i == SEG_SS) {
		/* A null SS at CPL 0 in 64-bit mode: unusable, but its DPL is
		 * still the CPL as far as VMX is concerned (SDM 3C 25.4.1). */
		d.ar = SEG_AR_UNUSABLE | (cpl << SEG_AR_DPL_SHIFT) | SEG_AR_S | 0x3;
	}
	put_guest_segment(w, i, sel, &d);
}

static void guest_segments(struct vmcs_writer *w)
{
	struct desc_table gdt = live_gdt();
	struct seg_desc ldtr, d;
	struct desc_table ldt = live_ldt(&gdt, &ldtr);
	uint16_t cs = read_cs();
	unsigned cpl = cs & 3;

	seg_decode(&gdt, &ldt, cs, &d);
	d.ar |= SEG_AR_ACCESSED;
	put_guest_segment(w, SEG_CS, cs, &d);
	guest_data_segment(w, &gdt, &ldt, SEG_SS, read_ss(), cpl);
	guest_data_segment(w, &gdt, &ldt, SEG_DS, read_ds(), cpl);
	guest_data_segment(w, &gdt, &ldt, SEG_ES, read_es(), cpl);
	guest_data_segment(w, &gdt, &ldt, SEG_FS, read_fs(), cpl);
	guest_data_segment(w, &gdt, &ldt, SEG_GS, read_gs(), cpl);
	/* In 64-bit mode the FS and GS bases live in MSRs, not descriptors. */
	put(w, VMCS_GUEST_FS_BASE, rdmsr(MSR_IA32_FS_BASE));
	put(w, VMCS_GUEST_GS_BASE, rdmsr(MSR_IA32_GS_BASE));
	put_guest_segment(w, SEG_LDTR, sldt(), &ldtr);

	uint16_t tr = str();
	seg_decode(&gdt, NULL, tr, &d);
	/* TR holds a busy TSS once loaded (SDM 3C 27.3.1.2). */
	d.ar = (d.ar & ~SEG_AR_TYPE_MASK) | SEG_TYPE_TSS64_BUSY;
	put_guest_segment(w, SEG_TR, tr, &d);

	put(w, VMCS_GUEST_GDTR_BASE, (uint64_t)(uintptr_t)gdt.base);
	put(w, VMCS_GUEST_GDTR_LIMIT, gdt.limit);
	struct desc_ptr idt = sidt();
	put(w, VMCS_GUEST_IDTR_BASE, idt.base);
	put(w, VMCS_GUEST_IDTR_LIMIT, idt.limit);
}

/* Bits VMX constrains in CR0/CR4 are owned by marrow (guest/host mask);
 * the guest reads its own values from the shadow. With unrestricted guest,
 * PE and PG are the guest's own (SDM 3C 27.3.1.1). */
uint64_t vmx_cr0_mask(void)
{
	uint64_t m = mw.caps.cr0_fixed0 | ~mw.caps.cr0_fixed1;
	if (mw.ctl.unrestricted_guest)
		m &= ~(CR0_PE | CR0_PG);
	return m;
}

uint64_t vmx_cr4_mask(void)
{
	return mw.caps.cr4_fixed0 | ~mw.caps.cr4_fixed1 | CR4_VMXE;
}

/* Not every CPU model implements every MSR (Bochs has no IA32_DEBUGCTL);
 * one it lacks reads as 0, which is also what VM entry will load. */
static uint64_t msr_or_zero(uint32_t msr)
{
	uint64_t v;
	return rdmsr_safe(msr, &v) ? v : 0;
}

static void guest_state(struct vmcs_writer *w, const struct vcpu *v)
{
	uint64_t efer = rdmsr(MSR_IA32_EFER);

	put(w, VMCS_GUEST_CR0, read_cr0());
	put(w, VMCS_GUEST_CR3, read_cr3());
	put(w, VMCS_GUEST_CR4, read_cr4());
	put(w, VMCS_CR0_GUEST_HOST_MASK, vmx_cr0_mask());
	put(w, VMCS_CR4_GUEST_HOST_MASK, vmx_cr4_mask());
	put(w, VMCS_CR0_READ_SHADOW, v->original_cr0);
	put(w, VMCS_CR4_READ_SHADOW, v->original_cr4);
	put(w, VMCS_GUEST_DR7, read_dr7());
	put(w, VMCS_GUEST_IA32_DEBUGCTL, msr_or_zero(MSR_IA32_DEBUGCTL));
	put(w, VMCS_GUEST_SYSENTER_CS, rdmsr(MSR_IA32_SYSENTER_CS));
	put(w, VMCS_GUEST_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
	put(w, VMCS_GUEST_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));
	put(w, VMCS_GUEST_IA32_EFER, efer);
	put(w, VMCS_GUEST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	guest_segments(w);
	put(w, VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	put(w, VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	put(w, VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	put(w, VMCS_VMCS_LINK_POINTER, ~0ull);
	/* GUEST_RSP, GUEST_RIP: vmx_launch; GUEST_RFLAGS: vcpu launch. */
}

static void host_state(struct vmcs_writer *w, const struct vcpu *v)
{
	struct desc_table gdt = live_gdt();
	struct seg_desc tr;
	uint16_t tr_sel = str();
	uint16_t ss = read_ss();

	put(w, VMCS_HOST_CR0, read_cr0());
	put(w, VMCS_HOST_CR3, mw.host_cr3);
	/* Root mode executes XSETBV for the guest (exit_instr.c), which
	 * needs CR4.OSXSAVE; a guest that enables XSAVE only after launch (an
	 * OS booted under marrow: the firmware runs without it) would
	 * otherwise see its XSETBV fail. */
	uint64_t host_cr4 = read_cr4();
	if (cpuid(1).ecx & CPUID_1_ECX_XSAVE)
		host_cr4 |= CR4_OSXSAVE;
	put(w, VMCS_HOST_CR4, host_cr4);
	/* Host selectors must have RPL 0 and TI 0 (SDM 3C 27.2.3); data
	 * selectors may be null in 64-bit mode, and FS/GS bases come from
	 * their own fields. */
	put(w, VMCS_HOST_CS_SELECTOR, read_cs());
	put(w, VMCS_HOST_SS_SELECTOR, (ss & 7) ? 0 : ss);
	put(w, VMCS_HOST_DS_SELECTOR, 0);
	put(w, VMCS_HOST_ES_SELECTOR, 0);
	put(w, VMCS_HOST_FS_SELECTOR, 0);
	put(w, VMCS_HOST_GS_SELECTOR, 0);
	put(w, VMCS_HOST_TR_SELECTOR, tr_sel);
	seg_decode(&gdt, NULL, tr_sel, &tr);
	put(w, VMCS_HOST_TR_BASE, tr.base);
	put(w, VMCS_HOST_GDTR_BASE, (uint64_t)(uintptr_t)gdt.base);
	put(w, VMCS_HOST_IDTR_BASE, (uint64_t)(uintptr_t)v->host_idt);
	put(w, VMCS_HOST_FS_BASE, rdmsr(MSR_IA32_FS_BASE));
	/* Root mode finds its struct vcpu at gs:0. */
	put(w, VMCS_HOST_GS_BASE, (uint64_t)(uintptr_t)v);
	put(w, VMCS_HOST_IA32_SYSENTER_CS, rdmsr(MSR_IA32_SYSENTER_CS));
	put(w, VMCS_HOST_IA32_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
	put(w, VMCS_HOST_IA32_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));
	put(w, VMCS_HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	put(w, VMCS_HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	/* vmx_exit_stub pushes 168 bytes before its call, which must find
	 * a 16-byte aligned stack: start 8 below an aligned top. */
	uint64_t top = ((uint64_t)(uintptr_t)v->host_stack + HOST_STACK_PAGES * 4096) & ~15ull;
	put(w, VMCS_HOST_RSP, top - 8);
	put(w, VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_stub);
}

static void controls(struct vmcs_writer *w, const struct vcpu *v)
{
	uint32_t proc = mw.ctl.proc, proc2 = mw.ctl.proc2, entry = mw.ctl.entry;
	uint32_t may_proc = (uint32_t)(mw.caps.proc >> 32);
	uint32_t may_proc2 = (uint32_t)(mw.caps.proc2 >> 32);

	if (mw.cfg.exit_on_rdtsc)
		proc |= PROC_RDTSC_EXITING & may_proc;
	if (mw.cfg.exit_on_hlt)
		proc |= PROC_HLT_EXITING & may_proc;
	if (mw.cfg.exit_on_wbinvd)
		proc2 |= PROC2_WBINVD_EXITING & may_proc2;
	if (rdmsr(MSR_IA32_EFER) & EFER_LMA)
		entry |= ENTRY_CTL_IA32E_MODE_GUEST;

	put(w, VMCS_PIN_BASED_VM_EXEC_CONTROL, mw.ctl.pin);
	put(w, VMCS_CPU_BASED_VM_EXEC_CONTROL, proc);
	put(w, VMCS_SECONDARY_VM_EXEC_CONTROL, proc2);
	put(w, VMCS_VM_EXIT_CONTROLS, mw.ctl.exit);
	put(w, VMCS_VM_ENTRY_CONTROLS, entry);
	put(w, VMCS_EXCEPTION_BITMAP, mw_exception_bitmap());
	put(w, VMCS_PAGE_FAULT_ERROR_CODE_MASK, 0);
	put(w, VMCS_PAGE_FAULT_ERROR_CODE_MATCH, 0);
	put(w, VMCS_CR3_TARGET_COUNT, 0);
	put(w, VMCS_VM_EXIT_MSR_STORE_COUNT, 0);
	put(w, VMCS_VM_EXIT_MSR_LOAD_COUNT, 0);
	put(w, VMCS_VM_ENTRY_MSR_LOAD_COUNT, 0);
	put(w, VMCS_VM_ENTRY_INTR_INFO, 0);
	put(w, VMCS_MSR_BITMAP, mw.msr_bitmap_pa);
	put(w, VMCS_EPT_POINTER, v->ept->eptp);
	put(w, VMCS_VIRTUAL_PROCESSOR_ID, v->vpid);
}

enum vmx_result vmcs_setup(struct vcpu *v, uint32_t *failed_field)
{
	struct vmcs_writer w = { VMX_OK, 0, v };

	controls(&w, v);
	host_state(&w, v);
	guest_state(&w, v);
	*failed_field = w.field;
	return w.result;
}
