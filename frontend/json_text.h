/*
 * json_text.h - a C string as a JSON string, for the tools that write
 * JSON with jansson (dfuinfo, dfusplit, dfuflash).
 *
 * schemas/README.md: a document holds UTF-8 only, so each byte of a
 * file's or a device's text that is not part of valid UTF-8 becomes
 * U+FFFD (utf8.h); jansson would refuse the string instead.  Inline, so
 * that the tools without jansson link the front end without it.
 */
#ifndef DFU_JSON_TEXT_H
#define DFU_JSON_TEXT_H

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "utf8.h"

/* s as a JSON string, NULL as null; NULL when out of memory. */
static inline json_t *
json_text(const char *s)
{
	size_t n;
	json_t *j;
	char *clean;

	if (s == NULL)
		return json_null();
	n = strlen(s);
	if (utf8_valid(s, n))
		return json_stringn(s, n);
	if ((clean = utf8_clean(s, n)) == NULL)
		return NULL;
	j = json_string(clean);
	free(clean);
	return j;
}

#endif /* DFU_JSON_TEXT_H */
