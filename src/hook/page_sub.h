/* Page substitution: a guest-physical page executes (and, if asked, reads)
 * from another frame on every CPU, while writes, and reads otherwise, reach
 * the page itself. */
#ifndef MARROW_HOOK_PAGE_SUB_H
#define MARROW_HOOK_PAGE_SUB_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

struct split_page;

/* frame: a physical page of RAM the caller owns and keeps until restored.
 * readable: reads also see it (else only execution, which needs
 * execute-only EPT). */
enum mw_status mw_page_substitute(uint64_t gpa, uint64_t frame, bool readable,
				  struct split_page **out, struct mw_error *err);
enum mw_status mw_page_restore(struct split_page *p);

#endif
