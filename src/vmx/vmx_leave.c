/* Leaving VMX operation on this CPU while the guest keeps running: the
 * guest's system state goes back into the real registers (a VM exit loaded
 * marrow's instead, SDM 3C 28.5), then VMXOFF, then vmx_exit_stub IRETQs to
 * the guest's RIP, RSP and RFLAGS. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "core/ipi.h"
#include "core/marrow.h"
#include "exit.h"
#include "hook/msr_hook.h"
#include "host_idt.h"
#include "vmcs_setup.h"

struct guest_system_state {
	uint64_t cr0, cr3, cr4;
	uint64_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit;
	uint16_t cs, ss, ds, es, fs, gs, ldtr;
	uint64_t fs_base, gs_base;
	uint64_t dr7, debugctl, pat, efer;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t rip, rsp, rflags;
};

/* A selector the guest loaded, or 0 where its segment is unusable. */
static uint16_t usable_selector(uint32_t sel_field, uint32_t ar_field)
{
	if (vmcs_read(ar_field) & VMX_AR_UNUSABLE)
		return 0;
	return (uint16_t)vmcs_read(sel_field);
}

static void read_guest(struct guest_system_state *g)
{
	uint64_t m0 = vmx_cr0_mask(), m4 = vmx_cr4_mask();

	/* The guest's own view of the bits marrow owned: its shadows. */
	g->cr0 = (vmcs_read(VMCS_GUEST_CR0) & ~m0) | (vmcs_read(VMCS_CR0_READ_SHADOW) & m0);
	g->cr4 = (vmcs_read(VMCS_GUEST_CR4) & ~m4) | (vmcs_read(VMCS_CR4_READ_SHADOW) & m4);
	g->cr3 = vmcs_read(VMCS_GUEST_CR3);
	g->gdt_base = vmcs_read(VMCS_GUEST_GDTR_BASE);
	g->gdt_limit = (uint16_t)vmcs_read(VMCS_GUEST_GDTR_LIMIT);
	g->idt_base = vmcs_read(VMCS_GUEST_IDTR_BASE);
	g->idt_limit = (uint16_t)vmcs_read(VMCS_GUEST_IDTR_LIMIT);
	g->cs = (uint16_t)vmcs_read(VMCS_GUEST_CS_SELECTOR);
	g->ss = (uint16_t)vmcs_read(VMCS_GUEST_SS_SELECTOR);
	g->ds = usable_selector(VMCS_GUEST_DS_SELECTOR, VMCS_GUEST_DS_AR_BYTES);
	g->es = usable_selector(VMCS_GUEST_ES_SELECTOR, VMCS_GUEST_ES_AR_BYTES);
	g->fs = usable_selector(VMCS_GUEST_FS_SELECTOR, VMCS_GUEST_FS_AR_BYTES);
	g->gs = usable_selector(VMCS_GUEST_GS_SELECTOR, VMCS_GUEST_GS_AR_BYTES);
	g->ldtr = usable_selector(VMCS_GUEST_LDTR_SELECTOR, VMCS_GUEST_LDTR_AR_BYTES);
	g->fs_base = vmcs_read(VMCS_GUEST_FS_BASE);
	g->gs_base = vmcs_read(VMCS_GUEST_GS_BASE);
	g->dr7 = vmcs_read(VMCS_GUEST_DR7);
	g->debugctl = vmcs_read(VMCS_GUEST_IA32_DEBUGCTL);
	g->pat = vmcs_read(VMCS_GUEST_IA32_PAT);
	g->efer = vmcs_read(VMCS_GUEST_IA32_EFER);
	g->sysenter_cs = vmcs_read(VMCS_GUEST_SYSENTER_CS);
	g->sysenter_esp = vmcs_read(VMCS_GUEST_SYSENTER_ESP);
	g->sysenter_eip = vmcs_read(VMCS_GUEST_SYSENTER_EIP);
	g->rip = vmcs_read(VMCS_GUEST_RIP);
	g->rsp = vmcs_read(VMCS_GUEST_RSP);
	g->rflags = vmcs_read(VMCS_GUEST_RFLAGS);
}

static void load_data_segments(const struct guest_system_state *g)
{
	/* A VM exit left LDTR null (SDM 3C 28.5.2): the guest's LDT goes back
	 * first, because its data selectors may point into it (a process
	 * that uses modify_ldt keeps its selector in GS while in the
	 * kernel), and loading one with a null LDTR raises #GP. */
	lldt(g->ldtr);
	__asm__ volatile("mov %0, %%ds" ::"r"((uint32_t)g->ds));
	__asm__ volatile("mov %0, %%es" ::"r"((uint32_t)g->es));
	__asm__ volatile("mov %0, %%fs" ::"r"((uint32_t)g->fs));
	__asm__ volatile("mov %0, %%gs" ::"r"((uint32_t)g->gs));
	/* Loading FS and GS set their bases from descriptors; the guest's
	 * 64-bit bases go back last. From here on gs:0 is no longer ours. */
	wrmsr(MSR_IA32_FS_BASE, g->fs_base);
	wrmsr(MSR_IA32_GS_BASE, g->gs_base);
}

/* The order matters: MSRs first, while marrow's host IDT still catches a
 * fault from one the CPU model lacks (Bochs has no DEBUGCTL); the guest's
 * IDT and GDT last, since from then on an exception is the guest's. */
static void load_guest(const struct guest_system_state *g)
{
	/* A VM exit cleared DEBUGCTL and loaded marrow's PAT, EFER and
	 * SYSENTER values (SDM 3C 28.5.1). */
	root_wrmsr(MSR_IA32_DEBUGCTL, g->debugctl);
	root_wrmsr(MSR_IA32_PAT, g->pat);
	if (rdmsr(MSR_IA32_EFER) != g->efer)
		root_wrmsr(MSR_IA32_EFER, g->efer);
	root_wrmsr(MSR_IA32_SYSENTER_CS, g->sysenter_cs);
	root_wrmsr(MSR_IA32_SYSENTER_ESP, g->sysenter_esp);
	root_wrmsr(MSR_IA32_SYSENTER_EIP, g->sysenter_eip);
	/* MSRs a hook keeps at marrow's value (LSTAR) get the guest's. */
	msr_hooks_restore();
	write_dr7(g->dr7);
	write_cr4(g->cr4);
	write_cr0(g->cr0);
	write_cr3(g->cr3);
	struct desc_ptr gdt = { g->gdt_limit, g->gdt_base };
	struct desc_ptr idt = { g->idt_limit, g->idt_base };
	lgdt(&gdt);
	lidt(&idt);
}

void vmx_leave(struct exit_ctx *c)
{
	struct vcpu *v = c->v;
	struct exit_frame *f = v->frame;
	struct guest_system_state g;

	read_guest(&g);
	/* From here on there is no VMCS to touch: an NMI taken now only
	 * counts itself (host_trap). */
	__atomic_store_n(&v->virtualized, false, __ATOMIC_SEQ_CST);
	/* VMCLEAR writes the VMCS back to memory and makes it inactive, so
	 * the page can be freed and reused (SDM 3C 25.11.3). */
	vmx_clear(v->vmcs_pa);
	vmx_off();
	load_guest(&g);
	f->iret_rip = g.rip;
	f->iret_cs = g.cs;
	f->iret_rflags = g.rflags;
	f->iret_rsp = g.rsp;
	f->iret_ss = g.ss;
	load_data_segments(&g);
	/* A guest NMI that arrived while this CPU was leaving goes to the
	 * guest's own handler now, as a real NMI: the local APIC holds it
	 * until the IRETQ into the guest ends this handler's NMI blocking. */
	if (__atomic_exchange_n(&v->pending_nmis, 0, __ATOMIC_SEQ_CST))
		lapic_send_nmi_root(v->apic_id);
}
