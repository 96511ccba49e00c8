/* Guest-virtual to guest-physical translation by walking the guest's own
 * page tables, for root mode: hypercalls pass guest-virtual pointers. The
 * walk reads guest-physical memory through a callback, because how root
 * mode reaches guest memory is the platform's business. Pure and bounded:
 * no allocation, no locks, at most 5 table reads per page, at most
 * GUEST_COPY_MAX bytes per copy.
 *
 * Paging modes (SDM 3A 4.1.1), chosen from CR0.PG, CR4.PAE, IA32_EFER.LME
 * and CR4.LA57:
 * - paging off: gpa = gva. Linear addresses are 32 bits wide without
 *   paging, so a gva at or above 4 GiB is WALK_NONCANONICAL; page_size is
 *   reported as 4 KiB.
 * - 32-bit paging (SDM 3A 4.3): 4 KiB pages, and 4 MiB pages when CR4.PSE
 *   is set, with PSE-36 (physical bits 39:32 from PDE bits 20:13).
 * - PAE paging (SDM 3A 4.4): 4 KiB and 2 MiB pages. The PDPTEs are read from
 *   memory at CR3, whereas the CPU uses the copies it loaded with CR3 (with
 *   EPT, the VMCS guest PDPTE fields): a guest that edits its PDPTEs without
 *   reloading CR3 is walked with the new values.
 * - 4-level and 5-level paging (SDM 3A 4.5): 4 KiB, 2 MiB and 1 GiB pages
 *   (1 GiB pages are assumed supported, CPUID.80000001H:EDX.Page1GB).
 * Other combinations (PG with LME but not PAE) cannot be loaded into a CPU
 * and give WALK_UNSUPPORTED_MODE, as does a MAXPHYADDR outside [32, 52].
 *
 * CR3: only its address bits are used; the PCID (CR4.PCIDE, SDM 3A 4.10.1)
 * or PWT/PCD in bits 11:0 and anything at or above MAXPHYADDR (LAM's bits
 * 62:61) are ignored.
 *
 * Checks, in the CPU's order (SDM 3A 4.7): the walk stops at the first
 * entry that is not present (WALK_NOT_PRESENT) or sets a reserved bit
 * (WALK_RESERVED_BIT: physical-address bits at or above MAXPHYADDR, XD
 * without EFER.NXE, PS in a PML5E/PML4E, the low bits of a large-page
 * address, PAE's PDPTE and bits 62:M); access rights are checked on the
 * complete translation (SDM 3A 4.6): user-mode accesses (CPL 3, or
 * WALK_ACC_USER) need U/S at every level, writes need R/W at every level
 * when user-mode or CR0.WP, instruction fetches need XD clear at every level
 * when EFER.NXE (WALK_PROTECTION).
 *
 * Not modelled, on purpose: SMEP and SMAP (hypercalls come from CPL 0 and
 * marrow reads their buffers on the kernel's behalf, as the kernel would
 * with EFLAGS.AC set), protection keys (CR4.PKE/PKS), and the accessed and
 * dirty flags, which the walk never sets: a guest page that marrow writes
 * through guest_copy_to is not marked dirty by marrow, so hypercall output
 * buffers should be memory the guest has already written itself (a rule
 * for the hypercall ABI to state).
 *
 * The guest may change its page tables on another CPU during a walk or a
 * copy: the result is then a translation that was valid at some point, or
 * an error, never an access outside what the callbacks allow. */
#ifndef MARROW_CORE_GUEST_WALK_H
#define MARROW_CORE_GUEST_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Read or write len bytes of guest-physical memory at gpa; false if the
 * platform cannot (not guest RAM, outside the map...). The walk calls the
 * reader for 4- or 8-byte table entries; the copies call both for ranges
 * that never cross a 4 KiB guest-physical boundary. */
typedef bool (*gpa_read_fn)(uint64_t gpa, void *buf, size_t len, void *ctx);
typedef bool (*gpa_write_fn)(uint64_t gpa, const void *buf, size_t len, void *ctx);

/* The guest's paging state, e.g. from the VMCS guest-state area. */
struct guest_paging {
	uint64_t cr0, cr3, cr4, efer;
	unsigned cpl;
	unsigned maxphyaddr; /* CPUID.80000008H:EAX[7:0], 32..52 */
};

enum walk_status {
	WALK_OK,
	WALK_NOT_PRESENT,
	WALK_PROTECTION,
	WALK_RESERVED_BIT,
	WALK_NONCANONICAL,	/* not a valid linear address in this mode */
	WALK_UNREADABLE_TABLE,	/* a paging structure the callback cannot read */
	WALK_UNSUPPORTED_MODE,	/* inconsistent control registers, bad MAXPHYADDR */
	WALK_INACCESSIBLE_PAGE, /* copies: the data page the callback cannot reach */
	WALK_TOO_LONG,		/* copies: more than GUEST_COPY_MAX bytes */
};

/* The access to check: any combination (a read is checked for presence
 * only). WALK_ACC_USER checks as a user-mode access whatever the CPL. */
#define WALK_ACC_READ (1u << 0)
#define WALK_ACC_WRITE (1u << 1)
#define WALK_ACC_EXEC (1u << 2)
#define WALK_ACC_USER (1u << 3)

/* Longest copy, so that root mode's work stays bounded: 64 KiB, at most 17
 * pages when unaligned. */
#define GUEST_COPY_MAX (64u * 1024)

/* Translates gva for access; on WALK_OK, *gpa is the guest-physical address
 * and *page_size the size of the page that maps it (4 KiB to 1 GiB). The
 * outputs are left alone on error. */
enum walk_status guest_walk(const struct guest_paging *gp, uint64_t gva, unsigned access,
			    gpa_read_fn read, void *ctx, uint64_t *gpa, uint64_t *page_size);

/* Copies len bytes (at most GUEST_COPY_MAX) from guest-virtual gva into dst.
 * Every page is translated before any data is read; on error, dst is zeroed
 * (when len is within the limit), so no partial data passes for a result. */
enum walk_status guest_copy_from(const struct guest_paging *gp, uint64_t gva, void *dst, size_t len,
				 gpa_read_fn read, void *ctx);

/* Copies len bytes from src to guest-virtual gva, checked as a write. Every
 * page is translated and checked before the first byte is written, so a
 * translation error writes nothing; only a write callback failing half way
 * (WALK_INACCESSIBLE_PAGE) can leave the earlier pages written. */
enum walk_status guest_copy_to(const struct guest_paging *gp, uint64_t gva, const void *src,
			       size_t len, gpa_read_fn read, gpa_write_fn write, void *ctx);

/* A short description for logs. */
const char *walk_status_str(enum walk_status st);

#endif
