/*
 * source.c - the byte sources of a handle: the input it was read from (a
 * descriptor read with pread(), or a borrowed buffer) and the data of an
 * element or a plain payload (a copy, a caller's descriptor or a range of
 * the input).  The lowest layer above error.c: the reader (read.c,
 * dfuse.c), the element getters (file.c) and the writer (write.c) all
 * read through it, and it calls none of them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "dfufile_private.h"

int
dfui_pread_full(int fd, void *buf, size_t len, uint64_t off, uint64_t *at)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*at = off;
			return n < 0 ? errno : -1;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int
dfui_input_read(struct dfu_file *f, uint64_t off, void *buf, size_t len)
{
	uint64_t at;
	int rc;

	if (off > f->in.size || len > f->in.size - off)
		return dfui_fail(f, DFU_ERR_IO,
		    "read of %zu bytes at offset %llu passes the end of the input",
		    len, (unsigned long long)off);
	if (f->in.fd < 0) {
		memcpy(buf, f->in.mem + off, len);
		return 0;
	}
	rc = dfui_pread_full(f->in.fd, buf, len, off, &at);
	if (rc < 0)
		return dfui_fail(f, DFU_ERR_IO,
		    "the input shrank while it was read (offset %llu)",
		    (unsigned long long)at);
	if (rc > 0)
		return dfui_fail_errno(f, rc, "read at offset %llu",
		    (unsigned long long)at);
	return 0;
}

int
dfui_source_read(struct dfu_file *f, const struct dfui_source *src,
    uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;

	switch (src->kind) {
	case DFUI_SRC_MEM:
		memcpy(buf, src->mem + off, len);
		return 0;
	case DFUI_SRC_INPUT:
		return dfui_input_read(f, src->offset + off, buf, len);
	case DFUI_SRC_FD:
		off += src->offset;
		while (len > 0) {
			n = pread(src->fd, p, len, (off_t)off);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return dfui_fail_errno(f, errno,
				    "read of element data at offset %llu",
				    (unsigned long long)off);
			}
			if (n == 0)
				return dfui_fail(f, DFU_ERR_IO,
				    "element data ends early: input shorter "
				    "than declared (offset %llu)",
				    (unsigned long long)off);
			p += n;
			off += (uint64_t)n;
			len -= (size_t)n;
		}
		return 0;
	case DFUI_SRC_CB:
		if (src->read(src->arg, off, buf, len) != 0)
			return dfui_fail(f, DFU_ERR_IO, "element data: the "
			    "read of %zu bytes at offset %llu failed", len,
			    (unsigned long long)off);
		return 0;
	default:
		return dfui_fail(f, DFU_ERR_INVALID, "element has no data");
	}
}
