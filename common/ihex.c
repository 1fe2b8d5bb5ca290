/*
 * ihex.c - load Intel HEX.
 *
 * Record format (Intel, "Hexadecimal Object File Format Specification",
 * rev. A, 1988): ':' LL AAAA TT DD... CC, all bytes as two hexadecimal
 * digits; LL counts the DD bytes; the checksum CC makes the sum of all
 * bytes from LL to CC zero modulo 256.  Types: 00 data, 01 end of file
 * (LL 0), 02 extended segment address (LL 2: base = value * 16), 03 start
 * segment address (LL 4: CS, IP), 04 extended linear address (LL 2: base =
 * value << 16), 05 start linear address (LL 4: EIP).  With a segment base
 * the 16-bit offset of each byte wraps within the segment; with a linear
 * base it does not (a record may cross into the next 64 KiB), and a byte
 * past 0xffffffff is an error rather than a byte at 0.
 */
#include <stdlib.h>
#include <string.h>

#include "image_private.h"

#define ADDRESS_SPACE (UINT64_C(1) << 32)

static int
parse_line(struct dfu_image *img, struct dfui_img_lines *r, uint8_t rec[261],
    size_t *nrec)
{
	const char *s = r->line;
	size_t n = r->linelen;
	unsigned sum = 0;
	long len;

	/* White space at the end of a line is harmless; keep it allowed. */
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (s[0] != ':')
		return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: does not start "
		    "with ':'", r->lineno);
	s++;
	n--;
	/* LL AAAA TT, 255 data bytes, CC: 520 digits at most. */
	if ((len = dfui_img_record_bytes(img, r->lineno, s, n, 2 * 260, 2, rec)) < 0)
		return (int)len;
	n = (size_t)len;
	if (n < 5)
		return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: %zu bytes, "
		    "shorter than any record (5)", r->lineno, n);
	if (n != 5u + rec[0])
		return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: byte count "
		    "0x%02x says %u data bytes, the record holds %zu",
		    r->lineno, rec[0], rec[0], n - 5);
	for (size_t i = 0; i < n - 1; i++)
		sum += rec[i];
	if (((sum + rec[n - 1]) & 0xff) != 0)
		return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: checksum 0x%02x, "
		    "expected 0x%02x", r->lineno, rec[n - 1],
		    (unsigned)(-sum & 0xff));
	*nrec = n;
	return 0;
}

int
dfu_image_load_ihex(struct dfu_image *img, int fd)
{
	struct dfui_img_lines *r;
	struct dfui_img_records *rs;
	uint8_t rec[261];
	uint64_t base = 0;
	unsigned long eof_line = 0, records = 0;
	size_t n = 0;
	uint32_t entry = 0;
	int rc, err = 0, has_entry = 0, segmented = 0;

	if (img == NULL || fd < 0)
		return DFU_ERR_INVALID;
	dfui_img_clear_error(img);
	r = malloc(sizeof(*r));
	rs = malloc(sizeof(*rs));
	if (r == NULL || rs == NULL) {
		free(r);
		free(rs);
		return dfui_img_fail(img, DFU_ERR_NOMEM, "out of memory");
	}
	dfui_img_lines_init(r, fd);
	dfui_img_records_init(rs);
	while ((rc = dfui_img_lines_next(r, img)) == 1) {
		unsigned len, type, offset;

		if (r->linelen == 0 || ((r->line[0] == ' ' ||
		    r->line[0] == '\t') && strspn(r->line, " \t") == r->linelen))
			continue;
		if (eof_line != 0) {
			err = dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: record "
			    "after the end of file record of line %lu",
			    r->lineno, eof_line);
			break;
		}
		if ((err = parse_line(img, r, rec, &n)) != 0)
			break;
		records++;
		/* rec is filled: parse_line() returned 0 (the analyzer misses
		 * that the variadic dfui_img_fail() never does, .clang-tidy).
		 * NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign) */
		len = rec[0];
		offset = (unsigned)rec[1] << 8 | rec[2];
		type = rec[3];
		switch (type) {
		case 0x00: {
			uint64_t addr = base + offset;
			int split = segmented && offset + len > 0x10000;

			if (len == 0)
				break;
			if (addr + len > ADDRESS_SPACE) {
				err = dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: "
				    "%u bytes at 0x%08llx run past 4 GiB",
				    r->lineno, len, (unsigned long long)addr);
				break;
			}
			if (!split && (err = dfui_img_records_repeat(img, rs,
			    (uint32_t)addr, rec + 4, len)) != 0) {
				if (err == 1)
					err = 0;
				break;
			}
			/*
			 * With a segment base (type 02) the offset wraps
			 * within the 64 KiB segment, as the specification
			 * says: the bytes past 0xffff go to its start.
			 */
			if (split) {
				unsigned head = 0x10000 - offset;

				if ((err = dfui_img_records_add(img, rs,
				    (uint32_t)addr, rec + 4, head,
				    r->lineno)) != 0)
					break;
				err = dfui_img_records_add(img, rs,
				    (uint32_t)base, rec + 4 + head, len - head,
				    r->lineno);
				break;
			}
			err = dfui_img_records_add(img, rs, (uint32_t)addr,
			    rec + 4, len, r->lineno);
			break;
		}
		case 0x01:
			if (len != 0)
				err = dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: "
				    "end of file record (type 01) with %u data "
				    "bytes, expected 0", r->lineno, len);
			eof_line = r->lineno;
			break;
		case 0x02:
		case 0x04:
			if (len != 2) {
				err = dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: "
				    "type %02x record with %u data bytes, "
				    "expected 2", r->lineno, type, len);
				break;
			}
			base = (uint64_t)((unsigned)rec[4] << 8 | rec[5]) <<
			    (type == 0x02 ? 4 : 16);
			segmented = type == 0x02;
			break;
		case 0x03:
		case 0x05:
			if (len != 4) {
				err = dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: "
				    "type %02x record with %u data bytes, "
				    "expected 4", r->lineno, type, len);
				break;
			}
			if (type == 0x05)
				entry = (uint32_t)rec[4] << 24 |
				    (uint32_t)rec[5] << 16 |
				    (uint32_t)rec[6] << 8 | rec[7];
			else
				entry = ((uint32_t)rec[4] << 8 | rec[5]) * 16 +
				    ((uint32_t)rec[6] << 8 | rec[7]);
			has_entry = 1;
			break;
		default:
			err = dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: unknown "
			    "record type %02x", r->lineno, type);
			break;
		}
		if (err != 0)
			break;
	}
	if (rc < 0)
		err = rc;
	if (err == 0 && records == 0)
		err = dfui_img_fail(img, DFU_ERR_FORMAT, "no records");
	else if (err == 0 && eof_line == 0)
		err = dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: the file ends "
		    "without an end of file record (type 01): truncated?",
		    r->lineno - 1);
	free(r);
	if (err == 0)
		err = dfui_img_records_commit(img, rs);
	if (err == 0 && has_entry)
		dfui_img_set_entry(img, entry);
	dfui_img_records_free(img, rs);
	free(rs);
	return err;
}
