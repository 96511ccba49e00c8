/* The boot-time loader's second half: virtualize every CPU, write the plan
 * into guest memory, park the APs and start the guest (docs/boot.md). */
#include "arch/x86/intrin.h"
#include "cmdline.h"
#include "console.h"
#include "core/boot_guest.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "fwstate.h"
#include "loader.h"
#include "loader_plan.h"
#include "marrow_bm.h"
#include "percpu.h"
#include "pit.h"
#include "platform_bm.h"
#include "run.h"
#include "serial.h"
#include "smp.h"

#define PARK_TIMEOUT_MS 1000

static struct loader_plan plan;
static struct mw_error park_errors[BM_MAX_CPUS];
static volatile uint32_t park_failures;

__attribute__((noreturn)) static void refuse(const char *what, const char *why)
{
	kprintf("marrow: load: %s: %s\n", what, why);
	run_end(RUN_FAILED, "the boot-time guest was not started");
}

__attribute__((noreturn)) static void refuse_err(const char *what, const struct mw_error *e)
{
	char text[256];
	mw_error_format(e, text, sizeof(text));
	refuse(what, text);
}

static void print_plan(const struct loader_plan *p, bool emulate_init)
{
	kprintf("marrow: load: %s kernel, %zu bytes, command line \"%s\", %zu module(s)\n",
		guest_kind_name(p->img.kind), p->kernel_len, p->cmdline, p->module_count);
	for (size_t i = 0; i < p->img.seg_count; i++) {
		const struct load_seg *s = &p->img.segs[i];
		kprintf("marrow: load: %llx-%llx (%llu bytes from the file)\n",
			(unsigned long long)s->dest, (unsigned long long)(s->dest + s->mem_size),
			(unsigned long long)s->file_size);
	}
	kprintf("marrow: load: entry %x; INIT IPIs %s\n", p->entry.state.eip,
		emulate_init ? "emulated" : "delivered (init=native)");
	for (unsigned i = 0; i < p->boot.hidden_count; i++)
		kprintf("marrow: reserved %016llx-%016llx (marrow)\n",
			(unsigned long long)p->boot.hidden[i].base,
			(unsigned long long)(p->boot.hidden[i].end - 1));
}

/* Guest memory gets the kernel's segments and the boot information. The
 * plan made sure nothing written here is still to be read. */
static void write_guest(const struct loader_plan *p)
{
	const uint8_t *file = p->kernel;

	if (p->stage) {
		uint8_t *copy = (uint8_t *)(uintptr_t)p->stage_pa;
		memmove(copy, file, p->kernel_len);
		file = copy;
	}
	for (size_t i = 0; i < p->img.seg_count; i++) {
		const struct load_seg *s = &p->img.segs[i];
		uint8_t *dest = (uint8_t *)(uintptr_t)s->dest;
		memmove(dest, file + s->file_off, s->file_size);
		memset(dest + s->file_size, 0, s->mem_size - s->file_size);
	}
	memmove((void *)(uintptr_t)LOADER_INFO_BASE, p->info, LOADER_INFO_SIZE);
}

/* On each AP (smp_start_async): its guest becomes a CPU waiting for a
 * SIPI. The call returns only when that failed. */
static void park_ap(void *arg)
{
	(void)arg;
	cpu_cli();
	unsigned i = this_cpu()->index;
	mw_boot_park_this_cpu(&park_errors[i]);
	__atomic_fetch_add(&park_failures, 1, __ATOMIC_RELEASE);
}

static void park_aps(void)
{
	unsigned aps = bm_cpu_count - 1;

	if (aps && !smp_start_async(park_ap, NULL))
		refuse("parking the APs", "another job is running on them");
	for (unsigned ms = 0; ms < PARK_TIMEOUT_MS; ms++) {
		if (__atomic_load_n(&park_failures, __ATOMIC_ACQUIRE)) {
			for (unsigned i = 1; i < bm_cpu_count; i++)
				if (park_errors[i].status != MW_OK)
					refuse_err("parking the APs", &park_errors[i]);
		}
		if (mw_boot_parked_cpus() == aps)
			return;
		pit_delay_us(1000);
	}
	refuse("parking the APs", "not every AP parked within a second");
}

void loader_run(const struct mb2_info *mbi, const struct mw_phys_range *arena)
{
	static struct mw_config cfg;
	struct mw_error err;

	if (!loader_plan(&plan, mbi, arena))
		refuse("the guest kernel", plan.err.text);
	bool emulate_init = !cmdline_has(mbi->cmdline, "init=native");
	print_plan(&plan, emulate_init);

	bm_marrow_config(&cfg);
	cfg.boot = &plan.boot;
	/* Right on hardware either way; on Bochs 2.7 an AP that takes a real
	 * INIT never runs again (boot_apic.h). */
	cfg.emulate_init = emulate_init;
	if (mw_virtualize_all(&cfg, &err) != MW_OK)
		refuse_err("virtualizing", &err);
	if (mw_boot_check(&err) != MW_OK)
		refuse_err("virtualizing", &err);
	mw_drain_logs();
	kprintf("marrow: %u CPUs virtualized; marrow uses %llu KiB of its %llu KiB\n",
		mw_virtualized_count(),
		(unsigned long long)((bm_total_page_count() - bm_free_page_count()) * 4),
		(unsigned long long)((arena->end - arena->base) >> 10));

	write_guest(&plan);
	park_aps();
	kprintf("marrow: %u AP(s) wait for SIPI; starting the guest\n", mw_boot_parked_cpus());
	serial_drain();
	cpu_cli();
	fwstate_restore();
	mw_boot_start(&plan.entry, &err);
	refuse_err("starting the guest", &err);
}
