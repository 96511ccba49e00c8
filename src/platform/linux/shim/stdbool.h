/* See stdint.h: bool, true and false come from the kernel. */
#ifndef MARROW_LINUX_SHIM_STDBOOL_H
#define MARROW_LINUX_SHIM_STDBOOL_H

#include <linux/stddef.h>
#include <linux/types.h>

#endif
