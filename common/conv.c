/*
 * conv.c - a memory image made into a DfuSe file, its addresses shared
 * out among targets (dfuconv.h).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfuconv.h"
#include "image_private.h"

struct conv_target {
	unsigned alt;
	char *name;	/* NULL: unnamed */
	char *label;
};

struct conv_range {
	uint32_t first, last;	/* inclusive */
	size_t target;
	char *label;
};

/* An address interval that goes to one target. */
struct conv_iv {
	uint32_t first, last;
	size_t target;
};

struct dfu_conv {
	uint16_t vid, pid, bcd_device;
	uint32_t max_gap, pad;
	uint8_t gap_fill, pad_fill;
	struct conv_target *targets;
	size_t ntargets;
	struct conv_range *ranges;
	size_t nranges;
	uint32_t *splits;
	size_t nsplits;
	int uncovered;
	uint32_t uncovered_first, uncovered_last;
	int err_errno;
	char errmsg[512];
};

struct dfu_conv *
dfu_conv_new(void)
{
	struct dfu_conv *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->vid = c->pid = c->bcd_device = DFU_ID_ANY;
	c->gap_fill = c->pad_fill = 0xff;
	return c;
}

void
dfu_conv_free(struct dfu_conv *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->ntargets; i++) {
		free(c->targets[i].name);
		free(c->targets[i].label);
	}
	for (size_t i = 0; i < c->nranges; i++)
		free(c->ranges[i].label);
	free(c->targets);
	free(c->ranges);
	free(c->splits);
	free(c);
}

const char *
dfu_conv_errmsg(const struct dfu_conv *c)
{
	return c == NULL ? "" : c->errmsg;
}

int
dfu_conv_errno(const struct dfu_conv *c)
{
	return c == NULL ? 0 : c->err_errno;
}

static void
conv_clear(struct dfu_conv *c)
{
	c->errmsg[0] = '\0';
	c->err_errno = 0;
	c->uncovered = 0;
}

static int __attribute__((format(printf, 3, 4)))
conv_fail(struct dfu_conv *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

/* p, or p grown by 16 elements of size bytes when n is a multiple of 16;
 * NULL if out of memory (p is then unchanged). */
static void *
conv_grow(void *p, size_t n, size_t size)
{
	if (n % 16 != 0)
		return p;
	if (n > SIZE_MAX / size - 16)
		return NULL;
	return realloc(p, (n + 16) * size);
}

/* A copy of s, or of the formatted default when s is NULL; NULL if out
 * of memory. */
static char * __attribute__((format(printf, 2, 3)))
conv_label(const char *s, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	if (s != NULL)
		return strdup(s);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return strdup(buf);
}

int
dfu_conv_set_ids(struct dfu_conv *c, uint16_t vid, uint16_t pid,
    uint16_t bcd_device)
{
	if (c == NULL)
		return DFU_ERR_INVALID;
	conv_clear(c);
	c->vid = vid;
	c->pid = pid;
	c->bcd_device = bcd_device;
	return 0;
}

int
dfu_conv_set_gap(struct dfu_conv *c, uint32_t max_gap, uint8_t fill)
{
	if (c == NULL)
		return DFU_ERR_INVALID;
	conv_clear(c);
	c->max_gap = max_gap;
	c->gap_fill = fill;
	return 0;
}

int
dfu_conv_set_pad(struct dfu_conv *c, uint32_t pad, uint8_t fill)
{
	if (c == NULL)
		return DFU_ERR_INVALID;
	conv_clear(c);
	c->pad = pad;
	c->pad_fill = fill;
	return 0;
}

int
dfu_conv_add_target(struct dfu_conv *c, unsigned alt, const char *name,
    const char *label)
{
	struct conv_target t = { .alt = alt };
	void *q;

	if (c == NULL)
		return DFU_ERR_INVALID;
	conv_clear(c);
	if (alt > 255)
		return conv_fail(c, DFU_ERR_INVALID, "alternate setting %u: "
		    "above 255", alt);
	if (name != NULL && strlen(name) >= DFUSE_TARGET_NAME_SIZE)
		return conv_fail(c, DFU_ERR_INVALID, "target name of %zu "
		    "bytes: at most %d", strlen(name),
		    DFUSE_TARGET_NAME_SIZE - 1);
	if (c->ntargets >= DFUSE_MAX_TARGETS)
		return conv_fail(c, DFU_ERR_RANGE, "more than %d targets",
		    DFUSE_MAX_TARGETS);
	if ((name != NULL && (t.name = strdup(name)) == NULL) ||
	    (t.label = conv_label(label, "target alt %u", alt)) == NULL ||
	    (q = conv_grow(c->targets, c->ntargets, sizeof(t))) == NULL) {
		free(t.name);
		free(t.label);
		return conv_fail(c, DFU_ERR_NOMEM, "out of memory");
	}
	c->targets = q;
	c->targets[c->ntargets] = t;
	return (int)c->ntargets++;
}

int
dfu_conv_add_range(struct dfu_conv *c, unsigned target, uint32_t first,
    uint32_t last, const char *label)
{
	struct conv_range r = { .first = first, .last = last,
	    .target = target };
	void *q;

	if (c == NULL)
		return DFU_ERR_INVALID;
	conv_clear(c);
	if (target >= c->ntargets)
		return conv_fail(c, DFU_ERR_INVALID, "range for target %u: "
		    "there are %zu targets", target, c->ntargets);
	if (last < first)
		return conv_fail(c, DFU_ERR_INVALID, "range 0x%08x-0x%08x: the "
		    "last address is below the first", first, last);
	if ((r.label = conv_label(label, "range 0x%08x-0x%08x", first,
	    last)) == NULL ||
	    (q = conv_grow(c->ranges, c->nranges, sizeof(r))) == NULL) {
		free(r.label);
		return conv_fail(c, DFU_ERR_NOMEM, "out of memory");
	}
	c->ranges = q;
	c->ranges[c->nranges++] = r;
	return 0;
}

int
dfu_conv_add_split(struct dfu_conv *c, uint32_t address)
{
	void *q;

	if (c == NULL)
		return DFU_ERR_INVALID;
	conv_clear(c);
	if (address == 0)
		return conv_fail(c, DFU_ERR_INVALID, "split point 0x00000000: "
		    "a part must start after address 0");
	if ((q = conv_grow(c->splits, c->nsplits, sizeof(address))) == NULL)
		return conv_fail(c, DFU_ERR_NOMEM, "out of memory");
	c->splits = q;
	c->splits[c->nsplits++] = address;
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Number of ranges of target t. */
static size_t
nranges_of(const struct dfu_conv *c, size_t t)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nranges; i++)
		n += c->ranges[i].target == t;
	return n;
}

static int
conv_check(struct dfu_conv *c)
{
	size_t i, j, rest = SIZE_MAX;

	if (c->ntargets == 0)
		return conv_fail(c, DFU_ERR_INVALID, "no target");
	if (c->nsplits > 0) {
		if (c->nranges > 0)
			return conv_fail(c, DFU_ERR_INVALID, "ranges cannot be "
			    "used with split points");
		qsort(c->splits, c->nsplits, sizeof(*c->splits), cmp_u32);
		for (i = 1; i < c->nsplits; i++)
			if (c->splits[i] == c->splits[i - 1])
				return conv_fail(c, DFU_ERR_INVALID, "split point "
				    "0x%08x given twice", c->splits[i]);
		if (c->ntargets != c->nsplits + 1)
			return conv_fail(c, DFU_ERR_INVALID, "%zu parts but %zu "
			    "target%s", c->nsplits + 1, c->ntargets,
			    c->ntargets == 1 ? "" : "s");
		return 0;
	}
	for (i = 0; i < c->ntargets; i++) {
		if (nranges_of(c, i) > 0)
			continue;
		if (rest != SIZE_MAX)
			return conv_fail(c, DFU_ERR_INVALID, "%s and %s have no "
			    "range: only one target can take the addresses no "
			    "range covers", c->targets[rest].label,
			    c->targets[i].label);
		rest = i;
	}
	for (i = 0; i < c->nranges; i++)
		for (j = i + 1; j < c->nranges; j++) {
			const struct conv_range *a = &c->ranges[i];
			const struct conv_range *b = &c->ranges[j];

			if (a->first <= b->last && b->first <= a->last)
				return conv_fail(c, DFU_ERR_INVALID, "%s overlaps "
				    "%s", b->label, a->label);
		}
	return 0;
}

int
dfu_conv_check(struct dfu_conv *c)
{
	if (c == NULL)
		return DFU_ERR_INVALID;
	conv_clear(c);
	return conv_check(c);
}

static int
cmp_iv(const void *a, const void *b)
{
	const struct conv_iv *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* Append an interval; 0 or -1 (out of memory). */
static int
iv_add(struct conv_iv **v, size_t *nv, uint32_t first, uint32_t last,
    size_t target)
{
	struct conv_iv *q = conv_grow(*v, *nv, sizeof(**v));

	if (q == NULL)
		return -1;
	*v = q;
	(*v)[*nv].first = first;
	(*v)[*nv].last = last;
	(*v)[(*nv)++].target = target;
	return 0;
}

/*
 * Every interval, sorted, into *out; *has_rest is 1 when the intervals
 * cover the whole address space (split points, or a target without
 * ranges, which gets what the ranges leave).  0 or DFU_ERR_NOMEM.
 */
static int
conv_intervals(const struct dfu_conv *c, struct conv_iv **out, size_t *n,
    int *has_rest)
{
	struct conv_iv *v = NULL, *r = NULL;
	size_t nv = 0, nr, i, rest = SIZE_MAX;
	uint64_t next = 0;
	int rc = DFU_ERR_NOMEM;

	*has_rest = 0;
	if (c->nsplits > 0) {
		for (i = 0; i <= c->nsplits; i++)
			if (iv_add(&v, &nv, i == 0 ? 0 : c->splits[i - 1],
			    i == c->nsplits ? UINT32_MAX : c->splits[i] - 1,
			    i) != 0)
				goto done;
		*has_rest = 1;
		goto ok;
	}
	for (i = 0; i < c->ntargets; i++)
		if (nranges_of(c, i) == 0)
			rest = i;
	for (i = 0; i < c->nranges; i++)
		if (iv_add(&v, &nv, c->ranges[i].first, c->ranges[i].last,
		    c->ranges[i].target) != 0)
			goto done;
	if (nv > 0)
		qsort(v, nv, sizeof(*v), cmp_iv);
	if (rest == SIZE_MAX)
		goto ok;
	/* The complement of the ranges (which do not overlap) to rest. */
	r = v;
	nr = nv;
	v = NULL;
	nv = 0;
	for (i = 0; i <= nr; i++) {
		uint64_t end = i < nr ? r[i].first : UINT64_C(1) << 32;

		if (end > next && iv_add(&v, &nv, (uint32_t)next,
		    (uint32_t)(end - 1), rest) != 0)
			goto done;
		if (i < nr) {
			if (iv_add(&v, &nv, r[i].first, r[i].last,
			    r[i].target) != 0)
				goto done;
			next = (uint64_t)r[i].last + 1;
		}
	}
	*has_rest = 1;
ok:
	*out = v;
	*n = nv;
	v = NULL;
	rc = 0;
done:
	free(r);
	free(v);
	return rc;
}

/* Without a target for the rest, every byte must be in a range. */
static int
conv_check_covered(struct dfu_conv *c, const struct dfu_image *img,
    const struct conv_iv *v, size_t nv)
{
	for (size_t i = 0; i < dfu_image_range_count(img); i++) {
		uint32_t a;
		uint64_t size, cur, e, ue;

		if (dfu_image_range(img, i, &a, &size) != 0)
			return conv_fail(c, DFU_ERR_INVALID, "image range %zu "
			    "vanished", i);
		cur = a;
		e = a + size;
		for (size_t k = 0; k < nv && cur < e; k++) {
			if ((uint64_t)v[k].last < cur)
				continue;
			if (v[k].first > cur)
				break;
			cur = (uint64_t)v[k].last + 1;
		}
		if (cur >= e)
			continue;
		ue = e;
		for (size_t k = 0; k < nv; k++)
			if (v[k].first > cur && v[k].first < ue)
				ue = v[k].first;
		c->uncovered = 1;
		c->uncovered_first = (uint32_t)cur;
		c->uncovered_last = (uint32_t)(ue - 1);
		return conv_fail(c, DFU_ERR_RANGE, "0x%08x-0x%08x is in no "
		    "target's range", c->uncovered_first, c->uncovered_last);
	}
	return 0;
}

/* Copy the failure of a dfu_file_*() call on f. */
static int
conv_file_fail(struct dfu_conv *c, const struct dfu_file *f, int err)
{
	const char *msg = dfu_file_errmsg(f);

	c->err_errno = err == DFU_ERR_IO ? dfu_file_errno(f) : 0;
	return conv_fail(c, err, "%s", *msg != '\0' ? msg : dfu_strerror(err));
}

/* The elements of target t, in file target index: the image in t's
 * intervals. */
static int
conv_add_elements(struct dfu_conv *c, struct dfu_image *img,
    struct dfu_file *f, const struct conv_iv *v, size_t nv, size_t t,
    unsigned index)
{
	const char *label = c->targets[t].label;
	unsigned total = 0, n;
	int err;

	for (size_t i = 0; i < nv; i++) {
		if (v[i].target != t)
			continue;
		err = dfu_image_add_elements(img, f, index, v[i].first,
		    v[i].last, c->max_gap, c->gap_fill, &n);
		if (err != 0) {
			const char *msg = dfu_image_errmsg(img);

			c->err_errno = err == DFU_ERR_IO ?
			    dfu_image_errno(img) : 0;
			return conv_fail(c, err, "%s", *msg != '\0' ? msg :
			    dfu_strerror(err));
		}
		total += n;
	}
	if (total > 0)
		return 0;
	if (c->nsplits > 0)	/* part t of the split points */
		return conv_fail(c, DFU_ERR_RANGE, "%s: no data in "
		    "0x%08x-0x%08x", label, t == 0 ? 0 : c->splits[t - 1],
		    t == c->nsplits ? UINT32_MAX : c->splits[t] - 1);
	return conv_fail(c, DFU_ERR_RANGE, "%s: no data in its address ranges",
	    label);
}

/*
 * The size of the DfuSe image the intervals make, from the image's ranges
 * alone: a --max-gap that joins ranges far apart would otherwise fill a
 * gap of gigabytes in memory before the writer finds the result too
 * large for DFUImageSize.
 */
static int
conv_check_size(struct dfu_conv *c, struct dfu_image *img,
    const struct conv_iv *v, size_t nv)
{
	uint64_t total = DFUSE_PREFIX_SIZE +
	    (uint64_t)c->ntargets * DFUSE_TARGET_PREFIX_SIZE, bytes;
	unsigned n;
	int err;

	for (size_t i = 0; i < nv; i++) {
		bytes = 0;
		if ((err = dfui_img_count_elements(img, v[i].first, v[i].last,
		    c->max_gap, &n, &bytes)) != 0)
			return conv_fail(c, err, "%s", dfu_image_errmsg(img));
		total += bytes + (uint64_t)n * DFUSE_ELEMENT_HEADER_SIZE;
	}
	if (total > UINT32_MAX)
		return conv_fail(c, DFU_ERR_RANGE, "%sthe DfuSe image would "
		    "be %llu bytes, more than the 4 GiB - 1 that DFUImageSize "
		    "can hold", c->max_gap > 0 ? "with its gaps filled, " : "",
		    (unsigned long long)total);
	return 0;
}

int
dfu_conv_build(struct dfu_conv *c, struct dfu_image *img, struct dfu_file *f)
{
	struct conv_iv *v = NULL;
	size_t nv = 0;
	int has_rest, err, idx;

	if (c == NULL)
		return DFU_ERR_INVALID;
	conv_clear(c);
	if (img == NULL || f == NULL)
		return conv_fail(c, DFU_ERR_INVALID, "no image or no file");
	if ((err = conv_check(c)) != 0)
		return err;
	if ((err = conv_intervals(c, &v, &nv, &has_rest)) != 0)
		return conv_fail(c, err, "out of memory");
	if (!has_rest && (err = conv_check_covered(c, img, v, nv)) != 0)
		goto done;
	if ((err = conv_check_size(c, img, v, nv)) != 0)
		goto done;
	if ((err = dfu_file_init(f, DFU_FORMAT_DFUSE)) != 0 ||
	    (err = dfu_file_set_ids(f, c->vid, c->pid, c->bcd_device)) != 0) {
		err = conv_file_fail(c, f, err);
		goto done;
	}
	for (size_t t = 0; t < c->ntargets; t++) {
		if ((idx = dfu_file_add_target(f, (uint8_t)c->targets[t].alt,
		    c->targets[t].name)) < 0) {
			err = conv_file_fail(c, f, idx);
			goto done;
		}
		if ((err = conv_add_elements(c, img, f, v, nv, t,
		    (unsigned)idx)) != 0)
			goto done;
	}
	if (c->pad > 1 &&
	    (err = dfu_file_pad_elements(f, c->pad, c->pad_fill)) != 0)
		err = conv_file_fail(c, f, err);
done:
	free(v);
	return err;
}

int
dfu_conv_uncovered(const struct dfu_conv *c, uint32_t *first,
    uint32_t *last)
{
	if (c == NULL || !c->uncovered)
		return 0;
	if (first != NULL)
		*first = c->uncovered_first;
	if (last != NULL)
		*last = c->uncovered_last;
	return 1;
}
