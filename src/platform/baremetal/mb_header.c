#include "mb_header.h"

#include "core/mw_string.h"
#include "core/unaligned.h"
#include "elf_segments.h"

/* Multiboot flags (0.6.96, 3.1.2): bits 0-15 are requirements. */
#define MB1_PAGE_ALIGN (1u << 0)
#define MB1_MEMORY_INFO (1u << 1)
#define MB1_VIDEO_MODE (1u << 2)
#define MB1_ADDRESS_FIELDS (1u << 16)
#define MB1_KNOWN_REQUIREMENTS (MB1_PAGE_ALIGN | MB1_MEMORY_INFO)

/* Multiboot2 header tags (2.0, 3.1.3 - 3.1.13). */
enum mb2_header_tag {
	MB2H_END = 0,
	MB2H_INFO_REQUEST = 1,
	MB2H_ADDRESS = 2,
	MB2H_ENTRY = 3,
	MB2H_CONSOLE = 4,
	MB2H_FRAMEBUFFER = 5,
	MB2H_MODULE_ALIGN = 6,
	MB2H_EFI_BS = 7,
	MB2H_ENTRY_EFI32 = 8,
	MB2H_ENTRY_EFI64 = 9,
	MB2H_RELOCATABLE = 10,
};
#define MB2H_OPTIONAL 1u
#define MB2_ARCH_I386 0

/* The information tags marrow's loader gives (mb_info.c). */
#define MB2_INFO_GIVEN                                                                      \
	((1u << MB2_INFO_CMDLINE) | (1u << MB2_INFO_BOOTLOADER) | (1u << MB2_INFO_MODULE) | \
	 (1u << MB2_INFO_MEMINFO) | (1u << MB2_INFO_MMAP) | (1u << MB2_INFO_ACPI_OLD) |     \
	 (1u << MB2_INFO_ACPI_NEW))

/* The first offset (a multiple of align, below limit) where magic and a
 * valid checksum start; -1 if none. MB2's checksum covers 4 words, MB1's
 * 3. */
static long find_header(const uint8_t *img, size_t len, uint32_t magic, size_t align, size_t limit,
			unsigned words)
{
	size_t end = len < limit ? len : limit;
	for (size_t off = 0; off + 4 * words <= end; off += align) {
		if (rd32(img + off) != magic)
			continue;
		uint32_t sum = 0;
		for (unsigned i = 0; i < words; i++)
			sum += rd32(img + off + 4 * i);
		if (sum == 0)
			return (long)off;
	}
	return -1;
}

/* The "a.out kludge" address fields (MB1 3.1.3, MB2 3.1.5): the file from
 * the header's offset minus (header_addr - load_addr) goes to load_addr,
 * up to load_end_addr (0: the rest of the file), then zeros up to
 * bss_end_addr (0: none). MB2 lets load_addr be -1: from the file's start. */
static bool address_fields(const uint8_t *f, size_t hdr_off, size_t len, bool mb2,
			   struct guest_image *out, struct load_error *err)
{
	uint32_t header_addr = rd32(f), load_addr = rd32(f + 4);
	uint32_t load_end = rd32(f + 8), bss_end = rd32(f + 12);
	uint64_t file_off;

	if (mb2 && load_addr == 0xffffffffu) {
		file_off = 0;
		load_addr = header_addr - (uint32_t)hdr_off;
	} else {
		if (load_addr > header_addr || header_addr - load_addr > hdr_off)
			return load_fail(err,
					 "address fields: load_addr %x is not at or below "
					 "header_addr %x within the file",
					 load_addr, header_addr);
		file_off = hdr_off - (header_addr - load_addr);
	}
	uint64_t size = load_end ? (uint64_t)load_end - load_addr : len - file_off;
	if (load_end && load_end <= load_addr)
		return load_fail(err, "address fields: load_end_addr %x is not above load_addr %x",
				 load_end, load_addr);
	if (size > len - file_off)
		return load_fail(err, "address fields: %llx bytes to load, the file has %llx",
				 (unsigned long long)size, (unsigned long long)(len - file_off));
	uint64_t mem = size;
	if (bss_end) {
		if (bss_end < load_addr + size)
			return load_fail(err,
					 "address fields: bss_end_addr %x is below the "
					 "loaded image's end",
					 bss_end);
		mem = (uint64_t)bss_end - load_addr;
	}
	if ((uint64_t)load_addr + mem > (1ull << 32))
		return load_fail(err, "address fields: the image does not end below 4 GiB");
	out->segs[0] = (struct load_seg){ load_addr, file_off, size, mem };
	out->seg_count = 1;
	return true;
}

/* ---- Multiboot2 ---- */

struct mb2_tags {
	const uint8_t *address; /* the address tag's fields, or NULL */
	bool has_entry;
	uint32_t entry;
};

static bool info_request(const uint8_t *t, uint32_t size, bool optional, struct guest_image *out,
			 struct load_error *err)
{
	for (uint32_t off = 8; off + 4 <= size; off += 4) {
		uint32_t type = rd32(t + off);
		bool given = type < 32 && (MB2_INFO_GIVEN & (1u << type));
		if (given && !optional)
			out->mb2_required |= 1u << type;
		else if (!given && !optional)
			return load_fail(err,
					 "the kernel requires information tag %u, which "
					 "marrow does not give",
					 type);
	}
	return true;
}

static bool one_tag(const uint8_t *t, uint16_t type, uint16_t flags, uint32_t size,
		    struct mb2_tags *tags, struct guest_image *out, struct load_error *err)
{
	bool optional = flags & MB2H_OPTIONAL;

	switch (type) {
	case MB2H_INFO_REQUEST:
		return info_request(t, size, optional, out, err);
	case MB2H_ADDRESS:
		if (size < 24)
			return load_fail(err, "multiboot2 address tag too short");
		tags->address = t + 8;
		return true;
	case MB2H_ENTRY:
		if (size < 12)
			return load_fail(err, "multiboot2 entry address tag too short");
		tags->has_entry = true;
		tags->entry = rd32(t + 8);
		return true;
	case MB2H_MODULE_ALIGN:
		out->page_align_modules = true;
		return true;
	case MB2H_CONSOLE:     /* the text console is there */
	case MB2H_EFI_BS:      /* BIOS: no boot services to keep */
	case MB2H_ENTRY_EFI32: /* EFI entry points: not used on BIOS */
	case MB2H_ENTRY_EFI64: /* ... */
	case MB2H_RELOCATABLE: /* loaded where it was linked: allowed */
		return true;
	case MB2H_FRAMEBUFFER:
		if (optional)
			return true;
		return load_fail(err, "the kernel requires a framebuffer (multiboot2 tag 5), "
				      "which marrow does not set up");
	default:
		if (optional)
			return true;
		return load_fail(err,
				 "the kernel requires multiboot2 header tag %u, which "
				 "marrow does not know",
				 type);
	}
}

static bool walk_mb2_tags(const uint8_t *h, uint32_t hlen, struct mb2_tags *tags,
			  struct guest_image *out, struct load_error *err)
{
	for (uint32_t off = 16;;) {
		if (off + 8 > hlen)
			return load_fail(err, "multiboot2 header tags run past header_length");
		const uint8_t *t = h + off;
		uint16_t type = rd16(t), flags = rd16(t + 2);
		uint32_t size = rd32(t + 4);
		if (size < 8 || size > hlen - off)
			return load_fail(err, "multiboot2 header tag %u has a bad size %u", type,
					 size);
		if (type == MB2H_END)
			return true;
		if (!one_tag(t, type, flags, size, tags, out, err))
			return false;
		off += (size + 7) & ~7u;
	}
}

bool mb2_header_parse(const uint8_t *img, size_t len, struct guest_image *out,
		      struct load_error *err)
{
	long at = find_header(img, len, MB2_HEADER_MAGIC, 8, MB2_SEARCH, 4);

	err->text[0] = '\0';
	if (at < 0)
		return false;
	const uint8_t *h = img + at;
	uint32_t arch = rd32(h + 4), hlen = rd32(h + 8);
	if (arch != MB2_ARCH_I386)
		return load_fail(err, "multiboot2 header for architecture %u, not i386", arch);
	if (hlen < 24 || hlen > len - (size_t)at)
		return load_fail(err, "multiboot2 header_length %u does not fit the file", hlen);
	memset(out, 0, sizeof(*out));
	out->kind = GUEST_MULTIBOOT2;
	struct mb2_tags tags = { 0 };
	if (!walk_mb2_tags(h, hlen, &tags, out, err))
		return false;
	if (tags.address) {
		if (!tags.has_entry)
			return load_fail(err,
					 "multiboot2 address tag without an entry address tag");
		if (!address_fields(tags.address, (size_t)at, len, true, out, err))
			return false;
	} else if (!elf_load_segments(img, len, out, tags.has_entry, err)) {
		return false;
	}
	if (tags.has_entry)
		out->entry = tags.entry;
	return true;
}

/* ---- Multiboot 0.6.96 ---- */

bool mb1_header_parse(const uint8_t *img, size_t len, struct guest_image *out,
		      struct load_error *err)
{
	long at = find_header(img, len, MB1_HEADER_MAGIC, 4, MB1_SEARCH, 3);

	err->text[0] = '\0';
	if (at < 0)
		return false;
	const uint8_t *h = img + at;
	uint32_t flags = rd32(h + 4);
	memset(out, 0, sizeof(*out));
	out->kind = GUEST_MULTIBOOT1;
	if (flags & MB1_VIDEO_MODE)
		return load_fail(err, "the kernel requires a video mode (multiboot flag 2), "
				      "which marrow does not set up");
	uint32_t unknown = flags & 0xffffu & ~MB1_KNOWN_REQUIREMENTS;
	if (unknown)
		return load_fail(err,
				 "the kernel requires multiboot flags %x, which marrow "
				 "does not know",
				 unknown);
	out->page_align_modules = flags & MB1_PAGE_ALIGN;
	if (!(flags & MB1_ADDRESS_FIELDS))
		return elf_load_segments(img, len, out, false, err);
	if ((size_t)at + 32 > len)
		return load_fail(err, "multiboot header's address fields run past the file");
	if (!address_fields(h + 12, (size_t)at, len, false, out, err))
		return false;
	out->entry = rd32(h + 28);
	return true;
}
