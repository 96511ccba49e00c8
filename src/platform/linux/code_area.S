/* The memory marrow's generated code runs from on Linux (hook stubs,
 * trampolines, the syscall stub): pages of marrow.ko's own text, so that
 * they are executable, within 2 GiB of the kernel's text and of the
 * module's data (modules live in the top 2 GiB), and read-only like the
 * rest of the module's text. marrow writes them through a writable alias
 * (platform_linux.c: platform_alloc_code). Filled with INT3 until used. */
#include "platform/linux/code_area.h"

	.section .text.marrow_code, "ax"
	.balign 4096
	.globl mwl_code_area
mwl_code_area:
	.fill MWL_CODE_PAGES * 4096, 1, 0xcc
