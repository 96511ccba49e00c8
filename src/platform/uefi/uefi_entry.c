/* marrow.efi's entry. The image the firmware loaded is boot-services or
 * loader memory, which the OS takes over after ExitBootServices (UEFI 7.2);
 * root mode must outlive it. So the entry point copies the whole image
 * into EfiRuntimeServicesCode pages, moves the copy's pointers there with
 * the image's own relocation table, and runs everything else from the
 * copy. (A runtime-driver image would stay put but be relocated by the
 * firmware at SetVirtualAddressMap, under root mode's feet.) */
#include <efi.h>
#include <efilib.h>

#include "uefi_main.h"
#include "uefi_reloc.h"

extern uint8_t ImageBase[];	   /* the linker script's image start */
extern struct uefi_dyn _DYNAMIC[]; /* the ELF dynamic section */

static void say(EFI_SYSTEM_TABLE *st, const CHAR16 *text)
{
	st->ConOut->OutputString(st->ConOut, (CHAR16 *)text);
}

/* gnu-efi's start-up code calls this with the System V ABI (not EFIAPI). */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st);
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	EFI_GUID loaded_guid = LOADED_IMAGE_PROTOCOL;
	EFI_LOADED_IMAGE *loaded;
	EFI_BOOT_SERVICES *bs = st->BootServices;
	EFI_PHYSICAL_ADDRESS copy;
	const struct uefi_rela *table;
	size_t count;

	if (EFI_ERROR(bs->HandleProtocol(image, &loaded_guid, (void **)&loaded)) ||
	    (uint8_t *)loaded->ImageBase != ImageBase) {
		say(st, L"marrow: cannot find its own image\r\n");
		return EFI_LOAD_ERROR;
	}
	enum uefi_reloc_status rs = uefi_reloc_find(ImageBase, _DYNAMIC, &table, &count);
	UINTN pages = (loaded->ImageSize + 4095) / 4096;
	if (rs != UEFI_RELOC_OK) {
		say(st, L"marrow: its image has no usable relocation table\r\n");
		return EFI_LOAD_ERROR;
	}
	if (EFI_ERROR(bs->AllocatePages(AllocateAnyPages, EfiRuntimeServicesCode, pages, &copy))) {
		say(st, L"marrow: no memory for its resident copy\r\n");
		return EFI_OUT_OF_RESOURCES;
	}
	uint8_t *to = (uint8_t *)(uintptr_t)copy;
	bs->CopyMem(to, ImageBase, loaded->ImageSize);
	bs->SetMem(to + loaded->ImageSize, pages * 4096 - loaded->ImageSize, 0);
	rs = uefi_reloc_apply(to, loaded->ImageSize, table, count, copy - (uintptr_t)ImageBase);
	if (rs != UEFI_RELOC_OK) {
		bs->FreePages(copy, pages);
		say(st, L"marrow: its image cannot be relocated\r\n");
		return EFI_LOAD_ERROR;
	}
	uefi_main_fn resident =
		(uefi_main_fn)(uintptr_t)(to + ((uint8_t *)(uintptr_t)uefi_main - ImageBase));
	EFI_STATUS s = resident(image, st, copy, pages);
	/* On failure nothing of the copy is in use any more. */
	if (EFI_ERROR(s))
		bs->FreePages(copy, pages);
	return s;
}
