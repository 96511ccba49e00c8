/* See stdint.h: size_t, NULL and offsetof come from the kernel. */
#ifndef MARROW_LINUX_SHIM_STDDEF_H
#define MARROW_LINUX_SHIM_STDDEF_H

#include <linux/stddef.h>
#include <linux/types.h>

#endif
