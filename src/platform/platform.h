/* The few services marrow's core needs from an operating system (or from
 * the bare-metal kernel). Nothing under src/ outside src/platform/ includes
 * an OS header; the core reaches the OS only through these functions, and
 * only outside VMX root mode: root-mode code calls none of them. */
#ifndef MARROW_PLATFORM_H
#define MARROW_PLATFORM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Allocates `count` physically contiguous, zeroed, page-aligned 4 KiB pages
 * mapped writable in the current address space. NULL when memory is
 * exhausted. */
void *platform_alloc_pages(size_t count);
/* Returns pages from platform_alloc_pages (the same count). */
void platform_free_pages(void *va, size_t count);

/* Memory for code marrow generates (hook stubs, trampolines): contiguous,
 * executable in the kernel's own page tables, and within 2 GiB of the
 * kernel's text and of marrow's data (a 5-byte jump from any kernel
 * function, and a RIP-relative operand from the code to marrow's
 * variables, reach). Returns the address the code runs at, and in *write
 * an address marrow writes the code through: the same where the pages are
 * writable, an alias where code is read-only. The code never writes to its
 * own pages. NULL when the platform cannot provide it: inline and syscall
 * hooks are then unsupported. */
void *platform_alloc_code(size_t pages, void **write);
void platform_free_code(void *code, void *write, size_t pages);

/* Inside a platform_on_each_cpu callback: the RIP the calling CPU will
 * resume at when the callback returns (the code its interrupt
 * interrupted), writable, so that hook code can move a CPU out of bytes it
 * is about to replace; NULL when the CPU was idle, or the platform cannot
 * tell. */
uint64_t *platform_interrupted_rip(void);

/* Returns once no CPU is executing in [code, code+len): code that nothing
 * jumps to any more (a hook's stub and trampoline just unlinked) but that a
 * CPU may have entered before, or have been interrupted in. Outside root
 * mode; may sleep where the OS allows. */
void platform_quiesce(const void *code, size_t len);

uint64_t platform_virt_to_phys(const void *va);
/* Maps device memory (uncached) for the core, e.g. the local APIC; NULL on
 * failure. Unmapped with platform_unmap_mmio. */
void *platform_map_mmio(uint64_t pa, size_t len);
void platform_unmap_mmio(void *va, size_t len);
/* NULL when the physical address has no mapping the core may use. */
void *platform_phys_to_virt(uint64_t pa);

/* The lowest virtual address of the kernel's own mappings. The core's host
 * page table copies the current page table's mappings from here up, so
 * that no user process's page tables are referenced (0: the kernel is
 * identity mapped in the lower half, copy everything). */
uint64_t platform_kernel_va_start(void);

/* Runs fn(arg) on every online CPU, the caller's included, and returns once
 * all have finished. fn runs at the OS's highest scheduling priority (no
 * preemption, no migration) and must not call this again. */
void platform_on_each_cpu(void (*fn)(void *arg), void *arg);
/* 0-based index of the calling CPU, below platform_cpu_count(). */
unsigned platform_cpu_index(void);
unsigned platform_cpu_count(void);

/* Runs on a CPU right after the core took it out of VMX operation (or found
 * it already out), on that CPU, outside root mode, interrupts disabled.
 * VM exits change host state that the core cannot give back in an
 * OS-independent way: the TR limit becomes 0x67 (SDM 3C 28.5.2; reloading
 * TR means writing the OS's GDT), and root mode's translations stay
 * cached under the host CR3's PCID. The platform restores what its OS
 * relies on (no-op where nothing is). */
void platform_cpu_left_vmx(void);

/* Physical memory as the platform's firmware reported it. */
enum platform_mem_type {
	PLATFORM_MEM_RAM = 1,	   /* usable RAM (in use or not) */
	PLATFORM_MEM_RESERVED = 2, /* firmware, MMIO holes, anything not RAM */
	PLATFORM_MEM_ACPI = 3,
	PLATFORM_MEM_NVS = 4,
	PLATFORM_MEM_BAD = 5,
};

struct platform_mem_range {
	uint64_t base;
	uint64_t length;
	enum platform_mem_type type;
};

/* Copies up to max ranges into out and returns how many the platform has
 * (which may exceed max). */
size_t platform_memory_map(struct platform_mem_range *out, size_t max);

/* Delivers a line of log text to the platform's log (serial, printk,
 * DbgPrint). Never called from root mode: the core's root-mode log goes to
 * a per-CPU ring that non-root code drains into this sink. */
void platform_log(const char *text, size_t len);

#endif
