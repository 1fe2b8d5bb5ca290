/*
 * test_utf8.c - frontend/utf8.c, the one UTF-8 decoder of the tools:
 * what it takes (RFC 3629) and how it cleans what it does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

static void
test_sequences(void **state)
{
	static const struct {
		const char *s;
		size_t n, want;
	} t[] = {
		{ "A", 1, 1 },
		{ "\xc3\xa9", 2, 2 },		/* e acute */
		{ "\xe2\x82\xac", 3, 3 },	/* euro sign */
		{ "\xf0\x9f\x98\x80", 4, 4 },	/* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 4, 4 },	/* U+10FFFF */
		{ "\xc0\x80", 2, 0 },		/* overlong NUL */
		{ "\xc1\xbf", 2, 0 },		/* overlong */
		{ "\xe0\x80\x80", 3, 0 },	/* overlong */
		{ "\xf0\x80\x80\x80", 4, 0 },	/* overlong */
		{ "\xed\xa0\x80", 3, 0 },	/* surrogate U+D800 */
		{ "\xf4\x90\x80\x80", 4, 0 },	/* past U+10FFFF */
		{ "\xf5\x80\x80\x80", 4, 0 },	/* no such lead */
		{ "\x80", 1, 0 },		/* continuation alone */
		{ "\xc3", 1, 0 },		/* cut short */
		{ "\xe2\x82", 2, 0 },		/* cut short */
		{ "\xe2\x28\xa1", 3, 0 },	/* bad continuation */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (utf8_seq(t[i].s, t[i].n) != t[i].want)
			fail_msg("case %zu: %zu, expected %zu", i,
			    utf8_seq(t[i].s, t[i].n), t[i].want);
		assert_int_equal(utf8_valid(t[i].s, t[i].n), t[i].want != 0);
	}
	/* A sequence is not read past n. */
	assert_int_equal(utf8_seq("\xe2\x82\xac", 2), 0);
}

static void
test_clean(void **state)
{
	char *c;

	(void)state;
	c = utf8_clean("ok \xc3\xa9", 5);
	assert_string_equal(c, "ok \xc3\xa9");
	free(c);
	/* Each bad byte is one U+FFFD; the good ones around it stay. */
	c = utf8_clean("a\xff" "b\xed\xa0\x80" "c", 7);
	assert_string_equal(c, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd" "c");
	free(c);
	c = utf8_clean("", 0);
	assert_string_equal(c, "");
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
