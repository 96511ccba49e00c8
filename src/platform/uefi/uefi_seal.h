/* Self-protection on UEFI (docs/uefi.md, "Self-protection"): marrow's
 * memory leaves the guest's reach at ExitBootServices, when no code of
 * marrow's runs as the guest any more. */
#ifndef MARROW_UEFI_SEAL_H
#define MARROW_UEFI_SEAL_H

#include <efi.h>

/* After a successful load, during boot services: hands the core every
 * range uefi_owned_ranges() lists (sorted, merged) and registers the
 * ExitBootServices notification that seals. */
EFI_STATUS uefi_seal_arm(void);
/* Before marrow leaves and frees its memory (marrowldr.efi whose loader
 * returned): the notification goes. */
void uefi_seal_disarm(void);

#endif
