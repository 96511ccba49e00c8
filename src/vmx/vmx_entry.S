/* The assembly of marrow's exit path and launch.
 *
 * vmx_exit_stub: HOST_RIP. Saves the guest GPRs as struct guest_regs
 * (core/vcpu.h) under an IRETQ frame slot, calls vmx_exit_handler(frame),
 * then either VMRESUMEs or, when this CPU has just left VMX operation,
 * IRETQs into the guest with the frame the handler filled.
 *
 * vmx_launch: the "return twice" launch. It saves the callee-saved
 * registers, points GUEST_RSP/GUEST_RIP at its own stack and resume label,
 * and executes VMLAUNCH. On success the CPU continues at the label as the
 * guest, with the same stack and registers, and vmx_launch returns 0 a
 * second time, now in the guest. On failure it returns 1 (VMfailInvalid) or
 * 2 (VMfailValid) without ever having left. */

#define VMCS_GUEST_RSP 0x681c
#define VMCS_GUEST_RIP 0x681e
#define IRET_FRAME_SIZE 40

#if defined(MW_PLATFORM_LINUX)
/* In marrow.ko this file passes objtool, which checks the stack and the
 * returns of every object (BOCHS.md). Returns use the kernel's RET (the
 * return thunk of a RETHUNK kernel, `ret; int3` under SLS). vmx_exit_stub
 * is entered by VM exits on a fresh stack with nothing above it: a code
 * label, not a function, whose unwind hint says "end of stack", so that an
 * unwinder (an NMI's, outside root mode on the way out) stops there.
 * vmx_launch returns twice: objtool saves its unwind state before
 * VMLAUNCH and restores it at the label where the guest resumes, as KVM
 * does around its own VM entry. Elsewhere these expand to nothing. */
#include <linux/linkage.h>
#include <linux/objtool.h>
#include <asm/asm.h>
#include <asm/unwind_hints.h>
#define MW_RET RET
#define MW_EXIT_STUB_TYPE
#define MW_EXIT_STUB_HINT UNWIND_HINT_EMPTY
#define MW_LAUNCH_SAVE UNWIND_HINT_SAVE
#define MW_LAUNCH_RESTORE UNWIND_HINT_RESTORE
/* The root_* accessors become functions objtool checks; their fixups are
 * reached through a fault, which objtool learns from an exception-table
 * entry. The entry is also right for Linux: the accessors run in root
 * mode under marrow's host IDT, but if one ever faulted under Linux's IDT,
 * Linux would resume at the same fixup. */
#define MW_ROOT_FUNC_END(name)      \
	.type name, @function;      \
	.size name, . - name;       \
	_ASM_EXTABLE(name##_fault, name##_fixup)
/* The host IDT's stubs run only in root mode, entered by exceptions and
 * NMIs on marrow's host stack; no Linux unwinder ever walks them. They
 * form one function objtool is told not to validate. */
#define MW_HOST_STUBS_BEGIN .type host_stubs, @function; host_stubs:
#define MW_HOST_STUBS_END .size host_stubs, . - host_stubs
	STACK_FRAME_NON_STANDARD host_stubs
#else
#define MW_RET ret
#define MW_EXIT_STUB_TYPE .type vmx_exit_stub, @function
#define MW_EXIT_STUB_HINT
#define MW_LAUNCH_SAVE
#define MW_LAUNCH_RESTORE
#define MW_ROOT_FUNC_END(name)
#define MW_HOST_STUBS_BEGIN
#define MW_HOST_STUBS_END
#endif

	.text
	.code64

	.globl vmx_exit_stub
	MW_EXIT_STUB_TYPE
vmx_exit_stub:
	MW_EXIT_STUB_HINT
	sub $IRET_FRAME_SIZE, %rsp
	push %r15
	push %r14
	push %r13
	push %r12
	push %r11
	push %r10
	push %r9
	push %r8
	push %rdi
	push %rsi
	push %rbp
	push $0 /* RSP slot: the guest's RSP is in the VMCS */
	push %rbx
	push %rdx
	push %rcx
	push %rax
	mov %rsp, %rdi
	cld
	call vmx_exit_handler
	test %al, %al
	jz .Lleave_vmx
	pop %rax
	pop %rcx
	pop %rdx
	pop %rbx
	add $8, %rsp
	pop %rbp
	pop %rsi
	pop %rdi
	pop %r8
	pop %r9
	pop %r10
	pop %r11
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	add $IRET_FRAME_SIZE, %rsp
	vmresume
	/* VMRESUME failed: report it (does not return). */
	pushfq
	pop %rdi
	call vmx_resume_failed
1:	cli
	hlt
	jmp 1b

.Lleave_vmx:
	/* VMXOFF is done and the guest's system state restored; the frame
	 * above the registers is the guest's RIP, CS, RFLAGS, RSP, SS. */
	pop %rax
	pop %rcx
	pop %rdx
	pop %rbx
	add $8, %rsp
	pop %rbp
	pop %rsi
	pop %rdi
	pop %r8
	pop %r9
	pop %r10
	pop %r11
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	iretq
	.size vmx_exit_stub, . - vmx_exit_stub

	.globl vmx_launch
	.type vmx_launch, @function
vmx_launch:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov $VMCS_GUEST_RSP, %rax
	vmwrite %rsp, %rax
	lea .Lguest_resumes_here(%rip), %rdx
	mov $VMCS_GUEST_RIP, %rax
	vmwrite %rdx, %rax
	MW_LAUNCH_SAVE
	vmlaunch
	/* Still here: the launch failed. CF: VMfailInvalid, ZF: VMfailValid. */
	mov $1, %eax
	jc .Llaunch_out
	mov $2, %eax
	jmp .Llaunch_out
.Lguest_resumes_here:
	MW_LAUNCH_RESTORE
	xor %eax, %eax
.Llaunch_out:
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	MW_RET
	.size vmx_launch, . - vmx_launch

/* Root-mode MSR and XCR access that survives a fault: the host IDT's
 * handler finds the faulting RIP in root_fixups (host_idt.c) and resumes
 * at the fixup, which returns 1. On success they return 0. */
	.globl root_rdmsr, root_rdmsr_fault, root_rdmsr_fixup
root_rdmsr: /* (uint32_t msr, uint64_t *value) */
	mov %edi, %ecx
root_rdmsr_fault:
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, (%rsi)
	xor %eax, %eax
	MW_RET
root_rdmsr_fixup:
	mov $1, %eax
	MW_RET
	MW_ROOT_FUNC_END(root_rdmsr)

	.globl root_wrmsr, root_wrmsr_fault, root_wrmsr_fixup
root_wrmsr: /* (uint32_t msr, uint64_t value) */
	mov %edi, %ecx
	mov %rsi, %rax
	mov %rsi, %rdx
	shr $32, %rdx
root_wrmsr_fault:
	wrmsr
	xor %eax, %eax
	MW_RET
root_wrmsr_fixup:
	mov $1, %eax
	MW_RET
	MW_ROOT_FUNC_END(root_wrmsr)

	.globl root_xsetbv, root_xsetbv_fault, root_xsetbv_fixup
root_xsetbv: /* (uint32_t index, uint64_t value) */
	mov %edi, %ecx
	mov %rsi, %rax
	mov %rsi, %rdx
	shr $32, %rdx
root_xsetbv_fault:
	xsetbv
	xor %eax, %eax
	MW_RET
root_xsetbv_fixup:
	mov $1, %eax
	MW_RET
	MW_ROOT_FUNC_END(root_xsetbv)

/* Host IDT stubs: root mode runs with interrupts disabled, so only
 * exceptions and NMIs arrive here. Each stub pushes a dummy error code where
 * the CPU pushes none, then the vector, and joins host_trap_common, which
 * saves the GPRs and calls host_trap(frame). */
	.altmacro
	.macro host_stub v
	.balign 16
host_stub_\v:
	.if !(\v == 8 || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21 || \v == 29 || \v == 30)
	pushq $0
	.endif
	pushq $\v
	jmp host_trap_common
	.endm

	MW_HOST_STUBS_BEGIN
	.set vec, 0
	.rept 32
	host_stub %vec
	.set vec, vec + 1
	.endr

host_trap_common:
	push %r15
	push %r14
	push %r13
	push %r12
	push %r11
	push %r10
	push %r9
	push %r8
	push %rdi
	push %rsi
	push %rbp
	push %rbx
	push %rdx
	push %rcx
	push %rax
	mov %rsp, %rdi
	cld
	call host_trap
	pop %rax
	pop %rcx
	pop %rdx
	pop %rbx
	pop %rbp
	pop %rsi
	pop %rdi
	pop %r8
	pop %r9
	pop %r10
	pop %r11
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	add $16, %rsp
	iretq
	MW_HOST_STUBS_END

	.section .rodata
	.balign 8
	.macro host_stub_address v
	.quad host_stub_\v
	.endm
	.globl host_stub_table
host_stub_table:
	.set vec, 0
	.rept 32
	host_stub_address %vec
	.set vec, vec + 1
	.endr
