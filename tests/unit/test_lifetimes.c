/*
 * test_lifetimes.c - the pointer lifetimes the headers promise beyond
 * "until the next call": a diagnostic outlives building calls, an element
 * outlives the targets added after it, an image piece's origin outlives
 * later loads.  Each test keeps a pointer, makes the calls the header
 * says leave it valid, and checks the pointer still reads the same (under
 * make check SANITIZE=1, AddressSanitizer also catches a freed one).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dfu_test_build.h"
#include "dfufile.h"
#include "dfuimage.h"

static void
test_diag_outlives_building(void **state)
{
	struct dfu_file *f = dfu_file_new();
	const struct dfu_diag *d;
	const uint8_t data[4] = { 1, 2, 3, 4 };
	struct tb b;
	size_t n;
	char *code, *message;
	char longname[256];

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, 16); /* a note: image-size-excludes-suffix */
	assert_non_null(f);
	assert_int_equal(dfu_file_read_mem(f, b.p, b.len, 0), 0);
	n = dfu_file_diag_count(f);
	assert_true(n >= 1);
	d = dfu_file_diag(f, 0);
	code = strdup(d->code);
	message = strdup(d->message);
	assert_non_null(code);
	assert_non_null(message);

	assert_int_equal(dfu_file_set_ids(f, 0x0483, 0xdf11, 0x2200), 0);
	assert_int_equal(dfu_file_set_bcd_dfu(f, DFU_BCD_DFUSE), 0);
	assert_int_equal(dfu_file_add_target(f, 1, "second"), 1);
	assert_int_equal(dfu_file_add_element_mem(f, 1, 0x20000000u, data,
						  sizeof(data)), 0);
	assert_int_equal(dfu_file_pad_elements(f, 8, 0xff), 0);
	/* A failed call too: a name of 255 bytes is one too long. */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(dfu_file_add_target(f, 2, longname), DFU_ERR_INVALID);

	assert_int_equal(dfu_file_diag_count(f), n);
	assert_ptr_equal(dfu_file_diag(f, 0), d);
	assert_string_equal(d->code, code);
	assert_string_equal(d->message, message);
	free(code);
	free(message);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_element_outlives_new_targets(void **state)
{
	struct dfu_file *f = dfu_file_new();
	const struct dfu_element *e;
	uint8_t data[16];
	unsigned t, i;

	(void)state;
	memset(data, 0x5a, sizeof(data));
	assert_non_null(f);
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_add_target(f, 0, "first"), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x08000000u, data,
						  sizeof(data)), 0);
	e = dfu_file_element(f, 0, 0);
	assert_non_null(e);

	/* Enough targets and elements that every array is reallocated. */
	for (t = 1; t < 64; t++) {
		assert_int_equal(dfu_file_add_target(f, (uint8_t)t, NULL),
				 (int)t);
		for (i = 0; i < 8; i++)
			assert_int_equal(dfu_file_add_element_mem(f, t,
				0x08000000u + i * 0x100u, data, sizeof(data)),
				(int)i);
	}

	assert_ptr_equal(dfu_file_element(f, 0, 0), e);
	assert_int_equal(e->address, 0x08000000u);
	assert_int_equal(e->size, sizeof(data));
	dfu_file_free(f);
}

static void
test_origin_outlives_loads(void **state)
{
	struct dfu_image *img = dfu_image_new();
	const uint8_t byte = 0xa5;
	const char *origin, *again;
	char name[300];
	uint32_t address, size;
	unsigned i;

	(void)state;
	assert_non_null(img);
	assert_int_equal(dfu_image_add_mem(img, 0, &byte, 1, "first"), 0);
	assert_int_equal(dfu_image_piece(img, 0, &address, &size, &origin), 0);
	assert_string_equal(origin, "first");

	/* Long origins, so that the image's storage for them grows many
	 * times over. */
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	for (i = 1; i <= 2000; i++) {
		snprintf(name, 16, "piece %08u", i);
		name[14] = 'x';
		assert_int_equal(dfu_image_add_mem(img, i * 16u, &byte, 1,
						   name), 0);
	}

	assert_int_equal(dfu_image_piece_count(img), 2001);
	assert_int_equal(dfu_image_piece(img, 0, &address, &size, &again), 0);
	assert_int_equal(address, 0);
	assert_ptr_equal(again, origin);
	assert_string_equal(origin, "first");
	dfu_image_free(img);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diag_outlives_building),
		cmocka_unit_test(test_element_outlives_new_targets),
		cmocka_unit_test(test_origin_outlives_loads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
