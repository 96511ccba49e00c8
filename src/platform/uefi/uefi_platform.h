/* The UEFI platform's own state and services, shared by its files. All of
 * it runs during boot services on the boot processor (BSP), except the
 * per-CPU parts of uefi_on_each_cpu's callback; root mode calls none of
 * it. */
#ifndef MARROW_UEFI_PLATFORM_H
#define MARROW_UEFI_PLATFORM_H

#include <efi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/platform.h"

#define UEFI_MAX_CPUS 64
#define UEFI_MEM_RANGES 64

struct uefi_state {
	EFI_HANDLE image;
	EFI_SYSTEM_TABLE *st;
	EFI_BOOT_SERVICES *bs;
	struct mw_efi_mp_services *mp; /* NULL: one CPU */
	unsigned cpu_count;
	uint32_t apic_ids[UEFI_MAX_CPUS];  /* index 0: the BSP */
	unsigned mp_number[UEFI_MAX_CPUS]; /* MP services' processor number */
	struct platform_mem_range mem[UEFI_MEM_RANGES];
	size_t mem_count;
	uint64_t identity_pml4_pa; /* marrow's own identity map (uefi_host.c) */
	/* Set by the ExitBootServices notification (uefi_seal.c): from then
	 * on nothing here may call the firmware. */
	volatile bool boot_services_gone;
};

extern struct uefi_state uefi;

/* uefi_log.c: text to ConOut (which OVMF also copies to its serial
 * console) until ExitBootServices; silently dropped after, and on APs. */
void uefi_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* uefi_cpus.c: the CPUs from EFI_MP_SERVICES_PROTOCOL. */
EFI_STATUS uefi_cpus_init(void);
bool uefi_on_bsp(void);

/* uefi_memory.c: the memory map, and marrow's pages. */
EFI_STATUS uefi_memory_init(void);
/* Pages of a type the OS leaves alone, recorded as marrow's own. */
void *uefi_alloc_owned(size_t pages, EFI_MEMORY_TYPE type);
void uefi_free_owned(void *va, size_t pages);

/* uefi_host.c: the page table and per-CPU GDT/TSS that root mode uses,
 * all in marrow's own memory (the firmware's are boot-services memory,
 * which the OS reuses). */
EFI_STATUS uefi_host_init(void);
/* Around a callback on the calling CPU: load marrow's GDT (the firmware's
 * descriptors plus a TSS) and TR, and afterwards the firmware's GDT again.
 * VM entry needs a usable host TR (SDM 3C 27.2.3). */
struct uefi_cpu_tables {
	uint8_t gdtr[10];
	uint16_t tr;
};
bool uefi_enter_marrow_tables(unsigned cpu, struct uefi_cpu_tables *saved);
void uefi_leave_marrow_tables(const struct uefi_cpu_tables *saved);

/* uefi_extable.c: #GP and #UD from marrow's "safe" instructions
 * (arch/x86/safe.h) outside root mode resume at their fixups, through the
 * firmware's exception dispatch (EFI_CPU_ARCH_PROTOCOL). */
EFI_STATUS uefi_extable_install(void);
void uefi_extable_remove(void);

#endif
