/*
 * read.c - reading a DFU file: format detection, the suffix, the CRC,
 * vendor prefixes and plain payloads.  The DfuSe walk is in dfuse.c, the
 * byte sources it reads through in source.c.
 *
 * Nothing is loaded: the reader looks at the first and last bytes, walks
 * the headers with positioned reads and streams the whole file once for
 * the CRC.  Element data stays in the input until somebody asks for it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dfufile_private.h"

/*
 * From this size on, the CRC pass runs on several threads: the file is cut
 * into windows of CRC_WINDOW bytes, each thread sums the next window not
 * yet taken, and the windows' CRCs are joined in file order with
 * dfui_crc_combine().  A single thread spends as long getting the bytes
 * out of the page cache as summing them (dfuinfo -q of 512 MiB: 35% in
 * the kernel's copy, 57% in the CRC, issue 15).  Windows taken in turn
 * keep the threads busy to the end, where fixed halves left one waiting
 * on the other.
 *
 * With DFU_READ_MAP a window is mapped instead of copied out: the CRC
 * reads the page cache in place.  Measured on the 2-core development VM,
 * 64 MiB in the page cache (hyperfine medians, against cat's 3.2 ms):
 * two threads copying with pread 5.7 ms; mapping 4 MiB windows, two
 * threads 4.2 ms, three 3.6-3.8 ms, four 4.0 ms (one more thread than
 * cores keeps both cores summing while a thread takes its page faults);
 * 2 MiB windows 3.8-4.2 ms.  A window's pages stay mapped only while it
 * is summed, so the process holds at most CRC_THREADS_MAX x CRC_WINDOW of
 * the file (dfuinfo -q of 512 MiB peaks at 14 MiB).
 */
#define CRC_PARALLEL_MIN (16u << 20)
#define CRC_WINDOW (4u << 20)
#define CRC_THREADS_MAX 3

struct crc_pool {
	int fd;
	int map;		/* DFU_READ_MAP */
	int regular;		/* fd is a regular file: its size can be checked */
	uint64_t end, nwin;
	uint32_t *crcs;		/* one per window */
	pthread_mutex_t mu;
	uint64_t next;		/* the next window to take */
	int err;		/* 0, an errno, or -1: the input shrank */
	uint64_t err_off;	/* the first failure in file order */
};

/* Sum [off, off + len) into *crc by copying it out; 0, an errno, or -1
 * with *err_off where the input ended. */
static int
crc_window_read(int fd, uint64_t off, size_t len, uint8_t *buf,
    uint32_t *crc, uint64_t *err_off)
{
	uint32_t c = DFU_CRC_INIT;
	size_t n;
	int err;

	while (len > 0) {
		n = len < DFUI_IO_CHUNK ? len : DFUI_IO_CHUNK;
		if ((err = dfui_pread_full(fd, buf, n, off, err_off)) != 0)
			return err;
		c = dfu_crc_update(c, buf, n);
		off += n;
		len -= n;
	}
	*crc = c;
	return 0;
}

/* Sum [off, off + len) into *crc through a mapping; 1 when the window
 * cannot be mapped (the caller copies it out instead). */
static int
crc_window_map(const struct crc_pool *p, uint64_t off, size_t len,
    uint32_t *crc, uint64_t *err_off)
{
	struct stat st;
	void *m;

	/* A file that has shrunk is reported, not faulted on; one that
	 * shrinks while the window is summed raises SIGBUS (dfufile.h). */
	if (p->regular && fstat(p->fd, &st) == 0 &&
	    (uint64_t)st.st_size < off + len) {
		*err_off = (uint64_t)st.st_size;
		return -1;
	}
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, p->fd, (off_t)off);
	if (m == MAP_FAILED)
		return 1;
	*crc = dfu_crc_update(DFU_CRC_INIT, m, len);
	munmap(m, len);
	return 0;
}

static void *
crc_worker(void *arg)
{
	struct crc_pool *p = arg;
	uint8_t *buf = NULL;
	uint64_t w, off, err_off = 0;
	size_t len;
	int err;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		w = p->err != 0 ? p->nwin : p->next++;
		pthread_mutex_unlock(&p->mu);
		if (w >= p->nwin)
			break;
		off = w * CRC_WINDOW;
		len = p->end - off < CRC_WINDOW ? (size_t)(p->end - off) :
		    CRC_WINDOW;
		err = p->map ? crc_window_map(p, off, len, &p->crcs[w],
		    &err_off) : 1;
		if (err == 1 && buf == NULL &&
		    (buf = malloc(DFUI_IO_CHUNK)) == NULL) {
			err = ENOMEM;
			err_off = off;
		} else if (err == 1) {
			err = crc_window_read(p->fd, off, len, buf,
			    &p->crcs[w], &err_off);
		}
		if (err != 0) {
			pthread_mutex_lock(&p->mu);
			if (p->err == 0 || err_off < p->err_off) {
				p->err = err;
				p->err_off = err_off;
			}
			pthread_mutex_unlock(&p->mu);
			break;
		}
	}
	free(buf);
	return NULL;
}

/* How many threads sum a file of nwin windows: one more than the cores,
 * within CRC_THREADS_MAX (a bound on the mapped bytes; the page cache's
 * bandwidth, not the cores, limits more threads) and the windows. */
static unsigned
crc_threads(uint64_t nwin)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t n = ncpu > 0 ? (uint64_t)ncpu + 1 : 2;

	if (n > CRC_THREADS_MAX)
		n = CRC_THREADS_MAX;
	return (unsigned)(n < nwin ? n : nwin);
}

/* The whole-file dwCRC over [0, end) in windows on several threads. */
static int
crc_parallel(struct dfu_file *f, uint64_t end, uint32_t *whole)
{
	struct crc_pool p = { .fd = f->in.fd, .end = end };
	pthread_t t[CRC_THREADS_MAX];
	unsigned n, i, started = 0;
	struct stat st;
	uint32_t c;

	p.map = (f->read_flags & DFU_READ_MAP) != 0;
	p.regular = fstat(p.fd, &st) == 0 && S_ISREG(st.st_mode);
	p.nwin = (end + CRC_WINDOW - 1) / CRC_WINDOW;
	p.crcs = malloc((size_t)p.nwin * sizeof(p.crcs[0]));
	if (p.crcs == NULL)
		return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
	if (pthread_mutex_init(&p.mu, NULL) != 0) {
		free(p.crcs);
		return dfui_fail(f, DFU_ERR_NOMEM, "cannot create a mutex");
	}
	/* The calling thread is one of them; fewer start if they cannot. */
	n = crc_threads(p.nwin);
	for (i = 1; i < n; i++)
		if (pthread_create(&t[started], NULL, crc_worker, &p) == 0)
			started++;
	crc_worker(&p);
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_destroy(&p.mu);
	if (p.err == 0) {
		c = p.crcs[0];
		for (i = 1; i < p.nwin; i++)
			c = dfui_crc_combine(c, p.crcs[i], i + 1 < p.nwin ?
			    CRC_WINDOW : end - (uint64_t)i * CRC_WINDOW);
		*whole = c;
	}
	free(p.crcs);
	if (p.err == ENOMEM)
		return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
	if (p.err < 0)
		return dfui_fail(f, DFU_ERR_IO, "the input shrank while it was "
		    "read (offset %llu)", (unsigned long long)p.err_off);
	if (p.err != 0)
		return dfui_fail_errno(f, p.err, "read at offset %llu",
		    (unsigned long long)p.err_off);
	return 0;
}

/*
 * dwCRC over [0, end): one streaming pass.  When `split` is non-zero, the
 * CRC of [split, end) is computed in the same pass, to explain a vendor
 * prefix added after the suffix.
 */
static int
crc_pass(struct dfu_file *f, uint64_t end, uint64_t split, uint32_t *whole,
    uint32_t *tail)
{
	uint32_t c = DFU_CRC_INIT, t = DFU_CRC_INIT;
	uint64_t off = 0;
	uint8_t *buf;
	size_t n;
	int rc = 0;

	if (f->in.fd < 0) {
		*whole = dfu_crc_update(c, f->in.mem, (size_t)end);
		if (split > 0)
			*tail = dfu_crc_update(t, f->in.mem + split,
			    (size_t)(end - split));
		return 0;
	}
#ifdef POSIX_FADV_SEQUENTIAL
	posix_fadvise(f->in.fd, 0, (off_t)end, POSIX_FADV_SEQUENTIAL);
#endif
	/* A vendor prefix's second CRC keeps the single pass. */
	*tail = DFU_CRC_INIT;
	if (split == 0 && end >= CRC_PARALLEL_MIN)
		return crc_parallel(f, end, whole);
	buf = malloc(end < DFUI_IO_CHUNK ? (size_t)end + 1 : DFUI_IO_CHUNK);
	if (buf == NULL)
		return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
	while (off < end) {
		n = end - off < DFUI_IO_CHUNK ? (size_t)(end - off) : DFUI_IO_CHUNK;
		if ((rc = dfui_input_read(f, off, buf, n)) != 0)
			break;
		c = dfu_crc_update(c, buf, n);
		if (split > 0 && off + n > split) {
			size_t skip = off < split ? (size_t)(split - off) : 0;

			t = dfu_crc_update(t, buf + skip, n - skip);
		}
		off += n;
	}
	free(buf);
	*whole = c;
	*tail = t;
	return rc;
}

static const char *
vendor_prefix_name(enum dfu_vendor_prefix_kind kind)
{
	return kind == DFU_VENDOR_PREFIX_STELLARIS ? "TI Stellaris" : "NXP LPC";
}

/*
 * Vendor prefixes in front of a plain payload (as dfu-prefix writes them):
 *   TI Stellaris (lmdfu), 8 bytes: 01 00, flash address / 1024 (u16),
 *     payload length (u32).  Recognised only when the length matches, as
 *     the first two bytes alone are too common.
 *   NXP LPC, 16 bytes: byte 0 & 0x3f == 0x1a, byte 1 & 0x3f == 0x3f, size
 *     in 512-byte blocks (u16), bytes 12..15 all 0xff.
 */
static int
detect_vendor_prefix(struct dfu_file *f, const uint8_t *head, uint64_t end)
{
	struct dfu_vendor_prefix *v = &f->vendor;
	uint64_t payload, blocks;
	int rc;

	if (end >= DFU_STELLARIS_PREFIX_SIZE && head[0] == 0x01 &&
	    head[1] == 0x00 &&
	    dfui_le32(head + 4) == end - DFU_STELLARIS_PREFIX_SIZE) {
		v->kind = DFU_VENDOR_PREFIX_STELLARIS;
		v->size = DFU_STELLARIS_PREFIX_SIZE;
		v->address = (uint32_t)dfui_le16(head + 2) * 1024u;
		v->length = dfui_le32(head + 4);
		f->has_vendor_prefix = 1;
		return dfui_diag_add(f, DFU_NOTE, "vendor-prefix", 0, "prefix",
		    "TI Stellaris DFU prefix (8 bytes): flash address 0x%08x, "
		    "payload %u bytes", v->address, v->length);
	}
	if (end >= DFU_LPC_PREFIX_SIZE && (head[0] & 0x3f) == 0x1a &&
	    (head[1] & 0x3f) == 0x3f && head[12] == 0xff && head[13] == 0xff &&
	    head[14] == 0xff && head[15] == 0xff) {
		v->kind = DFU_VENDOR_PREFIX_LPC;
		v->size = DFU_LPC_PREFIX_SIZE;
		v->address = 0;
		v->length = dfui_le16(head + 2);
		f->has_vendor_prefix = 1;
		rc = dfui_diag_add(f, DFU_NOTE, "vendor-prefix", 0, "prefix",
		    "NXP LPC DFU prefix (16 bytes): image of %u blocks of 512 "
		    "bytes", v->length);
		if (rc != 0)
			return rc;
		payload = end - DFU_LPC_PREFIX_SIZE;
		blocks = (payload + 511) / 512;
		if (blocks != v->length)
			return dfui_diag_add(f, DFU_NOTE, "vendor-prefix-length",
			    2, "prefix",
			    "the LPC prefix declares %u blocks of 512 bytes, "
			    "the payload of %llu bytes needs %llu", v->length,
			    (unsigned long long)payload,
			    (unsigned long long)blocks);
	}
	return 0;
}

/* Notes on the suffix fields that are legal but worth knowing. */
static int
suffix_notes(struct dfu_file *f, int is_dfuse)
{
	const struct dfu_suffix *s = &f->suffix;
	uint64_t base = f->in.size - DFU_SUFFIX_SIZE;
	int rc = 0;

	if (s->bcdDevice == DFU_ID_ANY)
		rc = dfui_diag_add(f, DFU_NOTE, "wildcard-id", base, "bcdDevice",
		    "bcdDevice 0xffff matches any device release");
	if (rc == 0 && s->idProduct == DFU_ID_ANY)
		rc = dfui_diag_add(f, DFU_NOTE, "wildcard-id", base + 2,
		    "idProduct", "idProduct 0xffff matches any product");
	if (rc == 0 && s->idVendor == DFU_ID_ANY)
		rc = dfui_diag_add(f, DFU_NOTE, "wildcard-id", base + 4,
		    "idVendor", "idVendor 0xffff matches any vendor");
	if (rc != 0)
		return rc;
	if (s->bcdDFU != DFU_BCD_DFU_1_0 && s->bcdDFU != DFU_BCD_DFU_1_1 &&
	    s->bcdDFU != DFU_BCD_DFUSE)
		return dfui_diag_add(f, DFU_NOTE, "bcddfu-unknown", base + 6,
		    "bcdDFU", "bcdDFU 0x%04x is none of 0x0100, 0x0110 (DFU) "
		    "or 0x011a (DfuSe)", s->bcdDFU);
	if (is_dfuse && s->bcdDFU != DFU_BCD_DFUSE)
		return dfui_diag_add(f, DFU_NOTE, "bcddfu-mismatch", base + 6,
		    "bcdDFU", "bcdDFU 0x%04x in a DfuSe file, which should "
		    "say 0x011a (dfu-util refuses to download it)", s->bcdDFU);
	if (!is_dfuse && s->bcdDFU == DFU_BCD_DFUSE)
		return dfui_diag_add(f, DFU_NOTE, "bcddfu-mismatch", base + 6,
		    "bcdDFU", "bcdDFU 0x011a announces DfuSe, but the file "
		    "has no DfuSe prefix");
	return 0;
}

/* Where a vendor prefix ends, for the CRC of the bytes after it. */
static uint64_t
crc_split(const struct dfu_file *f)
{
	return f->has_vendor_prefix ? f->vendor.size : 0;
}

/* Compare f->crc (and tail, over the bytes after a vendor prefix) with
 * dwCRC: a diagnostic when they differ. */
static int
crc_verdict(struct dfu_file *f, unsigned flags, uint32_t tail)
{
	if (f->crc == f->suffix.dwCRC)
		return 0;
	if (crc_split(f) > 0 && tail == f->suffix.dwCRC)
		return dfui_diag_add(f,
		    flags & DFU_READ_IGNORE_CRC ? DFU_NOTE : DFU_ERROR,
		    "crc-mismatch", f->in.size - 4, "dwCRC",
		    "stored 0x%08x, computed 0x%08x over the whole file; the "
		    "stored CRC matches the bytes after the %u-byte %s prefix: "
		    "the suffix was added before the prefix (add the suffix "
		    "after the prefix to fix it)", f->suffix.dwCRC, f->crc,
		    f->vendor.size, vendor_prefix_name(f->vendor.kind));
	return dfui_diag_add(f, flags & DFU_READ_IGNORE_CRC ? DFU_NOTE : DFU_ERROR,
	    "crc-mismatch", f->in.size - 4, "dwCRC",
	    "stored 0x%08x, computed 0x%08x: the file is damaged or was "
	    "changed after its suffix was written", f->suffix.dwCRC, f->crc);
}

static int
check_crc(struct dfu_file *f, unsigned flags)
{
	uint32_t tail = 0;
	int rc;

	if (flags & DFU_READ_DEFER_CRC) {
		/* dfu_file_crc_feed() computes both as the caller reads. */
		f->crc_deferred = 1;
		f->crc = f->crc_tail = DFU_CRC_INIT;
		return 0;
	}
	rc = crc_pass(f, f->in.size - 4, crc_split(f), &f->crc, &tail);
	if (rc != 0)
		return rc;
	return crc_verdict(f, flags, tail);
}

/* Returns the end of the content before the suffix. */
static int
read_suffix(struct dfu_file *f, int is_dfuse, uint64_t *end)
{
	uint64_t size = f->in.size;
	uint8_t buf[DFU_SUFFIX_SIZE];
	int rc;

	*end = size;
	if ((rc = dfui_input_read(f, size - DFU_SUFFIX_SIZE, buf, sizeof(buf))) != 0)
		return rc;
	if (dfu_suffix_decode(&f->suffix, buf) != 0) {
		if (!is_dfuse)
			return dfui_diag_add(f, DFU_ERROR, "not-dfu", 0, "file",
			    "neither a DfuSe prefix nor a DFU suffix "
			    "(no \"UFD\" signature): not a DFU file");
		return dfui_diag_add(f, DFU_ERROR, "no-suffix", size - 8,
		    "ucDfuSignature", "the DfuSe file has no DFU suffix "
		    "(no \"UFD\" signature in its last 16 bytes)");
	}
	f->has_suffix = 1;
	*end = size - DFU_SUFFIX_SIZE;
	if (f->suffix.bLength < DFU_SUFFIX_SIZE || f->suffix.bLength > size)
		return dfui_diag_add(f, DFU_ERROR, "suffix-length", size - 5,
		    "bLength", "bLength is %u; a DFU suffix is 16 bytes%s",
		    f->suffix.bLength, f->suffix.bLength > size ?
		    " and cannot be longer than the file" : "");
	if (f->suffix.bLength > DFU_SUFFIX_SIZE) {
		*end = size - f->suffix.bLength;
		return dfui_diag_add(f, DFU_NOTE, "extended-suffix", size - 5,
		    "bLength", "bLength %u: a suffix extended by %u bytes, "
		    "which are not part of the image (fwupd refuses such "
		    "files)", f->suffix.bLength,
		    f->suffix.bLength - DFU_SUFFIX_SIZE);
	}
	return 0;
}

/*
 * A plain file that is a DfuSe file whose "DfuSe" signature was damaged
 * (a target prefix's "Target" follows at offset 11) would send DfuSe
 * headers to a device as firmware: an error.  An empty payload is a note.
 */
static int
plain_checks(struct dfu_file *f, const uint8_t *head, uint64_t end)
{
	uint8_t sig[6];
	int rc;

	if (end >= DFUSE_PREFIX_SIZE + sizeof(sig) &&
	    dfui_input_read(f, DFUSE_PREFIX_SIZE, sig, sizeof(sig)) == 0 &&
	    memcmp(sig, "Target", sizeof(sig)) == 0 &&
	    (rc = dfui_diag_add(f, DFU_ERROR, "dfuse-signature", 0,
	    "szSignature", "a DfuSe target prefix (\"Target\") is at offset "
	    "11, but the file starts with %02x %02x %02x %02x %02x, not "
	    "\"DfuSe\": a damaged DfuSe file", head[0], head[1], head[2],
	    head[3], head[4])) != 0)
		return rc;
	if (f->payload.size == 0)
		return dfui_diag_add(f, DFU_NOTE, "empty-payload", 0, "payload",
		    "the payload is empty: there is nothing to download");
	return 0;
}

static int
parse(struct dfu_file *f, unsigned flags)
{
	uint8_t head[DFU_LPC_PREFIX_SIZE] = { 0 };
	uint64_t size = f->in.size, end;
	int is_dfuse, rc;

	if (size < DFU_SUFFIX_SIZE) {
		rc = dfui_diag_add(f, DFU_ERROR, "too-short", 0, "file",
		    "the file is %llu bytes, shorter than a DFU suffix "
		    "(16 bytes)", (unsigned long long)size);
		return rc != 0 ? rc : DFU_ERR_FORMAT;
	}
	if ((rc = dfui_input_read(f, 0, head, sizeof(head))) != 0)
		return rc;
	is_dfuse = memcmp(head, "DfuSe", 5) == 0;
	if ((rc = read_suffix(f, is_dfuse, &end)) != 0)
		return rc;
	if (!is_dfuse && !f->has_suffix)
		return DFU_ERR_FORMAT;
	f->format = is_dfuse ? DFU_FORMAT_DFUSE : DFU_FORMAT_PLAIN;
	if (!is_dfuse && (rc = detect_vendor_prefix(f, head, end)) != 0)
		return rc;
	if (f->has_suffix) {
		if ((rc = check_crc(f, flags)) != 0)
			return rc;
		if ((rc = suffix_notes(f, is_dfuse)) != 0)
			return rc;
	}
	if (is_dfuse) {
		if ((rc = dfui_dfuse_parse(f, end)) != 0)
			return rc;
	} else {
		uint64_t start = f->has_vendor_prefix ? f->vendor.size : 0;

		f->payload.kind = DFUI_SRC_INPUT;
		f->payload.offset = start;
		f->payload.size = end - start;
		if ((rc = plain_checks(f, head, end)) != 0)
			return rc;
	}
	return 0;
}

/* The message of a failed read: the first error in file order. */
static void
first_error(struct dfu_file *f)
{
	char first[sizeof(f->errmsg)];

	for (size_t i = 0; i < f->ndiags; i++) {
		const struct dfu_diag *d = &f->diags[i];

		if (d->severity != DFU_ERROR)
			continue;
		snprintf(first, sizeof(first), "offset 0x%llx (%s): %s",
		    (unsigned long long)d->offset, d->field, d->message);
		if (f->nerrors > 1)
			dfui_fail(f, DFU_ERR_FORMAT, "%s (and %zu more errors)",
			    first, f->nerrors - 1);
		else
			dfui_fail(f, DFU_ERR_FORMAT, "%s", first);
		break;
	}
}

static int
read_input(struct dfu_file *f, unsigned flags)
{
	int rc;

	f->read_flags = flags;
	rc = parse(f, flags);
	dfui_diag_sort(f);
	if (rc != 0 && rc != DFU_ERR_FORMAT)
		return rc;
	if (f->nerrors == 0)
		return 0;
	first_error(f);
	return DFU_ERR_FORMAT;
}

void
dfu_file_crc_feed(struct dfu_file *f, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t end, split;
	size_t skip;

	if (!f->crc_deferred || f->in.size < 4)
		return;
	end = f->in.size - 4;
	if (f->crc_fed >= end)
		return;
	if (len > end - f->crc_fed)
		len = (size_t)(end - f->crc_fed);
	f->crc = dfu_crc_update(f->crc, p, len);
	split = crc_split(f);
	if (split > 0 && f->crc_fed + len > split) {
		skip = f->crc_fed < split ? (size_t)(split - f->crc_fed) : 0;
		f->crc_tail = dfu_crc_update(f->crc_tail, p + skip, len - skip);
	}
	f->crc_fed += len;
}

int
dfu_file_crc_check(struct dfu_file *f)
{
	int rc;

	dfui_clear_error(f);
	if (!f->crc_deferred)
		return dfui_fail(f, DFU_ERR_INVALID, "the CRC was not deferred");
	if (f->crc_fed != f->in.size - 4)
		return dfui_fail(f, DFU_ERR_INVALID, "%llu of %llu bytes fed "
		    "for the CRC", (unsigned long long)f->crc_fed,
		    (unsigned long long)(f->in.size - 4));
	f->crc_deferred = 0;
	if ((rc = crc_verdict(f, f->read_flags, f->crc_tail)) != 0)
		return rc;
	dfui_diag_sort(f);
	if (f->nerrors == 0)
		return 0;
	first_error(f);
	return DFU_ERR_FORMAT;
}

int
dfu_file_read_fd(struct dfu_file *f, int fd, unsigned flags)
{
	struct stat st;
	off_t size;

	dfui_file_reset(f);
	if (fd < 0)
		return dfui_fail(f, DFU_ERR_INVALID, "bad file descriptor");
	if (fstat(fd, &st) != 0)
		return dfui_fail_errno(f, errno, "fstat");
	if (S_ISREG(st.st_mode)) {
		size = st.st_size;
	} else {
		size = lseek(fd, 0, SEEK_END);
		if (size < 0 || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
			return dfui_fail(f, DFU_ERR_INVALID,
			    "the input cannot seek (a pipe?): read it from a "
			    "regular file");
	}
	f->has_input = 1;
	f->in.fd = fd;
	f->in.size = (uint64_t)size;
	return read_input(f, flags);
}

int
dfu_file_read_mem(struct dfu_file *f, const void *buf, size_t len,
    unsigned flags)
{
	dfui_file_reset(f);
	if (buf == NULL && len > 0)
		return dfui_fail(f, DFU_ERR_INVALID, "buffer is NULL");
	f->has_input = 1;
	f->in.fd = -1;
	f->in.mem = buf != NULL ? buf : (const uint8_t *)"";
	f->in.size = len;
	return read_input(f, flags);
}
