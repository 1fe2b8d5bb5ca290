/*
 * error.c - error codes, the message kept on the handle, diagnostics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfufile_private.h"

const char *
dfu_strerror(int err)
{
	switch (err) {
	case DFU_OK:
		return "success";
	case DFU_ERR_INVALID:
		return "invalid argument";
	case DFU_ERR_NOMEM:
		return "out of memory";
	case DFU_ERR_IO:
		return "input/output error";
	case DFU_ERR_FORMAT:
		return "invalid input file (its format is broken)";
	case DFU_ERR_RANGE:
		return "address or size out of range";
	default:
		return "unknown error";
	}
}

const char *
dfufile_version(void)
{
	return DFUFILE_VERSION_STRING;
}

const char *
dfu_file_errmsg(const struct dfu_file *f)
{
	return f != NULL ? f->errmsg : "";
}

int
dfu_file_errno(const struct dfu_file *f)
{
	return f != NULL ? f->err_errno : 0;
}

void
dfui_clear_error(struct dfu_file *f)
{
	f->errmsg[0] = '\0';
	f->err_errno = 0;
}

int
dfui_fail(struct dfu_file *f, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->errmsg, sizeof(f->errmsg), fmt, ap);
	va_end(ap);
	f->err_errno = 0;
	return err;
}

int
dfui_fail_errno(struct dfu_file *f, int saved_errno, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(f->errmsg, sizeof(f->errmsg), fmt, ap);
	va_end(ap);
	n = strlen(f->errmsg);
	snprintf(f->errmsg + n, sizeof(f->errmsg) - n, ": %s",
	    strerror(saved_errno));
	f->err_errno = saved_errno;
	return DFU_ERR_IO;
}

int
dfui_diag_add(struct dfu_file *f, enum dfu_severity sev, const char *code,
    uint64_t offset, const char *field, const char *fmt, ...)
{
	struct dfu_diag *d;
	va_list ap;
	char *msg;
	int n;

	/*
	 * A hostile file can hold 65536 empty elements; past the limit only
	 * errors are counted, and one last note says so.
	 */
	if (f->ndiags >= DFUI_MAX_DIAGS) {
		if (sev == DFU_ERROR)
			f->nerrors++;
		return 0;
	}
	if (f->ndiags == DFUI_MAX_DIAGS - 1 &&
	    strcmp(code, "too-many-diagnostics") != 0) {
		dfui_diag_add(f, DFU_NOTE, "too-many-diagnostics", offset, field,
		    "more than %d diagnostics: the rest are not listed",
		    DFUI_MAX_DIAGS - 1);
		if (sev == DFU_ERROR)
			f->nerrors++;
		return 0;
	}
	if (f->ndiags == f->diag_cap) {
		size_t cap = f->diag_cap ? f->diag_cap * 2 : 16;

		d = realloc(f->diags, cap * sizeof(*d));
		if (d == NULL)
			return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
		f->diags = d;
		f->diag_cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
	d = &f->diags[f->ndiags++];
	d->severity = sev;
	d->code = code;
	d->offset = offset;
	d->field = field;
	d->message = msg;
	if (sev == DFU_ERROR) {
		f->nerrors++;
		/* The first error is the message of the failed read. */
		if (f->nerrors == 1)
			snprintf(f->errmsg, sizeof(f->errmsg),
			    "offset 0x%llx (%s): %s",
			    (unsigned long long)offset, field, msg);
	}
	return 0;
}

/* Stable: diagnostics at one offset keep the order they were found in. */
void
dfui_diag_sort(struct dfu_file *f)
{
	size_t i, j;
	struct dfu_diag tmp;

	/* Insertion sort: stable, and the list is short and nearly sorted. */
	for (i = 1; i < f->ndiags; i++) {
		tmp = f->diags[i];
		for (j = i; j > 0 && f->diags[j - 1].offset > tmp.offset; j--)
			f->diags[j] = f->diags[j - 1];
		f->diags[j] = tmp;
	}
}

void
dfui_diag_clear(struct dfu_file *f)
{
	size_t i;

	for (i = 0; i < f->ndiags; i++)
		free((char *)f->diags[i].message);
	free(f->diags);
	f->diags = NULL;
	f->ndiags = f->diag_cap = f->nerrors = 0;
}

size_t
dfu_file_diag_count(const struct dfu_file *f)
{
	return f->ndiags;
}

const struct dfu_diag *
dfu_file_diag(const struct dfu_file *f, size_t i)
{
	return i < f->ndiags ? &f->diags[i] : NULL;
}

size_t
dfu_file_error_count(const struct dfu_file *f)
{
	return f->nerrors;
}
