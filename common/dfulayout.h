/*
 * dfulayout.h - libdfufile: the memory layout string of a DfuSe device
 *
 * A DfuSe device (ST UM0424, "STM32 USB-FS-Device development kit",
 * section "DFU memory layout") names each alternate setting of its DFU
 * interface with a string descriptor of this form:
 *
 *     @Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg
 *
 * '@', the name of the memory, then one or more groups of '/', a start
 * address written "0x" and hexadecimal digits, '/', and comma-separated
 * sectors "COUNT*SIZE" followed by a multiplier and a type letter:
 *   multiplier  'B' or ' ' bytes (the STM32 ROM bootloaders send a space),
 *               'K' 1024 bytes, 'M' 1024 * 1024 bytes;
 *   type        'a' to 'g', whose low three bits give the access:
 *               bit 0 readable, bit 1 erasable, bit 2 writable, so 'a' is
 *               readable only, 'e' readable and writable, 'g' all three.
 * The sectors of a group follow each other from its start address.
 *
 * Real bootloaders do not all follow that form.  What the parser accepts
 * beyond it, it reports as a note (see dfu_layout_note()), one code per
 * quirk:
 *   no-multiplier  "COUNT*SIZE<type>" with no multiplier letter: SIZE is
 *                  read as bytes.  The STM32F72x ROM sends
 *                  "@OTP Memory /0x1FF07800/01*528e" (fwupd/fwupd#2062).
 *
 * Conventions are those of dfufile.h: functions return 0 or a negative
 * enum dfu_error and keep the detail on the handle; nothing here prints
 * or exits.  A handle is not thread-safe.
 */
#ifndef DFULAYOUT_H
#define DFULAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "dfufile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Access bits of a type letter ('a' + bits - 1). */
#define DFU_LAYOUT_READABLE 0x1u
#define DFU_LAYOUT_ERASABLE 0x2u
#define DFU_LAYOUT_WRITABLE 0x4u

/* One "COUNT*SIZE<mult><type>" sector group: count pages of one size. */
struct dfu_layout_region {
	uint32_t start;	    /* address of the first page */
	uint32_t page_size; /* bytes, never 0 */
	uint32_t count;	    /* pages, never 0 */
	uint64_t end;	    /* start + count * page_size (may be 4 GiB) */
	char type;	    /* the letter as written, 'a' to 'g' */
	unsigned access;    /* DFU_LAYOUT_* bits of the letter */
};

/* Opaque handle: one parsed layout. */
struct dfu_layout;

DFUFILE_API struct dfu_layout *dfu_layout_new(void);	  /* NULL if out of memory */
DFUFILE_API void dfu_layout_free(struct dfu_layout *l); /* NULL is allowed */

/*
 * Parse a layout string (NUL-terminated; a string descriptor converted
 * to ASCII).  Any previous content of the handle is dropped.  Returns 0,
 * DFU_ERR_FORMAT for a malformed string, DFU_ERR_RANGE for a region that
 * passes 4 GiB or overlaps another, DFU_ERR_NOMEM.  On failure the message
 * gives the offset of the offending character, counted from 0:
 * "offset 27: expected a multiplier (B, K, M or space), found 'x'";
 * dfu_layout_error_offset() returns it.
 */
DFUFILE_API int dfu_layout_parse(struct dfu_layout *l, const char *s);

/* Last failure, never NULL, "" when nothing failed; the text is valid
 * until the next call on the handle. */
DFUFILE_API const char *dfu_layout_errmsg(const struct dfu_layout *l);
/* Offset in the string of the last parse error; 0 if none. */
DFUFILE_API size_t dfu_layout_error_offset(const struct dfu_layout *l);

/*
 * The memory name: the text after '@', trailing spaces removed; never
 * NULL.  It and the regions below belong to the handle: valid until the
 * next dfu_layout_parse() or dfu_layout_free().
 */
DFUFILE_API const char *dfu_layout_name(const struct dfu_layout *l);

/* Regions in string order.  i out of range gives NULL. */
DFUFILE_API unsigned dfu_layout_region_count(const struct dfu_layout *l);
DFUFILE_API const struct dfu_layout_region *dfu_layout_region(const struct dfu_layout *l,
							      unsigned i);

/*
 * The page holding addr: its region (NULL if no region holds addr) and,
 * when page_start is not NULL, the address of the page.
 */
DFUFILE_API const struct dfu_layout_region *dfu_layout_find(const struct dfu_layout *l,
							    uint32_t addr,
							    uint32_t *page_start);

/*
 * Notes of the last successful parse, in string order: each a quirk of a
 * real device that the parser accepted (codes above).  code is static
 * text; message belongs to the handle, valid until the next
 * dfu_layout_parse() or dfu_layout_free().
 */
struct dfu_layout_note {
	const char *code;    /* stable kebab-case identifier, "no-multiplier" */
	size_t offset;	     /* offset in the string of the quirk */
	const char *message; /* lower case, no trailing period */
};

DFUFILE_API unsigned dfu_layout_note_count(const struct dfu_layout *l);
/* i out of range gives NULL. */
DFUFILE_API const struct dfu_layout_note *dfu_layout_note(const struct dfu_layout *l,
							  unsigned i);

/* "readable, erasable, writable" style text for access bits; static
 * text, never NULL. */
DFUFILE_API const char *dfu_layout_access_name(unsigned access);

#ifdef __cplusplus
}
#endif

#endif /* DFULAYOUT_H */
