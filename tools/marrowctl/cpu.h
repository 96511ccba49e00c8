/* Whether this CPU could run marrow at all, asked from user space with
 * CPUID: told apart from "marrow is not loaded" when the device is absent.
 * Portable (GCC's cpuid.h on any x86-64 OS). */
#ifndef MARROWCTL_CPU_H
#define MARROWCTL_CPU_H

#include <stdbool.h>
#include <stddef.h>

/* True when the CPU is Intel with VMX visible; otherwise why in `why`. */
bool cpu_supports_marrow(char *why, size_t len);

#endif
