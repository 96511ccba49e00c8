/* The kernel command line GRUB passes: space-separated key=value words. */
#ifndef MARROW_BAREMETAL_CMDLINE_H
#define MARROW_BAREMETAL_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* Copies the value of `key` (up to the next space) into buf; false when the
 * key is absent. A value too long for buf is an error, reported as absent
 * with *too_long set. */
bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t size, bool *too_long);

/* Is `flag` on the command line on its own (a word without a value)? */
bool cmdline_has(const char *cmdline, const char *flag);

#endif
