/*
 * test_read_dfuse.c - reading ST DfuSe files: valid layouts, every error
 * and note of the dfufile.h list reached by a crafted file, with its
 * severity, code, offset and field; return values; reading from memory,
 * from a regular file and from a pipe; dfu_file_element_read() bounds.
 *
 * Offsets come from the UM0391 layout (see dfu_test_build.h): for a file
 * with one target and one element of n bytes, dwTargetSize is at 277,
 * dwNbElements at 281, the element at 285, its data at 293, the suffix at
 * 293 + n.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "dfu_test_build.h"

#define N 16 /* element size of the one-element files */
#define OFF_T0 11u
#define OFF_NAME 22u
#define OFF_TSIZE 277u
#define OFF_NB 281u
#define OFF_E0 285u
#define OFF_E0_SIZE 289u
#define OFF_E0_DATA 293u

/* Messages are lower case, except a field name at the start. */
static int
starts_with_field(const char *msg)
{
	static const char *const fields[] = {
		"DFUImageSize", "TI ", "NXP ", "ST ", "UFD", "CRC", "USB ",
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strncmp(msg, fields[i], strlen(fields[i])) == 0)
			return 1;
	return 0;
}

/*
 * Every diagnostic has a code, a field and a message in the house style
 * (lower case, no trailing period), and they come in file order.
 */
static void
check_diags(const struct dfu_file *f)
{
	size_t i, n = dfu_file_diag_count(f), errors = 0;
	uint64_t last = 0;

	for (i = 0; i < n; i++) {
		const struct dfu_diag *d = dfu_file_diag(f, i);
		size_t len;

		assert_non_null(d);
		assert_true(d->severity == DFU_NOTE ||
			    d->severity == DFU_ERROR);
		if (d->severity == DFU_ERROR)
			errors++;
		assert_non_null(d->code);
		assert_true(strlen(d->code) > 0);
		assert_non_null(d->field);
		assert_non_null(d->message);
		len = strlen(d->message);
		assert_true(len > 0);
		if ((isupper((unsigned char)d->message[0]) &&
		     !starts_with_field(d->message)) ||
		    d->message[len - 1] == '.')
			fail_msg("message not in house style: \"%s\"",
				 d->message);
		if (d->offset < last)
			fail_msg("diagnostics not in file order: %s",
				 td_list(f));
		last = d->offset;
	}
	assert_int_equal(dfu_file_error_count(f), errors);
}

/* Read b from memory, expect rc, check the diagnostics' form. */
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
	check_diags(f);
	if (want == DFU_ERR_FORMAT) {
		assert_true(dfu_file_error_count(f) > 0);
		assert_true(strlen(dfu_file_errmsg(f)) > 0);
	}
	if (want == 0)
		assert_int_equal(dfu_file_error_count(f), 0);
	return f;
}

/* ---- valid files ------------------------------------------------------ */

static void
test_one_target_one_element(void **state)
{
	struct tb b;
	struct dfu_file *f;
	const struct dfuse_prefix *p;
	const struct dfuse_target *t;
	const struct dfu_element *e;
	const struct dfu_suffix *s;
	uint8_t data[N];
	uint32_t i;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	assert_int_equal(b.len, 293 + N + 16);
	f = rd(&b, 0, 0);
	assert_ndiag(f, 1);
	assert_diag(f, DFU_NOTE, "image-size-excludes-suffix", 6,
		    "DFUImageSize");
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_DFUSE);
	assert_int_equal(dfu_file_size(f), b.len);
	assert_int_equal(dfu_file_crc(f), tb_get_u32(b.p + b.len - 4));
	assert_null(dfu_file_vendor_prefix(f));

	p = dfu_file_dfuse_prefix(f);
	assert_non_null(p);
	assert_memory_equal(p->szSignature, "DfuSe", 5);
	assert_int_equal(p->bVersion, 1);
	assert_int_equal(p->DFUImageSize, b.len - 16);
	assert_int_equal(p->bTargets, 1);

	s = dfu_file_suffix(f);
	assert_non_null(s);
	assert_int_equal(s->bcdDevice, TB_DEV);
	assert_int_equal(s->idProduct, TB_PID);
	assert_int_equal(s->idVendor, TB_VID);
	assert_int_equal(s->bcdDFU, DFU_BCD_DFUSE);
	assert_memory_equal(s->ucDfuSignature, "UFD", 3);
	assert_int_equal(s->bLength, 16);
	assert_int_equal(s->dwCRC, tb_get_u32(b.p + b.len - 4));

	assert_int_equal(dfu_file_target_count(f), 1);
	t = dfu_file_target(f, 0);
	assert_non_null(t);
	assert_int_equal(t->bAlternateSetting, 0);
	assert_int_equal(t->bTargetNamed, 1);
	assert_string_equal(t->szTargetName, "ST...");
	assert_int_equal(t->dwTargetSize, 8 + N);
	assert_int_equal(t->dwNbElements, 1);
	assert_int_equal(t->offset, OFF_T0);

	assert_int_equal(dfu_file_element_count(f, 0), 1);
	e = dfu_file_element(f, 0, 0);
	assert_non_null(e);
	assert_int_equal(e->address, TB_ADDR);
	assert_int_equal(e->size, N);
	assert_int_equal(e->offset, OFF_E0_DATA);

	memset(data, 0, sizeof(data));
	assert_int_equal(dfu_file_element_read(f, 0, 0, 0, data, N), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(data[i], tb_pat(TB_ADDR, i));
	/* Part of it, from an offset. */
	memset(data, 0, sizeof(data));
	assert_int_equal(dfu_file_element_read(f, 0, 0, 5, data, 7), 0);
	for (i = 0; i < 7; i++)
		assert_int_equal(data[i], tb_pat(TB_ADDR, 5 + i));

	/* Indexes out of range give NULL / 0. */
	assert_null(dfu_file_target(f, 1));
	assert_null(dfu_file_target(f, 255));
	assert_int_equal(dfu_file_element_count(f, 1), 0);
	assert_null(dfu_file_element(f, 0, 1));
	assert_null(dfu_file_element(f, 1, 0));
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_image_size_includes_suffix(void **state)
{
	struct tb b;
	struct dfu_file *f;
	struct tb_el e = { 0x20000000u, 5 };
	struct tb_tg t = { 0, "ST...", 1, &e };

	(void)state;
	tb_init(&b);
	tb_dfuse(&b, 1, &t, 1);
	f = rd(&b, 0, 0);
	assert_ndiag(f, 1);
	assert_diag(f, DFU_NOTE, "image-size-includes-suffix", 6,
		    "DFUImageSize");
	assert_int_equal(dfu_file_dfuse_prefix(f)->DFUImageSize, b.len);
	dfu_file_free(f);
	tb_free(&b);
}

/* Walk a description and check every target and element of f. */
static void
check_layout(struct dfu_file *f, unsigned nt, const struct tb_tg *t)
{
	uint64_t off = DFUSE_PREFIX_SIZE;
	unsigned i, j;

	assert_int_equal(dfu_file_target_count(f), nt);
	for (i = 0; i < nt; i++) {
		const struct dfuse_target *ft = dfu_file_target(f, i);
		uint32_t size = 0;

		assert_non_null(ft);
		assert_int_equal(ft->offset, off);
		assert_int_equal(ft->bAlternateSetting, t[i].alt);
		assert_int_equal(ft->bTargetNamed, t[i].name != NULL);
		assert_string_equal(ft->szTargetName,
				    t[i].name ? t[i].name : "");
		assert_int_equal(ft->dwNbElements, t[i].n);
		assert_int_equal(dfu_file_element_count(f, i), t[i].n);
		off += DFUSE_TARGET_PREFIX_SIZE;
		for (j = 0; j < t[i].n; j++) {
			const struct dfu_element *e = dfu_file_element(f, i, j);
			uint8_t last;

			assert_non_null(e);
			assert_int_equal(e->address, t[i].el[j].addr);
			assert_int_equal(e->size, t[i].el[j].size);
			assert_int_equal(e->offset, off + 8);
			if (e->size > 0) {
				assert_int_equal(dfu_file_element_read(f, i, j,
					e->size - 1, &last, 1), 0);
				assert_int_equal(last, tb_pat(e->address,
							      e->size - 1));
			}
			off += 8 + t[i].el[j].size;
			size += 8 + t[i].el[j].size;
		}
		assert_int_equal(ft->dwTargetSize, size);
	}
	assert_null(dfu_file_target(f, nt));
}

static void
test_several_targets(void **state)
{
	static const struct tb_el e0[] = { { 0x08000000u, 100 },
					   { 0x08010000u, 3 } };
	static const struct tb_el e1[] = { { 0x1fff7800u, 16 } };
	static const struct tb_el e2[] = { { 0x1ffec000u, 8 },
					   { 0x1ffec008u, 8 }, /* adjacent */
					   { 0x00000000u, 1 } };
	const struct tb_tg t[] = {
		{ 0, "@Internal Flash  /0x08000000/04*016Kg", 2, e0 },
		{ 1, NULL, 1, e1 },
		{ 2, "Option Bytes", 3, e2 },
	};
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse(&b, 3, t, 0);
	f = rd(&b, 0, 0);
	assert_ndiag(f, 1);
	assert_diag(f, DFU_NOTE, "image-size-excludes-suffix", 6,
		    "DFUImageSize");
	assert_int_equal(dfu_file_dfuse_prefix(f)->bTargets, 3);
	check_layout(f, 3, t);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_255_targets(void **state)
{
	static struct tb_el el[255];
	static struct tb_tg t[255];
	struct tb b;
	struct dfu_file *f;
	unsigned i;

	(void)state;
	for (i = 0; i < 255; i++) {
		el[i].addr = 0x08000000u + i * 0x100u;
		el[i].size = i % 7;
		t[i].alt = (uint8_t)i;
		t[i].name = i % 2 ? "odd" : NULL;
		t[i].n = 1;
		t[i].el = &el[i];
	}
	tb_init(&b);
	tb_dfuse(&b, 255, t, 0);
	f = rd(&b, 0, 0);
	assert_int_equal(dfu_file_dfuse_prefix(f)->bTargets, 255);
	check_layout(f, 255, t);
	/* Elements of size 0 (i % 7 == 0: 37 of them) are notes. */
	assert_int_equal(td_count(f, "empty-element"), 37);
	assert_int_equal(td_count(f, "image-size-excludes-suffix"), 1);
	assert_ndiag(f, 38);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_elements_with_gaps(void **state)
{
	/* Gaps, adjacency and descending addresses are all legal. */
	static const struct tb_el e[] = {
		{ 0x08000000u, 16 }, { 0x08000100u, 3 }, { 0x08000103u, 5 },
		{ 0x08004000u, 0x20 }, { 0x00001000u, 4 },
	};
	const struct tb_tg t = { 0, "gaps", 5, e };
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse(&b, 1, &t, 0);
	f = rd(&b, 0, 0);
	assert_ndiag(f, 1);
	check_layout(f, 1, &t);
	dfu_file_free(f);
	tb_free(&b);
}

/* A target with no elements (dwTargetSize 0, dwNbElements 0) is legal. */
static void
test_target_without_elements(void **state)
{
	const struct tb_tg t[] = { { 0, "empty", 0, NULL },
				   { 1, "one", 1, &(const struct tb_el){
						  0x1000u, 4 } } };
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse(&b, 2, t, 0);
	f = rd(&b, 0, 0);
	assert_ndiag(f, 1);
	check_layout(f, 2, t);
	assert_int_equal(dfu_file_element_count(f, 0), 0);
	assert_null(dfu_file_element(f, 0, 0));
	dfu_file_free(f);
	tb_free(&b);
}

/* Ending exactly at 4 GiB is fine; one byte more is address-overflow. */
static void
test_element_ending_at_4gib(void **state)
{
	static const struct tb_el e = { 0xffffff00u, 0x100 };
	const struct tb_tg t = { 0, NULL, 1, &e };
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse(&b, 1, &t, 0);
	f = rd(&b, 0, 0);
	assert_ndiag(f, 1);
	assert_null(td_find(f, "address-overflow"));
	dfu_file_free(f);
	tb_free(&b);
}

/* Exactly DFU_MAX_ELEMENTS elements is allowed. */
static void
test_max_elements(void **state)
{
	struct tb b;
	struct dfu_file *f;
	uint32_t i, n = DFU_MAX_ELEMENTS;
	const struct dfu_element *e;

	(void)state;
	assert_int_equal(DFU_MAX_ELEMENTS, 65536);
	tb_init(&b);
	tb_dfuse_prefix(&b, 1, 0, 1);
	tb_target(&b, 0, 0, NULL, n * 9u, n);
	for (i = 0; i < n; i++)
		tb_element(&b, i * 2u, 1, 1);
	tb_set_u32(&b, TB_OFF_IMAGE_SIZE, (uint32_t)b.len);
	tb_suffix_std(&b, DFU_BCD_DFUSE);
	f = rd(&b, 0, 0);
	assert_ndiag(f, 1);
	assert_int_equal(dfu_file_element_count(f, 0), n);
	e = dfu_file_element(f, 0, n - 1);
	assert_non_null(e);
	assert_int_equal(e->address, (n - 1) * 2u);
	assert_int_equal(e->offset, OFF_E0 + (uint64_t)(n - 1) * 9u + 8u);
	dfu_file_free(f);
	tb_free(&b);
}

/* ---- errors ----------------------------------------------------------- */

static void
test_no_targets(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse_prefix(&b, 1, DFUSE_PREFIX_SIZE, 0);
	tb_suffix_std(&b, DFU_BCD_DFUSE);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "no-targets", 10, "bTargets");
	assert_int_equal(dfu_file_error_count(f), 1);
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_DFUSE);
	assert_int_equal(dfu_file_target_count(f), 0);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_dfuse_version(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	tb_set_u8(&b, TB_OFF_VERSION, 2);
	tb_fix_crc(&b);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "dfuse-version", 5, "bVersion");
	assert_int_equal(dfu_file_dfuse_prefix(f)->bVersion, 2);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_image_size(void **state)
{
	struct tb b;
	struct dfu_file *f;
	const uint32_t bad[] = { 0, 12345, (uint32_t)(293 + N - 1),
				 (uint32_t)(293 + N + 1),
				 (uint32_t)(293 + N + 15),
				 (uint32_t)(293 + N + 17), 0xffffffffu };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tb_init(&b);
		tb_dfuse1(&b, N);
		tb_set_u32(&b, TB_OFF_IMAGE_SIZE, bad[i]);
		tb_fix_crc(&b);
		f = rd(&b, 0, DFU_ERR_FORMAT);
		assert_diag(f, DFU_ERROR, "image-size", 6, "DFUImageSize");
		assert_null(td_find(f, "image-size-excludes-suffix"));
		assert_null(td_find(f, "image-size-includes-suffix"));
		assert_int_equal(dfu_file_dfuse_prefix(f)->DFUImageSize,
				 bad[i]);
		dfu_file_free(f);
		tb_free(&b);
	}
}

static void
test_crc_mismatch(void **state)
{
	struct tb b;
	struct dfu_file *f;
	uint32_t good;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	good = tb_get_u32(b.p + b.len - 4);
	b.p[OFF_E0_DATA + 3] ^= 0x01; /* one bit of data, CRC not fixed */
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "crc-mismatch", b.len - 4, "dwCRC");
	assert_int_equal(dfu_file_error_count(f), 1);
	assert_int_equal(dfu_file_crc(f), tb_crc(b.p, b.len - 4));
	assert_true(dfu_file_crc(f) != good);
	assert_int_equal(dfu_file_suffix(f)->dwCRC, good);
	/* The headers are all there. */
	assert_int_equal(dfu_file_target_count(f), 1);
	assert_int_equal(dfu_file_element_count(f, 0), 1);
	dfu_file_free(f);

	/* With DFU_READ_IGNORE_CRC the same file is a note and reads fine. */
	f = rd(&b, DFU_READ_IGNORE_CRC, 0);
	assert_diag(f, DFU_NOTE, "crc-mismatch", b.len - 4, "dwCRC");
	assert_int_equal(dfu_file_error_count(f), 0);
	assert_ndiag(f, 2);
	assert_string_equal(dfu_file_errmsg(f), "");
	dfu_file_free(f);

	/* A stored CRC off by one bit in the dwCRC field itself. */
	b.p[OFF_E0_DATA + 3] ^= 0x01;
	b.p[b.len - 1] ^= 0x80;
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "crc-mismatch", b.len - 4, "dwCRC");
	assert_int_equal(dfu_file_crc(f), good);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_no_suffix(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	b.p[b.len - 8 + 2] = 'X'; /* "UFX" */
	tb_fix_crc(&b);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "no-suffix", b.len - 8, "ucDfuSignature");
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_DFUSE);
	assert_non_null(dfu_file_dfuse_prefix(f));
	/* DFUImageSize leaves 16 bytes for the damaged suffix: the image
	 * before it is walked, and those bytes are not called leftover. */
	assert_int_equal(dfu_file_error_count(f), 1);
	assert_int_equal(dfu_file_element_count(f, 0), 1);
	assert_int_equal(dfu_file_element(f, 0, 0)->size, N);
	dfu_file_free(f);
	tb_free(&b);
}

/* Without a suffix, a DFUImageSize that fits nothing is reported, in
 * words that do not mention a suffix the file does not have. */
static void
test_no_suffix_image_size(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	b.p[b.len - 8 + 2] = 'X';
	tb_set_u32(&b, TB_OFF_IMAGE_SIZE, 7);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "no-suffix", b.len - 8, "ucDfuSignature");
	assert_diag(f, DFU_ERROR, "image-size", 6, "DFUImageSize");
	assert_null(strstr(td_find(f, "image-size")->message, "suffix"));
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_suffix_length_short(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	tb_set_u8(&b, b.len - 5, 15);
	tb_fix_crc(&b);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "suffix-length", b.len - 5, "bLength");
	dfu_file_free(f);
	tb_free(&b);
}

/* bTargets says 2, there is one: the second target runs past the image. */
static void
test_truncated_missing_target(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	tb_set_u8(&b, TB_OFF_TARGETS, 2);
	tb_fix_crc(&b);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	/* The field is the target prefix's szSignature, as UM0391 names it. */
	assert_diag(f, DFU_ERROR, "truncated", OFF_E0_DATA + N, "szSignature");
	/* The first target is complete and readable. */
	assert_int_equal(dfu_file_target_count(f), 1);
	assert_int_equal(dfu_file_element_count(f, 0), 1);
	dfu_file_free(f);
	tb_free(&b);
}

/* The image ends in the middle of the target prefix. */
static void
test_truncated_target_prefix(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse_prefix(&b, 1, 0, 1);
	tb_target(&b, 0, 1, "ST...", 8 + N, 1);
	b.len = OFF_T0 + 100; /* keep 100 bytes of the 274 */
	tb_set_u32(&b, TB_OFF_IMAGE_SIZE, (uint32_t)b.len);
	tb_suffix_std(&b, DFU_BCD_DFUSE);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "truncated", OFF_T0, "szSignature");
	assert_int_equal(dfu_file_target_count(f), 0);
	dfu_file_free(f);
	tb_free(&b);
}

/* Element data past the end of the image (dwTargetSize agrees with it). */
static void
test_truncated_element_data(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	tb_set_u32(&b, OFF_TSIZE, 8 + N + 100);
	tb_set_u32(&b, OFF_E0_SIZE, N + 100);
	tb_fix_crc(&b);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "truncated", OFF_E0_SIZE, "dwElementSize");
	/* The headers read so far stay available, the cut element too, with
	 * its declared size; its present bytes read, the missing ones fail,
	 * and so does writing the file again. */
	assert_int_equal(dfu_file_target_count(f), 1);
	assert_string_equal(dfu_file_target(f, 0)->szTargetName, "ST...");
	assert_int_equal(dfu_file_element_count(f, 0), 1);
	assert_int_equal(dfu_file_element(f, 0, 0)->size, N + 100);
	{
		uint8_t buf[N + 100];
		int null = open("/dev/null", O_WRONLY);

		assert_int_equal(dfu_file_element_read(f, 0, 0, 0, buf, N), 0);
		assert_int_equal(buf[N - 1], b.p[OFF_E0_SIZE + 4 + N - 1]);
		assert_int_equal(dfu_file_element_read(f, 0, 0, 0, buf, N + 1),
				 DFU_ERR_FORMAT);
		assert_non_null(strstr(dfu_file_errmsg(f), "truncated"));
		assert_int_equal(dfu_file_write_fd(f, null), DFU_ERR_FORMAT);
		close(null);
	}
	dfu_file_free(f);
	tb_free(&b);
}

/* A hostile dwElementSize in a tiny file: an error, not an allocation. */
static void
test_hostile_element_size(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse_prefix(&b, 1, 0, 1);
	tb_target(&b, 0, 0, NULL, 0xfffffff8u, 1);
	tb_element(&b, 0, 0xfffffff0u, 4);
	tb_set_u32(&b, TB_OFF_IMAGE_SIZE, (uint32_t)b.len);
	tb_suffix_std(&b, DFU_BCD_DFUSE);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "truncated", OFF_E0_SIZE, "dwElementSize");
	assert_null(td_find(f, "address-overflow"));
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_target_signature(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	b.p[OFF_T0 + 3] = 'x'; /* "Tarxet" */
	tb_fix_crc(&b);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "target-signature", OFF_T0, "szSignature");
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_target_name_unterminated(void **state)
{
	struct tb b;
	struct dfu_file *f;
	const struct dfuse_target *t;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	memset(b.p + OFF_NAME, 'A', DFUSE_TARGET_NAME_SIZE);
	tb_fix_crc(&b);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "target-name-unterminated", OFF_NAME,
		    "szTargetName");
	/* The struct still holds a NUL-terminated copy. */
	t = dfu_file_target(f, 0);
	assert_non_null(t);
	assert_int_equal(t->szTargetName[DFUSE_TARGET_NAME_SIZE], '\0');
	dfu_file_free(f);
	tb_free(&b);
}

/* dwNbElements 0xffffffff in a tiny file: no huge allocation. */
/*
 * dwNbElements one too many, the elements filling dwTargetSize exactly:
 * dwNbElements is blamed, not the next target's prefix read as an
 * element, and the next target is read as usual.
 */
static void
test_element_count_past_target(void **state)
{
	static const struct tb_el e[] = { { 0x08000000u, 16 },
					  { 0x08001000u, 8 } };
	static const struct tb_el e1[] = { { 0x1fffc000u, 4 } };
	const struct tb_tg t[] = { { 0, "A", 2, e }, { 1, "B", 1, e1 } };
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse(&b, 2, t, 0);
	tb_set_u32(&b, OFF_NB, 3);
	tb_fix_crc(&b);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "element-count", OFF_NB, "dwNbElements");
	assert_int_equal(dfu_file_error_count(f), 1);
	assert_non_null(strstr(td_find(f, "element-count")->message,
			       "ends after 2 elements"));
	assert_int_equal(dfu_file_target_count(f), 2);
	assert_int_equal(dfu_file_element_count(f, 0), 2);
	assert_int_equal(dfu_file_element_count(f, 1), 1);
	assert_int_equal(dfu_file_element(f, 1, 0)->address, 0x1fffc000u);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_element_count(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	tb_set_u32(&b, OFF_NB, 0xffffffffu);
	tb_fix_crc(&b);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "element-count", OFF_NB, "dwNbElements");
	assert_int_equal(dfu_file_target(f, 0)->dwNbElements, 0xffffffffu);
	assert_true(dfu_file_element_count(f, 0) <= 1);
	dfu_file_free(f);

	/* 3 elements declared, 2 of 9 bytes fit: still element-count. */
	tb_free(&b);
	tb_init(&b);
	tb_dfuse_prefix(&b, 1, 0, 1);
	tb_target(&b, 0, 0, NULL, 18, 3);
	tb_element(&b, 0x100, 1, 1);
	tb_element(&b, 0x200, 1, 1);
	tb_set_u32(&b, TB_OFF_IMAGE_SIZE, (uint32_t)b.len);
	tb_suffix_std(&b, DFU_BCD_DFUSE);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "element-count", OFF_NB, "dwNbElements");
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_too_many_elements(void **state)
{
	struct tb b;
	struct dfu_file *f;
	uint32_t i, n = DFU_MAX_ELEMENTS + 1;

	(void)state;
	tb_init(&b);
	tb_dfuse_prefix(&b, 1, 0, 1);
	tb_target(&b, 0, 0, NULL, n * 9u, n);
	for (i = 0; i < n; i++)
		tb_element(&b, i * 2u, 1, 1);
	tb_set_u32(&b, TB_OFF_IMAGE_SIZE, (uint32_t)b.len);
	tb_suffix_std(&b, DFU_BCD_DFUSE);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "too-many-elements", OFF_NB,
		    "dwNbElements");
	assert_true(dfu_file_element_count(f, 0) <= DFU_MAX_ELEMENTS);
	dfu_file_free(f);
	tb_free(&b);
}

/* The limit is per file: 40000 + 30000 elements in two targets. */
static void
test_too_many_elements_two_targets(void **state)
{
	struct tb b;
	struct dfu_file *f;
	uint32_t i;
	size_t t1;

	(void)state;
	tb_init(&b);
	tb_dfuse_prefix(&b, 1, 0, 2);
	tb_target(&b, 0, 0, NULL, 40000u * 9u, 40000u);
	for (i = 0; i < 40000u; i++)
		tb_element(&b, i * 2u, 1, 1);
	t1 = tb_target(&b, 1, 0, NULL, 30000u * 9u, 30000u);
	for (i = 0; i < 30000u; i++)
		tb_element(&b, i * 2u, 1, 1);
	tb_set_u32(&b, TB_OFF_IMAGE_SIZE, (uint32_t)b.len);
	tb_suffix_std(&b, DFU_BCD_DFUSE);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "too-many-elements", t1 + TB_T_NB,
		    "dwNbElements");
	assert_int_equal(dfu_file_element_count(f, 0), 40000);
	dfu_file_free(f);
	tb_free(&b);
}

/* Two elements; dwTargetSize is one byte short of the second's data. */
static void
test_element_past_target(void **state)
{
	struct tb b;
	struct dfu_file *f;
	size_t e1;

	(void)state;
	tb_init(&b);
	tb_dfuse_prefix(&b, 1, 0, 1);
	tb_target(&b, 0, 1, "ST...", 8 + 16 + 8 + 15, 2);
	tb_element(&b, 0x1000, 16, 16);
	e1 = tb_element(&b, 0x2000, 16, 16);
	tb_set_u32(&b, TB_OFF_IMAGE_SIZE, (uint32_t)b.len);
	tb_suffix_std(&b, DFU_BCD_DFUSE);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "element-past-target", e1 + 4,
		    "dwElementSize");
	dfu_file_free(f);
	tb_free(&b);
}

/* dwTargetSize 4 bytes larger than its one element, 4 bytes there. */
static void
test_target_size(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse_prefix(&b, 1, 0, 1);
	tb_target(&b, 0, 1, "ST...", 8 + N + 4, 1);
	tb_element(&b, TB_ADDR, N, N);
	tb_fill(&b, 0, 4);
	tb_set_u32(&b, TB_OFF_IMAGE_SIZE, (uint32_t)b.len);
	tb_suffix_std(&b, DFU_BCD_DFUSE);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "target-size", OFF_TSIZE, "dwTargetSize");
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_address_overflow(void **state)
{
	static const struct tb_el e = { 0xffffff00u, 0x101 };
	const struct tb_tg t = { 0, NULL, 1, &e };
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse(&b, 1, &t, 0);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "address-overflow", OFF_E0_SIZE,
		    "dwElementSize");
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_element_overlap(void **state)
{
	static const struct tb_el e[] = { { 0x1000u, 16 }, { 0x1008u, 16 } };
	static const struct tb_el rev[] = { { 0x1008u, 16 }, { 0x1000u, 16 } };
	const struct tb_tg t = { 0, "ST...", 2, e };
	const struct tb_tg tr = { 0, "ST...", 2, rev };
	/* The same two ranges in two targets: no overlap. */
	const struct tb_tg t2[] = { { 0, "a", 1, &e[0] }, { 1, "b", 1, &e[1] } };
	struct tb b;
	struct dfu_file *f;
	const struct dfuse_prefix *p;

	(void)state;
	tb_init(&b);
	tb_dfuse(&b, 1, &t, 0);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "element-overlap", OFF_E0 + 8 + 16,
		    "dwElementAddress");
	assert_int_equal(dfu_file_error_count(f), 1);
	/* Headers before and around the error stay readable. */
	p = dfu_file_dfuse_prefix(f);
	assert_non_null(p);
	assert_int_equal(p->bTargets, 1);
	assert_int_equal(dfu_file_target_count(f), 1);
	assert_int_equal(dfu_file_element_count(f, 0), 2);
	assert_int_equal(dfu_file_element(f, 0, 1)->address, 0x1008u);
	assert_non_null(dfu_file_suffix(f));
	assert_true(strlen(dfu_file_errmsg(f)) > 0);
	dfu_file_free(f);
	tb_free(&b);

	tb_init(&b);
	tb_dfuse(&b, 1, &tr, 0);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "element-overlap", OFF_E0 + 8 + 16,
		    "dwElementAddress");
	dfu_file_free(f);
	tb_free(&b);

	tb_init(&b);
	tb_dfuse(&b, 2, t2, 0);
	f = rd(&b, 0, 0);
	assert_ndiag(f, 1);
	dfu_file_free(f);
	tb_free(&b);
}

/* Bytes between the last target and the suffix. */
static void
test_leftover(void **state)
{
	struct tb b;
	struct dfu_file *f;
	const struct dfu_diag *d;

	(void)state;
	tb_init(&b);
	tb_dfuse_prefix(&b, 1, 0, 1);
	tb_target(&b, 0, 1, "ST...", 8 + N, 1);
	tb_element(&b, TB_ADDR, N, N);
	tb_fill(&b, 0x5a, 5);
	tb_set_u32(&b, TB_OFF_IMAGE_SIZE, (uint32_t)b.len);
	tb_suffix_std(&b, DFU_BCD_DFUSE);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	d = td_find(f, "leftover");
	assert_non_null(d);
	assert_int_equal(d->severity, DFU_ERROR);
	assert_int_equal(d->offset, OFF_E0_DATA + N);
	/*
	 * dfufile.h: offset is "the file offset of the field concerned" and
	 * field "the name of that field"; bTargets is at offset 10, not at
	 * the leftover bytes, so it cannot name them.
	 */
	assert_non_null(d->field);
	assert_string_not_equal(d->field, "bTargets");
	assert_int_equal(dfu_file_target_count(f), 1);
	dfu_file_free(f);
	tb_free(&b);
}

/* Errors in a later target carry that target's offsets. */
static void
test_errors_in_second_target(void **state)
{
	static const struct tb_el e0[] = { { 0x08000000u, 33 } };
	static const struct tb_el e1[] = { { 0x1000u, 8 }, { 0x2000u, 8 },
					   { 0x2004u, 8 } };
	const struct tb_tg t[] = { { 0, "first", 1, e0 },
				   { 1, "second", 3, e1 } };
	const uint64_t t1 = OFF_T0 + 274 + 8 + 33;
	const uint64_t e1_2 = t1 + 274 + 2 * 16; /* third element header */
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse(&b, 2, t, 0);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "element-overlap", e1_2, "dwElementAddress");
	assert_int_equal(dfu_file_error_count(f), 1);
	assert_int_equal(dfu_file_target(f, 1)->offset, t1);
	assert_int_equal(dfu_file_element(f, 1, 2)->offset, e1_2 + 8);
	dfu_file_free(f);

	b.p[t1] = 't'; /* "target" */
	tb_fix_crc(&b);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "target-signature", t1, "szSignature");
	assert_int_equal(dfu_file_target_count(f), 1);
	dfu_file_free(f);

	b.p[t1] = 'T';
	tb_set_u32(&b, t1 + TB_T_NB, 0x10000000u);
	tb_fix_crc(&b);
	f = rd(&b, 0, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "element-count", t1 + TB_T_NB,
		    "dwNbElements");
	dfu_file_free(f);
	tb_free(&b);
}

/* ---- notes ------------------------------------------------------------ */

static void
test_target_name_junk(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	memcpy(b.p + OFF_NAME, "ST\0junk", 7);
	tb_fix_crc(&b);
	f = rd(&b, 0, 0);
	assert_diag(f, DFU_NOTE, "target-name-junk", OFF_NAME + 3,
		    "szTargetName");
	assert_string_equal(dfu_file_target(f, 0)->szTargetName, "ST");
	assert_ndiag(f, 2);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_target_named(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	/* bTargetNamed 2 */
	tb_init(&b);
	tb_dfuse1(&b, N);
	tb_set_u32(&b, OFF_T0 + TB_T_NAMED, 2);
	tb_fix_crc(&b);
	f = rd(&b, 0, 0);
	assert_diag(f, DFU_NOTE, "target-named", OFF_T0 + TB_T_NAMED,
		    "bTargetNamed");
	assert_int_equal(dfu_file_target(f, 0)->bTargetNamed, 2);
	assert_ndiag(f, 2);
	dfu_file_free(f);

	/* bTargetNamed 0 with a name */
	tb_set_u32(&b, OFF_T0 + TB_T_NAMED, 0);
	tb_fix_crc(&b);
	f = rd(&b, 0, 0);
	assert_diag(f, DFU_NOTE, "target-named", OFF_T0 + TB_T_NAMED,
		    "bTargetNamed");
	assert_string_equal(dfu_file_target(f, 0)->szTargetName, "ST...");
	dfu_file_free(f);

	/* bTargetNamed 1 without a name is not worth a note */
	memset(b.p + OFF_NAME, 0, DFUSE_TARGET_NAME_SIZE);
	tb_set_u32(&b, OFF_T0 + TB_T_NAMED, 1);
	tb_fix_crc(&b);
	f = rd(&b, 0, 0);
	assert_null(td_find(f, "target-named"));
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_wildcard_id(void **state)
{
	static const struct {
		size_t at;
		const char *field;
	} w[] = {
		{ TB_S_DEVICE, "bcdDevice" },
		{ TB_S_PRODUCT, "idProduct" },
		{ TB_S_VENDOR, "idVendor" },
	};
	struct tb b;
	struct dfu_file *f;
	size_t i, s;

	(void)state;
	for (i = 0; i < 3; i++) {
		tb_init(&b);
		tb_dfuse1(&b, N);
		s = b.len - 16;
		tb_set_u16(&b, s + w[i].at, DFU_ID_ANY);
		tb_fix_crc(&b);
		f = rd(&b, 0, 0);
		assert_diag(f, DFU_NOTE, "wildcard-id", s + w[i].at,
			    w[i].field);
		assert_int_equal(td_count(f, "wildcard-id"), 1);
		assert_ndiag(f, 2);
		dfu_file_free(f);
		tb_free(&b);
	}
}

static void
test_empty_element(void **state)
{
	static const struct tb_el e[] = { { 0x1000u, 0 }, { 0x2000u, 4 } };
	const struct tb_tg t = { 0, "ST...", 2, e };
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse(&b, 1, &t, 0);
	f = rd(&b, 0, 0);
	assert_diag(f, DFU_NOTE, "empty-element", OFF_E0_SIZE,
		    "dwElementSize");
	assert_ndiag(f, 2);
	assert_int_equal(dfu_file_element(f, 0, 0)->size, 0);
	assert_int_equal(dfu_file_element(f, 0, 1)->offset, OFF_E0 + 8 + 8);
	dfu_file_free(f);
	tb_free(&b);
}

static void
test_duplicate_alt(void **state)
{
	static const struct tb_el e[] = { { 0x1000u, 4 }, { 0x2000u, 4 } };
	const struct tb_tg t[] = { { 3, "a", 1, &e[0] }, { 3, "b", 1, &e[1] } };
	struct tb b;
	struct dfu_file *f;
	uint64_t t1 = OFF_T0 + 274 + 8 + 4;

	(void)state;
	tb_init(&b);
	tb_dfuse(&b, 2, t, 0);
	f = rd(&b, 0, 0);
	assert_diag(f, DFU_NOTE, "duplicate-alt", t1 + TB_T_ALT,
		    "bAlternateSetting");
	assert_ndiag(f, 2);
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
	tb_dfuse1(&b, N);
	tb_set_u16(&b, b.len - 16 + TB_S_BCDDFU, DFU_BCD_DFU_1_1);
	tb_fix_crc(&b);
	f = rd(&b, 0, 0);
	assert_diag(f, DFU_NOTE, "bcddfu-mismatch", b.len - 10, "bcdDFU");
	assert_ndiag(f, 2);
	assert_int_equal(dfu_file_format(f), DFU_FORMAT_DFUSE);
	dfu_file_free(f);
	tb_free(&b);
}

/* ---- element_read ------------------------------------------------------ */

static void
test_element_read_bounds(void **state)
{
	struct tb b;
	struct dfu_file *f;
	uint8_t buf[N + 8];
	int rc;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	f = rd(&b, 0, 0);
	/* Up to the end is fine, a byte further is not. */
	assert_int_equal(dfu_file_element_read(f, 0, 0, N - 1, buf, 1), 0);
	assert_int_equal(buf[0], tb_pat(TB_ADDR, N - 1));
	assert_int_equal(dfu_file_element_read(f, 0, 0, 0, buf, N), 0);
	assert_int_equal(dfu_file_element_read(f, 0, 0, N, buf, 0), 0);
	rc = dfu_file_element_read(f, 0, 0, 0, buf, N + 1);
	assert_true(rc == DFU_ERR_RANGE || rc == DFU_ERR_INVALID);
	assert_true(strlen(dfu_file_errmsg(f)) > 0);
	rc = dfu_file_element_read(f, 0, 0, N, buf, 1);
	assert_true(rc == DFU_ERR_RANGE || rc == DFU_ERR_INVALID);
	/* off + len wraps around 2^64. */
	rc = dfu_file_element_read(f, 0, 0, UINT64_MAX, buf, 2);
	assert_true(rc == DFU_ERR_RANGE || rc == DFU_ERR_INVALID);
	/* Bad indexes. */
	rc = dfu_file_element_read(f, 0, 1, 0, buf, 1);
	assert_true(rc == DFU_ERR_RANGE || rc == DFU_ERR_INVALID);
	rc = dfu_file_element_read(f, 1, 0, 0, buf, 1);
	assert_true(rc == DFU_ERR_RANGE || rc == DFU_ERR_INVALID);
	dfu_file_free(f);
	tb_free(&b);
}

/* ---- the handle -------------------------------------------------------- */

static void
test_handle_basics(void **state)
{
	struct dfu_file *f;

	(void)state;
	dfu_file_free(NULL);
	f = dfu_file_new();
	assert_non_null(f);
	assert_string_equal(dfu_file_errmsg(f), "");
	assert_int_equal(dfu_file_errno(f), 0);
	assert_int_equal(dfu_file_diag_count(f), 0);
	assert_int_equal(dfu_file_error_count(f), 0);
	assert_int_equal(dfu_file_target_count(f), 0);
	assert_null(dfu_file_target(f, 0));
	assert_null(dfu_file_dfuse_prefix(f));
	assert_null(dfu_file_vendor_prefix(f));
	assert_int_equal(dfu_file_read_mem(f, NULL, 100, 0), DFU_ERR_INVALID);
	assert_true(strlen(dfu_file_errmsg(f)) > 0);
	dfu_file_free(f);
}

/* A second read drops what the first one found. */
static void
test_reread_drops_content(void **state)
{
	static const struct tb_el e[] = { { 0x1000u, 4 }, { 0x1002u, 4 } };
	const struct tb_tg t[] = { { 0, "a", 2, e }, { 0, "b", 1, e } };
	struct tb b1, b2;
	struct dfu_file *f;

	(void)state;
	tb_init(&b1);
	tb_dfuse(&b1, 2, t, 0); /* overlap + duplicate-alt */
	tb_init(&b2);
	tb_dfuse1(&b2, N);
	f = rd(&b1, 0, DFU_ERR_FORMAT);
	assert_int_equal(dfu_file_target_count(f), 2);
	assert_int_equal(dfu_file_read_mem(f, b2.p, b2.len, 0), 0);
	assert_int_equal(dfu_file_target_count(f), 1);
	assert_int_equal(dfu_file_error_count(f), 0);
	assert_ndiag(f, 1);
	assert_int_equal(dfu_file_size(f), b2.len);
	assert_int_equal(dfu_file_element(f, 0, 0)->address, TB_ADDR);
	dfu_file_free(f);
	tb_free(&b1);
	tb_free(&b2);
}

/* ---- reading from a file descriptor ------------------------------------ */

static int
tmpfile_with(const struct tb *b)
{
	char path[] = "/tmp/test_read_dfuse.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, b->p, b->len), (ssize_t)b->len);
	return fd;
}

static void
same_diags(const struct dfu_file *a, const struct dfu_file *c)
{
	size_t i;

	assert_int_equal(dfu_file_diag_count(a), dfu_file_diag_count(c));
	for (i = 0; i < dfu_file_diag_count(a); i++) {
		const struct dfu_diag *x = dfu_file_diag(a, i);
		const struct dfu_diag *y = dfu_file_diag(c, i);

		assert_int_equal(x->severity, y->severity);
		assert_string_equal(x->code, y->code);
		assert_int_equal(x->offset, y->offset);
		assert_string_equal(x->field, y->field);
		assert_string_equal(x->message, y->message);
	}
}

static void
test_read_fd_same_as_mem(void **state)
{
	static const struct tb_el e[] = { { 0x08000000u, 1000 },
					  { 0x08000100u, 7 } };
	const struct tb_tg t = { 0, "ST...", 2, e };
	struct tb b;
	struct dfu_file *fm, *ff;
	uint8_t x[1000], y[1000];
	int fd;

	(void)state;
	tb_init(&b);
	tb_dfuse(&b, 1, &t, 0); /* element-overlap */
	fd = tmpfile_with(&b);
	assert_int_equal(lseek(fd, 7, SEEK_SET), 7);
	fm = rd(&b, 0, DFU_ERR_FORMAT);
	ff = dfu_file_new();
	assert_int_equal(dfu_file_read_fd(ff, fd, 0), DFU_ERR_FORMAT);
	/* The file position is not used and not changed. */
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 7);
	same_diags(fm, ff);
	assert_int_equal(dfu_file_size(ff), b.len);
	assert_int_equal(dfu_file_crc(ff), dfu_file_crc(fm));
	assert_int_equal(dfu_file_format(ff), DFU_FORMAT_DFUSE);
	assert_int_equal(dfu_file_element_count(ff, 0), 2);
	assert_int_equal(dfu_file_element_read(fm, 0, 0, 0, x, 1000), 0);
	assert_int_equal(dfu_file_element_read(ff, 0, 0, 0, y, 1000), 0);
	assert_memory_equal(x, y, 1000);
	assert_int_equal(x[999], tb_pat(0x08000000u, 999));
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 7);
	dfu_file_free(fm);
	dfu_file_free(ff);
	/* The handle borrowed fd: it is still open. */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	close(fd);
	tb_free(&b);

	/* A valid file gives 0 and the same note through both paths. */
	tb_init(&b);
	tb_dfuse1(&b, N);
	fd = tmpfile_with(&b);
	fm = rd(&b, 0, 0);
	ff = dfu_file_new();
	assert_int_equal(dfu_file_read_fd(ff, fd, 0), 0);
	same_diags(fm, ff);
	assert_string_equal(dfu_file_target(ff, 0)->szTargetName, "ST...");
	dfu_file_free(fm);
	dfu_file_free(ff);
	close(fd);
	tb_free(&b);
}

static void
test_read_fd_pipe(void **state)
{
	struct tb b;
	struct dfu_file *f;
	int p[2];

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], b.p, b.len), (ssize_t)b.len);
	f = dfu_file_new();
	assert_int_equal(dfu_file_read_fd(f, p[0], 0), DFU_ERR_INVALID);
	assert_true(strlen(dfu_file_errmsg(f)) > 0);
	dfu_file_free(f);
	close(p[0]);
	close(p[1]);
	tb_free(&b);
}

/* Failed reads are DFU_ERR_IO with errno kept. */
static void
test_read_io_errors(void **state)
{
	char path[] = "/tmp/test_read_dfuse_wo.XXXXXX";
	struct tb b;
	struct dfu_file *f;
	uint8_t buf[4];
	int fd, wo;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b.p, b.len), (ssize_t)b.len);
	wo = open(path, O_WRONLY);
	unlink(path);
	assert_true(wo >= 0);

	/* A descriptor open for writing only cannot be read. */
	f = dfu_file_new();
	assert_int_equal(dfu_file_read_fd(f, wo, 0), DFU_ERR_IO);
	assert_int_equal(dfu_file_errno(f), EBADF);
	assert_true(strlen(dfu_file_errmsg(f)) > 0);
	close(wo);

	/* Element data is read on demand: closing the input breaks it. */
	assert_int_equal(dfu_file_read_fd(f, fd, 0), 0);
	assert_int_equal(dfu_file_errno(f), 0);
	close(fd);
	assert_int_equal(dfu_file_element_read(f, 0, 0, 0, buf, 4),
			 DFU_ERR_IO);
	assert_int_equal(dfu_file_errno(f), EBADF);
	dfu_file_free(f);
	tb_free(&b);
}

/* DFU_READ_IGNORE_CRC does not hide other errors. */
static void
test_ignore_crc_keeps_other_errors(void **state)
{
	struct tb b;
	struct dfu_file *f;

	(void)state;
	tb_init(&b);
	tb_dfuse1(&b, N);
	tb_set_u8(&b, TB_OFF_VERSION, 3); /* CRC not fixed */
	f = rd(&b, DFU_READ_IGNORE_CRC, DFU_ERR_FORMAT);
	assert_diag(f, DFU_ERROR, "dfuse-version", 5, "bVersion");
	assert_diag(f, DFU_NOTE, "crc-mismatch", b.len - 4, "dwCRC");
	assert_int_equal(dfu_file_error_count(f), 1);
	dfu_file_free(f);
	tb_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_target_one_element),
		cmocka_unit_test(test_image_size_includes_suffix),
		cmocka_unit_test(test_several_targets),
		cmocka_unit_test(test_255_targets),
		cmocka_unit_test(test_elements_with_gaps),
		cmocka_unit_test(test_target_without_elements),
		cmocka_unit_test(test_element_ending_at_4gib),
		cmocka_unit_test(test_max_elements),
		cmocka_unit_test(test_no_targets),
		cmocka_unit_test(test_dfuse_version),
		cmocka_unit_test(test_image_size),
		cmocka_unit_test(test_crc_mismatch),
		cmocka_unit_test(test_no_suffix),
		cmocka_unit_test(test_no_suffix_image_size),
		cmocka_unit_test(test_suffix_length_short),
		cmocka_unit_test(test_truncated_missing_target),
		cmocka_unit_test(test_truncated_target_prefix),
		cmocka_unit_test(test_truncated_element_data),
		cmocka_unit_test(test_hostile_element_size),
		cmocka_unit_test(test_target_signature),
		cmocka_unit_test(test_target_name_unterminated),
		cmocka_unit_test(test_element_count),
		cmocka_unit_test(test_element_count_past_target),
		cmocka_unit_test(test_too_many_elements),
		cmocka_unit_test(test_too_many_elements_two_targets),
		cmocka_unit_test(test_element_past_target),
		cmocka_unit_test(test_target_size),
		cmocka_unit_test(test_address_overflow),
		cmocka_unit_test(test_element_overlap),
		cmocka_unit_test(test_leftover),
		cmocka_unit_test(test_errors_in_second_target),
		cmocka_unit_test(test_target_name_junk),
		cmocka_unit_test(test_target_named),
		cmocka_unit_test(test_wildcard_id),
		cmocka_unit_test(test_empty_element),
		cmocka_unit_test(test_duplicate_alt),
		cmocka_unit_test(test_bcddfu_mismatch),
		cmocka_unit_test(test_element_read_bounds),
		cmocka_unit_test(test_handle_basics),
		cmocka_unit_test(test_reread_drops_content),
		cmocka_unit_test(test_read_fd_same_as_mem),
		cmocka_unit_test(test_read_fd_pipe),
		cmocka_unit_test(test_read_io_errors),
		cmocka_unit_test(test_ignore_crc_keeps_other_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
