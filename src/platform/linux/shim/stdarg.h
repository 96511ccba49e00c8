/* See stdint.h: va_list comes from the kernel. */
#ifndef MARROW_LINUX_SHIM_STDARG_H
#define MARROW_LINUX_SHIM_STDARG_H

#include <linux/stdarg.h>

#endif
