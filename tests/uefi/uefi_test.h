/* The UEFI test application (marrowtest.efi): runs after marrow.efi, as a
 * guest of it, and reports TAP on the console (OVMF copies it to COM1).
 * Tests are listed in order in suite_uefi.c; a failed check marks its test
 * failed and the test goes on. */
#ifndef MARROW_TESTS_UEFI_TEST_H
#define MARROW_TESTS_UEFI_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "marrow/hypercall.h"

struct ut_test {
	const char *name;
	void (*fn)(void);
};

extern const struct ut_test ut_tests[];
extern const unsigned ut_test_count;
/* `seal` on the command line (marrowtest.efi run by marrowldr.efi): these
 * run instead, numbered after ut_tests (suite_seal.c). */
extern const struct ut_test ut_seal_tests[];
extern const unsigned ut_seal_test_count;

/* The key marrow.efi was loaded with (key= on both command lines). */
extern uint64_t ut_key;

void ut_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ut_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define UT_CHECK(cond)                                                          \
	do {                                                                    \
		if (!(cond))                                                    \
			ut_fail(__FILE__, __LINE__, "check failed: %s", #cond); \
	} while (0)

#define UT_CHECK_EQ(a, b)                                                                 \
	do {                                                                              \
		uint64_t ut_a_ = (uint64_t)(a), ut_b_ = (uint64_t)(b);                    \
		if (ut_a_ != ut_b_)                                                       \
			ut_fail(__FILE__, __LINE__, "%s == %s: 0x%llx != 0x%llx", #a, #b, \
				(unsigned long long)ut_a_, (unsigned long long)ut_b_);    \
	} while (0)

/* The firmware's memory map now, into map (size bytes; on return *size
 * the bytes used, *desc_size a descriptor's size); false on an error. */
bool ut_memory_map(void *map, uint64_t *size, uint64_t *desc_size);
/* ExitBootServices with a fresh map key; from then on the harness writes
 * to COM1 directly and MP services are gone. False if the firmware
 * refused twice. */
bool ut_exit_boot_services(void);

/* Every enabled CPU, from MP services. */
unsigned ut_cpu_count(void);
/* Runs fn(cpu, arg) on every CPU (the APs through StartupAllAPs, with a
 * time limit so that a CPU that never answers fails the test instead of
 * hanging it); false if some CPU did not run it. */
bool ut_on_each_cpu(void (*fn)(unsigned cpu, void *arg), void *arg);

/* The exception vector an instruction raised, -1 for none: the faulting
 * instructions carry exception-table entries (arch/x86/safe.h). */
int ut_rdmsr(uint32_t msr, uint64_t *value);
int ut_vmxon(uint64_t pa);
int ut_vmcall(uint64_t fn, uint64_t key, struct mw_hc_result *r);

#endif
