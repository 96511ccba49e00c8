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

/* Object-format differences, so that the same source assembles to ELF (the
 * bare-metal kernel, Linux) and to PE/COFF (the mingw-w64 Windows driver).
 * .type and .size exist only in ELF. COFF has no .rodata: read-only data
 * goes in .rdata, flagged data + read-only ("dr"). On Windows x64 every
 * non-leaf function that can be on the stack while the OS unwinds (an
 * exception, a bug check, a profiler's stack walk) needs unwind data
 * (Microsoft x64 exception handling, "Unwind data for exception handling"):
 * vmx_launch gets it through the assembler's .seh_* directives. Symbols
 * carry no leading underscore on x86-64 COFF, so the names are the same. */
#ifdef __ELF__
#define FUNCTION_TYPE(name) .type name, @function
#define FUNCTION_SIZE(name) .size name, . - name
#define RODATA_SECTION .section .rodata
#define SEH(...)
#else
#define FUNCTION_TYPE(name)
#define FUNCTION_SIZE(name)
#define RODATA_SECTION .section .rdata, "dr"
#define SEH(...) __VA_ARGS__
#endif

#include "core/vcpu_asm.h"

#define VMCS_GUEST_RSP 0x681c
#define VMCS_GUEST_RIP 0x681e
#define VMCS_GUEST_RFLAGS 0x6820
#define VMCS_GUEST_PENDING_DBG 0x6822
#define VMCS_GUEST_INTERRUPTIBILITY 0x4824
#define VMCS_EXIT_REASON 0x4402
#define VMCS_EXIT_INSTRUCTION_LEN 0x440c
#define EXIT_CPUID 10
#define CPUID_1_ECX_VMX 0x20
#define CPUID_1_ECX_OSXSAVE 0x8000000
#define CR4_OSXSAVE_BIT 18
#define VMCS_GUEST_CR4 0x6804
#define RFLAGS_TF 0x100
#define PENDING_DBG_BS 0x4000
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
#define MW_EXIT_STUB_SIZE
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
/* root_unblock_nmis IRETQs to itself (an NMI-blocking fix for Bochs): a
 * function, which objtool is told not to validate either. */
#define MW_UNBLOCK_BEGIN .type root_unblock_nmis, @function
#define MW_UNBLOCK_END .size root_unblock_nmis, . - root_unblock_nmis
	STACK_FRAME_NON_STANDARD root_unblock_nmis
	STACK_FRAME_NON_STANDARD host_stubs
#else
#define MW_RET ret
#define MW_EXIT_STUB_TYPE FUNCTION_TYPE(vmx_exit_stub)
#define MW_EXIT_STUB_SIZE FUNCTION_SIZE(vmx_exit_stub)
#define MW_EXIT_STUB_HINT
#define MW_LAUNCH_SAVE
#define MW_LAUNCH_RESTORE
#define MW_ROOT_FUNC_END(name)
#define MW_HOST_STUBS_BEGIN
#define MW_HOST_STUBS_END
#define MW_UNBLOCK_BEGIN FUNCTION_TYPE(root_unblock_nmis)
#define MW_UNBLOCK_END FUNCTION_SIZE(root_unblock_nmis)
#endif

	.text
	.code64

	.globl vmx_exit_stub
	MW_EXIT_STUB_TYPE
vmx_exit_stub:
	MW_EXIT_STUB_HINT
	/* The CPUID fast path. CPUID is the exit guests cause most, and the
	 * full path below costs about three times as much (docs/benchmarks.md).
	 * At the exit the guest's RAX and RCX are still live, so CPUID runs on
	 * them directly; only the leaf is kept (VCPU_SCRATCH) to clear VMX
	 * from leaf 1, as handle_cpuid does. The vCPU's fast_path flag is off
	 * whenever the C dispatcher must see every exit (cpuid_identify, a
	 * leave in progress); a guest NMI that arrives meanwhile has asked for
	 * an NMI-window exit itself (host_trap), so nothing waits on this
	 * path. */
	testl $1, %gs:VCPU_FAST_PATH
	jz .Lfull_exit
	push %rdx
	mov $VMCS_EXIT_REASON, %edx
	vmread %rdx, %rdx
	cmp $EXIT_CPUID, %edx
	jne .Lfull_exit_pop_rdx
	/* Leaf 7 reports CR4.PKE (OSPKE) by subleaf: the C handler's. */
	cmp $7, %eax
	je .Lfull_exit_pop_rdx
	add $8, %rsp /* the guest's RDX: CPUID overwrites it */
	incq %gs:VCPU_EXITS_TOTAL
	incq %gs:VCPU_EXITS_CPUID
	mov %eax, %gs:VCPU_SCRATCH
	cpuid
	push %rsi
	push %rdi
	cmpl $1, %gs:VCPU_SCRATCH
	jne 1f
	/* Leaf 1: no VMX, and OSXSAVE as the guest's CR4.OSXSAVE (bit 18)
	 * has it, not root mode's (exit_cpuid.c). */
	and $~(CPUID_1_ECX_VMX | CPUID_1_ECX_OSXSAVE), %ecx
	mov $VMCS_GUEST_CR4, %esi
	vmread %rsi, %rdi
	bt $CR4_OSXSAVE_BIT, %rdi
	jnc 1f
	or $CPUID_1_ECX_OSXSAVE, %ecx
1:
	/* RIP past the instruction (its length: prefixes count). */
	mov $VMCS_GUEST_RIP, %esi
	vmread %rsi, %rdi
	mov $VMCS_EXIT_INSTRUCTION_LEN, %esi
	vmread %rsi, %rsi
	add %rsi, %rdi
	mov $VMCS_GUEST_RIP, %esi
	vmwrite %rdi, %rsi
	/* The instruction is done: an STI or MOV SS shadow ends with it.
	 * Blocking by SMI (bit 2) goes too: it is never set outside SMM,
	 * where marrow's guests never are, but Bochs 2.7 saves it after a
	 * SIPI (exit_init_sipi.c) and VM entry would refuse it. */
	mov $VMCS_GUEST_INTERRUPTIBILITY, %esi
	vmread %rsi, %rdi
	test $7, %edi
	jnz .Lcpuid_end_shadow
.Lcpuid_check_tf:
	/* The guest's own single-step trap after the emulated instruction
	 * (pending debug exceptions BS, SDM 3C 28.3.3). */
	mov $VMCS_GUEST_RFLAGS, %esi
	vmread %rsi, %rdi
	test $RFLAGS_TF, %edi
	jnz .Lcpuid_single_step
.Lcpuid_resume:
	pop %rdi
	pop %rsi
	vmresume
	jmp .Lresume_failed

.Lcpuid_end_shadow:
	and $~7, %edi
	vmwrite %rdi, %rsi
	jmp .Lcpuid_check_tf
.Lcpuid_single_step:
	mov $VMCS_GUEST_PENDING_DBG, %esi
	vmread %rsi, %rdi
	or $PENDING_DBG_BS, %edi
	vmwrite %rdi, %rsi
	jmp .Lcpuid_resume

.Lfull_exit_pop_rdx:
	pop %rdx
.Lfull_exit:
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
.Lresume_failed:
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
	MW_EXIT_STUB_SIZE

	.globl vmx_launch
	FUNCTION_TYPE(vmx_launch)
vmx_launch:
	SEH(.seh_proc vmx_launch)
	push %rbp
	SEH(.seh_pushreg %rbp)
	push %rbx
	SEH(.seh_pushreg %rbx)
	push %r12
	SEH(.seh_pushreg %r12)
	push %r13
	SEH(.seh_pushreg %r13)
	push %r14
	SEH(.seh_pushreg %r14)
	push %r15
	SEH(.seh_pushreg %r15)
	SEH(.seh_endprologue)
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
	SEH(.seh_endproc)
	FUNCTION_SIZE(vmx_launch)

/* IRETQ to the next instruction, on the current stack: ends the NMI
 * blocking that an NMI-caused VM exit leaves in root mode. VM entry with
 * virtual NMIs should end it too (SDM 3C 27.6.1: "NMIs are not blocked in
 * VMX non-root operation"), but Bochs 2.7 keeps it until an IRET in root
 * mode; on hardware this is a no-op. Clobbers RAX and RCX. */
	.globl root_unblock_nmis
	MW_UNBLOCK_BEGIN
root_unblock_nmis:
	mov %rsp, %rax /* RSP at 1: still pointing at our return address */
	mov %ss, %ecx
	push %rcx
	push %rax
	pushfq
	mov %cs, %ecx
	push %rcx
	lea 1f(%rip), %rcx
	push %rcx
	iretq
1:	MW_RET
	MW_UNBLOCK_END

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

	RODATA_SECTION
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
