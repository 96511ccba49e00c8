#include "inline_hook.h"

#include <stdbool.h>

#include "core/host_pt.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "hook/split.h"
#include "hook/stub.h"
#include "hook/trampoline.h"
#include "platform/platform.h"

/* Each hook owns a slot of generated code (stub.h), 16 to a page, and two
 * variables in marrow's data that its stub uses. */
#define SLOT_SIZE STUB_SLOT_SIZE
#define SLOTS_PER_PAGE (4096 / SLOT_SIZE)
#define TRAMP_AT STUB_SLOT_TRAMP
#define TRAMP_CAP STUB_SLOT_TRAMP_CAP
#define CODE_PAGES (MW_INLINE_HOOKS_MAX / SLOTS_PER_PAGE)

/* The patch: one JMP rel32. A longer jump would read its target through
 * the page's read view, which holds the original bytes. */
#define PATCH_LEN TRAMP_REL_JMP_LEN
/* Bytes read from the function: enough for the copied instructions. */
#define CODE_READ (TRAMP_MAX_MIN_LEN + 15)

enum hook_state { HOOK_FREE, HOOK_LIVE, HOOK_REMOVED };

struct mw_inline_hook {
	enum hook_state state;
	uint64_t target;
	struct split_page *page;
	unsigned offset; /* of the patch in the page */
	uint8_t *code;	 /* the slot, where it runs */
	uint8_t *write;	 /* the slot, where marrow writes it */
};

/* What a slot's stub reads and counts: the handler's address, the calls. */
struct slot_data {
	volatile uint64_t hits;
	uint64_t handler;
};

static struct mw_inline_hook hooks[MW_INLINE_HOOKS_MAX];
static struct slot_data slot_data[MW_INLINE_HOOKS_MAX];
static uint8_t *code_pages[CODE_PAGES], *write_pages[CODE_PAGES];
static unsigned slots_used;

static enum mw_status fail(struct mw_error *err, enum mw_status s, uint64_t target, const char *why)
{
	mw_error_set(err, s, -1, MW_STEP_NONE, "hook at 0x%llx: %s", (unsigned long long)target,
		     why);
	return s;
}

/* The next slot, in a page install_page has provided. */
static struct mw_inline_hook *new_hook(void)
{
	unsigned i = slots_used++;
	struct mw_inline_hook *h = &hooks[i];

	memset(h, 0, sizeof(*h));
	h->code = code_pages[i / SLOTS_PER_PAGE] + (i % SLOTS_PER_PAGE) * SLOT_SIZE;
	h->write = write_pages[i / SLOTS_PER_PAGE] + (i % SLOTS_PER_PAGE) * SLOT_SIZE;
	return h;
}

/* The page the next slot lies in, allocated on first use. */
static enum mw_status slot_page(uint64_t target, struct mw_error *err)
{
	if (slots_used == MW_INLINE_HOOKS_MAX)
		return fail(err, MW_ERR_FULL, target,
			    "no code slot left (removed hooks keep theirs until marrow unloads)");
	unsigned pg = slots_used / SLOTS_PER_PAGE;
	if (code_pages[pg])
		return MW_OK;
	void *write;
	code_pages[pg] = platform_alloc_code(1, &write);
	write_pages[pg] = write;
	if (!code_pages[pg])
		return fail(err, MW_ERR_UNSUPPORTED, target,
			    "the platform gives no executable memory near the kernel");
	return MW_OK;
}

/* How many bytes of the function can be read: up to CODE_READ, but not
 * into a following page that is not RAM. */
static size_t readable_code(uint64_t target)
{
	size_t in_page = 4096 - (target & 0xfff);

	if (in_page >= CODE_READ)
		return CODE_READ;
	uint64_t next = platform_virt_to_phys((const void *)(uintptr_t)(target + in_page));
	return host_pt_phys(mw.host_pt, next & ~0xfffull, 4096) ? CODE_READ : in_page;
}

/* A hook that failed to install gives its slot back (it is the newest). */
static enum mw_status drop_new(const struct mw_inline_hook *h, enum mw_status s)
{
	if (h == &hooks[slots_used - 1])
		slots_used--;
	return s;
}

static enum mw_status install(uint64_t target, uint64_t handler, void **original,
			      struct mw_inline_hook **out, struct mw_error *err)
{
	if (!mw.active)
		return fail(err, MW_ERR_NOT_VIRTUALIZED, target, "marrow is not running");
	if (!target || !handler || !original)
		return fail(err, MW_ERR_BAD_ARGUMENT, target,
			    "a NULL target, handler or original pointer");
	unsigned offset = target & 0xfff;
	if (offset + PATCH_LEN > 4096)
		return fail(err, MW_ERR_UNSUPPORTED, target,
			    "the patch would cross a page boundary (two views cannot change "
			    "at once)");
	uint64_t gpa = platform_virt_to_phys((const void *)(uintptr_t)target);
	if (!host_pt_phys(mw.host_pt, gpa & ~0xfffull, 4096))
		return fail(err, MW_ERR_BAD_ARGUMENT, target, "the function is not in RAM");

	enum mw_status s = slot_page(target, err);
	if (s != MW_OK)
		return s;
	struct mw_inline_hook *h = new_hook();
	struct slot_data *d = &slot_data[h - hooks];
	uint64_t slot_addr = (uint64_t)(uintptr_t)h->code;
	struct tramp_result res;
	enum tramp_status ts =
		tramp_build((const uint8_t *)(uintptr_t)target, readable_code(target), target,
			    PATCH_LEN, h->write + TRAMP_AT, TRAMP_CAP, slot_addr + TRAMP_AT, &res);
	if (ts != TRAMP_OK) {
		mw_error_set(err, MW_ERR_UNSUPPORTED, -1, MW_STEP_NONE,
			     "hook at 0x%llx: the function's first instructions cannot be moved: "
			     "%s (at +%u)",
			     (unsigned long long)target, tramp_status_str(ts),
			     (unsigned)res.fail_offset);
		return drop_new(h, err->status);
	}
	uint8_t patch[TRAMP_ABS_JMP_LEN];
	if (tramp_patch_jump(patch, sizeof(patch), target, slot_addr) != PATCH_LEN)
		return drop_new(h, fail(err, MW_ERR_UNSUPPORTED, target,
					"marrow's code is beyond the reach of a 5-byte jump"));
	uint64_t hits_at = (uint64_t)(uintptr_t)&d->hits,
		 handler_at = (uint64_t)(uintptr_t)&d->handler;
	if (!stub_reaches(slot_addr, hits_at) || !stub_reaches(slot_addr, handler_at))
		return drop_new(h, fail(err, MW_ERR_UNSUPPORTED, target,
					"marrow's data is beyond a RIP-relative operand's reach "
					"from its code"));
	d->hits = 0;
	d->handler = handler;
	stub_inline_build(h->write, slot_addr, hits_at, handler_at);
	/* Before any CPU can reach the handler. */
	*original = h->code + TRAMP_AT;

	s = split_copy_get(gpa, &h->page, err);
	if (s != MW_OK)
		return drop_new(h, s);
	/* A CPU interrupted inside the bytes the jump replaces goes on in
	 * the trampoline. */
	struct split_rip_move move = { .start = target,
				       .tramp = slot_addr + TRAMP_AT,
				       .res = &res };
	s = split_add_patch(h->page, offset, patch, PATCH_LEN, &move);
	if (s != MW_OK) {
		split_release(h->page, -1);
		return drop_new(h, fail(err, s, target,
					s == MW_ERR_EXISTS
						? "another hook patches these bytes"
						: "no room for another patch in this page"));
	}
	s = split_activate(h->page, &move, err);
	if (s != MW_OK) {
		split_release(h->page, (int)offset);
		return drop_new(h, s);
	}
	h->target = target;
	h->offset = offset;
	h->state = HOOK_LIVE;
	*out = h;
	return MW_OK;
}

enum mw_status mw_hook_install(void *target, const void *handler, void **original,
			       struct mw_inline_hook **out, struct mw_error *err)
{
	if (!hook_change_begin())
		return fail(err, MW_ERR_BUSY, (uint64_t)(uintptr_t)target,
			    "another hook change is in progress");
	enum mw_status s = install((uint64_t)(uintptr_t)target, (uint64_t)(uintptr_t)handler,
				   original, out, err);
	hook_change_end();
	return s;
}

static void remove_locked(struct mw_inline_hook *h)
{
	split_release(h->page, (int)h->offset);
	h->page = NULL;
	h->state = HOOK_REMOVED;
	/* The patch is gone from every CPU's view; a CPU that entered the
	 * stub or the trampoline before is let out of it. */
	platform_quiesce(h->code, SLOT_SIZE);
}

enum mw_status mw_hook_remove(struct mw_inline_hook *h)
{
	if (!h || h < hooks || h >= hooks + MW_INLINE_HOOKS_MAX || h->state != HOOK_LIVE)
		return MW_ERR_NOT_FOUND;
	if (!hook_change_begin())
		return MW_ERR_BUSY;
	remove_locked(h);
	hook_change_end();
	return MW_OK;
}

uint64_t mw_hook_hits(const struct mw_inline_hook *h)
{
	return __atomic_load_n(&slot_data[h - hooks].hits, __ATOMIC_RELAXED);
}

void inline_hooks_remove_all(void)
{
	while (!hook_change_begin())
		__asm__ volatile("pause");
	for (unsigned i = 0; i < slots_used; i++)
		if (hooks[i].state == HOOK_LIVE)
			remove_locked(&hooks[i]);
	hook_change_end();
}

void inline_hooks_free_code(void)
{
	for (unsigned i = 0; i < CODE_PAGES; i++) {
		if (!code_pages[i])
			continue;
		platform_quiesce(code_pages[i], 4096);
		platform_free_code(code_pages[i], write_pages[i], 1);
		code_pages[i] = NULL;
		write_pages[i] = NULL;
	}
	memset(hooks, 0, sizeof(hooks));
	slots_used = 0;
}
