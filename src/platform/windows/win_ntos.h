/* The kernel's image and its system service table, found at load time
 * (PASSIVE_LEVEL) with ZwQuerySystemInformation and the pure parsers. */
#ifndef MARROW_WINDOWS_WIN_NTOS_H
#define MARROW_WINDOWS_WIN_NTOS_H

#include "nt_decls.h"

#include "win_modules.h"
#include "win_ssdt.h"

struct win_ntos {
	struct win_module kernel;
	struct pe_image image; /* the kernel as mapped (PE_LAYOUT_IMAGE) */
	struct win_ssdt ssdt;
	enum pe_status pe;
	enum win_ssdt_status ssdt_status;
};

/* Fills k->kernel, then parses the image and locates the SSDT; each step's
 * outcome is recorded. Returns the first NT failure (the module list), or
 * STATUS_SUCCESS even when the SSDT was not found (nothing depends on it
 * until issue 5's syscall hooks). */
NTSTATUS win_ntos_find(struct win_ntos *k);

#endif
