/* setjmp/longjmp for struct catch_frame (catch.h): offsets rbx 0, rbp 8,
 * r12 16, r13 24, r14 32, r15 40, rsp 48, rip 56, rflags 64. RFLAGS is
 * restored so that the interrupt flag is what it was at catch_save. */
	.text
	.globl catch_save
catch_save:
	mov %rbx, 0(%rdi)
	mov %rbp, 8(%rdi)
	mov %r12, 16(%rdi)
	mov %r13, 24(%rdi)
	mov %r14, 32(%rdi)
	mov %r15, 40(%rdi)
	lea 8(%rsp), %rax /* the caller's RSP after our return */
	mov %rax, 48(%rdi)
	mov (%rsp), %rax /* our return address */
	mov %rax, 56(%rdi)
	pushfq
	pop %rax
	mov %rax, 64(%rdi)
	xor %eax, %eax
	ret

	.globl catch_restore
catch_restore:
	mov 0(%rdi), %rbx
	mov 8(%rdi), %rbp
	mov 16(%rdi), %r12
	mov 24(%rdi), %r13
	mov 32(%rdi), %r14
	mov 40(%rdi), %r15
	mov 48(%rdi), %rsp
	push 64(%rdi)
	popfq
	mov %esi, %eax
	jmp *56(%rdi)
