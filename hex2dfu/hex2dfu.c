/*
 * hex2dfu - build a DfuSe file from Intel HEX or Motorola S-records
 *
 * The format is recognised from the content; libdfufile's loaders check
 * every record (dfuimage.h) and the options are those of every converter
 * (cli.h).
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "dfuimage.h"

static const char usage_text[] =
    "usage: hex2dfu [--gap-fill byte] [--max-gap n] [--pad n] [-d vid:pid]\n"
    "               [-r bcddevice] [--split-at address]\n"
    "               [-t alt[:name] [--range range ...]] [--sync]\n"
    "               -o output file\n"
    "       hex2dfu -h | -V\n"
    "\n"
    CLI_OPTS_HELP_CONV
    CLI_OPTS_HELP_SUFFIX
    CLI_OPTS_HELP_OUTPUT
    CLI_OPTS_HELP_OTHER;

static int
convert(const struct cli_conv *c)
{
	const char *name = cli_input_name(c->input);
	enum dfu_image_format format;
	struct dfu_image *img;
	int fd, err, rc = CLI_EXIT_FAIL;

	if ((fd = cli_conv_open(c, &format)) < 0)
		return CLI_EXIT_FAIL;
	if (format != DFU_IMAGE_IHEX && format != DFU_IMAGE_SREC) {
		if (format == DFU_IMAGE_ELF)
			cli_error(name, "an ELF file, not Intel HEX or "
			    "S-records; use elf2dfu");
		else
			cli_error(name, "neither Intel HEX nor S-records");
		close(fd);
		return CLI_EXIT_FAIL;
	}
	if ((img = dfu_image_new()) == NULL) {
		cli_error(NULL, "out of memory");
		close(fd);
		return CLI_EXIT_FAIL;
	}
	/* The loaders write the decoded bytes to a temporary file: past a
	 * file size limit (ulimit -f) that write must fail with EFBIG and a
	 * message, not end the program with SIGXFSZ (as for the output). */
	signal(SIGXFSZ, SIG_IGN);
	if (lseek(fd, 0, SEEK_SET) != 0)
		cli_error(name, "cannot seek to the start");
	else if ((err = format == DFU_IMAGE_IHEX ?
	    dfu_image_load_ihex(img, fd) : dfu_image_load_srec(img, fd)) != 0)
		cli_image_error(img, name, err);
	else
		rc = cli_conv_write(c, img, fd);
	dfu_image_free(img);
	close(fd);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct cli_conv c;
	int rc;

	cli_init(argv[0]);
	cli_conv_parse(&c, "hex2dfu", usage_text, 0, argc, argv);
	rc = convert(&c);
	cli_conv_free(&c);
	return rc;
}
