/*
 * suffix.c - the 16-byte DFU suffix (DFU 1.1 table B-1).
 */
#include <string.h>

#include "dfufile_private.h"

int
dfu_suffix_decode(struct dfu_suffix *s, const uint8_t buf[DFU_SUFFIX_SIZE])
{
	s->bcdDevice = dfu_le16(buf + 0);
	s->idProduct = dfu_le16(buf + 2);
	s->idVendor = dfu_le16(buf + 4);
	s->bcdDFU = dfu_le16(buf + 6);
	memcpy(s->ucDfuSignature, buf + 8, 3);
	s->bLength = buf[11];
	s->dwCRC = dfu_le32(buf + 12);
	return memcmp(s->ucDfuSignature, "UFD", 3) == 0 ? 0 : DFU_ERR_FORMAT;
}

void
dfu_suffix_encode(const struct dfu_suffix *s, uint8_t buf[DFU_SUFFIX_SIZE])
{
	dfu_put_le16(buf + 0, s->bcdDevice);
	dfu_put_le16(buf + 2, s->idProduct);
	dfu_put_le16(buf + 4, s->idVendor);
	dfu_put_le16(buf + 6, s->bcdDFU);
	memcpy(buf + 8, s->ucDfuSignature, 3);
	buf[11] = s->bLength;
	dfu_put_le32(buf + 12, s->dwCRC);
}
