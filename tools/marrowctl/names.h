/* Names marrowctl prints: VM-exit reasons (from src/vmx/exit_reasons.def,
 * the table the core itself uses) and hypercall feature bits. */
#ifndef MARROWCTL_NAMES_H
#define MARROWCTL_NAMES_H

#include <stdint.h>

/* The basic exit reason's name, e.g. "CPUID"; NULL for an unused number. */
const char *exit_reason_name_of(unsigned reason);

/* Feature bit names, e.g. "ept", in bit order; NULL past the last. */
const char *feature_name(unsigned index, uint64_t *bit);

#endif
