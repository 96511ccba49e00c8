/* Inline hooks on EPT split pages: a function's first bytes become a jump
 * to marrow's stub, in the page's execute view only. Every CPU that calls
 * the function runs the handler, which may call the original through a
 * trampoline; every read of the function's bytes (an integrity check, a
 * debugger) sees the original. No VM exit on the hooked call.
 *
 * The handler has the hooked function's signature and calling convention.
 * The stub counts the calls and jumps to it; the trampoline holds the
 * function's first instructions, relocated, and jumps back after them.
 *
 * Install and remove run outside root mode, one hook change at a time
 * (MW_ERR_BUSY otherwise); every CPU switches views together. A removed
 * hook's stub and trampoline stay until marrow unloads: a handler that is
 * still running on some CPU may yet call the original through it. */
#ifndef MARROW_HOOK_INLINE_HOOK_H
#define MARROW_HOOK_INLINE_HOOK_H

#include <stdint.h>

#include "core/status.h"

/* Hooks installed over one load of marrow (removed ones included). */
#define MW_INLINE_HOOKS_MAX 512

struct mw_inline_hook;

/* Hooks the function at target. *original is set, before any CPU can run
 * the handler, to the trampoline that runs the original function. */
enum mw_status mw_hook_install(void *target, const void *handler, void **original,
			       struct mw_inline_hook **out, struct mw_error *err);
/* A hook that only counts: every call goes through the stub (counted) and
 * straight on to the original, through the trampoline. For tools that
 * hook by name without a handler of their own (marrowctl hook add). */
enum mw_status mw_hook_install_counting(void *target, struct mw_inline_hook **out,
					struct mw_error *err);
/* Unhooks; on return no CPU is inside the stub or the trampoline (a
 * handler may still be running). */
enum mw_status mw_hook_remove(struct mw_inline_hook *h);
/* Calls that went through the hook so far. */
uint64_t mw_hook_hits(const struct mw_inline_hook *h);

/* Removes every hook still installed (marrow is leaving) ... */
void inline_hooks_remove_all(void);
/* ... and, once no CPU is virtualized, frees the stubs and trampolines. */
void inline_hooks_free_code(void);

#endif
