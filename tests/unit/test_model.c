/*
 * test_model.c - the device model on its own, request by request: the
 * DFU 1.1 state machine (illegal requests stall into dfuERROR with
 * errSTALLEDPKT), DfuSe commands, flash that only clears bits, the
 * layout strings, the time model and the fault specs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dfuproto.h"
#include "model.h"

struct dev {
	struct dfl_model *m;
	struct dfl_transport t;
};

static struct dev
open_model(const char *profile)
{
	struct dev d;

	d.m = dfl_model_new(profile);
	assert_non_null(d.m);
	dfl_model_transport(d.m, &d.t);
	return d;
}

static int
out(struct dev *d, uint8_t rq, uint16_t value, const void *data, uint16_t len)
{
	return d->t.out(d->t.ctx, rq, value, data, len);
}

/* GETSTATUS: returns bState; status and poll timeout through pointers. */
static int
status(struct dev *d, uint8_t *st, uint32_t *poll)
{
	uint8_t b[6];

	/* Long enough for any erase the f405 holds its answer for. */
	if (d->t.in(d->t.ctx, DFU_GETSTATUS, 0, b, 6, 60000) != 6)
		return -1;
	if (st != NULL)
		*st = b[0];
	if (poll != NULL)
		*poll = b[1] | b[2] << 8 | (uint32_t)b[3] << 16;
	return b[4];
}

static void
expect_stall_into_error(struct dev *d)
{
	uint8_t st;

	assert_int_equal(status(d, &st, NULL), DFU_STATE_ERROR);
	assert_int_equal(st, DFU_STATUS_STALLEDPKT);
	assert_int_equal(out(d, DFU_CLRSTATUS, 0, NULL, 0), 0);
	assert_int_equal(status(d, &st, NULL), DFU_STATE_IDLE);
	assert_int_equal(st, DFU_STATUS_OK);
}

/* A DfuSe command: DNLOAD block 0, then GETSTATUS until it is done. */
static int
command(struct dev *d, const uint8_t *cmd, uint16_t len, uint8_t *st,
    uint32_t *poll)
{
	uint32_t p;
	int s;

	assert_int_equal(out(d, DFU_DNLOAD, 0, cmd, len), len);
	s = status(d, st, &p);
	assert_int_equal(s, DFU_STATE_DNBUSY);
	if (poll != NULL)
		*poll = p;
	d->t.sleep_ms(d->t.ctx, p);
	return status(d, st, NULL);
}

static void
set_address(struct dev *d, uint32_t a)
{
	const uint8_t cmd[5] = { 0x21, (uint8_t)a, (uint8_t)(a >> 8),
		(uint8_t)(a >> 16), (uint8_t)(a >> 24) };

	assert_int_equal(command(d, cmd, 5, NULL, NULL), DFU_STATE_DNLOAD_IDLE);
}

static void
test_descriptors(void **state)
{
	struct dev d = open_model("f405");
	const struct dfl_device *dev = dfl_model_device(d.m);

	(void)state;
	/* usb-emulation.md: 0483:df11, functional descriptor 09 21 0b ff 00 00 08 1a 01. */
	assert_int_equal(dev->idVendor, 0x0483);
	assert_int_equal(dev->idProduct, 0xdf11);
	assert_int_equal(dev->bcdDevice, 0x2200);
	assert_int_equal(dev->bmAttributes, 0x0b);
	assert_int_equal(dev->wDetachTimeOut, 255);
	assert_int_equal(dev->wTransferSize, 2048);
	assert_int_equal(dev->bcdDFUVersion, 0x011a);
	assert_int_equal(dev->nalts, 4);
	assert_string_equal(dev->alts[0].name,
	    "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg");
	assert_string_equal(dev->alts[1].name,
	    "@Option Bytes  /0x1FFFC000/01*016 e");
	dfl_model_free(d.m);
	assert_null(dfl_model_new("f999"));
}

/* Requests that DFU 1.1 appendix A does not allow in a state. */
static void
test_illegal_requests_stall(void **state)
{
	struct dev d = open_model("f405");
	uint8_t buf[2048];

	(void)state;
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_IDLE);
	/* CLRSTATUS outside dfuERROR. */
	assert_int_equal(out(&d, DFU_CLRSTATUS, 0, NULL, 0), DFL_XFER_STALL);
	expect_stall_into_error(&d);
	/* Zero-length DNLOAD in dfuIDLE. */
	assert_int_equal(out(&d, DFU_DNLOAD, 2, NULL, 0), DFL_XFER_STALL);
	expect_stall_into_error(&d);
	/* DETACH in DFU mode. */
	assert_int_equal(out(&d, DFU_DETACH, 1000, NULL, 0), DFL_XFER_STALL);
	expect_stall_into_error(&d);
	/* wBlockNum 1 is reserved, for DNLOAD and UPLOAD. */
	assert_int_equal(out(&d, DFU_DNLOAD, 1, buf, 16), DFL_XFER_STALL);
	expect_stall_into_error(&d);
	assert_int_equal(d.t.in(d.t.ctx, DFU_UPLOAD, 1, buf, 16, 5000),
	    DFL_XFER_STALL);
	expect_stall_into_error(&d);
	/* More than wTransferSize. */
	assert_int_equal(d.t.in(d.t.ctx, DFU_UPLOAD, 2, buf, 2049, 5000) < 0,
	    1);
	expect_stall_into_error(&d);
	/* An unknown command. */
	assert_int_equal(out(&d, DFU_DNLOAD, 0, "\x55", 1), DFL_XFER_STALL);
	expect_stall_into_error(&d);
	/* UPLOAD in dfuDNLOAD-IDLE, ABORT in dfuERROR. */
	set_address(&d, 0x08000000);
	assert_int_equal(d.t.in(d.t.ctx, DFU_UPLOAD, 2, buf, 16, 5000),
	    DFL_XFER_STALL);
	assert_int_equal(out(&d, DFU_ABORT, 0, NULL, 0), DFL_XFER_STALL);
	expect_stall_into_error(&d);
	assert_int_equal(dfl_model_stats(d.m)->stalls, 9);
	dfl_model_free(d.m);
}

static void
test_flash_clears_bits_only(void **state)
{
	struct dev d = open_model("f405");
	const uint8_t erase[5] = { 0x41, 0, 0x40, 0, 0x08 };
	uint8_t a[8] = { 0xf0, 0xf0, 0xf0, 0xf0, 0, 0, 0, 0 };
	uint8_t b[8] = { 0x0f, 0xf0, 0xf0, 0xf0, 0, 0, 0, 0 };
	uint8_t st;
	uint32_t poll;

	(void)state;
	set_address(&d, 0x08004000);
	assert_int_equal(out(&d, DFU_DNLOAD, 2, a, 8), 8);
	assert_int_equal(status(&d, NULL, &poll), DFU_STATE_DNBUSY);
	d.t.sleep_ms(d.t.ctx, poll);
	assert_int_equal(status(&d, &st, NULL), DFU_STATE_DNLOAD_IDLE);
	/* 0xf0 -> 0x0f needs bits set: the result is 0x00, errVERIFY. */
	assert_int_equal(out(&d, DFU_DNLOAD, 2, b, 8), 8);
	assert_int_equal(status(&d, NULL, &poll), DFU_STATE_DNBUSY);
	d.t.sleep_ms(d.t.ctx, poll);
	assert_int_equal(status(&d, &st, NULL), DFU_STATE_ERROR);
	assert_int_equal(st, DFU_STATUS_VERIFY);
	assert_int_equal(dfl_model_stats(d.m)->state, DFU_STATE_ERROR);
	{
		uint32_t base, size;
		uint8_t *mem = dfl_model_memory(d.m, &base, &size);

		assert_int_equal(mem[0x4000], 0x00);
		assert_int_equal(mem[0x4001], 0xf0);
		assert_int_equal(out(&d, DFU_CLRSTATUS, 0, NULL, 0), 0);
		assert_int_equal(command(&d, erase, 5, &st, &poll),
		    DFU_STATE_DNLOAD_IDLE);
		assert_int_equal(mem[0x4000], 0xff);
		assert_int_equal(mem[0x3fff], 0xff);
		/* Only the 16K sector at 0x08004000. */
		assert_int_equal(mem[0x8000], 0xff);
	}
	dfl_model_free(d.m);
}

/*
 * Erase times by page size and profile: the bwPollTimeout answered, and
 * the modelled time until dfuDNLOAD-IDLE for a host that waits each
 * bwPollTimeout and polls again after a stall (l476).
 */
static void
test_erase_timing(void **state)
{
	static const struct {
		const char *profile;
		uint32_t address, poll, erase_us;
		unsigned stalls;
	} cases[] = {
		{ "f405", 0x08000000, 100, 250000, 0 },	 /* 16 KiB */
		{ "f405", 0x08010000, 100, 550000, 0 },	 /* 64 KiB */
		{ "f405", 0x08020000, 100, 1000000, 0 }, /* 128 KiB */
		{ "f107", 0x08000800, 40, 40000, 0 },	 /* 2 KiB */
		{ "l476", 0x08000800, 10, 22020, 2 },	 /* 2 KiB */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dev d = open_model(cases[i].profile);
		uint32_t a = cases[i].address, poll, p;
		const uint8_t cmd[5] = { 0x41, (uint8_t)a, (uint8_t)(a >> 8),
			(uint8_t)(a >> 16), (uint8_t)(a >> 24) };
		uint64_t t0, t1;
		int s;

		assert_int_equal(out(&d, DFU_DNLOAD, 0, cmd, 5), 5);
		assert_int_equal(status(&d, NULL, &poll), DFU_STATE_DNBUSY);
		assert_int_equal(poll, cases[i].poll);
		/* The erase starts when that answer has been sent. */
		t0 = dfl_model_stats(d.m)->time_us;
		p = poll;
		do {
			d.t.sleep_ms(d.t.ctx, p);
			s = status(&d, NULL, &p);
			if (s == -1)
				p = poll; /* stalled: wait as much again */
		} while (s == -1 || s == DFU_STATE_DNBUSY);
		assert_int_equal(s, DFU_STATE_DNLOAD_IDLE);
		t1 = dfl_model_stats(d.m)->time_us;
		assert_int_equal(dfl_model_stats(d.m)->stalls,
		    cases[i].stalls);
		/* Done when the erase is (1 ms per poll: USB, see model.c). */
		assert_true(t1 - t0 >= cases[i].erase_us);
		assert_true(t1 - t0 < cases[i].erase_us + poll * 1000 + 3000);
		dfl_model_free(d.m);
	}
}

/*
 * A GETSTATUS during dfuDNBUSY before the command is done, by profile
 * (model.h, "Busy"): held (f405), stalled with the device still busy
 * (l476), stalled into dfuERROR (f107, DFU 1.1 A.2.5).
 */
static void
test_busy_replies(void **state)
{
	static const uint8_t sector5[5] = { 0x41, 0x00, 0x00, 0x02, 0x08 };
	static const uint8_t mass[1] = { 0x41 };
	static const uint8_t page1[5] = { 0x41, 0x00, 0x08, 0x00, 0x08 };
	struct dev d = open_model("f405");
	uint8_t b[6], st;
	uint64_t t0;

	(void)state;
	/*
	 * f405, a 128 KiB sector (1 s): a 300 ms timeout passes first.  Each
	 * GETSTATUS costs 1007 us of USB time (model.c).
	 */
	assert_int_equal(out(&d, DFU_DNLOAD, 0, sector5, 5), 5);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_DNBUSY);
	t0 = dfl_model_stats(d.m)->time_us;
	assert_int_equal(d.t.in(d.t.ctx, DFU_GETSTATUS, 0, b, 6, 300),
	    DFL_XFER_TIMEOUT);
	assert_int_equal(dfl_model_held_us(d.m), 300000);
	assert_int_equal(dfl_model_stats(d.m)->time_us - t0, 301007);
	assert_int_equal(dfl_model_stats(d.m)->state, DFU_STATE_DNBUSY);
	/* The next one, with time enough, gets the answer at 1 s. */
	assert_int_equal(d.t.in(d.t.ctx, DFU_GETSTATUS, 0, b, 6, 5000), 6);
	assert_int_equal(b[4], DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(dfl_model_held_us(d.m), 1000000 - 301007 - 1007);
	assert_int_equal(dfl_model_stats(d.m)->time_us - t0, 1000000);
	/* A mass erase (8 s) outlasts a 5 s timeout. */
	assert_int_equal(out(&d, DFU_DNLOAD, 0, mass, 1), 1);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_DNBUSY);
	assert_int_equal(d.t.in(d.t.ctx, DFU_GETSTATUS, 0, b, 6, 5000),
	    DFL_XFER_TIMEOUT);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(dfl_model_stats(d.m)->mass_erases, 1);
	assert_int_equal(dfl_model_stats(d.m)->stalls, 0);
	dfl_model_free(d.m);

	/* l476: stalled, no dfuERROR, then done. */
	d = open_model("l476");
	assert_int_equal(out(&d, DFU_DNLOAD, 0, page1, 5), 5);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_DNBUSY);
	assert_int_equal(status(&d, NULL, NULL), -1);
	assert_int_equal(dfl_model_stats(d.m)->state, DFU_STATE_DNBUSY);
	assert_int_equal(dfl_model_stats(d.m)->status, DFU_STATUS_OK);
	d.t.sleep_ms(d.t.ctx, 30);
	assert_int_equal(status(&d, &st, NULL), DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(st, DFU_STATUS_OK);
	dfl_model_free(d.m);

	/* f107: the DFU 1.1 way. */
	d = open_model("f107");
	assert_int_equal(out(&d, DFU_DNLOAD, 0, page1, 5), 5);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_DNBUSY);
	assert_int_equal(status(&d, NULL, NULL), -1);
	expect_stall_into_error(&d);
	dfl_model_free(d.m);
}

/*
 * erase:N=stuck and stuck-from:ADDRESS: the erase is done, the device
 * stays in dfuDNBUSY until CLRSTATUS, which answers dfuERROR with
 * errUNKNOWN, and a second one dfuIDLE (the STM32H743 rev V ROM).
 */
static void
test_stuck_erase(void **state)
{
	static const uint8_t sector0[5] = { 0x41, 0x00, 0x00, 0x00, 0x08 };
	static const uint8_t sector5[5] = { 0x41, 0x00, 0x00, 0x02, 0x08 };
	struct dev d = open_model("f405");
	uint32_t base, size;
	uint8_t *mem = dfl_model_memory(d.m, &base, &size);
	char err[256];
	uint8_t st;

	(void)state;
	assert_int_equal(dfl_model_fault(d.m, "stuck-from:0x08020000", err,
	    sizeof(err)), 0);
	mem[0] = mem[0x20000] = 0;
	/* Below the address: a plain erase. */
	assert_int_equal(command(&d, sector0, 5, NULL, NULL),
	    DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(mem[0], 0xff);
	/* From it on: done, and stuck. */
	assert_int_equal(command(&d, sector5, 5, NULL, NULL),
	    DFU_STATE_DNBUSY);
	assert_int_equal(mem[0x20000], 0xff);
	d.t.sleep_ms(d.t.ctx, 60000);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_DNBUSY);
	assert_int_equal(out(&d, DFU_CLRSTATUS, 0, NULL, 0), 0);
	assert_int_equal(status(&d, &st, NULL), DFU_STATE_ERROR);
	assert_int_equal(st, DFU_STATUS_UNKNOWN);
	assert_int_equal(out(&d, DFU_CLRSTATUS, 0, NULL, 0), 0);
	assert_int_equal(status(&d, &st, NULL), DFU_STATE_IDLE);
	assert_int_equal(st, DFU_STATUS_OK);
	dfl_model_free(d.m);

	/* The fault, on the second page erase only. */
	d = open_model("f107");
	assert_int_equal(dfl_model_fault(d.m, "erase:2=stuck", err,
	    sizeof(err)), 0);
	assert_int_equal(dfl_model_fault(d.m, "stuck-from:x", err,
	    sizeof(err)), -1);
	assert_int_equal(command(&d, sector0, 5, NULL, NULL),
	    DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(command(&d, sector0, 5, NULL, NULL),
	    DFU_STATE_DNBUSY);
	assert_int_equal(out(&d, DFU_CLRSTATUS, 0, NULL, 0), 0);
	assert_int_equal(status(&d, &st, NULL), DFU_STATE_ERROR);
	assert_int_equal(st, DFU_STATUS_UNKNOWN);
	dfl_model_free(d.m);
}

/* Write time: f405 16 us per word; the USB cost of 3 transfers. */
static void
test_time_model(void **state)
{
	struct dev d = open_model("f405");
	uint8_t buf[2048];
	uint64_t t0, t1;
	uint32_t poll;

	(void)state;
	memset(buf, 0x5a, sizeof(buf));
	set_address(&d, 0x08000000);
	t0 = dfl_model_stats(d.m)->time_us;
	assert_int_equal(out(&d, DFU_DNLOAD, 2, buf, 2048), 2048);
	assert_int_equal(status(&d, NULL, &poll), DFU_STATE_DNBUSY);
	/* 512 words x 16 us = 8192 us: 9 ms. */
	assert_int_equal(poll, 9);
	d.t.sleep_ms(d.t.ctx, poll);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_DNLOAD_IDLE);
	t1 = dfl_model_stats(d.m)->time_us;
	/* 3 frames, 2048 + 6 + 6 bytes at 832000 B/s, 9 ms of sleep. */
	assert_int_equal(t1 - t0, 3000 + 2461 + 7 + 7 + 9000);
	dfl_model_free(d.m);
}

/* L476: programming by double words only. */
static void
test_l476_double_words(void **state)
{
	struct dev d = open_model("l476");
	uint8_t buf[16];
	uint8_t st;
	uint32_t poll;

	(void)state;
	memset(buf, 0, sizeof(buf));
	set_address(&d, 0x08000000);
	assert_int_equal(out(&d, DFU_DNLOAD, 2, buf, 12), 12);
	assert_int_equal(status(&d, NULL, &poll), DFU_STATE_DNBUSY);
	d.t.sleep_ms(d.t.ctx, poll);
	assert_int_equal(status(&d, &st, NULL), DFU_STATE_ERROR);
	assert_int_equal(st, DFU_STATUS_PROG);
	dfl_model_free(d.m);
}

/* A data block at the address pointer; the state after it. */
static int
write_block(struct dev *d, const uint8_t *buf, uint16_t len, uint8_t *st)
{
	uint32_t poll;

	assert_int_equal(out(d, DFU_DNLOAD, 2, buf, len), len);
	assert_int_equal(status(d, NULL, &poll), DFU_STATE_DNBUSY);
	d->t.sleep_ms(d->t.ctx, poll);
	return status(d, st, NULL);
}

/*
 * STM32H743: two banks of 8 x 128 KiB, the GETSTATUS held during an
 * erase, bank 2 stuck in dfuDNBUSY, whole 32-byte flash words only.
 */
static void
test_h743_flash_words(void **state)
{
	struct dev d = open_model("h743");
	const struct dfl_device *dev = dfl_model_device(d.m);
	const uint8_t erase_b1[5] = { 0x41, 0, 0, 0x00, 0x08 };
	const uint8_t erase_b2[5] = { 0x41, 0, 0, 0x10, 0x08 };
	uint8_t buf[64], st;
	uint32_t poll, base, size;
	uint8_t *mem = dfl_model_memory(d.m, &base, &size);

	(void)state;
	assert_int_equal(size, 2097152);
	assert_string_equal(dev->alts[0].name,
	    "@Internal Flash   /0x08000000/16*128Kg");
	assert_int_equal(dev->wTransferSize, 1024);
	/*
	 * A sector erase of bank 1: bwPollTimeout 100 ms, then the answer
	 * is held until the 1.1 s erase is done.
	 */
	mem[0] = 0;
	assert_int_equal(command(&d, erase_b1, 5, &st, &poll),
	    DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(poll, 100);
	assert_int_equal(mem[0], 0xff);
	/* Bank 2 (rev V): erased, then dfuDNBUSY until two CLRSTATUS. */
	mem[0x100000] = 0;
	assert_int_equal(command(&d, erase_b2, 5, &st, &poll),
	    DFU_STATE_DNBUSY);
	assert_int_equal(mem[0x100000], 0xff);
	assert_int_equal(out(&d, DFU_CLRSTATUS, 0, NULL, 0), 0);
	assert_int_equal(status(&d, &st, NULL), DFU_STATE_ERROR);
	assert_int_equal(st, DFU_STATUS_UNKNOWN);
	assert_int_equal(out(&d, DFU_CLRSTATUS, 0, NULL, 0), 0);
	assert_int_equal(status(&d, &st, NULL), DFU_STATE_IDLE);
	memset(buf, 0x5a, sizeof(buf));
	set_address(&d, 0x08100000);
	assert_int_equal(write_block(&d, buf, 32, &st), DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(mem[0x100000], 0x5a);
	set_address(&d, 0x08100020);
	assert_int_equal(write_block(&d, buf, 40, &st), DFU_STATE_ERROR);
	assert_int_equal(st, DFU_STATUS_PROG);
	assert_int_equal(mem[0x100020], 0xff);
	dfl_model_free(d.m);
}

/*
 * GD32VF103: reports 512 x 2 KiB, has 128 x 1 KiB; an erase erases the
 * 1 KiB page of its address, and a write over unerased bits says OK.
 */
static void
test_gd32vf103_pages(void **state)
{
	struct dev d = open_model("gd32vf103");
	const struct dfl_device *dev = dfl_model_device(d.m);
	const uint8_t erase0[5] = { 0x41, 0, 0, 0, 0x08 };
	uint8_t buf[2048], st;
	uint32_t base, size;
	uint8_t *mem = dfl_model_memory(d.m, &base, &size);
	int utf8 = 0;

	(void)state;
	assert_int_equal(dev->idVendor, 0x28e9);
	assert_int_equal(dev->idProduct, 0x0189);
	assert_int_equal(dev->bcdDevice, 0x1000);
	assert_string_equal(dev->alts[0].name,
	    "@Internal Flash  /0x08000000/512*002Kg");
	assert_string_equal(dfl_model_serial(d.m, &utf8), "3CBJ");
	assert_true(utf8);
	assert_int_equal(size, 131072);
	memset(mem, 0x00, 2048);
	assert_int_equal(command(&d, erase0, 5, &st, NULL),
	    DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(mem[0], 0xff);
	assert_int_equal(mem[1023], 0xff);
	assert_int_equal(mem[1024], 0x00); /* the next 1 KiB page */
	memset(buf, 0xa5, sizeof(buf));
	set_address(&d, 0x08000000);
	assert_int_equal(write_block(&d, buf, 2048, &st),
	    DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(st, DFU_STATUS_OK);
	assert_int_equal(mem[0], 0xa5);
	assert_int_equal(mem[1024], 0x00); /* kept its 0 bits, said OK */
	/* Past 128 KiB, where the string says there is flash. */
	set_address(&d, 0x08000000);
	{
		const uint8_t far[5] = { 0x21, 0, 0, 0x02, 0x08 };

		assert_int_equal(command(&d, far, 5, &st, NULL),
		    DFU_STATE_ERROR);
		assert_int_equal(st, DFU_STATUS_ADDRESS);
	}
	dfl_model_free(d.m);
}

static void
test_dfuse_commands(void **state)
{
	struct dev d = open_model("f405");
	const uint8_t bad_addr[5] = { 0x21, 0, 0, 0, 0x10 };
	const uint8_t bad_erase[5] = { 0x41, 0, 0xc0, 0xff, 0x1f };
	const uint8_t mass[1] = { 0x41 };
	uint8_t buf[16], st;

	(void)state;
	assert_int_equal(d.t.in(d.t.ctx, DFU_UPLOAD, 0, buf, 16, 5000), 4);
	assert_memory_equal(buf, "\x00\x21\x41\x92", 4);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_IDLE);
	assert_int_equal(command(&d, bad_addr, 5, &st, NULL), DFU_STATE_ERROR);
	assert_int_equal(st, DFU_STATUS_ADDRESS);
	assert_int_equal(out(&d, DFU_CLRSTATUS, 0, NULL, 0), 0);
	/* Option bytes are not flash pages: no erase on alt 1. */
	assert_int_equal(d.t.set_alt(d.t.ctx, 1), 0);
	assert_int_equal(command(&d, bad_erase, 5, &st, NULL), DFU_STATE_ERROR);
	assert_int_equal(st, DFU_STATUS_TARGET);
	assert_int_equal(out(&d, DFU_CLRSTATUS, 0, NULL, 0), 0);
	/* Option bytes: RDP 0xaa (level 0) at 0x1FFFC000. */
	set_address(&d, 0x1fffc000);
	assert_int_equal(out(&d, DFU_ABORT, 0, NULL, 0), 0);
	assert_int_equal(d.t.in(d.t.ctx, DFU_UPLOAD, 2, buf, 16, 5000), 16);
	assert_int_equal(buf[0], 0xaa);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_UPLOAD_IDLE);
	assert_int_equal(out(&d, DFU_ABORT, 0, NULL, 0), 0);
	assert_int_equal(d.t.set_alt(d.t.ctx, 9), DFL_XFER_STALL);
	assert_int_equal(d.t.set_alt(d.t.ctx, 0), 0);
	assert_int_equal(command(&d, mass, 1, &st, NULL),
	    DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(dfl_model_stats(d.m)->mass_erases, 1);
	dfl_model_free(d.m);
}

/* Run-time mode (DFU 1.1 A.1): appIDLE until DETACH, then DFU mode. */
static void
test_runtime_mode(void **state)
{
	struct dev d = open_model("f405");
	char err[128];
	uint8_t buf[16];

	(void)state;
	assert_int_equal(dfl_model_fault(d.m, "runtime", err, sizeof(err)), 0);
	assert_int_equal(dfl_model_device(d.m)->nalts, 1);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_APP_IDLE);
	/* Stalled, and still appIDLE: run-time mode has no dfuERROR. */
	assert_int_equal(d.t.in(d.t.ctx, DFU_UPLOAD, 0, buf, 16, 5000),
	    DFL_XFER_STALL);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_APP_IDLE);
	/* Not back before it detached. */
	assert_int_equal(d.t.reenumerate(d.t.ctx, 1000), DFL_XFER_GONE);
	/* bitWillDetach: it leaves the bus by itself. */
	assert_int_equal(out(&d, DFU_DETACH, 255, NULL, 0), 0);
	assert_int_equal(status(&d, NULL, NULL), -1);
	assert_int_equal(d.t.reenumerate(d.t.ctx, 1000), 0);
	assert_int_equal(dfl_model_device(d.m)->bInterfaceProtocol,
	    DFL_PROTOCOL_DFU);
	assert_int_equal(dfl_model_device(d.m)->nalts, 4);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_IDLE);
	dfl_model_free(d.m);
	/* Without bitWillDetach a reset is needed. */
	d = open_model("dfu11");
	assert_int_equal(dfl_model_fault(d.m, "runtime", err, sizeof(err)), 0);
	assert_int_equal(out(&d, DFU_DETACH, 255, NULL, 0), 0);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_APP_DETACH);
	assert_int_equal(d.t.reset(d.t.ctx), 0);
	assert_int_equal(d.t.reenumerate(d.t.ctx, 1000), 0);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_IDLE);
	assert_false(dfl_model_stats(d.m)->left);
	dfl_model_free(d.m);
}

/*
 * Read protection (AN2662 4.4.1, 4.5.3): UPLOAD of memory is stalled and
 * a page erase fails, both leaving dfuERROR with errVENDOR; the command
 * list is still given; read unprotect erases everything and lifts it.
 */
static void
test_read_protect(void **state)
{
	struct dev d = open_model("f405");
	const uint8_t erase[5] = { 0x41, 0, 0, 0, 0x08 };
	const uint8_t unprotect[1] = { 0x92 };
	uint8_t buf[16], st;
	uint32_t base, size;
	char err[128];

	(void)state;
	dfl_model_memory(d.m, &base, &size)[0] = 0x12;
	assert_int_equal(dfl_model_fault(d.m, "read-protect", err,
	    sizeof(err)), 0);
	assert_int_equal(d.t.in(d.t.ctx, DFU_UPLOAD, 0, buf, 16, 5000), 4);
	set_address(&d, 0x08000000);
	assert_int_equal(out(&d, DFU_ABORT, 0, NULL, 0), 0);
	assert_int_equal(d.t.in(d.t.ctx, DFU_UPLOAD, 2, buf, 16, 5000),
	    DFL_XFER_STALL);
	assert_int_equal(status(&d, &st, NULL), DFU_STATE_ERROR);
	assert_int_equal(st, DFU_STATUS_VENDOR);
	assert_int_equal(out(&d, DFU_CLRSTATUS, 0, NULL, 0), 0);
	assert_int_equal(command(&d, erase, 5, &st, NULL), DFU_STATE_ERROR);
	assert_int_equal(st, DFU_STATUS_VENDOR);
	assert_int_equal(dfl_model_memory(d.m, &base, &size)[0], 0x12);
	assert_int_equal(out(&d, DFU_CLRSTATUS, 0, NULL, 0), 0);
	assert_int_equal(command(&d, unprotect, 1, &st, NULL),
	    DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(dfl_model_memory(d.m, &base, &size)[0], 0xff);
	assert_int_equal(out(&d, DFU_ABORT, 0, NULL, 0), 0);
	set_address(&d, 0x08000000);
	assert_int_equal(out(&d, DFU_ABORT, 0, NULL, 0), 0);
	assert_int_equal(d.t.in(d.t.ctx, DFU_UPLOAD, 2, buf, 16, 5000), 16);
	dfl_model_free(d.m);
	/* A plain DFU device has no read protection to model. */
	d = open_model("dfu11");
	assert_int_equal(dfl_model_fault(d.m, "read-protect", err,
	    sizeof(err)), -1);
	dfl_model_free(d.m);
}

static void
test_fault_specs(void **state)
{
	struct dfl_model *m = dfl_model_new("f405");
	char err[512];

	(void)state;
	assert_int_equal(dfl_model_fault(m, "stall:3", err, sizeof(err)), 0);
	assert_int_equal(dfl_model_fault(m, "write:2=errWRITE", err,
	    sizeof(err)), 0);
	assert_int_equal(dfl_model_fault(m, "erase:1=busy", err,
	    sizeof(err)), 0);
	assert_int_equal(dfl_model_fault(m, "zero-poll", err, sizeof(err)), 0);
	assert_int_equal(dfl_model_fault(m, "write:2=errNOPE", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "write:2=errNOPE: unknown status errNOPE "
	    "(errWRITE, errERASE, errVERIFY, ...)");
	assert_int_equal(dfl_model_fault(m, "stall:0", err, sizeof(err)), -1);
	assert_string_equal(err, "stall:0: expected stall:N, disconnect:N, "
	    "KIND:N=STATUS, KIND:N=busy, write:N=corrupt, erase:N=skip, "
	    "erase:N=stuck, stuck-from:ADDRESS (DfuSe), zero-poll, "
	    "leave-gone, leave-gone=stall, leave-gone=io, runtime, "
	    "runtime-in-dfu, read-protect (DfuSe) or manifest-gone "
	    "(DFU 1.1)");
	assert_int_equal(dfl_model_fault(m, "leave-gone=stall", err,
	    sizeof(err)), 0);
	assert_int_equal(dfl_model_fault(m, "leave-gone=io", err,
	    sizeof(err)), 0);
	assert_int_equal(dfl_model_fault(m, "leave-gone=busy", err,
	    sizeof(err)), -1);
	/* manifest-gone is a plain device's: DfuSe leaves instead. */
	assert_int_equal(dfl_model_fault(m, "manifest-gone", err,
	    sizeof(err)), -1);
	assert_int_equal(dfl_model_fault(m, "erase:1=corrupt", err,
	    sizeof(err)), -1);
	assert_int_equal(dfl_model_fault(m, "fly:1=errWRITE", err,
	    sizeof(err)), -1);
	dfl_model_free(m);
}

/*
 * Option bytes (AN2662 4.5.1): the write runs on the first GETSTATUS,
 * which answers dfuDNBUSY, and the device then resets: gone, back in
 * DFU mode when re-enumerated, with the option bytes kept.  On every
 * profile that has them.
 */
static void
check_option_reset(const char *profile, uint32_t address, uint16_t size)
{
	struct dev d = open_model(profile);
	const struct dfl_model_stats *st;
	uint8_t ob[64], buf[64], s;
	uint32_t poll;

	assert_true(size <= sizeof(ob));
	for (uint16_t i = 0; i < size; i++)
		ob[i] = (uint8_t)(0x5a ^ i);
	assert_int_equal(d.t.set_alt(d.t.ctx, 1), 0);
	set_address(&d, address);
	assert_int_equal(out(&d, DFU_DNLOAD, 2, ob, size), size);
	assert_int_equal(status(&d, &s, &poll), DFU_STATE_DNBUSY);
	assert_int_equal(s, DFU_STATUS_OK);
	st = dfl_model_stats(d.m);
	assert_true(st->gone);
	assert_true(st->comes_back);
	assert_false(st->left);
	assert_int_equal(st->resets, 1);
	d.t.sleep_ms(d.t.ctx, poll);
	assert_int_equal(status(&d, NULL, NULL), -1);
	/* BOOT0 is still high: the ROM again, in dfuIDLE on alt 0. */
	assert_int_equal(d.t.reenumerate(d.t.ctx, 1000), 0);
	assert_false(dfl_model_stats(d.m)->gone);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_IDLE);
	assert_int_equal(d.t.set_alt(d.t.ctx, 1), 0);
	set_address(&d, address);
	assert_int_equal(out(&d, DFU_ABORT, 0, NULL, 0), 0);
	assert_int_equal(d.t.in(d.t.ctx, DFU_UPLOAD, 2, buf, size, 5000),
	    size);
	assert_memory_equal(buf, ob, size);
	dfl_model_free(d.m);
}

static void
test_option_bytes_reset(void **state)
{
	(void)state;
	check_option_reset("f405", 0x1fffc000, 16);
	check_option_reset("f107", 0x1ffff800, 16);
	check_option_reset("l476", 0x1fff7800, 40);
}

/* A failed option write does not reset: dfuERROR as for any write. */
static void
test_option_bytes_failed_write(void **state)
{
	struct dev d = open_model("f405");
	uint8_t ob[16] = { 0xaa }, st;
	char err[128];

	(void)state;
	assert_int_equal(dfl_model_fault(d.m, "write:1=errWRITE", err,
	    sizeof(err)), 0);
	assert_int_equal(d.t.set_alt(d.t.ctx, 1), 0);
	set_address(&d, 0x1fffc000);
	assert_int_equal(out(&d, DFU_DNLOAD, 2, ob, 16), 16);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_DNBUSY);
	assert_false(dfl_model_stats(d.m)->gone);
	assert_int_equal(status(&d, &st, NULL), DFU_STATE_ERROR);
	assert_int_equal(st, DFU_STATUS_WRITE);
	dfl_model_free(d.m);
}

/*
 * The zero-length DNLOAD that ends a download fails (leave-gone=stall,
 * leave-gone=io) and the device is gone; manifest-gone: a plain device
 * answers dfuMANIFEST once and is gone.
 */
static void
test_gone_faults(void **state)
{
	struct dev d = open_model("f405");
	uint8_t fw[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	char err[128];

	(void)state;
	assert_int_equal(dfl_model_fault(d.m, "leave-gone=stall", err,
	    sizeof(err)), 0);
	set_address(&d, 0x08000000);
	assert_int_equal(out(&d, DFU_DNLOAD, 2, NULL, 0), DFL_XFER_STALL);
	assert_true(dfl_model_stats(d.m)->gone);
	assert_true(dfl_model_stats(d.m)->left);
	assert_false(dfl_model_stats(d.m)->comes_back);
	assert_int_equal(dfl_model_stats(d.m)->left_address, 0x08000000);
	assert_int_equal(status(&d, NULL, NULL), -1);
	dfl_model_free(d.m);
	d = open_model("dfu11");
	assert_int_equal(dfl_model_fault(d.m, "leave-gone=io", err,
	    sizeof(err)), 0);
	assert_int_equal(out(&d, DFU_DNLOAD, 0, fw, 8), 8);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_DNBUSY);
	d.t.sleep_ms(d.t.ctx, 100);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(out(&d, DFU_DNLOAD, 1, NULL, 0), DFL_XFER_IO);
	assert_true(dfl_model_stats(d.m)->gone);
	dfl_model_free(d.m);
	d = open_model("dfu11-reset");
	assert_int_equal(dfl_model_fault(d.m, "manifest-gone", err,
	    sizeof(err)), 0);
	assert_int_equal(out(&d, DFU_DNLOAD, 0, fw, 8), 8);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_DNBUSY);
	d.t.sleep_ms(d.t.ctx, 100);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_DNLOAD_IDLE);
	assert_int_equal(out(&d, DFU_DNLOAD, 1, NULL, 0), 0);
	assert_int_equal(status(&d, NULL, NULL), DFU_STATE_MANIFEST);
	assert_true(dfl_model_stats(d.m)->gone);
	assert_true(dfl_model_stats(d.m)->left);
	assert_int_equal(status(&d, NULL, NULL), -1);
	dfl_model_free(d.m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptors),
		cmocka_unit_test(test_illegal_requests_stall),
		cmocka_unit_test(test_flash_clears_bits_only),
		cmocka_unit_test(test_erase_timing),
		cmocka_unit_test(test_busy_replies),
		cmocka_unit_test(test_stuck_erase),
		cmocka_unit_test(test_time_model),
		cmocka_unit_test(test_l476_double_words),
		cmocka_unit_test(test_h743_flash_words),
		cmocka_unit_test(test_gd32vf103_pages),
		cmocka_unit_test(test_dfuse_commands),
		cmocka_unit_test(test_runtime_mode),
		cmocka_unit_test(test_read_protect),
		cmocka_unit_test(test_fault_specs),
		cmocka_unit_test(test_option_bytes_reset),
		cmocka_unit_test(test_option_bytes_failed_write),
		cmocka_unit_test(test_gone_faults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
