#ifndef MARROW_UEFI_MAIN_H
#define MARROW_UEFI_MAIN_H

#include <efi.h>

/* Runs in marrow's resident copy at [self, self + self_pages * 4 KiB):
 * virtualizes every CPU and, for the application, starts the next loader.
 * On an error nothing is left virtualized and every page but the copy's
 * is returned. */
typedef EFI_STATUS (*uefi_main_fn)(EFI_HANDLE image, EFI_SYSTEM_TABLE *st, UINT64 self,
				   UINTN self_pages);
EFI_STATUS uefi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st, UINT64 self, UINTN self_pages);

#endif
