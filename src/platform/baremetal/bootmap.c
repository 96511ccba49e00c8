#include "bootmap.h"

static uint64_t region_end(const struct mb2_region *r)
{
	return r->length > UINT64_MAX - r->base ? UINT64_MAX : r->base + r->length;
}

static bool add(struct mb2_region *out, size_t max, int *n, uint64_t base, uint64_t end,
		uint32_t type)
{
	if (base >= end)
		return true;
	if ((size_t)*n == max)
		return false;
	out[(*n)++] = (struct mb2_region){ base, end - base, type };
	return true;
}

/* The available region [base, end) with the hidden ranges cut out: the
 * lowest hidden range inside it first, then what is above it. */
static bool carve(uint64_t base, uint64_t end, const struct mw_phys_range *hidden, size_t nh,
		  struct mb2_region *out, size_t max, int *n)
{
	while (base < end) {
		const struct mw_phys_range *cut = NULL;
		for (size_t i = 0; i < nh; i++)
			if (ranges_overlap(base, end, hidden[i].base, hidden[i].end) &&
			    (!cut || hidden[i].base < cut->base))
				cut = &hidden[i];
		if (!cut)
			return add(out, max, n, base, end, MB2_MEM_AVAILABLE);
		uint64_t cut_base = cut->base > base ? cut->base : base;
		uint64_t cut_end = cut->end < end ? cut->end : end;
		if (!add(out, max, n, base, cut_base, MB2_MEM_AVAILABLE) ||
		    !add(out, max, n, cut_base, cut_end, MB2_MEM_RESERVED))
			return false;
		base = cut_end;
	}
	return true;
}

int bootmap_build(const struct mb2_region *fw, size_t n, const struct mw_phys_range *hidden,
		  size_t nh, struct mb2_region *out, size_t max)
{
	int count = 0;

	for (size_t i = 0; i < n; i++) {
		bool ok = fw[i].type == MB2_MEM_AVAILABLE ? carve(fw[i].base, region_end(&fw[i]),
								  hidden, nh, out, max, &count)
							  : add(out, max, &count, fw[i].base,
								region_end(&fw[i]), fw[i].type);
		if (!ok)
			return -1;
	}
	/* Insertion sort by base: maps are short and nearly sorted. */
	for (int i = 1; i < count; i++) {
		struct mb2_region r = out[i];
		int j = i;
		for (; j > 0 && out[j - 1].base > r.base; j--)
			out[j] = out[j - 1];
		out[j] = r;
	}
	return count;
}

/* The end of the available region containing addr, or addr if none. */
static uint64_t available_until(const struct mb2_region *map, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (map[i].type == MB2_MEM_AVAILABLE && map[i].base <= addr &&
		    region_end(&map[i]) > addr)
			return region_end(&map[i]);
	return addr;
}

bool bootmap_available(const struct mb2_region *map, size_t n, uint64_t base, uint64_t end)
{
	for (uint64_t at = base; at < end;) {
		uint64_t next = available_until(map, n, at);
		if (next == at)
			return false;
		at = next;
	}
	/* Reserved entries win where the firmware lists both. */
	for (size_t i = 0; i < n; i++)
		if (map[i].type != MB2_MEM_AVAILABLE &&
		    ranges_overlap(base, end, map[i].base, region_end(&map[i])))
			return false;
	return true;
}

static uint64_t contiguous_from(const struct mb2_region *map, size_t n, uint64_t start)
{
	uint64_t at = start;
	for (uint64_t next; (next = available_until(map, n, at)) != at;)
		at = next;
	return at - start;
}

uint32_t bootmap_lower_kib(const struct mb2_region *map, size_t n)
{
	uint64_t kib = contiguous_from(map, n, 0) >> 10;
	return kib > 640 ? 640 : (uint32_t)kib;
}

uint32_t bootmap_upper_kib(const struct mb2_region *map, size_t n)
{
	uint64_t kib = contiguous_from(map, n, 0x100000) >> 10;
	return kib > UINT32_MAX ? UINT32_MAX : (uint32_t)kib;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* The end of the busy range that [base, end) meets, or 0 if none. */
static uint64_t busy_until(const struct mw_phys_range *busy, size_t nbusy, uint64_t base,
			   uint64_t end)
{
	uint64_t until = 0;
	for (size_t i = 0; i < nbusy; i++)
		if (ranges_overlap(base, end, busy[i].base, busy[i].end) && busy[i].end > until)
			until = busy[i].end;
	return until;
}

bool bootmap_place(const struct mb2_region *map, size_t n, const struct mw_phys_range *busy,
		   size_t nbusy, uint64_t min, uint64_t size, uint64_t align, uint64_t limit,
		   uint64_t *out)
{
	/* Candidates: min, and the aligned starts of every available region
	 * and every busy range's end above it, in increasing order. */
	for (uint64_t at = align_up(min, align); at < limit && size <= limit - at;) {
		uint64_t end = at + size;
		uint64_t blocked = busy_until(busy, nbusy, at, end);
		if (!blocked && bootmap_available(map, n, at, end)) {
			*out = at;
			return true;
		}
		uint64_t next = UINT64_MAX;
		if (blocked)
			next = align_up(blocked, align);
		for (size_t i = 0; i < n; i++) {
			uint64_t b = align_up(map[i].base, align);
			if (map[i].type == MB2_MEM_AVAILABLE && b > at && b < next)
				next = b;
		}
		if (!blocked) {
			/* Not all RAM from here: the next region start, or the
			 * next aligned step inside the current one. */
			uint64_t step = at + align;
			if (step > at && step < next)
				next = step;
		}
		if (next <= at)
			return false;
		at = next;
	}
	return false;
}
