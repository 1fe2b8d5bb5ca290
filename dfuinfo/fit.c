/*
 * fit.c - dfuinfo -L: check a DfuSe file against device memory layouts.
 *
 * Work is per region of the layout, never per page: a layout of 1-byte
 * pages and a 4 GiB element cost as little as one 16 KiB sector.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"

/* The pages one element touches in one erasable region. */
struct extent {
	uint64_t start, end; /* page-aligned, end exclusive */
	uint32_t page_size;
};

static int __attribute__((format(printf, 6, 7)))
add_diag(struct fit_report *r, int error, const char *code,
	 const struct dfu_element *e, const char *field, const char *fmt, ...)
{
	struct fit_diag *d;
	va_list ap;

	d = realloc(r->diags, (r->ndiags + 1) * sizeof(*d));
	if (d == NULL)
		return -1;
	r->diags = d;
	d = &r->diags[r->ndiags++];
	memset(d, 0, sizeof(*d));
	d->error = error;
	d->code = code;
	d->offset = e != NULL ? e->offset : 0;
	snprintf(d->field, sizeof(d->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(d->message, sizeof(d->message), fmt, ap);
	va_end(ap);
	if (error)
		r->nerrors++;
	return 0;
}

static const struct dfu_layout *
layout_of(const struct fit_layout *ls, size_t n, unsigned alt)
{
	for (size_t i = 0; i < n; i++)
		if (ls[i].alt == alt)
			return ls[i].layout;
	return NULL;
}

static int
by_start(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * One element: an error if any byte of it is outside every region or in
 * a region that is not writable; the erasable pages it touches are
 * appended to *ext.  Returns 0 (checked, fits or not) or -1 (memory).
 */
static int
check_element(struct fit_report *r, struct fit_target *ft,
	      const struct dfu_layout *l, const struct dfu_element *e,
	      const char *field, struct extent **ext, size_t *next,
	      uint64_t *covered)
{
	uint64_t pos = e->address, end = (uint64_t)e->address + e->size;

	while (pos < end) {
		const struct dfu_layout_region *rg;
		uint64_t stop, first, last;
		uint32_t page;
		struct extent *x;

		rg = pos <= UINT32_MAX ?
		    dfu_layout_find(l, (uint32_t)pos, &page) : NULL;
		if (rg == NULL) {
			ft->fits = 0;
			return add_diag(r, 1, "layout-outside", e, field,
			    "0x%08" PRIx64 " is outside every region of "
			    "\"%s\"", pos, dfu_layout_name(l));
		}
		if (!(rg->access & DFU_LAYOUT_WRITABLE)) {
			ft->fits = 0;
			return add_diag(r, 1, "layout-not-writable", e, field,
			    "0x%08" PRIx64 " is in a region of \"%s\" that "
			    "is not writable (%s)", pos, dfu_layout_name(l),
			    dfu_layout_access_name(rg->access));
		}
		stop = end < rg->end ? end : rg->end;
		if (rg->access & DFU_LAYOUT_ERASABLE) {
			first = rg->start + (pos - rg->start) / rg->page_size *
			    rg->page_size;
			last = rg->start + (stop - rg->start +
			    rg->page_size - 1) / rg->page_size * rg->page_size;
			x = realloc(*ext, (*next + 1) * sizeof(*x));
			if (x == NULL)
				return -1;
			*ext = x;
			x[(*next)++] = (struct extent){ first, last,
			    rg->page_size };
			*covered += stop - pos;
		}
		pos = stop;
	}
	return 0;
}

/* Pages and bytes of the union of the extents (sorted here). */
static void
count_erased(struct fit_target *ft, struct extent *ext, size_t n,
	     uint64_t covered)
{
	uint64_t reach = 0;

	/* qsort(NULL, 0, ...) is undefined (C11 7.22.5): ext is NULL when
	 * no element touched the target. */
	if (n > 0)
		qsort(ext, n, sizeof(*ext), by_start);
	for (size_t i = 0; i < n; i++) {
		uint64_t start = ext[i].start > reach ? ext[i].start : reach;

		/* Extents of one region are page-aligned: so is the rest. */
		if (ext[i].end > start) {
			ft->bytes_erased += ext[i].end - start;
			ft->pages_erased += (ext[i].end - start) /
			    ext[i].page_size;
			reach = ext[i].end;
		}
	}
	/* Overlapping elements (an error of their own) count once. */
	ft->bytes_outside = ft->bytes_erased > covered ?
	    ft->bytes_erased - covered : 0;
}

static int
check_target(struct fit_report *r, const struct dfu_file *f, unsigned t,
	     const struct fit_layout *ls, size_t nls)
{
	const struct dfuse_target *tg = dfu_file_target(f, t);
	struct fit_target *ft = &r->targets[t];
	const struct dfu_layout *l;
	struct extent *ext = NULL;
	size_t next = 0;
	uint64_t covered = 0;
	char field[48];

	snprintf(field, sizeof(field), "target %u", t);
	if ((l = layout_of(ls, nls, tg->bAlternateSetting)) == NULL)
		return add_diag(r, 1, "layout-missing", NULL, field,
		    "alt %u has no layout: give one with -L %u=LAYOUT",
		    tg->bAlternateSetting, tg->bAlternateSetting);
	ft->checked = 1;
	ft->fits = 1;
	ft->name = dfu_layout_name(l);
	for (unsigned i = 0; i < dfu_file_element_count(f, t); i++) {
		const struct dfu_element *e = dfu_file_element(f, t, i);

		if (e == NULL || e->size == 0)
			continue;
		snprintf(field, sizeof(field), "target %u element %u", t, i);
		if (check_element(r, ft, l, e, field, &ext, &next,
		    &covered) != 0) {
			free(ext);
			return -1;
		}
	}
	count_erased(ft, ext, next, covered);
	free(ext);
	return 0;
}

int
fit_check(const struct dfu_file *f, const struct fit_layout *layouts,
	  size_t nlayouts, struct fit_report *r)
{
	memset(r, 0, sizeof(*r));
	if (dfu_file_format(f) == DFU_FORMAT_PLAIN)
		return add_diag(r, 0, "layout-plain", NULL, "",
		    "a plain DFU file has no addresses: -L was not checked");
	if (dfu_file_format(f) != DFU_FORMAT_DFUSE ||
	    dfu_file_target_count(f) == 0)
		return 0;
	r->ntargets = dfu_file_target_count(f);
	r->targets = calloc(r->ntargets, sizeof(*r->targets));
	if (r->targets == NULL)
		return -1;
	for (unsigned t = 0; t < r->ntargets; t++)
		if (check_target(r, f, t, layouts, nlayouts) != 0)
			return -1;
	return 0;
}

void
fit_report_free(struct fit_report *r)
{
	free(r->diags);
	free(r->targets);
	memset(r, 0, sizeof(*r));
}
