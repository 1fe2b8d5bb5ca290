/*
 * fuzz_conv - libFuzzer target for the conversion of a memory image to a
 * DfuSe file with its addresses shared among targets (dfuconv.h).
 *
 * Input: a header byte (bit 0: split points instead of ranges; bits 1-2:
 * targets - 1 in range mode), max_gap, gap fill, then up to 8 pieces of
 * the image, up to 8 ranges (or split points), each read as below.
 * Addresses are 16 bits, put at the top of the address space when the
 * record's flag byte has bit 7 set, so that pieces and ranges meet often
 * and the 4 GiB end is reached.
 * Properties checked against an oracle that owns each address by the
 * description alone:
 *   - a failure has a message; bytes reported as uncovered are image
 *     bytes that no range owns;
 *   - the description is valid and every image byte has an owner and
 *     every target owns at least one image byte exactly when the build
 *     succeeds;
 *   - after a success every image byte lies in exactly one element, of
 *     the target that owns it; every element byte is the image's byte,
 *     or the gap fill where the image has none, and the owner of every
 *     element byte is the element's target.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfuconv.h"
#include "fuzz.h"

#define MAX_RECORDS 8

struct input {
	const uint8_t *p;
	size_t n;
};

static int
take(struct input *in, void *out, size_t len)
{
	if (in->n < len)
		return -1;
	memcpy(out, in->p, len);
	in->p += len;
	in->n -= len;
	return 0;
}

static uint32_t
address(const uint8_t b[3])
{
	uint32_t a = (uint32_t)b[1] | (uint32_t)b[2] << 8;

	return (b[0] & 0x80) ? 0xffff0000u | a : a;
}

struct desc {
	int split;
	unsigned ntargets;
	uint32_t first[MAX_RECORDS], last[MAX_RECORDS];
	unsigned target[MAX_RECORDS];
	size_t nranges;
	uint32_t splits[MAX_RECORDS];
	size_t nsplits;
};

/* The target that owns a, or -1; -2 if the description is invalid. */
static int
owner(const struct desc *d, uint32_t a)
{
	int rest = -1, own = -1;
	size_t i, j;

	if (d->split) {
		for (i = 0; i < d->nsplits; i++)
			for (j = i + 1; j < d->nsplits; j++)
				if (d->splits[i] == d->splits[j])
					return -2;
		if (d->ntargets != d->nsplits + 1)
			return -2;
		own = 0;
		for (i = 0; i < d->nsplits; i++)
			own += a >= d->splits[i];
		return own;
	}
	for (i = 0; i < d->nranges; i++)
		for (j = i + 1; j < d->nranges; j++)
			if (d->first[i] <= d->last[j] &&
			    d->first[j] <= d->last[i])
				return -2;
	for (unsigned t = 0; t < d->ntargets; t++) {
		int has = 0;

		for (i = 0; i < d->nranges; i++)
			has |= d->target[i] == t;
		if (has)
			continue;
		if (rest >= 0)
			return -2;
		rest = (int)t;
	}
	for (i = 0; i < d->nranges; i++)
		if (a >= d->first[i] && a <= d->last[i])
			own = (int)d->target[i];
	return own >= 0 ? own : rest;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct dfu_conv *c = dfu_conv_new();
	struct dfu_image *img = dfu_image_new();
	struct dfu_file *f = dfu_file_new();
	struct desc d;
	uint8_t hdr[3], n, rec[6], bytes[16];
	uint32_t img_addr[MAX_RECORDS], img_size[MAX_RECORDS];
	size_t npieces = 0, i;
	int valid = 1, err, owned[4] = { 0 };

	CHECK(c != NULL && img != NULL && f != NULL);
	memset(&d, 0, sizeof(d));
	if (take(&in, hdr, 3) != 0 || take(&in, &n, 1) != 0)
		goto out;
	d.split = hdr[0] & 1;
	CHECK(dfu_conv_set_gap(c, hdr[1], hdr[2]) == 0);
	/* Pieces: flag+address (3 bytes), size - 1 (low 4 bits of a byte),
	 * then the bytes. */
	for (i = 0; i < (size_t)(n % (MAX_RECORDS + 1)); i++) {
		uint32_t a, len;

		if (take(&in, rec, 4) != 0)
			goto out;
		a = address(rec);
		len = (rec[3] & 0x0f) + 1u;
		if ((uint64_t)a + len > (UINT64_C(1) << 32) ||
		    take(&in, bytes, len) != 0)
			goto out;
		if (dfu_image_add_mem(img, a, bytes, len, NULL) != 0) {
			CHECK(dfu_image_errmsg(img)[0] != '\0');
			continue;
		}
		img_addr[npieces] = a;
		img_size[npieces++] = len;
	}
	if (take(&in, &n, 1) != 0)
		goto out;
	n %= MAX_RECORDS + 1;
	if (d.split) {
		d.ntargets = (unsigned)n + 1;
		if (hdr[0] & 2)
			d.ntargets++;	/* a count that does not match */
		for (i = 0; i < n; i++) {
			if (take(&in, rec, 3) != 0)
				goto out;
			d.splits[d.nsplits] = address(rec);
			if (d.splits[d.nsplits] == 0) {
				CHECK(dfu_conv_add_split(c, 0) ==
				    DFU_ERR_INVALID);
				continue;
			}
			CHECK(dfu_conv_add_split(c, d.splits[d.nsplits]) == 0);
			d.nsplits++;
		}
		if (d.ntargets > 4)
			d.ntargets = 4;
	} else {
		d.ntargets = ((hdr[0] >> 1) & 3u) + 1;
	}
	for (unsigned t = 0; t < d.ntargets; t++)
		CHECK(dfu_conv_add_target(c, t, NULL, NULL) == (int)t);
	for (i = 0; !d.split && i < n; i++) {
		uint32_t first, len;
		unsigned t;

		if (take(&in, rec, 6) != 0)
			goto out;
		first = address(rec);
		len = ((uint32_t)rec[3] | (uint32_t)(rec[4] & 0x0f) << 8) + 1u;
		t = rec[5] % d.ntargets;
		if ((uint64_t)first + len > (UINT64_C(1) << 32))
			len = (uint32_t)((UINT64_C(1) << 32) - first);
		d.first[d.nranges] = first;
		d.last[d.nranges] = first + (len - 1);
		d.target[d.nranges] = t;
		CHECK(dfu_conv_add_range(c, t, first, first + (len - 1),
		    NULL) == 0);
		d.nranges++;
	}

	/* The oracle's verdict. */
	if (owner(&d, 0) == -2)
		valid = 0;
	for (i = 0; valid && i < npieces; i++)
		for (uint32_t k = 0; k < img_size[i]; k++) {
			int o = owner(&d, img_addr[i] + k);

			if (o < 0)
				valid = 0;
			else
				owned[o] = 1;
		}
	for (unsigned t = 0; valid && t < d.ntargets; t++)
		valid = owned[t];

	err = dfu_conv_build(c, img, f);
	if (err != 0) {
		uint32_t ufirst, ulast;

		CHECK(dfu_conv_errmsg(c)[0] != '\0');
		CHECK(!valid);
		if (dfu_conv_uncovered(c, &ufirst, &ulast)) {
			uint8_t b;

			CHECK(ufirst <= ulast);
			CHECK(owner(&d, ufirst) == -1);
			CHECK(dfu_image_read(img, ufirst, &b, 1) == 0);
		}
		goto out;
	}
	CHECK(valid);
	CHECK(dfu_file_target_count(f) == d.ntargets);
	/* Every image byte in exactly one element, of its owner. */
	for (i = 0; i < npieces; i++)
		for (uint32_t k = 0; k < img_size[i]; k++) {
			uint32_t a = img_addr[i] + k;
			int found = 0;

			for (unsigned t = 0; t < d.ntargets; t++)
				for (unsigned e = 0;
				    e < dfu_file_element_count(f, t); e++) {
					const struct dfu_element *el =
					    dfu_file_element(f, t, e);

					if (a >= el->address && (uint64_t)a <
					    (uint64_t)el->address + el->size) {
						CHECK(owner(&d, a) == (int)t);
						found++;
					}
				}
			CHECK(found == 1);
		}
	/* Every element byte: the image's, or the fill in a gap. */
	for (unsigned t = 0; t < d.ntargets; t++)
		for (unsigned e = 0; e < dfu_file_element_count(f, t); e++) {
			const struct dfu_element *el = dfu_file_element(f, t, e);

			CHECK(el->size > 0);
			for (uint32_t k = 0; k < el->size && k < 4096; k++) {
				uint8_t got, want;

				CHECK(dfu_file_element_read(f, t, e, k, &got,
				    1) == 0);
				CHECK(owner(&d, el->address + k) == (int)t);
				if (dfu_image_read(img, el->address + k, &want,
				    1) != 0)
					want = hdr[2];
				CHECK(got == want);
			}
		}
out:
	dfu_file_free(f);
	dfu_image_free(img);
	dfu_conv_free(c);
	return 0;
}
