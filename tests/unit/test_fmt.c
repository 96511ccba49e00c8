/* The root-safe formatter against the C library's snprintf, which defines
 * what each conversion must produce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/fmt.h"

#define SAME(...)                                                    \
	do {                                                         \
		char want[128], got[128];                            \
		int wn = snprintf(want, sizeof(want), __VA_ARGS__);  \
		int gn = mw_snprintf(got, sizeof(got), __VA_ARGS__); \
		assert_string_equal(got, want);                      \
		assert_int_equal(gn, wn);                            \
	} while (0)

static void test_integers(void **state)
{
	(void)state;
	SAME("%d %i %u", 0, -1, 4000000000u);
	SAME("%d", (int)INT32_MIN);
	SAME("%lld", (long long)INT64_MIN);
	SAME("%llu", (unsigned long long)UINT64_MAX);
	SAME("%x %X", 0xdeadbeefu, 0xdeadbeefu);
	SAME("%llx", 0xfedcba9876543210ull);
	SAME("%zu %zx", (size_t)12345, (size_t)0xabc);
	/* hh and h narrow the promoted int, as C11 7.21.6.1 says. */
	// cppcheck-suppress invalidPrintfArgType_uint
	SAME("%hhu %hu", 300, 70000);
	// cppcheck-suppress invalidPrintfArgType_sint
	SAME("%hhd %hd", 200, 40000);
	SAME("%lu %ld", 123456789ul, -5l);
}

static void test_width_and_flags(void **state)
{
	(void)state;
	SAME("[%8d]", 42);
	SAME("[%-8d]", 42);
	SAME("[%08d]", -42);
	SAME("[%016llx]", 0x1234ull);
	SAME("[%04x]", 0x12345u);
	SAME("[%-5s]", "ab");
	SAME("[%5s]", "ab");
	SAME("[%.3s]", "abcdef");
	SAME("[%c%c]", 'o', 'k');
	SAME("[%%]");
}

static void test_pointers_and_null_string(void **state)
{
	(void)state;
	char got[64];
	mw_snprintf(got, sizeof(got), "%p", (void *)0x1000);
	assert_string_equal(got, "0x1000");
	const char *volatile none = NULL; /* hidden from the compiler's check */
	mw_snprintf(got, sizeof(got), "%s", none);
	assert_string_equal(got, "(null)");
}

static void test_truncation(void **state)
{
	(void)state;
	char buf[8];
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(mw_snprintf(buf, sizeof(buf), "%s", "0123456789"), 10);
	assert_string_equal(buf, "0123456");
	assert_int_equal(mw_snprintf(buf, 1, "abc"), 3);
	assert_string_equal(buf, "");
	/* size 0 writes nothing at all */
	buf[0] = 'q';
	assert_int_equal(mw_snprintf(buf, 0, "abc"), 3);
	assert_int_equal(buf[0], 'q');
}

static void test_unknown_conversion_is_shown(void **state)
{
	(void)state;
	char buf[32];
	/* A conversion it does not support is printed, not guessed at; the
	 * format string is built at run time so the compiler lets it by. */
	char fmt[] = "a%qb";
	mw_snprintf(buf, sizeof(buf), fmt);
	assert_string_equal(buf, "a%qb");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_width_and_flags),
		cmocka_unit_test(test_pointers_and_null_string),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_unknown_conversion_is_shown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
