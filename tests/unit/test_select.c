/*
 * test_select.c - dfuflash/select.h: -d, -p and -S matching, port paths,
 * and -a by number, whole name and unique substring, with the messages of
 * an unknown or ambiguous -a.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "select.h"

static void
ids(void **state)
{
	struct dfl_match m;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(dfl_match_parse_ids(&m, "0483:df11"), 0);
	assert_true(m.ids_set && !m.dfu_ids_set);
	assert_int_equal(m.vid, 0x0483);
	assert_int_equal(m.pid, 0xdf11);
	assert_int_equal(dfl_match_parse_ids(&m, "0x1209:0x5740,0483:DF11"), 0);
	assert_true(m.ids_set && m.dfu_ids_set);
	assert_int_equal(m.vid, 0x1209);
	assert_int_equal(m.pid, 0x5740);
	assert_int_equal(m.dfu_vid, 0x0483);
	assert_int_equal(m.dfu_pid, 0xdf11);
	assert_int_equal(dfl_match_parse_ids(&m, "0483"), -1);
	assert_int_equal(dfl_match_parse_ids(&m, "0483:"), -1);
	assert_int_equal(dfl_match_parse_ids(&m, ":df11"), -1);
	assert_int_equal(dfl_match_parse_ids(&m, "10483:df11"), -1);
	assert_int_equal(dfl_match_parse_ids(&m, "0483:df11,"), -1);
	assert_int_equal(dfl_match_parse_ids(&m, "0483:dg11"), -1);
	assert_int_equal(dfl_match_parse_ids(&m, "0483:df11,1:2,3:4"), -1);
	assert_int_equal(dfl_match_parse_ids(&m, "0x:df11"), -1);
}

static void
paths(void **state)
{
	char buf[32];
	uint8_t ports[] = { 2, 3, 14 };

	(void)state;
	assert_int_equal(dfl_path_valid("1-1"), 0);
	assert_int_equal(dfl_path_valid("1-2.3"), 0);
	assert_int_equal(dfl_path_valid("255-1.2.3.4.5.6.7"), 0);
	assert_int_equal(dfl_path_valid("1-1.2.3.4.5.6.7.8"), -1);
	assert_int_equal(dfl_path_valid("0-1"), -1);
	assert_int_equal(dfl_path_valid("1-0"), -1);
	assert_int_equal(dfl_path_valid("1-01"), -1);
	assert_int_equal(dfl_path_valid("256-1"), -1);
	assert_int_equal(dfl_path_valid("1-"), -1);
	assert_int_equal(dfl_path_valid("1-2."), -1);
	assert_int_equal(dfl_path_valid("1"), -1);
	assert_int_equal(dfl_path_valid("1-2:1.0"), -1);
	assert_int_equal(dfl_path_format(buf, sizeof(buf), 1, ports, 3), 8);
	assert_string_equal(buf, "1-2.3.14");
	assert_int_equal(dfl_path_format(buf, sizeof(buf), 3, ports, 1), 3);
	assert_string_equal(buf, "3-2");
	assert_int_equal(dfl_path_format(buf, sizeof(buf), 3, NULL, 0), 3);
	assert_string_equal(buf, "3-0");
	assert_int_equal(dfl_path_format(buf, 5, 1, ports, 3), -1);
}

static void
matching(void **state)
{
	struct dfl_candidate rt = { "1-1", 0x0483, 0x5740, "A1", 1, NULL };
	struct dfl_candidate dfu = { "1-2", 0x0483, 0xdf11, "B2", 0, NULL };
	struct dfl_candidate noserial = { "1-3", 0x0483, 0xdf11, NULL, 0, NULL };
	struct dfl_match m;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_true(dfl_match(&m, &rt) && dfl_match(&m, &dfu) &&
	    dfl_match(&m, &noserial));
	m.serials[m.nserials++] = "B2";
	assert_false(dfl_match(&m, &rt));
	assert_true(dfl_match(&m, &dfu));
	assert_false(dfl_match(&m, &noserial));
	/* Repeated -S: any of them. */
	m.serials[m.nserials++] = "A1";
	assert_true(dfl_match(&m, &rt));
	assert_true(dfl_match(&m, &dfu));
	assert_false(dfl_match(&m, &noserial));
	m.nserials = 0;
	m.paths[m.npaths++] = "1-1";
	assert_true(dfl_match(&m, &rt));
	assert_false(dfl_match(&m, &dfu));
	/* Repeated -p: any of them; with -S, both must hold. */
	m.paths[m.npaths++] = "1-3";
	assert_true(dfl_match(&m, &rt));
	assert_false(dfl_match(&m, &dfu));
	assert_true(dfl_match(&m, &noserial));
	m.serials[m.nserials++] = "A1";
	assert_true(dfl_match(&m, &rt));
	assert_false(dfl_match(&m, &noserial));
	m.nserials = 0;
	m.npaths = 0;
	assert_int_equal(dfl_match_parse_ids(&m, "0483:df11"), 0);
	assert_false(dfl_match(&m, &rt));
	assert_true(dfl_match(&m, &dfu));
	assert_int_equal(dfl_match_parse_ids(&m, "0483:5740,0483:df11"), 0);
	assert_true(dfl_match(&m, &rt));
	assert_true(dfl_match(&m, &dfu));
	assert_int_equal(dfl_match_parse_ids(&m, "0483:5740,0483:df12"), 0);
	assert_true(dfl_match(&m, &rt));
	assert_false(dfl_match(&m, &dfu));
}

/* -S and the GD32VF103's UTF-8 serial: as read, or as UTF-16 reads it. */
static void
matching_utf8_serial(void **state)
{
	struct dfl_candidate gd32 = { "1-4", 0x28e9, 0x0189, "3CBJ", 0,
		"\xe4\x8c\xb3\xe4\xa9\x82" };
	struct dfl_match m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.nserials = 1;
	m.serials[0] = "3CBJ";
	assert_true(dfl_match(&m, &gd32));
	m.serials[0] = "\xe4\x8c\xb3\xe4\xa9\x82"; /* U+4333 U+4A42 */
	assert_true(dfl_match(&m, &gd32));
	m.serials[0] = "3CB";
	assert_false(dfl_match(&m, &gd32));
}

static const struct dfl_alt f405[] = {
	{ 0, "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg" },
	{ 1, "@Option Bytes  /0x1FFFC000/01*016 e" },
	{ 2, "@OTP Memory /0x1FFF7800/01*512 g,01*016 g" },
	{ 3, "@Device Feature/0xFFFF0000/01*004 g" },
};

static void
alts(void **state)
{
	char msg[512];
	uint8_t a = 99;

	(void)state;
	assert_int_equal(dfl_alt_resolve(f405, 4, "1", &a, msg, sizeof(msg)),
	    0);
	assert_int_equal(a, 1);
	assert_int_equal(dfl_alt_resolve(f405, 4, "0x3", &a, msg,
	    sizeof(msg)), 0);
	assert_int_equal(a, 3);
	assert_int_equal(dfl_alt_resolve(f405, 4, "Option", &a, msg,
	    sizeof(msg)), 0);
	assert_int_equal(a, 1);
	assert_int_equal(dfl_alt_resolve(f405, 4,
	    "@OTP Memory /0x1FFF7800/01*512 g,01*016 g", &a, msg,
	    sizeof(msg)), 0);
	assert_int_equal(a, 2);
	assert_int_equal(dfl_alt_resolve(f405, 4, "4", &a, msg, sizeof(msg)),
	    -1);
	assert_string_equal(msg, "-a 4: the device has no alternate setting "
	    "4; it has alt 0 \"@Internal Flash  /0x08000000/04*016Kg,01*064Kg,"
	    "07*128Kg\", alt 1 \"@Option Bytes  /0x1FFFC000/01*016 e\", "
	    "alt 2 \"@OTP Memory /0x1FFF7800/01*512 g,01*016 g\", alt 3 "
	    "\"@Device Feature/0xFFFF0000/01*004 g\"");
	assert_int_equal(dfl_alt_resolve(f405, 4, "EEPROM", &a, msg,
	    sizeof(msg)), -1);
	assert_non_null(strstr(msg, "-a EEPROM: no alternate setting has that "
	    "number or name; the device has alt 0 "));
	assert_int_equal(dfl_alt_resolve(f405, 4, "Memory", &a, msg,
	    sizeof(msg)), 0);
	assert_int_equal(a, 2);
	assert_int_equal(dfl_alt_resolve(f405, 4, " g", &a, msg, sizeof(msg)),
	    -2);
	assert_string_equal(msg, "-a  g: 2 alternate settings match, give "
	    "more of the name or the number: alt 2 \"@OTP Memory "
	    "/0x1FFF7800/01*512 g,01*016 g\", alt 3 \"@Device Feature/"
	    "0xFFFF0000/01*004 g\"");
	assert_int_equal(dfl_alt_resolve(f405, 4, "", &a, msg, sizeof(msg)),
	    -1);
	assert_int_equal(a, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids),
		cmocka_unit_test(paths),
		cmocka_unit_test(matching),
		cmocka_unit_test(matching_utf8_serial),
		cmocka_unit_test(alts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
