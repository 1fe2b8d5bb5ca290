/*
 * test_image.c - the memory image: format detection, pieces kept sorted
 * and merged into ranges, overlaps refused with both origins named, reads
 * across pieces, and the conversion to DfuSe elements (cuts at target
 * bounds, gaps, gap filling), checked by reading the written file back.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image_test.h"

static void
test_detect(void **state)
{
	(void)state;
	assert_int_equal(dfu_image_detect("\177ELF\1\1\1", 7), DFU_IMAGE_ELF);
	assert_int_equal(dfu_image_detect(":1000", 5), DFU_IMAGE_IHEX);
	assert_int_equal(dfu_image_detect("\r\n \t:00", 7), DFU_IMAGE_IHEX);
	assert_int_equal(dfu_image_detect("S00600", 6), DFU_IMAGE_SREC);
	assert_int_equal(dfu_image_detect("\nS3", 3), DFU_IMAGE_SREC);
	assert_int_equal(dfu_image_detect("S", 1), DFU_IMAGE_UNKNOWN);
	assert_int_equal(dfu_image_detect("SX", 2), DFU_IMAGE_UNKNOWN);
	assert_int_equal(dfu_image_detect("\177EL", 3), DFU_IMAGE_UNKNOWN);
	assert_int_equal(dfu_image_detect("DfuSe", 5), DFU_IMAGE_UNKNOWN);
	assert_int_equal(dfu_image_detect("", 0), DFU_IMAGE_UNKNOWN);
	assert_string_equal(dfu_image_format_name(DFU_IMAGE_ELF), "ELF");
	assert_string_equal(dfu_image_format_name(DFU_IMAGE_IHEX), "Intel HEX");
	assert_string_equal(dfu_image_format_name(DFU_IMAGE_SREC), "S-records");
	assert_string_equal(dfu_image_format_name(DFU_IMAGE_UNKNOWN),
			    "unknown");
}

static void
test_empty(void **state)
{
	struct dfu_image *img = dfu_image_new();
	uint8_t b;

	(void)state;
	assert_non_null(img);
	assert_int_equal(dfu_image_range_count(img), 0);
	assert_int_equal(dfu_image_piece_count(img), 0);
	assert_int_equal(dfu_image_range(img, 0, NULL, NULL), DFU_ERR_INVALID);
	assert_int_equal(dfu_image_entry(img, NULL), 0);
	assert_string_equal(dfu_image_errmsg(img), "");
	it_fails(img, dfu_image_read(img, 0, &b, 1), DFU_ERR_RANGE,
		 "0x00000000 is not in the image");
	dfu_image_free(img);
	dfu_image_free(NULL);
	assert_string_equal(dfu_image_errmsg(NULL), "");
}

/* Pieces added out of order come out sorted; touching ones form a range. */
static void
test_ranges(void **state)
{
	struct dfu_image *img = dfu_image_new();
	const uint8_t a[4] = { 1, 2, 3, 4 }, b[2] = { 5, 6 }, c[3] = { 7, 8, 9 };
	const uint8_t ab[6] = { 1, 2, 3, 4, 5, 6 };
	const char *origin;
	uint32_t addr, size;

	(void)state;
	it_ok(img, dfu_image_add_mem(img, 0x2000, c, 3, "c"));
	it_ok(img, dfu_image_add_mem(img, 0x1004, b, 2, "b"));
	it_ok(img, dfu_image_add_mem(img, 0x1000, a, 4, "a"));
	assert_int_equal(dfu_image_piece_count(img), 3);
	assert_int_equal(dfu_image_piece(img, 0, &addr, &size, &origin), 0);
	assert_int_equal(addr, 0x1000);
	assert_int_equal(size, 4);
	assert_string_equal(origin, "a");
	assert_int_equal(dfu_image_piece(img, 2, &addr, &size, &origin), 0);
	assert_int_equal(addr, 0x2000);
	assert_string_equal(origin, "c");
	assert_int_equal(dfu_image_piece(img, 3, NULL, NULL, NULL),
			 DFU_ERR_INVALID);
	assert_int_equal(dfu_image_range_count(img), 2);
	it_range(img, 0, 0x1000, 6);
	it_range(img, 1, 0x2000, 3);
	it_bytes(img, 0x1000, ab, 6);
	it_bytes(img, 0x1003, ab + 3, 3);
	it_bytes(img, 0x2001, c + 1, 2);
	it_fails(img, dfu_image_read(img, 0x1004, (uint8_t[8]){ 0 }, 3),
		 DFU_ERR_RANGE, "0x00001006 is not in the image");
	it_fails(img, dfu_image_read(img, 0xfff, (uint8_t[8]){ 0 }, 2),
		 DFU_ERR_RANGE, "0x00000fff is not in the image");
	/* NULL origin names the piece "data"; size 0 adds nothing. */
	it_ok(img, dfu_image_add_mem(img, 0x3000, a, 0, NULL));
	assert_int_equal(dfu_image_piece_count(img), 3);
	it_fails(img, dfu_image_add_mem(img, 0x2002, a, 1, NULL),
		 DFU_ERR_RANGE, "data at 0x00002002-0x00002002 overlaps c at "
		 "0x00002000-0x00002002");
	dfu_image_free(img);
}

static void
test_overlap_and_limits(void **state)
{
	struct dfu_image *img = dfu_image_new();
	uint8_t buf[0x100];

	(void)state;
	memset(buf, 0xa5, sizeof(buf));
	it_ok(img, dfu_image_add_mem(img, 0x100, buf, 0x10, "first"));
	/* The same bytes overlapping are refused too: add_mem is not HEX. */
	it_fails(img, dfu_image_add_mem(img, 0x10f, buf, 1, "second"),
		 DFU_ERR_RANGE, "second at 0x0000010f-0x0000010f overlaps "
		 "first at 0x00000100-0x0000010f");
	it_fails(img, dfu_image_add_mem(img, 0xf0, buf, 0x11, "low"),
		 DFU_ERR_RANGE, "first at 0x00000100-0x0000010f overlaps "
		 "low at 0x000000f0-0x00000100");
	/* A failed add leaves the image as it was. */
	assert_int_equal(dfu_image_piece_count(img), 1);
	it_range(img, 0, 0x100, 0x10);
	/* The very top of the address space is fine; one byte more is not. */
	it_ok(img, dfu_image_add_mem(img, 0xffffff00, buf, 0x100, "top"));
	it_range(img, 1, 0xffffff00, 0x100);
	it_fails(img, dfu_image_add_mem(img, 0xfffffff0, buf, 0x11, "past"),
		 DFU_ERR_RANGE, "past: 0xfffffff0 + 0x11 bytes runs past 4 GiB");
	it_fails(img, dfu_image_read(img, 0xffffffff, buf, 2), DFU_ERR_RANGE,
		 "0xffffffff + 0x2 bytes runs past 4 GiB");
	assert_int_equal(dfu_image_add_mem(img, 0, NULL, 1, NULL),
			 DFU_ERR_INVALID);
	assert_int_equal(dfu_image_add_mem(NULL, 0, buf, 1, NULL),
			 DFU_ERR_INVALID);
	dfu_image_free(img);
}

/* Write f, read it back, and return the handle of the read file. */
static struct dfu_file *
reread(struct dfu_file *f, int *fdp)
{
	int fd = it_fd("", 0);
	struct dfu_file *r = dfu_file_new();

	assert_int_equal(dfu_file_write_fd(f, fd), 0);
	if (dfu_file_read_fd(r, fd, 0) != 0)
		fail_msg("read back: %s", dfu_file_errmsg(r));
	*fdp = fd;
	return r;
}

static void
check_element(struct dfu_file *r, unsigned t, unsigned e, uint32_t addr,
	      const uint8_t *want, uint32_t size)
{
	const struct dfu_element *el = dfu_file_element(r, t, e);
	uint8_t *got = malloc(size);

	assert_non_null(el);
	assert_non_null(got);
	if (el->address != addr || el->size != size)
		fail_msg("element %u.%u: 0x%08x+%u, want 0x%08x+%u", t, e,
			 el->address, el->size, addr, size);
	assert_int_equal(dfu_file_element_read(r, t, e, 0, got, size), 0);
	assert_memory_equal(got, want, size);
	free(got);
}

static void
test_add_elements(void **state)
{
	struct dfu_image *img = dfu_image_new();
	struct dfu_file *f = dfu_file_new(), *r;
	uint8_t a[16], b[8], c[4], want[40];
	unsigned n;
	int fd;

	(void)state;
	for (unsigned i = 0; i < 16; i++)
		a[i] = (uint8_t)i;
	memset(b, 0xbb, sizeof(b));
	memset(c, 0xcc, sizeof(c));
	/* a at 0x1000, b 8 bytes after it, c far away. */
	it_ok(img, dfu_image_add_mem(img, 0x1000, a, 16, "a"));
	it_ok(img, dfu_image_add_mem(img, 0x1018, b, 8, "b"));
	it_ok(img, dfu_image_add_mem(img, 0x8000, c, 4, "c"));
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_add_target(f, 0, NULL), 0);
	assert_int_equal(dfu_file_add_target(f, 1, NULL), 1);
	assert_int_equal(dfu_file_add_target(f, 2, NULL), 2);
	assert_int_equal(dfu_file_add_target(f, 3, NULL), 3);
	/* Target 0: no gap filling, everything: three elements. */
	it_ok(img, dfu_image_add_elements(img, f, 0, 0, UINT32_MAX, 0, 0, &n));
	assert_int_equal(n, 3);
	/* Target 1: gaps up to 8 bytes filled with 0x11: two elements. */
	it_ok(img, dfu_image_add_elements(img, f, 1, 0, UINT32_MAX, 8, 0x11,
					  &n));
	assert_int_equal(n, 2);
	/* Target 2: a gap of 8 is larger than 7: no filling. */
	it_ok(img, dfu_image_add_elements(img, f, 2, 0, 0x7fff, 7, 0x11, &n));
	assert_int_equal(n, 2);
	/* Target 3: cut at 0x1004 and 0x101b, filled between. */
	it_ok(img, dfu_image_add_elements(img, f, 3, 0x1004, 0x101b, 100, 0x22,
					  &n));
	assert_int_equal(n, 1);
	/* Nothing between the bounds is no element and no error. */
	it_ok(img, dfu_image_add_elements(img, f, 3, 0x2000, 0x7fff, 0, 0, &n));
	assert_int_equal(n, 0);
	assert_int_equal(dfu_image_add_elements(img, f, 3, 2, 1, 0, 0, &n),
			 DFU_ERR_INVALID);

	r = reread(f, &fd);
	assert_int_equal(dfu_file_element_count(r, 0), 3);
	check_element(r, 0, 0, 0x1000, a, 16);
	check_element(r, 0, 1, 0x1018, b, 8);
	check_element(r, 0, 2, 0x8000, c, 4);
	memcpy(want, a, 16);
	memset(want + 16, 0x11, 8);
	memcpy(want + 24, b, 8);
	assert_int_equal(dfu_file_element_count(r, 1), 2);
	check_element(r, 1, 0, 0x1000, want, 32);
	check_element(r, 1, 1, 0x8000, c, 4);
	assert_int_equal(dfu_file_element_count(r, 2), 2);
	check_element(r, 2, 0, 0x1000, a, 16);
	check_element(r, 2, 1, 0x1018, b, 8);
	memcpy(want, a + 4, 12);
	memset(want + 12, 0x22, 8);
	memcpy(want + 20, b, 4);
	assert_int_equal(dfu_file_element_count(r, 3), 1);
	check_element(r, 3, 0, 0x1004, want, 24);
	dfu_file_free(r);
	close(fd);
	dfu_file_free(f);
	dfu_image_free(img);
}

/* A failure of the dfu_file call is reported on the image. */
static void
test_add_elements_error(void **state)
{
	struct dfu_image *img = dfu_image_new();
	struct dfu_file *f = dfu_file_new();
	uint8_t a[4] = { 0 };

	(void)state;
	it_ok(img, dfu_image_add_mem(img, 0x1000, a, 4, "a"));
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_add_target(f, 0, NULL), 0);
	it_ok(img, dfu_image_add_elements(img, f, 0, 0, UINT32_MAX, 0, 0,
					  NULL));
	/* The same bytes again into the same target overlap. */
	assert_int_equal(dfu_image_add_elements(img, f, 0, 0, UINT32_MAX, 0, 0,
						NULL), DFU_ERR_RANGE);
	assert_string_equal(dfu_image_errmsg(img), dfu_file_errmsg(f));
	assert_true(strlen(dfu_image_errmsg(img)) > 0);
	/* A target that does not exist. */
	assert_int_equal(dfu_image_add_elements(img, f, 7, 0, UINT32_MAX, 0, 0,
						NULL), DFU_ERR_INVALID);
	dfu_file_free(f);
	dfu_image_free(img);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_overlap_and_limits),
		cmocka_unit_test(test_add_elements),
		cmocka_unit_test(test_add_elements_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
