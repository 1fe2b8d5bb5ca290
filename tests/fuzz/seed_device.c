/*
 * seed_device - write seeds for fuzz_device: the device model
 * (dfuflash/model.c) answers a download and an upload by the engine, and
 * each answer is recorded in fuzz_device's input format (see there).
 *
 *   seed_device DIR
 *
 * writes one file per case into DIR.  Built by hand, e.g. after
 * `make B=build tests`:
 *
 *   cc -Icommon -Idfuflash -o build/seed_device tests/fuzz/seed_device.c \
 *       dfuflash/engine*.c dfuflash/proto.c dfuflash/model.c \
 *       build/libdfufile.a -ldeflate
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfuproto.h"
#include "engine.h"
#include "model.h"

struct rec {
	struct dfl_transport model;
	uint8_t *buf;
	size_t len, cap;
};

static void
put(struct rec *r, const void *p, size_t n)
{
	if (r->len + n > r->cap) {
		r->cap = (r->len + n) * 2;
		if ((r->buf = realloc(r->buf, r->cap)) == NULL)
			abort();
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
}

static void
put8(struct rec *r, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(r, &b, 1);
}

static void
put16(struct rec *r, unsigned v)
{
	put8(r, v & 0xff);
	put8(r, (v >> 8) & 0xff);
}

static void
put32(struct rec *r, uint32_t v)
{
	put16(r, v & 0xffff);
	put16(r, v >> 16);
}

static unsigned
err_tag(int rc)
{
	switch (rc) {
	case DFL_XFER_STALL:
		return 0xfc;
	case DFL_XFER_GONE:
		return 0xfd;
	case DFL_XFER_TIMEOUT:
		return 0xfe;
	default:
		return 0xff;
	}
}

static void
put_reply(struct rec *r, int rc, const uint8_t *data)
{
	if (rc < 0) {
		put8(r, err_tag(rc));
		return;
	}
	if (rc >= 0xfb) {
		put8(r, 0xfb);
		put16(r, (unsigned)rc);
	} else {
		put8(r, (unsigned)rc);
	}
	put(r, data, (size_t)rc);
}

static void
put_tag(struct rec *r, int rc)
{
	put8(r, rc < 0 ? err_tag(rc) : 0);
}

static int
r_out(void *ctx, uint8_t req, uint16_t value, const uint8_t *data,
    uint16_t len)
{
	struct rec *r = ctx;
	int rc = r->model.out(r->model.ctx, req, value, data, len);

	if (rc >= 0 && rc != len)
		put8(r, 0xfb);
	else
		put_tag(r, rc);
	return rc;
}

static int
r_in(void *ctx, uint8_t req, uint16_t value, uint8_t *data, uint16_t len,
    uint32_t timeout_ms)
{
	struct rec *r = ctx;
	int rc = r->model.in(r->model.ctx, req, value, data, len,
	    timeout_ms);

	put_reply(r, rc, data);
	return rc;
}

static int
r_set_alt(void *ctx, uint8_t alt)
{
	struct rec *r = ctx;
	int rc = r->model.set_alt(r->model.ctx, alt);

	put_tag(r, rc);
	return rc;
}

static void
r_sleep(void *ctx, uint32_t ms)
{
	struct rec *r = ctx;

	r->model.sleep_ms(r->model.ctx, ms);
}

static int
r_reset(void *ctx)
{
	struct rec *r = ctx;
	int rc = r->model.reset(r->model.ctx);

	put_tag(r, rc);
	return rc;
}

/* The model answers ASCII; the device sent it as a string descriptor. */
static int
r_get_string(void *ctx, uint8_t index, char *buf, size_t len)
{
	struct rec *r = ctx;
	int rc = r->model.get_string(r->model.ctx, index, buf, len);
	uint8_t desc[255];
	size_t n, i;

	if (rc < 0) {
		put8(r, err_tag(rc));
		return rc;
	}
	n = strlen(buf);
	if (n > 126)
		n = 126;
	desc[0] = (uint8_t)(2 + 2 * n);
	desc[1] = 3;
	for (i = 0; i < n; i++) {
		desc[2 + 2 * i] = (uint8_t)buf[i];
		desc[3 + 2 * i] = 0;
	}
	put_reply(r, desc[0], desc);
	return rc;
}

static int
r_reenumerate(void *ctx, uint32_t timeout_ms)
{
	struct rec *r = ctx;
	int rc = r->model.reenumerate(r->model.ctx, timeout_ms);

	put_tag(r, rc);
	return rc;
}

struct seed {
	const char *name, *profile, *fault;
	int raw; /* descriptors as the device sends them */
	uint16_t xfer;
	unsigned flags; /* DFL_* */
	uint32_t address;
	uint16_t size;
	uint32_t up_address;
	uint16_t up_len;
	uint8_t gap, size2; /* a second segment when size2 > 0 */
	int preflash;	    /* the model holds the image already */
};

static const struct seed seeds[] = {
	{ "f107-verify", "f107", NULL, 0, 64, DFL_VERIFY, 0x08000010, 100,
	  0x08000000, 64,
	  0, 0, 0 },
	{ "f107-skip-unchanged", "f107", NULL, 0, 256, DFL_SKIP_UNCHANGED,
	  0x08000800, 300, 0x08000800, 300,
	  0, 0, 0 },
	{ "f107-mass-erase-no-leave", "f107", NULL, 0, 512,
	  DFL_MASS_ERASE | DFL_NO_LEAVE, 0x08000000, 600, 0x08000000, 16,
	  0, 0, 0 },
	{ "f107-erase-error", "f107", "erase:1=errERASE", 0, 64, 0, 0x08000000,
	  40, 0x08000000, 8,
	  0, 0, 0 },
	{ "f107-write-stall", "f107", "stall:6", 0, 64, 0, 0x08000000, 200,
	  0x08000000, 8,
	  0, 0, 0 },
	{ "f107-zero-poll", "f107", "zero-poll", 0, 128, 0, 0x08000000, 300,
	  0x08000000, 8,
	  0, 0, 0 },
	{ "f107-leave-gone", "f107", "leave-gone", 0, 128, 0, 0x08000000, 50,
	  0x08000000, 8,
	  0, 0, 0 },
	{ "f405-runtime", "f405", "runtime", 0, 128,
	  DFL_NO_LEAVE, 0x08000000, 64, 0x08000000, 8,
	  0, 0, 0 },
	{ "l476-verify", "l476", NULL, 0, 64, DFL_VERIFY,
	  0x08000803, 77, 0x08000800, 100,
	  0, 0, 0 },
	{ "dfu11-verify", "dfu11", NULL, 0, 64, DFL_VERIFY, 0, 200, 0, 100,
	  0, 0, 0 },
	{ "dfu11-reset", "dfu11-reset", NULL, 0, 64, 0, 0, 150, 0, 70,
	  0, 0, 0 },
	{ "dfu11-write-error", "dfu11", "write:2=errWRITE", 0, 32, 0, 0, 100, 0,
	  10,
	  0, 0, 0 },
	{ "raw-f405-verify", "f405", NULL, 1, 256, DFL_VERIFY,
	  0x08000000, 1000, 0x08000000, 64,
	  0, 0, 0 },
	{ "raw-f107-runtime", "f107", "runtime", 1, 64, DFL_NO_LEAVE,
	  0x08000000, 2048, 0x08000100, 64,
	  0, 0, 0 },
	{ "raw-dfu11-verify", "dfu11", NULL, 1, 64, DFL_VERIFY, 0, 100, 0,
	  50,
	  0, 0, 0 },
	{ "f107-two-segments-unchanged", "f107", NULL, 0, 256,
	  DFL_SKIP_UNCHANGED | DFL_NO_LEAVE, 0x08000010, 1000, 0x08000000,
	  16, 5, 100, 1 },
	{ "l476-two-segments-verify", "l476", NULL, 0, 512,
	  DFL_VERIFY, 0x08000003, 500, 0x08000000, 16, 2, 20, 0 },
};

static void
run_seed(const char *dir, const struct seed *sd)
{
	struct dfl_model *m = dfl_model_new(sd->profile);
	const struct dfl_device *dev;
	struct dfl_transport t;
	struct dfl_options o;
	struct dfl_session *s;
	struct dfl_image img;
	struct rec r;
	uint8_t *buf;
	uint32_t x = 1, got;
	char path[512], err[256];
	FILE *fp;
	int dfuse, rc1, rc2;

	if (m == NULL)
		abort();
	memset(&r, 0, sizeof(r));
	if (sd->fault != NULL && dfl_model_fault(m, sd->fault, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "seed_device: %s: %s\n", sd->name, err);
		exit(1);
	}
	dfl_model_set_transfer_size(m, sd->xfer);
	dfl_model_transport(m, &r.model);
	dev = dfl_model_device(m);
	dfuse = dev->bcdDFUVersion == DFU_BCD_DFUSE;
	put8(&r, (dfuse ? 1u : 0u) |
	    (dev->bInterfaceProtocol == DFL_PROTOCOL_RUNTIME ? 2u : 0u) |
	    (sd->raw ? 4u : 0u));
	put8(&r, dev->bmAttributes);
	put16(&r, dev->wTransferSize);
	put16(&r, dev->wDetachTimeOut);
	put8(&r, sd->flags | (sd->size2 > 0 ? 0x40u : 0u));
	{
		/* In run-time mode the model names alt 0 otherwise. */
		struct dfl_model *dfu = dfl_model_new(sd->profile);
		const struct dfl_device *dd = dfl_model_device(dfu);

		if (!sd->raw) {
			put(&r, dd->alts[0].name, strlen(dd->alts[0].name) + 1);
		} else {
			/* A class descriptor first, then the functional one. */
			const uint8_t other[5] = { 5, 0x24, 0, 0x10, 0x01 };
			unsigned n = dd->nalts < 3 ? dd->nalts : 3;

			put8(&r, dev->bInterfaceProtocol);
			put8(&r, sizeof(other) + 9);
			put(&r, other, sizeof(other));
			put8(&r, 9);
			put8(&r, 0x21);
			put8(&r, dev->bmAttributes);
			put16(&r, dev->wDetachTimeOut);
			put16(&r, dev->wTransferSize);
			put16(&r, dev->bcdDFUVersion);
			put8(&r, n);
			for (unsigned a = 0; a < n; a++) {
				const char *name = dd->alts[a].name;
				size_t k = strlen(name);

				put8(&r, 0xff);
				put8(&r, dd->alts[a].alt);
				put8(&r, (unsigned)(2 + 2 * k));
				put8(&r, (unsigned)(2 + 2 * k));
				put8(&r, 3);
				for (size_t c = 0; c < k; c++)
					put16(&r, (unsigned char)name[c]);
			}
		}
		dfl_model_free(dfu);
	}
	put32(&r, sd->address);
	put16(&r, sd->size - 1u);
	put8(&r, 1); /* seed: x = 1 */
	if (sd->size2 > 0) {
		put8(&r, sd->gap);
		put8(&r, sd->size2 - 1u);
	}
	put32(&r, 0);
	put8(&r, 0);
	put32(&r, sd->up_address);
	put16(&r, sd->up_len);

	/* The image as fuzz_device makes it. */
	memset(&img, 0, sizeof(img));
	img.plain = !dfuse;
	img.idVendor = img.idProduct = DFU_ID_ANY;
	img.nsegs = sd->size2 > 0 ? 2 : 1;
	if ((img.segs = calloc(img.nsegs, sizeof(*img.segs))) == NULL)
		abort();
	for (size_t g = 0; g < img.nsegs; g++) {
		struct dfl_segment *sg = &img.segs[g];

		sg->address = g == 0 ? sd->address :
		    sd->address + sd->size + sd->gap;
		sg->size = g == 0 ? sd->size : sd->size2;
		if ((sg->data = malloc(sg->size)) == NULL)
			abort();
		for (size_t i = 0; i < sg->size; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			sg->data[i] = (uint8_t)x;
		}
	}
	if (sd->preflash) {
		struct dfl_session *pre = dfl_session_new(&r.model, dev);

		memset(&o, 0, sizeof(o));
		o.flags = DFL_NO_LEAVE;
		if (pre == NULL || dfl_download(pre, &img, &o, NULL) != 0)
			abort();
		dfl_session_free(pre);
	}
	t = r.model;
	t.ctx = &r;
	t.out = r_out;
	t.in = r_in;
	t.set_alt = r_set_alt;
	t.sleep_ms = r_sleep;
	t.reset = r_reset;
	t.get_string = r_get_string;
	t.reenumerate = r_reenumerate;
	if ((s = dfl_session_new(&t, dev)) == NULL)
		abort();
	memset(&o, 0, sizeof(o));
	o.flags = sd->flags;
	rc1 = dfl_download(s, &img, &o, NULL);
	if ((buf = malloc(sd->up_len + 1u)) == NULL)
		abort();
	rc2 = dfl_upload(s, 0, sd->up_address, buf, sd->up_len, &got, &o);
	printf("%s: download %d, upload %d, %zu bytes\n", sd->name, rc1, rc2,
	    r.len);
	free(buf);
	dfl_session_free(s);
	dfl_image_free(&img);
	dfl_model_free(m);
	snprintf(path, sizeof(path), "%s/%s", dir, sd->name);
	if ((fp = fopen(path, "wb")) == NULL ||
	    fwrite(r.buf, 1, r.len, fp) != r.len || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
	free(r.buf);
}

int
main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: seed_device DIR\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		run_seed(argv[1], &seeds[i]);
	return 0;
}
