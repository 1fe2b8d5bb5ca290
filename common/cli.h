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
 * ("-" means stdout, written directly).  Write to o->fd, then
 * cli_output_commit() renames it over path, or cli_output_abort() removes
 * it and leaves any existing path as it was.  Both print their own errors.
 */
struct cli_output {
	const char *path; /* as given */
	char *tmp;	  /* temporary file, NULL for stdout */
	int fd;
};
int cli_output_open(struct cli_output *o, const char *path);
int cli_output_commit(struct cli_output *o);
void cli_output_abort(struct cli_output *o);

/*
 * 1 if path names the same file as the open descriptor fd (same device and
 * inode), 0 if not or if path does not exist.
 */
int cli_same_file(const char *path, int fd);

#endif /* DFU_CLI_H */
