/* The EPT builder over real MTRR layouts (through the MTRR engine, itself
 * tested against a per-page reference in test_mtrr.c): every leaf carries
 * its range's type, every leaf is the largest page that range allows, the
 * page counts are what the layout needs; and the root-safe operations:
 * split/merge round trips, 4 KiB rights and frames, pool exhaustion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ept/ept.h"
#include "ept/mtrr.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)

/* Host "physical" pages: their virtual address is their physical one. */
static unsigned live_pages, fail_after;

static bool host_page(struct ept_page *out, void *ctx)
{
	(void)ctx;
	if (fail_after && live_pages >= fail_after)
		return false;
	out->va = aligned_alloc(4096, 4096);
	memset(out->va, 0, 4096);
	out->pa = (uint64_t)(uintptr_t)out->va;
	live_pages++;
	return true;
}

static void host_free(const struct ept_page *p, void *ctx)
{
	(void)ctx;
	free(p->va);
	live_pages--;
}

static const struct ept_alloc alloc = { host_page, host_free, NULL };

static bool mtrr_type_cb(uint64_t base, uint64_t len, uint8_t *type, void *ctx)
{
	return mtrr_type_of_range(ctx, base, len, type) == 1;
}

static struct mtrr_state st;

/* A PHYSBASE value: the base address with the type in bits 7:0. */
static uint64_t var_base(uint64_t addr, uint8_t type)
{
	return addr | type;
}

/* Bochs' BIOS layout (as `make run` prints it): fixed ranges WB below
 * A0000, UC A0000-FFFFF; default WB; variable UC 3-4 GiB. */
static void bochs_mtrrs(unsigned phys_bits)
{
	memset(&st, 0, sizeof(st));
	st.phys_bits = phys_bits;
	st.cap = 0x508; /* VCNT 8, FIX, WC */
	st.def_type = (1u << 11) | (1u << 10) | MTRR_WB;
	st.fixed[0] = 0x0606060606060606ull; /* 00000-7FFFF WB */
	st.fixed[1] = 0x0606060606060606ull; /* 80000-9FFFF WB */
	/* fixed[2..10], A0000-FFFFF: 0, UC */
	uint64_t mask = ((1ull << phys_bits) - 1) & ~(GiB - 1);
	st.var[0].base = var_base(3 * GiB, MTRR_UC);
	st.var[0].mask = mask | (1u << 11);
}

/* A server: WB RAM, a WT region, a WP ROM shadow, overlapping UC MMIO,
 * fixed ranges disabled. */
static void server_mtrrs(void)
{
	memset(&st, 0, sizeof(st));
	st.phys_bits = 46;
	st.cap = 0x50a;
	st.def_type = 1u << 11; /* enabled, default UC (0), FE clear: fixed ranges off */
	uint64_t full = (1ull << 46) - 1;
	st.var[0].base = var_base(0, MTRR_WB); /* 0-64 GiB WB */
	st.var[0].mask = (full & ~(64 * GiB - 1)) | (1u << 11);
	st.var[1].base = var_base(2 * GiB, MTRR_UC); /* 2-4 GiB UC */
	st.var[1].mask = (full & ~(2 * GiB - 1)) | (1u << 11);
	st.var[2].base = var_base(5 * GiB, MTRR_WT); /* 5 GiB + 256 MiB WT, overlapping WB */
	st.var[2].mask = (full & ~(256 * MiB - 1)) | (1u << 11);
	st.var[3].base = var_base(0xe0000000ull, MTRR_WP); /* inside the UC hole: UC wins */
	st.var[3].mask = (full & ~(16 * MiB - 1)) | (1u << 11);
	st.var[4].base = var_base(6 * GiB + 2 * MiB, MTRR_UC); /* one 2 MiB UC page */
	st.var[4].mask = (full & ~(2 * MiB - 1)) | (1u << 11);
}

static struct ept *build_over(uint64_t limit, bool use_1g, size_t pool, const struct ept *shared)
{
	struct ept *e = calloc(1, sizeof(*e));
	struct ept_build_params p = {
		st.phys_bits, limit, use_1g, pool, mtrr_type_cb, &st, shared
	};
	assert_int_equal(ept_build(e, &p, &alloc), MW_OK);
	return e;
}

static struct ept *build(uint64_t limit, bool use_1g, size_t pool)
{
	return build_over(limit, use_1g, pool, NULL);
}

static struct ept *build_shared(uint64_t limit)
{
	struct ept *e = calloc(1, sizeof(*e));
	struct ept_build_params p = { st.phys_bits, limit, true, 0, mtrr_type_cb, &st, NULL };
	assert_int_equal(ept_build_shared(e, &p, &alloc), MW_OK);
	return e;
}

/* Frees a tree without checking that nothing is left (a shared tree may
 * still be live). */
static void release(struct ept *e)
{
	ept_free(e, &alloc);
	free(e);
}

static void destroy(struct ept *e)
{
	ept_free(e, &alloc);
	free(e);
	assert_int_equal(live_pages, 0);
}

/* Every leaf: right type and frame, identity, largest possible. */
static void check_tree(const struct ept *e, const uint64_t *table, unsigned level, uint64_t base,
		       bool use_1g, unsigned *leaves)
{
	uint64_t size = ept_level_size(level);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t start = base + i * size, ent = table[i];
		uint8_t type;
		if (start >= e->limit) {
			assert_int_equal(ent, 0);
			continue;
		}
		assert_int_equal(ent & EPT_RWX, EPT_RWX);
		bool leaf = level == 1 || (ent & EPT_LARGE);
		bool uniform = mtrr_type_of_range(&st, start, size, &type) == 1;
		bool could_be_leaf = level == 1 || level == 2 || (level == 3 && use_1g);
		if (leaf) {
			assert_true(uniform);
			assert_int_equal((ent & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT, type);
			assert_int_equal(ent & EPT_ADDR_MASK, start);
			assert_int_equal(ent & EPT_IGNORE_PAT, 0);
			(*leaves)++;
		} else {
			/* A table only where one leaf could not do. */
			assert_false(could_be_leaf && uniform);
			check_tree(e, (const uint64_t *)(uintptr_t)(ent & EPT_ADDR_MASK), level - 1,
				   start, use_1g, leaves);
		}
	}
}

static void test_bochs_layout_is_five_pages(void **state)
{
	(void)state;
	bochs_mtrrs(40);
	struct ept *e = build(1ull << 40, true, 0);
	unsigned leaves = 0;

	assert_int_equal(ept_table_pages(e), 5); /* PML4, 2 PDPTs, PD, PT */
	assert_int_equal(e->tables_per_level[4], 1);
	assert_int_equal(e->tables_per_level[3], 2);
	assert_int_equal(e->tables_per_level[2], 1);
	assert_int_equal(e->tables_per_level[1], 1);
	check_tree(e, (uint64_t *)(uintptr_t)e->pml4_pa, 4, 0, true, &leaves);
	/* 1 TiB: 1023 GiB pages, 511 2 MiB pages, 512 4 KiB pages. */
	assert_int_equal(leaves, 1023 + 511 + 512);
	assert_int_equal(e->eptp & 0xfff, EPTP_WALK_4 | EPTP_MEMTYPE_WB);
	destroy(e);
}

static void test_shared_upper_tables(void **state)
{
	(void)state;
	bochs_mtrrs(40);
	struct ept *shared = build_shared(1ull << 40);
	struct ept *a = build_over(1ull << 40, true, 0, shared);
	struct ept *b = build_over(1ull << 40, true, 0, shared);
	unsigned leaves = 0;

	assert_int_equal(ept_table_pages(shared), 2); /* its PML4, the PDPT for 512 GiB-1 TiB */
	assert_int_equal(ept_table_pages(a), 4);      /* PML4, PDPT, PD, PT: the rest shared */
	check_tree(a, (uint64_t *)(uintptr_t)a->pml4_pa, 4, 0, true, &leaves);
	assert_int_equal(leaves, 1023 + 511 + 512);
	uint64_t *pa = (uint64_t *)(uintptr_t)a->pml4_pa, *pb = (uint64_t *)(uintptr_t)b->pml4_pa;
	assert_int_equal(pa[1], pb[1]); /* the same shared PDPT */
	release(b);
	release(a);
	release(shared);
	assert_int_equal(live_pages, 0);
}

static void test_whole_48bit_space_is_shared(void **state)
{
	(void)state;
	bochs_mtrrs(52);
	/* 4-level EPT reaches 48 bits: 511 PDPTs above 512 GiB, built once. */
	struct ept *shared = build_shared(1ull << 48);
	struct ept *e = build_over(1ull << 48, true, 0, shared);
	unsigned leaves = 0;

	assert_int_equal(ept_table_pages(shared), 1 + 511);
	assert_int_equal(ept_table_pages(e), 4);
	check_tree(e, (uint64_t *)(uintptr_t)e->pml4_pa, 4, 0, true, &leaves);
	release(e);
	release(shared);
	assert_int_equal(live_pages, 0);
}

static void test_a_change_above_512g_copies_on_write(void **state)
{
	(void)state;
	bochs_mtrrs(40);
	struct ept *shared = build_shared(1ull << 40);
	struct ept *a = build_over(1ull << 40, true, 4, shared);
	struct ept *b = build_over(1ull << 40, true, 4, shared);
	uint64_t gpa = 600 * GiB + 5 * 4096;
	unsigned level;
	uint64_t b_before = *ept_leaf(b, gpa, &level);
	uint64_t shared_before = *ept_leaf(shared, gpa, &level);

	assert_int_equal(ept_set_page(a, gpa, gpa, EPT_READ), MW_OK);
	/* a: its own PDPT copy, a PD and a PT from its pool. */
	assert_int_equal(ept_table_pages(a), 4 + 3);
	assert_int_equal(a->tables_per_level[3], 2);
	assert_int_equal(*ept_leaf(a, gpa, &level) & EPT_RWX, EPT_READ);
	assert_int_equal(level, 1);
	/* b and the shared tables did not change. */
	assert_int_equal(*ept_leaf(b, gpa, &level), b_before);
	assert_int_equal(level, 3);
	assert_int_equal(*ept_leaf(shared, gpa, &level), shared_before);
	/* Putting it back and merging returns the PT and PD to a's pool; its
	 * PDPT copy stays (it is a's now). */
	assert_int_equal(ept_set_page(a, gpa, gpa, EPT_RWX), MW_OK);
	assert_true(ept_merge(a, gpa, 2));
	assert_true(ept_merge(a, gpa, 3));
	assert_int_equal(*ept_leaf(a, gpa, &level), shared_before);
	assert_int_equal(a->pool_free, 3);
	release(b);
	release(a);
	release(shared);
	assert_int_equal(live_pages, 0);
}

static void test_server_layout(void **state)
{
	(void)state;
	server_mtrrs();
	struct ept *e = build(1ull << 46, true, 0);
	unsigned leaves = 0, level;

	check_tree(e, (uint64_t *)(uintptr_t)e->pml4_pa, 4, 0, true, &leaves);
	uint64_t *l = ept_leaf(e, 0xe0000000ull, &level);
	assert_int_equal((*l & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT, MTRR_UC);
	l = ept_leaf(e, 5 * GiB + 4096, &level);
	assert_int_equal((*l & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT, MTRR_WT);
	assert_int_equal(level, 2); /* 256 MiB of WT in 2 MiB pages */
	l = ept_leaf(e, 6 * GiB + 2 * MiB, &level);
	assert_int_equal((*l & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT, MTRR_UC);
	assert_int_equal(level, 2);
	l = ept_leaf(e, 100 * GiB, &level); /* above the WB range: default UC */
	assert_int_equal((*l & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT, MTRR_UC);
	assert_int_equal(level, 3);
	destroy(e);
}

static void test_mtrrs_disabled_and_random_layouts(void **state)
{
	(void)state;
	unsigned leaves = 0;

	memset(&st, 0, sizeof(st));
	st.phys_bits = 39;
	struct ept *e = build(1ull << 39, true, 0);
	check_tree(e, (uint64_t *)(uintptr_t)e->pml4_pa, 4, 0, true, &leaves);
	assert_int_equal(ept_table_pages(e), 2); /* all UC in 1 GiB pages */
	destroy(e);

	uint64_t seed = 0x6570745f72616e64ull;
	for (int round = 0; round < 40; round++) {
		memset(&st, 0, sizeof(st));
		st.phys_bits = 36 + (unsigned)(round % 4);
		st.cap = 0x508;
		st.def_type = (1u << 11) | (round & 1 ? (1u << 10) : 0) | MTRR_WB;
		for (int i = 0; i < 11; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			st.fixed[i] = (seed >> 1) & 0x0606060606060606ull; /* UC or WB or WT... */
		}
		for (int v = 0; v < 4; v++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			unsigned sz = 21 + (unsigned)((seed >> 33) % 12); /* 2 MiB to 4 GiB */
			uint64_t full = (1ull << st.phys_bits) - 1;
			uint64_t base = ((seed >> 7) & full) & ~((1ull << sz) - 1);
			st.var[v].base = var_base(base, seed & 1 ? MTRR_UC : MTRR_WT);
			st.var[v].mask = (full & ~((1ull << sz) - 1)) | (1u << 11);
		}
		bool use_1g = round % 3 != 0;
		uint64_t limit = use_1g ? 1ull << st.phys_bits : 16 * GiB;
		e = build(limit, use_1g, 0);
		leaves = 0;
		check_tree(e, (uint64_t *)(uintptr_t)e->pml4_pa, 4, 0, use_1g, &leaves);
		destroy(e);
	}
}

static void test_without_1g_pages(void **state)
{
	(void)state;
	bochs_mtrrs(40);
	struct ept *e = build(8 * GiB, false, 0);
	unsigned leaves = 0, level;

	check_tree(e, (uint64_t *)(uintptr_t)e->pml4_pa, 4, 0, false, &leaves);
	/* PML4, PDPT, 8 PDs, 1 PT. */
	assert_int_equal(ept_table_pages(e), 11);
	assert_null(ept_leaf(e, 8 * GiB, &level));
	destroy(e);
}

static void test_split_and_merge_round_trip(void **state)
{
	(void)state;
	bochs_mtrrs(40);
	struct ept *e = build(1ull << 40, true, 4);
	unsigned level;
	uint64_t gpa = 5 * GiB + 3 * MiB + 0x1234;
	uint64_t before = *ept_leaf(e, gpa, &level);

	assert_int_equal(level, 3);
	assert_int_equal(e->pool_free, 4);
	assert_int_equal(ept_split(e, gpa, 3), MW_OK);
	assert_int_equal(*ept_leaf(e, gpa, &level) & ~EPT_ADDR_MASK, before & ~EPT_ADDR_MASK);
	assert_int_equal(level, 2);
	assert_int_equal(*ept_leaf(e, gpa, &level) & EPT_ADDR_MASK, 5 * GiB + 2 * MiB);
	enum mw_status s;
	uint64_t *pte = ept_split_to_4k(e, gpa, &s);
	assert_int_equal(s, MW_OK);
	assert_int_equal(*pte & EPT_ADDR_MASK, gpa & ~0xfffull);
	assert_int_equal(*pte & EPT_LARGE, 0);
	assert_int_equal(e->pool_free, 2);
	assert_int_equal(ept_table_pages(e), 7);
	/* Merging back restores the very same entries and pages. */
	assert_true(ept_merge(e, gpa, 2));
	assert_true(ept_merge(e, gpa, 3));
	assert_int_equal(*ept_leaf(e, gpa, &level), before);
	assert_int_equal(level, 3);
	assert_int_equal(e->pool_free, 4);
	assert_int_equal(ept_table_pages(e), 5);
	assert_false(ept_merge(e, gpa, 3)); /* nothing left to merge */
	destroy(e);
}

static void test_rights_and_frames(void **state)
{
	(void)state;
	bochs_mtrrs(40);
	struct ept *e = build(1ull << 40, true, 4);
	unsigned level;
	uint64_t gpa = 0x200000 + 0x5000, other = 0x7f000;

	assert_int_equal(ept_set_page(e, gpa, other, EPT_EXEC), MW_OK);
	uint64_t *pte = ept_leaf(e, gpa, &level);
	assert_int_equal(level, 1);
	assert_int_equal(*pte & EPT_ADDR_MASK, other);
	assert_int_equal(*pte & EPT_RWX, EPT_EXEC);
	assert_int_equal((*pte & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT, MTRR_WB); /* type kept */
	/* A page with another frame or rights blocks the merge... */
	assert_false(ept_merge(e, gpa, 2));
	/* ...even with no rights at all, the entry is still found... */
	assert_int_equal(ept_set_page(e, gpa, gpa, 0), MW_OK);
	assert_non_null(ept_leaf(e, gpa, &level));
	assert_false(ept_merge(e, gpa, 2));
	/* ...and once restored, it merges. */
	assert_int_equal(ept_set_page(e, gpa, gpa, EPT_RWX), MW_OK);
	assert_true(ept_merge(e, gpa, 2));
	destroy(e);
}

static void test_pool_exhaustion_changes_nothing(void **state)
{
	(void)state;
	bochs_mtrrs(40);
	struct ept *e = build(1ull << 40, true, 1);
	unsigned level;
	uint64_t gpa = 7 * GiB;

	assert_int_equal(ept_split(e, gpa, 3), MW_OK); /* takes the only page */
	uint64_t before = *ept_leaf(e, gpa, &level);
	enum mw_status s;
	assert_null(ept_split_to_4k(e, gpa, &s));
	assert_int_equal(s, MW_ERR_NO_MEMORY);
	assert_int_equal(*ept_leaf(e, gpa, &level), before);
	assert_int_equal(level, 2);
	assert_int_equal(ept_set_page(e, gpa, gpa, 0), MW_ERR_NO_MEMORY);
	assert_int_equal(ept_split(e, gpa, 1), MW_ERR_BAD_CONFIG); /* no level below 4 KiB */
	destroy(e);
}

static void test_walk_and_limits(void **state)
{
	(void)state;
	bochs_mtrrs(40);
	struct ept *e = build(1ull << 40, true, 0);
	uint64_t entries[EPT_LEVELS];
	unsigned level;

	assert_int_equal(ept_walk(e, 0x1000, entries), 4); /* PML4E, PDPTE, PDE, PTE */
	assert_int_equal(entries[3] & EPT_ADDR_MASK, 0x1000);
	assert_int_equal(ept_walk(e, 9 * GiB, entries), 2); /* a 1 GiB leaf */
	assert_null(ept_leaf(e, 1ull << 40, &level));
	assert_int_equal(ept_walk(e, 1ull << 40, entries), 1); /* PML4E not present */
	assert_int_equal(entries[0], 0);
	destroy(e);
}

static void test_failures_give_everything_back(void **state)
{
	(void)state;
	bochs_mtrrs(40);
	struct ept e;
	struct ept_build_params p = { 40, 1ull << 40, true, 8, mtrr_type_cb, &st, NULL };

	for (unsigned n = 1; n < 13; n++) {
		fail_after = n;
		assert_int_equal(ept_build(&e, &p, &alloc), MW_ERR_NO_MEMORY);
		assert_int_equal(live_pages, 0);
	}
	fail_after = 0;
	p.limit = 3 * MiB; /* not a whole number of GiB */
	assert_int_equal(ept_build(&e, &p, &alloc), MW_ERR_BAD_CONFIG);
	assert_int_equal(live_pages, 0);
}

/* The leaf the walk for gpa ends at (with rights or without) and its
 * level. */
static uint64_t walk_leaf(const struct ept *e, uint64_t gpa, unsigned *level)
{
	uint64_t entries[EPT_LEVELS];
	unsigned n = ept_walk(e, gpa, entries);

	*level = EPT_LEVELS + 1 - n;
	return entries[n - 1];
}

/* marrow's memory as the boot-time loader hides it: an image that ends
 * inside a 2 MiB page, and a 2 MiB-aligned arena. Only the straddled leaf
 * splits; the rest keeps its large leaves; the neighbours keep every
 * right; and putting the rights back leaves the same translations. */
static void test_set_rights_over_ranges(void **state)
{
	(void)state;
	bochs_mtrrs(40);
	struct ept *e = build(1ull << 40, true, 4);
	uint64_t img = 16 * MiB, img_end = 16 * MiB + 0x2ba000;
	uint64_t arena = 20 * MiB, arena_end = 24 * MiB;
	unsigned level;

	assert_int_equal(ept_set_rights(e, img, img_end - img, 0), MW_OK);
	assert_int_equal(ept_set_rights(e, arena, arena_end - arena, 0), MW_OK);
	assert_int_equal(e->pool_free, 3); /* one page table, for 18-20 MiB */
	for (uint64_t a = 14 * MiB; a < 26 * MiB; a += 0x1000) {
		uint64_t leaf = walk_leaf(e, a, &level);
		bool hidden = (a >= img && a < img_end) || (a >= arena && a < arena_end);
		assert_int_equal(leaf & EPT_RWX, hidden ? 0 : EPT_RWX);
		assert_int_equal(leaf & EPT_ADDR_MASK, a & ~(ept_level_size(level) - 1));
		assert_int_equal((leaf & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT, MTRR_WB);
		assert_int_equal(level, a >= 18 * MiB && a < 20 * MiB ? 1 : 2);
	}
	/* A range already without rights splits too. */
	assert_int_equal(ept_set_rights(e, 21 * MiB, 0x1000, EPT_READ), MW_OK);
	assert_int_equal(walk_leaf(e, 21 * MiB, &level) & EPT_RWX, EPT_READ);
	assert_int_equal(level, 1);
	assert_int_equal(walk_leaf(e, 21 * MiB + 0x1000, &level) & EPT_RWX, 0);
	assert_int_equal(ept_set_rights(e, 21 * MiB, 0x1000, 0), MW_OK);
	assert_int_equal(walk_leaf(e, 21 * MiB, &level) & EPT_RWX, 0);
	/* Bad ranges are refused. */
	assert_int_equal(ept_set_rights(e, img + 1, 0x1000, 0), MW_ERR_BAD_CONFIG);
	assert_int_equal(ept_set_rights(e, img, 0x800, 0), MW_ERR_BAD_CONFIG);
	assert_int_equal(ept_set_rights(e, (1ull << 40) - 0x1000, 0x2000, 0), MW_ERR_BAD_CONFIG);
	destroy(e);
}

/* Without enough pool pages for every split, no right changes at all. */
static void test_set_rights_is_all_or_nothing(void **state)
{
	(void)state;
	bochs_mtrrs(40);
	struct ept *e = build(1ull << 40, true, 1);
	unsigned level;

	/* Two straddled 2 MiB leaves need two page tables. */
	assert_int_equal(ept_set_rights(e, 17 * MiB, 2 * MiB, 0), MW_ERR_NO_MEMORY);
	for (uint64_t a = 16 * MiB; a < 20 * MiB; a += 0x1000)
		assert_int_equal(walk_leaf(e, a, &level) & EPT_RWX, EPT_RWX);
	destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bochs_layout_is_five_pages),
		cmocka_unit_test(test_shared_upper_tables),
		cmocka_unit_test(test_whole_48bit_space_is_shared),
		cmocka_unit_test(test_a_change_above_512g_copies_on_write),
		cmocka_unit_test(test_server_layout),
		cmocka_unit_test(test_mtrrs_disabled_and_random_layouts),
		cmocka_unit_test(test_without_1g_pages),
		cmocka_unit_test(test_split_and_merge_round_trip),
		cmocka_unit_test(test_rights_and_frames),
		cmocka_unit_test(test_pool_exhaustion_changes_nothing),
		cmocka_unit_test(test_walk_and_limits),
		cmocka_unit_test(test_failures_give_everything_back),
		cmocka_unit_test(test_set_rights_over_ranges),
		cmocka_unit_test(test_set_rights_is_all_or_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
