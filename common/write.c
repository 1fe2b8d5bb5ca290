/*
 * write.c - writing a DFU file in one sequential pass.
 *
 * All sizes are known before the first byte goes out (element sizes are
 * declared when elements are added), so headers are written in place and
 * element data is streamed from its source through one buffer, with the
 * CRC computed on the way.  Output is deterministic: names are NUL-padded,
 * DFUImageSize excludes the suffix, nothing depends on time or memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dfufile_private.h"

struct writer {
	struct dfu_file *f;
	int fd;
	uint8_t *buf;
	size_t used;
	uint32_t crc;
};

static int
write_all(struct writer *w, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(w->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return dfu_fail_errno(w->f, errno, "write");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
flush(struct writer *w)
{
	int rc;

	w->crc = dfu_crc_update(w->crc, w->buf, w->used);
	rc = write_all(w, w->buf, w->used);
	w->used = 0;
	return rc;
}

static int
put(struct writer *w, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t n;
	int rc;

	while (len > 0) {
		if (w->used == DFU_IO_CHUNK && (rc = flush(w)) != 0)
			return rc;
		n = DFU_IO_CHUNK - w->used;
		if (n > len)
			n = len;
		memcpy(w->buf + w->used, b, n);
		w->used += n;
		b += n;
		len -= n;
	}
	return 0;
}

/* `size` bytes: the source's real bytes, then fill. Read straight into
 * the output buffer. */
static int
put_source(struct writer *w, const struct dfu_source *src, uint64_t size)
{
	uint64_t off = 0;
	size_t n;
	int rc;

	while (off < size) {
		if (w->used == DFU_IO_CHUNK && (rc = flush(w)) != 0)
			return rc;
		n = DFU_IO_CHUNK - w->used;
		if (n > size - off)
			n = (size_t)(size - off);
		if (off < src->size) {
			if (n > src->size - off)
				n = (size_t)(src->size - off);
			rc = dfu_source_read(w->f, src, off, w->buf + w->used, n);
			if (rc != 0)
				return rc;
		} else {
			memset(w->buf + w->used, w->f->fill, n);
		}
		w->used += n;
		off += n;
	}
	return 0;
}

static uint64_t
target_size(const struct dfu_tgt *t)
{
	uint64_t size = 0;
	unsigned e;

	for (e = 0; e < t->nelems; e++)
		size += DFUSE_ELEMENT_HEADER_SIZE + (uint64_t)t->elems[e].pub.size;
	return size;
}

uint64_t
dfu_file_write_size(const struct dfu_file *f)
{
	uint64_t size = DFU_SUFFIX_SIZE;
	unsigned t;

	if (f->format == DFU_FORMAT_PLAIN)
		return size + f->payload.size;
	size += DFUSE_PREFIX_SIZE;
	for (t = 0; t < f->ntargets; t++)
		size += DFUSE_TARGET_PREFIX_SIZE + target_size(&f->targets[t]);
	return size;
}

static int
write_dfuse(struct writer *w)
{
	struct dfu_file *f = w->f;
	uint8_t p[DFUSE_TARGET_PREFIX_SIZE];
	uint8_t h[DFUSE_ELEMENT_HEADER_SIZE];
	unsigned t, e;
	int rc;

	memcpy(p, "DfuSe", 5);
	p[5] = 1;
	dfu_put_le32(p + 6, (uint32_t)(dfu_file_write_size(f) - DFU_SUFFIX_SIZE));
	p[10] = (uint8_t)f->ntargets;
	if ((rc = put(w, p, DFUSE_PREFIX_SIZE)) != 0)
		return rc;
	for (t = 0; t < f->ntargets; t++) {
		const struct dfu_tgt *tg = &f->targets[t];

		memset(p, 0, sizeof(p));
		memcpy(p, "Target", 6);
		p[6] = tg->pub.bAlternateSetting;
		dfu_put_le32(p + 7, tg->named ? 1 : 0);
		if (tg->named)
			memcpy(p + 11, tg->pub.szTargetName,
			    strlen(tg->pub.szTargetName));
		dfu_put_le32(p + 266, (uint32_t)target_size(tg));
		dfu_put_le32(p + 270, tg->nelems);
		if ((rc = put(w, p, sizeof(p))) != 0)
			return rc;
		for (e = 0; e < tg->nelems; e++) {
			const struct dfu_elem *el = &tg->elems[e];

			dfu_put_le32(h, el->pub.address);
			dfu_put_le32(h + 4, el->pub.size);
			if ((rc = put(w, h, sizeof(h))) != 0 ||
			    (rc = put_source(w, &el->src, el->pub.size)) != 0)
				return rc;
		}
	}
	return 0;
}

static int
check_writable(struct dfu_file *f)
{
	unsigned t;

	switch (f->format) {
	case DFU_FORMAT_DFUSE:
		if (f->ntargets == 0)
			return dfu_fail(f, DFU_ERR_INVALID,
			    "a DfuSe file needs at least one target");
		for (t = 0; t < f->ntargets; t++)
			if (target_size(&f->targets[t]) > UINT32_MAX)
				return dfu_fail(f, DFU_ERR_RANGE,
				    "target %u is larger than 4 GiB", t);
		if (dfu_file_write_size(f) - DFU_SUFFIX_SIZE > UINT32_MAX)
			return dfu_fail(f, DFU_ERR_RANGE,
			    "the image is larger than 4 GiB (DFUImageSize is "
			    "32 bits)");
		return 0;
	case DFU_FORMAT_PLAIN:
		if (f->payload.kind == DFU_SRC_NONE)
			return dfu_fail(f, DFU_ERR_INVALID,
			    "a plain DFU file needs a payload");
		return 0;
	default:
		return dfu_fail(f, DFU_ERR_INVALID, "nothing to write");
	}
}

int
dfu_file_write_fd(struct dfu_file *f, int fd)
{
	struct writer w = { .f = f, .fd = fd, .crc = DFU_CRC_INIT };
	struct dfu_suffix s;
	uint8_t sb[DFU_SUFFIX_SIZE];
	int rc;

	dfu_clear_error(f);
	if ((rc = check_writable(f)) != 0)
		return rc;
	if (fd < 0)
		return dfu_fail(f, DFU_ERR_INVALID, "bad file descriptor");
	w.buf = malloc(DFU_IO_CHUNK);
	if (w.buf == NULL)
		return dfu_fail(f, DFU_ERR_NOMEM, "out of memory");
	if (f->format == DFU_FORMAT_DFUSE)
		rc = write_dfuse(&w);
	else
		rc = put_source(&w, &f->payload, f->payload.size);
	if (rc == 0) {
		s = f->suffix;
		memcpy(s.ucDfuSignature, "UFD", 3);
		s.bLength = DFU_SUFFIX_SIZE;
		dfu_suffix_encode(&s, sb);
		rc = put(&w, sb, DFU_SUFFIX_SIZE - 4);
	}
	if (rc == 0)
		rc = flush(&w);
	if (rc == 0) {
		/* dwCRC covers everything before it, flushed just now. */
		dfu_put_le32(sb + 12, w.crc);
		rc = write_all(&w, sb + 12, 4);
	}
	free(w.buf);
	return rc;
}
