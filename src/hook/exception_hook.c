#include "exception_hook.h"

#include "core/marrow.h"

static mw_exception_handler handlers[32];

enum mw_status mw_exception_hook(unsigned vector, mw_exception_handler handler)
{
	if (vector >= 32 || vector == 2 || !handler)
		return MW_ERR_BAD_ARGUMENT;
	if (__atomic_load_n(&handlers[vector], __ATOMIC_ACQUIRE))
		return MW_ERR_EXISTS;
	/* The handler first, then the bit: a CPU that sees the bit finds it. */
	__atomic_store_n(&handlers[vector], handler, __ATOMIC_RELEASE);
	__atomic_fetch_or(&mw.exception_hooks, 1u << vector, __ATOMIC_RELEASE);
	mw_sync_controls();
	return MW_OK;
}

enum mw_status mw_exception_unhook(unsigned vector)
{
	if (vector >= 32 || !__atomic_load_n(&handlers[vector], __ATOMIC_ACQUIRE))
		return MW_ERR_NOT_FOUND;
	__atomic_fetch_and(&mw.exception_hooks, ~(1u << vector), __ATOMIC_RELEASE);
	mw_sync_controls();
	/* Every CPU has reloaded its bitmap: none will call the handler. */
	__atomic_store_n(&handlers[vector], NULL, __ATOMIC_RELEASE);
	return MW_OK;
}

void exception_hooks_remove_all(void)
{
	for (unsigned v = 0; v < 32; v++)
		if (__atomic_load_n(&handlers[v], __ATOMIC_ACQUIRE))
			mw_exception_unhook(v);
}

enum mw_exception_verdict exception_hook_dispatch(struct vcpu *v,
						  const struct mw_exception_event *e)
{
	mw_exception_handler h = __atomic_load_n(&handlers[e->vector & 31], __ATOMIC_ACQUIRE);
	return h ? h(v, e) : MW_EXC_REFLECT;
}
