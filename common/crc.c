/*
 * crc.c - the DFU suffix CRC, through zlib.
 *
 * zlib's crc32() complements its state on entry and on exit; dwCRC is the
 * raw state of the same CRC-32 without the final complement (DFU 1.1
 * appendix B; "CRC-32/JAMCRC").  So the running dwCRC c continues as
 * ~crc32(~c, ...), and a whole file's dwCRC is ~crc32(0, bytes).
 */
#include <zlib.h>

#include "dfufile_private.h"

uint32_t
dfu_crc_update(uint32_t crc, const void *buf, size_t len)
{
	if (len == 0)
		return crc;
	return ~(uint32_t)crc32_z(~crc & 0xffffffffu, buf, len);
}
