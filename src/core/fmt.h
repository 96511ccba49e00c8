/* A small, root-safe vsnprintf: no allocation, no locks, no floating point.
 * Supports %d %i %u %x %X %p %s %c %% with flags '-', '0', width, precision
 * for %s, and the length modifiers hh h l ll z j t. */
#ifndef MARROW_CORE_FMT_H
#define MARROW_CORE_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Returns the length the whole output would have had (as C's snprintf); the
 * buffer always ends in NUL when size > 0. */
int mw_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int mw_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
