/* Logging and fatal diagnostics from VMX root mode. Records go to the
 * CPU's lock-free log ring (drained outside root mode, or read with
 * MW_HC_READ_LOG); a fatal diagnostic also goes to the debug port when one
 * is configured, then the platform's root-safe fatal hook runs, or the CPU
 * halts. Never an OS call, never a lock. */
#ifndef MARROW_CORE_ROOT_LOG_H
#define MARROW_CORE_ROOT_LOG_H

#include <stdint.h>

#include "core/compiler.h"

struct vcpu;

enum mw_log_level {
	MW_LOG_ERROR = 0,
	MW_LOG_WARN = 1,
	MW_LOG_INFO = 2,
	MW_LOG_DEBUG = 3,
};

void root_log(struct vcpu *v, enum mw_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A line of a fatal diagnostic, before root_fatal_exit: to the log ring
 * and to the debug port. */
void root_fatal_note(struct vcpu *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports an exception taken in root mode, then stops (no return). */
__attribute__((noreturn)) void root_fatal_trap(struct vcpu *v, uint64_t vector, uint64_t error_code,
					       uint64_t rip, uint64_t rsp);
/* Reports an exit marrow cannot continue from, with the guest's state and
 * the decoded reason, then stops. */
__attribute__((noreturn)) void root_fatal_exit(struct vcpu *v, const char *why);

/* In the Linux module, calls from other files go through declarations of
 * the same two functions without noreturn, each call followed by
 * MW_UNREACHABLE() (core/compiler.h), so that objtool sees where the path
 * ends. Elsewhere the calls are the plain ones. */
#if defined(MW_PLATFORM_LINUX) && !defined(MW_ROOT_LOG_IMPL)
void root_fatal_trap_checked(struct vcpu *v, uint64_t vector, uint64_t error_code, uint64_t rip,
			     uint64_t rsp) __asm__("root_fatal_trap");
void root_fatal_exit_checked(struct vcpu *v, const char *why) __asm__("root_fatal_exit");
#define root_fatal_trap(...)                          \
	({                                            \
		root_fatal_trap_checked(__VA_ARGS__); \
		MW_UNREACHABLE();                     \
	})
#define root_fatal_exit(...)                          \
	({                                            \
		root_fatal_exit_checked(__VA_ARGS__); \
		MW_UNREACHABLE();                     \
	})
#endif

#endif
