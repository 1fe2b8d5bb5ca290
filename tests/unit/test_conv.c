/*
 * test_conv.c - a memory image made into a DfuSe file (dfuconv.h): one
 * target takes everything; ranges, with the rest to the target that has
 * none; split points in any order; gaps spanned and filled up to max_gap;
 * padding and IDs; and every error by code and exact message, labels
 * given or not.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dfuconv.h"

/* The call failed with this code and exactly this message. */
#define cv_fails(c, call, code, msg)                                          \
	do {                                                                  \
		int rc_ = (call);                                             \
		if (rc_ != (code) || strcmp(dfu_conv_errmsg(c), (msg)) != 0)  \
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", #call,  \
				 rc_, dfu_conv_errmsg(c), (code), (msg));     \
	} while (0)

#define cv_ok(c, call)                                                        \
	do {                                                                  \
		int rc_ = (call);                                             \
		if (rc_ != 0)                                                 \
			fail_msg("%s: got %d \"%s\"", #call, rc_,             \
				 dfu_conv_errmsg(c));                         \
	} while (0)

static const uint8_t A[4] = { 1, 2, 3, 4 };	/* at 0x1000 */
static const uint8_t B[2] = { 5, 6 };		/* at 0x1008 */
static const uint8_t C[3] = { 7, 8, 9 };	/* at 0x2000 */

/* An image of A, B and C. */
static struct dfu_image *
image_abc(void)
{
	struct dfu_image *img = dfu_image_new();

	assert_non_null(img);
	assert_int_equal(dfu_image_add_mem(img, 0x1000, A, 4, "a"), 0);
	assert_int_equal(dfu_image_add_mem(img, 0x1008, B, 2, "b"), 0);
	assert_int_equal(dfu_image_add_mem(img, 0x2000, C, 3, "c"), 0);
	return img;
}

/* Target t of f is alt alt with n elements. */
static void
has_target(const struct dfu_file *f, unsigned t, unsigned alt, unsigned n)
{
	const struct dfuse_target *tg = dfu_file_target(f, t);

	assert_non_null(tg);
	assert_int_equal(tg->bAlternateSetting, alt);
	assert_int_equal(dfu_file_element_count(f, t), n);
}

/* Element e of target t is at address and holds len bytes equal to want. */
static void
has_element(struct dfu_file *f, unsigned t, unsigned e, uint32_t address,
	    const void *want, size_t len)
{
	const struct dfu_element *el = dfu_file_element(f, t, e);
	uint8_t buf[64];

	assert_non_null(el);
	assert_int_equal(el->address, address);
	assert_int_equal(el->size, len);
	assert_true(len <= sizeof(buf));
	assert_int_equal(dfu_file_element_read(f, t, e, 0, buf, len), 0);
	assert_memory_equal(buf, want, len);
}

/* One unlabelled target takes every byte, each range its own element;
 * the IDs go to the suffix, the name to the target. */
static void
test_one_target(void **state)
{
	struct dfu_conv *c = dfu_conv_new();
	struct dfu_image *img = image_abc();
	struct dfu_file *f = dfu_file_new();
	const struct dfu_suffix *s;

	(void)state;
	assert_non_null(c);
	assert_string_equal(dfu_conv_errmsg(c), "");
	assert_int_equal(dfu_conv_add_target(c, 3, "flash", NULL), 0);
	cv_ok(c, dfu_conv_set_ids(c, 0x0483, 0xdf11, 0x2200));
	cv_ok(c, dfu_conv_build(c, img, f));
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_DFUSE);
	assert_int_equal(dfu_file_target_count(f), 1);
	has_target(f, 0, 3, 3);
	assert_string_equal(dfu_file_target(f, 0)->szTargetName, "flash");
	assert_int_equal(dfu_file_target(f, 0)->bTargetNamed, 1);
	has_element(f, 0, 0, 0x1000, A, 4);
	has_element(f, 0, 1, 0x1008, B, 2);
	has_element(f, 0, 2, 0x2000, C, 3);
	assert_non_null(s = dfu_file_suffix(f));
	assert_int_equal(s->idVendor, 0x0483);
	assert_int_equal(s->idProduct, 0xdf11);
	assert_int_equal(s->bcdDevice, 0x2200);
	assert_int_equal(dfu_conv_uncovered(c, NULL, NULL), 0);
	dfu_file_free(f);
	dfu_image_free(img);
	dfu_conv_free(c);
	dfu_conv_free(NULL);
	assert_string_equal(dfu_conv_errmsg(NULL), "");
}

/* A range cuts the image at its bounds; the target without a range gets
 * what lies outside every range, before and after. */
static void
test_ranges_and_rest(void **state)
{
	struct dfu_conv *c = dfu_conv_new();
	struct dfu_image *img = image_abc();
	struct dfu_file *f = dfu_file_new();

	(void)state;
	assert_int_equal(dfu_conv_add_target(c, 0, NULL, "rest"), 0);
	assert_int_equal(dfu_conv_add_target(c, 1, NULL, "mid"), 1);
	cv_ok(c, dfu_conv_add_range(c, 1, 0x1002, 0x1009, "r"));
	cv_ok(c, dfu_conv_check(c));
	cv_ok(c, dfu_conv_build(c, img, f));
	assert_int_equal(dfu_file_target_count(f), 2);
	has_target(f, 0, 0, 2);
	has_element(f, 0, 0, 0x1000, A, 2);
	has_element(f, 0, 1, 0x2000, C, 3);
	has_target(f, 1, 1, 2);
	has_element(f, 1, 0, 0x1002, A + 2, 2);
	has_element(f, 1, 1, 0x1008, B, 2);
	dfu_file_free(f);
	dfu_image_free(img);
	dfu_conv_free(c);
}

/* Ranges at both ends of the address space: the rest is what lies
 * between them, with no wrap past 0xffffffff. */
static void
test_address_space_ends(void **state)
{
	const uint8_t lo[2] = { 0x10, 0x11 }, hi[2] = { 0xe0, 0xe1 };
	struct dfu_conv *c = dfu_conv_new();
	struct dfu_image *img = dfu_image_new();
	struct dfu_file *f = dfu_file_new();

	(void)state;
	assert_int_equal(dfu_image_add_mem(img, 0, lo, 2, "lo"), 0);
	assert_int_equal(dfu_image_add_mem(img, 0xfffffffe, hi, 2, "hi"), 0);
	assert_int_equal(dfu_conv_add_target(c, 0, NULL, NULL), 0);
	assert_int_equal(dfu_conv_add_target(c, 1, NULL, NULL), 1);
	cv_ok(c, dfu_conv_add_range(c, 1, 0, 0, NULL));
	cv_ok(c, dfu_conv_add_range(c, 1, 0xffffffff, 0xffffffff, NULL));
	cv_ok(c, dfu_conv_build(c, img, f));
	has_target(f, 0, 0, 2);
	has_element(f, 0, 0, 1, lo + 1, 1);
	has_element(f, 0, 1, 0xfffffffe, hi, 1);
	has_target(f, 1, 1, 2);
	has_element(f, 1, 0, 0, lo, 1);
	has_element(f, 1, 1, 0xffffffff, hi + 1, 1);
	dfu_file_free(f);
	dfu_image_free(img);
	dfu_conv_free(c);
}

/* Split points in any order cut the address space into parts, one per
 * target in target order. */
static void
test_split(void **state)
{
	struct dfu_conv *c = dfu_conv_new();
	struct dfu_image *img = image_abc();
	struct dfu_file *f = dfu_file_new();

	(void)state;
	for (unsigned alt = 0; alt < 3; alt++)
		assert_int_equal(dfu_conv_add_target(c, alt + 4, NULL, NULL),
				 (int)alt);
	cv_ok(c, dfu_conv_add_split(c, 0x2000));
	cv_ok(c, dfu_conv_add_split(c, 0x1004));
	cv_ok(c, dfu_conv_build(c, img, f));
	assert_int_equal(dfu_file_target_count(f), 3);
	has_target(f, 0, 4, 1);
	has_element(f, 0, 0, 0x1000, A, 4);
	has_target(f, 1, 5, 1);
	has_element(f, 1, 0, 0x1008, B, 2);
	has_target(f, 2, 6, 1);
	has_element(f, 2, 0, 0x2000, C, 3);
	dfu_file_free(f);
	dfu_image_free(img);
	dfu_conv_free(c);
}

/* A gap of at most max_gap bytes within a target reads as the fill byte
 * and joins two ranges; a larger one does not; padding rounds up. */
static void
test_gap_and_pad(void **state)
{
	const uint8_t ab[10] = { 1, 2, 3, 4, 0xaa, 0xaa, 0xaa, 0xaa, 5, 6 };
	const uint8_t c8[8] = { 7, 8, 9, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a };
	struct dfu_conv *c = dfu_conv_new();
	struct dfu_image *img = image_abc();
	struct dfu_file *f = dfu_file_new();

	(void)state;
	assert_int_equal(dfu_conv_add_target(c, 0, NULL, NULL), 0);
	cv_ok(c, dfu_conv_set_gap(c, 4, 0xaa));
	cv_ok(c, dfu_conv_build(c, img, f));
	has_target(f, 0, 0, 2);
	has_element(f, 0, 0, 0x1000, ab, 10);
	has_element(f, 0, 1, 0x2000, C, 3);

	cv_ok(c, dfu_conv_set_gap(c, 3, 0xaa));	/* the gap is 4 bytes */
	cv_ok(c, dfu_conv_set_pad(c, 8, 0x5a));
	cv_ok(c, dfu_conv_build(c, img, f));	/* f's content is dropped */
	assert_int_equal(dfu_file_target_count(f), 1);
	has_target(f, 0, 0, 3);
	has_element(f, 0, 2, 0x2000, c8, 8);
	dfu_file_free(f);
	dfu_image_free(img);
	dfu_conv_free(c);
}

/* What dfu_conv_check() refuses, as dfu_conv_build() does. */
static void
test_check_errors(void **state)
{
	struct dfu_conv *c = dfu_conv_new();
	struct dfu_image *img = image_abc();
	struct dfu_file *f = dfu_file_new();

	(void)state;
	cv_fails(c, dfu_conv_check(c), DFU_ERR_INVALID, "no target");
	cv_fails(c, dfu_conv_build(c, img, f), DFU_ERR_INVALID, "no target");
	assert_int_equal(dfu_conv_add_target(c, 0, NULL, "-t 0"), 0);
	assert_int_equal(dfu_conv_add_target(c, 1, NULL, "-t 1"), 1);
	cv_fails(c, dfu_conv_check(c), DFU_ERR_INVALID,
		 "-t 0 and -t 1 have no range: only one target can take the "
		 "addresses no range covers");
	cv_ok(c, dfu_conv_add_range(c, 1, 0x100, 0x1ff, "--range 0x100-0x1ff"));
	cv_ok(c, dfu_conv_check(c));
	cv_ok(c, dfu_conv_add_range(c, 0, 0x1ff, 0x1ff, NULL));
	cv_fails(c, dfu_conv_check(c), DFU_ERR_INVALID,
		 "range 0x000001ff-0x000001ff overlaps --range 0x100-0x1ff");
	cv_fails(c, dfu_conv_build(c, img, f), DFU_ERR_INVALID,
		 "range 0x000001ff-0x000001ff overlaps --range 0x100-0x1ff");
	cv_ok(c, dfu_conv_add_split(c, 0x100));
	cv_fails(c, dfu_conv_check(c), DFU_ERR_INVALID,
		 "ranges cannot be used with split points");
	dfu_conv_free(c);

	c = dfu_conv_new();
	assert_int_equal(dfu_conv_add_target(c, 0, NULL, NULL), 0);
	cv_ok(c, dfu_conv_add_split(c, 0x100));
	cv_ok(c, dfu_conv_add_split(c, 0x100));
	cv_fails(c, dfu_conv_check(c), DFU_ERR_INVALID,
		 "split point 0x00000100 given twice");
	dfu_conv_free(c);

	c = dfu_conv_new();
	assert_int_equal(dfu_conv_add_target(c, 0, NULL, NULL), 0);
	cv_ok(c, dfu_conv_add_split(c, 0x100));
	cv_fails(c, dfu_conv_check(c), DFU_ERR_INVALID, "2 parts but 1 target");
	dfu_conv_free(c);
	dfu_file_free(f);
	dfu_image_free(img);
}

/* Arguments refused when given. */
static void
test_argument_errors(void **state)
{
	struct dfu_conv *c = dfu_conv_new();
	char name[DFUSE_TARGET_NAME_SIZE + 1];

	(void)state;
	cv_fails(c, dfu_conv_add_target(c, 256, NULL, NULL), DFU_ERR_INVALID,
		 "alternate setting 256: above 255");
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	cv_fails(c, dfu_conv_add_target(c, 0, name, NULL), DFU_ERR_INVALID,
		 "target name of 255 bytes: at most 254");
	cv_fails(c, dfu_conv_add_range(c, 0, 0, 1, NULL), DFU_ERR_INVALID,
		 "range for target 0: there are 0 targets");
	for (unsigned i = 0; i < DFUSE_MAX_TARGETS; i++)
		assert_int_equal(dfu_conv_add_target(c, i, NULL, NULL), (int)i);
	cv_fails(c, dfu_conv_add_target(c, 0, NULL, NULL), DFU_ERR_RANGE,
		 "more than 255 targets");
	cv_fails(c, dfu_conv_add_range(c, 0, 0x200, 0x1ff, NULL),
		 DFU_ERR_INVALID, "range 0x00000200-0x000001ff: the last "
		 "address is below the first");
	cv_fails(c, dfu_conv_add_split(c, 0), DFU_ERR_INVALID,
		 "split point 0x00000000: a part must start after address 0");
	/* A later success clears the message. */
	cv_ok(c, dfu_conv_add_split(c, 1));
	assert_string_equal(dfu_conv_errmsg(c), "");
	assert_int_equal(dfu_conv_add_target(NULL, 0, NULL, NULL),
			 DFU_ERR_INVALID);
	assert_int_equal(dfu_conv_build(c, NULL, NULL), DFU_ERR_INVALID);
	dfu_conv_free(c);
}

/* Errors that need the image: bytes outside every range with no target
 * for the rest (as far as the next range), a target with no byte. */
static void
test_build_errors(void **state)
{
	struct dfu_conv *c = dfu_conv_new();
	struct dfu_image *img = image_abc();
	struct dfu_file *f = dfu_file_new();
	uint32_t first = 0, last = 0;

	(void)state;
	assert_int_equal(dfu_conv_add_target(c, 0, NULL, NULL), 0);
	cv_ok(c, dfu_conv_add_range(c, 0, 0x1000, 0x1003, NULL));
	cv_ok(c, dfu_conv_add_range(c, 0, 0x1009, 0x1fff, NULL));
	cv_fails(c, dfu_conv_build(c, img, f), DFU_ERR_RANGE,
		 "0x00001008-0x00001008 is in no target's range");
	assert_int_equal(dfu_conv_uncovered(c, &first, &last), 1);
	assert_int_equal(first, 0x1008);
	assert_int_equal(last, 0x1008);
	cv_ok(c, dfu_conv_add_range(c, 0, 0x1004, 0x1008, NULL));
	assert_int_equal(dfu_conv_uncovered(c, &first, &last), 0);
	cv_fails(c, dfu_conv_build(c, img, f), DFU_ERR_RANGE,
		 "0x00002000-0x00002002 is in no target's range");
	dfu_conv_free(c);

	/* A range with no data in it. */
	c = dfu_conv_new();
	assert_int_equal(dfu_conv_add_target(c, 0, NULL, NULL), 0);
	assert_int_equal(dfu_conv_add_target(c, 1, NULL, "-t 1"), 1);
	cv_ok(c, dfu_conv_add_range(c, 1, 0x3000, 0x3fff, NULL));
	cv_fails(c, dfu_conv_build(c, img, f), DFU_ERR_RANGE,
		 "-t 1: no data in its address ranges");
	dfu_conv_free(c);

	/* A split point past the image leaves the last part empty. */
	c = dfu_conv_new();
	assert_int_equal(dfu_conv_add_target(c, 0, NULL, NULL), 0);
	assert_int_equal(dfu_conv_add_target(c, 1, NULL, NULL), 1);
	cv_ok(c, dfu_conv_add_split(c, 0x8000));
	cv_fails(c, dfu_conv_build(c, img, f), DFU_ERR_RANGE,
		 "target alt 1: no data in 0x00008000-0xffffffff");
	dfu_conv_free(c);

	/* Padding that makes two elements overlap: the file's message. */
	c = dfu_conv_new();
	assert_int_equal(dfu_conv_add_target(c, 0, NULL, NULL), 0);
	cv_ok(c, dfu_conv_set_pad(c, 16, 0xff));
	cv_fails(c, dfu_conv_build(c, img, f), DFU_ERR_RANGE,
		 "padding element 0 of target 0 to 16 bytes: "
		 "0x00001000-0x0000100f overlaps element 1 "
		 "(0x00001008-0x00001009) of target 0");
	dfu_conv_free(c);
	dfu_file_free(f);
	dfu_image_free(img);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_target),
		cmocka_unit_test(test_ranges_and_rest),
		cmocka_unit_test(test_address_space_ends),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_gap_and_pad),
		cmocka_unit_test(test_check_errors),
		cmocka_unit_test(test_argument_errors),
		cmocka_unit_test(test_build_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
