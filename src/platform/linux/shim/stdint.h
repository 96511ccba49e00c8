/* The C library headers marrow's core includes, answered from the kernel's
 * own definitions: a module is built with -nostdinc, and mixing the
 * compiler's freestanding <stdint.h> with <linux/types.h> would define the
 * same types twice (differently: uint64_t is unsigned long long here). */
#ifndef MARROW_LINUX_SHIM_STDINT_H
#define MARROW_LINUX_SHIM_STDINT_H

#include <linux/limits.h>
#include <linux/types.h>

#ifndef INT8_MAX
#define INT8_MAX S8_MAX
#define INT16_MAX S16_MAX
#define INT32_MAX S32_MAX
#define INT64_MAX S64_MAX
#define INT8_MIN S8_MIN
#define INT16_MIN S16_MIN
#define INT32_MIN S32_MIN
#define INT64_MIN S64_MIN
#define UINT8_MAX U8_MAX
#define UINT16_MAX U16_MAX
#define UINT32_MAX U32_MAX
#define UINT64_MAX U64_MAX
#endif

#endif
