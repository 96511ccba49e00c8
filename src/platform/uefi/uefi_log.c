/* marrow's text on the firmware console. UEFI 12.4: ConOut belongs to the
 * BSP and to boot services, so APs and anything after ExitBootServices
 * write nothing here (the seal's ExitBootServices notification, uefi_seal.c,
 * says when boot services are gone; root mode keeps its per-CPU rings, and
 * its fatal diagnostics go to the configured serial port directly). */
#include <efi.h>
#include <stdarg.h>

#include "core/fmt.h"
#include "efi_protocols.h"
#include "uefi_platform.h"

#define CHUNK 128

void platform_log(const char *text, size_t len)
{
	CHAR16 buf[CHUNK + 2];
	size_t n = 0;

	if (uefi.boot_services_gone || !uefi.st || !uefi_on_bsp())
		return;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			buf[n++] = L'\r';
		buf[n++] = (CHAR16)(unsigned char)text[i];
		if (n >= CHUNK) {
			buf[n] = 0;
			uefi.st->ConOut->OutputString(uefi.st->ConOut, buf);
			n = 0;
		}
	}
	buf[n] = 0;
	if (n)
		uefi.st->ConOut->OutputString(uefi.st->ConOut, buf);
}

void uefi_printf(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	int n = mw_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	platform_log(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}
