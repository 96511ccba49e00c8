/* EPT split inline hooks as the guest meets them: a hooked function runs the
 * handler and the original on every CPU, its bytes read as the original,
 * writes to its page reach both views, two hooks share a page, removal
 * while other CPUs call it loses no call, the guest's own single-step
 * survives a hooked read, and every refusal says why. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "core/mw_string.h"
#include "hook/inline_hook.h"
#include "hook/split.h"
#include "platform/platform.h"
#include "src/platform/baremetal/paging.h"
#include "src/platform/baremetal/platform_bm.h"
#include "src/platform/baremetal/smp.h"
#include "src/platform/baremetal/trap.h"
#include "vmx/vmx_defs.h"
#include "vmx_util.h"

/* The hooked functions, in a page of their own, written out so that the
 * trampoline's job is known: hk_add's first 5 bytes end inside a
 * RIP-relative LOCK INC, which must be relocated. */
volatile uint64_t hk_add_calls, hk_mul_calls;
uint64_t hk_add(uint64_t x);
uint64_t hk_mul(uint64_t x);
uint64_t hk_tiny(void);
void hk_tf_read(void);
extern const char hk_tf_end[];

__asm__(".pushsection .text.hook_targets, \"ax\", @progbits\n"
	".balign 4096\n"
	".globl hk_add\n"
	"hk_add:\n\t"
	"push %rbp\n\t"
	"mov %rsp, %rbp\n\t"
	"lock incq hk_add_calls(%rip)\n\t"
	"lea 100(%rdi), %rax\n\t"
	"pop %rbp\n\t"
	"ret\n"
	".balign 64\n"
	".globl hk_mul\n"
	"hk_mul:\n\t"
	"mov %rdi, %rax\n\t"
	"imul $3, %rax, %rax\n\t"
	"lock incq hk_mul_calls(%rip)\n\t"
	"ret\n"
	".balign 64\n"
	".globl hk_tiny\n"
	"hk_tiny:\n\t"
	"xor %eax, %eax\n\t"
	"ret\n"
	".balign 64\n"
	/* The guest single-steps over a read of hk_add's bytes. */
	".globl hk_tf_read\n"
	"hk_tf_read:\n\t"
	"pushfq\n\t"
	"orq $0x100, (%rsp)\n\t"
	"popfq\n\t"
	"movzbl hk_add(%rip), %eax\n\t"
	"nop\n"
	".globl hk_tf_end\n"
	"hk_tf_end:\n\t"
	"nop\n\t"
	"ret\n"
	".popsection\n");

static uint64_t (*add_original)(uint64_t);
static uint64_t (*mul_original)(uint64_t);
static volatile uint64_t add_handled, mul_handled;

static uint64_t add_handler(uint64_t x)
{
	__atomic_fetch_add(&add_handled, 1, __ATOMIC_RELAXED);
	return add_original(x) + 1;
}

static uint64_t mul_handler(uint64_t x)
{
	__atomic_fetch_add(&mul_handled, 1, __ATOMIC_RELAXED);
	return mul_original(x) + 7;
}

static struct mw_inline_hook *hook_ok(void *target, const void *handler, void **original)
{
	struct mw_inline_hook *h = NULL;
	struct mw_error err;
	enum mw_status s = mw_hook_install(target, handler, original, &h, &err);
	if (s != MW_OK) {
		char msg[256];
		mw_error_format(&err, msg, sizeof(msg));
		gt_fail(__FILE__, __LINE__, "mw_hook_install: %s", msg);
	}
	return h;
}

#define CALLS_PER_CPU 40

static bool call_hooked_add(void *arg)
{
	(void)arg;
	for (uint64_t i = 0; i < CALLS_PER_CPU; i++)
		if (hk_add(i) != i + 101)
			return false;
	return true;
}

static void reset_counts(void)
{
	hk_add_calls = hk_mul_calls = 0;
	add_handled = mul_handled = 0;
}

GUEST_TEST(hook, a_hooked_function_runs_the_handler_and_the_original_on_every_cpu)
{
	unsigned cpus = platform_cpu_count();

	vt_up(NULL);
	reset_counts();
	struct mw_inline_hook *h =
		hook_ok((void *)hk_add, (const void *)add_handler, (void **)&add_original);
	vt_on_each_cpu_ok(call_hooked_add, NULL, "hk_add(i) == i + 101 through the hook");
	GT_ASSERT_EQ(add_handled, cpus * CALLS_PER_CPU);
	GT_ASSERT_EQ(hk_add_calls, cpus * CALLS_PER_CPU);
	GT_ASSERT_EQ(mw_hook_hits(h), cpus * CALLS_PER_CPU);
	GT_ASSERT_EQ(split_pages_live(), 1);
	GT_ASSERT_EQ(mw_hook_remove(h), MW_OK);
	GT_ASSERT_EQ(split_pages_live(), 0);
	GT_ASSERT_EQ(hk_add(5), 105);
	GT_ASSERT_EQ(add_handled, cpus * CALLS_PER_CPU);
	GT_ASSERT_EQ(mw_hook_remove(h), MW_ERR_NOT_FOUND);
	vt_down();
	gt_note("%u calls on %u CPUs went through the hook", cpus * CALLS_PER_CPU, cpus);
}

static bool bytes_are(void *arg)
{
	return memcmp((const void *)hk_add, arg, 32) == 0;
}

GUEST_TEST(hook, reading_a_hooked_function_returns_its_original_bytes)
{
	uint8_t before[32];

	memcpy(before, (const void *)hk_add, sizeof(before));
	vt_up(NULL);
	struct mw_inline_hook *h =
		hook_ok((void *)hk_add, (const void *)add_handler, (void **)&add_original);
	vt_on_each_cpu_ok(bytes_are, before, "hk_add's bytes read as the original");
	/* One read of the page: one EPT violation, one step (an MTF exit, or
	 * a #DB exit on a CPU without MTF), nothing else. */
	unsigned cpu = platform_cpu_index();
	uint64_t v0 = vt_exits(cpu, EXIT_EPT_VIOLATION), m0 = vt_exits(cpu, EXIT_MONITOR_TRAP_FLAG),
		 d0 = vt_exits(cpu, EXIT_EXCEPTION_NMI), total0 = mw.vcpus[cpu]->stats.exits_total;
	/* The compiler must not move the counters' loads across the read. */
	__asm__ volatile("" ::: "memory");
	uint8_t first = *(volatile const uint8_t *)(const void *)hk_add;
	__asm__ volatile("" ::: "memory");
	uint64_t total = mw.vcpus[cpu]->stats.exits_total - total0;
	GT_ASSERT_EQ(first, before[0]);
	GT_ASSERT_EQ(vt_exits(cpu, EXIT_EPT_VIOLATION) - v0, 1);
	GT_ASSERT_EQ(vt_exits(cpu, EXIT_MONITOR_TRAP_FLAG) - m0 +
			     vt_exits(cpu, EXIT_EXCEPTION_NMI) - d0,
		     1);
	GT_ASSERT_EQ(total, 2);
	/* Executing it still runs the hook. */
	reset_counts();
	GT_ASSERT_EQ(hk_add(1), 102);
	GT_ASSERT_EQ(add_handled, 1);
	GT_ASSERT_EQ(mw_hook_remove(h), MW_OK);
	vt_down();
	gt_note("step by %s", mw.mtf_works ? "MTF" : "TF and #DB");
}

GUEST_TEST(hook, two_hooks_in_one_page_share_it)
{
	vt_up(NULL);
	reset_counts();
	struct mw_inline_hook *a =
		hook_ok((void *)hk_add, (const void *)add_handler, (void **)&add_original);
	struct mw_inline_hook *m =
		hook_ok((void *)hk_mul, (const void *)mul_handler, (void **)&mul_original);
	GT_ASSERT_EQ(split_pages_live(), 1);
	GT_ASSERT_EQ(hk_add(1), 102);
	GT_ASSERT_EQ(hk_mul(4), 19);
	GT_ASSERT_EQ(add_handled, 1);
	GT_ASSERT_EQ(mul_handled, 1);
	/* One goes, the other stays. */
	GT_ASSERT_EQ(mw_hook_remove(a), MW_OK);
	GT_ASSERT_EQ(split_pages_live(), 1);
	GT_ASSERT_EQ(hk_add(1), 101);
	GT_ASSERT_EQ(hk_mul(4), 19);
	GT_ASSERT_EQ(add_handled, 1);
	GT_ASSERT_EQ(mul_handled, 2);
	/* And back again, on the live page. */
	a = hook_ok((void *)hk_add, (const void *)add_handler, (void **)&add_original);
	GT_ASSERT_EQ(hk_add(2), 103);
	GT_ASSERT_EQ(mw_hook_remove(m), MW_OK);
	GT_ASSERT_EQ(hk_mul(4), 12);
	GT_ASSERT_EQ(mw_hook_remove(a), MW_OK);
	GT_ASSERT_EQ(split_pages_live(), 0);
	GT_ASSERT_EQ(hk_add(2), 102);
	GT_ASSERT_EQ(hk_add_calls, 4);
	GT_ASSERT_EQ(hk_mul_calls, 3);
	vt_down();
}

/* Code in a writable page: "mov eax, imm32; ret" twice, 64 bytes apart,
 * each padded so the trampoline can copy whole instructions. */
static uint8_t *writable_code(void)
{
	/* mov eax, imm32 (5 bytes); nop x3; ret */
	static const uint8_t fn[] = { 0xb8, 0x11, 0x11, 0x00, 0x00, 0x90, 0x90, 0x90, 0xc3 };
	/* Bare metal: a page that is writable and executable at once. */
	uint8_t *page = bm_alloc_pages(1);
	if (!page)
		return NULL;
	if (!paging_set_exec((uint64_t)(uintptr_t)page, 4096, true)) {
		bm_free_pages(page, 1);
		return NULL;
	}
	write_cr3(read_cr3()); /* the page may be cached as non-executable */
	memcpy(page, fn, sizeof(fn));
	memcpy(page + 64, fn, sizeof(fn));
	page[65] = 0x22;
	return page;
}

static uint64_t (*w_original)(void);
static volatile uint64_t w_handled;

static uint64_t w_handler(void)
{
	w_handled++;
	return w_original() + 0x1000;
}

GUEST_TEST(hook, writes_to_a_hooked_page_reach_both_views)
{
	uint8_t *page = writable_code();
	if (!page) {
		gt_fail(__FILE__, __LINE__, "no executable page");
		return;
	}
	uint64_t (*f0)(void) = (uint64_t(*)(void))(void *)page;
	uint64_t (*f1)(void) = (uint64_t(*)(void))(void *)(page + 64);

	vt_up(NULL);
	w_handled = 0;
	struct mw_inline_hook *h = hook_ok(page, (const void *)w_handler, (void **)&w_original);
	GT_ASSERT_EQ(f0(), 0x2111);
	GT_ASSERT_EQ(f1(), 0x1122);
	/* The other function's immediate, rewritten: it runs (execute view)
	 * and reads (data view) as written. */
	page[65] = 0x33;
	GT_ASSERT_EQ(page[65], 0x33);
	GT_ASSERT_EQ(f1(), 0x1133);
	/* The hooked function's own immediate, after the patch's 5 bytes: the
	 * trampoline holds a copy of the old one, as for any inline hook. */
	page[1] = 0x44;
	GT_ASSERT_EQ(page[1], 0x44);
	GT_ASSERT_EQ(page[0], 0xb8); /* the original, not the jump */
	GT_ASSERT_EQ(f0(), 0x2111);
	GT_ASSERT_EQ(w_handled, 2);
	GT_ASSERT_EQ(mw_hook_remove(h), MW_OK);
	GT_ASSERT_EQ(f0(), 0x1144);
	GT_ASSERT_EQ(f1(), 0x1133);
	vt_down();
	paging_set_exec((uint64_t)(uintptr_t)page, 4096, false);
	write_cr3(read_cr3());
	bm_free_pages(page, 1);
}

/* Other CPUs call hk_add in a loop while the boot CPU hooks and unhooks it:
 * every call returns a right value (hooked or not), and every call ran the
 * original exactly once. */
struct caller_state {
	volatile bool stop;
	volatile uint64_t calls, bad;
};

static void call_in_a_loop(void *arg)
{
	struct caller_state *st = arg;
	uint64_t i = 0;

	while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
		uint64_t r = hk_add(i);
		if (r != i + 100 && r != i + 101)
			__atomic_fetch_add(&st->bad, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&st->calls, 1, __ATOMIC_RELAXED);
		i++;
	}
}

GUEST_TEST_SMP(hook, removal_while_other_cpus_call_loses_no_call, 2)
{
	static struct caller_state st;
	const unsigned rounds = 6, moved = split_cpus_moved();

	vt_up(NULL);
	reset_counts();
	memset((void *)&st, 0, sizeof(st));
	GT_ASSERT(smp_start_async(call_in_a_loop, &st));
	for (unsigned r = 0; r < rounds; r++) {
		struct mw_inline_hook *h =
			hook_ok((void *)hk_add, (const void *)add_handler, (void **)&add_original);
		uint64_t seen = st.calls;
		while (st.calls < seen + 20)
			cpu_pause();
		GT_ASSERT_EQ(mw_hook_remove(h), MW_OK);
		seen = st.calls;
		while (st.calls < seen + 20)
			cpu_pause();
	}
	__atomic_store_n(&st.stop, true, __ATOMIC_RELEASE);
	smp_wait_async();
	GT_ASSERT_EQ(st.bad, 0);
	GT_ASSERT_EQ(hk_add_calls, st.calls);
	GT_ASSERT(add_handled > 0);
	GT_ASSERT(add_handled < st.calls);
	vt_down();
	gt_note("%llu calls from %u other CPUs, %llu through the hook, over %u installs; "
		"%u CPUs were moved out of the patched bytes into the trampoline",
		(unsigned long long)st.calls, platform_cpu_count() - 1,
		(unsigned long long)add_handled, rounds, split_cpus_moved() - moved);
}

/* The guest's own TF across a read of a hooked page: the same #DB traps,
 * each with DR6.BS, as without marrow. */
static volatile unsigned db_traps, db_without_bs;

static bool count_db(struct trap_frame *f)
{
	db_traps++;
	if (!(read_dr6() & (1u << 14)))
		db_without_bs++;
	write_dr6(0xffff0ff0);
	if (f->rip == (uint64_t)(uintptr_t)hk_tf_end)
		f->rflags &= ~RFLAGS_TF;
	return true;
}

static unsigned single_step_traps(void)
{
	db_traps = db_without_bs = 0;
	trap_set_handler(VEC_DB, count_db);
	hk_tf_read();
	trap_set_handler(VEC_DB, NULL);
	return db_traps;
}

GUEST_TEST(hook, the_guests_single_step_over_a_hooked_read_is_unchanged)
{
	unsigned native = single_step_traps();

	GT_ASSERT_EQ(db_without_bs, 0);
	vt_up(NULL);
	struct mw_inline_hook *h =
		hook_ok((void *)hk_add, (const void *)add_handler, (void **)&add_original);
	unsigned hooked = single_step_traps();
	GT_ASSERT_EQ(db_without_bs, 0);
	GT_ASSERT_EQ(hooked, native);
	GT_ASSERT_EQ(mw_hook_remove(h), MW_OK);
	vt_down();
	gt_note("%u single-step traps natively and hooked (%s)", native,
		mw.mtf_works ? "MTF" : "TF and #DB");
}

static void expect_refusal(enum mw_status want, void *target, const void *handler, const char *what)
{
	struct mw_inline_hook *h;
	void *orig;
	struct mw_error err;
	enum mw_status s = mw_hook_install(target, handler, &orig, &h, &err);
	char msg[256];
	mw_error_format(&err, msg, sizeof(msg));
	if (s != want)
		gt_fail(__FILE__, __LINE__, "%s: %s, not %s", what, mw_status_str(s),
			mw_status_str(want));
	gt_note("%s: %s", what, msg);
}

GUEST_TEST(hook, bad_hooks_are_refused_with_a_reason)
{
	expect_refusal(MW_ERR_NOT_VIRTUALIZED, (void *)hk_add, (const void *)add_handler,
		       "not running");
	vt_up(NULL);
	expect_refusal(MW_ERR_BAD_ARGUMENT, NULL, (const void *)add_handler, "NULL target");
	expect_refusal(MW_ERR_BAD_ARGUMENT, (void *)hk_add, NULL, "NULL handler");
	expect_refusal(MW_ERR_UNSUPPORTED, (void *)hk_tiny, (const void *)add_handler,
		       "a function shorter than the jump");
	expect_refusal(MW_ERR_UNSUPPORTED, (void *)((uintptr_t)hk_add + 4093),
		       (const void *)add_handler, "a patch across a page boundary");
	expect_refusal(MW_ERR_BAD_ARGUMENT, (void *)(uintptr_t)0xfee00000,
		       (const void *)add_handler, "the local APIC's page");
	struct mw_inline_hook *h =
		hook_ok((void *)hk_add, (const void *)add_handler, (void **)&add_original);
	expect_refusal(MW_ERR_EXISTS, (void *)hk_add, (const void *)add_handler, "hooked twice");
	GT_ASSERT_EQ(hk_add(0), 101);
	GT_ASSERT_EQ(mw_hook_remove(h), MW_OK);
	GT_ASSERT_EQ(mw_hook_remove(NULL), MW_ERR_NOT_FOUND);
	/* A CPU without execute-only EPT cannot show one frame to fetches and
	 * another to reads. */
	bool xo = mw.ctl.execute_only_ept;
	mw.ctl.execute_only_ept = false;
	expect_refusal(MW_ERR_UNSUPPORTED, (void *)hk_add, (const void *)add_handler,
		       "no execute-only EPT");
	mw.ctl.execute_only_ept = xo;
	GT_ASSERT_EQ(split_pages_live(), 0);
	GT_ASSERT_EQ(hk_add(0), 100);
	vt_down();
}
