/*
 * plan.c - what a DfuSe device will be sent (dfuplan.h): conflicts
 * between segments, writable memory, the pages to erase.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfuplan.h"

/* Bytes compared per read when two segments overlap. */
#define CMP_CHUNK 4096u

struct seg {
	struct dfu_plan_segment pub; /* pub.source is source */
	struct dfu_file *file;	     /* an element of it, when not NULL */
	unsigned target, element;
	char *source;
};

struct alt_layout {
	unsigned alt;
	const struct dfu_layout *layout;
};

/* Pages touched in one region, before the extents are merged. */
struct extent {
	uint64_t start, end;
	const struct dfu_layout_region *region;
};

struct alt_plan {
	struct dfu_plan_alt pub;
	size_t *segs;
	struct dfu_plan_extent *ext;
	size_t next;
};

struct dfu_plan {
	struct seg *segs;
	size_t nsegs, segcap;
	struct alt_layout *layouts;
	size_t nlayouts;
	struct alt_plan *alts;
	size_t nalts;
	struct dfu_plan_finding *finds;
	size_t nfinds, findcap, nerrors;
	char errmsg[512];
};

struct dfu_plan *
dfu_plan_new(void)
{
	return calloc(1, sizeof(struct dfu_plan));
}

static void
results_clear(struct dfu_plan *p)
{
	for (size_t i = 0; i < p->nalts; i++) {
		free(p->alts[i].segs);
		free(p->alts[i].ext);
	}
	free(p->alts);
	p->alts = NULL;
	p->nalts = 0;
	for (size_t i = 0; i < p->nfinds; i++) {
		free((char *)p->finds[i].field);
		free((char *)p->finds[i].message);
	}
	free(p->finds);
	p->finds = NULL;
	p->nfinds = p->findcap = p->nerrors = 0;
	p->errmsg[0] = '\0';
}

void
dfu_plan_free(struct dfu_plan *p)
{
	if (p == NULL)
		return;
	results_clear(p);
	for (size_t i = 0; i < p->nsegs; i++)
		free(p->segs[i].source);
	free(p->segs);
	free(p->layouts);
	free(p);
}

const char *
dfu_plan_errmsg(const struct dfu_plan *p)
{
	return p != NULL ? p->errmsg : "";
}

static int __attribute__((format(printf, 3, 4)))
plan_fail(struct dfu_plan *p, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->errmsg, sizeof(p->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

static int
add_seg(struct dfu_plan *p, const struct dfu_plan_segment *s,
    struct dfu_file *f, unsigned target, unsigned element)
{
	struct seg *n;
	char range[48];
	const char *src = s->source;

	if (s->alt > 255)
		return plan_fail(p, DFU_ERR_INVALID, "alt %u: alternate "
		    "settings go from 0 to 255", s->alt);
	if ((uint64_t)s->address + s->size > UINT64_C(0x100000000))
		return plan_fail(p, DFU_ERR_INVALID, "0x%08x + %u bytes "
		    "passes 4 GiB", s->address, s->size);
	if (f == NULL && s->data == NULL && s->read == NULL)
		return plan_fail(p, DFU_ERR_INVALID, "a segment needs its data "
		    "or a read function");
	if (src == NULL) {
		snprintf(range, sizeof(range), "0x%08x-0x%08llx", s->address,
		    (unsigned long long)s->address + s->size -
		    (s->size > 0 ? 1 : 0));
		src = range;
	}
	if (p->nsegs == p->segcap) {
		size_t cap = p->segcap ? p->segcap * 2 : 16;

		if ((n = realloc(p->segs, cap * sizeof(*n))) == NULL)
			return plan_fail(p, DFU_ERR_NOMEM, "out of memory");
		p->segs = n;
		p->segcap = cap;
	}
	n = &p->segs[p->nsegs];
	memset(n, 0, sizeof(*n));
	if ((n->source = strdup(src)) == NULL)
		return plan_fail(p, DFU_ERR_NOMEM, "out of memory");
	n->pub = *s;
	n->pub.source = n->source;
	n->file = f;
	n->target = target;
	n->element = element;
	p->nsegs++;
	return 0;
}

int
dfu_plan_add(struct dfu_plan *p, const struct dfu_plan_segment *s)
{
	p->errmsg[0] = '\0';
	return add_seg(p, s, NULL, 0, 0);
}

int
dfu_plan_add_file(struct dfu_plan *p, struct dfu_file *f)
{
	p->errmsg[0] = '\0';
	if (dfu_file_format(f) != DFU_FORMAT_DFUSE)
		return 0;
	for (unsigned t = 0; t < dfu_file_target_count(f); t++) {
		const struct dfuse_target *tg = dfu_file_target(f, t);
		unsigned ne = dfu_file_element_count(f, t);

		for (unsigned i = 0; i < ne; i++) {
			const struct dfu_element *e = dfu_file_element(f, t, i);
			struct dfu_plan_segment s;
			char source[48];
			uint8_t last;
			int rc;

			/* Empty, past 4 GiB (address-overflow) or cut short
			 * (truncated): the reader has said so already.  The
			 * reader stops at a cut element, so only the last
			 * one of the file can be. */
			if (e == NULL || e->size == 0 ||
			    (uint64_t)e->address + e->size >
			    UINT64_C(0x100000000) ||
			    (t + 1 == dfu_file_target_count(f) && i + 1 == ne &&
			    dfu_file_element_read(f, t, i, e->size - 1, &last,
			    1) != 0))
				continue;
			snprintf(source, sizeof(source), "target %u element %u",
			    t, i);
			memset(&s, 0, sizeof(s));
			s.alt = tg->bAlternateSetting;
			s.address = e->address;
			s.size = e->size;
			s.source = source;
			s.offset = e->offset;
			if ((rc = add_seg(p, &s, f, t, i)) != 0)
				return rc;
		}
	}
	return 0;
}

int
dfu_plan_set_layout(struct dfu_plan *p, unsigned alt,
    const struct dfu_layout *l)
{
	struct alt_layout *n;

	p->errmsg[0] = '\0';
	if (alt > 255)
		return plan_fail(p, DFU_ERR_INVALID, "alt %u: alternate "
		    "settings go from 0 to 255", alt);
	for (size_t i = 0; i < p->nlayouts; i++)
		if (p->layouts[i].alt == alt) {
			if (l != NULL) {
				p->layouts[i].layout = l;
				return 0;
			}
			p->layouts[i] = p->layouts[--p->nlayouts];
			return 0;
		}
	if (l == NULL)
		return 0;
	n = realloc(p->layouts, (p->nlayouts + 1) * sizeof(*n));
	if (n == NULL)
		return plan_fail(p, DFU_ERR_NOMEM, "out of memory");
	p->layouts = n;
	n[p->nlayouts].alt = alt;
	n[p->nlayouts].layout = l;
	p->nlayouts++;
	return 0;
}

static const struct dfu_layout *
layout_of(const struct dfu_plan *p, unsigned alt)
{
	for (size_t i = 0; i < p->nlayouts; i++)
		if (p->layouts[i].alt == alt)
			return p->layouts[i].layout;
	return NULL;
}

static int __attribute__((format(printf, 8, 9)))
add_finding(struct dfu_plan *p, enum dfu_severity sev, const char *code,
    size_t seg, size_t other, uint32_t address, const char *field,
    const char *fmt, ...)
{
	struct dfu_plan_finding *n;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->nfinds == p->findcap) {
		size_t cap = p->findcap ? p->findcap * 2 : 16;

		if ((n = realloc(p->finds, cap * sizeof(*n))) == NULL)
			return plan_fail(p, DFU_ERR_NOMEM, "out of memory");
		p->finds = n;
		p->findcap = cap;
	}
	n = &p->finds[p->nfinds];
	memset(n, 0, sizeof(*n));
	n->field = strdup(field);
	n->message = strdup(msg);
	if (n->field == NULL || n->message == NULL) {
		free((char *)n->field);
		free((char *)n->message);
		return plan_fail(p, DFU_ERR_NOMEM, "out of memory");
	}
	n->severity = sev;
	n->code = code;
	n->alt = p->segs[seg].pub.alt;
	n->segment = seg;
	n->other = other;
	n->address = address;
	n->offset = p->segs[seg].pub.offset;
	p->nfinds++;
	if (sev == DFU_ERROR)
		p->nerrors++;
	return 0;
}

static int
seg_read(struct dfu_plan *p, const struct seg *s, uint64_t off, uint8_t *buf,
    size_t len)
{
	int rc;

	if (s->pub.data != NULL) {
		memcpy(buf, (const uint8_t *)s->pub.data + off, len);
		return 0;
	}
	if (s->file != NULL) {
		rc = dfu_file_element_read(s->file, s->target, s->element, off,
		    buf, len);
		if (rc != 0)
			return plan_fail(p, rc, "%s: %s", s->source,
			    dfu_file_errmsg(s->file));
		return 0;
	}
	if ((rc = s->pub.read(s->pub.ctx, off, buf, len)) != 0)
		return plan_fail(p, rc, "%s: read of %zu bytes at offset %llu "
		    "failed: %s", s->source, len, (unsigned long long)off,
		    dfu_strerror(rc));
	return 0;
}

/*
 * Compare segments a and b (a added first) over [lo, hi): an error at the
 * first byte that differs, else a note.
 */
static int
compare(struct dfu_plan *p, size_t a, size_t b, uint64_t lo, uint64_t hi)
{
	const struct seg *x = &p->segs[a], *y = &p->segs[b];
	uint8_t bx[CMP_CHUNK], by[CMP_CHUNK];
	char field[16];
	int rc;

	snprintf(field, sizeof(field), "alt %u", x->pub.alt);
	for (uint64_t pos = lo; pos < hi;) {
		size_t n = hi - pos < CMP_CHUNK ? (size_t)(hi - pos) : CMP_CHUNK;

		if ((rc = seg_read(p, x, pos - x->pub.address, bx, n)) != 0 ||
		    (rc = seg_read(p, y, pos - y->pub.address, by, n)) != 0)
			return rc;
		for (size_t i = 0; i < n; i++)
			if (bx[i] != by[i])
				return add_finding(p, DFU_ERROR, "alt-conflict",
				    b, a, (uint32_t)(pos + i), field,
				    "%s and %s write different bytes at "
				    "0x%08llx (0x%02x and 0x%02x)", x->source,
				    y->source, (unsigned long long)(pos + i),
				    bx[i], by[i]);
		pos += n;
	}
	return add_finding(p, DFU_NOTE, "alt-overlap", b, a, (uint32_t)lo,
	    field, "%s and %s write the same bytes at 0x%08llx-0x%08llx",
	    x->source, y->source, (unsigned long long)lo,
	    (unsigned long long)(hi - 1));
}

/*
 * Every byte that two segments of the alt both write is compared once,
 * against the first segment (in address order) that wrote it: the bytes
 * written so far that reach past the next segment's start form one run
 * from that start, kept as pieces, each owned by one segment.
 */
struct piece {
	uint64_t start, end;
	size_t owner;
};

static int
check_conflicts(struct dfu_plan *p, const struct alt_plan *a)
{
	struct piece *pc;
	size_t head = 0, n = 0;
	uint64_t reach = 0;
	int rc = 0;

	pc = malloc((a->pub.nsegments + 1) * sizeof(*pc));
	if (pc == NULL)
		return plan_fail(p, DFU_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < a->pub.nsegments && rc == 0; i++) {
		size_t si = a->segs[i];
		const struct seg *s = &p->segs[si];
		uint64_t lo = s->pub.address, hi = lo + s->pub.size;

		while (head < n && pc[head].end <= lo)
			head++;
		for (size_t k = head; k < n && pc[k].start < hi && rc == 0;
		    k++) {
			uint64_t from = lo > pc[k].start ? lo : pc[k].start;
			uint64_t to = hi < pc[k].end ? hi : pc[k].end;
			size_t o = pc[k].owner;

			if (from < to)
				rc = o < si ? compare(p, o, si, from, to) :
				    compare(p, si, o, from, to);
		}
		if (hi > reach) {
			pc[n].start = lo > reach ? lo : reach;
			pc[n].end = hi;
			pc[n].owner = si;
			n++;
			reach = hi;
		}
	}
	free(pc);
	return rc;
}

static int
add_extent(struct dfu_plan *p, struct extent **ext, size_t *n, size_t *cap,
    uint64_t start, uint64_t end, const struct dfu_layout_region *r)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct extent *x = realloc(*ext, c * sizeof(*x));

		if (x == NULL)
			return plan_fail(p, DFU_ERR_NOMEM, "out of memory");
		*ext = x;
		*cap = c;
	}
	(*ext)[*n].start = start;
	(*ext)[*n].end = end;
	(*ext)[*n].region = r;
	(*n)++;
	return 0;
}

/*
 * One segment against the layout: a finding at its first byte outside
 * writable memory, else the pages it touches, per region, appended.
 * *fits becomes 0 on a finding.
 */
static int
check_segment(struct dfu_plan *p, const struct dfu_layout *l, size_t si,
    struct extent **ext, size_t *n, size_t *cap, int *fits)
{
	const struct seg *s = &p->segs[si];
	uint64_t pos = s->pub.address, end = pos + s->pub.size;

	while (pos < end) {
		const struct dfu_layout_region *r;
		uint64_t stop, first, last;

		r = pos <= UINT32_MAX ? dfu_layout_find(l, (uint32_t)pos,
		    NULL) : NULL;
		if (r == NULL) {
			*fits = 0;
			return add_finding(p, DFU_ERROR, "layout-outside", si,
			    si, (uint32_t)pos, s->source, "0x%08llx is outside "
			    "every region of \"%s\"", (unsigned long long)pos,
			    dfu_layout_name(l));
		}
		if (!(r->access & DFU_LAYOUT_WRITABLE)) {
			*fits = 0;
			return add_finding(p, DFU_ERROR, "layout-not-writable",
			    si, si, (uint32_t)pos, s->source, "0x%08llx is in "
			    "a region of \"%s\" that is not writable (%s)",
			    (unsigned long long)pos, dfu_layout_name(l),
			    dfu_layout_access_name(r->access));
		}
		stop = end < r->end ? end : r->end;
		first = r->start + (pos - r->start) / r->page_size *
		    r->page_size;
		last = r->start + (stop - r->start + r->page_size - 1) /
		    r->page_size * r->page_size;
		if (add_extent(p, ext, n, cap, first, last, r) != 0)
			return DFU_ERR_NOMEM;
		pos = stop;
	}
	return 0;
}

static int
by_start(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Bytes of erasable regions that the segments (by address) cover. */
static uint64_t
covered_erasable(const struct dfu_plan *p, const struct alt_plan *a,
    const struct dfu_layout *l)
{
	uint64_t covered = 0, reach = 0;

	for (size_t i = 0; i < a->pub.nsegments; i++) {
		const struct seg *s = &p->segs[a->segs[i]];
		uint64_t pos = s->pub.address, end = pos + s->pub.size;

		if (pos < reach)
			pos = reach;
		while (pos < end) {
			const struct dfu_layout_region *r =
			    dfu_layout_find(l, (uint32_t)pos, NULL);
			uint64_t stop = end < r->end ? end : r->end;

			if (r->access & DFU_LAYOUT_ERASABLE)
				covered += stop - pos;
			pos = stop;
		}
		if (end > reach)
			reach = end;
	}
	return covered;
}

/* The layout checks and figures of one alt. */
static int
check_layout(struct dfu_plan *p, struct alt_plan *a,
    const struct dfu_layout *l)
{
	struct extent *ext = NULL;
	size_t n = 0, cap = 0, next = 0;
	uint64_t reach = 0;
	int fits = 1, rc = 0;

	for (size_t i = 0; i < p->nsegs && rc == 0; i++)
		if (p->segs[i].pub.alt == a->pub.alt && p->segs[i].pub.size > 0)
			rc = check_segment(p, l, i, &ext, &n, &cap, &fits);
	a->pub.fits = fits;
	if (rc != 0 || !fits) {
		free(ext);
		return rc;
	}
	if (n > 0)
		qsort(ext, n, sizeof(*ext), by_start);
	if ((a->ext = malloc((n > 0 ? n : 1) * sizeof(*a->ext))) == NULL) {
		free(ext);
		return plan_fail(p, DFU_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t start = ext[i].start > reach ? ext[i].start : reach;
		const struct dfu_layout_region *r = ext[i].region;

		/* Extents of one region are page-aligned: so is the rest. */
		if (ext[i].end <= start)
			continue;
		if (r->access & DFU_LAYOUT_ERASABLE) {
			a->pub.bytes_erased += ext[i].end - start;
			a->pub.pages_erased += (ext[i].end - start) /
			    r->page_size;
		}
		/* One extent per run of pages of one region. */
		if (next > 0 && a->ext[next - 1].end == start &&
		    a->ext[next - 1].start >= r->start)
			a->ext[next - 1].end = ext[i].end;
		else {
			a->ext[next].start = (uint32_t)start;
			a->ext[next].end = ext[i].end;
			a->ext[next].page_size = r->page_size;
			a->ext[next].access = r->access;
			next++;
		}
		reach = ext[i].end;
	}
	a->next = next;
	free(ext);
	a->pub.bytes_outside = a->pub.bytes_erased -
	    covered_erasable(p, a, l);
	a->pub.extents = a->ext;
	a->pub.nextents = a->next;
	return 0;
}

struct keyed {
	uint32_t address;
	size_t index;
};

static int
by_address(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The alts in order of their first segment, each with its segments. */
static int
group(struct dfu_plan *p)
{
	struct keyed *k;
	size_t nk = 0;

	for (size_t i = 0; i < p->nsegs; i++) {
		size_t a;

		if (p->segs[i].pub.size == 0)
			continue;
		for (a = 0; a < p->nalts; a++)
			if (p->alts[a].pub.alt == p->segs[i].pub.alt)
				break;
		if (a == p->nalts) {
			struct alt_plan *n = realloc(p->alts,
			    (p->nalts + 1) * sizeof(*n));

			if (n == NULL)
				return plan_fail(p, DFU_ERR_NOMEM,
				    "out of memory");
			p->alts = n;
			memset(&n[a], 0, sizeof(n[a]));
			n[a].pub.alt = p->segs[i].pub.alt;
			n[a].pub.layout = layout_of(p, p->segs[i].pub.alt);
			p->nalts++;
		}
		p->alts[a].pub.nsegments++;
	}
	if ((k = malloc((p->nsegs > 0 ? p->nsegs : 1) * sizeof(*k))) == NULL)
		return plan_fail(p, DFU_ERR_NOMEM, "out of memory");
	for (size_t a = 0; a < p->nalts; a++) {
		struct alt_plan *ap = &p->alts[a];

		nk = 0;
		for (size_t i = 0; i < p->nsegs; i++)
			if (p->segs[i].pub.alt == ap->pub.alt &&
			    p->segs[i].pub.size > 0) {
				k[nk].address = p->segs[i].pub.address;
				k[nk].index = i;
				nk++;
			}
		qsort(k, nk, sizeof(*k), by_address);
		ap->segs = malloc((nk > 0 ? nk : 1) * sizeof(*ap->segs));
		if (ap->segs == NULL) {
			free(k);
			return plan_fail(p, DFU_ERR_NOMEM, "out of memory");
		}
		for (size_t i = 0; i < nk; i++)
			ap->segs[i] = k[i].index;
		ap->pub.segments = ap->segs;
	}
	free(k);
	return 0;
}

int
dfu_plan_run(struct dfu_plan *p, unsigned flags)
{
	int rc;

	results_clear(p);
	if ((rc = group(p)) != 0)
		return rc;
	for (size_t a = 0; a < p->nalts; a++) {
		struct alt_plan *ap = &p->alts[a];
		const struct dfu_layout *l = ap->pub.layout;

		if (l == NULL && (flags & DFU_PLAN_LAYOUTS) &&
		    (rc = add_finding(p, DFU_ERROR, "layout-missing",
		    ap->segs[0], ap->segs[0], p->segs[ap->segs[0]].pub.address,
		    p->segs[ap->segs[0]].source, "alt %u has no memory layout",
		    ap->pub.alt)) != 0)
			return rc;
		if (l != NULL && (rc = check_layout(p, ap, l)) != 0)
			return rc;
		if ((rc = check_conflicts(p, ap)) != 0)
			return rc;
	}
	for (size_t i = 0; i < p->nfinds; i++)
		if (p->finds[i].severity == DFU_ERROR)
			return plan_fail(p, DFU_ERR_RANGE, "%s: %s",
			    p->finds[i].field, p->finds[i].message);
	return 0;
}

size_t
dfu_plan_finding_count(const struct dfu_plan *p)
{
	return p->nfinds;
}

size_t
dfu_plan_error_count(const struct dfu_plan *p)
{
	return p->nerrors;
}

const struct dfu_plan_finding *
dfu_plan_finding(const struct dfu_plan *p, size_t i)
{
	return i < p->nfinds ? &p->finds[i] : NULL;
}

size_t
dfu_plan_segment_count(const struct dfu_plan *p)
{
	return p->nsegs;
}

const struct dfu_plan_segment *
dfu_plan_segment(const struct dfu_plan *p, size_t i)
{
	return i < p->nsegs ? &p->segs[i].pub : NULL;
}

size_t
dfu_plan_alt_count(const struct dfu_plan *p)
{
	return p->nalts;
}

const struct dfu_plan_alt *
dfu_plan_alt(const struct dfu_plan *p, size_t i)
{
	return i < p->nalts ? &p->alts[i].pub : NULL;
}
