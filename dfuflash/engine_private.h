/*
 * engine_private.h - what the files of dfuflash's engine share, and
 * nothing else includes: the session, its targets, and the helpers each
 * part calls in another.  engine.h is the engine's contract; this header
 * is not.
 *
 * The engine is split along its seams:
 *   engine.c           the session handle, its error message, phase names
 *   engine_image.c     images (struct dfl_image) from a file or raw bytes
 *   engine_request.c   DFU requests: GETSTATUS, DNLOAD and polling,
 *                      recovery, alt selection, entering DFU mode, reads
 *   engine_plan.c      the plan of a DfuSe download: targets, runs,
 *                      pages, --skip-unchanged, where to leave, writes
 *   engine_preserve.c  kept bytes: --preserve and --preserve-uncovered
 *   engine_download.c  download, upload, leave, unprotect (engine.h's
 *                      entry points)
 *
 * Names: the public API is dfl_*; the functions one file of the engine
 * calls in another are eng_*; the macros, structs and static inline
 * helpers below keep their short names, and none of them leaves the
 * engine.
 */
#ifndef DFUFLASH_ENGINE_PRIVATE_H
#define DFUFLASH_ENGINE_PRIVATE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dfufile.h"
#include "dfulayout.h"
#include "dfuplan.h"
#include "engine.h"

/*
 * How long a device may stay busy on one request before the engine gives
 * up (the step's budget).  Every GETSTATUS of a step may take what is
 * left of it (never less than DFL_XFER_TIMEOUT_MS), since the STM32
 * F4/F7/H7 ROMs do not answer the GETSTATUS after an erase until the
 * erase is done.
 *
 * The worst cases come from the STM32F405 (DS8626 rev 9, table "Flash
 * memory programming", maximum values at x8 parallelism, the slowest):
 * sector erase 16 KiB 800 ms, 64 KiB 2.4 s, 128 KiB 4 s; mass erase 32 s
 * (dfu-util waits 35 s for one: "Datasheet says up to 32 seconds",
 * src/dfuse.c).  ERASE_MS_PER_KIB is the slowest of those rates (16 KiB
 * in 800 ms), applied to pages of any size: a page erase may take
 * max(BUSY_LIMIT_MS, its size x ERASE_MS_PER_KIB), and never more than
 * MASS_ERASE_LIMIT_MS.
 */
#define BUSY_LIMIT_MS 10000u
#define ERASE_MS_PER_KIB 50u
#define MASS_ERASE_LIMIT_MS 40000u
/*
 * Consecutive stalled GETSTATUS answers taken as "still busy" while the
 * device is busy (the STM32L4 ROM stalls the GETSTATUS that comes before
 * its page erase ends; dfu-util takes at most 3, src/dfuse.c).  Each is
 * followed by a wait of the last bwPollTimeout, within the budget.
 */
#define BUSY_STALL_MAX 8u
/* How long a detached device may take to come back, past wDetachTimeOut. */
#define REENUMERATE_MS 5000u
/* A device that answers bwPollTimeout 0 but stays busy: back off to this. */
#define ZERO_POLL_MAX_MS 64u
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
	int options; /* option bytes: the device resets once they are
			written (engine.h) */
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
	int runtime_in_dfu; /* a run-time interface that answered a DFU-mode
			       state: used as it is (eng_enter_dfu_mode) */
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
	/* Writes in erasable regions are widened to whole aligned units of
	 * this many bytes (dfl_quirk_write_unit()). */
	uint32_t unit;
	/* Layout strings the quirk table corrected, by alt (NULL: as
	 * reported); eng_layout_name(). */
	char *layout_names[256];
	/* The transfer error and request eng_xfer_fail() last reported. */
	int xfer_rc, xfer_request;
	struct dfl_failure fi; /* dfl_failure() */
	struct dfl_result res;
};

/* ---- engine.c: the session -------------------------------------------- */

/* A call begins: no failure yet, in phase (dfl_failure()). */
void eng_failure_reset(struct dfl_session *s, enum dfl_phase phase);
/* Free the plan of the last download (targets, pages, writes, keeps). */
void eng_targets_free(struct dfl_session *s);

/*
 * Helpers every part calls, kept static inline here so that their short
 * names (fail, warn, ...) never become symbols of the program (warn(3)).
 * fail() keeps the message on the session (dfl_errmsg()) and returns err;
 * warn() and progress() go to the options' callbacks, if any.
 */
static inline int __attribute__((format(printf, 3, 4)))
fail(struct dfl_session *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return err;
}

static inline void __attribute__((format(printf, 2, 3)))
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

static inline void
progress(struct dfl_session *s, enum dfl_phase phase, uint32_t address,
    uint64_t done, uint64_t total)
{
	struct dfl_event ev;

	s->fi.have_phase = s->fi.have_address = 1;
	s->fi.phase = phase;
	s->fi.address = address;
	if (s->o == NULL || s->o->progress == NULL)
		return;
	ev.phase = phase;
	ev.address = address;
	ev.done = done;
	ev.total = total;
	s->o->progress(s->o->cb_ctx, &ev);
}

static inline int
is_dfuse(const struct dfl_session *s)
{
	return s->dev->bcdDFUVersion == DFU_BCD_DFUSE;
}

/* "erase at 0x08004000", or "write at offset 0x800" on a plain device;
 * the request it names is the one under way (dfl_failure()). */
static inline const char *
where(struct dfl_session *s, char buf[64], enum dfl_phase phase,
    uint32_t address)
{
	s->fi.have_phase = s->fi.have_address = 1;
	s->fi.phase = phase;
	s->fi.address = address;
	snprintf(buf, 64, "%s at %s0x%08x", dfl_phase_name(phase),
	    is_dfuse(s) ? "" : "offset ", address);
	return buf;
}

/* ---- engine_request.c: DFU requests ------------------------------------ */

/* GETSTATUS: 0, or a negative DFL_XFER_* code. */
int eng_getstatus(struct dfl_session *s, struct status *st);
/* The same, waiting up to timeout_ms for the answer. */
int eng_getstatus_wait(struct dfl_session *s, struct status *st,
    uint32_t timeout_ms);
/* Keep the state and status of st for dfl_failure(). */
void eng_note_status(struct dfl_session *s, const struct status *st);
/* The device reported an error status or state: say so, clear dfuERROR. */
int eng_status_fail(struct dfl_session *s, const char *at,
    const struct status *st);
/* A request failed at the USB level (rc, a DFL_XFER_* code). */
int eng_xfer_fail(struct dfl_session *s, int rc, const char *at,
    int request);
/* GETSTATUS until the device is no longer busy, at most limit_ms. */
int eng_poll_done(struct dfl_session *s, const char *at, uint32_t limit_ms,
    struct status *st);
/* DNLOAD, then poll until dfuDNLOAD-IDLE. */
int eng_dnload(struct dfl_session *s, uint16_t block, const uint8_t *data,
    uint16_t len, const char *at, uint32_t limit_ms);
/* A DfuSe command (DNLOAD block 0), with an address or without. */
int eng_dfuse_command(struct dfl_session *s, uint8_t cmd, int with_address,
    uint32_t address, const char *at, uint32_t limit_ms);
/* DfuSe page erase of [start, start + size), recovering a stuck device. */
int eng_erase_page(struct dfl_session *s, uint32_t start, uint32_t size,
    const char *at);
/* DfuSe SET_ADDRESS. */
int eng_set_address(struct dfl_session *s, uint32_t address,
    enum dfl_phase phase);
/* Select an alt setting, with the device in dfuIDLE. */
int eng_select_alt(struct dfl_session *s, uint8_t alt);
/* A device in run-time mode: DETACH, reset, find it again in DFU mode. */
int eng_enter_dfu_mode(struct dfl_session *s);
/* DfuSe: read len bytes from address into buf. */
int eng_dfuse_read(struct dfl_session *s, uint32_t address, uint8_t *buf,
    uint32_t len, enum dfl_phase phase, uint64_t *done, uint64_t total);
/* Plain DFU: UPLOAD from block 0 until len bytes or a short block. */
int eng_plain_read(struct dfl_session *s, uint8_t *buf, uint32_t len,
    uint32_t *got, enum dfl_phase phase);

/* ---- engine_plan.c: the plan ------------------------------------------- */

/* The device's alt setting alt, or NULL. */
const struct dfl_alt *eng_find_alt(const struct dfl_device *dev, uint8_t alt);
/* The image's segments grouped by alt into s->targets (the planner). */
int eng_make_targets(struct dfl_session *s, const struct dfl_image *img);
/* Can writes in region r be widened to units of unit bytes? */
int eng_unit_aligned(const struct dfu_layout_region *r, uint32_t unit);
/*
 * The memory layout of alt a into *name: its iInterface string, or the
 * string the quirk table (quirks.h) puts in its place, said once by
 * warn().  0, or fail()'s code when the table says it cannot be known.
 */
int eng_layout_name(struct dfl_session *s, const struct dfl_alt *a,
    const char **name);
/* The image byte at addr in tg's alt, or -1 if no segment holds it. */
int eng_image_byte(const struct target *tg, uint32_t addr);
/* Add [start, start + size) of alt to the writes of the plan. */
int eng_add_write(struct dfl_session *s, uint8_t alt, uint32_t start,
    uint32_t size);
/* The whole DfuSe plan, checked, before anything is erased. */
int eng_plan_dfuse(struct dfl_session *s);

/* ---- engine_preserve.c: kept bytes ------------------------------------- */

/* The bytes of tg's erased pages to keep: found, read, folded into runs. */
int eng_plan_keeps(struct dfl_session *s, struct target *tg);
/* After writing: every kept byte of tg's alt holds what it held. */
int eng_check_keeps(struct dfl_session *s, const struct target *tg);
/* A range to preserve that the image writes is a contradiction. */
int eng_check_preserve(struct dfl_session *s, const struct dfl_image *img);

#endif
