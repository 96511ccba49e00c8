#include "win_memmap.h"

#define PAGE_MASK 0xfffull

struct span {
	uint64_t base, end;
};

size_t win_memmap_from_runs(const struct win_phys_run *runs, size_t max_runs,
			    struct platform_mem_range *out, size_t max_out)
{
	struct span s[WIN_MEMMAP_MAX_RUNS] = { { 0, 0 } };
	size_t n = 0;

	for (size_t i = 0; i < max_runs && n < WIN_MEMMAP_MAX_RUNS; i++) {
		if (runs[i].base == 0 && runs[i].bytes == 0)
			break;
		uint64_t end = runs[i].base + runs[i].bytes;
		if (runs[i].bytes == 0 || end < runs[i].base)
			continue;
		uint64_t b = (runs[i].base + PAGE_MASK) & ~PAGE_MASK;
		if (b < runs[i].base) /* rounding up wrapped */
			continue;
		end &= ~PAGE_MASK;
		if (end <= b)
			continue;
		/* Insertion sort by base: the list is short. */
		size_t j = n++;
		while (j > 0 && s[j - 1].base > b) {
			s[j] = s[j - 1];
			j--;
		}
		s[j] = (struct span){ b, end };
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && s[i].base <= s[m - 1].end) {
			if (s[i].end > s[m - 1].end)
				s[m - 1].end = s[i].end;
			continue;
		}
		s[m++] = s[i];
	}
	for (size_t i = 0; i < m && i < max_out; i++) {
		out[i].base = s[i].base;
		out[i].length = s[i].end - s[i].base;
		out[i].type = PLATFORM_MEM_RAM;
	}
	return m;
}
