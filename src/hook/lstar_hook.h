/* The syscall hook: every CPU's IA32_LSTAR points at a stub of marrow's
 * that counts each SYSCALL by number and then jumps to the guest's own
 * entry. The guest keeps reading the entry it knows from LSTAR, and a
 * WRMSR(LSTAR) moves where the stub goes (one entry for all CPUs, as every
 * OS uses). The real LSTAR is the guest's again when the hook goes or the
 * CPU leaves VMX operation. */
#ifndef MARROW_HOOK_LSTAR_HOOK_H
#define MARROW_HOOK_LSTAR_HOOK_H

#include <stdint.h>

#include "core/status.h"

enum mw_status mw_lstar_hook(struct mw_error *err);
enum mw_status mw_lstar_unhook(void);
/* SYSCALLs with RAX = n since the hook (n >= STUB_SYSCALLS, 511: all of
 * those together); 0 when unhooked. */
uint64_t mw_syscall_count(uint64_t n);
/* The guest's syscall entry (what it reads from LSTAR), 0 when unhooked. */
uint64_t mw_lstar_guest_entry(void);
/* Where every CPU's real LSTAR points while hooked (the stub), 0 when
 * unhooked. */
uint64_t mw_lstar_stub(void);

#endif
