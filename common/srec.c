/*
 * srec.c - load Motorola S-records.
 *
 * Record format (Motorola, "M68000 Family Programmer's Reference Manual",
 * appendix C): 'S', a type digit, a byte count of the address, data and
 * checksum bytes that follow, the address (2 bytes for S0, S1, S5, S9; 3
 * for S2, S6, S8; 4 for S3, S7), the data, and a checksum that is the
 * ones' complement of the low byte of the sum of the count, address and
 * data bytes.  S5 and S6 carry in their address field the number of S1,
 * S2 and S3 records before them; S7, S8 and S9 end the file and carry the
 * entry point.  S4 is reserved.
 */
#include <stdlib.h>
#include <string.h>

#include "image_private.h"

#define ADDRESS_SPACE (UINT64_C(1) << 32)

/* Address bytes of each record type; 0 for the reserved S4. */
static const unsigned addr_len[10] = { 2, 2, 3, 4, 0, 2, 3, 4, 3, 2 };

static int
parse_line(struct dfu_image *img, struct dfui_img_lines *r, uint8_t rec[256],
    unsigned *type, size_t *nrec)
{
	const char *s = r->line;
	size_t n = r->linelen;
	unsigned sum = 0;
	long len;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n < 2 || s[0] != 'S' || s[1] < '0' || s[1] > '9')
		return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: does not start "
		    "with S0 to S9", r->lineno);
	*type = (unsigned)(s[1] - '0');
	if (*type == 4)
		return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: record type S4 "
		    "is reserved", r->lineno);
	s += 2;
	n -= 2;
	/* count, then at most 255 bytes: 512 digits at most. */
	if ((len = dfui_img_record_bytes(img, r->lineno, s, n, 2 * 256, 3, rec)) < 0)
		return (int)len;
	n = (size_t)len;
	if (n < 2 + addr_len[*type])
		return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: %zu bytes, "
		    "too short for an S%u record", r->lineno, n, *type);
	if (n != 1u + rec[0])
		return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: byte count "
		    "0x%02x says %u bytes follow it, the record holds %zu",
		    r->lineno, rec[0], rec[0], n - 1);
	for (size_t i = 0; i < n - 1; i++)
		sum += rec[i];
	if (((sum + rec[n - 1]) & 0xff) != 0xff)
		return dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: checksum 0x%02x, "
		    "expected 0x%02x", r->lineno, rec[n - 1],
		    (unsigned)(~sum & 0xff));
	*nrec = n;
	return 0;
}

int
dfu_image_load_srec(struct dfu_image *img, int fd)
{
	struct dfui_img_lines *r;
	struct dfui_img_records *rs;
	uint8_t rec[256];
	unsigned long end_line = 0, records = 0, data_records = 0;
	size_t n = 0;
	unsigned type = 0;
	uint32_t entry = 0;
	int rc, err = 0, has_entry = 0;

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
		unsigned alen, len;
		uint64_t addr = 0;

		if (r->linelen == 0 || ((r->line[0] == ' ' ||
		    r->line[0] == '\t') && strspn(r->line, " \t") == r->linelen))
			continue;
		if (end_line != 0) {
			err = dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: record "
			    "after the termination record of line %lu",
			    r->lineno, end_line);
			break;
		}
		if ((err = parse_line(img, r, rec, &type, &n)) != 0)
			break;
		records++;
		alen = addr_len[type];
		for (unsigned i = 0; i < alen; i++)
			/* rec is filled: parse_line() returned 0 (the analyzer
			 * misses that the variadic dfui_img_fail() never does).
			 * NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
			addr = addr << 8 | rec[1 + i];
		len = (unsigned)n - 2 - alen;	/* count, address, checksum */
		switch (type) {
		case 0:
			break;
		case 1:
		case 2:
		case 3:
			data_records++;
			if (len == 0)
				break;
			if (addr + len > ADDRESS_SPACE) {
				err = dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: "
				    "%u bytes at 0x%08llx run past 4 GiB",
				    r->lineno, len, (unsigned long long)addr);
				break;
			}
			if ((err = dfui_img_records_repeat(img, rs,
			    (uint32_t)addr, rec + 1 + alen, len)) != 0) {
				if (err == 1)
					err = 0;
				break;
			}
			err = dfui_img_records_add(img, rs, (uint32_t)addr,
			    rec + 1 + alen, len, r->lineno);
			break;
		case 5:
		case 6:
			if (len != 0)
				err = dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: "
				    "S%u record with %u data bytes, expected 0",
				    r->lineno, type, len);
			/* The S6 count is 24 bits: srec_cat writes the
			 * number of records modulo 2^24 once there are
			 * 16 Mi of them or more, and so the count is read
			 * modulo 2^24 (S5, 16 bits, is not used past 65535
			 * records). */
			else if (addr != (type == 6 ?
			    data_records & 0xffffffUL : data_records))
				err = dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: "
				    "S%u says %llu data records, %lu precede "
				    "it", r->lineno, type,
				    (unsigned long long)addr, data_records);
			break;
		default:	/* 7, 8, 9 */
			if (len != 0) {
				err = dfui_img_fail(img, DFU_ERR_FORMAT, "line %lu: "
				    "termination record S%u with %u data "
				    "bytes, expected 0", r->lineno, type, len);
				break;
			}
			entry = (uint32_t)addr;
			has_entry = 1;
			end_line = r->lineno;
			break;
		}
		if (err != 0)
			break;
	}
	if (rc < 0)
		err = rc;
	if (err == 0 && records == 0)
		err = dfui_img_fail(img, DFU_ERR_FORMAT, "no records");
	free(r);
	if (err == 0)
		err = dfui_img_records_commit(img, rs);
	if (err == 0 && has_entry)
		dfui_img_set_entry(img, entry);
	dfui_img_records_free(img, rs);
	free(rs);
	return err;
}
