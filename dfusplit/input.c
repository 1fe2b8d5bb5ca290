/*
 * input.c - what dfusplit's modes share: memory helpers, reading a DFU
 * input (refused with dfuinfo's messages when damaged) and writing a DFU
 * output atomically.  Kept apart from main() so that the manifest fuzz
 * target can link it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int
input_open(struct input *in, const char *path, int ignore_crc)
{
	size_t i, n;
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
	rc = dfu_file_read_fd(in->f, in->fd,
	    ignore_crc ? DFU_READ_IGNORE_CRC : 0);
	if (rc == DFU_ERR_FORMAT) {
		/* The same lines as dfuinfo's, one per error. */
		n = dfu_file_diag_count(in->f);
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
	if (rc != 0) {
		cli_error(in->name, "%s", dfu_file_errmsg(in->f));
		return -1;
	}
	if (ignore_crc) {
		const struct dfu_suffix *s = dfu_file_suffix(in->f);

		if (s != NULL && s->dwCRC != dfu_file_crc(in->f))
			cli_error(in->name, "warning: CRC mismatch ignored "
			    "(stored 0x%08x, computed 0x%08x); the output "
			    "gets a new CRC over the bytes as they are",
			    s->dwCRC, dfu_file_crc(in->f));
	}
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

int
write_dfu(struct dfu_file *f, const char *path, const struct input *inputs,
    size_t ninputs, int in_place)
{
	struct cli_output out;
	size_t i;

	if (!in_place && strcmp(path, "-") != 0)
		for (i = 0; i < ninputs; i++)
			if (inputs[i].fd >= 0 &&
			    cli_same_file(path, inputs[i].fd)) {
				cli_error(path, "is the input %s: refusing to "
				    "write over it (use --in-place)",
				    inputs[i].name);
				return CLI_EXIT_FAIL;
			}
	if (cli_output_open(&out, path) != 0)
		return CLI_EXIT_FAIL;
	if (dfu_file_write_fd(f, out.fd) != 0) {
		cli_error(path, "%s", dfu_file_errmsg(f));
		cli_output_abort(&out);
		return CLI_EXIT_FAIL;
	}
	return cli_output_commit(&out) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
