/*
 * test_srec.c - the S-record loader: S0-S3, S5/S6 counts, S7-S9
 * termination (optional), 16/24/32-bit addresses, and every error with
 * its line number and exact message.  Checksums: ones' complement of the
 * low byte of the sum of count, address and data bytes.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "image_test.h"

static int
load_str(struct dfu_image *img, const char *text)
{
	int fd = it_fd_str(text), rc = dfu_image_load_srec(img, fd);

	close(fd);
	return rc;
}

static void
test_all_record_types(void **state)
{
	const char *text =
	    "S00600004844521B\r\n"
	    "S107000001020304EE\r\n"
	    "S107000405060708DA\r\n"
	    "S2080800001122334445\r\n"
	    "S3061FFFC000AA71\r\n"
	    "S5030004F8\r\n"
	    "S70508000101F0\r\n";
	const uint8_t low[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct dfu_image *img = dfu_image_new();
	uint32_t entry;

	(void)state;
	it_ok(img, load_str(img, text));
	assert_int_equal(dfu_image_range_count(img), 3);
	it_range(img, 0, 0, 8);
	it_range(img, 1, 0x080000, 4);
	it_range(img, 2, 0x1fffc000, 1);
	it_bytes(img, 0, low, 8);
	it_bytes(img, 0x080000, "\x11\x22\x33\x44", 4);
	it_bytes(img, 0x1fffc000, "\xaa", 1);
	assert_int_equal(dfu_image_entry(img, &entry), 1);
	assert_int_equal(entry, 0x08000101);
	dfu_image_free(img);
}

/* No termination record: every record is kept (dfuse-pack drops some). */
static void
test_no_termination(void **state)
{
	struct dfu_image *img = dfu_image_new();

	(void)state;
	it_ok(img, load_str(img, "S107000405060708DA\nS107000001020304EE"));
	it_range(img, 0, 0, 8);
	assert_int_equal(dfu_image_entry(img, NULL), 0);
	dfu_image_free(img);
	img = dfu_image_new();
	it_ok(img, load_str(img, "S107000001020304EE\nS804080001F2\n"));
	it_range(img, 0, 0, 4);
	dfu_image_free(img);
	img = dfu_image_new();
	it_ok(img, load_str(img, "S107000001020304EE\nS604000001FA\n"
			    "S9030000FC\n"));
	it_range(img, 0, 0, 4);
	dfu_image_free(img);
}

static void
test_top_of_address_space(void **state)
{
	struct dfu_image *img = dfu_image_new();

	(void)state;
	it_ok(img, load_str(img, "S307FFFFFFFEA1B2AA\n"));
	it_range(img, 0, 0xfffffffe, 2);
	dfu_image_free(img);
	img = dfu_image_new();
	it_fails(img, load_str(img, "S307FFFFFFFFA1B2A9\n"), DFU_ERR_FORMAT,
		 "line 1: 2 bytes at 0xffffffff run past 4 GiB");
	dfu_image_free(img);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *text, *msg;
		int code;
	} cases[] = {
		{ "S107000001020304EF\n",
		  "line 1: checksum 0xef, expected 0xee", 0 },
		{ "S9030000FC\nS107000001020304EE\n",
		  "line 2: record after the termination record of line 1", 0 },
		{ "S40300FC\n", "line 1: record type S4 is reserved", 0 },
		{ ":00000001FF\n", "line 1: does not start with S0 to S9", 0 },
		{ "\nSX\n", "line 2: does not start with S0 to S9", 0 },
		{ "S1070000010203Z4EE\n",
		  "line 1, column 15: 'Z' is not a hexadecimal digit", 0 },
		{ "S107000001020304E\n",
		  "line 1: odd number of hexadecimal digits", 0 },
		{ "S30300FC\n", "line 1: 3 bytes, too short for an S3 record", 0 },
		{ "S108000001020304EE\n",
		  "line 1: byte count 0x08 says 8 bytes follow it, the record "
		  "holds 7", 0 },
		{ "S107000001020304EE\nS5030002FA\n",
		  "line 2: S5 says 2 data records, 1 precede it", 0 },
		{ "S10500020304F1\nS5040001AAFB\n",
		  "line 2: checksum 0xfb, expected 0x50", 0 },
		{ "S10500020304F1\nS5040001AA50\n",
		  "line 2: S5 record with 1 data bytes, expected 0", 0 },
		{ "S9040000AA51\n",
		  "line 1: termination record S9 with 1 data bytes, expected 0",
		  0 },
		{ "", "no records", 0 },
		{ "S107000001020304EE\nS104000209F0\n",
		  "line 2: 0x00000002 holds 0x09, but line 1 put 0x03 there",
		  DFU_ERR_RANGE },
		/* Lines 2-4 touch and are one piece; line 1 lies in it. */
		{ "S1070008AABBCCDDE2\nS107000001020304EE\n"
		  "S107000405060708DA\nS1070008090A0B0CC6\n",
		  "line 4: 0x00000008 holds 0x09, but line 1 put 0xaa there",
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

/* The longest record (255 bytes after the count) and one digit more. */
static void
test_longest_record(void **state)
{
	struct dfu_image *img = dfu_image_new();
	char line[600];
	unsigned sum = 0xff + 0;

	(void)state;
	strcpy(line, "S3FF00000000");
	for (unsigned i = 0; i < 250; i++) {
		strcat(line, "11");
		sum += 0x11;
	}
	sprintf(line + strlen(line), "%02X\n", ~sum & 0xff);
	it_ok(img, load_str(img, line));
	it_range(img, 0, 0, 250);
	dfu_image_free(img);
	img = dfu_image_new();
	memmove(line + 3, line + 2, strlen(line + 2) + 1);
	line[2] = '0';
	it_fails(img, load_str(img, line), DFU_ERR_FORMAT,
		 "line 1: 513 hexadecimal digits, more than any record holds "
		 "(512)");
	dfu_image_free(img);
}

/*
 * srec_cat writes the S6 count modulo 2^24 (a 24-bit field): 2^24 records
 * (one byte each, all at 0: the image stays small) then "S6 says 0" load.
 * The records come through a pipe from a child process.
 */
static void
test_s6_count_modulo_2_24(void **state)
{
	static const char rec[] = "S1040000AA51\n";
	struct dfu_image *img = dfu_image_new();
	char buf[(sizeof(rec) - 1) * 4096];
	int fds[2], status;
	pid_t pid;

	(void)state;
	for (size_t i = 0; i < 4096; i++)
		memcpy(buf + i * (sizeof(rec) - 1), rec, sizeof(rec) - 1);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		for (unsigned i = 0; i < (1u << 24) / 4096; i++)
			if (write(fds[1], buf, sizeof(buf)) !=
			    (ssize_t)sizeof(buf))
				_exit(1);
		_exit(write(fds[1], "S604000000FB\n", 13) != 13);
	}
	close(fds[1]);
	it_ok(img, dfu_image_load_srec(img, fds[0]));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	it_range(img, 0, 0, 1);
	it_bytes(img, 0, "\xaa", 1);
	dfu_image_free(img);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_record_types),
		cmocka_unit_test(test_no_termination),
		cmocka_unit_test(test_top_of_address_space),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_longest_record),
		cmocka_unit_test(test_s6_count_modulo_2_24),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
