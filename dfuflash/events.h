/*
 * events.h - what dfuflash tells a program: the exit statuses, the
 * outcome of a run on one device (struct dfl_outcome, the one record a
 * result event is made from), and the events of --progress=json, one
 * compact JSON object per line, each valid against
 * schemas/dfuflash-event.schema.json (schemas/README.md: the convention).
 *
 * Every event starts with "schema", "event", "path" and "serial" (null
 * when there is no device, or it has no serial number), so that the
 * lines of several boards flashed at once can be told apart.  jansson
 * writes all of it; text from a device or a file that is not UTF-8 has
 * each bad byte replaced by U+FFFD.
 */
#ifndef DFUFLASH_EVENTS_H
#define DFUFLASH_EVENTS_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "json_text.h"

#include "engine.h"
#include "model.h"

#define DFL_EVENT_SCHEMA "dfutools/dfuflash-event/1"

/*
 * Exit statuses, by what a station does next (dfuflash(1) EXIT STATUS).
 * 0 and 2 are every tool's; 1 stays "fix the input".
 */
enum dfl_exit {
	DFL_EXIT_OK = 0,
	DFL_EXIT_REJECTED = 1,	/* the file, the plan or the command was
				   refused: nothing was sent; fix it */
	DFL_EXIT_USAGE = 2,
	DFL_EXIT_NO_DEVICE = 3,	/* no device, or it could not be opened or
				   was gone before anything changed: retry */
	DFL_EXIT_DEVICE = 4,	/* the device failed during the session:
				   it stays in DFU mode; retry or reject */
	DFL_EXIT_VERIFY = 5,	/* reading back found a difference */
};
#define DFL_EXIT_MAX DFL_EXIT_VERIFY

/* "ok", "rejected", "usage", "no_device", "device_failed",
 * "verify_failed"; NULL for another number. */
const char *dfl_exit_name(int status);

/* How a run on one device ended. */
struct dfl_outcome {
	char path[32];		/* "": no device */
	char serial[128];
	int have_serial;
	int status;		/* enum dfl_exit */
	const char *phase;	/* "input", "select", "plan", an engine phase
				   (dfl_phase_name()), "output"; NULL */
	int have_address;
	uint32_t address;
	int have_dfu_status;
	uint8_t dfu_state, dfu_status;
	char device_message[128]; /* the device's iString; "": none */
	char message[1024];	/* why it failed; "" on success */
	uint64_t bytes_written;
	int have_wall;
	uint64_t wall_ms;
	int have_modelled;
	uint64_t modelled_ms;	/* --sim: the model's time */
};

/* No device, no failure yet. */
void dfl_outcome_init(struct dfl_outcome *r);
/* The device: path and serial (NULL: none). */
void dfl_outcome_device(struct dfl_outcome *r, const char *path,
			const char *serial);
/* A failure with status in phase (NULL: none); message printf-style;
 * a message already set is kept (the first error is the cause). */
void dfl_outcome_fail(struct dfl_outcome *r, int status, const char *phase,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A failure of the engine: rc (enum dfl_error) and f give the status,
 * phase, address and what the device reported. */
void dfl_outcome_engine(struct dfl_outcome *r, int rc,
			const struct dfl_failure *f, const char *message);
/* The result event of r (new reference; NULL when out of memory). */
json_t *dfl_outcome_json(const struct dfl_outcome *r);

/* A new event: schema, event, path and serial (NULL: null). */
json_t *dfl_event_new(const char *event, const char *path,
		      const char *serial);
/* Print ev on f as one line and drop it; 0, or -1 (out of memory). */
int dfl_event_print(FILE *f, json_t *ev);

/* The events (new references, or NULL when out of memory). */
json_t *dfl_event_progress(const char *path, const char *serial,
			   const struct dfl_event *ev);
json_t *dfl_event_done(const char *path, const char *serial,
		       const struct dfl_result *r);
json_t *dfl_event_plan(const char *path, const char *serial,
		       const struct dfl_result *r);
json_t *dfl_event_sim(const char *path, const char *serial,
		      const char *profile, const struct dfl_model_stats *st);

#endif /* DFUFLASH_EVENTS_H */
