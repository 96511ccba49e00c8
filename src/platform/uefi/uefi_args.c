#include "uefi_args.h"

#include "core/fmt.h"

struct cursor {
	const uint16_t *s;
	size_t len, pos;
};

static bool at_end(const struct cursor *c)
{
	return c->pos >= c->len || c->s[c->pos] == 0;
}

static bool is_space(uint16_t ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static void skip_spaces(struct cursor *c)
{
	while (!at_end(c) && is_space(c->s[c->pos]))
		c->pos++;
}

/* The next word, quotes removed, into out (cap units with the 0); false on
 * an unterminated quote or a word too long. */
static bool next_word(struct cursor *c, uint16_t *out, size_t cap, struct uefi_args *a)
{
	size_t n = 0;
	bool quoted = false;

	while (!at_end(c) && (quoted || !is_space(c->s[c->pos]))) {
		uint16_t ch = c->s[c->pos++];
		if (ch == '"') {
			quoted = !quoted;
			continue;
		}
		if (n + 1 >= cap) {
			mw_snprintf(a->error, sizeof(a->error), "a word longer than %zu characters",
				    cap - 1);
			return false;
		}
		out[n++] = ch;
	}
	out[n] = 0;
	if (quoted) {
		mw_snprintf(a->error, sizeof(a->error), "a quote is not closed");
		return false;
	}
	return true;
}

static bool starts_with(const uint16_t *w, const char *prefix)
{
	for (; *prefix; prefix++, w++)
		if (*w != (uint16_t)*prefix)
			return false;
	return true;
}

static bool equals(const uint16_t *w, const char *text)
{
	return starts_with(w, text) && w[__builtin_strlen(text)] == 0;
}

/* A hexadecimal number, with or without 0x, that fits in `bits` bits. */
static bool parse_hex(const uint16_t *w, unsigned bits, uint64_t *v)
{
	if (w[0] == '0' && (w[1] == 'x' || w[1] == 'X'))
		w += 2;
	if (!*w)
		return false;
	*v = 0;
	for (unsigned digits = 0; *w; w++, digits++) {
		unsigned d;
		if (*w >= '0' && *w <= '9')
			d = *w - '0';
		else if (*w >= 'a' && *w <= 'f')
			d = *w - 'a' + 10;
		else if (*w >= 'A' && *w <= 'F')
			d = *w - 'A' + 10;
		else
			return false;
		if (bits < 64 && (*v >> (bits - 4)) != 0)
			return false;
		if (bits == 64 && digits >= 16)
			return false;
		*v = (*v << 4) | d;
	}
	return true;
}

static bool option(const uint16_t *w, struct uefi_args *a, bool *is_option)
{
	uint64_t v;

	*is_option = true;
	if (starts_with(w, "key=")) {
		if (!parse_hex(w + 4, 64, &v)) {
			mw_snprintf(a->error, sizeof(a->error),
				    "key= wants up to 16 hexadecimal digits");
			return false;
		}
		a->have_key = true;
		a->key = v;
		return true;
	}
	if (starts_with(w, "serial=")) {
		if (equals(w + 7, "off")) {
			a->serial_port = 0;
			return true;
		}
		if (!parse_hex(w + 7, 16, &v) || v == 0) {
			mw_snprintf(a->error, sizeof(a->error),
				    "serial= wants an I/O port in hexadecimal, or off");
			return false;
		}
		a->serial_port = (uint16_t)v;
		return true;
	}
	*is_option = false;
	return true;
}

bool uefi_args_parse(const uint16_t *s, size_t len, bool skip_first, struct uefi_args *out)
{
	struct cursor c = { s, s ? len : 0, 0 };
	uint16_t word[UEFI_ARGS_PATH_MAX];

	*out = (struct uefi_args){ .serial_port = UEFI_ARGS_DEFAULT_SERIAL };
	skip_spaces(&c);
	if (skip_first && !at_end(&c)) {
		if (!next_word(&c, word, UEFI_ARGS_PATH_MAX, out))
			return false;
		skip_spaces(&c);
	}
	while (!at_end(&c)) {
		bool is_option;
		if (!next_word(&c, word, UEFI_ARGS_PATH_MAX, out) || !option(word, out, &is_option))
			return false;
		skip_spaces(&c);
		if (is_option)
			continue;
		for (size_t i = 0; i < UEFI_ARGS_PATH_MAX; i++)
			if (!(out->path[i] = word[i]))
				break;
		/* The rest goes to the loader as it was written. */
		size_t n = 0;
		for (; !at_end(&c); c.pos++) {
			if (n + 1 >= UEFI_ARGS_REST_MAX) {
				mw_snprintf(out->error, sizeof(out->error),
					    "the loader's arguments exceed %d characters",
					    UEFI_ARGS_REST_MAX - 1);
				return false;
			}
			out->rest[n++] = c.s[c.pos];
		}
		while (n > 0 && is_space(out->rest[n - 1]))
			n--;
		out->rest[n] = 0;
		break;
	}
	return true;
}
