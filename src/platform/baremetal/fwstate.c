#include "fwstate.h"

#include <stdint.h>

#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"

#define APIC_TPR 0x080
#define APIC_SVR 0x0f0
#define X2APIC_MSR(reg) (0x800 + ((reg) >> 4))

static uint8_t pic_masks[2];
static uint32_t apic_svr, apic_tpr;

static bool x2apic(void)
{
	return rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC;
}

static volatile uint32_t *apic_reg(uint32_t reg)
{
	return (volatile uint32_t *)(uintptr_t)((rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK) +
						reg);
}

static uint32_t apic_read(uint32_t reg)
{
	return x2apic() ? (uint32_t)rdmsr(X2APIC_MSR(reg)) : *apic_reg(reg);
}

static void apic_write(uint32_t reg, uint32_t v)
{
	if (x2apic())
		wrmsr(X2APIC_MSR(reg), v);
	else
		*apic_reg(reg) = v;
}

void fwstate_save(void)
{
	pic_masks[0] = inb(0x21);
	pic_masks[1] = inb(0xa1);
	apic_svr = apic_read(APIC_SVR);
	apic_tpr = apic_read(APIC_TPR);
}

void fwstate_restore(void)
{
	apic_write(APIC_TPR, apic_tpr);
	apic_write(APIC_SVR, apic_svr);
	outb(0x21, pic_masks[0]);
	outb(0xa1, pic_masks[1]);
}
