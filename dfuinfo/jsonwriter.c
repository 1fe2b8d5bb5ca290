/*
 * jsonwriter.c - a small streaming JSON writer (see jsonwriter.h).
 */
#include "jsonwriter.h"

#include <inttypes.h>
#include <string.h>

void
jw_init(struct jw *j, FILE *fp)
{
	j->fp = fp;
	j->depth = 0;
	j->count[0] = 0;
}

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), or 0.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid
 * (RFC 3629, section 4).
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static void
put_string(FILE *fp, const unsigned char *s, size_t len)
{
	size_t i = 0, n;

	fputc('"', fp);
	while (i < len) {
		if (s[i] == '"' || s[i] == '\\') {
			fputc('\\', fp);
			fputc(s[i++], fp);
		} else if (s[i] >= 0x20 && s[i] < 0x7f) {
			fputc(s[i++], fp);
		} else if (s[i] >= 0x80 && (n = utf8_len(s + i, len - i)) > 0) {
			fwrite(s + i, 1, n, fp);
			i += n;
		} else {
			fprintf(fp, "\\u%04x", (unsigned)s[i++]);
		}
	}
	fputc('"', fp);
}

static void
indent(struct jw *j)
{
	fputc('\n', j->fp);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->fp);
}

/* Separator, indentation and "key": before a value. */
static void
member(struct jw *j, const char *key)
{
	if (j->count[j->depth] > 0)
		fputc(',', j->fp);
	if (j->depth > 0)
		indent(j);
	j->count[j->depth]++;
	if (key != NULL) {
		put_string(j->fp, (const unsigned char *)key, strlen(key));
		fputs(": ", j->fp);
	}
}

static void
open_container(struct jw *j, const char *key, int c)
{
	member(j, key);
	fputc(c, j->fp);
	if (j->depth + 1 < JW_MAX_DEPTH) {
		j->depth++;
		j->count[j->depth] = 0;
	}
}

static void
close_container(struct jw *j, int c)
{
	int empty = j->count[j->depth] == 0;

	if (j->depth > 0)
		j->depth--;
	if (!empty)
		indent(j);
	fputc(c, j->fp);
}

void
jw_object_begin(struct jw *j, const char *key)
{
	open_container(j, key, '{');
}

void
jw_object_end(struct jw *j)
{
	close_container(j, '}');
}

void
jw_array_begin(struct jw *j, const char *key)
{
	open_container(j, key, '[');
}

void
jw_array_end(struct jw *j)
{
	close_container(j, ']');
}

void
jw_uint(struct jw *j, const char *key, uint64_t v)
{
	member(j, key);
	fprintf(j->fp, "%" PRIu64, v);
}

void
jw_bool(struct jw *j, const char *key, int v)
{
	member(j, key);
	fputs(v ? "true" : "false", j->fp);
}

void
jw_null(struct jw *j, const char *key)
{
	member(j, key);
	fputs("null", j->fp);
}

void
jw_string(struct jw *j, const char *key, const char *s)
{
	if (s == NULL) {
		jw_null(j, key);
		return;
	}
	jw_string_len(j, key, s, strlen(s));
}

void
jw_string_len(struct jw *j, const char *key, const void *s, size_t len)
{
	member(j, key);
	put_string(j->fp, s, len);
}

void
jw_finish(struct jw *j)
{
	fputc('\n', j->fp);
}
