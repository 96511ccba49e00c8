/* Compiler facts the core relies on across platforms. */
#ifndef MARROW_CORE_COMPILER_H
#define MARROW_CORE_COMPILER_H

/* Functions written in assembly, and C functions called from assembly, use
 * the System V AMD64 calling convention (arguments in RDI, RSI...). The
 * Windows build (mingw-w64, Microsoft x64 convention by default) marks
 * them so that the compiler calls them, and compiles them, that way. */
#if defined(_WIN32)
#define MW_ASM_ABI __attribute__((sysv_abi))
#else
#define MW_ASM_ABI
#endif

#endif
