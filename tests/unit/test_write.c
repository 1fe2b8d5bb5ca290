/*
 * test_write.c - building and writing DfuSe and plain files: exact bytes,
 * determinism, round trips through the reader, the limits of
 * add_target/add_element/pad_elements, fd-backed data, re-serialising a
 * file that was read; dfu_strerror() and dfufile_version().
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

#include "dfu_test_build.h"

static int
tmpfd(void)
{
	char path[] = "/tmp/test_write.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

/* Everything in fd from offset 0, in a malloc'd buffer. */
static uint8_t *
slurp(int fd, size_t *len)
{
	off_t end = lseek(fd, 0, SEEK_END);
	uint8_t *p;

	assert_true(end >= 0);
	p = malloc((size_t)end + 1);
	assert_non_null(p);
	assert_int_equal(pread(fd, p, (size_t)end, 0), end);
	*len = (size_t)end;
	return p;
}

/* Write f to a temporary file and return the bytes. */
static uint8_t *
write_mem(struct dfu_file *f, size_t *len)
{
	int fd = tmpfd();
	uint8_t *p;
	int rc = dfu_file_write_fd(f, fd);

	if (rc != 0)
		fail_msg("dfu_file_write_fd: %d (%s)", rc, dfu_file_errmsg(f));
	p = slurp(fd, len);
	close(fd);
	assert_int_equal(dfu_file_write_size(f), *len);
	return p;
}

static struct dfu_file *
new_dfuse(void)
{
	struct dfu_file *f = dfu_file_new();

	assert_non_null(f);
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_set_ids(f, TB_VID, TB_PID, TB_DEV), 0);
	return f;
}

/* ---- exact bytes -------------------------------------------------------- */

/*
 * VID 0x0483, PID 0xdf11, bcdDevice 0x0200; target alt 0 "ST"; one
 * element of 01 02 03 04 at 0x08000000.  313 bytes; DFUImageSize 297;
 * dwCRC computed by hand with ~zlib.crc32(): 0x4492ad97.
 */
static void
expected_tiny(uint8_t out[313])
{
	static const uint8_t prefix[11] = {
		'D', 'f', 'u', 'S', 'e', 0x01, 0x29, 0x01, 0x00, 0x00, 0x01,
	};
	static const uint8_t target[11] = {
		'T', 'a', 'r', 'g', 'e', 't', 0x00, 0x01, 0x00, 0x00, 0x00,
	};
	static const uint8_t sizes[8] = {
		0x0c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	};
	static const uint8_t element[12] = {
		0x00, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x00,
		0x01, 0x02, 0x03, 0x04,
	};
	static const uint8_t suffix[16] = {
		0x00, 0x02, 0x11, 0xdf, 0x83, 0x04, 0x1a, 0x01,
		'U', 'F', 'D', 0x10, 0x97, 0xad, 0x92, 0x44,
	};

	memset(out, 0, 313);
	memcpy(out, prefix, 11);
	memcpy(out + 11, target, 11);
	memcpy(out + 22, "ST", 2);	/* the other 253 name bytes are 0 */
	memcpy(out + 277, sizes, 8);
	memcpy(out + 285, element, 12);
	memcpy(out + 297, suffix, 16);
}

static void
test_exact_bytes(void **state)
{
	struct dfu_file *f = dfu_file_new();
	uint8_t want[313], *got;
	size_t len;

	(void)state;
	expected_tiny(want);
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_set_ids(f, 0x0483, 0xdf11, 0x0200), 0);
	assert_int_equal(dfu_file_add_target(f, 0, "ST"), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x08000000u,
						  "\x01\x02\x03\x04", 4), 0);
	assert_int_equal(dfu_file_write_size(f), 313);
	got = write_mem(f, &len);
	assert_int_equal(len, 313);
	assert_memory_equal(got, want, 313);
	/* And the CRC agrees with zlib's. */
	assert_int_equal(tb_get_u32(got + 309), tb_crc(got, 309));
	free(got);
	dfu_file_free(f);
}

/* Element data from a caller's function: asked for once, in order. */
struct cb_state {
	const uint8_t *data;
	uint64_t next;		/* the offset expected next */
	int calls, fail_at;	/* fail the call numbered fail_at (1-based) */
};

static int
cb_read(void *arg, uint64_t off, void *buf, size_t len)
{
	struct cb_state *c = arg;

	c->calls++;
	assert_int_equal(off, c->next);
	if (c->calls == c->fail_at)
		return -1;
	memcpy(buf, c->data + off, len);
	c->next += len;
	return 0;
}

static void
test_element_cb(void **state)
{
	struct dfu_file *f = dfu_file_new(), *g = dfu_file_new();
	struct cb_state c = { .data = (const uint8_t *)"\x01\x02\x03\x04" };
	uint8_t want[313], *got, *big;
	size_t len, i, n = 3u << 20;	/* more than one write buffer */
	int fd;

	(void)state;
	expected_tiny(want);
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_set_ids(f, 0x0483, 0xdf11, 0x0200), 0);
	assert_int_equal(dfu_file_add_target(f, 0, "ST"), 0);
	assert_int_equal(dfu_file_add_element_cb(f, 0, 0x08000000u, cb_read,
						 &c, 4), 0);
	got = write_mem(f, &len);
	assert_int_equal(len, 313);
	assert_memory_equal(got, want, 313);
	assert_int_equal(c.calls, 1);
	free(got);

	/* A plain payload of several buffers, in order; then a failure in
	 * the middle fails the write with DFU_ERR_IO. */
	big = malloc(n);
	assert_non_null(big);
	for (i = 0; i < n; i++)
		big[i] = (uint8_t)(i * 13u);
	memset(&c, 0, sizeof(c));
	c.data = big;
	assert_int_equal(dfu_file_init(g, DFU_FORMAT_PLAIN), 0);
	assert_int_equal(dfu_file_set_payload_cb(g, cb_read, &c, n), 0);
	got = write_mem(g, &len);
	assert_int_equal(len, n + DFU_SUFFIX_SIZE);
	assert_memory_equal(got, big, n);
	assert_true(c.calls > 1);
	free(got);
	memset(&c, 0, sizeof(c));
	c.data = big;
	c.fail_at = 2;
	fd = tmpfd();
	assert_int_equal(dfu_file_write_fd(g, fd), DFU_ERR_IO);
	assert_non_null(strstr(dfu_file_errmsg(g), "element data: the read"));
	close(fd);
	/* No function, no data. */
	assert_int_equal(dfu_file_add_element_cb(f, 0, 0x09000000u, NULL,
						 NULL, 4), DFU_ERR_INVALID);
	free(big);
	dfu_file_free(f);
	dfu_file_free(g);
}

/* An unnamed target: bTargetNamed 0 and 255 NUL bytes. */
static void
test_unnamed_target_bytes(void **state)
{
	struct dfu_file *f = new_dfuse();
	uint8_t *got, zero[255];
	size_t len;

	(void)state;
	memset(zero, 0, sizeof(zero));
	assert_int_equal(dfu_file_add_target(f, 7, NULL), 0);
	assert_int_equal(dfu_file_target(f, 0)->bTargetNamed, 0);
	assert_string_equal(dfu_file_target(f, 0)->szTargetName, "");
	assert_int_equal(dfu_file_target(f, 0)->offset, 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x100, "ab", 2), 0);
	got = write_mem(f, &len);
	assert_int_equal(len, 11 + 274 + 8 + 2 + 16);
	assert_memory_equal(got + 11, "Target", 6);
	assert_int_equal(got[17], 7);
	assert_int_equal(tb_get_u32(got + 18), 0);
	assert_memory_equal(got + 22, zero, 255);
	free(got);
	dfu_file_free(f);
}

static void
test_plain_bytes(void **state)
{
	static const uint8_t want[24] = {
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x00, 0x01, 0x01, 0x60, 0x50, 0x1d, 0x00, 0x01,
		'U', 'F', 'D', 16, 0x84, 0x55, 0x1c, 0x02,
	};
	struct dfu_file *f = dfu_file_new();
	uint8_t *got;
	size_t len;

	(void)state;
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_PLAIN), 0);
	assert_int_equal(dfu_file_set_ids(f, 0x1d50, 0x6001, 0x0100), 0);
	assert_int_equal(dfu_file_set_payload_mem(f,
		"\x01\x02\x03\x04\x05\x06\x07\x08", 8), 0);
	got = write_mem(f, &len);
	assert_int_equal(len, 24);
	assert_memory_equal(got, want, 24);
	free(got);
	dfu_file_free(f);
}

/*
 * A suffix extension (bLength above 16, as fwupd writes): its bytes come
 * before the 16-byte suffix, bLength counts them, dwCRC covers them and
 * DFUImageSize leaves them out.  Reading the result back gives the same
 * bLength; too long or without a file it is refused.
 */
static void
test_suffix_extension(void **state)
{
	static const uint8_t ext[5] = { 0xde, 0xad, 0xbe, 0xef, 0x00 };
	uint8_t tiny[313], big[256];
	struct dfu_file *f = new_dfuse(), *g = dfu_file_new();
	uint8_t *got;
	size_t len;

	(void)state;
	assert_int_equal(dfu_file_set_ids(f, 0x0483, 0xdf11, 0x0200), 0);
	assert_int_equal(dfu_file_add_target(f, 0, "ST"), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x08000000,
	    "\x01\x02\x03\x04", 4), 0);
	assert_int_equal(dfu_file_set_suffix_extension(f, ext, sizeof(ext)),
	    0);
	assert_int_equal(dfu_file_suffix(f)->bLength, 21);
	got = write_mem(f, &len);
	expected_tiny(tiny);
	assert_int_equal(len, 313 + 5);
	assert_memory_equal(got, tiny, 297);	/* DFUImageSize still 297 */
	assert_memory_equal(got + 297, ext, 5);
	assert_memory_equal(got + 302, tiny + 297, 11);
	assert_int_equal(got[302 + 11], 21);	/* bLength */
	assert_int_equal(tb_get_u32(got + 314), tb_crc(got, 314));
	assert_int_equal(dfu_file_read_mem(g, got, len, 0), 0);
	assert_int_equal(dfu_file_error_count(g), 0);
	assert_int_equal(dfu_file_suffix(g)->bLength, 21);
	free(got);
	/* Size 0 writes the 16-byte suffix again. */
	assert_int_equal(dfu_file_set_suffix_extension(f, NULL, 0), 0);
	got = write_mem(f, &len);
	assert_int_equal(len, 313);
	assert_memory_equal(got, tiny, 313);
	free(got);
	memset(big, 0, sizeof(big));
	assert_int_equal(dfu_file_set_suffix_extension(f, big, 239), 0);
	assert_int_equal(dfu_file_set_suffix_extension(f, big, 240),
	    DFU_ERR_RANGE);
	assert_string_equal(dfu_file_errmsg(f), "a suffix extension of 240 "
	    "bytes: bLength holds at most 239");
	dfu_file_free(f);
	f = dfu_file_new();
	assert_int_equal(dfu_file_set_suffix_extension(f, ext, 1),
	    DFU_ERR_INVALID);
	dfu_file_free(f);
	dfu_file_free(g);
}

/* ---- defaults, ids, init ------------------------------------------------ */

static void
test_init_defaults(void **state)
{
	struct dfu_file *f = dfu_file_new();
	const struct dfu_suffix *s;

	(void)state;
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_DFUSE);
	s = dfu_file_suffix(f);
	assert_non_null(s);
	assert_int_equal(s->idVendor, 0xffff);
	assert_int_equal(s->idProduct, 0xffff);
	assert_int_equal(s->bcdDevice, 0xffff);
	assert_int_equal(s->bcdDFU, 0x011a);
	assert_int_equal(dfu_file_target_count(f), 0);

	assert_int_equal(dfu_file_set_ids(f, 1, 2, 3), 0);
	assert_int_equal(dfu_file_set_bcd_dfu(f, 0x0110), 0);
	s = dfu_file_suffix(f);
	assert_int_equal(s->idVendor, 1);
	assert_int_equal(s->idProduct, 2);
	assert_int_equal(s->bcdDevice, 3);
	assert_int_equal(s->bcdDFU, 0x0110);

	/* init drops everything, back to the defaults. */
	assert_int_equal(dfu_file_add_target(f, 0, "x"), 0);
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_PLAIN), 0);
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_PLAIN);
	assert_int_equal(dfu_file_target_count(f), 0);
	s = dfu_file_suffix(f);
	assert_int_equal(s->idVendor, 0xffff);
	assert_int_equal(s->idProduct, 0xffff);
	assert_int_equal(s->bcdDevice, 0xffff);
	assert_int_equal(s->bcdDFU, 0x0100);

	assert_int_equal(dfu_file_init(f, DFU_FORMAT_UNKNOWN), DFU_ERR_INVALID);
	assert_int_equal(dfu_file_init(f, (enum dfu_format)42),
			 DFU_ERR_INVALID);
	dfu_file_free(f);
}

/* Written ids and bcdDFU land in the suffix, little-endian. */
static void
test_ids_written(void **state)
{
	struct dfu_file *f = dfu_file_new();
	uint8_t *got;
	size_t len;

	(void)state;
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_PLAIN), 0);
	assert_int_equal(dfu_file_set_payload_mem(f, "x", 1), 0);
	got = write_mem(f, &len);
	/* Defaults: wildcards, bcdDFU 0x0100. */
	assert_int_equal(len, 17);
	assert_memory_equal(got + 1, "\xff\xff\xff\xff\xff\xff\x00\x01", 8);
	free(got);
	assert_int_equal(dfu_file_set_ids(f, 0xabcd, 0x1234, 0x5678), 0);
	assert_int_equal(dfu_file_set_bcd_dfu(f, 0x011a), 0);
	got = write_mem(f, &len);
	assert_memory_equal(got + 1, "\x78\x56\x34\x12\xcd\xab\x1a\x01", 8);
	free(got);
	dfu_file_free(f);
}

/* ---- determinism, write_size, round trip -------------------------------- */

static void
build_sample(struct dfu_file *f, const uint8_t *data)
{
	assert_int_equal(dfu_file_add_target(f, 0, "@Internal Flash"), 0);
	assert_int_equal(dfu_file_add_target(f, 1, NULL), 1);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x08000000u, data,
						  1000), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x08004000u,
						  data + 1000, 13), 1);
	assert_int_equal(dfu_file_add_element_mem(f, 1, 0x1fff7800u,
						  data + 2000, 16), 0);
}

static void
test_deterministic(void **state)
{
	uint8_t data[3000], *a, *b, *c;
	size_t la, lb, lc;
	struct dfu_file *f, *g;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13u);
	f = new_dfuse();
	g = new_dfuse();
	build_sample(f, data);
	build_sample(g, data);
	a = write_mem(f, &la);
	b = write_mem(g, &lb);
	c = write_mem(f, &lc); /* the same handle, a second time */
	assert_int_equal(la, 11 + 2 * 274 + 3 * 8 + 1000 + 13 + 16 + 16);
	assert_int_equal(la, lb);
	assert_int_equal(la, lc);
	assert_memory_equal(a, b, la);
	assert_memory_equal(a, c, la);
	/* DFUImageSize = size - 16, bTargets 2, CRC right. */
	assert_int_equal(tb_get_u32(a + 6), la - 16);
	assert_int_equal(a[10], 2);
	assert_int_equal(tb_get_u32(a + la - 4), tb_crc(a, la - 4));
	free(a);
	free(b);
	free(c);
	dfu_file_free(f);
	dfu_file_free(g);
}

static void
test_round_trip(void **state)
{
	uint8_t data[3000], *img, buf[1000];
	size_t len, i;
	struct dfu_file *f, *r;
	const struct dfu_diag *d;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7u + 3u);
	f = new_dfuse();
	build_sample(f, data);
	img = write_mem(f, &len);
	r = dfu_file_new();
	assert_int_equal(dfu_file_read_mem(r, img, len, 0), 0);
	assert_ndiag(r, 1);
	d = dfu_file_diag(r, 0);
	assert_string_equal(d->code, "image-size-excludes-suffix");
	assert_int_equal(d->severity, DFU_NOTE);
	assert_int_equal(dfu_file_format(r), DFU_FORMAT_DFUSE);
	assert_int_equal(dfu_file_target_count(r), 2);
	assert_int_equal(dfu_file_target(r, 0)->bAlternateSetting, 0);
	assert_int_equal(dfu_file_target(r, 0)->bTargetNamed, 1);
	assert_string_equal(dfu_file_target(r, 0)->szTargetName,
			    "@Internal Flash");
	assert_int_equal(dfu_file_target(r, 1)->bAlternateSetting, 1);
	assert_int_equal(dfu_file_target(r, 1)->bTargetNamed, 0);
	assert_int_equal(dfu_file_element_count(r, 0), 2);
	assert_int_equal(dfu_file_element_count(r, 1), 1);
	assert_int_equal(dfu_file_element(r, 0, 1)->address, 0x08004000u);
	assert_int_equal(dfu_file_element(r, 0, 1)->size, 13);
	assert_int_equal(dfu_file_element(r, 1, 0)->address, 0x1fff7800u);
	assert_int_equal(dfu_file_element_read(r, 0, 0, 0, buf, 1000), 0);
	assert_memory_equal(buf, data, 1000);
	assert_int_equal(dfu_file_element_read(r, 0, 1, 0, buf, 13), 0);
	assert_memory_equal(buf, data + 1000, 13);
	assert_int_equal(dfu_file_element_read(r, 1, 0, 0, buf, 16), 0);
	assert_memory_equal(buf, data + 2000, 16);
	assert_int_equal(dfu_file_suffix(r)->idVendor, TB_VID);
	assert_int_equal(dfu_file_suffix(r)->bcdDFU, DFU_BCD_DFUSE);
	dfu_file_free(r);
	free(img);
	dfu_file_free(f);
}

/* A file of several MiB from fds and memory: the CRC must be exact. */
/*
 * Between one buffer and the size that starts the CRC thread, one buffer
 * is reused: every pass of it must reach the output and the CRC.
 */
static void
test_medium_file_crc(void **state)
{
	size_t n = (1u << 20) + 17, len, i;
	uint8_t *data = malloc(n), *img;
	struct dfu_file *f = new_dfuse();

	(void)state;
	assert_non_null(data);
	for (i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 31 + (i >> 10));
	assert_int_equal(dfu_file_add_target(f, 0, NULL), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0, data, (uint32_t)n),
			 0);
	img = write_mem(f, &len);
	assert_int_equal(len, 11 + 274 + 8 + n + 16);
	assert_memory_equal(img + 11 + 274 + 8, data, n);
	assert_int_equal(tb_get_u32(img + len - 4), tb_crc(img, len - 4));
	free(img);
	free(data);
	dfu_file_free(f);
}

static void
test_large_file_crc(void **state)
{
	size_t n = (5u << 20) + 123, len, i;
	uint8_t *data = malloc(n), *img;
	struct dfu_file *f = new_dfuse();
	int fd = tmpfd();
	struct dfu_file *r;

	(void)state;
	assert_non_null(data);
	for (i = 0; i < n; i++)
		data[i] = (uint8_t)(i ^ (i >> 8) ^ (i >> 16));
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(dfu_file_add_target(f, 0, "big"), 0);
	assert_int_equal(dfu_file_add_element_fd(f, 0, 0x08000000u, fd, 0,
						 (uint32_t)n), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x20000000u, data + 7,
						  70001), 1);
	assert_int_equal(dfu_file_add_element_fd(f, 0, 0x30000000u, fd, 12345,
						 1u << 20), 2);
	img = write_mem(f, &len);
	assert_int_equal(len, 11 + 274 + 24 + n + 70001 + (1u << 20) + 16);
	assert_int_equal(tb_get_u32(img + len - 4), tb_crc(img, len - 4));
	r = dfu_file_new();
	assert_int_equal(dfu_file_read_mem(r, img, len, 0), 0);
	assert_int_equal(dfu_file_element(r, 0, 2)->offset,
			 11 + 274 + 8 + n + 8 + 70001 + 8);
	assert_memory_equal(img + 11 + 274 + 8, data, n);
	assert_memory_equal(img + 11 + 274 + 8 + n + 8, data + 7, 70001);
	assert_memory_equal(img + len - 16 - (1u << 20), data + 12345,
			    1u << 20);
	dfu_file_free(r);
	free(img);
	dfu_file_free(f);
	close(fd);
	free(data);
}

/* ---- writing to a pipe --------------------------------------------------- */

/* f written through a pipe by a child process: the bytes read (len + 1
 * bytes of room, so that one too many would be seen). */
static uint8_t *
write_pipe_flags(struct dfu_file *f, size_t len, size_t *got, unsigned flags)
{
	uint8_t *buf = malloc(len + 1);
	int p[2], status;
	pid_t pid;
	ssize_t k;

	assert_non_null(buf);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		_exit(dfu_file_write_fd_flags(f, p[1], flags) == 0 ? 0 : 1);
	}
	close(p[1]);
	*got = 0;
	while ((k = read(p[0], buf + *got, len + 1 - *got)) > 0)
		*got += (size_t)k;
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return buf;
}

static uint8_t *
write_pipe(struct dfu_file *f, size_t len, size_t *got)
{
	return write_pipe_flags(f, len, got, 0);
}

/*
 * DFU_WRITE_WRITEBACK starts the write-back as it goes (that the calls
 * are made is checked with strace in test_output_safety.sh): the same
 * bytes to a regular file, and to a pipe, which refuses the advice.
 */
static void
test_write_writeback(void **state)
{
	struct dfu_file *f = new_dfuse();
	size_t n = (20u << 20) + 3, got = 0, len, i;
	uint8_t *data = malloc(n), *want, *buf;
	int fd = tmpfd();

	(void)state;
	assert_non_null(data);
	for (i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7u + (i >> 13));
	assert_int_equal(dfu_file_add_target(f, 0, "wb"), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0, data,
						  (uint32_t)n), 0);
	want = write_mem(f, &len);
	assert_int_equal(dfu_file_write_fd_flags(f, fd, DFU_WRITE_WRITEBACK),
			 0);
	buf = malloc(len + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, len + 1, 0), (ssize_t)len);
	assert_memory_equal(buf, want, len);
	free(buf);
	buf = write_pipe_flags(f, len, &got, DFU_WRITE_WRITEBACK);
	assert_int_equal(got, len);
	assert_memory_equal(buf, want, len);
	/* A flag it does not know is refused, before anything is written. */
	assert_int_equal(dfu_file_write_fd_flags(f, fd, 0x2u), DFU_ERR_INVALID);
	assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)len);
	close(fd);
	free(buf);
	free(want);
	free(data);
	dfu_file_free(f);
}

static void
test_write_pipe(void **state)
{
	struct dfu_file *f = new_dfuse();
	size_t n = 300000, got = 0, len, i;
	uint8_t *data = malloc(n), *want, *buf;

	(void)state;
	for (i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 3u);
	assert_int_equal(dfu_file_add_target(f, 0, "pipe"), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0, data,
						  (uint32_t)n), 0);
	want = write_mem(f, &len);
	buf = write_pipe(f, len, &got);
	assert_int_equal(got, len);
	assert_memory_equal(buf, want, len);
	free(buf);
	free(want);
	free(data);
	dfu_file_free(f);
}

/*
 * A large element from a descriptor, big enough for the CRC thread: a
 * pipe gets the same bytes and CRC as a regular file.
 */
static void
test_write_large_fd_to_pipe(void **state)
{
	struct dfu_file *f = new_dfuse();
	size_t n = (6u << 20) + 5, got = 0, len, i;
	uint8_t *data = malloc(n), *want, *buf;
	int src = tmpfd();

	(void)state;
	assert_non_null(data);
	for (i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7u + (i >> 12));
	assert_int_equal(write(src, data, n), (ssize_t)n);
	assert_int_equal(dfu_file_add_target(f, 0, NULL), 0);
	assert_int_equal(dfu_file_add_element_fd(f, 0, 0, src, 3,
						 (uint32_t)(n - 3)), 0);
	want = write_mem(f, &len);
	assert_int_equal(len, 11 + 274 + 8 + n - 3 + 16);
	assert_memory_equal(want + 11 + 274 + 8, data + 3, n - 3);
	assert_int_equal(tb_get_u32(want + len - 4), tb_crc(want, len - 4));
	buf = write_pipe(f, len, &got);
	assert_int_equal(got, len);
	assert_memory_equal(buf, want, len);
	free(buf);
	free(want);
	free(data);
	dfu_file_free(f);
	close(src);
}

/* A large descriptor that is shorter than its element: an I/O error. */
static void
test_write_large_fd_short(void **state)
{
	struct dfu_file *f = new_dfuse();
	size_t n = 5u << 20;
	uint8_t *data = calloc(1, n);
	int src = tmpfd(), out = tmpfd();

	(void)state;
	assert_non_null(data);
	assert_int_equal(write(src, data, n), (ssize_t)n);
	assert_int_equal(dfu_file_add_target(f, 0, NULL), 0);
	assert_int_equal(dfu_file_add_element_fd(f, 0, 0, src, 0,
						 (uint32_t)n + 1000), 0);
	assert_int_equal(dfu_file_write_fd(f, out), DFU_ERR_IO);
	assert_non_null(strstr(dfu_file_errmsg(f), "ends early"));
	free(data);
	dfu_file_free(f);
	close(src);
	close(out);
}

/* A small file fits in the pipe buffer: no second process needed. */
static void
test_write_pipe_small_plain(void **state)
{
	struct dfu_file *f = dfu_file_new();
	uint8_t buf[64];
	int p[2];

	(void)state;
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_PLAIN), 0);
	assert_int_equal(dfu_file_set_payload_mem(f, "hello", 5), 0);
	assert_int_equal(dfu_file_write_size(f), 21);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dfu_file_write_fd(f, p[1]), 0);
	close(p[1]);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 21);
	close(p[0]);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(tb_get_u32(buf + 17), tb_crc(buf, 17));
	dfu_file_free(f);
}

static void
test_write_errors(void **state)
{
	struct dfu_file *f = dfu_file_new();
	int fd = tmpfd(), ro;
	char path[] = "/tmp/test_write_ro.XXXXXX";

	(void)state;
	/* DfuSe without targets, plain without payload. */
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_write_fd(f, fd), DFU_ERR_INVALID);
	assert_true(strlen(dfu_file_errmsg(f)) > 0);
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_PLAIN), 0);
	assert_int_equal(dfu_file_write_fd(f, fd), DFU_ERR_INVALID);
	/* A payload belongs to plain files only. */
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_set_payload_mem(f, "x", 1),
			 DFU_ERR_INVALID);
	dfu_file_free(f);
	/* A handle that was neither read nor initialised has nothing. */
	f = dfu_file_new();
	assert_int_equal(dfu_file_write_fd(f, fd), DFU_ERR_INVALID);
	/* Nothing was written. */
	assert_int_equal(lseek(fd, 0, SEEK_END), 0);
	close(fd);
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_PLAIN), 0);

	/* A descriptor open for reading only: DFU_ERR_IO, errno kept. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	ro = open(path, O_RDONLY);
	unlink(path);
	assert_true(ro >= 0);
	assert_int_equal(dfu_file_set_payload_mem(f, "abc", 3), 0);
	assert_int_equal(dfu_file_write_fd(f, ro), DFU_ERR_IO);
	assert_int_equal(dfu_file_errno(f), EBADF);
	assert_true(strlen(dfu_file_errmsg(f)) > 0);
	close(ro);
	dfu_file_free(f);
}

/* ---- add_target ---------------------------------------------------------- */

static void
test_add_target_limits(void **state)
{
	struct dfu_file *f = new_dfuse();
	char name[256];
	int i;

	(void)state;
	for (i = 0; i < 255; i++)
		assert_int_equal(dfu_file_add_target(f, (uint8_t)i, NULL), i);
	assert_int_equal(dfu_file_add_target(f, 0, NULL), DFU_ERR_RANGE);
	assert_true(strlen(dfu_file_errmsg(f)) > 0);
	assert_int_equal(dfu_file_target_count(f), 255);
	dfu_file_free(f);

	f = new_dfuse();
	memset(name, 'n', sizeof(name));
	name[254] = '\0';
	assert_int_equal(dfu_file_add_target(f, 0, name), 0);
	assert_int_equal(strlen(dfu_file_target(f, 0)->szTargetName), 254);
	name[254] = 'n';
	name[255] = '\0';
	assert_int_equal(dfu_file_add_target(f, 1, name), DFU_ERR_INVALID);
	assert_int_equal(dfu_file_target_count(f), 1);
	/* An empty name is a name: bTargetNamed 1. */
	assert_int_equal(dfu_file_add_target(f, 2, ""), 1);
	assert_int_equal(dfu_file_target(f, 1)->bTargetNamed, 1);
	dfu_file_free(f);

	/* Targets and elements belong to DfuSe files only. */
	f = dfu_file_new();
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_PLAIN), 0);
	assert_int_equal(dfu_file_add_target(f, 0, "x"), DFU_ERR_INVALID);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0, "x", 1),
			 DFU_ERR_INVALID);
	dfu_file_free(f);
}

/* A 254-byte name is written whole, with its terminating NUL. */
static void
test_long_name_written(void **state)
{
	struct dfu_file *f = new_dfuse();
	char name[255];
	uint8_t *img;
	size_t len;

	(void)state;
	memset(name, 'q', 254);
	name[254] = '\0';
	assert_int_equal(dfu_file_add_target(f, 0, name), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0, "z", 1), 0);
	img = write_mem(f, &len);
	assert_memory_equal(img + 22, name, 254);
	assert_int_equal(img[22 + 254], 0);
	assert_int_equal(tb_get_u32(img + 18), 1);
	free(img);
	dfu_file_free(f);
}

/* A target without elements is written as a 274-byte prefix alone. */
static void
test_target_without_elements(void **state)
{
	struct dfu_file *f = new_dfuse(), *r;
	uint8_t *img;
	size_t len;

	(void)state;
	assert_int_equal(dfu_file_add_target(f, 0, "empty"), 0);
	img = write_mem(f, &len);
	assert_int_equal(len, 11 + 274 + 16);
	assert_int_equal(tb_get_u32(img + 277), 0);
	assert_int_equal(tb_get_u32(img + 281), 0);
	r = dfu_file_new();
	assert_int_equal(dfu_file_read_mem(r, img, len, 0), 0);
	assert_int_equal(dfu_file_element_count(r, 0), 0);
	dfu_file_free(r);
	free(img);
	dfu_file_free(f);
}

/* ---- add_element --------------------------------------------------------- */

static void
test_add_element_ranges(void **state)
{
	struct dfu_file *f = new_dfuse();
	static uint8_t data[0x100];
	const struct dfu_element *e;

	(void)state;
	assert_int_equal(dfu_file_add_target(f, 0, "a"), 0);
	assert_int_equal(dfu_file_add_target(f, 1, "b"), 1);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x1000, data, 16), 0);
	/* Overlap with element 0 of target 0. */
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x1008, data, 16),
			 DFU_ERR_RANGE);
	/* "the message names it" (dfufile.h) */
	if (strstr(dfu_file_errmsg(f), "element 0") == NULL)
		fail_msg("overlap message does not name element 0: \"%s\"",
			 dfu_file_errmsg(f));
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x0ff8, data, 9),
			 DFU_ERR_RANGE);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x1000, data, 1),
			 DFU_ERR_RANGE);
	assert_int_equal(dfu_file_element_count(f, 0), 1);
	/* Adjacent on both sides is not overlap. */
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x1010, data, 16), 1);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x0ff0, data, 16), 2);
	/* The same range in a target of another alt is fine. */
	assert_int_equal(dfu_file_add_element_mem(f, 1, 0x1008, data, 16), 0);
	/* A second target for alt 0 fills the same memory: overlap again. */
	assert_int_equal(dfu_file_add_target(f, 0, "c"), 2);
	assert_int_equal(dfu_file_add_element_mem(f, 2, 0x1004, data, 4),
			 DFU_ERR_RANGE);
	assert_string_equal(dfu_file_errmsg(f), "0x00001004-0x00001007 "
	    "overlaps element 0 (0x00001000-0x0000100f) of target 0, which "
	    "is for the same alternate setting");
	assert_int_equal(dfu_file_add_element_mem(f, 2, 0x2000, data, 4), 0);
	/* Bad target index. */
	assert_int_equal(dfu_file_add_element_mem(f, 3, 0x5000, data, 1),
			 DFU_ERR_INVALID);
	/* 4 GiB: ending exactly there is fine, one byte more is not. */
	assert_int_equal(dfu_file_add_element_mem(f, 1, 0xffffff01u, data,
						  0x100), DFU_ERR_RANGE);
	assert_int_equal(dfu_file_add_element_mem(f, 1, 0xffffff00u, data,
						  0x100), 1);
	assert_int_equal(dfu_file_add_element_fd(f, 1, 0xfffffff0u, 0, 0,
						 0x11), DFU_ERR_RANGE);
	e = dfu_file_element(f, 1, 1);
	assert_non_null(e);
	assert_int_equal(e->address, 0xffffff00u);
	assert_int_equal(e->size, 0x100);
	assert_int_equal(e->offset, 0);
	assert_null(dfu_file_element(f, 1, 2));
	/* Padding 0x2000+4 to 8 bytes: 0x2004 is taken now, for its own
	 * target and for another of alt 0 (an element above every other is
	 * checked in O(1), so padding must move that bound). */
	assert_int_equal(dfu_file_pad_elements(f, 8, 0xff), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 2, 0x2004, data, 4),
			 DFU_ERR_RANGE);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x2004, data, 4),
			 DFU_ERR_RANGE);
	assert_int_equal(dfu_file_add_element_mem(f, 2, 0x2008, data, 4), 1);
	dfu_file_free(f);
}

/* A file that was read, then added to: its elements count as well. */
static void
test_add_element_after_read(void **state)
{
	static uint8_t data[16];
	struct dfu_file *f = dfu_file_new();
	struct tb b;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, 64);
	assert_non_null(f);
	assert_int_equal(dfu_file_read_mem(f, b.p, b.len, 0), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0,
	    dfu_file_element(f, 0, 0)->address + 63, data, 1), DFU_ERR_RANGE);
	assert_int_equal(dfu_file_add_element_mem(f, 0,
	    dfu_file_element(f, 0, 0)->address + 64, data, 1), 1);
	dfu_file_free(f);
	tb_free(&b);
}

/* _mem copies the data: changing the caller's buffer changes nothing. */
static void
test_add_element_mem_copies(void **state)
{
	struct dfu_file *f = new_dfuse();
	uint8_t data[4] = { 1, 2, 3, 4 }, buf[4];

	(void)state;
	assert_int_equal(dfu_file_add_target(f, 0, NULL), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0, data, 4), 0);
	memset(data, 0, 4);
	assert_int_equal(dfu_file_element_read(f, 0, 0, 0, buf, 4), 0);
	assert_memory_equal(buf, "\x01\x02\x03\x04", 4);
	dfu_file_free(f);
}

static void
test_add_element_fd(void **state)
{
	struct dfu_file *f = new_dfuse();
	uint8_t src[1000], buf[200], *img;
	size_t len, i;
	int fd = tmpfd();

	(void)state;
	for (i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(255 - i);
	assert_int_equal(write(fd, src, sizeof(src)), (ssize_t)sizeof(src));
	assert_int_equal(lseek(fd, 3, SEEK_SET), 3);
	assert_int_equal(dfu_file_add_target(f, 0, "fd"), 0);
	assert_int_equal(dfu_file_add_element_fd(f, 0, 0x08000000u, fd, 100,
						 200), 0);
	assert_int_equal(dfu_file_element(f, 0, 0)->size, 200);
	assert_int_equal(dfu_file_element_read(f, 0, 0, 10, buf, 20), 0);
	assert_memory_equal(buf, src + 110, 20);
	img = write_mem(f, &len);
	assert_int_equal(len, 11 + 274 + 8 + 200 + 16);
	assert_memory_equal(img + 293, src + 100, 200);
	free(img);
	dfu_file_free(f);
	/* fd is borrowed: still open. */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);

	/* Data that is not there at write time is DFU_ERR_IO. */
	f = new_dfuse();
	assert_int_equal(dfu_file_add_target(f, 0, "fd"), 0);
	assert_int_equal(dfu_file_add_element_fd(f, 0, 0, fd, 900, 200), 0);
	{
		int out = tmpfd();

		assert_int_equal(dfu_file_write_fd(f, out), DFU_ERR_IO);
		assert_true(strlen(dfu_file_errmsg(f)) > 0);
		close(out);
	}
	dfu_file_free(f);
	close(fd);
}

static void
test_plain_payload_fd(void **state)
{
	struct dfu_file *f = dfu_file_new();
	uint8_t src[100], *img;
	size_t len, i;
	int fd = tmpfd();

	(void)state;
	for (i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i + 50);
	assert_int_equal(write(fd, src, sizeof(src)), (ssize_t)sizeof(src));
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_PLAIN), 0);
	assert_int_equal(dfu_file_set_payload_fd(f, fd, 20, 60), 0);
	assert_int_equal(dfu_file_payload_size(f), 60);
	assert_int_equal(dfu_file_write_size(f), 76);
	img = write_mem(f, &len);
	assert_int_equal(len, 76);
	assert_memory_equal(img, src + 20, 60);
	assert_int_equal(tb_get_u32(img + 72), tb_crc(img, 72));
	/* The payload can be set again; the last one counts. */
	assert_int_equal(dfu_file_set_payload_mem(f, "xyz", 3), 0);
	assert_int_equal(dfu_file_write_size(f), 19);
	free(img);
	dfu_file_free(f);
	close(fd);
}

/* ---- pad_elements -------------------------------------------------------- */

static void
test_pad_elements(void **state)
{
	struct dfu_file *f = new_dfuse();
	uint8_t buf[16], *img;
	size_t len;

	(void)state;
	assert_int_equal(dfu_file_add_target(f, 0, NULL), 0);
	assert_int_equal(dfu_file_add_target(f, 1, NULL), 1);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x1000, "abcde", 5), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x2000, "12345678",
						  8), 1);
	assert_int_equal(dfu_file_add_element_mem(f, 1, 0x3000,
						  "ABCDEFGHIJKLM", 13), 0);
	/* 0 and 1 do nothing. */
	assert_int_equal(dfu_file_pad_elements(f, 0, 0xff), 0);
	assert_int_equal(dfu_file_pad_elements(f, 1, 0xff), 0);
	assert_int_equal(dfu_file_element(f, 0, 0)->size, 5);
	assert_int_equal(dfu_file_pad_elements(f, 8, 0xff), 0);
	assert_int_equal(dfu_file_element(f, 0, 0)->size, 8);
	assert_int_equal(dfu_file_element(f, 0, 1)->size, 8);
	assert_int_equal(dfu_file_element(f, 1, 0)->size, 16);
	assert_int_equal(dfu_file_element_read(f, 0, 0, 0, buf, 8), 0);
	assert_memory_equal(buf, "abcde\xff\xff\xff", 8);
	assert_int_equal(dfu_file_element_read(f, 1, 0, 0, buf, 16), 0);
	assert_memory_equal(buf, "ABCDEFGHIJKLM\xff\xff\xff", 16);
	/* Not a power of two: 8 -> 9, 16 -> 18. */
	assert_int_equal(dfu_file_pad_elements(f, 3, 0x00), 0);
	assert_int_equal(dfu_file_element(f, 0, 0)->size, 9);
	assert_int_equal(dfu_file_element(f, 1, 0)->size, 18);
	assert_int_equal(dfu_file_element_read(f, 0, 0, 0, buf, 9), 0);
	assert_memory_equal(buf, "abcde\xff\xff\xff\x00", 9);
	/* The written file has the padding too. */
	img = write_mem(f, &len);
	assert_int_equal(len, 11 + 2 * 274 + 3 * 8 + 9 + 9 + 18 + 16);
	assert_memory_equal(img + 11 + 274 + 8, "abcde\xff\xff\xff\x00", 9);
	assert_int_equal(tb_get_u32(img + 11 + 274 + 8 + 9 + 4), 9);
	free(img);
	dfu_file_free(f);
}

static void
test_pad_elements_range(void **state)
{
	struct dfu_file *f = new_dfuse();

	(void)state;
	/* Padding 0x1000+5 to 8 bytes runs into the element at 0x1006. */
	assert_int_equal(dfu_file_add_target(f, 0, NULL), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x1000, "abcde", 5), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0x1007, "x", 1), 1);
	assert_int_equal(dfu_file_pad_elements(f, 2, 0xff), 0);
	assert_int_equal(dfu_file_element(f, 0, 0)->size, 6);
	assert_int_equal(dfu_file_pad_elements(f, 8, 0xff), DFU_ERR_RANGE);
	assert_true(strlen(dfu_file_errmsg(f)) > 0);
	dfu_file_free(f);

	/* Padding past 4 GiB. */
	f = new_dfuse();
	assert_int_equal(dfu_file_add_target(f, 0, NULL), 0);
	assert_int_equal(dfu_file_add_element_mem(f, 0, 0xfffffffcu, "abc", 3),
			 0);
	assert_int_equal(dfu_file_pad_elements(f, 4, 0xff), 0);
	assert_int_equal(dfu_file_element(f, 0, 0)->size, 4);
	assert_int_equal(dfu_file_pad_elements(f, 8, 0xff), DFU_ERR_RANGE);
	dfu_file_free(f);
}

/* ---- re-serialising a file that was read -------------------------------- */

static void
test_rewrite_read_dfuse(void **state)
{
	static const struct tb_el e[] = { { 0x08000000u, 100 },
					  { 0x08001000u, 7 } };
	const struct tb_tg t = { 2, "ST...", 2, e };
	struct tb in, canon;
	struct dfu_file *f;
	uint8_t *img;
	size_t len;
	int fd = tmpfd();

	(void)state;
	/* Input: DFUImageSize with the suffix, junk after the name. */
	tb_init(&in);
	tb_dfuse(&in, 1, &t, 1);
	memcpy(in.p + 22 + 6, "junk", 4);
	tb_fix_crc(&in);
	/* Canonical: DFUImageSize without the suffix, name NUL-padded. */
	tb_init(&canon);
	tb_dfuse(&canon, 1, &t, 0);
	assert_int_equal(write(fd, in.p, in.len), (ssize_t)in.len);

	f = dfu_file_new();
	assert_int_equal(dfu_file_read_fd(f, fd, 0), 0);
	assert_non_null(td_find(f, "target-name-junk"));
	assert_non_null(td_find(f, "image-size-includes-suffix"));
	assert_int_equal(dfu_file_write_size(f), canon.len);
	img = write_mem(f, &len);
	assert_int_equal(len, canon.len);
	assert_memory_equal(img, canon.p, len);
	free(img);
	dfu_file_free(f);

	/* From memory too. */
	f = dfu_file_new();
	assert_int_equal(dfu_file_read_mem(f, in.p, in.len, 0), 0);
	img = write_mem(f, &len);
	assert_int_equal(len, canon.len);
	assert_memory_equal(img, canon.p, len);
	free(img);
	dfu_file_free(f);
	close(fd);
	tb_free(&in);
	tb_free(&canon);
}

/* A plain file read with a Stellaris prefix is written without it. */
static void
test_rewrite_read_plain(void **state)
{
	uint8_t p[8] = { 0x01, 0x00, 0x08, 0x00, 64, 0, 0, 0 };
	struct tb in, canon;
	struct dfu_file *f;
	uint8_t *img;
	size_t len;

	(void)state;
	tb_init(&in);
	tb_plain(&in, p, sizeof(p), 64, DFU_BCD_DFU_1_0);
	tb_init(&canon);
	tb_plain(&canon, NULL, 0, 64, DFU_BCD_DFU_1_0);
	f = dfu_file_new();
	assert_int_equal(dfu_file_read_mem(f, in.p, in.len, 0), 0);
	assert_non_null(dfu_file_vendor_prefix(f));
	assert_int_equal(dfu_file_write_size(f), canon.len);
	img = write_mem(f, &len);
	assert_int_equal(len, canon.len);
	assert_memory_equal(img, canon.p, len);
	free(img);
	dfu_file_free(f);
	tb_free(&in);
	tb_free(&canon);
}

/* A file that was read can be edited, then written. */
static void
test_edit_read_file(void **state)
{
	struct tb in;
	struct dfu_file *f, *r;
	uint8_t *img;
	size_t len;

	(void)state;
	tb_init(&in);
	tb_dfuse1(&in, 16);
	f = dfu_file_new();
	assert_int_equal(dfu_file_read_mem(f, in.p, in.len, 0), 0);
	if (dfu_file_add_element_mem(f, 0, TB_ADDR + 8, "x", 1) !=
	    DFU_ERR_RANGE)
		fail_msg("add_element on a read file: %s", dfu_file_errmsg(f));
	assert_int_equal(dfu_file_add_element_mem(f, 0, TB_ADDR + 16, "x", 1),
			 1);
	assert_int_equal(dfu_file_add_target(f, 1, "new"), 1);
	assert_int_equal(dfu_file_add_element_mem(f, 1, 0, "yz", 2), 0);
	assert_int_equal(dfu_file_set_ids(f, 1, 2, 3), 0);
	img = write_mem(f, &len);
	assert_int_equal(len, in.len + 9 + 274 + 10);
	r = dfu_file_new();
	assert_int_equal(dfu_file_read_mem(r, img, len, 0), 0);
	assert_int_equal(dfu_file_target_count(r), 2);
	assert_int_equal(dfu_file_element_count(r, 0), 2);
	assert_int_equal(dfu_file_element(r, 0, 1)->address, TB_ADDR + 16);
	assert_int_equal(dfu_file_suffix(r)->idVendor, 1);
	/* The original element's data came from the input. */
	assert_memory_equal(img + 293, in.p + 293, 16);
	dfu_file_free(r);
	free(img);
	dfu_file_free(f);
	tb_free(&in);
}

/* ---- distinct handles are independent ----------------------------------- */

struct worker {
	unsigned seed;
	int failures;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	size_t n = (1u << 20) + w->seed * 977u, i, len;
	uint8_t *data = malloc(n), *img;
	unsigned round;

	if (data == NULL) {
		w->failures++;
		return NULL;
	}
	for (i = 0; i < n; i++)
		data[i] = (uint8_t)(i * (w->seed + 3u));
	for (round = 0; round < 8; round++) {
		struct dfu_file *f = dfu_file_new(), *r = dfu_file_new();
		char path[] = "/tmp/test_write_thr.XXXXXX";
		int fd = mkstemp(path);
		off_t end;

		if (fd < 0) {
			w->failures++;
			dfu_file_free(f);
			dfu_file_free(r);
			break;
		}
		unlink(path);

		if (dfu_file_init(f, DFU_FORMAT_DFUSE) != 0 ||
		    dfu_file_add_target(f, (uint8_t)w->seed, NULL) != 0 ||
		    dfu_file_add_element_mem(f, 0, 0x08000000u, data,
					     (uint32_t)n) != 0 ||
		    dfu_file_write_fd(f, fd) != 0)
			w->failures++;
		end = lseek(fd, 0, SEEK_END);
		len = end > 0 ? (size_t)end : 0;
		img = malloc(len + 1);
		if (img == NULL || pread(fd, img, len, 0) != (ssize_t)len ||
		    len != 11 + 274 + 8 + n + 16 ||
		    tb_get_u32(img + len - 4) != tb_crc(img, len - 4) ||
		    memcmp(img + 293, data, n) != 0 ||
		    dfu_file_read_mem(r, img, len, 0) != 0 ||
		    dfu_file_target(r, 0)->bAlternateSetting != w->seed)
			w->failures++;
		free(img);
		close(fd);
		dfu_file_free(f);
		dfu_file_free(r);
	}
	free(data);
	return NULL;
}

/* POSIX threads rather than C11 ones: ThreadSanitizer follows them. */
static void
test_concurrent_handles(void **state)
{
	struct worker w[4];
	pthread_t t[4];
	unsigned i;

	(void)state;
	for (i = 0; i < 4; i++) {
		w[i].seed = i + 1;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run,
						&w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
}

/* ---- strerror, version ---------------------------------------------------- */

static void
test_strerror(void **state)
{
	static const int codes[] = { DFU_OK, DFU_ERR_INVALID, DFU_ERR_NOMEM,
				     DFU_ERR_IO, DFU_ERR_FORMAT,
				     DFU_ERR_RANGE };
	size_t i, j, n = sizeof(codes) / sizeof(codes[0]);

	(void)state;
	assert_int_equal(DFU_OK, 0);
	assert_int_equal(DFU_ERR_INVALID, -1);
	assert_int_equal(DFU_ERR_NOMEM, -2);
	assert_int_equal(DFU_ERR_IO, -3);
	assert_int_equal(DFU_ERR_FORMAT, -4);
	assert_int_equal(DFU_ERR_RANGE, -5);
	for (i = 0; i < n; i++) {
		const char *s = dfu_strerror(codes[i]);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		for (j = 0; j < i; j++)
			assert_string_not_equal(s, dfu_strerror(codes[j]));
	}
	/* Unknown values still give text, distinct from the known ones. */
	for (i = 0; i < 4; i++) {
		static const int odd[] = { -6, -1000, 1, 0x7fffffff };
		const char *s = dfu_strerror(odd[i]);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		for (j = 1; j < n; j++)
			assert_string_not_equal(s, dfu_strerror(codes[j]));
	}
}

static void
test_version(void **state)
{
	char want[32];

	(void)state;
	assert_non_null(dfufile_version());
	assert_string_equal(dfufile_version(), DFUFILE_VERSION_STRING);
	snprintf(want, sizeof(want), "%d.%d.%d", DFUFILE_VERSION_MAJOR,
		 DFUFILE_VERSION_MINOR, DFUFILE_VERSION_PATCH);
	assert_string_equal(dfufile_version(), want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_unnamed_target_bytes),
		cmocka_unit_test(test_plain_bytes),
		cmocka_unit_test(test_init_defaults),
		cmocka_unit_test(test_ids_written),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_medium_file_crc),
		cmocka_unit_test(test_large_file_crc),
		cmocka_unit_test(test_write_pipe),
		cmocka_unit_test(test_write_writeback),
		cmocka_unit_test(test_write_large_fd_to_pipe),
		cmocka_unit_test(test_write_large_fd_short),
		cmocka_unit_test(test_write_pipe_small_plain),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_add_target_limits),
		cmocka_unit_test(test_long_name_written),
		cmocka_unit_test(test_target_without_elements),
		cmocka_unit_test(test_add_element_ranges),
		cmocka_unit_test(test_add_element_after_read),
		cmocka_unit_test(test_add_element_mem_copies),
		cmocka_unit_test(test_add_element_fd),
		cmocka_unit_test(test_plain_payload_fd),
		cmocka_unit_test(test_pad_elements),
		cmocka_unit_test(test_pad_elements_range),
		cmocka_unit_test(test_rewrite_read_dfuse),
		cmocka_unit_test(test_rewrite_read_plain),
		cmocka_unit_test(test_edit_read_file),
		cmocka_unit_test(test_concurrent_handles),
		cmocka_unit_test(test_suffix_extension),
		cmocka_unit_test(test_element_cb),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
