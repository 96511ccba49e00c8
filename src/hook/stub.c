#include "stub.h"

#include "core/mw_string.h"

static unsigned put(uint8_t *s, unsigned n, const void *bytes, unsigned len)
{
	memcpy(s + n, bytes, len);
	return n + len;
}

/* The rel32 of an instruction ending at `next` (code address) to target. */
static void put_rel32(uint8_t *s, unsigned at, uint64_t next, uint64_t target)
{
	int32_t rel = (int32_t)(int64_t)(target - next);
	memcpy(s + at, &rel, 4);
}

bool stub_reaches(uint64_t at, uint64_t data)
{
	/* Every displacement in the stub is taken from an instruction end
	 * within its first 16 bytes. */
	int64_t lo = (int64_t)(data - (at + 16)), hi = (int64_t)(data - at);
	return lo >= INT32_MIN && hi <= INT32_MAX;
}

void stub_inline_build(uint8_t *slot, uint64_t at, uint64_t hits, uint64_t handler)
{
	unsigned n = put(slot, 0, "\xf0\x48\xff\x05", 4);
	put_rel32(slot, n, at + n + 4, hits);
	n = put(slot, n + 4, "\xff\x25", 2);
	put_rel32(slot, n, at + n + 4, handler);
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
