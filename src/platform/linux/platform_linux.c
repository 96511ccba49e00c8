/* platform.h for Linux: the services marrow's core needs, from the kernel.
 * The core calls these only outside VMX root mode. */
#include <asm/desc.h>
#include <asm/tlbflush.h>
#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/smp.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

#include "platform/platform.h"

/* The start of the kernel half of a 4-level address space (PML4 slot 256).
 * The core's host page table copies Linux's kernel mappings from here up:
 * they are the same in every process's page table. */
#define KERNEL_HALF_START 0xffff800000000000ull

void *platform_alloc_pages(size_t count)
{
	size_t bytes = count * PAGE_SIZE;

	/* Beyond the buddy allocator's largest block there is no contiguous
	 * allocation to be had here; say so with NULL, not a warning. */
	if (count == 0 || get_order(bytes) >= MAX_ORDER)
		return NULL;
	return alloc_pages_exact(bytes, GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
}

void platform_free_pages(void *va, size_t count)
{
	if (va)
		free_pages_exact(va, count * PAGE_SIZE);
}

uint64_t platform_virt_to_phys(const void *va)
{
	/* Everything the core allocates is in the direct map; anything else
	 * (module data: vmalloc space) is translated page by page. */
	if (virt_addr_valid(va))
		return __pa(va);
	struct page *page = vmalloc_to_page(va);
	return page ? page_to_phys(page) + offset_in_page(va) : 0;
}

void *platform_map_mmio(uint64_t pa, size_t len)
{
	return ioremap(pa, len); /* uncached on x86 */
}

void platform_unmap_mmio(void *va, size_t len)
{
	(void)len;
	iounmap(va);
}

void *platform_phys_to_virt(uint64_t pa)
{
	unsigned long pfn = PHYS_PFN(pa);

	/* RAM only: the direct map covers it, and nothing else is the core's
	 * business (it asks for page-table pages). */
	if (!pfn_valid(pfn) || !page_is_ram(pfn))
		return NULL;
	return __va(pa);
}

uint64_t platform_kernel_va_start(void)
{
	return KERNEL_HALF_START;
}

void platform_on_each_cpu(void (*fn)(void *arg), void *arg)
{
	/* fn runs on every online CPU with interrupts disabled (in the IPI
	 * handler on the others), and this waits for all of them. */
	on_each_cpu(fn, arg, 1);
}

unsigned platform_cpu_index(void)
{
	/* Linux's CPU numbers are dense over the possible CPUs, so they are
	 * the core's indices as they are; callers are not preemptible. */
	return raw_smp_processor_id();
}

unsigned platform_cpu_count(void)
{
	return nr_cpu_ids;
}

struct map_walk {
	struct platform_mem_range *out;
	size_t max;
	size_t count;
	enum platform_mem_type type;
};

static int add_map_range(struct resource *res, void *arg)
{
	struct map_walk *w = arg;

	if (w->count < w->max)
		w->out[w->count] =
			(struct platform_mem_range){ res->start, resource_size(res), w->type };
	w->count++;
	return 0;
}

static int by_base(const void *a, const void *b)
{
	const struct platform_mem_range *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

size_t platform_memory_map(struct platform_mem_range *out, size_t max)
{
	struct map_walk w = { out, max, 0, PLATFORM_MEM_RAM };

	/* The firmware map as Linux keeps it in /proc/iomem: System RAM, then
	 * ACPI tables and NVS; everything else counts as reserved. */
	walk_iomem_res_desc(IORES_DESC_NONE, IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, -1, &w,
			    add_map_range);
	w.type = PLATFORM_MEM_ACPI;
	walk_iomem_res_desc(IORES_DESC_ACPI_TABLES, IORESOURCE_MEM | IORESOURCE_BUSY, 0, -1, &w,
			    add_map_range);
	w.type = PLATFORM_MEM_NVS;
	walk_iomem_res_desc(IORES_DESC_ACPI_NV_STORAGE, IORESOURCE_MEM | IORESOURCE_BUSY, 0, -1, &w,
			    add_map_range);
	sort(out, min(w.count, max), sizeof(*out), by_base, NULL);
	return w.count;
}

void platform_log(const char *text, size_t len)
{
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\0'))
		len--;
	pr_info("marrow: %.*s\n", (int)len, text);
}

/* Not yet: modules get memory within 2 GiB of the kernel's text only from
 * the module loader (module_alloc is not exported), and an LSTAR stub would
 * also have to be mapped in the user page tables under KPTI. Inline hooks
 * and the LSTAR hook report "unsupported" on Linux; MSR and exception hooks
 * and page substitution need no generated code. */
void *platform_alloc_code(size_t pages, void **write)
{
	(void)pages;
	*write = NULL;
	return NULL;
}

void platform_free_code(void *code, void *write, size_t pages)
{
	(void)code;
	(void)write;
	(void)pages;
}

/* Only hook code that generated code needs asks (see platform_alloc_code). */
uint64_t *platform_interrupted_rip(void)
{
	return NULL;
}

/* Nothing generated runs here (platform_alloc_code gives nothing); a real
 * implementation must also wait for tasks preempted in the range
 * (synchronize_rcu_tasks), not only for CPUs. */
void platform_quiesce(const void *code, size_t len)
{
	(void)code;
	(void)len;
}

void platform_cpu_left_vmx(void)
{
	/* The TSS limit: Linux's TSS carries the I/O permission bitmap far
	 * beyond 0x67, and with the short limit every ioperm()/iopl() user
	 * would fault. force_reload_TR marks the descriptor available in the
	 * writable GDT alias and loads TR again, limit and all (what Linux's
	 * own invalidate_tss_limit() leads to when a task needs the bitmap).
	 * LDTR, which a VM exit also clears, the core's vmx_leave reloads. */
	force_reload_TR();
	/* Root mode ran on its own page table under PCID 0, which Linux never
	 * uses; its translations of module and vmalloc addresses must not
	 * outlive the module. A global flush drops every PCID's. */
	__flush_tlb_all();
}
