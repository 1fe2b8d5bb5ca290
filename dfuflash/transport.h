/*
 * transport.h - how the flashing engine reaches a DFU device.
 *
 * The engine sends class requests to the DFU interface and nothing else,
 * so that libusb, the in-process device model (model.h) and a
 * recorded trace can all sit behind the same table.  wIndex (the
 * interface number) is the transport's business.
 *
 * dfl_ and DFL_ ("dfl" = dfuflash) prefix the names dfuflash's files
 * share: the transport, the engine (engine.h), the device list and
 * selection; they are not libdfufile's (whose names are dfu_, see
 * dfufile.h) and nothing outside dfuflash and its device model uses them.
 */
#ifndef DFU_TRANSPORT_H
#define DFU_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Timeout of one control transfer, unless the engine asks for longer.
 * dfu-util uses 5000 ms; fwupd found an STM32F745 that needs 5 s to
 * answer GETSTATUS (fwupd/fwupd#1944).
 */
#define DFL_XFER_TIMEOUT_MS 5000u

/* Negative results of a transfer. */
enum dfl_xfer_error {
	DFL_XFER_STALL = -1,   /* the device stalled the request */
	DFL_XFER_GONE = -2,    /* the device is no longer there */
	DFL_XFER_TIMEOUT = -3, /* no answer in time */
	DFL_XFER_IO = -4,      /* any other failure */
};

struct dfl_transport {
	void *ctx;
	/*
	 * Host-to-device class request with len bytes of data (len may be
	 * 0).  Returns the bytes sent or a negative enum dfl_xfer_error.
	 */
	int (*out)(void *ctx, uint8_t request, uint16_t value,
		   const uint8_t *data, uint16_t len);
	/*
	 * Device-to-host; returns the bytes received (<= len) or an error,
	 * DFL_XFER_TIMEOUT when no answer came within timeout_ms.  The
	 * engine passes DFL_XFER_TIMEOUT_MS, or longer for a GETSTATUS while
	 * the device works: the STM32 F4/F7/H7 ROMs hold that answer until
	 * an erase is done (tens of seconds for a mass erase).  Requests
	 * from the host (out) keep DFL_XFER_TIMEOUT_MS: no device is known
	 * to hold them.
	 */
	int (*in)(void *ctx, uint8_t request, uint16_t value, uint8_t *data,
		  uint16_t len, uint32_t timeout_ms);
	/* SET_INTERFACE to an alternate setting of the DFU interface. */
	int (*set_alt)(void *ctx, uint8_t alt);
	/* Wait: a real sleep on hardware, modelled time in the model. */
	void (*sleep_ms)(void *ctx, uint32_t ms);
	/* USB bus reset (a plain DFU device then runs its firmware). */
	int (*reset)(void *ctx);
	/*
	 * String descriptor index as NUL-terminated UTF-8 in buf (len > 0),
	 * for the iString of GETSTATUS; 0 or a negative error.  May be NULL.
	 */
	int (*get_string)(void *ctx, uint8_t index, char *buf, size_t len);
	/*
	 * After DETACH (and a reset): wait up to timeout_ms for the device
	 * to come back in DFU mode, open it again and refresh the struct
	 * dfl_device the session was given.  0 or DFL_XFER_GONE.  May be
	 * NULL for a transport whose devices are always in DFU mode.
	 */
	int (*reenumerate)(void *ctx, uint32_t timeout_ms);
};

/* One alternate setting of the DFU interface, as the descriptors say. */
struct dfl_alt {
	uint8_t alt;
	const char *name; /* iInterface string; DfuSe: the memory layout */
};

/* bInterfaceProtocol of the DFU interface (DFU 1.1 4.1.1 and 4.2.1). */
#define DFL_PROTOCOL_RUNTIME 1
#define DFL_PROTOCOL_DFU 2

/* What the descriptors of the device say (DFU 1.1 4.1 and 4.2). */
struct dfl_device {
	uint8_t bInterfaceProtocol; /* run-time or DFU mode */
	uint16_t idVendor, idProduct, bcdDevice;
	uint8_t bmAttributes;
	uint16_t wDetachTimeOut;
	uint16_t wTransferSize;
	uint16_t bcdDFUVersion; /* 0x011a: DfuSe */
	const struct dfl_alt *alts;
	unsigned nalts;
	/*
	 * iSerialNumber as read (decoded as quirks.h says the device sends
	 * it), NULL when it has none; the quirk table keys on it.
	 */
	const char *serial;
};

#endif /* DFU_TRANSPORT_H */
