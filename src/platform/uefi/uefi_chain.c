#include "uefi_chain.h"

#include <efilib.h>

#include "uefi_platform.h"

void uefi_ascii(const CHAR16 *in, char *out, size_t size)
{
	size_t n = 0;
	for (; in && *in && n + 1 < size; in++)
		out[n++] = *in < 0x80 ? (char)*in : '?';
	if (size)
		out[n] = 0;
}

EFI_STATUS uefi_chain_load(EFI_LOADED_IMAGE *self, const CHAR16 *path, const CHAR16 *rest,
			   struct uefi_chain *out)
{
	char name[128];
	EFI_LOADED_IMAGE *loaded;
	EFI_STATUS s;

	uefi_ascii(path, name, sizeof(name));
	out->handle = NULL;
	EFI_DEVICE_PATH *dp = FileDevicePath(self->DeviceHandle, (CHAR16 *)path);
	if (!dp) {
		uefi_printf("marrow: no device path for %s\n", name);
		return EFI_OUT_OF_RESOURCES;
	}
	s = uefi.bs->LoadImage(FALSE, uefi.image, dp, NULL, 0, &out->handle);
	uefi.bs->FreePool(dp);
	if (EFI_ERROR(s)) {
		uefi_printf("marrow: cannot load %s (status 0x%llx); nothing was changed\n", name,
			    (unsigned long long)s);
		out->handle = NULL;
		return s;
	}
	s = uefi.bs->HandleProtocol(out->handle, &LoadedImageProtocol, (void **)&loaded);
	if (EFI_ERROR(s)) {
		uefi_chain_unload(out);
		return s;
	}
	/* The loader's own command line, without marrow's options or the
	 * loader's path (Linux's EFI stub takes it as the kernel's). */
	UINTN len = 0;
	while (rest[len])
		len++;
	CHAR16 *opts = NULL;
	s = uefi.bs->AllocatePool(EfiLoaderData, (len + 1) * sizeof(CHAR16), (void **)&opts);
	if (EFI_ERROR(s)) {
		uefi_chain_unload(out);
		return s;
	}
	for (UINTN i = 0; i <= len; i++)
		opts[i] = rest[i];
	loaded->LoadOptions = opts;
	loaded->LoadOptionsSize = (UINT32)((len + 1) * sizeof(CHAR16));
	return EFI_SUCCESS;
}

EFI_STATUS uefi_chain_start(struct uefi_chain *c)
{
	UINTN exit_size = 0;
	CHAR16 *exit_data = NULL;

	EFI_STATUS s = uefi.bs->StartImage(c->handle, &exit_size, &exit_data);
	if (exit_data)
		uefi.bs->FreePool(exit_data);
	c->handle = NULL; /* StartImage unloads an application that returns */
	return s;
}

void uefi_chain_unload(struct uefi_chain *c)
{
	if (c->handle)
		uefi.bs->UnloadImage(c->handle);
	c->handle = NULL;
}
