/*
 * image.c - the memory image: pieces of bytes at 32-bit addresses, kept
 * sorted and without overlap, and their conversion to DfuSe elements.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image_private.h"

#define ADDRESS_SPACE (UINT64_C(1) << 32)
#define POOL_BLOCK (64u * 1024)

struct pool_block {
	struct pool_block *next;
	size_t used, size;
	uint8_t data[];
};

struct range {
	uint32_t addr;
	uint64_t size;
};

struct dfu_image {
	struct dfui_img_piece *pieces;
	size_t npieces;
	struct range *ranges;
	size_t nranges;
	struct pool_block *pool;
	uint64_t seq;
	int has_entry;
	uint32_t entry;
	char errmsg[512];
	int err_errno;
};

/* ---- errors and the pool ------------------------------------------------ */

void
dfui_img_clear_error(struct dfu_image *img)
{
	img->errmsg[0] = '\0';
	img->err_errno = 0;
}

int
dfui_img_fail(struct dfu_image *img, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(img->errmsg, sizeof(img->errmsg), fmt, ap);
	va_end(ap);
	img->err_errno = 0;
	return err;
}

int
dfui_img_fail_errno(struct dfu_image *img, int saved_errno, const char *fmt,
    ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(img->errmsg, sizeof(img->errmsg), fmt, ap);
	va_end(ap);
	n = strlen(img->errmsg);
	snprintf(img->errmsg + n, sizeof(img->errmsg) - n, ": %s",
	    strerror(saved_errno));
	img->err_errno = saved_errno;
	return DFU_ERR_IO;
}

const char *
dfu_image_errmsg(const struct dfu_image *img)
{
	return img != NULL ? img->errmsg : "";
}

int
dfu_image_errno(const struct dfu_image *img)
{
	return img != NULL ? img->err_errno : 0;
}

void *
dfui_img_alloc(struct dfu_image *img, size_t n)
{
	struct pool_block *b = img->pool;
	void *p;

	n = (n + 7) & ~(size_t)7;
	if (b == NULL || b->size - b->used < n) {
		size_t size = n > POOL_BLOCK ? n : POOL_BLOCK;

		if ((b = malloc(sizeof(*b) + size)) == NULL)
			return NULL;
		b->used = 0;
		b->size = size;
		/* A big block goes behind the current one, which stays open. */
		if (size > POOL_BLOCK && img->pool != NULL) {
			b->next = img->pool->next;
			img->pool->next = b;
		} else {
			b->next = img->pool;
			img->pool = b;
		}
	}
	p = b->data + b->used;
	b->used += n;
	return p;
}

const char *
dfui_img_strf(struct dfu_image *img, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (p = dfui_img_alloc(img, (size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* ---- handle --------------------------------------------------------------- */

struct dfu_image *
dfu_image_new(void)
{
	return calloc(1, sizeof(struct dfu_image));
}

void
dfu_image_free(struct dfu_image *img)
{
	struct pool_block *b, *next;

	if (img == NULL)
		return;
	for (b = img->pool; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(img->pieces);
	free(img->ranges);
	free(img);
}

void
dfui_img_set_entry(struct dfu_image *img, uint32_t entry)
{
	img->has_entry = 1;
	img->entry = entry;
}

int
dfu_image_entry(const struct dfu_image *img, uint32_t *entry)
{
	if (img == NULL || !img->has_entry)
		return 0;
	if (entry != NULL)
		*entry = img->entry;
	return 1;
}

const char *
dfu_image_format_name(enum dfu_image_format format)
{
	switch (format) {
	case DFU_IMAGE_ELF:
		return "ELF";
	case DFU_IMAGE_IHEX:
		return "Intel HEX";
	case DFU_IMAGE_SREC:
		return "S-records";
	default:
		return "unknown";
	}
}

enum dfu_image_format
dfu_image_detect(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i = 0;

	if (len >= 4 && memcmp(p, "\177ELF", 4) == 0)
		return DFU_IMAGE_ELF;
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    p[i] == '\n'))
		i++;
	if (i < len && p[i] == ':')
		return DFU_IMAGE_IHEX;
	if (i + 1 < len && p[i] == 'S' && p[i + 1] >= '0' && p[i + 1] <= '9')
		return DFU_IMAGE_SREC;
	return DFU_IMAGE_UNKNOWN;
}

/* ---- batches and commits -------------------------------------------------- */

int
dfui_img_batch_add(struct dfu_image *img, struct dfui_img_batch *b,
    const struct dfui_img_piece *p)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct dfui_img_piece *v = reallocarray(b->v, cap, sizeof(*v));

		if (v == NULL)
			return dfui_img_fail(img, DFU_ERR_NOMEM, "out of memory");
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n] = *p;
	b->v[b->n].seq = img->seq++;
	b->n++;
	return 0;
}

int
dfui_img_batch_repeats(const struct dfui_img_batch *b, uint32_t addr,
    const uint8_t *data, size_t len)
{
	const struct dfui_img_piece *p = b->n > 0 ? &b->v[b->n - 1] : NULL;

	return p != NULL && p->fd < 0 && p->same_ok && p->addr <= addr &&
	    (uint64_t)addr + len <= (uint64_t)p->addr + p->size &&
	    memcmp(p->mem + (addr - p->addr), data, len) == 0;
}

void
dfui_img_batch_free(struct dfui_img_batch *b)
{
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
}

static int
cmp_piece(const void *a, const void *b)
{
	const struct dfui_img_piece *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static uint64_t
piece_end(const struct dfui_img_piece *p)
{
	return (uint64_t)p->addr + p->size;
}

/* Index of the piece holding addr in v[0..n), or n if none. */
static size_t
find_piece(const struct dfui_img_piece *v, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || piece_end(&v[lo - 1]) <= addr)
		return n;
	return lo - 1;
}

/* Copy len bytes of piece p from byte skip on. */
static int
piece_read(struct dfu_image *img, const struct dfui_img_piece *p, uint64_t skip,
    void *buf, size_t len)
{
	if (p->fd < 0) {
		memcpy(buf, p->mem + skip, len);
		return 0;
	}
	if (dfui_img_pread(p->fd, buf, len, p->off + skip) != 0)
		return dfui_img_fail_errno(img, errno, "%s: read at offset 0x%llx",
		    p->origin, (unsigned long long)p->off + skip);
	return 0;
}

/* Copy [addr, addr + len) from the sorted pieces v[0..n). */
static int
pieces_read(struct dfu_image *img, const struct dfui_img_piece *v, size_t n,
    uint64_t addr, uint8_t *buf, size_t len)
{
	size_t i = find_piece(v, n, addr);
	int err;

	while (len > 0) {
		size_t take;
		uint64_t skip;

		if (i >= n || v[i].addr > addr || piece_end(&v[i]) <= addr)
			return dfui_img_fail(img, DFU_ERR_RANGE, "0x%08llx is not "
			    "in the image", (unsigned long long)addr);
		skip = addr - v[i].addr;
		take = v[i].size - skip < len ? (size_t)(v[i].size - skip) : len;
		if ((err = piece_read(img, &v[i], skip, buf, take)) != 0)
			return err;
		buf += take;
		addr += take;
		len -= take;
		i++;
	}
	return 0;
}

static int
build_ranges(struct dfu_image *img)
{
	struct range *r;
	size_t i, n = 0;

	free(img->ranges);
	img->ranges = NULL;
	img->nranges = 0;
	if (img->npieces == 0)
		return 0;
	if ((r = calloc(img->npieces, sizeof(*r))) == NULL)
		return dfui_img_fail(img, DFU_ERR_NOMEM, "out of memory");
	for (i = 0; i < img->npieces; i++) {
		const struct dfui_img_piece *p = &img->pieces[i];

		if (n > 0 && (uint64_t)r[n - 1].addr + r[n - 1].size == p->addr) {
			r[n - 1].size += p->size;
			continue;
		}
		r[n].addr = p->addr;
		r[n].size = p->size;
		n++;
	}
	img->ranges = r;
	img->nranges = n;
	return 0;
}

/*
 * The walk keeps this invariant: every byte from the address of the piece
 * at hand up to `end` (the highest end accepted so far) is in an accepted
 * piece, so an overlap can be checked byte by byte against them.
 */
int
dfui_img_commit(struct dfu_image *img, struct dfui_img_batch *b)
{
	struct dfui_img_piece *all, *out;
	size_t n = img->npieces + b->n, nout = 0, i;
	uint64_t end = 0;
	uint8_t x[256], y[256];
	int err = 0;

	if (b->n == 0)
		return 0;
	all = reallocarray(NULL, n, sizeof(*all));
	out = reallocarray(NULL, n, sizeof(*out));
	if (all == NULL || out == NULL) {
		free(all);
		free(out);
		dfui_img_batch_free(b);
		return dfui_img_fail(img, DFU_ERR_NOMEM, "out of memory");
	}
	if (img->npieces > 0)
		memcpy(all, img->pieces, img->npieces * sizeof(*all));
	memcpy(all + img->npieces, b->v, b->n * sizeof(*all));
	dfui_img_batch_free(b);
	qsort(all, n, sizeof(*all), cmp_piece);

	for (i = 0; i < n && err == 0; i++) {
		struct dfui_img_piece p = all[i];
		uint64_t pend = piece_end(&p), oend, a;
		size_t j;

		if (p.size == 0)
			continue;
		if (nout > 0 && p.addr < end) {
			j = find_piece(out, nout, p.addr);
			oend = pend < end ? pend : end;
			if (!p.same_ok || !out[j].same_ok)
				goto overlap;
			for (a = p.addr; a < oend && err == 0; a += sizeof(x)) {
				size_t len = oend - a < sizeof(x) ?
				    (size_t)(oend - a) : sizeof(x);

				if ((err = pieces_read(img, out, nout, a, x,
				    len)) != 0 || (err = piece_read(img, &p,
				    a - p.addr, y, len)) != 0)
					break;
				for (size_t k = 0; k < len; k++) {
					if (x[k] == y[k])
						continue;
					j = find_piece(out, nout, a + k);
					if (!out[j].same_ok)
						goto overlap;
					err = dfui_img_fail(img, DFU_ERR_RANGE,
					    "%s: 0x%08llx holds 0x%02x, but %s "
					    "put 0x%02x there", p.origin,
					    (unsigned long long)a + k, y[k],
					    out[j].origin, x[k]);
					break;
				}
			}
			if (err != 0)
				break;
			if (pend <= end)
				continue;
			/* Keep only the bytes past what is there already. */
			if (p.fd >= 0)
				p.off += end - p.addr;
			else
				p.mem += end - p.addr;
			p.size -= (uint32_t)(end - p.addr);
			p.addr = (uint32_t)end;
		}
		out[nout++] = p;
		end = pend;
		continue;
overlap:
		err = dfui_img_fail(img, DFU_ERR_RANGE, "%s at 0x%08x-0x%08llx "
		    "overlaps %s at 0x%08x-0x%08llx", p.origin, p.addr,
		    (unsigned long long)(pend - 1), out[j].origin,
		    out[j].addr, (unsigned long long)(piece_end(&out[j]) - 1));
	}
	free(all);
	if (err != 0) {
		free(out);
		return err;
	}
	free(img->pieces);
	img->pieces = out;
	img->npieces = nout;
	return build_ranges(img);
}

int
dfu_image_add_mem(struct dfu_image *img, uint32_t address, const void *data,
    uint32_t size, const char *origin)
{
	struct dfui_img_batch b = { 0 };
	struct dfui_img_piece p = { 0 };
	uint8_t *copy;
	int err;

	if (img == NULL || (data == NULL && size > 0))
		return DFU_ERR_INVALID;
	dfui_img_clear_error(img);
	if ((uint64_t)address + size > ADDRESS_SPACE)
		return dfui_img_fail(img, DFU_ERR_RANGE, "%s: 0x%08x + 0x%x bytes "
		    "runs past 4 GiB", origin ? origin : "data", address, size);
	if (size == 0)
		return 0;
	copy = dfui_img_alloc(img, size);
	p.origin = dfui_img_strf(img, "%s", origin != NULL ? origin : "data");
	if (copy == NULL || p.origin == NULL)
		return dfui_img_fail(img, DFU_ERR_NOMEM, "out of memory");
	memcpy(copy, data, size);
	p.addr = address;
	p.size = size;
	p.fd = -1;
	p.mem = copy;
	if ((err = dfui_img_batch_add(img, &b, &p)) != 0)
		return err;
	return dfui_img_commit(img, &b);
}

/* ---- contents ------------------------------------------------------------- */

size_t
dfu_image_range_count(const struct dfu_image *img)
{
	return img != NULL ? img->nranges : 0;
}

int
dfu_image_range(const struct dfu_image *img, size_t i, uint32_t *address,
    uint64_t *size)
{
	if (img == NULL || i >= img->nranges)
		return DFU_ERR_INVALID;
	if (address != NULL)
		*address = img->ranges[i].addr;
	if (size != NULL)
		*size = img->ranges[i].size;
	return 0;
}

size_t
dfu_image_piece_count(const struct dfu_image *img)
{
	return img != NULL ? img->npieces : 0;
}

int
dfu_image_piece(const struct dfu_image *img, size_t i, uint32_t *address,
    uint32_t *size, const char **origin)
{
	if (img == NULL || i >= img->npieces)
		return DFU_ERR_INVALID;
	if (address != NULL)
		*address = img->pieces[i].addr;
	if (size != NULL)
		*size = img->pieces[i].size;
	if (origin != NULL)
		*origin = img->pieces[i].origin;
	return 0;
}

int
dfu_image_read(struct dfu_image *img, uint32_t address, void *buf,
    size_t len)
{
	if (img == NULL || (buf == NULL && len > 0))
		return DFU_ERR_INVALID;
	dfui_img_clear_error(img);
	if ((uint64_t)address + len > ADDRESS_SPACE)
		return dfui_img_fail(img, DFU_ERR_RANGE, "0x%08x + 0x%zx bytes runs "
		    "past 4 GiB", address, len);
	return pieces_read(img, img->pieces, img->npieces, address, buf, len);
}

/* ---- conversion ----------------------------------------------------------- */

/*
 * If [start, end) is one run of one file (touching pieces whose file
 * offsets follow on), its descriptor and offset.
 */
static int
one_file_run(const struct dfu_image *img, uint64_t start, uint64_t end,
    int *fd, uint64_t *off)
{
	size_t i = find_piece(img->pieces, img->npieces, start);
	uint64_t next_off = 0, next_addr = start;

	for (; i < img->npieces && img->pieces[i].addr < end; i++) {
		const struct dfui_img_piece *p = &img->pieces[i];
		uint64_t at = p->off + (start > p->addr ? start - p->addr : 0);

		if (p->fd < 0)
			return 0;
		if (p->addr <= start) {
			*fd = p->fd;
			*off = at;
		} else if (p->fd != *fd || at != next_off ||
		    p->addr != next_addr)
			return 0;
		next_off = p->off + p->size;
		next_addr = piece_end(p);
	}
	return next_addr >= end;
}

/* Add [start, end) of the image, gaps reading as fill, as one element;
 * with f NULL only count its bytes. */
static int
add_one(struct dfu_image *img, struct dfu_file *f, unsigned target,
    uint64_t start, uint64_t end, uint8_t fill, uint64_t *bytes)
{
	uint64_t size = end - start, off = 0;
	uint8_t *buf;
	size_t i;
	int fd = -1, err;

	if (size > UINT32_MAX)
		return dfui_img_fail(img, DFU_ERR_RANGE, "0x%08llx-0x%08llx: %llu "
		    "bytes, more than an element can hold (4 GiB - 1)",
		    (unsigned long long)start, (unsigned long long)end - 1,
		    (unsigned long long)size);
	*bytes += size;
	if (f == NULL)
		return 0;
	if (one_file_run(img, start, end, &fd, &off)) {
		err = dfu_file_add_element_fd(f, target, (uint32_t)start, fd,
		    off, (uint32_t)size);
	} else {
		if ((buf = malloc(size)) == NULL)
			return dfui_img_fail(img, DFU_ERR_NOMEM, "out of memory "
			    "for an element of %llu bytes",
			    (unsigned long long)size);
		memset(buf, fill, size);
		i = find_piece(img->pieces, img->npieces, start);
		if (i == img->npieces)
			i = 0;
		for (; i < img->npieces && img->pieces[i].addr < end; i++) {
			const struct dfui_img_piece *p = &img->pieces[i];
			uint64_t a = p->addr > start ? p->addr : start;
			uint64_t e = piece_end(p) < end ? piece_end(p) : end;

			if (e <= a)
				continue;
			if ((err = piece_read(img, p, a - p->addr,
			    buf + (a - start), e - a)) != 0) {
				free(buf);
				return err;
			}
		}
		err = dfu_file_add_element_mem(f, target, (uint32_t)start, buf,
		    (uint32_t)size);
		free(buf);
	}
	if (err < 0)
		return dfui_img_fail(img, err, "%s", *dfu_file_errmsg(f) != '\0' ?
		    dfu_file_errmsg(f) : dfu_strerror(err));
	return 0;
}

/*
 * The elements of [first, last] (dfu_image_add_elements()): added to f,
 * or with f NULL only counted, with their bytes added to *bytes, so that
 * a caller can check the size of the result before any element is
 * allocated.
 */
static int
walk_elements(struct dfu_image *img, struct dfu_file *f, unsigned target,
    uint32_t first, uint32_t last, uint32_t max_gap, uint8_t fill,
    unsigned *nelements, uint64_t *bytes)
{
	uint64_t gstart = 0, gend = 0, lo = first, hi = (uint64_t)last + 1;
	unsigned count = 0;
	int have = 0, err;

	for (size_t i = 0; i < img->nranges; i++) {
		uint64_t a = img->ranges[i].addr;
		uint64_t e = a + img->ranges[i].size;

		if (e <= lo || a >= hi)
			continue;
		a = a < lo ? lo : a;
		e = e > hi ? hi : e;
		if (have && a - gend <= max_gap) {
			gend = e;
			continue;
		}
		if (have) {
			if ((err = add_one(img, f, target, gstart, gend,
			    fill, bytes)) != 0)
				return err;
			count++;
		}
		gstart = a;
		gend = e;
		have = 1;
	}
	if (have) {
		if ((err = add_one(img, f, target, gstart, gend, fill,
		    bytes)) != 0)
			return err;
		count++;
	}
	if (nelements != NULL)
		*nelements = count;
	return 0;
}

int
dfu_image_add_elements(struct dfu_image *img, struct dfu_file *f,
    unsigned target, uint32_t first, uint32_t last, uint32_t max_gap,
    uint8_t fill, unsigned *nelements)
{
	uint64_t bytes = 0;

	if (nelements != NULL)
		*nelements = 0;
	if (img == NULL || f == NULL || first > last)
		return DFU_ERR_INVALID;
	dfui_img_clear_error(img);
	return walk_elements(img, f, target, first, last, max_gap, fill,
	    nelements, &bytes);
}

int
dfui_img_count_elements(struct dfu_image *img, uint32_t first,
    uint32_t last, uint32_t max_gap, unsigned *nelements, uint64_t *bytes)
{
	*nelements = 0;
	if (first > last)
		return DFU_ERR_INVALID;
	dfui_img_clear_error(img);
	return walk_elements(img, NULL, 0, first, last, max_gap, 0,
	    nelements, bytes);
}

/* ---- helpers for the loaders ---------------------------------------------- */

int
dfui_img_pread(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pread(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		buf = (uint8_t *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int
dfui_img_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
dfui_img_unhex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		int h = dfui_img_hexval((unsigned char)s[i]);
		int l = dfui_img_hexval((unsigned char)s[i + 1]);

		if (h < 0)
			return (long)i;
		if (l < 0)
			return (long)i + 1;
		out[i / 2] = (uint8_t)(h << 4 | l);
	}
	return -1;
}

void
dfui_img_lines_init(struct dfui_img_lines *r, int fd)
{
	r->fd = fd;
	r->pos = r->len = 0;
	r->eof = 0;
	r->lineno = 0;
	r->linelen = 0;
	r->line[0] = '\0';
}

int
dfui_img_lines_next(struct dfui_img_lines *r, struct dfu_image *img)
{
	size_t n = 0;
	int any = 0;

	r->lineno++;
	for (;;) {
		uint8_t c;

		if (r->pos == r->len) {
			ssize_t got;

			if (r->eof)
				break;
			got = read(r->fd, r->buf, sizeof(r->buf));
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return dfui_img_fail_errno(img, errno, "line %lu: "
				    "read", r->lineno);
			if (got == 0) {
				r->eof = 1;
				break;
			}
			r->pos = 0;
			r->len = (size_t)got;
		}
		c = r->buf[r->pos++];
		any = 1;
		if (c == '\n')
			break;
		if (c == '\0')
			return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: a NUL "
			    "byte: not a text file", r->lineno);
		if (n == DFUI_IMG_LINE_MAX)
			return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: more "
			    "than %d characters, longer than any record",
			    r->lineno, DFUI_IMG_LINE_MAX);
		r->line[n++] = (char)c;
	}
	if (!any)
		return 0;
	if (n > 0 && r->line[n - 1] == '\r')
		n--;
	r->line[n] = '\0';
	r->linelen = n;
	return 1;
}

long
dfui_img_record_bytes(struct dfu_image *img, unsigned long lineno,
    const char *s, size_t n, size_t max_digits, size_t col0, uint8_t *out)
{
	long bad;

	if (n > max_digits)
		return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: %zu "
		    "hexadecimal digits, more than any record holds (%zu)",
		    lineno, n, max_digits);
	if ((bad = dfui_img_unhex(s, n & ~(size_t)1, out)) >= 0 ||
	    (n % 2 != 0 && dfui_img_hexval((unsigned char)s[n - 1]) < 0)) {
		size_t col = bad >= 0 ? (size_t)bad : n - 1;

		return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu, column %zu: "
		    "'%c' is not a hexadecimal digit", lineno, col + col0,
		    s[col] >= ' ' && s[col] < 127 ? s[col] : '?');
	}
	if (n % 2 != 0)
		return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: odd number of "
		    "hexadecimal digits", lineno);
	return (long)(n / 2);
}
