/*
 * dfu_test_build.h - build DFU and DfuSe byte images in memory for the
 * unit tests, with correct or deliberately wrong fields.
 *
 * Everything here is written from the format descriptions (USB DFU 1.1
 * appendix B, ST UM0391), independently of libdfufile: the CRC comes from
 * zlib, so a test compares the library against a second implementation.
 *
 * Layout of a DfuSe file with one target and one element of n bytes, the
 * offsets the tests assert:
 *     0  szSignature "DfuSe"       277  dwTargetSize
 *     5  bVersion                  281  dwNbElements
 *     6  DFUImageSize              285  dwElementAddress
 *    10  bTargets                  289  dwElementSize
 *    11  "Target"                  293  element data
 *    17  bAlternateSetting     293 + n  suffix (16 bytes)
 *    18  bTargetNamed
 *    22  szTargetName
 * Suffix, from its start s: bcdDevice s, idProduct s+2, idVendor s+4,
 * bcdDFU s+6, ucDfuSignature s+8, bLength s+11, dwCRC s+12.
 */
#ifndef DFU_TEST_BUILD_H
#define DFU_TEST_BUILD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "dfufile.h"

/* Offsets in a DfuSe file, from the start of the file. */
#define TB_OFF_VERSION 5
#define TB_OFF_IMAGE_SIZE 6
#define TB_OFF_TARGETS 10
#define TB_OFF_TARGET0 11
/* Offsets inside a target prefix, from its "Target" signature. */
#define TB_T_ALT 6
#define TB_T_NAMED 7
#define TB_T_NAME 11
#define TB_T_SIZE 266
#define TB_T_NB 270
/* Offsets inside a suffix of 16 bytes, from its start. */
#define TB_S_DEVICE 0
#define TB_S_PRODUCT 2
#define TB_S_VENDOR 4
#define TB_S_BCDDFU 6
#define TB_S_SIG 8
#define TB_S_LENGTH 11
#define TB_S_CRC 12

/* IDs used by default: none of them is the 0xffff wildcard. */
#define TB_VID 0x0483
#define TB_PID 0xdf11
#define TB_DEV 0x2200

/* A growable byte buffer. */
struct tb {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static inline void
tb_init(struct tb *b)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

static inline void
tb_free(struct tb *b)
{
	free(b->p);
	tb_init(b);
}

static inline void
tb_reserve(struct tb *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;

	if (b->len + more <= b->cap)
		return;
	while (cap < b->len + more)
		cap *= 2;
	b->p = realloc(b->p, cap);
	if (b->p == NULL) {
		fprintf(stderr, "dfu_test_build: out of memory\n");
		abort();
	}
	b->cap = cap;
}

static inline void
tb_put(struct tb *b, const void *data, size_t n)
{
	tb_reserve(b, n);
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

static inline void
tb_fill(struct tb *b, uint8_t v, size_t n)
{
	tb_reserve(b, n);
	memset(b->p + b->len, v, n);
	b->len += n;
}

static inline void
tb_u8(struct tb *b, uint8_t v)
{
	tb_put(b, &v, 1);
}

static inline void
tb_u16(struct tb *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	tb_put(b, x, 2);
}

static inline void
tb_u32(struct tb *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	tb_put(b, x, 4);
}

static inline void
tb_set_u8(struct tb *b, size_t off, uint8_t v)
{
	b->p[off] = v;
}

static inline void
tb_set_u16(struct tb *b, size_t off, uint16_t v)
{
	b->p[off] = (uint8_t)v;
	b->p[off + 1] = (uint8_t)(v >> 8);
}

static inline void
tb_set_u32(struct tb *b, size_t off, uint32_t v)
{
	b->p[off] = (uint8_t)v;
	b->p[off + 1] = (uint8_t)(v >> 8);
	b->p[off + 2] = (uint8_t)(v >> 16);
	b->p[off + 3] = (uint8_t)(v >> 24);
}

static inline uint32_t
tb_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* dwCRC of n bytes: the complement of zlib's CRC-32 (CRC-32/JAMCRC). */
static inline uint32_t
tb_crc(const uint8_t *p, size_t n)
{
	uLong c = crc32(0L, Z_NULL, 0);

	/* zlib takes a uInt length; feed large buffers in pieces. */
	while (n > 0) {
		uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;

		c = crc32(c, p, k);
		p += k;
		n -= k;
	}
	return ~(uint32_t)c;
}

/* Rewrite dwCRC (the last 4 bytes) to match the bytes before it. */
static inline void
tb_fix_crc(struct tb *b)
{
	tb_set_u32(b, b->len - 4, tb_crc(b->p, b->len - 4));
}

/* Deterministic content of element data: byte i of an element at addr. */
static inline uint8_t
tb_pat(uint32_t addr, uint32_t i)
{
	return (uint8_t)(addr * 31u + i * 7u + 1u);
}

/* The 11-byte DfuSe prefix; returns its offset. */
static inline size_t
tb_dfuse_prefix(struct tb *b, uint8_t version, uint32_t image_size,
		uint8_t targets)
{
	size_t at = b->len;

	tb_put(b, "DfuSe", 5);
	tb_u8(b, version);
	tb_u32(b, image_size);
	tb_u8(b, targets);
	return at;
}

/*
 * The 274-byte target prefix; returns its offset.  name (may be NULL) is
 * copied up to 255 bytes, the rest NUL-filled.
 */
static inline size_t
tb_target(struct tb *b, uint8_t alt, uint32_t named, const char *name,
	  uint32_t target_size, uint32_t nb_elements)
{
	size_t at = b->len;
	size_t n = name ? strlen(name) : 0;

	if (n > DFUSE_TARGET_NAME_SIZE)
		n = DFUSE_TARGET_NAME_SIZE;
	tb_put(b, "Target", 6);
	tb_u8(b, alt);
	tb_u32(b, named);
	tb_put(b, name, n);
	tb_fill(b, 0, DFUSE_TARGET_NAME_SIZE - n);
	tb_u32(b, target_size);
	tb_u32(b, nb_elements);
	return at;
}

/*
 * An element header with the given fields, then datalen bytes of the
 * pattern tb_pat(addr, i); returns the offset of the header.
 */
static inline size_t
tb_element(struct tb *b, uint32_t addr, uint32_t size, uint32_t datalen)
{
	size_t at = b->len;
	uint32_t i;

	tb_u32(b, addr);
	tb_u32(b, size);
	tb_reserve(b, datalen);
	for (i = 0; i < datalen; i++)
		b->p[b->len + i] = tb_pat(addr, i);
	b->len += datalen;
	return at;
}

/*
 * A suffix with the given fields and bLength; extra bytes of an extended
 * suffix (blength > 16) are written as 0xee before the standard 16.  The
 * CRC is correct.  Returns the offset of the 16-byte standard part.
 */
static inline size_t
tb_suffix(struct tb *b, uint16_t dev, uint16_t pid, uint16_t vid,
	  uint16_t bcddfu, uint8_t blength)
{
	size_t at;

	if (blength > DFU_SUFFIX_SIZE)
		tb_fill(b, 0xee, (size_t)blength - DFU_SUFFIX_SIZE);
	at = b->len;
	tb_u16(b, dev);
	tb_u16(b, pid);
	tb_u16(b, vid);
	tb_u16(b, bcddfu);
	tb_put(b, "UFD", 3);
	tb_u8(b, blength);
	tb_u32(b, 0);
	tb_fix_crc(b);
	return at;
}

/* A standard suffix for DfuSe files (bcdDFU 0x011a, non-wildcard IDs). */
static inline size_t
tb_suffix_std(struct tb *b, uint16_t bcddfu)
{
	return tb_suffix(b, TB_DEV, TB_PID, TB_VID, bcddfu, DFU_SUFFIX_SIZE);
}

/* Description of a DfuSe file for tb_dfuse(). */
struct tb_el {
	uint32_t addr;
	uint32_t size;
};

struct tb_tg {
	uint8_t alt;
	const char *name; /* NULL: bTargetNamed 0 */
	unsigned n;
	const struct tb_el *el;
};

/*
 * A valid DfuSe file: the given targets, DFUImageSize without the suffix
 * (or with it if include_suffix), the standard suffix, correct CRC.
 */
static inline void
tb_dfuse(struct tb *b, unsigned ntargets, const struct tb_tg *t,
	 int include_suffix)
{
	unsigned i, j;

	tb_dfuse_prefix(b, 1, 0, (uint8_t)ntargets);
	for (i = 0; i < ntargets; i++) {
		uint32_t size = 0;

		for (j = 0; j < t[i].n; j++)
			size += DFUSE_ELEMENT_HEADER_SIZE + t[i].el[j].size;
		tb_target(b, t[i].alt, t[i].name != NULL, t[i].name, size,
			  t[i].n);
		for (j = 0; j < t[i].n; j++)
			tb_element(b, t[i].el[j].addr, t[i].el[j].size,
				   t[i].el[j].size);
	}
	tb_set_u32(b, TB_OFF_IMAGE_SIZE,
		   (uint32_t)b->len + (include_suffix ? DFU_SUFFIX_SIZE : 0));
	tb_suffix_std(b, DFU_BCD_DFUSE);
}

/*
 * The most common case: one target (alt 0, name "ST..."), one element of
 * n bytes at 0x08000000.  Offsets are those of the table at the top.
 */
#define TB_ADDR 0x08000000u
static inline void
tb_dfuse1(struct tb *b, uint32_t n)
{
	struct tb_el e = { TB_ADDR, n };
	struct tb_tg t = { 0, "ST...", 1, &e };

	tb_dfuse(b, 1, &t, 0);
}

/* A plain DFU file: optional prefix bytes, n pattern bytes, suffix. */
static inline void
tb_plain(struct tb *b, const void *prefix, size_t plen, uint32_t n,
	 uint16_t bcddfu)
{
	uint32_t i;

	tb_put(b, prefix, plen);
	for (i = 0; i < n; i++)
		tb_u8(b, tb_pat(0, i));
	tb_suffix(b, TB_DEV, TB_PID, TB_VID, bcddfu, DFU_SUFFIX_SIZE);
}

/* ---- Looking at diagnostics ------------------------------------------ */

/* The first diagnostic with the given code, or NULL. */
static inline const struct dfu_diag *
td_find(const struct dfu_file *f, const char *code)
{
	size_t i, n = dfu_file_diag_count(f);

	for (i = 0; i < n; i++) {
		const struct dfu_diag *d = dfu_file_diag(f, i);

		if (d != NULL && d->code != NULL && strcmp(d->code, code) == 0)
			return d;
	}
	return NULL;
}

/* How many diagnostics have the given code. */
static inline size_t
td_count(const struct dfu_file *f, const char *code)
{
	size_t i, k = 0, n = dfu_file_diag_count(f);

	for (i = 0; i < n; i++) {
		const struct dfu_diag *d = dfu_file_diag(f, i);

		if (d != NULL && d->code != NULL && strcmp(d->code, code) == 0)
			k++;
	}
	return k;
}

/* All diagnostics as text, for failure messages (static buffer). */
static inline const char *
td_list(const struct dfu_file *f)
{
	static char buf[4096];
	size_t i, n = dfu_file_diag_count(f), used = 0;

	buf[0] = '\0';
	for (i = 0; i < n && used + 1 < sizeof(buf); i++) {
		const struct dfu_diag *d = dfu_file_diag(f, i);
		int k;

		if (d == NULL)
			continue;
		k = snprintf(buf + used, sizeof(buf) - used,
			     "[%s %s @%llu %s: %s] ",
			     d->severity == DFU_ERROR ? "E" : "N",
			     d->code ? d->code : "(null)",
			     (unsigned long long)d->offset,
			     d->field ? d->field : "(null)",
			     d->message ? d->message : "(null)");
		if (k < 0)
			break;
		used += (size_t)k;
		if (used >= sizeof(buf))
			used = sizeof(buf) - 1;
	}
	if (n > 0 && used == 0)
		snprintf(buf, sizeof(buf), "(%zu diagnostics)", n);
	return buf;
}

/*
 * Assert (cmocka) that f has a diagnostic `code` with the given severity,
 * offset and field.  Include <cmocka.h> before using it.
 */
#define assert_diag(f, sev, code, off, fld)                                  \
	do {                                                                  \
		const struct dfu_diag *d_ = td_find((f), (code));             \
		if (d_ == NULL)                                               \
			fail_msg("no diagnostic \"%s\"; got: %s", (code),     \
				 td_list(f));                                 \
		if (d_->severity != (sev) || d_->offset != (uint64_t)(off) || \
		    d_->field == NULL || strcmp(d_->field, (fld)) != 0)       \
			fail_msg("diagnostic \"%s\": want %s @%llu %s; "      \
				 "got: %s",                                   \
				 (code), (sev) == DFU_ERROR ? "E" : "N",      \
				 (unsigned long long)(off), (fld),            \
				 td_list(f));                                 \
	} while (0)

/* Assert that f has exactly n diagnostics. */
#define assert_ndiag(f, n)                                                   \
	do {                                                                  \
		if (dfu_file_diag_count(f) != (size_t)(n))                    \
			fail_msg("want %zu diagnostics, got %zu: %s",         \
				 (size_t)(n), dfu_file_diag_count(f),         \
				 td_list(f));                                 \
	} while (0)

#endif /* DFU_TEST_BUILD_H */
