/*
 * dfusplit - split, join, extract, merge and edit DFU files
 *
 * Every mode reads whole, checked inputs first and writes each output to a
 * temporary file that is linked or renamed into place (cli_output_open()),
 * so that a failure leaves no partial output and no input is ever changed
 * (--in-place replaces the input only by that rename, keeping its mode and
 * owner).  Element data is streamed from the inputs
 * by libdfufile; nothing here holds a whole element in memory except the
 * union of two overlapping elements in --merge.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dfusplit.h"

enum {
	OPT_ADD_SUFFIX = 256,
	OPT_FORCE,
	OPT_FORMAT,
	OPT_IGNORE_CRC,
	OPT_IN_PLACE,
	OPT_JOIN,
	OPT_MERGE,
	OPT_SET_ADDRESS,
	OPT_SET_ALT,
	OPT_SET_BCD,
	OPT_SET_NAME,
	OPT_SET_PID,
	OPT_SET_VID,
	OPT_STRIP_SUFFIX,
	OPT_SYNC,
};

static const struct option longopts[] = {
	{ "absolute-paths",	no_argument,		NULL, 'P' },
	{ "add-suffix",		no_argument,		NULL, OPT_ADD_SUFFIX },
	{ "device",		required_argument,	NULL, 'd' },
	{ "force",		no_argument,		NULL, OPT_FORCE },
	{ "format",		required_argument,	NULL, OPT_FORMAT },
	{ "help",		no_argument,		NULL, 'h' },
	{ "ignore-crc",		no_argument,		NULL, OPT_IGNORE_CRC },
	{ "in-place",		no_argument,		NULL, OPT_IN_PLACE },
	{ "join",		required_argument,	NULL, OPT_JOIN },
	{ "merge",		no_argument,		NULL, OPT_MERGE },
	{ "name",		required_argument,	NULL, 'n' },
	{ "output",		required_argument,	NULL, 'o' },
	{ "release",		required_argument,	NULL, 'r' },
	{ "set-address",	required_argument,	NULL, OPT_SET_ADDRESS },
	{ "set-alt",		required_argument,	NULL, OPT_SET_ALT },
	{ "set-bcddevice",	required_argument,	NULL, OPT_SET_BCD },
	{ "set-name",		required_argument,	NULL, OPT_SET_NAME },
	{ "set-pid",		required_argument,	NULL, OPT_SET_PID },
	{ "set-vid",		required_argument,	NULL, OPT_SET_VID },
	{ "strip-suffix",	no_argument,		NULL, OPT_STRIP_SUFFIX },
	{ "sync",		no_argument,		NULL, OPT_SYNC },
	{ "target",		required_argument,	NULL, 't' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

static const char usage_text[] =
    "usage: dfusplit [--format bin|hex|srec] [--ignore-crc] [--sync] [-o dir]\n"
    "                file\n"
    "       dfusplit --join manifest [-P] [--sync] -o output\n"
    "       dfusplit [-t alt] [-n name] [--set-vid vid] [--set-pid pid]\n"
    "                [--set-bcddevice bcd] [--set-name alt:name]\n"
    "                [--set-alt old:new] [--set-address [alt/]old:new]\n"
    "                [--force] [--ignore-crc] [--sync] -o output | --in-place\n"
    "                file\n"
    "       dfusplit --merge [--force] [edit options] [--sync] -o output\n"
    "                file ...\n"
    "       dfusplit --strip-suffix [--sync] -o output | --in-place file\n"
    "       dfusplit --add-suffix [--force] [-d vid:pid] [-r bcddevice]\n"
    "                [--sync] -o output | --in-place file\n"
    "       dfusplit -h | -V\n"
    "\n"
    "Modes (the default splits file into element files and a manifest):\n"
    "  --join manifest               build the DFU file a manifest describes\n"
    "  --merge                       combine the targets of several DfuSe files\n"
    "  --strip-suffix                a plain DFU file's bytes, without suffix\n"
    "  --add-suffix                  append a DFU suffix (-d, -r) to a raw file\n"
    "Split:\n"
    "  --format bin|hex|srec         the element files' format (default bin)\n"
    "  -o, --output dir              output directory (other modes: file)\n"
    "Extract and edit:\n"
    "  -t, --target alt              keep the targets with this alternate setting\n"
    "  -n, --name name               keep the targets with this name\n"
    "  --set-vid vid                 set the suffix's idVendor (hexadecimal)\n"
    "  --set-pid pid                 set the suffix's idProduct (hexadecimal)\n"
    "  --set-bcddevice bcd           set the suffix's bcdDevice (hexadecimal)\n"
    "  --set-name alt:name           rename alt's targets (empty: unnamed)\n"
    "  --set-alt old:new             renumber the targets with alternate setting old\n"
    "  --set-address [alt/]old:new   move the element at old to new\n"
    "  --in-place                    replace the input with the result (synced)\n"
    "  --sync                        outputs on disk before exit (fsync)\n"
    "Suffix:\n"
    "  -d, --device vid:pid          idVendor:idProduct for --add-suffix\n"
    "  -r, --release bcddevice       bcdDevice for --add-suffix\n"
    "Checks:\n"
    "  --ignore-crc                  accept a bad CRC, with a warning\n"
    "  -P, --absolute-paths          --join: element files from anywhere\n"
    "  --force                       accept what is otherwise refused\n"
    "Other:\n"
    "  -h, --help                    print this help and exit\n"
    "  -V, --version                 print the version and exit\n";

static void __attribute__((noreturn))
usage(void)
{
	cli_help(stderr, usage_text, 0);
	exit(CLI_EXIT_USAGE);
}

static uint8_t
parse_alt(const char *opt, const char *arg, const char *s, size_t n)
{
	uint32_t alt;

	if (cli_arg_u32(opt, arg, s, n, &alt) != 0 || alt > 255)
		cli_usage_error("%s %s: alternate setting is not a number from 0 "
		    "to 255", opt, arg);
	return (uint8_t)alt;
}

static uint16_t
parse_id(const char *opt, const char *arg)
{
	uint16_t v;

	if (cli_parse_hex16(arg, &v) != 0)
		cli_usage_error("%s %s: not a hexadecimal number up to ffff", opt,
		    arg);
	return v;
}

/* --set-name ALT:NAME */
static void
parse_set_name(struct options *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	struct edit_name *e;

	if (colon == NULL)
		cli_usage_error("--set-name %s: expected alt:name", arg);
	if (strlen(colon + 1) > DFUSE_TARGET_NAME_SIZE - 1)
		cli_usage_error("--set-name %s: target name is longer than 254 "
		    "bytes", arg);
	o->set_names = cli_grow(o->set_names, o->nset_names, sizeof(*e));
	e = &o->set_names[o->nset_names++];
	e->arg = arg;
	e->alt = parse_alt("--set-name", arg, arg, (size_t)(colon - arg));
	e->name = colon + 1;
}

/* --set-alt OLD:NEW */
static void
parse_set_alt(struct options *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	struct edit_alt *e;

	if (colon == NULL)
		cli_usage_error("--set-alt %s: expected old:new", arg);
	o->set_alts = cli_grow(o->set_alts, o->nset_alts, sizeof(*e));
	e = &o->set_alts[o->nset_alts++];
	e->arg = arg;
	e->from = parse_alt("--set-alt", arg, arg, (size_t)(colon - arg));
	e->to = parse_alt("--set-alt", arg, colon + 1, strlen(colon + 1));
}

/* --set-address [ALT/]OLD:NEW */
static void
parse_set_address(struct options *o, const char *arg)
{
	const char *slash = strchr(arg, '/'), *colon = strrchr(arg, ':');
	const char *from = slash != NULL ? slash + 1 : arg;
	struct edit_address *e;

	if (colon == NULL || colon < from)
		cli_usage_error("--set-address %s: expected [alt/]old:new", arg);
	o->set_addresses = cli_grow(o->set_addresses, o->nset_addresses,
	    sizeof(*e));
	e = &o->set_addresses[o->nset_addresses++];
	e->arg = arg;
	e->has_alt = slash != NULL;
	if (slash != NULL)
		e->alt = parse_alt("--set-address", arg, arg,
		    (size_t)(slash - arg));
	if (cli_arg_u32("--set-address", arg, from, (size_t)(colon - from),
	    &e->from) != 0 || cli_arg_u32("--set-address", arg, colon + 1,
	    strlen(colon + 1), &e->to) != 0)
		cli_usage_error("--set-address %s: addresses are not 32-bit "
		    "numbers", arg);
}

/* Which mode the options ask for; usage error when they conflict. */
static void
set_mode(struct options *o, int mode, const char *opt)
{
	static const char *mode_opt;

	if (o->mode != MODE_SPLIT && o->mode != (unsigned)mode) {
		cli_error(NULL, "%s cannot be used with %s", opt, mode_opt);
		usage();
	}
	if (o->mode == MODE_SPLIT)
		mode_opt = opt;
	o->mode = mode;
}

static int
has_edits(const struct options *o)
{
	return o->set_vid || o->set_pid || o->set_bcd || o->nset_names > 0 ||
	    o->nset_alts > 0 || o->nset_addresses > 0 || o->nalts > 0 ||
	    o->nnames > 0;
}

static void
check_operands(struct options *o)
{
	if (o->mode == MODE_SPLIT && has_edits(o))
		o->mode = MODE_EDIT;
	if (o->mode == MODE_MERGE && (o->nalts > 0 || o->nnames > 0))
		cli_usage_error("%s: -t and -n cannot be used with --merge; "
		    "extract from the merged file", "--merge");
	if ((o->mode == MODE_STRIP || o->mode == MODE_ADD || o->mode ==
	    MODE_JOIN) && has_edits(o))
		cli_usage_error("%s: edit options cannot be used in this mode",
		    o->mode == MODE_JOIN ? "--join" : o->mode == MODE_STRIP ?
		    "--strip-suffix" : "--add-suffix");
	if (o->ids_given && o->mode != MODE_ADD)
		cli_usage_error("%s: -d and -r are for --add-suffix; use "
		    "--set-vid, --set-pid, --set-bcddevice", "-d/-r");
	if (o->any_path && o->mode != MODE_JOIN)
		cli_usage_error("%s: -P is for --join", "-P");
	if (o->format != ELEM_BIN && o->mode != MODE_SPLIT)
		cli_usage_error("%s: --format is for splitting", "--format");
	if (o->in_place && (o->mode == MODE_SPLIT || o->mode == MODE_JOIN ||
	    o->mode == MODE_MERGE))
		cli_usage_error("%s: --in-place needs a mode that changes one "
		    "file", "--in-place");
	if (o->in_place && o->output != NULL)
		cli_usage_error("%s: -o and --in-place exclude each other",
		    "--in-place");
	if (o->mode == MODE_JOIN) {
		if (o->nfiles > 0)
			cli_usage_error("%s: unexpected argument: --join takes its "
			    "files from the manifest", o->files[0]);
	} else if (o->nfiles == 0) {
		cli_error(NULL, "no input file");
		usage();
	} else if (o->mode != MODE_MERGE && o->nfiles > 1) {
		cli_usage_error("%s: unexpected argument: one input file only, "
		    "except with --merge", o->files[1]);
	}
	/* A pipe is empty once read: the second "-" would be "0 bytes". */
	for (int i = 0, seen = 0; i < o->nfiles; i++)
		if (strcmp(o->files[i], "-") == 0 && seen++)
			cli_usage_error("%s: standard input can be read only "
			    "once", "-");
	if (o->mode != MODE_SPLIT && !o->in_place && o->output == NULL) {
		cli_error(NULL, "missing -o output%s", o->mode == MODE_JOIN ||
		    o->mode == MODE_MERGE ? "" : " (or --in-place)");
		usage();
	}
	if (o->mode == MODE_SPLIT && o->output != NULL &&
	    strcmp(o->output, "-") == 0)
		cli_usage_error("%s: split writes files into a directory, not to "
		    "standard output", "-o -");
	if (o->in_place && strcmp(o->files[0], "-") == 0)
		cli_usage_error("%s: --in-place needs a file, not standard input",
		    "-");
}

static void
parse_args(struct options *o, int argc, char *argv[])
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->vid = o->pid = o->bcd = DFU_ID_ANY;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":d:hn:o:Pr:t:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (cli_parse_ids(optarg, &o->vid, &o->pid) != 0)
				cli_usage_error("-d %s: expected vid:pid, two "
				    "hexadecimal numbers up to ffff", optarg);
			o->ids_given = 1;
			break;
		case 'h':
			cli_help(stdout, usage_text, 1);
			exit(CLI_EXIT_OK);
		case 'n':
			o->names = cli_grow(o->names, o->nnames, sizeof(*o->names));
			o->names[o->nnames++] = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'P':
			o->any_path = 1;
			break;
		case 'r':
			o->bcd = parse_id("-r", optarg);
			o->ids_given = 1;
			break;
		case 't':
			o->alts = cli_grow(o->alts, o->nalts, sizeof(*o->alts));
			o->alts_arg = cli_grow(o->alts_arg, o->nalts,
			    sizeof(*o->alts_arg));
			o->alts_arg[o->nalts] = optarg;
			o->alts[o->nalts++] = parse_alt("-t", optarg, optarg,
			    strlen(optarg));
			break;
		case 'V':
			printf("dfusplit %s\n", DFUFILE_VERSION_STRING);
			exit(CLI_EXIT_OK);
		case OPT_ADD_SUFFIX:
			set_mode(o, MODE_ADD, "--add-suffix");
			break;
		case OPT_FORCE:
			o->force = 1;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "bin") == 0)
				o->format = ELEM_BIN;
			else if (strcmp(optarg, "hex") == 0)
				o->format = ELEM_IHEX;
			else if (strcmp(optarg, "srec") == 0)
				o->format = ELEM_SREC;
			else
				cli_usage_error("--format %s: expected bin, hex or "
				    "srec", optarg);
			break;
		case OPT_IGNORE_CRC:
			o->ignore_crc = 1;
			break;
		case OPT_IN_PLACE:
			o->in_place = 1;
			break;
		case OPT_SYNC:
			cli_output_sync(1);
			break;
		case OPT_JOIN:
			set_mode(o, MODE_JOIN, "--join");
			o->manifest = optarg;
			break;
		case OPT_MERGE:
			set_mode(o, MODE_MERGE, "--merge");
			break;
		case OPT_SET_ADDRESS:
			parse_set_address(o, optarg);
			break;
		case OPT_SET_ALT:
			parse_set_alt(o, optarg);
			break;
		case OPT_SET_BCD:
			o->bcd = parse_id("--set-bcddevice", optarg);
			o->set_bcd = 1;
			break;
		case OPT_SET_NAME:
			parse_set_name(o, optarg);
			break;
		case OPT_SET_PID:
			o->pid = parse_id("--set-pid", optarg);
			o->set_pid = 1;
			break;
		case OPT_SET_VID:
			o->vid = parse_id("--set-vid", optarg);
			o->set_vid = 1;
			break;
		case OPT_STRIP_SUFFIX:
			set_mode(o, MODE_STRIP, "--strip-suffix");
			break;
		default:
			cli_option_error(longopts, usage_text, ch, argv);
		}
	}
	o->files = argv + optind;
	o->nfiles = argc - optind;
	check_operands(o);
}

static void
options_free(struct options *o)
{
	free(o->alts);
	free(o->alts_arg);
	free(o->names);
	free(o->set_names);
	free(o->set_alts);
	free(o->set_addresses);
}

int
main(int argc, char *argv[])
{
	struct options o;
	int rc;

	cli_init(argv[0]);
	parse_args(&o, argc, argv);
	switch (o.mode) {
	case MODE_JOIN:
		rc = run_join(&o);
		break;
	case MODE_MERGE:
		rc = run_merge(&o);
		break;
	case MODE_EDIT:
		rc = run_edit(&o);
		break;
	case MODE_STRIP:
		rc = run_strip(&o);
		break;
	case MODE_ADD:
		rc = run_add(&o);
		break;
	default:
		rc = run_split(&o);
		break;
	}
	options_free(&o);
	return rc;
}
