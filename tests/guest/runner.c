#include "runner.h"

#include <stdarg.h>

#include "core/fmt.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "guest_test.h"
#include "platform/platform.h"
#include "src/platform/baremetal/console.h"
#include "src/platform/baremetal/percpu.h"
#include "src/platform/baremetal/sections.h"
#include "src/platform/baremetal/trap.h"

extern const struct guest_test __guest_tests_start[], __guest_tests_end[];

static size_t test_count(void)
{
	return SECTION_ENTRIES(__guest_tests_start, __guest_tests_end);
}

/* The CPU running the current test, and whether it has failed. */
static unsigned running_cpu;
static volatile bool current_failed;
/* A software abort of a test (failed assertion) unwinds with this vector,
 * which no CPU exception has. */
#define GT_ABORT_VECTOR 0x1000

void gt_note(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	mw_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kprintf("# %s\n", buf);
}

void gt_fail(const char *file, int line, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	mw_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kprintf("# %s:%d: %s (cpu %u)\n", file, line, buf, this_cpu()->index);
	current_failed = true;

	struct catch_frame *c = this_cpu()->catch;
	if (this_cpu()->index == running_cpu && c) {
		/* Unwind to the runner's catch, not a test's own inner one:
		 * an assertion is not an exception the test expects. */
		while (c->prev)
			c = c->prev;
		c->info.vector = GT_ABORT_VECTOR;
		this_cpu()->catch = c;
		catch_restore(c, 1);
	}
}

int gt_trap_of(void (*fn)(void *), void *arg, struct trap_info *info)
{
	struct trap_info local;
	if (!catch_run(fn, arg, &local))
		return -1;
	if (info)
		*info = local;
	return (int)local.vector;
}

/* Is `suite` one of the comma-separated names in sel? */
static bool named(const char *sel, const char *suite)
{
	size_t n = strlen(suite);
	for (const char *p = sel; *p;) {
		const char *end = p;
		while (*end && *end != ',')
			end++;
		if ((size_t)(end - p) == n && strncmp(p, suite, n) == 0)
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

static bool selected(const char *sel, const struct guest_test *t)
{
	if (platform_cpu_count() < t->min_cpus)
		return false;
	if (named(sel, t->suite))
		return true;
	return named(sel, "all") && !(t->flags & GT_EXPLICIT);
}

static void run_test_fn(void *arg)
{
	const struct guest_test *t = arg;
	t->fn();
}

static int run_one(unsigned n, const struct guest_test *t)
{
	struct trap_info info;

	current_failed = false;
	running_cpu = this_cpu()->index;
	if (catch_run(run_test_fn, (void *)t, &info) && info.vector != GT_ABORT_VECTOR) {
		kprintf("# exception %s (vector %llu, error 0x%llx) at rip %llx in the test\n",
			trap_vector_name((unsigned)info.vector), (unsigned long long)info.vector,
			(unsigned long long)info.error_code, (unsigned long long)info.rip);
		current_failed = true;
	}
	/* A test that failed with marrow up leaves it up; the next test starts
	 * from a CPU that is not virtualized. */
	if (mw.active && mw_devirtualize_all() != MW_OK) {
		kprintf("# marrow could not be devirtualized after the test\n");
		current_failed = true;
	}
	kprintf("%s %u - %s/%s\n", current_failed ? "not ok" : "ok", n, t->suite, t->name);
	return current_failed ? 1 : 0;
}

/* Names in the selection that match no suite. */
static unsigned unknown_names(const char *sel, char *first, size_t size)
{
	unsigned unknown = 0;
	for (const char *p = sel; *p;) {
		const char *end = p;
		while (*end && *end != ',')
			end++;
		size_t len = (size_t)(end - p);
		bool found = len == 3 && strncmp(p, "all", 3) == 0;
		for (size_t i = 0; !found && i < test_count(); i++) {
			const struct guest_test *t = &__guest_tests_start[i];
			found = strlen(t->suite) == len && strncmp(p, t->suite, len) == 0;
		}
		if (!found && len) {
			if (!unknown && len < size) {
				memcpy(first, p, len);
				first[len] = '\0';
			}
			unknown++;
		}
		p = *end ? end + 1 : end;
	}
	return unknown;
}

int guest_run(const char *sel)
{
	unsigned total = 0;
	char bad[64] = "";
	int failed = 0;

	for (size_t i = 0; i < test_count(); i++) {
		const struct guest_test *t = &__guest_tests_start[i];
		total += selected(sel, t);
	}
	unsigned unknown = unknown_names(sel, bad, sizeof(bad));

	kprintf("TAP version 13\n1..%u\n", total + (unknown ? 1 : 0));
	unsigned n = 0;
	for (size_t i = 0; i < test_count(); i++) {
		const struct guest_test *t = &__guest_tests_start[i];
		if (selected(sel, t))
			failed += run_one(++n, t);
	}
	if (unknown) {
		kprintf("# %u unknown suite name(s) in tests=%s, first: %s\n", unknown, sel, bad);
		kprintf("not ok %u - selection/unknown-suite\n", ++n);
		failed++;
	}
	kprintf("# guest tests: %u run, %d failed\n", n, failed);
	return failed;
}
