/*
 * fit.h - dfuinfo -L: does a DfuSe file fit a device's memory?
 *
 * A DfuSe device describes the memory behind each alternate setting with
 * a layout string (ST UM0424; common/dfulayout.h).  Given those strings,
 * fit_check() tells, before any device is attached, what dfuflash would
 * find when it plans the download: every element must lie in writable
 * pages of the layout of its target's alternate setting, and every
 * erasable page an element touches is erased once, the bytes of it that
 * the image does not cover included.
 */
#ifndef DFUINFO_FIT_H
#define DFUINFO_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "dfufile.h"
#include "dfulayout.h"

/* One -L option: the layout of an alternate setting. */
struct fit_layout {
	unsigned alt;
	struct dfu_layout *layout;
};

/* One finding, shown with the file's own diagnostics. */
struct fit_diag {
	int error;	  /* 1: an error (the file does not fit); 0: a note */
	const char *code; /* "layout-outside", ... (see dfuinfo(1)) */
	uint64_t offset;  /* file offset of the element concerned */
	char field[48];	  /* "target 0 element 1", or "" */
	char message[160];
};

/* What a target would cost on the device. */
struct fit_target {
	int checked;		/* a layout was given for its alt */
	int fits;		/* every element is in writable memory */
	const char *name;	/* the layout's memory name */
	uint64_t pages_erased;	/* distinct erasable pages touched */
	uint64_t bytes_erased;
	uint64_t bytes_outside; /* bytes of those pages the image lacks */
};

struct fit_report {
	struct fit_diag *diags;
	size_t ndiags, nerrors;
	struct fit_target *targets; /* one per target of the file */
	unsigned ntargets;
};

/*
 * Check the targets of f (read without fatal error) against the layouts.
 * A target whose alt has no layout is an error; a plain file gets a note
 * that it has no addresses to check.  0, or -1 when out of memory.
 */
int fit_check(const struct dfu_file *f, const struct fit_layout *layouts,
	      size_t nlayouts, struct fit_report *r);
void fit_report_free(struct fit_report *r);

#endif /* DFUINFO_FIT_H */
