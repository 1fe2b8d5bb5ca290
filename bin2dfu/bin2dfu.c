/*
 * bin2dfu - build a DfuSe or plain DFU file from raw binary images
 *
 * The data of every input is streamed by libdfufile when the output is
 * written: nothing here reads a whole input into memory, so memory use
 * does not grow with the size of the inputs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dfufile.h"
#include "dfuimage.h"

#define ELEMENT_SIZE_MAX UINT32_MAX	/* dwElementSize is 32 bits */
#define ADDRESS_SPACE (UINT64_C(1) << 32)

/* One -a option (or the one input of --plain). */
struct input {
	const char *path;	/* as given; "-" is stdin */
	uint32_t address;
	size_t target;		/* index into opts.targets */
	int fd;
	uint64_t size;
};

struct options {
	struct cli_opts opts;	/* -d, -r, --pad, -o, -t: as every tool */
	int raw_container;	/* --raw-container (or its old name --force) */
	int plain;
	const char *plain_conflict;	/* first option --plain excludes */
	struct input *inputs;
	size_t ninputs;
	int stdin_used;
};

enum {
	OPT_FORCE = CLI_OPT_TOOL,
	OPT_PLAIN,
	OPT_RAW_CONTAINER,
};

static const struct option longopts[] = {
	CLI_OPTS_LONGOPTS,
	{ "element",	required_argument,	NULL,	'a' },
	{ "force",	no_argument,		NULL,	OPT_FORCE },
	{ "plain",	no_argument,		NULL,	OPT_PLAIN },
	{ "raw-container", no_argument,		NULL,	OPT_RAW_CONTAINER },
	{ NULL,		0,			NULL,	0 }
};

static const char usage_text[] =
    "usage: bin2dfu [--raw-container] [--pad n] [-d vid:pid] [-r bcddevice]\n"
    "               [--sync] -o output [-t alt[:name]] -a address:file ...\n"
    "       bin2dfu --plain [--raw-container] [-d vid:pid] [-r bcddevice]\n"
    "               [--sync] -o output file\n"
    "       bin2dfu -h | -V\n"
    "\n"
    "Input:\n"
    CLI_OPTS_HELP_TARGET
    "  -a, --element address:file add file's bytes at address to the target\n"
    "  --plain                       a plain DFU file: one file's bytes + suffix\n"
    "  --raw-container, --force      take DfuSe/DFU/ELF/HEX inputs as plain data\n"
    CLI_OPTS_HELP_SUFFIX
    CLI_OPTS_HELP_OUTPUT
    CLI_OPTS_HELP_OTHER;

/* -a ADDRESS:FILE, an element of the last -t */
static void
parse_element(struct options *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	struct input *in;
	uint32_t address;

	if (colon == NULL)
		cli_usage_error("-a %s: expected address:file", arg);
	if (colon == arg)
		cli_usage_error("-a %s: missing address before ':'", arg);
	if (colon[1] == '\0')
		cli_usage_error("-a %s: missing file after ':'", arg);
	/* The classic slip, 08000000 for 0x08000000, is a usage error. */
	if (cli_arg_u32("-a", arg, arg, (size_t)(colon - arg), &address) != 0)
		cli_usage_error("-a %s: address is not a 32-bit number", arg);
	if (strcmp(colon + 1, "-") == 0) {
		if (o->stdin_used)
			cli_usage_error("-a %s: standard input can be read "
			    "only once", arg);
		o->stdin_used = 1;
	}
	if (o->opts.ntargets == 0)
		cli_opts_add_target(&o->opts, NULL, 0, NULL);
	o->inputs = cli_grow(o->inputs, o->ninputs, sizeof(*o->inputs));
	in = &o->inputs[o->ninputs++];
	in->path = colon + 1;
	in->address = address;
	in->target = o->opts.ntargets - 1;
	in->fd = -1;
	in->size = 0;
}

/* The file operand of --plain, what -a and -t left open, the defaults. */
static void
check_operands(struct options *o, int argc, char *argv[])
{
	struct input *in;
	size_t t, i;

	if (o->plain) {
		if (o->plain_conflict != NULL) {
			cli_error(NULL, "%s cannot be used with --plain",
			    o->plain_conflict);
			cli_opts_usage(&o->opts);
		}
		if (argc == 0) {
			cli_error(NULL, "no input: --plain needs a file");
			cli_opts_usage(&o->opts);
		}
		if (argc > 1) {
			cli_error(NULL, "%s: --plain takes exactly one file",
			    argv[1]);
			cli_opts_usage(&o->opts);
		}
		o->inputs = cli_grow(o->inputs, 0, sizeof(*o->inputs));
		in = &o->inputs[o->ninputs++];
		in->path = argv[0];
		in->fd = -1;
	} else {
		if (argc > 0) {
			cli_error(NULL, "%s: unexpected argument; give -a "
			    "address:file, or --plain", argv[0]);
			cli_opts_usage(&o->opts);
		}
		if (o->ninputs == 0) {
			cli_error(NULL, "no input: give -a address:file");
			cli_opts_usage(&o->opts);
		}
		for (t = 0; t < o->opts.ntargets; t++) {
			for (i = 0; i < o->ninputs; i++)
				if (o->inputs[i].target == t)
					break;
			if (i == o->ninputs)
				cli_usage_error("-t %s: empty target: no -a "
				    "follows it", o->opts.targets[t].arg);
		}
	}
	cli_opts_check(&o->opts);
	/*
	 * DfuSe files are nearly always for the STM32 ROM bootloader (the
	 * default of cli_opts); a plain file is for some other device, so it
	 * matches any unless -d says which (as dfu-suffix and fwupd do).
	 */
	if (o->plain && !o->opts.ids_set)
		o->opts.vid = o->opts.pid = DFU_ID_ANY;
}

static void
parse_args(struct options *o, int argc, char *argv[])
{
	int ch;

	memset(o, 0, sizeof(*o));
	cli_opts_init(&o->opts, "bin2dfu", usage_text, longopts);

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":a:" CLI_OPTS_SHORTOPTS,
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			parse_element(o, optarg);
			if (o->plain_conflict == NULL)
				o->plain_conflict = "-a";
			break;
		case OPT_FORCE:
		case OPT_RAW_CONTAINER:
			o->raw_container = 1;
			break;
		case OPT_PLAIN:
			o->plain = 1;
			break;
		default:
			cli_opts_option(&o->opts, ch, argv);
			if (o->plain_conflict == NULL && ch == 't')
				o->plain_conflict = "-t";
			if (o->plain_conflict == NULL && ch == CLI_OPT_PAD)
				o->plain_conflict = "--pad";
		}
	}
	check_operands(o, argc - optind, argv + optind);
}

/* pread all of len bytes at off; -1 on error or end of file. */
static int
read_at(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pread(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf = (char *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * 1 if the input ends in a valid DFU suffix: "UFD" signature and a dwCRC
 * that matches.  The CRC pass over the input happens only when the
 * signature is there, so ordinary images are not read twice.
 */
static int
has_dfu_suffix(int fd, uint64_t size)
{
	uint8_t buf[1 << 16];
	struct dfu_suffix s;
	uint32_t crc = DFU_CRC_INIT;
	uint64_t off, end;
	size_t n;

	if (size < DFU_SUFFIX_SIZE ||
	    read_at(fd, buf, DFU_SUFFIX_SIZE, size - DFU_SUFFIX_SIZE) != 0 ||
	    dfu_suffix_decode(&s, buf) != 0 ||
	    s.bLength < DFU_SUFFIX_SIZE || s.bLength > size)
		return 0;
	end = size - 4;
	for (off = 0; off < end; off += n) {
		n = end - off < sizeof(buf) ? (size_t)(end - off) : sizeof(buf);
		if (read_at(fd, buf, n, off) != 0)
			return 0;
		crc = dfu_crc_update(crc, buf, n);
	}
	return crc == s.dwCRC;
}

static int
open_input(const struct options *o, struct input *in)
{
	const char *name = cli_input_name(in->path);
	uint8_t head[1024];
	enum dfu_image_format format;
	off_t end;
	ssize_t n;

	if ((in->fd = cli_open_input(in->path)) < 0)
		return -1;
	if ((end = lseek(in->fd, 0, SEEK_END)) < 0) {
		cli_error(name, "%s", strerror(errno));
		return -1;
	}
	in->size = (uint64_t)end;
	if (in->size == 0) {
		cli_error(name, "empty file");
		return -1;
	}
	if (!o->plain && in->size > ELEMENT_SIZE_MAX) {
		cli_error(name, "%llu bytes, larger than an element can hold "
		    "(4 GiB - 1)", (unsigned long long)in->size);
		return -1;
	}
	if (o->raw_container)
		return 0;
	do
		n = pread(in->fd, head, sizeof(head), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		cli_error(name, "read: %s", strerror(errno));
		return -1;
	}
	if (n >= 5 && memcmp(head, "DfuSe", 5) == 0) {
		cli_error(name, "is already a DfuSe file; --raw-container adds "
		    "it as data");
		return -1;
	}
	if (has_dfu_suffix(in->fd, in->size)) {
		cli_error(name, "already has a DFU suffix; --raw-container adds "
		    "it as data");
		return -1;
	}
	/* Its headers or text would become the firmware. */
	format = cli_image_sniff(head, (size_t)n);
	if (format != DFU_IMAGE_UNKNOWN) {
		cli_error(name, "%s, not raw data: convert it with '%s -o "
		    "%s %s'; --raw-container adds it as data",
		    format == DFU_IMAGE_ELF ? "an ELF file" :
		    format == DFU_IMAGE_IHEX ? "an Intel HEX file" :
		    "an S-record file", format == DFU_IMAGE_ELF ? "elf2dfu" :
		    "hex2dfu", o->opts.output, in->path);
		return -1;
	}
	return 0;
}

static uint64_t
padded_size(const struct options *o, uint64_t size)
{
	return (size + o->opts.pad - 1) / o->opts.pad * o->opts.pad;
}

static int
cmp_address(const void *a, const void *b)
{
	const struct input *x = *(struct input *const *)a;
	const struct input *y = *(struct input *const *)b;

	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	return x < y ? -1 : x > y;
}

/*
 * Check the ranges here rather than leave it to the library, so that the
 * messages can name the input files.  Sizes include the padding.
 */
static int
check_ranges(const struct options *o)
{
	struct input **sorted;
	size_t i, n, t;
	int rc = 0;

	for (i = 0; i < o->ninputs; i++) {
		const struct input *in = &o->inputs[i];
		uint64_t end = in->address + padded_size(o, in->size);

		if (end > ADDRESS_SPACE) {
			cli_error(cli_input_name(in->path), "0x%08x-0x%llx "
			    "runs past the end of the 32-bit address space",
			    in->address, (unsigned long long)(end - 1));
			return -1;
		}
	}
	/* An array of pointers, at least one (main() refuses a run
	 * without input): the analyzer sees neither.
	 * NOLINTNEXTLINE(bugprone-sizeof-expression,clang-analyzer-optin.portability.UnixAPI) */
	if ((sorted = calloc(o->ninputs, sizeof(*sorted))) == NULL) {
		cli_error(NULL, "out of memory");
		return -1;
	}
	/* Per alternate setting: two targets for one alt fill one memory. */
	for (t = 0; t < o->opts.ntargets && rc == 0; t++) {
		uint8_t alt = o->opts.targets[t].alt;
		size_t u;

		for (u = 0; u < t && o->opts.targets[u].alt != alt; u++)
			;
		if (u < t)
			continue; /* checked with target u */
		for (i = n = 0; i < o->ninputs; i++)
			if (o->opts.targets[o->inputs[i].target].alt == alt)
				sorted[n++] = &o->inputs[i];
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers */
		qsort(sorted, n, sizeof(*sorted), cmp_address);
		for (i = 1; i < n && rc == 0; i++) {
			const struct input *a = sorted[i - 1], *b = sorted[i];
			uint64_t aend = a->address + padded_size(o, a->size);
			uint64_t bend = b->address + padded_size(o, b->size);

			if (aend <= b->address)
				continue;
			if (a > b) {	/* name the later -a first */
				const struct input *c = a;
				uint64_t cend = aend;

				a = b, aend = bend;
				b = c, bend = cend;
			}
			cli_error(cli_input_name(b->path), "0x%08x-0x%08llx "
			    "overlaps %s at 0x%08x-0x%08llx%s", b->address,
			    (unsigned long long)(bend - 1),
			    cli_input_name(a->path), a->address,
			    (unsigned long long)(aend - 1),
			    o->opts.pad > 1 ? " (sizes padded by --pad)" : "");
			rc = -1;
		}
	}
	free(sorted);
	return rc;
}

/* The elements of target t: its inputs, read when the file is written. */
static int
add_inputs(void *ctx, struct dfu_file *f, size_t t, unsigned index)
{
	const struct options *o = ctx;
	int err;

	for (size_t i = 0; i < o->ninputs; i++) {
		const struct input *in = &o->inputs[i];

		if (in->target != t)
			continue;
		err = dfu_file_add_element_fd(f, index, in->address, in->fd, 0,
		    (uint32_t)in->size);
		if (err < 0) {
			cli_file_error(f, cli_input_name(in->path), err);
			return -1;
		}
	}
	return 0;
}

static int
describe_plain(const struct options *o, struct dfu_file *f)
{
	const struct input *in = &o->inputs[0];
	int err;

	if ((err = dfu_file_init(f, DFU_FORMAT_PLAIN)) != 0 ||
	    (err = dfu_file_set_ids(f, o->opts.vid, o->opts.pid,
	    o->opts.bcd_device)) != 0 ||
	    (err = dfu_file_set_payload_fd(f, in->fd, 0, in->size)) != 0) {
		cli_file_error(f, cli_input_name(in->path), err);
		return -1;
	}
	return 0;
}

static int
build(struct options *o)
{
	struct dfu_file *f;
	size_t i;
	int rc = CLI_EXIT_FAIL;

	for (i = 0; i < o->ninputs; i++)
		if (open_input(o, &o->inputs[i]) != 0)
			return CLI_EXIT_FAIL;
	for (i = 0; i < o->ninputs; i++)
		if (cli_output_is_input(o->opts.output, o->inputs[i].fd,
		    o->inputs[i].path))
			return CLI_EXIT_FAIL;
	if (!o->plain && check_ranges(o) != 0)
		return CLI_EXIT_FAIL;
	if ((f = dfu_file_new()) == NULL) {
		cli_error(NULL, "out of memory");
		return CLI_EXIT_FAIL;
	}
	/* No file to name in a padding error: check_ranges() saw every
	 * padded size and named the inputs. */
	if ((o->plain ? describe_plain(o, f) :
	    cli_build_dfuse(&o->opts, f, add_inputs, o, NULL)) == 0)
		rc = cli_write_dfu(f, o->opts.output);
	dfu_file_free(f);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct options opt;
	int rc;

	cli_init(argv[0]);
	parse_args(&opt, argc, argv);
	rc = build(&opt);
	for (size_t i = 0; i < opt.ninputs; i++)
		if (opt.inputs[i].fd >= 0)
			close(opt.inputs[i].fd);
	free(opt.inputs);
	cli_opts_free(&opt.opts);
	return rc;
}
