/*
 * quirks.h - what dfuflash knows about real DFU devices that report
 * something other than the truth, or something the descriptors cannot
 * say: a table keyed on what the device reports (idVendor:idProduct, the
 * layout string, the serial number), one row per fact, each with its
 * source in quirks.c.  Pure functions: no libusb, no I/O, nothing
 * printed; a note (notelen > 0) says what a row changed, for the
 * messages of dfuflash -l and of a session.
 *
 * The rows (quirks.c has the sources):
 *   - GigaDevice GD32VF103 ROM (28e9:0189): sends its serial number as
 *     UTF-8 bytes, not UTF-16LE; reports its main flash as 512 pages of
 *     2 KiB where it has pages of 1 KiB, as many as the third character
 *     of the serial number says (B 128, 8 64, 6 32, 4 16);
 *   - STM32H7 ROM (0483:df11 whose main flash starts with 128 KiB
 *     sectors): flash is programmed by 32-byte flash words;
 *   - every other device: writes widened to 8 bytes (the STM32L4/G4
 *     double word), which changes nothing on a part with a smaller unit.
 */
#ifndef DFUFLASH_QUIRKS_H
#define DFUFLASH_QUIRKS_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

/* The write unit when no row gives one (see above). */
#define DFL_QUIRK_DEFAULT_UNIT 8u

/* 1 if vid:pid sends iSerialNumber as UTF-8 bytes, not UTF-16LE. */
int dfl_quirk_serial_utf8(uint16_t vid, uint16_t pid);

/*
 * Decode a string descriptor whose text is UTF-8 bytes (the GD32VF103's
 * serial number) into out (outlen > 0), under the contract of
 * dfl_string_decode() (descriptor.h): bLength larger than len is taken
 * as cut short, invalid UTF-8 and control characters become '?', text
 * that does not fit is cut at a character.  The length, or -1 when desc
 * is not a string descriptor.
 */
int dfl_string_decode_utf8(const uint8_t *desc, size_t len, char *out,
			   size_t outlen);

/*
 * The memory layout of alt setting alt of dev, whose iInterface string
 * is name: 0 when name is right as it is; 1 when a row corrects it, the
 * corrected string in out (outlen > 0) and what was changed in note; -1
 * when the device is known to report a wrong layout and the right one
 * cannot be told (note says why; nothing must be written to it).
 * dev->serial may be NULL.
 */
int dfl_quirk_layout(const struct dfl_device *dev, uint8_t alt,
		     const char *name, char *out, size_t outlen, char *note,
		     size_t notelen);

/*
 * The programming unit of dev's flash in bytes (a power of two): writes
 * in erasable regions are widened to whole aligned units.  note (may be
 * NULL when notelen is 0) names the row, or is "" for the default.
 */
uint32_t dfl_quirk_write_unit(const struct dfl_device *dev, char *note,
			      size_t notelen);

#endif /* DFUFLASH_QUIRKS_H */
