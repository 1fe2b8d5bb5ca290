/*
 * descriptors.c - the USB descriptors of an emulated device, built from
 * what the device model says (struct dfl_device).
 *
 * Layout as the STM32 ROM bootloader's (notes/usb-emulation.md): one
 * configuration, interface 0 of class 0xFE subclass 1 with one alt
 * setting per memory, the DFU functional descriptor (DFU 1.1 4.1.3)
 * after the last alt setting.  Full speed, bMaxPacketSize0 64.
 */
#include <string.h>

#include "usbhost.h"

#define ST_VID 0x0483

static size_t
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return 2;
}

static int
runtime_mode(const struct usbdev *d)
{
	return dfl_model_device(d->m)->bInterfaceProtocol ==
	    DFL_PROTOCOL_RUNTIME;
}

void
usb_build_descriptors(struct usbdev *d)
{
	const struct dfl_device *dev = dfl_model_device(d->m);
	uint8_t *p = d->desc, *cfg;
	int rt = runtime_mode(d);
	uint16_t vid = !rt && d->id_vid >= 0 ? (uint16_t)d->id_vid :
	    dev->idVendor;
	uint16_t pid = rt ? d->runtime_pid : d->id_pid >= 0 ?
	    (uint16_t)d->id_pid : dev->idProduct;
	int proto = rt ? d->runtime_protocol : d->protocol;
	uint16_t tsize = d->transfer_size >= 0 ? (uint16_t)d->transfer_size :
	    dev->wTransferSize;
	size_t n = 0;

	/* Device descriptor (USB 2.0 9.6.1). */
	p[n++] = 18;
	p[n++] = 1;
	n += put16(p + n, 0x0200);
	p[n++] = 0; /* class per interface */
	p[n++] = 0;
	p[n++] = 0;
	p[n++] = 64;
	n += put16(p + n, vid);
	n += put16(p + n, pid);
	n += put16(p + n, dev->bcdDevice);
	p[n++] = USB_STR_MANUFACTURER;
	p[n++] = USB_STR_PRODUCT;
	p[n++] = USB_STR_SERIAL;
	p[n++] = 1;

	/* Configuration descriptor (9.6.3); wTotalLength filled in below. */
	cfg = p + n;
	p[n++] = 9;
	p[n++] = 2;
	n += 2;
	p[n++] = 1;    /* bNumInterfaces */
	p[n++] = 1;    /* bConfigurationValue */
	p[n++] = 0;    /* iConfiguration */
	p[n++] = 0xc0; /* self-powered */
	p[n++] = 50;   /* 100 mA */
	for (unsigned i = 0; i < dev->nalts; i++) {
		/* Interface descriptor (9.6.5), DFU 1.1 4.1.2 / 4.2.3. */
		p[n++] = 9;
		p[n++] = 4;
		p[n++] = 0;
		p[n++] = dev->alts[i].alt;
		p[n++] = 0; /* endpoints: the default pipe only */
		p[n++] = 0xfe;
		p[n++] = 0x01;
		p[n++] = proto >= 0 ? (uint8_t)proto :
		    dev->bInterfaceProtocol;
		p[n++] = (uint8_t)USB_STR_INTERFACE(i);
	}
	/* DFU functional descriptor (DFU 1.1 table 4.2). */
	p[n++] = 9;
	p[n++] = 0x21;
	p[n++] = dev->bmAttributes;
	n += put16(p + n, dev->wDetachTimeOut);
	n += put16(p + n, tsize);
	n += put16(p + n, dev->bcdDFUVersion);
	put16(cfg + 2, (uint16_t)(p + n - cfg));
	d->desc_len = n;
}

const char *
usb_string(const struct usbdev *d, uint8_t index)
{
	const struct dfl_device *dev = dfl_model_device(d->m);
	int st = dev->idVendor == ST_VID;

	switch (index) {
	case USB_STR_MANUFACTURER:
		return st ? "STMicroelectronics" : "pid.codes test device";
	case USB_STR_PRODUCT:
		/* The application a run-time device runs is not the ROM. */
		if (runtime_mode(d))
			return "DFU run-time device";
		/* Two spaces, as the real ROM says. */
		return st ? "STM32  BOOTLOADER" : "DFU 1.1 device";
	case USB_STR_SERIAL:
		return d->serial;
	default:
		if (index >= USB_STR_INTERFACE(0) &&
		    index < USB_STR_INTERFACE(dev->nalts))
			return dev->alts[index - USB_STR_INTERFACE(0)].name;
		return NULL;
	}
}

int
usb_string_descriptor(const struct usbdev *d, uint8_t index, uint8_t *buf)
{
	const char *s;
	size_t n;

	if (index == 0) {
		/* LANGID 0x0409, English (United States) (USB 2.0 9.6.7). */
		buf[0] = 4;
		buf[1] = 3;
		put16(buf + 2, 0x0409);
		return 4;
	}
	if ((s = usb_string(d, index)) == NULL)
		return -1;
	n = strlen(s);
	if (index == USB_STR_SERIAL && !runtime_mode(d)) {
		int utf8;

		/* The GD32VF103 ROM sends its serial as UTF-8 bytes, not
		 * UTF-16LE (dfuflash/quirks.c has the sources). */
		(void)dfl_model_serial(d->m, &utf8);
		if (utf8) {
			if (n > 253)
				n = 253;
			buf[0] = (uint8_t)(2 + n);
			buf[1] = 3;
			memcpy(buf + 2, s, n);
			return (int)(2 + n);
		}
	}
	/* bLength is one byte: at most 126 UTF-16 code units. */
	if (n > 126)
		n = 126;
	buf[0] = (uint8_t)(2 + 2 * n);
	buf[1] = 3;
	for (size_t i = 0; i < n; i++) {
		/* ASCII to UTF-16LE. */
		buf[2 + 2 * i] = (uint8_t)s[i];
		buf[3 + 2 * i] = 0;
	}
	return (int)(2 + 2 * n);
}
