#include "gdt.h"

#include "arch/x86/intrin.h"
#include "boot_layout.h"
#include "core/mw_string.h"

/* Flat descriptors (SDM 3A 3.4.5): base 0, limit 4 GiB, G=1. */
#define DESC_KCODE64 0x00af9a000000ffffull /* L=1, DPL 0, execute/read */
#define DESC_KDATA 0x00cf92000000ffffull   /* DPL 0, read/write */
#define DESC_UCODE32 0x00cffa000000ffffull /* D=1, DPL 3 */
#define DESC_UDATA 0x00cff2000000ffffull   /* DPL 3 */
#define DESC_UCODE64 0x00affa000000ffffull /* L=1, DPL 3 */
#define TSS_TYPE_AVAILABLE_64 0x9ull

static void set_tss_descriptor(uint64_t *slot, const struct tss64 *tss)
{
	uint64_t base = (uint64_t)(uintptr_t)tss;
	uint64_t limit = sizeof(*tss) - 1;

	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (TSS_TYPE_AVAILABLE_64 << 40) |
		  (1ull << 47) /* present */ | (((limit >> 16) & 0xf) << 48) |
		  (((base >> 24) & 0xff) << 56);
	slot[1] = base >> 32;
}

static void reload_segments(void)
{
	/* A far return is the way to reload CS in long mode. */
	__asm__ volatile("pushq %[cs]\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %[ds], %%ds\n\t"
			 "mov %[ds], %%es\n\t"
			 "mov %[ds], %%ss\n\t"
			 :
			 : [cs] "i"(SEL_KCODE), [ds] "r"((uint16_t)SEL_KDATA)
			 : "rax", "memory");
}

void gdt_load_cpu(struct cpu_tables *t, const uint64_t ist_stack_tops[IST_COUNT],
		  uint64_t kernel_stack_top)
{
	memset(t, 0, sizeof(*t));
	t->gdt[SEL_KCODE >> 3] = DESC_KCODE64;
	t->gdt[SEL_KDATA >> 3] = DESC_KDATA;
	t->gdt[SEL_UCODE32 >> 3] = DESC_UCODE32;
	t->gdt[SEL_UDATA >> 3] = DESC_UDATA;
	t->gdt[SEL_UCODE64 >> 3] = DESC_UCODE64;
	set_tss_descriptor(&t->gdt[SEL_TSS >> 3], &t->tss);

	t->tss.rsp[0] = kernel_stack_top;
	for (int i = 0; i < IST_COUNT; i++)
		t->tss.ist[i] = ist_stack_tops[i];
	/* No I/O permission bitmap: the base lies beyond the limit. */
	t->tss.iomap_base = sizeof(t->tss);

	struct desc_ptr p = { .limit = sizeof(t->gdt) - 1, .base = (uint64_t)(uintptr_t)t->gdt };
	lgdt(&p);
	reload_segments();
	ltr(SEL_TSS);
}
