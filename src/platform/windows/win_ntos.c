#include "win_ntos.h"

#include "core/mw_string.h"

#define POOL_TAG 0x776f724d /* 'Mrow', reversed as pool tags are shown */
#define MAX_TRIES 4

/* The module list grows between the size query and the read when a driver
 * loads meanwhile: retry with the new size a few times. */
static NTSTATUS query_modules(void **buf, ULONG *len)
{
	ULONG need = 0;
	NTSTATUS s = ZwQuerySystemInformation(MW_SYSTEM_MODULE_INFORMATION, NULL, 0, &need);

	for (int i = 0; i < MAX_TRIES; i++) {
		if (need == 0)
			return s == STATUS_SUCCESS ? STATUS_NOT_FOUND : s;
		ULONG size = need + 4096;
		*buf = ExAllocatePoolWithTag(PagedPool, size, POOL_TAG);
		if (!*buf)
			return STATUS_INSUFFICIENT_RESOURCES;
		s = ZwQuerySystemInformation(MW_SYSTEM_MODULE_INFORMATION, *buf, size, &need);
		if (NT_SUCCESS(s)) {
			*len = need < size ? need : size;
			return s;
		}
		ExFreePoolWithTag(*buf, POOL_TAG);
		*buf = NULL;
		if (s != STATUS_INFO_LENGTH_MISMATCH)
			return s;
	}
	return s;
}

NTSTATUS win_ntos_find(struct win_ntos *k)
{
	void *buf = NULL;
	ULONG len = 0;

	memset(k, 0, sizeof(*k));
	k->pe = PE_ERR_NOT_FOUND;
	k->ssdt_status = WIN_SSDT_NOT_FOUND;
	NTSTATUS s = query_modules(&buf, &len);
	if (!NT_SUCCESS(s))
		return s;
	enum win_mod_status m = win_kernel_module(buf, len, &k->kernel);
	ExFreePoolWithTag(buf, POOL_TAG);
	if (m != WIN_MOD_OK) {
		DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "marrow: kernel module: %s\n",
			   win_mod_status_str(m));
		return STATUS_NOT_FOUND;
	}
	/* The kernel's headers and its non-discardable sections stay mapped;
	 * the parser reads the headers only, and the scan skips discardable
	 * sections. Paged sections may be read here, at PASSIVE_LEVEL. */
	k->pe = pe_parse(&k->image, (const void *)(uintptr_t)k->kernel.image_base,
			 k->kernel.image_size, PE_LAYOUT_IMAGE);
	if (k->pe == PE_OK)
		k->ssdt_status = win_ssdt_locate(&k->image, k->kernel.image_base, &k->ssdt);
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL,
		   "marrow: %s at %p (%lu bytes): PE %s; SSDT: %s, %lu services at rva 0x%lx\n",
		   k->kernel.file_name, (void *)(uintptr_t)k->kernel.image_base,
		   (unsigned long)k->kernel.image_size, pe_status_str(k->pe),
		   win_ssdt_status_str(k->ssdt_status), (unsigned long)k->ssdt.count,
		   (unsigned long)k->ssdt.table_rva);
	return STATUS_SUCCESS;
}
