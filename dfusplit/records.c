/*
 * records.c - writing element data as Intel HEX or Motorola S-records.
 *
 * Intel HEX: ":LLAAAATT<data>CC", CC the two's complement of the sum of
 * the other bytes (Intel, "Hexadecimal Object File Format Specification",
 * rev. A, 1988).  A record's 16-bit offset cannot cross a 64 KiB boundary,
 * so records are cut there and a type 04 record gives the upper 16 bits.
 * S-records: "STLL<address><data>CC", LL counting address, data and
 * checksum bytes, CC the ones' complement of their sum (Motorola
 * M68000 Family Programmer's Reference Manual, appendix C).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dfusplit.h"

#define RECORD_DATA 16	/* data bytes per record, what most tools write */

const char *
elem_format_name(enum elem_format format)
{
	switch (format) {
	case ELEM_IHEX:
		return "hex";
	case ELEM_SREC:
		return "srec";
	default:
		return "bin";
	}
}

const char *
elem_format_ext(enum elem_format format)
{
	switch (format) {
	case ELEM_IHEX:
		return "hex";
	case ELEM_SREC:
		return "srec";
	default:
		return "bin";
	}
}

/* One Intel HEX record. */
static void
ihex_record(FILE *fp, uint8_t type, uint16_t offset, const uint8_t *data,
    size_t len)
{
	unsigned sum = (unsigned)len + (offset >> 8) + (offset & 0xff) + type;
	size_t i;

	fprintf(fp, ":%02X%04X%02X", (unsigned)len, offset, type);
	for (i = 0; i < len; i++) {
		fprintf(fp, "%02X", data[i]);
		sum += data[i];
	}
	fprintf(fp, "%02X\n", (0x100 - (sum & 0xff)) & 0xff);
}

/* One S-record with an address of abytes bytes. */
static void
srec_record(FILE *fp, char type, unsigned abytes, uint32_t address,
    const uint8_t *data, size_t len)
{
	unsigned count = (unsigned)(abytes + len + 1), sum = count;
	unsigned i;
	size_t k;

	fprintf(fp, "S%c%02X", type, count);
	for (i = abytes; i-- > 0;) {
		unsigned b = (address >> (8 * i)) & 0xff;

		fprintf(fp, "%02X", b);
		sum += b;
	}
	for (k = 0; k < len; k++) {
		fprintf(fp, "%02X", data[k]);
		sum += data[k];
	}
	fprintf(fp, "%02X\n", ~sum & 0xff);
}

void
records_begin(struct records *r, FILE *fp, enum elem_format format,
    const char *header)
{
	size_t len = strlen(header);

	memset(r, 0, sizeof(*r));
	r->fp = fp;
	r->format = format;
	if (format == ELEM_SREC) {
		/* S0: a 16-bit address of 0, then the header text. */
		if (len > 250)
			len = 250;
		srec_record(fp, '0', 2, 0, (const uint8_t *)header, len);
	}
}

void
records_data(struct records *r, uint32_t address, const uint8_t *data,
    size_t len)
{
	while (len > 0) {
		size_t n = len < RECORD_DATA ? len : RECORD_DATA;

		if (r->format == ELEM_IHEX) {
			uint32_t to_boundary = 0x10000u - (address & 0xffffu);
			uint8_t upper[2];

			if (n > to_boundary)
				n = to_boundary;
			if (!r->have_upper || r->upper != address >> 16) {
				r->upper = address >> 16;
				r->have_upper = 1;
				upper[0] = (uint8_t)(r->upper >> 8);
				upper[1] = (uint8_t)r->upper;
				ihex_record(r->fp, 0x04, 0, upper, 2);
			}
			ihex_record(r->fp, 0x00, (uint16_t)address, data, n);
		} else {
			srec_record(r->fp, '3', 4, address, data, n);
			r->count++;
		}
		address += (uint32_t)n;
		data += n;
		len -= n;
	}
}

void
records_end(struct records *r)
{
	if (r->format == ELEM_IHEX) {
		ihex_record(r->fp, 0x01, 0, NULL, 0);
		return;
	}
	/* S5 counts up to 0xffff data records, S6 up to 0xffffff; beyond,
	 * no count record can be written (it is optional). */
	if (r->count <= 0xffff)
		srec_record(r->fp, '5', 2, (uint32_t)r->count, NULL, 0);
	else if (r->count <= 0xffffff)
		srec_record(r->fp, '6', 3, (uint32_t)r->count, NULL, 0);
	srec_record(r->fp, '7', 4, 0, NULL, 0);
}
