/*
 * test_memory.c - the memory contract of dfufile.h: "reading is
 * streaming: only headers are kept in memory ... a 1 GiB file costs
 * kilobytes of memory", and writing streams element data from its fd.
 *
 * The 1 GiB element lives in a sparse temporary file, so the test needs
 * little disk; the peak resident size of the process (ru_maxrss) must not
 * grow by more than a few MiB while the library reads or writes it.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dfu_test_build.h"

#define GIB (1024u * 1024u * 1024u)
#define SLACK_KIB (8 * 1024) /* allowed growth of the peak RSS */

static long
maxrss_kib(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

/* dwCRC of the whole sparse file: headers, 1 GiB of zeros, suffix. */
static uint32_t
crc_with_zeros(const uint8_t *head, size_t hlen, uint64_t zeros,
	       const uint8_t *tail, size_t tlen)
{
	static uint8_t z[1 << 16];
	uLong c = crc32(0L, Z_NULL, 0);

	c = crc32(c, head, (uInt)hlen);
	while (zeros > 0) {
		uInt k = zeros > sizeof(z) ? (uInt)sizeof(z) : (uInt)zeros;

		c = crc32(c, z, k);
		zeros -= k;
	}
	c = crc32(c, tail, (uInt)tlen);
	return ~(uint32_t)c;
}

/* A DfuSe file with one element of 1 GiB of zeros, in a sparse file. */
static int
sparse_dfuse(uint64_t *size)
{
	char path[] = "/tmp/test_memory.XXXXXX";
	struct tb h, s;
	int fd = mkstemp(path);
	uint64_t end;

	assert_true(fd >= 0);
	unlink(path);
	tb_init(&h);
	tb_dfuse_prefix(&h, 1, 0, 1);
	tb_target(&h, 0, 1, "big", 8 + GIB, 1);
	tb_element(&h, 0x08000000u, GIB, 0);
	end = h.len + (uint64_t)GIB;
	tb_set_u32(&h, TB_OFF_IMAGE_SIZE, (uint32_t)end);
	tb_init(&s);
	tb_u16(&s, TB_DEV);
	tb_u16(&s, TB_PID);
	tb_u16(&s, TB_VID);
	tb_u16(&s, DFU_BCD_DFUSE);
	tb_put(&s, "UFD", 3);
	tb_u8(&s, 16);
	tb_u32(&s, crc_with_zeros(h.p, h.len, GIB, s.p, 12));
	assert_int_equal(pwrite(fd, h.p, h.len, 0), (ssize_t)h.len);
	assert_int_equal(pwrite(fd, s.p, s.len, (off_t)end), (ssize_t)s.len);
	*size = end + s.len;
	tb_free(&h);
	tb_free(&s);
	return fd;
}

static void
test_read_1gib_streaming(void **state)
{
	struct dfu_file *f;
	uint64_t size;
	long before, after;
	uint8_t buf[64], zero[64];
	int fd;

	(void)state;
	fd = sparse_dfuse(&size);
	assert_int_equal(size, 11 + 274 + 8 + (uint64_t)GIB + 16);
	f = dfu_file_new();
	before = maxrss_kib();
	if (dfu_file_read_fd(f, fd, 0) != 0)
		fail_msg("read: %s; %s", dfu_file_errmsg(f), td_list(f));
	after = maxrss_kib();
	if (after - before > SLACK_KIB)
		fail_msg("reading a 1 GiB file raised the peak RSS by %ld KiB",
			 after - before);
	assert_int_equal(dfu_file_size(f), size);
	assert_int_equal(dfu_file_element(f, 0, 0)->size, GIB);
	/* Data at the far end is read on demand. */
	memset(zero, 0, sizeof(zero));
	assert_int_equal(dfu_file_element_read(f, 0, 0, GIB - 64, buf, 64),
			 0);
	assert_memory_equal(buf, zero, 64);
	dfu_file_free(f);
	close(fd);
}

static void
test_write_1gib_streaming(void **state)
{
	struct dfu_file *f;
	uint64_t size;
	long before, after;
	int fd, null;

	(void)state;
	fd = sparse_dfuse(&size);
	null = open("/dev/null", O_WRONLY);
	assert_true(null >= 0);
	f = dfu_file_new();
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_add_target(f, 0, "big"), 0);
	/* The 1 GiB of zeros, streamed from the sparse file. */
	assert_int_equal(dfu_file_add_element_fd(f, 0, 0, fd, 293, GIB), 0);
	assert_int_equal(dfu_file_write_size(f), size);
	before = maxrss_kib();
	assert_int_equal(dfu_file_write_fd(f, null), 0);
	after = maxrss_kib();
	if (after - before > SLACK_KIB)
		fail_msg("writing a 1 GiB file raised the peak RSS by %ld KiB",
			 after - before);
	dfu_file_free(f);
	close(null);
	close(fd);
}

/*
 * Hostile headers in a small file must not make the reader allocate for
 * what they declare: 255 targets each declaring 65535 elements.
 */
static void
test_hostile_counts(void **state)
{
	struct tb b;
	struct dfu_file *f;
	long before, after;
	unsigned i;

	(void)state;
	tb_init(&b);
	tb_dfuse_prefix(&b, 1, 0, 255);
	for (i = 0; i < 255; i++)
		tb_target(&b, (uint8_t)i, 0, NULL, 0xffffffffu, 0xffffu);
	tb_set_u32(&b, TB_OFF_IMAGE_SIZE, (uint32_t)b.len);
	tb_suffix_std(&b, DFU_BCD_DFUSE);
	f = dfu_file_new();
	before = maxrss_kib();
	assert_int_equal(dfu_file_read_mem(f, b.p, b.len, 0), DFU_ERR_FORMAT);
	after = maxrss_kib();
	if (after - before > SLACK_KIB)
		fail_msg("a %zu-byte file raised the peak RSS by %ld KiB",
			 b.len, after - before);
	assert_non_null(td_find(f, "element-count"));
	dfu_file_free(f);
	tb_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_counts),
		cmocka_unit_test(test_read_1gib_streaming),
		cmocka_unit_test(test_write_1gib_streaming),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
