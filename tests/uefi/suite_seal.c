/* marrow's self-protection on UEFI (docs/uefi.md, "Self-protection"), run
 * as the loader marrowldr.efi starts: `marrowldr.efi key=K marrowtest.efi
 * key=K seal`. The test ends boot services itself, which makes marrow's
 * ExitBootServices notification seal it, and then probes marrow's pages:
 * every page of runtime-services memory is read before and after; a page
 * of marrow's must read as non-existent memory afterwards (all ones), and
 * writes there must not reach marrow (it keeps answering). Which pages are
 * marrow's the test learns from marrow's own bytes: the copy of the key
 * (known to the test) in marrow's resident image; the runner checks that
 * the pages that turned into all ones are exactly as many as marrowldr.efi
 * said it kept from the OS. Without the seal every check here fails. */
#include <efi.h>

#include "marrow/stats.h"
#include "uefi_test.h"

#define PAGE 4096ull
#define MAX_PROBES 16384
#define ONES (~0ull)

struct probe {
	uint64_t pa;
	uint64_t first, last; /* the page's first and last qword */
};

static struct probe probes[MAX_PROBES];
static unsigned probe_count;
static bool probes_overflowed;
/* Where the key was found in runtime memory before the seal. */
#define MAX_KEYS 16
static uint64_t key_at[MAX_KEYS];
static unsigned key_count;
static bool boot_services_ended;

static uint64_t peek(uint64_t pa)
{
	return *(volatile uint64_t *)(uintptr_t)pa;
}

static void poke(uint64_t pa, uint64_t v)
{
	*(volatile uint64_t *)(uintptr_t)pa = v;
}

static bool hidden_page(const struct probe *p)
{
	return peek(p->pa) == ONES && peek(p->pa + PAGE - 8) == ONES &&
	       !(p->first == ONES && p->last == ONES);
}

static void record(uint64_t base, uint64_t pages)
{
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t pa = base + i * PAGE;
		if (probe_count == MAX_PROBES) {
			probes_overflowed = true;
			return;
		}
		probes[probe_count++] = (struct probe){ pa, peek(pa), peek(pa + PAGE - 8) };
		for (uint64_t off = 0; off < PAGE; off += 8)
			if (peek(pa + off) == ut_key && key_count < MAX_KEYS)
				key_at[key_count++] = pa + off;
	}
}

static void answers(const char *when)
{
	struct mw_hc_result r = { 0 };
	int v = ut_vmcall(MW_HC_PING, ut_key, &r);
	if (v != -1 || r.status != MW_HC_OK || r.rdx != MW_HC_SIGNATURE)
		ut_fail(__FILE__, __LINE__, "PING %s: vector %d, status %llu", when, v,
			(unsigned long long)r.status);
}

static void marrow_answers_before_the_seal(void)
{
	answers("before the seal");
}

/* Every page of runtime-services memory (code and data: OVMF's and
 * marrow's) is recorded, then boot services end. */
static void exit_boot_services_seals_marrow(void)
{
	static uint8_t map[65536];
	uint64_t size = sizeof(map), ds = 0;

	UT_CHECK(ut_memory_map(map, &size, &ds));
	for (uint64_t off = 0; ds && off + ds <= size; off += ds) {
		const EFI_MEMORY_DESCRIPTOR *d = (const void *)(map + off);
		if (d->Type == EfiRuntimeServicesCode || d->Type == EfiRuntimeServicesData)
			record(d->PhysicalStart, d->NumberOfPages);
	}
	UT_CHECK(!probes_overflowed);
	UT_CHECK(key_count > 0);
	ut_note("%u pages of runtime-services memory, the key at %u places", probe_count,
		key_count);
	boot_services_ended = ut_exit_boot_services();
	UT_CHECK(boot_services_ended);
}

/* marrow's pages now read as a physical address with nothing behind it;
 * every other runtime page as before. */
static void marrow_reads_as_nonexistent_memory(void)
{
	unsigned hidden = 0, changed_otherwise = 0;

	UT_CHECK(boot_services_ended);
	for (unsigned i = 0; i < probe_count; i++) {
		const struct probe *p = &probes[i];
		if (hidden_page(p))
			hidden++;
		else if (peek(p->pa) != p->first)
			changed_otherwise++;
	}
	for (unsigned i = 0; i < key_count; i++)
		UT_CHECK_EQ(peek(key_at[i]), ONES);
	UT_CHECK(hidden > 0);
	ut_note("%u runtime pages changed otherwise", changed_otherwise);
	/* The runner compares this with marrowldr.efi's "KiB ... kept". */
	ut_note("sealed: %u pages (%u KiB) read as non-existent memory", hidden, hidden * 4);
}

/* Writes to every page that reads as marrow's, at its first and last
 * qword (where marrow keeps, e.g., a vCPU's self pointer, a VMCS's
 * revision ID, the resident image's header): nothing changes, and marrow
 * still answers afterwards on this CPU. */
static void writes_do_not_reach_marrow(void)
{
	unsigned written = 0;

	UT_CHECK(boot_services_ended);
	for (unsigned i = 0; i < probe_count; i++) {
		const struct probe *p = &probes[i];
		if (!hidden_page(p))
			continue;
		poke(p->pa, 0);
		poke(p->pa + PAGE - 8, 0);
		written++;
		UT_CHECK_EQ(peek(p->pa), ONES);
	}
	for (unsigned i = 0; i < key_count; i++) {
		poke(key_at[i], ut_key ^ 1);
		UT_CHECK_EQ(peek(key_at[i]), ONES);
	}
	UT_CHECK(written > 0);
	answers("after the writes");
	/* The key marrow checks is its own, unchanged: a wrong one is still
	 * refused. */
	struct mw_hc_result r = { 0 };
	UT_CHECK_EQ(ut_vmcall(MW_HC_PING, ut_key ^ 1, &r), 6);
}

/* After the seal only PING, INFO and STATS are served: whatever could
 * show or change marrow (its log, leaving VMX operation, its controls)
 * raises #UD as on a CPU without marrow. */
static void only_harmless_hypercalls_after_the_seal(void)
{
	struct mw_hc_result r = { 0 };
	static struct mw_cpu_stats s;

	UT_CHECK(boot_services_ended);
	UT_CHECK_EQ(ut_vmcall(MW_HC_DEVIRTUALIZE_ALL, ut_key, &r), 6);
	UT_CHECK_EQ(ut_vmcall(MW_HC_DEVIRTUALIZE_CPU, ut_key, &r), 6);
	UT_CHECK_EQ(ut_vmcall(MW_HC_READ_LOG, ut_key, &r), 6);
	UT_CHECK_EQ(ut_vmcall(MW_HC_PROBE_MTF, ut_key, &r), 6);
	UT_CHECK_EQ(ut_vmcall(MW_HC_READ_MSR, ut_key, &r), 6);
	/* The seal itself, again. */
	UT_CHECK_EQ(ut_vmcall(0x80000002u, ut_key, &r), 6);
	UT_CHECK_EQ(ut_vmcall(MW_HC_INFO, ut_key, &r), -1);
	UT_CHECK_EQ(r.status, MW_HC_OK);
	UT_CHECK_EQ(r.rdx, ut_cpu_count());
	uint64_t rax = MW_HC_STATS, rdx = (uint64_t)(uintptr_t)&s;
	register uint64_t r8 __asm__("r8") = sizeof(s);
	register uint64_t r9 __asm__("r9") = MW_HC_THIS_CPU;
	__asm__ volatile("vmcall"
			 : "+a"(rax), "+d"(rdx), "+r"(r8), "+r"(r9)
			 : "c"(ut_key)
			 : "memory");
	UT_CHECK_EQ(rax, MW_HC_OK);
	UT_CHECK(s.hypercalls_refused >= 6);
	UT_CHECK(s.ept_violations > 0);
	ut_note("this CPU: %llu EPT violations, %llu hypercalls refused",
		(unsigned long long)s.ept_violations, (unsigned long long)s.hypercalls_refused);
	answers("at the end");
}

const struct ut_test ut_seal_tests[] = {
	{ "uefi/seal/marrow_answers_before_the_seal", marrow_answers_before_the_seal },
	{ "uefi/seal/exit_boot_services_seals_marrow", exit_boot_services_seals_marrow },
	{ "uefi/seal/marrow_reads_as_nonexistent_memory", marrow_reads_as_nonexistent_memory },
	{ "uefi/seal/writes_do_not_reach_marrow", writes_do_not_reach_marrow },
	{ "uefi/seal/only_harmless_hypercalls_after_the_seal",
	  only_harmless_hypercalls_after_the_seal },
};
const unsigned ut_seal_test_count = sizeof(ut_seal_tests) / sizeof(ut_seal_tests[0]);
