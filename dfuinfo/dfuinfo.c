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
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dfufile.h"
#include "devlist.h"
#include "fit.h"
#include "json_text.h"
#include "jsonout.h"
#include "utf8.h"

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

/*
 * Facts of a file that the library words as notes, shown in the report
 * and not among its findings, so that a file bin2dfu writes with its
 * defaults is valid without notes (issue 16): an ID of 0xffff, which
 * matches any device, and a DFUImageSize without the suffix, the form
 * fwupd and mboot require.  The other form of DFUImageSize stays a note:
 * those refuse it.
 */
static int
is_fact(const struct dfu_diag *d)
{
	return strcmp(d->code, "wildcard-id") == 0 ||
	    strcmp(d->code, "image-size-excludes-suffix") == 0;
}

/* What DFUImageSize counts: "without_suffix", "with_suffix" or NULL. */
static const char *
image_size_convention(const struct dfu_file *f)
{
	const struct dfuse_prefix *p = dfu_file_dfuse_prefix(f);
	const struct dfu_suffix *s = dfu_file_suffix(f);
	uint64_t size = dfu_file_size(f);

	if (p == NULL || s == NULL)
		return NULL;
	if (size >= s->bLength && p->DFUImageSize == size - s->bLength)
		return "without_suffix";
	if (p->DFUImageSize == size)
		return "with_suffix";
	return NULL;
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

/* An ID of 0xffff matches any device (DFU 1.1, table 4.1). */
static const char *
wildcard(uint16_t id)
{
	return id == DFU_ID_ANY ? " (wildcard)" : "";
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
	*nnote = 0;
	for (size_t i = 0; i < dfu_file_diag_count(f); i++) {
		const struct dfu_diag *d = dfu_file_diag(f, i);

		if (d != NULL && d->severity != DFU_ERROR && !is_fact(d))
			(*nnote)++;
	}
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
		printf("  suffix:    idVendor 0x%04x%s  idProduct 0x%04x%s  "
		    "bcdDevice 0x%04x%s  bcdDFU 0x%04x  bLength %u\n",
		    s->idVendor, wildcard(s->idVendor), s->idProduct,
		    wildcard(s->idProduct), s->bcdDevice,
		    wildcard(s->bcdDevice), s->bcdDFU, s->bLength);
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

		if (d != NULL && !is_fact(d))
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

/* ---- the JSON report (schemas/dfuinfo-report.schema.json) ---------- */

#define REPORT_SCHEMA "dfutools/dfuinfo-report/1"

/* Building a member: 0, or -1 once any value could not be made. */
static int
put(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value) != 0 ? -1 : 0;
}

static json_t *
jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* The bytes of a name that is not UTF-8, in hexadecimal; else null. */
static json_t *
jhex_if_not_utf8(const char *s)
{
	size_t n = strlen(s);
	char hex[2 * DFUSE_TARGET_NAME_SIZE + 1];

	if (utf8_valid(s, n) || n >= DFUSE_TARGET_NAME_SIZE)
		return json_null();
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)s[i]);
	hex[2 * n] = '\0';
	return json_string(hex);
}

static json_t *
json_element(const struct dfu_element *e, unsigned index)
{
	json_t *o = json_object();
	int rc;

	if (o == NULL)
		return NULL;
	rc = put(o, "index", jint(index));
	rc |= put(o, "address", jint(e->address));
	rc |= put(o, "size", jint(e->size));
	rc |= put(o, "end", e->size > 0 ?
	    jint((uint64_t)e->address + e->size - 1) : json_null());
	rc |= put(o, "offset", jint(e->offset));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_fit(const struct fit_report *fit, unsigned t)
{
	const struct fit_target *ft;
	int full, with, rc;
	json_t *o;

	if (fit == NULL || t >= fit->ntargets || !fit->targets[t].checked)
		return json_null();
	ft = &fit->targets[t];
	with = ft->fits && ft->first != t;
	full = ft->fits && !with && ft->alt_fits;
	if ((o = json_object()) == NULL)
		return NULL;
	rc = put(o, "name", json_text(ft->name));
	rc |= put(o, "fits", json_boolean(ft->fits));
	rc |= put(o, "counted_with_target", with ? jint(ft->first) :
	    json_null());
	rc |= put(o, "pages_erased", full ? jint(ft->pages_erased) :
	    json_null());
	rc |= put(o, "bytes_erased", full ? jint(ft->bytes_erased) :
	    json_null());
	rc |= put(o, "bytes_outside", full ? jint(ft->bytes_outside) :
	    json_null());
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
json_diag(json_t *list, int error, const char *code, uint64_t offset,
	  const char *field, const char *message)
{
	json_t *o = json_object();
	int rc;

	if (o == NULL)
		return -1;
	rc = put(o, "severity", json_string(error ? "error" : "note"));
	rc |= put(o, "code", json_text(code));
	rc |= put(o, "offset", jint(offset));
	rc |= put(o, "field", field != NULL && field[0] != '\0' ?
	    json_text(field) : json_null());
	rc |= put(o, "message", json_text(message != NULL ? message : ""));
	if (json_array_append_new(list, o) != 0)
		return -1;
	return rc;
}

/* A target, its "elements" left empty for fill_elements(). */
static json_t *
json_target(const struct dfu_file *f, unsigned t,
	    const struct fit_report *fit)
{
	const struct dfuse_target *tg = dfu_file_target(f, t);
	int unnamed = tg->bTargetNamed == 0 && tg->szTargetName[0] == '\0';
	json_t *o = json_object();
	int rc;

	if (o == NULL)
		return NULL;
	rc = put(o, "index", jint(t));
	rc |= put(o, "alt", jint(tg->bAlternateSetting));
	rc |= put(o, "named", jint(tg->bTargetNamed));
	rc |= put(o, "name", unnamed ? json_null() : json_text(tg->szTargetName));
	rc |= put(o, "name_hex", jhex_if_not_utf8(tg->szTargetName));
	rc |= put(o, "offset", jint(tg->offset));
	rc |= put(o, "size", jint(tg->dwTargetSize));
	rc |= put(o, "declared_elements", jint(tg->dwNbElements));
	rc |= put(o, "elements", json_array());
	rc |= put(o, "layout", json_fit(fit, t));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Which of vendor_id, product_id and device_version are 0xffff, which
 * matches any device (DFU 1.1, table 4.1 of the suffix). */
static json_t *
json_wildcards(const struct dfu_suffix *s)
{
	json_t *a = json_array();
	int rc = 0;

	if (a == NULL)
		return NULL;
	if (s->idVendor == DFU_ID_ANY)
		rc |= json_array_append_new(a, json_string("vendor_id"));
	if (s->idProduct == DFU_ID_ANY)
		rc |= json_array_append_new(a, json_string("product_id"));
	if (s->bcdDevice == DFU_ID_ANY)
		rc |= json_array_append_new(a, json_string("device_version"));
	if (rc != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
json_suffix(const struct dfu_suffix *s)
{
	json_t *o = json_object();
	int rc;

	if (o == NULL)
		return NULL;
	rc = put(o, "vendor_id", jint(s->idVendor));
	rc |= put(o, "product_id", jint(s->idProduct));
	rc |= put(o, "device_version", jint(s->bcdDevice));
	rc |= put(o, "dfu_version", jint(s->bcdDFU));
	rc |= put(o, "length", jint(s->bLength));
	rc |= put(o, "wildcards", json_wildcards(s));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_crc(const struct dfu_file *f, const struct dfu_suffix *s)
{
	json_t *o = json_object();
	int rc;

	if (o == NULL)
		return NULL;
	rc = put(o, "stored", jint(s->dwCRC));
	rc |= put(o, "computed", jint(dfu_file_crc(f)));
	rc |= put(o, "match", json_boolean(s->dwCRC == dfu_file_crc(f)));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_dfuse_prefix(const struct dfu_file *f, const struct dfuse_prefix *p)
{
	const char *conv = image_size_convention(f);
	json_t *o = json_object();
	int rc;

	if (o == NULL)
		return NULL;
	rc = put(o, "version", jint(p->bVersion));
	rc |= put(o, "image_size", jint(p->DFUImageSize));
	rc |= put(o, "image_size_convention", conv != NULL ?
	    json_string(conv) : json_null());
	rc |= put(o, "targets", jint(p->bTargets));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_vendor_prefix(const struct dfu_vendor_prefix *vp)
{
	json_t *o;
	int rc;

	if (vp == NULL || vp->kind == DFU_VENDOR_PREFIX_NONE)
		return json_null();
	if ((o = json_object()) == NULL)
		return NULL;
	rc = put(o, "kind", json_string(vendor_prefix_name(vp->kind)));
	rc |= put(o, "size", jint(vp->size));
	rc |= put(o, "address", jint(vp->address));
	rc |= put(o, "length", jint(vp->length));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_diags(const struct dfu_file *f, const struct fit_report *fit)
{
	size_t nd = dfu_file_diag_count(f);
	json_t *a = json_array();
	int rc = 0;

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < nd; i++) {
		const struct dfu_diag *d = dfu_file_diag(f, i);

		if (d != NULL && !is_fact(d))
			rc |= json_diag(a, d->severity == DFU_ERROR, d->code,
			    d->offset, d->field, d->message);
	}
	for (size_t i = 0; fit != NULL && i < fit->ndiags; i++)
		rc |= json_diag(a, fit->diags[i].error, fit->diags[i].code,
		    fit->diags[i].offset, fit->diags[i].field,
		    fit->diags[i].message);
	if (rc != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/*
 * One file's report; every member is there, null when the file has no
 * such part (a file that could not be read: all but path and error).
 */
static json_t *
json_file(const struct dfu_file *f, const char *name,
	  const struct fit_report *fit, const char *error)
{
	const struct dfu_suffix *s = f != NULL ? dfu_file_suffix(f) : NULL;
	const struct dfuse_prefix *p = f != NULL ?
	    dfu_file_dfuse_prefix(f) : NULL;
	json_t *o = json_object(), *targets = json_array();
	size_t nerr = 0, nnote = 0;
	int rc;

	if (f != NULL)
		count_diags(f, fit, &nerr, &nnote);
	for (unsigned t = 0; f != NULL && t < dfu_file_target_count(f); t++)
		if (targets != NULL && json_array_append_new(targets,
		    json_target(f, t, fit)) != 0) {
			json_decref(targets);
			targets = NULL;
		}
	if (o == NULL) {
		json_decref(targets);
		return NULL;
	}
	rc = put(o, "path", json_text(name));
	rc |= put(o, "valid", json_boolean(f != NULL && nerr == 0));
	rc |= put(o, "error", json_text(error));
	rc |= put(o, "format", f != NULL ?
	    json_string(format_name(dfu_file_format(f))) : json_null());
	rc |= put(o, "size", f != NULL ? jint(dfu_file_size(f)) :
	    json_null());
	rc |= put(o, "vendor_prefix", f != NULL ?
	    json_vendor_prefix(dfu_file_vendor_prefix(f)) : json_null());
	rc |= put(o, "suffix", s != NULL ? json_suffix(s) : json_null());
	rc |= put(o, "crc", s != NULL ? json_crc(f, s) : json_null());
	rc |= put(o, "dfuse_prefix", p != NULL ? json_dfuse_prefix(f, p) :
	    json_null());
	rc |= put(o, "targets", targets);
	rc |= put(o, "payload_size", f != NULL &&
	    dfu_file_format(f) == DFU_FORMAT_PLAIN ?
	    jint(dfu_file_payload_size(f)) : json_null());
	rc |= put(o, "diagnostics", f != NULL ? json_diags(f, fit) :
	    json_array());
	rc |= put(o, "errors", f != NULL ? jint(nerr) : json_null());
	rc |= put(o, "notes", f != NULL ? jint(nnote) : json_null());
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The elements of the nth target of the file, one at a time. */
static int
fill_elements(void *ctx, size_t nth, struct jo_array *a)
{
	const struct dfu_file *f = ctx;
	unsigned t = (unsigned)nth;

	for (unsigned i = 0; i < dfu_file_element_count(f, t); i++) {
		const struct dfu_element *e = dfu_file_element(f, t, i);

		if (e != NULL && jo_item(a, json_element(e, i)) != 0)
			return -1;
	}
	return 0;
}

/* The next item of the "files" array: one file's report. */
static int
print_json(struct jo_array *files, const struct dfu_file *f,
	   const char *name, const struct fit_report *fit, const char *error)
{
	json_t *o = json_file(f, name, fit, error);
	int rc;

	if (o == NULL) {
		cli_error(name, "%s", dfu_strerror(DFU_ERR_NOMEM));
		return -1;
	}
	jo_begin(files);
	rc = jo_dump(files->fp, o, files->indent, "elements", fill_elements,
	    (void *)f);
	json_decref(o);
	if (rc != 0)
		cli_error(name, "%s", dfu_strerror(DFU_ERR_NOMEM));
	return rc;
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

/* Read one file and report it; j is NULL for the text report. */
static enum verdict
show_file(const struct options *opt, struct jo_array *j, const char *path,
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
			print_json(j, NULL, name, NULL, open_failure(path));
		return VERDICT_FAILED;
	}
	f = dfu_file_new();
	if (f == NULL) {
		cli_error(name, "%s", dfu_strerror(DFU_ERR_NOMEM));
		if (j != NULL)
			print_json(j, NULL, name, NULL,
			    dfu_strerror(DFU_ERR_NOMEM));
		close(fd);
		return VERDICT_FAILED;
	}
	/* Mapped, so that the CRC reads the page cache in place; a file
	 * truncated meanwhile ends the run with a message (cli.h). */
	cli_map_guard(name);
	rc = dfu_file_read_fd(f, fd, DFU_READ_MAP);
	cli_map_guard(NULL);
	if (rc != 0 && rc != DFU_ERR_FORMAT) {
		const char *msg = dfu_file_errmsg(f);

		if (msg[0] == '\0')
			msg = dfu_strerror(rc);
		cli_error(name, "%s", msg);
		if (j != NULL)
			print_json(j, NULL, name, NULL, msg);
		v = VERDICT_FAILED;
	} else if (fit_check(f, opt->layouts, opt->nlayouts, &fit) != 0) {
		cli_error(name, "%s", fit.errmsg);
		if (j != NULL)
			print_json(j, NULL, name, NULL, fit.errmsg);
		v = VERDICT_FAILED;
	} else {
		const struct fit_report *fr = &fit;

		v = rc == 0 && fr->nerrors == 0 ? VERDICT_VALID :
		    VERDICT_INVALID;
		if (j != NULL) {
			if (print_json(j, f, name, fr, NULL) != 0)
				v = VERDICT_FAILED;
		} else if (!opt->quiet) {
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

struct run {
	const struct options *opt;
	int argc;
	char **argv;
	int status;
};

static int
show_all(void *ctx, size_t nth, struct jo_array *j)
{
	struct run *r = ctx;
	int shown = 0;

	(void)nth;
	for (int i = 0; i < r->argc; i++) {
		enum verdict v = show_file(r->opt, j, r->argv[i], shown == 0);

		if (v != VERDICT_FAILED)
			shown++;
		if (v != VERDICT_VALID)
			r->status = CLI_EXIT_FAIL;
	}
	return 0;
}

/* -j: {"schema": ..., "dfuinfo_version": ..., "files": [...]}, the files
 * written as they are read. */
static void
show_json(struct run *r)
{
	json_t *top = json_object();

	if (top == NULL || put(top, "schema", json_string(REPORT_SCHEMA)) ||
	    put(top, "dfuinfo_version", json_string(dfufile_version())) ||
	    put(top, "files", json_array()) ||
	    jo_dump(stdout, top, 0, "files", show_all, r) != 0) {
		cli_error(NULL, "%s", dfu_strerror(DFU_ERR_NOMEM));
		r->status = CLI_EXIT_FAIL;
	}
	putchar('\n');
	json_decref(top);
}

static int
show_files(const struct options *opt, int argc, char **argv)
{
	struct run r = { opt, argc, argv, CLI_EXIT_OK };

	if (opt->json && !opt->quiet)
		show_json(&r);
	else
		show_all(&r, 0, NULL);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("stdout", "%s", errno != 0 ? strerror(errno) :
		    "write error");
		r.status = CLI_EXIT_FAIL;
	}
	return r.status;
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
