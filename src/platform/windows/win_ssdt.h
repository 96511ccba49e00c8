/* Finding the kernel's system service table (KiServiceTable, "the SSDT")
 * in ntoskrnl's mapped image. Not exported on x64, so it is found the way
 * the kernel itself reaches it: KiSystemServiceRepeat loads the addresses
 * of KeServiceDescriptorTable and its Shadow with two RIP-relative LEAs,
 *   4C 8D 15 rel32   lea r10, [rip + rel32]
 *   4C 8D 1D rel32   lea r11, [rip + rel32]
 *   F7 ...           test ...
 * The sequence must occur exactly once in the executable, non-discardable
 * sections. KeServiceDescriptorTable starts with ServiceTableBase (the
 * table's address), ServiceCounterTableBase, NumberOfServices (64-bit on
 * x64) and ParamTableBase. Each 32-bit table entry holds the routine's
 * offset from the table's start in bits 31:4 (signed) and the number of
 * its stack arguments in bits 3:0.
 *
 * Issue 5's seam: a syscall hook by service index takes the routine from
 * win_ssdt_routine() and puts an EPT split hook on it; the table itself is
 * never written (PatchGuard checks it). Pure: works on any buffer holding
 * the image in its mapped layout. */
#ifndef MARROW_WINDOWS_WIN_SSDT_H
#define MARROW_WINDOWS_WIN_SSDT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/pe.h"

#define WIN_SSDT_PATTERN "4C 8D 15 ?? ?? ?? ?? 4C 8D 1D ?? ?? ?? ?? F7"
/* Sanity bound: Windows 11 has about 500 services. */
#define WIN_SSDT_MAX_SERVICES 4096

enum win_ssdt_status {
	WIN_SSDT_OK = 0,
	WIN_SSDT_NOT_FOUND,	 /* no match in the executable sections */
	WIN_SSDT_AMBIGUOUS,	 /* more than one match */
	WIN_SSDT_BAD_DESCRIPTOR, /* the LEA targets are not data inside the image */
	WIN_SSDT_BAD_TABLE,	 /* count, table or an entry outside the image's code */
	WIN_SSDT_BAD_IMAGE,	 /* not a mapped x64 image */
};

const char *win_ssdt_status_str(enum win_ssdt_status s);

struct win_ssdt {
	uint64_t runtime_base;	 /* where the image is mapped */
	uint32_t code_rva;	 /* of the matched LEA pair */
	uint32_t descriptor_rva; /* KeServiceDescriptorTable */
	uint32_t shadow_rva;	 /* KeServiceDescriptorTableShadow */
	uint32_t table_rva;	 /* KiServiceTable */
	uint32_t count;		 /* NumberOfServices */
	const uint8_t *table;	 /* count 32-bit entries, inside the image */
	unsigned matches;	 /* pattern matches seen (1 when OK) */
};

/* img must be PE_LAYOUT_IMAGE, x64; runtime_base is the address the image
 * runs at (pointers inside it are absolute). */
enum win_ssdt_status win_ssdt_locate(const struct pe_image *img, uint64_t runtime_base,
				     struct win_ssdt *out);

/* Decoding one entry: the routine's signed offset from the table, and how
 * many of its arguments are on the stack. */
int32_t win_ssdt_entry_offset(uint32_t entry);
unsigned win_ssdt_entry_stack_args(uint32_t entry);

/* The address of service index's routine; false if index >= count. */
bool win_ssdt_routine(const struct win_ssdt *s, uint32_t index, uint64_t *va);

#endif
