/* PE/COFF images (Microsoft "PE Format" specification): the headers, the
 * section table and data reached through RVAs, read from a caller's
 * buffer and never past its end. Pure: used by the Windows driver on the
 * kernel's mapped image and by the host tests on files. A buffer is either
 * a file as stored on disk (sections at PointerToRawData) or an image as
 * the loader mapped it (sections at VirtualAddress). */
#ifndef MARROW_CORE_PE_H
#define MARROW_CORE_PE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pe_status {
	PE_OK = 0,
	PE_ERR_BAD_ARG,
	PE_ERR_TRUNCATED,	  /* a header runs past the end of the buffer */
	PE_ERR_NOT_MZ,		  /* no "MZ" at offset 0 */
	PE_ERR_NOT_PE,		  /* no "PE\0\0" at e_lfanew */
	PE_ERR_BAD_OPTIONAL,	  /* unknown magic, or too small for its fields */
	PE_ERR_TOO_MANY_SECTIONS, /* more than the loader accepts (96) */
	PE_ERR_SECTION_BOUNDS,	  /* a section's data lies outside the buffer/image */
	PE_ERR_SECTION_OVERLAP,	  /* sections not in ascending, disjoint order */
	PE_ERR_BAD_LAYOUT,	  /* sizes or alignments the spec forbids */
	PE_ERR_NOT_FOUND,
};

const char *pe_status_str(enum pe_status s);

enum pe_layout {
	PE_LAYOUT_FILE,	 /* the file as stored */
	PE_LAYOUT_IMAGE, /* mapped at its RVAs, as a loader leaves it */
};

/* COFF machine types and characteristics (PE Format, "Machine Types",
 * "Section Flags", "Windows Subsystem", "DLL Characteristics"). */
#define PE_MACHINE_I386 0x014c
#define PE_MACHINE_AMD64 0x8664
#define PE_OPT_MAGIC_PE32 0x10b
#define PE_OPT_MAGIC_PE32_PLUS 0x20b
#define PE_SCN_CNT_CODE 0x00000020u
#define PE_SCN_MEM_DISCARDABLE 0x02000000u
#define PE_SCN_MEM_EXECUTE 0x20000000u
#define PE_SCN_MEM_READ 0x40000000u
#define PE_SCN_MEM_WRITE 0x80000000u
#define PE_SUBSYSTEM_NATIVE 1
#define PE_SUBSYSTEM_WINDOWS_CUI 3
#define PE_SUBSYSTEM_EFI_APPLICATION 10
#define PE_DLLCHAR_DYNAMIC_BASE 0x0040
#define PE_DLLCHAR_NX_COMPAT 0x0100
#define PE_DIR_EXPORT 0
#define PE_DIR_IMPORT 1
#define PE_DIR_EXCEPTION 3
#define PE_DIR_BASERELOC 5
#define PE_MAX_DIRS 16
/* "the Windows loader limits the number of sections to 96" (PE Format,
 * COFF File Header). */
#define PE_MAX_SECTIONS 96

struct pe_section {
	char name[9]; /* the 8-byte short name, NUL-terminated */
	uint32_t virtual_address;
	uint32_t virtual_size; /* as loaded: VirtualSize, or SizeOfRawData if 0 */
	uint32_t raw_offset;
	uint32_t raw_size;
	uint32_t characteristics;
};

struct pe_data_dir {
	uint32_t rva;
	uint32_t size;
};

struct pe_image {
	const uint8_t *base;
	size_t size;
	enum pe_layout layout;
	uint16_t machine;
	uint16_t section_count;
	uint16_t file_characteristics;
	bool pe32_plus;
	uint64_t image_base;
	uint32_t entry_rva;
	uint32_t size_of_image;
	uint32_t size_of_headers;
	uint32_t section_alignment;
	uint32_t file_alignment;
	uint16_t subsystem;
	uint16_t dll_characteristics;
	uint32_t checksum;
	uint32_t checksum_offset; /* file offset of the CheckSum field */
	uint32_t dir_count;
	struct pe_data_dir dirs[PE_MAX_DIRS];
	uint32_t section_table; /* offset of the section table */
};

/* Parses and validates the headers and the whole section table: every
 * check that would make a later read go out of bounds is done here. */
enum pe_status pe_parse(struct pe_image *img, const void *buf, size_t size, enum pe_layout layout);

/* Section i of a parsed image (i < section_count). */
void pe_section_get(const struct pe_image *img, unsigned i, struct pe_section *out);

/* Where a section's bytes are in the buffer, and how many of them there
 * are for this layout (file: its raw data, at most its loaded size;
 * image: its loaded size). */
const uint8_t *pe_section_data(const struct pe_image *img, const struct pe_section *s, size_t *len);

/* Calls fn for each section whose characteristics have all bits of
 * must_have and none of must_not, in table order, until fn returns false.
 * Returns the number of sections visited. */
typedef bool (*pe_section_fn)(const struct pe_section *s, const uint8_t *data, size_t len,
			      void *ctx);
unsigned pe_for_each_section(const struct pe_image *img, uint32_t must_have, uint32_t must_not,
			     pe_section_fn fn, void *ctx);

/* The section containing rva, or PE_ERR_NOT_FOUND. */
enum pe_status pe_section_of_rva(const struct pe_image *img, uint32_t rva, struct pe_section *out);

/* A pointer to len bytes at rva, or NULL when they are not all inside the
 * buffer (file layout: inside the headers or one section's raw data). */
const void *pe_rva_ptr(const struct pe_image *img, uint32_t rva, size_t len);

/* The image checksum as the Windows loader verifies it for drivers: 16-bit
 * one's-complement-style sum of the file with the CheckSum field taken as
 * zero, folded, plus the file length. */
uint32_t pe_checksum(const void *file, size_t size, uint32_t checksum_offset);

/* Lays a file-layout image out as the loader would (headers, then each
 * section's raw data at its RVA, the rest zero; no relocations applied)
 * into dst, which must hold size_of_image bytes. */
enum pe_status pe_map_image(const struct pe_image *file, void *dst, size_t dst_size);

#endif
