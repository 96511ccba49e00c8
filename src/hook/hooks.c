#include "hooks.h"

#include "hook/exception_hook.h"
#include "hook/inline_hook.h"
#include "hook/lstar_hook.h"
#include "hook/msr_hook.h"
#include "hook/split.h"

void hooks_remove_all(void)
{
	inline_hooks_remove_all();
	split_release_all(); /* page substitutions */
	mw_lstar_unhook();
	msr_hooks_remove_all();
	exception_hooks_remove_all();
}

void hooks_free_all(void)
{
	inline_hooks_free_code();
}
