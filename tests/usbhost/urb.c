/*
 * urb.c - the usbfs ioctls of one emulated device node, as libusb-1.0 on
 * Linux issues them (linux_usbfs.c), answered from the device model.
 *
 * Runs in umockdev's worker thread.  A control transfer is a SUBMITURB
 * of a URB whose buffer holds the 8-byte setup packet and the data
 * stage; the answer is queued and handed back by the next REAPURB(NDELAY)
 * of the same client (one client per open file, as the kernel keeps one
 * list per open file).  An answer the model held (a GETSTATUS of the
 * f405 while it erases: dfl_model_held_us()) is handed back only when
 * that much real time has passed, unless the client gives up on it
 * first with DISCARDURB (libusb does when its timeout passes): it is
 * then reaped with -ENOENT, as the kernel gives back a killed URB.  The
 * URB and its buffer are changed only when they are reaped: umockdev
 * copies them back into the client then.
 * Pointers inside the client's URB are in the client's address space,
 * so every access goes through umockdev_ioctl_data_resolve().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h> /* before linux/usbdevice_fs.h, for _IOR and co */
#include <linux/usbdevice_fs.h>

#include "../../dfuflash/dfuproto.h"
#include "usbhost.h"

/* USB 2.0 table 9-4 and 9-5. */
enum {
	REQ_GET_STATUS = 0,
	REQ_CLEAR_FEATURE = 1,
	REQ_SET_FEATURE = 3,
	REQ_GET_DESCRIPTOR = 6,
	REQ_GET_CONFIGURATION = 8,
	REQ_SET_CONFIGURATION = 9,
	REQ_GET_INTERFACE = 10,
	REQ_SET_INTERFACE = 11,
};
#define DT_DEVICE 1
#define DT_CONFIG 2
#define DT_STRING 3
#define USB_SPEED_FULL 2 /* enum usb_device_speed of the kernel */

/* One device node: the device while it has this device number. */
struct node {
	struct usbhost *h;
	struct usbdev *d;
	unsigned gen;
	unsigned devnum;
};

/* A URB answered and not yet reaped. */
struct done {
	UMockdevIoctlData *urb, *buf;
	int status;	/* 0 or -errno, as the kernel sets urb->status */
	int actual;	/* bytes of the data stage */
	int in;		/* device-to-host: data[] goes after the setup */
	uint8_t *data;
	int held;	/* not to be reaped before ready */
	struct timespec ready;
	struct done *next;
};

struct queue {
	struct done *head, *tail;
};

static void
done_free(struct done *x)
{
	g_object_unref(x->urb);
	g_object_unref(x->buf);
	g_free(x->data);
	g_free(x);
}

static void
queue_free(gpointer p)
{
	struct queue *q = p;

	while (q->head != NULL) {
		struct done *x = q->head;

		q->head = x->next;
		done_free(x);
	}
	g_free(q);
}

/* The answered URBs of this client (this open file). */
static struct queue *
client_queue(UMockdevIoctlClient *client)
{
	struct queue *q = g_object_get_data(G_OBJECT(client), "usbhost-urbs");

	if (q == NULL) {
		q = g_new0(struct queue, 1);
		g_object_set_data_full(G_OBJECT(client), "usbhost-urbs", q,
		    queue_free);
	}
	return q;
}

static uint64_t
ns_between(const struct timespec *a, const struct timespec *b)
{
	int64_t ns = (int64_t)(b->tv_sec - a->tv_sec) * 1000000000 +
	    (b->tv_nsec - a->tv_nsec);

	return ns > 0 ? (uint64_t)ns : 0;
}

static void
add_us(struct timespec *t, uint64_t us)
{
	uint64_t ns = (uint64_t)t->tv_nsec + us % 1000000 * 1000;

	t->tv_sec += (time_t)(us / 1000000 + ns / 1000000000);
	t->tv_nsec = (long)(ns % 1000000000);
}

/*
 * Before a request reaches the model: its clock moves on by the real
 * time since the last request ended, in whole milliseconds (the
 * transport's sleep_ms), the remainder carried to the next request.  A
 * host that waits bwPollTimeout for real is thus never early for the
 * model.
 */
static void
clock_before(struct usbdev *d)
{
	struct timespec now;
	uint64_t ns, ms;

	if (!d->clock_running)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = ns_between(&d->clock_last, &now) + d->clock_carry_ns;
	ms = ns / 1000000;
	d->clock_carry_ns = ns % 1000000;
	while (ms > 0) {
		uint32_t step = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;

		d->t.sleep_ms(d->t.ctx, step);
		ms -= step;
	}
}

/*
 * After a request: the model's clock runs on from now, or, for an answer
 * the model held for held_us, from when the host gets it (the model has
 * counted that time already).
 */
static void
clock_after(struct usbdev *d, uint64_t held_us)
{
	clock_gettime(CLOCK_MONOTONIC, &d->clock_last);
	add_us(&d->clock_last, held_us);
	d->clock_running = 1;
}

/*
 * After a model call: a device that the model says is gone leaves the
 * bus now (main() removes it from sysfs); one that it says comes back
 * (after DETACH, or the reset that loads option bytes) comes back in
 * DFU mode.
 */
static void
check_gone(struct usbdev *d)
{
	const struct dfl_model_stats *st = dfl_model_stats(d->m);

	if (!st->gone || !d->present)
		return;
	d->present = 0;
	d->event = st->comes_back ? EV_REPLUG_DFU : EV_UNPLUG;
}

/* A transport result as a negative errno of the URB. */
static int
xfer_errno(int rc)
{
	switch (rc) {
	case DFL_XFER_STALL:
		return -EPIPE;
	case DFL_XFER_GONE:
		return -ENODEV;
	case DFL_XFER_TIMEOUT:
		return -ETIMEDOUT;
	default:
		return -EPROTO;
	}
}

static int
copy_in(uint8_t *in, uint16_t wlength, const void *src, size_t n)
{
	if (n > wlength)
		n = wlength;
	memcpy(in, src, n);
	return (int)n;
}

/* 1 if the descriptors of d list alt setting alt. */
static int
has_alt(const struct usbdev *d, unsigned alt)
{
	const struct dfl_device *dev = dfl_model_device(d->m);

	for (unsigned i = 0; i < dev->nalts; i++)
		if (dev->alts[i].alt == alt)
			return 1;
	return 0;
}

static int
set_alt(struct usbdev *d, unsigned alt)
{
	int rc;

	clock_before(d);
	rc = d->t.set_alt(d->t.ctx, (uint8_t)alt);
	clock_after(d, 0);
	check_gone(d);
	return rc < 0 ? xfer_errno(rc) : 0;
}

/* GET_DESCRIPTOR (string): ours, else the model's (its error string). */
static int
get_string(struct usbdev *d, uint8_t index, uint8_t *in, uint16_t wlength)
{
	uint8_t desc[256];
	char text[128];
	int n, rc;

	n = usb_string_descriptor(d, index, desc);
	if (n < 0) {
		clock_before(d);
		rc = d->t.get_string(d->t.ctx, index, text, sizeof(text));
		clock_after(d, 0);
		check_gone(d);
		if (rc < 0)
			return xfer_errno(rc);
		/* bLength is one byte: at most 126 UTF-16 code units. */
		n = (int)strlen(text);
		if (n > 126)
			n = 126;
		desc[0] = (uint8_t)(2 + 2 * n);
		desc[1] = DT_STRING;
		for (int i = 0; i < n; i++) {
			desc[2 + 2 * i] = (uint8_t)text[i];
			desc[3 + 2 * i] = 0;
		}
		n = desc[0];
	}
	return copy_in(in, wlength, desc, (size_t)n);
}

/*
 * One control request: the bytes of its data stage (written to in for
 * device-to-host), or -EPIPE for a STALL, -ENODEV if the device is gone;
 * *held_us: how long the model held the answer (model.h, "Busy").
 */
static int
control(struct usbdev *d, const uint8_t *setup, const uint8_t *out,
    uint8_t *in, uint64_t *held_us)
{
	uint8_t rt = setup[0], req = setup[1];
	uint16_t value = (uint16_t)(setup[2] | setup[3] << 8);
	uint16_t index = (uint16_t)(setup[4] | setup[5] << 8);
	uint16_t wlength = (uint16_t)(setup[6] | setup[7] << 8);
	static const uint8_t zero2[2] = { 0, 0 };
	static const uint8_t self_powered[2] = { 1, 0 };
	int rc;

	switch (rt) {
	case 0x80: /* standard, device-to-host, device */
		if (req == REQ_GET_STATUS)
			return copy_in(in, wlength, self_powered, 2);
		if (req == REQ_GET_CONFIGURATION) {
			static const uint8_t one = 1;

			return copy_in(in, wlength, &one, 1);
		}
		if (req != REQ_GET_DESCRIPTOR)
			return -EPIPE;
		switch (value >> 8) {
		case DT_DEVICE:
			return copy_in(in, wlength, d->desc, 18);
		case DT_CONFIG:
			if ((value & 0xff) != 0)
				return -EPIPE;
			return copy_in(in, wlength, d->desc + 18,
			    d->desc_len - 18);
		case DT_STRING:
			return get_string(d, (uint8_t)value, in, wlength);
		default:
			/* A full-speed-only device stalls DEVICE_QUALIFIER. */
			return -EPIPE;
		}
	case 0x81: /* standard, device-to-host, interface */
		if (index != 0)
			return -EPIPE;
		if (req == REQ_GET_STATUS)
			return copy_in(in, wlength, zero2, 2);
		if (req == REQ_GET_INTERFACE) {
			/* The model keeps the alt; the host the last set. */
			uint8_t alt = (uint8_t)d->alt;

			return copy_in(in, wlength, &alt, 1);
		}
		return -EPIPE;
	case 0x82: /* standard, device-to-host, endpoint */
		if (req == REQ_GET_STATUS && (index & 0x7f) == 0)
			return copy_in(in, wlength, zero2, 2);
		return -EPIPE;
	case 0x00: /* standard, host-to-device, device */
		if (req == REQ_SET_CONFIGURATION && value <= 1)
			return 0;
		return -EPIPE;
	case 0x01: /* standard, host-to-device, interface */
		if (req != REQ_SET_INTERFACE || index != 0 ||
		    !has_alt(d, value))
			return -EPIPE;
		if ((rc = set_alt(d, value)) == 0)
			d->alt = value;
		return rc;
	case 0x21: /* class, host-to-device, interface: DFU */
		if (index != 0)
			return -EPIPE;
		clock_before(d);
		rc = d->t.out(d->t.ctx, req, value, out, wlength);
		clock_after(d, 0);
		check_gone(d);
		return rc < 0 ? xfer_errno(rc) : rc;
	case 0xa1: /* class, device-to-host, interface: DFU */
		if (index != 0)
			return -EPIPE;
		/* No timeout: the host's own runs out (DISCARDURB) or not. */
		clock_before(d);
		rc = d->t.in(d->t.ctx, req, value, in, wlength, UINT32_MAX);
		*held_us = dfl_model_held_us(d->m);
		clock_after(d, *held_us);
		check_gone(d);
		return rc < 0 ? xfer_errno(rc) : rc;
	default:
		return -EPIPE;
	}
}

static double
since_start(const struct usbhost *h)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)ns_between(&h->start, &now) / 1e9;
}

/* Up to 8 bytes in brackets: DfuSe commands, GETSTATUS answers. */
static void
trace_bytes(FILE *fp, const uint8_t *p, int n)
{
	if (n <= 0 || n > 8)
		return;
	for (int i = 0; i < n; i++)
		fprintf(fp, "%s%02x", i == 0 ? " [" : " ", p[i]);
	fputc(']', fp);
}

/*
 * One --trace line for a control URB: bmRequestType bRequest wValue
 * wIndex wLength [OUT data] -> result [IN data].
 */
static void
trace_urb(const struct node *n, const uint8_t *setup, const uint8_t *data,
    int rc)
{
	FILE *fp = n->h->trace;
	int in = (setup[0] & 0x80) != 0;
	uint16_t wlength = (uint16_t)(setup[6] | setup[7] << 8);

	if (fp == NULL)
		return;
	fprintf(fp, "%.6f 1-%u dev %u: %02x %02x %02x%02x %02x%02x %u",
	    since_start(n->h), n->d->port, n->devnum, setup[0], setup[1],
	    setup[3], setup[2], setup[5], setup[4], wlength);
	if (!in)
		trace_bytes(fp, data, wlength);
	if (rc == -EPIPE)
		fputs(" -> STALL", fp);
	else if (rc < 0)
		fprintf(fp, " -> %s", strerrorname_np(-rc));
	else
		fprintf(fp, " -> %d", rc);
	if (in)
		trace_bytes(fp, data, rc);
	fputc('\n', fp);
}

static void
trace_ioctl(const struct node *n, const char *what, int err)
{
	if (n->h->trace == NULL)
		return;
	fprintf(n->h->trace, "%.6f 1-%u dev %u: %s -> %s\n",
	    since_start(n->h), n->d->port, n->devnum, what,
	    err == 0 ? "0" : strerrorname_np(err));
}

/* SUBMITURB: run the request now, queue the answer for REAPURB. */
static void
submit(struct node *n, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
	struct usbdev *d = n->d;
	UMockdevIoctlData *urbd, *bufd;
	struct usbdevfs_urb *urb;
	struct done *x;
	struct queue *q;
	uint16_t wlength;
	uint64_t held_us = 0;
	struct timespec now;
	uint8_t *in;
	int rc;

	urbd = umockdev_ioctl_data_resolve(arg, 0, sizeof(*urb), NULL);
	if (urbd == NULL) {
		umockdev_ioctl_client_complete(client, -1, EFAULT);
		return;
	}
	urb = (struct usbdevfs_urb *)urbd->data;
	/* The device has the default control pipe only. */
	if (urb->type != USBDEVFS_URB_TYPE_CONTROL || urb->endpoint != 0 ||
	    urb->buffer_length < 8) {
		g_object_unref(urbd);
		umockdev_ioctl_client_complete(client, -1, EINVAL);
		return;
	}
	bufd = umockdev_ioctl_data_resolve(urbd,
	    G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
	    (gsize)urb->buffer_length, NULL);
	if (bufd == NULL) {
		g_object_unref(urbd);
		umockdev_ioctl_client_complete(client, -1, EFAULT);
		return;
	}
	wlength = (uint16_t)(bufd->data[6] | bufd->data[7] << 8);
	d->control_transfers++;
	if ((size_t)urb->buffer_length < 8u + wlength) {
		rc = -EINVAL;
	} else if (!d->present || d->gen != n->gen) {
		rc = -ENODEV;
	} else {
		in = g_malloc0((gsize)wlength + 1);
		rc = control(d, bufd->data, bufd->data + 8, in, &held_us);
		if (rc >= 0 || rc == -EPIPE) {
			x = g_new0(struct done, 1);
			/*
			 * A device that holds an answer is busy until then:
			 * a request after a DISCARDURB waits for that too.
			 */
			clock_gettime(CLOCK_MONOTONIC, &now);
			x->ready = now;
			add_us(&x->ready, held_us);
			if (ns_between(&x->ready, &d->held_until) > 0)
				x->ready = d->held_until;
			if (ns_between(&now, &x->ready) > 0) {
				d->held++;
				x->held = 1;
				d->held_until = x->ready;
			}
			x->urb = urbd;
			x->buf = bufd;
			x->status = rc < 0 ? rc : 0;
			x->actual = rc < 0 ? 0 : rc;
			x->in = (bufd->data[0] & 0x80) != 0;
			x->data = in;
			trace_urb(n, bufd->data, x->in ? in : bufd->data + 8,
			    rc);
			q = client_queue(client);
			if (q->tail != NULL)
				q->tail->next = x;
			else
				q->head = x;
			q->tail = x;
			umockdev_ioctl_client_complete(client, 0, 0);
			return;
		}
		g_free(in);
	}
	/* Not submitted: the device is gone (or the URB is malformed). */
	trace_urb(n, bufd->data, bufd->data + 8, rc);
	g_object_unref(bufd);
	g_object_unref(urbd);
	umockdev_ioctl_client_complete(client, -1, -rc);
}

/* 1 if x may be reaped now: not held, or held long enough. */
static int
ready(struct done *x)
{
	struct timespec now;

	if (!x->held)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < x->ready.tv_sec || (now.tv_sec == x->ready.tv_sec &&
	    now.tv_nsec < x->ready.tv_nsec))
		return 0;
	x->held = 0;
	return 1;
}

/* REAPURB(NDELAY): hand back the oldest answered URB of this client. */
static void
reap(UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
	struct queue *q = client_queue(client);
	struct done *x = q->head, *prev = NULL;
	struct usbdevfs_urb *urb;
	UMockdevIoctlData *ptr;

	while (x != NULL && !ready(x)) {
		prev = x;
		x = x->next;
	}
	if (x == NULL) {
		/* REAPURB would block here; a held URB is never that long. */
		umockdev_ioctl_client_complete(client, -1, EAGAIN);
		return;
	}
	ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(void *), NULL);
	if (ptr == NULL) {
		umockdev_ioctl_client_complete(client, -1, EFAULT);
		return;
	}
	if (prev != NULL)
		prev->next = x->next;
	else
		q->head = x->next;
	if (q->tail == x)
		q->tail = prev;
	urb = (struct usbdevfs_urb *)x->urb->data;
	urb->status = x->status;
	urb->actual_length = x->actual;
	if (x->in && x->actual > 0)
		memcpy(x->buf->data + 8, x->data, (size_t)x->actual);
	umockdev_ioctl_data_set_ptr(ptr, 0, x->urb);
	g_object_unref(ptr);
	done_free(x);
	umockdev_ioctl_client_complete(client, 0, 0);
}

/*
 * DISCARDURB: a URB still held is given up (reaped at once, -ENOENT);
 * any other has completed already, and the kernel then says EINVAL.
 */
static void
discard(struct usbdev *d, UMockdevIoctlClient *client,
    UMockdevIoctlData *arg)
{
	struct queue *q = client_queue(client);
	UMockdevIoctlData *urbd;
	struct done *x;

	urbd = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb),
	    NULL);
	if (urbd == NULL) {
		umockdev_ioctl_client_complete(client, -1, EFAULT);
		return;
	}
	for (x = q->head; x != NULL; x = x->next)
		if (x->urb->client_addr == urbd->client_addr && x->held)
			break;
	g_object_unref(urbd);
	if (x == NULL) {
		umockdev_ioctl_client_complete(client, -1, EINVAL);
		return;
	}
	d->discarded++;
	x->held = 0;
	x->status = -ENOENT;
	x->actual = 0;
	umockdev_ioctl_client_complete(client, 0, 0);
}

/* An ioctl whose argument points at a small struct: its bytes, or NULL. */
static UMockdevIoctlData *
arg_struct(UMockdevIoctlData *arg, gsize len)
{
	return umockdev_ioctl_data_resolve(arg, 0, len, NULL);
}

/* USBDEVFS_RESET: a USB bus reset through the model. */
static int
reset(struct node *n)
{
	struct usbdev *d = n->d;

	/*
	 * A run-time device that was not detached re-enumerates as it was:
	 * the kernel keeps the handle and the ioctl succeeds.
	 */
	if (dfl_model_stats(d->m)->state == DFU_STATE_APP_IDLE)
		return 0;
	clock_before(d);
	d->t.reset(d->t.ctx);
	clock_after(d, 0);
	check_gone(d);
	/*
	 * Otherwise it comes back as something else (DFU mode, or the
	 * application) or not at all: the kernel then reports ENODEV, which
	 * libusb_reset_device() turns into LIBUSB_ERROR_NOT_FOUND.
	 */
	return ENODEV;
}

/* The usbfs ioctls answered here, by name, for --trace. */
static const char *
ioctl_name(gulong request)
{
	switch (request) {
	case USBDEVFS_GET_CAPABILITIES: return "GET_CAPABILITIES";
	case USBDEVFS_CLAIMINTERFACE: return "CLAIMINTERFACE";
	case USBDEVFS_RELEASEINTERFACE: return "RELEASEINTERFACE";
	case USBDEVFS_DISCONNECT_CLAIM: return "DISCONNECT_CLAIM";
	case USBDEVFS_SETINTERFACE: return "SETINTERFACE";
	case USBDEVFS_SETCONFIGURATION: return "SETCONFIGURATION";
	case USBDEVFS_RESET: return "RESET";
	case USBDEVFS_GETDRIVER: return "GETDRIVER";
	case USBDEVFS_IOCTL: return "IOCTL";
	case USBDEVFS_CONNECTINFO: return "CONNECTINFO";
	case USBDEVFS_GET_SPEED: return "GET_SPEED";
	case USBDEVFS_CLEAR_HALT: return "CLEAR_HALT";
	case USBDEVFS_RESETEP: return "RESETEP";
	default: return NULL;
	}
}

/* Every ioctl but the URB ones: its errno (0 for success), *res. */
static int
other_ioctl(struct node *n, gulong request, UMockdevIoctlData *arg,
    long *res)
{
	struct usbdev *d = n->d;
	UMockdevIoctlData *s;
	int err = 0;

	switch (request) {
	case USBDEVFS_GET_CAPABILITIES:
		if ((s = arg_struct(arg, sizeof(uint32_t))) == NULL)
			return EFAULT;
		*(uint32_t *)s->data = USBDEVFS_CAP_ZERO_PACKET |
		    USBDEVFS_CAP_BULK_CONTINUATION |
		    USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
		    USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
		g_object_unref(s);
		return 0;
	case USBDEVFS_CLAIMINTERFACE:
	case USBDEVFS_RELEASEINTERFACE:
	case USBDEVFS_DISCONNECT_CLAIM:
		/* Each argument starts with the interface number. */
		if ((s = arg_struct(arg, sizeof(unsigned))) == NULL)
			return EFAULT;
		if (*(unsigned *)s->data != 0)
			err = request == USBDEVFS_RELEASEINTERFACE ? EINVAL :
			    ENOENT;
		g_object_unref(s);
		return err;
	case USBDEVFS_SETINTERFACE: {
		struct usbdevfs_setinterface si;

		if ((s = arg_struct(arg, sizeof(si))) == NULL)
			return EFAULT;
		memcpy(&si, s->data, sizeof(si));
		g_object_unref(s);
		/* The kernel checks the descriptors before the device. */
		if (si.interface != 0 || !has_alt(d, si.altsetting))
			return EINVAL;
		err = -set_alt(d, si.altsetting);
		if (err == 0)
			d->alt = si.altsetting;
		return err;
	}
	case USBDEVFS_SETCONFIGURATION:
		if ((s = arg_struct(arg, sizeof(int))) == NULL)
			return EFAULT;
		if (*(int *)s->data < -1 || *(int *)s->data > 1)
			err = EINVAL;
		g_object_unref(s);
		return err;
	case USBDEVFS_RESET:
		return reset(n);
	case USBDEVFS_GETDRIVER:
	case USBDEVFS_IOCTL:
		/* No kernel driver is bound to the DFU interface. */
		return ENODATA;
	case USBDEVFS_CONNECTINFO: {
		struct usbdevfs_connectinfo ci = { n->devnum, 0 };

		if ((s = arg_struct(arg, sizeof(ci))) == NULL)
			return EFAULT;
		memcpy(s->data, &ci, sizeof(ci));
		g_object_unref(s);
		return 0;
	}
	case USBDEVFS_GET_SPEED:
		*res = USB_SPEED_FULL;
		return 0;
	case USBDEVFS_CLEAR_HALT:
	case USBDEVFS_RESETEP:
		return 0;
	default:
		return ENOTTY;
	}
}

static gboolean
handle_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client,
    gpointer user_data)
{
	struct node *n = user_data;
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
	gulong request = umockdev_ioctl_client_get_request(client);
	const char *name = ioctl_name(request);
	char what[64];
	long res = 0;
	int err;

	(void)handler;
	pthread_mutex_lock(&n->h->lock);
	switch (request) {
	case USBDEVFS_SUBMITURB:
		submit(n, client, arg);
		goto out;
	case USBDEVFS_REAPURB:
	case USBDEVFS_REAPURBNDELAY:
		reap(client, arg);
		goto out;
	case USBDEVFS_DISCARDURB:
		discard(n->d, client, arg);
		goto out;
	default:
		break;
	}
	if (!n->d->present || n->d->gen != n->gen)
		err = ENODEV; /* the kernel's answer on a vanished device */
	else
		err = other_ioctl(n, request, arg, &res);
	if (name == NULL) {
		snprintf(what, sizeof(what), "ioctl 0x%lx", request);
		name = what;
	}
	if (request == USBDEVFS_SETINTERFACE && err != EFAULT) {
		UMockdevIoctlData *s = arg_struct(arg, 2 * sizeof(unsigned));

		if (s != NULL) {
			snprintf(what, sizeof(what), "SETINTERFACE %u",
			    ((unsigned *)s->data)[1]);
			name = what;
			g_object_unref(s);
		}
	}
	trace_ioctl(n, name, err);
	umockdev_ioctl_client_complete(client, err != 0 ? -1 : res, err);
out:
	pthread_mutex_unlock(&n->h->lock);
	return TRUE;
}

static void
node_free(gpointer data, GClosure *closure)
{
	(void)closure;
	g_free(data);
}

UMockdevIoctlBase *
usb_ioctl_handler_new(struct usbhost *h, struct usbdev *d)
{
	UMockdevIoctlBase *handler = umockdev_ioctl_base_new();
	struct node *n = g_new0(struct node, 1);

	n->h = h;
	n->d = d;
	n->gen = d->gen;
	n->devnum = d->devnum;
	g_signal_connect_data(handler, "handle-ioctl",
	    G_CALLBACK(handle_ioctl), n, node_free, 0);
	return handler;
}
