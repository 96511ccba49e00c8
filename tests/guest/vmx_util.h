/* Helpers for guest tests of marrow itself: bring it up and down, call it,
 * count its exits, run code natively and under marrow for comparison. */
#ifndef MARROW_TESTS_GUEST_VMX_UTIL_H
#define MARROW_TESTS_GUEST_VMX_UTIL_H

#include "core/marrow.h"
#include "guest_test.h"
#include "marrow/hypercall.h"

/* The configuration tests run with: the bare-metal defaults (fatal
 * diagnostics on COM1) and a fixed key. */
void vt_config(struct mw_config *cfg);
/* Virtualizes every CPU with cfg (NULL: vt_config's), asserting success. */
void vt_up(const struct mw_config *cfg);
/* Devirtualizes every CPU, asserting success and that none is left. */
void vt_down(void);

#define VT_KEY 0x6b65792d6d61726full

/* A hypercall with the right key. */
static inline struct mw_hc_result vt_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return mw_vmcall(fn, mw.cfg.hypercall_key, a1, a2, a3);
}

/* Exits of a reason on a CPU so far. */
uint64_t vt_exits(unsigned cpu, unsigned reason);

/* Runs fn(arg) on every CPU and asserts it returned true on each. */
void vt_on_each_cpu_ok(bool (*fn)(void *), void *arg, const char *what);

#endif
