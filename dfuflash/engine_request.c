/*
 * engine_request.c - the DFU requests of the engine: GETSTATUS, DNLOAD and
 * polling while the device is busy, recovery from dfuERROR, alt selection,
 * entering DFU mode, and reads (DfuSe and plain UPLOAD).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "dfuproto.h"
#include "engine_private.h"

int
eng_getstatus_wait(struct dfl_session *s, struct status *st,
    uint32_t timeout_ms)
{
	uint8_t b[DFU_STATUS_SIZE];
	int rc = s->t->in(s->t->ctx, DFU_GETSTATUS, 0, b, sizeof(b),
	    timeout_ms);

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

int
eng_getstatus(struct dfl_session *s, struct status *st)
{
	return eng_getstatus_wait(s, st, DFL_XFER_TIMEOUT_MS);
}

void
eng_note_status(struct dfl_session *s, const struct status *st)
{
	s->fi.have_status = 1;
	s->fi.state = st->state;
	s->fi.status = st->status;
}

/* Leave dfuERROR so that a retry starts clean; never leave DFU mode. */
static void
recover(struct dfl_session *s, const struct status *st)
{
	if (st->state == DFU_STATE_ERROR)
		(void)s->t->out(s->t->ctx, DFU_CLRSTATUS, 0, NULL, 0);
}

int
eng_status_fail(struct dfl_session *s, const char *at, const struct status *st)
{
	char says[160] = "";

	eng_note_status(s, st);
	/* DFU 1.1 6.1.2: iString, when not 0, describes the error. */
	if (st->istring != 0 && s->t->get_string != NULL) {
		char text[128];

		if (s->t->get_string(s->t->ctx, st->istring, text,
		    sizeof(text)) == 0 && text[0] != '\0') {
			snprintf(says, sizeof(says), "; the device says \"%s\"",
			    text);
			snprintf(s->fi.istring, sizeof(s->fi.istring), "%s",
			    text);
		}
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
int
eng_xfer_fail(struct dfl_session *s, int rc, const char *at, int request)
{
	struct status st;

	s->xfer_rc = rc;
	s->xfer_request = request;
	switch (rc) {
	case DFL_XFER_GONE:
		return fail(s, DFL_ERR_GONE, "%s: device disconnected during "
		    "%s", at, dfu_request_name(request));
	case DFL_XFER_STALL:
		/* A stall puts the device in dfuERROR: ask, then clear. */
		if (eng_getstatus(s, &st) == 0) {
			eng_note_status(s, &st);
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
 * hang the host (the limits are in engine_private.h).
 */
static int
wait_too_long(struct dfl_session *s, const char *at, const struct status *st,
    uint32_t waited, uint32_t limit_ms)
{
	eng_note_status(s, st);
	if (waited == 0)
		return fail(s, DFL_ERR_DEVICE, "%s: device asks to wait %u ms "
		    "(bwPollTimeout) in %s, longer than the %u ms this step "
		    "may take", at, st->poll_ms, dfu_state_name(st->state),
		    limit_ms);
	return fail(s, DFL_ERR_DEVICE, "%s: device asks to wait %u ms more "
	    "(bwPollTimeout) in %s after %u ms; this step may take %u ms",
	    at, st->poll_ms, dfu_state_name(st->state), waited, limit_ms);
}

/* poll_status() found the device still in dfuDNBUSY at the end. */
#define POLL_STUCK 1

/*
 * GETSTATUS until the device is no longer busy, waiting bwPollTimeout
 * between polls (DFU 1.1 6.1.2), at most limit_ms in all.  A zero
 * bwPollTimeout is honoured once; if the device is still busy the waits
 * grow to ZERO_POLL_MAX_MS.
 *
 * Each GETSTATUS may take what is left of limit_ms (at least
 * DFL_XFER_TIMEOUT_MS): the STM32 F4/F7/H7 ROMs answer dfuDNBUSY with a
 * short bwPollTimeout and then hold the next answer until the erase is
 * done (the F405 asks for 100 ms before a mass erase of up to 32 s;
 * dfu-util src/dfuse.c, fwupd/fwupd#6249, #1944).  Once the device has
 * said it is busy, a GETSTATUS that times out means it is still busy
 * when the time is up, and one that is stalled means "still busy": the
 * STM32L4 ROM stalls a GETSTATUS sent before its page erase ends and
 * stays in dfuDNBUSY (dfu-util's workaround, src/dfuse.c;
 * redbear/Duo#50).  A device that enters dfuERROR on that stall, as
 * DFU 1.1 A.2.5 says, answers the next GETSTATUS with errSTALLEDPKT,
 * which fails as any error status does.
 *
 * With stuck set, a device still in dfuDNBUSY when limit_ms has passed
 * is not an error here: POLL_STUCK is returned, with the time waited in
 * *waited_out, for eng_erase_page() to recover.
 */
static int
poll_status(struct dfl_session *s, const char *at, uint32_t limit_ms,
    int stuck, struct status *st, uint32_t *waited_out)
{
	uint32_t waited = 0, ms, backoff = 0, timeout;
	unsigned stalls = 0;
	int busy = 0, rc;

	for (;;) {
		timeout = waited < limit_ms ? limit_ms - waited : 0;
		if (timeout < DFL_XFER_TIMEOUT_MS)
			timeout = DFL_XFER_TIMEOUT_MS;
		rc = eng_getstatus_wait(s, st, timeout);
		if (busy && rc == DFL_XFER_TIMEOUT)
			/* It held the answer for all the time that was left. */
			return fail(s, DFL_ERR_DEVICE, "%s: device still busy "
			    "(%s) after %u ms: no answer to GETSTATUS within "
			    "%u ms", at, dfu_state_name(st->state),
			    waited + timeout, timeout);
		if (busy && rc == DFL_XFER_STALL && stalls < BUSY_STALL_MAX &&
		    waited < limit_ms) {
			stalls++;
			ms = st->poll_ms > 0 ? st->poll_ms : ZERO_POLL_MAX_MS;
			if (ms > limit_ms - waited)
				ms = limit_ms - waited;
			s->t->sleep_ms(s->t->ctx, ms);
			waited += ms;
			continue;
		}
		if (rc < 0)
			return eng_xfer_fail(s, rc, at, DFU_GETSTATUS);
		stalls = 0;
		if (st->state == DFU_STATE_ERROR || st->status != DFU_STATUS_OK)
			return eng_status_fail(s, at, st);
		if (!busy_state(st->state))
			return 0;
		busy = 1;
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
		if (waited >= limit_ms) {
			if (stuck && st->state == DFU_STATE_DNBUSY) {
				*waited_out = waited;
				return POLL_STUCK;
			}
			return fail(s, DFL_ERR_DEVICE, "%s: device still busy "
			    "(%s) after %u ms", at, dfu_state_name(st->state),
			    waited);
		}
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

int
eng_poll_done(struct dfl_session *s, const char *at, uint32_t limit_ms,
    struct status *st)
{
	return poll_status(s, at, limit_ms, 0, st, NULL);
}

/* DNLOAD, then poll until dfuDNLOAD-IDLE (or POLL_STUCK, with stuck). */
static int
dnload_poll(struct dfl_session *s, uint16_t block, const uint8_t *data,
    uint16_t len, const char *at, uint32_t limit_ms, int stuck,
    uint32_t *waited)
{
	/* Filled by poll_status() when it returns 0; set here because
	 * clang's analyzer cannot tell that eng_xfer_fail() never does. */
	struct status st = { 0 };
	int rc;

	/* Every DNLOAD with data but DfuSe's SET_ADDRESS changes the
	 * device's memory: a write, an erase, read unprotect. */
	if (len > 0 && !(is_dfuse(s) && block == 0 &&
	    data[0] == DFUSE_CMD_SET_ADDRESS))
		s->fi.changed = 1;
	rc = s->t->out(s->t->ctx, DFU_DNLOAD, block, data, len);
	if (rc < 0)
		return eng_xfer_fail(s, rc, at, DFU_DNLOAD);
	if (rc != len)
		return fail(s, DFL_ERR_DEVICE, "%s: device took %d of %u "
		    "bytes", at, rc, len);
	if ((rc = poll_status(s, at, limit_ms, stuck, &st, waited)) != 0)
		return rc;
	if (st.state != DFU_STATE_DNLOAD_IDLE)
		return fail(s, DFL_ERR_DEVICE, "%s: device in state %s after "
		    "DNLOAD, expected dfuDNLOAD-IDLE", at,
		    dfu_state_name(st.state));
	return 0;
}

int
eng_dnload(struct dfl_session *s, uint16_t block, const uint8_t *data,
    uint16_t len, const char *at, uint32_t limit_ms)
{
	return dnload_poll(s, block, data, len, at, limit_ms, 0, NULL);
}

int
eng_dfuse_command(struct dfl_session *s, uint8_t cmd, int with_address,
    uint32_t address, const char *at, uint32_t limit_ms)
{
	uint8_t b[5] = { cmd, (uint8_t)address, (uint8_t)(address >> 8),
		(uint8_t)(address >> 16), (uint8_t)(address >> 24) };

	return eng_dnload(s, 0, b, with_address ? 5 : 1, at, limit_ms);
}

int
eng_set_address(struct dfl_session *s, uint32_t address, enum dfl_phase phase)
{
	char at[64];

	return eng_dfuse_command(s, DFUSE_CMD_SET_ADDRESS, 1, address,
	    where(s, at, phase, address), BUSY_LIMIT_MS);
}

/*
 * A page erase left the device in dfuDNBUSY past its limit.  The STM32H743
 * rev V ROM does so after erasing a sector of its second bank, and only
 * a CLRSTATUS gets it out: the first takes it to dfuERROR with
 * errUNKNOWN, the second to dfuIDLE; STM32CubeProgrammer then takes the
 * erase as done (betaflight/betaflight-configurator#1861, #1972, #5348;
 * sourcebox/dfu-buddy#3).  Since nothing says the erase happened, the
 * page is read back: it must hold 0xff throughout.  A device that stalls
 * the CLRSTATUS (DFU 1.1 A.2.5: CLRSTATUS is for dfuERROR only) is
 * really still busy, and that is the error.
 */
static int
recover_stuck(struct dfl_session *s, uint32_t start, uint32_t size,
    const char *at, uint32_t waited)
{
	struct status st = { .state = DFU_STATE_DNBUSY };
	uint64_t done = 0;
	uint8_t *buf;
	int rc;

	for (int i = 0; i < 2 && st.state != DFU_STATE_IDLE; i++) {
		rc = s->t->out(s->t->ctx, DFU_CLRSTATUS, 0, NULL, 0);
		if (rc == DFL_XFER_STALL) {
			if (eng_getstatus(s, &st) == 0)
				recover(s, &st);
			return fail(s, DFL_ERR_DEVICE, "%s: device still busy "
			    "(dfuDNBUSY) after %u ms", at, waited);
		}
		if (rc < 0)
			return eng_xfer_fail(s, rc, at, DFU_CLRSTATUS);
		if ((rc = eng_getstatus(s, &st)) < 0)
			return eng_xfer_fail(s, rc, at, DFU_GETSTATUS);
	}
	if (st.state != DFU_STATE_IDLE) {
		recover(s, &st);
		return fail(s, DFL_ERR_DEVICE, "%s: device stayed in dfuDNBUSY "
		    "for %u ms, and is in %s after two CLRSTATUS", at, waited,
		    dfu_state_name(st.state));
	}
	warn(s, "%s: device stayed in dfuDNBUSY for %u ms; cleared it with "
	    "CLRSTATUS, reading the page back to check the erase", at,
	    waited);
	if ((buf = malloc(size)) == NULL)
		return fail(s, DFL_ERR_NOMEM, "out of memory");
	rc = eng_dfuse_read(s, start, buf, size, DFL_PHASE_CHECK, &done, size);
	for (uint32_t i = 0; rc == 0 && i < size; i++)
		if (buf[i] != ERASED)
			rc = fail(s, DFL_ERR_DEVICE, "%s: device stayed in "
			    "dfuDNBUSY and did not erase the page: 0x%08x "
			    "holds 0x%02x", at, start + i, buf[i]);
	free(buf);
	return rc;
}

int
eng_erase_page(struct dfl_session *s, uint32_t start, uint32_t size,
    const char *at)
{
	uint8_t b[5] = { DFUSE_CMD_ERASE, (uint8_t)start,
		(uint8_t)(start >> 8), (uint8_t)(start >> 16),
		(uint8_t)(start >> 24) };
	uint64_t worst = (uint64_t)(size / 1024) * ERASE_MS_PER_KIB;
	uint32_t limit = BUSY_LIMIT_MS, waited = 0;
	int rc;

	/* No page takes longer than the whole flash (a layout may lie). */
	if (worst > limit)
		limit = worst < MASS_ERASE_LIMIT_MS ? (uint32_t)worst :
		    MASS_ERASE_LIMIT_MS;
	rc = dnload_poll(s, 0, b, sizeof(b), at, limit, 1, &waited);
	if (rc == POLL_STUCK)
		return recover_stuck(s, start, size, at, waited);
	return rc;
}

/* From dfuDNLOAD-IDLE or dfuUPLOAD-IDLE back to dfuIDLE. */
static int
abort_to_idle(struct dfl_session *s, const char *at)
{
	int rc = s->t->out(s->t->ctx, DFU_ABORT, 0, NULL, 0);

	return rc < 0 ? eng_xfer_fail(s, rc, at, DFU_ABORT) : 0;
}

/*
 * Select an alt setting and make sure the device is in dfuIDLE, from
 * whatever state an earlier session left it in (DFU 1.1 A.2: CLRSTATUS
 * leaves dfuERROR, ABORT the idle states of a transfer).
 */
int
eng_select_alt(struct dfl_session *s, uint8_t alt)
{
	struct status st;
	char at[64];
	int rc;

	snprintf(at, sizeof(at), "setup of alt %u", alt);
	if (s->alt != alt) {
		if ((rc = s->t->set_alt(s->t->ctx, alt)) < 0)
			return eng_xfer_fail(s, rc, at, -1);
		s->alt = alt;
	}
	if (s->idle_checked)
		return 0;
	if ((rc = eng_getstatus(s, &st)) < 0)
		return eng_xfer_fail(s, rc, at, DFU_GETSTATUS);
	if (st.state == DFU_STATE_APP_IDLE || st.state == DFU_STATE_APP_DETACH)
		return fail(s, DFL_ERR_DEVICE, "%s: device is in run-time "
		    "mode (%s); switching it to DFU mode is not supported "
		    "yet", at, dfu_state_name(st.state));
	if (st.state != DFU_STATE_IDLE) {
		int req = st.state == DFU_STATE_ERROR ? DFU_CLRSTATUS : DFU_ABORT;

		if ((rc = s->t->out(s->t->ctx, (uint8_t)req, 0, NULL, 0)) < 0)
			return eng_xfer_fail(s, rc, at, req);
		if ((rc = eng_getstatus(s, &st)) < 0)
			return eng_xfer_fail(s, rc, at, DFU_GETSTATUS);
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
 *
 * Its state is asked first, as dfu-util does: a run-time interface can be
 * in DFU mode already.  NXP's LPC43xx ROM bootloader (HackRF, Airspy,
 * 1fc9:000c) enumerates with bInterfaceProtocol 1 but answers dfuIDLE and
 * takes a download; DETACH it stalls, and after a reset it comes back
 * the same, so detaching it could only fail (dfu-util 0.7 on it: "WARNING:
 * Runtime device already in DFU state ?!?", then a normal download;
 * sharebrained/portapack-hackrf#47).  Such an interface is used as it is.
 * One that stalls GETSTATUS is taken to be in appIDLE, as dfu-util does.
 */
int
eng_enter_dfu_mode(struct dfl_session *s)
{
	uint32_t ms = s->dev->wDetachTimeOut;
	struct status st;
	int rc;

	if (s->dev->bInterfaceProtocol != DFL_PROTOCOL_RUNTIME ||
	    s->runtime_in_dfu)
		return 0;
	rc = eng_getstatus(s, &st);
	if (rc == DFL_XFER_STALL)
		st.state = DFU_STATE_APP_IDLE;
	else if (rc < 0)
		return eng_xfer_fail(s, rc, "run-time mode", DFU_GETSTATUS);
	if (st.state != DFU_STATE_APP_IDLE && st.state != DFU_STATE_APP_DETACH) {
		warn(s, "the device describes itself as in run-time mode but "
		    "reports %s, a state of DFU mode: used as it is, without "
		    "DETACH", dfu_state_name(st.state));
		s->runtime_in_dfu = 1;
		s->idle_checked = 0;
		return 0;
	}
	if (s->t->reenumerate == NULL)
		return fail(s, DFL_ERR_PLAN, "the device is in run-time mode, "
		    "and this transport cannot find it again in DFU mode");
	progress(s, DFL_PHASE_SETUP, 0, 0, 1);
	rc = s->t->out(s->t->ctx, DFU_DETACH, (uint16_t)ms, NULL, 0);
	if (rc < 0 && rc != DFL_XFER_GONE)
		return eng_xfer_fail(s, rc, "detach", DFU_DETACH);
	if (!(s->dev->bmAttributes & DFU_ATTR_WILL_DETACH) &&
	    (rc = s->t->reset(s->t->ctx)) < 0 && rc != DFL_XFER_GONE)
		return eng_xfer_fail(s, rc, "detach", -1);
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
int
eng_dfuse_read(struct dfl_session *s, uint32_t address, uint8_t *buf,
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
			if ((rc = eng_set_address(s, cur, phase)) != 0 ||
			    (rc = abort_to_idle(s, at)) != 0)
				return rc;
			block = DFUSE_FIRST_BLOCK;
		}
		rc = s->t->in(s->t->ctx, DFU_UPLOAD, (uint16_t)block,
		    buf + off, (uint16_t)n, DFL_XFER_TIMEOUT_MS);
		if (rc < 0)
			return eng_xfer_fail(s, rc, at, DFU_UPLOAD);
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
int
eng_plain_read(struct dfl_session *s, uint8_t *buf, uint32_t len, uint32_t *got,
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
		    (uint16_t)n, DFL_XFER_TIMEOUT_MS);
		if (rc < 0)
			return eng_xfer_fail(s, rc, where(s, at, phase, off),
			    DFU_UPLOAD);
		off += (uint32_t)rc;
		progress(s, phase, off, off, len);
		if ((uint32_t)rc < n)
			break;
	}
	*got = off;
	return 0;
}
