/* A deliberately broken suite, run only when named (GUEST_TESTS=broken):
 * it proves that a failed assertion and an unexpected exception each fail
 * `make test`, and that the tests after them still run. */
#include "guest_test.h"

GUEST_TEST_EXPLICIT(broken, failed_assertion)
{
	GT_ASSERT_EQ(1 + 1, 3);
}

GUEST_TEST_EXPLICIT(broken, unexpected_exception)
{
	__asm__ volatile("ud2");
}

GUEST_TEST_EXPLICIT(broken, passes_after_the_failures)
{
	GT_ASSERT_EQ(1 + 1, 2);
}
