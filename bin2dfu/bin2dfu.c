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

#define ELEMENT_SIZE_MAX UINT32_MAX	/* dwElementSize is 32 bits */
#define ADDRESS_SPACE (UINT64_C(1) << 32)
#define PAD_FILL 0xff			/* erased flash reads 0xff */
#define TARGET_NAME_MAX (DFUSE_TARGET_NAME_SIZE - 1)

/* One -t option, or the implicit first target of -a options before any. */
struct target {
	const char *arg;	/* the -t argument; NULL if implicit */
	uint8_t alt;
	const char *name;	/* NULL: unnamed (bTargetNamed 0) */
	size_t nelements;
};

/* One -a option (or the one input of --plain). */
struct input {
	const char *path;	/* as given; "-" is stdin */
	uint32_t address;
	size_t target;		/* index into options.targets */
	int fd;
	uint64_t size;
};

struct options {
	const char *output;
	uint16_t vid, pid, bcd_device;
	int ids_set;
	uint32_t pad;
	int force;
	int plain;
	const char *plain_conflict;	/* first option --plain excludes */
	struct target *targets;
	size_t ntargets;
	struct input *inputs;
	size_t ninputs;
	int stdin_used;
};

enum {
	OPT_FORCE = 256,
	OPT_PAD,
	OPT_PLAIN,
};

static const struct option longopts[] = {
	{ "element",	required_argument,	NULL,	'a' },
	{ "device",	required_argument,	NULL,	'd' },
	{ "force",	no_argument,		NULL,	OPT_FORCE },
	{ "help",	no_argument,		NULL,	'h' },
	{ "output",	required_argument,	NULL,	'o' },
	{ "pad",	required_argument,	NULL,	OPT_PAD },
	{ "plain",	no_argument,		NULL,	OPT_PLAIN },
	{ "release",	required_argument,	NULL,	'r' },
	{ "target",	required_argument,	NULL,	't' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

static const char usage_text[] =
    "usage: bin2dfu [--force] [--pad n] [-d vid:pid] [-r bcddevice] -o output\n"
    "               [-t alt[:name]] -a address:file ...\n"
    "       bin2dfu --plain [--force] [-d vid:pid] [-r bcddevice] -o output file\n"
    "       bin2dfu -h | -V\n";

static void __attribute__((noreturn))
usage(void)
{
	fputs(usage_text, stderr);
	exit(CLI_EXIT_USAGE);
}

static void *
grow(void *p, size_t n, size_t size)
{
	void *q;

	if (n % 16 != 0)
		return p;
	q = reallocarray(p, n + 16, size);
	if (q == NULL) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
	return q;
}

/* cli_parse_u32() of the first n bytes of s. */
static int
parse_u32_prefix(const char *s, size_t n, uint32_t *out)
{
	char buf[32];

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return cli_parse_u32(buf, out);
}

static void
add_target(struct options *o, const char *arg, uint8_t alt, const char *name)
{
	struct target *t;

	if (o->ntargets == DFUSE_MAX_TARGETS) {
		cli_error(NULL, "-t %s: more than %d targets", arg,
		    DFUSE_MAX_TARGETS);
		exit(CLI_EXIT_USAGE);
	}
	o->targets = grow(o->targets, o->ntargets, sizeof(*o->targets));
	t = &o->targets[o->ntargets++];
	t->arg = arg;
	t->alt = alt;
	t->name = name;
	t->nelements = 0;
}

/* -t ALT[:NAME] */
static void
parse_target(struct options *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	const char *name = colon != NULL ? colon + 1 : NULL;
	size_t altlen = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
	uint32_t alt;

	if (parse_u32_prefix(arg, altlen, &alt) != 0 || alt > 255) {
		cli_error(NULL, "-t %s: alternate setting is not a number "
		    "from 0 to 255", arg);
		exit(CLI_EXIT_USAGE);
	}
	if (name != NULL && *name == '\0') {
		cli_error(NULL, "-t %s: empty target name", arg);
		exit(CLI_EXIT_USAGE);
	}
	if (name != NULL && strlen(name) > TARGET_NAME_MAX) {
		cli_error(NULL, "-t %.*s: target name is %zu bytes, longer "
		    "than %d", (int)altlen, arg, strlen(name),
		    TARGET_NAME_MAX);
		exit(CLI_EXIT_USAGE);
	}
	add_target(o, arg, (uint8_t)alt, name);
}

/* -a ADDRESS:FILE */
static void
parse_element(struct options *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	struct input *in;
	uint32_t address;

	if (colon == NULL) {
		cli_error(NULL, "-a %s: expected address:file", arg);
		exit(CLI_EXIT_USAGE);
	}
	if (colon == arg) {
		cli_error(NULL, "-a %s: missing address before ':'", arg);
		exit(CLI_EXIT_USAGE);
	}
	if (colon[1] == '\0') {
		cli_error(NULL, "-a %s: missing file after ':'", arg);
		exit(CLI_EXIT_USAGE);
	}
	if (parse_u32_prefix(arg, (size_t)(colon - arg), &address) != 0) {
		cli_error(NULL, "-a %s: address is not a 32-bit number",
		    arg);
		exit(CLI_EXIT_USAGE);
	}
	/* The classic slip: a hexadecimal address written without 0x. */
	if (arg[0] == '0' && arg[1] >= '0' && arg[1] <= '9')
		cli_error(NULL, "warning: -a %s: address read as decimal %u "
		    "(0x%08x); write 0x%.*s for hexadecimal", arg, address,
		    address, (int)(colon - arg), arg);
	if (strcmp(colon + 1, "-") == 0) {
		if (o->stdin_used) {
			cli_error(NULL, "-a %s: standard input can be read "
			    "only once", arg);
			exit(CLI_EXIT_USAGE);
		}
		o->stdin_used = 1;
	}
	if (o->ntargets == 0)
		add_target(o, NULL, 0, NULL);
	o->inputs = grow(o->inputs, o->ninputs, sizeof(*o->inputs));
	in = &o->inputs[o->ninputs++];
	in->path = colon + 1;
	in->address = address;
	in->target = o->ntargets - 1;
	in->fd = -1;
	in->size = 0;
	o->targets[o->ntargets - 1].nelements++;
}

/* The file operand of --plain, what -a and -t left open, the defaults. */
static void
check_operands(struct options *o, int argc, char *argv[])
{
	struct input *in;

	if (o->plain) {
		if (o->plain_conflict != NULL) {
			cli_error(NULL, "%s cannot be used with --plain",
			    o->plain_conflict);
			usage();
		}
		if (argc == 0) {
			cli_error(NULL, "no input: --plain needs a file");
			usage();
		}
		if (argc > 1) {
			cli_error(NULL, "%s: --plain takes exactly one file",
			    argv[1]);
			usage();
		}
		o->inputs = grow(o->inputs, 0, sizeof(*o->inputs));
		in = &o->inputs[o->ninputs++];
		in->path = argv[0];
		in->fd = -1;
	} else {
		if (argc > 0) {
			cli_error(NULL, "%s: unexpected argument; give -a "
			    "address:file, or --plain", argv[0]);
			usage();
		}
		if (o->ninputs == 0) {
			cli_error(NULL, "no input: give -a address:file");
			usage();
		}
		for (size_t i = 0; i < o->ntargets; i++) {
			if (o->targets[i].nelements == 0) {
				cli_error(NULL, "-t %s: empty target: no -a "
				    "follows it", o->targets[i].arg);
				exit(CLI_EXIT_USAGE);
			}
		}
	}
	if (o->output == NULL) {
		cli_error(NULL, "missing -o output");
		usage();
	}
	/*
	 * DfuSe files are nearly always for the STM32 ROM bootloader; a
	 * plain file is for some other device, so it matches any unless -d
	 * says which (as dfu-suffix and fwupd do).
	 */
	if (!o->ids_set && !o->plain) {
		o->vid = 0x0483;	/* STMicroelectronics */
		o->pid = 0xdf11;	/* STM32 ROM bootloader in DFU mode */
	} else if (!o->ids_set)
		o->vid = o->pid = DFU_ID_ANY;
}

static void
parse_args(struct options *o, int argc, char *argv[])
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->bcd_device = DFU_ID_ANY;
	o->pad = 1;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":a:d:ho:r:t:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			parse_element(o, optarg);
			if (o->plain_conflict == NULL)
				o->plain_conflict = "-a";
			break;
		case 'd':
			if (cli_parse_ids(optarg, &o->vid, &o->pid) != 0) {
				cli_error(NULL, "-d %s: expected vid:pid, two "
				    "hexadecimal numbers up to ffff", optarg);
				exit(CLI_EXIT_USAGE);
			}
			o->ids_set = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(CLI_EXIT_OK);
		case 'o':
			o->output = optarg;
			break;
		case 'r':
			if (cli_parse_hex16(optarg, &o->bcd_device) != 0) {
				cli_error(NULL, "-r %s: bcdDevice is not a "
				    "hexadecimal number up to ffff", optarg);
				exit(CLI_EXIT_USAGE);
			}
			break;
		case 't':
			parse_target(o, optarg);
			if (o->plain_conflict == NULL)
				o->plain_conflict = "-t";
			break;
		case 'V':
			printf("bin2dfu %s\n", DFUFILE_VERSION_STRING);
			exit(CLI_EXIT_OK);
		case OPT_FORCE:
			o->force = 1;
			break;
		case OPT_PAD:
			if (cli_parse_u32(optarg, &o->pad) != 0 ||
			    o->pad == 0) {
				cli_error(NULL, "--pad %s: not a number from 1 "
				    "to 4294967295", optarg);
				exit(CLI_EXIT_USAGE);
			}
			if (o->plain_conflict == NULL)
				o->plain_conflict = "--pad";
			break;
		case OPT_PLAIN:
			o->plain = 1;
			break;
		case ':':
			if (optopt > 0 && optopt < 256)
				cli_error(NULL, "option needs an argument: -%c",
				    optopt);
			else
				cli_error(NULL, "option needs an argument: %s",
				    argv[optind - 1]);
			usage();
		default:
			if (optopt > 0 && optopt < 256)
				cli_error(NULL, "unknown option: -%c", optopt);
			else
				cli_error(NULL, "unknown option: %s",
				    argv[optind - 1]);
			usage();
		}
	}
	check_operands(o, argc - optind, argv + optind);
}

/* Name of the output in messages. */
static const char *
output_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "(stdout)" : path;
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
	char magic[5];
	off_t end;

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
	if (o->force)
		return 0;
	if (in->size >= sizeof(magic) &&
	    read_at(in->fd, magic, sizeof(magic), 0) == 0 &&
	    memcmp(magic, "DfuSe", sizeof(magic)) == 0) {
		cli_error(name, "is already a DfuSe file; --force adds it "
		    "as data");
		return -1;
	}
	if (has_dfu_suffix(in->fd, in->size)) {
		cli_error(name, "already has a DFU suffix; --force adds it "
		    "as data");
		return -1;
	}
	return 0;
}

/* Refuse to write over an input, before anything is written. */
static int
check_output(const struct options *o, const struct input *in)
{
	struct stat a, b;

	if (strcmp(o->output, "-") == 0) {
		if (fstat(STDOUT_FILENO, &a) != 0 || fstat(in->fd, &b) != 0 ||
		    !S_ISREG(a.st_mode) || a.st_dev != b.st_dev ||
		    a.st_ino != b.st_ino)
			return 0;
	} else if (!cli_same_file(o->output, in->fd))
		return 0;
	cli_error(output_name(o->output), "output is also the input %s; "
	    "refusing to overwrite it", cli_input_name(in->path));
	return -1;
}

static uint64_t
padded_size(const struct options *o, uint64_t size)
{
	return (size + o->pad - 1) / o->pad * o->pad;
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
	if ((sorted = calloc(o->ninputs, sizeof(*sorted))) == NULL) {
		cli_error(NULL, "out of memory");
		return -1;
	}
	for (t = 0; t < o->ntargets && rc == 0; t++) {
		for (i = n = 0; i < o->ninputs; i++)
			if (o->inputs[i].target == t)
				sorted[n++] = &o->inputs[i];
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
			    o->pad > 1 ? " (sizes padded by --pad)" : "");
			rc = -1;
		}
	}
	free(sorted);
	return rc;
}

/* Report a failed dfu_file_*() call, with errno's text if it has one. */
static void
lib_error(const struct dfu_file *f, const char *name, int err)
{
	const char *msg = dfu_file_errmsg(f);
	const char *sys = "";
	int e = dfu_file_errno(f);

	if (*msg == '\0')
		msg = dfu_strerror(err);
	if (err == DFU_ERR_IO && e != 0 && strstr(msg, strerror(e)) == NULL)
		sys = strerror(e);
	cli_error(name, "%s%s%s", msg, *sys != '\0' ? ": " : "", sys);
}

static int
describe(const struct options *o, struct dfu_file *f)
{
	int err, t;

	if (o->plain) {
		if ((err = dfu_file_init(f, DFU_FORMAT_PLAIN)) != 0 ||
		    (err = dfu_file_set_ids(f, o->vid, o->pid,
		    o->bcd_device)) != 0 ||
		    (err = dfu_file_set_payload_fd(f, o->inputs[0].fd, 0,
		    o->inputs[0].size)) != 0) {
			lib_error(f, cli_input_name(o->inputs[0].path), err);
			return -1;
		}
		return 0;
	}
	if ((err = dfu_file_init(f, DFU_FORMAT_DFUSE)) != 0 ||
	    (err = dfu_file_set_ids(f, o->vid, o->pid, o->bcd_device)) != 0) {
		lib_error(f, NULL, err);
		return -1;
	}
	for (size_t i = 0; i < o->ntargets; i++) {
		const struct target *tg = &o->targets[i];

		if ((t = dfu_file_add_target(f, tg->alt, tg->name)) < 0) {
			lib_error(f, NULL, t);
			return -1;
		}
		for (size_t j = 0; j < o->ninputs; j++) {
			const struct input *in = &o->inputs[j];

			if (in->target != i)
				continue;
			err = dfu_file_add_element_fd(f, (unsigned)t,
			    in->address, in->fd, 0, (uint32_t)in->size);
			if (err < 0) {
				lib_error(f, cli_input_name(in->path), err);
				return -1;
			}
		}
	}
	if (o->pad > 1 &&
	    (err = dfu_file_pad_elements(f, o->pad, PAD_FILL)) != 0) {
		lib_error(f, NULL, err);
		return -1;
	}
	return 0;
}

static int
build(const struct options *o)
{
	struct cli_output out;
	struct dfu_file *f;
	size_t i;
	int err, rc = CLI_EXIT_FAIL;

	for (i = 0; i < o->ninputs; i++)
		if (open_input(o, &o->inputs[i]) != 0)
			return CLI_EXIT_FAIL;
	for (i = 0; i < o->ninputs; i++)
		if (check_output(o, &o->inputs[i]) != 0)
			return CLI_EXIT_FAIL;
	if (!o->plain && check_ranges(o) != 0)
		return CLI_EXIT_FAIL;
	if ((f = dfu_file_new()) == NULL) {
		cli_error(NULL, "out of memory");
		return CLI_EXIT_FAIL;
	}
	if (describe(o, f) == 0 &&
	    cli_output_open(&out, o->output) == 0) {
		if ((err = dfu_file_write_fd(f, out.fd)) != 0) {
			lib_error(f, output_name(o->output), err);
			cli_output_abort(&out);
		} else if (cli_output_commit(&out) == 0)
			rc = CLI_EXIT_OK;
	}
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
	free(opt.targets);
	return rc;
}
