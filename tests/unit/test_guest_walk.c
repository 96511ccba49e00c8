/* The guest page-table walker on page tables built in a fake guest-physical
 * memory: 4 KiB, 2 MiB and 1 GiB pages, every level not present, write
 * protection with and without CR0.WP, user/supervisor, NX, reserved bits,
 * canonical addresses, PCID bits in CR3, 5-level, 32-bit and PAE paging,
 * tables outside memory, and copies across pages with their limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/cpu_bits.h"
#include "arch/x86/msr.h"
#include "arch/x86/paging.h"
#include "core/guest_walk.h"

/* 64 pages of guest-physical memory at gpa 0; tables in the first 16. */
#define MEM_PAGES 64
#define PG PAGE_SIZE
#define PML4_PAGE 1
#define PDPT_PAGE 2
#define PD_PAGE 3
#define PT_PAGE 4
#define PML5_PAGE 5
#define PD32_PAGE 6
#define PT32_PAGE 7
#define PAE_PDPT_GPA (8 * PG + 0x20) /* CR3 bits 31:5 */
#define PAE_PD_PAGE 9
#define PAE_PT_PAGE 10
#define DATA_PAGE 16 /* PT[i] maps data page DATA_PAGE + i */
#define DATA_PAGES 20

#define RWU (PTE_P | PTE_W | PTE_U)
#define GPA_2M 0x123400000ull	/* where PD[5] maps its 2 MiB page */
#define GPA_1G 0x8040000000ull	/* where PDPT[3] maps its 1 GiB page */
#define OUTSIDE 0x7000000000ull /* below MAXPHYADDR, outside the memory */

static uint8_t mem[MEM_PAGES * PG] __attribute__((aligned(4096)));

struct fake {
	unsigned table_reads, data_reads, writes;
	bool fail_writes;
};
static struct fake fk;

static bool fake_read(uint64_t gpa, void *buf, size_t len, void *ctx)
{
	struct fake *f = ctx;

	if (gpa >= sizeof(mem) || len > sizeof(mem) - gpa)
		return false;
	/* The copies never hand the callback a range across a 4 KiB page. */
	assert_true((gpa & (PG - 1)) + len <= PG);
	if (gpa < DATA_PAGE * PG)
		f->table_reads++;
	else
		f->data_reads++;
	memcpy(buf, mem + gpa, len);
	return true;
}

static bool fake_write(uint64_t gpa, const void *buf, size_t len, void *ctx)
{
	struct fake *f = ctx;

	if (f->fail_writes || gpa >= sizeof(mem) || len > sizeof(mem) - gpa)
		return false;
	assert_true((gpa & (PG - 1)) + len <= PG);
	f->writes++;
	memcpy(mem + gpa, buf, len);
	return true;
}

static void set64(uint64_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, sizeof(v));
}

static void set32(uint64_t gpa, uint32_t v)
{
	memcpy(mem + gpa, &v, sizeof(v));
}

static void set_entry(unsigned page, unsigned idx, uint64_t v)
{
	set64(page * PG + idx * 8, v);
}

static uint64_t get_entry(unsigned page, unsigned idx)
{
	uint64_t v;

	memcpy(&v, mem + page * PG + idx * 8, sizeof(v));
	return v;
}

/* A 4-level linear address from its table indexes, sign-extended. */
static uint64_t va(unsigned l4, unsigned l3, unsigned l2, unsigned l1, uint64_t off)
{
	uint64_t v = (uint64_t)l4 << 39 | (uint64_t)l3 << 30 | (uint64_t)l2 << 21 |
		     (uint64_t)l1 << 12 | off;

	return (v & (1ull << 47)) ? v | 0xffff000000000000ull : v;
}

/* The 4 KiB pages: VA4K(i) is mapped by PT[i]. */
#define VA4K(i, off) va(1, 2, 3, (i), (off))

static struct guest_paging gp;

static int setup(void **state)
{
	(void)state;
	memset(mem, 0, sizeof(mem));
	memset(&fk, 0, sizeof(fk));
	gp = (struct guest_paging){
		.cr0 = CR0_PE | CR0_PG | CR0_WP,
		.cr3 = PML4_PAGE * PG,
		.cr4 = CR4_PAE,
		.efer = EFER_LME | EFER_LMA | EFER_NXE,
		.cpl = 0,
		.maxphyaddr = 40,
	};
	set_entry(PML4_PAGE, 1, PDPT_PAGE * PG | RWU);
	set_entry(PDPT_PAGE, 2, PD_PAGE * PG | RWU);
	set_entry(PDPT_PAGE, 3, GPA_1G | RWU | PTE_PS);
	set_entry(PD_PAGE, 3, PT_PAGE * PG | RWU);
	set_entry(PD_PAGE, 5, GPA_2M | RWU | PTE_PS);
	for (unsigned i = 0; i < DATA_PAGES; i++)
		set_entry(PT_PAGE, i, (DATA_PAGE + i) * PG | RWU);
	/* Each data byte says where it is. */
	for (unsigned i = DATA_PAGE * PG; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 7 + i / PG);
	return 0;
}

static enum walk_status walk(uint64_t gva, unsigned access, uint64_t *gpa, uint64_t *size)
{
	return guest_walk(&gp, gva, access, fake_read, &fk, gpa, size);
}

/* Translates gva for access and checks the result. */
static void expect_ok(uint64_t gva, unsigned access, uint64_t want_gpa, uint64_t want_size)
{
	uint64_t gpa = 0, size = 0;

	assert_int_equal(walk(gva, access, &gpa, &size), WALK_OK);
	assert_int_equal(gpa, want_gpa);
	assert_int_equal(size, want_size);
}

static void expect_status(uint64_t gva, unsigned access, enum walk_status want)
{
	uint64_t gpa = 0xaaaa, size = 0xbbbb;

	assert_int_equal(walk(gva, access, &gpa, &size), want);
	/* Outputs are left alone on error. */
	assert_int_equal(gpa, 0xaaaa);
	assert_int_equal(size, 0xbbbb);
}

static void test_page_sizes(void **state)
{
	(void)state;
	expect_ok(VA4K(4, 0x123), WALK_ACC_READ, (DATA_PAGE + 4) * PG + 0x123, PG);
	expect_ok(VA4K(0, 0), WALK_ACC_WRITE, DATA_PAGE * PG, PG);
	expect_ok(va(1, 2, 5, 0x45, 0x678), WALK_ACC_READ, GPA_2M + 0x45678, LARGE_PAGE_SIZE);
	expect_ok(va(1, 3, 0x1ff, 0x1ff, 0xfff), WALK_ACC_EXEC, GPA_1G + HUGE_PAGE_SIZE - 1,
		  HUGE_PAGE_SIZE);
	expect_ok(va(1, 3, 7, 9, 0xabc), WALK_ACC_READ, GPA_1G + (7ull << 21) + (9 << 12) + 0xabc,
		  HUGE_PAGE_SIZE);
	/* A 4-level walk reads 4 entries, a 1 GiB one 2. */
	fk.table_reads = 0;
	expect_ok(VA4K(1, 0), WALK_ACC_READ, (DATA_PAGE + 1) * PG, PG);
	assert_int_equal(fk.table_reads, 4);
	fk.table_reads = 0;
	expect_ok(va(1, 3, 0, 0, 0), WALK_ACC_READ, GPA_1G, HUGE_PAGE_SIZE);
	assert_int_equal(fk.table_reads, 2);
	/* A page's A and D flags are ignored; the walk never writes. */
	set_entry(PT_PAGE, 4, (DATA_PAGE + 4) * PG | RWU | PTE_A | PTE_D | PTE_G | PTE_PCD);
	expect_ok(VA4K(4, 0), WALK_ACC_WRITE, (DATA_PAGE + 4) * PG, PG);
	assert_int_equal(fk.writes, 0);
}

static void test_not_present_each_level(void **state)
{
	(void)state;
	/* Unmapped PML4, PDPT and PD slots. */
	expect_status(va(2, 0, 0, 0, 0), WALK_ACC_READ, WALK_NOT_PRESENT);
	expect_status(va(1, 4, 0, 0, 0), WALK_ACC_READ, WALK_NOT_PRESENT);
	expect_status(va(1, 2, 6, 0, 0), WALK_ACC_READ, WALK_NOT_PRESENT);
	expect_status(VA4K(DATA_PAGES, 0), WALK_ACC_READ, WALK_NOT_PRESENT);

	/* Each level of a working walk in turn, with every other bit of the
	 * entry left as it was: P alone decides, and a not-present entry's
	 * other bits (reserved ones too) are the OS's. */
	const unsigned pages[] = { PML4_PAGE, PDPT_PAGE, PD_PAGE, PT_PAGE };
	const unsigned idx[] = { 1, 2, 3, 4 };
	for (int l = 0; l < 4; l++) {
		uint64_t e = get_entry(pages[l], idx[l]);
		set_entry(pages[l], idx[l], (e & ~PTE_P) | (1ull << 50) | PTE_PS);
		expect_status(VA4K(4, 0), WALK_ACC_READ, WALK_NOT_PRESENT);
		set_entry(pages[l], idx[l], e);
		expect_ok(VA4K(4, 0), WALK_ACC_READ, (DATA_PAGE + 4) * PG, PG);
	}
	/* Not present on the 2 MiB and 1 GiB leaves. */
	set_entry(PD_PAGE, 5, GPA_2M | PTE_PS | PTE_W);
	expect_status(va(1, 2, 5, 0, 0), WALK_ACC_READ, WALK_NOT_PRESENT);
	set_entry(PDPT_PAGE, 3, GPA_1G | PTE_PS);
	expect_status(va(1, 3, 0, 0, 0), WALK_ACC_READ, WALK_NOT_PRESENT);
	/* Not present wins over protection: the walk stops first. */
	set_entry(PML4_PAGE, 1, PDPT_PAGE * PG | PTE_P); /* supervisor, read-only */
	set_entry(PT_PAGE, 4, 0);
	gp.cpl = 3;
	expect_status(VA4K(4, 0), WALK_ACC_WRITE, WALK_NOT_PRESENT);
	expect_status(VA4K(5, 0), WALK_ACC_WRITE, WALK_PROTECTION);
}

static void test_write_protection(void **state)
{
	(void)state;
	set_entry(PT_PAGE, 4, (DATA_PAGE + 4) * PG | PTE_P | PTE_U); /* read-only page */
	/* Supervisor, CR0.WP = 1: no writes to read-only pages. */
	expect_status(VA4K(4, 8), WALK_ACC_WRITE, WALK_PROTECTION);
	expect_ok(VA4K(4, 8), WALK_ACC_READ, (DATA_PAGE + 4) * PG + 8, PG);
	/* Supervisor, CR0.WP = 0: writes allowed anyway (SDM 3A 4.6). */
	gp.cr0 &= ~CR0_WP;
	expect_ok(VA4K(4, 8), WALK_ACC_WRITE, (DATA_PAGE + 4) * PG + 8, PG);
	/* User mode: R/W counts whatever CR0.WP says. */
	gp.cpl = 3;
	expect_status(VA4K(4, 8), WALK_ACC_WRITE, WALK_PROTECTION);
	expect_ok(VA4K(4, 8), WALK_ACC_READ, (DATA_PAGE + 4) * PG + 8, PG);
	gp.cpl = 0;
	expect_status(VA4K(4, 8), WALK_ACC_WRITE | WALK_ACC_USER, WALK_PROTECTION);

	/* R/W clear at an upper level covers every page below it. */
	gp.cr0 |= CR0_WP;
	set_entry(PDPT_PAGE, 2, PD_PAGE * PG | PTE_P | PTE_U);
	expect_status(VA4K(5, 0), WALK_ACC_WRITE, WALK_PROTECTION);
	expect_ok(VA4K(5, 0), WALK_ACC_READ, (DATA_PAGE + 5) * PG, PG);
	/* ...and a read-only 1 GiB page. */
	set_entry(PDPT_PAGE, 3, GPA_1G | PTE_P | PTE_U | PTE_PS);
	expect_status(va(1, 3, 0, 0, 0), WALK_ACC_WRITE, WALK_PROTECTION);
	expect_ok(va(1, 3, 0, 0, 0), WALK_ACC_READ, GPA_1G, HUGE_PAGE_SIZE);
}

static void test_user_supervisor(void **state)
{
	(void)state;
	/* U/S clear only in the PDPTE that covers the 4 KiB pages. */
	set_entry(PDPT_PAGE, 2, PD_PAGE * PG | PTE_P | PTE_W);
	expect_ok(VA4K(4, 0), WALK_ACC_READ | WALK_ACC_WRITE, (DATA_PAGE + 4) * PG, PG);
	gp.cpl = 3;
	expect_status(VA4K(4, 0), WALK_ACC_READ, WALK_PROTECTION);
	expect_status(VA4K(4, 0), WALK_ACC_EXEC, WALK_PROTECTION);
	/* Other pages stay user-accessible. */
	expect_ok(va(1, 3, 0, 0, 0), WALK_ACC_READ, GPA_1G, HUGE_PAGE_SIZE);
	/* WALK_ACC_USER asks for user-mode checks from CPL 0. */
	gp.cpl = 0;
	expect_status(VA4K(4, 0), WALK_ACC_READ | WALK_ACC_USER, WALK_PROTECTION);
	/* A supervisor page, user bit clear in the PTE only. */
	set_entry(PDPT_PAGE, 2, PD_PAGE * PG | RWU);
	set_entry(PT_PAGE, 6, (DATA_PAGE + 6) * PG | PTE_P | PTE_W);
	gp.cpl = 3;
	expect_status(VA4K(6, 0), WALK_ACC_READ, WALK_PROTECTION);
	expect_ok(VA4K(7, 0), WALK_ACC_READ, (DATA_PAGE + 7) * PG, PG);
	/* CPLs 1 and 2 are supervisor. */
	gp.cpl = 2;
	expect_ok(VA4K(6, 0), WALK_ACC_READ, (DATA_PAGE + 6) * PG, PG);
}

static void test_no_execute(void **state)
{
	(void)state;
	/* XD on the PD entry that points to the page table. */
	set_entry(PD_PAGE, 3, PT_PAGE * PG | RWU | PTE_NX);
	expect_status(VA4K(4, 0), WALK_ACC_EXEC, WALK_PROTECTION);
	expect_ok(VA4K(4, 0), WALK_ACC_READ | WALK_ACC_WRITE, (DATA_PAGE + 4) * PG, PG);
	/* XD on a 1 GiB page. */
	set_entry(PDPT_PAGE, 3, GPA_1G | RWU | PTE_PS | PTE_NX);
	expect_status(va(1, 3, 0, 0, 0), WALK_ACC_EXEC, WALK_PROTECTION);
	gp.cpl = 3;
	expect_status(va(1, 3, 0, 0, 0), WALK_ACC_EXEC, WALK_PROTECTION);
	gp.cpl = 0;
	/* Without EFER.NXE, XD is a reserved bit (SDM 3A 4.5). */
	gp.efer &= ~EFER_NXE;
	expect_status(VA4K(4, 0), WALK_ACC_READ, WALK_RESERVED_BIT);
	set_entry(PD_PAGE, 3, PT_PAGE * PG | RWU);
	expect_ok(VA4K(4, 0), WALK_ACC_EXEC, (DATA_PAGE + 4) * PG, PG);
}

static void test_reserved_bits(void **state)
{
	(void)state;
	/* PS in a PML4E. */
	set_entry(PML4_PAGE, 1, PDPT_PAGE * PG | RWU | PTE_PS);
	expect_status(VA4K(4, 0), WALK_ACC_READ, WALK_RESERVED_BIT);
	set_entry(PML4_PAGE, 1, PDPT_PAGE * PG | RWU);
	/* Address bits at or above MAXPHYADDR (40), in a PDE and a PTE. */
	set_entry(PD_PAGE, 3, PT_PAGE * PG | RWU | (1ull << 45));
	expect_status(VA4K(4, 0), WALK_ACC_READ, WALK_RESERVED_BIT);
	set_entry(PD_PAGE, 3, PT_PAGE * PG | RWU);
	set_entry(PT_PAGE, 4, (DATA_PAGE + 4) * PG | RWU | (1ull << 40));
	expect_status(VA4K(4, 0), WALK_ACC_READ, WALK_RESERVED_BIT);
	/* With MAXPHYADDR 46 the same bit is an address bit. */
	gp.maxphyaddr = 46;
	set_entry(PT_PAGE, 4, (DATA_PAGE + 4) * PG | RWU | (1ull << 45));
	expect_ok(VA4K(4, 0), WALK_ACC_READ, (1ull << 45) | (DATA_PAGE + 4) * PG, PG);
	gp.maxphyaddr = 40;
	/* Bits 62:52 are ignored (software, protection keys), bit 7 of a PTE
	 * is PAT. */
	set_entry(PT_PAGE, 5, (DATA_PAGE + 5) * PG | RWU | (1ull << 55) | (1ull << 62) | PTE_PS);
	expect_ok(VA4K(5, 0), WALK_ACC_READ, (DATA_PAGE + 5) * PG, PG);
	/* The low address bits of large pages: 20:13 for 2 MiB, 29:13 for
	 * 1 GiB; bit 12 is PAT. */
	set_entry(PD_PAGE, 5, GPA_2M | RWU | PTE_PS | (1ull << 12));
	expect_ok(va(1, 2, 5, 0, 0), WALK_ACC_READ, GPA_2M, LARGE_PAGE_SIZE);
	set_entry(PD_PAGE, 5, GPA_2M | RWU | PTE_PS | (1ull << 13));
	expect_status(va(1, 2, 5, 0, 0), WALK_ACC_READ, WALK_RESERVED_BIT);
	set_entry(PD_PAGE, 5, GPA_2M | RWU | PTE_PS | (1ull << 20));
	expect_status(va(1, 2, 5, 0, 0), WALK_ACC_READ, WALK_RESERVED_BIT);
	set_entry(PDPT_PAGE, 3, GPA_1G | RWU | PTE_PS | (1ull << 21));
	expect_status(va(1, 3, 0, 0, 0), WALK_ACC_READ, WALK_RESERVED_BIT);
	set_entry(PDPT_PAGE, 3, GPA_1G | RWU | PTE_PS | (1ull << 29));
	expect_status(va(1, 3, 0, 0, 0), WALK_ACC_READ, WALK_RESERVED_BIT);
	/* Reserved beats protection: checked during the walk. */
	gp.cpl = 3;
	set_entry(PDPT_PAGE, 3, GPA_1G | PTE_P | PTE_PS | (1ull << 13));
	expect_status(va(1, 3, 0, 0, 0), WALK_ACC_WRITE, WALK_RESERVED_BIT);
}

static void test_noncanonical(void **state)
{
	(void)state;
	expect_status(0x0000800000000000ull, WALK_ACC_READ, WALK_NONCANONICAL);
	expect_status(0xffff7fffffffffffull, WALK_ACC_READ, WALK_NONCANONICAL);
	expect_status(0x8000000000000000ull, WALK_ACC_READ, WALK_NONCANONICAL);
	expect_status(VA4K(4, 0) | (1ull << 60), WALK_ACC_READ, WALK_NONCANONICAL);
	/* The canonical upper half is walked (and not mapped here). */
	fk.table_reads = 0;
	expect_status(0xffff800000000000ull, WALK_ACC_READ, WALK_NOT_PRESENT);
	assert_int_equal(fk.table_reads, 1);
	/* The highest canonical address of the upper half, mapped. */
	set_entry(PML4_PAGE, 511, PDPT_PAGE * PG | RWU);
	set_entry(PDPT_PAGE, 511, GPA_1G | RWU | PTE_PS);
	expect_ok(0xffffffffffffffffull, WALK_ACC_READ, GPA_1G + HUGE_PAGE_SIZE - 1,
		  HUGE_PAGE_SIZE);
}

static void test_cr3_pcid_bits(void **state)
{
	(void)state;
	gp.cr4 |= CR4_PCIDE;
	gp.cr3 = PML4_PAGE * PG | 0xabc; /* PCID 0xabc */
	expect_ok(VA4K(4, 1), WALK_ACC_READ, (DATA_PAGE + 4) * PG + 1, PG);
	gp.cr3 = PML4_PAGE * PG | 0xfff;
	expect_ok(VA4K(4, 1), WALK_ACC_READ, (DATA_PAGE + 4) * PG + 1, PG);
	/* Without PCIDE, bits 3 and 4 are PWT/PCD; LAM bits 62:61 are above
	 * MAXPHYADDR: none is an address bit. */
	gp.cr4 &= ~CR4_PCIDE;
	gp.cr3 = PML4_PAGE * PG | 0x18 | (3ull << 61);
	expect_ok(VA4K(4, 1), WALK_ACC_READ, (DATA_PAGE + 4) * PG + 1, PG);
}

static void test_five_level(void **state)
{
	(void)state;
	gp.cr4 |= CR4_LA57;
	gp.cr3 = PML5_PAGE * PG;
	set_entry(PML5_PAGE, 3, PML4_PAGE * PG | RWU);
	uint64_t base = 3ull << 48;
	/* Bits 56:48 select the PML5E, 47 is an ordinary index bit. */
	expect_ok(base | VA4K(4, 0x10), WALK_ACC_READ, (DATA_PAGE + 4) * PG + 0x10, PG);
	expect_status(2ull << 48, WALK_ACC_READ, WALK_NOT_PRESENT);
	/* 57-bit canonical: 0x0100... is not, 0xff00... would be. */
	expect_status(1ull << 57, WALK_ACC_READ, WALK_NONCANONICAL);
	expect_status(0xff00000000000000ull, WALK_ACC_READ, WALK_NOT_PRESENT);
	/* PS is reserved in a PML5E too. */
	set_entry(PML5_PAGE, 3, PML4_PAGE * PG | RWU | PTE_PS);
	expect_status(base | VA4K(4, 0), WALK_ACC_READ, WALK_RESERVED_BIT);
	/* Without LA57 the same address is not canonical. */
	gp.cr4 &= ~CR4_LA57;
	expect_status(base | VA4K(4, 0), WALK_ACC_READ, WALK_NONCANONICAL);
}

static void test_paging_off(void **state)
{
	(void)state;
	gp.cr0 &= ~CR0_PG;
	gp.efer &= ~(EFER_LME | EFER_LMA);
	fk.table_reads = 0;
	expect_ok(0x12345678, WALK_ACC_WRITE | WALK_ACC_EXEC | WALK_ACC_USER, 0x12345678, PG);
	expect_ok(0xffffffff, WALK_ACC_READ, 0xffffffff, PG);
	expect_status(0x100000000ull, WALK_ACC_READ, WALK_NONCANONICAL);
	assert_int_equal(fk.table_reads, 0);
}

static void test_32bit_paging(void **state)
{
	(void)state;
	gp.cr4 = CR4_PSE;
	gp.efer = 0;
	gp.cr3 = PD32_PAGE * PG | 0x18;
	gp.maxphyaddr = 36;
	/* PDE 1 -> page table, PTE 2 -> data page; PDE 3 -> 4 MiB page at
	 * 0x8_0040_0000 (PSE-36: bits 35:32 from PDE bits 16:13). */
	set32(PD32_PAGE * PG + 1 * 4, PT32_PAGE * PG | RWU);
	set32(PT32_PAGE * PG + 2 * 4, (DATA_PAGE + 2) * PG | PTE_P | PTE_U);
	set32(PD32_PAGE * PG + 3 * 4, 0x00400000u | (0x8u << 13) | RWU | PTE_PS);
	uint64_t va4k = (1u << 22) | (2u << 12) | 0x345;
	uint64_t va4m = (3u << 22) | 0x12345;

	expect_ok(va4k, WALK_ACC_READ, (DATA_PAGE + 2) * PG + 0x345, PG);
	expect_ok(va4m, WALK_ACC_WRITE, 0x800400000ull + 0x12345, 4ull << 20);
	/* R/W and U/S as in every mode; no XD in 32-bit entries. */
	expect_status(va4k, WALK_ACC_WRITE, WALK_PROTECTION);
	expect_ok(va4k, WALK_ACC_EXEC, (DATA_PAGE + 2) * PG + 0x345, PG);
	set32(PD32_PAGE * PG + 1 * 4, PT32_PAGE * PG | PTE_P | PTE_W);
	gp.cpl = 3;
	expect_status(va4k, WALK_ACC_READ, WALK_PROTECTION);
	gp.cpl = 0;
	/* Bit 21 is reserved, and PSE-36 bits at or above MAXPHYADDR. */
	set32(PD32_PAGE * PG + 3 * 4, 0x00400000u | (1u << 21) | RWU | PTE_PS);
	expect_status(va4m, WALK_ACC_READ, WALK_RESERVED_BIT);
	set32(PD32_PAGE * PG + 3 * 4, 0x00400000u | (0x10u << 13) | RWU | PTE_PS); /* bit 36 */
	expect_status(va4m, WALK_ACC_READ, WALK_RESERVED_BIT);
	gp.maxphyaddr = 40;
	expect_ok(va4m, WALK_ACC_READ, 0x1000400000ull + 0x12345, 4ull << 20);
	/* Without CR4.PSE, PS is ignored: the PDE points to a page table. */
	gp.cr4 = 0;
	set32(PD32_PAGE * PG + 3 * 4, PT32_PAGE * PG | RWU | PTE_PS);
	expect_ok((3u << 22) | (2u << 12), WALK_ACC_READ, (DATA_PAGE + 2) * PG, PG);
	/* Linear addresses are 32 bits; not present as usual. */
	expect_status(1ull << 32, WALK_ACC_READ, WALK_NONCANONICAL);
	expect_status(5u << 22, WALK_ACC_READ, WALK_NOT_PRESENT);
	expect_status((1u << 22) | (3u << 12), WALK_ACC_READ, WALK_NOT_PRESENT);
}

static void test_pae_paging(void **state)
{
	(void)state;
	gp.cr4 = CR4_PAE;
	gp.efer = EFER_NXE;
	gp.cr3 = PAE_PDPT_GPA;
	/* PDPTE 2 -> PD; PDE 1 -> PT, PTE 4 -> data page; PDE 2 -> 2 MiB. */
	set64(PAE_PDPT_GPA + 2 * 8, PAE_PD_PAGE * PG | PTE_P);
	set_entry(PAE_PD_PAGE, 1, PAE_PT_PAGE * PG | RWU);
	set_entry(PAE_PD_PAGE, 2, GPA_2M | PTE_P | PTE_PS | PTE_NX);
	set_entry(PAE_PT_PAGE, 4, (DATA_PAGE + 4) * PG | RWU);
	uint64_t va4k = (2ull << 30) | (1u << 21) | (4u << 12) | 0x10;
	uint64_t va2m = (2ull << 30) | (2u << 21) | 0x54321;

	expect_ok(va4k, WALK_ACC_WRITE | WALK_ACC_EXEC, (DATA_PAGE + 4) * PG + 0x10, PG);
	expect_ok(va2m, WALK_ACC_READ, GPA_2M + 0x54321, LARGE_PAGE_SIZE);
	expect_status(va2m, WALK_ACC_EXEC, WALK_PROTECTION);
	expect_status(va2m, WALK_ACC_WRITE, WALK_PROTECTION);
	expect_status(3ull << 30, WALK_ACC_READ, WALK_NOT_PRESENT); /* PDPTE 3 */
	expect_status(1ull << 32, WALK_ACC_READ, WALK_NONCANONICAL);
	/* PDPTEs carry no access rights: R/W and U/S are reserved there. */
	set64(PAE_PDPT_GPA + 2 * 8, PAE_PD_PAGE * PG | PTE_P | PTE_W);
	expect_status(va4k, WALK_ACC_READ, WALK_RESERVED_BIT);
	set64(PAE_PDPT_GPA + 2 * 8, PAE_PD_PAGE * PG | PTE_P | PTE_NX);
	expect_status(va4k, WALK_ACC_READ, WALK_RESERVED_BIT);
	set64(PAE_PDPT_GPA + 2 * 8, PAE_PD_PAGE * PG | PTE_P);
	/* Below the PDPTE, bits 62:M are reserved (ignored in 4-level). */
	set_entry(PAE_PT_PAGE, 4, (DATA_PAGE + 4) * PG | RWU | (1ull << 55));
	expect_status(va4k, WALK_ACC_READ, WALK_RESERVED_BIT);
	set_entry(PAE_PT_PAGE, 4, (DATA_PAGE + 4) * PG | RWU);
	set_entry(PAE_PD_PAGE, 2, GPA_2M | PTE_P | PTE_PS | (1ull << 14));
	expect_status(va2m, WALK_ACC_READ, WALK_RESERVED_BIT);
	/* XD without NXE is reserved. */
	gp.efer = 0;
	set_entry(PAE_PD_PAGE, 2, GPA_2M | PTE_P | PTE_PS | PTE_NX);
	expect_status(va2m, WALK_ACC_READ, WALK_RESERVED_BIT);
	expect_ok(va4k, WALK_ACC_EXEC, (DATA_PAGE + 4) * PG + 0x10, PG);
}

static void test_unsupported_modes(void **state)
{
	(void)state;
	gp.maxphyaddr = 0;
	expect_status(VA4K(4, 0), WALK_ACC_READ, WALK_UNSUPPORTED_MODE);
	gp.maxphyaddr = 53;
	expect_status(VA4K(4, 0), WALK_ACC_READ, WALK_UNSUPPORTED_MODE);
	gp.maxphyaddr = 52;
	expect_ok(VA4K(4, 0), WALK_ACC_READ, (DATA_PAGE + 4) * PG, PG);
	/* Paging with LME but without PAE cannot be entered. */
	gp.cr4 = 0;
	expect_status(VA4K(4, 0), WALK_ACC_READ, WALK_UNSUPPORTED_MODE);
}

static void test_tables_outside_memory(void **state)
{
	(void)state;
	/* A PDE that points past the fake memory: an error, never a crash. */
	set_entry(PD_PAGE, 3, OUTSIDE | RWU);
	expect_status(VA4K(4, 0), WALK_ACC_READ, WALK_UNREADABLE_TABLE);
	/* CR3 itself outside memory. */
	gp.cr3 = OUTSIDE;
	expect_status(VA4K(4, 0), WALK_ACC_READ, WALK_UNREADABLE_TABLE);
	/* A leaf outside memory translates: the walk reads no data. */
	gp.cr3 = PML4_PAGE * PG;
	set_entry(PD_PAGE, 3, PT_PAGE * PG | RWU);
	set_entry(PT_PAGE, 4, OUTSIDE | RWU);
	expect_ok(VA4K(4, 0x10), WALK_ACC_READ, OUTSIDE + 0x10, PG);
	/* ...and copying from it is an error, with dst zeroed. */
	char buf[16];
	memset(buf, 0x55, sizeof(buf));
	assert_int_equal(guest_copy_from(&gp, VA4K(4, 0x10), buf, sizeof(buf), fake_read, &fk),
			 WALK_INACCESSIBLE_PAGE);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	/* In 32-bit paging, the same for 4-byte entries. */
	gp.cr4 = 0;
	gp.efer = 0;
	gp.cr3 = 0xfff00000u;
	expect_status(0x1000, WALK_ACC_READ, WALK_UNREADABLE_TABLE);
}

static uint8_t at(uint64_t gpa)
{
	return mem[gpa];
}

static void test_copy_from_across_pages(void **state)
{
	(void)state;
	uint8_t buf[200];

	/* PT[3] and PT[4] map data pages 19 and 20: contiguous in both
	 * spaces here, so map PT[4] elsewhere to see each page translated. */
	set_entry(PT_PAGE, 4, (DATA_PAGE + 10) * PG | RWU);
	uint64_t start = VA4K(3, PG - 50);
	assert_int_equal(guest_copy_from(&gp, start, buf, sizeof(buf), fake_read, &fk), WALK_OK);
	for (unsigned i = 0; i < 50; i++)
		assert_int_equal(buf[i], at((DATA_PAGE + 3) * PG + PG - 50 + i));
	for (unsigned i = 50; i < sizeof(buf); i++)
		assert_int_equal(buf[i], at((DATA_PAGE + 10) * PG + i - 50));
	assert_int_equal(fk.data_reads, 2);
	/* A 2 MiB page is still handed to the callback 4 KiB at a time. */
	set_entry(PD_PAGE, 5, (DATA_PAGE * PG & ~(LARGE_PAGE_SIZE - 1)) | RWU | PTE_PS);
	fk.data_reads = 0;
	start = va(1, 2, 5, DATA_PAGE + 1, PG - 8);
	assert_int_equal(guest_copy_from(&gp, start, buf, 16, fake_read, &fk), WALK_OK);
	assert_int_equal(fk.data_reads, 2);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(buf[i], at((DATA_PAGE + 2) * PG - 8 + i));
}

static void test_copy_from_second_page_unmapped(void **state)
{
	(void)state;
	uint8_t buf[100];

	set_entry(PT_PAGE, 5, 0);
	memset(buf, 0x55, sizeof(buf));
	assert_int_equal(guest_copy_from(&gp, VA4K(4, PG - 10), buf, sizeof(buf), fake_read, &fk),
			 WALK_NOT_PRESENT);
	/* Nothing was read from the first page, and dst holds no part of
	 * it: zeroed. */
	assert_int_equal(fk.data_reads, 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	/* The same for a protection error on the second page. */
	set_entry(PT_PAGE, 5, (DATA_PAGE + 5) * PG | PTE_P | PTE_W);
	gp.cpl = 3;
	assert_int_equal(guest_copy_from(&gp, VA4K(4, PG - 10), buf, sizeof(buf), fake_read, &fk),
			 WALK_PROTECTION);
	assert_int_equal(fk.data_reads, 0);
	/* Within the first page alone, fine. */
	assert_int_equal(guest_copy_from(&gp, VA4K(4, PG - 10), buf, 10, fake_read, &fk), WALK_OK);
	assert_int_equal(buf[0], at((DATA_PAGE + 4) * PG + PG - 10));
}

static void test_copy_to(void **state)
{
	(void)state;
	uint8_t src[300], before[sizeof(mem)];

	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(0xa0 ^ i);
	set_entry(PT_PAGE, 5, (DATA_PAGE + 12) * PG | RWU);
	assert_int_equal(
		guest_copy_to(&gp, VA4K(4, PG - 100), src, sizeof(src), fake_read, fake_write, &fk),
		WALK_OK);
	assert_memory_equal(mem + (DATA_PAGE + 4) * PG + PG - 100, src, 100);
	assert_memory_equal(mem + (DATA_PAGE + 12) * PG, src + 100, 200);
	assert_int_equal(fk.writes, 2);

	/* Second page read-only: nothing at all is written. */
	set_entry(PT_PAGE, 5, (DATA_PAGE + 12) * PG | PTE_P | PTE_U);
	memcpy(before, mem, sizeof(mem));
	fk.writes = 0;
	assert_int_equal(
		guest_copy_to(&gp, VA4K(4, PG - 100), src, sizeof(src), fake_read, fake_write, &fk),
		WALK_PROTECTION);
	assert_int_equal(fk.writes, 0);
	assert_memory_equal(mem, before, sizeof(mem));
	/* Supervisor without CR0.WP may write it. */
	gp.cr0 &= ~CR0_WP;
	assert_int_equal(
		guest_copy_to(&gp, VA4K(4, PG - 100), src, sizeof(src), fake_read, fake_write, &fk),
		WALK_OK);
	/* A write callback that fails: reported. */
	fk.fail_writes = true;
	assert_int_equal(guest_copy_to(&gp, VA4K(4, 0), src, 1, fake_read, fake_write, &fk),
			 WALK_INACCESSIBLE_PAGE);
}

static void test_copy_limits(void **state)
{
	(void)state;
	static uint8_t buf[GUEST_COPY_MAX + 1];

	/* Map 17 consecutive 4 KiB pages: the most an unaligned maximum copy
	 * touches. PT[0..19] already map data pages 16..35. */
	assert_int_equal(guest_copy_from(&gp, VA4K(0, 1), buf, GUEST_COPY_MAX, fake_read, &fk),
			 WALK_OK);
	assert_int_equal(fk.data_reads, 17);
	assert_memory_equal(buf, mem + DATA_PAGE * PG + 1, GUEST_COPY_MAX);
	/* One byte more: refused before any work, dst untouched. */
	fk.table_reads = fk.data_reads = 0;
	memset(buf, 0x55, 4);
	assert_int_equal(guest_copy_from(&gp, VA4K(0, 0), buf, GUEST_COPY_MAX + 1, fake_read, &fk),
			 WALK_TOO_LONG);
	assert_int_equal(
		guest_copy_to(&gp, VA4K(0, 0), buf, GUEST_COPY_MAX + 1, fake_read, fake_write, &fk),
		WALK_TOO_LONG);
	assert_int_equal(fk.table_reads + fk.data_reads + fk.writes, 0);
	assert_int_equal(buf[0], 0x55);
	/* Length 0: nothing to translate, nothing read. */
	assert_int_equal(guest_copy_from(&gp, 0x0000800000000000ull, buf, 0, fake_read, &fk),
			 WALK_OK);
	assert_int_equal(fk.table_reads, 0);
	/* A range that wraps around 2^64, and one that runs into the
	 * non-canonical hole. */
	assert_int_equal(guest_copy_from(&gp, 0xfffffffffffffff0ull, buf, 32, fake_read, &fk),
			 WALK_NONCANONICAL);
	assert_int_equal(guest_copy_from(&gp, 0x00007ffffffffff0ull, buf, 32, fake_read, &fk),
			 WALK_NOT_PRESENT);
	set_entry(PML4_PAGE, 255, PDPT_PAGE * PG | RWU);
	set_entry(PDPT_PAGE, 511, GPA_1G | RWU | PTE_PS);
	uint64_t gpa, size;
	assert_int_equal(walk(0x00007ffffffffff0ull, WALK_ACC_READ, &gpa, &size), WALK_OK);
	assert_int_equal(guest_copy_from(&gp, 0x00007ffffffffff0ull, buf, 32, fake_read, &fk),
			 WALK_NONCANONICAL);
	/* The data page beyond the fake memory is not reached either. */
	assert_int_equal(fk.data_reads, 0);
}

static void test_status_strings(void **state)
{
	(void)state;
	for (int st = WALK_OK; st <= WALK_TOO_LONG; st++)
		assert_string_not_equal(walk_status_str(st), "unknown walk status");
	assert_string_equal(walk_status_str(WALK_NOT_PRESENT), "page not present");
	assert_string_equal(walk_status_str((enum walk_status)99), "unknown walk status");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_page_sizes, setup),
		cmocka_unit_test_setup(test_not_present_each_level, setup),
		cmocka_unit_test_setup(test_write_protection, setup),
		cmocka_unit_test_setup(test_user_supervisor, setup),
		cmocka_unit_test_setup(test_no_execute, setup),
		cmocka_unit_test_setup(test_reserved_bits, setup),
		cmocka_unit_test_setup(test_noncanonical, setup),
		cmocka_unit_test_setup(test_cr3_pcid_bits, setup),
		cmocka_unit_test_setup(test_five_level, setup),
		cmocka_unit_test_setup(test_paging_off, setup),
		cmocka_unit_test_setup(test_32bit_paging, setup),
		cmocka_unit_test_setup(test_pae_paging, setup),
		cmocka_unit_test_setup(test_unsupported_modes, setup),
		cmocka_unit_test_setup(test_tables_outside_memory, setup),
		cmocka_unit_test_setup(test_copy_from_across_pages, setup),
		cmocka_unit_test_setup(test_copy_from_second_page_unmapped, setup),
		cmocka_unit_test_setup(test_copy_to, setup),
		cmocka_unit_test_setup(test_copy_limits, setup),
		cmocka_unit_test_setup(test_status_strings, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
