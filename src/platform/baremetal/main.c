/* The bare-metal kernel: brings every CPU up, then runs the guest test
 * suites named on the command line (tests=...), or the demo. */
#include "acpi.h"
#include "arch/x86/intrin.h"
#include "bench/guest/bench.h"
#include "cmdline.h"
#include "console.h"
#include "core/fmt.h"
#include "demo.h"
#include "fwstate.h"
#include "lapic.h"
#include "loader.h"
#include "mb1.h"
#include "mb2.h"
#include "mb_info.h"
#include "paging.h"
#include "percpu.h"
#include "platform_bm.h"
#include "run.h"
#include "serial.h"
#include "smp.h"
#include "tests/guest/runner.h"
#include "trap.h"

extern char boot_stack_top[];

static const void *acpi_map_identity(uint64_t pa, size_t len, void *ctx)
{
	(void)ctx;
	if (pa >= PAGING_IDENTITY_LIMIT || len > PAGING_IDENTITY_LIMIT - pa || pa < 4096)
		return NULL;
	return (const void *)(uintptr_t)pa;
}

static const void *acpi_map_low(uint64_t pa, size_t len, void *ctx)
{
	/* Only while the boot identity map (which maps page 0) is live. */
	(void)ctx;
	return pa < PAGING_IDENTITY_LIMIT && len <= PAGING_IDENTITY_LIMIT - pa
		       ? (const void *)(uintptr_t)pa
		       : NULL;
}

/* The CPUs the firmware lists; just the boot CPU when it lists none. */
static void find_cpus(const struct mb2_info *mbi, struct acpi_cpus *cpus)
{
	enum acpi_status s =
		acpi_find_cpus(mbi->rsdp, mbi->rsdp_len, acpi_map_identity, NULL, cpus);
	if (s != ACPI_OK) {
		kprintf("marrow: ACPI: %s; running on the boot CPU only\n", acpi_status_str(s));
		cpus->count = 0;
		return;
	}
	if (cpus->truncated)
		kprintf("marrow: ACPI lists more than %u CPUs\n", ACPI_MAX_CPUS);
}

/* The boot information, from a multiboot2 loader or (the multiboot build
 * of this kernel, docs/boot.md) a multiboot one, whose information has no
 * RSDP: it is looked for where the BIOS leaves it. [*lo, *hi) is what the
 * information occupies. */
static void parse_boot_info(uint32_t magic, uint32_t info_pa, struct mb2_info *mbi, uint64_t *lo,
			    uint64_t *hi)
{
	enum mb2_status ms;

	if (magic == MB2_BOOTLOADER_MAGIC) {
		const void *info = (const void *)(uintptr_t)info_pa;
		ms = mb2_parse(info, *(const uint32_t *)info, mbi);
		*lo = info_pa;
		*hi = (uint64_t)info_pa + mbi->total_size;
	} else if (magic == MB1_BOOTLOADER_MAGIC) {
		ms = mb1_parse(info_pa, acpi_map_low, NULL, mbi, lo, hi);
		if (ms == MB2_OK)
			mbi->rsdp = acpi_scan_rsdp(acpi_map_low, NULL, &mbi->rsdp_len,
						   &mbi->rsdp_revision);
	} else {
		panic("not booted by a multiboot or multiboot2 loader (magic %x)", magic);
	}
	if (ms != MB2_OK)
		panic("boot information: %s", mb2_status_str(ms));
}

static void print_memory_map(const struct mb2_info *mbi)
{
	static const char *const names[] = { "?", "RAM", "reserved", "ACPI", "NVS", "bad" };

	for (size_t i = 0; i < mbi->region_count; i++) {
		const struct mb2_region *r = &mbi->regions[i];
		kprintf("marrow: memory %016llx-%016llx %s\n", (unsigned long long)r->base,
			(unsigned long long)(r->base + r->length - 1),
			r->type < 6 ? names[r->type] : "other");
	}
}

/* Prints a buffer as hex lines "TAG: OFFSET: BYTES", for recording boot
 * information as unit-test fixtures. */
static void dump_hex(const char *tag, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	for (size_t off = 0; off < len; off += 32) {
		char line[80];
		size_t n = len - off;
		if (n > 32)
			n = 32;
		for (size_t i = 0; i < n; i++)
			mw_snprintf(line + 2 * i, 3, "%02x", p[off + i]);
		kprintf("%s: %04zx: %s\n", tag, off, line);
	}
}

/* The BIOS leaves the 8259 PICs routing the timer (IRQ 0) to vector 8, the
 * #DF vector: masked, they deliver nothing; the kernel uses the local APICs
 * only. */
static void pic_disable(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

void bm_main(uint32_t magic, uint32_t mbi_pa);
void bm_main(uint32_t magic, uint32_t mbi_pa)
{
	static struct mb2_info mbi;
	static struct acpi_cpus cpus;
	struct bm_cpu *bsp = &bm_cpus[0];
	struct mw_phys_range arena;
	uint64_t info_lo, info_hi;

	bsp->index = 0;
	percpu_install(bsp);
	serial_init();
	kputs("\nmarrow: bare-metal kernel\n");
	fwstate_save();
	parse_boot_info(magic, mbi_pa, &mbi, &info_lo, &info_hi);

	print_memory_map(&mbi);
	if (cmdline_has(mbi.cmdline, "dump_mbi") && magic == MB2_BOOTLOADER_MAGIC)
		dump_hex("mbi", (const void *)(uintptr_t)mbi_pa, mbi.total_size);
	pic_disable();
	find_cpus(&mbi, &cpus);
	bool loader = cmdline_has(mbi.cmdline, "load");
	if (loader) {
		char why[128];
		if (!loader_arena(&mbi, info_lo, info_hi, cpus.count ? (unsigned)cpus.count : 1,
				  &arena, why, sizeof(why)))
			panic("load: %s", why);
	}
	bm_memory_init(&mbi, info_lo, info_hi, loader ? &arena : NULL);
	paging_init();
	bsp->stack_top = (uint64_t)(uintptr_t)boot_stack_top;
	idt_init();
	smp_init_calls();
	cpu_setup(bsp);
	__atomic_store_n(&bsp->online, true, __ATOMIC_RELEASE);
	if (cpus.count)
		smp_start_aps(cpus.apic_ids, cpus.count);

	kprintf("marrow: %u of %u CPUs up, %llu KiB free memory\n", bm_cpu_count, bm_cpus_expected,
		(unsigned long long)(bm_free_page_count() * 4));

	if (loader)
		loader_run(&mbi, &arena);
	char selection[256];
	bool too_long;
	if (cmdline_get(mbi.cmdline, "tests", selection, sizeof(selection), &too_long)) {
		guest_run(selection);
		run_end(RUN_COMPLETE, NULL);
	}
	if (too_long)
		panic("the tests= argument is longer than %zu characters", sizeof(selection) - 1);
	if (cmdline_get(mbi.cmdline, "bench", selection, sizeof(selection), &too_long)) {
		bench_run();
		run_end(RUN_COMPLETE, NULL);
	}
	demo_run();
	run_end(RUN_COMPLETE, NULL);
}
