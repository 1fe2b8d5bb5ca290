/*
 * utf8.c - utf8.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* The ranges of the second byte are RFC 3629's table in section 4. */
size_t
utf8_seq(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0; /* no overlong form */
		else if (s[0] == 0xed)
			hi = 0x9f; /* no surrogate */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90; /* no overlong form */
		else if (s[0] == 0xf4)
			hi = 0x8f; /* nothing past U+10FFFF */
	} else
		return 0;
	if (len > n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

int
utf8_valid(const char *s, size_t len)
{
	size_t i = 0, k;

	while (i < len) {
		if ((k = utf8_seq(s + i, len - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

char *
utf8_clean(const char *s, size_t len)
{
	char *out, *o;
	size_t i = 0, k;

	/* At worst every byte becomes the 3 bytes of U+FFFD. */
	if (len > (SIZE_MAX - 1) / 3 || (out = malloc(3 * len + 1)) == NULL)
		return NULL;
	o = out;
	while (i < len) {
		if ((k = utf8_seq(s + i, len - i)) == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(o, s + i, k);
		o += k;
		i += k;
	}
	*o = '\0';
	return out;
}
