#include "smp.h"

#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "boot_layout.h"
#include "console.h"
#include "core/mw_string.h"
#include "core/spinlock.h"
#include "lapic.h"
#include "paging.h"
#include "pit.h"
#include "platform_bm.h"
#include "trap.h"

struct bm_cpu bm_cpus[BM_MAX_CPUS];
unsigned bm_cpu_count = 1;
unsigned bm_cpus_expected = 1;

struct bm_call {
	void (*fn)(void *);
	void *arg;
	volatile uint32_t pending;
};

static struct spinlock call_lock;

extern char ap_trampoline_start[], ap_trampoline_end[];
extern uint64_t ap_boot_cr3, ap_boot_stack, ap_boot_entry, ap_boot_arg;

void percpu_install(struct bm_cpu *cpu)
{
	cpu->self = cpu;
	wrmsr(MSR_IA32_GS_BASE, (uint64_t)(uintptr_t)cpu);
}

static uint64_t alloc_stack(size_t bytes)
{
	void *p = bm_alloc_pages(bytes / 4096);
	if (!p)
		panic("out of memory for a CPU stack");
	return (uint64_t)(uintptr_t)p + bytes;
}

/* Control-register features every CPU runs with: x87/SSE state enabled
 * (CR0.NE/MP, CR4.OSFXSR/OSXMMEXCPT) and XSAVE when the CPU has it, so that
 * XSETBV and friends behave architecturally in tests. */
static void cpu_enable_features(void)
{
	uint64_t cr0 = read_cr0();
	cr0 |= CR0_NE | CR0_MP | CR0_WP;
	cr0 &= ~(CR0_EM | CR0_TS | CR0_CD | CR0_NW);
	write_cr0(cr0);

	uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (cpuid(1).ecx & CPUID_1_ECX_XSAVE)
		cr4 |= CR4_OSXSAVE;
	write_cr4(cr4);
	__asm__ volatile("fninit");
}

void cpu_setup(struct bm_cpu *cpu)
{
	uint64_t ist[IST_COUNT];

	for (int i = 0; i < IST_COUNT; i++)
		ist[i] = alloc_stack(IST_STACK_SIZE);
	/* Traps from ring 3 (guest tests only) land on a stack of their own:
	 * RSP0 at the top of the CPU's kernel stack would overwrite the frames
	 * of the code that entered ring 3. */
	if (!cpu->user_trap_stack_top)
		cpu->user_trap_stack_top = alloc_stack(IST_STACK_SIZE);
	gdt_load_cpu(&cpu->tables, ist, cpu->user_trap_stack_top);
	idt_load();
	cpu_enable_features();
	lapic_init_cpu();
	cpu->apic_id = lapic_id();
}

static void run_call(struct bm_call *c)
{
	c->fn(c->arg);
	__atomic_fetch_sub(&c->pending, 1, __ATOMIC_RELEASE);
}

/* An AP busy with a long job (smp_start_async) still answers
 * smp_on_each_cpu: the wake IPI runs the call where it interrupted the job.
 * An idle AP runs calls from its loop, outside interrupt context. Both
 * claim a call by taking it out of the mailbox, so it runs once. */
static bool wake_ipi(struct trap_frame *f)
{
	struct bm_cpu *cpu = this_cpu();

	if (!cpu->in_async)
		return true; /* the idle loop takes it */
	struct bm_call *c = __atomic_exchange_n(&cpu->call, NULL, __ATOMIC_ACQ_REL);
	if (c) {
		cpu->interrupted = f;
		run_call(c);
		cpu->interrupted = NULL;
	}
	return true;
}

static void ap_idle(struct bm_cpu *cpu)
{
	for (;;) {
		cpu_cli();
		struct bm_call *c = __atomic_exchange_n(&cpu->call, NULL, __ATOMIC_ACQ_REL);
		struct bm_call *job =
			c ? NULL : __atomic_exchange_n(&cpu->async, NULL, __ATOMIC_ACQ_REL);
		if (!c && !job) {
			cpu_sti_hlt(); /* a wake IPI after the check still wakes us */
			continue;
		}
		cpu_sti();
		if (c) {
			run_call(c);
			continue;
		}
		cpu->in_async = true;
		run_call(job);
		cpu->in_async = false;
	}
}

static void ap_entry(struct bm_cpu *cpu)
{
	percpu_install(cpu);
	cpu_setup(cpu);
	__atomic_store_n(&cpu->online, true, __ATOMIC_RELEASE);
	ap_idle(cpu);
}

static bool wait_online(struct bm_cpu *cpu, uint32_t us)
{
	for (uint32_t waited = 0; waited < us; waited += 100) {
		if (__atomic_load_n(&cpu->online, __ATOMIC_ACQUIRE))
			return true;
		pit_delay_us(100);
	}
	return __atomic_load_n(&cpu->online, __ATOMIC_ACQUIRE);
}

/* INIT, then up to two SIPIs (SDM 3A 8.4.4.1). The legacy BIOS has run the
 * APs once already, so the INIT is what puts them back in wait-for-SIPI. */
static bool start_ap(struct bm_cpu *cpu)
{
	uint8_t *tramp = (uint8_t *)(uintptr_t)AP_TRAMPOLINE_ADDR;
	size_t off_cr3 = (size_t)((uintptr_t)&ap_boot_cr3 - (uintptr_t)ap_trampoline_start);
	size_t off_stack = (size_t)((uintptr_t)&ap_boot_stack - (uintptr_t)ap_trampoline_start);
	size_t off_entry = (size_t)((uintptr_t)&ap_boot_entry - (uintptr_t)ap_trampoline_start);
	size_t off_arg = (size_t)((uintptr_t)&ap_boot_arg - (uintptr_t)ap_trampoline_start);

	*(volatile uint64_t *)(tramp + off_cr3) = paging_root();
	*(volatile uint64_t *)(tramp + off_stack) = cpu->stack_top;
	*(volatile uint64_t *)(tramp + off_entry) = (uint64_t)(uintptr_t)ap_entry;
	*(volatile uint64_t *)(tramp + off_arg) = (uint64_t)(uintptr_t)cpu;

	lapic_send_init(cpu->apic_id);
	pit_delay_us(10000);
	for (int attempt = 0; attempt < 2; attempt++) {
		lapic_send_sipi(cpu->apic_id, AP_SIPI_VECTOR);
		if (wait_online(cpu, attempt == 0 ? 10000 : 200000))
			return true;
	}
	return false;
}

unsigned smp_start_aps(const uint32_t *apic_ids, size_t count)
{
	size_t len = (size_t)((uintptr_t)ap_trampoline_end - (uintptr_t)ap_trampoline_start);
	uint32_t my_id = this_cpu()->apic_id;

	memcpy((void *)(uintptr_t)AP_TRAMPOLINE_ADDR, ap_trampoline_start, len);
	bm_cpus_expected = (unsigned)count;
	for (size_t i = 0; i < count; i++) {
		if (apic_ids[i] == my_id)
			continue;
		if (bm_cpu_count == BM_MAX_CPUS) {
			kprintf("smp: more than %u CPUs; the rest stay off\n", BM_MAX_CPUS);
			break;
		}
		struct bm_cpu *cpu = &bm_cpus[bm_cpu_count];
		cpu->index = bm_cpu_count;
		cpu->apic_id = apic_ids[i];
		cpu->stack_top = alloc_stack(CPU_STACK_SIZE);
		if (start_ap(cpu))
			bm_cpu_count++;
		else
			kprintf("smp: CPU with APIC ID %u did not start\n", apic_ids[i]);
	}
	return bm_cpu_count;
}

bool smp_restart_ap(unsigned index)
{
	struct bm_cpu *cpu = &bm_cpus[index];

	if (index == 0 || index >= bm_cpu_count || cpu == this_cpu())
		return false;
	__atomic_store_n(&cpu->online, false, __ATOMIC_RELEASE);
	return start_ap(cpu);
}

void smp_on_each_cpu(void (*fn)(void *), void *arg)
{
	struct bm_cpu *me = this_cpu();
	struct bm_call call = { .fn = fn, .arg = arg, .pending = bm_cpu_count - 1 };

	spin_lock(&call_lock);
	for (unsigned i = 0; i < bm_cpu_count; i++) {
		struct bm_cpu *cpu = &bm_cpus[i];
		if (cpu == me)
			continue;
		__atomic_store_n(&cpu->call, &call, __ATOMIC_RELEASE);
		lapic_send_ipi(cpu->apic_id, VEC_WAKE_IPI);
	}
	fn(arg);
	while (__atomic_load_n(&call.pending, __ATOMIC_ACQUIRE))
		cpu_pause();
	spin_unlock(&call_lock);
}

static struct bm_call async_call;

bool smp_start_async(void (*fn)(void *), void *arg)
{
	if (__atomic_load_n(&async_call.pending, __ATOMIC_ACQUIRE))
		return false;
	async_call.fn = fn;
	async_call.arg = arg;
	async_call.pending = bm_cpu_count - 1;
	for (unsigned i = 0; i < bm_cpu_count; i++) {
		struct bm_cpu *cpu = &bm_cpus[i];
		if (cpu == this_cpu())
			continue;
		__atomic_store_n(&cpu->async, &async_call, __ATOMIC_RELEASE);
		lapic_send_ipi(cpu->apic_id, VEC_WAKE_IPI);
	}
	return true;
}

void smp_wait_async(void)
{
	while (__atomic_load_n(&async_call.pending, __ATOMIC_ACQUIRE))
		cpu_pause();
}

void smp_init_calls(void)
{
	trap_set_handler(VEC_WAKE_IPI, wake_ipi);
}
