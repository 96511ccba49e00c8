#include "stub.h"

#include "core/mw_string.h"

static unsigned put(uint8_t *s, unsigned n, const void *bytes, unsigned len)
{
	memcpy(s + n, bytes, len);
	return n + len;
}

/* A rel32 field at s + at, for an instruction that ends at s + next. */
static void put_rel32(uint8_t *s, unsigned at, unsigned next, unsigned target)
{
	int32_t rel = (int32_t)target - (int32_t)next;
	memcpy(s + at, &rel, 4);
}

void stub_inline_build(uint8_t *slot, uint64_t handler)
{
	unsigned n = put(slot, 0, "\xf0\x48\xff\x05", 4);
	put_rel32(slot, n, n + 4, STUB_SLOT_HITS);
	n = put(slot, n + 4, "\xff\x25", 2);
	put_rel32(slot, n, n + 4, STUB_SLOT_HANDLER);
	memset(slot + STUB_SLOT_HITS, 0, 8);
	memcpy(slot + STUB_SLOT_HANDLER, &handler, 8);
}

bool stub_fits_abs32(uint64_t addr)
{
	/* -2^31 <= addr < 2^31, as a signed value. */
	return addr + 0x80000000ull < 0x100000000ull;
}

void stub_lstar_build(uint8_t *s, uint64_t counts, uint64_t entry)
{
	int32_t limit = STUB_SYSCALLS;
	int32_t overflow = (int32_t)(counts + 8 * STUB_SYSCALLS);
	int32_t table = (int32_t)counts;
	int32_t target = (int32_t)entry;
	unsigned n = 0;

	n = put(s, n, "\x48\x3d", 2);
	n = put(s, n, &limit, 4);
	n = put(s, n, "\x72\x0b", 2);
	n = put(s, n, "\xf0\x48\xff\x04\x25", 5);
	n = put(s, n, &overflow, 4);
	n = put(s, n, "\xeb\x09", 2);
	n = put(s, n, "\xf0\x48\xff\x04\xc5", 5);
	n = put(s, n, &table, 4);
	n = put(s, n, "\xff\x24\x25", 3);
	put(s, n, &target, 4);
}
