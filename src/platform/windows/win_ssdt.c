#include "win_ssdt.h"

#include "core/mw_string.h"
#include "core/pattern.h"
#include "core/unaligned.h"

#define DESCRIPTOR_SIZE 32
#define LEA_LEN 7

const char *win_ssdt_status_str(enum win_ssdt_status s)
{
	switch (s) {
	case WIN_SSDT_OK:
		return "ok";
	case WIN_SSDT_NOT_FOUND:
		return "KiSystemServiceRepeat pattern not found";
	case WIN_SSDT_AMBIGUOUS:
		return "KiSystemServiceRepeat pattern found more than once";
	case WIN_SSDT_BAD_DESCRIPTOR:
		return "service descriptor table is not data in the image";
	case WIN_SSDT_BAD_TABLE:
		return "service table is not plausible";
	case WIN_SSDT_BAD_IMAGE:
		return "not a mapped x64 image";
	}
	return "unknown SSDT status";
}

int32_t win_ssdt_entry_offset(uint32_t entry)
{
	/* An arithmetic shift of the signed entry, spelled out. */
	return (int32_t)(entry & ~0xfu) / 16;
}

unsigned win_ssdt_entry_stack_args(uint32_t entry)
{
	return entry & 0xf;
}

struct scan {
	const struct pattern *p;
	unsigned matches;
	uint32_t first_rva;
};

static bool scan_section(const struct pe_section *s, const uint8_t *data, size_t len, void *ctx)
{
	struct scan *sc = ctx;
	size_t first;
	size_t n = pattern_count(data, len, sc->p, &first);

	if (n && sc->matches == 0)
		sc->first_rva = s->virtual_address + (uint32_t)first;
	sc->matches += (unsigned)n;
	return true;
}

/* The target of the RIP-relative LEA at rva, if it is data (not code) in
 * the image: the descriptor tables live in a data section. */
static bool lea_target(const struct pe_image *img, uint32_t rva, uint32_t *target)
{
	const uint8_t *insn = pe_rva_ptr(img, rva, LEA_LEN);
	struct pe_section s;

	if (!insn)
		return false;
	int64_t t = (int64_t)rva + LEA_LEN + (int32_t)rd32(insn + 3);
	if (t < 0 || t + DESCRIPTOR_SIZE > img->size_of_image)
		return false;
	*target = (uint32_t)t;
	return pe_section_of_rva(img, *target, &s) == PE_OK &&
	       !(s.characteristics & PE_SCN_MEM_EXECUTE);
}

static bool in_code(const struct pe_image *img, uint64_t rva)
{
	struct pe_section s;
	return rva < img->size_of_image && pe_section_of_rva(img, (uint32_t)rva, &s) == PE_OK &&
	       (s.characteristics & PE_SCN_MEM_EXECUTE);
}

static enum win_ssdt_status read_table(const struct pe_image *img, struct win_ssdt *out)
{
	const uint8_t *d = pe_rva_ptr(img, out->descriptor_rva, DESCRIPTOR_SIZE);
	uint64_t table_va = rd64(d);
	uint64_t count = rd64(d + 16);

	if (table_va < out->runtime_base || table_va - out->runtime_base >= img->size_of_image)
		return WIN_SSDT_BAD_TABLE;
	if (count == 0 || count > WIN_SSDT_MAX_SERVICES)
		return WIN_SSDT_BAD_TABLE;
	out->table_rva = (uint32_t)(table_va - out->runtime_base);
	out->count = (uint32_t)count;
	out->table = pe_rva_ptr(img, out->table_rva, (size_t)count * 4);
	if (!out->table)
		return WIN_SSDT_BAD_TABLE;
	/* Every service routine is code in this image. */
	for (uint32_t i = 0; i < out->count; i++) {
		int64_t rva =
			(int64_t)out->table_rva + win_ssdt_entry_offset(rd32(out->table + 4 * i));
		if (rva < 0 || !in_code(img, (uint64_t)rva))
			return WIN_SSDT_BAD_TABLE;
	}
	return WIN_SSDT_OK;
}

enum win_ssdt_status win_ssdt_locate(const struct pe_image *img, uint64_t runtime_base,
				     struct win_ssdt *out)
{
	struct pattern p;
	struct scan sc = { &p, 0, 0 };

	memset(out, 0, sizeof(*out));
	out->runtime_base = runtime_base;
	if (img->layout != PE_LAYOUT_IMAGE || img->machine != PE_MACHINE_AMD64 || !img->pe32_plus)
		return WIN_SSDT_BAD_IMAGE;
	pattern_parse(&p, WIN_SSDT_PATTERN);
	/* Discardable sections (INIT) are unmapped once the kernel has
	 * booted: reading them would fault. */
	pe_for_each_section(img, PE_SCN_MEM_EXECUTE, PE_SCN_MEM_DISCARDABLE, scan_section, &sc);
	out->matches = sc.matches;
	if (sc.matches == 0)
		return WIN_SSDT_NOT_FOUND;
	if (sc.matches > 1)
		return WIN_SSDT_AMBIGUOUS;
	out->code_rva = sc.first_rva;
	if (!lea_target(img, sc.first_rva, &out->descriptor_rva) ||
	    !lea_target(img, sc.first_rva + LEA_LEN, &out->shadow_rva))
		return WIN_SSDT_BAD_DESCRIPTOR;
	return read_table(img, out);
}

bool win_ssdt_routine(const struct win_ssdt *s, uint32_t index, uint64_t *va)
{
	if (!s->table || index >= s->count)
		return false;
	*va = s->runtime_base + s->table_rva +
	      (int64_t)win_ssdt_entry_offset(rd32(s->table + 4 * index));
	return true;
}
