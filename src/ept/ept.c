#include "ept.h"

#include "arch/x86/paging.h"
#include "core/mw_string.h"
#include "platform/platform.h"

#define EPT_WB (6ull << EPT_MEMTYPE_SHIFT)

static uint64_t *new_table(struct ept *e)
{
	if (e->table_count == EPT_MAX_TABLE_PAGES)
		return NULL;
	uint64_t *t = platform_alloc_pages(1);
	if (t)
		e->tables[e->table_count++] = t;
	return t;
}

static uint64_t table_entry(const uint64_t *t)
{
	return platform_virt_to_phys(t) | EPT_RWX;
}

/* One PDPT's worth (512 GiB) starting at base, or less when limit ends
 * first. */
static enum mw_status fill_pdpt(struct ept *e, uint64_t *pdpt, uint64_t base, uint64_t limit,
				bool use_1g)
{
	for (unsigned i = 0; i < 512; i++) {
		uint64_t gib = base + (uint64_t)i * HUGE_PAGE_SIZE;
		if (gib >= limit)
			break;
		if (use_1g) {
			pdpt[i] = gib | EPT_RWX | EPT_WB | EPT_LARGE;
			continue;
		}
		uint64_t *pd = new_table(e);
		if (!pd)
			return MW_ERR_NO_MEMORY;
		for (unsigned j = 0; j < 512; j++)
			pd[j] = (gib + (uint64_t)j * LARGE_PAGE_SIZE) | EPT_RWX | EPT_WB |
				EPT_LARGE;
		pdpt[i] = table_entry(pd);
	}
	return MW_OK;
}

enum mw_status ept_build_identity(struct ept *e, unsigned phys_bits, bool use_1g)
{
	memset(e, 0, sizeof(*e));
	if (phys_bits < 32 || phys_bits > 48)
		return MW_ERR_BAD_CONFIG;
	e->phys_bits = phys_bits;
	uint64_t limit = 1ull << phys_bits;
	/* Without 1 GiB pages, a full map of a large space would cost a page
	 * per GiB; map what a 2 MiB-page budget allows (the EPT issue maps
	 * the rest properly). */
	if (!use_1g && limit > (512ull << 30))
		limit = 512ull << 30;

	e->pml4 = new_table(e);
	if (!e->pml4)
		return MW_ERR_NO_MEMORY;
	for (uint64_t base = 0; base < limit; base += 512ull << 30) {
		uint64_t *pdpt = new_table(e);
		if (!pdpt)
			return MW_ERR_NO_MEMORY;
		enum mw_status s = fill_pdpt(e, pdpt, base, limit, use_1g);
		if (s != MW_OK)
			return s;
		e->pml4[base >> 39] = table_entry(pdpt);
	}
	e->eptp = platform_virt_to_phys(e->pml4) | EPTP_WALK_4 | EPTP_MEMTYPE_WB;
	return MW_OK;
}

void ept_free(struct ept *e)
{
	for (size_t i = 0; i < e->table_count; i++)
		platform_free_pages(e->tables[i], 1);
	e->table_count = 0;
	e->pml4 = NULL;
}
