/*
 * image.c - the memory image: pieces of bytes at 32-bit addresses, kept
 * sorted and without overlap, and their conversion to DfuSe elements.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image_private.h"

#define ADDRESS_SPACE (UINT64_C(1) << 32)
#define POOL_BLOCK (64u * 1024)
/*
 * An element that is not one run of one file is assembled: in memory up
 * to this size, in a temporary file past it, so that a sparse image
 * joined with --max-gap does not need its whole size in memory.
 */
#define ASSEMBLE_IN_MEMORY (1024u * 1024)

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
	int *tmpfds;		/* temporary files the image owns */
	size_t ntmpfds;
	int asm_fd;		/* the one assembled elements go to, or -1 */
	uint64_t asm_end;
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
	struct dfu_image *img = calloc(1, sizeof(struct dfu_image));

	if (img != NULL)
		img->asm_fd = -1;
	return img;
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
	for (size_t i = 0; i < img->ntmpfds; i++)
		close(img->tmpfds[i]);
	free(img->tmpfds);
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
	/* v NULL with n > 0 cannot happen; the analyzer needs to see it. */
	if (b->n == b->cap || b->v == NULL) {
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

void
dfui_img_batch_free(struct dfui_img_batch *b)
{
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
}

/* By address, then order of arrival: of the piece, then of the record. */
static int
cmp_piece(const void *a, const void *b)
{
	const struct dfui_img_piece *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->same_ok && y->same_ok && x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return 0;
}

/* Line of the record of a same_ok piece that holds addr. */
static unsigned long
record_line(const struct dfui_img_piece *p, uint64_t addr)
{
	return p->line + (unsigned long)((addr - p->rec_addr) / p->rec_size);
}

/* The name of the piece, or of its record that holds addr, in messages. */
static const char *
piece_name(const struct dfui_img_piece *p, uint64_t addr, char *buf,
    size_t size)
{
	if (!p->same_ok)
		return p->origin;
	snprintf(buf, size, "line %lu", record_line(p, addr));
	return buf;
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
	if (dfui_img_pread(p->fd, buf, len, p->off + skip) != 0) {
		char nb[32];
		int saved = errno;

		return dfui_img_fail_errno(img, saved, "%s: read at offset "
		    "0x%llx", piece_name(p, p->addr + skip, nb, sizeof(nb)),
		    (unsigned long long)p->off + skip);
	}
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
 * Merge the sorted pieces v[0..n) into out (room for n), each byte going
 * to the first piece that holds it.  The walk keeps this invariant: every
 * byte from the address of the piece at hand up to `end` (the highest end
 * accepted so far) is in an accepted piece, so an overlap can be checked
 * byte by byte against them.  On an overlap, DFU_ERR_RANGE with *bad the
 * index in v of the piece that met it.
 */
static int
walk_pieces(struct dfu_image *img, const struct dfui_img_piece *v, size_t n,
    struct dfui_img_piece *out, size_t *noutp, size_t *bad)
{
	size_t nout = 0, i, j = 0;
	uint64_t end = 0;
	uint8_t x[256], y[256];
	char na[32], nb[32];
	int err = 0;

	for (i = 0; i < n && err == 0; i++) {
		struct dfui_img_piece p = v[i];
		uint64_t pend = piece_end(&p), oend, a;

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
				if (memcmp(x, y, len) == 0)
					continue;
				for (size_t k = 0; k < len; k++) {
					if (x[k] == y[k])
						continue;
					j = find_piece(out, nout, a + k);
					if (!out[j].same_ok)
						goto overlap;
					*bad = i;
					err = dfui_img_fail(img, DFU_ERR_RANGE,
					    "%s: 0x%08llx holds 0x%02x, but %s "
					    "put 0x%02x there",
					    piece_name(&p, a + k, na, sizeof(na)),
					    (unsigned long long)a + k, y[k],
					    piece_name(&out[j], a + k, nb,
					    sizeof(nb)), x[k]);
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
		*bad = i;
		err = dfui_img_fail(img, DFU_ERR_RANGE, "%s at 0x%08x-0x%08llx "
		    "overlaps %s at 0x%08x-0x%08llx",
		    piece_name(&p, p.addr, na, sizeof(na)), p.addr,
		    (unsigned long long)(pend - 1),
		    piece_name(&out[j], out[j].addr, nb, sizeof(nb)),
		    out[j].addr, (unsigned long long)(piece_end(&out[j]) - 1));
	}
	*noutp = nout;
	return err;
}

/* Number of records of a same_ok piece (1 for any other). */
static size_t
piece_records(const struct dfui_img_piece *p)
{
	uint64_t first, last;

	if (!p->same_ok)
		return 1;
	first = (p->addr - p->rec_addr) / p->rec_size;
	last = (piece_end(p) - 1 - p->rec_addr) / p->rec_size;
	return (size_t)(last - first + 1);
}

/*
 * The walk over pieces met an overlap at v[bad]: walk again, record by
 * record, over the pieces that overlap each other around it (v[c0..c1),
 * the pieces before and after do not touch them), so that the message
 * names the record and the extent that a walk over single records would
 * name.  Memory for this grows with these records only, and only when
 * the load fails.  If the records show no overlap (they always should),
 * the message of the walk over pieces stays.
 */
static int
exact_overlap(struct dfu_image *img, const struct dfui_img_piece *v,
    size_t n, size_t bad, int err)
{
	struct dfui_img_piece *recs, *out;
	size_t c0 = 0, c1, i, k, nrecs = 0, nout, where;
	uint64_t end = 0;
	int again;

	for (i = 0; i <= bad; i++) {
		if (v[i].size == 0)
			continue;
		if (v[i].addr >= end)
			c0 = i;
		if (piece_end(&v[i]) > end)
			end = piece_end(&v[i]);
	}
	for (c1 = bad + 1; c1 < n && v[c1].addr < end; c1++)
		if (piece_end(&v[c1]) > end)
			end = piece_end(&v[c1]);
	for (i = c0; i < c1; i++)
		nrecs += piece_records(&v[i]);
	recs = reallocarray(NULL, nrecs, sizeof(*recs));
	out = reallocarray(NULL, nrecs, sizeof(*out));
	if (recs == NULL || out == NULL) {
		free(recs);
		free(out);
		return err;
	}
	for (i = c0, k = 0; i < c1; i++) {
		const struct dfui_img_piece *p = &v[i];
		uint64_t a = p->addr, pend = piece_end(p);

		if (!p->same_ok) {
			recs[k++] = *p;
			continue;
		}
		while (a < pend) {
			struct dfui_img_piece r = *p;
			uint64_t idx = (a - p->rec_addr) / p->rec_size;
			uint64_t rend = p->rec_addr + (idx + 1) * p->rec_size;

			rend = rend < pend ? rend : pend;
			r.addr = (uint32_t)a;
			r.size = (uint32_t)(rend - a);
			r.rec_addr = (uint32_t)(p->rec_addr + idx * p->rec_size);
			r.line = p->line + (unsigned long)idx;
			if (p->fd >= 0)
				r.off += a - p->addr;
			else
				r.mem += a - p->addr;
			recs[k++] = r;
			a = rend;
		}
	}
	qsort(recs, nrecs, sizeof(*recs), cmp_piece);
	/* Keep the message of the walk over pieces if this one finds none. */
	{
		char saved[sizeof(img->errmsg)];

		memcpy(saved, img->errmsg, sizeof(saved));
		again = walk_pieces(img, recs, nrecs, out, &nout, &where);
		if (again == 0)
			memcpy(img->errmsg, saved, sizeof(saved));
		else
			err = again;
	}
	free(recs);
	free(out);
	return err;
}

int
dfui_img_commit(struct dfu_image *img, struct dfui_img_batch *b)
{
	struct dfui_img_piece *v, *out, *shrunk;
	size_t n = img->npieces + b->n, nout = 0, bad = 0;
	int err;

	if (b->n == 0)
		return 0;
	/* The batch's array takes the image's pieces too, and is sorted in
	 * place: the image's own array stays as it is until this succeeds. */
	if (b->cap < n) {
		v = reallocarray(b->v, n, sizeof(*v));
		if (v == NULL) {
			dfui_img_batch_free(b);
			return dfui_img_fail(img, DFU_ERR_NOMEM, "out of memory");
		}
		b->v = v;
		b->cap = n;
	}
	v = b->v;
	if (img->npieces > 0)
		memcpy(v + b->n, img->pieces, img->npieces * sizeof(*v));
	/*
	 * Pieces that come in address order and apart (a file written in
	 * order, sparse or not) are the result as they are: no sort (glibc's
	 * qsort() takes a copy of the array), no second array.
	 */
	for (nout = 1; nout < n; nout++)
		if (v[nout].size == 0 || v[nout].addr < piece_end(&v[nout - 1]))
			break;
	if (nout == n && v[0].size > 0) {
		b->v = NULL;
		dfui_img_batch_free(b);
		out = v;
		goto done;
	}
	if ((out = reallocarray(NULL, n, sizeof(*out))) == NULL) {
		dfui_img_batch_free(b);
		return dfui_img_fail(img, DFU_ERR_NOMEM, "out of memory");
	}
	qsort(v, n, sizeof(*v), cmp_piece);
	err = walk_pieces(img, v, n, out, &nout, &bad);
	if (err == DFU_ERR_RANGE)
		err = exact_overlap(img, v, n, bad, err);
	dfui_img_batch_free(b);
	if (err != 0) {
		free(out);
		return err;
	}
done:
	if (nout > 0 && (shrunk = reallocarray(out, nout,
	    sizeof(*out))) != NULL)
		out = shrunk;
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

/* ---- temporary files and records ------------------------------------------ */

/*
 * A new temporary file that the image owns: unnamed (O_TMPFILE) where the
 * file system allows it, else created and unlinked at once.
 */
static int
tmpfile_open(struct dfu_image *img, int *fdp)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int *v, fd, saved;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	v = reallocarray(img->tmpfds, img->ntmpfds + 1, sizeof(*v));
	if (v == NULL)
		return dfui_img_fail(img, DFU_ERR_NOMEM, "out of memory");
	img->tmpfds = v;
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
#endif
	{
		if ((size_t)snprintf(path, sizeof(path), "%s/dfuimage.XXXXXX",
		    dir) >= sizeof(path))
			return dfui_img_fail(img, DFU_ERR_IO, "TMPDIR %s: name "
			    "too long", dir);
		if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
			unlink(path);
	}
	if (fd < 0) {
		saved = errno;
		return dfui_img_fail_errno(img, saved, "temporary file in %s "
		    "for the decoded bytes", dir);
	}
	img->tmpfds[img->ntmpfds++] = fd;
	*fdp = fd;
	return 0;
}

/* Close and forget a temporary file of the image (a failed load). */
static void
tmpfile_drop(struct dfu_image *img, int fd)
{
	for (size_t i = 0; i < img->ntmpfds; i++) {
		if (img->tmpfds[i] != fd)
			continue;
		close(fd);
		img->tmpfds[i] = img->tmpfds[--img->ntmpfds];
		return;
	}
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
dfui_img_records_init(struct dfui_img_records *rs)
{
	memset(&rs->b, 0, sizeof(rs->b));
	rs->fd = -1;
	rs->flushed = 0;
	rs->nbuf = 0;
}

static int
records_flush(struct dfu_image *img, struct dfui_img_records *rs)
{
	if (rs->nbuf == 0)
		return 0;
	if (write_all(rs->fd, rs->buf, rs->nbuf) != 0)
		return dfui_img_fail_errno(img, errno, "temporary file for the "
		    "decoded bytes: write");
	rs->flushed += rs->nbuf;
	rs->nbuf = 0;
	return 0;
}

int
dfui_img_records_add(struct dfu_image *img, struct dfui_img_records *rs,
    uint32_t addr, const uint8_t *data, uint32_t len, unsigned long line)
{
	struct dfui_img_piece *l = rs->b.n > 0 ? &rs->b.v[rs->b.n - 1] : NULL;
	uint64_t at = rs->flushed + rs->nbuf;
	int err;

	if (rs->fd < 0 && (err = tmpfile_open(img, &rs->fd)) != 0)
		return err;
	if (rs->nbuf + len > sizeof(rs->buf) &&
	    (err = records_flush(img, rs)) != 0)
		return err;
	memcpy(rs->buf + rs->nbuf, data, len);
	rs->nbuf += len;
	if (l != NULL && piece_end(l) == addr && l->off + l->size == at &&
	    l->size % l->rec_size == 0 && len <= l->rec_size &&
	    line == l->line + l->size / l->rec_size &&
	    (uint64_t)l->size + len <= UINT32_MAX) {
		l->size += len;
		return 0;
	} else {
		struct dfui_img_piece p = { 0 };

		p.addr = p.rec_addr = addr;
		p.size = p.rec_size = (uint16_t)len;
		p.fd = rs->fd;
		p.off = at;
		p.same_ok = 1;
		p.line = line;
		return dfui_img_batch_add(img, &rs->b, &p);
	}
}

int
dfui_img_records_repeat(struct dfu_image *img, struct dfui_img_records *rs,
    uint32_t addr, const uint8_t *data, uint32_t len)
{
	const struct dfui_img_piece *l = rs->b.n > 0 ?
	    &rs->b.v[rs->b.n - 1] : NULL;
	uint8_t have[256];
	uint64_t off;
	size_t got = 0;

	/* Within the last record only, as when every record was a piece:
	 * a record left out never owns a byte another message could name. */
	if (l == NULL || len > sizeof(have) || l->addr + (uint64_t)(l->size -
	    1) / l->rec_size * l->rec_size > addr ||
	    (uint64_t)addr + len > piece_end(l))
		return 0;
	off = l->off + (addr - l->addr);
	if (off < rs->flushed) {
		got = rs->flushed - off < len ? (size_t)(rs->flushed - off) :
		    len;
		if (dfui_img_pread(rs->fd, have, got, off) != 0)
			return dfui_img_fail_errno(img, errno, "temporary file "
			    "for the decoded bytes: read");
	}
	if (got < len)
		memcpy(have + got, rs->buf + (off + got - rs->flushed),
		    len - got);
	return memcmp(have, data, len) == 0;
}

int
dfui_img_records_commit(struct dfu_image *img, struct dfui_img_records *rs)
{
	int err;

	if (rs->fd >= 0 && (err = records_flush(img, rs)) != 0)
		return err;
	if ((err = dfui_img_commit(img, &rs->b)) != 0)
		return err;
	rs->fd = -1;	/* the image's now */
	return 0;
}

void
dfui_img_records_free(struct dfu_image *img, struct dfui_img_records *rs)
{
	dfui_img_batch_free(&rs->b);
	if (rs->fd >= 0)
		tmpfile_drop(img, rs->fd);
	rs->fd = -1;
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
	if (origin != NULL && !img->pieces[i].same_ok)
		*origin = img->pieces[i].origin;
	else if (origin != NULL) {
		/* Built on demand: the image keeps line numbers, not names.
		 * The pool is not part of the image's observable state. */
		*origin = dfui_img_strf((struct dfu_image *)img, "line %lu",
		    img->pieces[i].line);
		if (*origin == NULL)
			return DFU_ERR_NOMEM;
	}
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

/* The bytes of [start, end), gaps reading as fill, into buf. */
static int
assemble(struct dfu_image *img, uint64_t start, uint64_t end, uint8_t fill,
    uint8_t *buf)
{
	size_t i = 0, hi = img->npieces;
	/* Small pieces of one file (records that stand apart) are read a
	 * block at a time, not with a pread() each. */
	uint8_t cache[16384];
	uint64_t coff = 0, clen = 0;
	int cfd = -1, err;

	memset(buf, fill, end - start);
	/* The first piece that ends past start. */
	while (i < hi) {
		size_t mid = i + (hi - i) / 2;

		if (piece_end(&img->pieces[mid]) <= start)
			i = mid + 1;
		else
			hi = mid;
	}
	for (; i < img->npieces && img->pieces[i].addr < end; i++) {
		const struct dfui_img_piece *p = &img->pieces[i];
		uint64_t a = p->addr > start ? p->addr : start;
		uint64_t e = piece_end(p) < end ? piece_end(p) : end;

		if (e <= a)
			continue;
		if (p->fd >= 0 && e - a <= sizeof(cache)) {
			uint64_t at = p->off + (a - p->addr);

			if (p->fd != cfd || at < coff ||
			    at + (e - a) > coff + clen) {
				ssize_t n;

				do
					n = pread(p->fd, cache, sizeof(cache),
					    (off_t)at);
				while (n < 0 && errno == EINTR);
				if (n < 0 || (uint64_t)n < e - a) {
					cfd = -1;
					goto one;
				}
				cfd = p->fd;
				coff = at;
				clen = (uint64_t)n;
			}
			memcpy(buf + (a - start), cache + (at - coff), e - a);
			continue;
		}
one:
		/* Also the error, with its message, of a short cached read. */
		if ((err = piece_read(img, p, a - p->addr, buf + (a - start),
		    e - a)) != 0)
			return err;
	}
	return 0;
}

/*
 * The bytes of [start, end), gaps reading as fill, appended to the
 * image's temporary file for assembled elements; *off gets where.
 */
static int
assemble_in_file(struct dfu_image *img, uint64_t start, uint64_t end,
    uint8_t fill, uint64_t *off)
{
	uint8_t *buf;
	uint64_t a;
	int err = 0;

	if (img->asm_fd < 0 && (err = tmpfile_open(img, &img->asm_fd)) != 0)
		return err;
	if ((buf = malloc(ASSEMBLE_IN_MEMORY)) == NULL)
		return dfui_img_fail(img, DFU_ERR_NOMEM, "out of memory");
	if (lseek(img->asm_fd, (off_t)img->asm_end, SEEK_SET) < 0)
		err = dfui_img_fail_errno(img, errno, "temporary file: seek");
	*off = img->asm_end;
	for (a = start; a < end && err == 0; a += ASSEMBLE_IN_MEMORY) {
		uint64_t e = end - a > ASSEMBLE_IN_MEMORY ?
		    a + ASSEMBLE_IN_MEMORY : end;

		if ((err = assemble(img, a, e, fill, buf)) == 0 &&
		    write_all(img->asm_fd, buf, e - a) != 0)
			err = dfui_img_fail_errno(img, errno, "temporary file "
			    "for an element: write");
	}
	free(buf);
	if (err == 0)
		img->asm_end += end - start;
	return err;
}

/* Add [start, end) of the image, gaps reading as fill, as one element;
 * with f NULL only count its bytes. */
static int
add_one(struct dfu_image *img, struct dfu_file *f, unsigned target,
    uint64_t start, uint64_t end, uint8_t fill, uint64_t *bytes)
{
	uint64_t size = end - start, off = 0;
	uint8_t *buf;
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
	} else if (size > ASSEMBLE_IN_MEMORY) {
		if ((err = assemble_in_file(img, start, end, fill, &off)) != 0)
			return err;
		err = dfu_file_add_element_fd(f, target, (uint32_t)start,
		    img->asm_fd, off, (uint32_t)size);
	} else {
		if ((buf = malloc(size)) == NULL)
			return dfui_img_fail(img, DFU_ERR_NOMEM, "out of memory "
			    "for an element of %llu bytes",
			    (unsigned long long)size);
		if ((err = assemble(img, start, end, fill, buf)) != 0) {
			free(buf);
			return err;
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

/* 1 + the value of each hexadecimal digit, 0 for any other byte. */
static const uint8_t hex_digit[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

int
dfui_img_hexval(int c)
{
	return c >= 0 && c < 256 ? hex_digit[c] - 1 : -1;
}

long
dfui_img_unhex(const char *s, size_t n, uint8_t *out)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i + 1 < n; i += 2) {
		unsigned h = hex_digit[u[i]], l = hex_digit[u[i + 1]];

		if (h == 0)
			return (long)i;
		if (l == 0)
			return (long)i + 1;
		out[i / 2] = (uint8_t)((h - 1) << 4 | (l - 1));
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
		const uint8_t *s, *nl;
		size_t take, room;

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
		s = r->buf + r->pos;
		nl = memchr(s, '\n', r->len - r->pos);
		take = nl != NULL ? (size_t)(nl - s) : r->len - r->pos;
		any = 1;
		/* Checked in the order of the bytes: a NUL byte up to the
		 * first character past the limit, then the limit. */
		room = DFUI_IMG_LINE_MAX - n;
		if (memchr(s, '\0', take < room + 1 ? take : room + 1) != NULL)
			return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: a NUL "
			    "byte: not a text file", r->lineno);
		if (take > room)
			return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: more "
			    "than %d characters, longer than any record",
			    r->lineno, DFUI_IMG_LINE_MAX);
		memcpy(r->line + n, s, take);
		n += take;
		r->pos += take + (nl != NULL);
		if (nl != NULL)
			break;
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
