/*
 * engine.c - plan, check and run a DFU 1.1 / DfuSe download (engine.h).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfulayout.h"
#include "dfuplan.h"
#include "dfuproto.h"
#include "engine.h"

/*
 * How long a device may stay busy on one request before the engine gives
 * up.  The slowest page operation of the modelled parts is a 128 KiB
 * sector erase of the STM32F405, 2 s at most (DS8626, flash memory
 * programming table, x32 parallelism); a mass erase of it takes 16 s at
 * most, and dfu-util waits up to 35 s for one.
 */
#define BUSY_LIMIT_MS 10000u
/* How long a detached device may take to come back, past wDetachTimeOut. */
#define REENUMERATE_MS 5000u
#define MASS_ERASE_LIMIT_MS 40000u
/* A device that answers bwPollTimeout 0 but stays busy: back off to this. */
#define ZERO_POLL_MAX_MS 64u
/* Widen writes in erasable regions to this unit (see engine.h). */
#define WRITE_UNIT 8u
#define ERASED 0xff
/*
 * A page flag beside engine.h's DFL_PAGE_* bits, private to the engine:
 * --skip-unchanged reads this page before deciding whether to skip it
 * (check_pages() clears it once the page is read).
 */
#define PAGE_TO_READ 0x100u

struct status {
	uint8_t status, state, istring;
	uint32_t poll_ms;
};

/* A contiguous run of bytes for one alt: image bytes plus 0xff filling. */
struct run {
	uint8_t alt;
	uint32_t start, size;
	uint8_t *data;
};

/* One target: the segments of one alt, its layout, runs and pages. */
struct target {
	uint8_t alt;
	const char *alt_name;
	struct dfu_layout *layout;
	const struct dfl_segment **segs; /* sorted by address */
	size_t nsegs;
	uint64_t *reach; /* reach[i]: the highest end of segs[0..i] */
	struct run *runs;
	size_t nruns;
	size_t page0, npages; /* slice of the session's pages */
};

/* Bytes of an erased page that survive: read first, written back. */
struct keep {
	uint8_t alt;
	uint32_t start, size;
	uint8_t *data;
};

struct dfl_session {
	const struct dfl_transport *t;
	const struct dfl_device *dev;
	const struct dfl_options *o;
	char err[640];
	int alt; /* selected alternate setting, -1 before any */
	int idle_checked;
	struct dfl_page *pages;
	size_t npages, pcap;
	struct dfl_range *writes;
	size_t nwrites, wcap;
	struct target *targets;
	size_t ntargets;
	struct keep *keeps;
	struct dfl_range *kept; /* the ranges of keeps, for the result */
	size_t nkeeps, kcap;
	struct dfu_layout *main_layout; /* alt 0's, for leaving */
	struct dfu_plan *plan; /* the image's segments, and the layouts */
	struct dfl_result res;
};

/* ---- Images ------------------------------------------------------------ */

static int
add_segment(struct dfl_image *img, uint8_t alt, uint32_t address,
    uint32_t size, uint8_t **data)
{
	struct dfl_segment *n;

	n = realloc(img->segs, (img->nsegs + 1) * sizeof(*n));
	if (n == NULL)
		return DFU_ERR_NOMEM;
	img->segs = n;
	n = &img->segs[img->nsegs];
	if ((n->data = malloc(size > 0 ? size : 1)) == NULL)
		return DFU_ERR_NOMEM;
	n->source[0] = '\0';
	n->alt = alt;
	n->address = address;
	n->size = size;
	img->nsegs++;
	*data = n->data;
	return 0;
}

int
dfl_image_from_file(struct dfl_image *img, struct dfu_file *f)
{
	const struct dfu_suffix *sfx = dfu_file_suffix(f);
	uint8_t *data;
	int err;

	memset(img, 0, sizeof(*img));
	img->idVendor = sfx != NULL ? sfx->idVendor : DFU_ID_ANY;
	img->idProduct = sfx != NULL ? sfx->idProduct : DFU_ID_ANY;
	if (dfu_file_format(f) == DFU_FORMAT_PLAIN) {
		uint64_t size = dfu_file_payload_size(f);

		img->plain = 1;
		if (size > UINT32_MAX)
			return DFU_ERR_RANGE;
		if ((err = add_segment(img, 0, 0, (uint32_t)size, &data)) != 0 ||
		    (err = dfu_file_payload_read(f, 0, data, size)) != 0)
			return err;
		return 0;
	}
	for (unsigned t = 0; t < dfu_file_target_count(f); t++) {
		const struct dfuse_target *tg = dfu_file_target(f, t);

		for (unsigned e = 0; e < dfu_file_element_count(f, t); e++) {
			const struct dfu_element *el = dfu_file_element(f, t, e);

			if (el->size == 0)
				continue;
			if ((err = add_segment(img, tg->bAlternateSetting,
			    el->address, el->size, &data)) != 0 ||
			    (err = dfu_file_element_read(f, t, e, 0, data,
			    el->size)) != 0)
				return err;
			snprintf(img->segs[img->nsegs - 1].source,
			    sizeof(img->segs[0].source), "target %u element %u",
			    t, e);
		}
	}
	return 0;
}

int
dfl_image_raw(struct dfl_image *img, int plain, uint8_t alt,
    uint32_t address, const void *data, uint32_t size)
{
	uint8_t *p;
	int err;

	memset(img, 0, sizeof(*img));
	img->plain = plain;
	img->idVendor = img->idProduct = DFU_ID_ANY;
	if ((err = add_segment(img, alt, address, size, &p)) != 0)
		return err;
	memcpy(p, data, size);
	return 0;
}

void
dfl_image_free(struct dfl_image *img)
{
	for (size_t i = 0; i < img->nsegs; i++)
		free(img->segs[i].data);
	free(img->segs);
	memset(img, 0, sizeof(*img));
}

uint64_t
dfl_device_capacity(const struct dfl_device *dev)
{
	struct dfu_layout *l;
	uint64_t total = 0;

	if (dev->bcdDFUVersion != DFU_BCD_DFUSE ||
	    dev->bInterfaceProtocol != DFL_PROTOCOL_DFU ||
	    (l = dfu_layout_new()) == NULL)
		return UINT64_MAX;
	for (unsigned i = 0; i < dev->nalts && total != UINT64_MAX; i++) {
		if (dfu_layout_parse(l, dev->alts[i].name) != 0) {
			total = UINT64_MAX;
			break;
		}
		for (unsigned r = 0; r < dfu_layout_region_count(l); r++) {
			const struct dfu_layout_region *rg =
			    dfu_layout_region(l, r);

			if (rg->access & DFU_LAYOUT_WRITABLE)
				total += rg->end - rg->start;
		}
	}
	dfu_layout_free(l);
	return total;
}

/* ---- Sessions ------------------------------------------------------------ */

const char *
dfl_phase_name(enum dfl_phase phase)
{
	switch (phase) {
	case DFL_PHASE_CHECK:
		return "check";
	case DFL_PHASE_ERASE:
		return "erase";
	case DFL_PHASE_WRITE:
		return "write";
	case DFL_PHASE_VERIFY:
		return "verify";
	case DFL_PHASE_UPLOAD:
		return "upload";
	case DFL_PHASE_LEAVE:
		return "leave";
	case DFL_PHASE_SETUP:
		return "setup";
	case DFL_PHASE_PRESERVE:
		return "preserve";
	}
	return "?";
}

struct dfl_session *
dfl_session_new(const struct dfl_transport *t, const struct dfl_device *dev)
{
	struct dfl_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->t = t;
	s->dev = dev;
	s->alt = -1;
	return s;
}

static void
targets_free(struct dfl_session *s)
{
	for (size_t i = 0; i < s->ntargets; i++) {
		struct target *tg = &s->targets[i];

		dfu_layout_free(tg->layout);
		free(tg->segs);
		free(tg->reach);
		for (size_t r = 0; r < tg->nruns; r++)
			free(tg->runs[r].data);
		free(tg->runs);
	}
	free(s->targets);
	s->targets = NULL;
	s->ntargets = 0;
	dfu_plan_free(s->plan);
	s->plan = NULL;
	s->npages = s->nwrites = 0;
	for (size_t i = 0; i < s->nkeeps; i++)
		free(s->keeps[i].data);
	s->nkeeps = 0;
	dfu_layout_free(s->main_layout);
	s->main_layout = NULL;
}

void
dfl_session_free(struct dfl_session *s)
{
	if (s == NULL)
		return;
	targets_free(s);
	free(s->pages);
	free(s->writes);
	free(s->keeps);
	free(s->kept);
	free(s);
}

const char *
dfl_errmsg(const struct dfl_session *s)
{
	return s->err;
}

static int __attribute__((format(printf, 3, 4)))
fail(struct dfl_session *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return err;
}

static void __attribute__((format(printf, 2, 3)))
warn(struct dfl_session *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (s->o == NULL || s->o->warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->o->warn(s->o->cb_ctx, msg);
}

static void
progress(struct dfl_session *s, enum dfl_phase phase, uint32_t address,
    uint64_t done, uint64_t total)
{
	struct dfl_event ev;

	if (s->o == NULL || s->o->progress == NULL)
		return;
	ev.phase = phase;
	ev.address = address;
	ev.done = done;
	ev.total = total;
	s->o->progress(s->o->cb_ctx, &ev);
}

static int
is_dfuse(const struct dfl_session *s)
{
	return s->dev->bcdDFUVersion == DFU_BCD_DFUSE;
}

/* "erase at 0x08004000", or "write at offset 0x800" on a plain device. */
static const char *
where(const struct dfl_session *s, char buf[64], enum dfl_phase phase,
    uint32_t address)
{
	snprintf(buf, 64, "%s at %s0x%08x", dfl_phase_name(phase),
	    is_dfuse(s) ? "" : "offset ", address);
	return buf;
}

/* ---- Requests ------------------------------------------------------------ */

static int
getstatus(struct dfl_session *s, struct status *st)
{
	uint8_t b[DFU_STATUS_SIZE];
	int rc = s->t->in(s->t->ctx, DFU_GETSTATUS, 0, b, sizeof(b));

	if (rc < 0)
		return rc;
	if (rc != DFU_STATUS_SIZE)
		return DFL_XFER_IO;
	st->status = b[0];
	st->poll_ms = (uint32_t)b[1] | (uint32_t)b[2] << 8 |
	    (uint32_t)b[3] << 16;
	st->state = b[4];
	st->istring = b[5];
	return 0;
}

/* Leave dfuERROR so that a retry starts clean; never leave DFU mode. */
static void
recover(struct dfl_session *s, const struct status *st)
{
	if (st->state == DFU_STATE_ERROR)
		(void)s->t->out(s->t->ctx, DFU_CLRSTATUS, 0, NULL, 0);
}

static int
status_fail(struct dfl_session *s, const char *at, const struct status *st)
{
	char says[160] = "";

	/* DFU 1.1 6.1.2: iString, when not 0, describes the error. */
	if (st->istring != 0 && s->t->get_string != NULL) {
		char text[128];

		if (s->t->get_string(s->t->ctx, st->istring, text,
		    sizeof(text)) == 0 && text[0] != '\0')
			snprintf(says, sizeof(says), "; the device says \"%s\"",
			    text);
	}
	recover(s, st);
	if (st->status != DFU_STATUS_OK)
		return fail(s, DFL_ERR_DEVICE, "%s: device reports %s (%s), "
		    "state %s%s", at, dfu_status_name(st->status),
		    dfu_status_text(st->status), dfu_state_name(st->state),
		    says);
	return fail(s, DFL_ERR_DEVICE, "%s: device entered %s", at,
	    dfu_state_name(st->state));
}

/* A request failed at the USB level: say how, and what the device says. */
static int
xfer_fail(struct dfl_session *s, int rc, const char *at, int request)
{
	struct status st;

	switch (rc) {
	case DFL_XFER_GONE:
		return fail(s, DFL_ERR_GONE, "%s: device disconnected during "
		    "%s", at, dfu_request_name(request));
	case DFL_XFER_STALL:
		/* A stall puts the device in dfuERROR: ask, then clear. */
		if (getstatus(s, &st) == 0) {
			recover(s, &st);
			return fail(s, DFL_ERR_DEVICE, "%s: device stalled %s; "
			    "state %s, status %s (%s)", at,
			    dfu_request_name(request),
			    dfu_state_name(st.state),
			    dfu_status_name(st.status),
			    dfu_status_text(st.status));
		}
		return fail(s, DFL_ERR_DEVICE, "%s: device stalled %s", at,
		    dfu_request_name(request));
	case DFL_XFER_TIMEOUT:
		return fail(s, DFL_ERR_DEVICE, "%s: %s timed out", at,
		    dfu_request_name(request));
	default:
		return fail(s, DFL_ERR_DEVICE, "%s: %s failed", at,
		    dfu_request_name(request));
	}
}

static int
busy_state(int state)
{
	return state == DFU_STATE_DNBUSY || state == DFU_STATE_DNLOAD_SYNC ||
	    state == DFU_STATE_MANIFEST_SYNC || state == DFU_STATE_MANIFEST;
}

/*
 * A bwPollTimeout is 24 bits: a device may ask for 4.66 hours.  A wait
 * longer than what is left of the step's limit fails at once rather than
 * hang the host (the limits are at the top of this file).
 */
static int
wait_too_long(struct dfl_session *s, const char *at, const struct status *st,
    uint32_t waited, uint32_t limit_ms)
{
	if (waited == 0)
		return fail(s, DFL_ERR_DEVICE, "%s: device asks to wait %u ms "
		    "(bwPollTimeout) in %s, longer than the %u ms this step "
		    "may take", at, st->poll_ms, dfu_state_name(st->state),
		    limit_ms);
	return fail(s, DFL_ERR_DEVICE, "%s: device asks to wait %u ms more "
	    "(bwPollTimeout) in %s after %u ms; this step may take %u ms",
	    at, st->poll_ms, dfu_state_name(st->state), waited, limit_ms);
}

/*
 * GETSTATUS until the device is no longer busy, waiting bwPollTimeout
 * between polls (DFU 1.1 6.1.2), at most limit_ms in all.  A zero
 * bwPollTimeout is honoured once; if the device is still busy the waits
 * grow to ZERO_POLL_MAX_MS.
 */
static int
poll_done(struct dfl_session *s, const char *at, uint32_t limit_ms,
    struct status *st)
{
	uint32_t waited = 0, ms, backoff = 0;
	int rc;

	for (;;) {
		if ((rc = getstatus(s, st)) < 0)
			return xfer_fail(s, rc, at, DFU_GETSTATUS);
		if (st->state == DFU_STATE_ERROR || st->status != DFU_STATUS_OK)
			return status_fail(s, at, st);
		if (!busy_state(st->state))
			return 0;
		if (waited < limit_ms && st->poll_ms > limit_ms - waited)
			return wait_too_long(s, at, st, waited, limit_ms);
		if (st->state == DFU_STATE_MANIFEST && !is_dfuse(s) &&
		    !(s->dev->bmAttributes & DFU_ATTR_MANIFESTATION_TOLERANT)) {
			/* DFU 1.1 A.2.7: it goes on to dfuMANIFEST-WAIT-RESET. */
			if (st->poll_ms > 0 && waited >= limit_ms)
				return wait_too_long(s, at, st, waited,
				    limit_ms);
			if (st->poll_ms > 0)
				s->t->sleep_ms(s->t->ctx, st->poll_ms);
			st->state = DFU_STATE_MANIFEST_WAIT_RESET;
			return 0;
		}
		if (waited >= limit_ms)
			return fail(s, DFL_ERR_DEVICE, "%s: device still busy "
			    "(%s) after %u ms", at, dfu_state_name(st->state),
			    waited);
		ms = st->poll_ms;
		if (ms == 0) {
			ms = backoff < limit_ms - waited ? backoff :
			    limit_ms - waited;
			backoff = backoff == 0 ? 1 : backoff * 2;
			if (backoff > ZERO_POLL_MAX_MS)
				backoff = ZERO_POLL_MAX_MS;
		}
		if (ms > 0)
			s->t->sleep_ms(s->t->ctx, ms);
		waited += ms;
	}
}

/* DNLOAD, then poll until dfuDNLOAD-IDLE. */
static int
dnload(struct dfl_session *s, uint16_t block, const uint8_t *data,
    uint16_t len, const char *at, uint32_t limit_ms)
{
	struct status st;
	int rc;

	rc = s->t->out(s->t->ctx, DFU_DNLOAD, block, data, len);
	if (rc < 0)
		return xfer_fail(s, rc, at, DFU_DNLOAD);
	if (rc != len)
		return fail(s, DFL_ERR_DEVICE, "%s: device took %d of %u "
		    "bytes", at, rc, len);
	if ((rc = poll_done(s, at, limit_ms, &st)) != 0)
		return rc;
	if (st.state != DFU_STATE_DNLOAD_IDLE)
		return fail(s, DFL_ERR_DEVICE, "%s: device in state %s after "
		    "DNLOAD, expected dfuDNLOAD-IDLE", at,
		    dfu_state_name(st.state));
	return 0;
}

static int
dfuse_command(struct dfl_session *s, uint8_t cmd, int with_address,
    uint32_t address, const char *at, uint32_t limit_ms)
{
	uint8_t b[5] = { cmd, (uint8_t)address, (uint8_t)(address >> 8),
		(uint8_t)(address >> 16), (uint8_t)(address >> 24) };

	return dnload(s, 0, b, with_address ? 5 : 1, at, limit_ms);
}

static int
set_address(struct dfl_session *s, uint32_t address, enum dfl_phase phase)
{
	char at[64];

	return dfuse_command(s, DFUSE_CMD_SET_ADDRESS, 1, address,
	    where(s, at, phase, address), BUSY_LIMIT_MS);
}

/* From dfuDNLOAD-IDLE or dfuUPLOAD-IDLE back to dfuIDLE. */
static int
abort_to_idle(struct dfl_session *s, const char *at)
{
	int rc = s->t->out(s->t->ctx, DFU_ABORT, 0, NULL, 0);

	return rc < 0 ? xfer_fail(s, rc, at, DFU_ABORT) : 0;
}

/*
 * Select an alt setting and make sure the device is in dfuIDLE, from
 * whatever state an earlier session left it in (DFU 1.1 A.2: CLRSTATUS
 * leaves dfuERROR, ABORT the idle states of a transfer).
 */
static int
select_alt(struct dfl_session *s, uint8_t alt)
{
	struct status st;
	char at[64];
	int rc;

	snprintf(at, sizeof(at), "setup of alt %u", alt);
	if (s->alt != alt) {
		if ((rc = s->t->set_alt(s->t->ctx, alt)) < 0)
			return xfer_fail(s, rc, at, -1);
		s->alt = alt;
	}
	if (s->idle_checked)
		return 0;
	if ((rc = getstatus(s, &st)) < 0)
		return xfer_fail(s, rc, at, DFU_GETSTATUS);
	if (st.state == DFU_STATE_APP_IDLE || st.state == DFU_STATE_APP_DETACH)
		return fail(s, DFL_ERR_DEVICE, "%s: device is in run-time "
		    "mode (%s); switching it to DFU mode is not supported "
		    "yet", at, dfu_state_name(st.state));
	if (st.state != DFU_STATE_IDLE) {
		int req = st.state == DFU_STATE_ERROR ? DFU_CLRSTATUS : DFU_ABORT;

		if ((rc = s->t->out(s->t->ctx, (uint8_t)req, 0, NULL, 0)) < 0)
			return xfer_fail(s, rc, at, req);
		if ((rc = getstatus(s, &st)) < 0)
			return xfer_fail(s, rc, at, DFU_GETSTATUS);
		if (st.state != DFU_STATE_IDLE)
			return fail(s, DFL_ERR_DEVICE, "%s: device stays in "
			    "state %s, status %s after %s", at,
			    dfu_state_name(st.state),
			    dfu_status_name(st.status),
			    dfu_request_name(req));
	}
	s->idle_checked = 1;
	return 0;
}

/*
 * A device in run-time mode (DFU 1.1 5.1, appIDLE) is sent DETACH, reset
 * unless it detaches by itself (bitWillDetach), and found again in DFU
 * mode, whose descriptors name the memories the plan needs.
 */
static int
enter_dfu_mode(struct dfl_session *s)
{
	uint32_t ms = s->dev->wDetachTimeOut;
	int rc;

	if (s->dev->bInterfaceProtocol != DFL_PROTOCOL_RUNTIME)
		return 0;
	if (s->t->reenumerate == NULL)
		return fail(s, DFL_ERR_PLAN, "the device is in run-time mode, "
		    "and this transport cannot find it again in DFU mode");
	progress(s, DFL_PHASE_SETUP, 0, 0, 1);
	rc = s->t->out(s->t->ctx, DFU_DETACH, (uint16_t)ms, NULL, 0);
	if (rc < 0 && rc != DFL_XFER_GONE)
		return xfer_fail(s, rc, "detach", DFU_DETACH);
	if (!(s->dev->bmAttributes & DFU_ATTR_WILL_DETACH) &&
	    (rc = s->t->reset(s->t->ctx)) < 0 && rc != DFL_XFER_GONE)
		return xfer_fail(s, rc, "detach", -1);
	if (s->t->reenumerate(s->t->ctx, ms + REENUMERATE_MS) != 0 ||
	    s->dev->bInterfaceProtocol == DFL_PROTOCOL_RUNTIME)
		return fail(s, DFL_ERR_GONE, "detach: the device did not come "
		    "back in DFU mode within %u ms", ms + REENUMERATE_MS);
	s->alt = -1;
	s->idle_checked = 0;
	progress(s, DFL_PHASE_SETUP, 0, 1, 1);
	return 0;
}

/* DfuSe: read len bytes from address into buf (device ends in dfuIDLE). */
static int
dfuse_read(struct dfl_session *s, uint32_t address, uint8_t *buf,
    uint32_t len, enum dfl_phase phase, uint64_t *done, uint64_t total)
{
	uint32_t xfer = s->dev->wTransferSize, off = 0, block = 0x10000;
	char at[64];
	int rc;

	if (*done == 0)
		progress(s, phase, address, 0, total);
	while (off < len) {
		uint32_t n = len - off < xfer ? len - off : xfer;
		uint32_t cur = address + off;

		where(s, at, phase, cur);
		if (block > 0xffff) {
			/*
			 * First block, or wBlockNum would pass 65535: set the
			 * address pointer (which leaves dfuDNLOAD-IDLE) and
			 * ABORT back to dfuIDLE, where UPLOAD is allowed.
			 */
			if (off > 0 && (rc = abort_to_idle(s, at)) != 0)
				return rc;
			if ((rc = set_address(s, cur, phase)) != 0 ||
			    (rc = abort_to_idle(s, at)) != 0)
				return rc;
			block = DFUSE_FIRST_BLOCK;
		}
		rc = s->t->in(s->t->ctx, DFU_UPLOAD, (uint16_t)block,
		    buf + off, (uint16_t)n);
		if (rc < 0)
			return xfer_fail(s, rc, at, DFU_UPLOAD);
		if ((uint32_t)rc != n)
			return fail(s, DFL_ERR_DEVICE, "%s: device sent %d "
			    "bytes, expected %u", at, rc, n);
		off += n;
		block++;
		*done += n;
		progress(s, phase, cur, *done, total);
	}
	return abort_to_idle(s, at);
}

/* Plain DFU: UPLOAD from block 0 until len bytes or a short block. */
static int
plain_read(struct dfl_session *s, uint8_t *buf, uint32_t len, uint32_t *got,
    enum dfl_phase phase)
{
	uint32_t xfer = s->dev->wTransferSize, off = 0;
	uint16_t block = 0;
	char at[64];
	int rc;

	for (;;) {
		uint32_t n = len - off < xfer ? len - off : xfer;

		if (n == 0) {
			/* Stopped before a short block: still dfuUPLOAD-IDLE. */
			if (abort_to_idle(s, where(s, at, phase, off)) != 0)
				return DFL_ERR_DEVICE;
			break;
		}
		rc = s->t->in(s->t->ctx, DFU_UPLOAD, block++, buf + off,
		    (uint16_t)n);
		if (rc < 0)
			return xfer_fail(s, rc, where(s, at, phase, off),
			    DFU_UPLOAD);
		off += (uint32_t)rc;
		progress(s, phase, off, off, len);
		if ((uint32_t)rc < n)
			break;
	}
	*got = off;
	return 0;
}

/* ---- Planning ------------------------------------------------------------ */

static const struct dfl_alt *
find_alt(const struct dfl_device *dev, uint8_t alt)
{
	for (unsigned i = 0; i < dev->nalts; i++)
		if (dev->alts[i].alt == alt)
			return &dev->alts[i];
	return NULL;
}

/*
 * Group the segments by alt, in the order the alts first appear, through
 * the library's planner, which also refuses segments of one alt that put
 * different bytes at one address (before anything is sent).
 */
static int
make_targets(struct dfl_session *s, const struct dfl_image *img)
{
	int rc;

	if ((s->plan = dfu_plan_new()) == NULL)
		return fail(s, DFL_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < img->nsegs; i++) {
		const struct dfl_segment *sg = &img->segs[i];
		struct dfu_plan_segment ps;

		memset(&ps, 0, sizeof(ps));
		ps.alt = sg->alt;
		ps.address = sg->address;
		ps.size = sg->size;
		ps.data = sg->data;
		ps.source = sg->source[0] != '\0' ? sg->source : NULL;
		if ((rc = dfu_plan_add(s->plan, &ps)) != 0)
			return fail(s, rc == DFU_ERR_NOMEM ? DFL_ERR_NOMEM :
			    DFL_ERR_PLAN, "%s", dfu_plan_errmsg(s->plan));
	}
	rc = dfu_plan_run(s->plan, 0);
	if (rc == DFU_ERR_NOMEM)
		return fail(s, DFL_ERR_NOMEM, "out of memory");
	if (rc != 0)
		return fail(s, DFL_ERR_PLAN, "%s", dfu_plan_errmsg(s->plan));
	if (dfu_plan_alt_count(s->plan) == 0)
		return fail(s, DFL_ERR_PLAN, "the image has no bytes to write");
	s->targets = calloc(dfu_plan_alt_count(s->plan), sizeof(*s->targets));
	if (s->targets == NULL)
		return fail(s, DFL_ERR_NOMEM, "out of memory");
	for (size_t t = 0; t < dfu_plan_alt_count(s->plan); t++) {
		const struct dfu_plan_alt *pa = dfu_plan_alt(s->plan, t);
		struct target *tg = &s->targets[s->ntargets++];
		uint64_t reach = 0;

		tg->alt = (uint8_t)pa->alt;
		/* An array of pointers (.clang-tidy: sizeof-expression).
		 * NOLINTNEXTLINE(bugprone-sizeof-expression) */
		tg->segs = malloc(pa->nsegments * sizeof(*tg->segs));
		tg->reach = malloc(pa->nsegments * sizeof(*tg->reach));
		if (tg->segs == NULL || tg->reach == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		for (size_t i = 0; i < pa->nsegments; i++) {
			const struct dfl_segment *sg =
			    &img->segs[pa->segments[i]];
			uint64_t end = (uint64_t)sg->address + sg->size;

			tg->segs[i] = sg;
			if (end > reach)
				reach = end;
			tg->reach[i] = reach;
		}
		tg->nsegs = pa->nsegments;
	}
	return 0;
}

/* The planner's result for the alt of tg. */
static const struct dfu_plan_alt *
plan_alt(const struct dfl_session *s, const struct target *tg)
{
	for (size_t i = 0; i < dfu_plan_alt_count(s->plan); i++)
		if (dfu_plan_alt(s->plan, i)->alt == tg->alt)
			return dfu_plan_alt(s->plan, i);
	return NULL;
}

/* Every byte of every segment in a writable region of the alt: the
 * planner's first finding about the alt, in the engine's words. */
static int
check_writable(struct dfl_session *s, struct target *tg)
{
	for (size_t i = 0; i < dfu_plan_finding_count(s->plan); i++) {
		const struct dfu_plan_finding *f = dfu_plan_finding(s->plan, i);
		const struct dfu_plan_segment *sg;
		const struct dfu_layout_region *r;
		unsigned long long last;

		if (f->alt != tg->alt || f->severity != DFU_ERROR)
			continue;
		sg = dfu_plan_segment(s->plan, f->segment);
		last = (unsigned long long)sg->address + sg->size - 1;
		r = dfu_layout_find(tg->layout, f->address, NULL);
		if (strcmp(f->code, "layout-outside") == 0 || r == NULL)
			return fail(s, DFL_ERR_PLAN, "alt %u (%s): "
			    "0x%08x-0x%08llx: 0x%08x is outside the "
			    "device's memory \"%s\"", tg->alt,
			    dfu_layout_name(tg->layout), sg->address, last,
			    f->address, tg->alt_name);
		if (strcmp(f->code, "layout-not-writable") == 0)
			return fail(s, DFL_ERR_PLAN, "alt %u (%s): "
			    "0x%08x-0x%08llx: region 0x%08x-0x%08llx "
			    "is %s, not writable", tg->alt,
			    dfu_layout_name(tg->layout), sg->address, last,
			    r->start, (unsigned long long)(r->end - 1),
			    dfu_layout_access_name(r->access));
		return fail(s, DFL_ERR_PLAN, "alt %u (%s): %s: %s", tg->alt,
		    dfu_layout_name(tg->layout), f->field, f->message);
	}
	return 0;
}

/*
 * Widening to WRITE_UNIT stays inside a region that is erasable (so the
 * filling lands on erased flash) and made of whole units.
 */
static int
unit_aligned(const struct dfu_layout_region *r)
{
	return (r->access & DFU_LAYOUT_ERASABLE) &&
	    r->page_size % WRITE_UNIT == 0 && r->start % WRITE_UNIT == 0;
}

/* Segments into runs, widened to WRITE_UNIT in erasable regions. */
static int
make_runs(struct dfl_session *s, struct target *tg)
{
	for (size_t i = 0; i < tg->nsegs; i++) {
		const struct dfl_segment *sg = tg->segs[i];
		uint64_t start = sg->address, end = start + sg->size;
		const struct dfu_layout_region *r0 =
		    dfu_layout_find(tg->layout, sg->address, NULL);
		const struct dfu_layout_region *r1 =
		    dfu_layout_find(tg->layout, (uint32_t)(end - 1), NULL);
		struct run *last = tg->nruns ? &tg->runs[tg->nruns - 1] : NULL;

		/* Each end widens only inside its own region. */
		if (unit_aligned(r0))
			start -= start % WRITE_UNIT;
		if (unit_aligned(r1))
			end += (WRITE_UNIT - end % WRITE_UNIT) % WRITE_UNIT;
		if (last != NULL && start <= (uint64_t)last->start + last->size) {
			uint64_t nend = (uint64_t)last->start + last->size;
			uint8_t *d;

			if (end > nend) {
				d = realloc(last->data, end - last->start);
				if (d == NULL)
					return fail(s, DFL_ERR_NOMEM,
					    "out of memory");
				memset(d + last->size, ERASED,
				    end - last->start - last->size);
				last->data = d;
				last->size = (uint32_t)(end - last->start);
			}
		} else {
			struct run *n = realloc(tg->runs,
			    (tg->nruns + 1) * sizeof(*n));

			if (n == NULL)
				return fail(s, DFL_ERR_NOMEM, "out of memory");
			tg->runs = n;
			last = &tg->runs[tg->nruns++];
			last->alt = tg->alt;
			last->start = (uint32_t)start;
			last->size = (uint32_t)(end - start);
			if ((last->data = malloc(last->size)) == NULL)
				return fail(s, DFL_ERR_NOMEM, "out of memory");
			memset(last->data, ERASED, last->size);
		}
		memcpy(last->data + (sg->address - last->start), sg->data,
		    sg->size);
	}
	return 0;
}

static int
add_page(struct dfl_session *s, uint8_t alt, uint32_t start, uint32_t size,
    unsigned flags)
{
	if (s->npages == s->pcap) {
		size_t cap = s->pcap ? s->pcap * 2 : 64;
		struct dfl_page *n = realloc(s->pages, cap * sizeof(*n));

		if (n == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		s->pages = n;
		s->pcap = cap;
	}
	s->pages[s->npages].alt = alt;
	s->pages[s->npages].start = start;
	s->pages[s->npages].size = size;
	s->pages[s->npages].flags = flags;
	s->npages++;
	return 0;
}

/*
 * The pages the image touches, once each, in address order: the
 * planner's extents, page by page.  Widening a run to WRITE_UNIT stays
 * inside the page it widens (unit_aligned()), so the runs touch exactly
 * these pages.
 */
static int
make_pages(struct dfl_session *s, struct target *tg)
{
	int mass = s->o->flags & DFL_MASS_ERASE;
	const struct dfu_plan_alt *pa = plan_alt(s, tg);

	if (pa == NULL || !pa->fits) /* check_writable() */
		return fail(s, DFL_ERR_PLAN, "alt %u: the image does not fit "
		    "the memory", tg->alt);
	tg->page0 = s->npages;
	for (size_t i = 0; i < pa->nextents; i++) {
		const struct dfu_plan_extent *x = &pa->extents[i];
		unsigned flags = DFL_PAGE_WRITE;

		if ((x->access & DFU_LAYOUT_ERASABLE) && !mass)
			flags |= DFL_PAGE_ERASE;
		for (uint64_t a = x->start; a < x->end; a += x->page_size) {
			int rc = add_page(s, tg->alt, (uint32_t)a, x->page_size,
			    flags);

			if (rc != 0)
				return rc;
		}
	}
	tg->npages = s->npages - tg->page0;
	return 0;
}

/*
 * The image byte at addr, or -1 if no segment holds it.  Segments of one
 * alt may overlap (with equal bytes: make_targets()), so the search goes
 * back from the last segment starting at or before addr while an earlier
 * one can still reach it.
 */
static int
image_byte(const struct target *tg, uint32_t addr)
{
	size_t lo = 0, hi = tg->nsegs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (tg->segs[mid]->address <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo > 0 && tg->reach[lo - 1] > addr) {
		const struct dfl_segment *sg = tg->segs[--lo];

		if ((uint64_t)addr < (uint64_t)sg->address + sg->size)
			return sg->data[addr - sg->address];
	}
	return -1;
}

/* How many bytes of [start, start + size) the image holds. */
static uint64_t
image_bytes_in(const struct target *tg, uint32_t start, uint32_t size)
{
	uint64_t a = start, end = a + size, n = 0;

	for (size_t i = 0; i < tg->nsegs && a < end; i++) {
		const struct dfl_segment *sg = tg->segs[i];
		uint64_t ss = sg->address, se = ss + sg->size;

		if (se <= a)
			continue;
		if (ss >= end)
			break;
		if (ss > a)
			a = ss;
		if (se > end)
			se = end;
		n += se - a;
		a = se;
	}
	return n;
}

/*
 * --skip-unchanged: read the pages (readable ones) and mark those that
 * already hold the image, which are then neither erased nor written.
 */
static int
check_pages(struct dfl_session *s, struct target *tg)
{
	int can_read = s->dev->bmAttributes & DFU_ATTR_CAN_UPLOAD;
	uint64_t total = 0, done = 0;
	size_t i, j;
	int rc;

	if (!(s->o->flags & DFL_SKIP_UNCHANGED))
		return 0;
	for (i = tg->page0; i < tg->page0 + tg->npages; i++) {
		struct dfl_page *p = &s->pages[i];
		const struct dfu_layout_region *r =
		    dfu_layout_find(tg->layout, p->start, NULL);

		if (can_read && (r->access & DFU_LAYOUT_READABLE)) {
			p->flags |= PAGE_TO_READ;
			total += p->size;
		}
	}
	if (total > 0 && (rc = select_alt(s, tg->alt)) != 0)
		return rc;
	for (i = tg->page0; i < tg->page0 + tg->npages; i = j) {
		uint32_t start, len;
		uint8_t *buf;

		if (!(s->pages[i].flags & PAGE_TO_READ)) {
			j = i + 1;
			continue;
		}
		/* A group of contiguous pages to read with one address. */
		start = s->pages[i].start;
		len = 0;
		for (j = i; j < tg->page0 + tg->npages &&
		    (s->pages[j].flags & PAGE_TO_READ) &&
		    s->pages[j].start == start + len; j++)
			len += s->pages[j].size;
		if ((buf = malloc(len > 0 ? len : 1)) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		if ((rc = dfuse_read(s, start, buf, len, DFL_PHASE_CHECK,
		    &done, total)) != 0) {
			free(buf);
			return rc;
		}
		for (size_t k = i; k < j; k++) {
			struct dfl_page *p = &s->pages[k];
			const uint8_t *dev = buf + (p->start - start);
			int same = 1;

			p->flags &= ~PAGE_TO_READ;
			for (uint32_t b = 0; b < p->size && same; b++) {
				int v = image_byte(tg, p->start + b);

				if (v >= 0 && v != dev[b])
					same = 0;
			}
			if (same)
				p->flags = DFL_PAGE_UNCHANGED;
		}
		free(buf);
	}
	return 0;
}

/* ---- Kept bytes ------------------------------------------------------------ */

/* Is addr, which the image does not hold, to survive the erase? */
static int
keep_wanted(const struct dfl_session *s, uint32_t addr)
{
	if (s->o->flags & DFL_PRESERVE_UNCOVERED)
		return 1;
	for (size_t i = 0; i < s->o->npreserve; i++)
		if (addr >= s->o->preserve[i].first &&
		    addr <= s->o->preserve[i].last)
			return 1;
	return 0;
}

static int
add_keep(struct dfl_session *s, uint8_t alt, uint32_t start, uint32_t size)
{
	struct keep *k;

	if (s->nkeeps > 0) {
		k = &s->keeps[s->nkeeps - 1];
		if (k->alt == alt && (uint64_t)k->start + k->size == start) {
			k->size += size;
			return 0;
		}
	}
	if (s->nkeeps == s->kcap) {
		size_t cap = s->kcap ? s->kcap * 2 : 16;
		struct dfl_range *r;

		if ((k = realloc(s->keeps, cap * sizeof(*k))) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		s->keeps = k;
		if ((r = realloc(s->kept, cap * sizeof(*r))) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		s->kept = r;
		s->kcap = cap;
	}
	k = &s->keeps[s->nkeeps++];
	k->alt = alt;
	k->start = start;
	k->size = size;
	k->data = NULL;
	return 0;
}

/*
 * Put bytes [a, b) that must be written (data at a) into the runs of tg
 * as image bytes are: widened to WRITE_UNIT inside their regions, merged
 * with the runs they overlap or touch.  Kept bytes are never image bytes,
 * so they only replace the 0xff filling of a run.
 */
static int
fold_piece(struct dfl_session *s, struct target *tg, uint32_t a, uint32_t b,
    const uint8_t *data)
{
	uint64_t ws = a, we = b, ns, ne;
	size_t lo, hi;
	uint8_t *buf;

	if (unit_aligned(dfu_layout_find(tg->layout, a, NULL)))
		ws -= ws % WRITE_UNIT;
	if (unit_aligned(dfu_layout_find(tg->layout, b - 1, NULL)))
		we += (WRITE_UNIT - we % WRITE_UNIT) % WRITE_UNIT;
	for (lo = 0; lo < tg->nruns &&
	    (uint64_t)tg->runs[lo].start + tg->runs[lo].size < ws; lo++)
		;
	for (hi = lo; hi < tg->nruns && tg->runs[hi].start <= we; hi++)
		;
	ns = ws;
	ne = we;
	if (hi > lo) {
		const struct run *last = &tg->runs[hi - 1];

		if (tg->runs[lo].start < ns)
			ns = tg->runs[lo].start;
		if ((uint64_t)last->start + last->size > ne)
			ne = (uint64_t)last->start + last->size;
	}
	if ((buf = malloc(ne - ns)) == NULL)
		return fail(s, DFL_ERR_NOMEM, "out of memory");
	memset(buf, ERASED, ne - ns);
	for (size_t i = lo; i < hi; i++) {
		memcpy(buf + (tg->runs[i].start - ns), tg->runs[i].data,
		    tg->runs[i].size);
		free(tg->runs[i].data);
	}
	memcpy(buf + (a - ns), data, b - a);
	if (hi == lo) {
		struct run *n = realloc(tg->runs, (tg->nruns + 1) * sizeof(*n));

		if (n == NULL) {
			free(buf);
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		}
		tg->runs = n;
		memmove(&tg->runs[lo + 1], &tg->runs[lo],
		    (tg->nruns - lo) * sizeof(*n));
		tg->nruns++;
	} else {
		memmove(&tg->runs[lo + 1], &tg->runs[hi],
		    (tg->nruns - hi) * sizeof(*tg->runs));
		tg->nruns -= hi - lo - 1;
	}
	tg->runs[lo].alt = tg->alt;
	tg->runs[lo].start = (uint32_t)ns;
	tg->runs[lo].size = (uint32_t)(ne - ns);
	tg->runs[lo].data = buf;
	return 0;
}

/*
 * The bytes of the pages to erase that the image does not cover and that
 * must survive: find them, make sure they can be read, read them (only
 * them), and fold those that are not 0xff into the runs.
 */
static int
plan_keeps(struct dfl_session *s, struct target *tg)
{
	int can_read = s->dev->bmAttributes & DFU_ATTR_CAN_UPLOAD;
	size_t k0 = s->nkeeps;
	uint64_t total = 0, done = 0;
	int rc;

	if (s->o->npreserve == 0 && !(s->o->flags & DFL_PRESERVE_UNCOVERED))
		return 0;
	for (size_t i = tg->page0; i < tg->page0 + tg->npages; i++) {
		const struct dfl_page *p = &s->pages[i];
		uint32_t b = 0;

		if (!(p->flags & DFL_PAGE_ERASE))
			continue;
		while (b < p->size) {
			uint32_t a = p->start + b, n = 0;

			while (b + n < p->size && image_byte(tg, a + n) < 0 &&
			    keep_wanted(s, a + n))
				n++;
			if (n == 0) {
				b++;
				continue;
			}
			if ((rc = add_keep(s, tg->alt, a, n)) != 0)
				return rc;
			b += n;
		}
	}
	for (size_t i = k0; i < s->nkeeps; i++) {
		const struct keep *k = &s->keeps[i];
		const struct dfu_layout_region *r =
		    dfu_layout_find(tg->layout, k->start, NULL);

		if (!can_read)
			return fail(s, DFL_ERR_PLAN, "alt %u: 0x%08x-0x%08x "
			    "are to be preserved, and the device cannot read "
			    "them back (bitCanUpload is 0); nothing was "
			    "erased", tg->alt, k->start,
			    k->start + k->size - 1);
		if (!(r->access & DFU_LAYOUT_READABLE))
			return fail(s, DFL_ERR_PLAN, "alt %u: 0x%08x-0x%08x "
			    "are to be preserved, and region 0x%08x-0x%08llx "
			    "is %s, not readable; nothing was erased",
			    tg->alt, k->start, k->start + k->size - 1,
			    r->start, (unsigned long long)(r->end - 1),
			    dfu_layout_access_name(r->access));
		total += k->size;
	}
	if (total == 0)
		return 0;
	if ((rc = select_alt(s, tg->alt)) != 0)
		return rc;
	for (size_t i = k0; i < s->nkeeps; i++) {
		struct keep *k = &s->keeps[i];

		if ((k->data = malloc(k->size)) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		if ((rc = dfuse_read(s, k->start, k->data, k->size,
		    DFL_PHASE_PRESERVE, &done, total)) != 0) {
			size_t n = strlen(s->err);

			snprintf(s->err + n, sizeof(s->err) - n, "; the bytes "
			    "to preserve cannot be read, and nothing was "
			    "erased");
			return rc;
		}
		s->res.bytes_kept += k->size;
		for (uint32_t b = 0; b < k->size;) {
			uint32_t n = 0;

			while (b + n < k->size && k->data[b + n] != ERASED)
				n++;
			if (n == 0) {
				b++;
				continue;
			}
			if ((rc = fold_piece(s, tg, k->start + b,
			    k->start + b + n, k->data + b)) != 0)
				return rc;
			s->res.bytes_restored += n;
			b += n;
		}
	}
	return 0;
}

/* After writing: every kept byte of tg's alt holds what it held. */
static int
check_keeps(struct dfl_session *s, const struct target *tg)
{
	uint64_t total = 0, done = 0;
	int rc;

	for (size_t i = 0; i < s->nkeeps; i++)
		if (s->keeps[i].alt == tg->alt)
			total += s->keeps[i].size;
	for (size_t i = 0; i < s->nkeeps && total > 0; i++) {
		const struct keep *k = &s->keeps[i];
		uint8_t *buf;

		if (k->alt != tg->alt)
			continue;
		if ((buf = malloc(k->size)) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		if ((rc = dfuse_read(s, k->start, buf, k->size,
		    DFL_PHASE_PRESERVE, &done, total)) != 0) {
			free(buf);
			return rc;
		}
		for (uint32_t b = 0; b < k->size; b++)
			if (buf[b] != k->data[b]) {
				rc = fail(s, DFL_ERR_DEVICE, "preserve at "
				    "0x%08x: device holds 0x%02x, and held "
				    "0x%02x before the erase", k->start + b,
				    buf[b], k->data[b]);
				free(buf);
				return rc;
			}
		free(buf);
	}
	return 0;
}

/* ---- Leaving ------------------------------------------------------------- */

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static int
is_flash(const struct dfu_layout_region *r)
{
	unsigned both = DFU_LAYOUT_ERASABLE | DFU_LAYOUT_WRITABLE;

	return r != NULL && (r->access & both) == both;
}

int
dfl_vector_table(const uint8_t p[8], const struct dfu_layout *layout)
{
	uint32_t sp = le32(p), reset = le32(p + 4);

	return sp % 4 == 0 && sp >= 0x20000000u && sp <= 0x40000000u &&
	    (reset & 1) != 0 &&
	    is_flash(dfu_layout_find(layout, reset & ~1u, NULL));
}

/*
 * Where the device goes when it leaves, decided before anything is sent:
 * the start address given, else the application (the lowest segment
 * start in flash that holds a vector table), else the start of main
 * flash: the first erasable, writable region of alt 0.
 */
static int
plan_leave(struct dfl_session *s)
{
	const struct dfl_alt *a0 = find_alt(s->dev, 0);
	const struct dfu_layout_region *main_flash = NULL;
	int found = 0;

	if (s->o->flags & DFL_NO_LEAVE)
		return 0;
	if (a0 == NULL && s->dev->nalts > 0)
		a0 = &s->dev->alts[0];
	if (a0 != NULL && a0->name != NULL &&
	    (s->main_layout = dfu_layout_new()) != NULL &&
	    dfu_layout_parse(s->main_layout, a0->name) == 0)
		for (unsigned r = 0; r < dfu_layout_region_count(s->main_layout)
		    && main_flash == NULL; r++)
			if (is_flash(dfu_layout_region(s->main_layout, r)))
				main_flash = dfu_layout_region(s->main_layout,
				    r);
	if (s->o->start_set) {
		for (size_t t = 0; t < s->ntargets && !found; t++)
			if (dfu_layout_find(s->targets[t].layout, s->o->start,
			    NULL) != NULL) {
				s->res.leave_alt = s->targets[t].alt;
				found = 1;
			}
		if (!found && main_flash != NULL &&
		    dfu_layout_find(s->main_layout, s->o->start, NULL) != NULL) {
			s->res.leave_alt = a0->alt;
			found = 1;
		}
		if (!found)
			return fail(s, DFL_ERR_PLAN, "start address 0x%08x is "
			    "outside the memory of alt %u (%s)", s->o->start,
			    s->targets[0].alt,
			    dfu_layout_name(s->targets[0].layout));
		s->res.leave_address = s->o->start;
		s->res.leave_reason = DFL_LEAVE_START;
		return 0;
	}
	for (size_t t = 0; t < s->ntargets; t++) {
		const struct target *tg = &s->targets[t];

		for (size_t i = 0; i < tg->nsegs; i++) {
			const struct dfl_segment *sg = tg->segs[i];
			uint8_t w[8];
			int ok = is_flash(dfu_layout_find(tg->layout,
			    sg->address, NULL));

			for (unsigned b = 0; b < 8 && ok; b++) {
				int v = sg->address + b < sg->address ? -1 :
				    image_byte(tg, sg->address + b);

				if (v < 0)
					ok = 0;
				else
					w[b] = (uint8_t)v;
			}
			if (!ok || !dfl_vector_table(w, tg->layout) ||
			    (found && sg->address >= s->res.leave_address))
				continue;
			s->res.leave_address = sg->address;
			s->res.leave_alt = tg->alt;
			found = 1;
		}
	}
	if (found) {
		s->res.leave_reason = DFL_LEAVE_APP;
		return 0;
	}
	if (main_flash == NULL)
		return fail(s, DFL_ERR_PLAN, "the image holds no vector table "
		    "and the device describes no flash to start (an "
		    "erasable, writable region of alt 0); give --start "
		    "address or --no-leave");
	s->res.leave_address = main_flash->start;
	s->res.leave_alt = a0->alt;
	s->res.leave_reason = DFL_LEAVE_FLASH;
	return 0;
}

static int
add_write(struct dfl_session *s, uint8_t alt, uint32_t start, uint32_t size)
{
	struct dfl_range *w;

	if (s->nwrites > 0) {
		w = &s->writes[s->nwrites - 1];
		if (w->alt == alt && (uint64_t)w->start + w->size == start) {
			w->size += size;
			return 0;
		}
	}
	if (s->nwrites == s->wcap) {
		size_t cap = s->wcap ? s->wcap * 2 : 16;

		if ((w = realloc(s->writes, cap * sizeof(*w))) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		s->writes = w;
		s->wcap = cap;
	}
	w = &s->writes[s->nwrites++];
	w->alt = alt;
	w->start = start;
	w->size = size;
	return 0;
}

/* The runs minus the unchanged pages: what is written, per SET_ADDRESS. */
static int
make_writes(struct dfl_session *s, struct target *tg)
{
	size_t p = tg->page0, pend = tg->page0 + tg->npages;
	int rc;

	for (size_t i = 0; i < tg->nruns; i++) {
		const struct run *r = &tg->runs[i];
		uint64_t rend = (uint64_t)r->start + r->size;

		for (; p < pend && s->pages[p].start < rend; p++) {
			const struct dfl_page *pg = &s->pages[p];
			uint64_t a = pg->start > r->start ? pg->start : r->start;
			uint64_t e = (uint64_t)pg->start + pg->size;

			if (e > rend)
				e = rend;
			if (e <= a)
				continue;
			if (!(pg->flags & DFL_PAGE_UNCHANGED) &&
			    (rc = add_write(s, tg->alt, (uint32_t)a,
			    (uint32_t)(e - a))) != 0)
				return rc;
			if (e < (uint64_t)pg->start + pg->size)
				break; /* the next run may share this page */
		}
	}
	return 0;
}

/* ---- Download ------------------------------------------------------------ */

static uint8_t *
run_bytes(const struct target *tg, uint32_t address)
{
	for (size_t i = 0; i < tg->nruns; i++)
		if (address >= tg->runs[i].start &&
		    (uint64_t)address < (uint64_t)tg->runs[i].start +
		    tg->runs[i].size)
			return tg->runs[i].data + (address - tg->runs[i].start);
	return NULL;
}

static int
plan_dfuse(struct dfl_session *s)
{
	int rc;

	for (size_t t = 0; t < s->ntargets; t++) {
		struct target *tg = &s->targets[t];
		const struct dfl_alt *a = find_alt(s->dev, tg->alt);

		if (a == NULL)
			return fail(s, DFL_ERR_PLAN, "the image has data for "
			    "alt %u, and the device has no such alternate "
			    "setting", tg->alt);
		/* usb.c leaves a name it could not read NULL. */
		if (a->name == NULL)
			return fail(s, DFL_ERR_PLAN, "alt %u: the device did "
			    "not give its name (iInterface), which is its "
			    "memory layout", tg->alt);
		tg->alt_name = a->name;
		if ((tg->layout = dfu_layout_new()) == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		if (dfu_layout_parse(tg->layout, a->name) != 0)
			return fail(s, DFL_ERR_PLAN, "alt %u: memory layout "
			    "\"%s\": %s", tg->alt, a->name,
			    dfu_layout_errmsg(tg->layout));
		if (dfu_plan_set_layout(s->plan, tg->alt, tg->layout) != 0)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
	}
	rc = dfu_plan_run(s->plan, DFU_PLAN_LAYOUTS);
	if (rc != 0 && rc != DFU_ERR_RANGE)
		return fail(s, rc == DFU_ERR_NOMEM ? DFL_ERR_NOMEM :
		    DFL_ERR_PLAN, "%s", dfu_plan_errmsg(s->plan));
	for (size_t t = 0; t < s->ntargets; t++) {
		struct target *tg = &s->targets[t];

		if ((rc = check_writable(s, tg)) != 0 ||
		    (rc = make_runs(s, tg)) != 0 ||
		    (rc = make_pages(s, tg)) != 0)
			return rc;
	}
	/* Where it leaves to, before anything is sent. */
	if ((rc = plan_leave(s)) != 0)
		return rc;
	/* Reads only after every target passed the checks above. */
	for (size_t t = 0; t < s->ntargets; t++) {
		struct target *tg = &s->targets[t];

		if ((rc = check_pages(s, tg)) != 0 ||
		    (rc = plan_keeps(s, tg)) != 0 ||
		    (rc = make_writes(s, tg)) != 0)
			return rc;
		for (size_t i = tg->page0; i < tg->page0 + tg->npages; i++) {
			const struct dfl_page *p = &s->pages[i];

			if (!(p->flags & DFL_PAGE_ERASE))
				continue;
			s->res.bytes_erased += p->size;
			s->res.bytes_erased_outside += p->size -
			    image_bytes_in(tg, p->start, p->size);
		}
	}
	for (size_t i = 0; i < s->nkeeps; i++) {
		s->kept[i].alt = s->keeps[i].alt;
		s->kept[i].start = s->keeps[i].start;
		s->kept[i].size = s->keeps[i].size;
	}
	/* A range to preserve in no page that is erased needs nothing. */
	for (size_t k = 0; k < s->o->npreserve; k++) {
		const struct dfl_keep *pr = &s->o->preserve[k];
		int erased = 0;

		for (size_t i = 0; i < s->npages && !erased; i++)
			erased = (s->pages[i].flags & DFL_PAGE_ERASE) &&
			    pr->first <= s->pages[i].start + (s->pages[i].size
			    - 1) && pr->last >= s->pages[i].start;
		if (!erased)
			warn(s, "--preserve 0x%08x-0x%08x: no page that is "
			    "erased holds these bytes; they stay as they are",
			    pr->first, pr->last);
	}
	return 0;
}

static int
erase_pages(struct dfl_session *s, struct target *tg, uint64_t *done,
    uint64_t total)
{
	char at[64];
	int rc;

	for (size_t i = tg->page0; i < tg->page0 + tg->npages; i++) {
		const struct dfl_page *p = &s->pages[i];

		if (!(p->flags & DFL_PAGE_ERASE))
			continue;
		progress(s, DFL_PHASE_ERASE, p->start, *done, total);
		rc = dfuse_command(s, DFUSE_CMD_ERASE, 1, p->start,
		    where(s, at, DFL_PHASE_ERASE, p->start), BUSY_LIMIT_MS);
		if (rc != 0)
			return rc;
		s->res.pages_erased++;
		*done += p->size;
		progress(s, DFL_PHASE_ERASE, p->start, *done, total);
	}
	return 0;
}

static int
write_range(struct dfl_session *s, struct target *tg,
    const struct dfl_range *w, uint64_t *done, uint64_t total)
{
	uint32_t xfer = s->dev->wTransferSize, off = 0, block = 0x10000;
	const uint8_t *data = run_bytes(tg, w->start);
	char at[64];
	int rc;

	while (off < w->size) {
		uint32_t n = w->size - off < xfer ? w->size - off : xfer;
		uint32_t cur = w->start + off;

		if (block > 0xffff) {
			if ((rc = set_address(s, cur, DFL_PHASE_WRITE)) != 0)
				return rc;
			block = DFUSE_FIRST_BLOCK;
		}
		rc = dnload(s, (uint16_t)block, data + off, (uint16_t)n,
		    where(s, at, DFL_PHASE_WRITE, cur), BUSY_LIMIT_MS);
		if (rc != 0)
			return rc;
		off += n;
		block++;
		*done += n;
		s->res.bytes_written += n;
		progress(s, DFL_PHASE_WRITE, cur, *done, total);
	}
	return 0;
}

static int
verify_target(struct dfl_session *s, struct target *tg, uint64_t *done,
    uint64_t total)
{
	int rc;

	for (size_t i = 0; i < tg->nruns; i++) {
		const struct run *r = &tg->runs[i];
		uint8_t *buf = malloc(r->size);

		if (buf == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		if ((rc = dfuse_read(s, r->start, buf, r->size,
		    DFL_PHASE_VERIFY, done, total)) != 0) {
			free(buf);
			return rc;
		}
		for (uint32_t b = 0; b < r->size; b++) {
			int v = image_byte(tg, r->start + b);

			if (v >= 0 && v != buf[b]) {
				rc = fail(s, DFL_ERR_DEVICE, "verify at "
				    "0x%08x: device holds 0x%02x, the image "
				    "0x%02x", r->start + b, buf[b], v);
				free(buf);
				return rc;
			}
		}
		free(buf);
	}
	return 0;
}

/*
 * DfuSe leave (AN3156, "Leave DFU mode"): address pointer to the start,
 * zero-length DNLOAD, GETSTATUS.  The device answers dfuMANIFEST, or has
 * already reset into the application: both are success.
 */
static int
dfuse_leave(struct dfl_session *s, uint8_t alt, uint32_t address)
{
	struct status st;
	char at[64];
	int rc;

	where(s, at, DFL_PHASE_LEAVE, address);
	progress(s, DFL_PHASE_LEAVE, address, 0, 1);
	if ((rc = select_alt(s, alt)) != 0 ||
	    (rc = set_address(s, address, DFL_PHASE_LEAVE)) != 0)
		return rc;
	s->res.leave_address = address;
	rc = s->t->out(s->t->ctx, DFU_DNLOAD, DFUSE_FIRST_BLOCK, NULL, 0);
	if (rc == DFL_XFER_GONE) {
		s->res.left = s->res.left_vanished = 1;
		progress(s, DFL_PHASE_LEAVE, address, 1, 1);
		return 0;
	}
	if (rc < 0)
		return xfer_fail(s, rc, at, DFU_DNLOAD);
	rc = getstatus(s, &st);
	if (rc < 0) {
		/* Gone, stalled or cut off while resetting: it has left. */
		s->res.left = s->res.left_vanished = 1;
	} else if (st.state == DFU_STATE_ERROR || st.status != DFU_STATUS_OK) {
		return status_fail(s, at, &st);
	} else if (st.state == DFU_STATE_MANIFEST || st.state == DFU_STATE_MANIFEST_SYNC ||
	    st.state == DFU_STATE_MANIFEST_WAIT_RESET) {
		s->res.left = 1;
	} else {
		return fail(s, DFL_ERR_DEVICE, "%s: device answered %s and "
		    "did not leave DFU mode", at, dfu_state_name(st.state));
	}
	progress(s, DFL_PHASE_LEAVE, address, 1, 1);
	return 0;
}

static int
download_dfuse(struct dfl_session *s)
{
	uint64_t total, done;
	int rc;

	if ((rc = plan_dfuse(s)) != 0)
		return rc;
	if (s->o->flags & DFL_PLAN_ONLY)
		return 0;
	if (s->o->flags & DFL_MASS_ERASE) {
		if ((rc = select_alt(s, s->targets[0].alt)) != 0)
			return rc;
		progress(s, DFL_PHASE_ERASE, 0, 0, 1);
		rc = dfuse_command(s, DFUSE_CMD_ERASE, 0, 0,
		    "mass erase", MASS_ERASE_LIMIT_MS);
		if (rc != 0)
			return rc;
		s->res.mass_erased = 1;
		progress(s, DFL_PHASE_ERASE, 0, 1, 1);
	}
	for (size_t t = 0; t < s->ntargets; t++) {
		struct target *tg = &s->targets[t];

		if ((rc = select_alt(s, tg->alt)) != 0)
			return rc;
		total = done = 0;
		for (size_t i = tg->page0; i < tg->page0 + tg->npages; i++)
			if (s->pages[i].flags & DFL_PAGE_ERASE)
				total += s->pages[i].size;
		if ((rc = erase_pages(s, tg, &done, total)) != 0)
			return rc;
		total = done = 0;
		for (size_t w = 0; w < s->nwrites; w++)
			if (s->writes[w].alt == tg->alt)
				total += s->writes[w].size;
		for (size_t w = 0; w < s->nwrites; w++)
			if (s->writes[w].alt == tg->alt) {
				progress(s, DFL_PHASE_WRITE, s->writes[w].start,
				    0, total);
				break;
			}
		for (size_t w = 0; w < s->nwrites; w++) {
			if (s->writes[w].alt != tg->alt)
				continue;
			/* write_range() sets the address pointer first. */
			if ((rc = write_range(s, tg, &s->writes[w], &done,
			    total)) != 0)
				return rc;
		}
		if ((rc = check_keeps(s, tg)) != 0)
			return rc;
		if (s->o->flags & DFL_VERIFY) {
			total = done = 0;
			for (size_t i = 0; i < tg->nruns; i++)
				total += tg->runs[i].size;
			if ((rc = verify_target(s, tg, &done, total)) != 0)
				return rc;
			s->res.verified = 1;
		}
	}
	for (size_t i = 0; i < s->npages; i++)
		if (s->pages[i].flags & DFL_PAGE_UNCHANGED)
			s->res.pages_skipped++;
	if (s->o->flags & DFL_NO_LEAVE)
		return 0;
	return dfuse_leave(s, s->res.leave_alt, s->res.leave_address);
}

static int
download_plain(struct dfl_session *s, const struct dfl_image *img)
{
	const struct dfl_segment *sg = &img->segs[0];
	int tolerant = s->dev->bmAttributes & DFU_ATTR_MANIFESTATION_TOLERANT;
	uint32_t xfer = s->dev->wTransferSize, off = 0;
	uint16_t block = 0;
	struct status st;
	char at[64];
	int rc;

	if (img->nsegs != 1)
		return fail(s, DFL_ERR_PLAN, "a DFU 1.1 device takes one "
		    "payload, the image has %zu", img->nsegs);
	if ((s->o->flags & DFL_VERIFY) && !tolerant)
		return fail(s, DFL_ERR_PLAN, "--verify needs a device that "
		    "can upload after manifestation (bitManifestationTolerant); "
		    "this one waits for a reset");
	if (s->o->flags & (DFL_SKIP_UNCHANGED | DFL_MASS_ERASE))
		return fail(s, DFL_ERR_PLAN, "%s needs a DfuSe device",
		    (s->o->flags & DFL_SKIP_UNCHANGED) ? "--skip-unchanged" :
		    "--mass-erase");
	if (s->o->flags & DFL_PLAN_ONLY)
		return add_write(s, sg->alt, 0, sg->size);
	if ((rc = select_alt(s, sg->alt)) != 0)
		return rc;
	/* DFU 1.1 6.1.1: blocks count from 0 and wrap; any length <= xfer. */
	while (off < sg->size) {
		uint32_t n = sg->size - off < xfer ? sg->size - off : xfer;

		rc = dnload(s, block++, sg->data + off, (uint16_t)n,
		    where(s, at, DFL_PHASE_WRITE, off), BUSY_LIMIT_MS);
		if (rc != 0)
			return rc;
		off += n;
		s->res.bytes_written += n;
		progress(s, DFL_PHASE_WRITE, off, off, sg->size);
	}
	/* Zero-length DNLOAD: manifestation (DFU 1.1 7.1). */
	where(s, at, DFL_PHASE_WRITE, off);
	rc = s->t->out(s->t->ctx, DFU_DNLOAD, block, NULL, 0);
	if (rc < 0)
		return xfer_fail(s, rc, at, DFU_DNLOAD);
	if ((rc = poll_done(s, at, BUSY_LIMIT_MS, &st)) != 0)
		return rc;
	if (s->o->flags & DFL_VERIFY) {
		uint8_t *buf = malloc(sg->size > 0 ? sg->size : 1);
		uint32_t got = 0;

		if (buf == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		if ((rc = plain_read(s, buf, sg->size, &got,
		    DFL_PHASE_VERIFY)) != 0) {
			free(buf);
			return rc;
		}
		for (uint32_t b = 0; b < sg->size; b++) {
			if (b >= got) {
				rc = fail(s, DFL_ERR_DEVICE, "verify at offset "
				    "0x%08x: device sent only %u bytes", b, got);
				break;
			}
			if (buf[b] != sg->data[b]) {
				rc = fail(s, DFL_ERR_DEVICE, "verify at offset "
				    "0x%08x: device holds 0x%02x, the image "
				    "0x%02x", b, buf[b], sg->data[b]);
				break;
			}
		}
		free(buf);
		if (rc != 0)
			return rc;
		s->res.verified = 1;
	}
	if (st.state == DFU_STATE_MANIFEST_WAIT_RESET || !(s->o->flags & DFL_NO_LEAVE)) {
		if (st.state == DFU_STATE_MANIFEST_WAIT_RESET &&
		    (s->o->flags & DFL_NO_LEAVE))
			warn(s, "the device waits for a reset "
			    "(dfuMANIFEST-WAIT-RESET) and is reset anyway");
		progress(s, DFL_PHASE_LEAVE, 0, 0, 1);
		rc = s->t->reset(s->t->ctx);
		if (rc < 0 && rc != DFL_XFER_GONE)
			return xfer_fail(s, rc, "leave", -1);
		s->res.left = 1;
		progress(s, DFL_PHASE_LEAVE, 0, 1, 1);
	}
	return 0;
}

/* A range to preserve that the image writes is a contradiction. */
static int
check_preserve(struct dfl_session *s, const struct dfl_image *img)
{
	for (size_t k = 0; k < s->o->npreserve; k++) {
		const struct dfl_keep *pr = &s->o->preserve[k];

		if (pr->last < pr->first)
			return fail(s, DFL_ERR_USAGE, "--preserve 0x%08x-0x%08x: "
			    "the range ends before it starts", pr->first,
			    pr->last);
		for (size_t i = 0; i < img->nsegs && !img->plain; i++) {
			const struct dfl_segment *sg = &img->segs[i];
			uint64_t last = (uint64_t)sg->address + sg->size - 1;

			if (sg->size > 0 && pr->first <= last &&
			    pr->last >= sg->address)
				return fail(s, DFL_ERR_USAGE, "--preserve "
				    "0x%08x-0x%08x: the image writes "
				    "0x%08x-0x%08llx (alt %u), which overlaps "
				    "it", pr->first, pr->last, sg->address,
				    (unsigned long long)last, sg->alt);
		}
	}
	return 0;
}

int
dfl_download(struct dfl_session *s, const struct dfl_image *img,
    const struct dfl_options *o, struct dfl_result *res)
{
	const struct dfl_device *d = s->dev;
	int rc;

	s->o = o;
	s->err[0] = '\0';
	s->idle_checked = 0;
	targets_free(s);
	memset(&s->res, 0, sizeof(s->res));
	if (img->nsegs == 0 || (img->plain && img->segs[0].size == 0))
		return fail(s, DFL_ERR_PLAN, "the image holds no data");
	if ((rc = check_preserve(s, img)) != 0)
		return rc;
	if ((rc = enter_dfu_mode(s)) != 0)
		return rc;
	if ((img->idVendor != DFU_ID_ANY && img->idVendor != d->idVendor) ||
	    (img->idProduct != DFU_ID_ANY && img->idProduct != d->idProduct)) {
		if (!(o->flags & DFL_IGNORE_ID))
			return fail(s, DFL_ERR_PLAN, "the file is for device "
			    "%04x:%04x, this is %04x:%04x (--ignore-id "
			    "flashes it anyway)", img->idVendor,
			    img->idProduct, d->idVendor, d->idProduct);
		warn(s, "the file is for device %04x:%04x, flashing "
		    "%04x:%04x anyway", img->idVendor, img->idProduct,
		    d->idVendor, d->idProduct);
	}
	if (!(d->bmAttributes & DFU_ATTR_CAN_DNLOAD))
		return fail(s, DFL_ERR_PLAN, "the device cannot download "
		    "(bitCanDnload is 0)");
	if (d->wTransferSize == 0)
		return fail(s, DFL_ERR_PLAN, "the device's wTransferSize is 0");
	if (img->plain && is_dfuse(s))
		return fail(s, DFL_ERR_PLAN, "a plain DFU image has no "
		    "address, and this is a DfuSe device; give one with -D "
		    "file -s address");
	if (!img->plain && !is_dfuse(s))
		return fail(s, DFL_ERR_PLAN, "a DfuSe image needs a DfuSe "
		    "device (bcdDFU 0x011a); this one is DFU %x.%02x",
		    d->bcdDFUVersion >> 8, d->bcdDFUVersion & 0xff);
	if ((o->npreserve > 0 || (o->flags & DFL_PRESERVE_UNCOVERED)) &&
	    (img->plain || (o->flags & DFL_MASS_ERASE)))
		return fail(s, DFL_ERR_PLAN, "%s needs %s",
		    o->npreserve > 0 ? "--preserve" : "--preserve-uncovered",
		    img->plain ? "a DfuSe device (a DFU 1.1 device erases "
		    "what it likes)" : "page erase, not --mass-erase");
	if (!(d->bmAttributes & DFU_ATTR_CAN_UPLOAD) &&
	    (o->flags & (DFL_VERIFY | DFL_SKIP_UNCHANGED)))
		return fail(s, DFL_ERR_PLAN, "%s needs a device that can "
		    "upload (bitCanUpload is 0)", (o->flags & DFL_VERIFY) ?
		    "--verify" : "--skip-unchanged");
	if (img->plain)
		rc = download_plain(s, img);
	else if ((rc = make_targets(s, img)) == 0)
		rc = download_dfuse(s);
	s->res.pages = s->pages;
	s->res.npages = s->npages;
	s->res.writes = s->writes;
	s->res.nwrites = s->nwrites;
	s->res.kept = s->kept;
	s->res.nkept = s->nkeeps;
	if (res != NULL)
		*res = s->res;
	return rc;
}

int
dfl_upload(struct dfl_session *s, uint8_t alt, uint32_t address,
    uint8_t *buf, uint32_t len, uint32_t *got, const struct dfl_options *o)
{
	uint64_t done = 0;
	int rc;

	s->o = o;
	s->err[0] = '\0';
	s->idle_checked = 0;
	*got = 0;
	if ((rc = enter_dfu_mode(s)) != 0)
		return rc;
	if (!(s->dev->bmAttributes & DFU_ATTR_CAN_UPLOAD))
		return fail(s, DFL_ERR_PLAN, "the device cannot upload "
		    "(bitCanUpload is 0)");
	if (find_alt(s->dev, alt) == NULL)
		return fail(s, DFL_ERR_PLAN, "the device has no alternate "
		    "setting %u", alt);
	if ((rc = select_alt(s, alt)) != 0)
		return rc;
	if (!is_dfuse(s))
		return plain_read(s, buf, len, got, DFL_PHASE_UPLOAD);
	if ((rc = dfuse_read(s, address, buf, len, DFL_PHASE_UPLOAD, &done,
	    len)) != 0)
		return rc;
	*got = len;
	return 0;
}

int
dfl_unprotect(struct dfl_session *s, const struct dfl_options *o)
{
	struct status st;
	uint8_t cmd = DFUSE_CMD_READ_UNPROTECT;
	int rc;

	s->o = o;
	s->err[0] = '\0';
	s->idle_checked = 0;
	if ((rc = enter_dfu_mode(s)) != 0)
		return rc;
	if (!is_dfuse(s))
		return fail(s, DFL_ERR_PLAN, "--unprotect needs a DfuSe device");
	if ((rc = select_alt(s, s->dev->nalts > 0 ? s->dev->alts[0].alt : 0))
	    != 0)
		return rc;
	rc = s->t->out(s->t->ctx, DFU_DNLOAD, 0, &cmd, 1);
	if (rc < 0)
		return xfer_fail(s, rc, "unprotect", DFU_DNLOAD);
	/* AN3156: the device erases all of its flash and resets. */
	rc = getstatus(s, &st);
	if (rc == 0 && (st.state == DFU_STATE_ERROR || st.status != DFU_STATUS_OK))
		return status_fail(s, "unprotect", &st);
	return 0;
}
