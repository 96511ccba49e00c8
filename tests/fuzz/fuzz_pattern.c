/* libFuzzer harness: the byte-pattern parser and scanner
 * (src/core/pattern.c), which the SSDT locator runs over kernel code.
 *
 * The input is a pattern text, a NUL, then the bytes to scan. Checked:
 *  - pattern_parse accepts exactly what a reference tokenizer written here
 *    accepts (hex-digit or '?' pairs separated by spaces, 1 to PATTERN_MAX
 *    of them, at least one fixed nibble) and yields the same bytes and mask;
 *  - a parsed pattern printed back and parsed again is the same pattern;
 *  - pattern_find from every start offset and pattern_count agree with a
 *    naive scan, and read nothing outside the haystack (an exact-size copy
 *    for ASan). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "src/core/pattern.h"

static int ref_nibble(char c, uint8_t *v)
{
	if (c >= '0' && c <= '9')
		*v = (uint8_t)(c - '0');
	else if (c >= 'a' && c <= 'f')
		*v = (uint8_t)(c - 'a' + 10);
	else if (c >= 'A' && c <= 'F')
		*v = (uint8_t)(c - 'A' + 10);
	else
		return c == '?' ? 0 : -1; /* 0: wildcard */
	return 1;
}

/* The reference tokenizer: false for any text pattern_parse must refuse. */
static bool ref_parse(const char *text, struct pattern *p)
{
	bool fixed = false;
	size_t i = 0, n = strlen(text);

	memset(p, 0, sizeof(*p));
	while (i < n) {
		if (text[i] == ' ') {
			i++;
			continue;
		}
		size_t tok = strcspn(text + i, " ");
		if (tok != 2 || p->len == PATTERN_MAX)
			return false;
		for (int k = 0; k < 2; k++) {
			uint8_t v = 0;
			int r = ref_nibble(text[i + k], &v);
			if (r < 0)
				return false;
			p->bytes[p->len] |= (uint8_t)(v << (4 - 4 * k));
			p->mask[p->len] |= r ? (uint8_t)(0xf << (4 - 4 * k)) : 0;
			fixed |= r == 1;
		}
		p->len++;
		i += 2;
	}
	return p->len > 0 && fixed;
}

static bool ref_match(const uint8_t *h, const struct pattern *p)
{
	for (size_t i = 0; i < p->len; i++)
		if ((h[i] ^ p->bytes[i]) & p->mask[i])
			return false;
	return true;
}

static void check_same(const struct pattern *a, const struct pattern *b, const char *what)
{
	FUZZ_CHECK(a->len == b->len, "%s: length %zu, want %zu", what, a->len, b->len);
	for (size_t i = 0; i < a->len; i++)
		FUZZ_CHECK(a->mask[i] == b->mask[i] &&
				   (a->bytes[i] & a->mask[i]) == (b->bytes[i] & b->mask[i]),
			   "%s: byte %zu differs", what, i);
}

/* The pattern as text again: "4C 8? ?? ...". */
static void print_pattern(const struct pattern *p, char *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < p->len; i++) {
		out[3 * i] = (p->mask[i] & 0xf0) ? hex[p->bytes[i] >> 4] : '?';
		out[3 * i + 1] = (p->mask[i] & 0x0f) ? hex[p->bytes[i] & 0xf] : '?';
		out[3 * i + 2] = ' ';
	}
	out[p->len ? 3 * p->len - 1 : 0] = '\0';
}

static void check_scan(const struct pattern *p, const uint8_t *hay, size_t len)
{
	size_t count = 0, first = PATTERN_NONE, next = PATTERN_NONE;

	/* From the end backwards, so next is the first match at or after i. */
	for (size_t i = len + 2; i-- > 0;) {
		bool m = i < len && p->len <= len - i && ref_match(hay + i, p);
		if (m) {
			next = i;
			count++;
		}
		size_t got = pattern_find(hay, len, p, i);
		FUZZ_CHECK(got == next, "pattern_find from %zu: %zu, want %zu", i, got, next);
	}
	first = next;
	size_t got_first = 12345;
	size_t got = pattern_count(hay, len, p, &got_first);
	FUZZ_CHECK(got == count && got_first == first, "pattern_count: %zu at %zu, want %zu at %zu",
		   got, got_first, count, first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t text_len = nul ? (size_t)(nul - data) : size;
	char *text = malloc(text_len + 1);
	struct pattern p, want;

	FUZZ_CHECK(text != NULL, "out of memory");
	memcpy(text, data, text_len);
	text[text_len] = '\0';
	bool ok = pattern_parse(&p, text);
	bool ref_ok = ref_parse(text, &want);
	FUZZ_CHECK(ok == ref_ok, "pattern_parse(\"%s\") = %d, reference %d", text, ok, ref_ok);
	free(text);
	if (!ok) {
		FUZZ_CHECK(p.len == 0, "refused pattern with length %zu", p.len);
		return 0;
	}
	check_same(&p, &want, "parse");

	char again[3 * PATTERN_MAX + 1];
	struct pattern q;
	print_pattern(&p, again);
	FUZZ_CHECK(pattern_parse(&q, again), "printed pattern \"%s\" refused", again);
	check_same(&q, &p, "round trip");

	size_t hay_len = nul ? size - text_len - 1 : 0;
	uint8_t *hay = fuzz_copy(nul ? nul + 1 : data, hay_len);
	check_scan(&p, hay, hay_len);
	FUZZ_CHECK(pattern_find(NULL, hay_len, &p, 0) == PATTERN_NONE, "found in NULL");
	free(hay);
	return 0;
}
