#include "page_sub.h"

#include "ept/ept.h"
#include "hook/split.h"

enum mw_status mw_page_substitute(uint64_t gpa, uint64_t frame, bool readable,
				  struct split_page **out, struct mw_error *err)
{
	if (!hook_change_begin()) {
		mw_error_set(err, MW_ERR_BUSY, -1, MW_STEP_NONE,
			     "another hook change is in progress");
		return MW_ERR_BUSY;
	}
	struct split_page *p;
	enum mw_status s =
		split_substitute(gpa, frame, readable ? EPT_READ | EPT_EXEC : EPT_EXEC, &p, err);
	if (s == MW_OK) {
		s = split_activate(p, NULL, err);
		if (s == MW_OK)
			*out = p;
		else
			split_release(p, -1);
	}
	hook_change_end();
	return s;
}

enum mw_status mw_page_restore(struct split_page *p)
{
	if (!p || !p->live || p->patched_copy)
		return MW_ERR_NOT_FOUND;
	if (!hook_change_begin())
		return MW_ERR_BUSY;
	split_release(p, -1);
	hook_change_end();
	return MW_OK;
}
