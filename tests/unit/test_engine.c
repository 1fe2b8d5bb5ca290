/*
 * test_engine.c - the dfuflash engine (dfuflash/engine.h) against the
 * device model (dfuflash/model.c): every profile, every injected fault (exit
 * code, message, no leave after a failure, a retry after replugging
 * succeeds), the plan checks, the pyboard filesystem, --skip-unchanged,
 * the wBlockNum limit, and a golden request trace.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dfulayout.h"
#include "dfuproto.h"
#include "engine.h"
#include "model.h"

#define FLASH 0x08000000u

struct rig {
	struct dfl_model *m;
	struct dfl_transport t;
	struct dfl_session *s;
	struct dfl_options o;
	struct dfl_result res;
	char warnings[1024];
	unsigned events;
	int last_phase;
};

static void
on_warn(void *ctx, const char *msg)
{
	struct rig *r = ctx;
	size_t n = strlen(r->warnings);

	snprintf(r->warnings + n, sizeof(r->warnings) - n, "%s\n", msg);
}

static void
on_progress(void *ctx, const struct dfl_event *ev)
{
	struct rig *r = ctx;

	assert_true(ev->done <= ev->total);
	r->events++;
	r->last_phase = (int)ev->phase;
}

static struct rig *
rig_new(const char *profile)
{
	struct rig *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->m = dfl_model_new(profile);
	assert_non_null(r->m);
	dfl_model_transport(r->m, &r->t);
	r->s = dfl_session_new(&r->t, dfl_model_device(r->m));
	assert_non_null(r->s);
	r->o.warn = on_warn;
	r->o.progress = on_progress;
	r->o.cb_ctx = r;
	return r;
}

/* Unplug and plug in: a new session on the same flash, no faults. */
static void
rig_replug(struct rig *r)
{
	dfl_session_free(r->s);
	dfl_model_replug(r->m);
	r->s = dfl_session_new(&r->t, dfl_model_device(r->m));
	assert_non_null(r->s);
	r->warnings[0] = '\0';
}

static void
rig_free(struct rig *r)
{
	dfl_session_free(r->s);
	dfl_model_free(r->m);
	free(r);
}

static void
fault(struct rig *r, const char *spec)
{
	char err[256];

	if (dfl_model_fault(r->m, spec, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static int
flash_img(struct rig *r, const struct dfl_image *img, unsigned flags)
{
	r->o.flags = flags;
	return dfl_download(r->s, img, &r->o, &r->res);
}

/* Deterministic pseudo-random bytes (xorshift), never all 0xff. */
static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

/* An image of one alt from (address, size, seed) triples. */
static void
image(struct dfl_image *img, int plain, unsigned n, const uint32_t *spec)
{
	memset(img, 0, sizeof(*img));
	img->plain = plain;
	img->idVendor = img->idProduct = 0xffff;
	img->segs = calloc(n, sizeof(*img->segs));
	assert_non_null(img->segs);
	img->nsegs = n;
	for (unsigned i = 0; i < n; i++) {
		img->segs[i].address = spec[3 * i];
		img->segs[i].size = spec[3 * i + 1];
		img->segs[i].data = malloc(spec[3 * i + 1] + 1);
		assert_non_null(img->segs[i].data);
		fill(img->segs[i].data, spec[3 * i + 1], spec[3 * i + 2]);
	}
}

static uint8_t *
mem_at(struct rig *r, uint32_t address)
{
	uint32_t base, size;
	uint8_t *mem = dfl_model_memory(r->m, &base, &size);

	assert_true(address >= base && address - base <= size);
	return mem + (address - base);
}

/* The device holds every segment of img. */
static void
assert_holds(struct rig *r, const struct dfl_image *img)
{
	for (size_t i = 0; i < img->nsegs; i++)
		assert_memory_equal(mem_at(r, img->segs[i].address),
		    img->segs[i].data, img->segs[i].size);
}

static void
assert_error(struct rig *r, int rc, int want, const char *msg)
{
	if (rc != want || strcmp(dfl_errmsg(r->s), msg) != 0)
		fail_msg("got %d \"%s\", expected %d \"%s\"", rc,
		    dfl_errmsg(r->s), want, msg);
}

/* ---- Each profile ---------------------------------------------------------- */

static void
check_profile(const char *profile, uint32_t base, int plain)
{
	const uint32_t spec[] = { base, 70001, 7, base + 90000, 3000, 8 };
	struct rig *r = rig_new(profile);
	const struct dfl_model_stats *st;
	struct dfl_image img;

	image(&img, plain, plain ? 1 : 2, spec);
	assert_int_equal(flash_img(r, &img, DFL_VERIFY), 0);
	assert_holds(r, &img);
	st = dfl_model_stats(r->m);
	assert_true(st->left);
	assert_true(r->res.left);
	assert_true(r->res.verified);
	assert_int_equal(r->last_phase, DFL_PHASE_LEAVE);
	if (!plain) {
		assert_int_equal(st->left_address, base);
		assert_int_equal(r->res.leave_address, base);
		assert_int_equal(r->res.pages_erased, st->pages_erased);
	}
	dfl_image_free(&img);
	rig_free(r);
}

static void
test_profile_f405(void **state)
{
	(void)state;
	check_profile("f405", FLASH, 0);
}

static void
test_profile_f107(void **state)
{
	(void)state;
	check_profile("f107", FLASH, 0);
}

static void
test_profile_l476(void **state)
{
	(void)state;
	check_profile("l476", FLASH, 0);
}

static void
test_profile_dfu11(void **state)
{
	(void)state;
	check_profile("dfu11", 0, 1);
}

/* A device that waits for a reset after manifestation: no verify. */
static void
test_profile_dfu11_reset(void **state)
{
	const uint32_t spec[] = { 0, 5000, 3 };
	struct rig *r = rig_new("dfu11-reset");
	struct dfl_image img;

	(void)state;
	image(&img, 1, 1, spec);
	assert_error(r, flash_img(r, &img, DFL_VERIFY), DFL_ERR_PLAN,
	    "--verify needs a device that can upload after manifestation "
	    "(bitManifestationTolerant); this one waits for a reset");
	assert_int_equal(dfl_model_stats(r->m)->requests, 0);
	assert_int_equal(flash_img(r, &img, DFL_NO_LEAVE), 0);
	assert_holds(r, &img);
	/* Reset anyway: dfuMANIFEST-WAIT-RESET has no other way out. */
	assert_true(dfl_model_stats(r->m)->left);
	assert_non_null(strstr(r->warnings, "dfuMANIFEST-WAIT-RESET"));
	dfl_image_free(&img);
	rig_free(r);
}

/* The L476 programs 8 bytes at a time: odd sizes and addresses work. */
static void
test_l476_unaligned(void **state)
{
	const uint32_t spec[] = { FLASH + 3, 1001, 1, FLASH + 1005, 5, 2 };
	struct rig *r = rig_new("l476");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 2, spec);
	assert_int_equal(flash_img(r, &img, DFL_VERIFY), 0);
	assert_holds(r, &img);
	/* One run, widened to 0x08000000-0x080003f7 (1016 bytes). */
	assert_int_equal(r->res.nwrites, 1);
	assert_int_equal(r->res.writes[0].start, FLASH);
	assert_int_equal(r->res.writes[0].size, 1016);
	assert_int_equal(*mem_at(r, FLASH), 0xff);
	assert_int_equal(*mem_at(r, FLASH + 1004), 0xff);
	dfl_image_free(&img);
	rig_free(r);
}

/* ---- The pyboard: filesystem between the two firmware parts --------------- */

#define FS_START 0x08004000u
#define FS_SIZE (0x08020000u - FS_START)

static void
pyboard_prepare(struct rig *r, uint32_t old_fw0_size)
{
	uint32_t base, size;
	uint8_t *mem = dfl_model_memory(r->m, &base, &size);

	/* An old firmware, the user's files, erased flash after it. */
	fill(mem, old_fw0_size, 100);
	fill(mem + (FS_START - base), FS_SIZE, 200);
	fill(mem + 0x20000, 0x30000, 300);
}

static void
test_pyboard_filesystem(void **state)
{
	const uint32_t spec[] = { FLASH, 0x3000, 1, 0x08020000, 0x32000, 2 };
	struct rig *r = rig_new("f405");
	uint8_t *fs = malloc(FS_SIZE);
	struct dfl_image img;

	(void)state;
	pyboard_prepare(r, 0x3000);
	memcpy(fs, mem_at(r, FS_START), FS_SIZE);
	image(&img, 0, 2, spec);
	assert_int_equal(flash_img(r, &img, DFL_VERIFY), 0);
	assert_holds(r, &img);
	assert_memory_equal(mem_at(r, FS_START), fs, FS_SIZE);
	/* Sector 0, and the two 128K sectors of the second part. */
	assert_int_equal(dfl_model_stats(r->m)->pages_erased, 3);
	assert_int_equal(r->res.npages, 3);
	assert_int_equal(r->res.pages[0].start, FLASH);
	assert_int_equal(r->res.pages[1].start, 0x08020000);
	assert_int_equal(r->res.pages[2].start, 0x08040000);
	free(fs);
	dfl_image_free(&img);
	rig_free(r);
}

/*
 * The old firmware was longer than the new one (a release whose first
 * part shrank): sector 0 is erased with its old tail, nothing is read,
 * and the filesystem in sectors 1-3 stays untouched.
 */
static void
test_pyboard_shrink(void **state)
{
	const uint32_t spec[] = { FLASH, 0x2000, 1, 0x08020000, 0x32000, 2 };
	struct rig *r = rig_new("f405");
	uint8_t *fs = malloc(FS_SIZE);
	const struct dfl_model_stats *st;
	struct dfl_image img;

	(void)state;
	pyboard_prepare(r, 0x3800);
	memcpy(fs, mem_at(r, FS_START), FS_SIZE);
	image(&img, 0, 2, spec);
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_holds(r, &img);
	assert_memory_equal(mem_at(r, FS_START), fs, FS_SIZE);
	for (uint32_t a = FLASH + 0x2000; a < FS_START; a++)
		assert_int_equal(*mem_at(r, a), 0xff);
	st = dfl_model_stats(r->m);
	assert_int_equal(st->bytes_read, 0);
	assert_int_equal(st->pages_erased, 3);
	/* 16K + 2 x 128K erased; 8K of sector 0, 56K of the 128K ones. */
	assert_int_equal(r->res.bytes_erased, 0x4000 + 0x40000);
	assert_int_equal(r->res.bytes_erased_outside, 0x2000 + 0xe000);
	assert_int_equal(r->res.nkept, 0);
	free(fs);
	dfl_image_free(&img);
	rig_free(r);
}

/*
 * --preserve over part of the old tail: only those bytes are read, they
 * survive (0xff ones need no write), the rest of the tail is erased, and
 * the range is read back after writing.
 */
static void
test_preserve_range(void **state)
{
	const uint32_t spec[] = { FLASH, 0x2000, 1, 0x08020000, 0x32000, 2 };
	const struct dfl_keep keep = { FLASH + 0x2100, FLASH + 0x21ff };
	struct rig *r = rig_new("f405");
	uint8_t *fs = malloc(FS_SIZE), before[0x100];
	const struct dfl_model_stats *st;
	struct dfl_image img;
	unsigned n;

	(void)state;
	pyboard_prepare(r, 0x3800);
	memset(mem_at(r, FLASH + 0x2100), 0xff, 0x10);
	memcpy(before, mem_at(r, FLASH + 0x2100), sizeof(before));
	memcpy(fs, mem_at(r, FS_START), FS_SIZE);
	image(&img, 0, 2, spec);
	r->o.preserve = &keep;
	r->o.npreserve = 1;
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_holds(r, &img);
	assert_memory_equal(mem_at(r, FLASH + 0x2100), before, sizeof(before));
	assert_memory_equal(mem_at(r, FS_START), fs, FS_SIZE);
	assert_int_equal(*mem_at(r, FLASH + 0x20ff), 0xff);
	assert_int_equal(*mem_at(r, FLASH + 0x2200), 0xff);
	st = dfl_model_stats(r->m);
	/* Read before the erase and read back: 0x100 bytes each time. */
	assert_int_equal(st->bytes_read, 0x200);
	assert_int_equal(r->res.nkept, 1);
	assert_int_equal(r->res.kept[0].start, FLASH + 0x2100);
	assert_int_equal(r->res.kept[0].size, 0x100);
	assert_int_equal(r->res.bytes_kept, 0x100);
	n = 0;
	for (unsigned i = 0x10; i < sizeof(before); i++)
		n += before[i] != 0xff;
	assert_int_equal(r->res.bytes_restored, n);
	/* The image, and 0x08002110-0x080021ff at most. */
	assert_true(st->bytes_written >= 0x34000 + n &&
	    st->bytes_written <= 0x34000 + 0xf0);
	assert_string_equal(r->warnings, "");
	/* Without --preserve the same bytes are erased. */
	rig_replug(r);
	r->o.npreserve = 0;
	pyboard_prepare(r, 0x3800);
	assert_int_equal(flash_img(r, &img, 0), 0);
	for (uint32_t a = FLASH + 0x2000; a < FS_START; a++)
		assert_int_equal(*mem_at(r, a), 0xff);
	free(fs);
	dfl_image_free(&img);
	rig_free(r);
}

/*
 * Kept bytes next to image bytes in the same 8-byte unit: widening must
 * not write 0xff over them.  On the L476, which programs whole aligned
 * double words, the kept bytes are written in the same units as the
 * image's.
 */
static void
test_preserve_widening(void **state)
{
	const uint32_t spec[] = { FLASH + 3, 1001, 1 };
	const char *profiles[] = { "f405", "l476" };
	const uint32_t page[] = { 0x4000, 0x800 };

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct rig *r = rig_new(profiles[i]);
		struct dfl_image img;
		uint8_t old[32];

		fill(mem_at(r, FLASH), 0x800, 77);
		memcpy(old, mem_at(r, FLASH), 3);
		memcpy(old + 3, mem_at(r, FLASH + 1004), 12);
		image(&img, 0, 1, spec);
		assert_int_equal(flash_img(r, &img,
		    DFL_PRESERVE_UNCOVERED | DFL_VERIFY), 0);
		assert_holds(r, &img);
		assert_memory_equal(mem_at(r, FLASH), old, 3);
		assert_memory_equal(mem_at(r, FLASH + 1004), old + 3, 12);
		/* The whole page survives but for the image. */
		assert_int_equal(r->res.bytes_kept, page[i] - 1001);
		dfl_image_free(&img);
		rig_free(r);
	}
}

static int no_out(void *, uint8_t, uint16_t, const uint8_t *, uint16_t);
static int no_in(void *, uint8_t, uint16_t, uint8_t *, uint16_t, uint32_t);

/* Bytes to preserve that cannot be read: refused before any erase. */
static void
test_preserve_unreadable(void **state)
{
	static const struct dfl_alt noread[] = {
		{ 0, "@Flash /0x08000000/4*16Kf" },
	}, readable[] = {
		{ 0, "@Flash /0x08000000/4*16Kg" },
	};
	struct dfl_device dev = { DFL_PROTOCOL_DFU, 0x0483, 0xdf11, 0x2200,
		0x0b, 255, 2048, 0x011a, noread, 1, NULL };
	struct dfl_transport t = { NULL, no_out, no_in, NULL, NULL, NULL,
		NULL, NULL };
	const uint32_t spec[] = { FLASH, 0x1000, 1 };
	const struct dfl_keep keep = { FLASH + 0x3000, FLASH + 0x3fff };
	struct dfl_session *s = dfl_session_new(&t, &dev);
	struct dfl_options o;
	struct dfl_result res;
	struct dfl_image img;
	struct rig *r;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.preserve = &keep;
	o.npreserve = 1;
	image(&img, 0, 1, spec);
	assert_int_equal(dfl_download(s, &img, &o, &res), DFL_ERR_PLAN);
	assert_string_equal(dfl_errmsg(s), "alt 0: 0x08003000-0x08003fff are "
	    "to be preserved, and region 0x08000000-0x0800ffff is erasable, "
	    "writable, not readable; nothing was erased");
	/* A device without bitCanUpload. */
	dev.bmAttributes = 0x09;
	dev.alts = readable;
	assert_int_equal(dfl_download(s, &img, &o, &res), DFL_ERR_PLAN);
	assert_string_equal(dfl_errmsg(s), "alt 0: 0x08003000-0x08003fff are "
	    "to be preserved, and the device cannot read them back "
	    "(bitCanUpload is 0); nothing was erased");
	dfl_session_free(s);
	/* Read protection: the device refuses the upload. */
	r = rig_new("f405");
	fill(mem_at(r, FLASH), 0x4000, 9);
	fault(r, "read-protect");
	r->o.preserve = &keep;
	r->o.npreserve = 1;
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_DEVICE, "preserve at "
	    "0x08003000: device stalled UPLOAD; state dfuERROR, status "
	    "errVENDOR (vendor-specific error); the bytes to preserve cannot "
	    "be read, and nothing was erased");
	assert_int_equal(dfl_model_stats(r->m)->pages_erased, 0);
	assert_int_equal(dfl_model_stats(r->m)->bytes_written, 0);
	assert_false(dfl_model_stats(r->m)->left);
	/* The same device erases without --preserve: the model refuses. */
	rig_replug(r);
	fault(r, "read-protect");
	r->o.npreserve = 0;
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_DEVICE, "erase at "
	    "0x08000000: device reports errVENDOR (vendor-specific error), "
	    "state dfuERROR");
	dfl_image_free(&img);
	rig_free(r);
}

/* A range to preserve that the image writes; other misuses. */
static void
test_preserve_usage(void **state)
{
	const uint32_t spec[] = { FLASH, 0x1000, 1, FLASH + 0x2000, 0x10, 2 };
	struct dfl_keep keep[2] = { { FLASH + 0x1800, FLASH + 0x1fff },
		{ FLASH + 0x200f, FLASH + 0x2100 } };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 2, spec);
	r->o.preserve = keep;
	r->o.npreserve = 2;
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_USAGE, "--preserve "
	    "0x0800200f-0x08002100: the image writes 0x08002000-0x0800200f "
	    "(alt 0), which overlaps it");
	assert_int_equal(dfl_model_stats(r->m)->requests, 0);
	/* A range in no erased page: a warning, and nothing to keep. */
	keep[1].first = 0x08010000;
	keep[1].last = 0x080100ff;
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_string_equal(r->warnings, "--preserve 0x08010000-0x080100ff: "
	    "no page that is erased holds these bytes; they stay as they "
	    "are\n");
	assert_int_equal(r->res.bytes_kept, 0x800);
	dfl_image_free(&img);
	rig_free(r);
	/* A plain DFU device erases what it likes. */
	r = rig_new("dfu11");
	image(&img, 1, 1, spec);
	r->o.preserve = keep;
	r->o.npreserve = 1;
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_PLAN, "--preserve "
	    "needs a DfuSe device (a DFU 1.1 device erases what it likes)");
	dfl_image_free(&img);
	rig_free(r);
}

/* A kept byte that does not come back as it was is an error. */
static void
test_preserve_check(void **state)
{
	const uint32_t spec[] = { FLASH, 0x2000, 1 };
	const struct dfl_keep keep = { FLASH + 0x2100, FLASH + 0x21ff };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	fill(mem_at(r, FLASH), 0x4000, 31);
	*mem_at(r, FLASH + 0x2100) = 0x33;
	image(&img, 0, 1, spec);
	r->o.preserve = &keep;
	r->o.npreserve = 1;
	/* Blocks 1-4 are the image, block 5 the kept bytes. */
	fault(r, "write:5=corrupt");
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_DEVICE, "preserve at "
	    "0x08002100: device holds 0x32, and held 0x33 before the erase");
	assert_false(dfl_model_stats(r->m)->left);
	dfl_image_free(&img);
	/* The library refuses to keep bytes through a mass erase. */
	rig_replug(r);
	image(&img, 0, 1, spec);
	r->o.npreserve = 0;
	assert_error(r, flash_img(r, &img, DFL_MASS_ERASE |
	    DFL_PRESERVE_UNCOVERED), DFL_ERR_PLAN, "--preserve-uncovered "
	    "needs page erase, not --mass-erase");
	assert_int_equal(dfl_model_stats(r->m)->requests, 0);
	dfl_image_free(&img);
	rig_free(r);
}

/* ---- Leaving to the application -------------------------------------------- */

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* No vector table, and no flash in alt 0 to start: refused in the plan. */
static void
test_leave_no_flash(void **state)
{
	static const struct dfl_alt ram[] = {
		{ 0, "@RAM /0x20000000/4*1Ke" },
	};
	struct dfl_device dev = { DFL_PROTOCOL_DFU, 0x0483, 0xdf11, 0x2200,
		0x0b, 255, 2048, 0x011a, ram, 1, NULL };
	struct dfl_transport t = { NULL, no_out, no_in, NULL, NULL, NULL,
		NULL, NULL };
	struct dfl_session *s = dfl_session_new(&t, &dev);
	const uint32_t spec[] = { 0x20000000, 0x100, 1 };
	struct dfl_options o;
	struct dfl_result res;
	struct dfl_image img;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.flags = DFL_PLAN_ONLY;
	image(&img, 0, 1, spec);
	assert_int_equal(dfl_download(s, &img, &o, &res), DFL_ERR_PLAN);
	assert_string_equal(dfl_errmsg(s), "the image holds no vector table "
	    "and the device describes no flash to start (an erasable, "
	    "writable region of alt 0); give --start address or --no-leave");
	o.flags = DFL_PLAN_ONLY | DFL_NO_LEAVE;
	assert_int_equal(dfl_download(s, &img, &o, &res), 0);
	assert_int_equal(res.leave_reason, 0);
	dfl_image_free(&img);
	dfl_session_free(s);
}

static void
test_vector_table(void **state)
{
	static const struct {
		uint32_t sp, reset;
		int ok;
	} cases[] = {
		{ 0x20020000, 0x08000199, 1 },
		{ 0x20000000, 0x080fffff, 1 },
		{ 0x40000000, 0x08000001, 1 },
		{ 0x40000004, 0x08000199, 0 }, /* past the SRAM region */
		{ 0x1ffffffc, 0x08000199, 0 }, /* below it */
		{ 0x20020002, 0x08000199, 0 }, /* not a multiple of 4 */
		{ 0x08001000, 0x08000199, 0 }, /* stack in flash */
		{ 0x20020000, 0x08000198, 0 }, /* even: not Thumb */
		{ 0x20020000, 0x20000101, 0 }, /* reset handler in RAM */
		{ 0x20020000, 0x08100001, 0 }, /* past the flash */
		{ 0xffffffff, 0xffffffff, 0 }, /* erased flash */
	};
	struct dfu_layout *l = dfu_layout_new();
	uint8_t w[8];

	(void)state;
	assert_int_equal(dfu_layout_parse(l, "@Internal Flash  /0x08000000/"
	    "04*016Kg,01*064Kg,07*128Kg"), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put32(w, cases[i].sp);
		put32(w + 4, cases[i].reset);
		if (dfl_vector_table(w, l) != cases[i].ok)
			fail_msg("sp 0x%08x reset 0x%08x: expected %d",
			    cases[i].sp, cases[i].reset, cases[i].ok);
	}
	/* Flash that is not erasable (read-only or OTP) is not flash. */
	assert_int_equal(dfu_layout_parse(l, "@OTP /0x08000000/01*512 e"), 0);
	put32(w, 0x20020000);
	put32(w + 4, 0x08000011);
	assert_false(dfl_vector_table(w, l));
	dfu_layout_free(l);
}

/*
 * The device leaves to the lowest image address in flash that holds a
 * vector table; without one, to the start of main flash; never to data
 * or option bytes; --start overrides.
 */
static void
test_leave_application(void **state)
{
	const uint32_t spec[] = { 0x08060000, 0x1000, 1, 0x08004000, 0x800,
		2, 0x08010000, 0x100, 3 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 3, spec);
	/* Data only: the start of flash. */
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_int_equal(r->res.leave_reason, DFL_LEAVE_FLASH);
	assert_int_equal(r->res.leave_address, FLASH);
	assert_int_equal(dfl_model_stats(r->m)->left_address, FLASH);
	/* An application at 0x08010000 and one at 0x08004000: the lower. */
	put32(img.segs[2].data, 0x20020000);
	put32(img.segs[2].data + 4, 0x08010101);
	put32(img.segs[1].data, 0x2001fff8);
	put32(img.segs[1].data + 4, 0x08004199);
	rig_replug(r);
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_int_equal(r->res.leave_reason, DFL_LEAVE_APP);
	assert_int_equal(r->res.leave_address, 0x08004000);
	assert_int_equal(dfl_model_stats(r->m)->left_address, 0x08004000);
	/* A reset vector into RAM does not make a table: 0x08010000. */
	put32(img.segs[1].data + 4, 0x20000199);
	rig_replug(r);
	assert_int_equal(flash_img(r, &img, DFL_PLAN_ONLY), 0);
	assert_int_equal(r->res.leave_reason, DFL_LEAVE_APP);
	assert_int_equal(r->res.leave_address, 0x08010000);
	/* --start wins. */
	r->o.start_set = 1;
	r->o.start = 0x08060000;
	rig_replug(r);
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_int_equal(r->res.leave_reason, DFL_LEAVE_START);
	assert_int_equal(dfl_model_stats(r->m)->left_address, 0x08060000);
	r->o.start_set = 0;
	dfl_image_free(&img);
	/*
	 * Option bytes only (alt 1): the plan leaves from alt 0, at its
	 * flash; the device resets once they are written and is not sent.
	 */
	image(&img, 0, 1, (const uint32_t[]){ 0x1fffc000, 16, 4 });
	img.segs[0].alt = 1;
	rig_replug(r);
	assert_int_equal(flash_img(r, &img, DFL_PLAN_ONLY), 0);
	assert_int_equal(r->res.leave_reason, DFL_LEAVE_FLASH);
	assert_int_equal(r->res.leave_alt, 0);
	assert_int_equal(r->res.leave_address, FLASH);
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_true(r->res.options_reset);
	assert_false(r->res.left);
	assert_false(dfl_model_stats(r->m)->left);
	dfl_image_free(&img);
	rig_free(r);
}

/* ---- Planning -------------------------------------------------------------- */

static void
test_plan_only_sends_no_dnload(void **state)
{
	const uint32_t spec[] = { FLASH + 0x1000, 0x5000, 1 };
	struct rig *r = rig_new("f405");
	const struct dfl_model_stats *st;
	struct dfl_image img;

	(void)state;
	image(&img, 0, 1, spec);
	assert_int_equal(flash_img(r, &img, DFL_PLAN_ONLY), 0);
	st = dfl_model_stats(r->m);
	assert_int_equal(st->pages_erased, 0);
	assert_int_equal(st->blocks_written, 0);
	assert_false(st->left);
	/* Two 16K pages, erased without reading them. */
	assert_int_equal(r->res.npages, 2);
	assert_int_equal(r->res.pages[0].flags, DFL_PAGE_ERASE | DFL_PAGE_WRITE);
	assert_int_equal(r->res.nwrites, 1);
	assert_int_equal(r->res.writes[0].start, FLASH + 0x1000);
	assert_int_equal(r->res.writes[0].size, 0x5000);
	assert_int_equal(st->bytes_read, 0);
	assert_int_equal(r->res.bytes_erased, 0x8000);
	assert_int_equal(r->res.bytes_erased_outside, 0x3000);
	dfl_image_free(&img);
	rig_free(r);
}

static void
test_plan_outside_memory(void **state)
{
	const uint32_t spec[] = { 0x080ff000, 0x2000, 1 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 1, spec);
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_PLAN,
	    "alt 0 (Internal Flash): 0x080ff000-0x08100fff: 0x08100000 is "
	    "outside the device's memory \"@Internal Flash  /0x08000000/"
	    "04*016Kg,01*064Kg,07*128Kg\"");
	assert_int_equal(dfl_model_stats(r->m)->requests, 0);
	img.segs[0].alt = 7;
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_PLAN,
	    "the image has data for alt 7, and the device has no such "
	    "alternate setting");
	dfl_image_free(&img);
	rig_free(r);
}

/* Two segments of one alt that disagree: refused before anything is sent,
 * both named; agreeing ones are written. */
static void
test_plan_conflict(void **state)
{
	const uint32_t spec[] = { FLASH, 0x2000, 3, FLASH + 0x1000, 0x100, 4 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 2, spec);
	memcpy(img.segs[1].data, img.segs[0].data + 0x1000, 0x100);
	img.segs[0].data[0x1080] = 0x12;
	img.segs[1].data[0x80] = 0x34;
	snprintf(img.segs[0].source, sizeof(img.segs[0].source),
	    "target 0 element 1");
	snprintf(img.segs[1].source, sizeof(img.segs[1].source),
	    "target 2 element 0");
	assert_error(r, flash_img(r, &img, DFL_VERIFY), DFL_ERR_PLAN,
	    "alt 0: target 0 element 1 and target 2 element 0 write "
	    "different bytes at 0x08001080 (0x12 and 0x34)");
	assert_int_equal(dfl_model_stats(r->m)->requests, 0);
	/* Without names, the ranges; also with --plan. */
	img.segs[0].source[0] = img.segs[1].source[0] = '\0';
	assert_error(r, flash_img(r, &img, DFL_PLAN_ONLY), DFL_ERR_PLAN,
	    "alt 0: 0x08000000-0x08001fff and 0x08001000-0x080010ff write "
	    "different bytes at 0x08001080 (0x12 and 0x34)");
	assert_int_equal(dfl_model_stats(r->m)->requests, 0);
	/* The same bytes twice: written once, as the image says. */
	img.segs[1].data[0x80] = 0x12;
	assert_int_equal(flash_img(r, &img, DFL_VERIFY), 0);
	assert_holds(r, &img);
	assert_int_equal(r->res.bytes_written, 0x2000);
	dfl_image_free(&img);
	rig_free(r);
}

/* An image for two option-byte memories: the device resets after the
 * first is written, so the plan is refused before any request, and both
 * are counted.  No model profile has two option alts, so the device is
 * described here and any request fails the test. */
static void
test_plan_two_option_memories(void **state)
{
	static const struct dfl_alt alts[] = {
		{ 0, "@Internal Flash /0x08000000/4*16Kg" },
		{ 1, "@Option Bytes /0x1FFFC000/01*016 e" },
		{ 2, "@option byte bank 2 /0x1FFEC000/01*016 e" },
	};
	struct dfl_device dev = { DFL_PROTOCOL_DFU, 0x0483, 0xdf11, 0x2200,
		0x0b, 255, 2048, 0x011a, alts, 3, NULL };
	struct dfl_transport t = { NULL, no_out, no_in, NULL, NULL, NULL,
		NULL, NULL };
	const uint32_t spec[] = { FLASH, 0x100, 1, 0x1FFFC000, 16, 2,
		0x1FFEC000, 16, 3 };
	struct dfl_session *s = dfl_session_new(&t, &dev);
	struct dfl_options o;
	struct dfl_result res;
	struct dfl_image img;

	(void)state;
	memset(&o, 0, sizeof(o));
	image(&img, 0, 3, spec);
	img.segs[1].alt = 1;
	img.segs[2].alt = 2;
	assert_int_equal(dfl_download(s, &img, &o, &res), DFL_ERR_PLAN);
	assert_string_equal(dfl_errmsg(s), "the image writes 2 option bytes "
	    "memories; the device resets after writing the first, so flash "
	    "one at a time");
	/* One of them is planned (--plan: nothing is sent either). */
	img.nsegs = 2;
	o.flags = DFL_PLAN_ONLY;
	assert_int_equal(dfl_download(s, &img, &o, &res), 0);
	assert_true(res.options_write);
	assert_int_equal(res.options_alt, 1);
	dfl_session_free(s);
	img.nsegs = 3;
	dfl_image_free(&img);
}

/* A segment inside another one: the bytes of the outer one past the
 * inner one are still image bytes when pages are compared. */
static void
test_plan_nested_segments_skip_unchanged(void **state)
{
	const uint32_t spec[] = { FLASH, 0x100, 5, FLASH + 0x10, 0x10, 6 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 2, spec);
	memcpy(img.segs[1].data, img.segs[0].data + 0x10, 0x10);
	/* The device holds the image but for one byte past the inner one. */
	memcpy(mem_at(r, FLASH), img.segs[0].data, 0x100);
	mem_at(r, FLASH)[0x50] ^= 0xff;
	assert_int_equal(flash_img(r, &img, DFL_SKIP_UNCHANGED), 0);
	assert_int_equal(r->res.pages_skipped, 0);
	assert_holds(r, &img);
	dfl_image_free(&img);
	rig_free(r);
}

static void
test_plan_nothing_to_write(void **state)
{
	const uint32_t spec[] = { FLASH, 0, 1 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 1, spec);
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_PLAN,
	    "the image has no bytes to write");
	assert_int_equal(dfl_model_stats(r->m)->requests, 0);
	dfl_image_free(&img);
	rig_free(r);
}

/* A transport that fails the test if the engine sends anything. */
static int
no_out(void *ctx, uint8_t rq, uint16_t v, const uint8_t *d, uint16_t l)
{
	(void)ctx, (void)rq, (void)v, (void)d, (void)l;
	fail_msg("a request was sent");
	return -1;
}

static int
no_in(void *ctx, uint8_t rq, uint16_t v, uint8_t *d, uint16_t l,
    uint32_t timeout_ms)
{
	(void)ctx, (void)rq, (void)v, (void)d, (void)l, (void)timeout_ms;
	fail_msg("a request was sent");
	return -1;
}

static void
test_plan_not_writable_and_bad_layout(void **state)
{
	static const struct dfl_alt alts[] = {
		{ 0, "@Boot /0x08000000/2*16Ka,2*16Kg" },
		{ 1, "@Broken /0x1FFF0000/2*16Kx" },
	};
	struct dfl_device dev = { DFL_PROTOCOL_DFU, 0x0483, 0xdf11, 0x2200,
		0x0b, 255, 2048, 0x011a, alts, 2, NULL };
	struct dfl_transport t = { NULL, no_out, no_in, NULL, NULL, NULL,
		NULL, NULL };
	struct dfl_session *s = dfl_session_new(&t, &dev);
	const uint32_t spec[] = { FLASH + 0x7000, 0x2000, 1 };
	struct dfl_options o;
	struct dfl_image img;

	(void)state;
	memset(&o, 0, sizeof(o));
	image(&img, 0, 1, spec);
	assert_int_equal(dfl_download(s, &img, &o, NULL), DFL_ERR_PLAN);
	assert_string_equal(dfl_errmsg(s), "alt 0 (Boot): "
	    "0x08007000-0x08008fff: region 0x08000000-0x08007fff is readable, "
	    "not writable");
	img.segs[0].alt = 1;
	assert_int_equal(dfl_download(s, &img, &o, NULL), DFL_ERR_PLAN);
	assert_string_equal(dfl_errmsg(s), "alt 1: memory layout \"@Broken "
	    "/0x1FFF0000/2*16Kx\": offset 25: expected a type letter from 'a' "
	    "to 'g', found 'x'");
	dfl_image_free(&img);
	dfl_session_free(s);
}

/*
 * A layout read past UM0424's form (the STM32F72x OTP alt, no multiplier:
 * fwupd/fwupd#2062) is planned against, and the plan says how it read it.
 */
static void
test_plan_layout_note(void **state)
{
	static const struct dfl_alt alts[] = {
		{ 0, "@Internal Flash  /0x08000000/04*016Kg,01*64Kg,03*128Kg" },
		{ 2, "@OTP Memory /0x1FF07800/01*528e" },
	};
	struct dfl_device dev = { DFL_PROTOCOL_DFU, 0x0483, 0xdf11, 0x2200,
		0x0b, 255, 2048, 0x011a, alts, 2, NULL };
	struct dfl_transport t = { NULL, no_out, no_in, NULL, NULL, NULL,
		NULL, NULL };
	struct dfl_session *s = dfl_session_new(&t, &dev);
	const uint32_t spec[] = { 0x1ff07800, 0x400, 1 };
	struct dfl_image img;
	struct rig r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.o.warn = on_warn;
	r.o.cb_ctx = &r;
	image(&img, 0, 1, spec);
	img.segs[0].alt = 2;
	/* 0x400 bytes do not fit in the 528-byte OTP: read as bytes. */
	assert_int_equal(dfl_download(s, &img, &r.o, NULL),
	    DFL_ERR_PLAN);
	assert_string_equal(r.warnings, "alt 2: memory layout \"@OTP Memory "
	    "/0x1FF07800/01*528e\": offset 30: page size 528 has no "
	    "multiplier before type 'e': read as bytes (no-multiplier)\n");
	dfl_image_free(&img);
	dfl_session_free(s);
}

/* An alt whose name could not be read (descriptor.h: NULL) has no layout. */
static void
test_plan_alt_without_name(void **state)
{
	static const struct dfl_alt alts[] = { { 0, NULL } };
	struct dfl_device dev = { DFL_PROTOCOL_DFU, 0x0483, 0xdf11, 0x2200,
		0x0b, 255, 2048, 0x011a, alts, 1, NULL };
	struct dfl_transport t = { NULL, no_out, no_in, NULL, NULL, NULL,
		NULL, NULL };
	struct dfl_session *s = dfl_session_new(&t, &dev);
	const uint32_t spec[] = { FLASH, 0x100, 1 };
	struct dfl_options o;
	struct dfl_image img;

	(void)state;
	memset(&o, 0, sizeof(o));
	image(&img, 0, 1, spec);
	assert_int_equal(dfl_download(s, &img, &o, NULL), DFL_ERR_PLAN);
	assert_string_equal(dfl_errmsg(s), "alt 0: the device did not give "
	    "its name (iInterface), which is its memory layout");
	assert_int_equal(dfl_device_capacity(&dev), UINT64_MAX);
	dfl_image_free(&img);
	dfl_session_free(s);
}

/*
 * Widening to 8-byte units stays inside each region: here the image ends
 * in a region of 5-byte pages, which is left as it is.
 */
static void
test_plan_widening_stays_in_regions(void **state)
{
	static const struct dfl_alt alts[] = {
		{ 0, "@Odd /0x08000000/1*1Kg,1*5 g" },
	};
	struct dfl_device dev = { DFL_PROTOCOL_DFU, 0x0483, 0xdf11, 0x2200,
		0x0b, 255, 2048, 0x011a, alts, 1, NULL };
	struct dfl_transport t = { NULL, no_out, no_in, NULL, NULL, NULL,
		NULL, NULL };
	struct dfl_session *s = dfl_session_new(&t, &dev);
	const uint32_t spec[] = { FLASH + 0x3fc, 6, 1 };
	struct dfl_options o;
	struct dfl_result res;
	struct dfl_image img;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.flags = DFL_PLAN_ONLY;
	image(&img, 0, 1, spec);
	assert_int_equal(dfl_download(s, &img, &o, &res), 0);
	assert_int_equal(res.nwrites, 1);
	assert_int_equal(res.writes[0].start, FLASH + 0x3f8);
	assert_int_equal(res.writes[0].size, 10);
	assert_int_equal(res.npages, 2);
	assert_int_equal(res.pages[1].start, FLASH + 0x400);
	assert_int_equal(res.pages[1].size, 5);
	dfl_image_free(&img);
	/* A plain image without payload. */
	dev.bcdDFUVersion = 0x0110;
	image(&img, 1, 1, (const uint32_t[]){ 0, 0, 1 });
	assert_int_equal(dfl_download(s, &img, &o, &res), DFL_ERR_PLAN);
	assert_string_equal(dfl_errmsg(s), "the image holds no data");
	dfl_image_free(&img);
	dfl_session_free(s);
}

/* ---- Quirks of real devices (dfuflash/quirks.c) ---------------------- */

static void
test_profile_h743(void **state)
{
	(void)state;
	check_profile("h743", FLASH, 0);
}

static void
test_profile_gd32vf103(void **state)
{
	(void)state;
	check_profile("gd32vf103", FLASH, 0);
}

static void
test_profile_f722(void **state)
{
	(void)state;
	check_profile("f722", FLASH, 0);
}

/*
 * A session on the GD32VF103 model through dev, a copy of its
 * descriptors the test may change: A, then B over it (a reflash), with
 * default options.
 */
static int
gd32_reflash(struct rig *r, struct dfl_device *dev, struct dfl_image *b)
{
	const uint32_t a_spec[] = { FLASH, 9000, 11 };
	const uint32_t b_spec[] = { FLASH, 9000, 12 };
	struct dfl_image a;
	int rc;

	*dev = *dfl_model_device(r->m);
	dfl_session_free(r->s);
	r->s = dfl_session_new(&r->t, dev);
	assert_non_null(r->s);
	image(&a, 0, 1, a_spec);
	image(b, 0, 1, b_spec);
	assert_int_equal(flash_img(r, &a, DFL_NO_LEAVE), 0);
	dfl_image_free(&a);
	rc = flash_img(r, b, DFL_NO_LEAVE);
	return rc;
}

/*
 * The GD32VF103 ROM reports 512 x 2 KiB for 128 x 1 KiB: read as the
 * serial says, a reflash erases every 1 KiB page it writes and is exact;
 * with the row disabled (another product ID) the plan erases at 2 KiB
 * steps, every second page keeps the old bits, and the ROM says success.
 */
static void
test_quirk_gd32vf103_reflash(void **state)
{
	struct rig *r = rig_new("gd32vf103");
	struct dfl_device dev;
	struct dfl_image b;

	(void)state;
	assert_int_equal(gd32_reflash(r, &dev, &b), 0);
	assert_holds(r, &b);
	assert_int_equal(r->res.npages, 9);
	assert_int_equal(r->res.pages[1].start, FLASH + 1024);
	assert_int_equal(r->res.pages[1].size, 1024);
	assert_non_null(strstr(r->warnings, "alt 0: quirk: GD32VF103 ROM "
	    "(28e9:0189) reports alt 0 as \"@Internal Flash  /0x08000000/"
	    "512*002Kg\"; its flash is 128 pages of 1 KiB (serial \"3CBJ\", "
	    "size letter 'B'): read as \"@Internal Flash  /0x08000000/"
	    "128*001Kg\""));
	dfl_image_free(&b);
	rig_free(r);

	/* Without the row: silently corrupt, as dfu-util 0.9 left it. */
	r = rig_new("gd32vf103");
	{
		const uint32_t a_spec[] = { FLASH, 9000, 11 };
		const uint32_t b_spec[] = { FLASH, 9000, 12 };
		struct dfl_device d2 = *dfl_model_device(r->m);
		struct dfl_image a;

		d2.idProduct = 0x0000;
		dfl_session_free(r->s);
		r->s = dfl_session_new(&r->t, &d2);
		image(&a, 0, 1, a_spec);
		image(&b, 0, 1, b_spec);
		assert_int_equal(flash_img(r, &a, DFL_NO_LEAVE), 0);
		assert_int_equal(flash_img(r, &b, DFL_NO_LEAVE), 0);
		assert_int_equal(r->res.pages[0].size, 2048);
		assert_int_equal(r->res.npages, 5);
		/* Page 1 (0x400-0x7ff) was never erased: A AND B there. */
		assert_memory_equal(mem_at(r, FLASH), b.segs[0].data, 1024);
		assert_memory_not_equal(mem_at(r, FLASH + 1024),
		    b.segs[0].data + 1024, 1024);
		/* --verify is what catches it then. */
		assert_int_equal(flash_img(r, &b, DFL_NO_LEAVE | DFL_VERIFY),
		    DFL_ERR_DEVICE);
		dfl_image_free(&a);
		dfl_image_free(&b);
		dfl_session_free(r->s);
		r->s = NULL;
	}
	rig_free(r);
}

/* A size letter the table does not know: nothing is sent. */
static void
test_quirk_gd32vf103_unknown_size(void **state)
{
	const uint32_t spec[] = { FLASH, 100, 1 };
	struct rig *r = rig_new("gd32vf103");
	struct dfl_device dev = *dfl_model_device(r->m);
	struct dfl_image img;

	(void)state;
	dev.serial = "3CXJ";
	dfl_session_free(r->s);
	r->s = dfl_session_new(&r->t, &dev);
	image(&img, 0, 1, spec);
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_PLAN, "alt 0: "
	    "GD32VF103 ROM (28e9:0189): alt 0 reports \"@Internal Flash  "
	    "/0x08000000/512*002Kg\", but its flash is made of 1 KiB pages, "
	    "as many as the third character of the serial number says (B, "
	    "8, 6 or 4), and serial \"3CXJ\" does not say: the real layout "
	    "is unknown, so nothing is written to it");
	assert_int_equal(dfl_model_stats(r->m)->requests, 0);
	dfl_image_free(&img);
	rig_free(r);
}

/*
 * STM32H7: writes are whole aligned 32-byte flash words (RM0433); 100
 * bytes at an odd place become 128 from a word boundary.  The strict
 * model refuses a partial word (errPROG), which is what the default unit
 * of 8 bytes would send.
 */
static void
test_quirk_h743_write_unit(void **state)
{
	const uint32_t spec[] = { FLASH + 0x100010, 100, 3 };
	struct rig *r = rig_new("h743");
	struct dfl_device dev = *dfl_model_device(r->m);
	struct dfl_image img;

	(void)state;
	image(&img, 0, 1, spec);
	assert_int_equal(flash_img(r, &img, DFL_NO_LEAVE | DFL_VERIFY), 0);
	assert_int_equal(r->res.nwrites, 1);
	assert_int_equal(r->res.writes[0].start, FLASH + 0x100000);
	assert_int_equal(r->res.writes[0].size, 128);
	assert_holds(r, &img);
	/* Another product ID: no row, 8-byte units, refused by the part. */
	dev.idProduct = 0x0000;
	rig_replug(r);
	dfl_session_free(r->s);
	r->s = dfl_session_new(&r->t, &dev);
	assert_int_equal(flash_img(r, &img, DFL_NO_LEAVE), DFL_ERR_DEVICE);
	assert_non_null(strstr(dfl_errmsg(r->s), "errPROG"));
	dfl_image_free(&img);
	rig_free(r);
}

/* Writable bytes over all alts, from the layout strings only. */
static void
test_device_capacity(void **state)
{
	struct dfl_model *m = dfl_model_new("f405");
	char err[128];

	(void)state;
	/* 1 MiB flash + 16 option bytes + 512 + 16 OTP + 4 feature bytes. */
	assert_int_equal(dfl_device_capacity(dfl_model_device(m)), 1049124);
	assert_int_equal(dfl_model_fault(m, "runtime", err, sizeof(err)), 0);
	assert_true(dfl_device_capacity(dfl_model_device(m)) == UINT64_MAX);
	dfl_model_free(m);
	/* 1 MiB flash + 40 option bytes. */
	m = dfl_model_new("l476");
	assert_int_equal(dfl_device_capacity(dfl_model_device(m)), 1048616);
	dfl_model_free(m);
	m = dfl_model_new("dfu11");
	assert_true(dfl_device_capacity(dfl_model_device(m)) == UINT64_MAX);
	dfl_model_free(m);
}

static void
test_vid_pid(void **state)
{
	const uint32_t spec[] = { FLASH, 4096, 1 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 1, spec);
	img.idVendor = 0x0483;
	img.idProduct = 0x0000;
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_PLAN,
	    "the file is for device 0483:0000, this is 0483:df11 (--ignore-id "
	    "flashes it anyway)");
	assert_int_equal(dfl_model_stats(r->m)->requests, 0);
	assert_int_equal(flash_img(r, &img, DFL_IGNORE_ID), 0);
	assert_string_equal(r->warnings, "the file is for device 0483:0000, "
	    "flashing 0483:df11 anyway\n");
	rig_replug(r);
	img.idVendor = 0x0483;
	img.idProduct = 0xdf11;
	assert_int_equal(flash_img(r, &img, 0), 0);
	img.idVendor = 0xffff;
	img.idProduct = 0xffff;
	rig_replug(r);
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_string_equal(r->warnings, "");
	dfl_image_free(&img);
	rig_free(r);
}

static void
test_format_mismatch(void **state)
{
	const uint32_t spec[] = { FLASH, 4096, 1 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	image(&img, 1, 1, spec);
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_PLAN,
	    "a plain DFU image has no address, and this is a DfuSe device; "
	    "give one with -D file -s address");
	rig_free(r);
	r = rig_new("dfu11");
	img.plain = 0;
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_PLAN,
	    "a DfuSe image needs a DfuSe device (bcdDFU 0x011a); this one is "
	    "DFU 1.10");
	dfl_image_free(&img);
	rig_free(r);
}

/* ---- Erase, SET_ADDRESS and wBlockNum -------------------------------------- */

/* Pages in address order, once each, whatever the element order. */
static void
test_erase_order(void **state)
{
	/* Out of order; two elements share the 64K sector. */
	const uint32_t spec[] = {
		0x08020000, 0x100, 1, 0x08010000, 0x100, 2,
		0x08000000, 0x8000, 3, 0x0801f000, 0x1000, 4,
	};
	struct rig *r = rig_new("f405");
	struct dfl_image img;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	const uint32_t want[] = { 0x08000000, 0x08004000, 0x08010000,
		0x08020000 };
	unsigned n = 0;

	(void)state;
	image(&img, 0, 4, spec);
	dfl_model_trace(r->m, fp);
	assert_int_equal(flash_img(r, &img, 0), 0);
	fclose(fp);
	for (char *p = buf; (p = strstr(p, "DNLOAD 0 41")) != NULL; p++) {
		unsigned b0, b1, b2, b3;

		assert_int_equal(sscanf(p, "DNLOAD 0 41 %x %x %x %x", &b0,
		    &b1, &b2, &b3), 4);
		assert_true(n < 4);
		assert_int_equal(b0 | b1 << 8 | b2 << 16 | b3 << 24, want[n]);
		n++;
	}
	assert_int_equal(n, 4);
	assert_holds(r, &img);
	/*
	 * 3 runs (0x08000000, 0x08010000, 0x0801f000-0x080200ff: the last
	 * two elements touch) + leave.
	 */
	assert_int_equal(dfl_model_stats(r->m)->set_address, 4);
	free(buf);
	dfl_image_free(&img);
	rig_free(r);
}

/*
 * With wTransferSize 8, 65534 blocks cover 524272 bytes: a 600000-byte
 * run needs a second SET_ADDRESS before wBlockNum would pass 65535, for
 * writing and for reading back.
 */
static void
test_block_number_limit(void **state)
{
	const uint32_t spec[] = { FLASH, 600000, 9 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;
	uint8_t *back;
	uint32_t got;

	(void)state;
	dfl_model_set_transfer_size(r->m, 8);
	image(&img, 0, 1, spec);
	assert_int_equal(flash_img(r, &img, DFL_NO_LEAVE | DFL_VERIFY), 0);
	assert_holds(r, &img);
	/* 2 for writing, 2 for verifying. */
	assert_int_equal(dfl_model_stats(r->m)->set_address, 4);
	back = malloc(600000);
	assert_int_equal(dfl_upload(r->s, 0, FLASH, back, 600000, &got,
	    &r->o), 0);
	assert_int_equal(got, 600000);
	assert_memory_equal(back, img.segs[0].data, 600000);
	assert_int_equal(dfl_model_stats(r->m)->set_address, 6);
	free(back);
	dfl_image_free(&img);
	rig_free(r);
}

/* ---- --skip-unchanged ------------------------------------------------------ */

static void
test_skip_unchanged(void **state)
{
	const uint32_t spec[] = { FLASH, 0x40000, 5 };
	struct rig *r = rig_new("f405");
	const struct dfl_model_stats *st;
	struct dfl_image img;

	(void)state;
	image(&img, 0, 1, spec);
	assert_int_equal(flash_img(r, &img, 0), 0);
	/* The same image again: nothing erased, nothing written. */
	rig_replug(r);
	assert_int_equal(flash_img(r, &img, DFL_SKIP_UNCHANGED), 0);
	st = dfl_model_stats(r->m);
	assert_int_equal(st->pages_erased, 0);
	assert_int_equal(st->bytes_written, 0);
	assert_int_equal(r->res.pages_skipped, 6);
	assert_true(st->left);
	/* One byte changed in the 64K sector: that sector only. */
	img.segs[0].data[0x12345] ^= 0x5a;
	rig_replug(r);
	assert_int_equal(flash_img(r, &img, DFL_SKIP_UNCHANGED | DFL_VERIFY),
	    0);
	st = dfl_model_stats(r->m);
	assert_int_equal(st->pages_erased, 1);
	assert_int_equal(st->bytes_erased, 0x10000);
	assert_int_equal(st->bytes_written, 0x10000);
	assert_int_equal(r->res.nwrites, 1);
	assert_int_equal(r->res.writes[0].start, 0x08010000);
	assert_holds(r, &img);
	dfl_image_free(&img);
	rig_free(r);
}

/* ---- Leaving ----------------------------------------------------------------- */

static void
test_leave_options(void **state)
{
	const uint32_t spec[] = { FLASH + 0x200, 1000, 1 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 1, spec);
	assert_int_equal(flash_img(r, &img, DFL_NO_LEAVE), 0);
	assert_false(dfl_model_stats(r->m)->left);
	assert_false(r->res.left);
	rig_replug(r);
	r->o.start_set = 1;
	r->o.start = 0x08000000;
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_int_equal(dfl_model_stats(r->m)->left_address, 0x08000000);
	/* A start outside the memory is refused before anything is sent. */
	rig_replug(r);
	r->o.start = 0x20000000;
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_PLAN, "start address "
	    "0x20000000 is outside the memory of alt 0 (Internal Flash)");
	assert_int_equal(dfl_model_stats(r->m)->requests, 0);
	r->o.start = 0x08000000;
	assert_false(r->res.left_vanished);
	/* A device that resets before answering has left: success. */
	rig_replug(r);
	fault(r, "leave-gone");
	r->o.start_set = 0;
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_true(r->res.left);
	assert_true(r->res.left_vanished);
	/* Random bytes are no vector table: the start of flash. */
	assert_int_equal(dfl_model_stats(r->m)->left_address, FLASH);
	dfl_image_free(&img);
	rig_free(r);
}

/* ---- Devices that reset on purpose ------------------------------------------- */

/*
 * Option bytes first in the image, then flash: the flash is written and
 * verified first, the option bytes last; the device resets once they are
 * written (model.h), which is success, without a leave and without
 * reading them back.  Back in DFU mode it holds both.
 */
static void
check_options_last(const char *profile, uint32_t ob_addr, uint32_t ob_size)
{
	const uint32_t spec[] = { ob_addr, ob_size, 5, FLASH, 5000, 6 };
	struct rig *r = rig_new(profile);
	const struct dfl_model_stats *st;
	struct dfl_image img;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	const char *alt1;
	uint8_t back[64];
	uint32_t got;

	image(&img, 0, 2, spec);
	img.segs[0].alt = 1;
	dfl_model_trace(r->m, fp);
	assert_int_equal(flash_img(r, &img, DFL_VERIFY), 0);
	dfl_model_trace(r->m, NULL);
	fclose(fp);
	assert_string_equal(dfl_errmsg(r->s), "");
	assert_true(r->res.options_reset);
	assert_int_equal(r->res.options_alt, 1);
	assert_true(r->res.verified);
	assert_false(r->res.left);
	assert_int_equal(r->res.bytes_written, 5000 + ob_size);
	st = dfl_model_stats(r->m);
	assert_int_equal(st->resets, 1);
	assert_false(st->left);
	/* Flash written and read back on alt 0, then alt 1 and no more. */
	alt1 = strstr(buf, "SET_INTERFACE 1");
	assert_non_null(alt1);
	assert_non_null(strstr(buf, "UPLOAD 2"));
	assert_true(strstr(buf, "UPLOAD 2") < alt1);
	assert_null(strstr(alt1, "UPLOAD"));
	assert_null(strstr(alt1, "SET_INTERFACE 0"));
	assert_null(strstr(alt1, "len 0"));
	free(buf);
	/* BOOT0 high: the ROM again, with the flash and option bytes. */
	assert_int_equal(r->t.reenumerate(r->t.ctx, 1000), 0);
	assert_memory_equal(mem_at(r, FLASH), img.segs[1].data, 5000);
	dfl_session_free(r->s);
	r->s = dfl_session_new(&r->t, dfl_model_device(r->m));
	assert_non_null(r->s);
	assert_true(ob_size <= sizeof(back));
	assert_int_equal(dfl_upload(r->s, 1, ob_addr, back, ob_size, &got,
	    &r->o), 0);
	assert_memory_equal(back, img.segs[0].data, ob_size);
	dfl_image_free(&img);
	rig_free(r);
}

static void
test_options_last(void **state)
{
	(void)state;
	check_options_last("f405", 0x1fffc000, 16);
	check_options_last("f107", 0x1ffff800, 16);
	check_options_last("l476", 0x1fff7800, 40);
}

/* Option bytes that need no write cause no reset: it leaves as usual. */
static void
test_options_unchanged(void **state)
{
	const uint32_t spec[] = { FLASH, 3000, 7, 0x1fffc000, 16, 8 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 2, spec);
	img.segs[1].alt = 1;
	assert_int_equal(flash_img(r, &img, DFL_PLAN_ONLY), 0);
	assert_true(r->res.options_write);
	assert_int_equal(r->res.options_alt, 1);
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_true(r->res.options_reset);
	assert_int_equal(r->t.reenumerate(r->t.ctx, 1000), 0);
	rig_replug(r);
	assert_int_equal(flash_img(r, &img, DFL_SKIP_UNCHANGED), 0);
	assert_false(r->res.options_write);
	assert_false(r->res.options_reset);
	assert_int_equal(r->res.bytes_written, 0);
	assert_true(r->res.left);
	assert_int_equal(dfl_model_stats(r->m)->resets, 0);
	dfl_image_free(&img);
	rig_free(r);
}

/* What a reset after the first write would cut short is refused. */
static void
test_options_plan(void **state)
{
	const uint32_t two[] = { FLASH, 100, 1, 0x1fffc000, 2, 2,
		0x1fffc008, 2, 3 };
	const uint32_t one[] = { 0x1fffc000, 16, 4 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 3, two);
	img.segs[1].alt = img.segs[2].alt = 1;
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_PLAN, "alt 1 (Option "
	    "Bytes): the device resets as soon as its option bytes are "
	    "written, so they must be one range of at most 2048 bytes "
	    "(wTransferSize); the image gives 2 ranges from 0x1fffc000 to "
	    "0x1fffc009");
	assert_int_equal(dfl_model_stats(r->m)->requests, 0);
	dfl_image_free(&img);
	image(&img, 0, 1, one);
	img.segs[0].alt = 1;
	dfl_model_set_transfer_size(r->m, 8);
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_PLAN, "alt 1 (Option "
	    "Bytes): the device resets as soon as its option bytes are "
	    "written, so they must be one range of at most 8 bytes "
	    "(wTransferSize); the image gives 1 range from 0x1fffc000 to "
	    "0x1fffc00f");
	assert_int_equal(dfl_model_stats(r->m)->requests, 0);
	dfl_image_free(&img);
	rig_free(r);
}

/*
 * The leave request fails with a stall or an I/O error and the device is
 * then gone: it has left.  A stall from a device that is still there is
 * an error, as before.
 */
static void
test_leave_request_fails(void **state)
{
	const uint32_t spec[] = { FLASH, 3000, 9 };
	static const char *const faults[] = { "leave-gone=stall",
		"leave-gone=io" };
	struct dfl_image img;
	struct rig *r;

	(void)state;
	image(&img, 0, 1, spec);
	for (size_t i = 0; i < 2; i++) {
		r = rig_new("f405");
		fault(r, faults[i]);
		assert_int_equal(flash_img(r, &img, 0), 0);
		assert_string_equal(dfl_errmsg(r->s), "");
		assert_true(r->res.left);
		assert_true(r->res.left_vanished);
		assert_true(r->res.leave_failed);
		assert_holds(r, &img);
		rig_free(r);
	}
	/* Request 18 is the leave DNLOAD (SET_INTERFACE, GETSTATUS, erase,
	 * address, 2 blocks, address: 17). */
	r = rig_new("f405");
	fault(r, "stall:18");
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_DEVICE, "leave at "
	    "0x08000000: device stalled DNLOAD; state dfuERROR, status "
	    "errSTALLEDPKT (device stalled an unexpected request)");
	assert_false(r->res.left);
	assert_false(dfl_model_stats(r->m)->gone);
	rig_free(r);
	dfl_image_free(&img);
}

/*
 * A plain device that leaves the bus during manifestation, after the
 * whole download was acknowledged, has manifested.
 */
static void
test_plain_manifest_gone(void **state)
{
	const uint32_t spec[] = { 0, 5000, 3 };
	struct dfl_image img;
	struct rig *r;

	(void)state;
	image(&img, 1, 1, spec);
	r = rig_new("dfu11");
	fault(r, "manifest-gone");
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_string_equal(dfl_errmsg(r->s), "");
	assert_true(r->res.left);
	assert_true(r->res.left_vanished);
	assert_false(r->res.leave_failed);
	assert_holds(r, &img);
	rig_free(r);
	/* --verify cannot read it back: success, not verified, a warning. */
	r = rig_new("dfu11");
	fault(r, "manifest-gone");
	assert_int_equal(flash_img(r, &img, DFL_VERIFY), 0);
	assert_false(r->res.verified);
	assert_string_equal(r->warnings, "not verified: the device left the "
	    "bus during manifestation, before it could be read back\n");
	rig_free(r);
	/* The zero-length DNLOAD fails and the device is gone. */
	r = rig_new("dfu11-reset");
	fault(r, "leave-gone=io");
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_true(r->res.left);
	assert_true(r->res.leave_failed);
	assert_holds(r, &img);
	rig_free(r);
	dfl_image_free(&img);
}

/* ---- Faults ------------------------------------------------------------------- */

struct fault_case {
	const char *spec;
	int rc;
	const char *message;
};

/*
 * Image: 0x08000000 + 20000 bytes (sectors 0 and 1), blocks of 2048,
 * with --preserve-uncovered.  Requests: 1 SET_INTERFACE, 2 GETSTATUS,
 * 3-5 set address 0x08004e20 to read the rest of sector 1, 6 ABORT, 7-13
 * UPLOAD, 14 ABORT, 15-17 erase 0x08000000, 18-20 erase 0x08004000, 21-23
 * set address, 24-26 block 2 (0x08000000), 27-29 block 3, 30-32 block 4,
 * ..., then the kept bytes read back (set address 3), the verify (4).
 */
static const struct fault_case fault_cases[] = {
	{ "stall:4", DFL_ERR_DEVICE, "preserve at 0x08004e20: device stalled "
	  "GETSTATUS; state dfuERROR, status errSTALLEDPKT (device stalled an "
	  "unexpected request); the bytes to preserve cannot be read, and "
	  "nothing was erased" },
	{ "stall:15", DFL_ERR_DEVICE, "erase at 0x08000000: device stalled "
	  "DNLOAD; state dfuERROR, status errSTALLEDPKT (device stalled an "
	  "unexpected request)" },
	{ "stall:30", DFL_ERR_DEVICE, "write at 0x08001000: device stalled "
	  "DNLOAD; state dfuERROR, status errSTALLEDPKT (device stalled an "
	  "unexpected request)" },
	{ "disconnect:27", DFL_ERR_GONE, "write at 0x08000800: device "
	  "disconnected during DNLOAD" },
	{ "disconnect:9", DFL_ERR_GONE, "preserve at 0x08005e20: device "
	  "disconnected during UPLOAD; the bytes to preserve cannot be read, "
	  "and nothing was erased" },
	{ "erase:2=errERASE", DFL_ERR_DEVICE, "erase at 0x08004000: device "
	  "reports errERASE (memory erase function failed), state dfuERROR" },
	{ "erase:1=errTARGET", DFL_ERR_DEVICE, "erase at 0x08000000: device "
	  "reports errTARGET (file is not targeted for use by this device), "
	  "state dfuERROR" },
	{ "write:3=errWRITE", DFL_ERR_DEVICE, "write at 0x08001000: device "
	  "reports errWRITE (device is unable to write memory), state "
	  "dfuERROR" },
	{ "write:5=errVERIFY", DFL_ERR_DEVICE, "write at 0x08002000: device "
	  "reports errVERIFY (programmed memory failed verification), state "
	  "dfuERROR" },
	{ "address:2=errADDRESS", DFL_ERR_DEVICE, "write at 0x08000000: "
	  "device reports errADDRESS (cannot program memory due to received "
	  "address that is out of range), state dfuERROR" },
	{ "address:3=errADDRESS", DFL_ERR_DEVICE, "preserve at 0x08004e20: "
	  "device reports errADDRESS (cannot program memory due to received "
	  "address that is out of range), state dfuERROR" },
	{ "address:4=errADDRESS", DFL_ERR_DEVICE, "verify at 0x08000000: "
	  "device reports errADDRESS (cannot program memory due to received "
	  "address that is out of range), state dfuERROR" },
	{ "erase:1=busy", DFL_ERR_DEVICE, "erase at 0x08000000: device still "
	  "busy (dfuDNBUSY) after 10000 ms" },
	{ "write:2=corrupt", DFL_ERR_DEVICE, NULL }, /* see test_faults */
};

/*
 * dfl_failure(): the fields a program acts on (dfuflash's result event
 * and exit status), for the image and requests of fault_cases.
 */
struct failure_case {
	const char *spec;
	enum dfl_phase phase;
	uint32_t address;	/* 0: not checked */
	int have_status, state, status;
	int changed, mismatch;
};

static const struct failure_case failure_cases[] = {
	{ "stall:4", DFL_PHASE_PRESERVE, 0x08004e20, 1, DFU_STATE_ERROR,
	  DFU_STATUS_STALLEDPKT, 0, 0 },
	{ "disconnect:9", DFL_PHASE_PRESERVE, 0x08005e20, 0, 0, 0, 0, 0 },
	{ "disconnect:1", DFL_PHASE_SETUP, 0, 0, 0, 0, 0, 0 },
	{ "disconnect:27", DFL_PHASE_WRITE, 0x08000800, 0, 0, 0, 1, 0 },
	{ "erase:2=errERASE", DFL_PHASE_ERASE, 0x08004000, 1, DFU_STATE_ERROR,
	  DFU_STATUS_ERASE, 1, 0 },
	{ "write:3=errWRITE", DFL_PHASE_WRITE, 0x08001000, 1, DFU_STATE_ERROR,
	  DFU_STATUS_WRITE, 1, 0 },
	{ "write:2=corrupt", DFL_PHASE_VERIFY, 0, 0, 0, 0, 1, 1 },
};

static void
test_failure_fields(void **state)
{
	const uint32_t spec[] = { FLASH, 20000, 11 };
	struct dfl_image img;

	(void)state;
	image(&img, 0, 1, spec);
	img.segs[0].data[0x800] |= 1;
	for (size_t i = 0; i < sizeof(failure_cases) /
	    sizeof(failure_cases[0]); i++) {
		const struct failure_case *c = &failure_cases[i];
		struct rig *r = rig_new("f405");
		const struct dfl_failure *f;

		fault(r, c->spec);
		assert_int_not_equal(flash_img(r, &img, DFL_VERIFY |
		    DFL_PRESERVE_UNCOVERED), 0);
		f = dfl_failure(r->s);
		if (!f->have_phase || f->phase != c->phase ||
		    (c->address != 0 && (!f->have_address ||
		    f->address != c->address)) ||
		    f->have_status != c->have_status ||
		    (c->have_status && (f->state != c->state ||
		    f->status != c->status)) || f->changed != c->changed ||
		    f->mismatch != c->mismatch)
			fail_msg("%s: phase %s at 0x%08x, status %d %s %s, "
			    "changed %d, mismatch %d", c->spec,
			    dfl_phase_name(f->phase), f->address,
			    f->have_status, dfu_state_name(f->state),
			    dfu_status_name(f->status), f->changed,
			    f->mismatch);
		assert_string_equal(f->istring, "");
		rig_free(r);
	}
	dfl_image_free(&img);
}

/* The plain DFU profiles describe an error in their iString. */
static void
test_failure_istring(void **state)
{
	const uint32_t spec[] = { 0, 3000, 5 };
	struct rig *r = rig_new("dfu11");
	const struct dfl_failure *f;
	struct dfl_image img;

	(void)state;
	image(&img, 1, 1, spec);
	fault(r, "write:2=errWRITE");
	assert_int_equal(flash_img(r, &img, 0), DFL_ERR_DEVICE);
	f = dfl_failure(r->s);
	assert_int_equal(f->phase, DFL_PHASE_WRITE);
	assert_int_equal(f->address, 0x400);
	assert_int_equal(f->status, DFU_STATUS_WRITE);
	assert_string_equal(f->istring, "write failed at offset 0x400: "
	    "errWRITE");
	assert_true(f->changed);
	rig_free(r);
	dfl_image_free(&img);
}

static void
test_faults(void **state)
{
	const uint32_t spec[] = { FLASH, 20000, 11 };
	struct dfl_image img;

	(void)state;
	image(&img, 0, 1, spec);
	/* The corrupt case: bit 0 of the byte at 0x08000800 must be set. */
	img.segs[0].data[0x800] |= 1;
	for (size_t i = 0; i < sizeof(fault_cases) / sizeof(fault_cases[0]);
	    i++) {
		const struct fault_case *c = &fault_cases[i];
		struct rig *r = rig_new("f405");
		const struct dfl_model_stats *st;
		char msg[300];
		int rc;

		if (c->message != NULL)
			snprintf(msg, sizeof(msg), "%s", c->message);
		else
			snprintf(msg, sizeof(msg), "verify at 0x08000800: "
			    "device holds 0x%02x, the image 0x%02x",
			    img.segs[0].data[0x800] & 0xfe,
			    img.segs[0].data[0x800]);
		fault(r, c->spec);
		rc = flash_img(r, &img, DFL_VERIFY | DFL_PRESERVE_UNCOVERED);
		if (rc != c->rc || strcmp(dfl_errmsg(r->s), msg) != 0)
			fail_msg("%s: got %d \"%s\", expected %d \"%s\"",
			    c->spec, rc, dfl_errmsg(r->s), c->rc, msg);
		/* Never leave after a failure. */
		st = dfl_model_stats(r->m);
		assert_false(st->left);
		assert_false(r->res.left);
		/* A device error leaves it in dfuIDLE, ready for a retry. */
		if (rc == DFL_ERR_DEVICE && strstr(c->spec, "busy") == NULL)
			assert_int_equal(st->state, DFU_STATE_IDLE);
		/* Unplug, plug in, flash again: success. */
		rig_replug(r);
		assert_int_equal(flash_img(r, &img, DFL_VERIFY), 0);
		assert_holds(r, &img);
		assert_true(dfl_model_stats(r->m)->left);
		rig_free(r);
	}
	dfl_image_free(&img);
}

/* Flash img with the request trace on; it must succeed and hold.  The
 * trace, to free. */
static char *
flash_traced(struct rig *r, const struct dfl_image *img)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	dfl_model_trace(r->m, fp);
	assert_int_equal(flash_img(r, img, DFL_NO_LEAVE), 0);
	fclose(fp);
	assert_holds(r, img);
	assert_non_null(buf);
	return buf;
}

/*
 * A device in run-time mode: its state, DETACH, a reset unless it detaches
 * by itself (the STM32 profiles have bitWillDetach), then DFU mode.
 */
static void
check_runtime(const char *profile, int plain, const char *want)
{
	const uint32_t spec[] = { plain ? 0 : FLASH, 5000, 3 };
	struct rig *r = rig_new(profile);
	struct dfl_image img;
	char *buf;

	image(&img, plain, 1, spec);
	fault(r, "runtime");
	assert_int_equal(dfl_model_device(r->m)->bInterfaceProtocol,
	    DFL_PROTOCOL_RUNTIME);
	buf = flash_traced(r, &img);
	if (strncmp(buf, want, strlen(want)) != 0)
		fail_msg("trace starts with:\n%.200s", buf);
	free(buf);
	dfl_image_free(&img);
	rig_free(r);
}

static void
test_runtime_detach(void **state)
{
	(void)state;
	check_runtime("f405", 0, "GETSTATUS -> OK appIDLE 0ms\nDETACH\n"
	    "re-enumerate -> DFU mode\nSET_INTERFACE 0\n"
	    "GETSTATUS -> OK dfuIDLE 0ms\n");
	check_runtime("dfu11", 1, "GETSTATUS -> OK appIDLE 0ms\nDETACH\n"
	    "USB reset (to DFU mode)\nre-enumerate -> DFU mode\n"
	    "SET_INTERFACE 0\n");
}

/*
 * Run-time descriptors, but in DFU mode (NXP's LPC43xx ROM bootloader):
 * its state says so, and it is used as it is, with a warning; DETACH,
 * which it stalls, is not sent.  A plain DFU 1.1 device, and a DfuSe one.
 */
static void
test_runtime_in_dfu(void **state)
{
	static const char *const profiles[] = { "dfu11", "f405" };
	struct dfl_image img;

	(void)state;
	for (unsigned k = 0; k < 2; k++) {
		const uint32_t spec[] = { k == 0 ? 0 : FLASH, 5000, 3 };
		struct rig *r = rig_new(profiles[k]);
		char *buf;

		image(&img, k == 0, 1, spec);
		fault(r, "runtime-in-dfu");
		assert_int_equal(dfl_model_device(r->m)->bInterfaceProtocol,
		    DFL_PROTOCOL_RUNTIME);
		buf = flash_traced(r, &img);
		if (strncmp(buf, "GETSTATUS -> OK dfuIDLE 0ms\n", 28) != 0 ||
		    strstr(buf, "DETACH") != NULL || strstr(buf,
		    "re-enumerate") != NULL)
			fail_msg("trace:\n%.300s", buf);
		assert_string_equal(r->warnings, "the device describes itself "
		    "as in run-time mode but reports dfuIDLE, a state of DFU "
		    "mode: used as it is, without DETACH\n");
		free(buf);
		dfl_image_free(&img);
		rig_free(r);
	}
}

/* A run-time interface that stalls GETSTATUS is taken to be in appIDLE
 * (dfu-util does the same) and detached. */
static void
test_runtime_getstatus_stalled(void **state)
{
	const uint32_t spec[] = { FLASH, 5000, 3 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;
	char *buf;

	(void)state;
	image(&img, 0, 1, spec);
	fault(r, "runtime");
	fault(r, "stall:1");
	buf = flash_traced(r, &img);
	if (strncmp(buf, "GETSTATUS -> STALL (fault)\nDETACH\n", 34) != 0)
		fail_msg("trace starts with:\n%.200s", buf);
	free(buf);
	dfl_image_free(&img);
	rig_free(r);
}

/* A run-time interface lost at its first GETSTATUS: said, and nothing
 * else is sent. */
static void
test_runtime_getstatus_gone(void **state)
{
	const uint32_t spec[] = { FLASH, 5000, 3 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 1, spec);
	fault(r, "runtime");
	fault(r, "disconnect:1");
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_GONE, "run-time mode: "
	    "device disconnected during GETSTATUS");
	assert_int_equal(dfl_model_stats(r->m)->requests, 1);
	dfl_image_free(&img);
	rig_free(r);
}

/* Without a way to find the device again, run-time mode is refused. */
static void
test_runtime_without_reenumerate(void **state)
{
	const uint32_t spec[] = { FLASH, 100, 3 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	fault(r, "runtime");
	r->t.reenumerate = NULL;
	image(&img, 0, 1, spec);
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_PLAN, "the device is "
	    "in run-time mode, and this transport cannot find it again in "
	    "DFU mode");
	/* Only its state was asked. */
	assert_int_equal(dfl_model_stats(r->m)->requests, 1);
	dfl_image_free(&img);
	rig_free(r);
}

/* A device with an iString for its error: the message quotes it. */
static void
test_istring(void **state)
{
	const uint32_t spec[] = { 0, 5000, 3 };
	struct rig *r = rig_new("dfu11");
	struct dfl_image img;

	(void)state;
	image(&img, 1, 1, spec);
	fault(r, "write:2=errPROG");
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_DEVICE,
	    "write at offset 0x00000400: device reports errPROG (program "
	    "memory function failed), state dfuERROR; the device says "
	    "\"write failed at offset 0x400: errPROG\"");
	assert_false(dfl_model_stats(r->m)->left);
	assert_int_equal(dfl_model_stats(r->m)->state, DFU_STATE_IDLE);
	rig_replug(r);
	assert_int_equal(flash_img(r, &img, DFL_VERIFY), 0);
	assert_holds(r, &img);
	dfl_image_free(&img);
	rig_free(r);
}

/*
 * A device whose GETSTATUS in one busy state asks for a bwPollTimeout of
 * its choice (up to 0xffffff, 4.66 hours): the model behind a transport
 * that rewrites the field and counts what the engine does after it.
 */
struct hostile {
	struct dfl_transport inner, t;
	uint8_t state;	   /* rewrite bwPollTimeout in this bState */
	uint32_t poll_ms;
	int seen;	   /* a rewritten reply was sent */
	unsigned after;	   /* requests after the last rewritten reply */
	uint64_t slept_ms; /* waits after the first one */
};

static int
hostile_out(void *ctx, uint8_t req, uint16_t value, const uint8_t *data,
    uint16_t len)
{
	struct hostile *h = ctx;

	h->after += h->seen;
	return h->inner.out(h->inner.ctx, req, value, data, len);
}

static int
hostile_in(void *ctx, uint8_t req, uint16_t value, uint8_t *data,
    uint16_t len, uint32_t timeout_ms)
{
	struct hostile *h = ctx;
	int rc;

	h->after += h->seen;
	rc = h->inner.in(h->inner.ctx, req, value, data, len, timeout_ms);
	if (req == DFU_GETSTATUS && rc == DFU_STATUS_SIZE &&
	    data[4] == h->state) {
		data[1] = (uint8_t)h->poll_ms;
		data[2] = (uint8_t)(h->poll_ms >> 8);
		data[3] = (uint8_t)(h->poll_ms >> 16);
		h->seen = 1;
		h->after = 0;
	}
	return rc;
}

static void
hostile_sleep(void *ctx, uint32_t ms)
{
	struct hostile *h = ctx;

	if (h->seen)
		h->slept_ms += ms;
	h->inner.sleep_ms(h->inner.ctx, ms);
}

static int
hostile_set_alt(void *ctx, uint8_t alt)
{
	struct hostile *h = ctx;

	h->after += h->seen;
	return h->inner.set_alt(h->inner.ctx, alt);
}

static int
hostile_reset(void *ctx)
{
	struct hostile *h = ctx;

	h->after += h->seen;
	return h->inner.reset(h->inner.ctx);
}

static int
hostile_get_string(void *ctx, uint8_t index, char *buf, size_t len)
{
	struct hostile *h = ctx;

	return h->inner.get_string(h->inner.ctx, index, buf, len);
}

static void
check_hostile_poll(const char *profile, int plain, const char *fault_spec,
    uint8_t state, uint32_t poll_ms, uint64_t slept_ms, const char *msg)
{
	const uint32_t spec[] = { plain ? 0 : FLASH, 3000, 5 };
	struct rig *r = rig_new(profile);
	struct hostile h;
	struct dfl_image img;

	memset(&h, 0, sizeof(h));
	h.inner = r->t;
	h.t = r->t;
	h.t.ctx = &h;
	h.t.out = hostile_out;
	h.t.in = hostile_in;
	h.t.sleep_ms = hostile_sleep;
	h.t.set_alt = hostile_set_alt;
	h.t.reset = hostile_reset;
	h.t.get_string = hostile_get_string;
	h.t.reenumerate = NULL; /* the model starts in DFU mode */
	h.state = state;
	h.poll_ms = poll_ms;
	dfl_session_free(r->s);
	r->s = dfl_session_new(&h.t, dfl_model_device(r->m));
	assert_non_null(r->s);
	if (fault_spec != NULL)
		fault(r, fault_spec);
	image(&img, plain, 1, spec);
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_DEVICE, msg);
	assert_true(h.seen);
	assert_int_equal(h.after, 0);
	assert_int_equal(h.slept_ms, slept_ms);
	dfl_image_free(&img);
	rig_free(r);
}

/* A hostile bwPollTimeout fails at once: no 4.66-hour sleep. */
static void
test_poll_timeout_limit(void **state)
{
	(void)state;
	check_hostile_poll("f405", 0, NULL, DFU_STATE_DNBUSY, 0xffffff, 0,
	    "erase at 0x08000000: device asks to wait 16777215 ms "
	    "(bwPollTimeout) in dfuDNBUSY, longer than the 10000 ms this "
	    "step may take");
	check_hostile_poll("dfu11-reset", 1, NULL, DFU_STATE_MANIFEST,
	    0xffffff, 0, "write at offset 0x00000bb8: device asks to wait "
	    "16777215 ms (bwPollTimeout) in dfuMANIFEST, longer than the "
	    "10000 ms this step may take");
	/* Waits that add up past the limit stop before they pass it. */
	check_hostile_poll("f405", 0, "erase:1=busy", DFU_STATE_DNBUSY, 3000,
	    9000, "erase at 0x08000000: device asks to wait 3000 ms more "
	    "(bwPollTimeout) in dfuDNBUSY after 9000 ms; this step may "
	    "take 10000 ms");
}

/*
 * The fault matrix: every profile with every kind of fault.  The image
 * covers two pages of each profile in part and keeps their other bytes
 * (--preserve-uncovered), so that each session reads,
 * erases, writes and verifies; each fault must fail the session with a
 * message that names the phase and the status, never make the device
 * leave, and a retry after replugging must succeed.
 */
struct matrix_case {
	const char *spec;
	const char *phase;  /* start of the message */
	const char *status; /* somewhere in the message */
};

static const struct matrix_case dfuse_matrix[] = {
	{ "erase:1=errERASE", "erase at ", "errERASE" },
	{ "erase:2=errTARGET", "erase at ", "errTARGET" },
	{ "write:1=errWRITE", "write at ", "errWRITE" },
	{ "write:2=errVERIFY", "write at ", "errVERIFY" },
	{ "write:2=errPROG", "write at ", "errPROG" },
	{ "address:1=errADDRESS", "preserve at ", "errADDRESS" },
	{ "address:3=errADDRESS", "write at ", "errADDRESS" }, /* 2 reads first */
	{ "stall:2", "setup of alt 0", "errSTALLEDPKT" },
	{ "stall:7", "preserve at ", "errSTALLEDPKT" }, /* the first UPLOAD */
	{ "disconnect:20", "", "device disconnected during" },
	{ "erase:1=busy", "erase at ", "still busy (dfuDNBUSY)" },
	{ "write:2=busy", "write at ", "still busy (dfuDNBUSY)" },
	{ "write:1=corrupt", "verify at ", "device holds" },
};

static const struct matrix_case plain_matrix[] = {
	{ "write:1=errWRITE", "write at offset ", "errWRITE" },
	{ "write:3=errVERIFY", "write at offset ", "errVERIFY" },
	{ "manifest:1=errFIRMWARE", "write at offset ", "errFIRMWARE" },
	{ "stall:4", "write at offset ", "errSTALLEDPKT" },
	{ "disconnect:6", "write at offset ", "device disconnected during" },
	{ "write:2=busy", "write at offset ", "still busy (dfuDNBUSY)" },
	{ "write:1=corrupt", "verify at offset ", "device holds" },
};

static void
run_matrix(const char *profile, int plain, uint32_t size, unsigned flags,
    const struct matrix_case *cases, size_t n)
{
	/* From 1 KiB on, size bytes: two pages in part. */
	const uint32_t spec[] = { plain ? 0 : FLASH + 1024, size, 21 };
	struct dfl_image img;

	image(&img, plain, 1, spec);
	img.segs[0].data[0] |= 1; /* corrupt clears bit 0 of a first byte */
	img.segs[0].data[plain ? 0 : 1024] |= 1;
	for (size_t i = 0; i < n; i++) {
		struct rig *r = rig_new(profile);
		const char *msg;
		int rc;

		fault(r, cases[i].spec);
		rc = flash_img(r, &img, flags);
		msg = dfl_errmsg(r->s);
		if (rc == 0 || strncmp(msg, cases[i].phase,
		    strlen(cases[i].phase)) != 0 || (cases[i].status != NULL &&
		    strstr(msg, cases[i].status) == NULL))
			fail_msg("%s %s: got %d \"%s\"", profile, cases[i].spec,
			    rc, msg);
		assert_false(dfl_model_stats(r->m)->left);
		assert_false(r->res.left);
		rig_replug(r);
		if (flash_img(r, &img, flags) != 0)
			fail_msg("%s %s: retry: %s", profile, cases[i].spec,
			    dfl_errmsg(r->s));
		assert_holds(r, &img);
		assert_true(dfl_model_stats(r->m)->left);
		rig_free(r);
	}
	dfl_image_free(&img);
}

static void
test_fault_matrix(void **state)
{
	const size_t nd = sizeof(dfuse_matrix) / sizeof(dfuse_matrix[0]);
	const size_t np = sizeof(plain_matrix) / sizeof(plain_matrix[0]);

	(void)state;
	run_matrix("f405", 0, 20000, DFL_VERIFY | DFL_PRESERVE_UNCOVERED,
	    dfuse_matrix, nd);
	run_matrix("f107", 0, 3000, DFL_VERIFY | DFL_PRESERVE_UNCOVERED,
	    dfuse_matrix, nd);
	run_matrix("l476", 0, 3000, DFL_VERIFY | DFL_PRESERVE_UNCOVERED,
	    dfuse_matrix, nd);
	run_matrix("dfu11", 1, 3000, DFL_VERIFY, plain_matrix, np);
	/* It cannot verify: all but the corrupt block, which needs it. */
	run_matrix("dfu11-reset", 1, 3000, 0, plain_matrix, np - 1);
}

/* bwPollTimeout 0: the engine polls at once and still gets there. */
static void
test_zero_poll_timeout(void **state)
{
	const uint32_t spec[] = { FLASH, 20000, 11 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 1, spec);
	fault(r, "zero-poll");
	assert_int_equal(flash_img(r, &img, DFL_VERIFY), 0);
	assert_holds(r, &img);
	/* Not one poll more than with the timeout honoured: 3 per command. */
	assert_int_equal(dfl_model_stats(r->m)->stalls, 0);
	dfl_image_free(&img);
	rig_free(r);
}

/* A device left in dfuERROR or dfuDNLOAD-IDLE by someone else. */
static void
test_recover_start_state(void **state)
{
	const uint32_t spec[] = { FLASH, 3000, 11 };
	const uint8_t setaddr[5] = { 0x21, 0, 0, 0, 0x08 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;
	uint8_t st[6];

	(void)state;
	image(&img, 0, 1, spec);
	/* CLRSTATUS in dfuIDLE is illegal: stall, dfuERROR. */
	assert_int_equal(r->t.out(r->t.ctx, DFU_CLRSTATUS, 0, NULL, 0),
	    DFL_XFER_STALL);
	assert_int_equal(flash_img(r, &img, DFL_NO_LEAVE), 0);
	assert_holds(r, &img);
	rig_replug(r);
	assert_int_equal(r->t.out(r->t.ctx, DFU_DNLOAD, 0, setaddr, 5), 5);
	assert_int_equal(r->t.in(r->t.ctx, DFU_GETSTATUS, 0, st, 6, 5000), 6);
	assert_int_equal(r->t.in(r->t.ctx, DFU_GETSTATUS, 0, st, 6, 5000), 6);
	assert_int_equal(st[4], DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(flash_img(r, &img, 0), 0);
	assert_true(dfl_model_stats(r->m)->left);
	dfl_image_free(&img);
	rig_free(r);
}

/*
 * The f405 answers bwPollTimeout 100 ms before its 8 s mass erase and
 * holds the next GETSTATUS until the erase is done: a 5 s timeout fails,
 * the engine waits the budget (MASS_ERASE_LIMIT_MS).
 */
static void
test_mass_erase(void **state)
{
	const uint32_t spec[] = { FLASH, 3000, 11 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;

	(void)state;
	pyboard_prepare(r, 0x3000);
	image(&img, 0, 1, spec);
	assert_int_equal(flash_img(r, &img, DFL_MASS_ERASE), 0);
	assert_holds(r, &img);
	assert_int_equal(dfl_model_stats(r->m)->mass_erases, 1);
	assert_int_equal(dfl_model_stats(r->m)->pages_erased, 0);
	assert_true(dfl_model_stats(r->m)->time_us > 8000000);
	assert_int_equal(*mem_at(r, FS_START), 0xff);
	assert_true(r->res.mass_erased);
	dfl_image_free(&img);
	rig_free(r);
}

/*
 * The STM32L4 ROM stalls a GETSTATUS sent before its page erase ends and
 * stays in dfuDNBUSY (l476 answers bwPollTimeout 10 ms for a 22 ms
 * erase): each stall means "still busy", and the session succeeds.
 */
static void
test_l476_stalled_getstatus(void **state)
{
	const uint32_t spec[] = { FLASH + 0x100, 0x1000, 12 };
	struct rig *r = rig_new("l476");
	struct dfl_image img;

	(void)state;
	image(&img, 0, 1, spec);
	assert_int_equal(flash_img(r, &img, DFL_VERIFY), 0);
	assert_holds(r, &img);
	assert_int_equal(dfl_model_stats(r->m)->pages_erased, 3);
	/*
	 * Two stalls per page erase: polls 11 and 22 ms into its 22.02 ms
	 * (10 ms waits, 1 ms per request).
	 */
	assert_int_equal(dfl_model_stats(r->m)->stalls, 6);
	assert_string_equal(r->warnings, "");
	dfl_image_free(&img);
	rig_free(r);
}

/*
 * A device that stalls the early GETSTATUS and enters dfuERROR, as DFU
 * 1.1 A.2.5 says (f107 made to answer too short a bwPollTimeout), is
 * still an error: the next GETSTATUS says errSTALLEDPKT.
 */
static void
test_stall_into_error_while_busy(void **state)
{
	const uint32_t spec[] = { FLASH, 0x100, 13 };
	struct rig *r = rig_new("f107");
	struct hostile h;
	struct dfl_image img;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.inner = r->t;
	h.t = r->t;
	h.t.ctx = &h;
	h.t.out = hostile_out;
	h.t.in = hostile_in;
	h.t.sleep_ms = hostile_sleep;
	h.t.set_alt = hostile_set_alt;
	h.t.reset = hostile_reset;
	h.t.get_string = hostile_get_string;
	h.t.reenumerate = NULL;
	h.state = DFU_STATE_DNBUSY;
	h.poll_ms = 1;
	dfl_session_free(r->s);
	r->s = dfl_session_new(&h.t, dfl_model_device(r->m));
	assert_non_null(r->s);
	image(&img, 0, 1, spec);
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_DEVICE, "erase at "
	    "0x08000000: device reports errSTALLEDPKT (device stalled an "
	    "unexpected request), state dfuERROR");
	/* GETSTATUS stalled, GETSTATUS answered dfuERROR, CLRSTATUS. */
	assert_int_equal(h.after, 3);
	assert_int_equal(dfl_model_stats(r->m)->stalls, 1);
	assert_int_equal(dfl_model_stats(r->m)->state, DFU_STATE_IDLE);
	dfl_image_free(&img);
	rig_free(r);
}

/*
 * The STM32H743 rev V ROM stays in dfuDNBUSY after an erase on its
 * second bank until two CLRSTATUS (erase:N=stuck, stuck-from:ADDRESS):
 * the engine clears it, reads the page back, and goes on.
 */
static void
test_stuck_erase(void **state)
{
	/* 0x0801f000-0x08021000: 64 KiB sector 4, 128 KiB sector 5. */
	const uint32_t spec[] = { FLASH + 0x1f000, 0x2000, 14 };
	static const char *const faults[] = { "erase:2=stuck",
		"stuck-from:0x08020000" };
	struct dfl_image img;

	(void)state;
	image(&img, 0, 1, spec);
	for (size_t i = 0; i < 2; i++) {
		struct rig *r = rig_new("f405");

		fault(r, faults[i]);
		*mem_at(r, FLASH + 0x30000) = 0x12;
		assert_int_equal(flash_img(r, &img, DFL_VERIFY), 0);
		assert_holds(r, &img);
		assert_int_equal(*mem_at(r, FLASH + 0x30000), 0xff);
		assert_string_equal(r->warnings, "erase at 0x08020000: device "
		    "stayed in dfuDNBUSY for 10000 ms; cleared it with "
		    "CLRSTATUS, reading the page back to check the erase\n");
		assert_int_equal(dfl_model_stats(r->m)->pages_erased, 2);
		rig_free(r);
	}
	/* Stuck, and nothing erased: the read-back says so. */
	struct rig *r = rig_new("f405");

	fault(r, "erase:2=stuck");
	fault(r, "erase:2=skip");
	*mem_at(r, FLASH + 0x30000) = 0x12;
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_DEVICE, "erase at "
	    "0x08020000: device stayed in dfuDNBUSY and did not erase the "
	    "page: 0x08030000 holds 0x12");
	assert_int_equal(dfl_model_stats(r->m)->state, DFU_STATE_IDLE);
	assert_int_equal(dfl_model_stats(r->m)->blocks_written, 0);
	dfl_image_free(&img);
	rig_free(r);
}

/*
 * A transport around the model for what no profile does: a device that
 * never answers a GETSTATUS once it said dfuDNBUSY (QUIRK_HOLD), and one
 * that ignores the second CLRSTATUS (QUIRK_CLR2).
 */
enum { QUIRK_HOLD = 1, QUIRK_CLR2 = 2 };

struct quirk {
	struct dfl_transport inner, t;
	int mode;
	int busy;	      /* a GETSTATUS said dfuDNBUSY */
	unsigned clrstatus;   /* CLRSTATUS seen */
	uint32_t timeout_ms;  /* of the last GETSTATUS held */
};

static int
quirk_out(void *ctx, uint8_t req, uint16_t value, const uint8_t *data,
    uint16_t len)
{
	struct quirk *q = ctx;

	if (req == DFU_CLRSTATUS && ++q->clrstatus == 2 &&
	    q->mode == QUIRK_CLR2)
		return 0;
	return q->inner.out(q->inner.ctx, req, value, data, len);
}

static int
quirk_in(void *ctx, uint8_t req, uint16_t value, uint8_t *data,
    uint16_t len, uint32_t timeout_ms)
{
	struct quirk *q = ctx;
	int rc;

	if (req == DFU_GETSTATUS && q->busy && q->mode == QUIRK_HOLD) {
		q->timeout_ms = timeout_ms;
		q->inner.sleep_ms(q->inner.ctx, timeout_ms);
		return DFL_XFER_TIMEOUT;
	}
	rc = q->inner.in(q->inner.ctx, req, value, data, len, timeout_ms);
	if (req == DFU_GETSTATUS && rc == DFU_STATUS_SIZE &&
	    data[4] == DFU_STATE_DNBUSY)
		q->busy = 1;
	return rc;
}

static void
quirk_sleep(void *ctx, uint32_t ms)
{
	struct quirk *q = ctx;

	q->inner.sleep_ms(q->inner.ctx, ms);
}

static int
quirk_set_alt(void *ctx, uint8_t alt)
{
	struct quirk *q = ctx;

	return q->inner.set_alt(q->inner.ctx, alt);
}

static int
quirk_get_string(void *ctx, uint8_t index, char *buf, size_t len)
{
	struct quirk *q = ctx;

	return q->inner.get_string(q->inner.ctx, index, buf, len);
}

/* r's session, through q. */
static void
quirk_rig(struct rig *r, struct quirk *q, int mode)
{
	memset(q, 0, sizeof(*q));
	q->inner = r->t;
	q->t = r->t;
	q->t.ctx = q;
	q->t.out = quirk_out;
	q->t.in = quirk_in;
	q->t.sleep_ms = quirk_sleep;
	q->t.set_alt = quirk_set_alt;
	q->t.get_string = quirk_get_string;
	q->t.reset = NULL;
	q->t.reenumerate = NULL; /* the model starts in DFU mode */
	q->mode = mode;
	dfl_session_free(r->s);
	r->s = dfl_session_new(&q->t, dfl_model_device(r->m));
	assert_non_null(r->s);
}

/* Messages of the timing code that no model profile reaches. */
static void
test_busy_limits(void **state)
{
	const uint32_t spec[] = { FLASH, 3000, 15 };
	struct dfl_image img;
	struct quirk q;
	struct rig *r;

	(void)state;
	image(&img, 0, 1, spec);
	/*
	 * A mass erase whose GETSTATUS is never answered: the one after the
	 * 100 ms bwPollTimeout waits the rest of the 40 s, and that is all.
	 */
	r = rig_new("f405");
	quirk_rig(r, &q, QUIRK_HOLD);
	assert_error(r, flash_img(r, &img, DFL_MASS_ERASE), DFL_ERR_DEVICE,
	    "mass erase: device still busy (dfuDNBUSY) after 40000 ms: no "
	    "answer to GETSTATUS within 39900 ms");
	assert_int_equal(q.timeout_ms, 39900);
	rig_free(r);
	/* A stuck erase that stays in dfuERROR after the CLRSTATUS pair. */
	r = rig_new("f405");
	quirk_rig(r, &q, QUIRK_CLR2);
	fault(r, "erase:1=stuck");
	assert_error(r, flash_img(r, &img, 0), DFL_ERR_DEVICE, "erase at "
	    "0x08000000: device stayed in dfuDNBUSY for 10000 ms, and is in "
	    "dfuERROR after two CLRSTATUS");
	/* ... and is cleared on the way out (a third CLRSTATUS). */
	assert_int_equal(q.clrstatus, 3);
	assert_int_equal(dfl_model_stats(r->m)->state, DFU_STATE_IDLE);
	dfl_image_free(&img);
	rig_free(r);
}

static void
test_upload_plain(void **state)
{
	const uint32_t spec[] = { 0, 3000, 4 };
	struct rig *r = rig_new("dfu11");
	struct dfl_image img;
	uint8_t *back = malloc(200000);
	uint32_t got;

	(void)state;
	image(&img, 1, 1, spec);
	assert_int_equal(flash_img(r, &img, DFL_NO_LEAVE), 0);
	/* Reads until the short block at the end of the 128 KiB area. */
	assert_int_equal(dfl_upload(r->s, 0, 0, back, 200000, &got, &r->o), 0);
	assert_int_equal(got, 131072);
	assert_memory_equal(back, img.segs[0].data, 3000);
	assert_int_equal(back[3000], 0xff);
	free(back);
	dfl_image_free(&img);
	rig_free(r);
}

/* ---- The golden trace ---------------------------------------------------------- */

/*
 * A reference image: 3000 bytes at 0x08000000 and 100 bytes at 0x08004000
 * (two runs, two pages of 16 KiB).  A change here is a change of what the
 * engine sends: review it, then update the trace.
 */
static const char golden[] =
    "SET_INTERFACE 0\n"
    "GETSTATUS -> OK dfuIDLE 0ms\n"
    "DNLOAD 0 41 00 00 00 08\n"
    "GETSTATUS -> OK dfuDNBUSY 100ms\n"
    "sleep 100 ms\n"
    /* The ROM holds the answer until the 250 ms erase is done. */
    "GETSTATUS -> OK dfuDNLOAD-IDLE 0ms (held 148993 us)\n"
    "DNLOAD 0 41 00 40 00 08\n"
    "GETSTATUS -> OK dfuDNBUSY 100ms\n"
    "sleep 100 ms\n"
    "GETSTATUS -> OK dfuDNLOAD-IDLE 0ms (held 148993 us)\n"
    "DNLOAD 0 21 00 00 00 08\n"
    "GETSTATUS -> OK dfuDNBUSY 0ms\n"
    "GETSTATUS -> OK dfuDNLOAD-IDLE 0ms\n"
    "DNLOAD 2 len 2048\n"
    "GETSTATUS -> OK dfuDNBUSY 9ms\n"
    "sleep 9 ms\n"
    "GETSTATUS -> OK dfuDNLOAD-IDLE 0ms\n"
    "DNLOAD 3 len 952\n"
    "GETSTATUS -> OK dfuDNBUSY 4ms\n"
    "sleep 4 ms\n"
    "GETSTATUS -> OK dfuDNLOAD-IDLE 0ms\n"
    "DNLOAD 0 21 00 40 00 08\n"
    "GETSTATUS -> OK dfuDNBUSY 0ms\n"
    "GETSTATUS -> OK dfuDNLOAD-IDLE 0ms\n"
    "DNLOAD 2 len 104\n"
    "GETSTATUS -> OK dfuDNBUSY 1ms\n"
    "sleep 1 ms\n"
    "GETSTATUS -> OK dfuDNLOAD-IDLE 0ms\n"
    "DNLOAD 0 21 00 00 00 08\n"
    "GETSTATUS -> OK dfuDNBUSY 0ms\n"
    "GETSTATUS -> OK dfuDNLOAD-IDLE 0ms\n"
    "DNLOAD 2 len 0\n"
    "GETSTATUS -> OK dfuMANIFEST (left to 0x08000000)\n";

static void
test_golden_trace(void **state)
{
	const uint32_t spec[] = { FLASH, 3000, 1, FLASH + 0x4000, 100, 2 };
	struct rig *r = rig_new("f405");
	struct dfl_image img;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	(void)state;
	image(&img, 0, 2, spec);
	dfl_model_trace(r->m, fp);
	assert_int_equal(flash_img(r, &img, 0), 0);
	fclose(fp);
	if (strcmp(buf, golden) != 0) {
		fprintf(stderr, "trace:\n%s", buf);
		fail_msg("the trace differs from the golden trace");
	}
	/* 33 lines, 5 of them sleeps: 28 requests. */
	assert_int_equal(dfl_model_stats(r->m)->requests, 28);
	free(buf);
	dfl_image_free(&img);
	rig_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile_f405),
		cmocka_unit_test(test_profile_f107),
		cmocka_unit_test(test_profile_l476),
		cmocka_unit_test(test_profile_dfu11),
		cmocka_unit_test(test_profile_dfu11_reset),
		cmocka_unit_test(test_l476_unaligned),
		cmocka_unit_test(test_pyboard_filesystem),
		cmocka_unit_test(test_pyboard_shrink),
		cmocka_unit_test(test_preserve_range),
		cmocka_unit_test(test_preserve_widening),
		cmocka_unit_test(test_preserve_unreadable),
		cmocka_unit_test(test_preserve_usage),
		cmocka_unit_test(test_preserve_check),
		cmocka_unit_test(test_leave_no_flash),
		cmocka_unit_test(test_vector_table),
		cmocka_unit_test(test_leave_application),
		cmocka_unit_test(test_plan_only_sends_no_dnload),
		cmocka_unit_test(test_plan_outside_memory),
		cmocka_unit_test(test_plan_layout_note),
		cmocka_unit_test(test_plan_conflict),
		cmocka_unit_test(test_plan_two_option_memories),
		cmocka_unit_test(test_plan_nested_segments_skip_unchanged),
		cmocka_unit_test(test_plan_nothing_to_write),
		cmocka_unit_test(test_plan_not_writable_and_bad_layout),
		cmocka_unit_test(test_plan_alt_without_name),
		cmocka_unit_test(test_plan_widening_stays_in_regions),
		cmocka_unit_test(test_device_capacity),
		cmocka_unit_test(test_profile_h743),
		cmocka_unit_test(test_profile_gd32vf103),
		cmocka_unit_test(test_profile_f722),
		cmocka_unit_test(test_quirk_gd32vf103_reflash),
		cmocka_unit_test(test_quirk_gd32vf103_unknown_size),
		cmocka_unit_test(test_quirk_h743_write_unit),
		cmocka_unit_test(test_vid_pid),
		cmocka_unit_test(test_format_mismatch),
		cmocka_unit_test(test_erase_order),
		cmocka_unit_test(test_block_number_limit),
		cmocka_unit_test(test_skip_unchanged),
		cmocka_unit_test(test_leave_options),
		cmocka_unit_test(test_options_last),
		cmocka_unit_test(test_options_unchanged),
		cmocka_unit_test(test_options_plan),
		cmocka_unit_test(test_leave_request_fails),
		cmocka_unit_test(test_plain_manifest_gone),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_failure_fields),
		cmocka_unit_test(test_failure_istring),
		cmocka_unit_test(test_fault_matrix),
		cmocka_unit_test(test_istring),
		cmocka_unit_test(test_runtime_detach),
		cmocka_unit_test(test_runtime_in_dfu),
		cmocka_unit_test(test_runtime_getstatus_stalled),
		cmocka_unit_test(test_runtime_getstatus_gone),
		cmocka_unit_test(test_runtime_without_reenumerate),
		cmocka_unit_test(test_zero_poll_timeout),
		cmocka_unit_test(test_poll_timeout_limit),
		cmocka_unit_test(test_recover_start_state),
		cmocka_unit_test(test_mass_erase),
		cmocka_unit_test(test_upload_plain),
		cmocka_unit_test(test_golden_trace),
		cmocka_unit_test(test_l476_stalled_getstatus),
		cmocka_unit_test(test_stall_into_error_while_busy),
		cmocka_unit_test(test_stuck_erase),
		cmocka_unit_test(test_busy_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
