#include "bench.h"

#include "bench_hook.h"

#include "arch/x86/intrin.h"
#include "core/marrow.h"
#include "core/vcpu_launch.h"
#include "marrow/hypercall.h"
#include "platform/platform.h"
#include "src/platform/baremetal/console.h"
#include "src/platform/baremetal/marrow_bm.h"
#include "src/platform/baremetal/platform_bm.h"

#define ITERATIONS 10000
#define BENCH_KEY 0x62656e63686b6579ull

/* Each loop body is one instruction between the same others (two setup
 * instructions, dec, jnz), so the loop with NOP in its place is the exact
 * baseline. R10 carries the count (hypercalls preserve it); R8 is
 * clobbered because MW_HC_PING returns a result in it. */
#define BENCH_LOOP(name, setup, insn)                                                 \
	static uint64_t name(uint64_t n)                                              \
	{                                                                             \
		register uint64_t r10 __asm__("r10") = n;                             \
		uint64_t t0 = rdtsc();                                                \
		__asm__ volatile("1:\n\t" setup "\n\t" insn "\n\tdec %%r10\n\tjnz 1b" \
				 : "+r"(r10)                                          \
				 :                                                    \
				 : "rax", "rbx", "rcx", "rdx", "r8", "memory");       \
		return rdtsc() - t0;                                                  \
	}

BENCH_LOOP(loop_cpuid, "xor %%eax, %%eax\n\txor %%ecx, %%ecx", "cpuid")
BENCH_LOOP(loop_cpuid_base, "xor %%eax, %%eax\n\txor %%ecx, %%ecx", "nop")
BENCH_LOOP(loop_vmcall, "mov $1, %%eax\n\tmovabs $0x62656e63686b6579, %%rcx", "vmcall")
BENCH_LOOP(loop_vmcall_base, "mov $1, %%eax\n\tmovabs $0x62656e63686b6579, %%rcx", "nop")
BENCH_LOOP(loop_rdmsr, "mov $0x3a, %%ecx\n\txor %%eax, %%eax", "rdmsr")
BENCH_LOOP(loop_rdmsr_base, "mov $0x3a, %%ecx\n\txor %%eax, %%eax", "nop")
BENCH_LOOP(loop_invd, "xor %%eax, %%eax\n\txor %%ecx, %%ecx", "invd")
BENCH_LOOP(loop_invd_base, "xor %%eax, %%eax\n\txor %%ecx, %%ecx", "nop")
/* No exit at all: ordinary instructions must cost exactly what they do
 * natively. */
BENCH_LOOP(loop_plain, "xor %%eax, %%eax\n\tadd $3, %%rbx", "imul %%rbx, %%rax")

static void report(const char *name, uint64_t value, const char *unit)
{
	kprintf("BENCH %s %llu %s\n", name, (unsigned long long)value, unit);
}

/* Emulated instructions one exit costs: the loop under marrow minus the
 * same loop with NOP instead of the exiting instruction, per iteration. */
static void round_trip(const char *name, uint64_t (*loop)(uint64_t), uint64_t (*base)(uint64_t))
{
	uint64_t b = base(ITERATIONS), t = loop(ITERATIONS);
	report(name, (t - b + ITERATIONS / 2) / ITERATIONS, "instructions/exit");
}

void bench_run(void)
{
	struct mw_config cfg;
	struct mw_error err;

	cpu_cli();
	uint64_t plain_native = loop_plain(ITERATIONS);
	uint64_t free_before = bm_free_page_count();
	bm_marrow_config(&cfg);
	cfg.hypercall_key = BENCH_KEY;
	if (mw_virtualize_all(&cfg, &err) != MW_OK) {
		char msg[160];
		mw_error_format(&err, msg, sizeof(msg));
		kprintf("BENCH-ERROR %s\n", msg);
		return;
	}
	round_trip("cpuid_round_trip", loop_cpuid, loop_cpuid_base);
	round_trip("vmcall_ping_round_trip", loop_vmcall, loop_vmcall_base);
	round_trip("rdmsr_trapped_round_trip", loop_rdmsr, loop_rdmsr_base);
	round_trip("invd_round_trip", loop_invd, loop_invd_base);
	uint64_t plain_marrow = loop_plain(ITERATIONS);
	vcpu_fill_ept_stats(mw.vcpus[0]);
	const struct mw_cpu_stats *s = &mw.vcpus[0]->stats;
	report("ept_pages_per_cpu",
	       s->ept_tables[1] + s->ept_tables[2] + s->ept_tables[3] + s->ept_tables[4], "pages");
	report("ept_shared_pages", mw.ept_shared_pages, "pages");
	report("memory_per_cpu", (free_before - bm_free_page_count()) * 4 / platform_cpu_count(),
	       "KiB");
	bench_hooks(); /* after the memory count: hooks keep a code page */
	mw_devirtualize_all();
	/* Parts per million over native: 1000000 is exactly native speed. */
	report("no_exit_loop_ratio_ppm", plain_marrow * 1000000 / plain_native, "ppm");
}
