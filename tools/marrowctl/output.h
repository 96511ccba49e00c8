/* marrowctl's output: aligned tables for people, JSON for scripts.
 * Portable C (no OS headers beyond stdio). */
#ifndef MARROWCTL_OUTPUT_H
#define MARROWCTL_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

/* A streaming JSON writer, two-space indented, one member per line. Keys
 * are given inside objects and NULL inside arrays. */
struct json {
	FILE *out;
	int depth;
	bool has_items[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *out);
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_string(struct json *j, const char *key, const char *value);
void json_uint(struct json *j, const char *key, uint64_t value);
void json_bool(struct json *j, const char *key, bool value);
/* Ends the document with a newline. */
void json_finish(struct json *j);

#define TABLE_MAX_COLS 260

/* A table of counts: row names down the left, column names across, and
 * rows x cols values (row-major), right-aligned. At most TABLE_MAX_COLS
 * columns are shown. */
void table_print(FILE *out, const char *corner, unsigned rows, const char *const *row_names,
		 unsigned cols, const char *const *col_names, const uint64_t *values);

#endif
