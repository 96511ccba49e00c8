/* What an EPT split inline hook costs: a call through the hook (the stub,
 * the handler, the trampoline; no VM exit at all) and a read of the hooked
 * page (two exits: the EPT violation and the end of the one-instruction
 * step). */
#include "bench_hook.h"

#include "arch/x86/intrin.h"
#include "core/marrow.h"
#include "hook/inline_hook.h"
#include "src/platform/baremetal/console.h"

#define CALLS 2000
#define READS 200

uint64_t bench_hook_target(uint64_t x);
/* push rbp; mov rbp, rsp; lea rax, [rdi + 1]; pop rbp; ret: a prologue the
 * trampoline copies whole (8 bytes). Alone in its page. */
__asm__(".pushsection .text.bench_hook, \"ax\", @progbits\n"
	".balign 4096\n"
	".globl bench_hook_target\n"
	"bench_hook_target:\n\t"
	"push %rbp\n\t"
	"mov %rsp, %rbp\n\t"
	"lea 1(%rdi), %rax\n\t"
	"pop %rbp\n\t"
	"ret\n"
	".popsection\n");

static uint64_t (*original)(uint64_t);

static uint64_t handler(uint64_t x)
{
	return original(x);
}

/* The function pointer is opaque to the compiler, so each call is made. */
static uint64_t (*volatile call_target)(uint64_t) = bench_hook_target;

static uint64_t calls(void)
{
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < CALLS; i++)
		call_target(i);
	return rdtsc() - t0;
}

static uint64_t reads(void)
{
	const volatile uint8_t *p = (const volatile uint8_t *)(const void *)bench_hook_target;
	uint64_t t0 = rdtsc();
	for (unsigned i = 0; i < READS; i++)
		(void)p[i % 8];
	return rdtsc() - t0;
}

/* Read through a volatile pointer: root mode changes it behind the
 * compiler's back, during the reads and calls measured. */
static uint64_t exits_now(void)
{
	return *(volatile const uint64_t *)&mw.vcpus[0]->stats.exits_total;
}

static void report(const char *name, uint64_t value, const char *unit)
{
	kprintf("BENCH %s %llu %s\n", name, (unsigned long long)value, unit);
}

void bench_hooks(void)
{
	struct mw_inline_hook *h;
	struct mw_error err;

	uint64_t call_plain = calls(), read_plain = reads();
	if (mw_hook_install((void *)bench_hook_target, (const void *)handler, (void **)&original,
			    &h, &err) != MW_OK) {
		char msg[256];
		mw_error_format(&err, msg, sizeof(msg));
		kprintf("BENCH-ERROR hook: %s\n", msg);
		return;
	}
	uint64_t e0 = exits_now();
	uint64_t call_hooked = calls();
	uint64_t call_exits = exits_now() - e0;
	e0 = exits_now();
	uint64_t read_hooked = reads();
	uint64_t read_exits = exits_now() - e0;
	mw_hook_remove(h);
	report("hooked_call_extra", (call_hooked - call_plain + CALLS / 2) / CALLS,
	       "instructions/call");
	report("hooked_call_exits", call_exits, "exits/2000 calls");
	report("hooked_page_read", (read_hooked - read_plain + READS / 2) / READS,
	       "instructions/read");
	report("hooked_page_read_exits", (read_exits + READS / 2) / READS, "exits/read");
}
