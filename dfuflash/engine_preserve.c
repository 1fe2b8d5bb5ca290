/*
 * engine_preserve.c - kept bytes (--preserve, --preserve-uncovered): the
 * bytes of erased pages that the image does not cover and that must
 * survive, read before the erase, written back and checked.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfuproto.h"
#include "engine_private.h"

/* Is addr, which the image does not hold, to survive the erase? */
static int
keep_wanted(const struct dfl_session *s, uint32_t addr)
{
	if (s->o->flags & DFL_PRESERVE_UNCOVERED)
		return 1;
	for (size_t i = 0; i < s->o->npreserve; i++)
		if (addr >= s->o->preserve[i].first &&
		    addr <= s->o->preserve[i].last)
			return 1;
	return 0;
}

static int
add_keep(struct dfl_session *s, uint8_t alt, uint32_t start, uint32_t size)
{
	struct keep *k;

	if (s->nkeeps > 0) {
		k = &s->keeps[s->nkeeps - 1];
		if (k->alt == alt && (uint64_t)k->start + k->size == start) {
			k->size += size;
			return 0;
		}
	}
	if (s->nkeeps == s->kcap) {
		size_t cap = s->kcap ? s->kcap * 2 : 16;
		struct dfl_range *r;

		if ((k = realloc(s->keeps, cap * sizeof(*k))) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		s->keeps = k;
		if ((r = realloc(s->kept, cap * sizeof(*r))) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		s->kept = r;
		s->kcap = cap;
	}
	k = &s->keeps[s->nkeeps++];
	k->alt = alt;
	k->start = start;
	k->size = size;
	k->data = NULL;
	return 0;
}

/*
 * Put bytes [a, b) that must be written (data at a) into the runs of tg
 * as image bytes are: widened to the write unit inside their regions, merged
 * with the runs they overlap or touch.  Kept bytes are never image bytes,
 * so they only replace the 0xff filling of a run.
 */
static int
fold_piece(struct dfl_session *s, struct target *tg, uint32_t a, uint32_t b,
    const uint8_t *data)
{
	uint64_t ws = a, we = b, ns, ne;
	size_t lo, hi;
	uint8_t *buf;

	if (eng_unit_aligned(dfu_layout_find(tg->layout, a, NULL), s->unit))
		ws -= ws % s->unit;
	if (eng_unit_aligned(dfu_layout_find(tg->layout, b - 1, NULL),
	    s->unit))
		we += (s->unit - we % s->unit) % s->unit;
	for (lo = 0; lo < tg->nruns &&
	    (uint64_t)tg->runs[lo].start + tg->runs[lo].size < ws; lo++)
		;
	for (hi = lo; hi < tg->nruns && tg->runs[hi].start <= we; hi++)
		;
	ns = ws;
	ne = we;
	if (hi > lo) {
		const struct run *last = &tg->runs[hi - 1];

		if (tg->runs[lo].start < ns)
			ns = tg->runs[lo].start;
		if ((uint64_t)last->start + last->size > ne)
			ne = (uint64_t)last->start + last->size;
	}
	if ((buf = malloc(ne - ns)) == NULL)
		return fail(s, DFL_ERR_NOMEM, "out of memory");
	memset(buf, ERASED, ne - ns);
	for (size_t i = lo; i < hi; i++) {
		memcpy(buf + (tg->runs[i].start - ns), tg->runs[i].data,
		    tg->runs[i].size);
		free(tg->runs[i].data);
	}
	memcpy(buf + (a - ns), data, b - a);
	if (hi == lo) {
		struct run *n = realloc(tg->runs, (tg->nruns + 1) * sizeof(*n));

		if (n == NULL) {
			free(buf);
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		}
		tg->runs = n;
		memmove(&tg->runs[lo + 1], &tg->runs[lo],
		    (tg->nruns - lo) * sizeof(*n));
		tg->nruns++;
	} else {
		memmove(&tg->runs[lo + 1], &tg->runs[hi],
		    (tg->nruns - hi) * sizeof(*tg->runs));
		tg->nruns -= hi - lo - 1;
	}
	tg->runs[lo].alt = tg->alt;
	tg->runs[lo].start = (uint32_t)ns;
	tg->runs[lo].size = (uint32_t)(ne - ns);
	tg->runs[lo].data = buf;
	return 0;
}

/*
 * The bytes of the pages to erase that the image does not cover and that
 * must survive: find them, make sure they can be read, read them (only
 * them), and fold those that are not 0xff into the runs.
 */
int
eng_plan_keeps(struct dfl_session *s, struct target *tg)
{
	int can_read = s->dev->bmAttributes & DFU_ATTR_CAN_UPLOAD;
	size_t k0 = s->nkeeps;
	uint64_t total = 0, done = 0;
	int rc;

	if (s->o->npreserve == 0 && !(s->o->flags & DFL_PRESERVE_UNCOVERED))
		return 0;
	for (size_t i = tg->page0; i < tg->page0 + tg->npages; i++) {
		const struct dfl_page *p = &s->pages[i];
		uint32_t b = 0;

		if (!(p->flags & DFL_PAGE_ERASE))
			continue;
		while (b < p->size) {
			uint32_t a = p->start + b, n = 0;

			while (b + n < p->size &&
			    eng_image_byte(tg, a + n) < 0 &&
			    keep_wanted(s, a + n))
				n++;
			if (n == 0) {
				b++;
				continue;
			}
			if ((rc = add_keep(s, tg->alt, a, n)) != 0)
				return rc;
			b += n;
		}
	}
	for (size_t i = k0; i < s->nkeeps; i++) {
		const struct keep *k = &s->keeps[i];
		const struct dfu_layout_region *r =
		    dfu_layout_find(tg->layout, k->start, NULL);

		if (!can_read)
			return fail(s, DFL_ERR_PLAN, "alt %u: 0x%08x-0x%08x "
			    "are to be preserved, and the device cannot read "
			    "them back (bitCanUpload is 0); nothing was "
			    "erased", tg->alt, k->start,
			    k->start + k->size - 1);
		if (!(r->access & DFU_LAYOUT_READABLE))
			return fail(s, DFL_ERR_PLAN, "alt %u: 0x%08x-0x%08x "
			    "are to be preserved, and region 0x%08x-0x%08llx "
			    "is %s, not readable; nothing was erased",
			    tg->alt, k->start, k->start + k->size - 1,
			    r->start, (unsigned long long)(r->end - 1),
			    dfu_layout_access_name(r->access));
		total += k->size;
	}
	if (total == 0)
		return 0;
	if ((rc = eng_select_alt(s, tg->alt)) != 0)
		return rc;
	for (size_t i = k0; i < s->nkeeps; i++) {
		struct keep *k = &s->keeps[i];

		if ((k->data = malloc(k->size)) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		if ((rc = eng_dfuse_read(s, k->start, k->data, k->size,
		    DFL_PHASE_PRESERVE, &done, total)) != 0) {
			size_t n = strlen(s->err);

			snprintf(s->err + n, sizeof(s->err) - n, "; the bytes "
			    "to preserve cannot be read, and nothing was "
			    "erased");
			return rc;
		}
		s->res.bytes_kept += k->size;
		for (uint32_t b = 0; b < k->size;) {
			uint32_t n = 0;

			while (b + n < k->size && k->data[b + n] != ERASED)
				n++;
			if (n == 0) {
				b++;
				continue;
			}
			if ((rc = fold_piece(s, tg, k->start + b,
			    k->start + b + n, k->data + b)) != 0)
				return rc;
			s->res.bytes_restored += n;
			b += n;
		}
	}
	return 0;
}

/* After writing: every kept byte of tg's alt holds what it held. */
int
eng_check_keeps(struct dfl_session *s, const struct target *tg)
{
	uint64_t total = 0, done = 0;
	int rc;

	for (size_t i = 0; i < s->nkeeps; i++)
		if (s->keeps[i].alt == tg->alt)
			total += s->keeps[i].size;
	for (size_t i = 0; i < s->nkeeps && total > 0; i++) {
		const struct keep *k = &s->keeps[i];
		uint8_t *buf;

		if (k->alt != tg->alt)
			continue;
		if ((buf = malloc(k->size)) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		if ((rc = eng_dfuse_read(s, k->start, buf, k->size,
		    DFL_PHASE_PRESERVE, &done, total)) != 0) {
			free(buf);
			return rc;
		}
		for (uint32_t b = 0; b < k->size; b++)
			if (buf[b] != k->data[b]) {
				s->fi.mismatch = 1;
				rc = fail(s, DFL_ERR_DEVICE, "preserve at "
				    "0x%08x: device holds 0x%02x, and held "
				    "0x%02x before the erase", k->start + b,
				    buf[b], k->data[b]);
				free(buf);
				return rc;
			}
		free(buf);
	}
	return 0;
}

/* A range to preserve that the image writes is a contradiction. */
int
eng_check_preserve(struct dfl_session *s, const struct dfl_image *img)
{
	for (size_t k = 0; k < s->o->npreserve; k++) {
		const struct dfl_keep *pr = &s->o->preserve[k];

		if (pr->last < pr->first)
			return fail(s, DFL_ERR_USAGE, "--preserve 0x%08x-0x%08x: "
			    "the range ends before it starts", pr->first,
			    pr->last);
		for (size_t i = 0; i < img->nsegs && !img->plain; i++) {
			const struct dfl_segment *sg = &img->segs[i];
			uint64_t last = (uint64_t)sg->address + sg->size - 1;

			if (sg->size > 0 && pr->first <= last &&
			    pr->last >= sg->address)
				return fail(s, DFL_ERR_USAGE, "--preserve "
				    "0x%08x-0x%08x: the image writes "
				    "0x%08x-0x%08llx (alt %u), which overlaps "
				    "it", pr->first, pr->last, sg->address,
				    (unsigned long long)last, sg->alt);
		}
	}
	return 0;
}
