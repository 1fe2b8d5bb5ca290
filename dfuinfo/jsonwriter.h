/*
 * jsonwriter.h - a small streaming JSON writer for dfuinfo.
 *
 * Values are written as they come; nothing is buffered beyond stdio.
 * Strings are taken as bytes: valid UTF-8 passes through, '"' and '\'
 * are escaped, control characters (below 0x20, and 0x7f) become \u00XX,
 * and every byte that is not part of a valid UTF-8 sequence becomes
 * \u00XX of its value (so byte 0xff reads back as U+00FF).
 *
 * Its names start with jw_ (JSON writer).
 */
#ifndef DFUINFO_JSONWRITER_H
#define DFUINFO_JSONWRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH 16

struct jw {
	FILE *fp;
	int depth;
	int count[JW_MAX_DEPTH]; /* members written at each level */
};

void jw_init(struct jw *j, FILE *fp);

/*
 * key is the member name inside an object and must be NULL inside an
 * array or at the top level.
 */
void jw_object_begin(struct jw *j, const char *key);
void jw_object_end(struct jw *j);
void jw_array_begin(struct jw *j, const char *key);
void jw_array_end(struct jw *j);

void jw_uint(struct jw *j, const char *key, uint64_t v);
void jw_bool(struct jw *j, const char *key, int v);
void jw_null(struct jw *j, const char *key);
/* A NUL-terminated string; NULL writes null. */
void jw_string(struct jw *j, const char *key, const char *s);
/* len bytes, NUL bytes included (written as \u0000). */
void jw_string_len(struct jw *j, const char *key, const void *s,
		     size_t len);

/* Finish the document with a newline. */
void jw_finish(struct jw *j);

#endif /* DFUINFO_JSONWRITER_H */
