#include "pattern.h"

#include "core/mw_string.h"

static int nibble(char c, uint8_t *value, uint8_t *mask)
{
	if (c == '?') {
		*value = 0;
		*mask = 0;
		return 1;
	}
	*mask = 0xf;
	if (c >= '0' && c <= '9')
		*value = (uint8_t)(c - '0');
	else if (c >= 'a' && c <= 'f')
		*value = (uint8_t)(c - 'a' + 10);
	else if (c >= 'A' && c <= 'F')
		*value = (uint8_t)(c - 'A' + 10);
	else
		return 0;
	return 1;
}

bool pattern_parse(struct pattern *p, const char *text)
{
	bool fixed = false;

	memset(p, 0, sizeof(*p));
	for (const char *s = text; *s;) {
		if (*s == ' ') {
			s++;
			continue;
		}
		uint8_t hv, hm, lv, lm;
		if (p->len == PATTERN_MAX || !nibble(s[0], &hv, &hm) || !s[1] ||
		    !nibble(s[1], &lv, &lm) || (s[2] && s[2] != ' ')) {
			p->len = 0;
			return false;
		}
		p->bytes[p->len] = (uint8_t)(hv << 4 | lv);
		p->mask[p->len] = (uint8_t)(hm << 4 | lm);
		fixed |= p->mask[p->len] != 0;
		p->len++;
		s += 2;
	}
	if (p->len == 0 || !fixed) {
		p->len = 0;
		return false;
	}
	return true;
}

static bool match_at(const uint8_t *hay, const struct pattern *p)
{
	for (size_t i = 0; i < p->len; i++)
		if ((hay[i] & p->mask[i]) != (p->bytes[i] & p->mask[i]))
			return false;
	return true;
}

size_t pattern_find(const uint8_t *hay, size_t len, const struct pattern *p, size_t from)
{
	if (!hay || p->len == 0 || len < p->len)
		return PATTERN_NONE;
	for (size_t i = from; i <= len - p->len; i++)
		if (match_at(hay + i, p))
			return i;
	return PATTERN_NONE;
}

size_t pattern_count(const uint8_t *hay, size_t len, const struct pattern *p, size_t *first)
{
	size_t n = 0;

	*first = PATTERN_NONE;
	for (size_t at = pattern_find(hay, len, p, 0); at != PATTERN_NONE;
	     at = pattern_find(hay, len, p, at + 1)) {
		if (n++ == 0)
			*first = at;
	}
	return n;
}
