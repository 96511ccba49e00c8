#include "uefi_reloc.h"

const char *uefi_reloc_status_str(enum uefi_reloc_status s)
{
	switch (s) {
	case UEFI_RELOC_OK:
		return "ok";
	case UEFI_RELOC_NO_TABLE:
		return "no relocation table in the dynamic section";
	case UEFI_RELOC_BAD_ENTSIZE:
		return "relocation entries of an unexpected size";
	case UEFI_RELOC_BAD_TYPE:
		return "a relocation type other than R_X86_64_RELATIVE";
	case UEFI_RELOC_OUT_OF_IMAGE:
		return "a relocation target outside the image";
	}
	return "unknown relocation status";
}

enum uefi_reloc_status uefi_reloc_find(uint8_t *base, const struct uefi_dyn *dyn,
				       const struct uefi_rela **table, size_t *count)
{
	uint64_t rela = 0, size = 0, ent = sizeof(struct uefi_rela);

	for (; dyn->tag != UEFI_DT_NULL; dyn++) {
		if (dyn->tag == UEFI_DT_RELA)
			rela = dyn->val;
		else if (dyn->tag == UEFI_DT_RELASZ)
			size = dyn->val;
		else if (dyn->tag == UEFI_DT_RELAENT)
			ent = dyn->val;
	}
	*table = NULL;
	*count = 0;
	if (!rela)
		return size ? UEFI_RELOC_NO_TABLE : UEFI_RELOC_OK;
	if (ent != sizeof(struct uefi_rela))
		return UEFI_RELOC_BAD_ENTSIZE;
	/* d_ptr values are link-time addresses, i.e. offsets from the base of
	 * an image linked at 0. */
	*table = (const struct uefi_rela *)(base + rela);
	*count = size / ent;
	return UEFI_RELOC_OK;
}

enum uefi_reloc_status uefi_reloc_apply(uint8_t *copy, size_t image_size,
					const struct uefi_rela *table, size_t count, uint64_t delta)
{
	for (size_t i = 0; i < count; i++) {
		uint32_t type = (uint32_t)table[i].info;
		if (type == UEFI_R_X86_64_NONE)
			continue;
		if (type != UEFI_R_X86_64_RELATIVE)
			return UEFI_RELOC_BAD_TYPE;
		if (image_size < 8 || table[i].offset > image_size - 8)
			return UEFI_RELOC_OUT_OF_IMAGE;
	}
	for (size_t i = 0; i < count; i++) {
		if ((uint32_t)table[i].info != UEFI_R_X86_64_RELATIVE)
			continue;
		uint8_t *p = copy + table[i].offset;
		uint64_t v;
		__builtin_memcpy(&v, p, 8);
		v += delta;
		__builtin_memcpy(p, &v, 8);
	}
	return UEFI_RELOC_OK;
}
