/*
 * fit.h - dfuinfo: what dfuflash would find when it plans the download.
 *
 * A thin adapter over the library's planner (dfuplan.h), the code that
 * dfuflash plans with: for every DfuSe file, two targets of one alternate
 * setting that write different bytes to one address are an error
 * (alt-conflict), identical overlapping bytes a note (alt-overlap); with
 * -L, every element must lie in writable pages of the layout of its
 * target's alternate setting, and the erasable pages the elements of an
 * alternate setting touch are erased once each, the bytes of them that
 * the image does not cover included.
 */
#ifndef DFUINFO_FIT_H
#define DFUINFO_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "dfufile.h"
#include "dfulayout.h"
#include "dfuplan.h"

/* One -L option: the layout of an alternate setting. */
struct fit_layout {
	unsigned alt;
	struct dfu_layout *layout;
};

/* One finding, shown with the file's own diagnostics. */
struct fit_diag {
	int error;	     /* 1: an error (dfuflash refuses); 0: a note */
	const char *code;    /* "alt-conflict", "layout-outside", ... */
	uint64_t offset;     /* file offset of the element concerned */
	const char *field;   /* "target 0 element 1", "alt 0", or "" */
	const char *message; /* owned by the report */
	char *owned;	     /* message, when composed here */
};

/* What a target would cost on the device. */
struct fit_target {
	int checked;	  /* a layout was given for its alt */
	int fits;	  /* every element of it is in writable memory */
	const char *name; /* the layout's memory name */
	unsigned first;	  /* the first target of its alt, which carries
			     the figures of the whole alt */
	int alt_fits;	  /* every element of the alt fits: figures below */
	uint64_t pages_erased; /* distinct erasable pages the alt touches */
	uint64_t bytes_erased;
	uint64_t bytes_outside; /* bytes of those pages the image lacks */
};

struct fit_report {
	struct fit_diag *diags;
	size_t ndiags, nerrors;
	struct fit_target *targets; /* one per target of the file */
	unsigned ntargets;
	struct dfu_plan *plan;
	char errmsg[256];
};

/*
 * Plan the targets of f (read, with or without errors) against the
 * layouts (none: the conflicts only).  A target whose alt has no layout
 * is then an error, and so is a plain file: it has no addresses, and
 * dfuflash refuses it for a DfuSe device.  0, or a negative enum dfu_error with r->errmsg (out of memory,
 * element data that cannot be read).
 */
int fit_check(struct dfu_file *f, const struct fit_layout *layouts,
	      size_t nlayouts, struct fit_report *r);
void fit_report_free(struct fit_report *r);

#endif /* DFUINFO_FIT_H */
