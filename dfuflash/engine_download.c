/*
 * engine_download.c - the engine's entry points (engine.h): download (DfuSe
 * and plain DFU 1.1: erase, write, verify, leave), upload and unprotect.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "dfuproto.h"
#include "engine_private.h"

/*
 * A device that resets during a request may fail it (and the next) with
 * a stall or an I/O error before the host sees it leave the bus: it is
 * asked GONE_PROBES times, GONE_PROBE_MS apart, before it is taken to be
 * there.
 */
#define GONE_PROBES 5u
#define GONE_PROBE_MS 100u

/*
 * After a request failed at the USB level: is the device gone?  An
 * answer, or a stall (a device that answers), says it is there.
 */
static int
device_gone(struct dfl_session *s)
{
	struct status st;

	for (unsigned i = 0; i < GONE_PROBES; i++) {
		int rc = eng_getstatus(s, &st);

		if (rc == DFL_XFER_GONE)
			return 1;
		if (rc == 0 || rc == DFL_XFER_STALL)
			return 0;
		s->t->sleep_ms(s->t->ctx, GONE_PROBE_MS);
	}
	return 0;
}

/*
 * A request sent and acknowledged (the DNLOAD), then a GETSTATUS that
 * failed because the device left the bus: rc is what the poll returned.
 */
static int
gone_after_ack(struct dfl_session *s, int rc)
{
	if (rc == 0 || s->xfer_rc == 0 || s->xfer_request != DFU_GETSTATUS)
		return 0;
	return s->xfer_rc == DFL_XFER_GONE || device_gone(s);
}

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
		rc = eng_erase_page(s, p->start, p->size,
		    where(s, at, DFL_PHASE_ERASE, p->start));
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
			rc = eng_set_address(s, cur, DFL_PHASE_WRITE);
			if (rc != 0)
				return rc;
			block = DFUSE_FIRST_BLOCK;
		}
		s->xfer_rc = 0;
		rc = eng_dnload(s, (uint16_t)block, data + off, (uint16_t)n,
		    where(s, at, DFL_PHASE_WRITE, cur), BUSY_LIMIT_MS);
		if (rc != 0 && tg->options && gone_after_ack(s, rc)) {
			/* The reset that loads them (engine.h). */
			s->err[0] = '\0';
			s->res.options_reset = 1;
			s->res.options_alt = tg->alt;
			s->res.bytes_written += n;
			progress(s, DFL_PHASE_WRITE, cur, *done + n, total);
			return 0;
		}
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
		if ((rc = eng_dfuse_read(s, r->start, buf, r->size,
		    DFL_PHASE_VERIFY, done, total)) != 0) {
			free(buf);
			return rc;
		}
		for (uint32_t b = 0; b < r->size; b++) {
			int v = eng_image_byte(tg, r->start + b);

			if (v >= 0 && v != buf[b]) {
				s->fi.mismatch = 1;
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
	if ((rc = eng_select_alt(s, alt)) != 0 ||
	    (rc = eng_set_address(s, address, DFL_PHASE_LEAVE)) != 0)
		return rc;
	s->res.leave_address = address;
	rc = s->t->out(s->t->ctx, DFU_DNLOAD, DFUSE_FIRST_BLOCK, NULL, 0);
	if (rc == DFL_XFER_GONE || ((rc == DFL_XFER_STALL ||
	    rc == DFL_XFER_IO) && device_gone(s))) {
		/* It reset during the request (engine.h). */
		s->res.left = s->res.left_vanished = 1;
		s->res.leave_failed = rc != DFL_XFER_GONE;
		progress(s, DFL_PHASE_LEAVE, address, 1, 1);
		return 0;
	}
	if (rc < 0)
		return eng_xfer_fail(s, rc, at, DFU_DNLOAD);
	rc = eng_getstatus(s, &st);
	if (rc < 0) {
		/* Gone, stalled or cut off while resetting: it has left. */
		s->res.left = s->res.left_vanished = 1;
	} else if (st.state == DFU_STATE_ERROR || st.status != DFU_STATUS_OK) {
		return eng_status_fail(s, at, &st);
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

	if ((rc = eng_plan_dfuse(s)) != 0)
		return rc;
	if (s->o->flags & DFL_PLAN_ONLY)
		return 0;
	if (s->o->flags & DFL_MASS_ERASE) {
		if ((rc = eng_select_alt(s, s->targets[0].alt)) != 0)
			return rc;
		progress(s, DFL_PHASE_ERASE, 0, 0, 1);
		rc = eng_dfuse_command(s, DFUSE_CMD_ERASE, 0, 0,
		    "mass erase", MASS_ERASE_LIMIT_MS);
		if (rc != 0)
			return rc;
		s->res.mass_erased = 1;
		progress(s, DFL_PHASE_ERASE, 0, 1, 1);
	}
	for (size_t t = 0; t < s->ntargets; t++) {
		struct target *tg = &s->targets[t];

		if ((rc = eng_select_alt(s, tg->alt)) != 0)
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
			if (s->res.options_reset)
				break;
		}
		/* The option bytes are last: nothing to verify or leave. */
		if (s->res.options_reset)
			break;
		if ((rc = eng_check_keeps(s, tg)) != 0)
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
	if ((s->o->flags & DFL_NO_LEAVE) || s->res.options_reset)
		return 0;
	return dfuse_leave(s, s->res.leave_alt, s->res.leave_address);
}

/*
 * The whole download was acknowledged and the device left the bus during
 * manifestation (or in the request that starts it): it runs its new
 * firmware, which is what the reset would have done (engine.h).
 */
static int
plain_vanished(struct dfl_session *s, int request_failed)
{
	s->err[0] = '\0';
	s->res.left = s->res.left_vanished = 1;
	s->res.leave_failed = request_failed;
	if (s->o->flags & DFL_VERIFY)
		warn(s, "not verified: the device left the bus during "
		    "manifestation, before it could be read back");
	progress(s, DFL_PHASE_LEAVE, 0, 1, 1);
	return 0;
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
		return eng_add_write(s, sg->alt, 0, sg->size);
	if ((rc = eng_select_alt(s, sg->alt)) != 0)
		return rc;
	/* DFU 1.1 6.1.1: blocks count from 0 and wrap; any length <= xfer. */
	while (off < sg->size) {
		uint32_t n = sg->size - off < xfer ? sg->size - off : xfer;

		rc = eng_dnload(s, block++, sg->data + off, (uint16_t)n,
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
	if (rc == DFL_XFER_GONE || ((rc == DFL_XFER_STALL ||
	    rc == DFL_XFER_IO) && device_gone(s)))
		return plain_vanished(s, rc != DFL_XFER_GONE);
	if (rc < 0)
		return eng_xfer_fail(s, rc, at, DFU_DNLOAD);
	s->xfer_rc = 0;
	rc = eng_poll_done(s, at, BUSY_LIMIT_MS, &st);
	if (gone_after_ack(s, rc))
		return plain_vanished(s, 0);
	if (rc != 0)
		return rc;
	if (s->o->flags & DFL_VERIFY) {
		uint8_t *buf = malloc(sg->size > 0 ? sg->size : 1);
		uint32_t got = 0;

		if (buf == NULL)
			return fail(s, DFL_ERR_NOMEM, "out of memory");
		if ((rc = eng_plain_read(s, buf, sg->size, &got,
		    DFL_PHASE_VERIFY)) != 0) {
			free(buf);
			return rc;
		}
		for (uint32_t b = 0; b < sg->size; b++) {
			if (b >= got) {
				s->fi.mismatch = 1;
				rc = fail(s, DFL_ERR_DEVICE, "verify at offset "
				    "0x%08x: device sent only %u bytes", b, got);
				break;
			}
			if (buf[b] != sg->data[b]) {
				s->fi.mismatch = 1;
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
			return eng_xfer_fail(s, rc, "leave", -1);
		s->res.left = 1;
		progress(s, DFL_PHASE_LEAVE, 0, 1, 1);
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
	eng_failure_reset(s, DFL_PHASE_SETUP);
	s->idle_checked = 0;
	eng_targets_free(s);
	memset(&s->res, 0, sizeof(s->res));
	if (img->nsegs == 0 || (img->plain && img->segs[0].size == 0))
		return fail(s, DFL_ERR_PLAN, "the image holds no data");
	if ((rc = eng_check_preserve(s, img)) != 0)
		return rc;
	if ((rc = eng_enter_dfu_mode(s)) != 0)
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
	else if ((rc = eng_make_targets(s, img)) == 0)
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
	eng_failure_reset(s, DFL_PHASE_UPLOAD);
	s->idle_checked = 0;
	*got = 0;
	if ((rc = eng_enter_dfu_mode(s)) != 0)
		return rc;
	if (!(s->dev->bmAttributes & DFU_ATTR_CAN_UPLOAD))
		return fail(s, DFL_ERR_PLAN, "the device cannot upload "
		    "(bitCanUpload is 0)");
	if (eng_find_alt(s->dev, alt) == NULL)
		return fail(s, DFL_ERR_PLAN, "the device has no alternate "
		    "setting %u", alt);
	if ((rc = eng_select_alt(s, alt)) != 0)
		return rc;
	if (!is_dfuse(s))
		return eng_plain_read(s, buf, len, got, DFL_PHASE_UPLOAD);
	if ((rc = eng_dfuse_read(s, address, buf, len, DFL_PHASE_UPLOAD, &done,
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
	eng_failure_reset(s, DFL_PHASE_SETUP);
	s->idle_checked = 0;
	if ((rc = eng_enter_dfu_mode(s)) != 0)
		return rc;
	if (!is_dfuse(s))
		return fail(s, DFL_ERR_PLAN, "--unprotect needs a DfuSe device");
	if ((rc = eng_select_alt(s, s->dev->nalts > 0 ?
	    s->dev->alts[0].alt : 0)) != 0)
		return rc;
	rc = s->t->out(s->t->ctx, DFU_DNLOAD, 0, &cmd, 1);
	if (rc < 0)
		return eng_xfer_fail(s, rc, "unprotect", DFU_DNLOAD);
	/* AN3156: the device erases all of its flash and resets. */
	rc = eng_getstatus(s, &st);
	if (rc == 0 && (st.state == DFU_STATE_ERROR || st.status != DFU_STATUS_OK))
		return eng_status_fail(s, "unprotect", &st);
	return 0;
}

int
dfl_detach(struct dfl_session *s, const struct dfl_options *o)
{
	int rc;

	s->o = o;
	s->err[0] = '\0';
	if (s->dev->bInterfaceProtocol != DFL_PROTOCOL_RUNTIME)
		return 1;
	rc = eng_enter_dfu_mode(s);
	return rc == 0 && s->runtime_in_dfu ? 1 : rc;
}

int
dfl_reset(struct dfl_session *s)
{
	int rc;

	s->err[0] = '\0';
	rc = s->t->reset(s->t->ctx);
	if (rc < 0 && rc != DFL_XFER_GONE)
		return eng_xfer_fail(s, rc, "USB reset", -1);
	return 0;
}
