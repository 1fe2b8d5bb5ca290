/*
 * list.c - dfuflash -l (list.h).
 */
#include <stdio.h>
#include <string.h>

#include "dfulayout.h"
#include "dfuproto.h"
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

void
dfl_json_str(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static const char *
tf(int v)
{
	return v ? "true" : "false";
}

static void
json_layout(FILE *f, struct dfu_layout *l, const char *name)
{
	if (name == NULL || name[0] != '@' || dfu_layout_parse(l, name) != 0) {
		fputs("null", f);
		return;
	}
	fputs("{\"name\":", f);
	dfl_json_str(f, dfu_layout_name(l));
	fputs(",\"regions\":[", f);
	for (unsigned r = 0; r < dfu_layout_region_count(l); r++) {
		const struct dfu_layout_region *g = dfu_layout_region(l, r);

		fprintf(f, "%s{\"address\":%u,\"pages\":%u,\"page_size\":%u,"
		    "\"readable\":%s,\"erasable\":%s,\"writable\":%s}",
		    r > 0 ? "," : "", g->start, g->count, g->page_size,
		    tf(g->access & DFU_LAYOUT_READABLE),
		    tf(g->access & DFU_LAYOUT_ERASABLE),
		    tf(g->access & DFU_LAYOUT_WRITABLE));
	}
	fputs("]}", f);
}

static void
json_device(FILE *f, const struct dfl_usb_info *in, struct dfu_layout *l)
{
	char notes[2][320], fixed[512], note[768];
	unsigned nq;

	fprintf(f, "{\"path\":");
	dfl_json_str(f, in->path);
	fprintf(f, ",\"vid\":%u,\"pid\":%u,\"serial\":", in->vid, in->pid);
	dfl_json_str(f, in->serial);
	fputs(",\"serial_utf16\":", f);
	dfl_json_str(f, in->serial_utf16);
	fprintf(f, ",\"bcdDevice\":%u,\"mode\":\"%s\"", in->bcdDevice,
	    in->protocol == DFL_PROTOCOL_DFU ? "dfu" : "runtime");
	if (in->has_func)
		fprintf(f, ",\"dfu_version\":%u,\"transfer_size\":%u,"
		    "\"detach_timeout\":%u,\"attributes\":{\"can_download\":%s,"
		    "\"can_upload\":%s,\"manifestation_tolerant\":%s,"
		    "\"will_detach\":%s}", in->func.bcdDFUVersion,
		    in->func.wTransferSize, in->func.wDetachTimeOut,
		    tf(in->func.bmAttributes & DFU_ATTR_CAN_DNLOAD),
		    tf(in->func.bmAttributes & DFU_ATTR_CAN_UPLOAD),
		    tf(in->func.bmAttributes & DFU_ATTR_MANIFESTATION_TOLERANT),
		    tf(in->func.bmAttributes & DFU_ATTR_WILL_DETACH));
	else {
		fputs(",\"dfu_version\":null,\"transfer_size\":null,"
		    "\"detach_timeout\":null,\"attributes\":null,"
		    "\"descriptor_error\":", f);
		dfl_json_str(f, in->func_error);
	}
	fprintf(f, ",\"access\":%s,\"quirks\":[", tf(in->access));
	nq = device_notes(in, notes);
	for (unsigned i = 0; i < nq; i++) {
		if (i > 0)
			fputc(',', f);
		dfl_json_str(f, notes[i]);
	}
	fputs("],\"alts\":[", f);
	for (unsigned a = 0; a < in->nalts; a++) {
		const char *name = quirk_layout(in, a, fixed, sizeof(fixed),
		    note, sizeof(note));

		fprintf(f, "%s{\"alt\":%u,\"name\":", a > 0 ? "," : "",
		    in->alts[a].alt);
		dfl_json_str(f, in->alts[a].name);
		fputs(",\"quirk\":", f);
		dfl_json_str(f, note[0] != '\0' ? note : NULL);
		/* The string a download plans with (dfuinfo -L reads it). */
		fputs(",\"layout_string\":", f);
		dfl_json_str(f, name);
		fputs(",\"layout\":", f);
		json_layout(f, l, name);
		fputc('}', f);
	}
	fputs("]}", f);
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
	}
}

int
dfl_list_print_infos(FILE *f, const struct dfl_usb_info *in, size_t n,
		     const struct dfl_match *m, int json, size_t *shown)
{
	struct dfu_layout *l = dfu_layout_new();

	*shown = 0;
	if (l == NULL)
		return -1;
	if (json)
		fputs("{\"devices\":[", f);
	for (size_t i = 0; i < n; i++) {
		struct dfl_candidate c;

		dfl_usb_candidate(&in[i], &c);
		if (!dfl_match(m, &c))
			continue;
		if (json) {
			if (*shown > 0)
				fputc(',', f);
			json_device(f, &in[i], l);
		} else
			text_device(f, &in[i], l);
		(*shown)++;
	}
	if (json)
		fputs("]}\n", f);
	dfu_layout_free(l);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
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
