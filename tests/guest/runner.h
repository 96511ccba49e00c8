#ifndef MARROW_TESTS_GUEST_RUNNER_H
#define MARROW_TESTS_GUEST_RUNNER_H

/* Runs the tests the selection names ("all", or suites separated by commas)
 * and prints TAP. Returns the number of failed tests; an unknown suite name
 * is itself a failed test, so a typo cannot pass silently. */
int guest_run(const char *selection);

#endif
