/*
 * events.c - see events.h.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dfuproto.h"
#include "events.h"

const char *
dfl_exit_name(int status)
{
	switch (status) {
	case DFL_EXIT_OK:
		return "ok";
	case DFL_EXIT_REJECTED:
		return "rejected";
	case DFL_EXIT_USAGE:
		return "usage";
	case DFL_EXIT_NO_DEVICE:
		return "no_device";
	case DFL_EXIT_DEVICE:
		return "device_failed";
	case DFL_EXIT_VERIFY:
		return "verify_failed";
	}
	return NULL;
}

/* ---- Events ------------------------------------------------------------ */

json_t *
dfl_event_new(const char *event, const char *path, const char *serial)
{
	/* "schema" first (schemas/README.md): jansson keeps the order. */
	return json_pack("{s:s, s:s, s:o, s:o}", "schema", DFL_EVENT_SCHEMA,
	    "event", event, "path", json_text(path), "serial",
	    json_text(serial));
}

int
dfl_event_print(FILE *f, json_t *ev)
{
	char *s;

	if (ev == NULL)
		return -1;
	s = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (s == NULL)
		return -1;
	fputs(s, f);
	fputc('\n', f);
	free(s);
	return 0;
}

/* Add the key to ev; on failure drop ev.  ev, or NULL. */
static json_t *
put(json_t *ev, const char *key, json_t *v)
{
	if (ev != NULL && json_object_set_new(ev, key, v) == 0)
		return ev;
	json_decref(ev);
	return NULL;
}

static json_t *
uint_or_null(int have, uint64_t v)
{
	return have ? json_integer((json_int_t)v) : json_null();
}

json_t *
dfl_event_progress(const char *path, const char *serial,
    const struct dfl_event *ev)
{
	json_t *j = dfl_event_new("progress", path, serial);

	j = put(j, "phase", json_string(dfl_phase_name(ev->phase)));
	j = put(j, "address", json_integer(ev->address));
	j = put(j, "done", json_integer((json_int_t)ev->done));
	return put(j, "total", json_integer((json_int_t)ev->total));
}

static const char *
leave_reason_name(enum dfl_leave_reason why)
{
	switch (why) {
	case DFL_LEAVE_APP:
		return "application";
	case DFL_LEAVE_FLASH:
		return "flash";
	case DFL_LEAVE_START:
		return "start";
	}
	return NULL;
}

json_t *
dfl_event_done(const char *path, const char *serial,
    const struct dfl_result *r)
{
	json_t *j = dfl_event_new("done", path, serial);
	int leave = r->left && r->leave_reason != 0;

	j = put(j, "pages_erased", json_integer(r->pages_erased));
	j = put(j, "bytes_erased", json_integer((json_int_t)r->bytes_erased));
	j = put(j, "bytes_erased_outside",
	    json_integer((json_int_t)r->bytes_erased_outside));
	j = put(j, "bytes_preserved", json_integer((json_int_t)r->bytes_kept));
	j = put(j, "pages_skipped", json_integer(r->pages_skipped));
	j = put(j, "bytes_written", json_integer((json_int_t)r->bytes_written));
	j = put(j, "mass_erased", json_boolean(r->mass_erased));
	j = put(j, "verified", json_boolean(r->verified));
	j = put(j, "options_reset", json_boolean(r->options_reset));
	j = put(j, "left", json_boolean(r->left));
	j = put(j, "leave_address", uint_or_null(leave, r->leave_address));
	return put(j, "leave_reason", json_text(r->left ?
	    leave_reason_name(r->leave_reason) : NULL));
}

static json_t *
range_json(uint8_t alt, uint32_t start, uint32_t size)
{
	return json_pack("{s:i, s:I, s:I}", "alt", (int)alt, "address",
	    (json_int_t)start, "size", (json_int_t)size);
}

json_t *
dfl_event_plan(const char *path, const char *serial,
    const struct dfl_result *r)
{
	json_t *j = dfl_event_new("plan", path, serial);
	json_t *pages = json_array(), *kept = json_array(),
	    *writes = json_array();
	uint64_t written = 0;
	unsigned nerase = 0, nskip = 0;

	for (size_t i = 0; pages != NULL && i < r->npages; i++) {
		const struct dfl_page *p = &r->pages[i];
		json_t *o = range_json(p->alt, p->start, p->size);

		o = put(o, "action", json_string((p->flags &
		    DFL_PAGE_UNCHANGED) ? "unchanged" : (p->flags &
		    DFL_PAGE_ERASE) ? "erase" : "no_erase"));
		if (json_array_append_new(pages, o) != 0) {
			json_decref(pages);
			pages = NULL;
		}
		nerase += (p->flags & DFL_PAGE_ERASE) != 0;
		nskip += (p->flags & DFL_PAGE_UNCHANGED) != 0;
	}
	for (size_t i = 0; kept != NULL && i < r->nkept; i++)
		if (json_array_append_new(kept, range_json(r->kept[i].alt,
		    r->kept[i].start, r->kept[i].size)) != 0) {
			json_decref(kept);
			kept = NULL;
		}
	for (size_t i = 0; writes != NULL && i < r->nwrites; i++) {
		written += r->writes[i].size;
		if (json_array_append_new(writes, range_json(r->writes[i].alt,
		    r->writes[i].start, r->writes[i].size)) != 0) {
			json_decref(writes);
			writes = NULL;
		}
	}
	j = put(j, "pages", pages);
	j = put(j, "preserved", kept);
	j = put(j, "writes", writes);
	j = put(j, "pages_erased", json_integer(nerase));
	j = put(j, "bytes_erased", json_integer((json_int_t)r->bytes_erased));
	j = put(j, "bytes_erased_outside",
	    json_integer((json_int_t)r->bytes_erased_outside));
	j = put(j, "bytes_preserved", json_integer((json_int_t)r->bytes_kept));
	j = put(j, "pages_skipped", json_integer(nskip));
	j = put(j, "bytes_written", json_integer((json_int_t)written));
	j = put(j, "options_reset", json_boolean(r->options_write));
	j = put(j, "options_alt", uint_or_null(r->options_write,
	    r->options_alt));
	j = put(j, "leave_alt", uint_or_null(r->leave_reason != 0,
	    r->leave_alt));
	j = put(j, "leave_address", uint_or_null(r->leave_reason != 0,
	    r->leave_address));
	return put(j, "leave_reason",
	    json_text(leave_reason_name(r->leave_reason)));
}

json_t *
dfl_event_sim(const char *path, const char *serial, const char *profile,
    const struct dfl_model_stats *st)
{
	json_t *j = dfl_event_new("sim", path, serial);

	j = put(j, "profile", json_text(profile));
	j = put(j, "requests", json_integer(st->requests));
	j = put(j, "pages_erased", json_integer(st->pages_erased));
	j = put(j, "bytes_erased", json_integer((json_int_t)st->bytes_erased));
	j = put(j, "mass_erased", json_boolean(st->mass_erases > 0));
	j = put(j, "bytes_written", json_integer((json_int_t)st->bytes_written));
	j = put(j, "bytes_read", json_integer((json_int_t)st->bytes_read));
	j = put(j, "modelled_ms", json_integer((json_int_t)(st->time_us /
	    1000)));
	return put(j, "left", json_boolean(st->left));
}

/* ---- Outcomes ---------------------------------------------------------- */

void
dfl_outcome_init(struct dfl_outcome *r)
{
	memset(r, 0, sizeof(*r));
}

void
dfl_outcome_device(struct dfl_outcome *r, const char *path,
    const char *serial)
{
	snprintf(r->path, sizeof(r->path), "%s", path != NULL ? path : "");
	r->have_serial = serial != NULL;
	snprintf(r->serial, sizeof(r->serial), "%s", serial != NULL ? serial :
	    "");
}

void
dfl_outcome_fail(struct dfl_outcome *r, int status, const char *phase,
    const char *fmt, ...)
{
	va_list ap;

	if (r->status != DFL_EXIT_OK)
		return;
	r->status = status;
	r->phase = phase;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

void
dfl_outcome_engine(struct dfl_outcome *r, int rc, const struct dfl_failure *f,
    const char *message)
{
	int status;

	if (r->status != DFL_EXIT_OK)
		return;
	switch (rc) {
	case DFL_ERR_PLAN:
	case DFL_ERR_NOMEM:
		status = DFL_EXIT_REJECTED;
		break;
	case DFL_ERR_USAGE:
		status = DFL_EXIT_USAGE;
		break;
	case DFL_ERR_GONE:
		/* Gone before any erase or write: as if never found. */
		status = f->changed ? DFL_EXIT_DEVICE : DFL_EXIT_NO_DEVICE;
		break;
	default:
		status = f->mismatch ? DFL_EXIT_VERIFY : DFL_EXIT_DEVICE;
	}
	dfl_outcome_fail(r, status, rc == DFL_ERR_PLAN || rc == DFL_ERR_USAGE ?
	    "plan" : f->have_phase ? dfl_phase_name(f->phase) : NULL, "%s",
	    message);
	if (rc == DFL_ERR_PLAN || rc == DFL_ERR_USAGE)
		return;
	r->have_address = f->have_address;
	r->address = f->address;
	r->have_dfu_status = f->have_status;
	r->dfu_state = f->state;
	r->dfu_status = f->status;
	snprintf(r->device_message, sizeof(r->device_message), "%s",
	    f->istring);
}

json_t *
dfl_outcome_json(const struct dfl_outcome *r)
{
	json_t *j = dfl_event_new("result", r->path[0] != '\0' ? r->path :
	    NULL, r->have_serial ? r->serial : NULL);

	j = put(j, "status", json_integer(r->status));
	j = put(j, "status_name", json_text(dfl_exit_name(r->status)));
	j = put(j, "phase", json_text(r->phase));
	j = put(j, "address", uint_or_null(r->have_address, r->address));
	j = put(j, "dfu_state", json_text(r->have_dfu_status ?
	    dfu_state_name(r->dfu_state) : NULL));
	j = put(j, "dfu_status", json_text(r->have_dfu_status ?
	    dfu_status_name(r->dfu_status) : NULL));
	j = put(j, "device_message", json_text(r->device_message[0] !=
	    '\0' ? r->device_message : NULL));
	j = put(j, "message", json_text(r->status != DFL_EXIT_OK ?
	    r->message : NULL));
	j = put(j, "bytes_written", json_integer((json_int_t)r->bytes_written));
	j = put(j, "wall_ms", uint_or_null(r->have_wall, r->wall_ms));
	return put(j, "modelled_ms", uint_or_null(r->have_modelled,
	    r->modelled_ms));
}
