/* Running a few bytes of code at CPL 3, for guest tests of what user code
 * sees (VMCALL from ring 3 must raise #UD, XSETBV #GP...). */
#ifndef MARROW_BAREMETAL_USER_H
#define MARROW_BAREMETAL_USER_H

#include <stddef.h>
#include <stdint.h>

#include "catch.h"

/* Copies code (len bytes) to a fresh user page and runs it at CPL 3 with a
 * user stack and interrupts disabled, until it traps. The code must end in
 * a trap (any exception: HLT, which is privileged, gives #GP). Fills *info
 * with that trap; rip in it is relative to the code's start. Returns false
 * if the user page could not be set up. */
bool user_run(const void *code, size_t len, struct trap_info *info);

#endif
