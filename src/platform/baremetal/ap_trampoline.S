/* AP start-up code, copied to AP_TRAMPOLINE_ADDR. A SIPI starts the AP here
 * in real mode (SDM 3A 8.4.4); it goes through protected mode into long mode
 * with the kernel's page tables and jumps to ap_entry(cpu) on its own stack,
 * all taken from the data block at the end, which the BSP fills in before
 * each SIPI (one AP starts at a time). */
#include "boot_layout.h"

#define TRAMP(sym) ((sym) - ap_trampoline_start + AP_TRAMPOLINE_ADDR)
#define TRAMP_CS32 0x18
#define TRAMP_DS32 0x20

	.section .rodata
	.code16
	.globl ap_trampoline_start
ap_trampoline_start:
	cli
	cld
	xor %ax, %ax
	mov %ax, %ds
	lgdtl TRAMP(tramp_gdt_ptr)
	mov %cr0, %eax
	or $1, %eax /* PE */
	mov %eax, %cr0
	ljmpl $TRAMP_CS32, $TRAMP(tramp_pm32)

	.code32
tramp_pm32:
	mov $TRAMP_DS32, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cr4, %eax
	or $(1 << 5), %eax /* PAE */
	mov %eax, %cr4
	mov TRAMP(ap_boot_cr3), %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx /* IA32_EFER */
	rdmsr
	or $((1 << 8) | (1 << 11)), %eax /* LME, NXE */
	wrmsr
	mov %cr0, %eax
	or $((1 << 31) | (1 << 16)), %eax /* PG, WP */
	mov %eax, %cr0
	ljmp $BOOT_CS64, $TRAMP(tramp_lm64)

	.code64
tramp_lm64:
	mov $BOOT_DS, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov TRAMP(ap_boot_stack), %rsp
	mov TRAMP(ap_boot_arg), %rdi
	mov TRAMP(ap_boot_entry), %rax
	xor %ebp, %ebp
	call *%rax
1:	cli
	hlt
	jmp 1b

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00af9a000000ffff /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff /* 0x10: data */
	.quad 0x00cf9a000000ffff /* 0x18: 32-bit code */
	.quad 0x00cf92000000ffff /* 0x20: 32-bit data */
tramp_gdt_end:
tramp_gdt_ptr:
	.short tramp_gdt_end - tramp_gdt - 1
	.long TRAMP(tramp_gdt)

	.balign 8
	.globl ap_boot_cr3, ap_boot_stack, ap_boot_entry, ap_boot_arg
ap_boot_cr3:
	.quad 0
ap_boot_stack:
	.quad 0
ap_boot_entry:
	.quad 0
ap_boot_arg:
	.quad 0
	.globl ap_trampoline_end
ap_trampoline_end:
