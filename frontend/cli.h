/*
 * frontend/cli.h - the front end the command-line tools share.  Not part of
 * libdfufile: these print, and the library never does.
 */
#ifndef DFU_CLI_H
#define DFU_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Exit statuses shared by every tool (see each man page, EXIT STATUS). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1	 /* bad input, I/O error */
#define CLI_EXIT_USAGE 2 /* bad command line */

/* The plural "s" of a count: "%u page%s", n, cli_s(n) ("1 page"). */
static inline const char *
cli_s(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* Set the program name used in messages from argv[0]. */
void cli_init(const char *argv0);
const char *cli_progname(void);

/*
 * "prog: file: message\n" on stderr; file NULL gives "prog: message".
 * Messages are lower case with no trailing period.
 */
/*
 * Before a read with DFU_READ_MAP: if the file called name shrinks while
 * it is mapped, say so ("prog: name: the file shrank while it was read"),
 * remove the temporary outputs and exit with CLI_EXIT_FAIL, instead of
 * dying of SIGBUS.  NULL after the read; the handler stays installed.
 */
void cli_map_guard(const char *name);
void cli_error(const char *file, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* fn gets each message cli_error() printed, "file: message" without the
 * program's name (dfuflash's result event); NULL: none. */
void cli_error_hook(void (*fn)(const char *msg));

/*
 * Numbers on the command line.  "0x" or "0X" starts a hexadecimal number,
 * anything else is decimal.  The whole string must be the number.  A
 * number of more than one digit that starts with 0 and no "0x" (010,
 * 08000000) is never guessed: C reads it as octal, a user often means
 * hexadecimal, and a plain reading gives decimal; "0" itself is zero.
 * Return 0, -1 if s is not a number in range, or CLI_NUM_AMBIGUOUS for a
 * leading zero (*out untouched).
 */
#define CLI_NUM_AMBIGUOUS (-2)
int cli_parse_u32(const char *s, uint32_t *out);
/*
 * The number in the first n bytes of s, part of the argument arg of
 * option opt: as cli_parse_u32(), but a leading zero is a usage error
 * (cli_number_ambiguous()).  0, or -1 if not a number in range.
 */
int cli_arg_u32(const char *opt, const char *arg, const char *s, size_t n,
		uint32_t *out);
/* "prog: opt arg: 010 has a leading zero ...: write 0x010 for hexadecimal
 * or 10 for decimal" (the number is the first n bytes of s); exits 2. */
void cli_number_ambiguous(const char *opt, const char *arg, const char *s,
			  size_t n) __attribute__((noreturn));
/* Hexadecimal with or without "0x", as USB IDs are written: "df11". */
int cli_parse_hex16(const char *s, uint16_t *out);
/* "VID:PID" in hexadecimal: "0483:df11". */
int cli_parse_ids(const char *s, uint16_t *vid, uint16_t *pid);

/*
 * Open an input for reading; "-" is stdin.  A stdin that cannot seek (a
 * pipe) is first copied to an unlinked temporary file, so the result is
 * always seekable.  On failure prints "prog: path: reason" and returns -1.
 * The caller closes the descriptor.
 */
int cli_open_input(const char *path);
/* Name to use in messages for an input path: "-" becomes "(stdin)". */
const char *cli_input_name(const char *path);

/*
 * Atomic output.  cli_output_open() prepares path: "-" is stdout; an
 * existing device, FIFO or terminal is opened and written directly, as
 * cp and objcopy do (its node is never replaced); a symbolic link is
 * refused, never written through or replaced; anything else gets an
 * unnamed temporary file (O_TMPFILE) in path's directory, or where the
 * filesystem has none a hidden ".NAME.XXXXXX" there (NAME shortened so
 * that any legal name works).  Write to o->fd, then cli_output_commit()
 * links or renames the file into place, or cli_output_abort() drops it
 * and leaves any existing path as it was.  Both print their own errors.
 * Nothing is synced unless cli_output_sync(1) was called (--sync) or the
 * output was opened with CLI_OUTPUT_SYNC (--in-place): then the data is
 * flushed to disk before the rename and the directory after it, so that
 * after a crash the path holds the old file or the whole new one on any
 * filesystem (README.md, "Durability").  A named
 * temporary file that exists when SIGINT, SIGTERM or SIGHUP ends the
 * program is removed first; an unnamed one needs no removal, even after
 * SIGKILL.  SIGXFSZ is ignored, so that a file size limit makes write()
 * fail instead.
 */
struct cli_output {
	const char *path; /* as given */
	char *tmp;	  /* named temporary file, NULL if none */
	int fd;
	int direct;	  /* a device or FIFO, opened as it is */
	int unnamed;	  /* fd is an O_TMPFILE file, open until commit */
	int sync;	  /* CLI_OUTPUT_SYNC: synced on commit */
	int state;	  /* private to cli_outputs_commit() */
};
int cli_output_open(struct cli_output *o, const char *path);
int cli_output_commit(struct cli_output *o);
void cli_output_abort(struct cli_output *o);

/* cli_output_open() with flags: */
#define CLI_OUTPUT_REGULAR 0x1u /* refuse a device or FIFO at path */
#define CLI_OUTPUT_NAMED 0x2u	/* a named temporary file, no O_TMPFILE */
#define CLI_OUTPUT_SYNC 0x4u	/* sync on commit, even without --sync */
int cli_output_open_flags(struct cli_output *o, const char *path,
			  unsigned flags);
/* --sync: sync every output on commit (1) or only CLI_OUTPUT_SYNC ones. */
void cli_output_sync(int on);
/* The dfu_file_write_fd_flags() flags for o: DFU_WRITE_WRITEBACK when its
 * commit will sync it, so that the sync overlaps the writing. */
unsigned cli_output_write_flags(const struct cli_output *o);

/*
 * Give the temporary file the mode and, where permitted, the owner of
 * st (--in-place keeps what it does not own).  -1 after the message.
 */
struct stat;
int cli_output_like(struct cli_output *o, const struct stat *st);

/*
 * Many outputs (a split), committed all or none.  cli_outputs_reserve(n)
 * raises the limit of open files for n unnamed outputs (each keeps its
 * descriptor until commit) and returns 0, or CLI_OUTPUT_NAMED when the
 * limit cannot be raised that far.  Once an output is written,
 * cli_output_finish() closes a named one's descriptor (an unnamed one
 * keeps it).  cli_outputs_commit() syncs the data with one syncfs()
 * (only with --sync or CLI_OUTPUT_SYNC), checks and places each output,
 * and on any failure undoes those already placed (an existing file is swapped with RENAME_EXCHANGE, so
 * it comes back) and drops the rest; SIGINT, SIGTERM and SIGHUP wait
 * until it is done.  cli_output_own_dir(dir) names a directory the
 * caller created for the outputs, removed (if empty) when a signal ends
 * the program; NULL forgets it.
 */
unsigned cli_outputs_reserve(size_t n);
int cli_output_finish(struct cli_output *o);
int cli_outputs_commit(struct cli_output *v, size_t n);
void cli_output_own_dir(const char *dir);

/*
 * 1 if path names the same file as the open descriptor fd (same device and
 * inode), 0 if not or if path does not exist.
 */
int cli_same_file(const char *path, int fd);

/* ---- Options and DfuSe building: bin2dfu, elf2dfu, hex2dfu ---------------- */

#include <getopt.h>

#include "dfuconv.h"
#include "dfufile.h"
#include "dfuimage.h"

/*
 * The options that every tool writing a DfuSe file takes, handled here so
 * that each means the same and says the same in every tool:
 *   -d vid:pid, -r bcddevice, --pad n, -o output, --sync, -t alt[:name]
 *   (repeatable: one target each, in order), -h, -V.
 * A tool puts CLI_OPTS_SHORTOPTS and CLI_OPTS_LONGOPTS into its own getopt
 * tables next to its own options (whose long-only codes start at
 * CLI_OPT_TOOL), handles its own options in its getopt_long() loop and
 * passes every other return value, '?' and ':' included, to cli_opts_option().
 * What a tool attaches to a target (bin2dfu's -a, the converters' --range)
 * goes to the last -t, by index.
 */
#define CLI_OPTS_SHORTOPTS "d:ho:r:t:V"
enum {
	CLI_OPT_PAD = 256,
	CLI_OPT_SYNC,
	CLI_OPT_TOOL = 300	/* first long-only option code of a tool */
};
#define CLI_OPTS_LONGOPTS \
	{ "device",	required_argument,	NULL,	'd' }, \
	{ "help",	no_argument,		NULL,	'h' }, \
	{ "output",	required_argument,	NULL,	'o' }, \
	{ "pad",	required_argument,	NULL,	CLI_OPT_PAD }, \
	{ "release",	required_argument,	NULL,	'r' }, \
	{ "sync",	no_argument,		NULL,	CLI_OPT_SYNC }, \
	{ "target",	required_argument,	NULL,	't' }, \
	{ "version",	no_argument,		NULL,	'V' }

/* --help lines of the common options (cli_help()), for the tools' texts. */
#define CLI_OPTS_HELP_SUFFIX \
    "Suffix:\n" \
    "  -d, --device vid:pid          idVendor:idProduct, hexadecimal (0483:df11)\n" \
    "  -r, --release bcddevice       bcdDevice, hexadecimal (ffff: any release)\n"
#define CLI_OPTS_HELP_OUTPUT \
    "Output:\n" \
    "  -o, --output output           write the DfuSe file here; - is stdout\n" \
    "  --pad n                       pad each element with 0xff to n-byte units\n" \
    "  --sync                        on disk before exit (fsync data, directory)\n"
#define CLI_OPTS_HELP_TARGET \
    "  -t, --target alt[:name]       start a target: alternate setting, name\n"
/* elf2dfu's and hex2dfu's targets and gaps (cli_conv). */
#define CLI_OPTS_HELP_CONV \
    "Targets:\n" \
    CLI_OPTS_HELP_TARGET \
    "  --range range                 first-last or first+size: for the last -t\n" \
    "  --split-at address            cut the image there: one target per part\n" \
    "Gaps:\n" \
    "  --max-gap n                   fill gaps of up to n bytes (else: new element)\n" \
    "  --gap-fill byte               the byte that fills them (default 0xff)\n"
#define CLI_OPTS_HELP_OTHER \
    "Other:\n" \
    "  -h, --help                    print this help and exit\n" \
    "  -V, --version                 print the version and exit\n"

#define CLI_PAD_FILL 0xff	/* --pad fills with what erased flash reads */

struct cli_target {
	const char *arg;	/* the -t argument; NULL if implicit */
	uint8_t alt;
	const char *name;	/* NULL: unnamed (bTargetNamed 0) */
};

struct cli_opts {
	const char *tool;	/* for -V */
	const char *usage;	/* help text (cli_help()): -h, usage errors */
	const struct option *longopts;	/* the tool's whole table */
	const char *output;	/* -o; NULL until given */
	uint16_t vid, pid;	/* -d; 0483:df11 (the STM32 ROM) by default */
	int ids_set;		/* -d was given */
	uint16_t bcd_device;	/* -r; DFU_ID_ANY by default */
	uint32_t pad;		/* --pad; 1 (no padding) by default */
	struct cli_target *targets;	/* owned; cli_opts_free() */
	size_t ntargets;
};

void cli_opts_init(struct cli_opts *o, const char *tool, const char *usage,
		   const struct option *longopts);
void cli_opts_free(struct cli_opts *o);

/*
 * Handle what getopt_long() returned for an option the tool does not take
 * itself: a common option, or '?' (unknown option, or an argument to an
 * option that takes none) or ':' (missing argument).  A bad value prints
 * "prog: -d value: what is wrong" and exits 2; '?' and ':' also print the
 * usage.  -h prints the usage on stdout and -V "tool version", and exit 0.
 */
void cli_opts_option(struct cli_opts *o, int ch, char *argv[]);

/* Once the operands are checked: a missing -o is a usage error. */
void cli_opts_check(const struct cli_opts *o);

/* A target with no -t (arg NULL), as -t would add it; exits 2 past 255. */
size_t cli_opts_add_target(struct cli_opts *o, const char *arg, uint8_t alt,
			   const char *name);

/*
 * A tool's help text is its usage lines (the man page's SYNOPSIS), an
 * empty line, then one line for each option.  cli_help() prints it all
 * (full, for -h) or only the usage lines (after a usage error).
 */
void cli_help(FILE *fp, const char *help, int full);

/*
 * What getopt_long() returned '?' or ':' for (opterr = 0 and a ':' first
 * in the short options, so that missing arguments give ':'), in the one
 * wording every tool uses: "prog: unknown option: --foo", "prog: option
 * needs an argument: -o", "prog: option takes no argument: --help" or
 * "prog: ambiguous option: --p (--pad, --plain)", then the usage lines;
 * exits 2.  A bad value is cli_usage_error("-o value: what is wrong").
 */
void cli_option_error(const struct option *longopts, const char *help,
		      int ch, char *argv[]) __attribute__((noreturn));

/* Usage errors: "prog: message" and exit 2; the second prints the usage. */
void cli_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void cli_opts_usage(const struct cli_opts *o) __attribute__((noreturn));

/* cli_parse_u32() of the first n bytes of s. */
int cli_parse_u32_prefix(const char *s, size_t n, uint32_t *out);

/* Grow an array of n elements by 16 when n is a multiple of 16; exits 1
 * when out of memory. */
void *cli_grow(void *p, size_t n, size_t size);

/*
 * The DfuSe file the options describe: their IDs, one target per
 * o->targets in order, each given its elements by add(ctx, f, t, index)
 * (t indexes o->targets, index is the target in f; add returns 0, or -1
 * after printing the error), then every element padded to o->pad.
 * pad_file names the file in a padding error (NULL: none).  -1 after
 * printing the error.
 */
int cli_build_dfuse(const struct cli_opts *o, struct dfu_file *f,
		    int (*add)(void *ctx, struct dfu_file *f, size_t t,
			       unsigned index),
		    void *ctx, const char *pad_file);

/*
 * 1 after printing "prog: output: output is also the input NAME; refusing
 * to overwrite it" if output ("-" is stdout) is the file open as in_fd;
 * 0 if not.  Check every input before writing anything.
 */
int cli_output_is_input(const char *output, int in_fd, const char *in_path);

/* Write f to output atomically (cli_output_open()); returns an exit status. */
int cli_write_dfu(struct dfu_file *f, const char *output);

/* Name of an output in messages: "-" becomes "(stdout)". */
const char *cli_output_name(const char *path);

/* "prog: file: message" for a failed dfu_file_*() call, with errno's text
 * for an I/O error when the message lacks it. */
void cli_file_error(const struct dfu_file *f, const char *file, int err);

/* ---- Converters: elf2dfu, hex2dfu ----------------------------------------- */

/*
 * What the converters from a memory image take beyond cli_opts:
 *   --range first-last or --range first+size (inclusive, repeatable) after
 *   a -t: which addresses go to that target; one target without --range
 *   takes the rest;
 *   --split-at address (repeatable): cut the address space there, one
 *   target per part, in address order;
 *   --gap-fill byte, --max-gap n: fill gaps of at most n bytes;
 *   -j section, -R section (with CLI_CONV_SECTIONS only): as objcopy.
 */
struct cli_range {
	uint32_t first, last;	/* inclusive */
	const char *arg;	/* as given, for messages */
	size_t target;		/* index into opts.targets */
};

struct cli_conv {
	struct cli_opts opts;
	const char *input;
	int gap_fill;		/* -1: not given */
	uint32_t max_gap;	/* 0: every gap starts a new element */
	uint32_t *splits;	/* sorted */
	size_t nsplits;
	struct cli_range *ranges;	/* in command-line order */
	size_t nranges;
	const char **only, **remove;	/* -j, -R */
	size_t nonly, nremove;
	struct dfu_conv *conv;	/* the above, as libdfufile converts */
};

#define CLI_CONV_SECTIONS 0x1u	/* accept -j and -R */

/*
 * Parse the command line into c; on a usage error print the message and
 * usage to stderr and exit 2; -h prints usage to stdout and exits 0, -V
 * prints "tool version" and exits 0.
 */
void cli_conv_parse(struct cli_conv *c, const char *tool, const char *usage,
		    unsigned flags, int argc, char *argv[]);
void cli_conv_free(struct cli_conv *c);

/*
 * Open the input (cli_open_input()), refuse an empty one, and detect its
 * format from its first bytes.  -1 after printing the error.
 */
int cli_conv_open(const struct cli_conv *c, enum dfu_image_format *format);

/*
 * Map the image to targets and elements as the options say
 * (dfu_conv_build()), and write the DfuSe file to the output, atomically;
 * in_fd is the input, which the output must not be.  Returns an exit
 * status, after printing any error.
 */
int cli_conv_write(const struct cli_conv *c, struct dfu_image *img,
		   int in_fd);

/*
 * What the first len bytes of a file that should be raw data are:
 * dfu_image_detect(), where Intel HEX and S-records must also start with
 * one whole well-formed record (hexadecimal digits, the length its count
 * byte gives, a checksum that matches, then a line end), so that binary
 * data that happens to start with ':' or "S1" stays data.
 */
enum dfu_image_format cli_image_sniff(const void *buf, size_t len);

/* "prog: file: message" for a failed dfu_conv_*() call, with errno's text
 * for an I/O error when the message lacks it; file NULL: none. */
void cli_conv_error(const struct dfu_conv *conv, const char *file, int err);

/* "prog: file: message" for a failed dfu_image_*() call. */
void cli_image_error(const struct dfu_image *img, const char *file, int err);

#endif /* DFU_CLI_H */
