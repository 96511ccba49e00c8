/* Walking, splitting and merging a built tree: root-safe (no allocation,
 * no OS: tables come from the tree's own pool and are found through its
 * own page list, or the shared tree's). A walk that is going to change
 * something first copies any shared table on its way into the tree's pool
 * (copy on write), so a change never reaches another CPU. The caller
 * flushes (INVEPT) after a change. */
#include "ept.h"

#include "core/mw_string.h"

static unsigned index_at(uint64_t gpa, unsigned level)
{
	return (unsigned)((gpa >> (12 + 9 * (level - 1))) & 0x1ff);
}

static bool is_leaf(uint64_t entry, unsigned level)
{
	return level == 1 || (entry & EPT_LARGE);
}

static bool present(uint64_t entry)
{
	return entry & EPT_RWX;
}

static uint64_t *own_va(const struct ept *e, uint64_t pa)
{
	for (size_t i = 0; i < e->page_count; i++)
		if (e->pages[i].pa == pa)
			return e->pages[i].va;
	return NULL;
}

/* The virtual address of a table the tree can read: its own or shared. */
static uint64_t *table_va(const struct ept *e, uint64_t pa)
{
	uint64_t *va = own_va(e, pa);
	if (!va && e->shared)
		va = own_va(e->shared, pa);
	return va;
}

static struct ept_page *pool_take(struct ept *e)
{
	if (!e->pool_free)
		return NULL;
	return &e->pages[e->pool[--e->pool_free]];
}

static void pool_give(struct ept *e, uint64_t pa)
{
	for (size_t i = 0; i < e->page_count; i++) {
		if (e->pages[i].pa == pa) {
			e->pool[e->pool_free++] = (uint16_t)i;
			return;
		}
	}
}

/* The table under *parent (at `level`), made this tree's own: a shared
 * one is copied into a pool page first and *parent repointed at the
 * copy. NULL when the pool is empty. */
static uint64_t *own_child(struct ept *e, uint64_t *parent, unsigned level)
{
	uint64_t pa = *parent & EPT_ADDR_MASK;
	uint64_t *va = own_va(e, pa);
	if (va)
		return va;
	const uint64_t *shared = table_va(e, pa);
	struct ept_page *copy = shared ? pool_take(e) : NULL;
	if (!copy)
		return NULL;
	memcpy(copy->va, shared, 4096);
	e->tables_per_level[level]++;
	__atomic_store_n(parent, copy->pa | (*parent & ~EPT_ADDR_MASK), __ATOMIC_RELEASE);
	return copy->va;
}

/* The entry for gpa at `level`, in a table this tree owns (copying shared
 * tables on the way); NULL if the walk ends above that level or the pool
 * is empty (*status says which). */
static uint64_t *entry_mut(struct ept *e, uint64_t gpa, unsigned level, enum mw_status *status)
{
	uint64_t *table = own_va(e, e->pml4_pa);

	*status = MW_ERR_BAD_CONFIG;
	if (gpa >= e->limit)
		return NULL;
	for (unsigned l = EPT_LEVELS; table; l--) {
		uint64_t *ent = &table[index_at(gpa, l)];
		if (l == level) {
			*status = MW_OK;
			return ent;
		}
		if (!present(*ent) || is_leaf(*ent, l))
			return NULL;
		table = own_child(e, ent, l - 1);
		if (!table)
			*status = MW_ERR_NO_MEMORY;
	}
	return NULL;
}

uint64_t *ept_leaf(const struct ept *e, uint64_t gpa, unsigned *level)
{
	if (gpa >= e->limit)
		return NULL;
	uint64_t *table = table_va(e, e->pml4_pa);
	for (unsigned l = EPT_LEVELS; table; l--) {
		uint64_t *ent = &table[index_at(gpa, l)];
		/* A 4 KiB entry is the leaf even with no rights left (a page
		 * made inaccessible keeps its frame). */
		if (!present(*ent) && l > 1)
			return NULL;
		if (is_leaf(*ent, l)) {
			*level = l;
			return ent;
		}
		table = table_va(e, *ent & EPT_ADDR_MASK);
	}
	return NULL;
}

unsigned ept_walk(const struct ept *e, uint64_t gpa, uint64_t out[EPT_LEVELS])
{
	unsigned n = 0;
	uint64_t *table = table_va(e, e->pml4_pa);

	for (unsigned l = EPT_LEVELS; table && n < EPT_LEVELS; l--) {
		uint64_t ent = table[index_at(gpa, l)];
		out[n++] = ent;
		if (!present(ent) || is_leaf(ent, l))
			break;
		table = table_va(e, ent & EPT_ADDR_MASK);
	}
	return n;
}

enum mw_status ept_split(struct ept *e, uint64_t gpa, unsigned level)
{
	enum mw_status s;

	if (level < 2 || level > 3)
		return MW_ERR_BAD_CONFIG;
	uint64_t *ent = entry_mut(e, gpa, level, &s);
	if (!ent)
		return s;
	/* A large leaf splits even without rights (a range made
	 * inaccessible); anything else without rights is a hole. */
	if (!is_leaf(*ent, level))
		return present(*ent) ? MW_OK /* already a table */ : MW_ERR_BAD_CONFIG;
	struct ept_page *child = pool_take(e);
	if (!child)
		return MW_ERR_NO_MEMORY;
	/* The children keep the type and rights; only 2 MiB children carry
	 * the large-page bit (it is ignored in a 4 KiB entry). */
	uint64_t attrs = *ent & ~(EPT_ADDR_MASK | EPT_LARGE);
	uint64_t base = *ent & EPT_ADDR_MASK & ~(ept_level_size(level) - 1);
	uint64_t child_size = ept_level_size(level - 1);
	for (unsigned i = 0; i < 512; i++)
		child->va[i] = (base + i * child_size) | attrs | (level - 1 > 1 ? EPT_LARGE : 0);
	e->tables_per_level[level - 1]++;
	/* One store replaces the leaf: a walker sees the old translation or
	 * the new one, both valid. */
	__atomic_store_n(ent, child->pa | EPT_RWX, __ATOMIC_RELEASE);
	return MW_OK;
}

uint64_t *ept_split_to_4k(struct ept *e, uint64_t gpa, enum mw_status *status)
{
	for (unsigned level = 3; level >= 2; level--) {
		uint64_t *ent = entry_mut(e, gpa, level, status);
		if (!ent)
			return NULL;
		if (is_leaf(*ent, level)) {
			*status = ept_split(e, gpa, level);
			if (*status != MW_OK)
				return NULL;
		}
	}
	return entry_mut(e, gpa, 1, status);
}

bool ept_merge(struct ept *e, uint64_t gpa, unsigned level)
{
	enum mw_status s;

	if (level < 2 || level > 3)
		return false;
	uint64_t *ent = entry_mut(e, gpa, level, &s);
	if (!ent || !present(*ent) || is_leaf(*ent, level))
		return false;
	uint64_t child_pa = *ent & EPT_ADDR_MASK;
	const uint64_t *child = table_va(e, child_pa);
	if (!child)
		return false;
	uint64_t child_size = ept_level_size(level - 1);
	uint64_t base = child[0] & EPT_ADDR_MASK;
	uint64_t attrs = child[0] & ~(EPT_ADDR_MASK | EPT_LARGE);
	if (base & (ept_level_size(level) - 1))
		return false; /* the run must start on the large page's boundary */
	for (unsigned i = 0; i < 512; i++) {
		uint64_t c = child[i];
		if (!present(c) || !is_leaf(c, level - 1) ||
		    (c & EPT_ADDR_MASK) != base + i * child_size ||
		    (c & ~(EPT_ADDR_MASK | EPT_LARGE)) != attrs)
			return false;
	}
	__atomic_store_n(ent, base | attrs | EPT_LARGE, __ATOMIC_RELEASE);
	uint64_t *own = own_va(e, child_pa);
	if (own) {
		/* Only a table of this tree's goes back to its pool. */
		e->tables_per_level[level - 1]--;
		memset(own, 0, 4096);
		pool_give(e, child_pa);
	}
	return true;
}

enum mw_status ept_set_page(struct ept *e, uint64_t gpa, uint64_t frame, uint64_t rights)
{
	enum mw_status s;
	uint64_t *pte = ept_split_to_4k(e, gpa, &s);

	if (!pte)
		return s;
	uint64_t keep = *pte & ~(EPT_ADDR_MASK | EPT_RWX);
	__atomic_store_n(pte, (frame & EPT_ADDR_MASK) | keep | (rights & EPT_RWX),
			 __ATOMIC_RELEASE);
	return MW_OK;
}

/* The leaf that maps gpa, in a table this tree owns (shared tables are
 * copied on the way), and its level: a 4 KiB entry or a large one, with
 * rights or without (a range made inaccessible is still mapped by its
 * leaves). NULL beyond the map, or when a copy finds the pool empty
 * (*status says which). */
static uint64_t *leaf_mut(struct ept *e, uint64_t gpa, unsigned *level, enum mw_status *status)
{
	uint64_t *table = own_va(e, e->pml4_pa);

	*status = MW_ERR_BAD_CONFIG;
	if (gpa >= e->limit)
		return NULL;
	for (unsigned l = EPT_LEVELS; table; l--) {
		uint64_t *ent = &table[index_at(gpa, l)];
		if (l == 1 || (l < EPT_LEVELS && (*ent & EPT_LARGE))) {
			*level = l;
			*status = MW_OK;
			return ent;
		}
		if (!present(*ent))
			return NULL;
		table = own_child(e, ent, l - 1);
		if (!table)
			*status = MW_ERR_NO_MEMORY;
	}
	return NULL;
}

/* One pass over the range: splitting every leaf that straddles one of its
 * ends (split), or giving every leaf inside the rights (!split). */
static enum mw_status rights_pass(struct ept *e, uint64_t base, uint64_t end, uint64_t rights,
				  bool split)
{
	for (uint64_t gpa = base; gpa < end;) {
		unsigned level;
		enum mw_status s;
		uint64_t *leaf = leaf_mut(e, gpa, &level, &s);
		if (!leaf)
			return s;
		uint64_t size = ept_level_size(level);
		if ((gpa & (size - 1)) || end - gpa < size) {
			/* Only the first pass meets such leaves. */
			s = split ? ept_split(e, gpa, level) : MW_ERR_BAD_CONFIG;
			if (s != MW_OK)
				return s;
			continue;
		}
		if (!split)
			__atomic_store_n(leaf, (*leaf & ~EPT_RWX) | (rights & EPT_RWX),
					 __ATOMIC_RELEASE);
		gpa += size;
	}
	return MW_OK;
}

enum mw_status ept_set_rights(struct ept *e, uint64_t base, uint64_t len, uint64_t rights)
{
	uint64_t end = base + len;

	if ((base | len) & 0xfff || end < base || end > e->limit)
		return MW_ERR_BAD_CONFIG;
	/* Every split first: a split keeps every translation as it was, so
	 * a pool that runs dry half way changes nothing the guest sees. */
	enum mw_status s = rights_pass(e, base, end, rights, true);
	return s == MW_OK ? rights_pass(e, base, end, rights, false) : s;
}
