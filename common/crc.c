/*
 * crc.c - the DFU suffix CRC, through libdeflate.
 *
 * dwCRC is the raw state of the reflected CRC-32 (polynomial 0xedb88320,
 * initial state 0xffffffff) without the final complement (DFU 1.1
 * appendix B; "CRC-32/JAMCRC").  libdeflate_crc32(), like zlib's crc32(),
 * complements its state on entry and on exit and starts from 0
 * (libdeflate.h: "the initial value should be 0"), so the running dwCRC c
 * continues as ~libdeflate_crc32(~c, ...), and a whole file's dwCRC is
 * ~libdeflate_crc32(0, bytes).
 *
 * libdeflate rather than zlib: its CRC uses carry-less multiplication
 * (PCLMULQDQ on x86, PMULL on arm64) and runs about three times as fast as
 * zlib 1.2.13's tables on the machine issue 15 was measured on (14 against
 * 4-6 GB/s), which made dfuinfo CRC-bound.  zlib stays the reference the
 * unit tests compare against (tests/unit/test_crc.c).
 */
#include <libdeflate.h>

#include "dfufile_private.h"

uint32_t
dfu_crc_update(uint32_t crc, const void *buf, size_t len)
{
	if (len == 0)
		return crc;
	return ~libdeflate_crc32(~crc, buf, len);
}

/*
 * Joining two CRCs.  The register is linear over GF(2): summing B from a
 * state s gives s * x^(8 len(B)) mod P, plus what summing B from 0 gives.
 * So dwCRC(A B) = crc_b + (crc_a + DFU_CRC_INIT) * x^(8 len_b) mod P.
 * Polynomials are stored reflected, as the CRC keeps them: bit 31 is the
 * coefficient of x^0, bit 0 that of x^31, and P is 0xedb88320.
 */
#define CRC_POLY 0xedb88320u
#define CRC_X0 0x80000000u	/* the polynomial 1 */

/* a * b mod P. */
static uint32_t
mulmod(uint32_t a, uint32_t b)
{
	uint32_t p = 0;
	unsigned i;

	/* b runs through b, b x, b x^2, ... while a's terms x^i are added. */
	for (i = 0; i < 32; i++) {
		if (a & (CRC_X0 >> i))
			p ^= b;
		b = (b >> 1) ^ (b & 1u ? CRC_POLY : 0u);
	}
	return p;
}

/* x^(8 n) mod P, by squaring. */
static uint32_t
x8n(uint64_t n)
{
	uint32_t r = CRC_X0, sq = CRC_X0 >> 8;	/* 1, and x^8 */

	for (; n > 0; n >>= 1) {
		if (n & 1u)
			r = mulmod(r, sq);
		sq = mulmod(sq, sq);
	}
	return r;
}

uint32_t
dfui_crc_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
	return crc_b ^ mulmod(crc_a ^ DFU_CRC_INIT, x8n(len_b));
}
