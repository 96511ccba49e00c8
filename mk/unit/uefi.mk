# The UEFI platform's pure logic: its command line, the memory-map
# conversion, the image relocation, the list of marrow's own pages.
UNIT_LIB_SRCS += src/platform/uefi/uefi_args.c src/platform/uefi/uefi_memmap.c
UNIT_LIB_SRCS += src/platform/uefi/uefi_reloc.c src/platform/uefi/uefi_owned.c
