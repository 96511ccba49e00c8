/* The IDT marrow runs on in VMX root mode. Root mode keeps interrupts
 * disabled, so only exceptions and NMIs arrive: an NMI is queued for the
 * guest (none is lost), a fault in one of the root_* helpers returns an
 * error from it, and anything else is a fatal diagnostic. */
#ifndef MARROW_VMX_HOST_IDT_H
#define MARROW_VMX_HOST_IDT_H

#include <stdint.h>

#include "core/compiler.h"

struct host_trap_frame {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Fills a page with the host IDT's 256 gates for code selector cs. */
void host_idt_build(void *page, uint16_t cs);

/* Root-mode helpers (vmx_entry.S): 0 on success, 1 if the instruction
 * faulted. */
MW_ASM_ABI int root_rdmsr(uint32_t msr, uint64_t *value);
MW_ASM_ABI int root_wrmsr(uint32_t msr, uint64_t value);
MW_ASM_ABI int root_xsetbv(uint32_t index, uint64_t value);
/* Ends NMI blocking in root mode with an IRETQ to itself (vmx_entry.S). */
MW_ASM_ABI void root_unblock_nmis(void);

#endif
