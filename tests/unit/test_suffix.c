/*
 * test_suffix.c - dfu_suffix_decode() and dfu_suffix_encode(): the 16-byte
 * DFU suffix of DFU 1.1 table B-1, little-endian, in file order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dfu_test_build.h"

/* bcdDevice 0x1234, idProduct 0x5678, idVendor 0x9abc, bcdDFU 0x011a. */
static const uint8_t sample[DFU_SUFFIX_SIZE] = {
	0x34, 0x12, 0x78, 0x56, 0xbc, 0x9a, 0x1a, 0x01,
	'U', 'F', 'D', 16, 0x78, 0x56, 0x34, 0xf2,
};

static void
test_sizes(void **state)
{
	(void)state;
	assert_int_equal(DFU_SUFFIX_SIZE, 16);
	assert_int_equal(DFUSE_PREFIX_SIZE, 11);
	assert_int_equal(DFUSE_TARGET_PREFIX_SIZE, 274);
	assert_int_equal(DFUSE_ELEMENT_HEADER_SIZE, 8);
	assert_int_equal(DFUSE_TARGET_NAME_SIZE, 255);
	assert_int_equal(DFUSE_MAX_TARGETS, 255);
	assert_int_equal(DFU_STELLARIS_PREFIX_SIZE, 8);
	assert_int_equal(DFU_LPC_PREFIX_SIZE, 16);
	assert_int_equal(DFU_BCD_DFU_1_0, 0x0100);
	assert_int_equal(DFU_BCD_DFU_1_1, 0x0110);
	assert_int_equal(DFU_BCD_DFUSE, 0x011a);
	assert_int_equal(DFU_ID_ANY, 0xffff);
}

static void
test_decode_fields(void **state)
{
	struct dfu_suffix s;

	(void)state;
	memset(&s, 0xaa, sizeof(s));
	assert_int_equal(dfu_suffix_decode(&s, sample), 0);
	assert_int_equal(s.bcdDevice, 0x1234);
	assert_int_equal(s.idProduct, 0x5678);
	assert_int_equal(s.idVendor, 0x9abc);
	assert_int_equal(s.bcdDFU, 0x011a);
	assert_int_equal(s.ucDfuSignature[0], 'U');
	assert_int_equal(s.ucDfuSignature[1], 'F');
	assert_int_equal(s.ucDfuSignature[2], 'D');
	assert_int_equal(s.bLength, 16);
	assert_int_equal(s.dwCRC, 0xf2345678u);
}

static void
test_encode_bytes(void **state)
{
	struct dfu_suffix s;
	uint8_t out[DFU_SUFFIX_SIZE];

	(void)state;
	memset(&s, 0, sizeof(s));
	s.bcdDevice = 0x1234;
	s.idProduct = 0x5678;
	s.idVendor = 0x9abc;
	s.bcdDFU = 0x011a;
	memcpy(s.ucDfuSignature, "UFD", 3);
	s.bLength = 16;
	s.dwCRC = 0xf2345678u;
	memset(out, 0x55, sizeof(out));
	dfu_suffix_encode(&s, out);
	assert_memory_equal(out, sample, sizeof(sample));
}

static void
test_round_trip(void **state)
{
	struct dfu_suffix s, t;
	uint8_t buf[DFU_SUFFIX_SIZE], again[DFU_SUFFIX_SIZE];
	unsigned i;

	(void)state;
	for (i = 0; i < 64; i++) {
		memset(&s, 0, sizeof(s));
		s.bcdDevice = (uint16_t)(i * 0x1111u);
		s.idProduct = (uint16_t)(0xffffu - i * 0x0203u);
		s.idVendor = (uint16_t)(i * 0x0401u + 1u);
		s.bcdDFU = (uint16_t)(0x0100u + i);
		memcpy(s.ucDfuSignature, "UFD", 3);
		s.bLength = (uint8_t)(16 + i);
		s.dwCRC = 0x9e3779b9u * (i + 1);
		dfu_suffix_encode(&s, buf);
		memset(&t, 0, sizeof(t));
		assert_int_equal(dfu_suffix_decode(&t, buf), 0);
		assert_int_equal(t.bcdDevice, s.bcdDevice);
		assert_int_equal(t.idProduct, s.idProduct);
		assert_int_equal(t.idVendor, s.idVendor);
		assert_int_equal(t.bcdDFU, s.bcdDFU);
		assert_memory_equal(t.ucDfuSignature, "UFD", 3);
		assert_int_equal(t.bLength, s.bLength);
		assert_int_equal(t.dwCRC, s.dwCRC);
		dfu_suffix_encode(&t, again);
		assert_memory_equal(again, buf, sizeof(buf));
	}
}

static void
test_bad_signature(void **state)
{
	uint8_t buf[DFU_SUFFIX_SIZE];
	struct dfu_suffix s;
	unsigned i;

	(void)state;
	for (i = 8; i <= 10; i++) {
		memcpy(buf, sample, sizeof(buf));
		buf[i] ^= 0x20; /* 'u', 'f' or 'd': case matters */
		assert_int_equal(dfu_suffix_decode(&s, buf), DFU_ERR_FORMAT);
	}
	/* "DFU" in file order is the reversed signature, not "UFD". */
	memcpy(buf, sample, sizeof(buf));
	memcpy(buf + 8, "DFU", 3);
	assert_int_equal(dfu_suffix_decode(&s, buf), DFU_ERR_FORMAT);
}

/* decode does not judge bLength, bcdDFU or the CRC: that is the reader's. */
static void
test_decode_keeps_odd_values(void **state)
{
	uint8_t buf[DFU_SUFFIX_SIZE];
	struct dfu_suffix s;

	(void)state;
	memcpy(buf, sample, sizeof(buf));
	buf[11] = 0xff;
	buf[6] = 0x00;
	buf[7] = 0x02;
	assert_int_equal(dfu_suffix_decode(&s, buf), 0);
	assert_int_equal(s.bLength, 0xff);
	assert_int_equal(s.bcdDFU, 0x0200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_decode_fields),
		cmocka_unit_test(test_encode_bytes),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_decode_keeps_odd_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
