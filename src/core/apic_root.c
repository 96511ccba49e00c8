#include "apic_root.h"

#include "arch/x86/msr.h"
#include "core/marrow.h"
#include "vmx/host_idt.h"

#define X2APIC_MSR_BASE 0x800
#define LVT_MASKED (1u << 16)
#define SVR_POWER_ON 0xffu /* vector FFH, APIC software-disabled */

bool apic_root_x2apic(void)
{
	uint64_t base = 0;
	return root_rdmsr(MSR_IA32_APIC_BASE, &base) == 0 && (base & APIC_BASE_X2APIC);
}

uint32_t apic_root_read(uint32_t reg)
{
	if (apic_root_x2apic()) {
		uint64_t v = 0;
		return root_rdmsr(X2APIC_MSR_BASE + (reg >> 4), &v) == 0 ? (uint32_t)v : 0;
	}
	const volatile uint32_t *apic = mw.lapic_mmio;
	return apic ? apic[reg / 4] : 0;
}

void apic_root_write(uint32_t reg, uint32_t value)
{
	if (apic_root_x2apic()) {
		root_wrmsr(X2APIC_MSR_BASE + (reg >> 4), value);
		return;
	}
	volatile uint32_t *apic = mw.lapic_mmio;
	if (apic)
		apic[reg / 4] = value;
}

static bool in_service(void)
{
	for (uint32_t i = 0; i < 8; i++)
		if (apic_root_read(APIC_REG_ISR0 + 0x10 * i))
			return true;
	return false;
}

void apic_root_init_reset(void)
{
	/* The LVT entries and the highest "max LVT entry" (version register
	 * bits 23:16) that has each: timer, LINT0/1 and error always; the
	 * performance counter, thermal and CMCI entries on later CPUs
	 * (SDM 3A 11.5.1). */
	static const struct {
		uint32_t reg, min_max_lvt;
	} lvts[] = { { APIC_REG_LVT_TIMER, 0 }, { 0x350, 0 }, { 0x360, 0 },
		     { APIC_REG_LVT_ERROR, 0 }, { 0x340, 4 }, { 0x330, 5 },
		     { APIC_REG_LVT_CMCI, 6 } };
	uint32_t max_lvt = (apic_root_read(APIC_REG_VERSION) >> 16) & 0xff;

	for (unsigned i = 0; i < sizeof(lvts) / sizeof(lvts[0]); i++)
		if (max_lvt >= lvts[i].min_max_lvt)
			apic_root_write(lvts[i].reg, LVT_MASKED);
	apic_root_write(APIC_REG_TIMER_INITIAL, 0);
	apic_root_write(APIC_REG_TIMER_DIVIDE, 0);
	apic_root_write(APIC_REG_TPR, 0);
	/* Each EOI retires the highest-priority interrupt in service. */
	for (unsigned n = 0; n < 256 && in_service(); n++)
		apic_root_write(APIC_REG_EOI, 0);
	apic_root_write(APIC_REG_ESR, 0);
	apic_root_write(APIC_REG_ESR, 0);
	if (!apic_root_x2apic()) {
		/* Read-only in x2APIC mode, where the ID determines them. */
		apic_root_write(APIC_REG_LDR, 0);
		apic_root_write(APIC_REG_DFR, 0xffffffff);
	}
	apic_root_write(APIC_REG_SVR, SVR_POWER_ON);
}
