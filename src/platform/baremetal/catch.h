/* Running a function so that a CPU exception inside it returns to the
 * caller, described, instead of ending the run: how a guest test that faults
 * becomes that test's failure, and how a test expects #UD or #GP. */
#ifndef MARROW_BAREMETAL_CATCH_H
#define MARROW_BAREMETAL_CATCH_H

#include <stdbool.h>
#include <stdint.h>

struct trap_info {
	uint64_t vector;
	uint64_t error_code;
	uint64_t rip;
	uint64_t cr2;
};

/* Callee-saved registers, stack and resume point (catch.S's layout). */
struct catch_frame {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip, rflags;
	struct trap_info info;
	struct catch_frame *prev;
};

/* Runs fn(arg). Returns false if it returned normally; true, with *info
 * filled, if an exception was raised inside it and not handled otherwise. */
bool catch_run(void (*fn)(void *), void *arg, struct trap_info *info);

/* Called by the trap dispatcher: if a catch is armed on this CPU, unwinds to
 * it (does not return). Returns if none is armed. */
struct trap_frame;
void catch_throw(const struct trap_frame *f);

/* The assembly half: setjmp/longjmp over struct catch_frame. */
__attribute__((returns_twice)) int catch_save(struct catch_frame *c);
__attribute__((noreturn)) void catch_restore(struct catch_frame *c, int value);

#endif
