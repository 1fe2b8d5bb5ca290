/*
 * image_private.h - internals of the memory image (image.c) shared with
 * its loaders (elf.c, ihex.c, srec.c).  Nothing here is installed.
 */
#ifndef DFU_IMAGE_PRIVATE_H
#define DFU_IMAGE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "dfuimage.h"

/*
 * One run of bytes at an address: a copy owned by the image (mem) or a
 * region of a file (fd >= 0, read with pread() at off): a borrowed input
 * (ELF) or one of the image's temporary files (the decoded bytes of HEX
 * and S-records).
 *
 * A piece of a text format (same_ok) is a run of records on consecutive
 * lines: the first starts at rec_addr on line `line`, each holds rec_size
 * bytes but the last, which may hold fewer.  So the line and extent of
 * the record of any byte follow from its address, and the names of the
 * records are built only for a message, not kept for every record.  A
 * piece of any other kind is named by origin.
 */
struct dfui_img_piece {
	uint32_t addr;
	uint32_t size;
	int fd;			/* -1 for mem */
	uint16_t rec_size;	/* same_ok */
	uint8_t same_ok;	/* records of a text format (HEX, S-records):
				   may overlap another same_ok piece with
				   the same bytes */
	union {
		uint64_t off;		/* fd: file offset of the first byte */
		const uint8_t *mem;	/* fd < 0: the bytes, in the pool */
	};
	union {
		const char *origin;	/* !same_ok: in the image's pool */
		unsigned long line;	/* same_ok: line of the first record */
	};
	uint64_t seq;		/* order of arrival, breaks address ties */
	uint32_t rec_addr;	/* same_ok: address of the first record */
};

/* A batch of pieces a loader collects before committing them. */
struct dfui_img_batch {
	struct dfui_img_piece *v;
	size_t n, cap;
};

/* Drop the previous error; set one (returns err). */
void dfui_img_clear_error(struct dfu_image *img);
int dfui_img_fail(struct dfu_image *img, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int dfui_img_fail_errno(struct dfu_image *img, int saved_errno, const char *fmt,
			...) __attribute__((format(printf, 3, 4)));

/* Allocate from the image's pool (freed with the image); NULL if no memory. */
void *dfui_img_alloc(struct dfu_image *img, size_t n);
/* printf into the pool. */
const char *dfui_img_strf(struct dfu_image *img, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append a piece to a batch; DFU_ERR_NOMEM (message set on img). */
int dfui_img_batch_add(struct dfu_image *img, struct dfui_img_batch *b,
		       const struct dfui_img_piece *p);
void dfui_img_batch_free(struct dfui_img_batch *b);
/*
 * The data records of one load of a text format.  A record that continues
 * the last piece (the next address, the next line, no longer than the
 * records before it) extends it, and the decoded bytes go to a temporary
 * file (in $TMPDIR, else /tmp) that the image keeps open until it is
 * freed: memory grows with the number of runs of records, not with the
 * bytes or the records.
 */
struct dfui_img_records {
	struct dfui_img_batch b;
	int fd;			/* the temporary file, -1 until a record */
	uint64_t flushed;	/* bytes written to fd */
	size_t nbuf;
	uint8_t buf[1 << 16];
};
void dfui_img_records_init(struct dfui_img_records *rs);
/*
 * Add len (1 to 255) bytes at addr from line `line`; DFU_ERR_IO or
 * DFU_ERR_NOMEM with the message on img.
 */
int dfui_img_records_add(struct dfu_image *img, struct dfui_img_records *rs,
			 uint32_t addr, const uint8_t *data, uint32_t len,
			 unsigned long line);
/*
 * 1 if the last piece already holds these bytes at addr: a record that
 * repeats it adds nothing and is left out; 0 if not; DFU_ERR_IO.
 */
int dfui_img_records_repeat(struct dfu_image *img, struct dfui_img_records *rs,
			    uint32_t addr, const uint8_t *data, uint32_t len);
/*
 * Commit the records (dfui_img_commit()); on success the image takes the
 * temporary file.  dfui_img_records_free() then closes it only if the
 * image did not take it.
 */
int dfui_img_records_commit(struct dfu_image *img, struct dfui_img_records *rs);
void dfui_img_records_free(struct dfu_image *img, struct dfui_img_records *rs);

/*
 * Merge a batch into the image: sort, check overlaps (DFU_ERR_RANGE with
 * both origins named), keep the image unchanged on failure.  The batch is
 * emptied either way.  Overlaps are checked piece by piece; when they
 * fail, the pieces involved are checked again record by record, so that
 * the message names the records (their lines and extents) exactly as if
 * every record were a piece of its own.
 */
int dfui_img_commit(struct dfu_image *img, struct dfui_img_batch *b);

void dfui_img_set_entry(struct dfu_image *img, uint32_t entry);

/*
 * What dfu_image_add_elements() would add for [first, last], without
 * adding it: the number of elements and, added to *bytes, their sizes.
 * The same errors (an element over 4 GiB - 1), nothing allocated.
 */
int dfui_img_count_elements(struct dfu_image *img, uint32_t first,
			    uint32_t last, uint32_t max_gap,
			    unsigned *nelements, uint64_t *bytes);

/* pread() all of len bytes; -1 with errno set (EIO for a short file). */
int dfui_img_pread(int fd, void *buf, size_t len, uint64_t off);

/*
 * Sequential line reader for the text formats: lines of at most
 * DFUI_IMG_LINE_MAX characters, without the LF and a CR before it.
 */
#define DFUI_IMG_LINE_MAX 600
struct dfui_img_lines {
	int fd;
	uint8_t buf[1 << 16];
	size_t pos, len;
	int eof;
	unsigned long lineno;
	char line[DFUI_IMG_LINE_MAX + 1];
	size_t linelen;
};
void dfui_img_lines_init(struct dfui_img_lines *r, int fd);
/*
 * 1 with the next line in r->line (NUL-terminated, r->linelen long), 0 at
 * the end of the input, or a negative error with the message on img (a
 * line too long, a NUL byte, a read error).
 */
int dfui_img_lines_next(struct dfui_img_lines *r, struct dfu_image *img);

/* Value of a hexadecimal digit, -1 if c is not one. */
int dfui_img_hexval(int c);
/*
 * Decode the hexadecimal digits of s (n characters, n even) into out.
 * Returns -1, or the index of the first character that is not a digit.
 */
long dfui_img_unhex(const char *s, size_t n, uint8_t *out);
/*
 * The record digits of a HEX or S-record line: n characters of s, which
 * start at column `col0` (1-based) of line `lineno`, into out.  At most
 * max_digits digits; every character a digit; an even count.  Returns
 * the number of bytes, or a negative error with "line N..." on img.
 */
long dfui_img_record_bytes(struct dfu_image *img, unsigned long lineno,
			   const char *s, size_t n, size_t max_digits, size_t col0,
			   uint8_t *out);

#endif /* DFU_IMAGE_PRIVATE_H */
