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

/* objtool checks each object of the Linux module on its own: a call to a
 * noreturn function defined in another file looks to it like a call that
 * returns, into whatever code follows (the compiler emits nothing after
 * it). In the Linux build such calls are made through declarations without
 * noreturn and followed by MW_UNREACHABLE(): objtool's own "unreachable"
 * annotation (the interface of Linux's annotate_unreachable(): an entry in
 * .discard.unreachable pointing just past the call), then the compiler's. */
#if defined(MW_PLATFORM_LINUX)
#define MW_UNREACHABLE()                                                              \
	({                                                                            \
		__asm__ volatile("%c0:\n\t.pushsection .discard.unreachable\n\t"      \
				 ".long %c0b - .\n\t.popsection" ::"i"(__COUNTER__)); \
		__builtin_unreachable();                                              \
	})
#else
#define MW_UNREACHABLE() __builtin_unreachable()
#endif

#endif
