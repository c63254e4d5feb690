/* record.c: the table of audit record types; see record.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "record.h"
#include "textesc.h"

static const char *
sval(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool
is(json_t *o, const char *k, const char *want)
{
	const char *s = sval(o, k);

	return s != NULL && strcmp(s, want) == 0;
}

static bool
nonempty(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) && json_string_length(v) > 0;
}

static double
num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* Appends the escaped value of field k (a string, number or boolean). */
static void
add_field(struct buf *b, json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (json_is_string(v))
		esc_append(b, json_string_value(v), json_string_length(v), 0);
	else if (json_is_integer(v))
		buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		buf_addf(b, "%.1f", json_real_value(v));
	else if (json_is_boolean(v))
		buf_adds(b, json_is_true(v) ? "true" : "false");
	else
		buf_adds(b, "-");
}

/* The data, compact and escaped. */
static void
add_dump(struct buf *b, json_t *d)
{
	char *dump;

	if ((dump = json_dumps(d, JSON_COMPACT)) != NULL) {
		esc_append(b, dump, strlen(dump), 0);
		free(dump);
	}
}

/* Judges ------------------------------------------------------------------ */

static unsigned
judge_warn(json_t *d)
{
	(void)d;
	return RECORD_WARN;
}

static unsigned
judge_fail(json_t *d)
{
	(void)d;
	return RECORD_FAIL;
}

static unsigned
judge_verdict(json_t *d)
{
	if (is(d, "verdict", "fail"))
		return RECORD_FAIL;
	return is(d, "verdict", "pass") ? 0 : RECORD_WARN;
}

/* A probe fails when a check of it failed. */
static unsigned
judge_checks(json_t *d)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(d, "checks"), i, c) {
		if (is(c, "verdict", "fail"))
			return RECORD_FAIL;
	}
	return 0;
}

/* An HTTP probe also fails when nothing answered. */
static unsigned
judge_http(json_t *d)
{
	if (json_is_false(json_object_get(d, "ok")))
		return RECORD_FAIL;
	return judge_checks(d);
}

static unsigned
judge_purge_done(json_t *d)
{
	return json_integer_value(json_object_get(d, "in_doubt")) > 0 ?
	    RECORD_FAIL : 0;
}

/* Any record whose data has an exit: a command's result. */
static unsigned
judge_command(json_t *d)
{
	if (json_object_get(d, "exit") == NULL)
		return 0;
	if (json_is_true(json_object_get(d, "timed_out")) ||
	    json_integer_value(json_object_get(d, "signal")) ||
	    json_integer_value(json_object_get(d, "exit")) != 0)
		return RECORD_FAIL;
	return 0;
}

/* Summaries --------------------------------------------------------------- */

/* Appends tmpl with each {a.b.c} replaced by the escaped field at that
 * path of the record o (see add_field). */
static void
add_fmt(struct buf *b, json_t *o, const char *tmpl)
{
	const char *p = tmpl, *open, *close, *k, *dot;
	char key[48];
	json_t *v;

	while ((open = strchr(p, '{')) != NULL &&
	    (close = strchr(open, '}')) != NULL) {
		buf_add(b, p, (size_t)(open - p));
		for (v = o, k = open + 1;; k = dot + 1) {
			if ((dot = memchr(k, '.', (size_t)(close - k))) == NULL)
				dot = close;
			snprintf(key, sizeof key, "%.*s", (int)(dot - k), k);
			if (dot == close)
				break;
			v = json_object_get(v, key);
		}
		add_field(b, v, key);
		p = close + 1;
	}
	buf_adds(b, p);
}

static void
sum_session_start(struct buf *b, json_t *o)
{
	add_fmt(b, o, "\"{data.runbook.title}\" by {actor} on {data.hostname} "
	    "({data.runbook.path}");
	buf_adds(b, json_is_true(json_object_get(json_object_get(o, "data"),
	    "sealed")) ? ", sealed" : "");
	if (json_is_string(json_object_get(json_object_get(o, "data"),
	    "redis_user")))
		add_fmt(b, o, ", Redis user {data.redis_user}");
	buf_adds(b, ")");
}

static void
sum_session_end(struct buf *b, json_t *o)
{
	add_fmt(b, o, "ended: {data.records} records");
}

static void
sum_session_resume(struct buf *b, json_t *o)
{
	add_fmt(b, o, "resumed after record {data.after} (the log had "
	    "{data.previous})");
}

static void
sum_intent_unknown(struct buf *b, json_t *o)
{
	add_fmt(b, o, "outcome unknown: record {data.intent} ({data.type}) "
	    "never got a result");
}

static void
sum_step_start(struct buf *b, json_t *o)
{
	add_fmt(b, o, "{data.title} ({data.kind})");
}

static void
sum_verdict(struct buf *b, json_t *o)
{
	json_t *d = json_object_get(o, "data");

	add_fmt(b, o, "{data.verdict}");
	if (nonempty(d, "observed"))
		add_fmt(b, o, ": {data.observed}");
	if (nonempty(d, "note"))
		add_fmt(b, o, ": {data.note}");
	if (nonempty(d, "reason"))
		add_fmt(b, o, " -- {data.reason}");
}

static void
sum_http(struct buf *b, json_t *o)
{
	json_t *d = json_object_get(o, "data");

	add_fmt(b, o, "{data.route} as {data.profile}: ");
	if (json_is_false(json_object_get(d, "ok")))
		add_fmt(b, o, "no response: {data.error}");
	else {
		add_fmt(b, o, "{data.status} {data.cache}");
		buf_addf(b, " %.1f ms", num(d, "total_ms"));
	}
}

static void
sum_measure(struct buf *b, json_t *o)
{
	json_t *d = json_object_get(o, "data");

	add_fmt(b, o, "{data.route} as {data.profile}: {data.ok}/{data.samples} "
	    "answered");
	buf_addf(b, ", p50 %.1f ms, p95 %.1f ms", num(d, "p50_ms"),
	    num(d, "p95_ms"));
	if (json_object_get(d, "compare") != NULL)
		add_fmt(b, o, "; against {data.compare.with}: "
		    "{data.compare.verdict}");
}

static void
sum_wait(struct buf *b, json_t *o)
{
	buf_adds(b, "timed out ");
	add_dump(b, json_object_get(o, "data"));
}

static void
sum_preview(struct buf *b, json_t *o)
{
	add_fmt(b, o, "{data.route}: {data.previewed} keys previewed");
}

static void
sum_purge_done(struct buf *b, json_t *o)
{
	add_fmt(b, o, "{data.route}: deleted {data.deleted} of {data.previewed} "
	    "previewed ({data.gone} already gone, {data.in_doubt} in doubt), "
	    "{data.state}");
}

static void
sum_master(struct buf *b, json_t *o)
{
	add_fmt(b, o, "master {data.master} at {data.address}: "
	    "{data.reason}");
	if (sval(json_object_get(o, "data"), "previous") != NULL)
		add_fmt(b, o, ", was {data.previous}");
}

static void
sum_note(struct buf *b, json_t *o)
{
	add_fmt(b, o, "{data.text}");
}

static void
sum_command(struct buf *b, json_t *o)
{
	json_t *d = json_object_get(o, "data");

	if (json_is_true(json_object_get(d, "timed_out")))
		buf_adds(b, "timed out");
	else if (json_integer_value(json_object_get(d, "signal")))
		add_fmt(b, o, "killed by signal {data.signal}");
	else
		add_fmt(b, o, "exit {data.exit}");
	buf_addf(b, " in %.0f ms, ", num(d, "ms"));
	add_fmt(b, o, "{data.lines} lines: {data.command}");
}

static void
sum_intent(struct buf *b, json_t *o)
{
	json_t *d = json_object_get(o, "data");

	buf_adds(b, "about to act: ");
	if (sval(d, "command") != NULL)
		add_fmt(b, o, "{data.command}");
	else if (sval(d, "route") != NULL)
		add_fmt(b, o, "purge {data.route}, {data.previewed} keys "
		    "previewed");
	else
		add_dump(b, d);
}

/* The table ------------------------------------------------------------- */

#define I RECORD_INTENT
#define R RECORD_RESULT
static const struct record_info record_table[REC_NTYPES] = {
	{ REC_UNKNOWN, "", 0, REC_UNKNOWN, NULL, NULL },
	{ REC_SESSION_START, "session.start", 0, REC_UNKNOWN, NULL,
	  sum_session_start },
	{ REC_SESSION_RESUME, "session.resume", 0, REC_UNKNOWN, NULL,
	  sum_session_resume },
	{ REC_SESSION_END, "session.end", 0, REC_UNKNOWN, NULL,
	  sum_session_end },
	{ REC_INTENT_UNKNOWN, "intent.unknown", 0, REC_UNKNOWN, judge_warn,
	  sum_intent_unknown },
	{ REC_STEP_START, "step.start", 0, REC_UNKNOWN, NULL, sum_step_start },
	{ REC_STEP_RESULT, "step.result", 0, REC_UNKNOWN, judge_verdict,
	  sum_verdict },
	{ REC_HTTP_RESULT, "http.result", 0, REC_UNKNOWN, judge_http,
	  sum_http },
	{ REC_MEASURE_RESULT, "measure.result", 0, REC_UNKNOWN, judge_checks,
	  sum_measure },
	{ REC_WAIT_RESULT, "wait.result", 0, REC_UNKNOWN, judge_fail,
	  sum_wait },
	{ REC_PURGE_PREVIEW, "purge.preview", 0, REC_UNKNOWN, NULL,
	  sum_preview },
	{ REC_PURGE_INTENT, "purge.intent", I, REC_PURGE_DONE, NULL, NULL },
	{ REC_PURGE_DONE, "purge.done", R, REC_PURGE_INTENT, judge_purge_done,
	  sum_purge_done },
	{ REC_RUN_INTENT, "run.intent", I, REC_RUN_DONE, NULL, NULL },
	{ REC_RUN_DONE, "run.done", R, REC_RUN_INTENT, NULL, NULL },
	{ REC_ROLLBACK_CHECK_INTENT, "rollback_check.intent", I,
	  REC_ROLLBACK_CHECK_RESULT, NULL, NULL },
	{ REC_ROLLBACK_CHECK_RESULT, "rollback_check.result", R,
	  REC_ROLLBACK_CHECK_INTENT, NULL, NULL },
	{ REC_ROLLBACK_INTENT, "rollback.intent", I, REC_ROLLBACK_DONE, NULL,
	  NULL },
	{ REC_ROLLBACK_DONE, "rollback.done", R, REC_ROLLBACK_INTENT, NULL,
	  NULL },
	{ REC_RESTORE_INTENT, "restore.intent", I, REC_RESTORE_DONE, NULL,
	  NULL },
	{ REC_RESTORE_DONE, "restore.done", R, REC_RESTORE_INTENT, NULL, NULL },
	{ REC_MANUAL, "manual", 0, REC_UNKNOWN, judge_verdict, sum_verdict },
	{ REC_NOTE, "note", 0, REC_UNKNOWN, NULL, sum_note },
	{ REC_REDIS_MASTER, "redis.master", 0, REC_UNKNOWN, NULL, sum_master },
};
#undef I
#undef R

const struct record_info *
record_info(enum record_type t)
{
	return &record_table[(unsigned)t < REC_NTYPES ? t : REC_UNKNOWN];
}

const char *
record_name(enum record_type t)
{
	return record_info(t)->name;
}

enum record_type
record_type_of(const char *name)
{
	size_t i;

	if (name == NULL)
		return REC_UNKNOWN;
	for (i = 1; i < REC_NTYPES; i++) {
		if (strcmp(record_table[i].name, name) == 0)
			return record_table[i].type;
	}
	return REC_UNKNOWN;
}

bool
record_is_intent(const char *name)
{
	size_t n;

	if (record_info(record_type_of(name))->role & RECORD_INTENT)
		return true;
	n = name != NULL ? strlen(name) : 0;
	return n > 7 && strcmp(name + n - 7, ".intent") == 0;
}

unsigned
record_judge(json_t *o)
{
	const char *name = sval(o, "type");
	const struct record_info *ri = record_info(record_type_of(name));
	json_t *d = json_object_get(o, "data");

	/* Without a judge of its own: a command's result, if it is one. */
	return ri->judge != NULL ? ri->judge(d) : judge_command(d);
}

void
record_summary(struct buf *b, json_t *o)
{
	const char *name = sval(o, "type");
	const struct record_info *ri = record_info(record_type_of(name));
	json_t *d = json_object_get(o, "data");

	if (ri->summary != NULL)
		ri->summary(b, o);
	else if (json_object_get(d, "exit") != NULL)
		sum_command(b, o);	/* run.done, rollback.done... */
	else if (name != NULL && record_is_intent(name))
		sum_intent(b, o);
	else
		add_dump(b, d);
}
