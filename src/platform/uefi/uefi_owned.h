/* The physical ranges marrow owns: its resident image and every page it
 * allocated. They are of a memory type the OS does not take as usable RAM
 * (EfiRuntimeServicesCode/Data, UEFI 7.2), and this list is what the seal
 * hides from the guest at ExitBootServices (uefi_seal.h). */
#ifndef MARROW_UEFI_OWNED_H
#define MARROW_UEFI_OWNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UEFI_OWNED_MAX 512

struct uefi_owned_range {
	uint64_t base;
	uint64_t pages;
};

struct uefi_owned {
	struct uefi_owned_range r[UEFI_OWNED_MAX];
	size_t count;
};

/* Records [base, base + pages * 4 KiB), merged with a neighbour when they
 * touch; false when the list is full. Pure logic. */
bool uefi_owned_add(struct uefi_owned *o, uint64_t base, uint64_t pages);
/* Removes exactly that range (which may split a merged one); false when it
 * was not recorded. */
bool uefi_owned_remove(struct uefi_owned *o, uint64_t base, uint64_t pages);
/* Total pages recorded. */
uint64_t uefi_owned_pages(const struct uefi_owned *o);

/* o as sorted [base, end) ranges, touching ones merged, for the core's
 * hiding (core/seal.h); how many, or -1 when max is too few. */
struct mw_phys_range;
int uefi_owned_sorted(const struct uefi_owned *o, struct mw_phys_range *out, unsigned max);

/* marrow's own list (uefi_memory.c). */
const struct uefi_owned *uefi_owned_ranges(void);
/* The resident image copy, recorded apart so that a failed load can drop
 * it from the list before efi_main frees it. */
void uefi_owned_set_self(uint64_t base, uint64_t pages);
void uefi_owned_forget_self(void);

#endif
