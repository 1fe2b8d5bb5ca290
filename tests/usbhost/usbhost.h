/*
 * usbhost.h - the emulated USB bus of usbhost: devices built from the
 * DFU device model (dfuflash/model.c), answered through umockdev's ioctl
 * handlers.  See README.md in this folder for what is modelled.
 *
 * Threads: umockdev answers the ioctls of the program under test in its
 * own worker thread (urb.c); main() changes the bus (plug, unplug) and
 * reads the counters.  The model (m, t) and everything in struct usbdev
 * below "bus state" are shared between them and only touched with
 * usbhost.lock held.
 */
#ifndef USBHOST_H
#define USBHOST_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <umockdev.h>

#include "../../dfuflash/model.h"

#define USBHOST_BUS 1u
/* Room for the device and configuration descriptors of any profile. */
#define USBHOST_DESC_MAX 256

/* What the host asks main() to do with a device's place on the bus. */
enum bus_event {
	EV_NONE,
	EV_UNPLUG,     /* it left: gone for good */
	EV_REPLUG_DFU, /* detached or reset: gone, then back in DFU mode */
	EV_REPLUG_WAIT, /* off the bus until replug_at */
	EV_PLUG_LATER, /* plug-after=MS: first plugged in at replug_at */
};

struct usbdev {
	/* From --device SPEC; fixed once parsed. */
	unsigned index;	       /* 1-based, in --device order */
	const char *spec;      /* as given, for messages */
	char *profile;
	char *serial;
	char *state;	       /* state=FILE or NULL */
	unsigned port;	       /* root-hub port, path "1-PORT" */
	int runtime;	       /* starts in run-time mode */
	uint16_t runtime_pid;
	int protocol;	       /* bInterfaceProtocol in DFU mode, or -1 */
	int runtime_protocol;  /* in run-time mode, or -1 */
	int id_vid, id_pid;    /* idVendor:idProduct in DFU mode, or -1 */
	int access_denied;
	int transfer_size;     /* wTransferSize override, or -1 */
	unsigned plug_after_ms; /* plug-after=MS: absent at the start */
	struct dfl_model *m;
	struct dfl_transport t;
	char syspath[64];      /* "/sys/devices/usb1/1-PORT" */

	/* Bus state (under usbhost.lock). */
	int present;	       /* in sysfs, answering */
	unsigned devnum;
	unsigned gen;	       /* bumped each time it leaves the bus */
	unsigned alt;	       /* last alt setting set */
	enum bus_event event;
	struct timespec replug_at;
	uint8_t desc[USBHOST_DESC_MAX]; /* device + configuration */
	size_t desc_len;
	unsigned long control_transfers;
	unsigned long held;	/* answers the model held (model.h, "Busy") */
	struct timespec held_until; /* ... the last of them, until then */
	unsigned long discarded; /* ... that the host gave up (DISCARDURB) */
	unsigned reenumerated;
	/* Real time between model requests, for the model clock. */
	int clock_running;
	struct timespec clock_last;
	uint64_t clock_carry_ns;
};

struct usbhost {
	pthread_mutex_t lock;
	UMockdevTestbed *tb;
	struct usbdev *devs;
	unsigned ndevs;
	unsigned next_devnum;
	FILE *trace;	       /* --trace, or NULL */
	struct timespec start;
	/* The command, held stopped while a uevent is sent (usbhost.c). */
	pid_t cmd_pid;	       /* 0 before it starts */
	int cmd_done;	       /* cmd_status is its wait status */
	int cmd_status;
};

/* descriptors.c */

/*
 * Fill d->desc with the device descriptor and the whole configuration
 * descriptor (interfaces, alt settings, DFU functional descriptor) of
 * what the model says now (run-time or DFU mode).
 */
void usb_build_descriptors(struct usbdev *d);
/*
 * The whole string descriptor index (UTF-16LE) in buf, which has room for
 * 255 bytes; its length, or -1 if the device has no such string.
 */
int usb_string_descriptor(const struct usbdev *d, uint8_t index,
			  uint8_t *buf);
/* The ASCII text of a string index (NULL if none), for sysfs. */
const char *usb_string(const struct usbdev *d, uint8_t index);
/* String indexes of the device descriptor. */
#define USB_STR_MANUFACTURER 1
#define USB_STR_PRODUCT 2
#define USB_STR_SERIAL 3
/* iInterface of alt setting i; 4 is the model's error string. */
#define USB_STR_INTERFACE(i) (5 + (i))

/* urb.c */

/* An ioctl handler for the device node of d as it is on the bus now. */
UMockdevIoctlBase *usb_ioctl_handler_new(struct usbhost *h, struct usbdev *d);

#endif /* USBHOST_H */
