/* session.c: see session.h.  The state machine of the steps and the
 * records of its transitions (step.start, step.result, note, manual); what
 * each kind does while it runs is in its step_*.c file, reached through
 * struct step_kind. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chain.h"
#include "record.h"
#include "session_step.h"
#include "textesc.h"
#include "xmalloc.h"

const char *
step_state_name(enum step_state s)
{
	static const char *const n[] = { "pending", "running", "pass",
	    "degraded", "fail", "skipped" };

	return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

void
session_record(struct session *s, const char *type, size_t step, json_t *data)
{
	if (s->audit != NULL)
		audit_append(s->audit, type, (unsigned)step + 1, data);
	else
		json_decref(data);
}

void
session_changed(struct session *s, size_t i)
{
	if (s->hooks.changed != NULL)
		s->hooks.changed(s, i, s->hooks.arg);
}

static char *
vtext(const char *fmt, va_list ap)
{
	char *raw, *e;

	xvasprintf(&raw, fmt, ap);
	e = esc_str(raw, 0);
	free(raw);
	return e;
}

void
session_observed(struct session *s, size_t i, const char *fmt, ...)
{
	struct step_run *r = &s->steps[i];
	va_list ap;

	free(r->observed);
	va_start(ap, fmt);
	r->observed = vtext(fmt, ap);
	va_end(ap);
}

void
session_end(struct session *s, size_t i, enum step_state st, const char *reason)
{
	struct step_run *r = &s->steps[i];
	struct step_live *lv = &s->live[i];

	if (r->state == STEP_RUNNING && s->running > 0)
		s->running--;
	r->state = st;
	if (reason != NULL) {
		free(r->reason);
		r->reason = esc_str(reason, 0);
	}
	r->ms = lv->started > 0 ? (loop_now() - lv->started) * 1000.0 : 0;
	r->ended = time(NULL);
	timer_free(lv->poll);
	lv->poll = NULL;
	free(lv->last);
	lv->last = NULL;
	session_record(s, record_name(REC_STEP_RESULT), i,
	    json_pack("{s:s, s:s, s:s, s:f}",
	    "verdict", step_state_name(st),
	    "observed", r->observed ? r->observed : "",
	    "reason", r->reason ? r->reason : "", "ms", r->ms));
	session_changed(s, i);
}


/* Why a destructive action is refused when the audit log cannot take its
 * intent: the writer's own reason (a full disk, a removed file...). */
char *
session_refusal(const struct session *s)
{
	return xprintf("refused: the audit log cannot be written (%s)",
	    s->audit == NULL ? "there is none" : audit_refusal(s->audit) ?
	    audit_refusal(s->audit) : "unknown");
}

/* The session ------------------------------------------------------------ */

struct session *
session_new(struct loop *l, const struct runbook *rb, struct audit *a,
    struct redis *r, struct http *h, const struct session_opts *o,
    const struct session_hooks *hooks)
{
	struct session *s = xcalloc(1, sizeof *s);
	size_t i;

	s->loop = l;
	s->rb = rb;
	s->audit = a;
	s->redis = r;
	s->cluster = o->cluster;
	s->http = h;
	s->opts = *o;
	if (hooks != NULL)
		s->hooks = *hooks;
	s->steps = xcalloc(rb->nsteps, sizeof *s->steps);
	s->live = xcalloc(rb->nsteps, sizeof *s->live);
	for (i = 0; i < rb->nsteps; i++) {
		s->live[i].s = s;
		s->live[i].step = i;
	}
	return s;
}

void
session_free(struct session *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->rb->nsteps; i++) {
		if (step_kind_of(&s->rb->steps[i])->release != NULL)
			step_kind_of(&s->rb->steps[i])->release(s, i);
		timer_free(s->live[i].poll);
		free(s->live[i].last);
		free(s->steps[i].observed);
		free(s->steps[i].reason);
		checks_free(&s->steps[i].checks);
	}
	free(s->steps);
	free(s->live);
	free(s);
}

bool
session_step_is_action(const struct session *s, size_t i)
{
	/* A read-only session reaches no action at all. */
	return !s->opts.read_only && step_acts(s->rb, i);
}

int
session_start(struct session *s, size_t i, char **cause)
{
	const struct rb_step *st = &s->rb->steps[i];
	struct step_run *r = &s->steps[i];

	if (r->state != STEP_PENDING) {
		xasprintf(cause, "step %zu is %s, not pending", i + 1,
		    step_state_name(r->state));
		return -1;
	}
	if (s->live[i].run != NULL || s->live[i].probe != NULL) {
		xasprintf(cause, "step %zu is still busy", i + 1);
		return -1;
	}
	r->state = STEP_RUNNING;
	s->running++;
	s->live[i].started = loop_now();
	s->live[i].intent = 0;
	session_record(s, record_name(REC_STEP_START), i,
	    json_pack("{s:s, s:s}", "title", st->title,
	    "kind", step_kind_name(st->kind)));
	session_changed(s, i);
	/* Structural, whatever the caller decided: a read-only session or
	 * a check reaches no kind's start that may change something. */
	if ((s->opts.read_only || s->opts.check_mode) && step_acts(s->rb, i))
		session_end(s, i, STEP_SKIPPED, s->opts.check_mode ?
		    "not a read-only check" : "read-only session");
	else
		step_kind_of(st)->start(s, i);
	return 0;
}

int
session_confirm(struct session *s, size_t i, char **cause)
{
	const struct step_kind *k = step_kind_of(&s->rb->steps[i]);

	if (k->confirm == NULL || s->opts.read_only) {
		xasprintf(cause, "step %zu has no purge waiting", i + 1);
		return -1;
	}
	return k->confirm(s, i, cause);
}

void
session_cancel(struct session *s, size_t i)
{
	if (s->steps[i].state == STEP_RUNNING)
		step_kind_of(&s->rb->steps[i])->cancel(s, i);
}

static void
mark(struct session *s, size_t i, enum step_state st, const char *reason)
{
	struct step_run *r = &s->steps[i];

	if (r->state != STEP_PENDING && r->state != STEP_RUNNING)
		return;
	if (r->state == STEP_PENDING)
		session_record(s, record_name(REC_STEP_START), i,
		    json_pack("{s:s, s:s}", "title",
		    s->rb->steps[i].title, "kind",
		    step_kind_name(s->rb->steps[i].kind)));
	session_end(s, i, st, reason);
}

void
session_skip(struct session *s, size_t i, const char *reason)
{
	mark(s, i, STEP_SKIPPED, reason);
}

void
session_refuse(struct session *s, size_t i, const char *reason)
{
	mark(s, i, STEP_FAILED, reason);
}

void
session_manual(struct session *s, size_t i, bool pass, const char *note)
{
	if (!step_kind_of(&s->rb->steps[i])->person)
		return;
	session_record(s, record_name(REC_MANUAL), i,
	    json_pack("{s:s, s:s}", "verdict", pass ?
	    "pass" : "fail", "note", note ? note : ""));
	session_observed(s, i, "marked %s by the operator%s%s",
	    pass ? "pass" : "fail", note ? ": " : "", note ? note : "");
	mark(s, i, pass ? STEP_PASSED : STEP_FAILED, pass ? NULL : note);
}

void
session_note(struct session *s, size_t i, const char *text)
{
	session_record(s, record_name(REC_NOTE), i,
	    json_pack("{s:s}", "text", text));
	s->steps[i].nnotes++;
	session_changed(s, i);
}

int
session_rollback(struct session *s, size_t rollback, char **cause)
{
	if (s->opts.read_only) {
		xasprintf(cause, "a read-only session runs no rollback");
		return -1;
	}
	if (s->rollback_run != NULL) {
		xasprintf(cause, "a rollback is already running");
		return -1;
	}
	return step_rollback_start(s, rollback, cause);
}

void
session_restore(struct session *s, size_t i, enum step_state st,
    const char *observed)
{
	struct step_run *r = &s->steps[i];

	r->state = st;
	free(r->observed);
	r->observed = observed ? esc_str(observed, 0) : NULL;
}

const struct step_run *
session_step(const struct session *s, size_t i)
{
	return &s->steps[i];
}

bool
session_busy(const struct session *s)
{
	return s->running > 0 || s->rollback_run != NULL;
}

char *
session_output_text(const struct session *s, const char *line, size_t len)
{
	char *clean = audit_scrub(s->audit, line, len);
	char *e = esc_str(clean, 0);

	free(clean);
	return e;
}

const char *
session_audit_text(const struct session *s)
{
	if (s->audit == NULL)
		return "none (read-only)";
	return audit_refused(s->audit) ? "REFUSED" : "ok";
}

const char *
session_audit_refusal(const struct session *s)
{
	if (s->audit == NULL || !audit_refused(s->audit))
		return NULL;
	return audit_refusal(s->audit);
}
