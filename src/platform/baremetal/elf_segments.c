#include "elf_segments.h"

#include "core/mw_string.h"
#include "core/unaligned.h"

#define EM_386 3
#define EM_X86_64 62
#define ET_EXEC 2
#define PT_LOAD 1
#define FOUR_GIB (1ull << 32)

/* The fields of a program header that loading needs, from either class. */
struct phdr {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

static void read_phdr(const uint8_t *p, bool is64, struct phdr *h)
{
	h->type = rd32(p);
	if (is64) {
		h->offset = rd64(p + 8);
		h->vaddr = rd64(p + 16);
		h->paddr = rd64(p + 24);
		h->filesz = rd64(p + 32);
		h->memsz = rd64(p + 40);
	} else {
		h->offset = rd32(p + 4);
		h->vaddr = rd32(p + 8);
		h->paddr = rd32(p + 12);
		h->filesz = rd32(p + 16);
		h->memsz = rd32(p + 20);
	}
}

static bool check_header(const uint8_t *buf, size_t len, bool *is64, struct load_error *err)
{
	static const uint8_t magic[4] = { 0x7f, 'E', 'L', 'F' };

	if (len < 52 || memcmp(buf, magic, sizeof(magic)) != 0)
		return load_fail(err, "not an ELF file");
	if (buf[4] != 1 && buf[4] != 2)
		return load_fail(err, "ELF class %u is neither 32- nor 64-bit", buf[4]);
	*is64 = buf[4] == 2;
	if (*is64 && len < 64)
		return load_fail(err, "ELF64 header truncated");
	if (buf[5] != 1)
		return load_fail(err, "ELF file is not little-endian");
	if (rd16(buf + 16) != ET_EXEC)
		return load_fail(err, "ELF file is not an executable (type %u)", rd16(buf + 16));
	uint16_t machine = rd16(buf + 18);
	if (machine != (*is64 ? EM_X86_64 : EM_386))
		return load_fail(err, "ELF machine %u is not x86", machine);
	return true;
}

static bool add_segment(const struct phdr *h, size_t len, struct guest_image *img,
			struct load_error *err)
{
	if (h->filesz > h->memsz)
		return load_fail(err, "ELF segment with more file bytes than memory");
	if (h->offset > len || h->filesz > len - h->offset)
		return load_fail(err, "ELF segment runs past the end of the file");
	if (h->paddr >= FOUR_GIB || h->memsz > FOUR_GIB - h->paddr)
		return load_fail(err, "ELF segment at %llx (+%llx) is not below 4 GiB",
				 (unsigned long long)h->paddr, (unsigned long long)h->memsz);
	if (img->seg_count == GUEST_MAX_SEGS)
		return load_fail(err, "more than %u loadable ELF segments", GUEST_MAX_SEGS);
	img->segs[img->seg_count++] = (struct load_seg){ h->paddr, h->offset, h->filesz, h->memsz };
	return true;
}

bool elf_load_segments(const uint8_t *buf, size_t len, struct guest_image *img, bool keep_entry,
		       struct load_error *err)
{
	bool is64 = false;

	if (!check_header(buf, len, &is64, err))
		return false;
	uint64_t entry = is64 ? rd64(buf + 24) : rd32(buf + 24);
	uint64_t phoff = is64 ? rd64(buf + 32) : rd32(buf + 28);
	uint16_t phentsize = rd16(buf + (is64 ? 54 : 42));
	uint16_t phnum = rd16(buf + (is64 ? 56 : 44));
	if (phentsize < (is64 ? 56 : 32))
		return load_fail(err, "ELF program headers of %u bytes are too small", phentsize);
	if (phoff > len || (uint64_t)phnum * phentsize > len - phoff)
		return load_fail(err, "ELF program headers run past the end of the file");

	bool entry_found = false;
	img->seg_count = 0;
	for (uint16_t i = 0; i < phnum; i++) {
		struct phdr h;
		read_phdr(buf + phoff + (uint64_t)i * phentsize, is64, &h);
		if (h.type != PT_LOAD || h.memsz == 0)
			continue;
		if (!add_segment(&h, len, img, err))
			return false;
		if (!entry_found && entry >= h.vaddr && entry - h.vaddr < h.memsz) {
			entry = entry - h.vaddr + h.paddr;
			entry_found = true;
		}
	}
	if (img->seg_count == 0)
		return load_fail(err, "ELF file has nothing to load");
	if (!keep_entry) {
		if (entry >= FOUR_GIB)
			return load_fail(err, "ELF entry point %llx is not below 4 GiB",
					 (unsigned long long)entry);
		img->entry = (uint32_t)entry;
	}
	return true;
}
