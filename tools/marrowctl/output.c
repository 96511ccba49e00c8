#include "output.h"

#include <inttypes.h>
#include <string.h>

void json_init(struct json *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

static void indent(const struct json *j)
{
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

static void quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* The separator and indentation before a new member, and its key. */
static void member(struct json *j, const char *key)
{
	if (j->depth > 0) {
		fputs(j->has_items[j->depth] ? ",\n" : "\n", j->out);
		j->has_items[j->depth] = true;
	}
	indent(j);
	if (key) {
		quoted(j->out, key);
		fputs(": ", j->out);
	}
}

static void container_begin(struct json *j, const char *key, char bracket)
{
	member(j, key);
	fputc(bracket, j->out);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->has_items[j->depth] = false;
}

static void container_end(struct json *j, char bracket)
{
	bool had = j->has_items[j->depth];
	if (j->depth > 0)
		j->depth--;
	if (had) {
		fputc('\n', j->out);
		indent(j);
	}
	fputc(bracket, j->out);
}

void json_object_begin(struct json *j, const char *key)
{
	container_begin(j, key, '{');
}

void json_object_end(struct json *j)
{
	container_end(j, '}');
}

void json_array_begin(struct json *j, const char *key)
{
	container_begin(j, key, '[');
}

void json_array_end(struct json *j)
{
	container_end(j, ']');
}

void json_string(struct json *j, const char *key, const char *value)
{
	member(j, key);
	quoted(j->out, value);
}

void json_uint(struct json *j, const char *key, uint64_t value)
{
	member(j, key);
	fprintf(j->out, "%" PRIu64, value);
}

void json_bool(struct json *j, const char *key, bool value)
{
	member(j, key);
	fputs(value ? "true" : "false", j->out);
}

void json_finish(struct json *j)
{
	fputc('\n', j->out);
}

static int digits(uint64_t v)
{
	int n = 1;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

void table_print(FILE *out, const char *corner, unsigned rows, const char *const *row_names,
		 unsigned cols, const char *const *col_names, const uint64_t *values)
{
	unsigned shown = cols;
	int col_w[TABLE_MAX_COLS];
	int name_w = (int)strlen(corner);

	if (shown > TABLE_MAX_COLS)
		shown = TABLE_MAX_COLS;
	for (unsigned r = 0; r < rows; r++)
		if ((int)strlen(row_names[r]) > name_w)
			name_w = (int)strlen(row_names[r]);
	fprintf(out, "%-*s", name_w, corner);
	for (unsigned c = 0; c < shown; c++) {
		col_w[c] = (int)strlen(col_names[c]);
		for (unsigned r = 0; r < rows; r++)
			if (digits(values[r * cols + c]) > col_w[c])
				col_w[c] = digits(values[r * cols + c]);
		fprintf(out, "  %*s", col_w[c], col_names[c]);
	}
	fputc('\n', out);
	for (unsigned r = 0; r < rows; r++) {
		fprintf(out, "%-*s", name_w, row_names[r]);
		for (unsigned c = 0; c < shown; c++)
			fprintf(out, "  %*" PRIu64, col_w[c], values[r * cols + c]);
		fputc('\n', out);
	}
}
