/* platform.h for the bare-metal kernel. */
#include "platform/platform.h"

#include "arch/x86/intrin.h"
#include "arch/x86/paging.h"
#include "console.h"
#include "core/mw_string.h"
#include "core/spinlock.h"
#include "memmap.h"
#include "paging.h"
#include "percpu.h"
#include "platform_bm.h"
#include "pmm.h"
#include "smp.h"
#include "trap.h"

#define LOW_MEMORY_END (1ull << 20)
#define MAX_USABLE 64

extern char __kernel_start[], __kernel_end[];

static struct mb2_info boot_info;
static struct pmm pmm;
static uint8_t pmm_bitmap[PAGING_IDENTITY_LIMIT / PAGE_SIZE / 8];
static struct spinlock pmm_lock;
static uint64_t pmm_total;

void bm_memory_init(const struct mb2_info *mbi, uint64_t info_lo, uint64_t info_hi,
		    const struct mw_phys_range *arena)
{
	struct mem_range reserved[2 + MB2_MAX_MODULES];
	struct mem_range usable[MAX_USABLE];
	size_t nres = 0;
	uint64_t low = LOW_MEMORY_END, high = PAGING_IDENTITY_LIMIT;

	boot_info = *mbi;
	reserved[nres++] = (struct mem_range){ (uint64_t)(uintptr_t)__kernel_start,
					       (uint64_t)(uintptr_t)__kernel_end };
	reserved[nres++] = (struct mem_range){ info_lo, info_hi };
	for (size_t i = 0; i < mbi->module_count; i++)
		reserved[nres++] = (struct mem_range){ mbi->modules[i].start, mbi->modules[i].end };
	/* Loader mode: everything marrow allocates comes from its arena,
	 * which the guest will never see. */
	if (arena) {
		low = arena->base;
		high = arena->end;
	}

	/* Memory below 1 MiB stays with the firmware and the AP trampoline;
	 * above the identity map, the kernel cannot reach it. */
	int n = memmap_usable(mbi->regions, mbi->region_count, reserved, nres, low, high, usable,
			      MAX_USABLE);
	if (n <= 0)
		panic("no usable memory in the boot memory map (%d)", n);

	uint64_t top = usable[n - 1].end;
	pmm_init(&pmm, 0, top / PAGE_SIZE, pmm_bitmap);
	for (int i = 0; i < n; i++)
		pmm_add_range(&pmm, usable[i].base, usable[i].end);
	pmm_total = pmm.free_count;
}

void *bm_alloc_pages_below(size_t count, uint64_t limit)
{
	uint64_t pa;
	uint64_t flags = read_rflags();

	cpu_cli();
	spin_lock(&pmm_lock);
	enum pmm_status s = pmm_alloc_below(&pmm, count, 1, limit, &pa);
	spin_unlock(&pmm_lock);
	if (flags & (1u << 9))
		cpu_sti();
	if (s != PMM_OK)
		return NULL;
	void *va = (void *)(uintptr_t)pa;
	memset(va, 0, count * PAGE_SIZE);
	return va;
}

void *bm_alloc_pages(size_t count)
{
	return bm_alloc_pages_below(count, UINT64_MAX);
}

void bm_free_pages(void *va, size_t count)
{
	uint64_t flags = read_rflags();

	cpu_cli();
	spin_lock(&pmm_lock);
	enum pmm_status s = pmm_free(&pmm, (uint64_t)(uintptr_t)va, count);
	spin_unlock(&pmm_lock);
	if (flags & (1u << 9))
		cpu_sti();
	if (s != PMM_OK)
		panic("free of %zu pages at %p: %s", count, va, pmm_status_str(s));
}

uint64_t bm_free_page_count(void)
{
	return pmm.free_count;
}

uint64_t bm_total_page_count(void)
{
	return pmm_total;
}

const struct mb2_info *bm_boot_info(void)
{
	return &boot_info;
}

void *platform_alloc_pages(size_t count)
{
	return bm_alloc_pages(count);
}

void platform_free_pages(void *va, size_t count)
{
	bm_free_pages(va, count);
}

static void flush_tlb(void *arg)
{
	(void)arg;
	write_cr3(read_cr3());
}

/* Identity-mapped low memory: within 2 GiB of the kernel's text. Every CPU
 * drops its cached translations of the pages (they may have been cached as
 * non-executable data). */
void *platform_alloc_code(size_t pages, void **write)
{
	void *p = bm_alloc_pages_below(pages, 1ull << 31);
	if (p && !paging_set_exec((uint64_t)(uintptr_t)p, pages * PAGE_SIZE, true)) {
		bm_free_pages(p, pages);
		return NULL;
	}
	if (p)
		smp_on_each_cpu(flush_tlb, NULL);
	*write = p; /* writable as well as executable here */
	return p;
}

void platform_free_code(void *va, void *write, size_t pages)
{
	(void)write;
	paging_set_exec((uint64_t)(uintptr_t)va, pages * PAGE_SIZE, false);
	smp_on_each_cpu(flush_tlb, NULL);
	bm_free_pages(va, pages);
}

struct quiesce {
	uint64_t start, end;
	volatile bool inside;
};

uint64_t *platform_interrupted_rip(void)
{
	struct trap_frame *f = this_cpu()->interrupted;
	return f ? &f->rip : NULL;
}

static void quiesce_cpu(void *arg)
{
	struct quiesce *q = arg;
	const uint64_t *rip = platform_interrupted_rip();

	if (rip && *rip >= q->start && *rip < q->end)
		q->inside = true;
}

/* No threads here: a CPU is inside code only while it runs it, and only an
 * interrupt can stop it there (interrupt handlers do not nest). The
 * broadcast interrupts every busy CPU and reports where; once no CPU was
 * interrupted inside the range, none is in it: a CPU that was not
 * interrupted was idle or inside its own call of this broadcast. */
void platform_quiesce(const void *code, size_t len)
{
	struct quiesce q = { .start = (uint64_t)(uintptr_t)code };

	q.end = q.start + len;
	do {
		q.inside = false;
		smp_on_each_cpu(quiesce_cpu, &q);
	} while (q.inside);
}

uint64_t platform_virt_to_phys(const void *va)
{
	return (uint64_t)(uintptr_t)va; /* identity mapped */
}

void *platform_map_mmio(uint64_t pa, size_t len)
{
	/* The identity map covers the low 4 GiB, its top GiB uncached. */
	if (pa < (3ull << 30) || pa + len > PAGING_IDENTITY_LIMIT)
		return NULL;
	return (void *)(uintptr_t)pa;
}

void platform_unmap_mmio(void *va, size_t len)
{
	(void)va;
	(void)len;
}

void *platform_phys_to_virt(uint64_t pa)
{
	return pa < PAGING_IDENTITY_LIMIT ? (void *)(uintptr_t)pa : NULL;
}

uint64_t platform_kernel_va_start(void)
{
	return 0;
}

void platform_on_each_cpu(void (*fn)(void *arg), void *arg)
{
	smp_on_each_cpu(fn, arg);
}

unsigned platform_cpu_index(void)
{
	return this_cpu()->index;
}

unsigned platform_cpu_count(void)
{
	return bm_cpu_count;
}

void platform_cpu_left_vmx(void)
{
	/* Nothing to restore: the bare-metal TSS is 0x68 bytes with no I/O
	 * bitmap, there is no LDT, and CR4.PCIDE is never set (a CR3 load
	 * flushes every non-global translation). */
}

size_t platform_memory_map(struct platform_mem_range *out, size_t max)
{
	for (size_t i = 0; i < boot_info.region_count && i < max; i++) {
		const struct mb2_region *r = &boot_info.regions[i];
		out[i].base = r->base;
		out[i].length = r->length;
		out[i].type = r->type >= MB2_MEM_AVAILABLE && r->type <= MB2_MEM_BADRAM
				      ? (enum platform_mem_type)r->type
				      : PLATFORM_MEM_RESERVED;
	}
	return boot_info.region_count;
}

void platform_log(const char *text, size_t len)
{
	console_write(text, len);
}
