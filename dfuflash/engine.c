/*
 * engine.c - dfuflash's engine: the session handle, its error message
 * and the names of the phases (engine.h).  The engine's other files are
 * listed in engine_private.h.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "engine_private.h"

const char *
dfl_phase_name(enum dfl_phase phase)
{
	switch (phase) {
	case DFL_PHASE_CHECK:
		return "check";
	case DFL_PHASE_ERASE:
		return "erase";
	case DFL_PHASE_WRITE:
		return "write";
	case DFL_PHASE_VERIFY:
		return "verify";
	case DFL_PHASE_UPLOAD:
		return "upload";
	case DFL_PHASE_LEAVE:
		return "leave";
	case DFL_PHASE_SETUP:
		return "setup";
	case DFL_PHASE_PRESERVE:
		return "preserve";
	}
	return "?";
}

struct dfl_session *
dfl_session_new(const struct dfl_transport *t, const struct dfl_device *dev)
{
	struct dfl_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->t = t;
	s->dev = dev;
	s->alt = -1;
	return s;
}

void
eng_targets_free(struct dfl_session *s)
{
	for (size_t i = 0; i < s->ntargets; i++) {
		struct target *tg = &s->targets[i];

		dfu_layout_free(tg->layout);
		free(tg->segs);
		free(tg->reach);
		for (size_t r = 0; r < tg->nruns; r++)
			free(tg->runs[r].data);
		free(tg->runs);
	}
	free(s->targets);
	s->targets = NULL;
	s->ntargets = 0;
	dfu_plan_free(s->plan);
	s->plan = NULL;
	s->npages = s->nwrites = 0;
	for (size_t i = 0; i < s->nkeeps; i++)
		free(s->keeps[i].data);
	s->nkeeps = 0;
	dfu_layout_free(s->main_layout);
	s->main_layout = NULL;
	/* The device may have come back with other strings (DETACH). */
	for (size_t i = 0; i < 256; i++) {
		free(s->layout_names[i]);
		s->layout_names[i] = NULL;
	}
}

void
dfl_session_free(struct dfl_session *s)
{
	if (s == NULL)
		return;
	eng_targets_free(s);
	free(s->pages);
	free(s->writes);
	free(s->keeps);
	free(s->kept);
	free(s);
}

const char *
dfl_errmsg(const struct dfl_session *s)
{
	return s->err;
}

const struct dfl_failure *
dfl_failure(const struct dfl_session *s)
{
	return &s->fi;
}

void
eng_failure_reset(struct dfl_session *s, enum dfl_phase phase)
{
	memset(&s->fi, 0, sizeof(s->fi));
	s->fi.have_phase = 1;
	s->fi.phase = phase;
}
