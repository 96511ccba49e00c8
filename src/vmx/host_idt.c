#include "host_idt.h"

#include "core/hypercall.h"
#include "core/mw_string.h"
#include "core/root_log.h"
#include "core/vcpu.h"
#include "exit.h"

struct __attribute__((packed)) gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
};

#define GATE_INTERRUPT 0x8e
#define VECTOR_NMI 2

extern const uint64_t host_stub_table[32];
extern char root_rdmsr_fault[], root_rdmsr_fixup[];
extern char root_wrmsr_fault[], root_wrmsr_fixup[];
extern char root_xsetbv_fault[], root_xsetbv_fixup[];

void host_idt_build(void *page, uint16_t cs)
{
	struct gate *idt = page;

	memset(page, 0, 4096);
	/* Vectors 32-255 stay absent: with interrupts disabled nothing can
	 * use them, and a stray INT n becomes a #GP, reported below. */
	for (unsigned v = 0; v < 32; v++) {
		uint64_t a = host_stub_table[v];
		idt[v] = (struct gate){ .offset_low = (uint16_t)a,
					.selector = cs,
					.type_attr = GATE_INTERRUPT,
					.offset_mid = (uint16_t)(a >> 16),
					.offset_high = (uint32_t)(a >> 32) };
	}
}

static uint64_t fixup_for(uint64_t rip)
{
	if (rip == (uint64_t)(uintptr_t)root_rdmsr_fault)
		return (uint64_t)(uintptr_t)root_rdmsr_fixup;
	if (rip == (uint64_t)(uintptr_t)root_wrmsr_fault)
		return (uint64_t)(uintptr_t)root_wrmsr_fixup;
	if (rip == (uint64_t)(uintptr_t)root_xsetbv_fault)
		return (uint64_t)(uintptr_t)root_xsetbv_fixup;
	return 0;
}

MW_ASM_ABI void host_trap(struct host_trap_frame *f);
MW_ASM_ABI void host_trap(struct host_trap_frame *f)
{
	struct vcpu *v = this_vcpu();

	if (f->vector == VECTOR_NMI) {
		/* An NMI while marrow runs: marrow's own signal, or the
		 * guest's, queued for the exit path to deliver. */
		v->stats.nmis_in_root++;
		if (!vcpu_claim_expected_nmi(v))
			__atomic_fetch_add(&v->pending_nmis, 1, __ATOMIC_RELAXED);
		/* Whatever the interrupted root code already decided, an exit
		 * will come as soon as the guest can take an NMI: the queued
		 * NMI (or the leave marrow's own NMI asks for) cannot be
		 * stranded until some unrelated exit. Only while a VMCS is
		 * current: vmx_leave clears `virtualized` first. */
		if (v->virtualized)
			request_nmi_window();
		return;
	}
	uint64_t fixup = fixup_for(f->rip);
	if (fixup) {
		f->rip = fixup;
		return;
	}
	root_fatal_trap(v, f->vector, f->error_code, f->rip, f->rsp);
}
