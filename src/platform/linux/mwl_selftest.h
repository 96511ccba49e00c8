/* selftest.c's interface, free of Linux and core headers alike. */
#ifndef MARROW_LINUX_MWL_SELFTEST_H
#define MARROW_LINUX_MWL_SELFTEST_H

#include <stdbool.h>

/* True when a faulting instruction guarded by the core's exception table
 * resumed at its fixup under Linux's own handler. */
bool mwl_extable_selftest(void);

#endif
