/* Writing a whole new guest state into the current VMCS, in root mode:
 * the state INIT gives a processor (SDM 3A 10.1.1, table 10-1), and the
 * flat 32-bit protected mode that boot loaders hand an operating system
 * (the multiboot specifications, "Machine state"; the Linux/x86 32-bit boot
 * protocol). Both need unrestricted guest (SDM 3C 27.3.1.1: CR0.PG = 0).
 * Root-safe: VMCS writes only. */
#ifndef MARROW_VMX_GUEST_STATE_H
#define MARROW_VMX_GUEST_STATE_H

#include <stdint.h>

struct exit_ctx;

/* The guest's segments, control registers, RIP, RSP, RFLAGS, descriptor
 * tables, debug state and interruptibility as after INIT; its GPRs as INIT
 * leaves them (EDX = the processor signature, the rest 0). The activity
 * state is the caller's choice (wait-for-SIPI for an AP). */
void guest_state_init(struct exit_ctx *c);

/* A flat 32-bit protected-mode entry: CS a 4 GiB execute/read code
 * segment, the other segments 4 GiB read/write data, paging and long mode
 * off, interrupts disabled. The selectors are what the guest reads from CS
 * and the data registers; a boot protocol that names them (Linux's
 * __BOOT_CS and __BOOT_DS) puts matching descriptors in the GDT at
 * gdt_base. GPRs are the caller's. */
struct guest_entry32 {
	uint32_t eip, esp;
	uint32_t gdt_base;
	uint16_t gdt_limit;
	uint16_t cs, ds;
};
void guest_state_entry32(struct exit_ctx *c, const struct guest_entry32 *e);

#endif
