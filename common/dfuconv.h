/*
 * dfuconv.h - libdfufile: a memory image (dfuimage.h) made into a DfuSe
 * file, its addresses shared out among targets.
 *
 * A conversion is described on a handle, then built into a dfu_file:
 *   - targets, in file order, each an alternate setting and an optional
 *     name;
 *   - either address ranges, each given to one target (a target may have
 *     several), where at most one target has none and takes every address
 *     no range covers; without such a target, every byte of the image
 *     must lie in some range;
 *   - or split points, which cut the 32-bit address space into parts, in
 *     address order, one part per target in target order (n points, n + 1
 *     targets);
 *   - the largest gap between two ranges of the image that one element may
 *     span, and the byte that fills it (dfu_image_add_elements());
 *   - the multiple every element size is padded to, and its fill byte;
 *   - the suffix IDs.
 * Every target must receive at least one byte.  elf2dfu(1) and hex2dfu(1)
 * are this API behind their options (--range, --split-at, --max-gap,
 * --gap-fill, --pad), and dfuflash(1) flashes an ELF, HEX or S-record
 * file as what it builds for a single target.
 *
 * Conventions are those of dfufile.h: every function that can fail
 * returns 0 (or an index) or a negative enum dfu_error and keeps the
 * detail on the handle (dfu_conv_errmsg()); nothing here prints, exits or
 * aborts on bad input.  Messages name targets and ranges by the labels
 * the caller gives ("-t 1", "--range 0x100-0x1ff"), so that they speak the
 * caller's language; without a label, "target alt 2" and
 * "range 0x00000100-0x000001ff".  A handle is not thread-safe; distinct
 * handles are independent.
 */
#ifndef DFUCONV_H
#define DFUCONV_H

#include <stddef.h>
#include <stdint.h>

#include "dfufile.h"
#include "dfuimage.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handle: one description of a conversion, and its last error. */
struct dfu_conv;

/*
 * A new description: no target, no range, no split point; IDs
 * DFU_ID_ANY (0xffff), no gap spanned (max_gap 0, fill 0xff), no padding.
 */
DFUFILE_API struct dfu_conv *dfu_conv_new(void);	/* NULL if out of memory */
DFUFILE_API void dfu_conv_free(struct dfu_conv *c); /* NULL is allowed */

/* Last failure, never NULL, "" when nothing failed.  Valid until the next
 * call on c. */
DFUFILE_API const char *dfu_conv_errmsg(const struct dfu_conv *c);
/* errno of the last DFU_ERR_IO, 0 otherwise. */
DFUFILE_API int dfu_conv_errno(const struct dfu_conv *c);

/* The suffix fields of the file built. */
DFUFILE_API int dfu_conv_set_ids(struct dfu_conv *c, uint16_t vid, uint16_t pid,
		     uint16_t bcd_device);
/*
 * Gaps of at most max_gap bytes between two ranges of the image inside
 * one target's addresses are filled with fill, so that the two become one
 * element; 0 (the default) makes every range its own element.
 */
DFUFILE_API int dfu_conv_set_gap(struct dfu_conv *c, uint32_t max_gap, uint8_t fill);
/* Every element size rounded up to a multiple of pad, the new bytes
 * reading as fill (dfu_file_pad_elements()); 0 and 1 pad nothing. */
DFUFILE_API int dfu_conv_set_pad(struct dfu_conv *c, uint32_t pad, uint8_t fill);

/*
 * Append a target for alternate setting alt (0 to 255).  name NULL means
 * unnamed; otherwise at most 254 bytes.  label names the target in
 * messages (NULL: "target alt ALT").  name and label are copied.  Returns
 * the target's index (>= 0), DFU_ERR_INVALID for an alt above 255 or a
 * name too long, DFU_ERR_RANGE past DFUSE_MAX_TARGETS targets,
 * DFU_ERR_NOMEM.
 */
DFUFILE_API int dfu_conv_add_target(struct dfu_conv *c, unsigned alt, const char *name,
			const char *label);

/*
 * Give the addresses first to last (inclusive) to target (an index from
 * dfu_conv_add_target()).  label names the range in messages (copied;
 * NULL: "range 0xFIRST-0xLAST").  DFU_ERR_INVALID for an unknown target
 * or last below first; DFU_ERR_NOMEM.  Overlaps are found by
 * dfu_conv_check().
 */
DFUFILE_API int dfu_conv_add_range(struct dfu_conv *c, unsigned target, uint32_t first,
		       uint32_t last, const char *label);

/*
 * Cut the address space at address (1 to 0xffffffff): address is the
 * first of a new part.  Points may be given in any order.
 * DFU_ERR_INVALID for 0; DFU_ERR_NOMEM.
 */
DFUFILE_API int dfu_conv_add_split(struct dfu_conv *c, uint32_t address);

/*
 * Check the description without an image.  DFU_ERR_INVALID, with the
 * message, for: no target; ranges and split points both given; a split
 * point given twice ("split point 0x00000100 given twice"); a number of
 * targets other than the number of parts ("3 parts but 2 targets"); two
 * targets without a range ("-t 0 and -t 1 have no range: only one target
 * can take the addresses no range covers"); two ranges that share an
 * address ("LABEL overlaps LABEL", the later range first).  0 otherwise.
 */
DFUFILE_API int dfu_conv_check(struct dfu_conv *c);

/*
 * Build the DfuSe file: f (borrowed; any content is dropped) becomes a
 * DfuSe file with the IDs, one target per dfu_conv_add_target() in order,
 * each holding the bytes of img at its addresses as elements in address
 * order (dfu_image_add_elements(): ELF bytes stay in the ELF file and are
 * read when f is written, so img and its descriptor must outlive f's
 * writing), then padded.  img is borrowed and not changed, but its error
 * message may be.
 *
 * The errors of dfu_conv_check(); DFU_ERR_RANGE for bytes of img that no
 * range covers when no target takes the rest ("0x1fffc000-0x1fffc00f is in
 * no target's range": the first such run, as far as the next range;
 * dfu_conv_uncovered() gives it) and for a target that receives no byte
 * ("LABEL: no data in its address ranges", or with split points "LABEL:
 * no data in 0x00000000-0x00000fff", its part); the failures of
 * dfu_image_add_elements() and dfu_file_*(), their messages copied
 * (padding: "padding element 0 of target 0 to 8 bytes: ...").  After a
 * failure f holds part of the file: do not write it.
 */
DFUFILE_API int dfu_conv_build(struct dfu_conv *c, struct dfu_image *img,
		   struct dfu_file *f);

/*
 * After dfu_conv_build() failed because bytes lie in no range: 1, and the
 * first and last address of the run it names.  0 after any other result.
 */
DFUFILE_API int dfu_conv_uncovered(const struct dfu_conv *c, uint32_t *first,
		       uint32_t *last);

#ifdef __cplusplus
}
#endif

#endif /* DFUCONV_H */
