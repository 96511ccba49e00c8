/* Interrupts and exceptions of the bare-metal kernel. */
#ifndef MARROW_BAREMETAL_TRAP_H
#define MARROW_BAREMETAL_TRAP_H

#include <stdbool.h>
#include <stdint.h>

/* What isr.S pushes, lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* A handler returns true when it dealt with the trap; false passes it on
 * (to a test's catch, else to the fatal report). */
typedef bool (*trap_handler_fn)(struct trap_frame *f);

void idt_init(void); /* builds the IDT once */
void idt_load(void); /* loads it on the calling CPU */
void trap_set_handler(unsigned vector, trap_handler_fn fn);
void trap_dispatch(struct trap_frame *f);
void trap_dump(const struct trap_frame *f);
const char *trap_vector_name(unsigned vector);

/* Vectors the kernel uses for its own interrupts. */
#define VEC_WAKE_IPI 0xf0
#define VEC_TEST_IPI 0xf1
#define VEC_LAPIC_TIMER 0xf2
#define VEC_SPURIOUS 0xff

#endif
