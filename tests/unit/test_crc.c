/*
 * test_crc.c - dfu_crc_update(): the dwCRC of the DFU suffix
 * (CRC-32/JAMCRC: reflected 0xedb88320, init 0xffffffff, no final xor),
 * and the CRC check a reader defers to its caller (DFU_READ_DEFER_CRC).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dfu_test_build.h"
#include "dfufile_private.h"

static void
test_check_value(void **state)
{
	(void)state;
	assert_int_equal(DFU_CRC_INIT, 0xffffffffu);
	assert_int_equal(dfu_crc_update(DFU_CRC_INIT, "123456789", 9),
			 0x340bc6d9u);
	/* It is the complement of zlib's crc32 ("123456789" -> 0xcbf43926). */
	assert_int_equal(~dfu_crc_update(DFU_CRC_INIT, "123456789", 9),
			 0xcbf43926u);
}

static void
test_single_bytes(void **state)
{
	const uint8_t zero = 0x00, ff = 0xff;

	(void)state;
	/* ~crc32(b"\0") = 0x2dfd1072, ~crc32(b"\xff") = 0x00ffffff. */
	assert_int_equal(dfu_crc_update(DFU_CRC_INIT, &zero, 1), 0x2dfd1072u);
	assert_int_equal(dfu_crc_update(DFU_CRC_INIT, &ff, 1), 0x00ffffffu);
}

static void
test_empty_input(void **state)
{
	(void)state;
	assert_int_equal(dfu_crc_update(DFU_CRC_INIT, "", 0), DFU_CRC_INIT);
	assert_int_equal(dfu_crc_update(0x12345678u, "x", 0), 0x12345678u);
	/* A NULL buffer of length 0 is nothing to read. */
	assert_int_equal(dfu_crc_update(0xdeadbeefu, NULL, 0), 0xdeadbeefu);
}

static void
test_incremental_equals_one_shot(void **state)
{
	uint8_t buf[1000];
	uint32_t one, inc;
	size_t i, split;

	(void)state;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131u + 7u);
	one = dfu_crc_update(DFU_CRC_INIT, buf, sizeof(buf));
	assert_int_equal(one, tb_crc(buf, sizeof(buf)));
	for (split = 0; split <= sizeof(buf); split += 37) {
		inc = dfu_crc_update(DFU_CRC_INIT, buf, split);
		inc = dfu_crc_update(inc, buf + split, sizeof(buf) - split);
		assert_int_equal(inc, one);
	}
	/* Byte by byte. */
	inc = DFU_CRC_INIT;
	for (i = 0; i < sizeof(buf); i++)
		inc = dfu_crc_update(inc, buf + i, 1);
	assert_int_equal(inc, one);
}

static void
test_unaligned_and_long(void **state)
{
	size_t n = 3u << 20, i, off;
	uint8_t *buf = malloc(n + 8);

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < n + 8; i++)
		buf[i] = (uint8_t)(i ^ (i >> 9));
	/* Every start alignment gives the same as zlib. */
	for (off = 0; off < 8; off++)
		assert_int_equal(dfu_crc_update(DFU_CRC_INIT, buf + off, n),
				 tb_crc(buf + off, n));
	free(buf);
}

/* A reproducible pseudo-random byte stream (xorshift32). */
static void
fill_random(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		p[i] = (uint8_t)(seed >> 24);
	}
}

/*
 * dfu_crc_update() against zlib's crc32(), the reference (tb_crc()), on
 * random bytes: lengths around the widths a vectorised CRC works in (16,
 * 64, 256 bytes) and long ones, every start alignment, and every length
 * cut into two and three updates at odd places.
 */
static void
test_random_buffers_match_zlib(void **state)
{
	static const size_t lens[] = {
		0, 1, 2, 3, 7, 15, 16, 17, 31, 63, 64, 65, 127, 255, 256, 257,
		1023, 4093, 65537, (1u << 20) + 3,
	};
	size_t big = (1u << 20) + 3 + 64, i, off, cut, len;
	uint8_t *buf = malloc(big);
	uint32_t crc;

	(void)state;
	assert_non_null(buf);
	fill_random(buf, big, 0x9e3779b9u);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		len = lens[i];
		for (off = 0; off < 17; off++) {
			assert_int_equal(dfu_crc_update(DFU_CRC_INIT,
			    buf + off, len), tb_crc(buf + off, len));
			/* Split at an odd place: two updates, then three. */
			cut = len / 3 | 1;
			if (cut > len)
				cut = len;
			crc = dfu_crc_update(DFU_CRC_INIT, buf + off, cut);
			crc = dfu_crc_update(crc, buf + off + cut, len - cut);
			assert_int_equal(crc, tb_crc(buf + off, len));
			crc = dfu_crc_update(DFU_CRC_INIT, buf + off, cut);
			crc = dfu_crc_update(crc, buf + off + cut,
			    (len - cut) / 2);
			crc = dfu_crc_update(crc, buf + off + cut +
			    (len - cut) / 2, len - cut - (len - cut) / 2);
			assert_int_equal(crc, tb_crc(buf + off, len));
		}
	}
	/* A running CRC that is not the initial one continues as zlib's
	 * does from the complemented state. */
	for (i = 0; i < 64; i++) {
		crc = (uint32_t)i * 0x01000193u ^ 0xa5a5a5a5u;
		assert_int_equal(dfu_crc_update(crc, buf + i, 1000 + i),
		    ~(uint32_t)crc32(~crc & 0xffffffffu, buf + i,
		    (uInt)(1000 + i)));
	}
	free(buf);
}

/* dfui_crc_combine(): two halves summed apart give the whole; for lengths
 * too large to sum here, it agrees with zlib's crc32_combine(). */
static void
test_combine(void **state)
{
	static const size_t lens[] = { 0, 1, 3, 64, 1000, 65536 + 7 };
	uint8_t buf[2 * (65536 + 7)];
	uint32_t a, b;
	size_t i, j;

	(void)state;
	fill_random(buf, sizeof(buf), 0x12345678u);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			a = dfu_crc_update(DFU_CRC_INIT, buf, lens[i]);
			b = dfu_crc_update(DFU_CRC_INIT, buf + lens[i], lens[j]);
			assert_int_equal(dfui_crc_combine(a, b, lens[j]),
			    tb_crc(buf, lens[i] + lens[j]));
		}
	/* 4 GiB and more: zlib's crc32_combine() takes standard CRCs, the
	 * complements of dwCRC. */
	a = 0x01234567u;
	b = 0x89abcdefu;
	for (i = 0; i < 40; i++) {
		uint64_t n = ((uint64_t)1 << i) * 3 + i;

		assert_int_equal(dfui_crc_combine(a, b, n),
		    ~(uint32_t)crc32_combine64(~a & 0xffffffffu,
		    ~b & 0xffffffffu, (z_off64_t)n) & 0xffffffffu);
	}
}

/*
 * The dwCRC of a small plain DFU file: payload 01..08, then bcdDevice
 * 0x0100, idProduct 0x6001, idVendor 0x1d50, bcdDFU 0x0100, "UFD", 16.
 * The expected value was computed by hand with ~zlib.crc32().
 */
static void
test_suffix_crc_of_small_file(void **state)
{
	static const uint8_t file[] = {
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x00, 0x01, 0x01, 0x60, 0x50, 0x1d, 0x00, 0x01,
		'U', 'F', 'D', 16,
	};

	(void)state;
	assert_int_equal(dfu_crc_update(DFU_CRC_INIT, file, sizeof(file)),
			 0x021c5584u);
}

/* The tiny DfuSe file of test_write.c: dwCRC 0x4492ad97. */
static void
test_suffix_crc_of_small_dfuse_file(void **state)
{
	struct tb b;

	(void)state;
	tb_init(&b);
	tb_dfuse_prefix(&b, 1, 297, 1);
	tb_target(&b, 0, 1, "ST", 12, 1);
	tb_u32(&b, 0x08000000u);
	tb_u32(&b, 4);
	tb_put(&b, "\x01\x02\x03\x04", 4);
	tb_suffix(&b, 0x0200, 0xdf11, 0x0483, DFU_BCD_DFUSE, 16);
	assert_int_equal(b.len, 313);
	assert_int_equal(dfu_crc_update(DFU_CRC_INIT, b.p, b.len - 4),
			 0x4492ad97u);
	assert_int_equal(tb_get_u32(b.p + b.len - 4), 0x4492ad97u);
	tb_free(&b);
}

/* ---- DFU_READ_DEFER_CRC: the caller feeds the bytes ------------------- */

/* A plain file: 1000 payload bytes and a suffix; byte `flip` of the
 * payload flipped after the CRC was computed (or none, flip < 0). */
static void
plain_file(struct tb *b, int flip)
{
	size_t i;

	tb_init(b);
	for (i = 0; i < 1000; i++)
		tb_u8(b, (uint8_t)(i * 7u + 1u));
	tb_suffix(b, TB_DEV, TB_PID, TB_VID, DFU_BCD_DFU_1_0, 16);
	if (flip >= 0)
		b->p[flip] ^= 1;
}

/* Read b deferred and feed it in chunks of `step` bytes, the whole file
 * (the last 4 bytes included: they are ignored). */
static int
deferred(struct dfu_file *f, const struct tb *b, unsigned flags, size_t step)
{
	size_t off, n;
	int rc = dfu_file_read_mem(f, b->p, b->len, flags | DFU_READ_DEFER_CRC);

	assert_int_equal(rc, 0);
	for (off = 0; off < b->len; off += n) {
		n = b->len - off < step ? b->len - off : step;
		dfu_file_crc_feed(f, b->p + off, n);
	}
	return dfu_file_crc_check(f);
}

static void
test_deferred_good(void **state)
{
	struct dfu_file *f = dfu_file_new();
	struct tb b;

	(void)state;
	plain_file(&b, -1);
	assert_int_equal(deferred(f, &b, 0, 37), 0);
	assert_int_equal(dfu_file_crc(f), dfu_file_suffix(f)->dwCRC);
	assert_int_equal(dfu_file_error_count(f), 0);
	dfu_file_free(f);
	tb_free(&b);
}

/* A damaged file gives the read's own error, message and all. */
static void
test_deferred_mismatch_as_read(void **state)
{
	struct dfu_file *f = dfu_file_new(), *g = dfu_file_new();
	const struct dfu_diag *d, *e;
	struct tb b;
	size_t i;

	(void)state;
	plain_file(&b, 500);
	assert_int_equal(dfu_file_read_mem(g, b.p, b.len, 0), DFU_ERR_FORMAT);
	assert_int_equal(deferred(f, &b, 0, 1), DFU_ERR_FORMAT);
	assert_string_equal(dfu_file_errmsg(f), dfu_file_errmsg(g));
	assert_int_equal(dfu_file_error_count(f), 1);
	assert_int_equal(dfu_file_diag_count(f), dfu_file_diag_count(g));
	for (i = 0; i < dfu_file_diag_count(f); i++) {
		d = dfu_file_diag(f, i);
		e = dfu_file_diag(g, i);
		assert_string_equal(d->code, e->code);
		assert_string_equal(d->message, e->message);
		assert_int_equal(d->severity, e->severity);
	}
	assert_int_equal(dfu_file_crc(f), dfu_file_crc(g));
	/* With DFU_READ_IGNORE_CRC the mismatch is a note. */
	assert_int_equal(deferred(f, &b, DFU_READ_IGNORE_CRC, 4096), 0);
	assert_int_equal(dfu_file_error_count(f), 0);
	assert_int_not_equal(dfu_file_crc(f), dfu_file_suffix(f)->dwCRC);
	dfu_file_free(f);
	dfu_file_free(g);
	tb_free(&b);
}

static void
test_deferred_misuse(void **state)
{
	struct dfu_file *f = dfu_file_new();
	struct tb b;

	(void)state;
	plain_file(&b, -1);
	/* Not every byte fed. */
	assert_int_equal(dfu_file_read_mem(f, b.p, b.len, DFU_READ_DEFER_CRC),
			 0);
	dfu_file_crc_feed(f, b.p, 100);
	assert_int_equal(dfu_file_crc_check(f), DFU_ERR_INVALID);
	assert_string_equal(dfu_file_errmsg(f),
			    "100 of 1012 bytes fed for the CRC");
	/* A read that was not deferred has its verdict already. */
	assert_int_equal(dfu_file_read_mem(f, b.p, b.len, 0), 0);
	dfu_file_crc_feed(f, b.p, b.len);
	assert_int_equal(dfu_file_crc_check(f), DFU_ERR_INVALID);
	dfu_file_free(f);
	tb_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_single_bytes),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_incremental_equals_one_shot),
		cmocka_unit_test(test_unaligned_and_long),
		cmocka_unit_test(test_random_buffers_match_zlib),
		cmocka_unit_test(test_combine),
		cmocka_unit_test(test_suffix_crc_of_small_file),
		cmocka_unit_test(test_suffix_crc_of_small_dfuse_file),
		cmocka_unit_test(test_deferred_good),
		cmocka_unit_test(test_deferred_mismatch_as_read),
		cmocka_unit_test(test_deferred_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
