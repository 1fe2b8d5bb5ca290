/*
 * fit.c - dfuinfo: the library's planner (dfuplan.h) on a DfuSe file.
 */
#define _GNU_SOURCE /* asprintf */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"

static int
add_diag(struct fit_report *r, int error, const char *code, uint64_t offset,
	 const char *field, const char *message)
{
	struct fit_diag *d;

	d = realloc(r->diags, (r->ndiags + 1) * sizeof(*d));
	if (d == NULL)
		return DFU_ERR_NOMEM;
	r->diags = d;
	d = &r->diags[r->ndiags++];
	d->error = error;
	d->code = code;
	d->offset = offset;
	d->field = field;
	d->message = message;
	d->owned = NULL;
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

/* The target of a segment that dfu_plan_add_file() added: its source
 * is "target T element E". */
static unsigned long
target_of(const struct dfu_plan *p, size_t seg)
{
	const char *src = dfu_plan_segment(p, seg)->source;

	if (strncmp(src, "target ", 7) != 0)
		return ULONG_MAX;
	return strtoul(src + 7, NULL, 10);
}

static int
fail(struct fit_report *r, int rc, const char *msg)
{
	snprintf(r->errmsg, sizeof(r->errmsg), "%s", msg[0] != '\0' ? msg :
	    dfu_strerror(rc));
	return rc;
}

/*
 * The notes of each layout (a quirk of a real bootloader the parser
 * accepted, dfulayout.h): shown with the file's, so that -L says how it
 * read a string that is not in the form UM0424 gives.
 */
static int
add_layout_notes(struct fit_report *r, const struct fit_layout *layouts,
		 size_t nlayouts)
{
	for (size_t i = 0; i < nlayouts; i++)
		for (unsigned k = 0; k < dfu_layout_note_count(layouts[i].layout);
		    k++) {
			const struct dfu_layout_note *n =
			    dfu_layout_note(layouts[i].layout, k);
			struct fit_diag *d;
			char *msg;

			if (asprintf(&msg, "alt %u layout, offset %zu: %s",
			    layouts[i].alt, n->offset, n->message) < 0)
				return DFU_ERR_NOMEM;
			if (add_diag(r, 0, n->code, 0, "", msg) != 0) {
				free(msg);
				return DFU_ERR_NOMEM;
			}
			d = &r->diags[r->ndiags - 1];
			d->owned = msg;
		}
	return 0;
}

int
fit_check(struct dfu_file *f, const struct fit_layout *layouts,
	  size_t nlayouts, struct fit_report *r)
{
	unsigned nt = dfu_file_target_count(f);
	int rc;

	memset(r, 0, sizeof(*r));
	if (add_layout_notes(r, layouts, nlayouts) != 0)
		return fail(r, DFU_ERR_NOMEM, "");
	if (dfu_file_format(f) == DFU_FORMAT_PLAIN && nlayouts > 0)
		return add_diag(r, 1, "layout-plain", 0, "", "a plain DFU "
		    "file has no addresses: dfuflash refuses it for a DfuSe "
		    "device, whose memory -L describes") != 0 ?
		    fail(r, DFU_ERR_NOMEM, "") : 0;
	if (dfu_file_format(f) != DFU_FORMAT_DFUSE || nt == 0)
		return 0;
	if ((r->targets = calloc(nt, sizeof(*r->targets))) == NULL ||
	    (r->plan = dfu_plan_new()) == NULL)
		return fail(r, DFU_ERR_NOMEM, "");
	r->ntargets = nt;
	if ((rc = dfu_plan_add_file(r->plan, f)) != 0)
		return fail(r, rc, dfu_plan_errmsg(r->plan));
	for (size_t i = 0; i < nlayouts; i++)
		if ((rc = dfu_plan_set_layout(r->plan, layouts[i].alt,
		    layouts[i].layout)) != 0)
			return fail(r, rc, dfu_plan_errmsg(r->plan));
	rc = dfu_plan_run(r->plan, nlayouts > 0 ? DFU_PLAN_LAYOUTS : 0);
	if (rc != 0 && rc != DFU_ERR_RANGE)
		return fail(r, rc, dfu_plan_errmsg(r->plan));

	for (unsigned t = 0; t < nt; t++) {
		const struct dfuse_target *tg = dfu_file_target(f, t);
		const struct dfu_layout *l = layout_of(layouts, nlayouts,
		    tg->bAlternateSetting);
		struct fit_target *ft = &r->targets[t];

		ft->first = t;
		for (unsigned u = 0; u < t; u++)
			if (dfu_file_target(f, u)->bAlternateSetting ==
			    tg->bAlternateSetting) {
				ft->first = u;
				break;
			}
		if (l == NULL)
			continue;
		ft->checked = 1;
		ft->fits = 1;
		ft->name = dfu_layout_name(l);
		/* A target without data fits and erases nothing. */
		ft->alt_fits = 1;
		for (size_t a = 0; a < dfu_plan_alt_count(r->plan); a++) {
			const struct dfu_plan_alt *pa = dfu_plan_alt(r->plan, a);

			if (pa->alt != tg->bAlternateSetting)
				continue;
			ft->alt_fits = pa->fits;
			ft->pages_erased = pa->pages_erased;
			ft->bytes_erased = pa->bytes_erased;
			ft->bytes_outside = pa->bytes_outside;
		}
	}
	for (size_t i = 0; i < dfu_plan_finding_count(r->plan); i++) {
		const struct dfu_plan_finding *fd = dfu_plan_finding(r->plan, i);
		unsigned long t = target_of(r->plan, fd->segment);

		/* Within one target the reader's element-overlap says it. */
		if (fd->segment != fd->other &&
		    t == target_of(r->plan, fd->other))
			continue;
		if (fd->segment == fd->other && t < nt &&
		    strcmp(fd->code, "layout-missing") != 0)
			r->targets[t].fits = 0;
		if (add_diag(r, fd->severity == DFU_ERROR, fd->code,
		    fd->offset, fd->field, fd->message) != 0)
			return fail(r, DFU_ERR_NOMEM, "");
		if (strcmp(fd->code, "layout-missing") == 0) {
			struct fit_diag *d = &r->diags[r->ndiags - 1];
			size_t n = strlen(fd->message) + 48;

			if ((d->owned = malloc(n)) == NULL)
				return fail(r, DFU_ERR_NOMEM, "");
			snprintf(d->owned, n, "%s: give one with -L %u=LAYOUT",
			    fd->message, fd->alt);
			d->message = d->owned;
		}
	}
	return 0;
}

void
fit_report_free(struct fit_report *r)
{
	for (size_t i = 0; i < r->ndiags; i++)
		free(r->diags[i].owned);
	free(r->diags);
	free(r->targets);
	dfu_plan_free(r->plan);
	memset(r, 0, sizeof(*r));
}
