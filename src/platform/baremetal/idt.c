#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/safe.h"
#include "boot_layout.h"
#include "catch.h"
#include "console.h"
#include "gdt.h"
#include "lapic.h"
#include "percpu.h"
#include "sections.h"
#include "trap.h"

struct __attribute__((packed)) idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
};

#define GATE_INTERRUPT_DPL0 0x8e /* present, DPL 0, 64-bit interrupt gate */

extern const uint64_t isr_stub_table[256];
extern const struct extable_entry __extable_start[], __extable_end[];

static struct idt_gate idt[256] __attribute__((aligned(16)));
static trap_handler_fn handlers[256];

static const char *const exception_names[32] = {
	"#DE divide error",
	"#DB debug",
	"NMI",
	"#BP breakpoint",
	"#OF overflow",
	"#BR bound",
	"#UD invalid opcode",
	"#NM device not available",
	"#DF double fault",
	"coprocessor overrun",
	"#TS invalid TSS",
	"#NP segment not present",
	"#SS stack fault",
	"#GP general protection",
	"#PF page fault",
	"reserved 15",
	"#MF x87 error",
	"#AC alignment check",
	"#MC machine check",
	"#XM SIMD error",
	"#VE virtualization exception",
	"#CP control protection",
	"reserved 22",
	"reserved 23",
	"reserved 24",
	"reserved 25",
	"reserved 26",
	"reserved 27",
	"#HV hypervisor injection",
	"#VC VMM communication",
	"#SX security",
	"reserved 31",
};

const char *trap_vector_name(unsigned vector)
{
	return vector < 32 ? exception_names[vector] : "interrupt";
}

static uint8_t ist_for_vector(unsigned v)
{
	switch (v) {
	case VEC_DF:
		return IST_DOUBLE_FAULT;
	case VEC_NMI:
		return IST_NMI;
	case VEC_MC:
		return IST_MACHINE_CHECK;
	default:
		return 0;
	}
}

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint64_t addr = isr_stub_table[v];
		idt[v] = (struct idt_gate){
			.offset_low = (uint16_t)addr,
			.selector = SEL_KCODE,
			.ist = ist_for_vector(v),
			.type_attr = GATE_INTERRUPT_DPL0,
			.offset_mid = (uint16_t)(addr >> 16),
			.offset_high = (uint32_t)(addr >> 32),
		};
	}
}

void idt_load(void)
{
	struct desc_ptr p = { .limit = sizeof(idt) - 1, .base = (uint64_t)(uintptr_t)idt };
	lidt(&p);
}

void trap_set_handler(unsigned vector, trap_handler_fn fn)
{
	handlers[vector & 0xff] = fn;
}

void trap_dump(const struct trap_frame *f)
{
	kprintf("trap: vector %llu (%s) error 0x%llx on cpu %u\n", (unsigned long long)f->vector,
		trap_vector_name((unsigned)f->vector), (unsigned long long)f->error_code,
		this_cpu()->index);
	kprintf("  rip %016llx cs %04llx rflags %016llx rsp %016llx ss %04llx\n",
		(unsigned long long)f->rip, (unsigned long long)f->cs,
		(unsigned long long)f->rflags, (unsigned long long)f->rsp,
		(unsigned long long)f->ss);
	kprintf("  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", (unsigned long long)f->rax,
		(unsigned long long)f->rbx, (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	kprintf("  rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n", (unsigned long long)f->rsi,
		(unsigned long long)f->rdi, (unsigned long long)f->rbp, (unsigned long long)f->r8);
	kprintf("  r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n", (unsigned long long)f->r9,
		(unsigned long long)f->r10, (unsigned long long)f->r11, (unsigned long long)f->r12);
	kprintf("  r13 %016llx r14 %016llx r15 %016llx\n", (unsigned long long)f->r13,
		(unsigned long long)f->r14, (unsigned long long)f->r15);
	kprintf("  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx\n",
		(unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
		(unsigned long long)read_cr3(), (unsigned long long)read_cr4());
}

static bool fixup_from_extable(struct trap_frame *f)
{
	uint64_t fixup = extable_find(__extable_start,
				      SECTION_ENTRIES(__extable_start, __extable_end), f->rip);

	if (!fixup)
		return false;
	this_cpu()->last_fault_vector = (uint32_t)f->vector;
	f->rip = fixup;
	return true;
}

void trap_dispatch(struct trap_frame *f)
{
	unsigned v = (unsigned)f->vector;

	if (handlers[v] && handlers[v](f))
		goto done;
	if (v < 32) {
		if (fixup_from_extable(f))
			return;
		catch_throw(f); /* returns only if no test armed a catch */
		trap_dump(f);
		panic("unhandled %s", trap_vector_name(v));
	}
	if (v != VEC_SPURIOUS && v != VEC_WAKE_IPI)
		kprintf("trap: unexpected interrupt vector %u on cpu %u\n", v, this_cpu()->index);
done:
	if (v >= 32 && v != VEC_SPURIOUS)
		lapic_eoi();
}
