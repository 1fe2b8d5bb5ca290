/*
 * proto.c - names of DFU states, statuses and requests (dfuproto.h).
 */
#include <stdio.h>

#include "dfuproto.h"

const char *
dfu_state_name(int state)
{
	static const char *const names[] = {
		"appIDLE", "appDETACH", "dfuIDLE", "dfuDNLOAD-SYNC",
		"dfuDNBUSY", "dfuDNLOAD-IDLE", "dfuMANIFEST-SYNC",
		"dfuMANIFEST", "dfuMANIFEST-WAIT-RESET", "dfuUPLOAD-IDLE",
		"dfuERROR",
	};
	static char buf[16];

	if (state >= 0 && state <= DFU_STATE_ERROR)
		return names[state];
	snprintf(buf, sizeof(buf), "state %d", state);
	return buf;
}

const char *
dfu_status_name(int status)
{
	static const char *const names[] = {
		"OK", "errTARGET", "errFILE", "errWRITE", "errERASE",
		"errCHECK_ERASED", "errPROG", "errVERIFY", "errADDRESS",
		"errNOTDONE", "errFIRMWARE", "errVENDOR", "errUSBR", "errPOR",
		"errUNKNOWN", "errSTALLEDPKT",
	};
	static char buf[16];

	if (status >= 0 && status <= DFU_STATUS_STALLEDPKT)
		return names[status];
	snprintf(buf, sizeof(buf), "status %d", status);
	return buf;
}

/* DFU 1.1 section 6.1.2, the description column of the bStatus table. */
const char *
dfu_status_text(int status)
{
	static const char *const text[] = {
		"no error",
		"file is not targeted for use by this device",
		"file is for this device but fails a verification test",
		"device is unable to write memory",
		"memory erase function failed",
		"memory erase check failed",
		"program memory function failed",
		"programmed memory failed verification",
		"cannot program memory due to received address that is out "
		    "of range",
		"received DNLOAD with wLength = 0, but device does not think "
		    "it has all of the data yet",
		"device's firmware is corrupt",
		"vendor-specific error",
		"device detected unexpected USB reset signaling",
		"device detected unexpected power on reset",
		"something went wrong, but the device does not know what",
		"device stalled an unexpected request",
	};

	if (status >= 0 && status <= DFU_STATUS_STALLEDPKT)
		return text[status];
	return "unknown status";
}

const char *
dfu_request_name(int request)
{
	static const char *const names[] = {
		"DETACH", "DNLOAD", "UPLOAD", "GETSTATUS", "CLRSTATUS",
		"GETSTATE", "ABORT",
	};

	if (request >= 0 && request <= DFU_ABORT)
		return names[request];
	return "request";
}
