/* Fixed facts of the bare-metal kernel's layout, shared by assembly and C. */
#ifndef MARROW_BAREMETAL_BOOT_LAYOUT_H
#define MARROW_BAREMETAL_BOOT_LAYOUT_H

/* Physical (= virtual) address the kernel is linked at. 16 MiB keeps the
 * first megabytes free for the AP trampoline and for guest kernels that load
 * at 1 MiB. The builds that run as marrow's boot-time guest (docs/boot.md)
 * are linked at GUEST_KERNEL_LOAD_ADDR, clear of marrow and of the modules
 * GRUB loads just above 1 MiB. */
#define KERNEL_LOAD_ADDR 0x1000000
#define GUEST_KERNEL_LOAD_ADDR 0x2000000

/* GDT selectors, the same in the boot GDT, the AP trampoline and the final
 * per-CPU GDTs (gdt.c). */
#define BOOT_CS64 0x08
#define BOOT_DS 0x10
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE32 0x18
#define SEL_UDATA 0x20
#define SEL_UCODE64 0x28
#define SEL_TSS 0x30

#define BOOT_STACK_SIZE 16384
#define CPU_STACK_SIZE 32768
#define IST_STACK_SIZE 8192

/* The AP start-up page: SIPI vector 0x08 starts APs at 0x8000 in real mode
 * (SDM 3A 8.4.4.1). */
#define AP_TRAMPOLINE_ADDR 0x8000
#define AP_SIPI_VECTOR (AP_TRAMPOLINE_ADDR >> 12)

#endif
