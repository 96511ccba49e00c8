#include "guest_walk.h"

#include "arch/x86/cpu_bits.h"
#include "arch/x86/msr.h"
#include "arch/x86/paging.h"
#include "core/mw_string.h"

/* What the levels of one walk add up to (SDM 3A 4.6): R/W and U/S must be
 * set at every level to allow, XD at any level forbids. */
struct walk {
	const struct guest_paging *gp;
	gpa_read_fn read;
	void *ctx;
	uint64_t addr_mask; /* address bits M-1:12 of an entry */
	bool writable, user, no_exec;
};

/* One resolved page: what guest_walk reports. */
struct walk_result {
	uint64_t gpa;
	uint64_t page_size;
};

/* The highest reserved physical-address bit: 4-level and 5-level entries
 * reserve bits 51:M (62:52 are ignored), PAE's PDEs and PTEs 62:M. */
#define IA32E_TOP_BIT 51
#define PAE_TOP_BIT 62
/* PAE PDPTE: bits 2:1 and 8:5 reserved (SDM 3A 4.4.1, Table 4-8). */
#define PAE_PDPTE_RSVD 0x1e6ull
/* 32-bit paging, 4 MiB PDE: bit 21 reserved, bits 20:13 are address bits
 * 39:32 (PSE-36, SDM 3A 4.3, Table 4-4). */
#define PDE32_4M_RSVD (1ull << 21)
#define PSE36_SHIFT 13
#define PSE36_BITS 8
#define PDE32_ADDR_4M 0xffc00000ull
#define PDE32_ADDR 0xfffff000ull
#define PAE_CR3_ADDR 0xffffffe0ull
#define LINEAR32_LIMIT (1ull << 32)

/* Bits hi:lo set. */
static uint64_t bits(unsigned hi, unsigned lo)
{
	return (~0ull >> (63 - hi)) & (~0ull << lo);
}

static void take_rights(struct walk *w, uint64_t e)
{
	w->writable = w->writable && (e & PTE_W);
	w->user = w->user && (e & PTE_U);
	/* XD only exists with EFER.NXE; otherwise it is reserved and the
	 * entry was rejected before it got here. */
	w->no_exec = w->no_exec || (e & PTE_NX);
}

static bool read_entry(const struct walk *w, uint64_t gpa, void *e, size_t size)
{
	return w->read(gpa, e, size, w->ctx);
}

/* Canonical: bits 63 down to the top implemented bit all equal (SDM 3A
 * 4.5: 48 bits with 4-level paging, 57 with 5-level). */
static bool is_canonical(uint64_t va, unsigned va_bits)
{
	unsigned shift = 64 - va_bits;

	return (uint64_t)((int64_t)(va << shift) >> shift) == va;
}

/* Walks page-directory levels down from `level` (5: PML5 ... 1: page
 * table) with 64-bit entries, as 4-level/5-level paging and PAE below its
 * PDPTE do. rsvd: the bits reserved in every present entry. */
static enum walk_status walk_levels(struct walk *w, uint64_t table, uint64_t gva, int level,
				    uint64_t rsvd, struct walk_result *res)
{
	for (; level >= 1; level--) {
		unsigned shift = PAGE_SHIFT + 9 * (unsigned)(level - 1);
		uint64_t e;

		if (!read_entry(w, table + ((gva >> shift) & 0x1ff) * 8, &e, sizeof(e)))
			return WALK_UNREADABLE_TABLE;
		if (!(e & PTE_P))
			return WALK_NOT_PRESENT;
		/* PS maps a page in a PDPTE (1 GiB) or PDE (2 MiB), is bit 7
		 * (PAT) in a PTE, and is reserved above (SDM 3A 4.5, the
		 * entry formats). */
		bool leaf = level == 1 || (level <= 3 && (e & PTE_PS));
		uint64_t level_rsvd = rsvd;
		if (level >= 4)
			level_rsvd |= PTE_PS;
		if (leaf && level > 1) /* a large page's address starts at bit `shift` */
			level_rsvd |= bits(shift - 1, PAGE_SHIFT + 1);
		if (e & level_rsvd)
			return WALK_RESERVED_BIT;
		take_rights(w, e);
		if (leaf) {
			res->page_size = 1ull << shift;
			res->gpa = (e & w->addr_mask & ~(res->page_size - 1)) |
				   (gva & (res->page_size - 1));
			return WALK_OK;
		}
		table = e & w->addr_mask;
	}
	return WALK_NOT_PRESENT; /* not reached: level 1 is always a leaf */
}

static uint64_t xd_rsvd(const struct walk *w)
{
	return (w->gp->efer & EFER_NXE) ? 0 : PTE_NX;
}

/* 4-level and 5-level paging (SDM 3A 4.5). */
static enum walk_status walk_ia32e(struct walk *w, uint64_t gva, struct walk_result *res)
{
	bool la57 = w->gp->cr4 & CR4_LA57;

	if (!is_canonical(gva, la57 ? 57 : 48))
		return WALK_NONCANONICAL;
	uint64_t rsvd = bits(IA32E_TOP_BIT, w->gp->maxphyaddr) | xd_rsvd(w);
	return walk_levels(w, w->gp->cr3 & w->addr_mask, gva, la57 ? 5 : 4, rsvd, res);
}

/* PAE paging (SDM 3A 4.4): a 4-entry PDPT at CR3 bits 31:5, whose entries
 * carry no access rights, then a PDE and a PTE as in 4-level paging but
 * with bits 62:M reserved. */
static enum walk_status walk_pae(struct walk *w, uint64_t gva, struct walk_result *res)
{
	uint64_t pdpte;

	if (gva >= LINEAR32_LIMIT)
		return WALK_NONCANONICAL;
	uint64_t pdpt = w->gp->cr3 & PAE_CR3_ADDR;
	if (!read_entry(w, pdpt + ((gva >> 30) & 3) * 8, &pdpte, sizeof(pdpte)))
		return WALK_UNREADABLE_TABLE;
	if (!(pdpte & PTE_P))
		return WALK_NOT_PRESENT;
	if (pdpte & (PAE_PDPTE_RSVD | bits(63, w->gp->maxphyaddr)))
		return WALK_RESERVED_BIT;
	uint64_t rsvd = bits(PAE_TOP_BIT, w->gp->maxphyaddr) | xd_rsvd(w);
	return walk_levels(w, pdpte & w->addr_mask, gva, 2, rsvd, res);
}

/* A 4 MiB page of 32-bit paging: PSE-36 puts physical bits 39:32 in PDE
 * bits 20:13; those at or above MAXPHYADDR are reserved, and so is bit 21. */
static enum walk_status map_4m(struct walk *w, uint32_t pde, uint64_t gva, struct walk_result *res)
{
	uint64_t rsvd = PDE32_4M_RSVD;

	/* Physical bits M..39 (M >= 32, checked by guest_walk) are reserved,
	 * moved to where PSE-36 keeps them. */
	if (w->gp->maxphyaddr < 40)
		rsvd |= (bits(39, w->gp->maxphyaddr) >> 32) << PSE36_SHIFT;
	if (pde & rsvd)
		return WALK_RESERVED_BIT;
	take_rights(w, pde);
	uint64_t high = (pde >> PSE36_SHIFT) & ((1u << PSE36_BITS) - 1);
	res->page_size = 4ull << 20;
	res->gpa = (high << 32) | (pde & PDE32_ADDR_4M) | (gva & (res->page_size - 1));
	return WALK_OK;
}

/* 32-bit paging (SDM 3A 4.3): 32-bit entries, no XD, no reserved bits
 * outside 4 MiB PDEs. */
static enum walk_status walk_32bit(struct walk *w, uint64_t gva, struct walk_result *res)
{
	uint32_t pde, pte;

	if (gva >= LINEAR32_LIMIT)
		return WALK_NONCANONICAL;
	uint64_t pd = w->gp->cr3 & PDE32_ADDR;
	if (!read_entry(w, pd + (gva >> 22) * 4, &pde, sizeof(pde)))
		return WALK_UNREADABLE_TABLE;
	if (!(pde & PTE_P))
		return WALK_NOT_PRESENT;
	/* PS is ignored unless CR4.PSE is set. */
	if ((pde & PTE_PS) && (w->gp->cr4 & CR4_PSE))
		return map_4m(w, pde, gva, res);
	take_rights(w, pde);
	if (!read_entry(w, (pde & PDE32_ADDR) + ((gva >> 12) & 0x3ff) * 4, &pte, sizeof(pte)))
		return WALK_UNREADABLE_TABLE;
	if (!(pte & PTE_P))
		return WALK_NOT_PRESENT;
	take_rights(w, pte);
	res->page_size = PAGE_SIZE;
	res->gpa = (pte & PDE32_ADDR) | (gva & (PAGE_SIZE - 1));
	return WALK_OK;
}

/* SDM 3A 4.6: access rights from the whole walk. */
static enum walk_status check_rights(const struct walk *w, unsigned access)
{
	bool user = w->gp->cpl == 3 || (access & WALK_ACC_USER);

	if (user && !w->user)
		return WALK_PROTECTION;
	/* Supervisor writes ignore R/W unless CR0.WP; user writes never do. */
	if ((access & WALK_ACC_WRITE) && !w->writable && (user || (w->gp->cr0 & CR0_WP)))
		return WALK_PROTECTION;
	if ((access & WALK_ACC_EXEC) && w->no_exec)
		return WALK_PROTECTION;
	return WALK_OK;
}

static enum walk_status walk_mode(struct walk *w, uint64_t gva, struct walk_result *res)
{
	const struct guest_paging *gp = w->gp;

	if (!(gp->cr0 & CR0_PG)) {
		if (gva >= LINEAR32_LIMIT)
			return WALK_NONCANONICAL;
		res->gpa = gva;
		res->page_size = PAGE_SIZE;
		return WALK_OK;
	}
	if (!(gp->cr4 & CR4_PAE)) {
		/* LME with paging but without PAE: MOV CR0 would have #GP'd. */
		if (gp->efer & EFER_LME)
			return WALK_UNSUPPORTED_MODE;
		return walk_32bit(w, gva, res);
	}
	if (!(gp->efer & EFER_LME))
		return walk_pae(w, gva, res);
	return walk_ia32e(w, gva, res);
}

enum walk_status guest_walk(const struct guest_paging *gp, uint64_t gva, unsigned access,
			    gpa_read_fn read, void *ctx, uint64_t *gpa, uint64_t *page_size)
{
	if (gp->maxphyaddr < 32 || gp->maxphyaddr > 52)
		return WALK_UNSUPPORTED_MODE;

	struct walk w = {
		.gp = gp,
		.read = read,
		.ctx = ctx,
		.addr_mask = bits(gp->maxphyaddr - 1, PAGE_SHIFT),
		.writable = true,
		.user = true,
	};
	struct walk_result res;
	enum walk_status st = walk_mode(&w, gva, &res);

	/* Without paging there is nothing to check access against. */
	if (st == WALK_OK && (gp->cr0 & CR0_PG))
		st = check_rights(&w, access);
	if (st == WALK_OK) {
		*gpa = res.gpa;
		*page_size = res.page_size;
	}
	return st;
}

/* A copy is cut at every 4 KiB guest-virtual boundary, so each piece lies
 * in one guest-physical 4 KiB page whatever the page size. */
#define COPY_MAX_PIECES (GUEST_COPY_MAX / PAGE_SIZE + 1)

struct copy_piece {
	uint64_t gpa;
	size_t len;
};

/* Translates all of [gva, gva + len) before anything is copied. */
static enum walk_status translate_range(const struct guest_paging *gp, uint64_t gva, size_t len,
					unsigned access, gpa_read_fn read, void *ctx,
					struct copy_piece *pieces, unsigned *count)
{
	*count = 0;
	if (len > GUEST_COPY_MAX)
		return WALK_TOO_LONG;
	if (len && gva + (len - 1) < gva)
		return WALK_NONCANONICAL; /* wraps around the address space */
	/* Bounded by COPY_MAX_PIECES: len <= GUEST_COPY_MAX. */
	for (size_t done = 0; done < len;) {
		uint64_t va = gva + done;
		size_t piece = PAGE_SIZE - (va & (PAGE_SIZE - 1));
		uint64_t gpa, page_size;

		if (piece > len - done)
			piece = len - done;
		enum walk_status st = guest_walk(gp, va, access, read, ctx, &gpa, &page_size);
		if (st != WALK_OK)
			return st;
		pieces[*count].gpa = gpa;
		pieces[*count].len = piece;
		(*count)++;
		done += piece;
	}
	return WALK_OK;
}

enum walk_status guest_copy_from(const struct guest_paging *gp, uint64_t gva, void *dst, size_t len,
				 gpa_read_fn read, void *ctx)
{
	struct copy_piece pieces[COPY_MAX_PIECES];
	unsigned count;
	enum walk_status st =
		translate_range(gp, gva, len, WALK_ACC_READ, read, ctx, pieces, &count);
	char *out = dst;

	for (unsigned i = 0; st == WALK_OK && i < count; i++) {
		if (!read(pieces[i].gpa, out, pieces[i].len, ctx))
			st = WALK_INACCESSIBLE_PAGE;
		out += pieces[i].len;
	}
	if (st != WALK_OK && st != WALK_TOO_LONG)
		memset(dst, 0, len);
	return st;
}

enum walk_status guest_copy_to(const struct guest_paging *gp, uint64_t gva, const void *src,
			       size_t len, gpa_read_fn read, gpa_write_fn write, void *ctx)
{
	struct copy_piece pieces[COPY_MAX_PIECES];
	unsigned count;
	enum walk_status st =
		translate_range(gp, gva, len, WALK_ACC_WRITE, read, ctx, pieces, &count);
	const char *in = src;

	for (unsigned i = 0; st == WALK_OK && i < count; i++) {
		if (!write(pieces[i].gpa, in, pieces[i].len, ctx))
			st = WALK_INACCESSIBLE_PAGE;
		in += pieces[i].len;
	}
	return st;
}

const char *walk_status_str(enum walk_status st)
{
	switch (st) {
	case WALK_OK:
		return "ok";
	case WALK_NOT_PRESENT:
		return "page not present";
	case WALK_PROTECTION:
		return "access not allowed by the page tables";
	case WALK_RESERVED_BIT:
		return "reserved bit set in a paging-structure entry";
	case WALK_NONCANONICAL:
		return "address not valid in this paging mode";
	case WALK_UNREADABLE_TABLE:
		return "paging structure outside readable guest memory";
	case WALK_UNSUPPORTED_MODE:
		return "unsupported paging mode";
	case WALK_INACCESSIBLE_PAGE:
		return "page outside accessible guest memory";
	case WALK_TOO_LONG:
		return "copy longer than GUEST_COPY_MAX";
	}
	return "unknown walk status";
}
