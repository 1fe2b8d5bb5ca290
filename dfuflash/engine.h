/*
 * engine.h - the DFU 1.1 / DfuSe programming engine of dfuflash.
 *
 * The engine plans a download from a firmware image and the device's
 * descriptors, checks the whole plan before it sends anything, then
 * erases, writes, verifies and leaves through a struct dfl_transport.
 * It never prints: errors are kept on the session (dfl_errmsg()),
 * progress and warnings go to callbacks.
 *
 * DfuSe (bcdDFUVersion 0x011a) sessions:
 *   - each target of the image goes to its own alternate setting, whose
 *     iInterface string is the memory layout (dfulayout.h);
 *   - segments of one alt that put different bytes at one address are
 *     refused, naming both; the checks of the plan are the library's
 *     planner (dfuplan.h), the one dfuinfo(1) uses;
 *   - every byte must lie in a writable region; pages of erasable
 *     regions that the image touches are erased once each, in address
 *     order, as dfu-util, pydfu.py and STM32CubeProgrammer do, and no
 *     other page is; the bytes of those pages that the image does not
 *     cover are lost unless they are kept (struct dfl_keep,
 *     DFL_PRESERVE_UNCOVERED): then only those bytes are read before the
 *     first erase, written back with the image (0xff needs no write) and
 *     read back to check them;
 *   - writes in erasable regions are widened with 0xff to whole units
 *     of the device's programming unit, from the quirk table (quirks.h):
 *     32 bytes on the STM32H7, else 8 (STM32L4 flash programs 64-bit
 *     double words, RM0351 3.3.7; 0xff on a freshly erased page changes
 *     nothing on any STM32); kept bytes are folded into the runs as image
 *     bytes are, so that widening never writes 0xff over one of them;
 *   - layout strings the quirk table knows to be wrong (the GD32VF103's)
 *     are read as it corrects them, said by the warn callback, or the
 *     plan is refused when the right one cannot be told;
 *   - the device leaves to the application: the lowest segment start in
 *     an erasable, writable region whose first two words look like a
 *     Cortex-M vector table (dfl_vector_table()), else the start of the
 *     first erasable, writable region of alt 0 (main flash), never to
 *     data, option bytes or OTP; or to an explicit start address;
 *   - SET_ADDRESS is sent once per contiguous run and again before
 *     wBlockNum would pass 65535; blocks count up from 2;
 *   - an alt whose memory is named "Option Bytes" (any case; the STM32
 *     ROMs' name) is written last, whatever the file's order, after
 *     every other target is written and verified.  Those devices reset
 *     once the write is done, to load them (ST AN2662 4.5.1): a device
 *     that is gone after acknowledging the write has reset as expected;
 *     the download succeeds, the device is not sent to leave, the option
 *     bytes are not read back (dfl_result.options_reset).  They must
 *     be one range of at most wTransferSize bytes.  A device that stays
 *     carries on as with any other memory;
 *   - a leave request (zero-length DNLOAD) that fails with a stall or an
 *     I/O error after which the device is gone has left: the device reset
 *     during the request, the race that monome/crow#128 shows one
 *     request later.
 * Plain DFU 1.1 sessions send the payload (with its vendor prefix, which
 * the device reads) from block 0 and manifest.  A device that leaves the
 * bus after the whole download was acknowledged (during manifestation,
 * or in the zero-length DNLOAD as above) has manifested: success, and
 * no reset is needed (particle-iot/device-os#599).
 *
 * After a failure nothing more is sent but GETSTATUS and, from dfuERROR,
 * CLRSTATUS: the device stays in DFU mode, ready for a retry.
 */
#ifndef DFUFLASH_ENGINE_H
#define DFUFLASH_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "dfufile.h"
#include "transport.h"

/* ---- Images ------------------------------------------------------------ */

/* Bytes to put at an address of an alternate setting. */
struct dfl_segment {
	uint8_t alt;
	uint32_t address; /* ignored for a plain image */
	uint32_t size;
	uint8_t *data; /* owned by the image */
	char source[40]; /* named in messages: "target 2 element 0"; "" */
};

struct dfl_image {
	int plain; /* a plain DFU payload: one segment, no address */
	uint16_t idVendor, idProduct; /* DFU_ID_ANY: any device */
	struct dfl_segment *segs;
	size_t nsegs;
};

/*
 * Load every element of a DfuSe file, or the payload of a plain one, into
 * img (the file must have been read without errors); each segment's
 * source is "target T element E".  0 or a negative enum dfu_error; the
 * message is in the file's handle.
 */
int dfl_image_from_file(struct dfl_image *img, struct dfu_file *f);
/* A raw binary: one segment at address of alt. */
int dfl_image_raw(struct dfl_image *img, int plain, uint8_t alt,
		  uint32_t address, const void *data, uint32_t size);
void dfl_image_free(struct dfl_image *img);

/*
 * Bytes of writable memory the device's layout strings describe, over all
 * its alternate settings; UINT64_MAX when they do not say (a plain DFU
 * device, a run-time descriptor set, a string that does not parse).  An
 * image larger than this cannot fit, and need not be loaded to know it.
 */
uint64_t dfl_device_capacity(const struct dfl_device *dev);

/* ---- Sessions ------------------------------------------------------------ */

enum dfl_phase {
	DFL_PHASE_CHECK,  /* --skip-unchanged: reading pages before erasing */
	DFL_PHASE_ERASE,
	DFL_PHASE_WRITE,
	DFL_PHASE_VERIFY,
	DFL_PHASE_UPLOAD,
	DFL_PHASE_LEAVE,
	DFL_PHASE_SETUP,  /* reaching dfuIDLE, selecting an alt setting */
	DFL_PHASE_PRESERVE, /* reading kept bytes before the erase, and back */
};
const char *dfl_phase_name(enum dfl_phase phase); /* "erase", ... */

/* A progress event: done of total bytes of this phase, at address. */
struct dfl_event {
	enum dfl_phase phase;
	uint32_t address;
	uint64_t done, total;
};

/* Flags of struct dfl_options. */
#define DFL_VERIFY 0x01u	 /* read back and compare */
#define DFL_PLAN_ONLY 0x02u	 /* plan and check, send no DNLOAD */
#define DFL_SKIP_UNCHANGED 0x04u /* read pages first, skip equal ones */
#define DFL_NO_LEAVE 0x08u	 /* stay in DFU mode after success */
#define DFL_MASS_ERASE 0x10u	 /* mass erase instead of page erase */
#define DFL_IGNORE_ID 0x20u	 /* flash a file made for another VID:PID */
#define DFL_PRESERVE_UNCOVERED 0x40u /* keep every byte of an erased page
					that the image does not cover */

/* Bytes first to last (inclusive) survive the erase of their pages. */
struct dfl_keep {
	uint32_t first, last;
};

struct dfl_options {
	unsigned flags;
	int start_set; /* leave to `start` rather than the application */
	uint32_t start;
	const struct dfl_keep *preserve; /* borrowed; any alt */
	size_t npreserve;
	void (*progress)(void *ctx, const struct dfl_event *ev);
	void (*warn)(void *ctx, const char *msg);
	void *cb_ctx;
};

/* One page of the plan. */
#define DFL_PAGE_ERASE 0x1u	/* erased before writing */
#define DFL_PAGE_WRITE 0x2u	/* receives bytes */
#define DFL_PAGE_UNCHANGED 0x4u /* already holds the image: skipped */
struct dfl_page {
	uint8_t alt;
	uint32_t start, size;
	unsigned flags;
};

/* One contiguous run of bytes written after SET_ADDRESS (DfuSe). */
struct dfl_range {
	uint8_t alt;
	uint32_t start, size;
};

/* Why the device is sent to leave_address. */
enum dfl_leave_reason {
	DFL_LEAVE_START = 1, /* the caller's start address */
	DFL_LEAVE_APP,	     /* the image's vector table is there */
	DFL_LEAVE_FLASH,     /* no vector table: the start of main flash */
};

/* What a session did, or with DFL_PLAN_ONLY would do. */
struct dfl_result {
	const struct dfl_page *pages; /* owned by the session */
	size_t npages;
	const struct dfl_range *writes;
	size_t nwrites;
	const struct dfl_range *kept; /* read before the erase, restored */
	size_t nkept;
	uint64_t bytes_kept;	       /* in kept */
	uint64_t bytes_restored;       /* of those, not 0xff: written back */
	uint64_t bytes_erased;	       /* in the pages planned for erase */
	uint64_t bytes_erased_outside; /* ... of them not in the image */
	uint64_t bytes_written;
	unsigned pages_erased, pages_skipped;
	int mass_erased;
	int left;	     /* the leave request was sent and accepted */
	int left_vanished;   /* ... and the device left without answering */
	int leave_failed;    /* ... the request itself failed (stall, I/O
				error) and the device was then gone */
	int options_write;   /* the plan writes option bytes, last: the
				device is expected to reset then */
	int options_reset;   /* the device reset after its option bytes were
				written, as expected: it was not sent to
				leave and they were not read back */
	uint8_t options_alt; /* the alt of the option bytes written */
	uint32_t leave_address;	/* planned, even when it does not leave */
	uint8_t leave_alt;
	enum dfl_leave_reason leave_reason; /* 0: it does not leave */
	int verified;
};

struct dfl_session;

/* dev and t are borrowed for the life of the session. */
struct dfl_session *dfl_session_new(const struct dfl_transport *t,
				    const struct dfl_device *dev);
void dfl_session_free(struct dfl_session *s);

/* The last failure: "write at 0x08004000: device reports errWRITE ...". */
const char *dfl_errmsg(const struct dfl_session *s);

/*
 * The last failure as fields, for a caller that reports it to a program
 * (dfuflash --progress=json): where the session was, what the device
 * last reported, and whether anything had changed on it by then.
 */
struct dfl_failure {
	int have_phase;
	enum dfl_phase phase;	/* the phase under way */
	int have_address;
	uint32_t address;	/* of the request under way */
	int have_status;	/* the GETSTATUS answer that said why */
	uint8_t state, status;	/* bState, bStatus (DFU 1.1 6.1.2) */
	char istring[128];	/* the device's own words (iString), or "" */
	int changed;		/* an erase, write or command that changes
				   the device's memory was sent */
	int mismatch;		/* reading back found other bytes */
};
const struct dfl_failure *dfl_failure(const struct dfl_session *s);

/* Negative results of the calls below. */
enum dfl_error {
	DFL_ERR_PLAN = -10,   /* refused before anything was sent */
	DFL_ERR_DEVICE = -11, /* the device failed or reported an error */
	DFL_ERR_GONE = -12,   /* the device disappeared */
	DFL_ERR_NOMEM = -13,
	DFL_ERR_USAGE = -14,  /* the options contradict the image: nothing sent */
};

/*
 * Do the 8 bytes at p look like the start of a Cortex-M vector table?
 * Word 0, the initial main stack pointer, is a multiple of 4 in
 * 0x20000000-0x40000000 (the SRAM region of the ARMv7-M and ARMv6-M
 * memory maps; the stack starts just past its top); word 1, the reset
 * handler, is odd (Thumb, ARMv7-M B1.5.3) and points into an erasable,
 * writable region of layout.
 */
struct dfu_layout;
int dfl_vector_table(const uint8_t p[8], const struct dfu_layout *layout);

/*
 * Program img.  0 on success (res then says what was done), or a
 * negative enum dfl_error.  res stays valid until the next call.
 */
int dfl_download(struct dfl_session *s, const struct dfl_image *img,
		 const struct dfl_options *o, struct dfl_result *res);

/*
 * Read len bytes of alt from address (DfuSe) or from the start (plain
 * DFU; *got may then be less than len when the device ends sooner).
 */
int dfl_upload(struct dfl_session *s, uint8_t alt, uint32_t address,
	       uint8_t *buf, uint32_t len, uint32_t *got,
	       const struct dfl_options *o);

/* DfuSe read unprotect (0x92): the device mass-erases and resets. */
int dfl_unprotect(struct dfl_session *s, const struct dfl_options *o);

/*
 * Detach only (dfu-util -e): a device in run-time mode is sent DETACH (a
 * USB reset follows unless it has bitWillDetach) and found again in DFU
 * mode, as before a download.  0 once it is back in DFU mode, 1 if it
 * was in DFU mode already (nothing sent; or only GETSTATUS, for a
 * run-time interface that reports a DFU-mode state), or a negative enum
 * dfl_error.
 */
int dfl_detach(struct dfl_session *s, const struct dfl_options *o);

/*
 * A USB bus reset (dfu-util -R): a device in DFU mode then runs its
 * firmware (DFU 1.1 A.2.8); one that is gone already needs none.  0 or
 * a negative enum dfl_error.
 */
int dfl_reset(struct dfl_session *s);

#endif /* DFUFLASH_ENGINE_H */
