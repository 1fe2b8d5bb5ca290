/*
 * list.c - dfuflash -l (list.h).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfulayout.h"
#include "dfuproto.h"
#include "events.h"
#include "list.h"
#include "quirks.h"

/* What the quirk table keys on, from the listing (names may be NULL). */
static void
quirk_device(struct dfl_device *d, const struct dfl_usb_info *in)
{
	memset(d, 0, sizeof(*d));
	d->idVendor = in->vid;
	d->idProduct = in->pid;
	d->bcdDevice = in->bcdDevice;
	d->alts = in->alts;
	d->nalts = in->nalts;
	d->serial = in->serial;
}

/*
 * The layout string of alt a to show: its name, or the quirk table's
 * correction in fixed (with the note); NULL when the table refuses it.
 */
static const char *
quirk_layout(const struct dfl_usb_info *in, unsigned a, char *fixed,
    size_t fixedlen, char *note, size_t notelen)
{
	struct dfl_device d;
	int rc;

	quirk_device(&d, in);
	rc = dfl_quirk_layout(&d, in->alts[a].alt, in->alts[a].name, fixed,
	    fixedlen, note, notelen);
	return rc < 0 ? NULL : rc > 0 ? fixed : in->alts[a].name;
}

/* The device-wide notes: the serial's encoding, the write unit. */
static unsigned
device_notes(const struct dfl_usb_info *in, char notes[2][320])
{
	struct dfl_device d;
	unsigned n = 0;

	if (in->serial_utf16 != NULL && in->serial != NULL)
		snprintf(notes[n++], 320, "serial sent as UTF-8, not UTF-16 "
		    "(USB 2.0 9.6.7): \"%s\", which read as UTF-16 is "
		    "\"%s\"; -S takes either", in->serial, in->serial_utf16);
	quirk_device(&d, in);
	if (in->protocol == DFL_PROTOCOL_DFU &&
	    dfl_quirk_write_unit(&d, notes[n], 320) !=
	    DFL_QUIRK_DEFAULT_UNIT)
		n++;
	return n;
}

/* ---- -l --json: schemas/device-list.schema.json -------------------- */

/* A member of a device's object; 0, or -1 once a value could not be made
 * (out of memory). */
static int
put(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value) != 0 ? -1 : 0;
}

/* The parser's notes on the string it read (dfulayout.h): how a quirk of
 * a real bootloader was read. */
static json_t *
json_layout_notes(const struct dfu_layout *l)
{
	json_t *a = json_array();

	for (unsigned k = 0; a != NULL && k < dfu_layout_note_count(l); k++) {
		const struct dfu_layout_note *n = dfu_layout_note(l, k);
		json_t *o = json_object();

		if (o == NULL || json_array_append_new(a, o) != 0 ||
		    put(o, "code", json_string(n->code)) != 0 ||
		    put(o, "offset", json_integer((json_int_t)n->offset)) != 0 ||
		    put(o, "message", json_text(n->message)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
json_layout(struct dfu_layout *l, const char *name)
{
	json_t *o, *regions;
	int rc;

	if (name == NULL || name[0] != '@' || dfu_layout_parse(l, name) != 0)
		return json_null();
	if ((o = json_object()) == NULL)
		return NULL;
	rc = put(o, "name", json_text(dfu_layout_name(l)));
	rc |= put(o, "notes", json_layout_notes(l));
	rc |= put(o, "regions", regions = json_array());
	for (unsigned r = 0; rc == 0 && r < dfu_layout_region_count(l); r++) {
		const struct dfu_layout_region *g = dfu_layout_region(l, r);
		json_t *jg = json_object();

		if (jg == NULL || json_array_append_new(regions, jg) != 0) {
			rc = -1;
			break;
		}
		rc |= put(jg, "address", json_integer(g->start));
		rc |= put(jg, "pages", json_integer(g->count));
		rc |= put(jg, "page_size", json_integer(g->page_size));
		rc |= put(jg, "readable",
		    json_boolean(g->access & DFU_LAYOUT_READABLE));
		rc |= put(jg, "erasable",
		    json_boolean(g->access & DFU_LAYOUT_ERASABLE));
		rc |= put(jg, "writable",
		    json_boolean(g->access & DFU_LAYOUT_WRITABLE));
	}
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_attributes(const struct dfl_usb_info *in)
{
	unsigned a = in->func.bmAttributes;
	json_t *o;
	int rc;

	if (!in->has_func)
		return json_null();
	if ((o = json_object()) == NULL)
		return NULL;
	rc = put(o, "can_download", json_boolean(a & DFU_ATTR_CAN_DNLOAD));
	rc |= put(o, "can_upload", json_boolean(a & DFU_ATTR_CAN_UPLOAD));
	rc |= put(o, "manifestation_tolerant",
	    json_boolean(a & DFU_ATTR_MANIFESTATION_TOLERANT));
	rc |= put(o, "will_detach", json_boolean(a & DFU_ATTR_WILL_DETACH));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_alt(const struct dfl_usb_info *in, unsigned a, struct dfu_layout *l)
{
	char fixed[512], note[768];
	const char *name = quirk_layout(in, a, fixed, sizeof(fixed), note,
	    sizeof(note));
	json_t *o = json_object();
	int rc;

	if (o == NULL)
		return NULL;
	rc = put(o, "alt", json_integer(in->alts[a].alt));
	rc |= put(o, "name", json_text(in->alts[a].name));
	rc |= put(o, "quirk", json_text(note[0] != '\0' ? note : NULL));
	/* The string a download plans with (dfuinfo -L reads it). */
	rc |= put(o, "layout_string", json_text(name));
	rc |= put(o, "layout", json_layout(l, name));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * One device of the list, from its description alone (no libusb type:
 * a modelled device is described the same way).  NULL when out of
 * memory.
 */
static json_t *
json_device(const struct dfl_usb_info *in, struct dfu_layout *l)
{
	char notes[2][320];
	json_t *o = json_object(), *quirks, *alts;
	unsigned nq;
	int f = in->has_func, rc;

	if (o == NULL)
		return NULL;
	rc = put(o, "path", json_text(in->path));
	rc |= put(o, "vendor_id", json_integer(in->vid));
	rc |= put(o, "product_id", json_integer(in->pid));
	rc |= put(o, "serial", json_text(in->serial));
	rc |= put(o, "serial_utf16", json_text(in->serial_utf16));
	rc |= put(o, "device_version", json_integer(in->bcdDevice));
	rc |= put(o, "mode", json_string(in->protocol == DFL_PROTOCOL_DFU ?
	    "dfu" : "runtime"));
	rc |= put(o, "dfu_version", f ?
	    json_integer(in->func.bcdDFUVersion) : json_null());
	rc |= put(o, "transfer_size", f ?
	    json_integer(in->func.wTransferSize) : json_null());
	rc |= put(o, "detach_timeout_ms", f ?
	    json_integer(in->func.wDetachTimeOut) : json_null());
	rc |= put(o, "attributes", json_attributes(in));
	rc |= put(o, "descriptor_error", f ? json_null() :
	    json_text(in->func_error));
	rc |= put(o, "access", json_boolean(in->access));
	rc |= put(o, "quirks", quirks = json_array());
	nq = device_notes(in, notes);
	for (unsigned i = 0; rc == 0 && i < nq; i++)
		rc |= json_array_append_new(quirks, json_text(notes[i]));
	rc |= put(o, "alts", alts = json_array());
	for (unsigned a = 0; rc == 0 && a < in->nalts; a++)
		rc |= json_array_append_new(alts, json_alt(in, a, l));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
text_device(FILE *f, const struct dfl_usb_info *in, struct dfu_layout *l)
{
	char notes[2][320], fixed[512], note[768];
	unsigned nq;

	fprintf(f, "%s %04x:%04x serial %s%s%s bcdDevice %04x, %s mode", in->path,
	    in->vid, in->pid, in->serial != NULL ? "\"" : "",
	    in->serial != NULL ? in->serial : in->access ? "(none)" :
	    "(no access)", in->serial != NULL ? "\"" : "", in->bcdDevice,
	    in->protocol == DFL_PROTOCOL_DFU ? "DFU" : "run-time");
	if (in->has_func) {
		unsigned a = in->func.bmAttributes;

		fprintf(f, ", DFU %x.%02x%s, transfer size %u, detach timeout "
		    "%u ms, attributes 0x%02x:%s%s%s%s", in->func.bcdDFUVersion
		    >> 8, in->func.bcdDFUVersion & 0xff,
		    in->func.bcdDFUVersion == 0x011a ? " (DfuSe)" : "",
		    in->func.wTransferSize, in->func.wDetachTimeOut, a,
		    a & DFU_ATTR_CAN_DNLOAD ? " can-download" : "",
		    a & DFU_ATTR_CAN_UPLOAD ? " can-upload" : "",
		    a & DFU_ATTR_MANIFESTATION_TOLERANT ?
		    " manifestation-tolerant" : "",
		    a & DFU_ATTR_WILL_DETACH ? " will-detach" : "");
	} else
		fprintf(f, ", %s", in->func_error);
	fputc('\n', f);
	if (!in->access)
		fprintf(f, "  permission denied: serial and alt names need "
		    "access (see PERMISSIONS in dfuflash(1))\n");
	nq = device_notes(in, notes);
	for (unsigned i = 0; i < nq; i++)
		fprintf(f, "  quirk: %s\n", notes[i]);
	for (unsigned a = 0; a < in->nalts; a++) {
		const char *name = quirk_layout(in, a, fixed, sizeof(fixed),
		    note, sizeof(note));

		fprintf(f, "  alt %u", in->alts[a].alt);
		if (in->alts[a].name != NULL)
			fprintf(f, " \"%s\"", in->alts[a].name);
		fputc('\n', f);
		if (note[0] != '\0')
			fprintf(f, "    quirk: %s\n", note);
		if (name == NULL || name[0] != '@' ||
		    dfu_layout_parse(l, name) != 0)
			continue;
		for (unsigned r = 0; r < dfu_layout_region_count(l); r++) {
			const struct dfu_layout_region *g =
			    dfu_layout_region(l, r);

			fprintf(f, "    0x%08x-0x%08llx %u x %u bytes, %s\n",
			    g->start, (unsigned long long)(g->end - 1),
			    g->count, g->page_size,
			    dfu_layout_access_name(g->access));
		}
		for (unsigned k = 0; k < dfu_layout_note_count(l); k++) {
			const struct dfu_layout_note *n = dfu_layout_note(l, k);

			fprintf(f, "    note: offset %zu: %s (%s)\n", n->offset,
			    n->message, n->code);
		}
	}
}

int
dfl_list_print_infos(FILE *f, const struct dfl_usb_info *in, size_t n,
		     const struct dfl_match *m, int json, size_t *shown)
{
	struct dfu_layout *l = dfu_layout_new();
	json_t *doc = NULL, *devices = NULL;
	int rc = 0;

	*shown = 0;
	if (l == NULL)
		return -1;
	if (json && ((doc = json_object()) == NULL ||
	    put(doc, "schema", json_string(DFL_LIST_SCHEMA)) != 0 ||
	    put(doc, "devices", devices = json_array()) != 0))
		rc = -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct dfl_candidate c;

		dfl_usb_candidate(&in[i], &c);
		if (!dfl_match(m, &c))
			continue;
		if (!json)
			text_device(f, &in[i], l);
		else if (json_array_append_new(devices, json_device(&in[i], l)))
			rc = -1;
		(*shown)++;
	}
	if (json && rc == 0 && (json_dumpf(doc, f, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER) != 0 || fputc('\n', f) == EOF))
		rc = -1;
	json_decref(doc);
	dfu_layout_free(l);
	if (fflush(f) != 0 || ferror(f))
		rc = -1;
	return rc;
}

/* The scan's devices are one array (usb.h). */
int
dfl_list_print(FILE *f, const struct dfl_usb *u, const struct dfl_match *m,
	       int json, size_t *shown)
{
	size_t n = dfl_usb_count(u);

	return dfl_list_print_infos(f, n > 0 ? dfl_usb_info(u, 0) : NULL, n, m,
	    json, shown);
}
