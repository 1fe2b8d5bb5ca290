/*
 * suffix.c - the 16-byte DFU suffix (DFU 1.1 table B-1).
 */
#include <string.h>

#include "dfufile_private.h"

int
dfu_suffix_decode(struct dfu_suffix *s, const uint8_t buf[DFU_SUFFIX_SIZE])
{
	s->bcdDevice = dfui_le16(buf + 0);
	s->idProduct = dfui_le16(buf + 2);
	s->idVendor = dfui_le16(buf + 4);
	s->bcdDFU = dfui_le16(buf + 6);
	memcpy(s->ucDfuSignature, buf + 8, 3);
	s->bLength = buf[11];
	s->dwCRC = dfui_le32(buf + 12);
	return memcmp(s->ucDfuSignature, "UFD", 3) == 0 ? 0 : DFU_ERR_FORMAT;
}

void
dfu_suffix_encode(const struct dfu_suffix *s, uint8_t buf[DFU_SUFFIX_SIZE])
{
	dfui_put_le16(buf + 0, s->bcdDevice);
	dfui_put_le16(buf + 2, s->idProduct);
	dfui_put_le16(buf + 4, s->idVendor);
	dfui_put_le16(buf + 6, s->bcdDFU);
	memcpy(buf + 8, s->ucDfuSignature, 3);
	buf[11] = s->bLength;
	dfui_put_le32(buf + 12, s->dwCRC);
}
