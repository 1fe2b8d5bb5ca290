/*
 * test_ihex.c - the Intel HEX loader: record types 00-05, CRLF and LF,
 * records in any order, addresses past 64 KiB (02, 04) and at the top of
 * the 32-bit space, same-data overlaps, and every error with its line
 * number and exact message.  Checksums here were computed by hand from
 * the rule "all bytes sum to 0 modulo 256".
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image_test.h"

static int
load_str(struct dfu_image *img, const char *text)
{
	int fd = it_fd_str(text), rc = dfu_image_load_ihex(img, fd);

	close(fd);
	return rc;
}

static int
load_mem(struct dfu_image *img, const void *buf, size_t len)
{
	int fd = it_fd(buf, len), rc = dfu_image_load_ihex(img, fd);

	close(fd);
	return rc;
}

static void
test_basic_lf_and_crlf(void **state)
{
	const char *lf =
	    ":020000040800F2\n"
	    ":0400000001020304F2\n"
	    ":0400040005060708DE\n"
	    ":00000001FF\n";
	const char *crlf =
	    ":020000040800F2\r\n"
	    ":0400000001020304F2\r\n"
	    ":0400040005060708DE\r\n"
	    ":00000001FF\r\n";
	const uint8_t want[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct dfu_image *img = dfu_image_new();

	(void)state;
	it_ok(img, load_str(img, lf));
	it_range(img, 0, 0x08000000, 8);
	it_bytes(img, 0x08000000, want, 8);
	dfu_image_free(img);
	img = dfu_image_new();
	it_ok(img, load_str(img, crlf));
	assert_int_equal(dfu_image_range_count(img), 1);
	it_range(img, 0, 0x08000000, 8);
	it_bytes(img, 0x08000000, want, 8);
	assert_int_equal(dfu_image_entry(img, NULL), 0);
	dfu_image_free(img);
}

/* Records in any order; the same bytes twice are fine. */
static void
test_any_order_and_duplicates(void **state)
{
	const char *text =
	    ":0400040005060708DE\n"
	    ":0400000001020304F2\n"
	    ":0400020003040506E8\n"	/* same bytes as lines 1-2 */
	    ":00000001FF\n";
	const uint8_t want[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct dfu_image *img = dfu_image_new();

	(void)state;
	it_ok(img, load_str(img, text));
	it_range(img, 0, 0, 8);
	it_bytes(img, 0, want, 8);
	assert_int_equal(dfu_image_range_count(img), 1);
	dfu_image_free(img);
}

/* Flash and option bytes far apart stay two ranges. */
static void
test_far_apart_and_segments(void **state)
{
	const char *text =
	    ":020000040800F2\n"
	    ":01000000AA55\n"
	    ":020000041FFFDC\n"
	    ":01C00000BB84\n"
	    ":020000021000EC\n"	/* segment 0x1000: base 0x10000 */
	    ":01FFFF00CC35\n"
	    ":0400000300001000E9\n"
	    ":040000050800010DE1\n"
	    ":00000001FF\n";
	struct dfu_image *img = dfu_image_new();
	uint32_t entry;

	(void)state;
	it_ok(img, load_str(img, text));
	assert_int_equal(dfu_image_range_count(img), 3);
	it_range(img, 0, 0x0001ffff, 1);
	it_range(img, 1, 0x08000000, 1);
	it_range(img, 2, 0x1fffc000, 1);
	it_bytes(img, 0x08000000, "\xaa", 1);
	it_bytes(img, 0x1fffc000, "\xbb", 1);
	it_bytes(img, 0x0001ffff, "\xcc", 1);
	/* The last start address record wins: type 05 after type 03. */
	assert_int_equal(dfu_image_entry(img, &entry), 1);
	assert_int_equal(entry, 0x0800010d);
	dfu_image_free(img);

	img = dfu_image_new();
	it_ok(img, load_str(img, ":0400000312340010A3\n:00000001FF\n"));
	assert_int_equal(dfu_image_entry(img, &entry), 1);
	assert_int_equal(entry, 0x12340 + 0x10);
	dfu_image_free(img);
}

/* A record that crosses 0xffff: wraps in a segment, not after type 04. */
static void
test_offset_wrap(void **state)
{
	struct dfu_image *img = dfu_image_new();

	(void)state;
	it_ok(img, load_str(img, ":020000021000EC\n:02FFFF00AABB9B\n"
			    ":00000001FF\n"));
	assert_int_equal(dfu_image_range_count(img), 2);
	it_range(img, 0, 0x10000, 1);
	it_range(img, 1, 0x1ffff, 1);
	it_bytes(img, 0x1ffff, "\xaa", 1);
	it_bytes(img, 0x10000, "\xbb", 1);
	dfu_image_free(img);
	img = dfu_image_new();
	it_ok(img, load_str(img, ":020000040800F2\n:02FFFF00AABB9B\n"
			    ":00000001FF\n"));
	assert_int_equal(dfu_image_range_count(img), 1);
	it_range(img, 0, 0x0800ffff, 2);
	it_bytes(img, 0x0800ffff, "\xaa\xbb", 2);
	dfu_image_free(img);
}

static void
test_top_of_address_space(void **state)
{
	struct dfu_image *img = dfu_image_new();

	(void)state;
	it_ok(img, load_str(img, ":02000004FFFFFC\n:02FFFE00A1B2AE\n"
			    ":00000001FF\n"));
	it_range(img, 0, 0xfffffffe, 2);
	dfu_image_free(img);
	img = dfu_image_new();
	it_fails(img, load_str(img, ":02000004FFFFFC\n:02FFFF00A1B2AD\n"
			       ":00000001FF\n"), DFU_ERR_FORMAT,
		 "line 2: 2 bytes at 0xffffffff run past 4 GiB");
	/* A failed load sets no entry point either. */
	it_fails(img, load_str(img, ":040000050800010DE1\n:0100"), DFU_ERR_FORMAT,
		 "line 2: 2 bytes, shorter than any record (5)");
	assert_int_equal(dfu_image_entry(img, NULL), 0);
	dfu_image_free(img);
}

/*
 * Touching records on consecutive lines are kept as one piece, named by
 * its first line; a conflict or overlap still names the records and
 * extents it would name if each record were a piece of its own.
 */
static void
test_runs_of_records(void **state)
{
	/* Line 1 comes first but lies inside the run of lines 2-4. */
	const char *clash =
	    ":04000800AABBCCDDE6\n"
	    ":0400000001020304F2\n"
	    ":0400040005060708DE\n"
	    ":04000800090A0B0CCA\n"
	    ":00000001FF\n";
	const char *run =
	    ":0400000001020304F2\n"
	    ":0400040005060708DE\n"
	    ":04000800090A0B0CCA\n"
	    ":00000001FF\n";
	const char *overlap_owner =
	    ":1000000000000000000000000000000000000000F0\n"
	    ":1000100000000000000000000000000000000000E0\n"
	    ":1000080000000000000000000000000000000000E8\n"
	    ":01001400AA41\n"
	    ":00000001FF\n";
	const uint8_t want[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	const uint8_t two[2] = { 7, 8 };
	struct dfu_image *img = dfu_image_new();
	const char *origin;
	uint32_t addr, size;

	(void)state;
	it_fails(img, load_str(img, clash), DFU_ERR_RANGE,
		 "line 4: 0x00000008 holds 0x09, but line 1 put 0xaa there");
	it_ok(img, load_str(img, run));
	assert_int_equal(dfu_image_piece_count(img), 1);
	assert_int_equal(dfu_image_piece(img, 0, &addr, &size, &origin), 0);
	assert_int_equal(addr, 0);
	assert_int_equal(size, 12);
	assert_string_equal(origin, "line 1");
	it_bytes(img, 0, want, 12);
	dfu_image_free(img);

	/* Bytes of another origin inside the run: the record of line 2 and
	 * its extent are named, not the run. */
	img = dfu_image_new();
	it_ok(img, dfu_image_add_mem(img, 6, two, 2, "data"));
	it_fails(img, load_str(img, run), DFU_ERR_RANGE,
		 "data at 0x00000006-0x00000007 overlaps line 2 at "
		 "0x00000004-0x00000007");
	assert_int_equal(dfu_image_piece_count(img), 1);
	dfu_image_free(img);

	/* Line 3 repeats bytes of the run, not of its last record: it is
	 * kept, and owns 0x10-0x17 as it would as a piece of its own. */
	img = dfu_image_new();
	it_fails(img, load_str(img, overlap_owner), DFU_ERR_RANGE,
		 "line 4: 0x00000014 holds 0xaa, but line 3 put 0x00 there");
	dfu_image_free(img);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *text, *msg;
		int code;
	} cases[] = {
		{ ":0400000001020304F3\n:00000001FF\n",
		  "line 1: checksum 0xf3, expected 0xf2", 0 },
		{ "\n:00000001FF\n0400000001020304F2\n",
		  "line 3: record after the end of file record of line 2", 0 },
		{ "0400000001020304F2\n", "line 1: does not start with ':'", 0 },
		{ ":04000000010203G4F2\n",
		  "line 1, column 16: 'G' is not a hexadecimal digit", 0 },
		{ ":0400000001020304F\n",
		  "line 1: odd number of hexadecimal digits", 0 },
		{ ":00000001\n", "line 1: 4 bytes, shorter than any record (5)", 0 },
		{ ":0500000001020304F1\n",
		  "line 1: byte count 0x05 says 5 data bytes, the record holds 4", 0 },
		{ ":00000006FA\n", "line 1: unknown record type 06", 0 },
		{ ":010000010AF4\n",
		  "line 1: end of file record (type 01) with 1 data bytes, "
		  "expected 0", 0 },
		{ ":03000004080000F1\n",
		  "line 1: type 04 record with 3 data bytes, expected 2", 0 },
		{ ":020000031234B5\n",
		  "line 1: type 03 record with 2 data bytes, expected 4", 0 },
		{ ":0400000001020304F2\n",
		  "line 1: the file ends without an end of file record (type "
		  "01): truncated?", 0 },
		{ "", "no records", 0 },
		{ "\r\n\n", "no records", 0 },
		{ ":0400000001020304F2\n:0400020009090909D6\n:00000001FF\n",
		  "line 2: 0x00000002 holds 0x09, but line 1 put 0x03 there",
		  DFU_ERR_RANGE },
	};
	struct dfu_image *img = dfu_image_new();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		it_fails(img, load_str(img, cases[i].text), cases[i].code ?
			 cases[i].code : DFU_ERR_FORMAT, cases[i].msg);
		assert_int_equal(dfu_image_range_count(img), 0);
	}
	dfu_image_free(img);
}

/* Trailing blanks and a NUL byte; an over-long line. */
static void
test_line_limits(void **state)
{
	struct dfu_image *img = dfu_image_new();
	char *big = malloc(1000);

	(void)state;
	it_ok(img, load_str(img, ":0100000011EE \t\r\n:00000001FF"));
	it_range(img, 0, 0, 1);
	dfu_image_free(img);
	img = dfu_image_new();
	it_fails(img, load_mem(img, ":00\0", 4),
		 DFU_ERR_FORMAT, "line 1: a NUL byte: not a text file");
	memset(big, 'A', 999);
	big[0] = ':';
	big[999] = '\0';
	it_fails(img, load_str(img, big), DFU_ERR_FORMAT,
		 "line 1: more than 600 characters, longer than any record");
	big[522] = '\0';
	it_fails(img, load_str(img, big), DFU_ERR_FORMAT,
		 "line 1: 521 hexadecimal digits, more than any record holds "
		 "(520)");
	free(big);
	dfu_image_free(img);
}

/* Larger than one read buffer: lines split across reads. */
static void
test_long_file(void **state)
{
	struct dfu_image *img = dfu_image_new();
	size_t cap = 20000 * 46 + 2000, len = 0;
	char *text = malloc(cap);
	uint8_t *want = malloc(20000 * 16);

	(void)state;
	len += (size_t)sprintf(text, ":020000040001F9\n");
	for (unsigned r = 0; r < 20000; r++) {
		uint32_t addr = 0x10000 + r * 16;
		unsigned sum;

		if ((addr & 0xffff) == 0 && r > 0)
			len += (size_t)sprintf(text + len, ":02000004%04X%02X\n",
			    addr >> 16, (unsigned)(-(2 + 4 + (addr >> 24) +
			    ((addr >> 16) & 0xff))) & 0xff);
		sum = 16 + ((addr >> 8) & 0xff) + (addr & 0xff);
		len += (size_t)sprintf(text + len, ":10%04X00", addr & 0xffff);
		for (unsigned k = 0; k < 16; k++) {
			uint8_t b = (uint8_t)(r * 31 + k);

			want[r * 16 + k] = b;
			sum += b;
			len += (size_t)sprintf(text + len, "%02X", b);
		}
		len += (size_t)sprintf(text + len, "%02X\r\n", -sum & 0xff);
	}
	strcpy(text + len, ":00000001FF\r\n");
	it_ok(img, load_str(img, text));
	assert_int_equal(dfu_image_range_count(img), 1);
	it_range(img, 0, 0x10000, 20000 * 16);
	it_bytes(img, 0x10000, want, 20000 * 16);
	free(text);
	free(want);
	dfu_image_free(img);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_lf_and_crlf),
		cmocka_unit_test(test_any_order_and_duplicates),
		cmocka_unit_test(test_far_apart_and_segments),
		cmocka_unit_test(test_offset_wrap),
		cmocka_unit_test(test_top_of_address_space),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_runs_of_records),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_long_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
