/*
 * layout.c - the DfuSe memory layout string (UM0424), see dfulayout.h.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfulayout.h"

struct dfu_layout {
	char *name;
	struct dfu_layout_region *regions;
	size_t *region_at;	/* each region's offset in the string */
	unsigned nregions, cap;
	uint64_t max_end;	/* the highest region end so far */
	int unordered;		/* a region starts below max_end */
	struct dfu_layout_note *notes;
	char **note_text;
	unsigned nnotes, note_cap;
	char errmsg[256];
	size_t erroff;
};

struct dfu_layout *
dfu_layout_new(void)
{
	return calloc(1, sizeof(struct dfu_layout));
}

static void
drop_notes(struct dfu_layout *l)
{
	for (unsigned i = 0; i < l->nnotes; i++)
		free(l->note_text[i]);
	free(l->notes);
	free(l->note_text);
	l->notes = NULL;
	l->note_text = NULL;
	l->nnotes = l->note_cap = 0;
}

static void
layout_clear(struct dfu_layout *l)
{
	free(l->name);
	free(l->regions);
	free(l->region_at);
	l->name = NULL;
	l->regions = NULL;
	l->region_at = NULL;
	l->nregions = l->cap = 0;
	l->max_end = 0;
	l->unordered = 0;
	drop_notes(l);
	l->errmsg[0] = '\0';
	l->erroff = 0;
}

void
dfu_layout_free(struct dfu_layout *l)
{
	if (l == NULL)
		return;
	layout_clear(l);
	free(l);
}

const char *
dfu_layout_errmsg(const struct dfu_layout *l)
{
	return l != NULL ? l->errmsg : "";
}

size_t
dfu_layout_error_offset(const struct dfu_layout *l)
{
	return l != NULL ? l->erroff : 0;
}

const char *
dfu_layout_name(const struct dfu_layout *l)
{
	return l->name != NULL ? l->name : "";
}

unsigned
dfu_layout_region_count(const struct dfu_layout *l)
{
	return l->nregions;
}

const struct dfu_layout_region *
dfu_layout_region(const struct dfu_layout *l, unsigned i)
{
	return i < l->nregions ? &l->regions[i] : NULL;
}

unsigned
dfu_layout_note_count(const struct dfu_layout *l)
{
	return l->nnotes;
}

const struct dfu_layout_note *
dfu_layout_note(const struct dfu_layout *l, unsigned i)
{
	return i < l->nnotes ? &l->notes[i] : NULL;
}

const struct dfu_layout_region *
dfu_layout_find(const struct dfu_layout *l, uint32_t addr,
    uint32_t *page_start)
{
	for (unsigned i = 0; i < l->nregions; i++) {
		const struct dfu_layout_region *r = &l->regions[i];

		if (addr < r->start || addr >= r->end)
			continue;
		if (page_start != NULL)
			*page_start = r->start +
			    (addr - r->start) / r->page_size * r->page_size;
		return r;
	}
	return NULL;
}

const char *
dfu_layout_access_name(unsigned access)
{
	static const char *const names[8] = {
		"no access", "readable", "erasable", "readable, erasable",
		"writable", "readable, writable", "erasable, writable",
		"readable, erasable, writable",
	};

	return names[access & 7];
}

/* A character for a message: 'x', or a name for the unprintable. */
static const char *
show(const char *p, char buf[8])
{
	if (*p == '\0')
		return "the end of the string";
	if (*p == ' ')
		return "a space";
	if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
		snprintf(buf, 8, "0x%02x", (unsigned char)*p);
	else
		snprintf(buf, 8, "'%c'", *p);
	return buf;
}

static int __attribute__((format(printf, 5, 6)))
fail_at(struct dfu_layout *l, int err, const char *s, const char *p,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	l->erroff = (size_t)(p - s);
	n = snprintf(l->errmsg, sizeof(l->errmsg), "offset %zu: ", l->erroff);
	va_start(ap, fmt);
	vsnprintf(l->errmsg + n, sizeof(l->errmsg) - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

/* Decimal digits into a 32-bit value; *p is left after them. */
static int
parse_decimal(struct dfu_layout *l, const char *s, const char **p,
    const char *what, uint32_t *out)
{
	const char *start = *p;
	uint64_t v = 0;
	char buf[8];

	if (**p < '0' || **p > '9')
		return fail_at(l, DFU_ERR_FORMAT, s, *p,
		    "expected the %s (decimal digits), found %s", what,
		    show(*p, buf));
	for (; **p >= '0' && **p <= '9'; (*p)++) {
		v = v * 10 + (uint64_t)(**p - '0');
		if (v > UINT32_MAX)
			return fail_at(l, DFU_ERR_RANGE, s, start,
			    "%s does not fit in 32 bits", what);
	}
	*out = (uint32_t)v;
	return 0;
}

static int
add_region(struct dfu_layout *l, const struct dfu_layout_region *r,
    size_t at)
{
	if (l->nregions == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 8;
		struct dfu_layout_region *n;
		size_t *a;

		n = realloc(l->regions, cap * sizeof(*n));
		if (n != NULL)
			l->regions = n;
		a = n != NULL ? realloc(l->region_at, cap * sizeof(*a)) : NULL;
		if (a == NULL) {
			snprintf(l->errmsg, sizeof(l->errmsg), "out of memory");
			return DFU_ERR_NOMEM;
		}
		l->region_at = a;
		l->cap = cap;
	}
	l->region_at[l->nregions] = at;
	l->regions[l->nregions++] = *r;
	return 0;
}

static int __attribute__((format(printf, 5, 6)))
add_note(struct dfu_layout *l, const char *code, const char *s,
    const char *p, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int n;

	if (l->nnotes == l->note_cap) {
		unsigned cap = l->note_cap ? l->note_cap * 2 : 4;
		struct dfu_layout_note *nn;
		char **nt;

		if ((nn = realloc(l->notes, cap * sizeof(*nn))) == NULL)
			goto nomem;
		l->notes = nn;
		if ((nt = realloc(l->note_text, cap * sizeof(*nt))) == NULL)
			goto nomem;
		l->note_text = nt;
		l->note_cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		goto nomem;
	l->note_text[l->nnotes] = text;
	l->notes[l->nnotes].code = code;
	l->notes[l->nnotes].offset = (size_t)(p - s);
	l->notes[l->nnotes].message = text;
	l->nnotes++;
	return 0;
nomem:
	snprintf(l->errmsg, sizeof(l->errmsg), "out of memory");
	return DFU_ERR_NOMEM;
}

/* One "COUNT*SIZE<mult><type>" at *p, starting at address *addr. */
static int
parse_sector(struct dfu_layout *l, const char *s, const char **p,
    uint64_t *addr)
{
	struct dfu_layout_region r;
	const char *at = *p, *size_at;
	uint32_t count, size, mult;
	char buf[8];
	int err;

	if ((err = parse_decimal(l, s, p, "page count", &count)) != 0)
		return err;
	/* count is set: parse_decimal() returned 0 (the analyzer misses
	 * that the variadic fail_at() never does, .clang-tidy).
	 * NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
	if (count == 0)
		return fail_at(l, DFU_ERR_FORMAT, s, at, "page count is 0");
	if (**p != '*')
		return fail_at(l, DFU_ERR_FORMAT, s, *p,
		    "expected '*' after the page count, found %s",
		    show(*p, buf));
	(*p)++;
	size_at = *p;
	if ((err = parse_decimal(l, s, p, "page size", &size)) != 0)
		return err;
	if (size == 0)
		return fail_at(l, DFU_ERR_FORMAT, s, size_at, "page size is 0");
	switch (**p) {
	case 'B':
	case ' ':
		mult = 1;
		break;
	case 'K':
		mult = 1024;
		break;
	case 'M':
		mult = 1024 * 1024;
		break;
	case 'a': case 'b': case 'c': case 'd': case 'e': case 'f': case 'g':
		/*
		 * No multiplier, the type letter right after the size: the
		 * STM32F72x ROM names its OTP "@OTP Memory /0x1FF07800/01*528e"
		 * (fwupd/fwupd#2062; betaflight users' dfu-util -l listings).
		 * Read the size as bytes, as for 'B'.
		 */
		if ((err = add_note(l, "no-multiplier", s, *p,
		    "page size %u has no multiplier before type '%c': read "
		    "as bytes", size, **p)) != 0)
			return err;
		mult = 0; /* bytes, and no letter to skip */
		break;
	default:
		return fail_at(l, DFU_ERR_FORMAT, s, *p,
		    "expected a multiplier (B, K, M or space) after the page "
		    "size, found %s", show(*p, buf));
	}
	if ((uint64_t)size * mult > UINT32_MAX)
		return fail_at(l, DFU_ERR_RANGE, s, size_at,
		    "page size %u%c does not fit in 32 bits", size, **p);
	if (mult == 0)
		mult = 1;
	else
		(*p)++;
	if (**p < 'a' || **p > 'g')
		return fail_at(l, DFU_ERR_FORMAT, s, *p,
		    "expected a type letter from 'a' to 'g', found %s",
		    show(*p, buf));
	r.start = (uint32_t)*addr;
	r.page_size = size * mult;
	r.count = count;
	r.end = *addr + (uint64_t)count * r.page_size;
	r.type = **p;
	r.access = (unsigned)(**p - 'a' + 1);
	if (r.end > UINT64_C(1) << 32)
		return fail_at(l, DFU_ERR_RANGE, s, at,
		    "%u page%s of %u byte%s from 0x%08llx pass%s the end of "
		    "the 32-bit address space", count, count == 1 ? "" : "s",
		    r.page_size, r.page_size == 1 ? "" : "s",
		    (unsigned long long)*addr, count == 1 ? "es" : "");
	/* Overlaps are looked for once the string is read
	 * (check_overlaps()); in the usual ascending layout none can be. */
	if (r.start < l->max_end)
		l->unordered = 1;
	if (r.end > l->max_end)
		l->max_end = r.end;
	(*p)++;
	*addr = r.end;
	return add_region(l, &r, (size_t)(at - s));
}

struct span {
	uint32_t start;
	uint64_t end;
};

static int
cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* 1 if two of regions [0, k) overlap: sorted by start, two neighbours do. */
static int
overlap_among(const struct dfu_layout *l, unsigned k, struct span *v)
{
	for (unsigned i = 0; i < k; i++) {
		v[i].start = l->regions[i].start;
		v[i].end = l->regions[i].end;
	}
	qsort(v, k, sizeof(*v), cmp_span);
	for (unsigned i = 1; i < k; i++)
		if (v[i].start < v[i - 1].end)
			return 1;
	return 0;
}

/*
 * The first region that overlaps an earlier one, reported against the
 * first earlier one it overlaps, with the region's offset in s: what
 * comparing each new region with every earlier one would report, in
 * O(n log^2 n) rather than O(n^2) (a layout of a million sectors took
 * minutes).  "Two of the first k regions overlap" grows with k, so the
 * smallest such k is found by bisection.
 */
static int
check_overlaps(struct dfu_layout *l, const char *s)
{
	unsigned lo = 1, hi = l->nregions, j, i;
	const struct dfu_layout_region *r, *o;
	struct span *v;

	if (!l->unordered || l->nregions < 2)
		return 0;
	if ((v = malloc(l->nregions * sizeof(*v))) == NULL) {
		snprintf(l->errmsg, sizeof(l->errmsg), "out of memory");
		return DFU_ERR_NOMEM;
	}
	if (!overlap_among(l, hi, v)) {
		free(v);
		return 0;
	}
	/* Regions [0, lo) are disjoint; two of [0, hi) overlap. */
	while (hi - lo > 1) {
		unsigned mid = lo + (hi - lo) / 2;

		if (overlap_among(l, mid, v))
			hi = mid;
		else
			lo = mid;
	}
	free(v);
	j = hi - 1;
	r = &l->regions[j];
	/* Region j overlaps one of [0, j): the first of them. */
	for (i = 0, o = l->regions; !(r->start < o->end &&
	    o->start < r->end); o = &l->regions[++i])
		;
	return fail_at(l, DFU_ERR_RANGE, s, s + l->region_at[j],
	    "0x%08x-0x%08llx overlaps region %u at 0x%08x-0x%08llx",
	    r->start, (unsigned long long)(r->end - 1), i, o->start,
	    (unsigned long long)(o->end - 1));
}

/* "/0xADDR/" at *p, then the sectors of the group. */
static int
parse_group(struct dfu_layout *l, const char *s, const char **p)
{
	const char *digits;
	uint64_t addr = 0;
	char buf[8];
	int d, err;

	(*p)++; /* the '/' */
	if ((*p)[0] != '0' || ((*p)[1] != 'x' && (*p)[1] != 'X'))
		return fail_at(l, DFU_ERR_FORMAT, s, *p,
		    "expected a start address beginning with 0x, found %s",
		    show(*p, buf));
	*p += 2;
	digits = *p;
	for (;; (*p)++) {
		char c = **p;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		addr = addr * 16 + (uint64_t)d;
		if (addr > UINT32_MAX)
			return fail_at(l, DFU_ERR_RANGE, s, digits,
			    "start address does not fit in 32 bits");
	}
	if (*p == digits)
		return fail_at(l, DFU_ERR_FORMAT, s, *p,
		    "expected hexadecimal digits after 0x, found %s",
		    show(*p, buf));
	if (**p != '/')
		return fail_at(l, DFU_ERR_FORMAT, s, *p,
		    "expected '/' after the start address, found %s",
		    show(*p, buf));
	(*p)++;
	for (;;) {
		if ((err = parse_sector(l, s, p, &addr)) != 0)
			return err;
		if (**p != ',')
			return 0;
		(*p)++;
	}
}

int
dfu_layout_parse(struct dfu_layout *l, const char *s)
{
	const char *p, *slash, *end;
	char buf[8];
	int err, rc;

	if (l == NULL)
		return DFU_ERR_INVALID;
	layout_clear(l);
	if (s == NULL) {
		snprintf(l->errmsg, sizeof(l->errmsg), "no layout string");
		return DFU_ERR_INVALID;
	}
	if (s[0] != '@')
		return fail_at(l, DFU_ERR_FORMAT, s, s,
		    "a layout starts with '@', found %s", show(s, buf));
	slash = strchr(s, '/');
	if (slash == NULL)
		return fail_at(l, DFU_ERR_FORMAT, s, s + strlen(s),
		    "expected '/' and a start address after the name, found "
		    "the end of the string");
	for (end = slash; end > s + 1 && end[-1] == ' '; end--)
		;
	l->name = strndup(s + 1, (size_t)(end - s - 1));
	if (l->name == NULL) {
		snprintf(l->errmsg, sizeof(l->errmsg), "out of memory");
		return DFU_ERR_NOMEM;
	}
	p = slash;
	while (*p == '/')
		if ((err = parse_group(l, s, &p)) != 0)
			goto fail;
	if (*p != '\0') {
		err = fail_at(l, DFU_ERR_FORMAT, s, p,
		    "expected ',', '/' or the end of the string after a "
		    "type letter, found %s", show(p, buf));
		goto fail;
	}
	if ((err = check_overlaps(l, s)) != 0)
		goto drop;
	return 0;
fail:
	/* An overlap among the regions read so far comes earlier in the
	 * string than what stopped the parse: it is the error. */
	if (err != DFU_ERR_NOMEM && (rc = check_overlaps(l, s)) != 0)
		err = rc;
drop:
	/* Keep the message, drop the half-parsed content. */
	free(l->name);
	free(l->regions);
	free(l->region_at);
	l->name = NULL;
	l->regions = NULL;
	l->region_at = NULL;
	l->nregions = l->cap = 0;
	drop_notes(l);
	return err;
}
