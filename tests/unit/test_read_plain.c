/*
 * test_read_plain.c - reading plain DFU 1.0/1.1 files (payload + suffix),
 * with and without a TI Stellaris or NXP LPC vendor prefix; the suffix
 * errors and notes; the payload accessors.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* syscall() */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/syscall.h>
#include <unistd.h>

#include "dfu_test_build.h"

/*
 * The library's positioned reads come here (the test links libdfufile.a,
 * and _FILE_OFFSET_BITS=64 makes pread() pread64()): once shrink_fd is
 * set, the first read of it at a non-zero offset (the suffix) cuts the
 * file to shrink_to bytes after it is done, as another program could.
 */
static int shrink_fd = -1;
static off_t shrink_to;

ssize_t pread64(int fd, void *buf, size_t n, off_t off);
ssize_t
pread64(int fd, void *buf, size_t n, off_t off)
{
	ssize_t r = (ssize_t)syscall(SYS_pread64, fd, buf, n, off);

	if (fd == shrink_fd && off > 0) {
		shrink_fd = -1;
		if (ftruncate(fd, shrink_to) != 0)
			return -1;
	}
	return r;
}

static struct dfu_file *
rd(const struct tb *b, unsigned flags, int want)
{
	struct dfu_file *f = dfu_file_new();
	int rc;

	assert_non_null(f);
	rc = dfu_file_read_mem(f, b->p, b->len, flags);
	if (rc != want)
		fail_msg("dfu_file_read_mem: want %d, got %d (%s); %s", want,
			 rc, dfu_file_errmsg(f), td_list(f));
	if (want == DFU_ERR_FORMAT) {
		assert_true(dfu_file_error_count(f) > 0);
		assert_true(strlen(dfu_file_errmsg(f)) > 0);
	}
	if (want == 0)
		assert_int_equal(dfu_file_error_count(f), 0);
	return f;
}

static void
check_payload(struct dfu_file *f, uint64_t size)
{
	uint8_t *buf = malloc(size + 1);
	uint64_t i;

	assert_non_null(buf);
	assert_int_equal(dfu_file_payload_size(f), size);
	if (size > 0)
		assert_int_equal(dfu_file_payload_read(f, 0, buf, size), 0);
	for (i = 0; i < size; i++)
		if (buf[i] != tb_pat(0, (uint32_t)i))
			fail_msg("payload byte %llu: 0x%02x, want 0x%02x",
				 (unsigned long long)i, buf[i],
				 tb_pat(0, (uint32_t)i));
	free(buf);
}

static void
test_plain_1_0(void **state)
{
	struct tb b;
	struct dfu_file *f;
	const struct dfu_suffix *s;

	(void)state;
	tb_init(&b);
	tb_plain(&b, NULL, 0, 100, DFU_BCD_DFU_1_0);
	f = rd(&b, 0, 0);
	assert_ndiag(f, 0);
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_PLAIN);
	assert_int_equal(dfu_file_size(f), 116);
	assert_int_equal(dfu_file_crc(f), tb_get_u32(b.p + 112));
	s = dfu_file_suffix(f);
	assert_non_null(s);
	assert_int_equal(s->bcdDevice, TB_DEV);
	assert_int_equal(s->idProduct, TB_PID);
	assert_int_equal(s->idVendor, TB_VID);
	assert_int_equal(s->bcdDFU, 0x0100);
	assert_int_equal(s->bLength, 16);
	assert_null(dfu_file_dfuse_prefix(f));
	assert_null(dfu_file_vendor_prefix(f));
	{
		uint8_t got[16];

		assert_int_equal(dfu_file_vendor_prefix_read(f, got, 16),
		    DFU_ERR_INVALID);
		assert_string_equal(dfu_file_errmsg(f), "no vendor prefix");
	}
	assert_int_equal(dfu_file_target_count(f), 0);
	assert_null(dfu_file_target(f, 0));
	check_payload(f, 100);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_plain_1_1(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_plain(&b, NULL, 0, 5000, DFU_BCD_DFU_1_1);
	f = rd(&b, 0, 0);
	assert_ndiag(f, 0);
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_PLAIN);
	assert_int_equal(dfu_file_suffix(f)->bcdDFU, 0x0110);
	check_payload(f, 5000);
	dfu_file_free(f);
	tb_free(&b);
}

/* A suffix alone: a plain file with an empty payload. */
static void
test_plain_empty_payload(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_plain(&b, NULL, 0, 0, DFU_BCD_DFU_1_0);
	assert_int_equal(b.len, 16);
	f = rd(&b, 0, 0);
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_PLAIN);
	assert_int_equal(dfu_file_payload_size(f), 0);
	assert_diag(f, DFU_NOTE, "empty-payload", 0, "payload");
	dfu_file_free(f);
	tb_free(&b);
}

/*
 * A DfuSe file whose "DfuSe" was damaged but whose suffix is intact: not a
 * plain file to download headers and all, but an error.  The same bytes
 * further on (not at offset 11) are payload like any other.
 */
static void
test_damaged_dfuse_signature(void **state)
{
	uint8_t payload[40] = { 'D', 'f', 'u', 'S', 'E', 1, 0, 0, 0, 0, 1,
				'T', 'a', 'r', 'g', 'e', 't' };
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_put(&b, payload, sizeof(payload));
	tb_suffix_std(&b, DFU_BCD_DFUSE);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "dfuse-signature", 0, "szSignature");
	assert_non_null(strstr(td_find(f, "dfuse-signature")->message,
			       "44 66 75 53 45"));
	dfu_file_free(f);
	tb_free(&b);

	memmove(payload + 1, payload, sizeof(payload) - 1);
	tb_init(&b);
	tb_put(&b, payload, sizeof(payload));
	tb_suffix_std(&b, DFU_BCD_DFU_1_1);
	f = rd(&b, 0, 0);
	assert_null(td_find(f, "dfuse-signature"));
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_payload_read_bounds(void **state)
{
	struct tb b;
	struct dfu_file *f;
	uint8_t buf[64];
	int rc;

	(void)state;
	tb_init(&b);
	tb_plain(&b, NULL, 0, 50, DFU_BCD_DFU_1_0);
	f = rd(&b, 0, 0);
	assert_int_equal(dfu_file_payload_read(f, 10, buf, 40), 0);
	assert_int_equal(buf[0], tb_pat(0, 10));
	assert_int_equal(buf[39], tb_pat(0, 49));
	/* The suffix is not payload. */
	rc = dfu_file_payload_read(f, 10, buf, 41);
	assert_true(rc == DFU_ERR_RANGE || rc == DFU_ERR_INVALID);
	rc = dfu_file_payload_read(f, UINT64_MAX, buf, 2);
	assert_true(rc == DFU_ERR_RANGE || rc == DFU_ERR_INVALID);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_not_dfu(void **state)
{
	struct tb b;
	struct dfu_file *f;
	unsigned i;

	(void)state;
	tb_init(&b);
	for (i = 0; i < 64; i++)
		tb_u8(&b, (uint8_t)(i * 37u + 11u));
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "not-dfu", 0, "file");
	assert_int_equal(dfu_file_error_count(f), 1);
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_UNKNOWN);
	assert_null(dfu_file_suffix(f));
	assert_null(dfu_file_dfuse_prefix(f));
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_too_short(void **state)
{
	static const uint8_t tiny[15] = { 'D', 'f', 'u', 'S', 'e', 1 };
	struct tb b;
	struct dfu_file *f;
	size_t n;

	(void)state;
	for (n = 0; n <= 15; n += 5) {
		tb_init(&b);
		tb_put(&b, tiny, n);
		f = rd(&b, 0, DFU_ERR_FORMAT);
		assert_diag(f, DFU_ERROR, "too-short", 0, "file");
		assert_int_equal(dfu_file_error_count(f), 1);
		assert_int_equal(dfu_file_format(f), DFU_FORMAT_UNKNOWN);
		assert_int_equal(dfu_file_size(f), n);
		dfu_file_free(f);
		tb_free(&b);
	}
}

static void
test_suffix_length(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	/* below 16 */
	tb_init(&b);
	tb_plain(&b, NULL, 0, 100, DFU_BCD_DFU_1_0);
	tb_set_u8(&b, b.len - 5, 15);
	tb_fix_crc(&b);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "suffix-length", b.len - 5, "bLength");
	dfu_file_free(f);
	tb_free(&b);

	/* beyond the file: 4 + 16 bytes, bLength 40 */
	tb_init(&b);
	tb_plain(&b, NULL, 0, 4, DFU_BCD_DFU_1_0);
	tb_set_u8(&b, b.len - 5, 40);
	tb_fix_crc(&b);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "suffix-length", b.len - 5, "bLength");
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_extended_suffix(void **state)
{
	struct tb b;
	struct dfu_file *f;
	uint32_t i;

	(void)state;
	tb_init(&b);
	for (i = 0; i < 100; i++)
		tb_u8(&b, tb_pat(0, i));
	tb_suffix(&b, TB_DEV, TB_PID, TB_VID, DFU_BCD_DFU_1_0, 20);
	assert_int_equal(b.len, 120);
	f = rd(&b, 0, 0);
	assert_diag(f, DFU_NOTE, "extended-suffix", b.len - 5, "bLength");
	assert_ndiag(f, 1);
	assert_int_equal(dfu_file_suffix(f)->bLength, 20);
	/* The 4 extra suffix bytes are not payload. */
	check_payload(f, 100);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_crc_mismatch(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_plain(&b, NULL, 0, 100, DFU_BCD_DFU_1_0);
	b.p[50] ^= 0xff;
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "crc-mismatch", b.len - 4, "dwCRC");
	assert_int_equal(dfu_file_error_count(f), 1);
	assert_int_equal(dfu_file_crc(f), tb_crc(b.p, b.len - 4));
	dfu_file_free(f);
	f = rd(&b, DFU_READ_IGNORE_CRC, 0);
	assert_diag(f, DFU_NOTE, "crc-mismatch", b.len - 4, "dwCRC");
	assert_ndiag(f, 1);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_wildcard_id(void **state)
{
	struct tb b;
	struct dfu_file *f;
	size_t s;

	(void)state;
	tb_init(&b);
	tb_plain(&b, NULL, 0, 10, DFU_BCD_DFU_1_0);
	s = b.len - 16;
	tb_set_u16(&b, s + TB_S_VENDOR, DFU_ID_ANY);
	tb_fix_crc(&b);
	f = rd(&b, 0, 0);
	assert_diag(f, DFU_NOTE, "wildcard-id", s + TB_S_VENDOR, "idVendor");
	assert_ndiag(f, 1);
	assert_int_equal(dfu_file_suffix(f)->idVendor, 0xffff);
	dfu_file_free(f);

	/* All three: one note per field, in file order. */
	tb_set_u16(&b, s + TB_S_DEVICE, DFU_ID_ANY);
	tb_set_u16(&b, s + TB_S_PRODUCT, DFU_ID_ANY);
	tb_fix_crc(&b);
	f = rd(&b, 0, 0);
	assert_ndiag(f, 3);
	assert_int_equal(td_count(f, "wildcard-id"), 3);
	assert_int_equal(dfu_file_diag(f, 0)->offset, s + TB_S_DEVICE);
	assert_string_equal(dfu_file_diag(f, 0)->field, "bcdDevice");
	assert_int_equal(dfu_file_diag(f, 1)->offset, s + TB_S_PRODUCT);
	assert_string_equal(dfu_file_diag(f, 1)->field, "idProduct");
	assert_int_equal(dfu_file_diag(f, 2)->offset, s + TB_S_VENDOR);
	assert_string_equal(dfu_file_diag(f, 2)->field, "idVendor");
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_bcddfu_mismatch(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_plain(&b, NULL, 0, 100, DFU_BCD_DFUSE);
	f = rd(&b, 0, 0);
	assert_diag(f, DFU_NOTE, "bcddfu-mismatch", b.len - 10, "bcdDFU");
	assert_ndiag(f, 1);
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_PLAIN);
	check_payload(f, 100);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_bcddfu_unknown(void **state)
{
	static const uint16_t odd[] = { 0x0000, 0x0101, 0x0200, 0xffff };
	struct tb b;
	struct dfu_file *f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		tb_init(&b);
		tb_plain(&b, NULL, 0, 100, odd[i]);
		f = rd(&b, 0, 0);
		assert_diag(f, DFU_NOTE, "bcddfu-unknown", b.len - 10,
			    "bcdDFU");
		assert_null(td_find(f, "bcddfu-mismatch"));
		assert_ndiag(f, 1);
		dfu_file_free(f);
		tb_free(&b);
	}
}

/* ---- vendor prefixes ---------------------------------------------------- */

/* TI Stellaris: 01 00, address / 1024 (u16), payload length (u32). */
static void
stellaris(uint8_t p[8], uint32_t address, uint32_t length)
{
	p[0] = 0x01;
	p[1] = 0x00;
	p[2] = (uint8_t)(address / 1024);
	p[3] = (uint8_t)(address / 1024 >> 8);
	p[4] = (uint8_t)length;
	p[5] = (uint8_t)(length >> 8);
	p[6] = (uint8_t)(length >> 16);
	p[7] = (uint8_t)(length >> 24);
}

/* NXP LPC: 0x1a 0x3f in the low 6 bits, 512-byte blocks, bytes 12..15 ff. */
static void
lpc(uint8_t p[16], uint16_t blocks)
{
	memset(p, 0xff, 16);
	p[0] = 0xda;
	p[1] = 0xff;
	p[2] = (uint8_t)blocks;
	p[3] = (uint8_t)(blocks >> 8);
}

static void
test_stellaris_prefix(void **state)
{
	struct tb b;
	struct dfu_file *f;
	const struct dfu_vendor_prefix *v;
	uint8_t p[8];

	(void)state;
	stellaris(p, 0x2000, 300);
	tb_init(&b);
	tb_plain(&b, p, sizeof(p), 300, DFU_BCD_DFU_1_0);
	f = rd(&b, 0, 0);
	assert_diag(f, DFU_NOTE, "vendor-prefix", 0, "prefix");
	assert_ndiag(f, 1);
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_PLAIN);
	v = dfu_file_vendor_prefix(f);
	assert_non_null(v);
	assert_int_equal(v->kind, DFU_VENDOR_PREFIX_STELLARIS);
	assert_int_equal(v->size, 8);
	assert_int_equal(v->address, 0x2000);
	assert_int_equal(v->length, 300);
	/* The payload starts after the prefix. */
	check_payload(f, 300);
	dfu_file_free(f);
	tb_free(&b);
}

/*
 * A Stellaris prefix whose length field disagrees with the payload is not
 * recognised at all: 01 00 alone is too common a start for a payload, so
 * the library only trusts the prefix when the length matches (read.c).
 * dfufile.h does not say so; the 8 bytes are then payload.
 */
static void
test_stellaris_prefix_length(void **state)
{
	struct tb b;
	struct dfu_file *f;
	uint8_t p[8], buf[8];

	(void)state;
	stellaris(p, 0x2000, 299);
	tb_init(&b);
	tb_plain(&b, p, sizeof(p), 300, DFU_BCD_DFU_1_0);
	f = rd(&b, 0, 0);
	assert_ndiag(f, 0);
	assert_null(dfu_file_vendor_prefix(f));
	assert_int_equal(dfu_file_payload_size(f), 308);
	assert_int_equal(dfu_file_payload_read(f, 0, buf, 8), 0);
	assert_memory_equal(buf, p, 8);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_lpc_prefix(void **state)
{
	struct tb b;
	struct dfu_file *f;
	const struct dfu_vendor_prefix *v;
	uint8_t p[16];

	(void)state;
	lpc(p, 2); /* 1000 bytes: 2 blocks of 512, with or without prefix */
	tb_init(&b);
	tb_plain(&b, p, sizeof(p), 1000, DFU_BCD_DFU_1_0);
	f = rd(&b, 0, 0);
	assert_diag(f, DFU_NOTE, "vendor-prefix", 0, "prefix");
	assert_ndiag(f, 1);
	v = dfu_file_vendor_prefix(f);
	assert_non_null(v);
	assert_int_equal(v->kind, DFU_VENDOR_PREFIX_LPC);
	assert_int_equal(v->size, 16);
	assert_int_equal(v->address, 0);
	assert_int_equal(v->length, 2);
	check_payload(f, 1000);
	{
		uint8_t got[16];

		/* The prefix's own bytes, exactly its size of them. */
		assert_int_equal(dfu_file_vendor_prefix_read(f, got, 16), 0);
		assert_memory_equal(got, p, 16);
		assert_int_equal(dfu_file_vendor_prefix_read(f, got, 8),
		    DFU_ERR_INVALID);
		assert_string_equal(dfu_file_errmsg(f), "the vendor prefix is "
		    "16 bytes, not 8");
	}
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_lpc_prefix_length(void **state)
{
	struct tb b;
	struct dfu_file *f;
	uint8_t p[16];

	(void)state;
	lpc(p, 5);
	tb_init(&b);
	tb_plain(&b, p, sizeof(p), 1000, DFU_BCD_DFU_1_0);
	f = rd(&b, 0, 0);
	assert_diag(f, DFU_NOTE, "vendor-prefix-length", 2, "prefix");
	assert_ndiag(f, 2);
	assert_int_equal(dfu_file_vendor_prefix(f)->length, 5);
	dfu_file_free(f);
	tb_free(&b);
}

/*
 * HackRF-style: dfu-prefix added the LPC prefix after dfu-suffix, so the
 * CRC covers only the bytes after the prefix.  An error, explained.
 */
static void
test_lpc_crc_without_prefix(void **state)
{
	struct tb b, inner;
	struct dfu_file *f;
	const struct dfu_diag *d;
	uint8_t p[16];

	(void)state;
	tb_init(&inner);
	tb_plain(&inner, NULL, 0, 1000, DFU_BCD_DFU_1_0);
	lpc(p, 2);
	tb_init(&b);
	tb_put(&b, p, sizeof(p));
	tb_put(&b, inner.p, inner.len);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "crc-mismatch", b.len - 4, "dwCRC");
	d = td_find(f, "crc-mismatch");
	if (strstr(d->message, "prefix") == NULL)
		fail_msg("crc-mismatch message does not explain the prefix: "
			 "\"%s\"", d->message);
	assert_non_null(dfu_file_vendor_prefix(f));
	assert_int_equal(dfu_file_vendor_prefix(f)->kind,
			 DFU_VENDOR_PREFIX_LPC);
	/* dfu_file_crc is over the whole input, as dfufile.h says. */
	assert_int_equal(dfu_file_crc(f), tb_crc(b.p, b.len - 4));
	dfu_file_free(f);

	/* A plain CRC mismatch says nothing about a prefix. */
	b.p[b.len - 4] ^= 1;
	f = rd(&b, 0, DFU_ERR_FORMAT);
	d = td_find(f, "crc-mismatch");
	assert_non_null(d);
	if (strstr(d->message, "without the prefix") != NULL)
		fail_msg("wrong explanation: \"%s\"", d->message);
	dfu_file_free(f);
	tb_free(&b);
	tb_free(&inner);
}

/* A plain file read from a regular file gives the same as from memory. */
static void
test_read_fd(void **state)
{
	char path[] = "/tmp/test_read_plain.XXXXXX";
	struct tb b;
	struct dfu_file *f;
	uint8_t p[8], buf[4];
	int fd;

	(void)state;
	stellaris(p, 0x4000, 64);
	tb_init(&b);
	tb_plain(&b, p, sizeof(p), 64, DFU_BCD_DFU_1_0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, b.p, b.len), (ssize_t)b.len);
	f = dfu_file_new();
	assert_int_equal(dfu_file_read_fd(f, fd, 0), 0);
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_PLAIN);
	assert_int_equal(dfu_file_size(f), b.len);
	assert_int_equal(dfu_file_vendor_prefix(f)->address, 0x4000);
	assert_int_equal(dfu_file_payload_size(f), 64);
	assert_int_equal(dfu_file_payload_read(f, 60, buf, 4), 0);
	assert_int_equal(buf[3], tb_pat(0, 63));
	dfu_file_free(f);
	close(fd);
	tb_free(&b);
}

/*
 * From 16 MiB on, the CRC pass sums windows on several threads and joins
 * them (common/read.c), copied out or, with DFU_READ_MAP, mapped.  Random
 * bytes, so that windows summed in the wrong order or twice could not
 * give the right CRC by chance; a size that ends in a partial window.
 */
static void
test_read_fd_large(void **state)
{
	static const unsigned flags[] = { 0, DFU_READ_MAP };
	char path[] = "/tmp/test_read_plain.XXXXXX";
	const uint32_t n = (40u << 20) + 4093;
	struct dfu_file *f;
	uint32_t x = 0x2545f491u;
	struct tb b;
	size_t i, k;
	int fd;

	(void)state;
	tb_init(&b);
	tb_plain(&b, NULL, 0, n, DFU_BCD_DFU_1_1);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b.p[i] = (uint8_t)(x >> 24);
	}
	tb_fix_crc(&b);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, b.p, b.len), (ssize_t)b.len);
	for (k = 0; k < 2; k++) {
		f = dfu_file_new();
		assert_int_equal(dfu_file_read_fd(f, fd, flags[k]), 0);
		assert_int_equal(dfu_file_crc(f), tb_crc(b.p, b.len - 4));
		dfu_file_free(f);
	}
	/* One bit changed in the sixth 4 MiB window. */
	b.p[(21u << 20) + 5] ^= 0x10;
	assert_int_equal(pwrite(fd, b.p + (21u << 20) + 5, 1, (21 << 20) + 5),
	    1);
	for (k = 0; k < 2; k++) {
		f = dfu_file_new();
		assert_int_equal(dfu_file_read_fd(f, fd, flags[k]),
		    DFU_ERR_FORMAT);
		assert_non_null(td_find(f, "crc-mismatch"));
		assert_int_equal(dfu_file_crc(f), tb_crc(b.p, b.len - 4));
		dfu_file_free(f);
	}
	/* Shrinking under the CRC pass, copied out or mapped: an I/O error
	 * that says where the input ended (a window past the end is never
	 * mapped, which would raise SIGBUS). */
	for (k = 0; k < 2; k++) {
		assert_int_equal(pwrite(fd, b.p, b.len, 0), (ssize_t)b.len);
		f = dfu_file_new();
		shrink_fd = fd;
		shrink_to = 20 << 20;
		assert_int_equal(dfu_file_read_fd(f, fd, flags[k]),
		    DFU_ERR_IO);
		assert_int_equal(shrink_fd, -1);
		assert_string_equal(dfu_file_errmsg(f), "the input shrank "
		    "while it was read (offset 20971520)");
		dfu_file_free(f);
	}
	close(fd);
	tb_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_1_0),
		cmocka_unit_test(test_plain_1_1),
		cmocka_unit_test(test_plain_empty_payload),
		cmocka_unit_test(test_damaged_dfuse_signature),
		cmocka_unit_test(test_payload_read_bounds),
		cmocka_unit_test(test_not_dfu),
		cmocka_unit_test(test_too_short),
		cmocka_unit_test(test_suffix_length),
		cmocka_unit_test(test_extended_suffix),
		cmocka_unit_test(test_crc_mismatch),
		cmocka_unit_test(test_wildcard_id),
		cmocka_unit_test(test_bcddfu_mismatch),
		cmocka_unit_test(test_bcddfu_unknown),
		cmocka_unit_test(test_stellaris_prefix),
		cmocka_unit_test(test_stellaris_prefix_length),
		cmocka_unit_test(test_lpc_prefix),
		cmocka_unit_test(test_lpc_prefix_length),
		cmocka_unit_test(test_lpc_crc_without_prefix),
		cmocka_unit_test(test_read_fd),
		cmocka_unit_test(test_read_fd_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
