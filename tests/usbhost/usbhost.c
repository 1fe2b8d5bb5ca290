/*
 * usbhost - run a command with DFU devices of the device model on an
 * emulated USB bus (umockdev), so that the real libusb-1.0 in the
 * command, and the real tools above it, see them as hardware.
 *
 *   usbhost [--stats FILE] [--trace FILE] --device SPEC [--device SPEC]...
 *           -- COMMAND [ARG...]
 *
 * Exit status: COMMAND's (128 + N if a signal N ended it); 77 when
 * umockdev's preload library cannot be used; 99 on a host error.  The
 * interface is fixed by the lead's contract; README.md in this folder
 * describes it for users.
 *
 * How: umockdev creates a fake /sys and /dev in a temporary directory,
 * and its preload library (LD_PRELOAD) redirects the command's file
 * accesses there and forwards the ioctls on the device nodes to
 * handlers in this process (urb.c).  Sending uevents (a device leaving
 * or arriving while the command runs) needs this process itself to run
 * under the preload, so usbhost re-executes itself under it first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "usbhost.h"

/* USBHOST_PRELOAD overrides it: a umockdev elsewhere, or none (tests). */
#define PRELOAD_LIB "libumockdev-preload.so.0"
/* Set in the environment of the re-executed usbhost. */
#define REEXEC_MARK "USBHOST_UNDER_PRELOAD"
/* How long a detached device stays off the bus. */
#define REPLUG_DELAY_MS 50
#define EXIT_SKIP 77
#define EXIT_HOST 99
#define MAX_DEVICES 16
#define MAX_PORT 31

static volatile sig_atomic_t got_signal;
/* The testbed, so that die() removes its directory too. */
static UMockdevTestbed *testbed;

static void testbed_free(UMockdevTestbed *tb);

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("usbhost: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (testbed != NULL)
		testbed_free(testbed);
	exit(status);
}

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: usbhost [--stats file] [--trace file] --device spec "
	    "[--device spec]...\n"
	    "               -- command [arg ...]\n"
	    "spec: profile[,serial=S][,state=FILE][,fault=F]...[,runtime[=PID]]"
	    "\n      [,protocol=N][,runtime-protocol=N][,id=VVVV:PPPP]"
	    "\n      [,access=denied][,port=N][,transfer-size=N][,plug-after=MS]\n"
	    "profiles: %s\n", dfl_model_profile_names());
	exit(status);
}

static const char *
preload_lib(void)
{
	const char *lib = getenv("USBHOST_PRELOAD");

	return lib != NULL && *lib != '\0' ? lib : PRELOAD_LIB;
}

/*
 * Run under umockdev's preload: re-execute this program with it in
 * LD_PRELOAD.  An AddressSanitizer build (of usbhost or of the command)
 * refuses to start when libasan is not first in the library list; the
 * preload library is first, so that check is turned off.
 */
static void
run_under_preload(char **argv)
{
	const char *pre = getenv("LD_PRELOAD"), *asan = getenv("ASAN_OPTIONS");
	char *v;

	if (getenv(REEXEC_MARK) != NULL) {
		/* main() checks that it worked once the testbed exists. */
		unsetenv(REEXEC_MARK);
		return;
	}
	v = g_strdup_printf("%s%s%s", preload_lib(), pre != NULL && *pre ?
	    ":" : "", pre != NULL ? pre : "");
	setenv("LD_PRELOAD", v, 1);
	g_free(v);
	v = g_strdup_printf("%s%sverify_asan_link_order=0",
	    asan != NULL ? asan : "", asan != NULL && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", v, 1);
	g_free(v);
	setenv(REEXEC_MARK, "1", 1);
	execv("/proc/self/exe", argv);
	die(EXIT_HOST, "cannot re-execute itself: %s", strerror(errno));
}

/* ---- --device SPEC ------------------------------------------------------ */

static int
parse_uint(const char *s, int base, unsigned long max, unsigned long *v)
{
	char *end;

	if (*s == '\0' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*v = strtoul(s, &end, base);
	return errno != 0 || *end != '\0' || *v > max ? -1 : 0;
}

/* A string that sysfs and a descriptor can both hold as it is. */
static int
valid_serial(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 126)
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '\\')
			return 0;
	return 1;
}

static void
parse_spec(struct usbdev *d, unsigned index, const char *spec)
{
	char **kv = g_strsplit(spec, ",", -1), err[512];
	unsigned long v;

	d->index = index;
	d->spec = spec;
	d->transfer_size = -1;
	d->runtime_pid = 0x5740;
	d->protocol = d->runtime_protocol = -1;
	d->id_vid = d->id_pid = -1;
	d->port = index;
	if (kv[0] == NULL || (d->m = dfl_model_new(kv[0])) == NULL)
		die(EXIT_HOST, "--device %s: unknown profile '%s' (%s)", spec,
		    kv[0] != NULL ? kv[0] : "", dfl_model_profile_names());
	d->profile = g_strdup(kv[0]);
	dfl_model_transport(d->m, &d->t);
	for (char **p = kv + 1; *p != NULL; p++) {
		char *key = *p, *val = strchr(key, '=');

		if (val != NULL)
			*val++ = '\0';
		if (strcmp(key, "serial") == 0 && val != NULL) {
			if (!valid_serial(val))
				die(EXIT_HOST, "--device %s: serial must be 1 "
				    "to 126 printable ASCII characters, no "
				    "backslash", spec);
			g_free(d->serial);
			d->serial = g_strdup(val);
		} else if (strcmp(key, "state") == 0 && val != NULL &&
		    *val != '\0') {
			g_free(d->state);
			d->state = g_strdup(val);
		} else if (strcmp(key, "fault") == 0 && val != NULL) {
			if (strcmp(val, "runtime") == 0)
				die(EXIT_HOST, "--device %s: use the key "
				    "runtime, not fault=runtime", spec);
			if (dfl_model_fault(d->m, val, err, sizeof(err)) != 0)
				die(EXIT_HOST, "--device %s: fault=%s", spec,
				    err);
		} else if (strcmp(key, "runtime") == 0) {
			if (val != NULL) {
				if (strncmp(val, "0x", 2) == 0)
					val += 2;
				if (parse_uint(val, 16, 0xffff, &v) != 0)
					die(EXIT_HOST, "--device %s: runtime="
					    "%s: expected a hex product ID",
					    spec, val);
				d->runtime_pid = (uint16_t)v;
			}
			d->runtime = 1;
		} else if ((strcmp(key, "protocol") == 0 ||
		    strcmp(key, "runtime-protocol") == 0) && val != NULL) {
			if (parse_uint(val, 10, 255, &v) != 0)
				die(EXIT_HOST, "--device %s: %s=%s: expected "
				    "0 to 255", spec, key, val);
			if (key[0] == 'p')
				d->protocol = (int)v;
			else
				d->runtime_protocol = (int)v;
		} else if (strcmp(key, "id") == 0 && val != NULL) {
			char *colon = strchr(val, ':');
			unsigned long p2;

			if (colon == NULL)
				die(EXIT_HOST, "--device %s: id=%s: expected "
				    "VVVV:PPPP in hex", spec, val);
			*colon = '\0';
			if (parse_uint(val, 16, 0xffff, &v) != 0 ||
			    parse_uint(colon + 1, 16, 0xffff, &p2) != 0)
				die(EXIT_HOST, "--device %s: id=%s:%s: expected "
				    "VVVV:PPPP in hex", spec, val, colon + 1);
			d->id_vid = (int)v;
			d->id_pid = (int)p2;
		} else if (strcmp(key, "access") == 0 && val != NULL &&
		    strcmp(val, "denied") == 0) {
			d->access_denied = 1;
		} else if (strcmp(key, "port") == 0 && val != NULL) {
			if (parse_uint(val, 10, MAX_PORT, &v) != 0 || v == 0)
				die(EXIT_HOST, "--device %s: port=%s: expected "
				    "1 to %d", spec, val, MAX_PORT);
			d->port = (unsigned)v;
		} else if (strcmp(key, "plug-after") == 0 && val != NULL) {
			if (parse_uint(val, 10, 600000, &v) != 0 || v == 0)
				die(EXIT_HOST, "--device %s: plug-after=%s: "
				    "expected 1 to 600000 ms", spec, val);
			d->plug_after_ms = (unsigned)v;
		} else if (strcmp(key, "transfer-size") == 0 && val != NULL) {
			if (parse_uint(val, 10, 4096, &v) != 0)
				die(EXIT_HOST, "--device %s: transfer-size=%s: "
				    "expected 0 to 4096", spec, val);
			d->transfer_size = (int)v;
			/* The model cannot run with 0: only the descriptor
			 * says it. */
			if (v > 0)
				dfl_model_set_transfer_size(d->m, (uint16_t)v);
		} else {
			die(EXIT_HOST, "--device %s: unknown key '%s' (serial=, "
			    "state=, fault=, runtime[=PID], protocol=, "
			    "runtime-protocol=, id=, access=denied, port=, "
			    "transfer-size=, plug-after=)", spec, key);
		}
	}
	g_strfreev(kv);
	if (d->serial == NULL) {
		int utf8;
		const char *own = dfl_model_serial(d->m, &utf8);

		/* The profile's own (the GD32VF103's "3CBJ"), else one per
		 * device. */
		d->serial = own != NULL ? g_strdup(own) :
		    g_strdup_printf("DFU%09u", index);
	}
	if (d->runtime &&
	    dfl_model_fault(d->m, "runtime", err, sizeof(err)) != 0)
		die(EXIT_HOST, "--device %s: %s", spec, err);
	snprintf(d->syspath, sizeof(d->syspath), "/sys/devices/usb%u/%u-%u",
	    USBHOST_BUS, USBHOST_BUS, d->port);
}

/* ---- state files -------------------------------------------------------- */

/* state=FILE: the main memory, if the file exists. */
static void
load_state(struct usbdev *d)
{
	uint32_t base, size;
	uint8_t *mem = dfl_model_memory(d->m, &base, &size);
	gchar *buf;
	gsize len;
	GError *err = NULL;

	if (d->state == NULL || access(d->state, F_OK) != 0)
		return;
	if (!g_file_get_contents(d->state, &buf, &len, &err))
		die(EXIT_HOST, "%s: %s", d->state, err->message);
	if (len != size)
		die(EXIT_HOST, "%s: %zu bytes, but the memory of %s is %u "
		    "bytes", d->state, (size_t)len, d->profile, size);
	memcpy(mem, buf, size);
	g_free(buf);
}

/* Written to a temporary file and renamed, so it is never half written. */
static int
save_state(struct usbdev *d)
{
	uint32_t base, size;
	const uint8_t *mem = dfl_model_memory(d->m, &base, &size);
	GError *err = NULL;

	if (d->state == NULL)
		return 0;
	if (!g_file_set_contents(d->state, (const gchar *)mem, size, &err)) {
		fprintf(stderr, "usbhost: %s: %s\n", d->state, err->message);
		g_error_free(err);
		return -1;
	}
	return 0;
}

/* ---- the bus ------------------------------------------------------------ */

/*
 * The root hub: with it libusb finds each device's parent and port
 * ("1-PORT") and does not rescan.  Its node has no ioctl handler.
 */
static const char root_hub_record[] =
	"P: /devices/usb1\n"
	"N: bus/usb/001/001\n"
	"E: SUBSYSTEM=usb\n"
	"E: DEVTYPE=usb_device\n"
	"E: DRIVER=usb\n"
	"E: BUSNUM=001\n"
	"E: DEVNUM=001\n"
	"E: DEVNAME=/dev/bus/usb/001/001\n"
	"E: PRODUCT=1d6b/2/600\n"
	"A: busnum=1\\n\n"
	"A: devnum=1\\n\n"
	"A: speed=480\\n\n"
	"A: bConfigurationValue=1\\n\n"
	"A: idVendor=1d6b\\n\n"
	"A: idProduct=0002\\n\n"
	"A: maxchild=31\\n\n"
	/* 1d6b:0002 hub, one configuration, one interrupt endpoint. */
	"H: descriptors=12010002090001406b1d020000060000000109021900010100e0"
	"000904000001090000000705810304000c\n";

static void
hex_append(GString *s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(s, "%02x", p[i]);
}

/* The umockdev record of d as it is now (under the lock). */
static gchar *
device_record(const struct usbdev *d)
{
	GString *s = g_string_new(NULL);
	const uint8_t *dd = d->desc;

	g_string_append_printf(s, "P: /devices/usb%u/%u-%u\n", USBHOST_BUS,
	    USBHOST_BUS, d->port);
	g_string_append_printf(s, "N: bus/usb/%03u/%03u\n", USBHOST_BUS,
	    d->devnum);
	g_string_append_printf(s, "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\n"
	    "E: DRIVER=usb\nE: BUSNUM=%03u\nE: DEVNUM=%03u\n"
	    "E: DEVNAME=/dev/bus/usb/%03u/%03u\n"
	    "E: PRODUCT=%x/%x/%x\n", USBHOST_BUS, d->devnum, USBHOST_BUS,
	    d->devnum, dd[8] | dd[9] << 8, dd[10] | dd[11] << 8,
	    dd[12] | dd[13] << 8);
	g_string_append_printf(s, "A: busnum=%u\\n\nA: devnum=%u\\n\n"
	    "A: devpath=%u\\n\nA: speed=12\\n\nA: bConfigurationValue=1\\n\n"
	    "A: bNumConfigurations=1\\n\nA: bMaxPacketSize0=64\\n\n"
	    "A: idVendor=%04x\\n\nA: idProduct=%04x\\n\nA: bcdDevice=%04x\\n\n",
	    USBHOST_BUS, d->devnum, d->port, dd[8] | dd[9] << 8,
	    dd[10] | dd[11] << 8, dd[12] | dd[13] << 8);
	g_string_append_printf(s, "A: manufacturer=%s\\n\nA: product=%s\\n\n"
	    "A: serial=%s\\n\n", usb_string(d, USB_STR_MANUFACTURER),
	    usb_string(d, USB_STR_PRODUCT), d->serial);
	g_string_append(s, "H: descriptors=");
	hex_append(s, d->desc, d->desc_len);
	g_string_append_c(s, '\n');
	return g_string_free(s, FALSE);
}

/*
 * access=denied: the node is made mode 0000.  That stops a user who is
 * not root; root passes it by CAP_DAC_OVERRIDE, which run_command() takes
 * from the command when usbhost runs as root.  open() then fails with
 * EACCES in the kernel, exactly as on a system without a udev rule.
 */
static void
deny_access(struct usbhost *h, const struct usbdev *d)
{
	gchar *root = umockdev_testbed_get_root_dir(h->tb);
	gchar *path = g_strdup_printf("%s/dev/bus/usb/%03u/%03u", root,
	    USBHOST_BUS, d->devnum);

	if (chmod(path, 0) != 0)
		die(EXIT_HOST, "%s: %s", path, strerror(errno));
	g_free(path);
	g_free(root);
}

/*
 * 1 when no process of process group pgrp is still running: each is
 * stopped, a zombie, or gone (from /proc/PID/stat: "PID (COMM) STATE
 * PPID PGRP ...", COMM possibly holding spaces and parentheses).
 */
static int
group_stopped(pid_t pgrp)
{
	DIR *dir = opendir("/proc");
	struct dirent *e;
	int stopped = 1;

	if (dir == NULL)
		return 1;
	while (stopped && (e = readdir(dir)) != NULL) {
		char path[300], buf[512], state, *end;
		const char *p;
		long grp;
		ssize_t n;
		int fd;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* ") STATE PPID PGRP" */
		if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' ||
		    p[2] == '\0' || p[3] != ' ')
			continue;
		state = p[2];
		errno = 0;
		(void)strtol(p + 4, &end, 10);
		grp = strtol(end, &end, 10);
		if (errno != 0 || *end != ' ')
			continue;
		if (grp == (long)pgrp && strchr("TtZX", state) == NULL)
			stopped = 0;
	}
	closedir(dir);
	return stopped;
}

/*
 * Stop the command, and every process it started, while a uevent goes
 * out.  umockdev 0.17.16 ends this process (its uevent sender gives up)
 * when a client closes its uevent socket between the sender's connect()
 * and sendmsg(), which a command that exits just as its device leaves
 * does now and then.  A stopped process closes nothing; one that has
 * ended has closed everything, and the sender skips a socket it cannot
 * connect to.  The command is the leader of its own process group
 * (run_command()).  Returns 1 when it was stopped (resume it with
 * release_command()).
 */
static int
hold_command(struct usbhost *h)
{
	int st;

	if (h->cmd_pid <= 0 || h->cmd_done)
		return 0;
	if (kill(-h->cmd_pid, SIGSTOP) != 0)
		return 0;
	/*
	 * Wait until /proc shows every member stopped (up to 1 s), without
	 * blocking in waitpid(): a member may be in a tracing stop that is
	 * never reported to us (LeakSanitizer's tracer at exit).
	 */
	for (int i = 0; i < 1000; i++) {
		if (waitpid(h->cmd_pid, &st, WNOHANG) == h->cmd_pid) {
			h->cmd_done = 1;
			h->cmd_status = st;
			break;
		}
		if (group_stopped(h->cmd_pid))
			return 1;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	/* It ended, or did not stop in time: let the rest go on. */
	kill(-h->cmd_pid, SIGCONT);
	return 0;
}

static void
release_command(struct usbhost *h, int held)
{
	if (held)
		kill(-h->cmd_pid, SIGCONT);
}

/* Put d on the bus at its current device number. */
static void
plug(struct usbhost *h, struct usbdev *d)
{
	gchar node[32], *rec;
	UMockdevIoctlBase *handler;
	GError *err = NULL;
	int held, ok;

	snprintf(node, sizeof(node), "/dev/bus/usb/%03u/%03u", USBHOST_BUS,
	    d->devnum);
	pthread_mutex_lock(&h->lock);
	handler = usb_ioctl_handler_new(h, d);
	rec = device_record(d);
	pthread_mutex_unlock(&h->lock);
	/* The handler first, so that an open() after the uevent works. */
	if (!umockdev_testbed_attach_ioctl(h->tb, node, handler, &err))
		die(EXIT_HOST, "%s: %s", node, err->message);
	g_object_unref(handler);
	/* Adding the device sends its "add" uevent. */
	held = hold_command(h);
	ok = umockdev_testbed_add_from_string(h->tb, rec, &err);
	release_command(h, held);
	if (!ok)
		die(EXIT_HOST, "%s: %s", d->syspath, err->message);
	g_free(rec);
	if (d->access_denied)
		deny_access(h, d);
}

static void
unplug(struct usbhost *h, struct usbdev *d)
{
	int held = hold_command(h);

	umockdev_testbed_uevent(h->tb, d->syspath, "remove");
	/* Gone from sysfs too before the command runs on. */
	umockdev_testbed_remove_device(h->tb, d->syspath);
	release_command(h, held);
}

static int
time_reached(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec ||
	    (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/*
 * The next free device number, as the kernel hands them out: counting up
 * to 127, then again from 2 (1 is the root hub), skipping those in use.
 */
static unsigned
next_devnum(struct usbhost *h)
{
	for (;;) {
		unsigned n = h->next_devnum, used = 0;

		h->next_devnum = n >= 127 ? 2 : n + 1;
		for (unsigned i = 0; i < h->ndevs; i++)
			used |= h->devs[i].devnum == n;
		if (!used)
			return n;
	}
}

/*
 * What the ioctl handlers asked for: a device that left goes from sysfs
 * (with a "remove" uevent); a detached one, or one that reset after its
 * option bytes were written, comes back REPLUG_DELAY_MS later in DFU mode
 * with a new device number, on the same port.
 */
static void
bus_events(struct usbhost *h)
{
	for (unsigned i = 0; i < h->ndevs; i++) {
		struct usbdev *d = &h->devs[i];
		enum bus_event ev;
		int replug = 0;

		pthread_mutex_lock(&h->lock);
		ev = d->event;
		if (ev == EV_UNPLUG) {
			d->event = EV_NONE;
		} else if (ev == EV_REPLUG_DFU) {
			d->event = EV_REPLUG_WAIT;
			clock_gettime(CLOCK_MONOTONIC, &d->replug_at);
			d->replug_at.tv_nsec += REPLUG_DELAY_MS * 1000000L;
			if (d->replug_at.tv_nsec >= 1000000000L) {
				d->replug_at.tv_sec++;
				d->replug_at.tv_nsec -= 1000000000L;
			}
		} else if (ev == EV_PLUG_LATER && time_reached(&d->replug_at)) {
			d->event = EV_NONE;
			d->devnum = next_devnum(h);
			d->present = 1;
			replug = 1;
		} else if (ev == EV_REPLUG_WAIT && time_reached(&d->replug_at)) {
			d->event = EV_NONE;
			d->t.reenumerate(d->t.ctx, 0);
			d->gen++;
			d->devnum = next_devnum(h);
			d->alt = 0;
			d->reenumerated++;
			usb_build_descriptors(d);
			d->present = 1;
			replug = 1;
		}
		pthread_mutex_unlock(&h->lock);
		if (ev == EV_UNPLUG || ev == EV_REPLUG_DFU)
			unplug(h, d);
		if (replug)
			plug(h, d);
	}
}

/* ---- the command -------------------------------------------------------- */

/* Take the DAC override capabilities from this (root) process for good. */
static int
drop_dac_override(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
		0 };
	struct __user_cap_data_struct data[2];
	const unsigned caps[] = { CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH };

	if (syscall(SYS_capget, &hdr, data) != 0)
		return -1;
	for (unsigned i = 0; i < 2; i++) {
		uint32_t bit = 1u << (caps[i] % 32);

		/* The bounding set, so that exec does not give them back. */
		if (prctl(PR_CAPBSET_DROP, caps[i], 0, 0, 0) != 0)
			return -1;
		data[caps[i] / 32].effective &= ~bit;
		data[caps[i] / 32].permitted &= ~bit;
		data[caps[i] / 32].inheritable &= ~bit;
	}
	if (syscall(SYS_capset, &hdr, data) != 0)
		return -1;
	/* Ambient capabilities would survive exec too (Linux 4.3+). */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return 0;
}

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* Run argv to its end, serving the bus meanwhile; its wait status. */
static int
run_command(struct usbhost *h, char **argv, int deny)
{
	struct sigaction sa;
	pid_t pid;
	int status, fwd = 0;

	pid = fork();
	if (pid < 0)
		die(EXIT_HOST, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* A group of its own, for hold_command(). */
		setpgid(0, 0);
		if (deny && geteuid() == 0 && drop_dac_override() != 0) {
			fprintf(stderr, "usbhost: access=denied: cannot drop "
			    "CAP_DAC_OVERRIDE: %s\n", strerror(errno));
			_exit(EXIT_HOST);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "usbhost: %s: %s\n", argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	/* Interrupted: pass it on to the command and still clean up. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	setpgid(pid, pid);
	h->cmd_pid = pid;
	for (;;) {
		pid_t r;

		if (h->cmd_done) {
			status = h->cmd_status;
			break;
		}
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			die(EXIT_HOST, "waitpid: %s", strerror(errno));
		if (got_signal != 0 && !fwd) {
			kill(-pid, got_signal);
			fwd = 1;
		}
		bus_events(h);
		/* Bus events are rare; 1 ms keeps a detach prompt. */
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return status;
}

/* ---- --stats ------------------------------------------------------------ */

static void
json_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < 0x20)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

static int
write_stats(struct usbhost *h, const char *path)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL) {
		fprintf(stderr, "usbhost: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fputs("[", fp);
	for (unsigned i = 0; i < h->ndevs; i++) {
		struct usbdev *d = &h->devs[i];
		const struct dfl_model_stats *st = dfl_model_stats(d->m);

		fputs(i == 0 ? "\n  {" : ",\n  {", fp);
		fputs("\"profile\":", fp);
		json_string(fp, d->profile);
		fputs(",\"serial\":", fp);
		json_string(fp, d->serial);
		fprintf(fp, ",\"path\":\"%u-%u\"", USBHOST_BUS, d->port);
		fprintf(fp, ",\"control_transfers\":%lu,\"requests\":%u,"
		    "\"time_us\":%llu,\"pages_erased\":%u,\"bytes_erased\":%llu,"
		    "\"bytes_written\":%llu,\"bytes_read\":%llu,\"left\":%s,"
		    "\"left_address\":%u,\"reenumerated\":%u,"
		    "\"mass_erases\":%u,\"stalls\":%u,\"held\":%lu,"
		    "\"discarded\":%lu,\"resets\":%u}",
		    d->control_transfers, st->requests,
		    (unsigned long long)st->time_us, st->pages_erased,
		    (unsigned long long)st->bytes_erased,
		    (unsigned long long)st->bytes_written,
		    (unsigned long long)st->bytes_read,
		    st->left ? "true" : "false", st->left_address,
		    d->reenumerated, st->mass_erases, st->stalls, d->held,
		    d->discarded, st->resets);
	}
	fputs("\n]\n", fp);
	if (fclose(fp) != 0) {
		fprintf(stderr, "usbhost: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/*
 * Drop the testbed, and its directory with it: umockdev removes it when
 * the testbed is finalized, which another reference (its worker thread
 * finishing with a client) can put off past our exit.
 */
static void
testbed_free(UMockdevTestbed *tb)
{
	gchar *root = umockdev_testbed_get_root_dir(tb);

	g_object_unref(tb);
	if (access(root, F_OK) == 0)
		nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	g_free(root);
}

/* ---- main --------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "stats", required_argument, NULL, 's' },
		{ "trace", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *specs[MAX_DEVICES], *stats = NULL, *trace = NULL;
	struct usbhost h;
	unsigned nspecs = 0;
	int c, status, deny = 0, failed = 0;
	GError *err = NULL;

	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (nspecs == MAX_DEVICES)
				die(EXIT_HOST, "at most %d devices",
				    MAX_DEVICES);
			specs[nspecs++] = optarg;
			break;
		case 'h':
			usage(0);
		case 's':
			stats = optarg;
			break;
		case 't':
			trace = optarg;
			break;
		default:
			usage(EXIT_HOST);
		}
	}
	if (nspecs == 0 || optind >= argc)
		usage(EXIT_HOST);

	/* Validate everything before re-executing and creating the bus. */
	memset(&h, 0, sizeof(h));
	h.devs = g_new0(struct usbdev, nspecs);
	h.ndevs = nspecs;
	for (unsigned i = 0; i < nspecs; i++) {
		parse_spec(&h.devs[i], i + 1, specs[i]);
		for (unsigned j = 0; j < i; j++)
			if (h.devs[j].port == h.devs[i].port)
				die(EXIT_HOST, "--device %s: port %u is "
				    "taken by --device %s", specs[i],
				    h.devs[i].port, specs[j]);
		load_state(&h.devs[i]);
		deny |= h.devs[i].access_denied;
	}
	run_under_preload(argv);

	if (trace != NULL) {
		if ((h.trace = fopen(trace, "w")) == NULL)
			die(EXIT_HOST, "%s: %s", trace, strerror(errno));
		setvbuf(h.trace, NULL, _IOLBF, 0);
	}
	pthread_mutex_init(&h.lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &h.start);
	h.tb = umockdev_testbed_new();
	/* True once a testbed exists, if the preload library is loaded. */
	testbed = h.tb;
	if (!umockdev_in_mock_environment())
		die(EXIT_SKIP, "skipped: %s could not be preloaded (Debian "
		    "package libumockdev0)", preload_lib());
	if (!umockdev_testbed_add_from_string(h.tb, root_hub_record, &err))
		die(EXIT_HOST, "root hub: %s", err->message);
	h.next_devnum = 2;
	for (unsigned i = 0; i < h.ndevs; i++) {
		struct usbdev *d = &h.devs[i];

		usb_build_descriptors(d);
		if (d->plug_after_ms > 0) {
			/* Plugged in by bus_events() once the time comes. */
			clock_gettime(CLOCK_MONOTONIC, &d->replug_at);
			d->replug_at.tv_sec += d->plug_after_ms / 1000;
			d->replug_at.tv_nsec += (long)(d->plug_after_ms %
			    1000) * 1000000L;
			if (d->replug_at.tv_nsec >= 1000000000L) {
				d->replug_at.tv_sec++;
				d->replug_at.tv_nsec -= 1000000000L;
			}
			d->event = EV_PLUG_LATER;
			continue;
		}
		d->devnum = next_devnum(&h);
		d->present = 1;
		plug(&h, d);
	}

	status = run_command(&h, argv + optind, deny);

	pthread_mutex_lock(&h.lock);
	for (unsigned i = 0; i < h.ndevs; i++)
		failed |= save_state(&h.devs[i]) != 0;
	if (stats != NULL)
		failed |= write_stats(&h, stats) != 0;
	pthread_mutex_unlock(&h.lock);
	/* The testbed's directory goes with it. */
	testbed = NULL;
	testbed_free(h.tb);
	if (h.trace != NULL && fclose(h.trace) != 0) {
		fprintf(stderr, "usbhost: --trace: %s\n", strerror(errno));
		failed = 1;
	}
	for (unsigned i = 0; i < h.ndevs; i++) {
		dfl_model_free(h.devs[i].m);
		g_free(h.devs[i].profile);
		g_free(h.devs[i].serial);
		g_free(h.devs[i].state);
	}
	g_free(h.devs);
	if (failed)
		return EXIT_HOST;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
