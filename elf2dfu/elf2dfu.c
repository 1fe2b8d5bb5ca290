/*
 * elf2dfu - build a DfuSe file from an ELF firmware file
 *
 * The bytes go where the device stores them (the load address), as
 * objcopy -O binary puts them; libdfufile's loader decides what is
 * loaded (dfuimage.h) and the options are those of every converter
 * (cli.h).  Element data is read from the ELF file when the output is
 * written.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "dfuimage.h"

static const char usage_text[] =
    "usage: elf2dfu [--gap-fill byte] [--max-gap n] [--pad n] [-d vid:pid]\n"
    "               [-j section] [-R section] [-r bcddevice]\n"
    "               [--split-at address] [-t alt[:name] [--range range ...]]\n"
    "               [--sync] -o output file\n"
    "       elf2dfu -h | -V\n"
    "\n"
    "Sections:\n"
    "  -j, --only-section section    take only this section (repeatable)\n"
    "  -R, --remove-section section  leave this section out (repeatable)\n"
    CLI_OPTS_HELP_CONV
    CLI_OPTS_HELP_SUFFIX
    CLI_OPTS_HELP_OUTPUT
    CLI_OPTS_HELP_OTHER;

static int
convert(const struct cli_conv *c)
{
	const char *name = cli_input_name(c->input);
	struct dfu_elf_filter filter = {
		.only = c->only, .nonly = c->nonly,
		.remove = c->remove, .nremove = c->nremove,
	};
	enum dfu_image_format format;
	struct dfu_image *img;
	int fd, err, rc = CLI_EXIT_FAIL;

	if ((fd = cli_conv_open(c, &format)) < 0)
		return CLI_EXIT_FAIL;
	if (format != DFU_IMAGE_ELF) {
		if (format == DFU_IMAGE_IHEX || format == DFU_IMAGE_SREC)
			cli_error(name, "not an ELF file but %s; use hex2dfu",
			    dfu_image_format_name(format));
		else
			cli_error(name, "not an ELF file");
		close(fd);
		return CLI_EXIT_FAIL;
	}
	if ((img = dfu_image_new()) == NULL) {
		cli_error(NULL, "out of memory");
		close(fd);
		return CLI_EXIT_FAIL;
	}
	if ((err = dfu_image_load_elf(img, fd, &filter)) != 0)
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
	cli_conv_parse(&c, "elf2dfu", usage_text, CLI_CONV_SECTIONS, argc,
	    argv);
	rc = convert(&c);
	cli_conv_free(&c);
	return rc;
}
