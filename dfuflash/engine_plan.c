/*
 * engine_plan.c - the plan of a DfuSe download, checked before anything
 * is sent: targets (through the library's planner, dfuplan.h), runs
 * widened to the write unit, pages to erase, --skip-unchanged's check of
 * them, where the device leaves to, and the writes.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dfuproto.h"
#include "engine_private.h"
#include "quirks.h"

const struct dfl_alt *
eng_find_alt(const struct dfl_device *dev, uint8_t alt)
{
	for (unsigned i = 0; i < dev->nalts; i++)
		if (dev->alts[i].alt == alt)
			return &dev->alts[i];
	return NULL;
}

/*
 * Group the segments by alt, in the order the alts first appear, through
 * the library's planner, which also refuses segments of one alt that put
 * different bytes at one address (before anything is sent).
 */
int
eng_make_targets(struct dfl_session *s, const struct dfl_image *img)
{
	int rc;

	if ((s->plan = dfu_plan_new()) == NULL)
		return fail(s, DFL_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < img->nsegs; i++) {
		const struct dfl_segment *sg = &img->segs[i];
		struct dfu_plan_segment ps;

		memset(&ps, 0, sizeof(ps));
		ps.alt = sg->alt;
		ps.address = sg->address;
		ps.size = sg->size;
		ps.data = sg->data;
		ps.source = sg->source[0] != '\0' ? sg->source : NULL;
		if ((rc = dfu_plan_add(s->plan, &ps)) != 0)
			return fail(s, rc == DFU_ERR_NOMEM ? DFL_ERR_NOMEM :
			    DFL_ERR_PLAN, "%s", dfu_plan_errmsg(s->plan));
	}
	rc = dfu_plan_run(s->plan, 0);
	if (rc == DFU_ERR_NOMEM)
		return fail(s, DFL_ERR_NOMEM, "out of memory");
	if (rc != 0)
		return fail(s, DFL_ERR_PLAN, "%s", dfu_plan_errmsg(s->plan));
	if (dfu_plan_alt_count(s->plan) == 0)
		return fail(s, DFL_ERR_PLAN, "the image has no bytes to write");
	s->targets = calloc(dfu_plan_alt_count(s->plan), sizeof(*s->targets));
	if (s->targets == NULL)
		return fail(s, DFL_ERR_NOMEM, "out of memory");
	for (size_t t = 0; t < dfu_plan_alt_count(s->plan); t++) {
		const struct dfu_plan_alt *pa = dfu_plan_alt(s->plan, t);
		struct target *tg = &s->targets[s->ntargets++];
		uint64_t reach = 0;

		tg->alt = (uint8_t)pa->alt;
		/* An array of pointers (.clang-tidy: sizeof-expression).
		 * NOLINTNEXTLINE(bugprone-sizeof-expression) */
		tg->segs = malloc(pa->nsegments * sizeof(*tg->segs));
		tg->reach = malloc(pa->nsegments * sizeof(*tg->reach));
		if (tg->segs == NULL || tg->reach == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		for (size_t i = 0; i < pa->nsegments; i++) {
			const struct dfl_segment *sg =
			    &img->segs[pa->segments[i]];
			uint64_t end = (uint64_t)sg->address + sg->size;

			tg->segs[i] = sg;
			if (end > reach)
				reach = end;
			tg->reach[i] = reach;
		}
		tg->nsegs = pa->nsegments;
	}
	return 0;
}

/* The planner's result for the alt of tg. */
static const struct dfu_plan_alt *
plan_alt(const struct dfl_session *s, const struct target *tg)
{
	for (size_t i = 0; i < dfu_plan_alt_count(s->plan); i++)
		if (dfu_plan_alt(s->plan, i)->alt == tg->alt)
			return dfu_plan_alt(s->plan, i);
	return NULL;
}

/* Every byte of every segment in a writable region of the alt: the
 * planner's first finding about the alt, in the engine's words. */
static int
check_writable(struct dfl_session *s, struct target *tg)
{
	for (size_t i = 0; i < dfu_plan_finding_count(s->plan); i++) {
		const struct dfu_plan_finding *f = dfu_plan_finding(s->plan, i);
		const struct dfu_plan_segment *sg;
		const struct dfu_layout_region *r;
		unsigned long long last;

		if (f->alt != tg->alt || f->severity != DFU_ERROR)
			continue;
		sg = dfu_plan_segment(s->plan, f->segment);
		last = (unsigned long long)sg->address + sg->size - 1;
		r = dfu_layout_find(tg->layout, f->address, NULL);
		if (strcmp(f->code, "layout-outside") == 0 || r == NULL)
			return fail(s, DFL_ERR_PLAN, "alt %u (%s): "
			    "0x%08x-0x%08llx: 0x%08x is outside the "
			    "device's memory \"%s\"", tg->alt,
			    dfu_layout_name(tg->layout), sg->address, last,
			    f->address, tg->alt_name);
		if (strcmp(f->code, "layout-not-writable") == 0)
			return fail(s, DFL_ERR_PLAN, "alt %u (%s): "
			    "0x%08x-0x%08llx: region 0x%08x-0x%08llx "
			    "is %s, not writable", tg->alt,
			    dfu_layout_name(tg->layout), sg->address, last,
			    r->start, (unsigned long long)(r->end - 1),
			    dfu_layout_access_name(r->access));
		return fail(s, DFL_ERR_PLAN, "alt %u (%s): %s: %s", tg->alt,
		    dfu_layout_name(tg->layout), f->field, f->message);
	}
	return 0;
}

/*
 * The memory is named for what it is: the STM32 ROMs call it "Option
 * Bytes" (F1, F4, F7, L4, U5, H7: tests/fixtures/layouts.tsv and the
 * listings cited there), and so do the GD32 ROMs that copy them.  Case
 * and the singular are allowed for other bootloaders' spelling.
 */
static int
is_option_bytes(const struct dfu_layout *layout)
{
	const char *name = dfu_layout_name(layout);

	while (*name == ' ')
		name++;
	return strncasecmp(name, "option byte", 11) == 0;
}

/*
 * Option bytes last, whatever the order of the file: the device resets
 * once they are written (engine.h), so everything else goes first.  The
 * reset comes after the first write, so one target of them, written in
 * one request, is all the device can take.
 */
static int
plan_options(struct dfl_session *s)
{
	size_t n = 0;

	for (size_t t = 0; t < s->ntargets; t++)
		if (s->targets[t].options)
			n++;
	if (n > 1)
		return fail(s, DFL_ERR_PLAN, "the image writes %zu option "
		    "bytes memories; the device resets after writing the "
		    "first, so flash one at a time", n);
	for (size_t t = 0; n == 1 && t + 1 < s->ntargets; t++)
		if (s->targets[t].options) {
			struct target tg = s->targets[t];

			memmove(&s->targets[t], &s->targets[t + 1],
			    (s->ntargets - t - 1) * sizeof(tg));
			s->targets[s->ntargets - 1] = tg;
			break;
		}
	return 0;
}

/* The option bytes as one write: the device resets after the first. */
static int
check_options_write(struct dfl_session *s, const struct target *tg)
{
	uint32_t xfer = s->dev->wTransferSize;

	if (!tg->options || tg->nruns == 0)
		return 0;
	if (tg->nruns > 1 || tg->runs[0].size > xfer)
		return fail(s, DFL_ERR_PLAN, "alt %u (%s): the device resets "
		    "as soon as its option bytes are written, so they must be "
		    "one range of at most %u bytes (wTransferSize); the image "
		    "gives %zu range%s from 0x%08x to 0x%08x", tg->alt,
		    dfu_layout_name(tg->layout), xfer, tg->nruns,
		    tg->nruns == 1 ? "" : "s", tg->runs[0].start,
		    (uint32_t)(tg->runs[tg->nruns - 1].start +
		    (tg->runs[tg->nruns - 1].size - 1)));
	return 0;
}

/*
 * Widening to the write unit stays inside a region that is erasable (so
 * the filling lands on erased flash) and made of whole units.
 */
int
eng_unit_aligned(const struct dfu_layout_region *r, uint32_t unit)
{
	return (r->access & DFU_LAYOUT_ERASABLE) &&
	    r->page_size % unit == 0 && r->start % unit == 0;
}

int
eng_layout_name(struct dfl_session *s, const struct dfl_alt *a,
    const char **name)
{
	char fixed[512], note[768];
	int rc;

	*name = a->name;
	if (s->layout_names[a->alt] != NULL) {
		*name = s->layout_names[a->alt];
		return 0;
	}
	rc = dfl_quirk_layout(s->dev, a->alt, a->name, fixed, sizeof(fixed),
	    note, sizeof(note));
	if (rc < 0)
		return fail(s, DFL_ERR_PLAN, "alt %u: %s", a->alt, note);
	if (rc == 0)
		return 0;
	if ((s->layout_names[a->alt] = strdup(fixed)) == NULL)
		return fail(s, DFL_ERR_NOMEM, "out of memory");
	warn(s, "alt %u: quirk: %s", a->alt, note);
	*name = s->layout_names[a->alt];
	return 0;
}

/* Segments into runs, widened to the write unit in erasable regions. */
static int
make_runs(struct dfl_session *s, struct target *tg)
{
	for (size_t i = 0; i < tg->nsegs; i++) {
		const struct dfl_segment *sg = tg->segs[i];
		uint64_t start = sg->address, end = start + sg->size;
		const struct dfu_layout_region *r0 =
		    dfu_layout_find(tg->layout, sg->address, NULL);
		const struct dfu_layout_region *r1 =
		    dfu_layout_find(tg->layout, (uint32_t)(end - 1), NULL);
		struct run *last = tg->nruns ? &tg->runs[tg->nruns - 1] : NULL;

		/* Each end widens only inside its own region. */
		if (eng_unit_aligned(r0, s->unit))
			start -= start % s->unit;
		if (eng_unit_aligned(r1, s->unit))
			end += (s->unit - end % s->unit) % s->unit;
		if (last != NULL && start <= (uint64_t)last->start + last->size) {
			uint64_t nend = (uint64_t)last->start + last->size;
			uint8_t *d;

			if (end > nend) {
				d = realloc(last->data, end - last->start);
				if (d == NULL)
					return fail(s, DFL_ERR_NOMEM,
					    "out of memory");
				memset(d + last->size, ERASED,
				    end - last->start - last->size);
				last->data = d;
				last->size = (uint32_t)(end - last->start);
			}
		} else {
			struct run *n = realloc(tg->runs,
			    (tg->nruns + 1) * sizeof(*n));

			if (n == NULL)
				return fail(s, DFL_ERR_NOMEM, "out of memory");
			tg->runs = n;
			last = &tg->runs[tg->nruns++];
			last->alt = tg->alt;
			last->start = (uint32_t)start;
			last->size = (uint32_t)(end - start);
			if ((last->data = malloc(last->size)) == NULL)
				return fail(s, DFL_ERR_NOMEM, "out of memory");
			memset(last->data, ERASED, last->size);
		}
		memcpy(last->data + (sg->address - last->start), sg->data,
		    sg->size);
	}
	return 0;
}

static int
add_page(struct dfl_session *s, uint8_t alt, uint32_t start, uint32_t size,
    unsigned flags)
{
	if (s->npages == s->pcap) {
		size_t cap = s->pcap ? s->pcap * 2 : 64;
		struct dfl_page *n = realloc(s->pages, cap * sizeof(*n));

		if (n == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		s->pages = n;
		s->pcap = cap;
	}
	s->pages[s->npages].alt = alt;
	s->pages[s->npages].start = start;
	s->pages[s->npages].size = size;
	s->pages[s->npages].flags = flags;
	s->npages++;
	return 0;
}

/*
 * The pages the image touches, once each, in address order: the
 * planner's extents, page by page.  Widening a run to the unit stays
 * inside the page it widens (eng_unit_aligned()), so the runs touch exactly
 * these pages.
 */
static int
make_pages(struct dfl_session *s, struct target *tg)
{
	int mass = s->o->flags & DFL_MASS_ERASE;
	const struct dfu_plan_alt *pa = plan_alt(s, tg);

	if (pa == NULL || !pa->fits) /* check_writable() */
		return fail(s, DFL_ERR_PLAN, "alt %u: the image does not fit "
		    "the memory", tg->alt);
	tg->page0 = s->npages;
	for (size_t i = 0; i < pa->nextents; i++) {
		const struct dfu_plan_extent *x = &pa->extents[i];
		unsigned flags = DFL_PAGE_WRITE;

		if ((x->access & DFU_LAYOUT_ERASABLE) && !mass)
			flags |= DFL_PAGE_ERASE;
		for (uint64_t a = x->start; a < x->end; a += x->page_size) {
			int rc = add_page(s, tg->alt, (uint32_t)a, x->page_size,
			    flags);

			if (rc != 0)
				return rc;
		}
	}
	tg->npages = s->npages - tg->page0;
	return 0;
}

/*
 * The image byte at addr, or -1 if no segment holds it.  Segments of one
 * alt may overlap (with equal bytes: eng_make_targets()), so the search goes
 * back from the last segment starting at or before addr while an earlier
 * one can still reach it.
 */
int
eng_image_byte(const struct target *tg, uint32_t addr)
{
	size_t lo = 0, hi = tg->nsegs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (tg->segs[mid]->address <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo > 0 && tg->reach[lo - 1] > addr) {
		const struct dfl_segment *sg = tg->segs[--lo];

		if ((uint64_t)addr < (uint64_t)sg->address + sg->size)
			return sg->data[addr - sg->address];
	}
	return -1;
}

/* How many bytes of [start, start + size) the image holds. */
static uint64_t
image_bytes_in(const struct target *tg, uint32_t start, uint32_t size)
{
	uint64_t a = start, end = a + size, n = 0;

	for (size_t i = 0; i < tg->nsegs && a < end; i++) {
		const struct dfl_segment *sg = tg->segs[i];
		uint64_t ss = sg->address, se = ss + sg->size;

		if (se <= a)
			continue;
		if (ss >= end)
			break;
		if (ss > a)
			a = ss;
		if (se > end)
			se = end;
		n += se - a;
		a = se;
	}
	return n;
}

/*
 * --skip-unchanged: read the pages (readable ones) and mark those that
 * already hold the image, which are then neither erased nor written.
 */
static int
check_pages(struct dfl_session *s, struct target *tg)
{
	int can_read = s->dev->bmAttributes & DFU_ATTR_CAN_UPLOAD;
	uint64_t total = 0, done = 0;
	size_t i, j;
	int rc;

	if (!(s->o->flags & DFL_SKIP_UNCHANGED))
		return 0;
	for (i = tg->page0; i < tg->page0 + tg->npages; i++) {
		struct dfl_page *p = &s->pages[i];
		const struct dfu_layout_region *r =
		    dfu_layout_find(tg->layout, p->start, NULL);

		if (can_read && (r->access & DFU_LAYOUT_READABLE)) {
			p->flags |= PAGE_TO_READ;
			total += p->size;
		}
	}
	if (total > 0 && (rc = eng_select_alt(s, tg->alt)) != 0)
		return rc;
	for (i = tg->page0; i < tg->page0 + tg->npages; i = j) {
		uint32_t start, len;
		uint8_t *buf;

		if (!(s->pages[i].flags & PAGE_TO_READ)) {
			j = i + 1;
			continue;
		}
		/* A group of contiguous pages to read with one address. */
		start = s->pages[i].start;
		len = 0;
		for (j = i; j < tg->page0 + tg->npages &&
		    (s->pages[j].flags & PAGE_TO_READ) &&
		    s->pages[j].start == start + len; j++)
			len += s->pages[j].size;
		if ((buf = malloc(len > 0 ? len : 1)) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		if ((rc = eng_dfuse_read(s, start, buf, len, DFL_PHASE_CHECK,
		    &done, total)) != 0) {
			free(buf);
			return rc;
		}
		for (size_t k = i; k < j; k++) {
			struct dfl_page *p = &s->pages[k];
			const uint8_t *dev = buf + (p->start - start);
			int same = 1;

			p->flags &= ~PAGE_TO_READ;
			for (uint32_t b = 0; b < p->size && same; b++) {
				int v = eng_image_byte(tg, p->start + b);

				if (v >= 0 && v != dev[b])
					same = 0;
			}
			if (same)
				p->flags = DFL_PAGE_UNCHANGED;
		}
		free(buf);
	}
	return 0;
}

/* ---- Leaving ------------------------------------------------------------- */


static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static int
is_flash(const struct dfu_layout_region *r)
{
	unsigned both = DFU_LAYOUT_ERASABLE | DFU_LAYOUT_WRITABLE;

	return r != NULL && (r->access & both) == both;
}

int
dfl_vector_table(const uint8_t p[8], const struct dfu_layout *layout)
{
	uint32_t sp = le32(p), reset = le32(p + 4);

	return sp % 4 == 0 && sp >= 0x20000000u && sp <= 0x40000000u &&
	    (reset & 1) != 0 &&
	    is_flash(dfu_layout_find(layout, reset & ~1u, NULL));
}

/*
 * Where the device goes when it leaves, decided before anything is sent:
 * the start address given, else the application (the lowest segment
 * start in flash that holds a vector table), else the start of main
 * flash: the first erasable, writable region of alt 0.
 */
static int
plan_leave(struct dfl_session *s)
{
	const struct dfl_alt *a0 = eng_find_alt(s->dev, 0);
	const struct dfu_layout_region *main_flash = NULL;
	const char *a0_name = NULL;
	int found = 0;

	if (s->o->flags & DFL_NO_LEAVE)
		return 0;
	if (a0 == NULL && s->dev->nalts > 0)
		a0 = &s->dev->alts[0];
	if (a0 != NULL && a0->name != NULL &&
	    eng_layout_name(s, a0, &a0_name) == 0 &&
	    (s->main_layout = dfu_layout_new()) != NULL &&
	    dfu_layout_parse(s->main_layout, a0_name) == 0)
		for (unsigned r = 0; r < dfu_layout_region_count(s->main_layout)
		    && main_flash == NULL; r++)
			if (is_flash(dfu_layout_region(s->main_layout, r)))
				main_flash = dfu_layout_region(s->main_layout,
				    r);
	if (s->o->start_set) {
		for (size_t t = 0; t < s->ntargets && !found; t++)
			if (dfu_layout_find(s->targets[t].layout, s->o->start,
			    NULL) != NULL) {
				s->res.leave_alt = s->targets[t].alt;
				found = 1;
			}
		if (!found && main_flash != NULL &&
		    dfu_layout_find(s->main_layout, s->o->start, NULL) != NULL) {
			s->res.leave_alt = a0->alt;
			found = 1;
		}
		if (!found)
			return fail(s, DFL_ERR_PLAN, "start address 0x%08x is "
			    "outside the memory of alt %u (%s)", s->o->start,
			    s->targets[0].alt,
			    dfu_layout_name(s->targets[0].layout));
		s->res.leave_address = s->o->start;
		s->res.leave_reason = DFL_LEAVE_START;
		return 0;
	}
	for (size_t t = 0; t < s->ntargets; t++) {
		const struct target *tg = &s->targets[t];

		for (size_t i = 0; i < tg->nsegs; i++) {
			const struct dfl_segment *sg = tg->segs[i];
			uint8_t w[8];
			int ok = is_flash(dfu_layout_find(tg->layout,
			    sg->address, NULL));

			for (unsigned b = 0; b < 8 && ok; b++) {
				int v = sg->address + b < sg->address ? -1 :
				    eng_image_byte(tg, sg->address + b);

				if (v < 0)
					ok = 0;
				else
					w[b] = (uint8_t)v;
			}
			if (!ok || !dfl_vector_table(w, tg->layout) ||
			    (found && sg->address >= s->res.leave_address))
				continue;
			s->res.leave_address = sg->address;
			s->res.leave_alt = tg->alt;
			found = 1;
		}
	}
	if (found) {
		s->res.leave_reason = DFL_LEAVE_APP;
		return 0;
	}
	if (main_flash == NULL)
		return fail(s, DFL_ERR_PLAN, "the image holds no vector table "
		    "and the device describes no flash to start (an "
		    "erasable, writable region of alt 0); give --start "
		    "address or --no-leave");
	s->res.leave_address = main_flash->start;
	s->res.leave_alt = a0->alt;
	s->res.leave_reason = DFL_LEAVE_FLASH;
	return 0;
}

int
eng_add_write(struct dfl_session *s, uint8_t alt, uint32_t start, uint32_t size)
{
	struct dfl_range *w;

	if (s->nwrites > 0) {
		w = &s->writes[s->nwrites - 1];
		if (w->alt == alt && (uint64_t)w->start + w->size == start) {
			w->size += size;
			return 0;
		}
	}
	if (s->nwrites == s->wcap) {
		size_t cap = s->wcap ? s->wcap * 2 : 16;

		if ((w = realloc(s->writes, cap * sizeof(*w))) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		s->writes = w;
		s->wcap = cap;
	}
	w = &s->writes[s->nwrites++];
	w->alt = alt;
	w->start = start;
	w->size = size;
	return 0;
}

/* The runs minus the unchanged pages: what is written, per SET_ADDRESS. */
static int
make_writes(struct dfl_session *s, struct target *tg)
{
	size_t p = tg->page0, pend = tg->page0 + tg->npages;
	int rc;

	for (size_t i = 0; i < tg->nruns; i++) {
		const struct run *r = &tg->runs[i];
		uint64_t rend = (uint64_t)r->start + r->size;

		for (; p < pend && s->pages[p].start < rend; p++) {
			const struct dfl_page *pg = &s->pages[p];
			uint64_t a = pg->start > r->start ? pg->start : r->start;
			uint64_t e = (uint64_t)pg->start + pg->size;

			if (e > rend)
				e = rend;
			if (e <= a)
				continue;
			if (!(pg->flags & DFL_PAGE_UNCHANGED) &&
			    (rc = eng_add_write(s, tg->alt, (uint32_t)a,
			    (uint32_t)(e - a))) != 0)
				return rc;
			if (e < (uint64_t)pg->start + pg->size)
				break; /* the next run may share this page */
		}
	}
	return 0;
}

int
eng_plan_dfuse(struct dfl_session *s)
{
	int rc;

	s->unit = dfl_quirk_write_unit(s->dev, NULL, 0);
	for (size_t t = 0; t < s->ntargets; t++) {
		struct target *tg = &s->targets[t];
		const struct dfl_alt *a = eng_find_alt(s->dev, tg->alt);

		if (a == NULL)
			return fail(s, DFL_ERR_PLAN, "the image has data for "
			    "alt %u, and the device has no such alternate "
			    "setting", tg->alt);
		/* usb.c leaves a name it could not read NULL. */
		if (a->name == NULL)
			return fail(s, DFL_ERR_PLAN, "alt %u: the device did "
			    "not give its name (iInterface), which is its "
			    "memory layout", tg->alt);
		if ((rc = eng_layout_name(s, a, &tg->alt_name)) != 0)
			return rc;
		if ((tg->layout = dfu_layout_new()) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		if (dfu_layout_parse(tg->layout, tg->alt_name) != 0)
			return fail(s, DFL_ERR_PLAN, "alt %u: memory layout "
			    "\"%s\": %s", tg->alt, tg->alt_name,
			    dfu_layout_errmsg(tg->layout));
		/* A quirk of a real bootloader the parser accepted
		 * (dfulayout.h): say how the string was read. */
		for (unsigned k = 0; k < dfu_layout_note_count(tg->layout);
		    k++) {
			const struct dfu_layout_note *n =
			    dfu_layout_note(tg->layout, k);

			warn(s, "alt %u: memory layout \"%s\": offset %zu: %s "
			    "(%s)", tg->alt, tg->alt_name, n->offset, n->message,
			    n->code);
		}
		if (dfu_plan_set_layout(s->plan, tg->alt, tg->layout) != 0)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		tg->options = is_option_bytes(tg->layout);
	}
	if ((rc = plan_options(s)) != 0)
		return rc;
	rc = dfu_plan_run(s->plan, DFU_PLAN_LAYOUTS);
	if (rc != 0 && rc != DFU_ERR_RANGE)
		return fail(s, rc == DFU_ERR_NOMEM ? DFL_ERR_NOMEM :
		    DFL_ERR_PLAN, "%s", dfu_plan_errmsg(s->plan));
	for (size_t t = 0; t < s->ntargets; t++) {
		struct target *tg = &s->targets[t];

		if ((rc = check_writable(s, tg)) != 0 ||
		    (rc = make_runs(s, tg)) != 0 ||
		    (rc = check_options_write(s, tg)) != 0 ||
		    (rc = make_pages(s, tg)) != 0)
			return rc;
	}
	/* Where it leaves to, before anything is sent. */
	if ((rc = plan_leave(s)) != 0)
		return rc;
	/* Reads only after every target passed the checks above. */
	for (size_t t = 0; t < s->ntargets; t++) {
		struct target *tg = &s->targets[t];

		if ((rc = check_pages(s, tg)) != 0 ||
		    (rc = eng_plan_keeps(s, tg)) != 0 ||
		    (rc = make_writes(s, tg)) != 0)
			return rc;
		for (size_t i = tg->page0; i < tg->page0 + tg->npages; i++) {
			const struct dfl_page *p = &s->pages[i];

			if (!(p->flags & DFL_PAGE_ERASE))
				continue;
			s->res.bytes_erased += p->size;
			s->res.bytes_erased_outside += p->size -
			    image_bytes_in(tg, p->start, p->size);
		}
	}
	for (size_t w = 0; w < s->nwrites; w++)
		if (s->targets[s->ntargets - 1].options &&
		    s->writes[w].alt == s->targets[s->ntargets - 1].alt) {
			s->res.options_write = 1;
			s->res.options_alt = s->writes[w].alt;
		}
	for (size_t i = 0; i < s->nkeeps; i++) {
		s->kept[i].alt = s->keeps[i].alt;
		s->kept[i].start = s->keeps[i].start;
		s->kept[i].size = s->keeps[i].size;
	}
	/* A range to preserve in no page that is erased needs nothing. */
	for (size_t k = 0; k < s->o->npreserve; k++) {
		const struct dfl_keep *pr = &s->o->preserve[k];
		int erased = 0;

		for (size_t i = 0; i < s->npages && !erased; i++)
			erased = (s->pages[i].flags & DFL_PAGE_ERASE) &&
			    pr->first <= s->pages[i].start + (s->pages[i].size
			    - 1) && pr->last >= s->pages[i].start;
		if (!erased)
			warn(s, "--preserve 0x%08x-0x%08x: no page that is "
			    "erased holds these bytes; they stay as they are",
			    pr->first, pr->last);
	}
	return 0;
}
