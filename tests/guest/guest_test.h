/* Guest test suites: compiled into the bare-metal kernel, selected on its
 * command line (tests=all, or a comma-separated list of suites), run on the
 * boot CPU, reported as TAP on COM1. A failed assertion ends its test; a CPU
 * exception inside a test is that test's failure, never a hang. */
#ifndef MARROW_TESTS_GUEST_TEST_H
#define MARROW_TESTS_GUEST_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/platform/baremetal/catch.h"

/* Run only when the suite is named explicitly (the deliberately broken
 * suite that proves the runners catch failures). */
#define GT_EXPLICIT 1u

struct guest_test {
	const char *suite;
	const char *name;
	void (*fn)(void);
	unsigned flags;
	unsigned min_cpus; /* not in the plan on a machine with fewer CPUs */
};

#define GT_DEFINE(suite_, name_, flags_, min_cpus_)                               \
	static void gt_##suite_##_##name_(void);                                  \
	static const struct guest_test gt_entry_##suite_##_##name_                \
		__attribute__((section(".guest_tests"), used, aligned(8))) = {    \
			#suite_, #name_, gt_##suite_##_##name_, flags_, min_cpus_ \
		};                                                                \
	static void gt_##suite_##_##name_(void)

#define GUEST_TEST(suite, name) GT_DEFINE(suite, name, 0, 1)
#define GUEST_TEST_EXPLICIT(suite, name) GT_DEFINE(suite, name, GT_EXPLICIT, 1)
/* A test that needs at least n CPUs (e.g. restarting another CPU): on a
 * machine with fewer it is not part of the plan at all. */
#define GUEST_TEST_SMP(suite, name, n) GT_DEFINE(suite, name, 0, n)

/* Records a failure with its place and message. On the CPU running the test
 * it ends the test; on another CPU (inside platform_on_each_cpu) it marks
 * the current test failed and returns. */
void gt_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A diagnostic line ("# ...") in the TAP stream. */
void gt_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define GT_ASSERT(cond)                                                             \
	do {                                                                        \
		if (!(cond))                                                        \
			gt_fail(__FILE__, __LINE__, "assertion failed: %s", #cond); \
	} while (0)

#define GT_ASSERT_EQ(a, b)                                                                \
	do {                                                                              \
		uint64_t gt_a_ = (uint64_t)(a), gt_b_ = (uint64_t)(b);                    \
		if (gt_a_ != gt_b_)                                                       \
			gt_fail(__FILE__, __LINE__, "%s == %s: 0x%llx != 0x%llx", #a, #b, \
				(unsigned long long)gt_a_, (unsigned long long)gt_b_);    \
	} while (0)

#define GT_ASSERT_NE(a, b)                                                           \
	do {                                                                         \
		uint64_t gt_a_ = (uint64_t)(a), gt_b_ = (uint64_t)(b);               \
		if (gt_a_ == gt_b_)                                                  \
			gt_fail(__FILE__, __LINE__, "%s != %s: both 0x%llx", #a, #b, \
				(unsigned long long)gt_a_);                          \
	} while (0)

/* Runs fn(arg) and returns the exception vector it raised, or -1 if it
 * returned normally; *info (if not NULL) gets the details. */
int gt_trap_of(void (*fn)(void *), void *arg, struct trap_info *info);

#endif
