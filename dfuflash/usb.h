/*
 * usb.h - DFU devices on USB through libusb-1.0: enumeration, opening, and
 * a struct dfl_transport for the engine.
 *
 * Only synchronous transfers and time-based waiting are used: no libusb
 * event loop, no hotplug callbacks.  That keeps the code the same on
 * every platform libusb supports and lets it run under umockdev, whose
 * device nodes are regular files that poll() never blocks on.
 */
#ifndef DFUFLASH_USB_H
#define DFUFLASH_USB_H

#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"
#include "select.h"
#include "transport.h"

/*
 * The most data bytes one control transfer may carry: libusb 1.0.26
 * refuses more (LIBUSB_ERROR_INVALID_PARAM) on Linux usbfs and on Windows
 * (MAX_CTRL_BUFFER_LENGTH 4096 in libusb/os/linux_usbfs.h and
 * windows_winusb.h; older Linux kernels also limit usbfs control transfers
 * to one page).  dfu-util clamps to 4096 on Linux for the same reason.
 */
#define DFL_USB_MAX_TRANSFER 4096u

/* Timeout of the control transfers that do not give their own. */
#define DFL_USB_TIMEOUT_MS DFL_XFER_TIMEOUT_MS

/* One DFU interface of one device, as enumeration found it. */
struct dfl_usb_info {
	char path[32];		/* "1-2.3" */
	uint8_t bus, address;
	uint16_t vid, pid, bcdDevice;
	uint8_t interface;	/* bInterfaceNumber of the DFU interface */
	uint8_t protocol;	/* DFL_PROTOCOL_RUNTIME or DFL_PROTOCOL_DFU */
	int has_func;		/* a functional descriptor was found */
	struct dfl_func_desc func;
	char func_error[160];	/* "" or why the descriptors are malformed */
	int access;		/* the device could be opened */
	char *serial;		/* NULL: no iSerialNumber, or not readable */
	char *serial_utf16;	/* the same read as UTF-16LE, when the quirk
				   table read it otherwise (quirks.h) */
	struct dfl_alt *alts;	/* names NULL when not readable */
	unsigned nalts;
	uint16_t langid;	/* of the strings read, 0 if none was: opening
				   the device again does not ask again */
	void *udev;		/* libusb_device, referenced */
};

/* Results of the calls below. */
enum dfl_usb_error {
	DFL_USB_ACCESS = -1,	/* permission denied: the udev rules */
	DFL_USB_GONE = -2,	/* the device is no longer there */
	DFL_USB_BUSY = -3,	/* another program holds the interface */
	DFL_USB_DEVICE = -4,	/* its descriptors cannot be used */
	DFL_USB_ERROR = -5,	/* anything else */
};

struct dfl_usb;

/* The libusb context.  NULL after putting the reason in msg. */
struct dfl_usb *dfl_usb_new(char *msg, size_t msglen);
void dfl_usb_free(struct dfl_usb *u);

/*
 * Enumerate the DFU-capable devices (an interface of class 0xfe,
 * subclass 1, protocol 0, 1 or 2; info->protocol holds the mode
 * dfl_protocol_mode() gives), replacing the previous list, sorted by
 * path.  read_strings opens each device for its serial number and alt
 * names where permitted.  0, or -1 with msg set.
 */
int dfl_usb_scan(struct dfl_usb *u, int read_strings, char *msg,
		 size_t msglen);
size_t dfl_usb_count(const struct dfl_usb *u);
/* Device i of the scan; they are one array: dfl_usb_info(u, 0) + i. */
const struct dfl_usb_info *dfl_usb_info(const struct dfl_usb *u, size_t i);

/* How an open device is used. */
struct dfl_usb_params {
	unsigned transfer_size;	     /* --transfer-size; 0 = the device's */
	unsigned wait_timeout_ms;    /* for a detached device to come back */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
};

struct dfl_usb_handle;

/*
 * Open device i of the list and claim its DFU interface.  0 with *h set,
 * or a negative enum dfl_usb_error with msg set (for DFL_USB_ACCESS it
 * says "permission denied"; what to do is the caller's to say).  p is
 * copied.
 */
int dfl_usb_open(struct dfl_usb *u, size_t i, const struct dfl_usb_params *p,
		 struct dfl_usb_handle **h, char *msg, size_t msglen);
void dfl_usb_close(struct dfl_usb_handle *h);

/*
 * The descriptors the engine works from: wTransferSize is what transfers
 * use (--transfer-size, or the device's, capped to
 * DFL_USB_MAX_TRANSFER).  Refreshed in place by reenumerate.
 */
struct dfl_device *dfl_usb_device(struct dfl_usb_handle *h);
const struct dfl_usb_info *dfl_usb_handle_info(const struct dfl_usb_handle *h);
void dfl_usb_transport(struct dfl_usb_handle *h, struct dfl_transport *t);

/*
 * Check the transfer size of a device in DFU mode against the options;
 * 0, or -1 with msg set (wTransferSize 0, a DfuSe device whose block
 * addresses would not match).  Warnings go to p->warn.
 */
int dfl_usb_check_transfer(struct dfl_usb_handle *h, char *msg,
			   size_t msglen);

/* Why the last reenumerate failed ("" if it did not). */
const char *dfl_usb_errmsg(const struct dfl_usb_handle *h);

/* What -d, -S and -p are matched against (select.h), borrowing in. */
void dfl_usb_candidate(const struct dfl_usb_info *in,
		       struct dfl_candidate *c);

/* "PATH (VID:PID): permission denied opening the USB device ..." */
void dfl_usb_access_hint(char *msg, size_t msglen, const char *path,
			 uint16_t vid, uint16_t pid);

#endif /* DFUFLASH_USB_H */
