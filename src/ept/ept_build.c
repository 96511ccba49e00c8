/* Building the identity map: each entry is the largest leaf whose whole
 * range has one memory type, or a table when it is not uniform (or when
 * the level cannot hold a leaf: the PML4, or PDPT without 1 GiB pages). */
#include "ept.h"

#include "core/mw_string.h"

static bool take_page(struct ept *e, const struct ept_alloc *a, struct ept_page **out)
{
	if (e->page_count == EPT_MAX_PAGES)
		return false;
	struct ept_page *p = &e->pages[e->page_count];
	if (!a->page(p, a->ctx))
		return false;
	e->page_count++;
	*out = p;
	return true;
}

static uint64_t table_entry(uint64_t pa)
{
	/* A non-leaf entry gives every right; the leaves decide (SDM 3C
	 * 29.3.2: access needs the right at every level). */
	return pa | EPT_RWX;
}

static bool leaf_allowed(unsigned level, bool use_1g)
{
	return level == 1 || level == 2 || (level == 3 && use_1g);
}

/* Entries [first, last) of `table` at `level`, which maps from `base`. */
static enum mw_status fill(struct ept *e, const struct ept_build_params *p,
			   const struct ept_alloc *a, uint64_t *table, unsigned level,
			   uint64_t base, unsigned first, unsigned last)
{
	uint64_t size = ept_level_size(level);

	for (unsigned i = first; i < last; i++) {
		uint64_t start = base + (uint64_t)i * size;
		uint8_t type;
		if (start >= p->limit)
			break; /* beyond the map: not present */
		if (leaf_allowed(level, p->use_1g) && p->type_of(start, size, &type, p->type_ctx)) {
			table[i] = start | EPT_RWX | ((uint64_t)type << EPT_MEMTYPE_SHIFT) |
				   (level > 1 ? EPT_LARGE : 0);
			continue;
		}
		/* A 4 KiB page always has one type: level 1 never gets here
		 * unless the type callback disagrees with itself. */
		if (level == 1)
			return MW_ERR_BAD_CONFIG;
		struct ept_page *child;
		if (!take_page(e, a, &child))
			return MW_ERR_NO_MEMORY;
		e->tables_per_level[level - 1]++;
		table[i] = table_entry(child->pa);
		enum mw_status s = fill(e, p, a, child->va, level - 1, start, 0, 512);
		if (s != MW_OK)
			return s;
	}
	return MW_OK;
}

static enum mw_status start_tree(struct ept *e, const struct ept_build_params *p,
				 const struct ept_alloc *a, struct ept_page **root)
{
	memset(e, 0, sizeof(*e));
	e->phys_bits = p->phys_bits;
	e->limit = p->limit;
	if (p->limit == 0 || (p->limit & (ept_level_size(3) - 1)) || p->limit > (1ull << 48) ||
	    p->pool_pages > EPT_MAX_PAGES)
		return MW_ERR_BAD_CONFIG;
	if (!take_page(e, a, root))
		return MW_ERR_NO_MEMORY;
	e->tables_per_level[EPT_LEVELS] = 1;
	e->pml4_pa = (*root)->pa;
	return MW_OK;
}

enum mw_status ept_build_shared(struct ept *shared, const struct ept_build_params *p,
				const struct ept_alloc *a)
{
	struct ept_page *root;
	enum mw_status s = start_tree(shared, p, a, &root);

	if (s == MW_OK)
		s = fill(shared, p, a, root->va, EPT_LEVELS, 0, 1, 512);
	if (s != MW_OK)
		ept_free(shared, a);
	return s;
}

enum mw_status ept_build(struct ept *e, const struct ept_build_params *p, const struct ept_alloc *a)
{
	struct ept_page *root;
	enum mw_status s = start_tree(e, p, a, &root);

	if (s != MW_OK) {
		ept_free(e, a);
		return s;
	}
	if (p->shared) {
		/* The first 512 GiB are this CPU's own; the rest points into
		 * the shared tables. */
		const struct ept *sh = p->shared;
		const uint64_t *shared_root = sh->pages[0].va;
		e->shared = sh;
		s = fill(e, p, a, root->va, EPT_LEVELS, 0, 0, 1);
		for (unsigned i = 1; s == MW_OK && i < 512; i++)
			root->va[i] = shared_root[i];
	} else {
		s = fill(e, p, a, root->va, EPT_LEVELS, 0, 0, 512);
	}
	for (size_t i = 0; s == MW_OK && i < p->pool_pages; i++) {
		struct ept_page *pg;
		if (!take_page(e, a, &pg)) {
			s = MW_ERR_NO_MEMORY;
			break;
		}
		e->pool[e->pool_free++] = (uint16_t)(e->page_count - 1);
	}
	if (s != MW_OK) {
		ept_free(e, a);
		return s;
	}
	e->eptp = e->pml4_pa | EPTP_WALK_4 | EPTP_MEMTYPE_WB;
	return MW_OK;
}

void ept_free(struct ept *e, const struct ept_alloc *a)
{
	for (size_t i = 0; i < e->page_count; i++)
		a->free(&e->pages[i], a->ctx);
	e->page_count = 0;
	e->pool_free = 0;
	e->pml4_pa = 0;
	e->eptp = 0;
}

size_t ept_table_pages(const struct ept *e)
{
	return e->page_count - e->pool_free;
}
