/*
 * cli.h - helpers shared by the command-line tools.  Not part of
 * libdfufile: these print, and the library never does.
 */
#ifndef DFU_CLI_H
#define DFU_CLI_H

#include <stdint.h>
#include <sys/types.h>

/* Exit statuses shared by every tool (see each man page, EXIT STATUS). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1	 /* bad input, I/O error */
#define CLI_EXIT_USAGE 2 /* bad command line */

/* Set the program name used in messages from argv[0]. */
void cli_init(const char *argv0);
const char *cli_progname(void);

/*
 * "prog: file: message\n" on stderr; file NULL gives "prog: message".
 * Messages are lower case with no trailing period.
 */
void cli_error(const char *file, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Numbers on the command line.  "0x" or "0X" starts a hexadecimal number,
 * anything else is decimal (a leading 0 is not octal).  The whole string
 * must be the number.  Return 0, or -1 if s is not a number in range.
 */
int cli_parse_u32(const char *s, uint32_t *out);
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
 * Atomic output.  cli_output_open() creates a temporary file next to path
 * ("-" means stdout, and an existing device or FIFO is written directly).
 * Write to o->fd (or close it yourself and set it to -1), then
 * cli_output_commit() flushes the data to disk (fsync), renames the file
 * over path and syncs the directory, or cli_output_abort() removes it and
 * leaves any existing path as it was.  Both print their own errors.  A
 * temporary file that exists when SIGINT, SIGTERM or SIGHUP ends the
 * program is removed first; SIGXFSZ is ignored, so that a file size
 * limit makes write() fail instead.
 */
struct cli_output {
	const char *path; /* as given */
	char *tmp;	  /* temporary file, NULL for stdout or direct */
	int fd;
	int direct;	  /* a device or FIFO, opened as it is */
};
int cli_output_open(struct cli_output *o, const char *path);
int cli_output_commit(struct cli_output *o);
void cli_output_abort(struct cli_output *o);

/*
 * 1 if path names the same file as the open descriptor fd (same device and
 * inode), 0 if not or if path does not exist.
 */
int cli_same_file(const char *path, int fd);

/* ---- Converters: elf2dfu, hex2dfu ----------------------------------------- */

#include "dfuimage.h"

/*
 * The options that every converter from a memory image to a DfuSe file
 * takes, parsed once here so that they mean the same in each tool:
 *   -d vid:pid, -r bcddevice, --pad n, -o output (as bin2dfu);
 *   -t alt[:name], each optionally followed by --range first-last or
 *   --range first+size (inclusive, repeatable): which addresses go to
 *   which target; one target without --range takes the rest;
 *   --split-at address (repeatable): cut the address space there, one
 *   target per part, in address order;
 *   --gap-fill byte, --max-gap n: fill gaps of at most n bytes;
 *   -j section, -R section (with CLI_CONV_SECTIONS only): as objcopy.
 */
struct cli_range {
	uint32_t first, last;	/* inclusive */
	const char *arg;	/* as given, for messages */
};

struct cli_conv_target {
	const char *arg;	/* the -t argument; NULL if implicit */
	uint8_t alt;
	const char *name;	/* NULL: unnamed */
	struct cli_range *ranges;	/* --range options after this -t */
	size_t nranges;
};

struct cli_conv {
	const char *tool;	/* for -V */
	const char *input;
	const char *output;
	uint16_t vid, pid, bcd_device;
	uint32_t pad;
	int gap_fill;		/* -1: not given */
	uint32_t max_gap;	/* 0: every gap starts a new element */
	uint32_t *splits;	/* sorted */
	size_t nsplits;
	struct cli_conv_target *targets;
	size_t ntargets;
	const char **only, **remove;	/* -j, -R */
	size_t nonly, nremove;
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
 * Map the image to targets and elements as the options say, and write the
 * DfuSe file to the output, atomically; in_fd is the input, which the
 * output must not be.  Returns an exit status, after printing any error.
 */
int cli_conv_write(const struct cli_conv *c, struct dfu_image *img,
		   int in_fd);

/* "prog: file: message" for a failed dfu_image_*() call. */
void cli_image_error(const struct dfu_image *img, const char *file, int err);

#endif /* DFU_CLI_H */
