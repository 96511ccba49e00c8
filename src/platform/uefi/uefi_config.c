/* marrow.cfg: the options of a marrow.efi that was given none. The
 * shell's `load` passes a driver no arguments (it takes every word as
 * another file to load), so the driver reads the same options from a text
 * file beside its own image: marrow.cfg in the same directory, one line,
 * e.g. "key=0123abcd serial=off". A missing file means defaults. */
#include <efi.h>
#include <efilib.h>

#include "uefi_config.h"
#include "uefi_platform.h"

#define CFG_MAX 512

/* The image's own path (its device path's file node) with the file name
 * replaced by marrow.cfg. */
static bool config_path(const EFI_LOADED_IMAGE *self, CHAR16 *out, size_t cap)
{
	static const CHAR16 name[] = L"marrow.cfg";
	EFI_DEVICE_PATH *dp = self->FilePath;
	const CHAR16 *file = NULL;

	for (; dp && !IsDevicePathEnd(dp); dp = NextDevicePathNode(dp))
		if (DevicePathType(dp) == MEDIA_DEVICE_PATH &&
		    DevicePathSubType(dp) == MEDIA_FILEPATH_DP)
			file = ((FILEPATH_DEVICE_PATH *)dp)->PathName;
	size_t dir = 0, n = 0;
	for (; file && file[n]; n++)
		if (file[n] == '\\')
			dir = n + 1;
	if (dir + sizeof(name) / sizeof(name[0]) > cap)
		return false;
	for (size_t i = 0; i < dir; i++)
		out[i] = file[i];
	if (!dir)
		out[dir++] = '\\';
	for (size_t i = 0; i < sizeof(name) / sizeof(name[0]); i++)
		out[dir + i] = name[i];
	return true;
}

bool uefi_config_read(const EFI_LOADED_IMAGE *self, CHAR16 *out, size_t cap)
{
	CHAR16 path[260];
	char text[CFG_MAX];
	UINTN size = sizeof(text) - 1;
	EFI_FILE_HANDLE root, file;

	out[0] = 0;
	if (!config_path(self, path, 260))
		return false;
	root = LibOpenRoot(self->DeviceHandle);
	if (!root)
		return false;
	EFI_STATUS s = root->Open(root, &file, path, EFI_FILE_MODE_READ, 0);
	root->Close(root);
	if (EFI_ERROR(s))
		return false;
	s = file->Read(file, &size, text);
	file->Close(file);
	if (EFI_ERROR(s))
		return false;
	size_t n = 0;
	for (UINTN i = 0; i < size && n + 1 < cap; i++)
		out[n++] =
			(CHAR16)(text[i] == '\n' || text[i] == '\r' ? ' ' : (unsigned char)text[i]);
	out[n] = 0;
	return true;
}
