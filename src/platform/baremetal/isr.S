/* Interrupt entry stubs: one per vector, each pushing a dummy error code
 * where the CPU pushes none (SDM 3A 6.13), then the vector, then jumping to
 * the common path that saves the GPRs as a struct trap_frame. */

	.text
	.code64
	.altmacro

	.macro isr_stub v
	.balign 16
isr_stub_\v:
	.if !(\v == 8 || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21 || \v == 29 || \v == 30)
	pushq $0
	.endif
	pushq $\v
	jmp isr_common
	.endm

	.set vec, 0
	.rept 256
	isr_stub %vec
	.set vec, vec + 1
	.endr

isr_common:
	cld
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	call trap_dispatch
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp /* vector, error code */
	iretq

	.section .rodata
	.balign 8
	.globl isr_stub_table
isr_stub_table:
	.macro isr_stub_address v
	.quad isr_stub_\v
	.endm
	.set vec, 0
	.rept 256
	isr_stub_address %vec
	.set vec, vec + 1
	.endr
