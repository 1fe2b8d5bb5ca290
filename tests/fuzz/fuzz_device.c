/*
 * fuzz_device - libFuzzer target for what a USB DFU device sends to the
 * host: its DFU functional and string descriptors (descriptor.h), and the
 * GETSTATUS replies, UPLOAD data and error strings the flashing engine
 * (engine.h) takes during a download and an upload on one session.
 *
 * The input is a header, then the device's side of the conversation:
 *
 *   mode             bit 0 DfuSe (bcdDFUVersion 0x011a), bit 1 the device
 *                    starts in run-time mode, bit 2 raw descriptors, bit 3
 *                    a read unprotect after the upload
 *   bmAttributes, wTransferSize (2 bytes LE), wDetachTimeOut (2 bytes LE)
 *   flags            DFL_* download options; 0x40: a second segment;
 *                    0x80: start_set
 *   descriptors      without bit 2: the iInterface of alt 0 in ASCII up
 *                    to NUL (at most 126 bytes); the functional and string
 *                    descriptors are made from these fields and decoded.
 *                    With bit 2 (the fields above then unused):
 *                    bInterfaceProtocol, a length and that many bytes of
 *                    interface "extra" (dfl_func_desc_find()), a count of
 *                    alternate settings (mod 4), and for each: the size of
 *                    the buffer its name is decoded into (0xff: the
 *                    largest, else 1 + the byte), its number, a length
 *                    and that many bytes of string descriptor
 *   image            address (4 bytes LE), size (2 bytes LE, 1 to 4096),
 *                    seed of its pseudo-random bytes; with flag 0x40 the
 *                    gap to a second segment and its size - 1 (a byte each)
 *   start            (4 bytes LE) leave address when start_set
 *   upload           alt, address (4 bytes LE), length (2 bytes LE, at
 *                    most 4096)
 *   replies          one record per transport call, in the order the
 *                    engine makes them:
 *     in (GETSTATUS, UPLOAD) and get_string: a tag, 0xfc stall, 0xfd
 *       gone, 0xfe timeout, 0xff I/O error, 0xfb a 2-byte LE length,
 *       otherwise the length itself, then that many bytes.  The reply
 *       is an exact-size heap copy; a reply longer than asked is an
 *       I/O error (libusb: overflow).  get_string's bytes are a string
 *       descriptor, decoded by dfl_string_decode() as usb.c does;
 *     out, set_alt, reset, reenumerate: one tag byte, the error codes
 *       above, 0xfb (out) the device took half the bytes, anything else
 *       success.
 *   When the input runs out, the device is gone.
 *
 * Properties checked:
 *   - dfl_func_desc_find() agrees with a walk of the descriptors written
 *     here: the same result, fields read from inside the descriptor's
 *     bLength, a message on -1;
 *   - dfl_string_decode() into a buffer of exactly the given size agrees
 *     with a decoder written here (UTF-16LE, surrogate pairs, U+FFFD,
 *     controls as '?', cut at the last whole character that fits): NUL-
 *     terminated within the buffer, well-formed UTF-8 without control
 *     characters; printable ASCII comes back unchanged;
 *   - dfl_device_fill() fails exactly for a protocol above 2, no
 *     alternate setting or a repeated one, and else copies the fields,
 *     the protocol as the mode it means;
 *   - a call that fails says why (dfl_errmsg() not empty, and never
 *     "(null)" for a name the device did not give); progress never says
 *     more done than its total; an image that was flashed is no larger
 *     than dfl_device_capacity();
 *   - after a failure nothing is sent but GETSTATUS and, right after a
 *     GETSTATUS that said dfuERROR, CLRSTATUS (engine.h); a failure is
 *     a transfer error, a GETSTATUS of the wrong size, or one that
 *     reports an error outside the setup of a call; not a GETSTATUS
 *     stalled or timed out while the device said it was busy (the
 *     STM32L4 and F4 ROMs), nor the dfuERROR answered after a CLRSTATUS
 *     of a device in dfuDNBUSY (the STM32H743 rev V ROM), nor a GETSTATUS
 *     that a run-time interface stalls before its DETACH (one that does
 *     not implement it is taken to be in appIDLE, as dfu-util does);
 *   - no single wait is longer than the engine's longest step (40 s of
 *     a mass erase), nor the waits between two requests together, nor
 *     the timeout of any request;
 *   - a DfuSe download writes (DNLOAD data blocks at the address
 *     pointer) only inside the image, widened by at most 7 bytes, each
 *     byte the image's or 0xff; on success it wrote each byte of the
 *     planned writes exactly once, bytes_written is their sum, each
 *     page marked for erasing was erased once and before it was written,
 *     and a verified download read back the image;
 *   - a plain download sends the image from block 0 in order, then a
 *     zero-length DNLOAD, and a verified one read it back;
 *   - a device may go once the download is done: after the zero-length
 *     DNLOAD (DfuSe leave, plain manifestation), and after a data block
 *     written to an alt named "Option Bytes" (engine.h: those devices
 *     reset to load them);
 *   - an upload never reports more bytes than asked, and what it returns
 *     is exactly the data of the device's UPLOAD replies, in order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "descriptor.h"
#include "dfulayout.h"
#include "dfuproto.h"
#include "engine.h"
#include "fuzz.h"

#define MAX_IMAGE 4096u
#define MAX_UPLOAD 4096u
/* The longest name a string descriptor holds: 126 UTF-16 units. */
#define MAX_LAYOUT 126u
/* The engine's longest wait for one step (MASS_ERASE_LIMIT_MS). */
#define MAX_WAIT_MS 40000u
/* Image bytes are widened to 8-byte units (engine.h). */
#define WIDEN 7u

#define TAG_LEN16 0xfb
#define TAG_STALL 0xfc
#define TAG_GONE 0xfd
#define TAG_TIMEOUT 0xfe
#define TAG_IO 0xff

struct input {
	const uint8_t *p;
	size_t left;
};

/* The fuzzed device and what the host was seen to do to it. */
struct dev {
	struct input in;
	struct dfl_device *dev;
	/* The current call. */
	int failed;	   /* something failed: only GETSTATUS/CLRSTATUS now */
	int setup;	   /* before the first DNLOAD/UPLOAD/DETACH of a call */
	int last_error;	   /* the last GETSTATUS said dfuERROR */
	int busy;	   /* the last GETSTATUS said busy, no error */
	int clearing;	   /* CLRSTATUS of a device stuck in dfuDNBUSY */
	int left;	   /* the DfuSe leave request was sent */
	int options;	   /* alt 0 names option bytes: it resets after a write */
	uint64_t slept;	   /* since the last request but GETSTATUS */
	/* DfuSe: address pointer and the window around the image. */
	uint32_t pointer;
	int pointer_set;
	uint64_t win_start, win_size;
	uint8_t *written;  /* times each window byte was written */
	uint8_t *wdata;    /* the last byte written there */
	int *read_back;    /* the last byte the device sent there, or -1 */
	uint32_t *erased;  /* page erase addresses, in order */
	size_t nerased, ecap;
	uint64_t *erase_seq; /* request number of each erase */
	uint64_t *write_seq; /* request number of the first write of a byte */
	uint64_t requests;
	/* Plain download: the bytes sent, in order. */
	uint8_t *plain;
	size_t nplain;
	uint16_t next_block;
	int manifested;
	/* Upload: the data of every UPLOAD reply, in order. */
	uint8_t *uploaded;
	size_t nuploaded, ucap;
	const struct dfl_image *img; /* NULL but in a download */
	int unprotect;		     /* in dfl_unprotect() */
};

/* The image byte at a, or -1 where the image has none. */
static int
img_byte(const struct dev *d, uint64_t a)
{
	for (size_t i = 0; i < d->img->nsegs; i++) {
		const struct dfl_segment *sg = &d->img->segs[i];

		if (a >= sg->address && a - sg->address < sg->size)
			return sg->data[a - sg->address];
	}
	return -1;
}

static uint8_t
take8(struct input *in)
{
	uint8_t v;

	if (in->left == 0)
		return 0;
	v = *in->p++;
	in->left--;
	return v;
}

static uint16_t
take16(struct input *in)
{
	uint16_t lo = take8(in);

	return (uint16_t)(lo | (uint16_t)take8(in) << 8);
}

static uint32_t
take32(struct input *in)
{
	uint32_t lo = take16(in);

	return lo | (uint32_t)take16(in) << 16;
}

static int
tag_error(uint8_t tag)
{
	switch (tag) {
	case TAG_STALL:
		return DFL_XFER_STALL;
	case TAG_GONE:
		return DFL_XFER_GONE;
	case TAG_TIMEOUT:
		return DFL_XFER_TIMEOUT;
	case TAG_IO:
		return DFL_XFER_IO;
	}
	return 0;
}

/*
 * The next reply record: an error, or a heap buffer of exactly the
 * length the input gives (*len), which the caller frees.
 */
static int
next_reply(struct dev *d, uint8_t **reply, size_t *len)
{
	uint8_t tag;
	size_t n;

	*reply = NULL;
	*len = 0;
	if (d->in.left == 0)
		return DFL_XFER_GONE;
	tag = take8(&d->in);
	if (tag_error(tag) != 0)
		return tag_error(tag);
	n = tag == TAG_LEN16 ? take16(&d->in) : tag;
	if (n > d->in.left)
		return DFL_XFER_GONE;
	if ((*reply = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	memcpy(*reply, d->in.p, n);
	d->in.p += n;
	d->in.left -= n;
	*len = n;
	return 0;
}

static int
next_tag(struct dev *d)
{
	if (d->in.left == 0)
		return DFL_XFER_GONE;
	return tag_error(take8(&d->in));
}

/* ---- descriptor.h, against a reference written here ---------------- */

/* UTF-8 of c into b; its length. */
static size_t
utf8(uint32_t c, uint8_t b[4])
{
	if (c < 0x80) {
		b[0] = (uint8_t)c;
		return 1;
	}
	if (c < 0x800) {
		b[0] = (uint8_t)(0xc0 | c >> 6);
		b[1] = (uint8_t)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		b[0] = (uint8_t)(0xe0 | c >> 12);
		b[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (c & 0x3f));
		return 3;
	}
	b[0] = (uint8_t)(0xf0 | c >> 18);
	b[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
	b[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
	b[3] = (uint8_t)(0x80 | (c & 0x3f));
	return 4;
}

/* Well-formed UTF-8 (RFC 3629) without C0/C1 controls or DEL. */
static int
printable_utf8(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t c = p[i];
		size_t k, j;

		if (c < 0x80)
			k = 1;
		else if ((c & 0xe0) == 0xc0)
			k = 2, c &= 0x1f;
		else if ((c & 0xf0) == 0xe0)
			k = 3, c &= 0x0f;
		else if ((c & 0xf8) == 0xf0)
			k = 4, c &= 0x07;
		else
			return 0;
		if (i + k > n)
			return 0;
		for (j = 1; j < k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i + j] & 0x3fu);
		}
		if ((k == 2 && c < 0x80) || (k == 3 && c < 0x800) ||
		    (k == 4 && c < 0x10000) || c > 0x10ffff ||
		    (c >= 0xd800 && c <= 0xdfff))
			return 0;
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
			return 0;
		i += k;
	}
	return 1;
}

/*
 * dfl_string_decode() of desc (len bytes) into out (outlen bytes, a heap
 * buffer of exactly that size or the engine's), checked against the
 * reference: USB 2.0 9.6.7 UTF-16LE, the bytes received when bLength says
 * more, pairs joined, lone surrogates U+FFFD, controls '?', cut at the
 * last whole character that fits with the NUL.
 */
static int
check_string(const uint8_t *desc, size_t len, char *out, size_t outlen)
{
	uint8_t want[4 * 128 + 1];
	size_t n = 0, end, i, fit = 0;
	char msg[160];
	int rc;

	msg[0] = '\0';
	rc = dfl_string_decode(desc, len, out, outlen, msg, sizeof(msg));
	if (len < 2 || desc[0] < 2 || desc[1] != DFL_DT_STRING) {
		CHECK(rc == -1);
		CHECK(msg[0] != '\0' && memchr(msg, '\0', sizeof(msg)) != NULL);
		return -1;
	}
	CHECK(rc >= 0 && (size_t)rc < outlen);
	end = desc[0] < len ? desc[0] : len;
	for (i = 2; i + 1 < end; i += 2) {
		uint32_t c = (uint32_t)desc[i] | (uint32_t)desc[i + 1] << 8;
		uint8_t b[4];
		size_t k;

		if (c >= 0xd800 && c < 0xdc00 && i + 3 < end) {
			uint32_t lo = (uint32_t)desc[i + 2] |
			    (uint32_t)desc[i + 3] << 8;

			if (lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i += 2;
			}
		}
		if (c >= 0xd800 && c < 0xe000)
			c = 0xfffd;
		else if (c < 0x20 || (c >= 0x7f && c < 0xa0))
			c = '?';
		k = utf8(c, b);
		memcpy(want + n, b, k);
		n += k;
		if (n < outlen)
			fit = n;
	}
	CHECK((size_t)rc == fit);
	CHECK(memcmp(out, want, fit) == 0 && out[fit] == '\0');
	CHECK(printable_utf8((const unsigned char *)out, fit));
	return rc;
}

/*
 * dfl_func_desc_find() of extra, checked against a walk of the
 * descriptors written here (USB 2.0 9.5; DFU 1.1 table 4.2).
 */
static int
check_func(const uint8_t *extra, size_t len, struct dfl_func_desc *f)
{
	size_t off = 0;
	char msg[160];
	int rc, want = 0;

	msg[0] = '\0';
	memset(f, 0xa5, sizeof(*f));
	rc = dfl_func_desc_find(extra, len, f, msg, sizeof(msg));
	while (off < len) {
		size_t left = len - off;

		if (left < 2 || extra[off] < 2 || extra[off] > left) {
			want = -1;
			break;
		}
		if (extra[off + 1] == DFL_DT_DFU_FUNCTIONAL) {
			uint8_t bl = extra[off];

			if (bl != 7 && bl != 9) {
				want = -1;
				break;
			}
			CHECK(rc == 1);
			/* Every field from within the descriptor's bLength. */
			CHECK(f->bLength == bl && f->bmAttributes == extra[off + 2]);
			CHECK(f->wDetachTimeOut == (extra[off + 3] |
			    extra[off + 4] << 8));
			CHECK(f->wTransferSize == (extra[off + 5] |
			    extra[off + 6] << 8));
			CHECK(f->bcdDFUVersion == (bl == 9 ? (extra[off + 7] |
			    extra[off + 8] << 8) : 0x0100));
			return 1;
		}
		off += extra[off];
	}
	CHECK(rc == want);
	if (rc < 0)
		CHECK(msg[0] != '\0' && memchr(msg, '\0', sizeof(msg)) != NULL);
	return rc;
}

/* Every request: what may be sent now, and the wait before it. */
static void
request(struct dev *d, int req)
{
	d->requests++;
	if (d->failed)
		CHECK(req == DFU_GETSTATUS ||
		    (req == DFU_CLRSTATUS && d->last_error));
	/*
	 * The engine clears a page erase stuck in dfuDNBUSY with CLRSTATUS
	 * (STM32H743 rev V): the dfuERROR it answers then is no failure.
	 */
	if (req == DFU_CLRSTATUS && d->busy)
		d->clearing = 1;
	else if (req != DFU_GETSTATUS && req != DFU_CLRSTATUS)
		d->clearing = 0;
	if (req != DFU_GETSTATUS)
		d->slept = 0;
	if (req == DFU_DNLOAD || req == DFU_UPLOAD || req == DFU_DETACH)
		d->setup = 0;
}

static int
in_window(const struct dev *d, uint64_t a)
{
	return a >= d->win_start && a < d->win_start + d->win_size;
}

static void
dfuse_dnload(struct dev *d, uint16_t block, const uint8_t *data, uint16_t len)
{
	if (block == 0) {
		CHECK(len >= 1);
		if (data[0] == DFUSE_CMD_SET_ADDRESS) {
			CHECK(len == 5);
			d->pointer = (uint32_t)data[1] | (uint32_t)data[2] << 8 |
			    (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24;
			d->pointer_set = 1;
		} else if (data[0] == DFUSE_CMD_ERASE && len == 5) {
			if (d->nerased == d->ecap) {
				d->ecap = d->ecap ? 2 * d->ecap : 16;
				d->erased = realloc(d->erased,
				    d->ecap * sizeof(*d->erased));
				d->erase_seq = realloc(d->erase_seq,
				    d->ecap * sizeof(*d->erase_seq));
				CHECK(d->erased != NULL && d->erase_seq != NULL);
			}
			d->erase_seq[d->nerased] = d->requests;
			d->erased[d->nerased++] = (uint32_t)data[1] |
			    (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
			    (uint32_t)data[4] << 24;
		} else {
			/* Mass erase; the engine sends no other command. */
			CHECK(data[0] == DFUSE_CMD_ERASE && len == 1);
		}
		return;
	}
	if (len == 0) {
		/* Leave: block 2, after the address pointer was set. */
		CHECK(block == DFUSE_FIRST_BLOCK && d->pointer_set);
		d->left = 1;
		return;
	}
	CHECK(block >= DFUSE_FIRST_BLOCK && d->pointer_set);
	CHECK(len <= d->dev->wTransferSize);
	{
		uint64_t a = (uint64_t)d->pointer +
		    (uint64_t)(block - DFUSE_FIRST_BLOCK) * d->dev->wTransferSize;

		for (uint16_t i = 0; i < len; i++, a++) {
			uint64_t off = a - d->win_start;
			int v = img_byte(d, a);

			/* Only the image and its filling, never elsewhere. */
			CHECK(in_window(d, a));
			CHECK(data[i] == (v >= 0 ? v : 0xff));
			if (d->written[off] == 0)
				d->write_seq[off] = d->requests;
			if (d->written[off] < UINT8_MAX)
				d->written[off]++;
			d->wdata[off] = data[i];
		}
	}
	if (d->options)
		d->left = 1;
}

static void
plain_dnload(struct dev *d, uint16_t block, const uint8_t *data, uint16_t len)
{
	CHECK(!d->manifested);
	CHECK(block == d->next_block);
	d->next_block++;
	if (len == 0) {
		/* Manifestation: a device may run its firmware at once. */
		d->manifested = 1;
		d->left = 1;
		return;
	}
	CHECK(len <= d->dev->wTransferSize);
	CHECK(d->img->nsegs == 1);
	CHECK(d->nplain + len <= d->img->segs[0].size);
	memcpy(d->plain + d->nplain, data, len);
	d->nplain += len;
}

static int
t_out(void *ctx, uint8_t req, uint16_t value, const uint8_t *data,
    uint16_t len)
{
	struct dev *d = ctx;
	int tag;

	request(d, req);
	CHECK(len == 0 || data != NULL);
	if (req == DFU_DNLOAD && d->img != NULL) {
		if (d->dev->bcdDFUVersion == DFU_BCD_DFUSE)
			dfuse_dnload(d, value, data, len);
		else
			plain_dnload(d, value, data, len);
	} else if (req == DFU_DNLOAD && d->unprotect) {
		CHECK(value == 0 && len == 1 &&
		    data[0] == DFUSE_CMD_READ_UNPROTECT);
		/* The device erases and resets (AN3156): it may be gone. */
		d->left = 1;
	} else if (req == DFU_DNLOAD) {
		/* An upload sends nothing but the DfuSe address pointer. */
		CHECK(d->dev->bcdDFUVersion == DFU_BCD_DFUSE && value == 0 &&
		    len == 5 && data[0] == DFUSE_CMD_SET_ADDRESS);
		d->pointer = (uint32_t)data[1] | (uint32_t)data[2] << 8 |
		    (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24;
		d->pointer_set = 1;
	}
	if (d->in.left > 0 && *d->in.p == TAG_LEN16) {
		take8(&d->in);
		if (len / 2 != len && !d->left)
			d->failed = 1;
		return len / 2;
	}
	if ((tag = next_tag(d)) != 0) {
		/* DETACH: a device may go at once (DFU 1.1 5.1). */
		if (req != DFU_DETACH && !d->left)
			d->failed = 1;
		return tag;
	}
	return len;
}

static int
t_in(void *ctx, uint8_t req, uint16_t value, uint8_t *data, uint16_t len,
    uint32_t timeout_ms)
{
	struct dev *d = ctx;
	uint8_t *reply;
	size_t n;
	int rc;

	request(d, req);
	CHECK(req == DFU_GETSTATUS || req == DFU_UPLOAD);
	CHECK(timeout_ms >= DFL_XFER_TIMEOUT_MS && timeout_ms <= MAX_WAIT_MS);
	CHECK(data != NULL || len == 0);
	if ((rc = next_reply(d, &reply, &n)) != 0) {
		/*
		 * A GETSTATUS stalled or not answered while the device is
		 * busy means "still busy" (STM32L4, STM32F4 ROMs): the engine
		 * may ask again and go on.
		 */
		if (!d->left && !(req == DFU_GETSTATUS && d->busy &&
		    (rc == DFL_XFER_STALL || rc == DFL_XFER_TIMEOUT)) &&
		    !(req == DFU_GETSTATUS && rc == DFL_XFER_STALL &&
		    d->setup && d->dev->bInterfaceProtocol ==
		    DFL_PROTOCOL_RUNTIME))
			d->failed = 1;
		return rc;
	}
	if (n > len) {
		free(reply);
		if (!d->left)
			d->failed = 1;
		return DFL_XFER_IO;
	}
	memcpy(data, reply, n);
	if (req == DFU_GETSTATUS) {
		if (n != DFU_STATUS_SIZE) {
			if (!d->left)
				d->failed = 1;
		} else {
			int bad = reply[4] == DFU_STATE_ERROR ||
			    reply[0] != DFU_STATUS_OK;

			d->last_error = reply[4] == DFU_STATE_ERROR;
			d->busy = !bad && (reply[4] == DFU_STATE_DNBUSY ||
			    reply[4] == DFU_STATE_DNLOAD_SYNC ||
			    reply[4] == DFU_STATE_MANIFEST_SYNC ||
			    reply[4] == DFU_STATE_MANIFEST);
			if (bad && !d->setup && !d->left && !d->clearing)
				d->failed = 1;
		}
	} else {
		if (d->ucap < d->nuploaded + n + 1) {
			d->ucap = d->nuploaded + n + 4096;
			d->uploaded = realloc(d->uploaded, d->ucap);
			CHECK(d->uploaded != NULL);
		}
		memcpy(d->uploaded + d->nuploaded, reply, n);
		d->nuploaded += n;
		if (d->dev->bcdDFUVersion == DFU_BCD_DFUSE && d->img != NULL &&
		    d->pointer_set && value >= DFUSE_FIRST_BLOCK) {
			uint64_t a = (uint64_t)d->pointer + (uint64_t)(value -
			    DFUSE_FIRST_BLOCK) * d->dev->wTransferSize;

			for (size_t i = 0; i < n; i++, a++)
				if (in_window(d, a))
					d->read_back[a - d->win_start] = reply[i];
		}
	}
	free(reply);
	return (int)n;
}

static int
t_set_alt(void *ctx, uint8_t alt)
{
	struct dev *d = ctx;
	int rc;

	(void)alt;
	request(d, -1);
	if ((rc = next_tag(d)) != 0)
		d->failed = 1;
	return rc;
}

static void
t_sleep(void *ctx, uint32_t ms)
{
	struct dev *d = ctx;

	CHECK(ms <= MAX_WAIT_MS);
	d->slept += ms;
	CHECK(d->slept <= MAX_WAIT_MS);
}

static int
t_reset(void *ctx)
{
	struct dev *d = ctx;

	int rc;

	request(d, -2);
	/* Gone is what a reset usually does. */
	if ((rc = next_tag(d)) != 0 && rc != DFL_XFER_GONE)
		d->failed = 1;
	return rc;
}

/* As usb.c: the string descriptor decoded by descriptor.h. */
static int
t_get_string(void *ctx, uint8_t index, char *buf, size_t len)
{
	struct dev *d = ctx;
	uint8_t *reply;
	size_t n;
	int rc;

	CHECK(index != 0 && buf != NULL && len > 0);
	if ((rc = next_reply(d, &reply, &n)) != 0)
		return rc;
	rc = check_string(reply, n, buf, len);
	free(reply);
	return rc < 0 ? DFL_XFER_IO : 0;
}

static int
t_reenumerate(void *ctx, uint32_t timeout_ms)
{
	struct dev *d = ctx;
	int rc;

	(void)timeout_ms;
	request(d, -3);
	if ((rc = next_tag(d)) != 0)
		return DFL_XFER_GONE;
	d->dev->bInterfaceProtocol = DFL_PROTOCOL_DFU;
	d->setup = 1;
	return 0;
}

static void
on_progress(void *ctx, const struct dfl_event *ev)
{
	(void)ctx;
	CHECK(ev->done <= ev->total);
	CHECK(strcmp(dfl_phase_name(ev->phase), "?") != 0);
}

static void
on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	CHECK(msg[0] != '\0');
}

static void
call_start(struct dev *d)
{
	d->failed = 0;
	d->setup = 1;
	d->last_error = 0;
	d->busy = d->clearing = 0;
	d->left = 0;
	d->slept = 0;
	d->pointer_set = 0;
}

/* What a successful DfuSe download must have done. */
static void
check_dfuse(struct dev *d, const struct dfl_result *res, unsigned flags)
{
	uint64_t sum = 0, n = 0;

	for (size_t w = 0; w < res->nwrites; w++) {
		const struct dfl_range *r = &res->writes[w];

		sum += r->size;
		for (uint64_t a = r->start; a < (uint64_t)r->start + r->size;
		    a++) {
			CHECK(in_window(d, a));
			CHECK(d->written[a - d->win_start] == 1);
		}
	}
	CHECK(sum == res->bytes_written);
	for (uint64_t i = 0; i < d->win_size; i++)
		n += d->written[i];
	CHECK(n == sum);
	if (flags & DFL_MASS_ERASE) {
		CHECK(res->mass_erased && d->nerased == 0);
	} else {
		unsigned want = 0;

		for (size_t p = 0; p < res->npages; p++) {
			const struct dfl_page *pg = &res->pages[p];
			size_t e, count = 0;
			uint64_t at = 0;

			if (!(pg->flags & DFL_PAGE_ERASE))
				continue;
			want++;
			for (e = 0; e < d->nerased; e++)
				if (d->erased[e] == pg->start) {
					count++;
					at = d->erase_seq[e];
				}
			CHECK(count == 1);
			/* Erased before any byte of it was written. */
			for (uint64_t a = pg->start;
			    a < (uint64_t)pg->start + pg->size; a++)
				if (in_window(d, a) &&
				    d->written[a - d->win_start])
					CHECK(d->write_seq[a - d->win_start] >
					    at);
		}
		CHECK(want == res->pages_erased && want == d->nerased);
	}
	if (res->verified)
		for (size_t g = 0; g < d->img->nsegs; g++) {
			const struct dfl_segment *sg = &d->img->segs[g];

			for (uint32_t i = 0; i < sg->size; i++)
				CHECK(d->read_back[sg->address + i -
				    d->win_start] == sg->data[i]);
		}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct dfl_device device;
	struct dfl_transport t;
	struct dfl_options o;
	struct dfl_result res;
	struct dfl_session *s;
	struct dfl_image img;
	struct dev d;
	struct dfl_desc_parts parts;
	struct dfl_func_desc func;
	struct dfl_alt alts[3];
	char *names[3] = { NULL, NULL, NULL };
	uint8_t mode, bm, flags, up_alt, *buf;
	uint32_t address, start, up_address, x, gap = 0, size2 = 0;
	uint16_t xfer, detach, isize, up_len;
	uint64_t capacity;
	int dfuse, null_name = 0;
	uint32_t got;
	size_t i;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&d, 0, sizeof(d));
	mode = take8(&in);
	bm = take8(&in);
	xfer = take16(&in);
	detach = take16(&in);
	flags = take8(&in);
	memset(&parts, 0, sizeof(parts));
	parts.idVendor = parts.idProduct = 0x1234;
	parts.alts = alts;
	if (!(mode & 4)) {
		/*
		 * The fields above, and an ASCII layout up to NUL, made into
		 * the descriptors a device would send; they must decode to
		 * what they were made of.
		 */
		uint16_t bcd = (mode & 1) ? DFU_BCD_DFUSE : 0x0110;
		uint8_t fd[9] = { 9, DFL_DT_DFU_FUNCTIONAL, bm, (uint8_t)detach,
			(uint8_t)(detach >> 8), (uint8_t)xfer,
			(uint8_t)(xfer >> 8), (uint8_t)bcd, (uint8_t)(bcd >> 8) };
		uint8_t sd[2 + 2 * MAX_LAYOUT];
		size_t n = 0;

		while (n < MAX_LAYOUT && in.left > 0) {
			uint8_t c = take8(&in);

			if (c == 0)
				break;
			sd[2 + 2 * n] = c;
			sd[3 + 2 * n] = 0;
			n++;
		}
		sd[0] = (uint8_t)(2 + 2 * n);
		sd[1] = DFL_DT_STRING;
		CHECK(check_func(fd, sizeof(fd), &func) == 1);
		CHECK(func.bmAttributes == bm && func.wTransferSize == xfer &&
		    func.wDetachTimeOut == detach && func.bcdDFUVersion == bcd);
		parts.func = &func;
		parts.bInterfaceProtocol = (mode & 2) ? DFL_PROTOCOL_RUNTIME :
		    DFL_PROTOCOL_DFU;
		names[0] = malloc(DFL_STRING_MAX);
		CHECK(names[0] != NULL);
		CHECK(check_string(sd, sd[0], names[0], DFL_STRING_MAX) >= 0);
		/* Printable ASCII comes back as it was. */
		for (i = 0; i < n && sd[2 + 2 * i] >= 0x20 &&
		    sd[2 + 2 * i] < 0x7f; i++)
			CHECK(names[0][i] == (char)sd[2 + 2 * i]);
		if (i == n)
			CHECK(names[0][n] == '\0');
		alts[0].alt = 0;
		alts[0].name = names[0];
		parts.nalts = 1;
	} else {
		/*
		 * Raw descriptors from the input: bInterfaceProtocol, the
		 * interface's extra bytes, then up to 3 alternate settings,
		 * each a number, the size of the buffer its name is decoded
		 * into and its string descriptor.
		 */
		size_t n;
		uint8_t *extra;

		parts.bInterfaceProtocol = take8(&in);
		n = take8(&in);
		n = n < in.left ? n : in.left;
		CHECK((extra = malloc(n > 0 ? n : 1)) != NULL);
		memcpy(extra, in.p, n);
		in.p += n;
		in.left -= n;
		if (check_func(n > 0 ? extra : NULL, n, &func) == 1)
			parts.func = &func;
		free(extra);
		parts.nalts = take8(&in) % 4u;
		for (unsigned a = 0; a < parts.nalts; a++) {
			size_t outlen = take8(&in);
			uint8_t *desc;

			alts[a].alt = take8(&in);
			outlen = outlen == 0xff ? DFL_STRING_MAX : outlen + 1;
			n = take8(&in);
			n = n < in.left ? n : in.left;
			CHECK((desc = malloc(n > 0 ? n : 1)) != NULL);
			memcpy(desc, in.p, n);
			in.p += n;
			in.left -= n;
			CHECK((names[a] = malloc(outlen)) != NULL);
			/* usb.c gives no name to a string it cannot decode. */
			alts[a].name = check_string(desc, n, names[a], outlen) < 0 ?
			    NULL : names[a];
			free(desc);
		}
	}
	{
		char msg[160] = "";
		int ok = parts.bInterfaceProtocol <= DFL_PROTOCOL_DFU &&
		    parts.nalts > 0;
		/* 0 is run-time, but DFU mode on a DfuSe device; 1234:1234
		 * is in no quirk table (descriptor.h). */
		int want_mode = parts.bInterfaceProtocol != 0 ?
		    parts.bInterfaceProtocol : parts.func != NULL &&
		    func.bcdDFUVersion == 0x011a ? DFL_PROTOCOL_DFU :
		    DFL_PROTOCOL_RUNTIME;

		for (unsigned a = 0; a < parts.nalts; a++)
			for (unsigned b = a + 1; b < parts.nalts; b++)
				if (alts[a].alt == alts[b].alt)
					ok = 0;
		memset(&device, 0xa5, sizeof(device));
		rc = dfl_device_fill(&device, &parts, msg, sizeof(msg));
		if (!ok) {
			/* Not a DFU interface: nothing is sent to it. */
			CHECK(rc == -1 && msg[0] != '\0');
			goto out;
		}
		CHECK(rc == 0);
		CHECK(device.bInterfaceProtocol == want_mode);
		CHECK(device.alts == alts && device.nalts == parts.nalts);
		CHECK(device.idVendor == 0x1234 && device.idProduct == 0x1234);
		if (parts.func != NULL)
			CHECK(device.bmAttributes == func.bmAttributes &&
			    device.wTransferSize == func.wTransferSize &&
			    device.wDetachTimeOut == func.wDetachTimeOut &&
			    device.bcdDFUVersion == func.bcdDFUVersion);
		else
			CHECK(device.bmAttributes == 0 &&
			    device.wTransferSize == 0 &&
			    device.bcdDFUVersion == 0x0100);
	}
	dfuse = device.bcdDFUVersion == DFU_BCD_DFUSE;
	/* A name the device did not give must not show as "(null)". */
	for (unsigned a = 0; a < parts.nalts; a++)
		if (alts[a].name == NULL)
			null_name = 1;
	for (unsigned a = 0; a < parts.nalts; a++)
		if (alts[a].name != NULL && strstr(alts[a].name, "(null)"))
			null_name = 0;
	/* The image is alt 0's: option bytes when its name says so. */
	for (unsigned a = 0; a < parts.nalts; a++)
		if (alts[a].alt == 0 && alts[a].name != NULL &&
		    alts[a].name[0] == '@') {
			const char *nm = alts[a].name + 1;

			while (*nm == ' ')
				nm++;
			d.options = strncasecmp(nm, "option byte", 11) == 0;
		}
	address = take32(&in);
	isize = take16(&in);
	isize = (uint16_t)(isize % MAX_IMAGE + 1);
	x = take8(&in) | 1u;
	if (flags & 0x40) {
		gap = take8(&in);
		size2 = (uint32_t)take8(&in) + 1;
	}
	start = take32(&in);
	up_alt = take8(&in);
	up_address = take32(&in);
	up_len = (uint16_t)(take16(&in) % (MAX_UPLOAD + 1));

	/* One segment, or two with a gap (flag 0x40). */
	memset(&img, 0, sizeof(img));
	img.plain = !dfuse;
	img.idVendor = img.idProduct = DFU_ID_ANY;
	img.nsegs = 1;
	if (size2 > 0 && (uint64_t)address + isize + gap + size2 <= UINT32_MAX)
		img.nsegs = 2;
	CHECK((img.segs = calloc(img.nsegs, sizeof(*img.segs))) != NULL);
	for (size_t g = 0; g < img.nsegs; g++) {
		struct dfl_segment *sg = &img.segs[g];

		sg->address = g == 0 ? address : address + isize + gap;
		sg->size = g == 0 ? isize : size2;
		CHECK((sg->data = malloc(sg->size)) != NULL);
		for (i = 0; i < sg->size; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			sg->data[i] = (uint8_t)x;
		}
	}
	d.img = &img;
	d.in = in;
	d.dev = &device;
	d.win_start = address >= WIDEN ? address - WIDEN : 0;
	d.win_size = (uint64_t)img.segs[img.nsegs - 1].address +
	    img.segs[img.nsegs - 1].size + WIDEN - d.win_start;
	d.written = calloc(d.win_size, 1);
	d.wdata = calloc(d.win_size, 1);
	d.write_seq = calloc(d.win_size, sizeof(*d.write_seq));
	d.read_back = malloc(d.win_size * sizeof(*d.read_back));
	d.plain = malloc(isize);
	CHECK(d.written && d.wdata && d.write_seq && d.read_back && d.plain);
	for (i = 0; i < d.win_size; i++)
		d.read_back[i] = -1;

	t.ctx = &d;
	t.out = t_out;
	t.in = t_in;
	t.set_alt = t_set_alt;
	t.sleep_ms = t_sleep;
	t.reset = t_reset;
	t.get_string = t_get_string;
	t.reenumerate = t_reenumerate;
	CHECK((s = dfl_session_new(&t, &device)) != NULL);

	/* A download of the image. */
	capacity = dfl_device_capacity(&device);
	o.progress = on_progress;
	o.warn = on_warn;
	o.flags = flags & 0x3fu;
	o.start_set = (flags & 0x80) != 0;
	o.start = start;
	call_start(&d);
	rc = dfl_download(s, &img, &o, &res);
#ifdef FUZZ_DEBUG
	fprintf(stderr, "download: %d %s\n", rc, dfl_errmsg(s));
#endif
	if (rc != 0) {
		CHECK(rc == DFL_ERR_PLAN || rc == DFL_ERR_DEVICE ||
		    rc == DFL_ERR_GONE || rc == DFL_ERR_NOMEM);
		CHECK(dfl_errmsg(s)[0] != '\0');
		CHECK(!null_name || strstr(dfl_errmsg(s), "(null)") == NULL);
	} else {
		CHECK(dfl_errmsg(s)[0] == '\0');
		CHECK(!d.failed);
		if (!(o.flags & DFL_PLAN_ONLY) && dfuse)
			check_dfuse(&d, &res, o.flags);
		if (!(o.flags & DFL_PLAN_ONLY) && !dfuse) {
			CHECK(d.manifested && d.nplain == isize);
			CHECK(memcmp(d.plain, img.segs[0].data, isize) == 0);
			CHECK(res.bytes_written == isize);
			if (res.verified)
				CHECK(d.nuploaded >= isize && memcmp(d.uploaded,
				    img.segs[0].data, isize) == 0);
		}
		if (o.flags & DFL_PLAN_ONLY)
			CHECK(res.bytes_written == 0 && d.nerased == 0);
		/* What fits is no more than the layouts' writable bytes. */
		if (capacity != UINT64_MAX)
			CHECK(isize + size2 <= capacity);
	}

	/* An upload on the same session. */
	d.img = NULL;
	d.nuploaded = 0;
	call_start(&d);
	if ((buf = malloc(up_len > 0 ? up_len : 1)) == NULL)
		abort();
	got = 0xdeadbeef;
	rc = dfl_upload(s, up_alt, up_address, buf, up_len, &got, &o);
#ifdef FUZZ_DEBUG
	fprintf(stderr, "upload: %d %s (%u bytes)\n", rc, dfl_errmsg(s), got);
#endif
	CHECK(got <= up_len);
	if (rc != 0) {
		CHECK(dfl_errmsg(s)[0] != '\0');
		CHECK(!null_name || strstr(dfl_errmsg(s), "(null)") == NULL);
	} else {
		CHECK(dfl_errmsg(s)[0] == '\0');
		CHECK(!d.failed);
		CHECK(d.nuploaded == got);
		CHECK(got == 0 || memcmp(buf, d.uploaded, got) == 0);
		if (dfuse)
			CHECK(got == up_len);
	}
	free(buf);

	/* DfuSe read unprotect (mode bit 3). */
	if (mode & 8) {
		d.unprotect = 1;
		call_start(&d);
		rc = dfl_unprotect(s, &o);
		if (rc != 0)
			CHECK(dfl_errmsg(s)[0] != '\0');
		else
			CHECK(!d.failed && dfuse);
	}

	dfl_session_free(s);
	dfl_image_free(&img);
	free(d.written);
	free(d.wdata);
	free(d.write_seq);
	free(d.read_back);
	free(d.plain);
	free(d.erased);
	free(d.erase_seq);
	free(d.uploaded);
out:
	for (i = 0; i < 3; i++)
		free(names[i]);
	return 0;
}
