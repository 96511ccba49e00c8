/* Byte patterns with wildcards, for finding code sequences in an image
 * (e.g. the instructions that load the system service table). A pattern
 * is written as hex bytes separated by spaces, with '?' for a wildcard
 * nibble: "4C 8D 15 ?? ?? ?? ??". Pure. */
#ifndef MARROW_CORE_PATTERN_H
#define MARROW_CORE_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PATTERN_MAX 64
#define PATTERN_NONE SIZE_MAX

struct pattern {
	uint8_t bytes[PATTERN_MAX];
	uint8_t mask[PATTERN_MAX]; /* bits that must equal bytes[] */
	size_t len;
};

/* Parses text into p; false (p->len 0) on any syntax error, an empty
 * pattern, one longer than PATTERN_MAX, or one with no fixed bit at all. */
bool pattern_parse(struct pattern *p, const char *text);

/* The offset of the first match in hay at or after from, or PATTERN_NONE. */
size_t pattern_find(const uint8_t *hay, size_t len, const struct pattern *p, size_t from);

/* How many matches hay holds (overlapping ones included); the first
 * offset goes to *first (PATTERN_NONE when there is none). */
size_t pattern_count(const uint8_t *hay, size_t len, const struct pattern *p, size_t *first);

#endif
