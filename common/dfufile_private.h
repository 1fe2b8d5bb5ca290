/*
 * dfufile_private.h - internals of libdfufile shared between its files.
 * Nothing here is installed.
 *
 * The files of the DFU file half of the library form layers; a file calls
 * only into the layers below it, never up or in a circle
 * (tests/cli/test_layering.sh checks the calls in libdfufile.a):
 *
 *   read.c     the top-level reader, dfu_file_read_fd/_mem(): format
 *              detection, suffix, CRC, vendor prefixes, plain payloads;
 *              calls dfuse.c for a DfuSe image
 *   write.c    the writer, dfu_file_write_fd()
 *   dfuse.c    the DfuSe walk: targets and elements of the input
 *   file.c     the handle: new/free/reset, getters, building (targets,
 *              elements, padding) and reading an element's bytes
 *   source.c   byte sources: the input, and an element's or payload's data
 *   error.c    the handle's last failure and its diagnostics
 *   suffix.c crc.c   the fixed records and the CRC (no handle)
 *
 * The memory image (image.c) and its loaders (elf.c, ihex.c, srec.c) share
 * image_private.h instead; layout.c and plan.c have no private interface
 * and use the other files through the installed headers only.
 */
#ifndef DFUFILE_PRIVATE_H
#define DFUFILE_PRIVATE_H

#include <stdint.h>
#include <stddef.h>

#include "dfufile.h"

/* Diagnostics kept per read (errors past it are still counted). */
#define DFUI_MAX_DIAGS 1000

/*
 * I/O chunk for the CRC pass and the writer's buffers: small enough that
 * a buffer stays in the CPU caches between the read, the CRC and the
 * write, large enough that system calls cost little.  Measured with
 * bench/: 64 KiB chunks cost 20% at 64 MiB, 1 MiB chunks cost page faults
 * on small files.
 */
#define DFUI_IO_CHUNK (256u << 10)

/* Where the bytes of an element or a plain payload come from. */
enum dfui_source_kind {
	DFUI_SRC_NONE = 0,
	DFUI_SRC_MEM,   /* a copy owned by the handle */
	DFUI_SRC_FD,    /* a caller's descriptor, read with pread() */
	DFUI_SRC_INPUT, /* the input the handle was read from */
	DFUI_SRC_CB,	/* a caller's function */
};

struct dfui_source {
	enum dfui_source_kind kind;
	uint8_t *mem;	 /* DFUI_SRC_MEM */
	int fd;		 /* DFUI_SRC_FD */
	uint64_t offset; /* DFUI_SRC_FD, DFUI_SRC_INPUT */
	dfu_read_fn read; /* DFUI_SRC_CB, with arg */
	void *arg;
	uint64_t size;	 /* real bytes; the rest of the element is fill */
};

/*
 * Padding added by dfu_file_pad_elements(): element bytes from the end of
 * the previous run (or of the source) up to `end` read as `byte`.  Each
 * call may use another fill byte, so an element keeps one run per call.
 */
struct dfui_fill {
	uint32_t end;
	uint8_t byte;
};

struct dfui_element {
	struct dfu_element pub;
	struct dfui_source src;
	struct dfui_fill *fills;
	unsigned nfills;
};

struct dfui_target {
	struct dfuse_target pub;
	int named; /* written as bTargetNamed */
	struct dfui_element *elems;
	unsigned nelems, cap;
	uint64_t end;	/* the highest end address of its non-empty elements,
			   0 if none: an element added at or above it cannot
			   overlap them (file.c, check_range) */
};

/* Record in t->end an element [address, address + size) of t. */
static inline void
dfui_target_note_range(struct dfui_target *t, uint32_t address, uint64_t size)
{
	if (size > 0 && (uint64_t)address + size > t->end)
		t->end = (uint64_t)address + size;
}

/* The input a handle was read from: a descriptor or a borrowed buffer. */
struct dfui_input {
	int fd;			/* -1 for memory */
	const uint8_t *mem;
	uint64_t size;
};

struct dfu_file {
	enum dfu_format format;
	int has_input;
	struct dfui_input in;

	int has_suffix;
	struct dfu_suffix suffix;
	uint8_t suffix_ext[255 - DFU_SUFFIX_SIZE]; /* written before it */
	size_t suffix_ext_size;
	uint32_t crc;

	/* DFU_READ_DEFER_CRC: the caller feeds the bytes (read.c). */
	unsigned read_flags;
	int crc_deferred;
	uint64_t crc_fed;	/* bytes fed so far */
	uint32_t crc_tail;	/* over the bytes after a vendor prefix */

	int has_dfuse_prefix;
	struct dfuse_prefix dfuse;

	int has_vendor_prefix;
	struct dfu_vendor_prefix vendor;

	struct dfui_target *targets;
	unsigned ntargets;
	unsigned nelements; /* over all targets */

	struct dfui_source payload; /* plain files */

	struct dfu_diag *diags;
	size_t ndiags, diag_cap, nerrors;

	char errmsg[512];
	int err_errno;
};

/* Little-endian field access. */
static inline uint16_t
dfui_le16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t
dfui_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline void
dfui_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
dfui_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* crc.c: the dwCRC of A then B, from crc_a = dfu_crc_update(DFU_CRC_INIT,
 * A) and crc_b = dfu_crc_update(DFU_CRC_INIT, B) with len_b the size of B
 * (so that two halves can be summed apart). */
uint32_t dfui_crc_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* error.c: the message of the last failure, returned as `err`. */
int dfui_fail(struct dfu_file *f, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int dfui_fail_errno(struct dfu_file *f, int saved_errno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void dfui_clear_error(struct dfu_file *f);

/* error.c: add a diagnostic; returns DFU_ERR_NOMEM if it cannot. */
int dfui_diag_add(struct dfu_file *f, enum dfu_severity sev, const char *code,
		  uint64_t offset, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void dfui_diag_sort(struct dfu_file *f);
void dfui_diag_clear(struct dfu_file *f);

/* file.c */
void dfui_file_reset(struct dfu_file *f);
struct dfui_target *dfui_target_append(struct dfu_file *f);
struct dfui_element *dfui_element_append(struct dfu_file *f,
					 struct dfui_target *t);
/* Bytes [off, off+len) of an element's data: its source, then padding. */
int dfui_element_read(struct dfu_file *f, const struct dfui_element *e,
		      uint64_t off, void *buf, size_t len);

/* source.c: exactly len bytes at off of fd: 0, an errno, or -1 if the
 * file ended first; *at gets the offset of the read that failed.  Safe on
 * any thread (nothing is written to a handle). */
int dfui_pread_full(int fd, void *buf, size_t len, uint64_t off,
		    uint64_t *at);
/* source.c: bytes of the input, 0 or DFU_ERR_IO. */
int dfui_input_read(struct dfu_file *f, uint64_t off, void *buf, size_t len);
/* Bytes of a source, `off` from its start (within src->size). */
int dfui_source_read(struct dfu_file *f, const struct dfui_source *src,
		     uint64_t off, void *buf, size_t len);

/* dfuse.c: walk the DfuSe structure in [0, end) of the input. */
int dfui_dfuse_parse(struct dfu_file *f, uint64_t end);

#endif /* DFUFILE_PRIVATE_H */
