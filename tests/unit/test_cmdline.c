/* Kernel command-line words: key=value lookups and bare flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "src/platform/baremetal/cmdline.h"

static void test_get(void **state)
{
	(void)state;
	char buf[16];
	bool too_long;
	const char *cl = "  tests=smp,alloc  dump_mbi testsx=1 t=2 ";

	assert_true(cmdline_get(cl, "tests", buf, sizeof(buf), &too_long));
	assert_string_equal(buf, "smp,alloc");
	assert_true(cmdline_get(cl, "t", buf, sizeof(buf), &too_long));
	assert_string_equal(buf, "2");
	assert_false(cmdline_get(cl, "test", buf, sizeof(buf), &too_long));
	assert_false(too_long);
	assert_false(cmdline_get(cl, "dump_mbi", buf, sizeof(buf), &too_long));
	assert_false(cmdline_get(NULL, "tests", buf, sizeof(buf), &too_long));
	/* An empty value is a value. */
	assert_true(cmdline_get("k=", "k", buf, sizeof(buf), &too_long));
	assert_string_equal(buf, "");
}

static void test_value_too_long(void **state)
{
	(void)state;
	char buf[4];
	bool too_long;
	assert_false(cmdline_get("tests=abcd", "tests", buf, sizeof(buf), &too_long));
	assert_true(too_long);
	assert_true(cmdline_get("tests=abc", "tests", buf, sizeof(buf), &too_long));
	assert_false(too_long);
	assert_string_equal(buf, "abc");
}

static void test_has(void **state)
{
	(void)state;
	assert_true(cmdline_has("a dump_mbi b", "dump_mbi"));
	assert_true(cmdline_has("dump_mbi", "dump_mbi"));
	assert_false(cmdline_has("dump_mbix", "dump_mbi"));
	assert_false(cmdline_has("dump_mbi=1", "dump_mbi"));
	assert_false(cmdline_has("", "dump_mbi"));
	assert_false(cmdline_has(NULL, "dump_mbi"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_value_too_long),
		cmocka_unit_test(test_has),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
