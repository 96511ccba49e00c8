/* Stress on every CPU at once: hypercalls from all CPUs together, a hundred
 * virtualize/devirtualize cycles, LAPIC timer interrupts and NMIs arriving
 * while the CPUs exit for CPUID and step over reads of a hooked page. Every
 * answer must be right, every interrupt and NMI delivered exactly once,
 * every page returned. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "core/mw_string.h"
#include "hook/inline_hook.h"
#include "marrow/stats.h"
#include "platform/platform.h"
#include "src/platform/baremetal/lapic.h"
#include "src/platform/baremetal/percpu.h"
#include "src/platform/baremetal/platform_bm.h"
#include "src/platform/baremetal/smp.h"
#include "src/platform/baremetal/trap.h"
#include "vmx/vmx_defs.h"
#include "vmx_util.h"

/* A hooked function alone in its page: reading its bytes makes a CPU step
 * over the page (2 exits, a TF step on Bochs). */
uint64_t stress_target(uint64_t x);
__asm__(".pushsection .text.stress_target, \"ax\", @progbits\n"
	".balign 4096\n"
	".globl stress_target\n"
	"stress_target:\n\t"
	"push %rbp\n\t"
	"mov %rsp, %rbp\n\t"
	"lea 3(%rdi), %rax\n\t"
	"pop %rbp\n\t"
	"ret\n"
	".popsection\n");

static uint64_t (*stress_original)(uint64_t);

static uint64_t stress_handler(uint64_t x)
{
	return stress_original(x) + 1;
}

static struct mw_inline_hook *hook_target(void)
{
	struct mw_inline_hook *h = NULL;
	struct mw_error err;
	if (mw_hook_install((void *)stress_target, (const void *)stress_handler,
			    (void **)&stress_original, &h, &err) != MW_OK) {
		char msg[256];
		mw_error_format(&err, msg, sizeof(msg));
		gt_fail(__FILE__, __LINE__, "hook: %s", msg);
	}
	return h;
}

/* An exit (CPUID), a step over the hooked page (a read of it) and a call
 * through the hook. False when the hook answered wrongly. */
static bool busy_round(uint64_t i)
{
	(void)cpuid(0);
	(void)*(volatile const uint8_t *)(const void *)stress_target;
	return stress_target(i) == i + 4;
}

/* ---- hypercalls from every CPU at once ---- */

struct hc_run {
	volatile uint32_t bad[BM_MAX_CPUS];
	volatile uint32_t done[BM_MAX_CPUS];
};

#define HC_ROUNDS 300

static void hypercalls(void *arg)
{
	struct hc_run *r = arg;
	unsigned me = platform_cpu_index(), n = platform_cpu_count();
	struct mw_cpu_stats st;
	char log[512];

	for (uint32_t i = 0; i < HC_ROUNDS; i++) {
		struct mw_hc_result p = vt_call(MW_HC_PING, 0, 0, 0);
		if (p.status != MW_HC_OK || p.rdx != MW_HC_SIGNATURE || (p.r8 >> 32) != me)
			r->bad[me]++;
		struct mw_hc_result s =
			vt_call(MW_HC_STATS, (uint64_t)(uintptr_t)&st, sizeof(st), (me + i) % n);
		if (s.status != MW_HC_OK || s.rdx != sizeof(st) || st.size != sizeof(st))
			r->bad[me]++;
		/* Another CPU may be reading the same ring: BUSY is an answer. */
		struct mw_hc_result l = vt_call(MW_HC_READ_LOG, (uint64_t)(uintptr_t)log,
						sizeof(log), (me + i) % n);
		if (l.status != MW_HC_OK && l.status != MW_HC_ERR_BUSY)
			r->bad[me]++;
		struct mw_hc_result b = vt_call(MW_HC_STATS, 0xdead000000000000ull, 64, me);
		if (b.status != MW_HC_ERR_BAD_POINTER)
			r->bad[me]++;
	}
	r->done[me] = HC_ROUNDS;
}

GUEST_TEST(stress, hypercalls_from_every_cpu_at_once)
{
	static struct hc_run r;

	memset((void *)&r, 0, sizeof(r));
	vt_up(NULL);
	platform_on_each_cpu(hypercalls, &r);
	vt_down();
	for (unsigned c = 0; c < platform_cpu_count(); c++) {
		GT_ASSERT_EQ(r.done[c], HC_ROUNDS);
		GT_ASSERT_EQ(r.bad[c], 0);
	}
	gt_note("%u CPUs x %u rounds of 4 hypercalls", platform_cpu_count(), HC_ROUNDS);
}

GUEST_TEST(stress, a_hundred_cycles_return_every_page)
{
	uint64_t free_before = bm_free_page_count();

	for (int i = 0; i < 100; i++) {
		vt_up(NULL);
		GT_ASSERT_EQ(mw_virtualized_count(), platform_cpu_count());
		vt_down();
		GT_ASSERT_EQ(bm_free_page_count(), free_before);
	}
}

/* ---- LAPIC timer interrupts ---- */

#define TIMER_SHOTS 150
#define TIMER_COUNT 3000

static volatile uint32_t ticks[BM_MAX_CPUS];

static bool count_tick(struct trap_frame *f)
{
	(void)f;
	ticks[this_cpu()->index]++;
	return true; /* trap_dispatch sends the EOI */
}

struct timer_run {
	volatile uint32_t lost[BM_MAX_CPUS], extra[BM_MAX_CPUS], wrong[BM_MAX_CPUS];
	volatile uint32_t done;
};

/* Each shot must raise exactly one interrupt, which must arrive while the
 * CPU exits and steps as fast as it can. */
static void timer_shots(void *arg)
{
	struct timer_run *r = arg;
	unsigned me = platform_cpu_index();

	ticks[me] = 0;
	cpu_sti();
	for (uint32_t shot = 1; shot <= TIMER_SHOTS; shot++) {
		lapic_timer_oneshot(TIMER_COUNT, VEC_LAPIC_TIMER);
		uint32_t spins = 0;
		while (ticks[me] < shot && spins++ < 100000)
			if (!busy_round(spins))
				r->wrong[me]++;
		if (ticks[me] < shot)
			r->lost[me]++;
		/* Nothing more may come for this shot. */
		for (int i = 0; i < 20; i++)
			busy_round((uint64_t)i);
		if (ticks[me] > shot)
			r->extra[me]++;
		ticks[me] = shot;
	}
	cpu_cli();
	lapic_timer_stop();
	__atomic_fetch_add(&r->done, 1, __ATOMIC_RELEASE);
}

/* A timer armed to fire during the next read of the hooked page: while the
 * CPU steps over it with TF, the interrupt exits and the step is dropped
 * (hook/split.c), then the read is made again. */
static void timer_during_steps(void *arg)
{
	struct timer_run *r = arg;
	unsigned me = platform_cpu_index();

	ticks[me] = 0;
	cpu_sti();
	for (uint32_t shot = 1; shot <= TIMER_SHOTS; shot++) {
		lapic_timer_oneshot(1 + shot % 64, VEC_LAPIC_TIMER);
		uint8_t b = *(volatile const uint8_t *)(const void *)stress_target;
		if (b != 0x55) /* push rbp: the original byte, never the hook's jump */
			r->wrong[me]++;
		for (uint32_t spins = 0; ticks[me] < shot && spins < 100000; spins++)
			cpu_pause();
		if (ticks[me] != shot)
			r->lost[me]++;
		ticks[me] = shot;
	}
	cpu_cli();
	lapic_timer_stop();
	__atomic_fetch_add(&r->done, 1, __ATOMIC_RELEASE);
}

GUEST_TEST(stress, a_timer_interrupt_during_a_hooked_read_is_delivered_once)
{
	static struct timer_run r;

	memset((void *)&r, 0, sizeof(r));
	trap_set_handler(VEC_LAPIC_TIMER, count_tick);
	vt_up(NULL);
	struct mw_inline_hook *h = hook_target();
	uint64_t ext[BM_MAX_CPUS];
	for (unsigned c = 0; c < platform_cpu_count(); c++)
		ext[c] = vt_exits(c, EXIT_EXTERNAL_INTERRUPT);
	platform_on_each_cpu(timer_during_steps, &r);
	uint64_t dropped = 0;
	for (unsigned c = 0; c < platform_cpu_count(); c++)
		dropped += vt_exits(c, EXIT_EXTERNAL_INTERRUPT) - ext[c];
	GT_ASSERT_EQ(mw_hook_remove(h), MW_OK);
	bool tf_steps = !mw.mtf_works;
	vt_down();
	trap_set_handler(VEC_LAPIC_TIMER, NULL);
	GT_ASSERT_EQ(r.done, platform_cpu_count());
	for (unsigned c = 0; c < platform_cpu_count(); c++) {
		GT_ASSERT_EQ(r.lost[c], 0);
		GT_ASSERT_EQ(r.wrong[c], 0);
	}
	/* With TF steps, some interrupts must have met a step (the point of
	 * the test); with MTF none exits. */
	if (tf_steps)
		GT_ASSERT(dropped > 0);
	gt_note("%u shots per CPU; %llu steps dropped for an interrupt", TIMER_SHOTS,
		(unsigned long long)dropped);
}

GUEST_TEST(stress, timer_interrupts_arrive_exactly_once_across_exits_and_steps)
{
	static struct timer_run r;

	memset((void *)&r, 0, sizeof(r));
	trap_set_handler(VEC_LAPIC_TIMER, count_tick);
	vt_up(NULL);
	struct mw_inline_hook *h = hook_target();
	uint64_t steps0 = mw.vcpus[0]->stats.exits_total;
	platform_on_each_cpu(timer_shots, &r);
	uint64_t exits = mw.vcpus[0]->stats.exits_total - steps0;
	GT_ASSERT_EQ(mw_hook_remove(h), MW_OK);
	vt_down();
	trap_set_handler(VEC_LAPIC_TIMER, NULL);
	GT_ASSERT_EQ(r.done, platform_cpu_count());
	for (unsigned c = 0; c < platform_cpu_count(); c++) {
		GT_ASSERT_EQ(r.lost[c], 0);
		GT_ASSERT_EQ(r.extra[c], 0);
		GT_ASSERT_EQ(r.wrong[c], 0);
	}
	gt_note("%u timer interrupts per CPU on %u CPUs; cpu 0 made %llu exits meanwhile",
		TIMER_SHOTS, platform_cpu_count(), (unsigned long long)exits);
}

/* ---- an NMI storm ---- */

#define NMIS_PER_CPU 150

static volatile uint32_t nmis[BM_MAX_CPUS];

static bool count_nmi(struct trap_frame *f)
{
	(void)f;
	__atomic_add_fetch(&nmis[this_cpu()->index], 1, __ATOMIC_RELAXED);
	return true;
}

struct storm {
	volatile bool stop;
	volatile uint32_t wrong;
	volatile uint32_t running;
};

static void busy_until_stopped(void *arg)
{
	struct storm *s = arg;
	uint64_t i = 0;

	__atomic_fetch_add(&s->running, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
		if (!busy_round(i++))
			__atomic_fetch_add(&s->wrong, 1, __ATOMIC_RELAXED);
}

GUEST_TEST_SMP(stress, an_nmi_storm_over_exits_and_steps_delivers_each_nmi_once, 2)
{
	static struct storm s;
	unsigned n = platform_cpu_count();
	uint32_t sent[BM_MAX_CPUS] = { 0 };

	memset((void *)&s, 0, sizeof(s));
	for (unsigned c = 0; c < n; c++)
		nmis[c] = 0;
	trap_set_handler(VEC_NMI, count_nmi);
	vt_up(NULL);
	struct mw_inline_hook *h = hook_target();
	GT_ASSERT(smp_start_async(busy_until_stopped, &s));
	while (s.running < n - 1)
		cpu_pause();
	for (uint32_t round = 0; round < NMIS_PER_CPU; round++) {
		for (unsigned c = 1; c < n; c++) {
			lapic_send_nmi(bm_cpus[c].apic_id);
			sent[c]++;
			/* One at a time: a local APIC holds one pending NMI. */
			for (uint32_t i = 0; i < 10000000 && nmis[c] < sent[c]; i++)
				cpu_pause();
		}
	}
	__atomic_store_n(&s.stop, true, __ATOMIC_RELEASE);
	smp_wait_async();
	GT_ASSERT_EQ(mw_hook_remove(h), MW_OK);
	vt_down();
	trap_set_handler(VEC_NMI, NULL);
	for (unsigned c = 1; c < n; c++)
		GT_ASSERT_EQ(nmis[c], sent[c]);
	GT_ASSERT_EQ(s.wrong, 0);
	gt_note("%u NMIs sent to each of %u CPUs busy with exits and hooked-page steps, each "
		"delivered once",
		NMIS_PER_CPU, n - 1);
}
