/*
 * test_quirks.c - the quirk table of real devices (dfuflash/quirks.h):
 * the GD32VF103's UTF-8 serial and its layout from the size letter, the
 * STM32H7 write unit, and the devices no row touches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "quirks.h"

#define GD32_WRONG "@Internal Flash  /0x08000000/512*002Kg"

static struct dfl_device
device(uint16_t vid, uint16_t pid, const char *serial,
    const struct dfl_alt *alts, unsigned nalts)
{
	struct dfl_device d;

	memset(&d, 0, sizeof(d));
	d.bInterfaceProtocol = DFL_PROTOCOL_DFU;
	d.idVendor = vid;
	d.idProduct = pid;
	d.bcdDFUVersion = 0x011a;
	d.alts = alts;
	d.nalts = nalts;
	d.serial = serial;
	return d;
}

/* As the ROM sends it: bLength 6, type 3, then "3CBJ" in UTF-8. */
static void
test_serial_utf8(void **state)
{
	static const uint8_t gd32[] = { 6, 3, '3', 'C', 'B', 'J' };
	static const uint8_t bad[] = { 9, 3, 'a', 0xff, 0x01, 0xc3, 0xa9, 0xe2,
		0x82 };
	char out[64];

	(void)state;
	assert_true(dfl_quirk_serial_utf8(0x28e9, 0x0189));
	assert_false(dfl_quirk_serial_utf8(0x0483, 0xdf11));
	assert_int_equal(dfl_string_decode_utf8(gd32, sizeof(gd32), out,
	    sizeof(out)), 4);
	assert_string_equal(out, "3CBJ");
	/* Invalid byte and control character: '?'; "é" kept; a sequence
	 * cut by bLength: '?' per byte. */
	assert_int_equal(dfl_string_decode_utf8(bad, sizeof(bad), out,
	    sizeof(out)), 7);
	assert_string_equal(out, "a??\xc3\xa9??");
	/* Cut at a character when out is short. */
	assert_int_equal(dfl_string_decode_utf8(bad, sizeof(bad), out, 5), 3);
	assert_string_equal(out, "a??");
	assert_int_equal(dfl_string_decode_utf8(gd32, 1, out, sizeof(out)),
	    -1);
	assert_int_equal(dfl_string_decode_utf8((const uint8_t[]){ 4, 2, 'x',
	    'y' }, 4, out, sizeof(out)), -1);
}

static void
test_gd32_layout(void **state)
{
	static const struct dfl_alt alts[] = { { 0, GD32_WRONG } };
	static const struct { const char *serial, *want; } cases[] = {
		{ "3CBJ", "@Internal Flash  /0x08000000/128*001Kg" },
		{ "3C8J", "@Internal Flash  /0x08000000/064*001Kg" },
		{ "3C6J", "@Internal Flash  /0x08000000/032*001Kg" },
		{ "3C4J", "@Internal Flash  /0x08000000/016*001Kg" },
	};
	char out[128], note[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dfl_device d = device(0x28e9, 0x0189, cases[i].serial,
		    alts, 1);

		assert_int_equal(dfl_quirk_layout(&d, 0, GD32_WRONG, out,
		    sizeof(out), note, sizeof(note)), 1);
		assert_string_equal(out, cases[i].want);
		assert_non_null(strstr(note, cases[i].want));
	}
}

static void
test_gd32_layout_refused_or_kept(void **state)
{
	static const struct dfl_alt alts[] = { { 0, GD32_WRONG } };
	struct dfl_device d = device(0x28e9, 0x0189, "3CDJ", alts, 1);
	char out[128] = "", note[512];

	(void)state;
	/* 'D' (fwupd's 256 KiB) is not a GD32VF103 size: refused. */
	assert_int_equal(dfl_quirk_layout(&d, 0, GD32_WRONG, out, sizeof(out),
	    note, sizeof(note)), -1);
	assert_non_null(strstr(note, "serial \"3CDJ\" does not say"));
	d.serial = NULL;
	assert_int_equal(dfl_quirk_layout(&d, 0, GD32_WRONG, out, sizeof(out),
	    note, sizeof(note)), -1);
	assert_non_null(strstr(note, "serial (none) does not say"));
	/* The bare chip's right string, alt 1, another device: untouched. */
	d.serial = "3CBJ";
	assert_int_equal(dfl_quirk_layout(&d, 0, "@Internal Flash  "
	    "/0x08000000/128*001Kg", out, sizeof(out), note, sizeof(note)), 0);
	assert_string_equal(note, "");
	assert_int_equal(dfl_quirk_layout(&d, 1, "@Option Bytes  /0x1FFFF800/"
	    "01*016 g", out, sizeof(out), note, sizeof(note)), 0);
	d.idVendor = 0x0483;
	assert_int_equal(dfl_quirk_layout(&d, 0, GD32_WRONG, out, sizeof(out),
	    note, sizeof(note)), 0);
	assert_string_equal(out, "");
}

static void
test_write_unit(void **state)
{
	static const struct dfl_alt h7[] = {
		{ 0, "@Internal Flash   /0x08000000/16*128Kg" },
		{ 1, "@Option Bytes   /0x5200201C/01*128 e" },
	}, h723[] = {
		{ 0, "@Internal Flash   /0x08000000/8*128Kg" },
	}, f405[] = {
		{ 0, "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,"
		  "07*128Kg" },
	}, l476[] = {
		{ 0, "@Internal Flash  /0x08000000/512*0002Kg" },
	};
	struct dfl_device d = device(0x0483, 0xdf11, NULL, h7, 2);
	char note[256];

	(void)state;
	assert_int_equal(dfl_quirk_write_unit(&d, note, sizeof(note)), 32);
	assert_non_null(strstr(note, "32-byte flash words"));
	d.alts = h723;
	d.nalts = 1;
	assert_int_equal(dfl_quirk_write_unit(&d, NULL, 0), 32);
	d.alts = f405;
	assert_int_equal(dfl_quirk_write_unit(&d, note, sizeof(note)), 8);
	assert_string_equal(note, "");
	d.alts = l476;
	assert_int_equal(dfl_quirk_write_unit(&d, NULL, 0), 8);
	/* A 128 KiB-sector device that is not the ST ROM: no row. */
	d = device(0x1209, 0x0001, NULL, h7, 2);
	assert_int_equal(dfl_quirk_write_unit(&d, NULL, 0), 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial_utf8),
		cmocka_unit_test(test_gd32_layout),
		cmocka_unit_test(test_gd32_layout_refused_or_kept),
		cmocka_unit_test(test_write_unit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
