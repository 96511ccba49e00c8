#include "pmm.h"

#include "arch/x86/paging.h"
#include "core/mw_string.h"

const char *pmm_status_str(enum pmm_status s)
{
	switch (s) {
	case PMM_OK:
		return "ok";
	case PMM_ERR_EXHAUSTED:
		return "out of physical memory";
	case PMM_ERR_BAD_ARG:
		return "bad argument";
	case PMM_ERR_NOT_OWNED:
		return "pages not owned by the allocator";
	case PMM_ERR_DOUBLE_FREE:
		return "pages freed twice";
	}
	return "unknown";
}

static bool bit_get(const struct pmm *p, uint64_t i)
{
	return p->used[i / 8] & (1u << (i % 8));
}

static void bit_set(struct pmm *p, uint64_t i, bool used)
{
	if (used)
		p->used[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		p->used[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

void pmm_init(struct pmm *p, uint64_t base, uint64_t frames, uint8_t *bitmap)
{
	p->base = base;
	p->frames = frames;
	p->used = bitmap;
	p->free_count = 0;
	memset(bitmap, 0xff, pmm_bitmap_bytes(frames));
}

void pmm_add_range(struct pmm *p, uint64_t start, uint64_t end)
{
	uint64_t window_end = p->base + p->frames * PAGE_SIZE;

	if (start < p->base)
		start = p->base;
	if (end > window_end)
		end = window_end;
	start = (start + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	end &= ~(PAGE_SIZE - 1);
	for (uint64_t a = start; a < end; a += PAGE_SIZE) {
		uint64_t i = (a - p->base) / PAGE_SIZE;
		if (bit_get(p, i)) {
			bit_set(p, i, false);
			p->free_count++;
		}
	}
}

enum pmm_status pmm_alloc_below(struct pmm *p, uint64_t count, uint64_t align_pages, uint64_t limit,
				uint64_t *addr)
{
	if (count == 0 || align_pages == 0 || (align_pages & (align_pages - 1)))
		return PMM_ERR_BAD_ARG;
	if (count > p->free_count)
		return PMM_ERR_EXHAUSTED;

	uint64_t limit_frames = limit <= p->base ? 0 : (limit - p->base) / PAGE_SIZE;
	if (limit_frames > p->frames)
		limit_frames = p->frames;
	uint64_t base_pfn = p->base / PAGE_SIZE;

	for (uint64_t i = 0; i + count <= limit_frames;) {
		/* Round the candidate up to the alignment in absolute frames. */
		uint64_t misalign = (base_pfn + i) & (align_pages - 1);
		if (misalign) {
			i += align_pages - misalign;
			continue;
		}
		uint64_t run = 0;
		while (run < count && !bit_get(p, i + run))
			run++;
		if (run == count) {
			for (uint64_t k = 0; k < count; k++)
				bit_set(p, i + k, true);
			p->free_count -= count;
			*addr = p->base + i * PAGE_SIZE;
			return PMM_OK;
		}
		i += run + 1; /* skip past the used frame that ended the run */
	}
	return PMM_ERR_EXHAUSTED;
}

enum pmm_status pmm_alloc(struct pmm *p, uint64_t count, uint64_t align_pages, uint64_t *addr)
{
	return pmm_alloc_below(p, count, align_pages, UINT64_MAX, addr);
}

enum pmm_status pmm_free(struct pmm *p, uint64_t addr, uint64_t count)
{
	if (count == 0)
		return PMM_ERR_BAD_ARG;
	if (addr & (PAGE_SIZE - 1) || addr < p->base)
		return PMM_ERR_NOT_OWNED;
	uint64_t first = (addr - p->base) / PAGE_SIZE;
	if (first >= p->frames || count > p->frames - first)
		return PMM_ERR_NOT_OWNED;
	for (uint64_t k = 0; k < count; k++)
		if (!bit_get(p, first + k))
			return PMM_ERR_DOUBLE_FREE;
	for (uint64_t k = 0; k < count; k++)
		bit_set(p, first + k, false);
	p->free_count += count;
	return PMM_OK;
}

bool pmm_is_free(const struct pmm *p, uint64_t addr)
{
	if (addr < p->base)
		return false;
	uint64_t i = (addr - p->base) / PAGE_SIZE;
	return i < p->frames && !bit_get(p, i);
}
