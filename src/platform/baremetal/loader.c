/* The boot-time loader's plan: everything is read, checked and placed
 * before a byte of guest memory is written (loader_start.c writes it). */
#include "loader.h"

#include "boot_layout.h"
#include "bootmap.h"
#include "bzimage.h"
#include "console.h"
#include "core/fmt.h"
#include "core/mw_string.h"
#include "guest_image.h"
#include "loader_plan.h"
#include "mb_info.h"

#define MiB (1ull << 20)
#define FOUR_GIB (1ull << 32)
#define PAGE 4096ull
/* marrow's allocations: the shared EPT tables above 512 GiB (at most 512
 * pages) and the tables every CPU needs, then, per CPU, the kernel's stacks
 * and marrow's VMX regions, host stack, log and EPT (about 60 pages,
 * measured: docs/boot.md). */
#define ARENA_BASE_BYTES (3 * MiB)
#define ARENA_PER_CPU_BYTES (256 * 1024)
#define GDT_OFFSET 0x0 /* in the boot information area */
#define MB_INFO_OFFSET 0x100
#define ZERO_PAGE_OFFSET 0x1000
#define CMDLINE_OFFSET 0x2000

extern char __kernel_start[], __kernel_end[];

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

bool loader_arena(const struct mb2_info *mbi, uint64_t info_lo, uint64_t info_hi,
		  unsigned cpu_count, struct mw_phys_range *arena, char *why, size_t why_len)
{
	struct mw_phys_range busy[2 + MB2_MAX_MODULES];
	size_t n = 0;
	uint64_t size =
		align_up(ARENA_BASE_BYTES + (uint64_t)cpu_count * ARENA_PER_CPU_BYTES, 2 * MiB);

	busy[n++] = (struct mw_phys_range){ (uint64_t)(uintptr_t)__kernel_start,
					    (uint64_t)(uintptr_t)__kernel_end };
	busy[n++] = (struct mw_phys_range){ info_lo, info_hi };
	uint64_t min = (uint64_t)(uintptr_t)__kernel_end;
	for (size_t i = 0; i < mbi->module_count; i++) {
		busy[n++] = (struct mw_phys_range){ mbi->modules[i].start, mbi->modules[i].end };
		if (mbi->modules[i].end > min)
			min = mbi->modules[i].end;
	}
	if (info_hi > min)
		min = info_hi;
	if (bootmap_place(mbi->regions, mbi->region_count, busy, n, min, size, 2 * MiB, FOUR_GIB,
			  &arena->base)) {
		arena->end = arena->base + size;
		return true;
	}
	mw_snprintf(why, why_len, "no %llu MiB of RAM below 4 GiB above the kernel and its modules",
		    (unsigned long long)(size / MiB));
	return false;
}

/* ---- the plan ---- */

static bool hide(struct loader_plan *p, const struct mw_phys_range *arena)
{
	p->boot.hidden[0] = (struct mw_phys_range){
		(uint64_t)(uintptr_t)__kernel_start & ~(PAGE - 1),
		align_up((uint64_t)(uintptr_t)__kernel_end, PAGE),
	};
	p->boot.hidden[1] = *arena;
	p->boot.hidden_count = 2;
	int n = bootmap_build(p->fw_map, p->fw_count, p->boot.hidden, p->boot.hidden_count, p->map,
			      LOADER_MAP_MAX);
	if (n < 0)
		return load_fail(&p->err, "the guest's memory map needs more than %u entries",
				 LOADER_MAP_MAX);
	p->map_count = (size_t)n;
	return true;
}

/* The ranges the guest's own data occupies until it has read them: the
 * boot information area and the modules it is given. */
static size_t guest_busy(const struct loader_plan *p, struct mw_phys_range *busy)
{
	size_t n = 0;
	busy[n++] = (struct mw_phys_range){ LOADER_INFO_BASE, LOADER_INFO_BASE + LOADER_INFO_SIZE };
	for (size_t i = 0; i < p->module_count; i++)
		busy[n++] = (struct mw_phys_range){ p->modules[i].start, p->modules[i].end };
	return n;
}

static bool check_segments(struct loader_plan *p)
{
	struct mw_phys_range busy[1 + MB2_MAX_MODULES];
	size_t nbusy = guest_busy(p, busy);

	for (size_t s = 0; s < p->img.seg_count; s++) {
		const struct load_seg *g = &p->img.segs[s];
		uint64_t end = g->dest + g->mem_size;
		if (!bootmap_available(p->map, p->map_count, g->dest, end))
			return load_fail(&p->err,
					 "the kernel loads at %llx-%llx, which is not "
					 "the guest's RAM (marrow's own memory, or a hole)",
					 (unsigned long long)g->dest, (unsigned long long)end);
		for (size_t b = 0; b < nbusy; b++)
			if (ranges_overlap(g->dest, end, busy[b].base, busy[b].end))
				return load_fail(&p->err,
						 "the kernel loads at %llx-%llx, over %s "
						 "at %llx-%llx",
						 (unsigned long long)g->dest,
						 (unsigned long long)end,
						 b == 0 ? "the boot information" : "a module",
						 (unsigned long long)busy[b].base,
						 (unsigned long long)busy[b].end);
		if (ranges_overlap(g->dest, end, p->kernel_pa, p->kernel_pa + p->kernel_len))
			p->stage = true;
	}
	return true;
}

/* A segment that lands on the kernel's own file: the file is copied
 * somewhere out of every segment's way first. */
static bool place_staging(struct loader_plan *p)
{
	struct mw_phys_range busy[1 + MB2_MAX_MODULES + GUEST_MAX_SEGS];
	size_t n = guest_busy(p, busy);

	for (size_t s = 0; s < p->img.seg_count; s++)
		busy[n++] = (struct mw_phys_range){ p->img.segs[s].dest,
						    p->img.segs[s].dest + p->img.segs[s].mem_size };
	busy[n++] = (struct mw_phys_range){ p->kernel_pa, p->kernel_pa + p->kernel_len };
	if (!bootmap_place(p->map, p->map_count, busy, n, MiB, p->kernel_len, PAGE, FOUR_GIB,
			   &p->stage_pa))
		return load_fail(&p->err, "the kernel loads over its own file, and there is no "
					  "room to copy the file out of its way");
	return true;
}

static bool check_modules(struct loader_plan *p)
{
	if (!bootmap_available(p->map, p->map_count, LOADER_INFO_BASE,
			       LOADER_INFO_BASE + LOADER_INFO_SIZE))
		return load_fail(&p->err, "the boot information area %llx-%llx is not RAM",
				 LOADER_INFO_BASE, LOADER_INFO_BASE + LOADER_INFO_SIZE);
	for (size_t i = 0; i < p->module_count; i++) {
		const struct mb_module *m = &p->modules[i];
		if (!bootmap_available(p->map, p->map_count, m->start, m->end))
			return load_fail(&p->err,
					 "module %zu at %llx-%llx is not in the guest's RAM", i + 2,
					 (unsigned long long)m->start, (unsigned long long)m->end);
		if (ranges_overlap(m->start, m->end, LOADER_INFO_BASE,
				   LOADER_INFO_BASE + LOADER_INFO_SIZE))
			return load_fail(&p->err, "module %zu lies in the boot information area",
					 i + 2);
		if (p->img.page_align_modules && (m->start & (PAGE - 1)))
			return load_fail(&p->err,
					 "the kernel asks for page-aligned modules and "
					 "module %zu starts at %llx",
					 i + 2, (unsigned long long)m->start);
	}
	return true;
}

/* The GDT of the 32-bit entry: null, null, then the flat code (10H) and
 * data (18H) descriptors the Linux boot protocol names; multiboot kernels
 * get the same. */
static void put_gdt(struct loader_plan *p)
{
	static const uint64_t gdt[4] = { 0, 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull };

	memcpy(p->info + GDT_OFFSET, gdt, sizeof(gdt));
	p->entry.state = (struct guest_entry32){ .gdt_base = LOADER_INFO_BASE + GDT_OFFSET,
						 .gdt_limit = sizeof(gdt) - 1,
						 .cs = LINUX_BOOT_CS,
						 .ds = LINUX_BOOT_DS };
}

static bool plan_multiboot(struct loader_plan *p, const struct mb2_info *mbi)
{
	struct mb_info_input in = {
		.cmdline = p->cmdline,
		.bootloader = "marrow",
		.modules = p->modules,
		.module_count = p->module_count,
		.map = p->map,
		.map_count = p->map_count,
		.rsdp = mbi->rsdp,
		.rsdp_len = mbi->rsdp_len,
		.rsdp_revision = mbi->rsdp_revision,
	};
	bool mb2 = p->img.kind == GUEST_MULTIBOOT2;
	uint8_t *at = p->info + MB_INFO_OFFSET;
	size_t room = LOADER_INFO_SIZE - MB_INFO_OFFSET;
	uint64_t pa = LOADER_INFO_BASE + MB_INFO_OFFSET;

	if (mb2 && (p->img.mb2_required & (1u << MB2_INFO_ACPI_NEW | 1u << MB2_INFO_ACPI_OLD)) &&
	    !mbi->rsdp)
		return load_fail(&p->err, "the kernel requires the ACPI RSDP, which the firmware "
					  "did not give");
	size_t used = mb2 ? mb2_info_build(&in, at, room, pa) : mb1_info_build(&in, at, room, pa);
	if (!used)
		return load_fail(&p->err, "the boot information does not fit %llu KiB",
				 (unsigned long long)(room >> 10));
	p->entry.state.eip = p->img.entry;
	p->entry.eax = mb2 ? MB2_BOOTLOADER_MAGIC : MB1_BOOTLOADER_MAGIC;
	p->entry.ebx = (uint32_t)pa;
	return true;
}

static bool plan_linux(struct loader_plan *p, const struct mb2_info *mbi)
{
	struct mw_phys_range busy[1 + MB2_MAX_MODULES + 1];
	size_t n = guest_busy(p, busy);
	struct guest_image *g = &p->img;
	size_t cmdlen = strlen(p->cmdline);

	if (p->module_count > 1)
		return load_fail(&p->err,
				 "a Linux kernel takes one initrd module, %zu were given "
				 "(concatenate the archives into one)",
				 p->module_count);
	if (p->module_count && p->modules[0].end > (uint64_t)g->linux_initrd_max + 1)
		return load_fail(&p->err, "the initrd ends at %llx, above initrd_addr_max %x",
				 (unsigned long long)p->modules[0].end, g->linux_initrd_max);
	if (cmdlen > g->linux_cmdline_size || cmdlen >= LOADER_INFO_SIZE - CMDLINE_OFFSET)
		return load_fail(&p->err,
				 "the command line has %zu characters, the kernel takes "
				 "at most %u",
				 cmdlen, g->linux_cmdline_size);
	/* Relocatable kernels go to the lowest free aligned address from
	 * 16 MiB (the decompressor's default output, LOAD_PHYSICAL_ADDR, so
	 * it decompresses where it was put); the others to 1 MiB. */
	busy[n++] = (struct mw_phys_range){ p->kernel_pa, p->kernel_pa + p->kernel_len };
	uint64_t min = g->linux_relocatable ? 16 * MiB : MiB;
	uint64_t align = g->linux_relocatable ? g->linux_alignment : PAGE;
	if (!bootmap_place(p->map, p->map_count, busy, n, min, g->segs[0].mem_size, align, FOUR_GIB,
			   &g->segs[0].dest) ||
	    (!g->linux_relocatable && g->segs[0].dest != MiB))
		return load_fail(&p->err,
				 "no room for the kernel's %llu MiB (init_size) in the "
				 "guest's RAM below 4 GiB",
				 (unsigned long long)(g->segs[0].mem_size / MiB));
	memcpy(p->info + CMDLINE_OFFSET, p->cmdline, cmdlen + 1);
	struct linux_boot b = {
		.kernel_addr = (uint32_t)g->segs[0].dest,
		.cmdline_addr = LOADER_INFO_BASE + CMDLINE_OFFSET,
		.initrd_addr = p->module_count ? p->modules[0].start : 0,
		.initrd_size = p->module_count ? p->modules[0].end - p->modules[0].start : 0,
		.rsdp_addr = 0,
		.map = p->map,
		.map_count = p->map_count,
	};
	(void)mbi;
	if (!bzimage_boot_params(p->kernel, p->kernel_len, g, &b, p->info + ZERO_PAGE_OFFSET,
				 &p->err))
		return false;
	p->entry.state.eip = b.kernel_addr;
	p->entry.esi = LOADER_INFO_BASE + ZERO_PAGE_OFFSET;
	return true;
}

bool loader_plan(struct loader_plan *p, const struct mb2_info *mbi,
		 const struct mw_phys_range *arena)
{
	memset(p, 0, sizeof(*p));
	if (mbi->module_count == 0)
		return load_fail(&p->err, "no guest kernel: give it as the first module "
					  "(module2 /path/to/kernel its command line)");
	const struct mb2_module *k = &mbi->modules[0];
	if (k->end <= k->start)
		return load_fail(&p->err, "the guest kernel module is empty");
	p->kernel_pa = k->start;
	p->kernel = (const uint8_t *)(uintptr_t)k->start;
	p->kernel_len = k->end - k->start;
	p->cmdline = k->cmdline ? k->cmdline : "";
	for (size_t i = 1; i < mbi->module_count; i++)
		p->modules[p->module_count++] =
			(struct mb_module){ mbi->modules[i].start, mbi->modules[i].end,
					    mbi->modules[i].cmdline };
	p->fw_map = mbi->regions;
	p->fw_count = mbi->region_count;
	if (!guest_image_probe(p->kernel, p->kernel_len, &p->img, &p->err))
		return false;
	if (!hide(p, arena) || !check_modules(p))
		return false;
	put_gdt(p);
	bool ok = p->img.kind == GUEST_LINUX ? plan_linux(p, mbi) : plan_multiboot(p, mbi);
	if (!ok || !check_segments(p))
		return false;
	return !p->stage || place_staging(p);
}
