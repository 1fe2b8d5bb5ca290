/*
 * json.h - a small streaming JSON writer for dfuinfo.
 *
 * Values are written as they come; nothing is buffered beyond stdio.
 * Strings are taken as bytes: valid UTF-8 passes through, '"' and '\'
 * are escaped, control characters (below 0x20, and 0x7f) become \u00XX,
 * and every byte that is not part of a valid UTF-8 sequence becomes
 * \u00XX of its value (so byte 0xff reads back as U+00FF).
 */
#ifndef DFUINFO_JSON_H
#define DFUINFO_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *fp;
	int depth;
	int count[JSON_MAX_DEPTH]; /* members written at each level */
};

void json_init(struct json *j, FILE *fp);

/*
 * key is the member name inside an object and must be NULL inside an
 * array or at the top level.
 */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);

void json_uint(struct json *j, const char *key, uint64_t v);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
/* A NUL-terminated string; NULL writes null. */
void json_string(struct json *j, const char *key, const char *s);
/* len bytes, NUL bytes included (written as \u0000). */
void json_string_len(struct json *j, const char *key, const void *s,
		     size_t len);

/* Finish the document with a newline. */
void json_finish(struct json *j);

#endif /* DFUINFO_JSON_H */
