/* A second opinion on x86-64 instruction lengths for the fuzzers: LLVM's
 * MC disassembler (libLLVM-14, Debian's llvm-14-dev), through its C API.
 * Offline, in process, a few microseconds per instruction. */
#ifndef MARROW_TESTS_FUZZ_LLVM_X86_H
#define MARROW_TESTS_FUZZ_LLVM_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What LLVM makes of the instruction at code (avail bytes): its length
 * (0 if LLVM cannot decode it) and its text, the mnemonic first. LLVM
 * prints some legacy prefixes and REX bytes it does not attach to the
 * instruction as instructions of their own ("lock", "rex64", "ds"...):
 * those are counted into the length of the instruction that follows, as
 * the processor counts them. */
struct llvm_insn {
	size_t length;
	char text[160];
	const char *mnemonic; /* into text: its first word that is not a prefix */
};

void llvm_x86_decode(const uint8_t *code, size_t avail, struct llvm_insn *out);

#endif
