/*
 * devlist.c - read the layouts of a device from `dfuflash -l --json`.
 *
 * The list is {"schema": "dfutools/device-list/1", "devices": [{"path":
 * ..., "alts": [{"alt": N, "name": S, ...}]}]}
 * (schemas/device-list.schema.json).  The list of the earlier release has
 * no "schema" (and other names for the IDs); only "devices", "alt",
 * "name" and "layout_string" are used here, which both have.
 * "layout_string" is the layout dfuflash plans with, which its quirk
 * table may have corrected (the GD32VF103 reports a wrong one); a list
 * without it (an older dfuflash) gives the name.
 */
#define _GNU_SOURCE /* fopen "e" */

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devlist.h"

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
add(struct fit_layout **layouts, size_t *n, unsigned alt, const char *text,
    char *err, size_t errlen)
{
	struct fit_layout *ls;

	for (size_t i = 0; i < *n; i++)
		if ((*layouts)[i].alt == alt)
			return fail(err, errlen, "a second layout for alt %u",
			    alt);
	ls = realloc(*layouts, (*n + 1) * sizeof(*ls));
	if (ls == NULL)
		return fail(err, errlen, "out of memory");
	*layouts = ls;
	ls[*n].alt = alt;
	if ((ls[*n].layout = dfu_layout_new()) == NULL)
		return fail(err, errlen, "out of memory");
	(*n)++;
	if (dfu_layout_parse(ls[*n - 1].layout, text) != 0)
		return fail(err, errlen, "alt %u: layout %s", alt,
		    dfu_layout_errmsg(ls[*n - 1].layout));
	return 0;
}

int
devlist_read_layouts(const char *path, struct fit_layout **layouts,
		     size_t *nlayouts, char *err, size_t errlen)
{
	static const char what[] = "not a device list of dfuflash -l --json";
	json_error_t jerr;
	json_t *root, *ver, *devs, *alts, *a;
	FILE *fp;
	size_t i, found = 0;
	int rc = -1;

	if ((fp = fopen(path, "re")) == NULL)
		return fail(err, errlen, "%s", strerror(errno));
	root = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
	(void)fclose(fp); /* read only: nothing to lose */
	if (root == NULL)
		return fail(err, errlen, "line %d, column %d: %s", jerr.line,
		    jerr.column, jerr.text);
	if (!json_is_object(root)) {
		fail(err, errlen, "%s: not a JSON object", what);
		goto out;
	}
	ver = json_object_get(root, "schema");
	if (ver != NULL && (!json_is_string(ver) ||
	    strcmp(json_string_value(ver), "dfutools/device-list/1") != 0)) {
		fail(err, errlen, "%s: \"schema\" is not "
		    "\"dfutools/device-list/1\"", what);
		goto out;
	}
	devs = json_object_get(root, "devices");
	if (!json_is_array(devs)) {
		fail(err, errlen, "%s: no \"devices\" array", what);
		goto out;
	}
	if (json_array_size(devs) != 1) {
		fail(err, errlen, "%zu devices in the list: -L needs the list "
		    "of one (dfuflash -l --json -S SERIAL)",
		    json_array_size(devs));
		goto out;
	}
	alts = json_object_get(json_array_get(devs, 0), "alts");
	if (!json_is_array(alts)) {
		fail(err, errlen, "%s: the device has no \"alts\" array", what);
		goto out;
	}
	json_array_foreach(alts, i, a) {
		json_t *num = json_object_get(a, "alt");
		json_t *ls = json_object_get(a, "layout_string");
		const char *name = json_string_value(json_object_get(a,
		    "name"));

		if (json_is_string(ls))
			name = json_string_value(ls);
		else if (json_is_null(ls))
			continue; /* dfuflash would write nothing there */

		if (!json_is_integer(num) || json_integer_value(num) < 0 ||
		    json_integer_value(num) > 255) {
			fail(err, errlen, "%s: alts[%zu] has no \"alt\" from 0 "
			    "to 255", what, i);
			goto out;
		}
		/* Only DfuSe devices name their alt settings with layouts. */
		if (name == NULL || name[0] != '@')
			continue;
		if (add(layouts, nlayouts, (unsigned)json_integer_value(num),
		    name, err, errlen) != 0)
			goto out;
		found++;
	}
	if (found == 0) {
		fail(err, errlen, "the device names no alternate setting with "
		    "a memory layout (it is not a DfuSe device)");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}
