/* One logical CPU under marrow: its VMX regions, host stack and IDT, the
 * guest registers of the current exit, statistics and log. In VMX root
 * mode, HOST_GS_BASE points at the CPU's struct vcpu, so root-mode code
 * finds it with one load (this_vcpu()) and never asks the OS. */
#ifndef MARROW_CORE_VCPU_H
#define MARROW_CORE_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log_ring.h"
#include "core/status.h"
#include "core/vcpu_asm.h"
#include "marrow/stats.h"

#define HOST_STACK_PAGES 4
#define LOG_RING_PAGES 4
/* struct vcpu is allocated in whole pages. */
#define VCPU_PAGES 1

/* The guest's general-purpose registers, as vmx_entry.S saves them on the
 * host stack at every exit (RSP is in the VMCS). Index by GPR number. */
struct guest_regs {
	uint64_t rax, rcx, rdx, rbx, rsp_unused, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

/* What the exit stub leaves on the host stack: the registers, then an
 * IRETQ frame that the devirtualize path fills to return into the guest
 * outside VMX operation. */
struct exit_frame {
	struct guest_regs regs;
	uint64_t iret_rip, iret_cs, iret_rflags, iret_rsp, iret_ss;
};

struct ept;

/* A CPU that switched hooked pages to their data view for one instruction
 * (hook/split.c). */
#define STEP_MAX_PAGES 4
enum step_method { STEP_NONE = 0, STEP_MTF = 1, STEP_TF = 2 };
struct vcpu_step {
	uint8_t method;	  /* enum step_method: how the instruction is being stepped */
	uint8_t count;	  /* pages in the data view */
	uint8_t wrote;	  /* a write happened: carry it into the copies */
	uint8_t guest_tf; /* TF method: the guest's own RFLAGS.TF before */
	uint64_t pages[STEP_MAX_PAGES];
};

enum mtf_probe { MTF_PROBE_IDLE, MTF_PROBE_ARMED, MTF_PROBE_SEEN };

struct vcpu {
	struct vcpu *self; /* first: this_vcpu() reads gs:0 in root mode */
	/* Read by vmx_entry.S at the offsets in vcpu_asm.h. */
	volatile uint32_t fast_path; /* 0: every exit goes to the C dispatcher */
	uint32_t scratch;
	struct mw_cpu_stats stats;

	unsigned index;
	uint32_t apic_id;
	uint16_t vpid;
	volatile bool virtualized;

	void *vmxon_region;
	uint64_t vmxon_pa;
	void *vmcs;
	uint64_t vmcs_pa;
	uint8_t *host_stack;
	void *host_idt;	 /* one page: 256 gates */
	struct ept *ept; /* this CPU's own EPT tree */

	/* The guest's CR0/CR4 before marrow changed them for VMX operation,
	 * restored when it leaves. */
	uint64_t original_cr0, original_cr4;

	struct exit_frame *frame; /* the current exit's frame, root mode only */
	uint64_t exit_reason;	  /* of the current exit */

	volatile uint32_t pending_nmis;	 /* guest NMIs not yet delivered */
	volatile uint32_t expected_nmis; /* NMIs marrow sent itself */
	volatile bool leave_requested;	 /* devirtualize at the next exit */
	/* Another CPU changed this one's EPT (core/seal.c): INVEPT at the
	 * end of the next exit. */
	volatile bool ept_flush_pending;
	struct vcpu_step step;
	uint8_t mtf_probe; /* enum mtf_probe: MW_HC_PROBE_MTF in progress */
	/* Boot-time guest (core/boot_guest.h): this CPU's guest has been
	 * handed its new start; it waits for a SIPI (as after INIT). */
	bool handed_off;
	volatile bool waiting_sipi;
	/* Started by a SIPI under Bochs 2.7, which leaves SMIs blocked
	 * (exit_init_sipi.c): every exit clears that bit again. */
	bool scrub_smi_blocking;
	/* An INIT another CPU emulated for this one (core/boot_apic.c): set,
	 * and the NMIs that make this CPU exit counted while in flight. */
	volatile uint32_t init_pending;
	volatile uint32_t init_kicks;
	/* The guest's writes to registers marrow must know the value of:
	 * logical destination and format (INIT targets), ICR high dword. */
	uint32_t apic_ldr, apic_dfr, apic_icr_high;

	struct log_ring log; /* over log_buffer, LOG_RING_PAGES pages */
	void *log_buffer;
	volatile uint32_t log_reader; /* try-lock of the log's single reader */

	struct mw_error launch_error;
	uint32_t vmx_points; /* VMX instructions of the launch so far (core/fault.h) */
};

_Static_assert(offsetof(struct vcpu, fast_path) == VCPU_FAST_PATH, "vcpu_asm.h");
_Static_assert(offsetof(struct vcpu, scratch) == VCPU_SCRATCH, "vcpu_asm.h");
_Static_assert(offsetof(struct vcpu, stats) == VCPU_STATS, "vcpu_asm.h");
_Static_assert(offsetof(struct vcpu, stats.exits_total) == VCPU_EXITS_TOTAL, "vcpu_asm.h");
_Static_assert(offsetof(struct vcpu, stats.exits[10]) == VCPU_EXITS_CPUID, "vcpu_asm.h");
_Static_assert(sizeof(struct vcpu) <= VCPU_PAGES * 4096, "struct vcpu outgrew its pages");

static inline struct vcpu *this_vcpu(void)
{
	struct vcpu *v;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(v));
	return v;
}

#endif
