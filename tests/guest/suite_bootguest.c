/* The boot-time guest's view (docs/boot.md): run by the builds of this
 * kernel that marrow boots as its guest (guest-mb1.elf, guest-mb2.elf),
 * never by marrow itself (explicit suite). They check what the guest was
 * given and what it cannot reach: marrow's memory is reserved in its memory
 * map and, on every CPU, reads as all ones, ignores writes and does not
 * execute; CPUID shows no VMX and VMCALL is an invalid opcode; and the APs
 * it started itself with INIT-SIPI-SIPI run under marrow, also after a
 * second INIT. */
#include "arch/x86/intrin.h"
#include "guest_test.h"
#include "platform/platform.h"
#include "src/platform/baremetal/boot_layout.h"
#include "src/platform/baremetal/paging.h"
#include "src/platform/baremetal/platform_bm.h"
#include "src/platform/baremetal/smp.h"
#include "src/platform/baremetal/trap.h"

#define MiB (1ull << 20)
#define MB2_HEADER_MAGIC 0xe85250d6u /* marrow's first word (boot.S) */
#define MAX_HIDDEN 8

struct hidden {
	unsigned count;
	uint64_t base[MAX_HIDDEN], end[MAX_HIDDEN];
};

/* The reserved ranges between 1 MiB and the top of RAM. The PC firmware
 * Bochs runs reserves nothing there, so these are marrow's. */
static void find_hidden(struct hidden *h)
{
	const struct mb2_info *m = bm_boot_info();
	uint64_t top = 0;

	h->count = 0;
	for (size_t i = 0; i < m->region_count; i++)
		if (m->regions[i].type == MB2_MEM_AVAILABLE &&
		    m->regions[i].base + m->regions[i].length > top)
			top = m->regions[i].base + m->regions[i].length;
	for (size_t i = 0; i < m->region_count && h->count < MAX_HIDDEN; i++) {
		const struct mb2_region *r = &m->regions[i];
		if (r->type == MB2_MEM_RESERVED && r->base >= MiB && r->base < top) {
			h->base[h->count] = r->base;
			h->end[h->count++] = r->base + r->length;
		}
	}
}

GT_DEFINE(bootguest, memory_map_reserves_marrow, GT_EXPLICIT, 1)
{
	const struct mb2_info *m = bm_boot_info();
	struct hidden h;
	bool at_marrow = false;

	for (size_t i = 1; i < m->region_count; i++)
		GT_ASSERT(m->regions[i].base >= m->regions[i - 1].base + m->regions[i - 1].length);
	find_hidden(&h);
	GT_ASSERT(h.count >= 1);
	for (unsigned i = 0; i < h.count; i++) {
		gt_note("marrow's memory: %llx-%llx", (unsigned long long)h.base[i],
			(unsigned long long)h.end[i]);
		at_marrow |= h.base[i] == KERNEL_LOAD_ADDR;
	}
	/* marrow runs where it is linked: its image is among them. */
	GT_ASSERT(at_marrow);
	/* The guest's own RAM both below and above. */
	GT_ASSERT(bm_total_page_count() > 0);
}

struct probe {
	struct hidden h;
	volatile uint32_t bad_reads, bad_writes, cpus;
	volatile uint64_t first_bad;
};

static void probe_reads(void *arg)
{
	struct probe *p = arg;

	for (unsigned i = 0; i < p->h.count; i++) {
		for (uint64_t a = p->h.base[i]; a < p->h.end[i]; a += 64 * 1024) {
			uint64_t q = *(volatile uint64_t *)(uintptr_t)a;
			uint32_t d = *(volatile uint32_t *)(uintptr_t)(a + 0x18);
			uint8_t b = *(volatile uint8_t *)(uintptr_t)(a + 0x7ff);
			if (q != ~0ull || d != ~0u || b != 0xff) {
				__atomic_fetch_add(&p->bad_reads, 1, __ATOMIC_RELAXED);
				p->first_bad = a;
			}
		}
		uint64_t last = *(volatile uint64_t *)(uintptr_t)(p->h.end[i] - 8);
		if (last != ~0ull)
			__atomic_fetch_add(&p->bad_reads, 1, __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&p->cpus, 1, __ATOMIC_RELAXED);
}

GT_DEFINE(bootguest, marrow_memory_reads_as_nothing_on_every_cpu, GT_EXPLICIT, 1)
{
	static struct probe p;

	find_hidden(&p.h);
	GT_ASSERT(p.h.count >= 1);
	/* Natively this is marrow's multiboot2 header. */
	GT_ASSERT_EQ(*(volatile uint32_t *)(uintptr_t)KERNEL_LOAD_ADDR, 0xffffffffu);
	platform_on_each_cpu(probe_reads, &p);
	GT_ASSERT_EQ(p.cpus, platform_cpu_count());
	if (p.bad_reads)
		gt_note("first read of something at %llx", (unsigned long long)p.first_bad);
	GT_ASSERT_EQ(p.bad_reads, 0);
}

static void probe_writes(void *arg)
{
	struct probe *p = arg;

	for (unsigned i = 0; i < p->h.count; i++) {
		for (uint64_t a = p->h.base[i]; a < p->h.end[i]; a += 256 * 1024) {
			volatile uint64_t *q = (volatile uint64_t *)(uintptr_t)(a + 0x40);
			volatile uint16_t *w = (volatile uint16_t *)(uintptr_t)(a + 0x80);
			*q = 0x1234567812345678ull;
			*w = 0;
			if (*q != ~0ull || *w != 0xffff)
				__atomic_fetch_add(&p->bad_writes, 1, __ATOMIC_RELAXED);
		}
	}
	__atomic_fetch_add(&p->cpus, 1, __ATOMIC_RELAXED);
}

GT_DEFINE(bootguest, writes_to_marrow_memory_go_nowhere_on_every_cpu, GT_EXPLICIT, 1)
{
	static struct probe p;

	find_hidden(&p.h);
	GT_ASSERT(p.h.count >= 1);
	platform_on_each_cpu(probe_writes, &p);
	GT_ASSERT_EQ(p.cpus, platform_cpu_count());
	GT_ASSERT_EQ(p.bad_writes, 0);
}

static void jump_to(void *target)
{
	((void (*)(void))target)();
}

struct fetch {
	volatile uint32_t ud, cpus;
	volatile uint64_t other_vector;
};

static void fetch_marrow(void *arg)
{
	struct fetch *f = arg;
	struct trap_info info;

	invlpg((const void *)(uintptr_t)KERNEL_LOAD_ADDR); /* was cached non-executable */
	/* marrow's _start: natively the code GRUB enters marrow by. */
	int v = gt_trap_of(jump_to, (void *)(uintptr_t)(KERNEL_LOAD_ADDR + 0x18), &info);

	if (v == 6 && info.rip == KERNEL_LOAD_ADDR + 0x18)
		__atomic_fetch_add(&f->ud, 1, __ATOMIC_RELAXED);
	else
		f->other_vector = (uint64_t)v;
	__atomic_fetch_add(&f->cpus, 1, __ATOMIC_RELAXED);
}

GT_DEFINE(bootguest, executing_marrow_memory_is_an_invalid_opcode, GT_EXPLICIT, 1)
{
	static struct fetch f;

	/* The guest's page tables let it execute there; only EPT does not. */
	GT_ASSERT(paging_set_exec(KERNEL_LOAD_ADDR, 4096, true));
	platform_on_each_cpu(fetch_marrow, &f);
	paging_set_exec(KERNEL_LOAD_ADDR, 4096, false);
	GT_ASSERT_EQ(f.cpus, platform_cpu_count());
	if (f.ud != f.cpus)
		gt_note("another outcome: vector %lld", (long long)f.other_vector);
	GT_ASSERT_EQ(f.ud, platform_cpu_count());
}

struct no_vmx {
	volatile uint32_t vmx, hypervisor, vmcall_ud, cpus;
};

static void do_vmcall(void *arg)
{
	(void)arg;
	__asm__ volatile("vmcall" ::"a"(1ull), "c"(0ull) : "memory");
}

static void check_no_vmx(void *arg)
{
	struct no_vmx *n = arg;
	struct cpuid_regs r = cpuid(1);

	__atomic_fetch_add(&n->vmx, (r.ecx >> 5) & 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&n->hypervisor, (r.ecx >> 31) & 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&n->vmcall_ud, gt_trap_of(do_vmcall, NULL, NULL) == 6, __ATOMIC_RELAXED);
	__atomic_fetch_add(&n->cpus, 1, __ATOMIC_RELAXED);
}

GT_DEFINE(bootguest, every_cpu_sees_no_vmx_and_no_hypercalls, GT_EXPLICIT, 1)
{
	static struct no_vmx n;

	platform_on_each_cpu(check_no_vmx, &n);
	GT_ASSERT_EQ(n.cpus, platform_cpu_count());
	GT_ASSERT_EQ(n.vmx, 0);
	GT_ASSERT_EQ(n.hypervisor, 0);
	GT_ASSERT_EQ(n.vmcall_ud, platform_cpu_count());
}

/* An AP that runs is sent INIT and SIPIs again: it comes back, still
 * marrow's guest (no VMX, marrow's memory unreachable). */
GT_DEFINE(bootguest, an_ap_restarted_with_init_sipi_comes_back_under_marrow, GT_EXPLICIT, 2)
{
	static struct no_vmx n;
	static struct probe p;

	GT_ASSERT(smp_restart_ap(1));
	GT_ASSERT(bm_cpus[1].online);
	platform_on_each_cpu(check_no_vmx, &n);
	GT_ASSERT_EQ(n.cpus, platform_cpu_count());
	GT_ASSERT_EQ(n.vmx, 0);
	find_hidden(&p.h);
	platform_on_each_cpu(probe_reads, &p);
	GT_ASSERT_EQ(p.bad_reads, 0);
}
