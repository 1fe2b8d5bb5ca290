/*
 * descriptor.c - decode the USB descriptors of a DFU device (descriptor.h).
 */
#include <stdio.h>
#include <string.h>

#include "descriptor.h"
#include "msg.h"

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] | (unsigned)p[1] << 8);
}

int
dfl_func_desc_find(const uint8_t *extra, size_t len,
    struct dfl_func_desc *out, char *msg, size_t msglen)
{
	size_t off = 0;

	while (off < len) {
		size_t left = len - off;
		const uint8_t *d = extra + off;
		uint8_t blen, type;

		if (left < 2)
			return dfl_msg(msg, msglen, "descriptor at offset %zu: "
			    "1 byte left, a descriptor has at least 2", off);
		blen = d[0];
		type = d[1];
		if (blen < 2)
			return dfl_msg(msg, msglen, "descriptor at offset %zu: "
			    "bLength %u, less than 2", off, blen);
		if (blen > left)
			return dfl_msg(msg, msglen, "descriptor at offset %zu: "
			    "bLength %u runs past the %zu bytes that remain",
			    off, blen, left);
		if (type == DFL_DT_DFU_FUNCTIONAL) {
			if (blen != DFL_FUNC_LENGTH &&
			    blen != DFL_FUNC_LENGTH_DFU10)
				return dfl_msg(msg, msglen, "DFU functional "
				    "descriptor at offset %zu: bLength %u, "
				    "expected 9 (or 7 for DFU 1.0)", off, blen);
			memset(out, 0, sizeof(*out));
			out->bLength = blen;
			out->bmAttributes = d[2];
			out->wDetachTimeOut = le16(d + 3);
			out->wTransferSize = le16(d + 5);
			out->bcdDFUVersion = blen == DFL_FUNC_LENGTH ?
			    le16(d + 7) : 0x0100;
			return 1;
		}
		off += blen;
	}
	return 0;
}

/* Append the UTF-8 of c if it fits with a NUL after it; 0 or -1. */
static int
put_utf8(char *out, size_t outlen, size_t *n, uint32_t c)
{
	uint8_t b[4];
	size_t k;

	if (c < 0x80) {
		b[0] = (uint8_t)c;
		k = 1;
	} else if (c < 0x800) {
		b[0] = (uint8_t)(0xc0 | c >> 6);
		b[1] = (uint8_t)(0x80 | (c & 0x3f));
		k = 2;
	} else if (c < 0x10000) {
		b[0] = (uint8_t)(0xe0 | c >> 12);
		b[1] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
		b[2] = (uint8_t)(0x80 | (c & 0x3f));
		k = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | c >> 18);
		b[1] = (uint8_t)(0x80 | (c >> 12 & 0x3f));
		b[2] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
		b[3] = (uint8_t)(0x80 | (c & 0x3f));
		k = 4;
	}
	if (*n + k >= outlen)
		return -1;
	memcpy(out + *n, b, k);
	*n += k;
	return 0;
}

int
dfl_string_decode(const uint8_t *desc, size_t len, char *out, size_t outlen,
    char *msg, size_t msglen)
{
	size_t end, i, n = 0;

	out[0] = '\0';
	if (len < 2)
		return dfl_msg(msg, msglen, "string descriptor of %zu byte%s, "
		    "shorter than its 2-byte header", len, len == 1 ? "" : "s");
	if (desc[0] < 2)
		return dfl_msg(msg, msglen, "string descriptor with bLength %u, "
		    "less than 2", desc[0]);
	if (desc[1] != DFL_DT_STRING)
		return dfl_msg(msg, msglen, "descriptor type 0x%02x, expected a "
		    "string descriptor (0x03)", desc[1]);
	end = desc[0] < len ? desc[0] : len;
	for (i = 2; i + 1 < end; i += 2) {
		uint32_t c = le16(desc + i);

		if (c >= 0xd800 && c <= 0xdbff && i + 3 < end &&
		    le16(desc + i + 2) >= 0xdc00 && le16(desc + i + 2) <= 0xdfff) {
			c = 0x10000 + ((c - 0xd800) << 10) +
			    (uint32_t)(le16(desc + i + 2) - 0xdc00);
			i += 2;
		} else if (c >= 0xd800 && c <= 0xdfff) {
			c = 0xfffd;
		} else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
			c = '?';
		}
		if (put_utf8(out, outlen, &n, c) != 0)
			break;
	}
	out[n] = '\0';
	return (int)n;
}

/* Devices in DFU mode that report bInterfaceProtocol 1 (run-time). */
static const struct {
	uint16_t vid, pid;
} dfu_mode_says_runtime[] = {
	{ 0x1fc9, 0x000c }, /* NXP LPC ROM (dfu-util src/dfu_util.c) */
};

int
dfl_protocol_mode(uint16_t vid, uint16_t pid, uint8_t protocol,
    uint16_t bcdDFUVersion)
{
	switch (protocol) {
	case DFL_PROTOCOL_DFU:
		return DFL_PROTOCOL_DFU;
	case DFL_PROTOCOL_RUNTIME:
		for (size_t i = 0; i < sizeof(dfu_mode_says_runtime) /
		    sizeof(dfu_mode_says_runtime[0]); i++)
			if (dfu_mode_says_runtime[i].vid == vid &&
			    dfu_mode_says_runtime[i].pid == pid)
				return DFL_PROTOCOL_DFU;
		return DFL_PROTOCOL_RUNTIME;
	case 0:
		return bcdDFUVersion == 0x011a ? DFL_PROTOCOL_DFU :
		    DFL_PROTOCOL_RUNTIME;
	default:
		return -1;
	}
}

int
dfl_device_fill(struct dfl_device *dev, const struct dfl_desc_parts *p,
    char *msg, size_t msglen)
{
	int mode = dfl_protocol_mode(p->idVendor, p->idProduct,
	    p->bInterfaceProtocol, p->func != NULL ?
	    p->func->bcdDFUVersion : 0x0100);

	if (mode < 0)
		return dfl_msg(msg, msglen, "bInterfaceProtocol %u: a DFU "
		    "interface is 0 or 1 (run-time) or 2 (DFU mode)",
		    p->bInterfaceProtocol);
	if (p->nalts == 0 || p->alts == NULL)
		return dfl_msg(msg, msglen, "the DFU interface has no alternate "
		    "setting");
	for (unsigned i = 0; i < p->nalts; i++)
		for (unsigned j = i + 1; j < p->nalts; j++)
			if (p->alts[i].alt == p->alts[j].alt)
				return dfl_msg(msg, msglen, "alternate setting %u "
				    "appears twice", p->alts[i].alt);
	memset(dev, 0, sizeof(*dev));
	dev->bInterfaceProtocol = (uint8_t)mode;
	dev->idVendor = p->idVendor;
	dev->idProduct = p->idProduct;
	dev->bcdDevice = p->bcdDevice;
	if (p->func != NULL) {
		dev->bmAttributes = p->func->bmAttributes;
		dev->wDetachTimeOut = p->func->wDetachTimeOut;
		dev->wTransferSize = p->func->wTransferSize;
		dev->bcdDFUVersion = p->func->bcdDFUVersion;
	} else {
		dev->bcdDFUVersion = 0x0100;
	}
	dev->alts = p->alts;
	dev->nalts = p->nalts;
	return 0;
}
