/*
 * input.c - what dfusplit's modes share: memory helpers, reading a DFU
 * input (refused with dfuinfo's messages when damaged) and writing a DFU
 * output atomically.  Kept apart from main() so that the manifest fuzz
 * target can link it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dfusplit.h"

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
	return p;
}

/* 1 if the CRC is the file's only error. */
static int
crc_only(const struct dfu_file *f)
{
	size_t i, n = dfu_file_diag_count(f);

	if (dfu_file_error_count(f) != 1)
		return 0;
	for (i = 0; i < n; i++) {
		const struct dfu_diag *d = dfu_file_diag(f, i);

		if (d != NULL && d->severity == DFU_ERROR)
			return strcmp(d->code, "crc-mismatch") == 0;
	}
	return 0;
}

/* The errors of a read, as dfuinfo prints them; -1. */
static int
read_errors(const struct input *in)
{
	size_t i, n = dfu_file_diag_count(in->f);

	/* The same lines as dfuinfo's, one per error. */
	for (i = 0; i < n; i++) {
		const struct dfu_diag *d = dfu_file_diag(in->f, i);

		if (d != NULL && d->severity == DFU_ERROR)
			cli_error(in->name, "error: 0x%08llx %s: %s (%s)",
			    (unsigned long long)d->offset, d->field,
			    d->message, d->code);
	}
	if (crc_only(in->f))
		cli_error(in->name, "the only error is the CRC: "
		    "--ignore-crc reads the file anyway");
	cli_error(in->name, "not a valid DFU file: nothing written");
	return -1;
}

static void
crc_warning(const struct input *in)
{
	const struct dfu_suffix *s = dfu_file_suffix(in->f);

	if (s != NULL && s->dwCRC != dfu_file_crc(in->f))
		cli_error(in->name, "warning: CRC mismatch ignored "
		    "(stored 0x%08x, computed 0x%08x); the output "
		    "gets a new CRC over the bytes as they are",
		    s->dwCRC, dfu_file_crc(in->f));
}

static int
input_read(struct input *in, const char *path, unsigned flags)
{
	int rc;

	memset(in, 0, sizeof(*in));
	in->path = path;
	in->name = cli_input_name(path);
	in->fd = cli_open_input(path);
	if (in->fd < 0)
		return -1;
	in->f = dfu_file_new();
	if (in->f == NULL) {
		cli_error(in->name, "out of memory");
		return -1;
	}
	rc = dfu_file_read_fd(in->f, in->fd, flags);
	if (rc == DFU_ERR_FORMAT)
		return read_errors(in);
	if (rc != 0) {
		cli_error(in->name, "%s", dfu_file_errmsg(in->f));
		return -1;
	}
	return 0;
}

int
input_open(struct input *in, const char *path, int ignore_crc)
{
	if (input_read(in, path, ignore_crc ? DFU_READ_IGNORE_CRC : 0) != 0)
		return -1;
	if (ignore_crc)
		crc_warning(in);
	return 0;
}

int
input_open_deferred(struct input *in, const char *path, int ignore_crc)
{
	return input_read(in, path, DFU_READ_DEFER_CRC |
	    (ignore_crc ? DFU_READ_IGNORE_CRC : 0));
}

int
input_check_crc(struct input *in, int ignore_crc)
{
	int rc = dfu_file_crc_check(in->f);

	if (rc == DFU_ERR_FORMAT)
		return read_errors(in);
	if (rc != 0) {
		cli_error(in->name, "%s", dfu_file_errmsg(in->f));
		return -1;
	}
	if (ignore_crc)
		crc_warning(in);
	return 0;
}

void
input_close(struct input *in)
{
	dfu_file_free(in->f);
	in->f = NULL;
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
}

unsigned
write_flags(const struct options *o)
{
	if (o->in_place)
		return WRITE_IN_PLACE;
	/* --merge and --join do not take --in-place. */
	return o->mode == MODE_MERGE || o->mode == MODE_JOIN ? 0 : WRITE_HINT;
}

/* 1 if path ("-": standard output) is the file open as fd. */
static int
is_input(const char *path, int fd)
{
	struct stat a, b;

	if (strcmp(path, "-") != 0)
		return cli_same_file(path, fd);
	/* "dfusplit ... -o - fw.dfu >>fw.dfu" */
	return fstat(STDOUT_FILENO, &a) == 0 && fstat(fd, &b) == 0 &&
	    S_ISREG(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
refuse_output_over(const char *output, const char *path, const char *name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), same;

	if (fd < 0)
		return 0;
	same = is_input(output, fd);
	close(fd);
	if (same)
		cli_error(cli_output_name(output), "is the input %s: refusing "
		    "to write over it", name);
	return same ? -1 : 0;
}

int
output_open(struct cli_output *out, char **resolved, const char *path,
    const struct input *inputs, size_t ninputs, unsigned flags)
{
	struct stat st;
	size_t i;

	*resolved = NULL;
	if (!(flags & WRITE_IN_PLACE)) {
		for (i = 0; i < ninputs; i++)
			if (inputs[i].fd >= 0 && is_input(path, inputs[i].fd)) {
				cli_error(cli_output_name(path), "is the input "
				    "%s: refusing to write over it%s",
				    inputs[i].name, flags & WRITE_HINT ?
				    " (use --in-place)" : "");
				return -1;
			}
		return cli_output_open(out, path);
	}
	/* In place through a symbolic link: the file it points to is
	 * replaced and the link kept, as sed --follow-symlinks does. */
	if ((*resolved = realpath(path, NULL)) == NULL) {
		cli_error(path, "%s", strerror(errno));
		return -1;
	}
	if (stat(*resolved, &st) != 0 || !S_ISREG(st.st_mode) ||
	    !cli_same_file(*resolved, inputs[0].fd)) {
		cli_error(path, "--in-place needs a regular file that stays "
		    "where it is");
		goto fail;
	}
	/* Synced even without --sync: the input must survive a crash. */
	if (cli_output_open_flags(out, *resolved, CLI_OUTPUT_REGULAR |
	    CLI_OUTPUT_SYNC) != 0)
		goto fail;
	if (cli_output_like(out, &st) != 0) {
		cli_output_abort(out);
		goto fail;
	}
	return 0;
fail:
	free(*resolved);
	*resolved = NULL;
	return -1;
}

int
write_dfu_checked(struct dfu_file *f, const char *path,
    const struct input *inputs, size_t ninputs, unsigned flags,
    int (*check)(void *arg, int failed), void *arg)
{
	struct cli_output out;
	char *resolved;
	int rc = CLI_EXIT_FAIL;

	if (output_open(&out, &resolved, path, inputs, ninputs, flags) != 0)
		return CLI_EXIT_FAIL;
	if (dfu_file_write_fd_flags(f, out.fd,
	    cli_output_write_flags(&out)) != 0) {
		/* A source that failed said why; otherwise the write. */
		if (check == NULL || check(arg, 1) == 0)
			cli_error(cli_output_name(path), "%s",
			    dfu_file_errmsg(f));
		cli_output_abort(&out);
	} else if (check != NULL && check(arg, 0) != 0) {
		cli_output_abort(&out);
	} else if (cli_output_commit(&out) == 0) {
		rc = CLI_EXIT_OK;
	}
	free(resolved);
	return rc;
}

int
write_dfu(struct dfu_file *f, const char *path, const struct input *inputs,
    size_t ninputs, unsigned flags)
{
	return write_dfu_checked(f, path, inputs, ninputs, flags, NULL, NULL);
}
