/*
 * test_descriptor.c - dfuflash/descriptor.h: the DFU functional descriptor
 * found among other descriptors, DFU 1.0 and 1.1 lengths, every malformed
 * length refused with its message; string descriptors in UTF-16LE with
 * surrogate pairs, lone surrogates, control characters, cut-short and
 * over-long input; struct dfl_device filled from the parts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "descriptor.h"
#include "dfuproto.h"

/* The STM32F4 ROM's descriptor (usb-emulation.md). */
static const uint8_t stm32_func[] = { 0x09, 0x21, 0x0b, 0xff, 0x00, 0x00,
	0x08, 0x1a, 0x01 };

static void
func_alone(void **state)
{
	struct dfl_func_desc f;
	char msg[128] = "";

	(void)state;
	assert_int_equal(dfl_func_desc_find(stm32_func, sizeof(stm32_func), &f,
	    msg, sizeof(msg)), 1);
	assert_int_equal(f.bLength, 9);
	assert_int_equal(f.bmAttributes, 0x0b);
	assert_int_equal(f.wDetachTimeOut, 255);
	assert_int_equal(f.wTransferSize, 2048);
	assert_int_equal(f.bcdDFUVersion, 0x011a);
	assert_string_equal(msg, "");
}

static void
func_after_others(void **state)
{
	/* A vendor descriptor of 4 bytes, then the functional descriptor,
	 * then another that must not matter. */
	uint8_t b[] = { 0x04, 0x24, 0x01, 0x02,
		0x09, 0x21, 0x07, 0x10, 0x27, 0x00, 0x04, 0x10, 0x01,
		0x03, 0x24, 0x00 };
	struct dfl_func_desc f;

	(void)state;
	assert_int_equal(dfl_func_desc_find(b, sizeof(b), &f, NULL, 0), 1);
	assert_int_equal(f.bmAttributes, 0x07);
	assert_int_equal(f.wDetachTimeOut, 10000);
	assert_int_equal(f.wTransferSize, 1024);
	assert_int_equal(f.bcdDFUVersion, 0x0110);
}

static void
func_dfu10(void **state)
{
	uint8_t b[] = { 0x07, 0x21, 0x03, 0x64, 0x00, 0x40, 0x00 };
	struct dfl_func_desc f;

	(void)state;
	assert_int_equal(dfl_func_desc_find(b, sizeof(b), &f, NULL, 0), 1);
	assert_int_equal(f.bLength, 7);
	assert_int_equal(f.wDetachTimeOut, 100);
	assert_int_equal(f.wTransferSize, 64);
	assert_int_equal(f.bcdDFUVersion, 0x0100);
}

static void
func_zero_transfer_size_is_decoded(void **state)
{
	uint8_t b[] = { 0x09, 0x21, 0x0b, 0xff, 0x00, 0x00, 0x00, 0x1a, 0x01 };
	struct dfl_func_desc f;

	(void)state;
	assert_int_equal(dfl_func_desc_find(b, sizeof(b), &f, NULL, 0), 1);
	assert_int_equal(f.wTransferSize, 0);
}

static void
func_none(void **state)
{
	uint8_t b[] = { 0x04, 0x24, 0x01, 0x02 };
	struct dfl_func_desc f;
	char msg[128] = "";

	(void)state;
	assert_int_equal(dfl_func_desc_find(NULL, 0, &f, msg, sizeof(msg)), 0);
	assert_int_equal(dfl_func_desc_find(b, sizeof(b), &f, msg,
	    sizeof(msg)), 0);
	assert_string_equal(msg, "");
}

static void
expect_bad(const uint8_t *b, size_t len, const char *want)
{
	struct dfl_func_desc f;
	char msg[160] = "";

	assert_int_equal(dfl_func_desc_find(b, len, &f, msg, sizeof(msg)), -1);
	assert_string_equal(msg, want);
}

static void
func_malformed(void **state)
{
	uint8_t zero[] = { 0x00, 0x21, 0x0b };
	uint8_t one[] = { 0x04, 0x24, 0x01, 0x02, 0x01 };
	uint8_t past[] = { 0x04, 0x24, 0x01, 0x02, 0x09, 0x21, 0x0b, 0xff };
	uint8_t len8[] = { 0x08, 0x21, 0x0b, 0xff, 0x00, 0x00, 0x08, 0x1a };
	uint8_t len10[] = { 0x0a, 0x21, 0x0b, 0xff, 0x00, 0x00, 0x08, 0x1a,
		0x01, 0x00 };
	uint8_t tail[] = { 0x09, 0x21, 0x0b, 0xff, 0x00, 0x00, 0x08, 0x1a };

	(void)state;
	expect_bad(zero, sizeof(zero), "descriptor at offset 0: bLength 0, "
	    "less than 2");
	expect_bad(one, sizeof(one), "descriptor at offset 4: 1 byte left, "
	    "a descriptor has at least 2");
	expect_bad(past, sizeof(past), "descriptor at offset 4: bLength 9 "
	    "runs past the 4 bytes that remain");
	expect_bad(len8, sizeof(len8), "DFU functional descriptor at offset "
	    "0: bLength 8, expected 9 (or 7 for DFU 1.0)");
	expect_bad(len10, sizeof(len10), "DFU functional descriptor at "
	    "offset 0: bLength 10, expected 9 (or 7 for DFU 1.0)");
	/* Every length of a cut-short descriptor is an error, none reads
	 * past the end (ASan would say). */
	for (size_t n = 1; n < sizeof(tail); n++) {
		struct dfl_func_desc f;

		assert_int_equal(dfl_func_desc_find(tail, n, &f, NULL, 0), -1);
	}
}

/* ---- Strings ------------------------------------------------------------ */

static int
decode(const uint8_t *d, size_t len, char *out, size_t outlen)
{
	char msg[128];

	return dfl_string_decode(d, len, out, outlen, msg, sizeof(msg));
}

static void
string_ascii(void **state)
{
	uint8_t d[] = { 0x0a, 0x03, 'D', 0, 'F', 0, 'U', 0, '1', 0 };
	char out[DFL_STRING_MAX];

	(void)state;
	assert_int_equal(decode(d, sizeof(d), out, sizeof(out)), 4);
	assert_string_equal(out, "DFU1");
}

static void
string_utf8(void **state)
{
	/* "é€" then U+1F600 as the pair d83d de00. */
	uint8_t d[] = { 0x0a, 0x03, 0xe9, 0x00, 0xac, 0x20, 0x3d, 0xd8, 0x00,
		0xde };
	char out[DFL_STRING_MAX];

	(void)state;
	assert_int_equal(decode(d, sizeof(d), out, sizeof(out)), 9);
	assert_string_equal(out, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

static void
string_lone_surrogates_and_controls(void **state)
{
	/* low surrogate alone, high surrogate then 'A', NUL, ESC, DEL, U+0085,
	 * then a high surrogate as the last unit */
	uint8_t d[] = { 0x12, 0x03, 0x00, 0xdc, 0x00, 0xd8, 'A', 0, 0, 0,
		0x1b, 0, 0x7f, 0, 0x85, 0, 0x3d, 0xd8 };
	char out[DFL_STRING_MAX];

	(void)state;
	assert_int_equal(decode(d, sizeof(d), out, sizeof(out)), 3 + 3 + 1 +
	    4 + 3);
	assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd" "A????"
	    "\xef\xbf\xbd");
}

static void
string_cut_short_and_odd(void **state)
{
	/* bLength says 10, 7 bytes came: "AB" and half a unit. */
	uint8_t d[] = { 0x0a, 0x03, 'A', 0, 'B', 0, 'C' };
	/* bLength 5 of 8 bytes: only "A" and an odd byte count. */
	uint8_t e[] = { 0x05, 0x03, 'A', 0, 'B', 0, 'C', 0 };
	char out[DFL_STRING_MAX];

	(void)state;
	assert_int_equal(decode(d, sizeof(d), out, sizeof(out)), 2);
	assert_string_equal(out, "AB");
	assert_int_equal(decode(e, sizeof(e), out, sizeof(out)), 1);
	assert_string_equal(out, "A");
}

static void
string_truncated_at_character(void **state)
{
	uint8_t d[] = { 0x08, 0x03, 'A', 0, 0xac, 0x20, 'B', 0 };
	char out[4];

	(void)state;
	/* "A€B" needs 5 bytes and a NUL: "A" fits, "€" does not. */
	assert_int_equal(decode(d, sizeof(d), out, sizeof(out)), 1);
	assert_string_equal(out, "A");
}

static void
string_longest(void **state)
{
	uint8_t d[254];
	char out[DFL_STRING_MAX];

	(void)state;
	/* 126 units of U+20AC: 378 bytes of UTF-8, all of it kept. */
	d[0] = sizeof(d);
	d[1] = 3;
	for (size_t i = 2; i < sizeof(d); i += 2) {
		d[i] = 0xac;
		d[i + 1] = 0x20;
	}
	assert_int_equal(decode(d, sizeof(d), out, sizeof(out)), 378);
}

static void
string_bad(void **state)
{
	uint8_t one[] = { 0x02 };
	uint8_t type[] = { 0x04, 0x02, 'A', 0 };
	uint8_t len1[] = { 0x01, 0x03, 'A', 0 };
	char out[16], msg[128];

	(void)state;
	assert_int_equal(dfl_string_decode(one, sizeof(one), out, sizeof(out),
	    msg, sizeof(msg)), -1);
	assert_string_equal(msg, "string descriptor of 1 byte, shorter than "
	    "its 2-byte header");
	assert_int_equal(dfl_string_decode(type, sizeof(type), out,
	    sizeof(out), msg, sizeof(msg)), -1);
	assert_string_equal(msg, "descriptor type 0x02, expected a string "
	    "descriptor (0x03)");
	assert_int_equal(dfl_string_decode(len1, sizeof(len1), out,
	    sizeof(out), msg, sizeof(msg)), -1);
	assert_string_equal(msg, "string descriptor with bLength 1, less "
	    "than 2");
	assert_string_equal(out, "");
}

/* ---- Device ------------------------------------------------------------- */

static void
device_fill(void **state)
{
	struct dfl_alt alts[] = { { 0, "@Internal Flash" }, { 1, NULL } };
	struct dfl_func_desc f = { 9, 0x0b, 255, 2048, 0x011a };
	struct dfl_desc_parts p = { 0x0483, 0xdf11, 0x2200, DFL_PROTOCOL_DFU,
		&f, alts, 2 };
	struct dfl_device dev;
	char msg[128];

	(void)state;
	assert_int_equal(dfl_device_fill(&dev, &p, msg, sizeof(msg)), 0);
	assert_int_equal(dev.idVendor, 0x0483);
	assert_int_equal(dev.idProduct, 0xdf11);
	assert_int_equal(dev.bcdDevice, 0x2200);
	assert_int_equal(dev.bInterfaceProtocol, DFL_PROTOCOL_DFU);
	assert_int_equal(dev.bmAttributes, 0x0b);
	assert_int_equal(dev.wDetachTimeOut, 255);
	assert_int_equal(dev.wTransferSize, 2048);
	assert_int_equal(dev.bcdDFUVersion, 0x011a);
	assert_ptr_equal(dev.alts, alts);
	assert_int_equal(dev.nalts, 2);

	p.func = NULL;
	p.bInterfaceProtocol = DFL_PROTOCOL_RUNTIME;
	assert_int_equal(dfl_device_fill(&dev, &p, msg, sizeof(msg)), 0);
	assert_int_equal(dev.bmAttributes, 0);
	assert_int_equal(dev.wTransferSize, 0);
	assert_int_equal(dev.bcdDFUVersion, 0x0100);
	assert_int_equal(dev.bInterfaceProtocol, DFL_PROTOCOL_RUNTIME);
}

static void
device_bad(void **state)
{
	struct dfl_alt alts[] = { { 0, "a" }, { 0, "b" } };
	struct dfl_desc_parts p = { 0x0483, 0xdf11, 0x2200, 3, NULL, alts, 1 };
	struct dfl_device dev;
	char msg[128];

	(void)state;
	assert_int_equal(dfl_device_fill(&dev, &p, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "bInterfaceProtocol 3: a DFU interface is "
	    "0 or 1 (run-time) or 2 (DFU mode)");
	p.bInterfaceProtocol = DFL_PROTOCOL_DFU;
	p.nalts = 0;
	assert_int_equal(dfl_device_fill(&dev, &p, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "the DFU interface has no alternate setting");
	p.nalts = 2;
	assert_int_equal(dfl_device_fill(&dev, &p, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "alternate setting 0 appears twice");
}

/* The mode from what a device reports, lies included (descriptor.h). */
static void
protocol_mode(void **state)
{
	(void)state;
	assert_int_equal(dfl_protocol_mode(0x0483, 0xdf11, 2, 0x011a),
	    DFL_PROTOCOL_DFU);
	assert_int_equal(dfl_protocol_mode(0x1209, 0x0001, 1, 0x0110),
	    DFL_PROTOCOL_RUNTIME);
	/* A run-time interface reporting 0. */
	assert_int_equal(dfl_protocol_mode(0x1209, 0x0001, 0, 0x0110),
	    DFL_PROTOCOL_RUNTIME);
	assert_int_equal(dfl_protocol_mode(0x1209, 0x0001, 0, 0x0100),
	    DFL_PROTOCOL_RUNTIME);
	/* A DfuSe device reporting 0 is in DFU mode (the DSO Nano). */
	assert_int_equal(dfl_protocol_mode(0x0483, 0xdf11, 0, 0x011a),
	    DFL_PROTOCOL_DFU);
	/* The NXP LPC ROM reports 1 in DFU mode; a neighbour ID does not. */
	assert_int_equal(dfl_protocol_mode(0x1fc9, 0x000c, 1, 0x0100),
	    DFL_PROTOCOL_DFU);
	assert_int_equal(dfl_protocol_mode(0x1fc9, 0x000c, 2, 0x0100),
	    DFL_PROTOCOL_DFU);
	assert_int_equal(dfl_protocol_mode(0x1fc9, 0x000d, 1, 0x0100),
	    DFL_PROTOCOL_RUNTIME);
	assert_int_equal(dfl_protocol_mode(0x1fc8, 0x000c, 1, 0x0100),
	    DFL_PROTOCOL_RUNTIME);
	assert_int_equal(dfl_protocol_mode(0x1209, 0x0001, 3, 0x0110), -1);
	assert_int_equal(dfl_protocol_mode(0x1209, 0x0001, 255, 0x0110), -1);
}

/* dfl_device_fill() stores the mode, not the number reported. */
static void
device_fill_mode(void **state)
{
	struct dfl_alt alts[] = { { 0, "a" } };
	struct dfl_func_desc f = { 9, 0x04, 255, 64, 0x0110 };
	struct dfl_desc_parts p = { 0x1fc9, 0x000c, 0x0100, 1, &f, alts, 1 };
	struct dfl_device dev;
	char msg[128];

	(void)state;
	assert_int_equal(dfl_device_fill(&dev, &p, msg, sizeof(msg)), 0);
	assert_int_equal(dev.bInterfaceProtocol, DFL_PROTOCOL_DFU);
	p.idVendor = 0x1209;
	p.idProduct = 0x0001;
	p.bInterfaceProtocol = 0;
	assert_int_equal(dfl_device_fill(&dev, &p, msg, sizeof(msg)), 0);
	assert_int_equal(dev.bInterfaceProtocol, DFL_PROTOCOL_RUNTIME);
	f.bcdDFUVersion = 0x011a;
	assert_int_equal(dfl_device_fill(&dev, &p, msg, sizeof(msg)), 0);
	assert_int_equal(dev.bInterfaceProtocol, DFL_PROTOCOL_DFU);
	/* Without a functional descriptor: DFU 1.0, so 0 is run-time. */
	p.func = NULL;
	assert_int_equal(dfl_device_fill(&dev, &p, msg, sizeof(msg)), 0);
	assert_int_equal(dev.bInterfaceProtocol, DFL_PROTOCOL_RUNTIME);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(func_alone),
		cmocka_unit_test(func_after_others),
		cmocka_unit_test(func_dfu10),
		cmocka_unit_test(func_zero_transfer_size_is_decoded),
		cmocka_unit_test(func_none),
		cmocka_unit_test(func_malformed),
		cmocka_unit_test(string_ascii),
		cmocka_unit_test(string_utf8),
		cmocka_unit_test(string_lone_surrogates_and_controls),
		cmocka_unit_test(string_cut_short_and_odd),
		cmocka_unit_test(string_truncated_at_character),
		cmocka_unit_test(string_longest),
		cmocka_unit_test(string_bad),
		cmocka_unit_test(device_fill),
		cmocka_unit_test(device_bad),
		cmocka_unit_test(protocol_mode),
		cmocka_unit_test(device_fill_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
