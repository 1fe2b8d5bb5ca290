/*
 * fuzz_dfufile - libFuzzer target for the DFU / DfuSe reader and writer.
 *
 * Each input is read from an exact-size copy (so any over-read is caught
 * by AddressSanitizer), with and without DFU_READ_IGNORE_CRC.  Every
 * accessor is exercised, including reads of all element data and of
 * every diagnostic.  Properties checked, not only "no crash":
 *   - the diagnostics are in file order, each with a code, a field and a
 *     message, and the error count matches them;
 *   - a file without errors, written again, reads back without errors
 *     with the same format, suffix IDs, targets, element addresses,
 *     sizes and bytes;
 *   - writing that copy again gives the same bytes (the canonical form
 *     is a fixed point);
 *   - the planner (dfuplan.h) plans every file, with errors or not, with
 *     and without a layout: its findings are complete and counted, the
 *     segments of each alt are in address order, its extents in address
 *     order without overlap, and no more bytes lie outside the image
 *     than are erased.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dfufile.h"
#include "dfuplan.h"
#include "fuzz.h"

/* Keep the fuzzer's memory small: skip element data beyond this. */
#define MAX_DATA (1u << 20)

static void
check_diags(const struct dfu_file *f)
{
	size_t i, n = dfu_file_diag_count(f), errors = 0;
	uint64_t last = 0;

	for (i = 0; i < n; i++) {
		const struct dfu_diag *d = dfu_file_diag(f, i);

		CHECK(d != NULL && d->code != NULL && d->field != NULL &&
		    d->message != NULL && d->code[0] != '\0');
		CHECK(strlen(d->message) > 0);
		CHECK(d->offset >= last);
		last = d->offset;
		errors += d->severity == DFU_ERROR;
	}
	/* Past DFUI_MAX_DIAGS, errors are counted but not kept. */
	CHECK(errors == dfu_file_error_count(f) ||
	    (n >= 1000 && errors <= dfu_file_error_count(f)));
}

/* Touch every accessor and every byte of element data. */
static void
walk(struct dfu_file *f)
{
	uint8_t *buf = malloc(MAX_DATA);
	unsigned t, e;

	CHECK(buf != NULL);
	(void)dfu_file_suffix(f);
	(void)dfu_file_dfuse_prefix(f);
	(void)dfu_file_vendor_prefix(f);
	(void)dfu_file_crc(f);
	for (t = 0; t < dfu_file_target_count(f); t++) {
		CHECK(dfu_file_target(f, t) != NULL);
		for (e = 0; e < dfu_file_element_count(f, t); e++) {
			const struct dfu_element *el = dfu_file_element(f, t, e);

			CHECK(el != NULL);
			CHECK(el->offset <= dfu_file_size(f));
			if (el->size <= MAX_DATA)
				(void)dfu_file_element_read(f, t, e, 0, buf,
				    el->size);
		}
		CHECK(dfu_file_element(f, t, e) == NULL);
	}
	CHECK(dfu_file_target(f, t) == NULL);
	if (dfu_file_payload_size(f) > 0 && dfu_file_payload_size(f) <= MAX_DATA)
		CHECK(dfu_file_payload_read(f, 0, buf,
		    (size_t)dfu_file_payload_size(f)) == 0);
	free(buf);
}

/* f written to a memory file; returns its bytes (malloc'd) and length. */
static uint8_t *
write_out(struct dfu_file *f, size_t *len)
{
	int fd = memfd_create("fuzz", 0);
	uint8_t *p;
	off_t end;

	CHECK(fd >= 0);
	CHECK(dfu_file_write_fd(f, fd) == 0);
	end = lseek(fd, 0, SEEK_END);
	CHECK(end >= 0 && (uint64_t)end == dfu_file_write_size(f));
	p = malloc((size_t)end + 1);
	CHECK(p != NULL);
	CHECK(pread(fd, p, (size_t)end, 0) == end);
	close(fd);
	*len = (size_t)end;
	return p;
}

static int
same_element_bytes(struct dfu_file *a, struct dfu_file *b, unsigned t,
    unsigned e, uint32_t size)
{
	uint8_t *x = malloc(size ? size : 1), *y = malloc(size ? size : 1);
	int same;

	CHECK(x != NULL && y != NULL);
	CHECK(dfu_file_element_read(a, t, e, 0, x, size) == 0);
	CHECK(dfu_file_element_read(b, t, e, 0, y, size) == 0);
	same = memcmp(x, y, size) == 0;
	free(x);
	free(y);
	return same;
}

/* The rewritten file holds what the original held. */
static void
check_rewrite(struct dfu_file *f)
{
	const struct dfu_suffix *s = dfu_file_suffix(f), *s2;
	struct dfu_file *g = dfu_file_new(), *h = dfu_file_new();
	uint8_t *img, *img2;
	size_t len, len2;
	unsigned t, e;
	uint64_t total = 0;

	CHECK(g != NULL && h != NULL);
	for (t = 0; t < dfu_file_target_count(f); t++)
		for (e = 0; e < dfu_file_element_count(f, t); e++)
			total += dfu_file_element(f, t, e)->size;
	if (total > MAX_DATA || dfu_file_payload_size(f) > MAX_DATA)
		goto out;
	img = write_out(f, &len);
	/* A plain file whose bytes start with "DfuSe" (its payload, or with
	 * an empty payload its suffix fields) reads back as a DfuSe file:
	 * the two formats are told apart by those five bytes. */
	if (dfu_file_format(f) == DFU_FORMAT_PLAIN && len >= 5 &&
	    memcmp(img, "DfuSe", 5) == 0) {
		free(img);
		goto out;
	}
	/* Likewise, a payload that has "Target" where a DfuSe file has its
	 * first target prefix reads back as a damaged DfuSe file. */
	if (dfu_file_format(f) == DFU_FORMAT_PLAIN && len >= 17 &&
	    memcmp(img + 11, "Target", 6) == 0) {
		free(img);
		goto out;
	}
	CHECK(dfu_file_read_mem(g, img, len, 0) == 0);
	CHECK(dfu_file_format(g) == dfu_file_format(f));
	s2 = dfu_file_suffix(g);
	CHECK(s != NULL && s2 != NULL);
	CHECK(s->idVendor == s2->idVendor && s->idProduct == s2->idProduct &&
	    s->bcdDevice == s2->bcdDevice && s->bcdDFU == s2->bcdDFU);
	CHECK(dfu_file_target_count(g) == dfu_file_target_count(f));
	for (t = 0; t < dfu_file_target_count(f); t++) {
		const struct dfuse_target *a = dfu_file_target(f, t);
		const struct dfuse_target *b = dfu_file_target(g, t);

		CHECK(a->bAlternateSetting == b->bAlternateSetting);
		CHECK((a->bTargetNamed != 0) == (b->bTargetNamed != 0));
		if (a->bTargetNamed)
			CHECK(strcmp(a->szTargetName, b->szTargetName) == 0);
		CHECK(dfu_file_element_count(g, t) ==
		    dfu_file_element_count(f, t));
		for (e = 0; e < dfu_file_element_count(f, t); e++) {
			const struct dfu_element *x = dfu_file_element(f, t, e);
			const struct dfu_element *y = dfu_file_element(g, t, e);

			CHECK(x->address == y->address && x->size == y->size);
			CHECK(same_element_bytes(f, g, t, e, x->size));
		}
	}
	if (dfu_file_format(f) == DFU_FORMAT_PLAIN) {
		/* The payload is written without its vendor prefix; its own
		 * first bytes may look like a prefix when read back. */
		const struct dfu_vendor_prefix *vp = dfu_file_vendor_prefix(g);
		uint64_t n = dfu_file_payload_size(f);
		uint8_t *p = malloc(n ? n : 1);

		CHECK(p != NULL);
		CHECK((vp != NULL ? vp->size : 0) + dfu_file_payload_size(g) ==
		    n);
		CHECK(len == n + DFU_SUFFIX_SIZE);
		CHECK(dfu_file_payload_read(f, 0, p, n) == 0);
		CHECK(memcmp(p, img, n) == 0);
		free(p);
	}
	/* Canonical form: writing it again changes nothing (unless a vendor
	 * prefix was seen in the payload, which is dropped again). */
	if (dfu_file_vendor_prefix(g) == NULL) {
		img2 = write_out(g, &len2);
		CHECK(len2 == len && memcmp(img, img2, len) == 0);
		CHECK(dfu_file_read_mem(h, img2, len2, 0) == 0);
		free(img2);
	}
	free(img);
out:
	dfu_file_free(g);
	dfu_file_free(h);
}

static void
check_plan_alt(const struct dfu_plan *p, const struct dfu_plan_alt *a)
{
	uint64_t reach = 0, pages = 0, bytes = 0;

	for (size_t i = 1; i < a->nsegments; i++)
		CHECK(dfu_plan_segment(p, a->segments[i - 1])->address <=
		    dfu_plan_segment(p, a->segments[i])->address);
	if (!a->fits) {
		CHECK(a->nextents == 0);
		return;
	}
	for (size_t i = 0; i < a->nextents; i++) {
		const struct dfu_plan_extent *x = &a->extents[i];

		CHECK(x->start >= reach && x->end > x->start);
		CHECK((x->end - x->start) % x->page_size == 0);
		if (x->access & DFU_LAYOUT_ERASABLE) {
			pages += (x->end - x->start) / x->page_size;
			bytes += x->end - x->start;
		}
		reach = x->end;
	}
	CHECK(pages == a->pages_erased && bytes == a->bytes_erased);
	CHECK(a->bytes_outside <= a->bytes_erased);
}

static void
check_plan(struct dfu_file *f)
{
	struct dfu_layout *l = dfu_layout_new();
	struct dfu_plan *p = dfu_plan_new();

	CHECK(l != NULL && p != NULL);
	CHECK(dfu_layout_parse(l, "@Flash /0x08000000/04*016Kg,01*064Kg,"
	    "07*128Kg/0x1FFF7800/01*512 a") == 0);
	CHECK(dfu_plan_add_file(p, f) == 0);
	CHECK(dfu_plan_set_layout(p, 0, l) == 0);
	for (unsigned flags = 0; flags <= DFU_PLAN_LAYOUTS; flags++) {
		int rc = dfu_plan_run(p, flags);
		size_t errors = 0;

		CHECK(rc == 0 || rc == DFU_ERR_RANGE);
		for (size_t i = 0; i < dfu_plan_finding_count(p); i++) {
			const struct dfu_plan_finding *d =
			    dfu_plan_finding(p, i);

			CHECK(d->code[0] != '\0' && d->field[0] != '\0' &&
			    d->message[0] != '\0');
			CHECK(d->segment < dfu_plan_segment_count(p) &&
			    d->other < dfu_plan_segment_count(p));
			errors += d->severity == DFU_ERROR;
		}
		CHECK(errors == dfu_plan_error_count(p));
		CHECK((rc == 0) == (errors == 0));
		CHECK(rc == 0 || dfu_plan_errmsg(p)[0] != '\0');
		for (size_t i = 0; i < dfu_plan_alt_count(p); i++)
			check_plan_alt(p, dfu_plan_alt(p, i));
	}
	dfu_plan_free(p);
	dfu_layout_free(l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct dfu_file *f = dfu_file_new();
	unsigned flags;
	int rc;

	if (copy == NULL || f == NULL)
		abort();
	memcpy(copy, data, size);
	for (flags = 0; flags <= DFU_READ_IGNORE_CRC; flags++) {
		rc = dfu_file_read_mem(f, size ? copy : NULL, size, flags);
		CHECK(rc == 0 || rc == DFU_ERR_FORMAT);
		CHECK((rc == 0) == (dfu_file_error_count(f) == 0));
		CHECK(rc == 0 || dfu_file_errmsg(f)[0] != '\0');
		check_diags(f);
		walk(f);
		if (flags == 0)
			check_plan(f);
		if (rc == 0)
			check_rewrite(f);
	}
	dfu_file_free(f);
	free(copy);
	return 0;
}
