/*
 * dfuplan.h - libdfufile: what a DfuSe device will be sent, planned once.
 *
 * The planner takes the segments of an image (bytes for an address of an
 * alternate setting: the elements of a DfuSe file, or data held by the
 * caller) and, optionally, the memory layout of each alternate setting
 * (dfulayout.h), and decides, per alternate setting:
 *   - conflicts: two segments of one alternate setting that put different
 *     bytes at the same address are an error ("alt-conflict"), naming
 *     both and the first such address; overlapping segments that agree
 *     byte for byte are a note ("alt-overlap").  Only the overlapping
 *     bytes are read, each at most once, so a 1 GiB file is never loaded;
 *   - with a layout: every byte must lie in a region that is writable
 *     ("layout-outside", "layout-not-writable"; the first such address of
 *     each segment); with DFU_PLAN_LAYOUTS an alternate setting without a
 *     layout is an error ("layout-missing");
 *   - the pages touched, as extents per region in address order, and the
 *     pages and bytes of erasable regions that are erased, with how many
 *     of those bytes the image does not cover.  The work is per region,
 *     never per page: a 4 GiB element over 1-byte pages costs as little
 *     as one sector.
 * dfuinfo(1) and dfuflash(1) both plan with it, so that what dfuinfo
 * accepts is what dfuflash will send.
 *
 * Conventions are those of dfufile.h: functions return 0 or a negative
 * enum dfu_error and keep the detail on the handle (dfu_plan_errmsg());
 * nothing here prints or exits.  A handle is not thread-safe.
 */
#ifndef DFUPLAN_H
#define DFUPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "dfufile.h"
#include "dfulayout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handle: the segments, the layouts and the last plan. */
struct dfu_plan;

DFUFILE_API struct dfu_plan *dfu_plan_new(void);	/* NULL if out of memory */
DFUFILE_API void dfu_plan_free(struct dfu_plan *p); /* NULL is allowed */

/* Last failure, never NULL, "" when nothing failed; the text is valid
 * until the next call on the handle. */
DFUFILE_API const char *dfu_plan_errmsg(const struct dfu_plan *p);

/*
 * Read len bytes of a segment, from byte off of it, into buf; 0 or a
 * negative enum dfu_error.  Called only for bytes that overlap another
 * segment.
 */
typedef int (*dfu_plan_read_fn)(void *ctx, uint64_t off, void *buf,
				size_t len);

struct dfu_plan_segment {
	unsigned alt;	  /* alternate setting, 0 to 255 */
	uint32_t address; /* address + size must not pass 4 GiB */
	uint32_t size;	  /* a segment of size 0 is ignored */
	const void *data; /* size bytes, borrowed until dfu_plan_free(); or */
	dfu_plan_read_fn read; /* ... NULL data: this reads them, with ctx */
	void *ctx;
	const char *source; /* "target 2 element 0" (copied); NULL: the range */
	uint64_t offset;    /* file offset given with its findings, or 0 */
};

/*
 * Add a segment; 0, DFU_ERR_INVALID (alt above 255, no data and no read
 * function, a range past 4 GiB) or DFU_ERR_NOMEM.  Segments are numbered
 * from 0 in the order they are added.
 */
DFUFILE_API int dfu_plan_add(struct dfu_plan *p, const struct dfu_plan_segment *s);

/*
 * Add every element of a DfuSe file, read with dfu_file_read_*() (errors
 * allowed), as source "target T element E" at the element's file offset;
 * an element whose data the file does not hold in full (reported as
 * "truncated" by the reader) is left out.  f is borrowed: keep it (and
 * its input) until dfu_plan_free().  A plain file adds nothing.
 */
DFUFILE_API int dfu_plan_add_file(struct dfu_plan *p, struct dfu_file *f);

/*
 * The layout of alternate setting alt, borrowed until dfu_plan_free() or
 * the next call for alt; NULL removes it.  0 or DFU_ERR_INVALID,
 * DFU_ERR_NOMEM.
 */
DFUFILE_API int dfu_plan_set_layout(struct dfu_plan *p, unsigned alt,
				    const struct dfu_layout *l);

/*
 * The segments as added (source is the plan's copy; size-0 ones too).
 * The record points into an array that adding reallocates: valid until
 * the next dfu_plan_add(), dfu_plan_add_file() or dfu_plan_free(); i out
 * of range gives NULL.
 */
DFUFILE_API size_t dfu_plan_segment_count(const struct dfu_plan *p);
DFUFILE_API const struct dfu_plan_segment *dfu_plan_segment(const struct dfu_plan *p,
							    size_t i);

/* Flags of dfu_plan_run(). */
#define DFU_PLAN_LAYOUTS 0x1u /* an alt without a layout: layout-missing */

/*
 * Plan: drop the previous findings and results, then check and count as
 * said above.  Returns 0 when no finding is an error, DFU_ERR_RANGE when
 * one is (dfu_plan_errmsg() is the first error's field and message), or
 * the failure of a read function, DFU_ERR_NOMEM (the message says which;
 * findings and results are then incomplete).  May be called again after
 * other layouts are set.
 */
DFUFILE_API int dfu_plan_run(struct dfu_plan *p, unsigned flags);

/*
 * One finding.  code is static text; the record, field and message
 * belong to the plan: valid until the next dfu_plan_run() or
 * dfu_plan_free().
 */
struct dfu_plan_finding {
	enum dfu_severity severity;
	const char *code; /* "alt-conflict", "alt-overlap", "layout-outside",
			     "layout-not-writable", "layout-missing" */
	unsigned alt;
	size_t segment;	  /* the segment concerned (the later of a pair) */
	size_t other;	  /* the other one of a pair; else == segment */
	uint32_t address; /* the first address concerned */
	const char *field;   /* the segment's source, or "alt N" for a pair */
	uint64_t offset;     /* the offset given with the segment */
	const char *message; /* lower case, no trailing period, names both */
};

/*
 * Findings of the last run, per alternate setting in the order of
 * dfu_plan_alt(): layout-missing, then each segment's layout finding in
 * the order added, then the pairs in address order.  i out of range
 * gives NULL.
 */
DFUFILE_API size_t dfu_plan_finding_count(const struct dfu_plan *p);
DFUFILE_API size_t dfu_plan_error_count(const struct dfu_plan *p);
DFUFILE_API const struct dfu_plan_finding *dfu_plan_finding(const struct dfu_plan *p,
							    size_t i);

/* Pages touched in one region: [start, end), whole pages. */
struct dfu_plan_extent {
	uint32_t start;
	uint64_t end;	    /* may be 4 GiB */
	uint32_t page_size; /* of the region */
	unsigned access;    /* DFU_LAYOUT_* bits of the region */
};

/*
 * What one alternate setting will be sent.  The record and its segments
 * and extents arrays belong to the plan: valid until the next
 * dfu_plan_run() or dfu_plan_free().  layout is the caller's, as given to
 * dfu_plan_set_layout() for alt (borrowed, see there).
 */
struct dfu_plan_alt {
	unsigned alt;
	const struct dfu_layout *layout; /* NULL: none was set */
	int fits;	 /* a layout is set and every byte is writable */
	size_t nsegments;
	const size_t *segments; /* by address; equal addresses as added */
	/* Only when fits: the pages touched, in address order, each page
	 * once, and the figures of the erasable ones. */
	size_t nextents;
	const struct dfu_plan_extent *extents;
	uint64_t pages_erased, bytes_erased;
	uint64_t bytes_outside; /* bytes erased that no segment covers */
};

/* Alternate settings of the last run in the order their first segment
 * was added.  i out of range gives NULL. */
DFUFILE_API size_t dfu_plan_alt_count(const struct dfu_plan *p);
DFUFILE_API const struct dfu_plan_alt *dfu_plan_alt(const struct dfu_plan *p, size_t i);

#ifdef __cplusplus
}
#endif

#endif /* DFUPLAN_H */
