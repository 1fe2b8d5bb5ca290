/*
 * dfuimage.h - libdfufile: memory images loaded from ELF, Intel HEX and
 * Motorola S-record files, and their conversion to DfuSe elements.
 *
 * A memory image is a sorted set of non-overlapping pieces, each a run of
 * bytes at a 32-bit address.  Pieces that touch form one range; a gap
 * between two pieces starts a new range.  Loaders add the bytes a device
 * loader would write to memory, at the address where the device stores
 * them (the ELF load address, LMA).
 *
 * Conventions are those of dfufile.h: every function that can fail
 * returns 0 or a negative enum dfu_error and keeps the detail on the
 * handle (dfu_image_errmsg()); messages name the line (HEX, S-records) or
 * the section or segment (ELF) concerned and never the file, which the
 * caller knows.  Nothing here prints, exits or aborts on bad input.  A
 * handle is not thread-safe; distinct handles are independent.
 */
#ifndef DFUIMAGE_H
#define DFUIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "dfufile.h"

#ifdef __cplusplus
extern "C" {
#endif

enum dfu_image_format {
	DFU_IMAGE_UNKNOWN = 0,
	DFU_IMAGE_ELF,	/* ELF32 or ELF64, either byte order */
	DFU_IMAGE_IHEX, /* Intel HEX, record types 00-05 */
	DFU_IMAGE_SREC, /* Motorola S-records, S0-S9 */
};

/*
 * The format of a file from its first bytes: "\177ELF" is ELF; after
 * optional white space, ':' is Intel HEX and 'S' followed by a digit is
 * S-records.  The name of a file plays no part.
 */
DFUFILE_API enum dfu_image_format dfu_image_detect(const void *buf, size_t len);
/* "ELF", "Intel HEX", "S-records" or "unknown"; static text, never NULL. */
DFUFILE_API const char *dfu_image_format_name(enum dfu_image_format format);

/* Opaque handle: one memory image. */
struct dfu_image;

DFUFILE_API struct dfu_image *dfu_image_new(void); /* NULL if out of memory */
/*
 * Frees the handle, the bytes it owns and its temporary files (below);
 * descriptors it was given stay open.
 */
DFUFILE_API void dfu_image_free(struct dfu_image *img); /* NULL is allowed */

/*
 * Last failure, never NULL, "" when nothing failed; as dfu_file_errmsg(),
 * the text is valid until the next call on the handle.
 */
DFUFILE_API const char *dfu_image_errmsg(const struct dfu_image *img);
/* errno of the last DFU_ERR_IO, 0 otherwise. */
DFUFILE_API int dfu_image_errno(const struct dfu_image *img);

/*
 * Copy size bytes from data into the image at address.  DFU_ERR_RANGE if
 * address + size passes 4 GiB or the bytes overlap bytes already in the
 * image (the message names both origins).  origin names the piece in
 * later messages (copied; NULL gives "data").
 */
DFUFILE_API int dfu_image_add_mem(struct dfu_image *img, uint32_t address,
				  const void *data, uint32_t size, const char *origin);

/* ---- Loaders ------------------------------------------------------------ */

/*
 * Each loader adds what it reads to the image, which may already hold
 * other bytes (they must not overlap).  A load that fails leaves the
 * image as it was, entry point included.
 */

/*
 * Which ELF sections to load, by name, as objcopy's -j and -R: with any
 * `only` names, a section must be one of them; a section named in
 * `remove` is never loaded.  Names that match no section are not errors
 * (build recipes pass -R .eeprom to builds that have none); an image left
 * with nothing loadable is.  NULL or zero counts select everything.
 */
struct dfu_elf_filter {
	const char *const *only;
	size_t nonly;
	const char *const *remove;
	size_t nremove;
};

/*
 * Load an ELF file (ELF32 or ELF64, little or big endian, any machine).
 * With section headers, every section with SHF_ALLOC, a type other than
 * SHT_NOBITS and a non-zero size is loaded at its load address: the
 * physical address (p_paddr) of the PT_LOAD segment that holds it plus the
 * section's offset in that segment, or its own address if no PT_LOAD holds
 * it - what objcopy -O binary does.  .bss, NOLOAD sections, sections
 * without SHF_ALLOC and bytes that no section covers (such as an ELF
 * header mapped by a PT_LOAD) are not loaded.  Without section headers,
 * every PT_LOAD with p_filesz > 0 is loaded at p_paddr, less any bytes of
 * the ELF header and program header table it maps.
 *
 * The bytes stay in the file: fd is borrowed (pread() only, the file
 * position is not used) and must stay open and unchanged while the image
 * is used.  filter may be NULL.
 *
 * DFU_ERR_FORMAT for a file that is not ELF, a relocatable object
 * (ET_REL: not linked, no addresses yet), truncated or inconsistent
 * headers (an offset or size past the end of the file), a load address
 * past 4 GiB, nothing loadable; DFU_ERR_RANGE for overlapping load ranges;
 * DFU_ERR_INVALID for a filter on a file without section headers.
 */
DFUFILE_API int dfu_image_load_elf(struct dfu_image *img, int fd,
				   const struct dfu_elf_filter *filter);

/*
 * Load Intel HEX from fd, read sequentially to its end (a pipe is fine).
 * Record types 00 (data), 01 (end of file), 02 (extended segment
 * address), 03 (start segment address), 04 (extended linear address) and
 * 05 (start linear address); LF or CRLF line ends; empty lines are
 * allowed; records may come in any address order.  The address of a data
 * byte is base + offset; after a type 02 record the offset wraps within
 * the 64 KiB segment, as the Intel specification says, after a type 04
 * record it does not, and a byte past 0xffffffff is an error, not a byte
 * at 0 (srec_cat reads them the same way).  Overlapping records must hold
 * the same bytes.
 *
 * The decoded bytes go to an unnamed temporary file in $TMPDIR (else
 * /tmp) that the image keeps open until dfu_image_free(), and records
 * that touch on consecutive lines are kept as one piece, named by its
 * first line: memory grows with the number of such runs, not with the
 * data.  Messages still name the record concerned.  Past a file size
 * limit (RLIMIT_FSIZE) the write fails with EFBIG only if the caller
 * ignores SIGXFSZ.
 *
 * DFU_ERR_FORMAT with "line N: ..." for a malformed line, a bad checksum,
 * a bad record type or length, data past 4 GiB, anything after the end of
 * file record, no end of file record; DFU_ERR_RANGE for records that
 * overlap with different data; DFU_ERR_IO if reading fails or the
 * temporary file cannot be made or written.
 */
DFUFILE_API int dfu_image_load_ihex(struct dfu_image *img, int fd);

/*
 * Load Motorola S-records from fd, read sequentially.  S0 (header), S1,
 * S2, S3 (data at 16, 24, 32-bit addresses), S5, S6 (record count, which
 * must match the data records seen), S7, S8, S9 (termination; optional,
 * but nothing may follow one).  Errors as for dfu_image_load_ihex().
 */
DFUFILE_API int dfu_image_load_srec(struct dfu_image *img, int fd);

/*
 * Entry point given by the file (ELF e_entry; Intel HEX type 03 as
 * segment * 16 + offset, or 05; S7/S8/S9), 1 if there is one, else 0.
 */
DFUFILE_API int dfu_image_entry(const struct dfu_image *img, uint32_t *entry);

/* ---- Contents ----------------------------------------------------------- */

/* Ranges: maximal runs of touching pieces, in address order. */
DFUFILE_API size_t dfu_image_range_count(const struct dfu_image *img);
/*
 * Address and size of range i (size 1 to 2^32); DFU_ERR_INVALID if i is
 * out of range.
 */
DFUFILE_API int dfu_image_range(const struct dfu_image *img, size_t i, uint32_t *address,
				uint64_t *size);

/*
 * Pieces, as loaded (before merging), for listings; a run of touching
 * HEX or S-records on consecutive lines is one piece.
 */
DFUFILE_API size_t dfu_image_piece_count(const struct dfu_image *img);
/*
 * origin: a section name, "segment N", "line N" (the first line of a
 * run of records) or the origin given; the text is the image's, valid
 * until dfu_image_free() (later loads do not move it).
 */
DFUFILE_API int dfu_image_piece(const struct dfu_image *img, size_t i, uint32_t *address,
				uint32_t *size, const char **origin);

/*
 * Copy len bytes at address into buf.  DFU_ERR_RANGE if any of them is not
 * in the image; DFU_ERR_IO if reading an ELF file fails.
 */
DFUFILE_API int dfu_image_read(struct dfu_image *img, uint32_t address, void *buf,
			       size_t len);

/* ---- Conversion --------------------------------------------------------- */

/*
 * Add the bytes of the image between first and last (inclusive) to target
 * of f as DfuSe elements, in address order: one element per range, cut at
 * first and last.  With max_gap > 0, two ranges at most max_gap bytes
 * apart become one element, the gap reading as fill.
 *
 * Streaming: an element whose bytes are one run of one file (an ELF
 * file, or the temporary file of HEX or S-records) is added with
 * dfu_file_add_element_fd() and read only when f is written; any other
 * element is assembled, in memory (dfu_file_add_element_mem()) up to
 * 1 MiB, past that in a temporary file of the image (fd again).  So the
 * image must outlive every use of f.  *nelements (may be NULL) gets
 * the number of elements added, 0 if nothing lies between first and last.
 * A failure of a dfu_file_*() call is reported here, with its code and
 * message copied to img.
 */
DFUFILE_API int dfu_image_add_elements(struct dfu_image *img, struct dfu_file *f,
				       unsigned target, uint32_t first, uint32_t last,
				       uint32_t max_gap, uint8_t fill,
				       unsigned *nelements);

#ifdef __cplusplus
}
#endif

#endif /* DFUIMAGE_H */
