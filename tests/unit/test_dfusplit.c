/*
 * test_dfusplit.c - dfusplit's own logic, linked from its objects (all but
 * main): the element files it writes in Intel HEX and S-records
 * (records.c), checked as exact text and read back by libdfufile's
 * loaders; the rules of --merge (build.c) that join elements of one
 * alternate setting from several files: equal bytes where they overlap
 * become one element, different bytes are refused with the address; and
 * --join's manifest reader (manifest.c): numbers in three spellings,
 * element files checked by size and SHA-256, each bad field named.
 *
 * Inputs are DfuSe files written with libdfufile into a fresh directory;
 * the output is read back with it.  Diagnostics go to stderr, which the
 * merge tests capture to compare the message.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dfufile.h"
#include "dfuimage.h"
#include "dfusplit.h"

/* ---- records.c ------------------------------------------------------- */

/* The text records_*() write for len bytes at address. */
static char *
records_text(enum elem_format fmt, const char *header, uint32_t address,
	     const uint8_t *data, size_t len)
{
	char *text = NULL;
	size_t size = 0;
	FILE *fp = open_memstream(&text, &size);
	struct records r;

	assert_non_null(fp);
	records_begin(&r, fp, fmt, header);
	records_data(&r, address, data, len);
	records_end(&r);
	assert_int_equal(ferror(fp), 0);
	assert_int_equal(fclose(fp), 0);
	return text;
}

/*
 * Intel HEX: a type 04 record before the first data record and again at
 * the 64 KiB boundary that the data crosses, a data record cut there,
 * type 01 at the end.  The checksums were worked out by hand from the
 * Intel HEX specification (two's complement of the byte sum).
 */
static void
test_ihex_text(void **state)
{
	uint8_t d[20];
	char *text;

	(void)state;
	for (unsigned i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)i;
	text = records_text(ELEM_IHEX, "ignored", 0x0800fff8, d, sizeof(d));
	assert_string_equal(text,
	    ":020000040800F2\n"
	    ":08FFF8000001020304050607E5\n"
	    ":020000040801F1\n"
	    ":0C00000008090A0B0C0D0E0F1011121352\n"
	    ":00000001FF\n");
	free(text);
}

/* S-records: S0 with the header, S3 data, S5 with the count, S7 end. */
static void
test_srec_text(void **state)
{
	static const uint8_t d[] = { 0xaa, 0x55 };
	char *text;

	(void)state;
	text = records_text(ELEM_SREC, "t", 0x1fffc000, d, sizeof(d));
	assert_string_equal(text,
	    "S00400007487\n"
	    "S3071FFFC000AA551B\n"
	    "S5030001FB\n"
	    "S70500000000FA\n");
	free(text);
}

/* An fd holding text, for the loaders. */
static int
text_fd(const char *text)
{
	char path[] = "/tmp/test_dfusplit.XXXXXX";
	int fd = mkstemp(path);
	size_t len = strlen(text);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/*
 * 200000 bytes from 0x0800c000 (four 64 KiB boundaries crossed) through
 * each format and back through libdfufile's loader: one range with
 * exactly these bytes.  S-records: 12500 data records, so S5 holds the
 * count the loader checks.
 */
static void
round_trip(enum elem_format fmt)
{
	const size_t len = 200000;
	const uint32_t addr = 0x0800c000;
	uint8_t *d = malloc(len), *back = malloc(len);
	uint32_t x = 0x12345678, a;
	uint64_t size;
	struct dfu_image *img = dfu_image_new();
	char *text;
	int fd, rc;

	assert_non_null(d);
	assert_non_null(back);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		d[i] = (uint8_t)x;
	}
	text = records_text(fmt, "round trip", addr, d, len);
	fd = text_fd(text);
	rc = fmt == ELEM_IHEX ? dfu_image_load_ihex(img, fd) :
	    dfu_image_load_srec(img, fd);
	if (rc != 0)
		fail_msg("%s: %s", elem_format_name(fmt), dfu_image_errmsg(img));
	assert_int_equal(dfu_image_range_count(img), 1);
	assert_int_equal(dfu_image_range(img, 0, &a, &size), 0);
	assert_int_equal(a, addr);
	assert_int_equal(size, len);
	assert_int_equal(dfu_image_read(img, addr, back, len), 0);
	assert_memory_equal(back, d, len);
	dfu_image_free(img);
	close(fd);
	free(text);
	free(d);
	free(back);
}

static void
test_ihex_round_trip(void **state)
{
	(void)state;
	round_trip(ELEM_IHEX);
}

static void
test_srec_round_trip(void **state)
{
	(void)state;
	round_trip(ELEM_SREC);
}

/* The names are --format's words and the manifest's "format" values. */
static void
test_format_names(void **state)
{
	(void)state;
	assert_string_equal(elem_format_name(ELEM_BIN), "bin");
	assert_string_equal(elem_format_name(ELEM_IHEX), "hex");
	assert_string_equal(elem_format_name(ELEM_SREC), "srec");
	assert_string_equal(elem_format_ext(ELEM_BIN), "bin");
	assert_string_equal(elem_format_ext(ELEM_IHEX), "hex");
	assert_string_equal(elem_format_ext(ELEM_SREC), "srec");
}

/* ---- build.c: --merge ------------------------------------------------ */

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_dfusplit.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The byte at address a of every element in these tests. */
static uint8_t
pattern(uint32_t a)
{
	return (uint8_t)(a * 7 + (a >> 8));
}

struct el {
	uint32_t address, size;
	int flip;		/* 1: the byte at address + size / 2 differs */
};

/* dir/name: a DfuSe file with one target of alt 0 holding els. */
static char *
mkdfuse(const char *name, const struct el *els, size_t n)
{
	struct dfu_file *f = dfu_file_new();
	char *path = malloc(strlen(dir) + strlen(name) + 2);
	int fd;

	assert_non_null(path);
	sprintf(path, "%s/%s", dir, name);
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_set_ids(f, 0x0483, 0xdf11, 0x2200), 0);
	assert_int_equal(dfu_file_add_target(f, 0, "Internal Flash"), 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t *d = malloc(els[i].size);

		assert_non_null(d);
		for (uint32_t k = 0; k < els[i].size; k++)
			d[k] = pattern(els[i].address + k);
		if (els[i].flip)
			d[els[i].size / 2] ^= 0x10;
		assert_true(dfu_file_add_element_mem(f, 0, els[i].address, d,
		    els[i].size) >= 0);
		free(d);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(dfu_file_write_fd(f, fd), 0);
	assert_int_equal(close(fd), 0);
	dfu_file_free(f);
	return path;
}

static char errbuf[4096];

/* run_merge() on the files, stderr kept in errbuf; its exit status. */
static int
merge(char **files, int nfiles, const char *out)
{
	struct options o;
	int saved, fd, rc;
	ssize_t n;

	memset(&o, 0, sizeof(o));
	o.mode = MODE_MERGE;
	o.output = out;
	o.files = files;
	o.nfiles = nfiles;
	fflush(stderr);
	saved = dup(2);
	fd = text_fd("");
	assert_true(saved >= 0 && dup2(fd, 2) == 2);
	rc = run_merge(&o);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	n = pread(fd, errbuf, sizeof(errbuf) - 1, 0);
	assert_true(n >= 0);
	errbuf[n] = '\0';
	close(fd);
	return rc;
}

/* The merged file holds exactly these elements of the pattern. */
static void
expect_elements(const char *path, const struct el *want, size_t n)
{
	struct dfu_file *f = dfu_file_new();
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	if (dfu_file_read_fd(f, fd, 0) != 0)
		fail_msg("%s: %s", path, dfu_file_errmsg(f));
	assert_int_equal(dfu_file_target_count(f), 1);
	assert_int_equal(dfu_file_element_count(f, 0), n);
	for (unsigned e = 0; e < n; e++) {
		const struct dfu_element *el = dfu_file_element(f, 0, e);
		uint8_t *d = malloc(want[e].size);

		assert_non_null(d);
		if (el->address != want[e].address || el->size != want[e].size)
			fail_msg("element %u: 0x%08x+0x%x, want 0x%08x+0x%x", e,
				 el->address, (unsigned)el->size,
				 want[e].address, want[e].size);
		assert_int_equal(dfu_file_element_read(f, 0, e, 0, d,
		    want[e].size), 0);
		for (uint32_t k = 0; k < want[e].size; k++)
			if (d[k] != pattern(want[e].address + k))
				fail_msg("element %u byte %u: 0x%02x", e,
					 (unsigned)k, d[k]);
		free(d);
	}
	dfu_file_free(f);
	close(fd);
}

/* Name of dir/name (for outputs), in a static buffer of its own. */
static char *
in_dir(const char *name)
{
	static char buf[2][128];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

/* Overlapping elements with equal bytes become their union. */
static void
test_merge_overlap_unites(void **state)
{
	static const struct el a[] = { { 0x08000000, 0x100, 0 } };
	static const struct el b[] = { { 0x08000080, 0x100, 0 } };
	static const struct el want[] = { { 0x08000000, 0x180, 0 } };
	char *files[] = { mkdfuse("a.dfu", a, 1), mkdfuse("b.dfu", b, 1) };

	(void)state;
	assert_int_equal(merge(files, 2, in_dir("ab.dfu")), 0);
	assert_string_equal(errbuf, "");
	expect_elements(in_dir("ab.dfu"), want, 1);
	free(files[0]);
	free(files[1]);
}

/* An element inside another with equal bytes adds nothing, either way. */
static void
test_merge_contained(void **state)
{
	static const struct el big[] = { { 0x08000000, 0x400, 0 } };
	static const struct el small[] = { { 0x08000100, 0x10, 0 } };
	char *files[] = { mkdfuse("big.dfu", big, 1),
			  mkdfuse("small.dfu", small, 1) };
	char *rev[] = { files[1], files[0] };

	(void)state;
	assert_int_equal(merge(files, 2, in_dir("m1.dfu")), 0);
	expect_elements(in_dir("m1.dfu"), big, 1);
	assert_int_equal(merge(rev, 2, in_dir("m2.dfu")), 0);
	expect_elements(in_dir("m2.dfu"), big, 1);
	free(files[0]);
	free(files[1]);
}

/*
 * An element that bridges two apart elements of the first file joins all
 * three into one; elements that only touch or lie apart stay apart.
 */
static void
test_merge_bridge(void **state)
{
	static const struct el a[] = { { 0x08000000, 0x100, 0 },
				       { 0x08000200, 0x100, 0 },
				       { 0x08001000, 0x10, 0 } };
	static const struct el b[] = { { 0x080000f0, 0x120, 0 },
				       { 0x08001010, 0x10, 0 } };
	static const struct el want[] = { { 0x08000000, 0x300, 0 },
					  { 0x08001000, 0x10, 0 },
					  { 0x08001010, 0x10, 0 } };
	char *files[] = { mkdfuse("a3.dfu", a, 3), mkdfuse("b2.dfu", b, 2) };

	(void)state;
	assert_int_equal(merge(files, 2, in_dir("bridge.dfu")), 0);
	expect_elements(in_dir("bridge.dfu"), want, 3);
	free(files[0]);
	free(files[1]);
}

/* Different bytes where elements overlap: refused, naming the address
 * and both bytes, and no output. */
static void
test_merge_conflict(void **state)
{
	static const struct el a[] = { { 0x08000000, 0x100, 0 } };
	static const struct el b[] = { { 0x08000080, 0x80, 1 } };
	char *files[] = { mkdfuse("c1.dfu", a, 1), mkdfuse("c2.dfu", b, 1) };
	char want[512];
	uint32_t at = 0x08000080 + 0x40;

	(void)state;
	assert_int_equal(merge(files, 2, in_dir("c.dfu")), CLI_EXIT_FAIL);
	snprintf(want, sizeof(want), "dfusplit: %s target 0 element 0 "
	    "(0x08000000-0x080000ff) and %s target 0 element 0 "
	    "(0x08000080-0x080000ff) overlap with different bytes: at "
	    "0x%08x, 0x%02x against 0x%02x\n", files[0], files[1],
	    (unsigned)at, pattern(at), pattern(at) ^ 0x10);
	assert_string_equal(errbuf, want);
	assert_int_equal(access(in_dir("c.dfu"), F_OK), -1);
	free(files[0]);
	free(files[1]);
}

/* ---- manifest.c: --join ---------------------------------------------- */

/* SHA-256 of "abc" (FIPS 180-2, appendix B.1). */
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void
put(const char *name, const char *text)
{
	FILE *fp = fopen(in_dir(name), "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* run_join() on dir/manifest.json writing dir/out.dfu, stderr kept. */
static int
join(const char *manifest)
{
	struct options o;
	int saved, fd, rc;
	ssize_t n;
	char mpath[128], opath[128];

	put("abc.bin", "abc");
	put("manifest.json", manifest);
	snprintf(mpath, sizeof(mpath), "%s/manifest.json", dir);
	snprintf(opath, sizeof(opath), "%s/out.dfu", dir);
	unlink(opath);
	memset(&o, 0, sizeof(o));
	o.mode = MODE_JOIN;
	o.manifest = mpath;
	o.output = opath;
	fflush(stderr);
	saved = dup(2);
	fd = text_fd("");
	assert_true(saved >= 0 && dup2(fd, 2) == 2);
	rc = run_join(&o);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	n = pread(fd, errbuf, sizeof(errbuf) - 1, 0);
	assert_true(n >= 0);
	errbuf[n] = '\0';
	close(fd);
	return rc;
}

/* Numbers as JSON integers, "0x" strings and decimal strings; the
 * element file checked against its size and SHA-256. */
static void
test_join(void **state)
{
	struct dfu_file *f = dfu_file_new();
	const struct dfu_suffix *sfx;
	const struct dfuse_target *tg;
	const struct dfu_element *el;
	uint8_t d[3];
	int fd;

	(void)state;
	assert_int_equal(join("{\"dfusplit\": 1, \"format\": \"dfuse\", "
	    "\"suffix\": {\"idVendor\": \"0x0483\", \"idProduct\": 57105, "
	    "\"bcdDevice\": \"8704\"}, \"targets\": [{\"alt\": 1, "
	    "\"name\": \"Option Bytes\", \"elements\": [{\"address\": "
	    "\"0x1fffc000\", \"file\": \"abc.bin\", \"size\": 3, "
	    "\"sha256\": \"" SHA_ABC "\"}]}]}"), 0);
	assert_string_equal(errbuf, "");
	fd = open(in_dir("out.dfu"), O_RDONLY);
	assert_true(fd >= 0);
	if (dfu_file_read_fd(f, fd, 0) != 0)
		fail_msg("out.dfu: %s", dfu_file_errmsg(f));
	sfx = dfu_file_suffix(f);
	assert_int_equal(sfx->idVendor, 0x0483);
	assert_int_equal(sfx->idProduct, 0xdf11);
	assert_int_equal(sfx->bcdDevice, 0x2200);
	assert_int_equal(sfx->bcdDFU, 0x011a);
	assert_int_equal(dfu_file_target_count(f), 1);
	tg = dfu_file_target(f, 0);
	assert_int_equal(tg->bAlternateSetting, 1);
	assert_string_equal(tg->szTargetName, "Option Bytes");
	assert_int_equal(dfu_file_element_count(f, 0), 1);
	el = dfu_file_element(f, 0, 0);
	assert_int_equal(el->address, 0x1fffc000);
	assert_int_equal(el->size, 3);
	assert_int_equal(dfu_file_element_read(f, 0, 0, 0, d, 3), 0);
	assert_memory_equal(d, "abc", 3);
	dfu_file_free(f);
	close(fd);
}

/* A manifest with one element whose fields are FIELDS. */
#define ONE_ELEMENT(alt, fields)                                              \
	"{\"dfusplit\": 1, \"format\": \"dfuse\", \"suffix\": {\"idVendor\": " \
	"1155, \"idProduct\": 57105, \"bcdDevice\": 8704}, \"targets\": "     \
	"[{\"alt\": " alt ", \"elements\": [{\"address\": 134217728, "       \
	fields "}]}]}"

/* Each bad manifest: exit 1, the message naming the field, no output.
 * DIR in a message stands for the directory. */
static void
test_join_refused(void **state)
{
	static const struct {
		const char *manifest, *msg;
	} cases[] = {
		{ ONE_ELEMENT("\"0x100\"", "\"file\": \"abc.bin\""),
		  "targets[0].alt: 0x100 is out of range (0 to 0xff)" },
		{ ONE_ELEMENT("256", "\"file\": \"abc.bin\""),
		  "targets[0].alt: 256 is out of range (0 to 0xff)" },
		{ ONE_ELEMENT("\"010\"", "\"file\": \"abc.bin\""),
		  "targets[0].alt: 010 has a leading zero, which could mean "
		  "octal, decimal or hexadecimal: write 0x010 for hexadecimal" },
		{ ONE_ELEMENT("\"one\"", "\"file\": \"abc.bin\""),
		  "targets[0].alt: expected a number, such as 0x0483 or 1155" },
		{ ONE_ELEMENT("0", "\"file\": \"abc.bin\", \"size\": 4"),
		  "targets[0].elements[0].size: DIR/abc.bin has 3 bytes, the "
		  "manifest says 4" },
		{ ONE_ELEMENT("0", "\"file\": \"abc.bin\", \"sha256\": \""
		  "00000000000000000000000000000000000000000000000000000000000"
		  "00000\""),
		  "targets[0].elements[0].sha256: DIR/abc.bin has changed since "
		  "it was split (its SHA-256 is " SHA_ABC "); to use it as it "
		  "is now, remove the sha256 field" },
		{ ONE_ELEMENT("0", "\"file\": \"abc.bin\", \"format\": \"elf\""),
		  "targets[0].elements[0].format: expected \"bin\", \"hex\" or "
		  "\"srec\"" },
		{ "{\"dfusplit\": 2}",
		  "dfusplit: manifest version is newer; this dfusplit reads "
		  "versions 1 and 2 (\"schema\": "
		  "\"dfutools/dfusplit-manifest/2\")" },
		{ "{\"schema\": \"dfutools/dfusplit-manifest/3\"}",
		  "schema: manifest version 3; this dfusplit reads versions 1 "
		  "and 2" },
		{ "{\"schema\": 2, \"dfusplit\": 1}",
		  "schema: expected \"dfutools/dfusplit-manifest/2\": not a "
		  "manifest of dfusplit" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *d = strstr(cases[i].msg, "DIR");
		char want[1024];

		if (d != NULL)
			snprintf(want, sizeof(want), "dfusplit: %s/manifest.json: "
				 "%.*s%s%s\n", dir, (int)(d - cases[i].msg),
				 cases[i].msg, dir, d + 3);
		else
			snprintf(want, sizeof(want), "dfusplit: %s/manifest.json: "
				 "%s\n", dir, cases[i].msg);
		if (join(cases[i].manifest) != CLI_EXIT_FAIL ||
		    strcmp(errbuf, want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, errbuf,
				 want);
		assert_int_equal(access(in_dir("out.dfu"), F_OK), -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ihex_text),
		cmocka_unit_test(test_srec_text),
		cmocka_unit_test(test_ihex_round_trip),
		cmocka_unit_test(test_srec_round_trip),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_merge_overlap_unites),
		cmocka_unit_test(test_merge_contained),
		cmocka_unit_test(test_merge_bridge),
		cmocka_unit_test(test_merge_conflict),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_join_refused),
	};

	cli_init("dfusplit");
	return cmocka_run_group_tests(tests, setup, teardown);
}
