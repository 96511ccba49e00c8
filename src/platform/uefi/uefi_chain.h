/* The boot loader marrowldr.efi starts: loaded (LoadImage) before marrow
 * changes anything, so that a missing or broken loader leaves the machine
 * as it was; started (StartImage) once every CPU runs under marrow (UEFI
 * 7.4, image services). */
#ifndef MARROW_UEFI_CHAIN_H
#define MARROW_UEFI_CHAIN_H

#include <efi.h>
#include <stddef.h>

struct uefi_chain {
	EFI_HANDLE handle;
};

/* path: on marrow's own volume; rest: the loader's command line. */
EFI_STATUS uefi_chain_load(EFI_LOADED_IMAGE *self, const CHAR16 *path, const CHAR16 *rest,
			   struct uefi_chain *out);
EFI_STATUS uefi_chain_start(struct uefi_chain *c);
void uefi_chain_unload(struct uefi_chain *c);

/* UCS-2 to ASCII for messages ('?' for the rest). */
void uefi_ascii(const CHAR16 *in, char *out, size_t size);

#endif
