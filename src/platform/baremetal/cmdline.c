#include "cmdline.h"

#include "core/mw_string.h"

/* Returns the next space-separated word at *p (its length in *len) and moves
 * *p past it; NULL when no word is left. */
static const char *next_word(const char **p, size_t *len)
{
	const char *s = *p;

	while (*s == ' ')
		s++;
	if (!*s)
		return NULL;
	const char *word = s;
	while (*s && *s != ' ')
		s++;
	*len = (size_t)(s - word);
	*p = s;
	return word;
}

bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t size, bool *too_long)
{
	size_t klen = strlen(key), wlen;
	const char *word;

	*too_long = false;
	if (!cmdline)
		return false;
	while ((word = next_word(&cmdline, &wlen))) {
		if (wlen <= klen || strncmp(word, key, klen) != 0 || word[klen] != '=')
			continue;
		size_t vlen = wlen - klen - 1;
		if (vlen + 1 > size) {
			*too_long = true;
			return false;
		}
		memcpy(buf, word + klen + 1, vlen);
		buf[vlen] = '\0';
		return true;
	}
	return false;
}

bool cmdline_has(const char *cmdline, const char *flag)
{
	size_t n = strlen(flag), wlen;
	const char *word;

	if (!cmdline)
		return false;
	while ((word = next_word(&cmdline, &wlen)))
		if (wlen == n && strncmp(word, flag, n) == 0)
			return true;
	return false;
}
