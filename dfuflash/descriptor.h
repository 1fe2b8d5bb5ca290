/*
 * descriptor.h - the USB descriptors dfuflash reads from a DFU device,
 * decoded by pure functions: no libusb, no I/O, no allocation, nothing
 * printed.  Every length a descriptor declares is checked against the
 * bytes that remain before it is used, so these functions take any bytes
 * a device (or a fuzzer) sends.
 *
 * References: USB 2.0 section 9.6 (standard descriptors, string
 * descriptors in UTF-16LE), USB DFU 1.1 section 4.1.3 and table 4.2 (the
 * DFU functional descriptor).
 */
#ifndef DFUFLASH_DESCRIPTOR_H
#define DFUFLASH_DESCRIPTOR_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

/* bDescriptorType of the DFU functional descriptor (DFU 1.1 table 4.2). */
#define DFL_DT_DFU_FUNCTIONAL 0x21
/* bDescriptorType of a string descriptor (USB 2.0 table 9-5). */
#define DFL_DT_STRING 0x03

/* bLength of a DFU 1.1 functional descriptor, and of a DFU 1.0 one,
 * which ends before bcdDFUVersion. */
#define DFL_FUNC_LENGTH 9
#define DFL_FUNC_LENGTH_DFU10 7

/* The DFU functional descriptor, fields in host order. */
struct dfl_func_desc {
	uint8_t bLength;	 /* 7 or 9 */
	uint8_t bmAttributes;	 /* DFU_ATTR_* of dfuproto.h */
	uint16_t wDetachTimeOut; /* ms */
	uint16_t wTransferSize;	 /* bytes per control transfer; may be 0 */
	uint16_t bcdDFUVersion;	 /* 0x0100 when bLength is 7 */
};

/*
 * Find the DFU functional descriptor in extra, the class-specific bytes
 * that follow an interface descriptor (libusb's altsetting->extra) or a
 * configuration descriptor (config->extra): a run of descriptors, each
 * starting with bLength and bDescriptorType.  The first one of type 0x21
 * is decoded into *out.
 *
 * Returns 1 when found, 0 when extra holds none (len 0 included), -1 when
 * the bytes are malformed before or at it: a bLength below 2, a bLength
 * that runs past the end, a functional descriptor whose bLength is
 * neither 7 nor 9.  On -1 msg (msglen > 0) says what and where:
 * "descriptor at offset 9: bLength 12 runs past the 10 bytes that remain".
 * extra may be NULL when len is 0; msg may be NULL when msglen is 0.
 */
int dfl_func_desc_find(const uint8_t *extra, size_t len,
		       struct dfl_func_desc *out, char *msg, size_t msglen);

/*
 * Room for any string descriptor in UTF-8 with its NUL: at most 126
 * UTF-16 code units (bLength <= 255), each 3 bytes of UTF-8 at most (a
 * surrogate pair is 2 units and 4 bytes).
 */
#define DFL_STRING_MAX 384

/*
 * Decode a string descriptor (bLength, bDescriptorType 3, UTF-16LE text,
 * as libusb_get_string_descriptor() returns it) into NUL-terminated UTF-8
 * in out (outlen > 0).  Surrogate pairs become one character; a lone
 * surrogate becomes U+FFFD; control characters (U+0000-U+001F,
 * U+007F-U+009F) become '?', so the text is safe to print and to put in
 * JSON after escaping '"' and '\\'.  A bLength larger than len is taken
 * as a descriptor the device cut short (the STM32F427 ROM does, as
 * dfu-util's notes say): the bytes received are decoded; an odd last
 * byte is ignored.  Text that does not fit in out is cut at a character
 * boundary.
 *
 * Returns the length of the text in bytes (not counting the NUL), or -1
 * when desc is not a string descriptor (fewer than 2 bytes, bLength below
 * 2, bDescriptorType not 3), with the reason in msg as above.
 */
int dfl_string_decode(const uint8_t *desc, size_t len, char *out,
		      size_t outlen, char *msg, size_t msglen);

/* What the descriptors of one DFU interface say, gathered by the caller. */
struct dfl_desc_parts {
	uint16_t idVendor, idProduct, bcdDevice; /* device descriptor */
	uint8_t bInterfaceProtocol; /* as reported: 0, 1 or 2 */
	const struct dfl_func_desc *func; /* NULL: the device has none */
	const struct dfl_alt *alts;	  /* borrowed; names may be NULL */
	unsigned nalts;
};

/*
 * The mode a DFU interface is in, from what it reports: DFL_PROTOCOL_DFU,
 * DFL_PROTOCOL_RUNTIME, or -1 for a bInterfaceProtocol DFU does not
 * define (3 and above).  bcdDFUVersion is the functional descriptor's
 * (0x0100 without one).  Devices do not all report what DFU 1.1 4.1.2
 * and 4.2.3 say, so:
 *   2  DFU mode.
 *   1  run-time mode, except a device of the quirk table below, whose
 *      ROM reports 1 in DFU mode: the NXP LPC ROM, 1fc9:000c (dfu-util
 *      src/dfu_util.c, probe_configuration(), "LPC DFU bootloader has
 *      bInterfaceProtocol 1 (Runtime) instead of 2").  DETACH sent to it
 *      would be a request its DFU-mode state machine does not take.
 *   0  not a DFU 1.1 value, which some applications' run-time interface
 *      reports: run-time mode, as dfu-util takes it; but a DfuSe device
 *      (bcdDFUVersion 0x011a) reporting 0 is in DFU mode (the DSO Nano,
 *      dfu-util in the same place), as DfuSe has no run-time interface
 *      of its own.
 * Pure: the quirk table is keyed on idVendor:idProduct only.
 */
int dfl_protocol_mode(uint16_t idVendor, uint16_t idProduct,
		      uint8_t bInterfaceProtocol, uint16_t bcdDFUVersion);

/*
 * Fill *dev from the parts (dev->alts borrows parts->alts).  Without a
 * functional descriptor the device is taken as DFU 1.0 with nothing
 * declared (bmAttributes 0, wTransferSize 0), as the specification gives
 * no defaults.  dev->bInterfaceProtocol is the mode dfl_protocol_mode()
 * gives, not the number reported.  Returns 0, or -1 with msg set when the
 * parts cannot be a DFU interface: a bInterfaceProtocol above 2, no
 * alternate setting, or two alternate settings with the same number.
 */
int dfl_device_fill(struct dfl_device *dev, const struct dfl_desc_parts *parts,
		    char *msg, size_t msglen);

#endif /* DFUFLASH_DESCRIPTOR_H */
