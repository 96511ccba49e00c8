/* The C string functions, declared for code that includes no C library or OS
 * header. Each platform supplies them: bare metal and UEFI from
 * platform/freestanding/string.c, Linux and Windows from their kernels. */
#ifndef MARROW_CORE_MW_STRING_H
#define MARROW_CORE_MW_STRING_H

#include <stddef.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
