/* marrowctl's output, as text: pure, so that it is tested on the host and
 * can be shared with the Linux marrowctl (which reads the same
 * struct mw_cpu_stats through its own interface). */
#ifndef MARROWCTL_WIN_FORMAT_H
#define MARROWCTL_WIN_FORMAT_H

#include <stddef.h>

#include "marrow/stats.h"
#include "marrow/windows_ioctl.h"

/* Each returns the length the whole text needs (like snprintf) and writes
 * at most size bytes, NUL-terminated. */
int mwctl_format_status(const struct mw_win_status *st, char *buf, size_t size);
/* The CPU's total, then every exit reason with a nonzero count, by name. */
int mwctl_format_stats(unsigned cpu, const struct mw_cpu_stats *s, char *buf, size_t size);
/* The name of a basic exit reason (SDM 3D appendix C), "reason N" if none. */
const char *mwctl_exit_reason_name(unsigned reason, char *scratch, size_t size);

#endif
