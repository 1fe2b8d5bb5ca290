/*
 * test_image_files.c - the loaders on real files: the ELF fixtures of
 * tests/fixtures/elf and the corpus ELF and HEX of tests/fixtures/corpus.
 *
 * Round trip: every file is converted to a DfuSe file, which is written,
 * read back through the library, and every element must hold exactly the
 * image's bytes at its addresses, the elements covering exactly the
 * image's ranges.  Robustness: every truncation of an ELF fixture and
 * thousands of corrupted copies of ELF and HEX inputs must load or fail
 * with a message, never crash or read out of bounds (run it under ASan).
 *
 * Files are found from this source file's path: run the binary from the
 * top of the tree (make check does).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "image_test.h"

/* Path of a file relative to the top of the tree. */
static void
tree_path(char *buf, size_t len, const char *rel)
{
	const char *slash = strrchr(__FILE__, '/');
	int dir = slash ? (int)(slash - __FILE__) : 1;

	snprintf(buf, len, "%.*s/../../%s", dir, slash ? __FILE__ : ".", rel);
}

/*
 * Open a committed fixture.  Every file these tests read is in the
 * repository, so one that cannot be opened fails the test: a skip would
 * let a deleted fixture pass unnoticed.
 */
static int
open_fixture(const char *rel)
{
	char path[1024];
	int fd;

	tree_path(path, sizeof(path), rel);
	if ((fd = open(path, O_RDONLY)) < 0)
		fail_msg("%s: %s", path, strerror(errno));
	return fd;
}

static uint8_t *
slurp(int fd, size_t *len)
{
	struct stat st;
	uint8_t *p;

	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	p = malloc(*len + 1);
	assert_non_null(p);
	assert_int_equal(pread(fd, p, *len, 0), (ssize_t)*len);
	return p;
}

static int
load(struct dfu_image *img, int fd, enum dfu_image_format fmt)
{
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	switch (fmt) {
	case DFU_IMAGE_ELF:
		return dfu_image_load_elf(img, fd, NULL);
	case DFU_IMAGE_IHEX:
		return dfu_image_load_ihex(img, fd);
	default:
		return dfu_image_load_srec(img, fd);
	}
}

/* Convert, write, read back; compare every element with the image. */
static void
round_trip(const char *rel, unsigned want_elements)
{
	struct dfu_image *img = dfu_image_new();
	struct dfu_file *f = dfu_file_new(), *r = dfu_file_new();
	int fd = open_fixture(rel), out = it_fd("", 0);
	uint8_t head[16], *a, *b;
	unsigned n;
	uint64_t total = 0, covered = 0;

	assert_int_equal(pread(fd, head, sizeof(head), 0), sizeof(head));
	it_ok(img, load(img, fd, dfu_image_detect(head, sizeof(head))));
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_add_target(f, 0, NULL), 0);
	it_ok(img, dfu_image_add_elements(img, f, 0, 0, UINT32_MAX, 0, 0, &n));
	assert_int_equal(n, want_elements);
	assert_int_equal(n, dfu_image_range_count(img));
	assert_int_equal(dfu_file_write_fd(f, out), 0);
	if (dfu_file_read_fd(r, out, 0) != 0)
		fail_msg("%s: read back: %s", rel, dfu_file_errmsg(r));
	assert_int_equal(dfu_file_element_count(r, 0), n);
	for (unsigned e = 0; e < n; e++) {
		const struct dfu_element *el = dfu_file_element(r, 0, e);
		uint32_t addr;
		uint64_t size;

		assert_int_equal(dfu_image_range(img, e, &addr, &size), 0);
		assert_int_equal(el->address, addr);
		assert_int_equal(el->size, size);
		a = malloc(size);
		b = malloc(size);
		assert_int_equal(dfu_file_element_read(r, 0, e, 0, a, size), 0);
		it_ok(img, dfu_image_read(img, addr, b, size));
		assert_memory_equal(a, b, size);
		free(a);
		free(b);
		covered += el->size;
	}
	for (size_t i = 0; i < dfu_image_range_count(img); i++) {
		uint64_t size;

		dfu_image_range(img, i, NULL, &size);
		total += size;
	}
	assert_int_equal(covered, total);
	dfu_file_free(r);
	dfu_file_free(f);
	dfu_image_free(img);
	close(out);
	close(fd);
}

static void
test_round_trip_fixtures(void **state)
{
	(void)state;
	round_trip("tests/fixtures/elf/lma.elf", 1);
	round_trip("tests/fixtures/elf/lma-be.elf", 1);
	round_trip("tests/fixtures/elf/two_regions.elf", 2);
	round_trip("tests/fixtures/elf/top.elf", 2);
}

static void
test_round_trip_corpus(void **state)
{
	(void)state;
	round_trip("tests/fixtures/corpus/teensy41_imxrt1062_multi_lma.elf", 1);
	round_trip("tests/fixtures/corpus/teensy41_imxrt1062_crlf.hex", 1);
	round_trip("tests/fixtures/corpus/flipper_zero_f7_updater_ram.elf", 3);
}

/* A load that fails says why and leaves no range behind. */
static void
check_outcome(struct dfu_image *img, int rc, const char *what, size_t i)
{
	if (rc == 0)
		return;
	if (rc != DFU_ERR_FORMAT && rc != DFU_ERR_RANGE &&
	    rc != DFU_ERR_INVALID)
		fail_msg("%s %zu: unexpected code %d (%s)", what, i, rc,
			 dfu_image_errmsg(img));
	if (*dfu_image_errmsg(img) == '\0')
		fail_msg("%s %zu: code %d without a message", what, i, rc);
	assert_int_equal(dfu_image_range_count(img), 0);
}

static void
test_every_truncation(void **state)
{
	int fd = open_fixture("tests/fixtures/elf/two_regions.elf");
	size_t len, ok = 0;
	uint8_t *buf = slurp(fd, &len);

	(void)state;
	for (size_t n = 0; n < len; n++) {
		struct dfu_image *img = dfu_image_new();
		int t = it_fd(buf, n), rc = dfu_image_load_elf(img, t, NULL);

		check_outcome(img, rc, "length", n);
		ok += rc == 0;
		close(t);
		dfu_image_free(img);
	}
	/* Only the section header table follows the last section data. */
	assert_int_equal(ok, 0);
	free(buf);
	close(fd);
}

/* xorshift32: a fixed sequence, so a failure can be replayed. */
static uint32_t
next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * A corrupted copy that loads must still give a sound image: at least one
 * range, ranges in address order with a gap between them (they are
 * maximal runs), inside the 32-bit address space, every byte readable,
 * and no more bytes than the file holds.  With ref (the original's
 * image), the copy must hold exactly ref's ranges and bytes: every HEX
 * record carries a checksum, so a changed data byte cannot load.
 */
static void
check_loaded(struct dfu_image *img, struct dfu_image *ref, size_t file_len,
	     const char *what, unsigned i)
{
	size_t n = dfu_image_range_count(img);
	uint64_t end = 0, total = 0;

	if (n == 0)
		fail_msg("%s %u: loaded without a range", what, i);
	if (ref && n != dfu_image_range_count(ref))
		fail_msg("%s %u: %zu ranges, the original has %zu", what, i,
			 n, dfu_image_range_count(ref));
	for (size_t r = 0; r < n; r++) {
		uint32_t addr;
		uint64_t size;
		uint8_t *got;

		assert_int_equal(dfu_image_range(img, r, &addr, &size), 0);
		if (size == 0 || (r > 0 && addr <= end) ||
		    addr + size > UINT64_C(0x100000000))
			fail_msg("%s %u: range %zu is 0x%08x+0x%llx after "
				 "0x%llx", what, i, r, addr,
				 (unsigned long long)size,
				 (unsigned long long)end);
		end = addr + size;
		total += size;
		if (total > file_len)
			fail_msg("%s %u: %llu bytes loaded from a %zu-byte file",
				 what, i, (unsigned long long)total, file_len);
		got = malloc(size);
		assert_non_null(got);
		it_ok(img, dfu_image_read(img, addr, got, size));
		if (ref) {
			it_range(ref, r, addr, size);
			it_bytes(ref, addr, got, size);
		}
		free(got);
	}
}

/*
 * Load rounds corrupted copies of a fixture (1 to 4 bytes replaced; with
 * text, by characters of a HEX or S-record file).  A copy fails with a
 * code and a message and no range, or loads into a sound image.  Both
 * must happen at least once, or the corruption tests nothing.
 */
static void
corrupt(const char *rel, enum dfu_image_format fmt, unsigned rounds,
	int text)
{
	int fd = open_fixture(rel);
	size_t len, loaded = 0;
	uint8_t *orig = slurp(fd, &len), *buf = malloc(len);
	uint32_t seed = 0x2545f491;
	static const char alphabet[] = "0123456789ABCDEFS:\r\n x";
	struct dfu_image *ref = dfu_image_new();

	it_ok(ref, load(ref, fd, fmt));
	for (unsigned i = 0; i < rounds; i++) {
		struct dfu_image *img = dfu_image_new();
		unsigned flips = 1 + next(&seed) % 4;
		int t, rc;

		memcpy(buf, orig, len);
		for (unsigned k = 0; k < flips; k++) {
			size_t at = next(&seed) % len;

			buf[at] = text ? (uint8_t)alphabet[next(&seed) %
			    (sizeof(alphabet) - 1)] : (uint8_t)next(&seed);
		}
		t = it_fd(buf, len);
		rc = load(img, t, fmt);
		check_outcome(img, rc, rel, i);
		if (rc == 0) {
			check_loaded(img, text ? ref : NULL, len, rel, i);
			loaded++;
		}
		close(t);
		dfu_image_free(img);
	}
	print_message("%s: %zu of %u corrupted copies loaded\n", rel, loaded,
		      rounds);
	if (loaded == 0 || loaded == rounds)
		fail_msg("%s: %zu of %u corrupted copies loaded", rel, loaded,
			 rounds);
	dfu_image_free(ref);
	free(orig);
	free(buf);
	close(fd);
}

static void
test_corrupted_elf(void **state)
{
	(void)state;
	corrupt("tests/fixtures/elf/lma.elf", DFU_IMAGE_ELF, 3000, 0);
	corrupt("tests/fixtures/elf/two_regions.elf", DFU_IMAGE_ELF, 3000, 0);
}

static void
test_corrupted_hex(void **state)
{
	(void)state;
	corrupt("tests/fixtures/corpus/teensy41_imxrt1062_crlf.hex", DFU_IMAGE_IHEX,
		300, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_fixtures),
		cmocka_unit_test(test_round_trip_corpus),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_corrupted_elf),
		cmocka_unit_test(test_corrupted_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
