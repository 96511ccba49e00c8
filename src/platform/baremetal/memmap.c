#include "memmap.h"

#include <stdbool.h>

#include "arch/x86/paging.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return v > UINT64_MAX - (a - 1) ? UINT64_MAX & ~(a - 1) : (v + a - 1) & ~(a - 1);
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

static uint64_t region_end(const struct mb2_region *r)
{
	return r->length > UINT64_MAX - r->base ? UINT64_MAX : r->base + r->length;
}

/* Removes [cut.base, cut.end) from the list, splitting a range in two where
 * the cut falls inside it. Returns the new count, or -1 on overflow. */
static int subtract(struct mem_range *list, int n, size_t max, struct mem_range cut)
{
	for (int i = 0; i < n; i++) {
		struct mem_range r = list[i];
		if (cut.end <= r.base || cut.base >= r.end)
			continue;
		bool keep_low = cut.base > r.base;
		bool keep_high = cut.end < r.end;
		if (keep_low && keep_high) {
			if ((size_t)n == max)
				return -1;
			for (int j = n; j > i + 1; j--)
				list[j] = list[j - 1];
			list[i] = (struct mem_range){ r.base, cut.base };
			list[i + 1] = (struct mem_range){ cut.end, r.end };
			n++;
			i++;
		} else if (keep_low) {
			list[i].end = cut.base;
		} else if (keep_high) {
			list[i].base = cut.end;
		} else {
			for (int j = i; j < n - 1; j++)
				list[j] = list[j + 1];
			n--;
			i--;
		}
	}
	return n;
}

/* Inserts r keeping the list sorted by base and merged. */
static int insert_merged(struct mem_range *list, int n, size_t max, struct mem_range r)
{
	int i = 0;
	while (i < n && list[i].end < r.base)
		i++;
	/* Merge with every range that touches or overlaps r. */
	int j = i;
	while (j < n && list[j].base <= r.end) {
		if (list[j].base < r.base)
			r.base = list[j].base;
		if (list[j].end > r.end)
			r.end = list[j].end;
		j++;
	}
	int removed = j - i;
	if (removed == 0) {
		if ((size_t)n == max)
			return -1;
		for (int k = n; k > i; k--)
			list[k] = list[k - 1];
		n++;
	} else if (removed > 1) {
		for (int k = i + 1; k + removed - 1 < n; k++)
			list[k] = list[k + removed - 1];
		n -= removed - 1;
	}
	list[i] = r;
	return n;
}

int memmap_usable(const struct mb2_region *regions, size_t region_count,
		  const struct mem_range *reserved, size_t reserved_count, uint64_t min_addr,
		  uint64_t max_addr, struct mem_range *out, size_t max_out)
{
	int n = 0;

	for (size_t i = 0; i < region_count; i++) {
		if (regions[i].type != MB2_MEM_AVAILABLE)
			continue;
		struct mem_range r = { align_up(regions[i].base, PAGE_SIZE),
				       align_down(region_end(&regions[i]), PAGE_SIZE) };
		if (r.base < min_addr)
			r.base = min_addr;
		if (r.end > max_addr)
			r.end = max_addr;
		if (r.base >= r.end)
			continue;
		n = insert_merged(out, n, max_out, r);
		if (n < 0)
			return -1;
	}
	for (size_t i = 0; i < region_count && n > 0; i++) {
		if (regions[i].type == MB2_MEM_AVAILABLE)
			continue;
		struct mem_range cut = { align_down(regions[i].base, PAGE_SIZE),
					 align_up(region_end(&regions[i]), PAGE_SIZE) };
		n = subtract(out, n, max_out, cut);
		if (n < 0)
			return -1;
	}
	for (size_t i = 0; i < reserved_count && n > 0; i++) {
		struct mem_range cut = { align_down(reserved[i].base, PAGE_SIZE),
					 align_up(reserved[i].end, PAGE_SIZE) };
		n = subtract(out, n, max_out, cut);
		if (n < 0)
			return -1;
	}
	return n;
}

uint64_t memmap_total(const struct mem_range *r, size_t n)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += r[i].end - r[i].base;
	return total;
}
