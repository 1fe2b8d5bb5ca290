/*
 * utf8.h - text from a file or a device made fit for a JSON string.
 *
 * schemas/README.md: a JSON document holds UTF-8 only, and each byte of
 * a device's or a file's text that is not part of a valid UTF-8 sequence
 * (RFC 3629, section 3: no overlong forms, no surrogates, nothing past
 * U+10FFFF) becomes U+FFFD.  jansson refuses such bytes instead.
 */
#ifndef DFU_UTF8_H
#define DFU_UTF8_H

#include <stddef.h>

/*
 * The length of the valid UTF-8 sequence at s (at most n bytes, n >= 1),
 * or 0 when none starts there: the one decoder of the tools (dfuflash's
 * JSON and device strings, dfusplit's file names, dfuinfo's report).
 */
size_t utf8_seq(const char *s, size_t n);

/* 1 if the len bytes of s are valid UTF-8 (NUL bytes included). */
int utf8_valid(const char *s, size_t len);

/*
 * The len bytes of s with every invalid byte replaced by U+FFFD, NUL
 * terminated, in memory the caller frees; NULL when out of memory.
 */
char *utf8_clean(const char *s, size_t len);

#endif /* DFU_UTF8_H */
