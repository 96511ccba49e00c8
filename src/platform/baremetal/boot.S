/* Multiboot2 entry (multiboot in the multiboot build). The loader enters in
 * 32-bit protected mode, paging off, with EAX = the magic and EBX = the
 * physical address of the boot information (Multiboot2 spec 3.3, Multiboot
 * 3.2). We build a boot identity map of the low
 * 4 GiB with 2 MiB pages, enter long mode (SDM 3A 9.8.5) and call
 * bm_main(magic, info). paging.c replaces the boot map with the final one. */

#include "boot_layout.h"

#define MB2_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0
#define MB1_MAGIC 0x1badb002
/* Page-aligned modules, memory information, and the address fields below
 * (Multiboot 0.6.96, 3.1.2). */
#define MB1_FLAGS ((1 << 0) | (1 << 1) | (1 << 16))

#ifdef BOOT_MULTIBOOT1
	/* The multiboot build (the boot-time guest test kernel, docs/boot.md)
	 * is loaded through the "a.out kludge" (3.1.3): the file from this
	 * header on, which the linker lays out exactly as memory, to
	 * __kernel_start, up to the end of .data, then .bss zeroed. */
	.section .multiboot, "a"
	.balign 4
mb1_header:
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)
	.long mb1_header /* header_addr */
	.long __kernel_start /* load_addr */
	.long __data_end /* load_end_addr */
	.long __bss_end /* bss_end_addr */
	.long _start /* entry_addr */
#else
	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	/* end tag */
	.balign 8
	.short 0
	.short 0
	.long 8
mb2_header_end:
#endif

	.section .boot.text, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	mov %eax, %ebp /* the magic: first argument of bm_main */
	mov %ebx, %esi /* boot information: second argument */

	/* Zero .bss ourselves: the loader is not obliged to. No stack yet:
	 * the specifications leave ESP undefined. */
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	xor %eax, %eax
	rep stosb
	mov %ebp, %edi

	mov $boot_stack_top, %esp

	/* Long mode must exist: CPUID.80000001H:EDX.LM (bit 29). */
	mov $0x80000000, %eax
	cpuid
	cmp $0x80000001, %eax
	jb no_long_mode
	mov $0x80000001, %eax
	cpuid
	bt $29, %edx
	jnc no_long_mode

	/* PML4[0] -> PDPT; PDPT[0..3] -> boot_pd[0..3]; each PD maps 1 GiB
	 * with 2 MiB pages (present, writable, PS). */
	mov $boot_pdpt, %eax
	or $3, %eax
	mov %eax, boot_pml4

	mov $boot_pd, %eax
	or $3, %eax
	mov $boot_pdpt, %ebx
	mov $4, %ecx
1:	mov %eax, (%ebx)
	add $4096, %eax
	add $8, %ebx
	loop 1b

	mov $boot_pd, %ebx
	mov $0x83, %eax
	xor %edx, %edx
	mov $2048, %ecx
2:	mov %eax, (%ebx)
	mov %edx, 4(%ebx)
	add $0x200000, %eax
	adc $0, %edx
	add $8, %ebx
	loop 2b

	mov %cr4, %eax
	or $(1 << 5), %eax /* PAE */
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3

	mov $0xc0000080, %ecx /* IA32_EFER */
	rdmsr
	or $((1 << 8) | (1 << 11)), %eax /* LME, NXE */
	wrmsr

	mov %cr0, %eax
	or $((1 << 31) | (1 << 16) | 1), %eax /* PG, WP, PE */
	mov %eax, %cr0

	lgdt boot_gdt_ptr
	ljmp $BOOT_CS64, $long_mode_entry

no_long_mode:
	/* Nothing to report with yet but COM1; say why and stop. */
	mov $no_lm_msg, %esi
3:	lodsb
	test %al, %al
	jz 4f
	mov $0x3f8, %dx
	out %al, %dx
	jmp 3b
4:	hlt
	jmp 4b

	.code64
long_mode_entry:
	mov $BOOT_DS, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %eax, %eax
	mov %ax, %fs
	mov %ax, %gs
	mov $boot_stack_top, %rsp
	/* The upper halves of RDI/RSI are undefined after the mode switch. */
	mov %edi, %edi
	mov %esi, %esi
	xor %ebp, %ebp
	call bm_main
5:	cli
	hlt
	jmp 5b

	.section .boot.rodata, "a"
no_lm_msg:
	.asciz "marrow: this CPU has no long mode\r\n"

	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff /* BOOT_CS64: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff /* BOOT_DS: data, DPL 0 */
boot_gdt_end:
boot_gdt_ptr:
	.short boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	.section .bss
	.balign 4096
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
boot_pd:
	.skip 4096 * 4
	.balign 16
boot_stack:
	.skip BOOT_STACK_SIZE
	.globl boot_stack_top
boot_stack_top:
