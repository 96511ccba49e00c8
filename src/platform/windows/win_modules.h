/* The loaded-module list ZwQuerySystemInformation(SystemModuleInformation)
 * returns, read safely from its buffer. The layout is RTL_PROCESS_MODULES
 * (not in the WDK headers; stable since NT 4 and given here for x64):
 *   ULONG NumberOfModules, padded to 8 bytes, then per module (296 bytes):
 *   0 Section, 8 MappedBase, 16 ImageBase (pointers), 24 ImageSize,
 *   28 Flags (ULONG), 32 LoadOrderIndex, 34 InitOrderIndex, 36 LoadCount,
 *   38 OffsetToFileName (USHORT), 40 FullPathName (CHAR[256]).
 * The kernel itself is always the first module. Pure. */
#ifndef MARROW_WINDOWS_WIN_MODULES_H
#define MARROW_WINDOWS_WIN_MODULES_H

#include <stddef.h>
#include <stdint.h>

#define WIN_MODULES_HEADER_SIZE 8
#define WIN_MODULE_ENTRY_SIZE 296
#define WIN_MODULE_PATH_MAX 256
/* The kernel half of the x64 address space (platform.h). */
#define WIN_KERNEL_VA_START 0xffff800000000000ull

enum win_mod_status {
	WIN_MOD_OK = 0,
	WIN_MOD_TRUNCATED,  /* the buffer is shorter than its count says */
	WIN_MOD_NO_MODULE,  /* index past the count */
	WIN_MOD_BAD_ENTRY,  /* file-name offset or image outside the kernel half */
	WIN_MOD_NOT_KERNEL, /* module 0 is not named like the kernel */
};

const char *win_mod_status_str(enum win_mod_status s);

struct win_module {
	uint64_t image_base;
	uint32_t image_size;
	char path[WIN_MODULE_PATH_MAX]; /* NUL-terminated */
	const char *file_name;		/* inside path */
};

/* The module count the buffer claims, or WIN_MOD_TRUNCATED when the
 * buffer cannot hold that many entries. */
enum win_mod_status win_modules_count(const void *buf, size_t len, uint32_t *count);
enum win_mod_status win_module_get(const void *buf, size_t len, uint32_t index,
				   struct win_module *out);
/* Module 0, checked to be ntoskrnl.exe, ntkrnlmp.exe, ntkrnlpa.exe or
 * ntkrpamp.exe (the names the kernel has had on x64 and x86). */
enum win_mod_status win_kernel_module(const void *buf, size_t len, struct win_module *out);

#endif
