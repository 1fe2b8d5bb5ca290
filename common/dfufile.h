/*
 * dfufile.h - libdfufile: read, check and write USB DFU firmware files
 *
 * Formats:
 *   - plain DFU 1.0/1.1 files: payload followed by the 16-byte DFU suffix
 *     (USB DFU 1.1, appendix B), optionally preceded by a TI Stellaris
 *     (8-byte) or NXP LPC (16-byte) vendor prefix;
 *   - ST DfuSe files (UM0391): 11-byte prefix, up to 255 targets of
 *     274-byte target prefix plus elements (address, size, data), then
 *     the DFU suffix with bcdDFU 0x011a.
 *
 * Conventions:
 *   - Every function that can fail returns 0 on success or a negative
 *     enum dfu_error.  The detail of the last failure is kept on the
 *     handle (dfu_file_errmsg()).
 *   - The library never prints, never exits and never aborts on bad input.
 *   - Reading is streaming: only headers are kept in memory; element data
 *     stays in the input and is read on demand, so a 1 GiB file costs
 *     kilobytes of memory.
 *   - A handle is not thread-safe; distinct handles are independent.
 *   - A pointer a getter returns is borrowed from the handle; each getter
 *     says until when it stays valid.  Text and records never outlive
 *     the handle's _free().
 *
 * Names, in this header and in dfuimage.h, dfulayout.h, dfuplan.h:
 *   - public: functions and types dfu_*, one group per handle
 *     (dfu_file_*, dfu_image_*, dfu_layout_*, dfu_plan_*); the records
 *     whose layout ST's UM0391 fixes dfuse_* (struct dfuse_prefix,
 *     struct dfuse_target); macros and enum constants DFU_* and DFUSE_*;
 *     the library itself dfufile_* and DFUFILE_* (dfufile_version(),
 *     DFUFILE_VERSION_*, DFUFILE_API).  Every public function is declared
 *     with DFUFILE_API.
 *   - private, shared between the library's own files through
 *     dfufile_private.h and image_private.h: dfui_* and DFUI_* ("i" for
 *     internal, as libusb's usbi_), so that a reader, nm and grep tell
 *     them from the contract at a glance; they are never exported.
 *   - private to one file: static, no prefix.
 *   - the tools have their own prefixes, explained where they are
 *     defined (dfuflash's dfl_ in dfuflash/transport.h); none of them
 *     is part of the library.
 */
#ifndef DFUFILE_H
#define DFUFILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * DFUFILE_API marks each function of the library's interface, in every
 * installed header.  The library is compiled with -fvisibility=hidden, so
 * libdfufile.so exports exactly the functions declared with it and
 * nothing that the library's files only share among themselves
 * (tests/cli/test_exports.sh compares the two lists).  A program that
 * includes the headers needs to do nothing about it; a platform without
 * the GNU attribute may define DFUFILE_API itself before the first
 * include.  An installed header that declares functions includes
 * dfufile.h and starts each declaration with DFUFILE_API.
 */
#ifndef DFUFILE_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define DFUFILE_API __attribute__((visibility("default")))
#else
#define DFUFILE_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the library; the Makefile reads DFUFILE_VERSION_STRING. */
#define DFUFILE_VERSION_MAJOR 0
#define DFUFILE_VERSION_MINOR 1
#define DFUFILE_VERSION_PATCH 0
#define DFUFILE_VERSION_STRING "0.1.0"

/* Sizes fixed by the specifications (bytes). */
#define DFU_SUFFIX_SIZE 16		/* DFU 1.1 table B-1 */
#define DFUSE_PREFIX_SIZE 11		/* UM0391 "DfuSe" prefix */
#define DFUSE_TARGET_PREFIX_SIZE 274	/* UM0391 "Target" prefix */
#define DFUSE_ELEMENT_HEADER_SIZE 8	/* dwElementAddress, dwElementSize */
#define DFUSE_TARGET_NAME_SIZE 255	/* szTargetName, NUL included */
#define DFUSE_MAX_TARGETS 255		/* bTargets is one byte */
#define DFU_STELLARIS_PREFIX_SIZE 8
#define DFU_LPC_PREFIX_SIZE 16

/*
 * Reader limit: at most this many elements in one file.  It bounds the
 * memory a hostile header can make the reader spend (dwNbElements is 32
 * bits); no public DfuSe file comes near it.
 */
#define DFU_MAX_ELEMENTS 65536

/* bcdDFU values seen in suffixes. */
#define DFU_BCD_DFU_1_0 0x0100
#define DFU_BCD_DFU_1_1 0x0110
#define DFU_BCD_DFUSE 0x011a

/* 0xffff in idVendor, idProduct or bcdDevice matches any device. */
#define DFU_ID_ANY 0xffff

enum dfu_error {
	DFU_OK = 0,
	DFU_ERR_INVALID = -1,	/* bad argument to a library call */
	DFU_ERR_NOMEM = -2,	/* out of memory */
	DFU_ERR_IO = -3,	/* read or write failed; errno is kept */
	DFU_ERR_FORMAT = -4,	/* the input has at least one error diagnostic */
	DFU_ERR_RANGE = -5,	/* address or size out of range, overlap, limit */
};

/* Static English text for an enum dfu_error value; never NULL, never
 * freed. */
DFUFILE_API const char *dfu_strerror(int err);

/* Version of the library at run time, e.g. "0.1.0"; static text. */
DFUFILE_API const char *dfufile_version(void);

/*
 * CRC of the DFU suffix (dwCRC): CRC-32 with the reflected polynomial
 * 0xedb88320, initial value 0xffffffff and no final complement, over every
 * byte of the file before dwCRC.  Start with DFU_CRC_INIT and feed the bytes
 * in any number of calls; the running value is the dwCRC of the bytes fed
 * so far.  dfu_crc_update(DFU_CRC_INIT, "123456789", 9) == 0x340bc6d9.
 */
#define DFU_CRC_INIT 0xffffffffu
DFUFILE_API uint32_t dfu_crc_update(uint32_t crc, const void *buf, size_t len);

/* The 16-byte DFU suffix, in file order (DFU 1.1 table B-1). */
struct dfu_suffix {
	uint16_t bcdDevice;
	uint16_t idProduct;
	uint16_t idVendor;
	uint16_t bcdDFU;
	uint8_t ucDfuSignature[3]; /* 'U', 'F', 'D' in file order */
	uint8_t bLength;
	uint32_t dwCRC;
};

/* Decode 16 bytes; returns DFU_ERR_FORMAT if the signature is not "UFD". */
DFUFILE_API int dfu_suffix_decode(struct dfu_suffix *s, const uint8_t buf[DFU_SUFFIX_SIZE]);
/* Encode s into 16 bytes, as they appear in the file. */
DFUFILE_API void dfu_suffix_encode(const struct dfu_suffix *s, uint8_t buf[DFU_SUFFIX_SIZE]);

/* The 11-byte DfuSe prefix (UM0391 table 1). */
struct dfuse_prefix {
	char szSignature[5]; /* "DfuSe", not NUL-terminated */
	uint8_t bVersion;
	uint32_t DFUImageSize;
	uint8_t bTargets;
};

/* What a target prefix declared, as read (UM0391 table 2). */
struct dfuse_target {
	uint8_t bAlternateSetting;
	uint32_t bTargetNamed;
	char szTargetName[DFUSE_TARGET_NAME_SIZE + 1]; /* always NUL-terminated */
	uint32_t dwTargetSize;
	uint32_t dwNbElements;
	uint64_t offset; /* file offset of the "Target" signature; 0 if built */
};

/* One image element. */
struct dfu_element {
	uint32_t address; /* dwElementAddress */
	uint32_t size;	  /* dwElementSize, padding included */
	uint64_t offset;  /* file offset of the data; 0 if built */
};

enum dfu_format {
	DFU_FORMAT_UNKNOWN = 0, /* neither a DfuSe prefix nor a DFU suffix */
	DFU_FORMAT_PLAIN,	/* payload + DFU suffix */
	DFU_FORMAT_DFUSE,	/* ST DfuSe */
};

enum dfu_vendor_prefix_kind {
	DFU_VENDOR_PREFIX_NONE = 0,
	DFU_VENDOR_PREFIX_STELLARIS, /* TI Stellaris lmdfu, 8 bytes */
	DFU_VENDOR_PREFIX_LPC,	     /* NXP LPC, 16 bytes */
};

/* A vendor prefix in front of a plain DFU payload. */
struct dfu_vendor_prefix {
	enum dfu_vendor_prefix_kind kind;
	uint32_t size;	  /* bytes of the prefix itself */
	uint32_t address; /* Stellaris: flash address (field x 1024); LPC: 0 */
	uint32_t length;  /* Stellaris: payload bytes; LPC: 512-byte blocks */
};

/*
 * Diagnostics: what the reader found.  Each has a stable code:
 *
 * errors (the file is unusable)
 *   not-dfu              neither a DfuSe prefix nor a DFU suffix
 *   too-short            fewer bytes than a DFU suffix
 *   no-suffix            DfuSe file whose ucDfuSignature is not "UFD"
 *   dfuse-signature      a "Target" prefix at offset 11 after a damaged
 *                        "DfuSe" signature
 *   suffix-length        bLength below 16 or beyond the file
 *   crc-mismatch         dwCRC differs from the computed CRC
 *   dfuse-version        bVersion is not 1
 *   image-size           DFUImageSize is the image size neither without
 *                        its suffix nor with it
 *   no-targets           bTargets is 0
 *   truncated            a header or element data runs past the image (a
 *                        truncated element is listed with its declared
 *                        size; reading its missing bytes fails)
 *   target-signature     a target prefix does not start with "Target"
 *   target-name-unterminated  szTargetName has no NUL in its 255 bytes
 *   element-count        dwNbElements cannot fit in the bytes that remain
 *   too-many-elements    more than DFU_MAX_ELEMENTS elements
 *   element-past-target  an element ends past its target's dwTargetSize
 *   target-size          dwTargetSize is larger than its elements
 *   address-overflow     dwElementAddress + dwElementSize passes 4 GiB
 *   element-overlap      two elements of one target overlap
 *   leftover             bytes between the last target and the suffix
 * notes (legal, worth knowing)
 *   image-size-excludes-suffix  DFUImageSize = file size - bLength (dfu.py,
 *                               elf2dfuse, hex2dfu, fwupd, this library)
 *   image-size-includes-suffix  DFUImageSize = file size (dfuse-pack >= 0.10)
 *   target-name-junk     non-zero bytes after the NUL of szTargetName
 *   target-named         bTargetNamed is not 0 or 1, or 0 with a name
 *   wildcard-id          idVendor, idProduct or bcdDevice is 0xffff
 *   empty-element        an element of size 0
 *   empty-payload        a plain file with nothing before its suffix
 *   duplicate-alt        two targets with the same bAlternateSetting
 *   bcddfu-mismatch      bcdDFU 0x011a without a DfuSe prefix, or a DfuSe
 *                        prefix with another bcdDFU
 *   bcddfu-unknown       bcdDFU is not 0x0100, 0x0110 or 0x011a
 *   extended-suffix      bLength above 16
 *   vendor-prefix        a TI Stellaris or NXP LPC prefix was recognised
 *   vendor-prefix-length an NXP LPC prefix's block count disagrees with the
 *                        payload (a Stellaris prefix is only recognised
 *                        when its length matches)
 *   crc-mismatch         (a note when read with DFU_READ_IGNORE_CRC)
 *   too-many-diagnostics the list stops at 1000 entries (errors past it
 *                        are still counted by dfu_file_error_count())
 */
enum dfu_severity {
	DFU_NOTE = 1,  /* legal, but worth knowing */
	DFU_ERROR = 2, /* the file is unusable */
};

/*
 * code and field are static text; message belongs to the handle and
 * lives as long as the record (see dfu_file_diag()).
 */
struct dfu_diag {
	enum dfu_severity severity;
	const char *code;    /* stable kebab-case identifier, e.g. "crc-mismatch" */
	uint64_t offset;     /* file offset of the field concerned */
	const char *field;   /* name of that field, e.g. "dwCRC", "DFUImageSize" */
	const char *message; /* lower case, no trailing period */
};

/* Opaque handle: one DFU file, read or being built. */
struct dfu_file;

DFUFILE_API struct dfu_file *dfu_file_new(void); /* NULL if out of memory */
DFUFILE_API void dfu_file_free(struct dfu_file *f); /* NULL is allowed */

/*
 * Last failure of a call on this handle, for example
 * "offset 0x3a8d (dwElementSize): element 2 of target 0 runs past the end
 * of the image".  Never NULL; "" when nothing failed.  The text is the
 * handle's: valid until the next call on the handle.
 */
DFUFILE_API const char *dfu_file_errmsg(const struct dfu_file *f);
/* errno of the last DFU_ERR_IO, 0 otherwise. */
DFUFILE_API int dfu_file_errno(const struct dfu_file *f);

/* ---- Reading ---------------------------------------------------------- */

/* Flags for dfu_file_read_*(). */
#define DFU_READ_IGNORE_CRC 0x1u /* a CRC mismatch is a note, not an error */
#define DFU_READ_DEFER_CRC 0x2u	 /* no CRC pass: see dfu_file_crc_feed() */
/*
 * DFU_READ_MAP: the CRC pass of a large file (16 MiB and more) maps the
 * file, a few MiB at a time, instead of copying it out (64 MiB in the
 * page cache on 2 cores: 1.1-1.3x the time of cat(1), against 1.8x when
 * copied out).  The cost is the usual one of a
 * mapping: if another process truncates the file while the pass runs, the
 * kernel raises SIGBUS in this process.  A file found shorter before a
 * window is mapped is an ordinary DFU_ERR_IO ("the input shrank"); only
 * set the flag in a process that handles SIGBUS, or that knows the file
 * cannot shrink.  dfu_file_read_mem() ignores it.
 */
#define DFU_READ_MAP 0x4u

/*
 * Read and check a whole file.  fd must be seekable (a regular file or
 * block device); its file position is not used and not changed.  The
 * handle borrows fd: keep it open while element data is read or the file
 * is written out again, and close it yourself after dfu_file_free().
 * Any previous content of the handle is dropped.
 *
 * Returns 0 when the file has no error (notes are allowed),
 * DFU_ERR_FORMAT when it has at least one (the diagnostics say which, and
 * the headers read so far stay available), DFU_ERR_IO, DFU_ERR_NOMEM or
 * DFU_ERR_INVALID (fd not seekable).
 */
DFUFILE_API int dfu_file_read_fd(struct dfu_file *f, int fd, unsigned flags);

/*
 * A read with DFU_READ_DEFER_CRC walks the headers but does not stream
 * the whole file for dwCRC, so that a caller that reads every byte anyway
 * (dfusplit copying the elements out) reads each byte once.  The caller
 * then passes the file's bytes to dfu_file_crc_feed() in file order from
 * offset 0 (bytes past the CRC's end, the last 4, are ignored), and
 * dfu_file_crc_check() gives the verdict the read would have given: 0,
 * or DFU_ERR_FORMAT with the crc-mismatch diagnostic added and the
 * error message set (a note, and 0, with DFU_READ_IGNORE_CRC).
 * dfu_file_crc() is valid after it.  DFU_ERR_INVALID when not every byte
 * was fed or the read was not deferred.
 */
DFUFILE_API void dfu_file_crc_feed(struct dfu_file *f, const void *buf,
				   size_t len);
DFUFILE_API int dfu_file_crc_check(struct dfu_file *f);

/* Same, from memory.  buf is borrowed: keep it unchanged while f uses it. */
DFUFILE_API int dfu_file_read_mem(struct dfu_file *f, const void *buf, size_t len,
				  unsigned flags);

/*
 * Diagnostics of the last read, in file order.  i < dfu_file_diag_count().
 * The record and its message belong to the handle: valid until the next
 * dfu_file_read_*(), dfu_file_init() or dfu_file_free() (building calls
 * leave them alone).
 */
DFUFILE_API size_t dfu_file_diag_count(const struct dfu_file *f);
DFUFILE_API const struct dfu_diag *dfu_file_diag(const struct dfu_file *f, size_t i);
/* Number of diagnostics with severity DFU_ERROR. */
DFUFILE_API size_t dfu_file_error_count(const struct dfu_file *f);

DFUFILE_API enum dfu_format dfu_file_format(const struct dfu_file *f);
DFUFILE_API uint64_t dfu_file_size(const struct dfu_file *f); /* bytes of the input */

/*
 * The records below belong to the handle and are valid until the next
 * dfu_file_read_*(), dfu_file_init() or dfu_file_free(); building calls
 * (dfu_file_set_ids(), dfu_file_set_bcd_dfu()) update them in place.
 */

/* The suffix as read or as it will be written; NULL if the input had none. */
DFUFILE_API const struct dfu_suffix *dfu_file_suffix(const struct dfu_file *f);
/* dwCRC computed over the input (valid after a read). */
DFUFILE_API uint32_t dfu_file_crc(const struct dfu_file *f);
/* The DfuSe prefix as read; NULL unless the input was DfuSe. */
DFUFILE_API const struct dfuse_prefix *dfu_file_dfuse_prefix(const struct dfu_file *f);
/* The vendor prefix as read; NULL if none. */
DFUFILE_API const struct dfu_vendor_prefix *dfu_file_vendor_prefix(const struct dfu_file *f);

/*
 * Targets and elements (DfuSe).  Indexes out of range give NULL / 0.
 * A target points into an array that adding a target reallocates: valid
 * until the next dfu_file_add_target(), dfu_file_read_*(),
 * dfu_file_init() or dfu_file_free().  An element points into its
 * target's array of elements: valid until an element is added to that
 * target (dfu_file_add_element_*(), dfu_image_add_elements()) or the
 * next dfu_file_read_*(), dfu_file_init() or dfu_file_free();
 * dfu_file_pad_elements() changes its size in place.  Copy what must
 * outlive those calls.
 */
DFUFILE_API unsigned dfu_file_target_count(const struct dfu_file *f);
DFUFILE_API const struct dfuse_target *dfu_file_target(const struct dfu_file *f,
						       unsigned target);
/* The number of elements actually present (may be < dwNbElements). */
DFUFILE_API unsigned dfu_file_element_count(const struct dfu_file *f, unsigned target);
DFUFILE_API const struct dfu_element *dfu_file_element(const struct dfu_file *f,
						       unsigned target, unsigned element);

/*
 * Copy len bytes of an element, from byte offset off of its data, into
 * buf.  off + len must not exceed the element size.  Padding added by
 * dfu_file_pad_elements() reads as the fill byte.
 */
DFUFILE_API int dfu_file_element_read(struct dfu_file *f, unsigned target,
				      unsigned element, uint64_t off, void *buf,
				      size_t len);

/* Plain DFU: the payload (after any vendor prefix, before the suffix). */
DFUFILE_API uint64_t dfu_file_payload_size(const struct dfu_file *f);
DFUFILE_API int dfu_file_payload_read(struct dfu_file *f, uint64_t off, void *buf,
				      size_t len);
/*
 * A plain file that was read: the bytes of its vendor prefix, exactly
 * dfu_file_vendor_prefix()->size of them (len must be that).  The device
 * reads that header (TI Stellaris and NXP LPC boot ROMs; DFU 1.1 appendix
 * B strips only the suffix), so a flasher sends prefix and payload.
 * DFU_ERR_INVALID without a prefix or for another len; DFU_ERR_IO.
 */
DFUFILE_API int dfu_file_vendor_prefix_read(struct dfu_file *f, void *buf,
					    size_t len);

/* ---- Building --------------------------------------------------------- */

/*
 * The calls below build a new file after dfu_file_init(), or edit a file
 * that was read (its element data still comes from the input, which must
 * stay open until the file is written).  They check what they add, not
 * the diagnostics of the read: writing a file that had errors is the
 * caller's decision.
 */

/*
 * Drop any content and start an empty file of the given format
 * (DFU_FORMAT_PLAIN or DFU_FORMAT_DFUSE).  The suffix starts as
 * idVendor = idProduct = bcdDevice = 0xffff, bcdDFU 0x011a for DfuSe and
 * 0x0100 for plain files (the value DFU 1.1 table B-1 gives).
 */
DFUFILE_API int dfu_file_init(struct dfu_file *f, enum dfu_format format);

/* Set the suffix fields of the file to write. */
DFUFILE_API int dfu_file_set_ids(struct dfu_file *f, uint16_t idVendor,
				 uint16_t idProduct, uint16_t bcdDevice);
DFUFILE_API int dfu_file_set_bcd_dfu(struct dfu_file *f, uint16_t bcdDFU);

/*
 * Bytes written between the content and the 16-byte suffix, which bLength
 * then counts (DFU 1.1 section B.1 lets the suffix grow; fwupd writes its
 * metadata table there).  At most DFU_SUFFIX_EXTENSION_MAX bytes; copied.
 * size 0 writes the plain 16-byte suffix again.  DFU_ERR_RANGE when too
 * long.  A file that was read keeps no extension unless one is set.
 */
#define DFU_SUFFIX_EXTENSION_MAX (255 - DFU_SUFFIX_SIZE)
DFUFILE_API int dfu_file_set_suffix_extension(struct dfu_file *f,
					      const void *data, size_t size);

/*
 * Append a target (DfuSe only).  name NULL means unnamed (bTargetNamed 0);
 * otherwise at most 254 bytes, written NUL-padded.  Returns the new
 * target's index (>= 0) or DFU_ERR_RANGE after 255 targets,
 * DFU_ERR_INVALID for a name that is too long.
 */
DFUFILE_API int dfu_file_add_target(struct dfu_file *f, uint8_t alt, const char *name);

/*
 * Append an element to a target (DfuSe only).  The data is size bytes:
 *   _mem: copied from data;
 *   _fd:  read from fd at offset when the file is written (fd is borrowed
 *         and must stay open and unchanged until then).
 * Returns the element's index (>= 0), DFU_ERR_RANGE if address + size
 * passes 4 GiB or the range overlaps an element of the same target or of
 * another target for the same alternate setting (one memory; the message
 * names it), DFU_ERR_INVALID for a bad target index.
 */
DFUFILE_API int dfu_file_add_element_mem(struct dfu_file *f, unsigned target,
					 uint32_t address, const void *data,
					 uint32_t size);
DFUFILE_API int dfu_file_add_element_fd(struct dfu_file *f, unsigned target,
					uint32_t address, int fd, uint64_t offset,
					uint32_t size);

/*
 * Element or payload data that a caller's function supplies: read(arg,
 * off, buf, len) puts len bytes, from byte off of the data, into buf and
 * returns 0, or -1 when it cannot (it keeps its own account of why; the
 * call that read fails with DFU_ERR_IO).  dfu_file_write_fd() asks for
 * the bytes once, in order, so the function can stream them from a file
 * it opens at offset 0 and check them on the way (dfusplit --join hashes
 * each element file as it is written); dfu_file_element_read() may ask
 * for any range.  arg is borrowed.
 */
typedef int (*dfu_read_fn)(void *arg, uint64_t off, void *buf, size_t len);
DFUFILE_API int dfu_file_add_element_cb(struct dfu_file *f, unsigned target,
					uint32_t address, dfu_read_fn read,
					void *arg, uint32_t size);
DFUFILE_API int dfu_file_set_payload_cb(struct dfu_file *f, dfu_read_fn read,
					void *arg, uint64_t size);

/*
 * Round every element size up to a multiple of `multiple` (a power of two
 * is not required; 0 and 1 do nothing), the new bytes reading as `fill`.
 * DFU_ERR_RANGE if that makes an element pass 4 GiB or overlap another.
 */
DFUFILE_API int dfu_file_pad_elements(struct dfu_file *f, uint32_t multiple, uint8_t fill);

/* Set the payload of a plain file (same ownership rules as elements). */
DFUFILE_API int dfu_file_set_payload_mem(struct dfu_file *f, const void *data,
					 size_t size);
DFUFILE_API int dfu_file_set_payload_fd(struct dfu_file *f, int fd, uint64_t offset,
					uint64_t size);

/*
 * Write the file to fd with sequential write()s (a pipe is fine).
 * Deterministic: the same content gives the same bytes.  DFUImageSize is
 * written without the suffix; names are NUL-padded; dwTargetSize,
 * dwNbElements, bTargets and dwCRC are computed.  A file that was read
 * can be written again (its input must still be open); vendor prefixes
 * are not written.  Returns DFU_ERR_INVALID for a DfuSe file without
 * targets or a plain file without payload, DFU_ERR_IO on a failed read of
 * element data or a failed write.
 */
DFUFILE_API int dfu_file_write_fd(struct dfu_file *f, int fd);

/*
 * The same, with flags.  DFU_WRITE_WRITEBACK: for a caller that will
 * fsync() fd, have the kernel start writing the data out every few MiB
 * (sync_file_range() on Linux, nothing elsewhere or on a pipe), so that
 * the sync overlaps the writing: a new 64 MiB file written and synced
 * took 23 ms instead of 32 on the development VM.  Without a sync to
 * follow it only adds disk traffic sooner.  DFU_ERR_INVALID for an
 * unknown flag.
 */
#define DFU_WRITE_WRITEBACK 0x1u
DFUFILE_API int dfu_file_write_fd_flags(struct dfu_file *f, int fd,
					unsigned flags);

/* Bytes that dfu_file_write_fd() would write. */
DFUFILE_API uint64_t dfu_file_write_size(const struct dfu_file *f);

#ifdef __cplusplus
}
#endif

#endif /* DFUFILE_H */
