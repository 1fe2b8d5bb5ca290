/*
 * dfuinfo - show and check the content of DFU and DfuSe firmware files.
 *
 * For each FILE: the format, the suffix, the CRC, the DfuSe prefix, every
 * target and element, then every error and note the library found.  The
 * report goes to stdout, as text or as one JSON document (-j); only
 * operational failures (cannot open, read error) go to stderr.  The file
 * is never loaded: libdfufile reads the headers and streams the CRC.
 */
#define _POSIX_C_SOURCE 200809L

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dfufile.h"
#include "devlist.h"
#include "fit.h"
#include "jsonwriter.h"

struct options {
	int json;  /* -j: one JSON document on stdout */
	int quiet; /* -q: no output at all, only the exit status */
	struct fit_layout *layouts; /* -L: device memory to check against */
	size_t nlayouts;
};

/* What was found in one file. */
enum verdict {
	VERDICT_VALID,
	VERDICT_INVALID, /* the file has at least one error diagnostic */
	VERDICT_FAILED,	 /* could not be opened or read */
};

static const char usage_text[] =
    "usage: dfuinfo [-hjqV] [-L [alt=]layout | devices.json] file ...\n"
    "\n"
    "Checks:\n"
    "  -L, --layout [alt=]layout     check the elements fit alt's memory layout\n"
    "  -L, --layout devices.json     the same for each alt of the device listed\n"
    "Output:\n"
    "  -j, --json                    one JSON document instead of the report\n"
    "  -q, --quiet                   print nothing but errors (on stderr)\n"
    "Other:\n"
    "  -h, --help                    print this help and exit\n"
    "  -V, --version                 print the version and exit\n";

static void
usage(FILE *fp)
{
	cli_help(fp, usage_text, fp == stdout);
}

static const char *
plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static const char *
format_name(enum dfu_format format)
{
	switch (format) {
	case DFU_FORMAT_DFUSE:
		return "dfuse";
	case DFU_FORMAT_PLAIN:
		return "plain";
	default:
		return "unknown";
	}
}

static const char *
vendor_prefix_name(enum dfu_vendor_prefix_kind kind)
{
	switch (kind) {
	case DFU_VENDOR_PREFIX_STELLARIS:
		return "stellaris";
	case DFU_VENDOR_PREFIX_LPC:
		return "lpc";
	default:
		return "none";
	}
}

static const char *
vendor_prefix_title(enum dfu_vendor_prefix_kind kind)
{
	switch (kind) {
	case DFU_VENDOR_PREFIX_STELLARIS:
		return "TI Stellaris";
	case DFU_VENDOR_PREFIX_LPC:
		return "NXP LPC";
	default:
		return "unknown";
	}
}

static uint64_t
total_elements(const struct dfu_file *f)
{
	uint64_t n = 0;

	for (unsigned t = 0; t < dfu_file_target_count(f); t++)
		n += dfu_file_element_count(f, t);
	return n;
}

/* A target name in double quotes, bytes outside printable ASCII as \xNN. */
static void
print_name(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;

	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s >= 0x20 && *s < 0x7f)
			putchar(*s);
		else
			printf("\\x%02x", *s);
	}
	putchar('"');
}

static void
print_header(const struct dfu_file *f, const char *name)
{
	const struct dfu_vendor_prefix *vp = dfu_file_vendor_prefix(f);
	unsigned nt = dfu_file_target_count(f);
	uint64_t ne = total_elements(f);

	printf("%s: ", name);
	switch (dfu_file_format(f)) {
	case DFU_FORMAT_DFUSE:
		printf("DfuSe, %u %s, %" PRIu64 " %s, ", nt,
		    plural(nt, "target", "targets"), ne,
		    plural(ne, "element", "elements"));
		break;
	case DFU_FORMAT_PLAIN:
		if (vp != NULL && vp->kind != DFU_VENDOR_PREFIX_NONE)
			printf("plain DFU with %s prefix, ",
			    vendor_prefix_title(vp->kind));
		else
			printf("plain DFU, ");
		break;
	default:
		printf("unknown format, ");
		break;
	}
	printf("%" PRIu64 " %s\n", dfu_file_size(f),
	    plural(dfu_file_size(f), "byte", "bytes"));
}

static void
print_image_size(uint32_t image_size, uint64_t file_size)
{
	printf("DFUImageSize %" PRIu32, image_size);
	if (image_size == file_size)
		printf(" (file size)");
	else if (file_size >= DFU_SUFFIX_SIZE &&
	    image_size == file_size - DFU_SUFFIX_SIZE)
		printf(" (file size - 16)");
}

static void
print_element(const struct dfu_element *e, unsigned index)
{
	printf("    element %u:  0x%08" PRIx32, index, e->address);
	if (e->size > 0)
		printf("-0x%08" PRIx64,
		    (uint64_t)e->address + e->size - 1);
	else
		printf(" (empty)");
	printf("  %" PRIu32 " %s  at 0x%" PRIx64 "\n", e->size,
	    plural(e->size, "byte", "bytes"), e->offset);
}

/*
 * -L: what target t would cost on the device.  The pages of an alt are
 * counted once, under its first target.
 */
static void
print_fit(const struct fit_target *ft, unsigned t, unsigned alt)
{
	printf("    layout:     ");
	print_name(ft->name);
	printf(" (alt %u): ", alt);
	if (!ft->fits) {
		printf("does not fit\n");
		return;
	}
	if (ft->first != t) {
		printf("fits; counted with target %u\n", ft->first);
		return;
	}
	if (!ft->alt_fits) {
		printf("fits; another target of alt %u does not\n", alt);
		return;
	}
	printf("fits; erases %" PRIu64 " %s, %" PRIu64 " %s", ft->pages_erased,
	    plural(ft->pages_erased, "page", "pages"), ft->bytes_erased,
	    plural(ft->bytes_erased, "byte", "bytes"));
	if (ft->bytes_outside > 0)
		printf(", %" PRIu64 " of them not in the image",
		    ft->bytes_outside);
	putchar('\n');
}

static void
print_target(const struct dfu_file *f, unsigned t,
	     const struct fit_report *fit)
{
	const struct dfuse_target *tg = dfu_file_target(f, t);
	unsigned ne = dfu_file_element_count(f, t);

	if (tg == NULL)
		return;
	printf("  target %u:  alt %u  ", t, tg->bAlternateSetting);
	if (tg->bTargetNamed == 0 && tg->szTargetName[0] == '\0')
		printf("unnamed");
	else
		print_name(tg->szTargetName);
	printf("  %" PRIu32 " %s  %" PRIu32 " %s", tg->dwTargetSize,
	    plural(tg->dwTargetSize, "byte", "bytes"), tg->dwNbElements,
	    plural(tg->dwNbElements, "element", "elements"));
	if (ne != tg->dwNbElements)
		printf(" (%u read)", ne);
	printf("  at 0x%" PRIx64 "\n", tg->offset);
	for (unsigned i = 0; i < ne; i++) {
		const struct dfu_element *e = dfu_file_element(f, t, i);

		if (e != NULL)
			print_element(e, i);
	}
	if (fit != NULL && t < fit->ntargets && fit->targets[t].checked)
		print_fit(&fit->targets[t], t, tg->bAlternateSetting);
}

static void
print_diag(int error, uint64_t offset, const char *field,
	   const char *message, const char *code)
{
	printf("  %s: 0x%08" PRIx64 " ", error ? "error" : "note", offset);
	if (field != NULL && field[0] != '\0')
		printf("%s: ", field);
	printf("%s (%s)\n", message != NULL ? message : "",
	    code != NULL ? code : "");
}

/* -q: one error on the standard error, as print_diag() words it. */
static void
print_error(const char *name, uint64_t offset, const char *field,
	    const char *message, const char *code)
{
	int named = field != NULL && field[0] != '\0';

	cli_error(name, "0x%08" PRIx64 " %s%s%s (%s)", offset,
	    named ? field : "", named ? ": " : "",
	    message != NULL ? message : "", code != NULL ? code : "");
}

/*
 * -q: each error of the file (and of the -L check) on the standard error,
 * so that a CI log says why the file was refused; the notes stay out, as
 * everything on the standard output does.
 */
static void
print_errors(const struct dfu_file *f, const char *name,
	     const struct fit_report *fit)
{
	size_t nd = dfu_file_diag_count(f);

	for (size_t i = 0; i < nd; i++) {
		const struct dfu_diag *d = dfu_file_diag(f, i);

		if (d != NULL && d->severity == DFU_ERROR)
			print_error(name, d->offset, d->field, d->message,
			    d->code);
	}
	for (size_t i = 0; fit != NULL && i < fit->ndiags; i++)
		if (fit->diags[i].error)
			print_error(name, fit->diags[i].offset,
			    fit->diags[i].field, fit->diags[i].message,
			    fit->diags[i].code);
}

/* Errors and notes of the file and, with -L, of the layout check. */
static void
count_diags(const struct dfu_file *f, const struct fit_report *fit,
	    size_t *nerr, size_t *nnote)
{
	*nerr = dfu_file_error_count(f);
	*nnote = dfu_file_diag_count(f) - *nerr;
	if (fit != NULL) {
		*nerr += fit->nerrors;
		*nnote += fit->ndiags - fit->nerrors;
	}
}

static void
print_text(const struct dfu_file *f, const char *name,
	   const struct fit_report *fit)
{
	const struct dfu_vendor_prefix *vp = dfu_file_vendor_prefix(f);
	const struct dfu_suffix *s = dfu_file_suffix(f);
	const struct dfuse_prefix *p = dfu_file_dfuse_prefix(f);
	size_t nd = dfu_file_diag_count(f), nerr, nnote;

	count_diags(f, fit, &nerr, &nnote);

	print_header(f, name);
	if (vp != NULL && vp->kind != DFU_VENDOR_PREFIX_NONE) {
		printf("  vendor:    %s prefix, %" PRIu32 " bytes",
		    vendor_prefix_title(vp->kind), vp->size);
		if (vp->kind == DFU_VENDOR_PREFIX_STELLARIS)
			printf("  address 0x%08" PRIx32 "  length %" PRIu32
			    "\n", vp->address, vp->length);
		else
			printf("  length %" PRIu32 " blocks\n", vp->length);
	}
	if (s != NULL) {
		printf("  suffix:    idVendor 0x%04x  idProduct 0x%04x  "
		    "bcdDevice 0x%04x  bcdDFU 0x%04x  bLength %u\n",
		    s->idVendor, s->idProduct, s->bcdDevice, s->bcdDFU,
		    s->bLength);
		printf("  crc:       stored 0x%08" PRIx32 "  computed 0x%08"
		    PRIx32 "  %s\n", s->dwCRC, dfu_file_crc(f),
		    s->dwCRC == dfu_file_crc(f) ? "ok" : "mismatch");
	}
	if (p != NULL) {
		printf("  prefix:    bVersion %u  ", p->bVersion);
		print_image_size(p->DFUImageSize, dfu_file_size(f));
		printf("  bTargets %u\n", p->bTargets);
	}
	if (dfu_file_format(f) == DFU_FORMAT_PLAIN)
		printf("  payload:   %" PRIu64 " %s\n", dfu_file_payload_size(f),
		    plural(dfu_file_payload_size(f), "byte", "bytes"));
	for (unsigned t = 0; t < dfu_file_target_count(f); t++)
		print_target(f, t, fit);
	for (size_t i = 0; i < nd; i++) {
		const struct dfu_diag *d = dfu_file_diag(f, i);

		if (d != NULL)
			print_diag(d->severity == DFU_ERROR, d->offset,
			    d->field, d->message, d->code);
	}
	for (size_t i = 0; fit != NULL && i < fit->ndiags; i++)
		print_diag(fit->diags[i].error, fit->diags[i].offset,
		    fit->diags[i].field, fit->diags[i].message,
		    fit->diags[i].code);
	printf("  verdict: %s", nerr > 0 ? "invalid" : "valid");
	if (nerr > 0 && nnote > 0)
		printf(" (%zu %s, %zu %s)", nerr, plural(nerr, "error", "errors"),
		    nnote, plural(nnote, "note", "notes"));
	else if (nerr > 0)
		printf(" (%zu %s)", nerr, plural(nerr, "error", "errors"));
	else if (nnote > 0)
		printf(" (%zu %s)", nnote, plural(nnote, "note", "notes"));
	putchar('\n');
}

static void
json_element(struct jw *j, const struct dfu_element *e, unsigned index)
{
	jw_object_begin(j, NULL);
	jw_uint(j, "index", index);
	jw_uint(j, "address", e->address);
	jw_uint(j, "size", e->size);
	if (e->size > 0)
		jw_uint(j, "end", (uint64_t)e->address + e->size - 1);
	else
		jw_null(j, "end");
	jw_uint(j, "offset", e->offset);
	jw_object_end(j);
}

static void
json_fit(struct jw *j, const struct fit_report *fit, unsigned t)
{
	const struct fit_target *ft;

	if (fit == NULL || t >= fit->ntargets || !fit->targets[t].checked) {
		jw_null(j, "layout");
		return;
	}
	ft = &fit->targets[t];
	jw_object_begin(j, "layout");
	jw_string(j, "name", ft->name);
	jw_bool(j, "fits", ft->fits);
	if (ft->fits && ft->first != t)
		jw_uint(j, "counted_with_target", ft->first);
	else if (ft->fits && ft->alt_fits) {
		jw_uint(j, "pages_erased", ft->pages_erased);
		jw_uint(j, "bytes_erased", ft->bytes_erased);
		jw_uint(j, "bytes_outside", ft->bytes_outside);
	}
	jw_object_end(j);
}

static void
json_diag(struct jw *j, int error, const char *code, uint64_t offset,
	  const char *field, const char *message)
{
	jw_object_begin(j, NULL);
	jw_string(j, "severity", error ? "error" : "note");
	jw_string(j, "code", code);
	jw_uint(j, "offset", offset);
	jw_string(j, "field", field);
	jw_string(j, "message", message);
	jw_object_end(j);
}

static void
json_target(struct jw *j, const struct dfu_file *f, unsigned t,
	    const struct fit_report *fit)
{
	const struct dfuse_target *tg = dfu_file_target(f, t);
	unsigned ne = dfu_file_element_count(f, t);

	if (tg == NULL)
		return;
	jw_object_begin(j, NULL);
	jw_uint(j, "index", t);
	jw_uint(j, "alt", tg->bAlternateSetting);
	jw_uint(j, "named", tg->bTargetNamed);
	jw_string(j, "name", tg->szTargetName);
	jw_uint(j, "offset", tg->offset);
	jw_uint(j, "size", tg->dwTargetSize);
	jw_uint(j, "declared_elements", tg->dwNbElements);
	jw_array_begin(j, "elements");
	for (unsigned i = 0; i < ne; i++) {
		const struct dfu_element *e = dfu_file_element(f, t, i);

		if (e != NULL)
			json_element(j, e, i);
	}
	jw_array_end(j);
	json_fit(j, fit, t);
	jw_object_end(j);
}

static void
print_json(struct jw *j, const struct dfu_file *f, const char *name,
	   const struct fit_report *fit)
{
	const struct dfu_vendor_prefix *vp = dfu_file_vendor_prefix(f);
	const struct dfu_suffix *s = dfu_file_suffix(f);
	const struct dfuse_prefix *p = dfu_file_dfuse_prefix(f);
	size_t nd = dfu_file_diag_count(f), nerr, nnote;

	count_diags(f, fit, &nerr, &nnote);

	jw_object_begin(j, NULL);
	jw_string(j, "path", name);
	jw_bool(j, "valid", nerr == 0);
	jw_string(j, "format", format_name(dfu_file_format(f)));
	jw_uint(j, "size", dfu_file_size(f));
	if (vp != NULL && vp->kind != DFU_VENDOR_PREFIX_NONE) {
		jw_object_begin(j, "vendor_prefix");
		jw_string(j, "kind", vendor_prefix_name(vp->kind));
		jw_uint(j, "size", vp->size);
		jw_uint(j, "address", vp->address);
		jw_uint(j, "length", vp->length);
		jw_object_end(j);
	} else
		jw_null(j, "vendor_prefix");
	if (s != NULL) {
		jw_object_begin(j, "suffix");
		jw_uint(j, "bcdDevice", s->bcdDevice);
		jw_uint(j, "idProduct", s->idProduct);
		jw_uint(j, "idVendor", s->idVendor);
		jw_uint(j, "bcdDFU", s->bcdDFU);
		jw_uint(j, "bLength", s->bLength);
		jw_uint(j, "dwCRC", s->dwCRC);
		jw_object_end(j);
		jw_object_begin(j, "crc");
		jw_uint(j, "stored", s->dwCRC);
		jw_uint(j, "computed", dfu_file_crc(f));
		jw_bool(j, "match", s->dwCRC == dfu_file_crc(f));
		jw_object_end(j);
	} else {
		jw_null(j, "suffix");
		jw_null(j, "crc");
	}
	if (p != NULL) {
		jw_object_begin(j, "dfuse_prefix");
		jw_uint(j, "bVersion", p->bVersion);
		jw_uint(j, "DFUImageSize", p->DFUImageSize);
		jw_uint(j, "bTargets", p->bTargets);
		jw_object_end(j);
	} else
		jw_null(j, "dfuse_prefix");
	jw_array_begin(j, "targets");
	for (unsigned t = 0; t < dfu_file_target_count(f); t++)
		json_target(j, f, t, fit);
	jw_array_end(j);
	if (dfu_file_format(f) == DFU_FORMAT_PLAIN)
		jw_uint(j, "payload_size", dfu_file_payload_size(f));
	else
		jw_null(j, "payload_size");
	jw_array_begin(j, "diagnostics");
	for (size_t i = 0; i < nd; i++) {
		const struct dfu_diag *d = dfu_file_diag(f, i);

		if (d != NULL)
			json_diag(j, d->severity == DFU_ERROR, d->code,
			    d->offset, d->field, d->message);
	}
	for (size_t i = 0; fit != NULL && i < fit->ndiags; i++)
		json_diag(j, fit->diags[i].error, fit->diags[i].code,
		    fit->diags[i].offset, fit->diags[i].field,
		    fit->diags[i].message);
	jw_array_end(j);
	jw_uint(j, "errors", nerr);
	jw_uint(j, "notes", nnote);
	jw_object_end(j);
}

/*
 * Why cli_open_input() failed, for the JSON report; it has already said
 * so on stderr, in the same words for the usual causes.
 */
static const char *
open_failure(const char *path)
{
	struct stat st;
	int fd;

	if (strcmp(path, "-") == 0)
		return "cannot read standard input";
	if (stat(path, &st) != 0)
		return strerror(errno);
	if (S_ISDIR(st.st_mode))
		return "is a directory";
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return strerror(errno);
	close(fd);
	return "cannot open";
}

static void
json_failure(struct jw *j, const char *name, const char *message)
{
	jw_object_begin(j, NULL);
	jw_string(j, "path", name);
	jw_bool(j, "valid", 0);
	jw_string(j, "error", message);
	jw_object_end(j);
}

/* Read one file and report it; j is NULL for the text report. */
static enum verdict
show_file(const struct options *opt, struct jw *j, const char *path,
	  int first)
{
	const char *name = cli_input_name(path);
	struct fit_report fit = { 0 };
	struct dfu_file *f;
	enum verdict v;
	int fd, rc;

	fd = cli_open_input(path);
	if (fd < 0) {
		if (j != NULL)
			json_failure(j, name, open_failure(path));
		return VERDICT_FAILED;
	}
	f = dfu_file_new();
	if (f == NULL) {
		cli_error(name, "%s", dfu_strerror(DFU_ERR_NOMEM));
		if (j != NULL)
			json_failure(j, name, dfu_strerror(DFU_ERR_NOMEM));
		close(fd);
		return VERDICT_FAILED;
	}
	rc = dfu_file_read_fd(f, fd, 0);
	if (rc != 0 && rc != DFU_ERR_FORMAT) {
		const char *msg = dfu_file_errmsg(f);

		if (msg[0] == '\0')
			msg = dfu_strerror(rc);
		cli_error(name, "%s", msg);
		if (j != NULL)
			json_failure(j, name, msg);
		v = VERDICT_FAILED;
	} else if (fit_check(f, opt->layouts, opt->nlayouts, &fit) != 0) {
		cli_error(name, "%s", fit.errmsg);
		if (j != NULL)
			json_failure(j, name, fit.errmsg);
		v = VERDICT_FAILED;
	} else {
		const struct fit_report *fr = &fit;

		v = rc == 0 && fr->nerrors == 0 ? VERDICT_VALID :
		    VERDICT_INVALID;
		if (j != NULL)
			print_json(j, f, name, fr);
		else if (!opt->quiet) {
			if (!first)
				putchar('\n');
			print_text(f, name, fr);
		} else
			print_errors(f, name, fr);
	}
	fit_report_free(&fit);
	dfu_file_free(f);
	close(fd);
	return v;
}

static int
show_files(const struct options *opt, int argc, char **argv)
{
	struct jw js, *j = NULL;
	int status = CLI_EXIT_OK, shown = 0;

	if (opt->json && !opt->quiet) {
		j = &js;
		jw_init(j, stdout);
		jw_object_begin(j, NULL);
		jw_string(j, "dfuinfo", dfufile_version());
		jw_array_begin(j, "files");
	}
	for (int i = 0; i < argc; i++) {
		enum verdict v = show_file(opt, j, argv[i], shown == 0);

		if (v != VERDICT_FAILED)
			shown++;
		if (v != VERDICT_VALID)
			status = CLI_EXIT_FAIL;
	}
	if (j != NULL) {
		jw_array_end(j);
		jw_object_end(j);
		jw_finish(j);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("stdout", "%s", errno != 0 ? strerror(errno) :
		    "write error");
		status = CLI_EXIT_FAIL;
	}
	return status;
}

/*
 * -L [ALT=]LAYOUT: a layout string for an alternate setting (0 when ALT
 * is not given; a layout starts with '@', so "1=@..." is unambiguous).
 * -L FILE: every layout of the device that `dfuflash -l --json` saved.
 */
static int
add_layout(struct options *opt, const char *arg)
{
	const char *eq = strchr(arg, '=');
	const char *text = arg;
	struct fit_layout *ls;
	uint32_t alt = 0;
	char num[16], err[256];

	if (arg[0] == '\0') {
		cli_error(NULL, "-L '': expected [alt=]layout, or the file "
		    "that dfuflash -l --json writes");
		return -1;
	}

	if (arg[0] != '@' && (eq == NULL || eq[1] != '@')) {
		if (devlist_read_layouts(arg, &opt->layouts, &opt->nlayouts,
		    err, sizeof(err)) != 0) {
			cli_error(arg, "%s", err);
			return -1;
		}
		return 0;
	}
	if (eq != NULL && arg[0] != '@') {
		size_t n = (size_t)(eq - arg);

		if (n == 0 || n >= sizeof(num))
			goto bad_alt;
		memcpy(num, arg, n);
		num[n] = '\0';
		if (cli_arg_u32("-L", arg, num, n, &alt) != 0 || alt > 255)
			goto bad_alt;
		text = eq + 1;
	}
	for (size_t i = 0; i < opt->nlayouts; i++)
		if (opt->layouts[i].alt == alt) {
			cli_error(NULL, "-L %s: a second layout for alt %u",
			    arg, (unsigned)alt);
			return -1;
		}
	ls = realloc(opt->layouts, (opt->nlayouts + 1) * sizeof(*ls));
	if (ls == NULL) {
		cli_error(NULL, "%s", dfu_strerror(DFU_ERR_NOMEM));
		return -1;
	}
	opt->layouts = ls;
	ls = &ls[opt->nlayouts];
	ls->alt = alt;
	if ((ls->layout = dfu_layout_new()) == NULL) {
		cli_error(NULL, "%s", dfu_strerror(DFU_ERR_NOMEM));
		return -1;
	}
	opt->nlayouts++;
	if (dfu_layout_parse(ls->layout, text) != 0) {
		cli_error(NULL, "-L %s: layout %s", arg,
		    dfu_layout_errmsg(ls->layout));
		return -1;
	}
	return 0;
bad_alt:
	cli_error(NULL, "-L %s: expected [alt=]layout, alt from 0 to 255",
	    arg);
	return -1;
}

static void
free_layouts(struct options *opt)
{
	for (size_t i = 0; i < opt->nlayouts; i++)
		dfu_layout_free(opt->layouts[i].layout);
	free(opt->layouts);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "layout", required_argument, NULL, 'L' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct options opt = { 0 };
	int ch, status;

	cli_init(argv[0]);
	status = -1;
	opterr = 0;
	while (status < 0 && (ch = getopt_long(argc, argv, ":hjL:qV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			status = CLI_EXIT_OK;
			break;
		case 'j':
			opt.json = 1;
			break;
		case 'L':
			if (add_layout(&opt, optarg) != 0)
				status = CLI_EXIT_USAGE;
			break;
		case 'q':
			opt.quiet = 1;
			break;
		case 'V':
			printf("dfuinfo %s\n", dfufile_version());
			status = CLI_EXIT_OK;
			break;
		default:
			free_layouts(&opt);
			cli_option_error(longopts, usage_text, ch, argv);
		}
	}
	if (status < 0 && optind == argc) {
		cli_error(NULL, "no input file");
		usage(stderr);
		status = CLI_EXIT_USAGE;
	}
	/* A pipe is empty once read: the second "-" would be "0 bytes". */
	for (int i = optind, seen = 0; status < 0 && i < argc; i++)
		if (strcmp(argv[i], "-") == 0 && seen++) {
			cli_error(NULL, "-: standard input can be read only "
			    "once");
			status = CLI_EXIT_USAGE;
		}
	if (status < 0) {
		status = show_files(&opt, argc - optind, argv + optind);
	}
	free_layouts(&opt);
	return status;
}
