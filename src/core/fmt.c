#include "fmt.h"

#include <stdbool.h>
#include <stdint.h>

struct fmt_out {
	char *buf;
	size_t size;
	size_t len;
};

static void put(struct fmt_out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_padded(struct fmt_out *o, const char *s, size_t n, int width, bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;

	if (!left)
		while (fill-- > 0)
			put(o, pad);
	for (size_t i = 0; i < n; i++)
		put(o, s[i]);
	if (left)
		while (fill-- > 0)
			put(o, ' ');
}

struct num_spec {
	int width;
	bool left;
	bool zero;
	bool upper;
	bool negative;
	unsigned base;
	const char *prefix;
};

static void put_number(struct fmt_out *o, uint64_t v, const struct num_spec *sp)
{
	const char *digits = sp->upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = digits[v % sp->base];
		v /= sp->base;
	} while (v);

	int prefix_len = 0;
	while (sp->prefix && sp->prefix[prefix_len])
		prefix_len++;
	int body = n + (sp->negative ? 1 : 0) + prefix_len;
	int fill = sp->width > body ? sp->width - body : 0;

	if (!sp->left && !sp->zero)
		while (fill-- > 0)
			put(o, ' ');
	if (sp->negative)
		put(o, '-');
	for (int i = 0; i < prefix_len; i++)
		put(o, sp->prefix[i]);
	if (!sp->left && sp->zero)
		while (fill-- > 0)
			put(o, '0');
	while (n > 0)
		put(o, tmp[--n]);
	if (sp->left)
		while (fill-- > 0)
			put(o, ' ');
}

enum length_mod { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE };

static enum length_mod parse_length(const char **pf)
{
	const char *f = *pf;
	enum length_mod len = LEN_INT;

	if (f[0] == 'h' && f[1] == 'h') {
		len = LEN_CHAR;
		f += 2;
	} else if (f[0] == 'h') {
		len = LEN_SHORT;
		f++;
	} else if (f[0] == 'l' && f[1] == 'l') {
		len = LEN_LLONG;
		f += 2;
	} else if (f[0] == 'l') {
		len = LEN_LONG;
		f++;
	} else if (f[0] == 'z' || f[0] == 'j' || f[0] == 't') {
		len = LEN_SIZE;
		f++;
	}
	*pf = f;
	return len;
}

static uint64_t take_unsigned(va_list *ap, enum length_mod len)
{
	switch (len) {
	case LEN_CHAR:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_INT:
		return va_arg(*ap, unsigned int);
	case LEN_LONG: /* 32 bits on Windows (LLP64), 64 on Linux (LP64) */
		return va_arg(*ap, unsigned long);
	default:
		return va_arg(*ap, unsigned long long);
	}
}

static int64_t take_signed(va_list *ap, enum length_mod len)
{
	switch (len) {
	case LEN_CHAR:
		return (signed char)va_arg(*ap, int);
	case LEN_SHORT:
		return (short)va_arg(*ap, int);
	case LEN_INT:
		return va_arg(*ap, int);
	case LEN_LONG:
		return va_arg(*ap, long);
	default:
		return va_arg(*ap, long long);
	}
}

static void format_one(struct fmt_out *o, const char **pf, va_list *ap)
{
	const char *f = *pf;
	struct num_spec sp = { .base = 10 };
	int precision = -1;

	while (*f == '-' || *f == '0') {
		if (*f == '-')
			sp.left = true;
		else
			sp.zero = true;
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp.width = sp.width * 10 + (*f++ - '0');
	if (*f == '.') {
		f++;
		precision = 0;
		while (*f >= '0' && *f <= '9')
			precision = precision * 10 + (*f++ - '0');
	}
	enum length_mod len = parse_length(&f);
	char conv = *f ? *f++ : '\0';
	*pf = f;

	switch (conv) {
	case 'd':
	case 'i': {
		int64_t v = take_signed(ap, len);
		sp.negative = v < 0;
		put_number(o, sp.negative ? 0 - (uint64_t)v : (uint64_t)v, &sp);
		break;
	}
	case 'u':
		put_number(o, take_unsigned(ap, len), &sp);
		break;
	case 'X':
		sp.upper = true;
		/* fall through */
	case 'x':
		sp.base = 16;
		put_number(o, take_unsigned(ap, len), &sp);
		break;
	case 'p':
		sp.base = 16;
		sp.prefix = "0x";
		put_number(o, (uintptr_t)va_arg(*ap, void *), &sp);
		break;
	case 's': {
		const char *s = va_arg(*ap, const char *);
		size_t n = 0;
		if (!s)
			s = "(null)";
		while (s[n] && (precision < 0 || n < (size_t)precision))
			n++;
		put_padded(o, s, n, sp.width, sp.left, ' ');
		break;
	}
	case 'c': {
		char c = (char)va_arg(*ap, int);
		put_padded(o, &c, 1, sp.width, sp.left, ' ');
		break;
	}
	case '%':
		put(o, '%');
		break;
	default:
		/* An unknown conversion is shown, not guessed at. */
		put(o, '%');
		if (conv)
			put(o, conv);
		break;
	}
}

int mw_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_out o = { .buf = buf, .size = size };
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt++;
		format_one(&o, &fmt, &args);
	}
	va_end(args);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int mw_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = mw_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
