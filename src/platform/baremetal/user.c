#include "user.h"

#include "arch/x86/intrin.h"
#include "boot_layout.h"
#include "core/mw_string.h"
#include "paging.h"
#include "platform_bm.h"

/* Read by enter_user's asm operands (which cppcheck does not follow). */
struct user_entry {
	uint64_t rip; // cppcheck-suppress unusedStructMember
	uint64_t rsp; // cppcheck-suppress unusedStructMember
};

/* Leaves for ring 3 through an IRETQ frame; comes back only by a trap,
 * which catch_run turns into a return. */
static void enter_user(void *arg)
{
	const struct user_entry *e = arg;
	__asm__ volatile("pushq %[ss]\n\t"
			 "pushq %[rsp]\n\t"
			 "pushq $2\n\t" /* RFLAGS: interrupts off */
			 "pushq %[cs]\n\t"
			 "pushq %[rip]\n\t"
			 "iretq"
			 :
			 : [ss] "i"(SEL_UDATA | 3), [rsp] "r"(e->rsp), [cs] "i"(SEL_UCODE64 | 3),
			   [rip] "r"(e->rip)
			 : "memory");
	__builtin_unreachable();
}

bool user_run(const void *code, size_t len, struct trap_info *info)
{
	uint8_t *page = bm_alloc_pages(2); /* code, then stack */
	bool ok = false;

	if (!page || len > 4096)
		goto out;
	memcpy(page, code, len);
	if (!paging_make_user((uint64_t)(uintptr_t)page, 4096, true) ||
	    !paging_make_user((uint64_t)(uintptr_t)page + 4096, 4096, false))
		goto out;
	struct user_entry e = { (uint64_t)(uintptr_t)page, (uint64_t)(uintptr_t)page + 8192 - 64 };
	if (catch_run(enter_user, &e, info)) {
		info->rip -= (uint64_t)(uintptr_t)page;
		ok = true;
	}
	/* The pages go back supervisor-only before they are reused. */
	paging_make_supervisor((uint64_t)(uintptr_t)page, 8192);
out:
	if (page)
		bm_free_pages(page, 2);
	return ok;
}
