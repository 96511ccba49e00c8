#include "lapic.h"

#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "trap.h"

/* Register offsets in the xAPIC page; the x2APIC MSR is 0x800 + offset/16
 * (SDM 3A 11.12.1.2). */
#define REG_ID 0x020
#define REG_TPR 0x080
#define REG_EOI 0x0b0
#define REG_SVR 0x0f0
#define REG_ICR_LOW 0x300
#define REG_ICR_HIGH 0x310
#define REG_LVT_TIMER 0x320
#define REG_TIMER_INITIAL 0x380
#define REG_TIMER_DIVIDE 0x3e0
#define LVT_MASKED (1u << 16)
#define TIMER_DIVIDE_BY_1 0xb
#define SVR_ENABLE (1u << 8)
#define ICR_DELIVERY_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_FIXED 0x000
#define ICR_NMI 0x400
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600

static bool x2apic_mode(void)
{
	return rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC;
}

uint64_t lapic_base(void)
{
	return rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK;
}

bool lapic_is_x2apic(void)
{
	return x2apic_mode();
}

static volatile uint32_t *mmio(uint32_t reg)
{
	return (volatile uint32_t *)(uintptr_t)(lapic_base() + reg);
}

static uint32_t lapic_read(uint32_t reg)
{
	if (x2apic_mode())
		return (uint32_t)rdmsr(0x800 + (reg >> 4));
	return *mmio(reg);
}

static void lapic_write(uint32_t reg, uint32_t val)
{
	if (x2apic_mode())
		wrmsr(0x800 + (reg >> 4), val);
	else
		*mmio(reg) = val;
}

void lapic_init_cpu(void)
{
	lapic_write(REG_TPR, 0);
	lapic_write(REG_SVR, SVR_ENABLE | VEC_SPURIOUS);
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(REG_ID);
	return x2apic_mode() ? id : id >> 24;
}

void lapic_eoi(void)
{
	lapic_write(REG_EOI, 0);
}

static void send_icr(uint32_t apic_id, uint32_t low)
{
	if (x2apic_mode()) {
		wrmsr(0x830, ((uint64_t)apic_id << 32) | low);
		return;
	}
	while (*mmio(REG_ICR_LOW) & ICR_DELIVERY_PENDING)
		cpu_pause();
	*mmio(REG_ICR_HIGH) = apic_id << 24;
	*mmio(REG_ICR_LOW) = low;
	while (*mmio(REG_ICR_LOW) & ICR_DELIVERY_PENDING)
		cpu_pause();
}

/* One-shot mode is LVT timer bits 18:17 = 00 (SDM 3A 11.5.4). */
void lapic_timer_oneshot(uint32_t count, uint8_t vector)
{
	lapic_write(REG_TIMER_DIVIDE, TIMER_DIVIDE_BY_1);
	lapic_write(REG_LVT_TIMER, vector);
	lapic_write(REG_TIMER_INITIAL, count);
}

void lapic_timer_stop(void)
{
	lapic_write(REG_TIMER_INITIAL, 0);
	lapic_write(REG_LVT_TIMER, LVT_MASKED);
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
	send_icr(apic_id, ICR_FIXED | ICR_LEVEL_ASSERT | vector);
}

void lapic_send_nmi(uint32_t apic_id)
{
	send_icr(apic_id, ICR_NMI | ICR_LEVEL_ASSERT);
}

void lapic_send_init(uint32_t apic_id)
{
	send_icr(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

void lapic_send_sipi(uint32_t apic_id, uint8_t page)
{
	send_icr(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | page);
}
