#include "hooks.h"

#include "core/marrow.h"
#include "hook/exception_hook.h"
#include "hook/inline_hook.h"
#include "hook/lstar_hook.h"
#include "hook/msr_hook.h"
#include "hook/split.h"
#include "marrow/hypercall.h"

void hooks_remove_all(void)
{
	inline_hooks_remove_all();
	split_release_all(); /* page substitutions */
	mw_lstar_unhook();
	msr_hooks_remove_all();
	exception_hooks_remove_all();
}

void hooks_cpu_lock(void)
{
	while (!hook_change_begin())
		__asm__ volatile("pause");
}

void hooks_cpu_online(void)
{
	split_cpu_online();
	/* The exception bitmap and the real values of hooked MSRs (the LSTAR
	 * stub) for this CPU too. */
	mw_vmcall(MW_HC_SYNC_CONTROLS, mw.cfg.hypercall_key, 0, 0, 0);
}

void hooks_cpu_unlock(void)
{
	hook_change_end();
}

void hooks_free_all(void)
{
	inline_hooks_free_code();
}
