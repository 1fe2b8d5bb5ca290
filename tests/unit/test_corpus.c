/*
 * test_corpus.c - the library on the real-world files of
 * tests/fixtures/corpus (see its README): what they hold, the notes and
 * errors they give, and that writing them back gives the canonical form.
 * The expected values were read from the files with an independent
 * Python script of a few lines, not with libdfufile.
 *
 * The corpus is found from this source file's path, so run the binary
 * from the top of the tree (make check does).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dfu_test_build.h"

struct corpus {
	int fd;
	uint8_t *data; /* the whole file, for comparisons */
	size_t len;
};

static void
corpus_open(struct corpus *c, const char *name)
{
	char path[1024];
	const char *slash = strrchr(__FILE__, '/');
	int dir = slash ? (int)(slash - __FILE__) : 1;
	struct stat st;

	snprintf(path, sizeof(path), "%.*s/../fixtures/corpus/%s", dir,
		 slash ? __FILE__ : ".", name);
	c->fd = open(path, O_RDONLY);
	if (c->fd < 0)
		fail_msg("%s: cannot open (run from the top of the tree)",
			 path);
	assert_int_equal(fstat(c->fd, &st), 0);
	c->len = (size_t)st.st_size;
	c->data = malloc(c->len);
	assert_non_null(c->data);
	assert_int_equal(pread(c->fd, c->data, c->len, 0), (ssize_t)c->len);
}

static void
corpus_close(struct corpus *c)
{
	close(c->fd);
	free(c->data);
}

static struct dfu_file *
read_corpus(struct corpus *c, int want)
{
	struct dfu_file *f = dfu_file_new();
	int rc = dfu_file_read_fd(f, c->fd, 0);

	if (rc != want)
		fail_msg("read: want %d, got %d (%s); %s", want, rc,
			 dfu_file_errmsg(f), td_list(f));
	assert_int_equal(dfu_file_size(f), c->len);
	return f;
}

/* Element data read through the library equals the bytes of the file. */
static void
check_element_data(struct dfu_file *f, const struct corpus *c,
		   unsigned t, unsigned e)
{
	const struct dfu_element *el = dfu_file_element(f, t, e);
	uint8_t *buf;

	assert_non_null(el);
	buf = malloc(el->size + 1);
	assert_non_null(buf);
	assert_int_equal(dfu_file_element_read(f, t, e, 0, buf, el->size), 0);
	assert_memory_equal(buf, c->data + el->offset, el->size);
	free(buf);
}

/* Write f to a temporary file and return the bytes. */
static uint8_t *
write_back(struct dfu_file *f, size_t *len)
{
	char path[] = "/tmp/test_corpus.XXXXXX";
	int fd = mkstemp(path);
	off_t end;
	uint8_t *p;

	assert_true(fd >= 0);
	unlink(path);
	if (dfu_file_write_fd(f, fd) != 0)
		fail_msg("write: %s", dfu_file_errmsg(f));
	end = lseek(fd, 0, SEEK_END);
	p = malloc((size_t)end);
	assert_non_null(p);
	assert_int_equal(pread(fd, p, (size_t)end, 0), end);
	close(fd);
	*len = (size_t)end;
	assert_int_equal(dfu_file_write_size(f), *len);
	return p;
}

static void
test_vrbrain(void **state)
{
	struct corpus c;
	struct dfu_file *f;
	const struct dfuse_target *t;
	uint8_t *out, *want;
	uint32_t crc;
	size_t len;

	(void)state;
	corpus_open(&c, "fwupd_dev_VRBRAIN.dfu");
	assert_int_equal(c.len, 92690);
	f = read_corpus(&c, 0);
	assert_ndiag(f, 2);
	assert_diag(f, DFU_NOTE, "image-size-excludes-suffix", 6,
		    "DFUImageSize");
	assert_diag(f, DFU_NOTE, "target-name-junk", 28, "szTargetName");
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_DFUSE);
	assert_int_equal(dfu_file_suffix(f)->idVendor, 0x0483);
	assert_int_equal(dfu_file_suffix(f)->idProduct, 0x0000);
	assert_int_equal(dfu_file_suffix(f)->bcdDevice, 0x0000);
	assert_int_equal(dfu_file_crc(f), 0x4f229ff7u);
	t = dfu_file_target(f, 0);
	assert_non_null(t);
	assert_string_equal(t->szTargetName, "ST...");
	assert_int_equal(t->dwTargetSize, 92389);
	assert_int_equal(dfu_file_element_count(f, 0), 2);
	assert_int_equal(dfu_file_element(f, 0, 0)->address, 0x08000000u);
	assert_int_equal(dfu_file_element(f, 0, 0)->size, 0x166d1);
	assert_int_equal(dfu_file_element(f, 0, 0)->offset, 293);
	assert_int_equal(dfu_file_element(f, 0, 1)->address, 0x080166d4u);
	assert_int_equal(dfu_file_element(f, 0, 1)->size, 516);
	assert_int_equal(dfu_file_element(f, 0, 1)->offset, 92158);
	check_element_data(f, &c, 0, 0);
	check_element_data(f, &c, 0, 1);

	/* Written back: the junk after the name is gone, the CRC redone. */
	want = malloc(c.len);
	assert_non_null(want);
	memcpy(want, c.data, c.len);
	memset(want + 28, 0, 255 - 6);
	crc = tb_crc(want, c.len - 4);
	want[c.len - 4] = (uint8_t)crc;
	want[c.len - 3] = (uint8_t)(crc >> 8);
	want[c.len - 2] = (uint8_t)(crc >> 16);
	want[c.len - 1] = (uint8_t)(crc >> 24);
	out = write_back(f, &len);
	assert_int_equal(len, c.len);
	assert_memory_equal(out, want, len);
	free(out);
	free(want);
	dfu_file_free(f);
	corpus_close(&c);
}

/* Already canonical: written back byte for byte. */
static void
test_flipper_full(void **state)
{
	struct corpus c;
	struct dfu_file *f;
	uint8_t *out;
	size_t len;

	(void)state;
	corpus_open(&c, "flipper_zero_f7_full.dfu");
	f = read_corpus(&c, 0);
	assert_ndiag(f, 2);
	assert_diag(f, DFU_NOTE, "image-size-excludes-suffix", 6,
		    "DFUImageSize");
	assert_diag(f, DFU_NOTE, "wildcard-id", c.len - 16, "bcdDevice");
	assert_string_equal(dfu_file_target(f, 0)->szTargetName,
			    "Flipper Zero F7");
	assert_int_equal(dfu_file_element_count(f, 0), 1);
	assert_int_equal(dfu_file_element(f, 0, 0)->address, 0x08000000u);
	assert_int_equal(dfu_file_element(f, 0, 0)->size, 769428);
	check_element_data(f, &c, 0, 0);
	out = write_back(f, &len);
	assert_int_equal(len, c.len);
	assert_memory_equal(out, c.data, len);
	free(out);
	dfu_file_free(f);
	corpus_close(&c);
}

static void
test_flipper_updater(void **state)
{
	struct corpus c;
	struct dfu_file *f;

	(void)state;
	corpus_open(&c, "flipper_zero_f7_updater_ram.dfu");
	f = read_corpus(&c, 0);
	assert_int_equal(dfu_file_element(f, 0, 0)->address, 0x20000000u);
	assert_int_equal(dfu_file_element(f, 0, 0)->size, 107485);
	assert_int_equal(dfu_file_error_count(f), 0);
	check_element_data(f, &c, 0, 0);
	dfu_file_free(f);
	corpus_close(&c);
}

static void
test_kiibohd_plain(void **state)
{
	struct corpus c;
	struct dfu_file *f;
	const struct dfu_suffix *s;
	uint8_t *buf, *out;
	size_t len;

	(void)state;
	corpus_open(&c, "kiibohd_ktype_plain_suffix.dfu.bin");
	f = read_corpus(&c, 0);
	assert_ndiag(f, 1);
	assert_diag(f, DFU_NOTE, "wildcard-id", c.len - 16, "bcdDevice");
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_PLAIN);
	s = dfu_file_suffix(f);
	assert_int_equal(s->idVendor, 0x1c11);
	assert_int_equal(s->idProduct, 0xb007);
	assert_int_equal(s->bcdDFU, 0x0100);
	assert_null(dfu_file_vendor_prefix(f));
	assert_int_equal(dfu_file_payload_size(f), c.len - 16);
	buf = malloc(c.len);
	assert_non_null(buf);
	assert_int_equal(dfu_file_payload_read(f, 0, buf, c.len - 16), 0);
	assert_memory_equal(buf, c.data, c.len - 16);
	free(buf);
	out = write_back(f, &len);
	assert_int_equal(len, c.len);
	assert_memory_equal(out, c.data, len);
	free(out);
	dfu_file_free(f);
	corpus_close(&c);
}

static void
test_hackrf_lpc(void **state)
{
	struct corpus c;
	struct dfu_file *f;
	const struct dfu_diag *d;
	const struct dfu_vendor_prefix *v;

	(void)state;
	corpus_open(&c, "hackrf_one_usb_lpc_prefix.dfu");
	f = read_corpus(&c, DFU_ERR_FORMAT);
	assert_int_equal(dfu_file_error_count(f), 1);
	assert_diag(f, DFU_ERROR, "crc-mismatch", c.len - 4, "dwCRC");
	d = td_find(f, "crc-mismatch");
	if (strstr(d->message, "prefix") == NULL)
		fail_msg("no explanation: \"%s\"", d->message);
	v = dfu_file_vendor_prefix(f);
	assert_non_null(v);
	assert_int_equal(v->kind, DFU_VENDOR_PREFIX_LPC);
	assert_int_equal(v->length, 0x45);
	assert_int_equal(dfu_file_payload_size(f), c.len - 32);
	/* The stored CRC is the one of the bytes after the prefix. */
	assert_int_equal(dfu_file_suffix(f)->dwCRC,
			 tb_crc(c.data + 16, c.len - 20));
	dfu_file_free(f);

	f = dfu_file_new();
	assert_int_equal(dfu_file_read_fd(f, c.fd, DFU_READ_IGNORE_CRC), 0);
	assert_diag(f, DFU_NOTE, "crc-mismatch", c.len - 4, "dwCRC");
	dfu_file_free(f);
	corpus_close(&c);
}

static void
test_vlxfirm_not_dfu(void **state)
{
	struct corpus c;
	struct dfu_file *f;

	(void)state;
	corpus_open(&c, "vlxfirm_NOT_usb_dfu.dfu");
	f = read_corpus(&c, DFU_ERR_FORMAT);
	assert_ndiag(f, 1);
	assert_diag(f, DFU_ERROR, "not-dfu", 0, "file");
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_UNKNOWN);
	dfu_file_free(f);
	corpus_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vrbrain),
		cmocka_unit_test(test_flipper_full),
		cmocka_unit_test(test_flipper_updater),
		cmocka_unit_test(test_kiibohd_plain),
		cmocka_unit_test(test_hackrf_lpc),
		cmocka_unit_test(test_vlxfirm_not_dfu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
