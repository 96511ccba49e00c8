#include "ipi.h"

#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "core/marrow.h"
#include "vmx/host_idt.h"

#define ICR_NMI_ASSERT 0x4400u /* delivery mode NMI, level assert */
#define ICR_DELIVERY_PENDING (1u << 12)
#define X2APIC_ICR 0x830
#define XAPIC_ICR_LOW 0x300
#define XAPIC_ICR_HIGH 0x310
#define MAX_POLLS 100000

uint32_t lapic_current_id(void)
{
	/* Leaf 0BH gives the full x2APIC ID; leaf 1 the 8-bit one. */
	if (cpuid(0).eax >= 0xb && cpuid_count(0xb, 0).ebx != 0)
		return cpuid_count(0xb, 0).edx;
	return cpuid(1).ebx >> 24;
}

void lapic_send_nmi_root(uint32_t apic_id)
{
	uint64_t base = 0;

	root_rdmsr(MSR_IA32_APIC_BASE, &base);
	if (base & APIC_BASE_X2APIC) {
		root_wrmsr(X2APIC_ICR, ((uint64_t)apic_id << 32) | ICR_NMI_ASSERT);
		return;
	}
	volatile uint32_t *apic = mw.lapic_mmio;
	if (!apic)
		return;
	for (int i = 0; i < MAX_POLLS && (apic[XAPIC_ICR_LOW / 4] & ICR_DELIVERY_PENDING); i++)
		cpu_pause();
	apic[XAPIC_ICR_HIGH / 4] = apic_id << 24;
	apic[XAPIC_ICR_LOW / 4] = ICR_NMI_ASSERT;
}
