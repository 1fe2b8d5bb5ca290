/*
 * model.h - an in-process model of a USB DFU device in DFU mode: the
 * STM32 ROM DfuSe bootloader (ST AN3156, UM0424) on five parts, the
 * GigaDevice GD32VF103 ROM (which reports a wrong layout), and a plain
 * DFU 1.1 device.  It sits behind a struct dfl_transport, so the
 * flashing engine runs against it unchanged; the unit tests and
 * `dfuflash --sim` use it.
 *
 * What is modelled:
 *   - the DFU 1.1 state machine of appendix A.2: every request that is
 *     not legal in the current state is stalled and the device enters
 *     dfuERROR with errSTALLEDPKT; a GETSTATUS during dfuDNBUSY before
 *     the command is done is stalled too, except where the profile does
 *     what the real ROM does ("Busy" below);
 *   - DfuSe commands (DNLOAD block 0): set address pointer, page erase,
 *     mass erase, read unprotect; data blocks from wBlockNum 2 at
 *     pointer + (wBlockNum - 2) x wTransferSize; UPLOAD block 0 lists
 *     the commands.  A command runs on the GETSTATUS after it, which
 *     answers dfuDNBUSY; the next answers dfuDNLOAD-IDLE or dfuERROR;
 *   - flash that starts erased (0xff), whose programming can only clear
 *     bits (programming a bit back to 1 fails with errVERIFY), erased by
 *     page; the memory layout strings of the real devices;
 *   - option bytes (alt 1 of f405, f107 and l476; a kind of memory that
 *     a profile declares, model.c's MEM_OPTION): a write is stored as
 *     sent and answered dfuDNBUSY by its first GETSTATUS, and then the
 *     device resets, as the STM32 ROM does to load them (AN2662
 *     4.5.1): it is gone, and comes back in DFU mode (BOOT0 high) at the
 *     next re-enumeration, dfuIDLE on alt 0, its option bytes kept;
 *   - time: each control transfer, each page erase and each programmed
 *     unit costs modelled time (the figures and their sources are in
 *     model.c), so sessions can be compared without hardware;
 *   - faults, injected by dfl_model_fault().
 *
 * Busy: a GETSTATUS that comes while a command still runs (the host
 * polled before the time the command takes, because the bwPollTimeout
 * the device answered was shorter) gets, by profile:
 *   f405         no answer until the command is done (the STM32 F4/F7/H7
 *                ROMs), then the answer; the model answers bwPollTimeout
 *                100 ms when an erase starts, as the F405 does before a
 *                mass erase (8 s).  If the transfer's timeout_ms passes
 *                first, the request costs timeout_ms of modelled time and
 *                fails with DFL_XFER_TIMEOUT; the command goes on.
 *                dfl_model_held_us() says how long the last answer was
 *                held, for a host that holds it for real (tests/usbhost);
 *   l476         a stall, and the device stays in dfuDNBUSY (the STM32L4
 *                ROM); it answers bwPollTimeout 10 ms for a 22 ms page
 *                erase;
 *   the others   a stall and dfuERROR, errSTALLEDPKT (DFU 1.1 A.2.5).
 */
#ifndef DFL_MODEL_H
#define DFL_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include "transport.h"

struct dfl_model;

/* A model of a named profile ("f405", "f107", "l476", "dfu11", ...). */
struct dfl_model *dfl_model_new(const char *profile);
void dfl_model_free(struct dfl_model *m);

/* "f405 f107 l476 h743 ...": the profile names, for messages. */
const char *dfl_model_profile_names(void);
/* One line describing a profile ("STM32F405 ROM bootloader, ..."). */
const char *dfl_model_description(const struct dfl_model *m);

/*
 * The profile's own iSerialNumber (NULL: none; a host such as usbhost
 * gives one) and, in *utf8, whether the device sends it as UTF-8 bytes
 * rather than UTF-16LE (the GD32VF103 ROM).
 */
const char *dfl_model_serial(const struct dfl_model *m, int *utf8);

/* What the device's descriptors say; valid for the life of m. */
const struct dfl_device *dfl_model_device(const struct dfl_model *m);
/* A transport whose ctx is m. */
void dfl_model_transport(struct dfl_model *m, struct dfl_transport *t);

/* The main memory (alt 0): its bytes, start address and size. */
uint8_t *dfl_model_memory(struct dfl_model *m, uint32_t *base,
			  uint32_t *size);

/*
 * Add a fault; 0, or -1 with a message in err.  Specs:
 *   stall:N          request N (counting from 1) is stalled
 *   disconnect:N     the device disappears at request N
 *   KIND:N=STATUS    the N-th command of KIND ends in dfuERROR with
 *                    STATUS (errWRITE, errERASE, errVERIFY, errADDRESS,
 *                    errTARGET, ... by their DFU 1.1 names); KIND is
 *                    address, erase, mass-erase, write or manifest
 *   KIND:N=busy      ... never stops answering dfuDNBUSY
 *   write:N=corrupt  the N-th data block is programmed with bit 0 of its
 *                    first byte cleared, and the device reports success
 *   erase:N=skip     the N-th page erase reports success and erases
 *                    nothing, and from then on every write reports
 *                    success whatever bits it could not set: a ROM that
 *                    erased the wrong sector (the dual-bank STM32F76x/
 *                    F77x, rusefi/rusefi#3566, STM32Cube_MCU_Overall_
 *                    Offer#11), seen only by reading back
 *   erase:N=stuck    the N-th page erase erases, then leaves the device
 *                    in dfuDNBUSY until CLRSTATUS: the first takes it to
 *                    dfuERROR with errUNKNOWN, the second to dfuIDLE (the
 *                    STM32H743 rev V ROM on its second bank, betaflight/
 *                    betaflight-configurator#1861; a profile does this
 *                    from an address, its stuck_from field)
 *   stuck-from:ADDRESS  (DfuSe) every page erase at ADDRESS or above
 *                    does the same, as a profile's stuck_from
 *   zero-poll        bwPollTimeout is always 0: commands finish during
 *                    the GETSTATUS that starts them
 *   leave-gone       on leave the device resets before it answers
 *                    the GETSTATUS after the zero-length DNLOAD (the
 *                    gd32vf103 profile always does)
 *   leave-gone=stall the zero-length DNLOAD that ends a download (DfuSe
 *   leave-gone=io    leave, DFU 1.1 manifestation) fails with a stall or
 *                    an I/O error, and the device is then gone: it reset
 *                    during the request (leave-gone's race one request
 *                    earlier; monome/crow#128, riscv-mcu/gd32-dfu-utils#4
 *                    show the GETSTATUS after it failing)
 *   manifest-gone    (DFU 1.1) the device accepts the zero-length DNLOAD,
 *                    answers the GETSTATUS after it with dfuMANIFEST and
 *                    is then gone: it runs its new firmware without
 *                    waiting for a reset (particle-iot/device-os#599)
 *   runtime          the device starts in run-time mode (appIDLE) and
 *                    enters DFU mode after DETACH (and a reset when it
 *                    does not detach by itself)
 *   read-protect     (DfuSe) flash read protection is active, as on an
 *                    STM32 at RDP level 1: an UPLOAD of data is stalled
 *                    and a page erase fails, both with dfuERROR and
 *                    errVENDOR (AN2662 4.4.1 and 4.5.3), until read
 *                    unprotect (which also erases everything)
 */
int dfl_model_fault(struct dfl_model *m, const char *spec, char *err,
		    size_t errlen);

/*
 * Change wTransferSize (1 to 4096), so that tests reach the 65535
 * wBlockNum limit with images that fit the model's flash.
 */
void dfl_model_set_transfer_size(struct dfl_model *m, uint16_t size);

/* Unplug and plug in again: DFU mode, dfuIDLE, memory kept, faults gone. */
void dfl_model_replug(struct dfl_model *m);

/*
 * How long the answer to the last request was held (microseconds of
 * modelled time; 0 when it was answered at once): see "Busy" above.
 */
uint64_t dfl_model_held_us(const struct dfl_model *m);

/* Write one line per request (and per modelled sleep) to fp; NULL stops. */
void dfl_model_trace(struct dfl_model *m, FILE *fp);

struct dfl_model_stats {
	unsigned requests;	 /* control transfers, SET_INTERFACE included */
	unsigned set_address;	 /* DfuSe set address pointer commands */
	unsigned pages_erased;	 /* page erase commands that erased */
	uint64_t bytes_erased;
	unsigned mass_erases;
	unsigned blocks_written; /* DNLOAD data blocks accepted */
	uint64_t bytes_written;
	uint64_t bytes_read;
	unsigned stalls;
	uint64_t time_us;	 /* modelled time of the session */
	int left;		 /* the device left DFU mode ... */
	uint32_t left_address;	 /* ... to run code from here (DfuSe) */
	int gone;		 /* disconnected (left, reset or fault) */
	int comes_back;		 /* gone, and back in DFU mode when it is
				    re-enumerated (detached; option bytes) */
	unsigned resets;	 /* resets after writing option bytes */
	int state;		 /* bState now */
	int status;		 /* bStatus now */
};
const struct dfl_model_stats *dfl_model_stats(struct dfl_model *m);

#endif /* DFL_MODEL_H */
