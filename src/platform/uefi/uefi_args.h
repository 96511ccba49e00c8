/* marrow.efi's command line (the image's LoadOptions, UCS-2 text, UEFI
 * 9.1 EFI_LOADED_IMAGE_PROTOCOL):
 *   [key=HEX] [serial=HEX|off] [PATH [ARGUMENTS...]]
 * Options come first; the first other word is the boot loader to start
 * (a path on marrow's own volume) and everything after it is that loader's
 * command line, passed on verbatim. Pure logic. */
#ifndef MARROW_UEFI_ARGS_H
#define MARROW_UEFI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UEFI_ARGS_PATH_MAX 256
#define UEFI_ARGS_REST_MAX 1024

struct uefi_args {
	bool have_key;
	uint64_t key;
	uint16_t serial_port;		   /* root-mode diagnostics; 0: off */
	uint16_t path[UEFI_ARGS_PATH_MAX]; /* empty: nothing to start */
	uint16_t rest[UEFI_ARGS_REST_MAX]; /* the loader's own arguments */
	char error[96];			   /* why parsing failed */
};

#define UEFI_ARGS_DEFAULT_SERIAL 0x3f8

/* Parses len UCS-2 units of s (a terminating 0 may come earlier). With
 * skip_first, the first word is the image's own name (the UEFI shell puts
 * it there). Returns false, with out->error set, on a malformed option, an
 * unterminated quote, or a path or argument string too long. */
bool uefi_args_parse(const uint16_t *s, size_t len, bool skip_first, struct uefi_args *out);

#endif
