#include "uefi_owned.h"

#include "core/boot_guest.h"

#define PAGE 4096ull

bool uefi_owned_add(struct uefi_owned *o, uint64_t base, uint64_t pages)
{
	uint64_t end = base + pages * PAGE;

	for (size_t i = 0; i < o->count; i++) {
		struct uefi_owned_range *r = &o->r[i];
		if (r->base + r->pages * PAGE == base) {
			r->pages += pages;
			return true;
		}
		if (end == r->base) {
			r->base = base;
			r->pages += pages;
			return true;
		}
	}
	if (o->count == UEFI_OWNED_MAX)
		return false;
	o->r[o->count++] = (struct uefi_owned_range){ base, pages };
	return true;
}

bool uefi_owned_remove(struct uefi_owned *o, uint64_t base, uint64_t pages)
{
	uint64_t end = base + pages * PAGE;

	for (size_t i = 0; i < o->count; i++) {
		struct uefi_owned_range *r = &o->r[i];
		uint64_t r_end = r->base + r->pages * PAGE;
		if (base < r->base || end > r_end)
			continue;
		if (base == r->base && end == r_end) {
			o->r[i] = o->r[--o->count];
		} else if (base == r->base) {
			r->base = end;
			r->pages -= pages;
		} else if (end == r_end) {
			r->pages -= pages;
		} else {
			/* A hole in the middle: the tail becomes its own range. */
			if (o->count == UEFI_OWNED_MAX)
				return false;
			o->r[o->count++] = (struct uefi_owned_range){ end, (r_end - end) / PAGE };
			r->pages = (base - r->base) / PAGE;
		}
		return true;
	}
	return false;
}

uint64_t uefi_owned_pages(const struct uefi_owned *o)
{
	uint64_t n = 0;
	for (size_t i = 0; i < o->count; i++)
		n += o->r[i].pages;
	return n;
}

int uefi_owned_sorted(const struct uefi_owned *o, struct mw_phys_range *out, unsigned max)
{
	unsigned n = 0;

	for (size_t i = 0; i < o->count; i++) {
		struct mw_phys_range r = { o->r[i].base, o->r[i].base + o->r[i].pages * 4096 };
		unsigned j = n;
		if (n == max)
			return -1;
		/* Insertion by base. */
		while (j > 0 && out[j - 1].base > r.base) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = r;
		n++;
	}
	unsigned m = 0;
	for (unsigned i = 0; i < n; i++) {
		if (m && out[m - 1].end >= out[i].base) {
			if (out[i].end > out[m - 1].end)
				out[m - 1].end = out[i].end;
			continue;
		}
		out[m++] = out[i];
	}
	return (int)m;
}
