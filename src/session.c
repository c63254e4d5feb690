/* session.c: see session.h.  Each kind of step is a struct step_ops; a
 * session picks one table when it is made: the full one, or the read-only
 * one in which the kinds that change the world can only skip. */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_chain.h"
#include "policy.h"
#include "runner.h"
#include "session.h"
#include "textesc.h"
#include "xmalloc.h"

struct step_ops {
	const char	*name;
	void		(*start)(struct session *, size_t);
	void		(*cancel)(struct session *, size_t);
};

/* What a running step holds. */
struct live {
	struct http_probe *probe;
	struct sampler	*sampler;
	struct purge	*purge;
	struct run	*run;
	struct timer	*poll;
	double		 started;
	double		 deadline;
	uint64_t	 intent;
	char		*refused;	/* why the purge could not be confirmed */
	char		*backup;	/* the purge's backup file, or NULL */
	size_t		 step;
	struct session	*s;
	char		*last;		/* wait: the last observation */
};

struct session {
	struct loop	*loop;
	const struct runbook *rb;
	struct audit	*audit;
	struct redis	*redis;
	struct http	*http;
	struct session_opts opts;
	struct session_hooks hooks;
	const struct step_ops *const *ops;
	struct step_run	*steps;
	struct live	*live;
	size_t		 running;	/* steps in flight */
	struct run	*rollback_run;
};

static const struct step_ops *const ops_full[STEP_NKINDS];
static const struct step_ops *const ops_read_only[STEP_NKINDS];

const char *
step_state_name(enum step_state s)
{
	static const char *const n[] = { "pending", "running", "pass",
	    "degraded", "fail", "skipped" };

	return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

static void
record(struct session *s, const char *type, size_t step, json_t *data)
{
	if (s->audit != NULL)
		audit_append(s->audit, type, (unsigned)step + 1, data);
	else
		json_decref(data);
}

static void
changed(struct session *s, size_t i)
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

static void
set_observed(struct step_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_observed(struct step_run *r, const char *fmt, ...)
{
	va_list ap;

	free(r->observed);
	va_start(ap, fmt);
	r->observed = vtext(fmt, ap);
	va_end(ap);
}

static json_t *
checks_json(const struct checks *c)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < c->n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}",
		    "what", c->v[i].what, "expected", c->v[i].expected,
		    "observed", c->v[i].observed,
		    "verdict", verdict_name(c->v[i].verdict)));
	return a;
}

/* Ends a step with a state; records step.result. */
static void
end_step(struct session *s, size_t i, enum step_state st, const char *reason)
{
	struct step_run *r = &s->steps[i];
	struct live *lv = &s->live[i];

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
	record(s, "step.result", i, json_pack("{s:s, s:s, s:s, s:f}",
	    "verdict", step_state_name(st),
	    "observed", r->observed ? r->observed : "",
	    "reason", r->reason ? r->reason : "", "ms", r->ms));
	changed(s, i);
}

/* The first check that did not pass, as a reason. */
static char *
first_miss(const struct checks *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].verdict != VERDICT_PASS)
			return xprintf("%s: expected %s, got %s", c->v[i].what,
			    c->v[i].expected, c->v[i].observed);
	return NULL;
}

static enum step_state
from_verdict(enum verdict v)
{
	switch (v) {
	case VERDICT_PASS:
		return STEP_PASSED;
	case VERDICT_DEGRADED:
		return STEP_DEGRADED;
	case VERDICT_SKIPPED:
		return STEP_SKIPPED;
	case VERDICT_FAIL:
		break;
	}
	return STEP_FAILED;
}

/* The expectation a probe step checks. */
static const struct expect *
step_expect(const struct runbook *rb, const struct rb_step *st)
{
	const struct rb_route *r = &rb->routes[st->route];

	if (st->expect != NULL)
		return st->expect;
	if (st->profile != RB_NONE && r->expect_logged_in != NULL)
		return r->expect_logged_in;
	return r->expect;
}

static const char *
profile_name(const struct runbook *rb, const struct rb_step *st)
{
	return st->profile == RB_NONE ? "anonymous" :
	    rb->http.profiles[st->profile].name;
}

/* http ------------------------------------------------------------------- */

static void
http_done(struct http_probe *p, const struct http_result *res, void *arg)
{
	struct live *lv = arg;
	struct session *s = lv->s;
	size_t i = lv->step;
	const struct rb_step *st = &s->rb->steps[i];
	struct step_run *r = &s->steps[i];
	char *why;

	(void)p;
	lv->probe = NULL;
	checks_free(&r->checks);
	expect_check(step_expect(s->rb, st), res, &r->checks);
	if (res->ok)
		set_observed(r, "%ld %s %.1f ms (first byte %.1f ms)",
		    res->status, res->cache[0] ? res->cache : "-",
		    res->total_ms, res->ttfb_ms);
	else
		set_observed(r, "%s", res->error);
	record(s, "http.result", i, json_pack(
	    "{s:s, s:s, s:s, s:b, s:I, s:s, s:f, s:f, s:f, s:f, s:f, s:f, "
	    "s:I, s:o, s:s}",
	    "route", s->rb->routes[st->route].name,
	    "profile", profile_name(s->rb, st),
	    "url", res->final_url ? res->final_url : "", "ok", res->ok,
	    "status", (json_int_t)res->status, "cache", res->cache,
	    "dns_ms", res->dns_ms, "connect_ms", res->connect_ms,
	    "tls_ms", res->tls_ms, "server_ms", res->server_ms,
	    "transfer_ms", res->transfer_ms, "total_ms", res->total_ms,
	    "size", (json_int_t)res->size, "checks", checks_json(&r->checks),
	    "error", res->error));
	why = first_miss(&r->checks);
	end_step(s, i, from_verdict(r->checks.verdict), why);
	free(why);
}

static bool
start_probe(struct session *s, size_t i, http_done_fn fn)
{
	const struct rb_step *st = &s->rb->steps[i];
	struct live *lv = &s->live[i];
	struct http_req q;
	char *cause = NULL;

	if (http_req_for(s->rb, st->route, st->profile, &q, &cause) != 0) {
		end_step(s, i, STEP_FAILED, cause);
		free(cause);
		return false;
	}
	lv->probe = http_start(s->http, &q, fn, lv);
	http_req_done(&q);
	return true;
}

static void
http_start_step(struct session *s, size_t i)
{
	start_probe(s, i, http_done);
}

static void
probe_cancel(struct session *s, size_t i)
{
	struct live *lv = &s->live[i];

	http_cancel(lv->probe);
	lv->probe = NULL;
	sample_cancel(lv->sampler);
	lv->sampler = NULL;
	end_step(s, i, STEP_SKIPPED, "cancelled");
}

/* measure ---------------------------------------------------------------- */

static void
measure_done(const struct sample_stats *stats, void *arg)
{
	struct live *lv = arg;
	struct session *s = lv->s;
	size_t i = lv->step;
	const struct rb_step *st = &s->rb->steps[i];
	struct step_run *r = &s->steps[i];
	enum step_state state;
	json_t *cmp = json_null();
	char *why;

	lv->sampler = NULL;
	checks_free(&r->checks);
	expect_check_sample(step_expect(s->rb, st), stats, &r->checks);
	r->stats = *stats;
	r->stats.times = NULL;
	r->stats.statuses = NULL;
	r->has_stats = true;
	state = from_verdict(r->checks.verdict);
	set_observed(r, "%zu/%zu answered, p50 %.1f ms, p95 %.1f ms, max "
	    "%.1f ms, %zu HIT %zu MISS", stats->ok, stats->n, stats->p50_ms,
	    stats->p95_ms, stats->max_ms, stats->hit, stats->miss);
	if (st->compare != RB_NONE) {
		const struct step_run *b = &s->steps[st->compare];
		if (!b->has_stats) {
			cmp = json_pack("{s:s}", "note", "the earlier measure has "
			    "not run in this session: nothing to compare");
		} else {
			sample_compare(&b->stats, stats, &r->cmp);
			r->has_cmp = true;
			cmp = json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:s}",
			    "with", s->rb->steps[st->compare].id,
			    "verdict", compare_verdict_name(r->cmp.verdict),
			    "d_p50_ms", r->cmp.d_p50_ms,
			    "d_p95_ms", r->cmp.d_p95_ms,
			    "hit_before", r->cmp.hit_before,
			    "hit_after", r->cmp.hit_after, "note", r->cmp.note);
			char *o = xprintf("%s; against %s: %s (%s)",
			    r->observed, s->rb->steps[st->compare].id,
			    compare_verdict_name(r->cmp.verdict), r->cmp.note);
			free(r->observed);
			r->observed = o;
			/* Slower, or a comparison that proves nothing, is not
			 * a pass: degraded, for the operator to look at. */
			if (state == STEP_PASSED &&
			    (r->cmp.verdict == COMPARE_SLOWER ||
			    r->cmp.verdict == COMPARE_NOT_COMPARABLE))
				state = STEP_DEGRADED;
		}
	}
	record(s, "measure.result", i, json_pack(
	    "{s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:I, s:I, "
	    "s:o, s:o, s:s}",
	    "route", s->rb->routes[st->route].name,
	    "profile", profile_name(s->rb, st),
	    "samples", (json_int_t)stats->n, "ok", (json_int_t)stats->ok,
	    "errors", (json_int_t)stats->errors,
	    "min_ms", stats->min_ms, "p50_ms", stats->p50_ms,
	    "p95_ms", stats->p95_ms, "max_ms", stats->max_ms,
	    "hit", (json_int_t)stats->hit, "miss", (json_int_t)stats->miss,
	    "other", (json_int_t)stats->other, "compare", cmp,
	    "checks", checks_json(&r->checks), "first_error",
	    stats->first_error));
	why = first_miss(&r->checks);
	if (why == NULL && state == STEP_DEGRADED && r->has_cmp)
		why = xprintf("%s", compare_verdict_name(r->cmp.verdict));
	end_step(s, i, state, why);
	free(why);
}

static void
measure_start_step(struct session *s, size_t i)
{
	const struct rb_step *st = &s->rb->steps[i];
	struct live *lv = &s->live[i];
	struct http_req q;
	char *cause = NULL;

	if (http_req_for(s->rb, st->route, st->profile, &q, &cause) != 0) {
		end_step(s, i, STEP_FAILED, cause);
		free(cause);
		return;
	}
	lv->sampler = sample_start(s->http, &q, (size_t)st->samples,
	    (size_t)st->concurrency, measure_done, lv);
	http_req_done(&q);
}

/* wait ------------------------------------------------------------------- */

static void	wait_poll(void *);

static void
wait_done(struct http_probe *p, const struct http_result *res, void *arg)
{
	struct live *lv = arg;
	struct session *s = lv->s;
	size_t i = lv->step;
	const struct rb_step *st = &s->rb->steps[i];
	struct step_run *r = &s->steps[i];

	(void)p;
	lv->probe = NULL;
	r->polls++;
	checks_free(&r->checks);
	expect_check(step_expect(s->rb, st), res, &r->checks);
	free(lv->last);
	lv->last = res->ok ? xprintf("%ld %s", res->status, res->cache[0] ?
	    res->cache : "-") : xstrdup(res->error);
	if (r->checks.verdict != VERDICT_FAIL) {
		set_observed(r, "held after %u probe%s, %.1f s (%s)", r->polls,
		    r->polls == 1 ? "" : "s", loop_now() - lv->started,
		    lv->last);
		end_step(s, i, from_verdict(r->checks.verdict), NULL);
		return;
	}
	if (loop_now() + st->every_s > lv->deadline) {
		set_observed(r, "did not hold within %g s (%u probes; last: "
		    "%s)", st->timeout_wait_s, r->polls, lv->last);
		record(s, "wait.result", i, json_pack("{s:I, s:o}", "probes",
		    (json_int_t)r->polls, "checks", checks_json(&r->checks)));
		char *why = first_miss(&r->checks);
		end_step(s, i, STEP_FAILED, why ? why : "timed out");
		free(why);
		return;
	}
	changed(s, i);
	timer_arm(lv->poll, st->every_s);
}

static void
wait_poll(void *arg)
{
	struct live *lv = arg;

	start_probe(lv->s, lv->step, wait_done);
}

static void
wait_start_step(struct session *s, size_t i)
{
	struct live *lv = &s->live[i];

	lv->deadline = lv->started + s->rb->steps[i].timeout_wait_s;
	lv->poll = timer_new(s->loop, wait_poll, lv);
	wait_poll(lv);
}

static void
wait_cancel(struct session *s, size_t i)
{
	struct live *lv = &s->live[i];

	http_cancel(lv->probe);
	lv->probe = NULL;
	end_step(s, i, STEP_SKIPPED, "cancelled");
}

/* purge ------------------------------------------------------------------ */

static json_t *
patterns(const struct rb_route *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < r->nkeys; i++)
		json_array_append_new(a, audit_json_bytes(r->keys[i],
		    strlen(r->keys[i])));
	return a;
}

static void
purge_event(struct purge *p, void *arg)
{
	struct live *lv = arg;
	struct session *s = lv->s;
	size_t i = lv->step, j, len;
	const struct purge_report *rep = purge_report(p);
	const struct rb_route *route = &s->rb->routes[s->rb->steps[i].route];
	struct step_run *r = &s->steps[i];
	const char *k;
	json_t *sample;

	switch (rep->state) {
	case PURGE_READY:
		sample = json_array();
		for (j = 0; purge_sample(p, j, &k, &len); j++)
			json_array_append_new(sample, audit_json_bytes(k, len));
		set_observed(r, "%zu keys match", rep->previewed);
		record(s, "purge.preview", i, json_pack("{s:s, s:o, s:I, s:I, "
		    "s:o}", "route", route->name, "patterns", patterns(route),
		    "previewed", (json_int_t)rep->previewed, "max_keys",
		    (json_int_t)route->max_keys, "sample", sample));
		changed(s, i);
		if (s->hooks.previewed != NULL)
			s->hooks.previewed(s, i, p, s->hooks.arg);
		return;
	case PURGE_RUNNING:
		set_observed(r, "deleted %zu of %zu (batch %zu of %zu)",
		    rep->deleted, rep->previewed, rep->batches,
		    rep->batches_total);
		changed(s, i);
		return;
	case PURGE_REFUSED:
		if (rep->counted)
			set_observed(r, "%s%zu keys match", rep->over_limit ?
			    "more than " : "", rep->previewed);
		else
			set_observed(r, "refused before counting");
		record(s, "purge.preview", i, json_pack("{s:s, s:o, s:I, s:b, "
		    "s:b, s:s}", "route", route->name, "patterns",
		    patterns(route), "previewed", (json_int_t)rep->previewed,
		    "counted", rep->counted, "over_limit", rep->over_limit,
		    "refused", rep->reason));
		end_step(s, i, STEP_FAILED, rep->reason);
		break;
	case PURGE_DONE:
	case PURGE_CANCELLED:
	case PURGE_FAILED:
		if (lv->intent != 0)
			audit_result(s->audit, lv->intent, "purge.done",
			    (unsigned)i + 1, json_pack("{s:s, s:s, s:I, s:I, "
			    "s:I, s:I, s:I, s:I, s:f, s:s, s:o, s:o}", "route",
			    route->name,
			    "state", purge_state_name(rep->state), "previewed",
			    (json_int_t)rep->previewed, "deleted",
			    (json_int_t)rep->deleted, "gone",
			    (json_int_t)rep->gone, "in_doubt",
			    (json_int_t)rep->in_doubt, "errors",
			    (json_int_t)rep->errors, "backed_up",
			    (json_int_t)rep->backed_up, "ms", rep->ms, "reason",
			    rep->reason, "backup", lv->backup != NULL ?
			    json_string(lv->backup) : json_null(), "backup_hash",
			    purge_backup_hash(p) != NULL ?
			    json_string(purge_backup_hash(p)) : json_null()));
		set_observed(r, "deleted %zu of %zu previewed (%zu already gone, "
		    "%zu in doubt) in %.0f ms", rep->deleted, rep->previewed,
		    rep->gone, rep->in_doubt, rep->ms);
		if (rep->state == PURGE_DONE)
			end_step(s, i, STEP_PASSED, NULL);
		else if (rep->state == PURGE_CANCELLED && lv->intent == 0 &&
		    lv->refused == NULL)
			end_step(s, i, STEP_SKIPPED, rep->reason);
		else
			end_step(s, i, STEP_FAILED, lv->refused != NULL ?
			    lv->refused : rep->reason);
		break;
	default:
		return;
	}
	/* Ended: the purge is freed on the next step start or at the end. */
}

/* Why a destructive action is refused when the audit log cannot take its
 * intent: the writer's own reason (a full disk, a removed file...). */
static char *
refusal(struct session *s)
{
	return xprintf("refused: the audit log cannot be written (%s)",
	    s->audit == NULL ? "there is none" : audit_refusal(s->audit) ?
	    audit_refusal(s->audit) : "unknown");
}

/* A purge's backup goes to a .backups/ directory next to the log (made on
 * the first backup, mode 0700), hidden so that neither the replay picker
 * nor a shell glob of the state dir takes it for a log.  The path is
 * absolute: the audit log records it, and a restore may run elsewhere. */
static char *
backup_path(struct session *s, size_t i)
{
	const char *log, *base;
	char *dir, *real, *path;
	size_t len;

	if (s->audit == NULL)
		return NULL;
	log = audit_path(s->audit);
	base = strrchr(log, '/');
	dir = base == NULL ? xstrdup(".") : base == log ? xstrdup("/") :
	    xprintf("%.*s", (int)(base - log), log);
	base = base == NULL ? log : base + 1;
	if ((real = realpath(dir, NULL)) == NULL)
		real = xstrdup(dir);
	free(dir);
	len = strlen(base);
	if (len > 6 && strcmp(base + len - 6, ".jsonl") == 0)
		len -= 6;
	dir = xprintf("%s/.backups", strcmp(real, "/") == 0 ? "" : real);
	if (mkdir(dir, 0700) == 0) {
		/* Durable before a file is made in it. */
		int fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			(void)fsync(fd);
			close(fd);
		}
	}
	path = xprintf("%s/%.*s.step%zu.backup.jsonl", dir, (int)len, base,
	    i + 1);
	free(dir);
	free(real);
	return path;
}

static void
purge_start_step(struct session *s, size_t i)
{
	const struct rb_step *st = &s->rb->steps[i];
	struct live *lv = &s->live[i];
	char *bpath = st->backup ? backup_path(s, i) : NULL;

	if (s->redis == NULL) {
		end_step(s, i, STEP_FAILED, "the runbook has no redis section");
		free(bpath);
		return;
	}
	if (redis_status(s->redis)->state != REDIS_UP) {
		char d[300], *why;
		redis_describe(s->redis, d, sizeof d);
		why = xprintf("Redis is %s", d);
		end_step(s, i, STEP_FAILED, why);
		free(why);
		free(bpath);
		return;
	}
	purge_free(lv->purge);
	free(lv->refused);
	lv->refused = NULL;
	free(lv->backup);
	lv->backup = bpath;
	lv->purge = purge_new(s->redis, &s->rb->routes[st->route], bpath,
	    purge_event, lv);
	if (s->audit != NULL)
		purge_set_key(lv->purge, audit_seal_key(s->audit));
	purge_preview(lv->purge);
}

static void
purge_cancel_step(struct session *s, size_t i)
{
	if (s->live[i].purge != NULL)
		purge_cancel(s->live[i].purge);
}

/* run and rollback_check ----------------------------------------------- */

static void
run_line(const char *line, size_t len, bool err, void *arg)
{
	struct live *lv = arg;
	struct session *s = lv->s;

	if (s->hooks.output != NULL)
		s->hooks.output(s, lv->step, line, len, err, s->hooks.arg);
}

static char *
scrub_output(const char *text, size_t len, void *arg)
{
	return audit_scrub(arg, text, len);
}

/* What a command left running, for its result record. */
static void
background_json(const struct run_result *res, json_t *d)
{
	json_object_set_new(d, "stopped", json_integer(res->stopped));
	json_object_set_new(d, "left_running",
	    json_integer(res->left_running));
	json_object_set_new(d, "output_held", json_boolean(res->output_held));
}

static void
command_done(const struct run_result *res, void *arg)
{
	struct live *lv = arg;
	struct session *s = lv->s;
	size_t i = lv->step, k;
	const struct rb_step *st = &s->rb->steps[i];
	struct step_run *r = &s->steps[i];
	bool ok = res->exit_code == 0 && !res->timed_out;
	const char *type = st->kind == STEP_RUN ? "run.done" :
	    "rollback_check.result";
	char *background, *output;
	json_t *d;

	lv->run = NULL;
	/* Values expanded into the command may be secrets: keep them out
	 * of the captured output before it is written. */
	for (k = 0; s->audit != NULL && k < res->nexpanded; k++)
		audit_add_secret(s->audit, res->expanded[k]);
	background = run_background_text(res);
	if (res->timed_out)
		set_observed(r, "timed out after %.1f s%s%s", res->ms / 1000,
		    res->killed ? " (killed: it ignored SIGTERM)" : "",
		    background);
	else if (res->signal != 0)
		set_observed(r, "killed by signal %d after %.1f s%s",
		    res->signal, res->ms / 1000, background);
	else
		set_observed(r, "exit %d in %.1f s, %zu line%s of output%s",
		    res->exit_code, res->ms / 1000, res->lines,
		    res->lines == 1 ? "" : "s", background);
	free(background);
	output = run_capture_text(res, scrub_output, s->audit);
	d = json_pack("{s:s, s:i, s:i, s:b, s:b, s:f, s:I, s:I, s:s}",
	    "command", st->kind == STEP_RUN ? st->cmd.text :
	    s->rb->rollbacks[st->rollback].check.text,
	    "exit", res->exit_code, "signal", res->signal,
	    "timed_out", res->timed_out, "killed", res->killed, "ms", res->ms,
	    "bytes", (json_int_t)res->bytes, "lines", (json_int_t)res->lines,
	    "output", output);
	free(output);
	background_json(res, d);
	if (lv->intent != 0)
		audit_result(s->audit, lv->intent, type, (unsigned)i + 1, d);
	else
		record(s, type, i, d);
	end_step(s, i, ok ? STEP_PASSED : STEP_FAILED, ok ? NULL :
	    res->timed_out ? "timed out" : res->signal != 0 ? "killed" :
	    "non-zero exit status");
}

static void
add_secret(void *arg, const char *value)
{
	if (arg != NULL)
		audit_add_secret(arg, value);
}

static void
command_start(struct session *s, size_t i, const struct rb_cmd *cmd,
    long timeout_s, const char *intent_type)
{
	struct live *lv = &s->live[i];
	char *cause = NULL;

	if (intent_type != NULL) {
		if (s->audit == NULL || audit_refused(s->audit)) {
			char *why = refusal(s);

			end_step(s, i, STEP_FAILED, why);
			free(why);
			return;
		}
		lv->intent = audit_intent(s->audit, intent_type, (unsigned)i + 1,
		    json_pack("{s:s, s:s, s:I, s:b}", "command", cmd->text,
		    "dir", s->rb->dir, "timeout_s", (json_int_t)timeout_s,
		    "shell", cmd->shell));
		if (lv->intent == 0) {
			char *why = refusal(s);

			end_step(s, i, STEP_FAILED, why);
			free(why);
			return;
		}
	}
	run_secrets(cmd, add_secret, s->audit);
	lv->run = run_start(s->loop, cmd, s->rb->dir, s->rb->secret_vars,
	    timeout_s, run_line, command_done, lv, &cause);
	if (lv->run == NULL) {
		if (lv->intent != 0)
			audit_result(s->audit, lv->intent, s->rb->steps[i].kind ==
			    STEP_RUN ? "run.done" : "rollback_check.result",
			    (unsigned)i + 1, json_pack("{s:s}", "error", cause));
		end_step(s, i, STEP_FAILED, cause);
		free(cause);
	}
}

static void
run_start_step(struct session *s, size_t i)
{
	const struct rb_step *st = &s->rb->steps[i];

	command_start(s, i, &st->cmd, st->timeout_s, "run.intent");
}

static void
rollback_check_start_step(struct session *s, size_t i)
{
	const struct rb_rollback *rl = &s->rb->rollbacks[s->rb->steps[i].rollback];

	/* The check proves the rollback can run; one that is not marked
	 * safe may change something: record it as an action. */
	command_start(s, i, &rl->check, rl->timeout_s, rl->check_safe ? NULL :
	    "rollback_check.intent");
}

static void
command_cancel(struct session *s, size_t i)
{
	run_stop(s->live[i].run);	/* command_done ends the step */
}

/* manual ----------------------------------------------------------------- */

static void
manual_start_step(struct session *s, size_t i)
{
	set_observed(&s->steps[i], "waiting for the operator");
	changed(s, i);
}

static void
manual_cancel(struct session *s, size_t i)
{
	end_step(s, i, STEP_SKIPPED, "cancelled");
}

/* Read-only: the kinds that change the world only skip. ------------------ */

static void
read_only_start(struct session *s, size_t i)
{
	end_step(s, i, STEP_SKIPPED, s->opts.check_mode ?
	    "not a read-only check" : "read-only session");
}

static void
nothing_to_cancel(struct session *s, size_t i)
{
	(void)s;
	(void)i;
}

static const struct step_ops http_ops = { "http", http_start_step,
	probe_cancel };
static const struct step_ops measure_ops = { "measure",
	measure_start_step, probe_cancel };
static const struct step_ops wait_ops = { "wait", wait_start_step,
	wait_cancel };
static const struct step_ops purge_ops = { "purge", purge_start_step,
	purge_cancel_step };
static const struct step_ops run_ops = { "run", run_start_step,
	command_cancel };
static const struct step_ops rollback_check_ops = { "rollback_check",
	rollback_check_start_step, command_cancel };
static const struct step_ops manual_ops = { "manual",
	manual_start_step, manual_cancel };
static const struct step_ops skip_ops = { "read-only",
	read_only_start, nothing_to_cancel };

static const struct step_ops *const ops_full[STEP_NKINDS] = {
	[STEP_HTTP] = &http_ops,
	[STEP_MEASURE] = &measure_ops,
	[STEP_WAIT] = &wait_ops,
	[STEP_PURGE] = &purge_ops,
	[STEP_RUN] = &run_ops,
	[STEP_ROLLBACK_CHECK] = &rollback_check_ops,
	[STEP_MANUAL] = &manual_ops,
};

static const struct step_ops *const ops_read_only[STEP_NKINDS] = {
	[STEP_HTTP] = &http_ops,
	[STEP_MEASURE] = &measure_ops,
	[STEP_WAIT] = &wait_ops,
	[STEP_PURGE] = &skip_ops,
	[STEP_RUN] = &skip_ops,
	[STEP_ROLLBACK_CHECK] = &rollback_check_ops,	/* safe ones only */
	[STEP_MANUAL] = &manual_ops,
};

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
	s->http = h;
	s->opts = *o;
	if (hooks != NULL)
		s->hooks = *hooks;
	s->ops = o->read_only ? ops_read_only : ops_full;
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
		http_cancel(s->live[i].probe);
		sample_cancel(s->live[i].sampler);
		purge_free(s->live[i].purge);
		free(s->live[i].backup);
		free(s->live[i].refused);
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
	return s->ops == ops_full && policy_acts(s->rb, i);
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
	record(s, "step.start", i, json_pack("{s:s, s:s}", "title", st->title,
	    "kind", step_kind_name(st->kind)));
	changed(s, i);
	/* Structural, whatever the caller decided: a read-only session runs
	 * no check that may change something. */
	if ((s->opts.read_only || s->opts.check_mode) && policy_acts(s->rb, i))
		read_only_start(s, i);
	else
		s->ops[st->kind]->start(s, i);
	return 0;
}

int
session_confirm(struct session *s, size_t i, char **cause)
{
	struct live *lv = &s->live[i];
	const struct rb_step *st = &s->rb->steps[i];
	const struct purge_report *rep;

	if (st->kind != STEP_PURGE || lv->purge == NULL ||
	    purge_report(lv->purge)->state != PURGE_READY ||
	    s->ops[STEP_PURGE] != &purge_ops) {
		xasprintf(cause, "step %zu has no purge waiting", i + 1);
		return -1;
	}
	if (s->audit == NULL || audit_refused(s->audit)) {
		*cause = refusal(s);
		free(lv->refused);
		lv->refused = xstrdup(*cause);
		purge_cancel(lv->purge);
		return -1;
	}
	rep = purge_report(lv->purge);
	lv->intent = audit_intent(s->audit, "purge.intent", (unsigned)i + 1,
	    json_pack("{s:s, s:o, s:I, s:o}", "route",
	    s->rb->routes[st->route].name, "patterns",
	    patterns(&s->rb->routes[st->route]), "previewed",
	    (json_int_t)rep->previewed, "backup", lv->backup ?
	    json_string(lv->backup) : json_null()));
	if (lv->intent == 0) {
		*cause = refusal(s);
		free(lv->refused);
		lv->refused = xstrdup(*cause);
		purge_cancel(lv->purge);
		return -1;
	}
	return purge_confirm(lv->purge);
}

void
session_cancel(struct session *s, size_t i)
{
	if (s->steps[i].state == STEP_RUNNING)
		s->ops[s->rb->steps[i].kind]->cancel(s, i);
}

static void
mark(struct session *s, size_t i, enum step_state st, const char *reason)
{
	struct step_run *r = &s->steps[i];

	if (r->state != STEP_PENDING && r->state != STEP_RUNNING)
		return;
	if (r->state == STEP_PENDING)
		record(s, "step.start", i, json_pack("{s:s, s:s}", "title",
		    s->rb->steps[i].title, "kind",
		    step_kind_name(s->rb->steps[i].kind)));
	end_step(s, i, st, reason);
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
	if (s->rb->steps[i].kind != STEP_MANUAL)
		return;
	record(s, "manual", i, json_pack("{s:s, s:s}", "verdict", pass ?
	    "pass" : "fail", "note", note ? note : ""));
	set_observed(&s->steps[i], "marked %s by the operator%s%s",
	    pass ? "pass" : "fail", note ? ": " : "", note ? note : "");
	mark(s, i, pass ? STEP_PASSED : STEP_FAILED, pass ? NULL : note);
}

void
session_note(struct session *s, size_t i, const char *text)
{
	record(s, "note", i, json_pack("{s:s}", "text", text));
	s->steps[i].nnotes++;
	changed(s, i);
}

struct rollback_ctx {
	struct session	*s;
	size_t		 rollback;
	uint64_t	 intent;
};

static void
rollback_line(const char *line, size_t len, bool err, void *arg)
{
	struct rollback_ctx *c = arg;
	struct session *s = c->s;

	if (s->hooks.output != NULL)
		s->hooks.output(s, (size_t)-1, line, len, err, s->hooks.arg);
}

static void
rollback_done(const struct run_result *res, void *arg)
{
	struct rollback_ctx *c = arg;
	struct session *s = c->s;
	char *output;
	json_t *d;
	size_t k;

	for (k = 0; s->audit != NULL && k < res->nexpanded; k++)
		audit_add_secret(s->audit, res->expanded[k]);
	output = run_capture_text(res, scrub_output, s->audit);
	d = json_pack("{s:s, s:i, s:i, s:b, s:f, s:s}", "rollback",
	    s->rb->rollbacks[c->rollback].name, "exit", res->exit_code,
	    "signal", res->signal, "timed_out", res->timed_out, "ms", res->ms,
	    "output", output);
	free(output);
	background_json(res, d);
	audit_result(s->audit, c->intent, "rollback.done", 0, d);
	s->rollback_run = NULL;
	if (s->hooks.changed != NULL)
		s->hooks.changed(s, (size_t)-1, s->hooks.arg);
	free(c);
}

int
session_rollback(struct session *s, size_t rb_i, char **cause)
{
	const struct rb_rollback *rl = &s->rb->rollbacks[rb_i];
	struct rollback_ctx *c;

	if (s->opts.read_only || s->ops != ops_full) {
		xasprintf(cause, "a read-only session runs no rollback");
		return -1;
	}
	if (s->rollback_run != NULL) {
		xasprintf(cause, "a rollback is already running");
		return -1;
	}
	if (s->audit == NULL || audit_refused(s->audit)) {
		*cause = refusal(s);
		return -1;
	}
	c = xcalloc(1, sizeof *c);
	c->s = s;
	c->rollback = rb_i;
	run_secrets(&rl->run, add_secret, s->audit);
	c->intent = audit_intent(s->audit, "rollback.intent", 0, json_pack(
	    "{s:s, s:s}", "rollback", rl->name, "command", rl->run.text));
	if (c->intent == 0) {
		free(c);
		*cause = refusal(s);
		return -1;
	}
	s->rollback_run = run_start(s->loop, &rl->run, s->rb->dir,
	    s->rb->secret_vars, rl->timeout_s, rollback_line, rollback_done, c, cause);
	if (s->rollback_run == NULL) {
		audit_result(s->audit, c->intent, "rollback.done", 0,
		    json_pack("{s:s}", "error", *cause));
		free(c);
		return -1;
	}
	return 0;
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
