/*
 * dfuflash - program a USB DFU or DfuSe device from a .dfu file or a raw
 * binary, erasing only the pages the image covers.
 *
 * A device on USB (libusb, usb.h), chosen with -d, -S and -p (select.h),
 * or the built-in device model (--sim).  Everything is checked
 * (arguments, the whole file, the plan against the device's memory
 * layout) before the first request that changes the device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "dfuconv.h"
#include "dfufile.h"
#include "dfuimage.h"
#include "dfuproto.h"
#include "engine.h"
#include "events.h"
#include "list.h"
#include "model.h"
#include "record.h"
#include "select.h"
#include "usb.h"

/* PROGRESS_TEXT: --all on a pipe, a line per device and phase. */
enum progress_mode { PROGRESS_AUTO, PROGRESS_BAR, PROGRESS_JSON,
	PROGRESS_NONE, PROGRESS_TEXT };

/*
 * The most devices --sim PROFILE*N models: a hub station has 4 to 16
 * ports; 64 keeps the threads and memory (up to 2 MiB of flash each)
 * bounded.
 */
#define SIM_MAX 64

/* What an input is, from its content (sniff_input()), never its name. */
enum input_kind { INPUT_RAW, INPUT_DFUSE, INPUT_DFU, INPUT_ELF, INPUT_IHEX,
	INPUT_SREC };

/* --sim-plug N:IN[-OUT]: device N is plugged in IN ms after --watch
 * starts and pulled out at OUT (0: never). */
struct sim_plug {
	unsigned dev;
	uint32_t in_ms, out_ms;
};

/*
 * How the run on one device ended (without --all), for its result event;
 * the first error message printed, for the outcome's message; set once
 * the command line is read: --progress=json, so that a usage error found
 * later (bad_usage()) ends with a result event too.
 */
static struct dfl_outcome run_out;
static char first_error[1024];
static int json_result;

struct options {
	const char *file;	/* FW.dfu operand */
	const char *raw;	/* -D */
	const char *upload;	/* -U */
	int unprotect;
	int have_address, have_length;
	uint32_t address, length;	/* -s ADDR[:LEN] */
	uint8_t alt;			/* -a, once resolved */
	const char *alt_arg;		/* -a as given */
	int alt_set;
	int list, json;			/* -l, --json */
	struct dfl_match match;		/* -d, -S, -p */
	int wait;			/* -w */
	uint32_t wait_timeout;		/* --wait-timeout, seconds */
	int wait_timeout_set;
	uint32_t transfer_size;		/* --transfer-size */
	int format_dfu;
	unsigned flags;
	int detach;		/* -e */
	int reset;		/* -R */
	int start_set;
	uint32_t start;
	const char *start_opt;	/* "--start", or the -s ...:leave argument */
	struct dfl_keep *preserve;	/* --preserve */
	size_t npreserve;
	enum progress_mode progress;
	int quiet;
	int all;		/* --all */
	const char *sim;	/* --sim PROFILE[*N][:STATE] */
	char sim_profile[32];
	unsigned sim_count;	/* N; 0 for --sim PROFILE[:STATE] */
	const char *sim_state;	/* STATE, or with N the PREFIX */
	const char **faults;
	size_t nfaults;
	const char *trace;	/* --sim-trace */
	int raw_container;	/* --raw-container */
	int watch;		/* --watch */
	uint32_t watch_count;	/* --watch-count; 0: until a signal */
	const char *log_dir;	/* --log */
	char sha256[65];	/* of the input, for --log */
	struct sim_plug *plugs;	/* --sim-plug */
	size_t nplugs;
	int in_fd;		/* the file or -D, once open_input() ran */
	enum input_kind kind;
	/* A .dfu file operand as open_input() read it, and the read's
	 * result: load_file() uses it rather than read the file again. */
	struct dfu_file *in_file;
	int in_err;
};

enum {
	OPT_ALL = 256,
	OPT_FORCE,
	OPT_FORMAT,
	OPT_IGNORE_ID,
	OPT_JSON,
	OPT_LOG,
	OPT_MASS_ERASE,
	OPT_NO_LEAVE,
	OPT_PLAN,
	OPT_PRESERVE,
	OPT_PRESERVE_UNCOVERED,
	OPT_PROGRESS,
	OPT_RAW_CONTAINER,
	OPT_SIM,
	OPT_SIM_FAULT,
	OPT_SIM_PLUG,
	OPT_SIM_TRACE,
	OPT_SKIP_UNCHANGED,
	OPT_START,
	OPT_TRANSFER_SIZE,
	OPT_UNPROTECT,
	OPT_VERIFY,
	OPT_WAIT_TIMEOUT,
	OPT_WATCH,
	OPT_WATCH_COUNT,
};

static const struct option longopts[] = {
	{ "all",		no_argument,		NULL,	OPT_ALL },
	{ "alt",		required_argument,	NULL,	'a' },
	{ "detach",		no_argument,		NULL,	'e' },
	{ "device",		required_argument,	NULL,	'd' },
	{ "download",		required_argument,	NULL,	'D' },
	{ "force",		no_argument,		NULL,	OPT_FORCE },
	{ "format",		required_argument,	NULL,	OPT_FORMAT },
	{ "help",		no_argument,		NULL,	'h' },
	{ "ignore-id",		no_argument,		NULL,	OPT_IGNORE_ID },
	{ "json",		no_argument,		NULL,	OPT_JSON },
	{ "list",		no_argument,		NULL,	'l' },
	{ "log",		required_argument,	NULL,	OPT_LOG },
	{ "mass-erase",		no_argument,		NULL,	OPT_MASS_ERASE },
	{ "no-leave",		no_argument,		NULL,	OPT_NO_LEAVE },
	{ "path",		required_argument,	NULL,	'p' },
	{ "plan",		no_argument,		NULL,	OPT_PLAN },
	{ "preserve",		required_argument,	NULL,	OPT_PRESERVE },
	{ "preserve-uncovered",	no_argument,		NULL,
	  OPT_PRESERVE_UNCOVERED },
	{ "progress",		optional_argument,	NULL,	OPT_PROGRESS },
	{ "quiet",		no_argument,		NULL,	'q' },
	{ "raw-container",	no_argument,		NULL,	OPT_RAW_CONTAINER },
	{ "reset",		no_argument,		NULL,	'R' },
	{ "address",		required_argument,	NULL,	's' },
	{ "serial",		required_argument,	NULL,	'S' },
	{ "sim",		required_argument,	NULL,	OPT_SIM },
	{ "sim-fault",		required_argument,	NULL,	OPT_SIM_FAULT },
	{ "sim-plug",		required_argument,	NULL,	OPT_SIM_PLUG },
	{ "sim-trace",		required_argument,	NULL,	OPT_SIM_TRACE },
	{ "skip-unchanged",	no_argument,		NULL,	OPT_SKIP_UNCHANGED },
	{ "start",		required_argument,	NULL,	OPT_START },
	{ "transfer-size",	required_argument,	NULL,	OPT_TRANSFER_SIZE },
	{ "unprotect",		no_argument,		NULL,	OPT_UNPROTECT },
	{ "upload",		required_argument,	NULL,	'U' },
	{ "verify",		no_argument,		NULL,	OPT_VERIFY },
	{ "version",		no_argument,		NULL,	'V' },
	{ "wait",		no_argument,		NULL,	'w' },
	{ "wait-timeout",	required_argument,	NULL,	OPT_WAIT_TIMEOUT },
	{ "watch",		no_argument,		NULL,	OPT_WATCH },
	{ "watch-count",	required_argument,	NULL,	OPT_WATCH_COUNT },
	{ NULL,			0,			NULL,	0 }
};

static const char usage_text[] =
    "usage: dfuflash [-qw] [--all] [--ignore-id] [--mass-erase] [--no-leave]\n"
    "                [--watch [--watch-count n]] [--log dir]\n"
    "                [--plan] [--preserve range ...] [--preserve-uncovered]\n"
    "                [--progress[=bar|json|none]] [--skip-unchanged]\n"
    "                [--start address] [--verify] [device] [-a alt] file\n"
    "       dfuflash [options] [device] [-a alt] [--raw-container] -D file\n"
    "                -s address\n"
    "       dfuflash [-qRw] [device] [-a alt] [--format bin|dfu] -U file\n"
    "                -s address:length\n"
    "       dfuflash [-qw] [device] --unprotect\n"
    "       dfuflash [-qw] [device] -e\n"
    "       dfuflash -l [-w] [--json] [-d vid:pid[,vid:pid]] [-p path]\n"
    "                [-S serial] [--wait-timeout seconds] [--sim profile[*n]]\n"
    "       dfuflash -h | -V\n"
    "device: [-d vid:pid[,vid:pid]] [-p path] [-S serial]\n"
    "        [--transfer-size n] [--wait-timeout seconds]\n"
    "        | --sim profile[*n][:state] [--sim-fault [n:]spec]\n"
    "          [--sim-plug n:ms[-ms]] [--sim-trace file]\n"
    "\n"
    "Modes (the default flashes file: .dfu, ELF, Intel HEX or S-records):\n"
    "  -D, --download file            write a raw binary file at -s address\n"
    "  -U, --upload file              read -s address:length into file\n"
    "  --unprotect                    lift DfuSe read protection (erases all)\n"
    "  -e, --detach                   detach a run-time device into DFU mode\n"
    "  -l, --list                     list the DFU devices, in run-time or DFU mode\n"
    "Device:\n"
    "  -d, --device vid:pid[,...]     only these IDs (run-time[,DFU])\n"
    "  -p, --path path                only the device at this port (as -l shows)\n"
    "  -S, --serial serial            only the device with this serial number\n"
    "  -a, --alt alt                  alternate setting: number or name (default 0)\n"
    "  -w, --wait                     wait for a matching device to appear\n"
    "  --wait-timeout seconds         how long -w and a DETACH wait (default 10)\n"
    "  --transfer-size n              bytes per control transfer\n"
    "  --all                          flash every matching device at once\n"
    "  --watch                        flash each DFU device as it is plugged in\n"
    "  --watch-count n                --watch: stop after n boards\n"
    "  --log dir                      --all, --watch: a JSON record per board\n"
    "Download:\n"
    "  -s, --address address[:leave]  -D's address; :leave is --start it\n"
    "  --verify                       read back everything written and compare\n"
    "  --skip-unchanged               skip the pages that already match\n"
    "  --preserve range               keep these bytes (first-last or first+size)\n"
    "  --preserve-uncovered           keep the bytes the image leaves in its pages\n"
    "  --mass-erase                   erase all flash (= -s addr:mass-erase:force)\n"
    "  --ignore-id                    flash a file made for another VID:PID\n"
    "  --raw-container                -D: write a .dfu/ELF/HEX file as bytes\n"
    "  --plan                         print the erases and writes; send none\n"
    "  --start address                leave DFU mode to run this address\n"
    "  --no-leave                     stay in DFU mode after the download\n"
    "Upload:\n"
    "  -s, --address address:length   the bytes -U reads\n"
    "  --format bin|dfu               -U writes raw bytes (bin) or a .dfu file\n"
    "  -R, --reset                    USB reset after -U (downloads leave anyway)\n"
    "Output:\n"
    "  -q, --quiet                    print nothing but warnings and errors\n"
    "  --progress[=bar|json|none]     how to show progress (default bar)\n"
    "  --json                         -l: one JSON document\n"
    "Simulation (no USB):\n"
    "  --sim profile[*n][:state]      the device model instead of USB\n"
    "  --sim help                     list the profiles and exit\n"
    "  --sim-fault [n:]spec           inject a fault into the model\n"
    "  --sim-plug n:ms[-ms]           --watch: device n arrives (and leaves)\n"
    "  --sim-trace file               log every request the model receives\n"
    "Other:\n"
    "  -h, --help                     print this help and exit\n"
    "  -V, --version                  print the version and exit\n";

static void __attribute__((noreturn))
usage(void)
{
	cli_help(stderr, usage_text, 0);
	exit(CLI_EXIT_USAGE);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", cli_progname());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (json_result) {
		va_start(ap, fmt);
		vsnprintf(run_out.message, sizeof(run_out.message), fmt, ap);
		va_end(ap);
		run_out.status = DFL_EXIT_USAGE;
		run_out.phase = NULL;
		dfl_event_print(stdout, dfl_outcome_json(&run_out));
		fflush(stdout);
	}
	exit(CLI_EXIT_USAGE);
}

/*
 * -s ADDR, ADDR:LEN, and dfu-util's words after the address (its
 * dfuse_parse_options(), see /work/shared/notes/prior-art.md): ":leave"
 * sends the device to ADDR when it leaves (dfu-util's SET_ADDRESS before
 * the leave request), which is --start ADDR here, and with no address
 * ("-s :leave", as dfu-util users write for a .dfu file) is what dfuflash
 * does anyway; ":mass-erase:force" is --mass-erase, and ":mass-erase"
 * without ":force" is refused, as dfu-util refuses it, since it erases
 * the whole flash.  Words are whole, not prefixes.
 */
static void
parse_address(struct options *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	char buf[32];
	size_t n = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
	int leave = 0, mass = 0, force = 0;

	if (n >= sizeof(buf) || (n == 0 && colon == NULL))
		bad_usage("-s %s: expected address or address:length", arg);
	memcpy(buf, arg, n);
	buf[n] = '\0';
	if (n > 0 && cli_arg_u32("-s", arg, buf, n, &o->address) != 0)
		bad_usage("-s %s: address is not a 32-bit number", arg);
	o->have_address = n > 0;
	while (colon != NULL) {
		const char *w = colon + 1;
		size_t len;

		colon = strchr(w, ':');
		len = colon != NULL ? (size_t)(colon - w) : strlen(w);
		if (len == 5 && strncmp(w, "leave", 5) == 0)
			leave = 1;
		else if (len == 10 && strncmp(w, "mass-erase", 10) == 0)
			mass = 1;
		else if (len == 5 && strncmp(w, "force", 5) == 0)
			force = 1;
		else if (len == 9 && strncmp(w, "unprotect", 9) == 0)
			bad_usage("-s %s: dfuflash removes the read protection "
			    "with --unprotect", arg);
		else if (len > 0 && w[0] >= '0' && w[0] <= '9' &&
		    !o->have_length) {
			if (cli_arg_u32("-s", arg, w, len, &o->length) != 0 ||
			    o->length == 0)
				bad_usage("-s %s: length is not a number from 1 "
				    "to 4294967295", arg);
			o->have_length = 1;
		} else
			bad_usage("-s %s: unknown word '%.*s': expected a "
			    "length, leave or mass-erase:force", arg,
			    (int)len, w);
	}
	if (!o->have_address && (o->have_length || !(leave || mass)))
		bad_usage("-s %s: expected address or address:length", arg);
	if (mass && !force)
		bad_usage("-s %s: mass-erase erases the whole flash: add "
		    ":force to mean it, as dfu-util asks (or --mass-erase)",
		    arg);
	if (force && !mass)
		bad_usage("-s %s: force only confirms mass-erase; dfuflash "
		    "never writes outside the device's memory map", arg);
	if (mass)
		o->flags |= DFL_MASS_ERASE;
	if (leave && o->have_address) {
		o->start = o->address;
		o->start_set = 1;
		o->start_opt = arg;
	}
}

/* --preserve FIRST-LAST or FIRST+SIZE */
static void
parse_preserve(struct options *o, const char *arg)
{
	const char *sep = strpbrk(arg, "-+");
	struct dfl_keep k;
	uint32_t a, b;

	if (sep == NULL || sep == arg ||
	    cli_parse_u32_prefix(arg, (size_t)(sep - arg), &a) != 0 ||
	    cli_parse_u32(sep + 1, &b) != 0)
		bad_usage("--preserve %s: expected first-last or first+size",
		    arg);
	k.first = a;
	if (*sep == '+') {
		if (b == 0 || (uint64_t)a + b > UINT64_C(1) << 32)
			bad_usage("--preserve %s: size is 0 or runs past the "
			    "32-bit address space", arg);
		k.last = (uint32_t)(a + (b - 1));
	} else {
		if (b < a)
			bad_usage("--preserve %s: the range ends before it "
			    "starts", arg);
		k.last = b;
	}
	o->preserve = reallocarray(o->preserve, o->npreserve + 1,
	    sizeof(*o->preserve));
	if (o->preserve == NULL) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
	o->preserve[o->npreserve++] = k;
}

/*
 * --sim PROFILE[*N][:STATE]: the profile (checked when the model is
 * made), N devices and the state file, or with N the prefix of the
 * state files PREFIX.1 ... PREFIX.N.
 */
static void
parse_sim(struct options *o)
{
	const char *colon = strchr(o->sim, ':');
	const char *star = strchr(o->sim, '*');
	size_t n;

	if (star != NULL && colon != NULL && star > colon)
		star = NULL; /* a '*' in the state file's name */
	n = star != NULL ? (size_t)(star - o->sim) : colon != NULL ?
	    (size_t)(colon - o->sim) : strlen(o->sim);
	if (n >= sizeof(o->sim_profile))
		n = sizeof(o->sim_profile) - 1;
	memcpy(o->sim_profile, o->sim, n);
	o->sim_profile[n] = '\0';
	if (star != NULL) {
		size_t len = colon != NULL ? (size_t)(colon - star - 1) :
		    strlen(star + 1);
		uint32_t v;

		if (len == 0 || cli_parse_u32_prefix(star + 1, len, &v) != 0 ||
		    v < 1 || v > SIM_MAX)
			bad_usage("--sim %s: expected profile*n with n a "
			    "number of devices from 1 to %u", o->sim, SIM_MAX);
		o->sim_count = v;
	}
	if (colon != NULL && colon[1] == '\0')
		bad_usage("--sim %s: empty state file name", o->sim);
	o->sim_state = colon != NULL ? colon + 1 : NULL;
}

/* --sim-plug N:IN[-OUT], milliseconds; N is checked against --sim's
 * count in check_args(). */
static void
parse_plug(struct options *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	const char *dash = colon != NULL ? strchr(colon, '-') : NULL;
	struct sim_plug p;
	uint32_t v;

	memset(&p, 0, sizeof(p));
	if (colon == NULL || colon == arg ||
	    cli_parse_u32_prefix(arg, (size_t)(colon - arg), &v) != 0 ||
	    v == 0 || v > SIM_MAX ||
	    cli_parse_u32_prefix(colon + 1, dash != NULL ?
	    (size_t)(dash - colon - 1) : strlen(colon + 1), &p.in_ms) != 0 ||
	    (dash != NULL && (cli_parse_u32(dash + 1, &p.out_ms) != 0 ||
	    p.out_ms <= p.in_ms)))
		bad_usage("--sim-plug %s: expected n:in or n:in-out, device "
		    "n plugged in at in and pulled out at out milliseconds "
		    "into --watch (out after in)", arg);
	p.dev = v;
	o->plugs = reallocarray(o->plugs, o->nplugs + 1, sizeof(*o->plugs));
	if (o->plugs == NULL) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
	o->plugs[o->nplugs++] = p;
}

/*
 * --sim-fault N:SPEC is for device N of --sim PROFILE*N only (no fault
 * spec starts with a digit); the device, 1 for the others, in *dev.
 */
static const char *
fault_spec(const char *arg, unsigned *dev)
{
	size_t n = strspn(arg, "0123456789");

	*dev = 0;
	if (n == 0 || arg[n] != ':')
		return arg;
	if (cli_parse_u32_prefix(arg, n, dev) != 0 || *dev == 0)
		*dev = UINT32_MAX;
	return arg + n + 1;
}

/* --watch, --watch-count, --log and --sim-plug, with the others. */
static void
check_watch(const struct options *o)
{
	if (o->watch && o->all)
		bad_usage("--watch flashes each device as it is plugged in; "
		    "--all flashes those present: give one");
	if (o->watch_count > 0 && !o->watch)
		bad_usage("--watch-count is for --watch");
	if (o->log_dir != NULL && !o->all && !o->watch)
		bad_usage("--log writes a record per board of --all or "
		    "--watch");
	if (o->nplugs > 0 && (o->sim == NULL || !o->watch))
		bad_usage("--sim-plug is for --sim with --watch");
	for (size_t i = 0; i < o->nplugs; i++) {
		unsigned max = o->sim_count > 0 ? o->sim_count : 1;

		if (o->plugs[i].dev > max)
			bad_usage("--sim-plug %u:...: expected n a device of "
			    "--sim %s, 1 to %u", o->plugs[i].dev, o->sim,
			    max);
	}
}

static void
check_args(struct options *o, int argc, char *argv[])
{
	int modes;

	int usb_opts = o->transfer_size != 0 || o->wait || o->wait_timeout_set;

	if (argc > 1)
		bad_usage("%s: more than one file", argv[1]);
	if (argc == 1)
		o->file = argv[0];
	modes = (o->file != NULL) + (o->raw != NULL) + (o->upload != NULL) +
	    o->unprotect + o->detach;
	if (o->json && !o->list)
		bad_usage("--json is for -l");
	if (o->list) {
		if (modes > 0 || o->flags || o->start_set || o->reset ||
		    o->all || o->watch || o->log_dir != NULL ||
		    o->npreserve > 0 || o->trace != NULL || o->nplugs > 0 ||
		    o->alt_arg != NULL || o->have_address ||
		    o->format_dfu >= 0 || o->transfer_size != 0)
			bad_usage("-l lists the USB devices (or those of "
			    "--sim) and takes only --json, -d, -S, -p, -w and "
			    "--wait-timeout");
		/* -l --sim: the modelled devices, as on USB. */
		if (o->sim != NULL)
			parse_sim(o);
		if (o->sim != NULL && usb_opts)
			bad_usage("-w and --wait-timeout wait for a USB "
			    "device; --sim has its own");
		if (o->sim == NULL && o->nfaults > 0)
			bad_usage("--sim-fault and --sim-trace are for --sim");
		return;
	}
	if (modes == 0) {
		cli_error(NULL, "nothing to do: give a file, -D, -U, -e or "
		    "--unprotect");
		usage();
	}
	if (modes > 1)
		bad_usage("give only one of a file, -D, -U, -e and "
		    "--unprotect");
	if (o->sim != NULL)
		parse_sim(o);
	/* -d, -S and -p pick among the devices of --sim as on USB. */
	if (o->sim != NULL && usb_opts)
		bad_usage("-w, --wait-timeout and --transfer-size are for a "
		    "USB device; --sim has its own");
	for (size_t i = 0; o->sim != NULL && i < o->nfaults; i++) {
		unsigned dev, max = o->sim_count > 0 ? o->sim_count : 1;

		(void)fault_spec(o->faults[i], &dev);
		if (dev > max)
			bad_usage("--sim-fault %s: expected n:spec with n a "
			    "device of --sim %s, 1 to %u", o->faults[i],
			    o->sim, max);
	}
	check_watch(o);
	if (o->all || o->watch) {
		const char *all = o->watch ? "--watch" : "--all";

		if (o->upload != NULL || o->unprotect || o->detach)
			bad_usage("%s flashes every matching device; %s is "
			    "for one device", all, o->upload != NULL ? "-U" :
			    o->detach ? "-e" : "--unprotect");
		if (o->flags & DFL_PLAN_ONLY)
			bad_usage("%s flashes every matching device; --plan "
			    "shows one device's plan: pick it with -S or -p",
			    all);
		if (o->trace != NULL)
			bad_usage("%s flashes every matching device; "
			    "--sim-trace traces one: pick it with -S or -p",
			    all);
	}
	if (o->sim == NULL && (o->nfaults > 0 || o->trace != NULL))
		bad_usage("--sim-fault and --sim-trace are for --sim");
	if (o->have_length && o->upload == NULL)
		bad_usage("-s: a length is for -U only");
	if (o->file != NULL && o->have_address)
		bad_usage("-s is for -D and -U; a .dfu file has its "
		    "addresses");
	if (o->raw_container && o->raw == NULL)
		bad_usage("--raw-container is for -D: it writes a DfuSe, DFU, "
		    "ELF, HEX or S-record file as raw data");
	if (o->upload != NULL && !o->have_length)
		bad_usage("-U needs -s address:length");
	if (o->format_dfu >= 0 && o->upload == NULL)
		bad_usage("--format is for -U only");
	if ((o->upload != NULL || o->unprotect || o->detach) &&
	    (o->flags || o->start_set || o->npreserve > 0))
		bad_usage("%s takes no download options", o->upload != NULL ?
		    "-U" : o->detach ? "-e" : "--unprotect");
	/* A download leaves DFU mode by default: for a plain DFU device
	 * that is the USB reset dfu-util's -R sends. */
	if (o->reset && (o->flags & DFL_NO_LEAVE))
		bad_usage("-R resets the device after the download, which "
		    "leaves DFU mode; --no-leave keeps it in DFU mode");
	if (o->reset && (o->unprotect || o->detach))
		bad_usage("-R: %s", o->detach ? "-e leaves the device in DFU "
		    "mode, which a reset would end" : "--unprotect resets the "
		    "device by itself");
	if (o->start_set && (o->flags & DFL_NO_LEAVE))
		bad_usage("%s%s is where the device goes when it leaves; "
		    "--no-leave keeps it in DFU mode", o->start_opt[0] == '-' ?
		    "" : "-s ", o->start_opt);
	if ((o->flags & DFL_PLAN_ONLY) && (o->flags & DFL_MASS_ERASE))
		bad_usage("--plan and --mass-erase do not go together");
	if ((o->flags & DFL_MASS_ERASE) && (o->flags & DFL_SKIP_UNCHANGED))
		bad_usage("--mass-erase erases everything: --skip-unchanged "
		    "cannot skip anything");
	if ((o->flags & DFL_MASS_ERASE) &&
	    (o->npreserve > 0 || (o->flags & DFL_PRESERVE_UNCOVERED)))
		bad_usage("--mass-erase erases everything: %s cannot keep "
		    "anything", o->npreserve > 0 ? "--preserve" :
		    "--preserve-uncovered");
	if (o->format_dfu < 0)
		o->format_dfu = 0;
}

/*
 * --sim help: "NAME<tab>description", one profile a line, for people
 * and for the shell completion (completions/dfutools).
 */
static void __attribute__((noreturn))
list_profiles(void)
{
	const char *p = dfl_model_profile_names();

	while (*p != '\0') {
		char name[32];
		size_t n = strcspn(p, " ");
		struct dfl_model *m;

		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		if ((m = dfl_model_new(name)) != NULL) {
			printf("%s\t%s\n", name, dfl_model_description(m));
			dfl_model_free(m);
		}
		p += n + (p[n] == ' ');
	}
	exit(fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL);
}

static void
parse_args(struct options *o, int argc, char *argv[])
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->in_fd = -1;
	o->format_dfu = -1;
	o->wait_timeout = 10;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":a:d:D:ehlp:qRs:S:U:Vw", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a': {
			uint32_t v;
			const char *colon = strchr(optarg, ':');

			/* bin2dfu's -a address:file, from habit. */
			if (colon != NULL && colon > optarg &&
			    cli_parse_u32_prefix(optarg,
			    (size_t)(colon - optarg), &v) == 0 &&
			    colon[1] != '\0')
				bad_usage("-a %s: -a is the alternate setting "
				    "here; write %s at %.*s with dfuflash -D %s "
				    "-s %.*s, or make a .dfu file with bin2dfu "
				    "-o fw.dfu -a %s", optarg, colon + 1,
				    (int)(colon - optarg), optarg, colon + 1,
				    (int)(colon - optarg), optarg, optarg);

			/* A number, or a name resolved once the device is
			 * known (select.h). */
			if (optarg[0] >= '0' && optarg[0] <= '9' &&
			    (cli_arg_u32("-a", optarg, optarg, strlen(optarg),
			    &v) != 0 || v > 255))
				bad_usage("-a %s: alternate setting is not a "
				    "number from 0 to 255", optarg);
			if (optarg[0] == '\0')
				bad_usage("-a: empty alternate setting");
			o->alt_arg = optarg;
			break;
		}
		case 'd':
			if (dfl_match_parse_ids(&o->match, optarg) != 0)
				bad_usage("-d %s: expected vid:pid or "
				    "vid:pid,dfu_vid:dfu_pid in hexadecimal",
				    optarg);
			break;
		case 'D':
			o->raw = optarg;
			break;
		case 'e':
			o->detach = 1;
			break;
		case 'R':
			o->reset = 1;
			break;
		case 'l':
			o->list = 1;
			break;
		case 'p':
			if (dfl_path_valid(optarg) != 0)
				bad_usage("-p %s: expected a port path such as "
				    "1-2 or 1-2.3 (bus-port.port..., as -l "
				    "shows)", optarg);
			if (o->match.npaths == DFL_MATCH_MAX)
				bad_usage("-p %s: more than %u -p", optarg,
				    DFL_MATCH_MAX);
			o->match.paths[o->match.npaths++] = optarg;
			break;
		case 'S':
			if (optarg[0] == '\0')
				bad_usage("-S: empty serial number");
			if (o->match.nserials == DFL_MATCH_MAX)
				bad_usage("-S %s: more than %u -S", optarg,
				    DFL_MATCH_MAX);
			o->match.serials[o->match.nserials++] = optarg;
			break;
		case 'w':
			o->wait = 1;
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_TRANSFER_SIZE:
			if (cli_arg_u32("--transfer-size", optarg, optarg,
			    strlen(optarg), &o->transfer_size) != 0 ||
			    o->transfer_size == 0 || o->transfer_size > 65535)
				bad_usage("--transfer-size %s: not a number from "
				    "1 to 65535", optarg);
			break;
		case OPT_WAIT_TIMEOUT:
			if (cli_arg_u32("--wait-timeout", optarg, optarg,
			    strlen(optarg), &o->wait_timeout) != 0 ||
			    o->wait_timeout > 3600)
				bad_usage("--wait-timeout %s: not a number of "
				    "seconds from 0 to 3600", optarg);
			o->wait_timeout_set = 1;
			break;
		case 'h':
			cli_help(stdout, usage_text, 1);
			exit(CLI_EXIT_OK);
		case 'q':
			o->quiet = 1;
			break;
		case 's':
			parse_address(o, optarg);
			break;
		case 'U':
			o->upload = optarg;
			break;
		case 'V':
			printf("dfuflash %s\n", DFUFILE_VERSION_STRING);
			exit(CLI_EXIT_OK);
		case OPT_FORCE:
			bad_usage("--force is gone: --ignore-id flashes a file "
			    "made for another VID:PID, and the pages the image "
			    "covers in part are erased without a check "
			    "(--preserve range and --preserve-uncovered keep "
			    "bytes in them)");
		case OPT_ALL:
			o->all = 1;
			break;
		case OPT_IGNORE_ID:
			o->flags |= DFL_IGNORE_ID;
			break;
		case OPT_PRESERVE:
			parse_preserve(o, optarg);
			break;
		case OPT_PRESERVE_UNCOVERED:
			o->flags |= DFL_PRESERVE_UNCOVERED;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "bin") == 0)
				o->format_dfu = 0;
			else if (strcmp(optarg, "dfu") == 0)
				o->format_dfu = 1;
			else
				bad_usage("--format %s: expected bin or dfu",
				    optarg);
			break;
		case OPT_MASS_ERASE:
			o->flags |= DFL_MASS_ERASE;
			break;
		case OPT_NO_LEAVE:
			o->flags |= DFL_NO_LEAVE;
			break;
		case OPT_PLAN:
			o->flags |= DFL_PLAN_ONLY;
			break;
		case OPT_PROGRESS:
			if (optarg == NULL || strcmp(optarg, "bar") == 0)
				o->progress = PROGRESS_BAR;
			else if (strcmp(optarg, "json") == 0)
				o->progress = PROGRESS_JSON;
			else if (strcmp(optarg, "none") == 0)
				o->progress = PROGRESS_NONE;
			else
				bad_usage("--progress=%s: expected bar, json "
				    "or none", optarg);
			break;
		case OPT_RAW_CONTAINER:
			o->raw_container = 1;
			break;
		case OPT_SIM:
			o->sim = optarg;
			break;
		case OPT_SIM_FAULT:
			o->faults = reallocarray(o->faults, o->nfaults + 1,
			    sizeof(*o->faults));
			if (o->faults == NULL) {
				cli_error(NULL, "out of memory");
				exit(CLI_EXIT_FAIL);
			}
			o->faults[o->nfaults++] = optarg;
			break;
		case OPT_SIM_TRACE:
			o->trace = optarg;
			break;
		case OPT_SIM_PLUG:
			parse_plug(o, optarg);
			break;
		case OPT_LOG:
			if (optarg[0] == '\0')
				bad_usage("--log: empty directory name");
			o->log_dir = optarg;
			break;
		case OPT_WATCH:
			o->watch = 1;
			break;
		case OPT_WATCH_COUNT:
			if (cli_arg_u32("--watch-count", optarg, optarg,
			    strlen(optarg), &o->watch_count) != 0 ||
			    o->watch_count == 0)
				bad_usage("--watch-count %s: not a number of "
				    "boards from 1 to 4294967295", optarg);
			break;
		case OPT_SKIP_UNCHANGED:
			o->flags |= DFL_SKIP_UNCHANGED;
			break;
		case OPT_START:
			if (cli_arg_u32("--start", optarg, optarg,
			    strlen(optarg), &o->start) != 0)
				bad_usage("--start %s: not a 32-bit number",
				    optarg);
			o->start_set = 1;
			o->start_opt = "--start";
			break;
		case OPT_UNPROTECT:
			o->unprotect = 1;
			break;
		case OPT_VERIFY:
			o->flags |= DFL_VERIFY;
			break;
		default:
			cli_option_error(longopts, usage_text, ch, argv);
		}
	}
	if (o->sim != NULL && strcmp(o->sim, "help") == 0)
		list_profiles();
	check_args(o, argc - optind, argv + optind);
}

/* ---- Inputs and outputs --------------------------------------------------- */

/* A file dfuflash reads or writes, for check_clashes(). */
struct named_file {
	const char *what;	/* "input", "-U output", ... */
	const char *path;	/* as given; "-" is stdin or stdout */
	int output;		/* "-" is stdout, not stdin */
};

/* The regular file that f names, if it exists. */
static int
stat_named(const struct named_file *f, struct stat *st)
{
	int rc;

	if (strcmp(f->path, "-") == 0)
		rc = fstat(f->output ? STDOUT_FILENO : STDIN_FILENO, st);
	else
		rc = stat(f->path, st);
	return rc == 0 && S_ISREG(st->st_mode) ? 0 : -1;
}

/* The state file of device k (1 to N) of --sim PROFILE*N:PREFIX,
 * PREFIX.k, or STATE; NULL without one.  The caller frees it. */
static char *
sim_state_name(const struct options *o, unsigned k)
{
	char *name;

	if (o->sim_state == NULL)
		return NULL;
	if (o->sim_count == 0)
		name = strdup(o->sim_state);
	else if (asprintf(&name, "%s.%u", o->sim_state, k) < 0)
		name = NULL;
	if (name == NULL) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
	return name;
}

/*
 * The input, the -U output, the --sim-trace file and the --sim state
 * files must be different files: the trace would empty the input before
 * it is read, and the saved state would replace an upload.  The state
 * file itself is read and written on purpose.  Checked before anything
 * is opened for writing; the same path, or the same file through a link,
 * is a clash.
 */
static void
check_clashes(const struct options *o)
{
	struct named_file f[3 + SIM_MAX];
	char *state[SIM_MAX];
	unsigned nstate = o->sim_state == NULL ? 0 : o->sim_count > 0 ?
	    o->sim_count : 1;
	size_t n = 0;
	struct stat a, b;

	if (o->file != NULL || o->raw != NULL)
		f[n++] = (struct named_file){ o->file != NULL ? "input" :
		    "-D input", o->file != NULL ? o->file : o->raw, 0 };
	if (o->upload != NULL)
		f[n++] = (struct named_file){ "-U output", o->upload, 1 };
	if (o->trace != NULL)
		f[n++] = (struct named_file){ "--sim-trace file", o->trace, 1 };
	for (unsigned k = 0; k < nstate; k++) {
		state[k] = sim_state_name(o, k + 1);
		f[n++] = (struct named_file){ "--sim state file", state[k],
		    0 };
	}
	for (size_t j = 1; j < n; j++)
		for (size_t i = 0; i < j; i++) {
			int same = strcmp(f[i].path, f[j].path) == 0 &&
			    (strcmp(f[i].path, "-") != 0 ||
			    f[i].output == f[j].output);

			if (!same && stat_named(&f[i], &a) == 0 &&
			    stat_named(&f[j], &b) == 0)
				same = a.st_dev == b.st_dev &&
				    a.st_ino == b.st_ino;
			if (same)
				bad_usage("%s: the %s is also the %s%s%s: give "
				    "each its own file",
				    f[j].output ? cli_output_name(f[j].path) :
				    cli_input_name(f[j].path), f[j].what,
				    f[i].what, strcmp(f[i].path, f[j].path) ?
				    " " : "", strcmp(f[i].path, f[j].path) ?
				    (f[i].output ? cli_output_name(f[i].path) :
				    cli_input_name(f[i].path)) : "");
		}
	for (unsigned k = 0; k < nstate; k++)
		free(state[k]);
}

/*
 * What the input open as fd is: a DfuSe file, a plain DFU file (*valid:
 * its suffix and CRC are right), ELF, HEX, S-records or raw data.  As raw
 * data (-D) HEX and S-records must start with a whole record, so that
 * binary data that starts with ':' stays data; as the file operand, the
 * first bytes decide and the loader says what is wrong with the rest.
 * A DfuSe or DFU file's handle, as read, goes to *read (the caller frees
 * it) with the read's result in *read_err.
 */
static int
sniff_input(int fd, const char *name, int raw, enum input_kind *kind,
    int *valid, struct dfu_file **read, int *read_err)
{
	struct dfu_file *f = dfu_file_new();
	uint8_t buf[1024];
	ssize_t n;
	int err;

	if (f == NULL) {
		cli_error(name, "out of memory");
		return -1;
	}
	err = dfu_file_read_fd(f, fd, 0);
	if (err != 0 && err != DFU_ERR_FORMAT) {
		cli_file_error(f, name, err);
		dfu_file_free(f);
		return -1;
	}
	*valid = err == 0;
	*kind = dfu_file_format(f) == DFU_FORMAT_DFUSE ? INPUT_DFUSE :
	    dfu_file_format(f) == DFU_FORMAT_PLAIN ? INPUT_DFU : INPUT_RAW;
	if (*kind != INPUT_RAW) {
		*read = f;
		*read_err = err;
		return 0;
	}
	dfu_file_free(f);
	do
		n = pread(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		cli_error(name, "read: %s", strerror(errno));
		return -1;
	}
	switch (raw ? cli_image_sniff(buf, (size_t)n) :
	    dfu_image_detect(buf, (size_t)n)) {
	case DFU_IMAGE_ELF:
		*kind = INPUT_ELF;
		break;
	case DFU_IMAGE_IHEX:
		*kind = INPUT_IHEX;
		break;
	case DFU_IMAGE_SREC:
		*kind = INPUT_SREC;
		break;
	default:
		break;
	}
	return 0;
}

static const char *
input_kind_name(enum input_kind kind)
{
	switch (kind) {
	case INPUT_DFUSE:
		return "a DfuSe file";
	case INPUT_DFU:
		return "a DFU file (payload and DFU suffix)";
	case INPUT_ELF:
		return "an ELF file";
	case INPUT_IHEX:
		return "an Intel HEX file";
	case INPUT_SREC:
		return "an S-record file";
	default:
		return "raw data";
	}
}

/*
 * Open the file or -D and find what it is, before any device is looked
 * for: a container given as raw data is refused (its headers would land
 * in flash), and so is a file that is none of the formats.  An exit
 * status, 0 when the input can go on.
 */
static int
open_input(struct options *o)
{
	const char *path = o->file != NULL ? o->file : o->raw;
	const char *name;
	int valid;

	if (path == NULL)
		return CLI_EXIT_OK;
	name = cli_input_name(path);
	if ((o->in_fd = cli_open_input(path)) < 0 ||
	    sniff_input(o->in_fd, name, o->raw != NULL, &o->kind,
	    &valid, &o->in_file, &o->in_err) != 0)
		return CLI_EXIT_FAIL;
	/* --log records what went into each board. */
	if (o->log_dir != NULL && dfl_sha256_fd(o->in_fd, o->sha256) != 0) {
		cli_error(name, "read: %s", strerror(errno));
		return CLI_EXIT_FAIL;
	}
	if (o->raw != NULL) {
		/* Its bytes are read as data (load_raw()). */
		dfu_file_free(o->in_file);
		o->in_file = NULL;
		/* A UFD signature whose CRC does not match is data. */
		if (o->kind == INPUT_DFU && !valid)
			o->kind = INPUT_RAW;
		if (o->kind == INPUT_RAW || o->raw_container)
			return CLI_EXIT_OK;
		cli_error(name, "%s, not raw data: flash it with 'dfuflash "
		    "%s' (--raw-container writes it as data)",
		    input_kind_name(o->kind), path);
		return CLI_EXIT_FAIL;
	}
	if (o->kind == INPUT_RAW) {
		cli_error(name, "not a DFU file: neither a DfuSe prefix nor a "
		    "DFU suffix, nor ELF, Intel HEX or S-records (for a raw "
		    "binary use -D file -s address)");
		return CLI_EXIT_FAIL;
	}
	if ((o->kind == INPUT_DFUSE || o->kind == INPUT_DFU) &&
	    o->alt_arg != NULL)
		bad_usage("-a is for -D, -U and ELF, HEX or S-record files; a "
		    ".dfu file names its alternate settings");
	return CLI_EXIT_OK;
}

/*
 * Standard output can fail (a full disk, /dev/full): what went there
 * (--plan, --progress=json, --sim-trace -, the summary) is then lost.
 */
static int
stdout_ok(void)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 1;
	cli_error("stdout", "%s", errno != 0 ? strerror(errno) :
	    "write error");
	return 0;
}

/* The first error message (cli_error_hook()), warnings left out: the
 * cause, where the messages after it are hints. */
static void
note_error(const char *msg)
{
	if (first_error[0] == '\0' && strncmp(msg, "warning: ", 9) != 0)
		snprintf(first_error, sizeof(first_error), "%s", msg);
}

/* A failure of the run: status and phase, when not already said. */
static int
outcome(struct dfl_outcome *r, int status, const char *phase)
{
	if (status != DFL_EXIT_OK && r->status == DFL_EXIT_OK) {
		r->status = status;
		r->phase = phase;
	}
	return status;
}

/* ---- The simulated device ------------------------------------------------ */

struct sim {
	struct dfl_model *model;
	char profile[32];
	char *state; /* flash image file, or NULL */
	FILE *trace;
	/* What -p and -S see, as tests/usbhost gives them: port k of bus 1,
	 * the profile's serial or DFU and k in 9 digits. */
	char path[16];
	char serial[32];
};

/*
 * "PATH SERIAL: ", the start of every summary line on stdout, so that the
 * logs of several boards flashed at once can be told apart (issue 16);
 * "-" for a device without a serial, "" before a device is known.
 */
static const char *
device_tag(char *buf, size_t len, const char *path, const char *serial)
{
	if (path == NULL || path[0] == '\0')
		buf[0] = '\0';
	else
		snprintf(buf, len, "%s %s: ", path, serial != NULL &&
		    serial[0] != '\0' ? serial : "-");
	return buf;
}

/* The path and serial number of device k of --sim. */
static void
sim_names(const struct options *o, unsigned k, char *path, size_t plen,
    char *serial, size_t slen)
{
	struct dfl_model *m = dfl_model_new(o->sim_profile);
	const char *own = NULL;
	int utf8;

	if (m != NULL)
		own = dfl_model_serial(m, &utf8);
	snprintf(path, plen, "1-%u", k);
	if (own != NULL)
		snprintf(serial, slen, "%s", own);
	else
		snprintf(serial, slen, "DFU%09u", k);
	dfl_model_free(m);
}

static int
read_all(int fd, uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Device k (from 1) of --sim PROFILE[*N][:STATE]: a model, its flash
 * loaded from its state file if any, with the faults meant for it.
 */
static int
sim_open(struct sim *s, const struct options *o, unsigned k)
{
	char err[512];
	uint32_t base, size;
	uint8_t *mem;
	struct stat st;
	char *state;
	int fd;

	memset(s, 0, sizeof(*s));
	snprintf(s->profile, sizeof(s->profile), "%s", o->sim_profile);
	if ((s->model = dfl_model_new(s->profile)) == NULL)
		bad_usage("--sim %s: unknown profile %s (%s)", o->sim,
		    s->profile, dfl_model_profile_names());
	sim_names(o, k, s->path, sizeof(s->path), s->serial,
	    sizeof(s->serial));
	state = sim_state_name(o, k);
	for (size_t i = 0; i < o->nfaults; i++) {
		unsigned dev;
		const char *spec = fault_spec(o->faults[i], &dev);

		if (dev != 0 && dev != k)
			continue;
		if (dfl_model_fault(s->model, spec, err, sizeof(err)) != 0)
			bad_usage("--sim-fault %s", err);
	}
	mem = dfl_model_memory(s->model, &base, &size);
	if (state != NULL && (fd = open(state, O_RDONLY | O_NONBLOCK |
	    O_CLOEXEC)) >= 0) {
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			cli_error(state, "%s: the %s flash state is a "
			    "regular file of exactly %u bytes",
			    S_ISDIR(st.st_mode) ? "is a directory" :
			    "not a regular file", s->profile, size);
			close(fd);
			goto fail;
		}
		if ((uint64_t)st.st_size != size) {
			cli_error(state, "%llu bytes; the %s flash state "
			    "is a file of exactly %u bytes",
			    (unsigned long long)st.st_size, s->profile, size);
			close(fd);
			goto fail;
		}
		if (read_all(fd, mem, size) != 0) {
			cli_error(state, "read: %s", strerror(errno));
			close(fd);
			goto fail;
		}
		close(fd);
	} else if (state != NULL && errno != ENOENT) {
		cli_error(state, "%s", strerror(errno));
		goto fail;
	}
	if (o->trace != NULL) {
		s->trace = strcmp(o->trace, "-") == 0 ? stdout :
		    fopen(o->trace, "we");
		if (s->trace == NULL) {
			cli_error(o->trace, "%s", strerror(errno));
			goto fail;
		}
		dfl_model_trace(s->model, s->trace);
	}
	s->state = state;
	return 0;
fail:
	free(state);
	dfl_model_free(s->model);
	s->model = NULL;
	return -1;
}

/* Save the flash (whatever happened: it is what the device now holds). */
static int
sim_close(struct sim *s, const struct options *o, int report)
{
	struct cli_output out;
	uint32_t base, size;
	uint8_t *mem = dfl_model_memory(s->model, &base, &size);
	const struct dfl_model_stats *st = dfl_model_stats(s->model);
	char tag[192];
	int rc = 0;

	if (s->trace != NULL && s->trace != stdout && fclose(s->trace) != 0) {
		cli_error(o->trace, "write: %s", strerror(errno));
		rc = -1;
	}
	/* A device that received nothing is as it was: nothing to save. */
	if (s->state != NULL && st->requests > 0) {
		int ok = cli_output_open(&out, s->state) == 0;

		if (ok && write_all(out.fd, mem, size) != 0) {
			cli_error(s->state, "write: %s", strerror(errno));
			cli_output_abort(&out);
			ok = 0;
		} else if (ok) {
			ok = cli_output_commit(&out) == 0;
		}
		if (!ok)
			rc = -1;
	}
	if (o->quiet || !report)
		;
	else if (o->progress == PROGRESS_JSON)
		dfl_event_print(stdout, dfl_event_sim(s->path, s->serial,
		    s->profile, st));
	else
		printf("%ssim %s: %u control transfers, %u pages erased "
		    "(%llu bytes)%s, %llu bytes programmed, %llu bytes read, "
		    "%llu.%03llu s modelled\n", device_tag(tag, sizeof(tag),
		    s->path, s->serial), s->profile, st->requests,
		    st->pages_erased, (unsigned long long)st->bytes_erased,
		    st->mass_erases ? ", mass erase" : "",
		    (unsigned long long)st->bytes_written,
		    (unsigned long long)st->bytes_read,
		    (unsigned long long)(st->time_us / 1000000),
		    (unsigned long long)(st->time_us / 1000 % 1000));
	dfl_model_free(s->model);
	free(s->state);
	return rc;
}

/* ---- Progress ------------------------------------------------------------ */

/* The device of an outcome, for its events: NULL when none. */
static const char *
out_path(const struct dfl_outcome *r)
{
	return r->path[0] != '\0' ? r->path : NULL;
}

static const char *
out_serial(const struct dfl_outcome *r)
{
	return r->have_serial ? r->serial : NULL;
}

/* The device_tag() of the outcome's device. */
static const char *
out_tag(char *buf, size_t len, const struct dfl_outcome *r)
{
	return device_tag(buf, len, out_path(r), out_serial(r));
}

struct ui {
	enum progress_mode mode;
	int bar_open;
	enum dfl_phase phase;
	/* The clock of the rate: the model's time with --sim. */
	uint64_t (*now_us)(void *ctx);
	void *clock_ctx;
	uint64_t phase_start;
	struct dfl_usb_handle *usb;	/* NULL with --sim */
	struct unit *unit;		/* --all: the device's */
	struct dfl_outcome *out;	/* how it ends; names the device */
};

/*
 * --all: one unit per device, each flashed by its own thread with its
 * own session, transport and image; nothing is shared between them but
 * the options (read only, once the images are loaded) and the output,
 * whose lines the fleet's mutex keeps whole.
 */
struct fleet {
	pthread_mutex_t mu;
	enum progress_mode mode;
	struct unit *units;
	size_t n;
	int drawn;		/* the bars are on the terminal */
};

struct unit {
	struct fleet *fleet;
	const struct options *o;
	size_t row;
	char path[32];
	char serial[128];	/* "-" when the device has none */
	struct dfl_outcome out;	/* its result event */
	struct sim sim;		/* with --sim */
	int have_sim;
	struct dfl_usb_handle *usb;
	struct dfl_transport t;
	const struct dfl_device *dev;
	struct dfl_image img;
	struct ui ui;
	pthread_t thread;
	int started;
	int rc;			/* exit status; -1 until flashed */
	char why[1024];		/* why it failed */
	enum dfl_phase phase;
	int phase_seen;
	uint64_t bytes;		/* written */
	uint64_t wall_us, model_us;
	char line[256];		/* its progress bar */
	/* For its --log record and --watch. */
	uint16_t vid, pid;
	uint64_t bytes_erased;
	uint64_t started_us;	/* UTC */
	int left;		/* it left DFU mode */
	int done;		/* its thread is over (--watch reaps it) */
	unsigned sim_k;		/* device k of --sim */
	int sim_win;		/* ... plugged in for window sim_win */
};

static uint64_t
sim_now_us(void *ctx)
{
	return dfl_model_stats(ctx)->time_us;
}

/* " 12.3 KiB/s": bytes per second of time since the phase began. */
static void
rate(char *buf, size_t len, uint64_t bytes, uint64_t us)
{
	double r;

	if (us == 0) {
		buf[0] = '\0';
		return;
	}
	r = (double)bytes * 1e6 / (double)us;
	if (r >= 1048576.0)
		snprintf(buf, len, " %.1f MiB/s", r / 1048576.0);
	else
		snprintf(buf, len, " %.1f KiB/s", r / 1024.0);
}

/*
 * The bars of --all on a terminal: the last n lines, one per device.
 * The cursor stays below them; a line of text goes above them and they
 * are drawn again under it.  ANSI cursor movement (ECMA-48 CUU, CUD, EL).
 */
static void
fleet_redraw(struct fleet *f)
{
	if (f->drawn)
		fprintf(stderr, "\033[%zuA", f->n);
	for (size_t i = 0; i < f->n; i++)
		fprintf(stderr, "\r\033[K%s\n", f->units[i].line);
	f->drawn = 1;
	fflush(stderr);
}

static void
fleet_bar(struct unit *u)
{
	struct fleet *f = u->fleet;
	size_t up = f->n - u->row;

	if (!f->drawn) {
		fleet_redraw(f);
		return;
	}
	fprintf(stderr, "\033[%zuA\r\033[K%s\033[%zuB\r", up, u->line, up);
	fflush(stderr);
}

/* A diagnostic of device u: "dfuflash: PATH SERIAL: message" on stderr,
 * above the bars.  The caller holds the mutex. */
static void __attribute__((format(printf, 2, 3)))
unit_say(struct unit *u, const char *fmt, ...)
{
	struct fleet *f = u->fleet;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (f->mode == PROGRESS_BAR && f->drawn) {
		fprintf(stderr, "\033[%zuA\r\033[K%s: %s %s: %s\n", f->n,
		    cli_progname(), u->path, u->serial, msg);
		f->drawn = 0;
		fleet_redraw(f);
	} else {
		fprintf(stderr, "%s: %s %s: %s\n", cli_progname(), u->path,
		    u->serial, msg);
	}
}

static void
unit_progress(struct unit *u, const struct dfl_event *ev)
{
	struct fleet *f = u->fleet;
	int new_phase = !u->phase_seen || u->phase != ev->phase;
	unsigned pct = ev->total ? (unsigned)(ev->done * 100 / ev->total) :
	    100;

	if (ev->phase == DFL_PHASE_WRITE)
		u->bytes = ev->done;
	u->phase = ev->phase;
	u->phase_seen = 1;
	pthread_mutex_lock(&f->mu);
	switch (f->mode) {
	case PROGRESS_JSON:
		dfl_event_print(stdout, dfl_event_progress(out_path(&u->out),
		    out_serial(&u->out), ev));
		fflush(stdout);
		break;
	case PROGRESS_TEXT:
		if (new_phase)
			fprintf(stderr, "%s %s: %s\n", u->path, u->serial,
			    dfl_phase_name(ev->phase));
		break;
	case PROGRESS_BAR:
		/* At most 79 columns for 1 MiB: a line that wraps would
		 * break the cursor movement. */
		snprintf(u->line, sizeof(u->line), "%-6s %-12.12s %-7s "
		    "[%.*s%*s] %3u%% %llu/%llu", u->path, u->serial,
		    dfl_phase_name(ev->phase), (int)(pct / 5),
		    "====================", (int)(20 - pct / 5), "", pct,
		    (unsigned long long)ev->done,
		    (unsigned long long)ev->total);
		fleet_bar(u);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&f->mu);
}

static void
on_progress(void *ctx, const struct dfl_event *ev)
{
	struct ui *ui = ctx;
	unsigned pct, fill;
	uint64_t now;
	char r[32];

	if (ev->phase == DFL_PHASE_WRITE)
		ui->out->bytes_written = ev->done;
	if (ui->unit != NULL) {
		unit_progress(ui->unit, ev);
		return;
	}
	if (ui->mode == PROGRESS_JSON) {
		dfl_event_print(stdout, dfl_event_progress(out_path(ui->out),
		    out_serial(ui->out), ev));
		return;
	}
	if (ui->mode != PROGRESS_BAR)
		return;
	now = ui->now_us(ui->clock_ctx);
	if (ui->bar_open && ui->phase != ev->phase)
		fputc('\n', stderr);
	if (!ui->bar_open || ui->phase != ev->phase)
		ui->phase_start = now;
	ui->phase = ev->phase;
	ui->bar_open = 1;
	pct = ev->total ? (unsigned)(ev->done * 100 / ev->total) : 100;
	fill = pct / 4;
	if (ev->phase == DFL_PHASE_LEAVE || ev->phase == DFL_PHASE_SETUP) {
		fprintf(stderr, "\r%-7s [%.*s%*s] %3u%% 0x%08x",
		    dfl_phase_name(ev->phase), (int)fill,
		    "=========================", (int)(25 - fill), "", pct,
		    ev->address);
		fflush(stderr);
		return;
	}
	rate(r, sizeof(r), ev->done, now - ui->phase_start);
	fprintf(stderr, "\r%-7s [%.*s%*s] %3u%% 0x%08x %llu/%llu bytes%s   ",
	    dfl_phase_name(ev->phase), (int)fill,
	    "=========================", (int)(25 - fill), "", pct,
	    ev->address, (unsigned long long)ev->done,
	    (unsigned long long)ev->total, r);
	fflush(stderr);
}

static void
ui_end(struct ui *ui)
{
	if (ui->bar_open)
		fputc('\n', stderr);
	ui->bar_open = 0;
}

static void
on_warn(void *ctx, const char *msg)
{
	struct ui *ui = ctx;

	if (ui->unit != NULL) {
		pthread_mutex_lock(&ui->unit->fleet->mu);
		unit_say(ui->unit, "warning: %s", msg);
		pthread_mutex_unlock(&ui->unit->fleet->mu);
		return;
	}
	ui_end(ctx);
	cli_error(NULL, "warning: %s", msg);
}

/* ---- Actions ------------------------------------------------------------- */

/*
 * What the engine said went wrong, and what to do about it.  A detached
 * device that did not come back is described by the USB side, which
 * knows where it looked and for how long.
 */
static int
engine_error(const struct ui *ui, const struct dfl_session *s,
    const char *name, int rc)
{
	const char *lost = ui->usb != NULL ? dfl_usb_errmsg(ui->usb) : "";
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s%s%s", name != NULL ? name : "",
	    name != NULL ? ": " : "", dfl_errmsg(s));
	dfl_outcome_engine(ui->out, rc, dfl_failure(s), lost[0] != '\0' ?
	    lost : msg);
	if (lost[0] != '\0') {
		cli_error(NULL, "%s", lost);
		return ui->out->status;
	}
	if (rc == DFL_ERR_USAGE) {
		cli_error(NULL, "%s", dfl_errmsg(s));
		return ui->out->status;
	}
	cli_error(name, "%s", dfl_errmsg(s));
	if (rc == DFL_ERR_DEVICE)
		cli_error(NULL, "the device stays in DFU mode; run again to "
		    "retry");
	else if (rc == DFL_ERR_GONE && ui->usb != NULL)
		cli_error(NULL, "the device disconnected: check the cable and "
		    "that nothing resets the board, put it back in DFU mode "
		    "and run again");
	return ui->out->status;
}

/*
 * The image is held in memory: refuse one larger than all the writable
 * memory of the device before loading it, so that memory use is bounded
 * by the device, not by the file.
 */
static int
too_large(const char *name, uint64_t bytes, const struct dfl_device *dev)
{
	uint64_t cap = dfl_device_capacity(dev);

	if (bytes <= cap)
		return 0;
	cli_error(name, "%llu bytes of data, more than the %llu bytes of "
	    "writable memory the device describes",
	    (unsigned long long)bytes, (unsigned long long)cap);
	return 1;
}

/* The bytes of all elements of a DfuSe file. */
static uint64_t
dfuse_bytes(struct dfu_file *f)
{
	uint64_t n = 0;

	for (unsigned t = 0; t < dfu_file_target_count(f); t++)
		for (unsigned e = 0; e < dfu_file_element_count(f, t); e++)
			n += dfu_file_element(f, t, e)->size;
	return n;
}

/* The bytes a plain file sends: its payload, a vendor prefix included
 * (dfl_image_from_file()). */
static uint64_t
plain_bytes(struct dfu_file *f)
{
	const struct dfu_vendor_prefix *v = dfu_file_vendor_prefix(f);

	return (v != NULL ? v->size : 0) + dfu_file_payload_size(f);
}

/* Read and check the whole DFU or DfuSe file; its image into img.  Its
 * size is checked against the device, from the file's headers, before
 * any of its data is loaded. */
static int
load_file(const struct options *o, const struct dfl_device *dev,
    struct dfl_image *img)
{
	const char *name = cli_input_name(o->file);
	struct dfu_file *f = o->in_file; /* read by open_input() */
	int err = o->in_err;

	if (err == 0 && too_large(name, dfu_file_format(f) ==
	    DFU_FORMAT_DFUSE ? dfuse_bytes(f) : plain_bytes(f), dev)) {
		err = -1;
	} else if (err != 0 || (err = dfl_image_from_file(img, f)) != 0) {
		cli_error(name, "%s", dfu_file_errmsg(f)[0] != '\0' ?
		    dfu_file_errmsg(f) : dfu_strerror(err));
	}
	return err == 0 ? 0 : -1;
}

/*
 * An ELF, Intel HEX or S-record file, loaded and made into one target of
 * the -a alt (0 by default, as elf2dfu makes it) by libdfufile's
 * conversion (dfuconv.h), that of elf2dfu and hex2dfu, so that the bytes
 * land exactly where flashing the converted .dfu puts them.  The file
 * names no device: any takes it.
 */
static int
load_image(const struct options *o, const struct dfl_device *dev,
    struct dfl_image *img)
{
	const char *name = cli_input_name(o->file);
	struct dfu_conv *conv = dfu_conv_new();
	struct dfu_image *im = dfu_image_new();
	struct dfu_file *f = dfu_file_new();
	int err = 0, rc = -1;

	if (conv == NULL || im == NULL || f == NULL) {
		cli_error(name, "out of memory");
		goto done;
	}
	if ((err = dfu_conv_add_target(conv, o->alt, NULL, NULL)) < 0) {
		cli_conv_error(conv, name, err);
		goto done;
	}
	if (o->kind == INPUT_ELF)
		err = dfu_image_load_elf(im, o->in_fd, NULL);
	else if (lseek(o->in_fd, 0, SEEK_SET) != 0) {
		cli_error(name, "cannot seek to the start");
		goto done;
	} else
		err = o->kind == INPUT_IHEX ? dfu_image_load_ihex(im,
		    o->in_fd) : dfu_image_load_srec(im, o->in_fd);
	if (err != 0)
		cli_image_error(im, name, err);
	else if ((err = dfu_conv_build(conv, im, f)) != 0)
		cli_conv_error(conv, name, err);
	else if (!too_large(name, dfuse_bytes(f), dev)) {
		if ((err = dfl_image_from_file(img, f)) != 0)
			cli_file_error(f, name, err);
		else
			rc = 0;
	}
done:
	dfu_conv_free(conv);
	dfu_file_free(f);
	dfu_image_free(im);
	return rc;
}

static int
load_raw(const struct options *o, const struct dfl_device *dev,
    struct dfl_image *img)
{
	const char *name = cli_input_name(o->raw);
	int dfuse = dev->bcdDFUVersion == DFU_BCD_DFUSE;
	struct dfu_file *f;
	off_t size;
	int fd = o->in_fd, err, rc = -1;

	if (dfuse && !o->have_address) {
		cli_error(NULL, "-D: a DfuSe device needs -s address");
		return -2;
	}
	if (!dfuse && o->have_address && o->address != 0) {
		cli_error(NULL, "-s 0x%x: a plain DFU 1.1 device has no "
		    "addresses", o->address);
		return -2;
	}
	if ((size = lseek(fd, 0, SEEK_END)) < 0 ||
	    lseek(fd, 0, SEEK_SET) < 0) {
		cli_error(name, "%s", strerror(errno));
		return -1;
	}
	if (size == 0 || (uint64_t)size > UINT32_MAX ||
	    (uint64_t)o->address + (uint64_t)size > UINT64_C(1) << 32) {
		cli_error(name, size == 0 ? "empty file" : "%llu bytes at "
		    "0x%08x pass the end of the 32-bit address space",
		    (unsigned long long)size, o->address);
		return -1;
	}
	if (too_large(name, (uint64_t)size, dev))
		return -1;
	/* Described as a one-element file that reads from fd, so that its
	 * bytes go straight into the image: held once, not twice. */
	if ((f = dfu_file_new()) == NULL || dfu_file_init(f, dfuse ?
	    DFU_FORMAT_DFUSE : DFU_FORMAT_PLAIN) != 0 ||
	    (dfuse ? dfu_file_add_target(f, o->alt, NULL) < 0 ||
	    dfu_file_add_element_fd(f, 0, o->address, fd, 0,
	    (uint32_t)size) < 0 : dfu_file_set_payload_fd(f, fd, 0,
	    (uint64_t)size) != 0)) {
		cli_error(name, "%s", f != NULL ? dfu_file_errmsg(f) :
		    "out of memory");
	} else if ((err = dfl_image_from_file(img, f)) != 0) {
		dfl_image_free(img);
		cli_error(name, "%s", dfu_file_errmsg(f)[0] != '\0' ?
		    dfu_file_errmsg(f) : dfu_strerror(err));
	} else {
		/* As a raw image: any device, the -a alt, no source name. */
		img->idVendor = img->idProduct = DFU_ID_ANY;
		img->segs[0].alt = o->alt;
		img->segs[0].source[0] = '\0';
		rc = 0;
	}
	dfu_file_free(f);
	return rc;
}

/* "the application at 0x08000000", "0x08000000 (--start)", ... */
static const char *
leave_text(char *buf, size_t len, const struct dfl_result *r)
{
	switch (r->leave_reason) {
	case DFL_LEAVE_APP:
		snprintf(buf, len, "to run the application at 0x%08x",
		    r->leave_address);
		break;
	case DFL_LEAVE_FLASH:
		snprintf(buf, len, "to run 0x%08x, the start of flash (no "
		    "vector table in the image)", r->leave_address);
		break;
	case DFL_LEAVE_START:
		snprintf(buf, len, "to run 0x%08x (--start)", r->leave_address);
		break;
	default:
		buf[0] = '\0';
	}
	return buf;
}

/* " (278528 bytes, 61440 of them outside the image)" */
static const char *
erase_text(char *buf, size_t len, const struct dfl_result *r)
{
	int n = snprintf(buf, len, " (%llu bytes, %llu of them outside the "
	    "image", (unsigned long long)r->bytes_erased,
	    (unsigned long long)r->bytes_erased_outside);

	if (r->bytes_kept > 0 && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", %llu of those "
		    "preserved", (unsigned long long)r->bytes_kept);
	if (n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ")");
	return buf;
}

static void
print_plan(const struct dfl_result *r, const struct dfl_outcome *out)
{
	uint64_t write = 0;
	unsigned nerase = 0, nskip = 0;
	char buf[160], tag[192];

	for (size_t i = 0; i < r->npages; i++) {
		const struct dfl_page *p = &r->pages[i];
		const char *what = (p->flags & DFL_PAGE_UNCHANGED) ?
		    "unchanged" : (p->flags & DFL_PAGE_ERASE) ? "erase" :
		    "no erase";

		printf("page   alt %u 0x%08x-0x%08x %7u bytes  %s\n", p->alt,
		    p->start, p->start + p->size - 1, p->size, what);
		if (p->flags & DFL_PAGE_ERASE)
			nerase++;
		if (p->flags & DFL_PAGE_UNCHANGED)
			nskip++;
	}
	for (size_t i = 0; i < r->nkept; i++) {
		const struct dfl_range *k = &r->kept[i];

		printf("keep   alt %u 0x%08x-0x%08x %7u bytes\n", k->alt,
		    k->start, k->start + k->size - 1, k->size);
	}
	for (size_t i = 0; i < r->nwrites; i++) {
		const struct dfl_range *w = &r->writes[i];

		printf("write  alt %u 0x%08x-0x%08x %7u bytes\n", w->alt,
		    w->start, w->start + w->size - 1, w->size);
		write += w->size;
	}
	if (r->options_write)
		printf("reset  alt %u: the device resets once its option bytes "
		    "are written, last; it is then not sent to leave\n",
		    r->options_alt);
	if (r->leave_reason != 0)
		printf("leave  alt %u %s\n", r->leave_alt,
		    leave_text(buf, sizeof(buf), r));
	/* The page lines are the plan's detail; its summary names the
	 * device, since a plan is made for one device's layout. */
	printf("%splan: erase %u page%s (%llu bytes, %llu of them outside the "
	    "image), keep %llu byte%s, skip %u unchanged, write %llu byte%s "
	    "in %zu range%s\n", out_tag(tag, sizeof(tag), out), nerase,
	    cli_s(nerase),
	    (unsigned long long)r->bytes_erased,
	    (unsigned long long)r->bytes_erased_outside,
	    (unsigned long long)r->bytes_kept, cli_s(r->bytes_kept), nskip,
	    (unsigned long long)write, cli_s(write), r->nwrites,
	    cli_s(r->nwrites));
}

/* What the download did; each line names the device. */
static void
report(const struct options *o, const char *name, const struct dfl_result *r,
    const struct ui *ui)
{
	char erased[160], left[160], tag[192];

	if (o->quiet)
		return;
	out_tag(tag, sizeof(tag), ui->out);
	if (o->progress == PROGRESS_JSON) {
		dfl_event_print(stdout, dfl_event_done(out_path(ui->out),
		    out_serial(ui->out), r));
		return;
	}
	printf("%s%s: %serased %u page%s%s, skipped %u unchanged, wrote %llu "
	    "byte%s%s\n", tag, name, r->mass_erased ? "mass erase, " : "",
	    r->pages_erased, cli_s(r->pages_erased),
	    r->pages_erased > 0 ? erase_text(erased, sizeof(erased), r) : "",
	    r->pages_skipped, (unsigned long long)r->bytes_written,
	    cli_s(r->bytes_written),
	    !(o->flags & DFL_VERIFY) ? "" : !r->options_reset ?
	    (r->verified ? ", verified" : "") : r->verified ?
	    ", verified but for the option bytes (the device reset)" :
	    ", not verified (the device reset)");
	leave_text(left, sizeof(left), r);
	if (r->options_reset)
		printf("%s%s: device reset to load its option bytes (alt %u), "
		    "as it does once they are written; it was not sent to "
		    "leave DFU mode\n", tag, name, r->options_alt);
	else if (!r->left)
		printf("%s%s: device stays in DFU mode\n", tag, name);
	else
		printf("%s%s: device left DFU mode%s%s%s\n", tag, name,
		    left[0] != '\0' ? " " : "", left, r->leave_failed ?
		    " (its leave request failed as it reset)" :
		    r->left_vanished ? " (it reset before answering)" : "");
}

/* The file or -D as the image for dev; an exit status, 0 with img set. */
static int
load_input(const struct options *o, const struct dfl_device *dev,
    struct dfl_image *img)
{
	int rc;

	memset(img, 0, sizeof(*img));
	if (o->file == NULL)
		rc = load_raw(o, dev, img);
	else if (o->kind == INPUT_DFUSE || o->kind == INPUT_DFU)
		rc = load_file(o, dev, img);
	else
		rc = load_image(o, dev, img);
	if (rc != 0) {
		dfl_image_free(img);
		return rc == -2 ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* The engine's options from the command line; progress goes to ui. */
static void
engine_options(const struct options *o, struct ui *ui, struct dfl_options *eo)
{
	memset(eo, 0, sizeof(*eo));
	eo->flags = o->flags;
	eo->start_set = o->start_set;
	eo->start = o->start;
	eo->preserve = o->preserve;
	eo->npreserve = o->npreserve;
	eo->progress = on_progress;
	eo->warn = on_warn;
	eo->cb_ctx = ui;
}

static int
do_download(const struct options *o, struct dfl_session *s,
    const struct dfl_device *dev, struct ui *ui)
{
	const char *name = o->file != NULL ? cli_input_name(o->file) :
	    cli_input_name(o->raw);
	struct dfl_options eo;
	struct dfl_result res;
	struct dfl_image img;
	int rc;

	if ((rc = load_input(o, dev, &img)) != CLI_EXIT_OK)
		return outcome(ui->out, rc, "input");
	engine_options(o, ui, &eo);
	if (o->flags & DFL_MASS_ERASE)
		cli_error(NULL, "warning: --mass-erase erases all of the "
		    "device's flash, not only the pages the image covers");
	rc = dfl_download(s, &img, &eo, &res);
	ui_end(ui);
	dfl_image_free(&img);
	if (rc == 0 && (o->flags & DFL_PLAN_ONLY)) {
		if (o->progress == PROGRESS_JSON)
			dfl_event_print(stdout, dfl_event_plan(
			    out_path(ui->out), out_serial(ui->out), &res));
		else
			print_plan(&res, ui->out);
		return CLI_EXIT_OK;
	}
	if (rc != 0)
		return engine_error(ui, s, name, rc);
	ui->out->bytes_written = res.bytes_written;
	report(o, name, &res, ui);
	return CLI_EXIT_OK;
}

static int
do_upload(const struct options *o, struct dfl_session *s,
    const struct dfl_device *dev, struct ui *ui)
{
	struct dfl_options eo;
	struct cli_output out;
	struct dfu_file *f = NULL;
	uint8_t *buf;
	uint32_t got = 0;
	char tag[192];
	int rc = CLI_EXIT_FAIL, err;

	if (dev->bcdDFUVersion != DFU_BCD_DFUSE && o->address != 0) {
		cli_error(NULL, "-s 0x%x: a plain DFU 1.1 device has no "
		    "addresses", o->address);
		return outcome(ui->out, CLI_EXIT_USAGE, "plan");
	}
	if ((buf = malloc(o->length)) == NULL) {
		cli_error(NULL, "out of memory");
		return outcome(ui->out, CLI_EXIT_FAIL, "plan");
	}
	memset(&eo, 0, sizeof(eo));
	eo.progress = on_progress;
	eo.warn = on_warn;
	eo.cb_ctx = ui;
	err = dfl_upload(s, o->alt, o->address, buf, o->length, &got, &eo);
	ui_end(ui);
	if (err != 0) {
		rc = engine_error(ui, s, NULL, err);
		goto done;
	}
	if (cli_output_open(&out, o->upload) != 0)
		goto done;
	if (o->format_dfu) {
		int plain = dev->bcdDFUVersion != DFU_BCD_DFUSE;
		int t;

		if ((f = dfu_file_new()) == NULL ||
		    dfu_file_init(f, plain ? DFU_FORMAT_PLAIN :
		    DFU_FORMAT_DFUSE) != 0 ||
		    dfu_file_set_ids(f, dev->idVendor, dev->idProduct,
		    dev->bcdDevice) != 0 ||
		    (plain ? dfu_file_set_payload_mem(f, buf, got) :
		    ((t = dfu_file_add_target(f, o->alt, NULL)) < 0 ? t :
		    dfu_file_add_element_mem(f, (unsigned)t, o->address, buf,
		    got))) < 0 || dfu_file_write_fd(f, out.fd) != 0) {
			cli_error(o->upload, "%s", f != NULL ?
			    dfu_file_errmsg(f) : "out of memory");
			cli_output_abort(&out);
			goto done;
		}
	} else if (write_all(out.fd, buf, got) != 0) {
		cli_error(o->upload, "write: %s", strerror(errno));
		cli_output_abort(&out);
		goto done;
	}
	if (cli_output_commit(&out) != 0)
		goto done;
	if (!o->quiet && o->progress != PROGRESS_JSON)
		printf("%s%s: %u byte%s read from alt %u at 0x%08x\n",
		    out_tag(tag, sizeof(tag), ui->out), o->upload, got,
		    cli_s(got), o->alt, o->address);
	rc = CLI_EXIT_OK;
done:
	/* Past the engine's own failures, only the output file can fail. */
	outcome(ui->out, rc, "output");
	dfu_file_free(f);
	free(buf);
	return rc;
}

static int
do_unprotect(const struct options *o, struct dfl_session *s, struct ui *ui)
{
	struct dfl_options eo;
	char tag[192];
	int rc;

	memset(&eo, 0, sizeof(eo));
	eo.cb_ctx = ui;
	cli_error(NULL, "warning: --unprotect removes read protection: the "
	    "device erases all of its flash and resets");
	if ((rc = dfl_unprotect(s, &eo)) != 0)
		return engine_error(ui, s, NULL, rc);
	if (!o->quiet && o->progress != PROGRESS_JSON)
		printf("%sread protection removed; the device erased its "
		    "flash and reset\n", out_tag(tag, sizeof(tag), ui->out));
	return CLI_EXIT_OK;
}

/* -e: DETACH a device in run-time mode (dfu-util -e). */
static int
do_detach(const struct options *o, struct dfl_session *s, struct ui *ui)
{
	struct dfl_options eo;
	char tag[192];
	int rc;

	memset(&eo, 0, sizeof(eo));
	eo.cb_ctx = ui;
	if ((rc = dfl_detach(s, &eo)) < 0) {
		engine_error(ui, s, NULL, rc);
		return CLI_EXIT_FAIL;
	}
	if (!o->quiet)
		printf("%s%s\n", out_tag(tag, sizeof(tag), ui->out), rc == 1 ?
		    "the device is in DFU mode already; nothing sent" :
		    "device detached: it is in DFU mode now");
	return CLI_EXIT_OK;
}

/* -R after -U: a USB reset, as dfu-util -R sends. */
static int
do_reset(const struct options *o, struct dfl_session *s, struct ui *ui)
{
	char tag[192];
	int rc;

	if ((rc = dfl_reset(s)) != 0) {
		engine_error(ui, s, NULL, rc);
		return CLI_EXIT_FAIL;
	}
	if (!o->quiet && o->progress != PROGRESS_JSON)
		printf("%sdevice reset\n", out_tag(tag, sizeof(tag), ui->out));
	return CLI_EXIT_OK;
}

/* ---- USB devices ---------------------------------------------------------- */

static uint64_t
mono_us(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
usb_warn(void *ctx, const char *msg)
{
	(void)ctx;
	cli_error(NULL, "warning: %s", msg);
}

/* Scan, waiting with -w until a device matches or --wait-timeout ends. */
static struct dfl_usb *
usb_scan(const struct options *o)
{
	uint64_t deadline = mono_us(NULL) + (uint64_t)o->wait_timeout * 1000000u;
	char msg[256];
	struct dfl_usb *u = dfl_usb_new(msg, sizeof(msg));

	if (u == NULL) {
		cli_error(NULL, "%s", msg);
		return NULL;
	}
	for (;;) {
		size_t hits = 0;

		if (dfl_usb_scan(u, 1, msg, sizeof(msg)) != 0) {
			cli_error(NULL, "%s", msg);
			dfl_usb_free(u);
			return NULL;
		}
		for (size_t i = 0; i < dfl_usb_count(u); i++) {
			const struct dfl_usb_info *in = dfl_usb_info(u, i);
			struct dfl_candidate c;

			dfl_usb_candidate(in, &c);

			if (dfl_match(&o->match, &c))
				hits++;
		}
		if (hits > 0 || !o->wait || mono_us(NULL) >= deadline)
			return u;
		usleep(100000);
	}
}

static int do_list_sim(const struct options *o);

static int
do_list(const struct options *o)
{
	struct dfl_usb *u;
	int rc = CLI_EXIT_OK;
	size_t shown = 0;

	if (o->sim != NULL)
		return do_list_sim(o);
	if ((u = usb_scan(o)) == NULL)
		return CLI_EXIT_FAIL;
	if (dfl_list_print(stdout, u, &o->match, o->json, &shown) != 0) {
		cli_error(NULL, "stdout: write error");
		rc = CLI_EXIT_FAIL;
	} else if (shown == 0 && !o->json)
		cli_error(NULL, "no DFU device found%s", dfl_usb_count(u) > 0 ?
		    " that matches -d, -S and -p" : "");
	dfl_usb_free(u);
	return rc;
}

static void
describe(const struct dfl_usb_info *in)
{
	fprintf(stderr, "  %s %04x:%04x serial %s %s mode%s\n", in->path,
	    in->vid, in->pid, in->serial != NULL ? in->serial :
	    in->access ? "(none)" : "(unknown: permission denied)",
	    in->protocol == DFL_PROTOCOL_DFU ? "DFU" : "run-time",
	    in->access ? "" : ", no access");
}

/* " -d -S A -S B -p 1-2": what the match asks for, for messages. */
static const char *
match_text(const struct dfl_match *m, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (m->ids_set)
		n += (size_t)snprintf(buf, len, " -d");
	for (size_t i = 0; i < m->nserials && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, " -S %s",
		    m->serials[i]);
	for (size_t i = 0; i < m->npaths && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, " -p %s", m->paths[i]);
	return buf;
}

/* Why no device of the scan u matches; denied of them cannot be opened. */
static void
usb_none(const struct options *o, const struct dfl_usb *u, size_t denied)
{
	size_t n = dfl_usb_count(u);
	char what[1024];

	if (n == 0) {
		cli_error(NULL, "no DFU device found");
		cli_error(NULL, "plug in the device in DFU mode (on STM32: "
		    "BOOT0 high, then reset)%s; dfuflash -l lists what is "
		    "found", o->wait ? "" : ", or wait for it with -w");
		return;
	}
	cli_error(NULL, "no DFU device matches%s%s; %zu found:",
	    match_text(&o->match, what, sizeof(what)),
	    o->wait ? " (after waiting)" : "", n);
	for (size_t i = 0; i < n; i++)
		describe(dfl_usb_info(u, i));
	if (denied > 0 && o->match.nserials > 0)
		cli_error(NULL, "the serial number of a device that "
		    "cannot be opened is unknown: see PERMISSIONS in "
		    "dfuflash(1)");
}

/*
 * The one device the options mean, opened; NULL after printing why, with
 * the exit status in *status.  Nothing is sent to any device here beyond
 * reading descriptors.
 */
static struct dfl_usb_handle *
usb_select(const struct options *o, struct dfl_usb **up, int *status)
{
	struct dfl_usb_params p;
	struct dfl_usb_handle *h = NULL;
	struct dfl_usb *u = usb_scan(o);
	size_t n, hits = 0, which = 0, denied = 0;
	char msg[1024];
	int rc;

	*up = u;
	*status = DFL_EXIT_NO_DEVICE;
	if (u == NULL)
		return NULL;
	n = dfl_usb_count(u);
	for (size_t i = 0; i < n; i++) {
		const struct dfl_usb_info *in = dfl_usb_info(u, i);
		struct dfl_candidate c;

		dfl_usb_candidate(in, &c);
		denied += !in->access;
		if (dfl_match(&o->match, &c)) {
			hits++;
			which = i;
		}
	}
	if (hits == 0) {
		usb_none(o, u, denied);
		return NULL;
	}
	if (hits > 1) {
		*status = DFL_EXIT_REJECTED;
		cli_error(NULL, "%zu DFU devices match; pick one with -S "
		    "SERIAL or -p PATH, or flash them all with --all:", hits);
		for (size_t i = 0; i < n; i++) {
			const struct dfl_usb_info *in = dfl_usb_info(u, i);
			struct dfl_candidate c;

			dfl_usb_candidate(in, &c);

			if (dfl_match(&o->match, &c))
				describe(in);
		}
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.transfer_size = o->transfer_size;
	p.wait_timeout_ms = o->wait_timeout * 1000u;
	p.warn = usb_warn;
	if ((rc = dfl_usb_open(u, which, &p, &h, msg, sizeof(msg))) != 0) {
		cli_error(NULL, "%s", msg);
		if (rc == DFL_USB_ACCESS)
			cli_error(NULL, "to fix it install the udev rules file "
			    "70-dfuflash.rules (make install "
			    "UDEVRULESDIR=/etc/udev/rules.d), run 'udevadm "
			    "control --reload-rules' and plug the device in "
			    "again, or run dfuflash as root; see PERMISSIONS "
			    "in dfuflash(1)");
		return NULL;
	}
	if (dfl_usb_check_transfer(h, msg, sizeof(msg)) != 0) {
		*status = DFL_EXIT_REJECTED;
		cli_error(NULL, "%s", msg);
		dfl_usb_close(h);
		return NULL;
	}
	return h;
}

/* -a by number or name, once the device's alternate settings are known. */
static int
resolve_alt(struct options *o, const struct dfl_device *dev)
{
	char msg[1024];
	uint32_t v;

	if (o->alt_arg == NULL)
		return 0;
	if (dev->bInterfaceProtocol == DFL_PROTOCOL_RUNTIME) {
		/* Its DFU-mode alternate settings are not known yet. */
		if (cli_parse_u32(o->alt_arg, &v) == 0 && v <= 255) {
			o->alt = (uint8_t)v;
			return 0;
		}
		cli_error(NULL, "-a %s: the device is in run-time mode, whose "
		    "alternate settings are not those of DFU mode; give the "
		    "number", o->alt_arg);
		return -1;
	}
	if (dfl_alt_resolve(dev->alts, dev->nalts, o->alt_arg, &o->alt, msg,
	    sizeof(msg)) != 0) {
		cli_error(NULL, "%s", msg);
		return -1;
	}
	return 0;
}

static int
run_session(struct options *o, const struct dfl_transport *t,
    const struct dfl_device *dev, struct ui *ui)
{
	struct dfl_session *s;
	int rc;

	if (resolve_alt(o, dev) != 0)
		return outcome(ui->out, CLI_EXIT_USAGE, "plan");
	ui->mode = o->progress;
	if (ui->mode == PROGRESS_AUTO)
		ui->mode = !o->quiet && isatty(STDERR_FILENO) ?
		    PROGRESS_BAR : PROGRESS_NONE;
	if (o->quiet && ui->mode == PROGRESS_BAR)
		ui->mode = PROGRESS_NONE;
	if ((s = dfl_session_new(t, dev)) == NULL) {
		cli_error(NULL, "out of memory");
		return outcome(ui->out, CLI_EXIT_FAIL, NULL);
	}
	if (o->detach)
		rc = do_detach(o, s, ui);
	else if (o->upload != NULL) {
		rc = do_upload(o, s, dev, ui);
		if (rc == CLI_EXIT_OK && o->reset)
			rc = do_reset(o, s, ui);
	} else if (o->unprotect)
		rc = do_unprotect(o, s, ui);
	else
		rc = do_download(o, s, dev, ui);
	dfl_session_free(s);
	return rc;
}

static int
run_usb(struct options *o)
{
	struct dfl_usb *u = NULL;
	struct dfl_usb_handle *h;
	struct dfl_transport t;
	const struct dfl_usb_info *in;
	struct ui ui;
	int rc;

	if ((h = usb_select(o, &u, &rc)) == NULL) {
		dfl_usb_free(u);
		return outcome(&run_out, rc, "select");
	}
	in = dfl_usb_handle_info(h);
	dfl_outcome_device(&run_out, in->path, in->serial);
	memset(&ui, 0, sizeof(ui));
	ui.now_us = mono_us;
	ui.usb = h;
	ui.out = &run_out;
	dfl_usb_transport(h, &t);
	rc = run_session(o, &t, dfl_usb_device(h), &ui);
	dfl_usb_close(h);
	dfl_usb_free(u);
	return rc;
}

/* ---- Devices of --sim ---------------------------------------------------- */

/*
 * The devices of --sim (1 to N) that -d, -S and -p match, into sel;
 * their number.  Matched as a USB device is (select.h), on the path and
 * serial number sim_names() gives.
 */
static size_t
sim_match(const struct options *o, unsigned *sel)
{
	unsigned n = o->sim_count > 0 ? o->sim_count : 1;
	struct dfl_model *m = dfl_model_new(o->sim_profile);
	const struct dfl_device *d;
	size_t hits = 0;

	if (m == NULL)
		bad_usage("--sim %s: unknown profile %s (%s)", o->sim,
		    o->sim_profile, dfl_model_profile_names());
	d = dfl_model_device(m);
	/* Every fault is checked, also those of devices not chosen. */
	for (size_t i = 0; i < o->nfaults; i++) {
		char err[512];
		unsigned dev;

		if (dfl_model_fault(m, fault_spec(o->faults[i], &dev), err,
		    sizeof(err)) != 0)
			bad_usage("--sim-fault %s", err);
	}
	for (unsigned k = 1; k <= n; k++) {
		char path[16], serial[32];
		struct dfl_candidate c;

		sim_names(o, k, path, sizeof(path), serial, sizeof(serial));
		memset(&c, 0, sizeof(c));
		c.path = path;
		c.serial = serial;
		c.vid = d->idVendor;
		c.pid = d->idProduct;
		c.runtime = d->bInterfaceProtocol == DFL_PROTOCOL_RUNTIME;
		if (dfl_match(&o->match, &c))
			sel[hits++] = k;
	}
	dfl_model_free(m);
	return hits;
}

/* The devices of --sim, as usb_select() lists USB devices; hits of them
 * are in sel (all when all). */
static void
sim_describe(const struct options *o, const unsigned *sel, size_t hits,
    int all)
{
	unsigned n = o->sim_count > 0 ? o->sim_count : 1;
	struct dfl_model *m = dfl_model_new(o->sim_profile);
	const struct dfl_device *d = dfl_model_device(m);
	unsigned vid = d->idVendor, pid = d->idProduct;
	int runtime = d->bInterfaceProtocol == DFL_PROTOCOL_RUNTIME;
	size_t j = 0;

	dfl_model_free(m);
	for (unsigned k = 1; k <= n; k++) {
		char path[16], serial[32];

		if (!all && (j >= hits || sel[j] != k))
			continue;
		j++;
		sim_names(o, k, path, sizeof(path), serial, sizeof(serial));
		fprintf(stderr, "  %s %04x:%04x serial %s %s mode\n", path,
		    vid, pid, serial, runtime ? "run-time" : "DFU");
	}
}

/* The one device of --sim the options mean: 0 with *k set, or an exit
 * status after saying why. */
static int
sim_pick(const struct options *o, unsigned *k)
{
	unsigned sel[SIM_MAX];
	size_t hits = sim_match(o, sel);

	if (hits == 1) {
		*k = sel[0];
		return 0;
	}
	if (hits == 0) {
		char what[1024];

		cli_error(NULL, "no DFU device matches%s; %u found:",
		    match_text(&o->match, what, sizeof(what)),
		    o->sim_count > 0 ? o->sim_count : 1);
		sim_describe(o, sel, 0, 1);
		return DFL_EXIT_NO_DEVICE;
	}
	cli_error(NULL, "%zu DFU devices match; pick one with -S SERIAL or -p "
	    "PATH, or flash them all with --all:", hits);
	sim_describe(o, sel, hits, 0);
	return DFL_EXIT_REJECTED;
}

/*
 * -l --sim: the modelled devices, as a scan finds them on USB (the same
 * VID:PID, descriptors and strings, with the path and serial number
 * that -p and -S match), listed by the code that lists USB devices.
 */
static int
do_list_sim(const struct options *o)
{
	unsigned n = o->sim_count > 0 ? o->sim_count : 1;
	struct dfl_usb_info *in = calloc(n, sizeof(*in));
	struct sim *sims = calloc(n, sizeof(*sims));
	size_t shown = 0, opened = 0;
	int rc = CLI_EXIT_OK;

	if (in == NULL || sims == NULL) {
		cli_error(NULL, "out of memory");
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	for (; opened < n; opened++) {
		struct sim *s = &sims[opened];
		struct dfl_usb_info *i = &in[opened];
		const struct dfl_device *d;

		if (sim_open(s, o, (unsigned)opened + 1) != 0) {
			rc = CLI_EXIT_FAIL;
			goto out;
		}
		d = dfl_model_device(s->model);
		snprintf(i->path, sizeof(i->path), "%s", s->path);
		i->bus = 1;
		i->address = (uint8_t)(opened + 2);
		i->vid = d->idVendor;
		i->pid = d->idProduct;
		i->bcdDevice = d->bcdDevice;
		i->protocol = d->bInterfaceProtocol;
		i->has_func = 1;
		i->func.bLength = 9;
		i->func.bmAttributes = d->bmAttributes;
		i->func.wDetachTimeOut = d->wDetachTimeOut;
		i->func.wTransferSize = d->wTransferSize;
		i->func.bcdDFUVersion = d->bcdDFUVersion;
		i->access = 1;
		i->serial = s->serial;
		i->alts = (struct dfl_alt *)d->alts;
		i->nalts = d->nalts;
	}
	if (dfl_list_print_infos(stdout, in, n, &o->match, o->json, &shown) !=
	    0) {
		cli_error(NULL, "stdout: write error");
		rc = CLI_EXIT_FAIL;
	} else if (shown == 0 && !o->json)
		cli_error(NULL, "no DFU device found that matches -d, -S and "
		    "-p");
out:
	for (size_t k = 0; k < opened; k++)
		sim_close(&sims[k], o, 0);
	free(in);
	free(sims);
	return rc;
}

/* ---- Many devices (--all) ------------------------------------------------ */

static void
unit_usb_warn(void *ctx, const char *msg)
{
	struct unit *u = ctx;

	pthread_mutex_lock(&u->fleet->mu);
	unit_say(u, "warning: %s", msg);
	pthread_mutex_unlock(&u->fleet->mu);
}

/* One device's session, in its own thread. */
static void *
unit_run(void *arg)
{
	struct unit *u = arg;
	const struct options *o = u->o;
	const char *name = cli_input_name(o->file != NULL ? o->file :
	    o->raw);
	struct dfl_session *s = dfl_session_new(&u->t, u->dev);
	struct dfl_options eo;
	struct dfl_result res;
	uint64_t t0 = mono_us(NULL);
	struct timespec now;
	int rc;

	clock_gettime(CLOCK_REALTIME, &now);
	u->started_us = (uint64_t)now.tv_sec * 1000000u +
	    (uint64_t)now.tv_nsec / 1000u;
	engine_options(o, &u->ui, &eo);
	rc = s != NULL ? dfl_download(s, &u->img, &eo, &res) : DFL_ERR_NOMEM;
	u->wall_us = mono_us(NULL) - t0;
	pthread_mutex_lock(&u->fleet->mu);
	if (rc == 0) {
		u->rc = CLI_EXIT_OK;
		u->bytes = res.bytes_written;
		u->bytes_erased = res.bytes_erased;
		u->left = res.left;
		u->out.bytes_written = res.bytes_written;
		if (u->fleet->mode == PROGRESS_BAR) {
			snprintf(u->line, sizeof(u->line), "%-6s %-12.12s "
			    "done: wrote %llu byte%s", u->path, u->serial,
			    (unsigned long long)u->bytes, cli_s(u->bytes));
			fleet_bar(u);
		} else if (!o->quiet) {
			report(o, name, &res, &u->ui);
			fflush(stdout);
		}
	} else {
		const char *lost = u->usb != NULL ? dfl_usb_errmsg(u->usb) :
		    "";

		snprintf(u->why, sizeof(u->why), "%s", lost[0] != '\0' ? lost :
		    s != NULL ? dfl_errmsg(s) : "out of memory");
		if (s != NULL)
			dfl_outcome_engine(&u->out, rc, dfl_failure(s), u->why);
		else
			dfl_outcome_fail(&u->out, DFL_EXIT_REJECTED, NULL, "%s",
			    u->why);
		u->rc = u->out.status;
		if (u->fleet->mode == PROGRESS_BAR) {
			snprintf(u->line, sizeof(u->line), "%-6s %-12.12s "
			    "failed: %.50s", u->path, u->serial, u->why);
			fleet_bar(u);
		}
		unit_say(u, "%s: %s", name, u->why);
	}
	u->done = 1;
	pthread_mutex_unlock(&u->fleet->mu);
	dfl_session_free(s);
	dfl_image_free(&u->img);
	return NULL;
}

/* Device k of --sim as unit u: 0, or -1 after saying why. */
static int
unit_sim_open(struct unit *u, const struct options *o, unsigned k)
{
	if (sim_open(&u->sim, o, k) != 0)
		return -1;
	u->have_sim = 1;
	u->sim_k = k;
	snprintf(u->path, sizeof(u->path), "%s", u->sim.path);
	snprintf(u->serial, sizeof(u->serial), "%s", u->sim.serial);
	dfl_outcome_device(&u->out, u->sim.path, u->sim.serial);
	dfl_model_transport(u->sim.model, &u->t);
	u->dev = dfl_model_device(u->sim.model);
	u->vid = u->dev->idVendor;
	u->pid = u->dev->idProduct;
	u->ui.now_us = sim_now_us;
	u->ui.clock_ctx = u->sim.model;
	return 0;
}

/* The devices of --sim that the options mean, opened into f; an exit
 * status. */
static int
fleet_sim(struct fleet *f, const struct options *o)
{
	unsigned sel[SIM_MAX];

	f->n = sim_match(o, sel);
	if (f->n == 0)
		return outcome(&run_out, sim_pick(o, sel), "select");
	if ((f->units = calloc(f->n, sizeof(*f->units))) == NULL) {
		cli_error(NULL, "out of memory");
		return outcome(&run_out, CLI_EXIT_FAIL, NULL);
	}
	for (size_t i = 0; i < f->n; i++)
		if (unit_sim_open(&f->units[i], o, sel[i]) != 0)
			return outcome(&run_out, CLI_EXIT_FAIL, "input");
	return CLI_EXIT_OK;
}

/* USB device i of the scan u as unit un, of its fleet; one that cannot
 * be opened is a failed unit (rc 1, why set), said at once. */
static void
unit_usb_open(struct unit *un, const struct options *o, struct dfl_usb *u,
    size_t i)
{
	const struct dfl_usb_info *in = dfl_usb_info(u, i);
	struct dfl_usb_params p;
	char msg[1024];

	un->rc = -1;
	snprintf(un->path, sizeof(un->path), "%s", in->path);
	snprintf(un->serial, sizeof(un->serial), "%s",
	    in->serial != NULL ? in->serial : "-");
	un->vid = in->vid;
	un->pid = in->pid;
	dfl_outcome_device(&un->out, in->path, in->serial);
	memset(&p, 0, sizeof(p));
	p.transfer_size = o->transfer_size;
	p.wait_timeout_ms = o->wait_timeout * 1000u;
	p.warn = unit_usb_warn;
	p.warn_ctx = un;
	if (dfl_usb_open(u, i, &p, &un->usb, msg, sizeof(msg)) != 0)
		un->rc = DFL_EXIT_NO_DEVICE;
	else if (dfl_usb_check_transfer(un->usb, msg, sizeof(msg)) != 0)
		un->rc = DFL_EXIT_REJECTED;
	if (un->rc != -1) {
		snprintf(un->why, sizeof(un->why), "%s", msg);
		dfl_outcome_fail(&un->out, un->rc, "select", "%s", msg);
		pthread_mutex_lock(&un->fleet->mu);
		unit_say(un, "%s", msg);
		pthread_mutex_unlock(&un->fleet->mu);
		return;
	}
	dfl_usb_transport(un->usb, &un->t);
	un->dev = dfl_usb_device(un->usb);
	un->ui.now_us = mono_us;
	un->ui.usb = un->usb;
}

/* The USB devices that the options mean, opened into f (one that cannot
 * be opened is a failed unit); an exit status. */
static int
fleet_usb(struct fleet *f, const struct options *o, struct dfl_usb **up)
{
	struct dfl_usb *u = usb_scan(o);
	size_t n, denied = 0;

	if ((*up = u) == NULL)
		return outcome(&run_out, DFL_EXIT_NO_DEVICE, "select");
	n = dfl_usb_count(u);
	if ((f->units = calloc(n + 1, sizeof(*f->units))) == NULL) {
		cli_error(NULL, "out of memory");
		return outcome(&run_out, CLI_EXIT_FAIL, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		const struct dfl_usb_info *in = dfl_usb_info(u, i);
		struct dfl_candidate c;
		struct unit *un = &f->units[f->n];

		dfl_usb_candidate(in, &c);
		denied += !in->access;
		if (!dfl_match(&o->match, &c))
			continue;
		f->n++;
		un->fleet = f;
		unit_usb_open(un, o, u, i);
	}
	if (f->n == 0) {
		usb_none(o, u, denied);
		return outcome(&run_out, DFL_EXIT_NO_DEVICE, "select");
	}
	return CLI_EXIT_OK;
}

/* "2.276": whole milliseconds, as the sim line prints the modelled time. */
static const char *
seconds(char *buf, size_t len, uint64_t us)
{
	snprintf(buf, len, "%llu.%03llu", (unsigned long long)(us / 1000000),
	    (unsigned long long)(us / 1000 % 1000));
	return buf;
}

/* The "result" event of --progress=json for device u. */
static void
unit_result_event(struct unit *u)
{
	u->out.have_wall = 1;
	u->out.wall_ms = u->wall_us / 1000;
	u->out.have_modelled = u->have_sim;
	u->out.modelled_ms = u->model_us / 1000;
	/* Not said yet: a failure outside the engine. */
	if (u->rc != CLI_EXIT_OK)
		dfl_outcome_fail(&u->out, u->rc, NULL, "%s", u->why);
	dfl_event_print(stdout, dfl_outcome_json(&u->out));
}

/* One line per device, and the count; or with --progress=json one
 * result event per device and a summary event with the exit status. */
static void
fleet_summary(struct fleet *f, const struct options *o, int status)
{
	size_t ok = 0;
	char t[32];

	for (size_t i = 0; i < f->n; i++)
		ok += f->units[i].rc == CLI_EXIT_OK;
	if (o->progress == PROGRESS_JSON) {
		for (size_t i = 0; i < f->n; i++)
			unit_result_event(&f->units[i]);
		dfl_event_print(stdout, json_pack("{s:s, s:s, s:n, s:n, s:I, "
		    "s:I, s:I, s:i, s:s}", "schema", DFL_EVENT_SCHEMA, "event",
		    "summary", "path", "serial", "devices", (json_int_t)f->n,
		    "ok", (json_int_t)ok, "failed", (json_int_t)(f->n - ok),
		    "status", status, "status_name", dfl_exit_name(status)));
		return;
	}
	printf("%-8s %-16s %-6s %10s %8s%s\n", "path", "serial", "result",
	    "bytes", "seconds", f->units[0].have_sim ? " modelled" : "");
	for (size_t i = 0; i < f->n; i++) {
		const struct unit *u = &f->units[i];

		printf("%-8s %-16s %-6s %10llu %8s", u->path, u->serial,
		    u->rc == 0 ? "ok" : "failed",
		    (unsigned long long)u->bytes,
		    seconds(t, sizeof(t), u->wall_us));
		if (u->have_sim)
			printf(" %8s", seconds(t, sizeof(t), u->model_us));
		if (u->rc != 0)
			printf("  %s", u->why);
		putchar('\n');
	}
	printf("%zu of %zu device%s flashed, %zu failed\n", ok, f->n,
	    cli_s(f->n), f->n - ok);
}

/* Load the image for unit u (row of fleet f), in the main thread: the
 * input's descriptor and the -a alt are shared. */
static void
unit_prepare(struct unit *u, struct fleet *f, struct options *o, size_t row)
{
	u->fleet = f;
	u->o = o;
	u->row = row;
	u->ui.unit = u;
	u->ui.out = &u->out;
	u->ui.mode = f->mode;
	snprintf(u->line, sizeof(u->line), "%-6s %-12.12s waiting", u->path,
	    u->serial);
	if (u->dev == NULL)
		return; /* not opened */
	u->rc = -1;
	o->alt = 0;
	first_error[0] = '\0';
	if (resolve_alt(o, u->dev) != 0)
		u->rc = outcome(&u->out, CLI_EXIT_USAGE, "plan");
	else
		u->rc = outcome(&u->out, load_input(o, u->dev, &u->img),
		    "input");
	if (u->rc == CLI_EXIT_OK) {
		u->rc = -1;
		return;
	}
	snprintf(u->why, sizeof(u->why), "not flashed: the input or -a "
	    "does not fit the device (see above)");
	snprintf(u->out.message, sizeof(u->out.message), "%s",
	    first_error[0] != '\0' ? first_error : u->why);
}

/* Start unit u's thread, if it is ready to flash. */
static void
unit_start(struct unit *u)
{
	int err;

	if (u->rc != -1)
		return;
	err = pthread_create(&u->thread, NULL, unit_run, u);
	if (err != 0) {
		u->rc = CLI_EXIT_FAIL;
		snprintf(u->why, sizeof(u->why), "cannot start a thread: %s",
		    strerror(err));
		dfl_outcome_fail(&u->out, u->rc, NULL, "%s", u->why);
		dfl_image_free(&u->img);
	} else
		u->started = 1;
}

/* Unit u's --log record; 0, or -1 after saying why. */
static int
unit_record(const struct unit *u, const struct options *o)
{
	struct dfl_record r;
	char name[4096];

	memset(&r, 0, sizeof(r));
	r.path = u->path;
	r.serial = strcmp(u->serial, "-") != 0 ? u->serial : NULL;
	r.vendor_id = u->vid;
	r.product_id = u->pid;
	r.file = o->file != NULL ? o->file : o->raw;
	r.sha256 = o->sha256;
	r.exit_status = u->rc;
	r.phase = u->phase_seen ? dfl_phase_name(u->phase) : NULL;
	r.error = u->rc != CLI_EXIT_OK ? u->why : NULL;
	r.bytes_erased = u->bytes_erased;
	r.bytes_written = u->bytes;
	r.started_us = u->started_us;
	r.duration_us = u->wall_us;
	r.modelled_us = u->have_sim ? (int64_t)u->model_us : -1;
	r.outcome = &u->out;
	return dfl_record_write(o->log_dir, &r, name, sizeof(name));
}

/* After unit u's thread (if any): save its --sim state, close its USB
 * device, write its --log record if record. */
static void
unit_finish(struct unit *u, const struct options *o, int record)
{
	if (u->have_sim && u->sim.model != NULL) {
		u->model_us = dfl_model_stats(u->sim.model)->time_us;
		if (sim_close(&u->sim, o, u->started) != 0 &&
		    u->rc == CLI_EXIT_OK) {
			u->rc = CLI_EXIT_FAIL;
			snprintf(u->why, sizeof(u->why), "its state file was "
			    "not saved");
			dfl_outcome_fail(&u->out, u->rc, "output", "%s",
			    u->why);
		}
		u->sim.model = NULL;
	}
	dfl_usb_close(u->usb);
	u->usb = NULL;
	if (u->started_us == 0) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		u->started_us = (uint64_t)now.tv_sec * 1000000u +
		    (uint64_t)now.tv_nsec / 1000u;
	}
	if (record && o->log_dir != NULL && unit_record(u, o) != 0 &&
	    u->rc == CLI_EXIT_OK) {
		u->rc = CLI_EXIT_FAIL;
		snprintf(u->why, sizeof(u->why), "its --log record was not "
		    "written");
		dfl_outcome_fail(&u->out, u->rc, "output", "%s", u->why);
	}
}

/*
 * --all: every device the options match, each in its own thread; a
 * device that fails does not stop the others.  The exit status is the
 * largest of the devices' (enum dfl_exit): with one device, what a run
 * without --all gives.
 */
static int
run_all(struct options *o, int *summarised)
{
	struct fleet f;
	struct dfl_usb *usb = NULL;
	int rc;

	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.mu, NULL);
	f.mode = o->progress;
	if (f.mode == PROGRESS_AUTO)
		f.mode = o->quiet ? PROGRESS_NONE : isatty(STDERR_FILENO) ?
		    PROGRESS_BAR : PROGRESS_TEXT;
	if (o->quiet && f.mode == PROGRESS_BAR)
		f.mode = PROGRESS_NONE;
	rc = o->sim != NULL ? fleet_sim(&f, o) : fleet_usb(&f, o, &usb);
	/* The model comes before the input, as without --all. */
	if (rc == CLI_EXIT_OK && o->sim != NULL &&
	    (rc = open_input(o)) != CLI_EXIT_OK)
		outcome(&run_out, rc, "input");
	if (rc != CLI_EXIT_OK)
		goto out;
	if (o->flags & DFL_MASS_ERASE)
		cli_error(NULL, "warning: --mass-erase erases all of the "
		    "devices' flash, not only the pages the image covers");
	/* Images are loaded here, one device after the other: the input's
	 * descriptor and the -a alt are shared. */
	for (size_t i = 0; i < f.n; i++)
		unit_prepare(&f.units[i], &f, o, i);
	if (f.mode == PROGRESS_BAR) {
		pthread_mutex_lock(&f.mu);
		fleet_redraw(&f);
		pthread_mutex_unlock(&f.mu);
	}
	for (size_t i = 0; i < f.n; i++)
		unit_start(&f.units[i]);
	for (size_t i = 0; i < f.n; i++)
		if (f.units[i].started)
			pthread_join(f.units[i].thread, NULL);
out:
	for (size_t i = 0; i < f.n; i++)
		unit_finish(&f.units[i], o, rc == CLI_EXIT_OK);
	if (rc == CLI_EXIT_OK) {
		for (size_t i = 0; i < f.n; i++)
			if (f.units[i].rc > rc)
				rc = f.units[i].rc;
		fleet_summary(&f, o, rc);
		*summarised = 1;
	}
	free(f.units);
	dfl_usb_free(usb);
	pthread_mutex_destroy(&f.mu);
	return rc;
}

/* ---- A station that keeps going (--watch) -------------------------------- */

/*
 * How often --watch looks for boards.  dfuflash does not use libusb's
 * hotplug callbacks (usb.h says why: they need its event loop, and
 * umockdev's device nodes do not wake poll()); a scan every 200 ms is
 * a few control transfers per DFU device and notices a board well
 * before anyone could notice the wait.
 */
#define WATCH_POLL_MS 200

/* Boards flashed at once by --watch; more wait for a free slot. */
#define WATCH_SLOTS SIM_MAX

/* A board found by a scan of --watch. */
struct board {
	char path[32];
	char serial[128];	/* "-": none */
	int runtime;		/* in run-time mode: an application */
	unsigned k;		/* --sim: device k */
	int win;		/* --sim: its plug window */
	size_t i;		/* USB: its index in the scan */
};

/* A board --watch has taken: not flashed again while it is there. */
struct taken {
	char path[32];
	char serial[128];
	int slot;		/* its unit, -1 once flashed */
};

/*
 * Device k of --sim at t ms into --watch: the --sim-plug window it is
 * plugged in for (its index + 1), 0 for a device without --sim-plug
 * (there from the start), or -1 while it is out.
 */
static int
sim_window(const struct options *o, unsigned k, uint64_t t)
{
	int any = 0;

	for (size_t i = 0; i < o->nplugs; i++) {
		const struct sim_plug *p = &o->plugs[i];

		if (p->dev != k)
			continue;
		any = 1;
		if (t >= p->in_ms && (p->out_ms == 0 || t < p->out_ms))
			return (int)i + 1;
	}
	return any ? -1 : 0;
}

/*
 * The boards there at t ms: of --sim, the devices sel (those -d, -S
 * and -p match) plugged in; a device that left DFU mode after its flash
 * is in run-time mode (its application) until it is pulled out, as a
 * board with a DFU run-time interface re-enumerates.  app[k] is the
 * window in which device k left, or -1.
 */
static size_t
watch_poll_sim(const struct options *o, const unsigned *sel, size_t nsel,
    const int *app, uint64_t t, struct board *b)
{
	size_t n = 0;

	for (size_t j = 0; j < nsel; j++) {
		unsigned k = sel[j];
		int win = sim_window(o, k, t);
		char path[16], serial[32];

		if (win < 0)
			continue;
		sim_names(o, k, path, sizeof(path), serial, sizeof(serial));
		memset(&b[n], 0, sizeof(b[n]));
		snprintf(b[n].path, sizeof(b[n].path), "%s", path);
		snprintf(b[n].serial, sizeof(b[n].serial), "%s", serial);
		b[n].k = k;
		b[n].win = win;
		b[n].runtime = app[k] == win;
		n++;
	}
	return n;
}

/* The USB boards the options match in a new scan of u, at most max;
 * -1 after saying why the scan failed. */
static ssize_t
watch_poll_usb(const struct options *o, struct dfl_usb *u, struct board *b,
    size_t max)
{
	char msg[256];
	size_t n = 0;

	if (dfl_usb_scan(u, 1, msg, sizeof(msg)) != 0) {
		cli_error(NULL, "%s", msg);
		return -1;
	}
	for (size_t i = 0; i < dfl_usb_count(u) && n < max; i++) {
		const struct dfl_usb_info *in = dfl_usb_info(u, i);
		struct dfl_candidate c;

		dfl_usb_candidate(in, &c);
		if (!dfl_match(&o->match, &c))
			continue;
		memset(&b[n], 0, sizeof(b[n]));
		snprintf(b[n].path, sizeof(b[n].path), "%s", in->path);
		snprintf(b[n].serial, sizeof(b[n].serial), "%s",
		    in->serial != NULL ? in->serial : "-");
		b[n].runtime = in->protocol != DFL_PROTOCOL_DFU;
		b[n].i = i;
		n++;
	}
	return (ssize_t)n;
}

static int
same_board(const struct taken *t, const struct board *b)
{
	return strcmp(t->path, b->path) == 0 &&
	    strcmp(t->serial, b->serial) == 0;
}

/* The state of a --watch run. */
struct watch {
	struct fleet f;		/* f.units: WATCH_SLOTS slots */
	struct taken *taken;
	size_t ntaken;
	size_t started, ok, failed;
	int rc;
	int app[SIM_MAX + 1];	/* --sim: see watch_poll_sim() */
};

/* Board b taken into a free slot and started; -1 when no slot is
 * free (it is looked at again at the next scan). */
static int
watch_start(struct watch *w, struct options *o, const struct board *b,
    struct dfl_usb *usb)
{
	struct taken *t;
	struct unit *u = NULL;
	size_t s;

	for (s = 0; s < WATCH_SLOTS && u == NULL; s++)
		if (w->f.units[s].fleet == NULL)
			u = &w->f.units[s];
	if (u == NULL)
		return -1;
	t = reallocarray(w->taken, w->ntaken + 1, sizeof(*w->taken));
	if (t == NULL)
		return -1;
	w->taken = t;
	t = &w->taken[w->ntaken++];
	snprintf(t->path, sizeof(t->path), "%s", b->path);
	snprintf(t->serial, sizeof(t->serial), "%s", b->serial);
	t->slot = (int)(u - w->f.units);
	u->fleet = &w->f;
	snprintf(u->path, sizeof(u->path), "%s", b->path);
	snprintf(u->serial, sizeof(u->serial), "%s", b->serial);
	if (o->sim != NULL) {
		if (unit_sim_open(u, o, b->k) != 0) {
			u->rc = CLI_EXIT_FAIL;
			snprintf(u->why, sizeof(u->why), "its --sim state "
			    "cannot be read");
		}
		u->sim_win = b->win;
	} else
		unit_usb_open(u, o, usb, b->i);
	unit_prepare(u, &w->f, o, 0);
	unit_start(u);
	w->started++;
	return 0;
}

/* Slot u's board is done: save, record, count, report; the slot is
 * free again. */
static void
watch_reap(struct watch *w, struct unit *u, const struct options *o)
{
	if (u->started)
		pthread_join(u->thread, NULL);
	if (u->have_sim && u->left)
		w->app[u->sim_k] = u->sim_win;
	/* Its lines stay whole among those of the boards in progress. */
	pthread_mutex_lock(&w->f.mu);
	unit_finish(u, o, 1);
	if (u->rc == CLI_EXIT_OK)
		w->ok++;
	else
		w->failed++;
	if (u->rc > w->rc)
		w->rc = u->rc;
	if (o->progress == PROGRESS_JSON)
		unit_result_event(u);
	fflush(stdout);
	pthread_mutex_unlock(&w->f.mu);
	for (size_t i = 0; i < w->ntaken; i++)
		if (w->taken[i].slot == (int)(u - w->f.units))
			w->taken[i].slot = -1;
	memset(u, 0, sizeof(*u));
}

/* Forget the boards that are flashed and no longer there in DFU mode:
 * plugged in again, they are new boards. */
static void
watch_forget(struct watch *w, const struct board *b, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < w->ntaken; i++) {
		int there = w->taken[i].slot >= 0;

		for (size_t m = 0; m < n && !there; m++)
			there = !b[m].runtime && same_board(&w->taken[i],
			    &b[m]);
		if (there)
			w->taken[j++] = w->taken[i];
	}
	w->ntaken = j;
}

/*
 * --watch: flash each matching board in DFU mode as it is plugged in,
 * each in its own thread (as --all), until SIGINT or SIGTERM, or
 * --watch-count boards; the boards in progress are finished first.  A
 * board is known by its port path and serial number and is not flashed
 * again while it stays there; one in run-time mode (an application, as
 * a flashed board comes back) is never taken.  The exit status is the
 * largest of the boards' (0 when none failed), as with --all.
 */
static int
run_watch(struct options *o, int *summarised)
{
	struct watch w;
	struct board *b;
	struct dfl_usb *usb = NULL;
	unsigned sel[SIM_MAX];
	size_t nsel = 0;
	sigset_t sigs;
	uint64_t t0 = mono_us(NULL);
	int stop = 0;
	char msg[256];

	memset(&w, 0, sizeof(w));
	memset(w.app, -1, sizeof(w.app));
	if (o->sim != NULL) {
		int rc;

		nsel = sim_match(o, sel);
		if (nsel == 0)
			return outcome(&run_out, sim_pick(o, sel), "select");
		if ((rc = open_input(o)) != CLI_EXIT_OK)
			return outcome(&run_out, rc, "input");
	} else if ((usb = dfl_usb_new(msg, sizeof(msg))) == NULL) {
		cli_error(NULL, "%s", msg);
		return outcome(&run_out, DFL_EXIT_NO_DEVICE, "select");
	}
	b = calloc(WATCH_SLOTS * 4, sizeof(*b));
	w.f.units = calloc(WATCH_SLOTS, sizeof(*w.f.units));
	if (b == NULL || w.f.units == NULL) {
		cli_error(NULL, "out of memory");
		free(b);
		free(w.f.units);
		dfl_usb_free(usb);
		return CLI_EXIT_FAIL;
	}
	pthread_mutex_init(&w.f.mu, NULL);
	/* Lines, not bars: the boards come and go. */
	w.f.mode = o->progress == PROGRESS_JSON ? PROGRESS_JSON : o->quiet ||
	    o->progress == PROGRESS_NONE ? PROGRESS_NONE : PROGRESS_TEXT;
	if (o->flags & DFL_MASS_ERASE)
		cli_error(NULL, "warning: --mass-erase erases all of the "
		    "boards' flash, not only the pages the image covers");
	/*
	 * SIGINT and SIGTERM are taken here, between scans (sigtimedwait),
	 * blocked in every thread: no handler runs in the middle of a
	 * transfer, and the boards in progress are finished.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (!o->quiet && o->progress != PROGRESS_JSON)
		cli_error(NULL, "watching for DFU devices; stop with ^C");
	for (;;) {
		struct timespec ts = { 0, WATCH_POLL_MS * 1000000L };
		size_t active = 0;
		ssize_t n = 0;
		int sig;

		for (size_t s = 0; s < WATCH_SLOTS; s++) {
			struct unit *u = &w.f.units[s];
			int done;

			if (u->fleet == NULL)
				continue;
			pthread_mutex_lock(&w.f.mu);
			done = u->done || !u->started;
			pthread_mutex_unlock(&w.f.mu);
			if (done)
				watch_reap(&w, u, o);
			else
				active++;
		}
		if (o->watch_count > 0 && w.started >= o->watch_count)
			stop = 1;
		if (stop && active == 0)
			break;
		if (!stop) {
			uint64_t t = (mono_us(NULL) - t0) / 1000u;

			n = o->sim != NULL ? (ssize_t)watch_poll_sim(o, sel,
			    nsel, w.app, t, b) : watch_poll_usb(o, usb, b,
			    WATCH_SLOTS * 4);
			if (n < 0) {
				w.rc = CLI_EXIT_FAIL;
				stop = 1;
				n = 0;
			}
			watch_forget(&w, b, (size_t)n);
		}
		for (ssize_t m = 0; m < n && !stop; m++) {
			int known = b[m].runtime;

			/* A port being flashed is that board, whatever its
			 * serial number reads as meanwhile. */
			for (size_t i = 0; i < w.ntaken && !known; i++)
				known = same_board(&w.taken[i], &b[m]) ||
				    (w.taken[i].slot >= 0 && strcmp(
				    w.taken[i].path, b[m].path) == 0);
			if (known || (o->watch_count > 0 &&
			    w.started >= o->watch_count))
				continue;
			(void)watch_start(&w, o, &b[m], usb);
		}
		sig = sigtimedwait(&sigs, NULL, &ts);
		if ((sig == SIGINT || sig == SIGTERM) && !stop) {
			stop = 1;
			if (!o->quiet && o->progress != PROGRESS_JSON)
				cli_error(NULL, "%s: finishing the boards in "
				    "progress", sig == SIGINT ? "SIGINT" :
				    "SIGTERM");
		}
	}
	if (o->progress == PROGRESS_JSON) {
		dfl_event_print(stdout, json_pack("{s:s, s:s, s:n, s:n, s:I, "
		    "s:I, s:I, s:i, s:s}", "schema", DFL_EVENT_SCHEMA, "event",
		    "summary", "path", "serial", "devices",
		    (json_int_t)w.ok + (json_int_t)w.failed, "ok",
		    (json_int_t)w.ok, "failed", (json_int_t)w.failed, "status",
		    w.rc,
		    "status_name", dfl_exit_name(w.rc)));
		*summarised = 1;
	} else
		printf("%zu of %zu boards flashed, %zu failed\n", w.ok,
		    w.ok + w.failed, w.failed);
	free(b);
	free(w.f.units);
	free(w.taken);
	dfl_usb_free(usb);
	pthread_mutex_destroy(&w.f.mu);
	return w.rc;
}

/* The result event that ends a run without --all, or an --all that
 * found no device to flash (the summary ends one that did). */
static void
print_result(int rc, uint64_t t0)
{
	/* A failure no branch classified: its own status, no phase. */
	outcome(&run_out, rc, NULL);
	if (run_out.status != DFL_EXIT_OK && run_out.message[0] == '\0')
		snprintf(run_out.message, sizeof(run_out.message), "%s",
		    first_error);
	run_out.have_wall = 1;
	run_out.wall_ms = (mono_us(NULL) - t0) / 1000;
	dfl_event_print(stdout, dfl_outcome_json(&run_out));
}

int
main(int argc, char *argv[])
{
	struct options opt;
	struct dfl_transport t;
	struct sim sim;
	struct ui ui;
	uint64_t t0 = mono_us(NULL);
	unsigned k;
	int rc, summarised = 0;

	cli_init(argv[0]);
	parse_args(&opt, argc, argv);
	if (opt.list)
		return do_list(&opt);
	dfl_outcome_init(&run_out);
	cli_error_hook(note_error);
	json_result = opt.progress == PROGRESS_JSON;
	check_clashes(&opt);
	/* Where the records go, before any board is flashed. */
	if (opt.log_dir != NULL) {
		char msg[256];

		if (dfl_record_dir_ok(opt.log_dir, msg, sizeof(msg)) != 0) {
			cli_error(opt.log_dir, "%s (--log)", msg);
			return CLI_EXIT_FAIL;
		}
	}
	/*
	 * What the input is, before any USB device is looked for; the model
	 * comes first, so that a bad --sim is said as a usage error.
	 */
	if (opt.all) {
		if (opt.sim != NULL || (rc = outcome(&run_out,
		    open_input(&opt), "input")) == CLI_EXIT_OK)
			rc = run_all(&opt, &summarised);
	} else if (opt.watch) {
		if (opt.sim != NULL || (rc = outcome(&run_out,
		    open_input(&opt), "input")) == CLI_EXIT_OK)
			rc = run_watch(&opt, &summarised);
	} else if (opt.sim == NULL) {
		if ((rc = outcome(&run_out, open_input(&opt), "input")) ==
		    CLI_EXIT_OK)
			rc = run_usb(&opt);
	} else if ((rc = outcome(&run_out, sim_pick(&opt, &k), "select")) !=
	    CLI_EXIT_OK) {
		;
	} else if (sim_open(&sim, &opt, k) != 0) {
		rc = outcome(&run_out, CLI_EXIT_FAIL, "input");
	} else {
		dfl_outcome_device(&run_out, sim.path, sim.serial);
		memset(&ui, 0, sizeof(ui));
		ui.now_us = sim_now_us;
		ui.clock_ctx = sim.model;
		ui.out = &run_out;
		dfl_model_transport(sim.model, &t);
		if ((rc = outcome(&run_out, open_input(&opt), "input")) ==
		    CLI_EXIT_OK)
			rc = run_session(&opt, &t, dfl_model_device(sim.model),
			    &ui);
		run_out.have_modelled = 1;
		run_out.modelled_ms = dfl_model_stats(sim.model)->time_us /
		    1000;
		/* Reported unless the run failed before anything was sent (a
		 * usage error, a file or plan refused); --plan sends nothing,
		 * and the report says so. */
		if (sim_close(&sim, &opt, rc == CLI_EXIT_OK || (rc !=
		    CLI_EXIT_USAGE && dfl_model_stats(sim.model)->requests >
		    0)) != 0 && rc == CLI_EXIT_OK)
			rc = outcome(&run_out, CLI_EXIT_FAIL, "output");
	}
	if (json_result && !summarised)
		print_result(rc, t0);
	if (!stdout_ok() && rc == CLI_EXIT_OK)
		rc = CLI_EXIT_FAIL;
	dfu_file_free(opt.in_file);
	if (opt.in_fd >= 0)
		close(opt.in_fd);
	free(opt.faults);
	free(opt.plugs);
	free(opt.preserve);
	return rc;
}
