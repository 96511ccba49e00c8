#ifndef MARROW_UEFI_CONFIG_H
#define MARROW_UEFI_CONFIG_H

#include <efi.h>
#include <stdbool.h>
#include <stddef.h>

/* Reads marrow.cfg from the directory of marrow's image into out (cap
 * units, line breaks as spaces); false when there is none. */
bool uefi_config_read(const EFI_LOADED_IMAGE *self, CHAR16 *out, size_t cap);

#endif
