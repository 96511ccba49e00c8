/* A boot-time guest's accesses to marrow's own memory (docs/boot.md,
 * "Self-protection"). marrow's pages are not present in the guest's EPT, so
 * every access is an EPT violation, answered as the physical address space
 * answers an address where nothing is: a read returns all ones, a write is
 * dropped, and an instruction fetch reads FFH bytes, which decode as an
 * invalid opcode (FF /7): #UD. The access never reaches marrow's memory.
 * What cannot be answered that way (the guest's own page tables placed
 * there, an instruction marrow does not emulate) is a diagnosed stop.
 * Root-safe. */
#ifndef MARROW_CORE_BOOT_HIDDEN_H
#define MARROW_CORE_BOOT_HIDDEN_H

#include <stdbool.h>
#include <stdint.h>

#include "vmx/exit.h"

/* True when gpa is marrow's and the access was answered; false when gpa is
 * not marrow's. Does not return when the access cannot be answered. */
bool boot_hidden_violation(struct exit_ctx *c, uint64_t gpa, uint64_t qualification);

#endif
