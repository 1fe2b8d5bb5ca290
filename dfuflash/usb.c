/*
 * usb.c - DFU devices through libusb-1.0 (usb.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libusb.h>

#include "dfuproto.h"
#include "quirks.h"
#include "select.h"
#include "usb.h"
#include "msg.h"

/* How often a detached device is looked for while it re-enumerates. */
#define POLL_MS 50u

struct dfl_usb {
	libusb_context *ctx;
	struct dfl_usb_info *list;
	size_t n;
};

struct dfl_usb_handle {
	struct dfl_usb *u;
	struct dfl_usb_params p;
	struct dfl_usb_info info; /* owned copy */
	libusb_device_handle *h;
	struct dfl_device dev;
	uint16_t langid;
	char err[512];
};

static void
sleep_ms(uint32_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
info_free(struct dfl_usb_info *in)
{
	for (unsigned i = 0; i < in->nalts; i++)
		free((char *)in->alts[i].name);
	free(in->alts);
	free(in->serial);
	free(in->serial_utf16);
	if (in->udev != NULL)
		libusb_unref_device(in->udev);
	memset(in, 0, sizeof(*in));
}

static void
list_free(struct dfl_usb *u)
{
	for (size_t i = 0; i < u->n; i++)
		info_free(&u->list[i]);
	free(u->list);
	u->list = NULL;
	u->n = 0;
}

struct dfl_usb *
dfl_usb_new(char *msg, size_t msglen)
{
	struct dfl_usb *u = calloc(1, sizeof(*u));
	int rc;

	if (u == NULL) {
		dfl_msg(msg, msglen, "out of memory");
		return NULL;
	}
	if ((rc = libusb_init(&u->ctx)) != 0) {
		dfl_msg(msg, msglen, "cannot start libusb: %s",
		    libusb_strerror(rc));
		free(u);
		return NULL;
	}
	return u;
}

void
dfl_usb_free(struct dfl_usb *u)
{
	if (u == NULL)
		return;
	list_free(u);
	libusb_exit(u->ctx);
	free(u);
}

size_t
dfl_usb_count(const struct dfl_usb *u)
{
	return u->n;
}

const struct dfl_usb_info *
dfl_usb_info(const struct dfl_usb *u, size_t i)
{
	return i < u->n ? &u->list[i] : NULL;
}

/* The first language of string descriptor 0, or US English. */
static uint16_t
langid(libusb_device_handle *h)
{
	uint8_t b[4];

	if (libusb_get_string_descriptor(h, 0, 0, b, sizeof(b)) >= 4 &&
	    b[0] >= 4 && b[1] == LIBUSB_DT_STRING)
		return (uint16_t)(b[2] | b[3] << 8);
	return 0x0409;
}

/* String descriptor index as UTF-8 (malloc'ed), or NULL. */
static char *
read_string(libusb_device_handle *h, uint16_t lang, uint8_t index)
{
	uint8_t b[255];
	char text[DFL_STRING_MAX];
	int n;

	if (index == 0)
		return NULL;
	n = libusb_get_string_descriptor(h, index, lang, b, sizeof(b));
	if (n < 0 || dfl_string_decode(b, (size_t)n, text, sizeof(text),
	    NULL, 0) < 0)
		return NULL;
	return strdup(text);
}

/*
 * iSerialNumber as UTF-8 (malloc'ed), or NULL: UTF-16LE as USB 2.0 9.6.7
 * says, unless the quirk table says the device sends UTF-8 (quirks.h);
 * then *utf16 gets the UTF-16LE reading too, which other tools print.
 */
static char *
read_serial(libusb_device_handle *h, uint16_t lang, uint8_t index,
    uint16_t vid, uint16_t pid, char **utf16)
{
	uint8_t b[255];
	char text[DFL_STRING_MAX];
	int n;

	*utf16 = NULL;
	if (index == 0)
		return NULL;
	if (!dfl_quirk_serial_utf8(vid, pid))
		return read_string(h, lang, index);
	n = libusb_get_string_descriptor(h, index, lang, b, sizeof(b));
	if (n < 0)
		return NULL;
	if (dfl_string_decode(b, (size_t)n, text, sizeof(text), NULL, 0) >= 0)
		*utf16 = strdup(text);
	if (dfl_string_decode_utf8(b, (size_t)n, text, sizeof(text)) < 0)
		return NULL;
	return strdup(text);
}

static int
is_dfu(const struct libusb_interface_descriptor *a)
{
	/* 0 as well: some run-time interfaces report it (descriptor.h). */
	return a->bInterfaceClass == 0xfe && a->bInterfaceSubClass == 0x01 &&
	    a->bInterfaceProtocol <= DFL_PROTOCOL_DFU;
}

/*
 * Fill *in for device d if it has a DFU interface: 1, 0 if it has none,
 * -1 out of memory.  With read_strings, open it for the serial number and
 * the alt names; *in->access says whether that worked.
 */
static int
probe(libusb_device *d, int read_strings, struct dfl_usb_info *in)
{
	struct libusb_device_descriptor dd;
	struct libusb_config_descriptor *cfg = NULL;
	const struct libusb_interface *itf = NULL;
	libusb_device_handle *h = NULL;
	uint8_t ports[8];
	int nports, rc;

	memset(in, 0, sizeof(*in));
	if (libusb_get_device_descriptor(d, &dd) != 0)
		return 0;
	if (libusb_get_active_config_descriptor(d, &cfg) != 0 &&
	    libusb_get_config_descriptor(d, 0, &cfg) != 0)
		return 0;
	for (int i = 0; i < cfg->bNumInterfaces && itf == NULL; i++)
		if (cfg->interface[i].num_altsetting > 0 &&
		    is_dfu(&cfg->interface[i].altsetting[0]))
			itf = &cfg->interface[i];
	if (itf == NULL) {
		libusb_free_config_descriptor(cfg);
		return 0;
	}
	in->bus = libusb_get_bus_number(d);
	in->address = libusb_get_device_address(d);
	nports = libusb_get_port_numbers(d, ports, (int)sizeof(ports));
	if (dfl_path_format(in->path, sizeof(in->path), in->bus, ports,
	    nports > 0 ? nports : 0) < 0)
		snprintf(in->path, sizeof(in->path), "%u-?", in->bus);
	in->vid = dd.idVendor;
	in->pid = dd.idProduct;
	in->bcdDevice = dd.bcdDevice;
	in->interface = itf->altsetting[0].bInterfaceNumber;
	in->protocol = itf->altsetting[0].bInterfaceProtocol;
	/* DFU 1.1 4.2.3: the functional descriptor follows the interface
	 * descriptors; libusb hands it over as the extra bytes of the alt
	 * setting it follows, or of the configuration. */
	for (int a = 0; a < itf->num_altsetting && !in->has_func &&
	    in->func_error[0] == '\0'; a++) {
		const struct libusb_interface_descriptor *alt =
		    &itf->altsetting[a];

		rc = dfl_func_desc_find(alt->extra, (size_t)alt->extra_length,
		    &in->func, in->func_error, sizeof(in->func_error));
		in->has_func = rc == 1;
	}
	if (!in->has_func && in->func_error[0] == '\0')
		in->has_func = dfl_func_desc_find(cfg->extra,
		    (size_t)cfg->extra_length, &in->func, in->func_error,
		    sizeof(in->func_error)) == 1;
	if (in->func_error[0] == '\0' && !in->has_func)
		snprintf(in->func_error, sizeof(in->func_error), "no DFU "
		    "functional descriptor");
	/* The mode, not the number: devices that lie are corrected here. */
	in->protocol = (uint8_t)dfl_protocol_mode(in->vid, in->pid,
	    in->protocol, in->has_func ? in->func.bcdDFUVersion : 0x0100);
	in->alts = calloc((size_t)itf->num_altsetting, sizeof(*in->alts));
	if (in->alts == NULL) {
		libusb_free_config_descriptor(cfg);
		return -1;
	}
	in->nalts = (unsigned)itf->num_altsetting;
	if (read_strings) {
		rc = libusb_open(d, &h);
		in->access = rc == 0;
	}
	if (h != NULL) {
		uint16_t lang = langid(h);

		in->langid = lang;
		in->serial = read_serial(h, lang, dd.iSerialNumber, in->vid,
		    in->pid, &in->serial_utf16);
		for (unsigned a = 0; a < in->nalts; a++)
			in->alts[a].name = read_string(h, lang,
			    itf->altsetting[a].iInterface);
		libusb_close(h);
	}
	for (unsigned a = 0; a < in->nalts; a++)
		in->alts[a].alt = itf->altsetting[a].bAlternateSetting;
	libusb_free_config_descriptor(cfg);
	in->udev = libusb_ref_device(d);
	return 1;
}

static int
by_path(const void *a, const void *b)
{
	const struct dfl_usb_info *x = a, *y = b;

	if (x->bus != y->bus)
		return x->bus < y->bus ? -1 : 1;
	return strcmp(x->path, y->path);
}

int
dfl_usb_scan(struct dfl_usb *u, int read_strings, char *msg, size_t msglen)
{
	libusb_device **devs;
	ssize_t n;
	int rc = 0;

	list_free(u);
	n = libusb_get_device_list(u->ctx, &devs);
	if (n < 0)
		return dfl_msg(msg, msglen, "cannot list USB devices: %s",
		    libusb_strerror((int)n));
	u->list = calloc((size_t)n + 1, sizeof(*u->list));
	if (u->list == NULL) {
		libusb_free_device_list(devs, 1);
		return dfl_msg(msg, msglen, "out of memory");
	}
	for (ssize_t i = 0; i < n; i++) {
		int p = probe(devs[i], read_strings, &u->list[u->n]);

		if (p < 0) {
			info_free(&u->list[u->n]);
			rc = dfl_msg(msg, msglen, "out of memory");
			break;
		}
		if (p == 1)
			u->n++;
		else
			info_free(&u->list[u->n]);
	}
	libusb_free_device_list(devs, 1);
	if (u->n > 1)
		qsort(u->list, u->n, sizeof(*u->list), by_path);
	return rc;
}

void
dfl_usb_candidate(const struct dfl_usb_info *in, struct dfl_candidate *c)
{
	memset(c, 0, sizeof(*c));
	c->path = in->path;
	c->vid = in->vid;
	c->pid = in->pid;
	c->serial = in->serial;
	c->serial_utf16 = in->serial_utf16;
	c->runtime = in->protocol == DFL_PROTOCOL_RUNTIME;
}

void
dfl_usb_access_hint(char *msg, size_t msglen, const char *path, uint16_t vid,
    uint16_t pid)
{
	dfl_msg(msg, msglen, "%s (%04x:%04x): permission denied opening the USB "
	    "device (LIBUSB_ERROR_ACCESS): this user may not write to it",
	    path, vid, pid);
}

/* Copy the list entry, names and reference included. */
static int
info_copy(struct dfl_usb_info *dst, const struct dfl_usb_info *src)
{
	*dst = *src;
	dst->serial = NULL;
	dst->serial_utf16 = NULL;
	dst->alts = calloc(src->nalts ? src->nalts : 1, sizeof(*dst->alts));
	dst->udev = NULL;
	if (dst->alts == NULL)
		return -1;
	for (unsigned i = 0; i < src->nalts; i++) {
		dst->alts[i].alt = src->alts[i].alt;
		if (src->alts[i].name != NULL &&
		    (dst->alts[i].name = strdup(src->alts[i].name)) == NULL)
			return -1;
	}
	if (src->serial != NULL && (dst->serial = strdup(src->serial)) == NULL)
		return -1;
	if (src->serial_utf16 != NULL &&
	    (dst->serial_utf16 = strdup(src->serial_utf16)) == NULL)
		return -1;
	dst->udev = libusb_ref_device(src->udev);
	return 0;
}

/* Open and claim h->info; fill h->dev. */
static int
open_info(struct dfl_usb_handle *h, char *msg, size_t msglen)
{
	struct dfl_usb_info *in = &h->info;
	struct dfl_desc_parts parts;
	char why[160];
	int rc;

	if (!in->has_func && in->protocol == DFL_PROTOCOL_DFU) {
		dfl_msg(msg, msglen, "%s (%04x:%04x): unusable DFU descriptors: "
		    "%s", in->path, in->vid, in->pid, in->func_error);
		return DFL_USB_DEVICE;
	}
	rc = libusb_open(in->udev, &h->h);
	if (rc == LIBUSB_ERROR_ACCESS) {
		dfl_usb_access_hint(msg, msglen, in->path, in->vid, in->pid);
		return DFL_USB_ACCESS;
	}
	if (rc == LIBUSB_ERROR_NO_DEVICE) {
		dfl_msg(msg, msglen, "%s: the device was unplugged", in->path);
		return DFL_USB_GONE;
	}
	if (rc != 0) {
		dfl_msg(msg, msglen, "%s (%04x:%04x): cannot open the device: %s",
		    in->path, in->vid, in->pid, libusb_strerror(rc));
		return DFL_USB_ERROR;
	}
	rc = libusb_claim_interface(h->h, in->interface);
	if (rc != 0) {
		dfl_msg(msg, msglen, "%s (%04x:%04x): cannot claim interface %u: "
		    "%s%s", in->path, in->vid, in->pid, in->interface,
		    libusb_strerror(rc), rc == LIBUSB_ERROR_BUSY ?
		    " (another program or a kernel driver holds it; close "
		    "it and run again)" : "");
		libusb_close(h->h);
		h->h = NULL;
		return rc == LIBUSB_ERROR_BUSY ? DFL_USB_BUSY :
		    rc == LIBUSB_ERROR_NO_DEVICE ? DFL_USB_GONE :
		    DFL_USB_ERROR;
	}
	/* The language the listing read the strings in: one request less
	 * (string descriptor 0) per session. */
	h->langid = in->langid != 0 ? in->langid : langid(h->h);
	/* Names not read while listing (no access then) are read now. */
	for (unsigned a = 0; a < in->nalts; a++)
		if (in->alts[a].name == NULL) {
			struct libusb_config_descriptor *cfg;

			if (libusb_get_active_config_descriptor(in->udev,
			    &cfg) != 0)
				break;
			for (int i = 0; i < cfg->bNumInterfaces; i++) {
				const struct libusb_interface *itf =
				    &cfg->interface[i];

				for (int k = 0; k < itf->num_altsetting; k++)
					if (itf->altsetting[k].bInterfaceNumber
					    == in->interface &&
					    itf->altsetting[k].bAlternateSetting
					    == in->alts[a].alt)
						in->alts[a].name = read_string(
						    h->h, h->langid, itf->
						    altsetting[k].iInterface);
			}
			libusb_free_config_descriptor(cfg);
		}
	memset(&parts, 0, sizeof(parts));
	parts.idVendor = in->vid;
	parts.idProduct = in->pid;
	parts.bcdDevice = in->bcdDevice;
	parts.bInterfaceProtocol = in->protocol;
	parts.func = in->has_func ? &in->func : NULL;
	parts.alts = in->alts;
	parts.nalts = in->nalts;
	if (dfl_device_fill(&h->dev, &parts, why, sizeof(why)) != 0) {
		dfl_msg(msg, msglen, "%s (%04x:%04x): %s", in->path, in->vid,
		    in->pid, why);
		libusb_release_interface(h->h, in->interface);
		libusb_close(h->h);
		h->h = NULL;
		return DFL_USB_DEVICE;
	}
	for (unsigned a = 0; a < in->nalts; a++)
		if (in->alts[a].name == NULL)
			in->alts[a].name = strdup("");
	h->dev.serial = in->serial;
	return 0;
}

static void
warn(struct dfl_usb_handle *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
warn(struct dfl_usb_handle *h, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (h->p.warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h->p.warn(h->p.warn_ctx, msg);
}

int
dfl_usb_check_transfer(struct dfl_usb_handle *h, char *msg, size_t msglen)
{
	struct dfl_device *d = &h->dev;
	unsigned want = h->info.has_func ? h->info.func.wTransferSize : 0;
	int dfuse = d->bcdDFUVersion == 0x011a;

	if (d->bInterfaceProtocol != DFL_PROTOCOL_DFU)
		return 0;
	if (want == 0 && (h->p.transfer_size == 0 || dfuse))
		return dfl_msg(msg, msglen, "%s (%04x:%04x): the DFU functional "
		    "descriptor says wTransferSize 0, so no data can be sent "
		    "or read%s", h->info.path, d->idVendor, d->idProduct,
		    dfuse ? " (and a DfuSe device places blocks by it)" :
		    "; give the size the device takes with --transfer-size");
	if (h->p.transfer_size != 0 && h->p.transfer_size != want) {
		if (dfuse)
			return dfl_msg(msg, msglen, "--transfer-size %u: a DfuSe "
			    "device places block n at the address pointer + "
			    "(n - 2) x its own wTransferSize (%u), so another "
			    "size would write to the wrong addresses",
			    h->p.transfer_size, want);
		warn(h, "--transfer-size %u overrides the device's "
		    "wTransferSize %u", h->p.transfer_size, want);
		want = h->p.transfer_size;
	}
	if (want > DFL_USB_MAX_TRANSFER) {
		if (dfuse)
			return dfl_msg(msg, msglen, "%s: wTransferSize %u is more "
			    "than the %u bytes libusb sends in one control "
			    "transfer, and a DfuSe device places blocks by it",
			    h->info.path, want, DFL_USB_MAX_TRANSFER);
		warn(h, "transfer size %u is more than libusb sends in one "
		    "control transfer; using %u", want, DFL_USB_MAX_TRANSFER);
		want = DFL_USB_MAX_TRANSFER;
	}
	d->wTransferSize = (uint16_t)want;
	return 0;
}

int
dfl_usb_open(struct dfl_usb *u, size_t i, const struct dfl_usb_params *p,
    struct dfl_usb_handle **out, char *msg, size_t msglen)
{
	struct dfl_usb_handle *h;
	int rc;

	*out = NULL;
	if (i >= u->n)
		return dfl_msg(msg, msglen, "no such device"), DFL_USB_ERROR;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return dfl_msg(msg, msglen, "out of memory"), DFL_USB_ERROR;
	h->u = u;
	h->p = *p;
	if (info_copy(&h->info, &u->list[i]) != 0) {
		info_free(&h->info);
		free(h);
		return dfl_msg(msg, msglen, "out of memory"), DFL_USB_ERROR;
	}
	if ((rc = open_info(h, msg, msglen)) != 0) {
		info_free(&h->info);
		free(h);
		return rc;
	}
	*out = h;
	return 0;
}

void
dfl_usb_close(struct dfl_usb_handle *h)
{
	if (h == NULL)
		return;
	if (h->h != NULL) {
		libusb_release_interface(h->h, h->info.interface);
		libusb_close(h->h);
	}
	info_free(&h->info);
	free(h);
}

struct dfl_device *
dfl_usb_device(struct dfl_usb_handle *h)
{
	return &h->dev;
}

const struct dfl_usb_info *
dfl_usb_handle_info(const struct dfl_usb_handle *h)
{
	return &h->info;
}

const char *
dfl_usb_errmsg(const struct dfl_usb_handle *h)
{
	return h->err;
}

/* ---- The transport --------------------------------------------------------- */

static int
xfer_error(int rc)
{
	switch (rc) {
	case LIBUSB_ERROR_PIPE:
		return DFL_XFER_STALL;
	case LIBUSB_ERROR_NO_DEVICE:
	case LIBUSB_ERROR_NOT_FOUND:
		return DFL_XFER_GONE;
	case LIBUSB_ERROR_TIMEOUT:
		return DFL_XFER_TIMEOUT;
	default:
		return DFL_XFER_IO;
	}
}

static int
t_out(void *ctx, uint8_t request, uint16_t value, const uint8_t *data,
    uint16_t len)
{
	struct dfl_usb_handle *h = ctx;
	int rc;

	if (h->h == NULL)
		return DFL_XFER_GONE;
	rc = libusb_control_transfer(h->h, LIBUSB_ENDPOINT_OUT |
	    LIBUSB_REQUEST_TYPE_CLASS | LIBUSB_RECIPIENT_INTERFACE, request,
	    value, h->info.interface, (unsigned char *)(uintptr_t)data, len,
	    DFL_USB_TIMEOUT_MS);
	return rc < 0 ? xfer_error(rc) : rc;
}

static int
t_in(void *ctx, uint8_t request, uint16_t value, uint8_t *data, uint16_t len,
    uint32_t timeout_ms)
{
	struct dfl_usb_handle *h = ctx;
	int rc;

	if (h->h == NULL)
		return DFL_XFER_GONE;
	rc = libusb_control_transfer(h->h, LIBUSB_ENDPOINT_IN |
	    LIBUSB_REQUEST_TYPE_CLASS | LIBUSB_RECIPIENT_INTERFACE, request,
	    value, h->info.interface, data, len, timeout_ms);
	return rc < 0 ? xfer_error(rc) : rc;
}

static int
t_set_alt(void *ctx, uint8_t alt)
{
	struct dfl_usb_handle *h = ctx;
	int rc;

	if (h->h == NULL)
		return DFL_XFER_GONE;
	rc = libusb_set_interface_alt_setting(h->h, h->info.interface, alt);
	return rc < 0 ? xfer_error(rc) : 0;
}

static void
t_sleep(void *ctx, uint32_t ms)
{
	(void)ctx;
	sleep_ms(ms);
}

static int
t_reset(void *ctx)
{
	struct dfl_usb_handle *h = ctx;
	int rc;

	if (h->h == NULL)
		return DFL_XFER_GONE;
	rc = libusb_reset_device(h->h);
	/* A device that comes back as another one (a DFU device that runs
	 * its firmware) leaves the handle stale: NOT_FOUND. */
	return rc < 0 ? xfer_error(rc) : 0;
}

static int
t_get_string(void *ctx, uint8_t index, char *buf, size_t len)
{
	struct dfl_usb_handle *h = ctx;
	uint8_t b[255];
	int n;

	if (h->h == NULL || len == 0)
		return DFL_XFER_GONE;
	/* Decoded straight into buf: a long string is cut at a character. */
	n = libusb_get_string_descriptor(h->h, index, h->langid, b, sizeof(b));
	if (n < 0 || dfl_string_decode(b, (size_t)n, buf, len, NULL, 0) < 0)
		return DFL_XFER_IO;
	return 0;
}

/*
 * After DETACH: the device leaves the bus and comes back in DFU mode,
 * perhaps with another product ID, but at the same port (or with the
 * same serial number).  Look for it every POLL_MS until the wait timeout.
 */
static int
t_reenumerate(void *ctx, uint32_t timeout_ms)
{
	struct dfl_usb_handle *h = ctx;
	struct dfl_usb_info old = h->info, found;
	uint64_t deadline;
	uint32_t wait = h->p.wait_timeout_ms;
	char why[512];
	int got = 0;

	(void)timeout_ms; /* --wait-timeout, as the user gave it, rules */
	memset(&found, 0, sizeof(found));
	h->err[0] = '\0';
	if (h->h != NULL) {
		libusb_release_interface(h->h, h->info.interface);
		libusb_close(h->h);
		h->h = NULL;
	}
	memset(&h->info, 0, sizeof(h->info));
	deadline = now_ms() + wait;
	for (int first = 1; !got; first = 0) {
		libusb_device **devs;
		ssize_t n;

		/* Look at once, then every POLL_MS until the deadline. */
		if (!first) {
			if (now_ms() >= deadline)
				break;
			sleep_ms(POLL_MS);
		}
		if ((n = libusb_get_device_list(h->u->ctx, &devs)) < 0)
			continue;
		/* By port path first: no need to open anything. */
		for (int pass = 0; pass < 2 && !got; pass++)
			for (ssize_t i = 0; i < n && !got; i++) {
				if (probe(devs[i], pass == 1, &found) != 1)
					continue;
				if (found.protocol == DFL_PROTOCOL_DFU &&
				    (pass == 0 ? strcmp(found.path, old.path)
				    == 0 : old.serial != NULL && found.serial
				    != NULL && strcmp(found.serial,
				    old.serial) == 0))
					got = 1;
				else
					info_free(&found);
			}
		libusb_free_device_list(devs, 1);
	}
	if (!got) {
		snprintf(h->err, sizeof(h->err), "%s: the device detached "
		    "and did not come back in DFU mode within %u ms (at the "
		    "same port%s%s%s); give it longer with --wait-timeout",
		    old.path, wait, old.serial != NULL ? " or with serial "
		    "\"" : "", old.serial != NULL ? old.serial : "",
		    old.serial != NULL ? "\"" : "");
		info_free(&old);
		return DFL_XFER_GONE;
	}
	h->info = found;
	if (open_info(h, why, sizeof(why)) != 0 ||
	    dfl_usb_check_transfer(h, why, sizeof(why)) != 0) {
		snprintf(h->err, sizeof(h->err), "%s", why);
		info_free(&old);
		return DFL_XFER_GONE;
	}
	if (h->info.serial == NULL && h->h != NULL) {
		struct libusb_device_descriptor dd;

		if (libusb_get_device_descriptor(h->info.udev, &dd) == 0)
			h->info.serial = read_serial(h->h, h->langid,
			    dd.iSerialNumber, h->info.vid, h->info.pid,
			    &h->info.serial_utf16);
		h->dev.serial = h->info.serial;
	}
	info_free(&old);
	return 0;
}

void
dfl_usb_transport(struct dfl_usb_handle *h, struct dfl_transport *t)
{
	memset(t, 0, sizeof(*t));
	t->ctx = h;
	t->out = t_out;
	t->in = t_in;
	t->set_alt = t_set_alt;
	t->sleep_ms = t_sleep;
	t->reset = t_reset;
	t->get_string = t_get_string;
	t->reenumerate = t_reenumerate;
}
