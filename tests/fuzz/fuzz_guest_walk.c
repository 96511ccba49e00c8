/* libFuzzer harness: how a hypercall's guest pointers are decoded
 * (src/core/guest_walk.c): the walk of the guest's page tables, and the
 * copies to and from guest-virtual memory built on it, with fuzzed control
 * registers, page tables, pointers and sizes.
 *
 * Input: a header (paging mode bits, CR3, CPL, MAXPHYADDR, the pointer, the
 * size, the access, how memory answers), then guest-physical memory from
 * gpa 0 (64 KiB; the rest of it zero). Memory is either just those 64 KiB
 * (other addresses unreadable) or those 64 KiB repeated over every address,
 * so that any table pointer reaches fuzzed entries. Checked:
 *  - every walk gives what a reference walk written here from the SDM's
 *    tables of entry formats gives (a list of levels per paging mode):
 *    the same status, the same gpa and page size;
 *  - table reads: at most 5 per walk, 4 or 8 bytes, naturally aligned,
 *    below 2^MAXPHYADDR; data reads and writes never cross a 4 KiB page;
 *  - a translation: below 2^MAXPHYADDR, a page size the mode has, the
 *    offset within the page kept, the same page for every address in it;
 *    without paging, the identity;
 *  - the walk does not depend on the access asked for, only the verdict:
 *    an access that passes also passes with fewer rights asked, and a walk
 *    that fails for one access fails the same way for all;
 *  - CR3's low bits (PCID, PWT, PCD) and bits at or above MAXPHYADDR are
 *    ignored;
 *  - guest_copy_from and guest_copy_to do what a page-by-page reference
 *    built on guest_walk does: the same status, the same bytes read, the
 *    same memory after the write, nothing written when a translation fails,
 *    the output zeroed on failure; exact-size buffers for ASan. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arch/x86/cpu_bits.h"
#include "arch/x86/msr.h"
#include "arch/x86/paging.h"
#include "core/guest_walk.h"
#include "fuzz/fuzz.h"

#define MEM_SIZE (64u * 1024)
#define MAX_TABLE_READS 5
/* Copies up to just past the limit, so that WALK_TOO_LONG is reached. */
#define LEN_MASK 0x1ffffu

/* Header bits: the mode, then how memory answers. */
#define M_PG 0x01
#define M_WP 0x02
#define M_PSE 0x04
#define M_PAE 0x08
#define M_LA57 0x10
#define M_LME 0x20
#define M_NXE 0x40
#define M_ALIAS 0x80 /* memory repeats over every address */
#define W_FAIL 0x01  /* writes fail at and above fail_gpa */

struct mem {
	uint8_t bytes[MEM_SIZE];
	bool alias, fail_writes;
	uint64_t fail_gpa;
	unsigned maxphyaddr;
	unsigned table_reads; /* reads of 4 or 8 bytes: entries */
	bool counting;
};

static struct mem m, before;

/* Where gpa's len bytes are, or NULL; never across a 4 KiB page. */
static uint8_t *mem_at(struct mem *mm, uint64_t gpa, size_t len)
{
	FUZZ_CHECK(len >= 1 && len <= PAGE_SIZE && (gpa & (PAGE_SIZE - 1)) + len <= PAGE_SIZE,
		   "an access of %zu bytes at %#llx crosses a page", len, (unsigned long long)gpa);
	if (mm->alias)
		return mm->bytes + (gpa % MEM_SIZE);
	return gpa < MEM_SIZE ? mm->bytes + gpa : NULL;
}

static bool rd(uint64_t gpa, void *buf, size_t len, void *ctx)
{
	struct mem *mm = ctx;
	uint8_t *p = mem_at(mm, gpa, len);

	if (mm->counting) {
		FUZZ_CHECK((len == 4 || len == 8) && gpa % len == 0,
			   "a table read of %zu bytes at %#llx", len, (unsigned long long)gpa);
		FUZZ_CHECK(gpa < (1ull << mm->maxphyaddr), "a table read at %#llx, MAXPHYADDR %u",
			   (unsigned long long)gpa, mm->maxphyaddr);
		FUZZ_CHECK(++mm->table_reads <= MAX_TABLE_READS, "more than %d table reads",
			   MAX_TABLE_READS);
	}
	if (!p)
		return false;
	memcpy(buf, p, len);
	return true;
}

static bool wr(uint64_t gpa, const void *buf, size_t len, void *ctx)
{
	struct mem *mm = ctx;
	uint8_t *p = mem_at(mm, gpa, len);

	if (!p || (mm->fail_writes && gpa >= mm->fail_gpa))
		return false;
	memcpy(p, buf, len);
	return true;
}

struct walked {
	enum walk_status st;
	uint64_t gpa, page_size;
};

/* One walk with its table reads checked. */
static struct walked walk(const struct guest_paging *gp, uint64_t gva, unsigned access)
{
	struct walked w = { .gpa = 0x5a5a, .page_size = 0x5a5a };

	m.counting = true;
	m.table_reads = 0;
	w.st = guest_walk(gp, gva, access, rd, &m, &w.gpa, &w.page_size);
	m.counting = false;
	if (w.st != WALK_OK)
		FUZZ_CHECK(w.gpa == 0x5a5a && w.page_size == 0x5a5a, "outputs written on %s",
			   walk_status_str(w.st));
	return w;
}

static void check_translation(const struct guest_paging *gp, uint64_t gva, struct walked w)
{
	uint64_t ps = w.page_size;
	bool paging = gp->cr0 & CR0_PG, pae = gp->cr4 & CR4_PAE, lme = gp->efer & EFER_LME;

	FUZZ_CHECK(w.gpa < (1ull << gp->maxphyaddr), "gpa %#llx, MAXPHYADDR %u",
		   (unsigned long long)w.gpa, gp->maxphyaddr);
	FUZZ_CHECK(ps == PAGE_SIZE || (ps == (4ull << 20) && paging && !pae) ||
			   (ps == (2ull << 20) && paging && pae) ||
			   (ps == (1ull << 30) && paging && pae && lme),
		   "page size %#llx in this mode", (unsigned long long)ps);
	FUZZ_CHECK((w.gpa & (ps - 1)) == (gva & (ps - 1)), "offset in the page not kept");
	if (!paging)
		FUZZ_CHECK(w.gpa == gva, "no paging, yet %#llx -> %#llx", (unsigned long long)gva,
			   (unsigned long long)w.gpa);
}

/* The reference walk, written here from the SDM's tables of paging-
 * structure entries (3A 4.3 Tables 4-4 to 4-6, 4.4.2 Tables 4-8 to 4-11,
 * 4.5.4 Tables 4-15 to 4-20) as a list of levels per mode, and the access
 * rules of 4.6. */
struct ref_level {
	unsigned shift; /* the first linear-address bit this level's index takes */
	unsigned index_bits;
	unsigned entry_size;
	bool may_map; /* PS may map a page here */
	bool rights;  /* the entry has R/W, U/S and XD (a PAE PDPTE has none) */
};

static const struct ref_level lv_32[] = { { 22, 10, 4, true, true }, { 12, 10, 4, false, true } };
static const struct ref_level lv_pae[] = { { 30, 2, 8, false, false },
					   { 21, 9, 8, true, true },
					   { 12, 9, 8, false, true } };
static const struct ref_level lv_5[] = { { 48, 9, 8, false, true },
					 { 39, 9, 8, false, true },
					 { 30, 9, 8, true, true },
					 { 21, 9, 8, true, true },
					 { 12, 9, 8, false, true } };

static uint64_t ref_bits(unsigned hi, unsigned lo)
{
	return hi < lo ? 0 : (~0ull >> (63 - hi)) & (~0ull << lo);
}

/* The bits of a present entry that must be 0 (4.3, 4.4.2, 4.5.4). */
static uint64_t ref_reserved(const struct guest_paging *gp, const struct ref_level *l,
			     unsigned level, bool large, bool pae)
{
	unsigned bits = gp->maxphyaddr;
	bool nxe = gp->efer & EFER_NXE;

	if (l->entry_size == 4) /* 32-bit paging: only a 4 MiB PDE has any */
		return large ? (1ull << 21) | ref_bits(20, 13 + (bits < 40 ? bits - 32 : 8)) : 0;
	if (pae && level == 0) /* the PDPTE */
		return ref_bits(63, bits) | 0x1e6;
	uint64_t r = ref_bits(pae ? 62 : 51, bits) | (nxe ? 0 : 1ull << 63);
	if (!l->may_map && l->shift > 21) /* PML5E, PML4E: PS is reserved */
		r |= 1ull << 7;
	if (large)
		r |= ref_bits(l->shift - 1, 13);
	return r;
}

static enum walk_status ref_walk(const struct guest_paging *gp, uint64_t gva, unsigned access,
				 uint64_t *gpa, uint64_t *size)
{
	const struct ref_level *lv;
	unsigned n, bits = gp->maxphyaddr;
	bool pae = false, w = true, u = true, xd = false;
	uint64_t table;

	if (bits < 32 || bits > 52)
		return WALK_UNSUPPORTED_MODE;
	if (!(gp->cr0 & CR0_PG)) {
		if (gva >> 32)
			return WALK_NONCANONICAL;
		*gpa = gva;
		*size = PAGE_SIZE;
		return WALK_OK;
	}
	if (!(gp->cr4 & CR4_PAE)) {
		if (gp->efer & EFER_LME)
			return WALK_UNSUPPORTED_MODE;
		lv = lv_32, n = 2, table = gp->cr3 & 0xfffff000ull;
	} else if (!(gp->efer & EFER_LME)) {
		lv = lv_pae, n = 3, table = gp->cr3 & 0xffffffe0ull, pae = true;
	} else {
		unsigned va_bits = (gp->cr4 & CR4_LA57) ? 57 : 48;
		lv = (gp->cr4 & CR4_LA57) ? lv_5 : lv_5 + 1, n = (gp->cr4 & CR4_LA57) ? 5 : 4;
		if (gva >> (va_bits - 1) != 0 && gva >> (va_bits - 1) != (~0ull >> (va_bits - 1)))
			return WALK_NONCANONICAL;
		table = gp->cr3 & ref_bits(bits - 1, 12);
	}
	if (n != 4 && n != 5 && gva >> 32)
		return WALK_NONCANONICAL;
	for (unsigned i = 0; i < n; i++) {
		const struct ref_level *l = &lv[i];
		uint64_t e = 0;
		uint64_t index = (gva >> l->shift) & ((1ull << l->index_bits) - 1);
		if (!rd(table + index * l->entry_size, &e, l->entry_size, &m))
			return WALK_UNREADABLE_TABLE;
		if (!(e & 1))
			return WALK_NOT_PRESENT;
		bool large =
			l->may_map && (e & 0x80) && (l->entry_size == 8 || (gp->cr4 & CR4_PSE));
		if (e & ref_reserved(gp, l, i, large, pae))
			return WALK_RESERVED_BIT;
		if (l->rights) {
			w &= (e >> 1) & 1;
			u &= (e >> 2) & 1;
			xd |= l->entry_size == 8 && (e >> 63);
		}
		if (large || i + 1 == n) {
			uint64_t frame;
			if (l->entry_size == 4 && large) /* PSE-36: 39:32 in bits 20:13 */
				frame = (e & 0xffc00000ull) | ((e >> 13) & 0xff) << 32;
			else if (l->entry_size == 4)
				frame = e & 0xfffff000ull;
			else
				frame = e & ref_bits(bits - 1, l->shift);
			*size = 1ull << l->shift;
			*gpa = frame | (gva & (*size - 1));
			break;
		}
		table = l->entry_size == 4 ? e & 0xfffff000ull : e & ref_bits(bits - 1, 12);
	}
	bool user = gp->cpl == 3 || (access & WALK_ACC_USER);
	if (user && !u)
		return WALK_PROTECTION;
	if ((access & WALK_ACC_WRITE) && !w && (user || (gp->cr0 & CR0_WP)))
		return WALK_PROTECTION;
	if ((access & WALK_ACC_EXEC) && xd)
		return WALK_PROTECTION;
	return WALK_OK;
}

static void check_against_reference(const struct guest_paging *gp, uint64_t gva, unsigned access,
				    struct walked got)
{
	uint64_t gpa = 0x5a5a, size = 0x5a5a;
	enum walk_status st = ref_walk(gp, gva, access, &gpa, &size);

	FUZZ_CHECK(got.st == st, "walk of %#llx for %#x: %s, reference %s", (unsigned long long)gva,
		   access, walk_status_str(got.st), walk_status_str(st));
	if (st == WALK_OK)
		FUZZ_CHECK(got.gpa == gpa && got.page_size == size,
			   "walk of %#llx: %#llx in a %#llx page, reference %#llx in %#llx",
			   (unsigned long long)gva, (unsigned long long)got.gpa,
			   (unsigned long long)got.page_size, (unsigned long long)gpa,
			   (unsigned long long)size);
}

static const unsigned accesses[] = {
	0,
	WALK_ACC_READ,
	WALK_ACC_WRITE,
	WALK_ACC_EXEC,
	WALK_ACC_USER,
	WALK_ACC_READ | WALK_ACC_WRITE,
	WALK_ACC_WRITE | WALK_ACC_USER,
	WALK_ACC_EXEC | WALK_ACC_USER,
	WALK_ACC_READ | WALK_ACC_WRITE | WALK_ACC_EXEC | WALK_ACC_USER,
};

static void check_walks(const struct guest_paging *gp, uint64_t gva, uint64_t other_offset)
{
	struct walked base = walk(gp, gva, 0), w[sizeof(accesses) / sizeof(accesses[0])];
	const struct walked *first_ok = NULL;

	FUZZ_CHECK(walk_status_str(base.st) != NULL, "no status string");
	for (size_t i = 0; i < sizeof(accesses) / sizeof(accesses[0]); i++) {
		w[i] = walk(gp, gva, accesses[i]);
		check_against_reference(gp, gva, accesses[i], w[i]);
		if (base.st != WALK_OK && base.st != WALK_PROTECTION) {
			FUZZ_CHECK(w[i].st == base.st, "access %#x: %s, without: %s", accesses[i],
				   walk_status_str(w[i].st), walk_status_str(base.st));
			continue;
		}
		FUZZ_CHECK(w[i].st == WALK_OK || w[i].st == WALK_PROTECTION, "access %#x: %s",
			   accesses[i], walk_status_str(w[i].st));
		if (w[i].st == WALK_OK) {
			if (!first_ok)
				first_ok = &w[i];
			FUZZ_CHECK(w[i].gpa == first_ok->gpa &&
					   w[i].page_size == first_ok->page_size,
				   "access %#x changed the translation", accesses[i]);
			check_translation(gp, gva, w[i]);
		}
	}
	/* Fewer rights asked never fail where more pass. */
	for (size_t i = 0; i < sizeof(accesses) / sizeof(accesses[0]); i++)
		for (size_t j = 0; j < sizeof(accesses) / sizeof(accesses[0]); j++)
			if ((accesses[i] & accesses[j]) == accesses[i] && w[j].st == WALK_OK)
				FUZZ_CHECK(w[i].st == WALK_OK, "access %#x fails, %#x passes",
					   accesses[i], accesses[j]);
	if (base.st != WALK_OK)
		return;
	/* Another address in the same page: the same page. */
	uint64_t ps = base.page_size, gva2 = (gva & ~(ps - 1)) | (other_offset & (ps - 1));
	struct walked w2 = walk(gp, gva2, 0);
	FUZZ_CHECK(w2.st == WALK_OK && w2.page_size == ps &&
			   w2.gpa - (gva2 & (ps - 1)) == base.gpa - (gva & (ps - 1)),
		   "%#llx and %#llx are in one page, not one translation", (unsigned long long)gva,
		   (unsigned long long)gva2);
	/* CR3 bits the walk must ignore. */
	struct guest_paging gp2 = *gp;
	uint64_t low = (gp->cr4 & CR4_PAE) && !(gp->efer & EFER_LME) ? 0x1f : 0xfff;
	gp2.cr3 ^= (other_offset & low) | (other_offset << gp->maxphyaddr);
	struct walked w3 = walk(&gp2, gva, 0);
	FUZZ_CHECK(w3.st == WALK_OK && w3.gpa == base.gpa, "CR3 %#llx vs %#llx: %s",
		   (unsigned long long)gp->cr3, (unsigned long long)gp2.cr3,
		   walk_status_str(w3.st));
}

/* The copies, one 4 KiB guest-virtual piece at a time: first every piece
 * translated, then the data moved. */
struct piece {
	uint64_t gpa;
	size_t len;
};

static enum walk_status ref_translate(const struct guest_paging *gp, uint64_t gva, size_t len,
				      unsigned access, struct piece *pieces, size_t *count)
{
	*count = 0;
	if (len > GUEST_COPY_MAX)
		return WALK_TOO_LONG;
	if (len && gva + len - 1 < gva)
		return WALK_NONCANONICAL;
	for (size_t done = 0; done < len;) {
		uint64_t va = gva + done;
		size_t n = PAGE_SIZE - (va % PAGE_SIZE);
		if (n > len - done)
			n = len - done;
		struct walked w = walk(gp, va, access);
		if (w.st != WALK_OK)
			return w.st;
		pieces[(*count)++] = (struct piece){ w.gpa, n };
		done += n;
	}
	return WALK_OK;
}

static struct piece pieces[GUEST_COPY_MAX / PAGE_SIZE + 2];

static void check_copy_from(const struct guest_paging *gp, uint64_t gva, size_t len)
{
	size_t count, off = 0;
	uint8_t *got = malloc(len ? len : 1), *want = calloc(len ? len : 1, 1);

	FUZZ_CHECK(got && want, "out of memory");
	memset(got, 0xA5, len);
	enum walk_status st = ref_translate(gp, gva, len, WALK_ACC_READ, pieces, &count);
	for (size_t i = 0; st == WALK_OK && i < count; off += pieces[i++].len)
		if (!rd(pieces[i].gpa, want + off, pieces[i].len, &m))
			st = WALK_INACCESSIBLE_PAGE;
	if (st != WALK_OK)
		memset(want, 0, len);

	enum walk_status gst = guest_copy_from(gp, gva, got, len, rd, &m);
	FUZZ_CHECK(gst == st, "guest_copy_from(%#llx, %zu): %s, reference %s",
		   (unsigned long long)gva, len, walk_status_str(gst), walk_status_str(st));
	if (st != WALK_TOO_LONG)
		FUZZ_CHECK(!memcmp(got, want, len), "guest_copy_from(%#llx, %zu): other bytes",
			   (unsigned long long)gva, len);
	free(got);
	free(want);
}

static void check_copy_to(const struct guest_paging *gp, uint64_t gva, size_t len,
			  const uint8_t *src)
{
	size_t count, off = 0;

	before = m;
	enum walk_status st = ref_translate(gp, gva, len, WALK_ACC_WRITE, pieces, &count);
	for (size_t i = 0; st == WALK_OK && i < count; off += pieces[i++].len)
		if (!wr(pieces[i].gpa, src + off, pieces[i].len, &before))
			st = WALK_INACCESSIBLE_PAGE;
	/* before now holds what memory must look like afterwards. */
	enum walk_status gst = guest_copy_to(gp, gva, src, len, rd, wr, &m);
	FUZZ_CHECK(gst == st, "guest_copy_to(%#llx, %zu): %s, reference %s",
		   (unsigned long long)gva, len, walk_status_str(gst), walk_status_str(st));
	FUZZ_CHECK(!memcmp(m.bytes, before.bytes, MEM_SIZE),
		   "guest_copy_to(%#llx, %zu): memory differs from the reference",
		   (unsigned long long)gva, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t mode = fuzz_u8(&in), wmode = fuzz_u8(&in);
	struct guest_paging gp = {
		.cr0 = CR0_PE | ((mode & M_PG) ? CR0_PG : 0) | ((mode & M_WP) ? CR0_WP : 0),
		.cr4 = ((mode & M_PSE) ? CR4_PSE : 0) | ((mode & M_PAE) ? CR4_PAE : 0) |
		       ((mode & M_LA57) ? CR4_LA57 : 0),
		.efer = ((mode & M_LME) ? EFER_LME : 0) | ((mode & M_NXE) ? EFER_NXE : 0),
	};
	gp.cpl = fuzz_u8(&in) & 3;
	/* Mostly a width a CPU has; sometimes anything (refused outside 32..52). */
	uint8_t bits = fuzz_u8(&in);
	gp.maxphyaddr = bits & 0x80 ? bits & 0x7f : 32 + bits % 21;
	gp.cr3 = fuzz_u64(&in);
	uint64_t gva = fuzz_u64(&in), other = fuzz_u64(&in);
	size_t len = fuzz_u32(&in) & LEN_MASK;

	memset(&m, 0, sizeof(m));
	m.alias = mode & M_ALIAS;
	m.fail_writes = wmode & W_FAIL;
	m.fail_gpa = fuzz_u32(&in);
	m.maxphyaddr = gp.maxphyaddr < 64 ? gp.maxphyaddr : 63;
	memcpy(m.bytes, in.p, in.n < MEM_SIZE ? in.n : MEM_SIZE);

	if (gp.maxphyaddr < 32 || gp.maxphyaddr > 52) {
		FUZZ_CHECK(walk(&gp, gva, 0).st == WALK_UNSUPPORTED_MODE, "MAXPHYADDR %u accepted",
			   gp.maxphyaddr);
		return 0;
	}
	check_walks(&gp, gva, other);
	check_copy_from(&gp, gva, len);
	/* The source: the input's bytes, exactly len of them, then written. */
	uint8_t *src = calloc(len ? len : 1, 1);
	FUZZ_CHECK(src != NULL, "out of memory");
	memcpy(src, in.p, in.n < len ? in.n : len);
	check_copy_to(&gp, gva, len, src);
	free(src);
	return 0;
}
