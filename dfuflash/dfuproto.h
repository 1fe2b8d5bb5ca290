/*
 * dfuproto.h - numbers fixed by USB DFU 1.1 and ST's DfuSe extension,
 * shared by the flashing engine and the device model.
 *
 * The names are the specification's own (DFU_DNLOAD, bState dfuIDLE as
 * DFU_STATE_IDLE, bStatus errTARGET as DFU_STATUS_TARGET), as dfu-util
 * names them, so that they read against the tables cited; that is why
 * they keep the dfu_/DFU_ prefix of libdfufile's public names although
 * they are dfuflash's.  The library defines none of them: a name added
 * to dfufile.h must not be one of these.
 */
#ifndef DFUPROTO_H
#define DFUPROTO_H

#include <stdint.h>

/* Class requests (DFU 1.1 table 3.2). */
enum dfu_request {
	DFU_DETACH = 0,
	DFU_DNLOAD = 1,
	DFU_UPLOAD = 2,
	DFU_GETSTATUS = 3,
	DFU_CLRSTATUS = 4,
	DFU_GETSTATE = 5,
	DFU_ABORT = 6,
};

/* bState (DFU 1.1 section 6.1.2). */
enum dfu_state {
	DFU_STATE_APP_IDLE = 0,
	DFU_STATE_APP_DETACH = 1,
	DFU_STATE_IDLE = 2,
	DFU_STATE_DNLOAD_SYNC = 3,
	DFU_STATE_DNBUSY = 4,
	DFU_STATE_DNLOAD_IDLE = 5,
	DFU_STATE_MANIFEST_SYNC = 6,
	DFU_STATE_MANIFEST = 7,
	DFU_STATE_MANIFEST_WAIT_RESET = 8,
	DFU_STATE_UPLOAD_IDLE = 9,
	DFU_STATE_ERROR = 10,
};

/* bStatus (DFU 1.1 section 6.1.2). */
enum dfu_status {
	DFU_STATUS_OK = 0x00,
	DFU_STATUS_TARGET = 0x01,
	DFU_STATUS_FILE = 0x02,
	DFU_STATUS_WRITE = 0x03,
	DFU_STATUS_ERASE = 0x04,
	DFU_STATUS_CHECK_ERASED = 0x05,
	DFU_STATUS_PROG = 0x06,
	DFU_STATUS_VERIFY = 0x07,
	DFU_STATUS_ADDRESS = 0x08,
	DFU_STATUS_NOTDONE = 0x09,
	DFU_STATUS_FIRMWARE = 0x0a,
	DFU_STATUS_VENDOR = 0x0b,
	DFU_STATUS_USBR = 0x0c,
	DFU_STATUS_POR = 0x0d,
	DFU_STATUS_UNKNOWN = 0x0e,
	DFU_STATUS_STALLEDPKT = 0x0f,
};

/* bmAttributes of the DFU functional descriptor (DFU 1.1 table 4.2). */
#define DFU_ATTR_CAN_DNLOAD 0x01u
#define DFU_ATTR_CAN_UPLOAD 0x02u
#define DFU_ATTR_MANIFESTATION_TOLERANT 0x04u
#define DFU_ATTR_WILL_DETACH 0x08u

/* GETSTATUS answers 6 bytes (DFU 1.1 section 6.1.2). */
#define DFU_STATUS_SIZE 6

/* DfuSe commands: DNLOAD with wBlockNum 0 (ST UM0424, AN3156). */
#define DFUSE_CMD_GET 0x00
#define DFUSE_CMD_SET_ADDRESS 0x21
#define DFUSE_CMD_ERASE 0x41
#define DFUSE_CMD_READ_UNPROTECT 0x92
/* Data blocks start at wBlockNum 2; block 1 is reserved. */
#define DFUSE_FIRST_BLOCK 2

/* Spec names: "dfuDNBUSY", "errWRITE"; "state 23" style for others. */
const char *dfu_state_name(int state);
const char *dfu_status_name(int status);
/* The meaning DFU 1.1 gives a status, lower case. */
const char *dfu_status_text(int status);
const char *dfu_request_name(int request);

#endif /* DFUPROTO_H */
