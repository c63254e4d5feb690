/* step_http.c: the kinds that probe HTTP routes: http (one request),
 * measure (samples, compared with an earlier measure) and wait (probes
 * every every_s until the expectation holds or timeout_s passes).  They
 * change nothing; they share the request, the expectation and the
 * checks. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "record.h"
#include "runbook_load.h"
#include "session_step.h"
#include "textesc.h"
#include "xmalloc.h"

/* Loading and describing ----------------------------------------------- */

/* route (+ profile, expect) of an http, measure or wait step. */
static void
load_probe_target(struct rb_loader *L, struct rb_step *s, const struct ynode *n,
    const char *field)
{
	const struct ynode *r = n->type == YN_MAP ? ymap_get(n, "route") : n;
	const struct ynode *p, *e;
	char sub[64];

	s->profile = RB_NONE;
	snprintf(sub, sizeof sub, "%s.route", field);
	if (r == NULL) {
		rbl_err(L, n, "%s is missing", rbl_at(L, sub));
		return;
	}
	s->route = rbl_resolve(L, r, n->type == YN_MAP ? sub : field, RBL_ROUTE);
	if (s->route != RB_NONE && L->rb->routes[s->route].path == NULL &&
	    L->rb->routes[s->route].url == NULL)
		rbl_err(L, r, "%s: route '%s' has no path or url to request",
		    rbl_at(L, field), L->rb->routes[s->route].name);
	if (n->type != YN_MAP)
		return;
	if ((p = ymap_get(n, "profile")) != NULL &&
	    !(p->type == YN_SCALAR && strcmp(p->str, "anonymous") == 0)) {
		snprintf(sub, sizeof sub, "%s.profile", field);
		s->profile = rbl_resolve(L, p, sub, RBL_PROFILE);
	}
	if ((e = ymap_get(n, "expect")) != NULL) {
		snprintf(sub, sizeof sub, "%s.expect", field);
		s->expect = rbl_load_expect(L, e, sub);
	}
}

static void
http_load(struct rb_loader *L, struct rb_step *s, const struct ynode *n,
    size_t idx)
{
	(void)idx;
	load_probe_target(L, s, n, "http");
}

static void
measure_load(struct rb_loader *L, struct rb_step *s, const struct ynode *n,
    size_t idx)
{
	s->samples = 20;
	s->concurrency = 1;
	s->compare = RB_NONE;
	if (n->type == YN_MAP) {
		rbl_field_long(L, n, "samples", 1, 10000, 20, &s->samples);
		rbl_field_long(L, n, "concurrency", 1, 32, 1, &s->concurrency);
		if (s->concurrency > s->samples)
			rbl_err(L, ymap_get(n, "concurrency"), "%s: is more "
			    "than samples (%ld)", rbl_at(L, "concurrency"),
			    s->samples);
		L->compare[idx] = ymap_get(n, "compare");
	}
	load_probe_target(L, s, n, "measure");
}

static void
wait_load(struct rb_loader *L, struct rb_step *s, const struct ynode *n,
    size_t idx)
{
	(void)idx;
	if (!rbl_want_map(L, n, "wait"))
		return;
	load_probe_target(L, s, n, "wait");
	if (s->expect == NULL && ymap_get(n, "expect") == NULL)
		rbl_err(L, n, "%s is missing: a wait polls until an "
		    "expectation holds", rbl_at(L, "wait.expect"));
	rbl_field_double(L, n, "every_s", 0.1, 3600, 1, &s->every_s);
	rbl_field_double(L, n, "timeout_s", 1, 86400, 60, &s->timeout_wait_s);
	if (s->every_s > s->timeout_wait_s)
		rbl_err(L, ymap_get(n, "every_s"), "%s: is longer than "
		    "timeout_s", rbl_at(L, "wait.every_s"));
}

/* " ROUTE[ as PROFILE]" */
static void
probe_describe(const struct runbook *rb, const struct rb_step *s,
    struct buf *b)
{
	buf_addf(b, " %s", s->route != RB_NONE ? rb->routes[s->route].name :
	    "?");
	if (s->profile != RB_NONE)
		buf_addf(b, " as %s", rb->http.profiles[s->profile].name);
}

static void
measure_describe(const struct runbook *rb, const struct rb_step *s,
    struct buf *b)
{
	probe_describe(rb, s, b);
	buf_addf(b, ", %ld sample%s", s->samples, s->samples == 1 ? "" : "s");
	if (s->concurrency > 1)
		buf_addf(b, ", %ld at a time", s->concurrency);
	if (s->compare != RB_NONE)
		buf_addf(b, ", compared with %s", rb->steps[s->compare].id);
}

static void
wait_describe(const struct runbook *rb, const struct rb_step *s,
    struct buf *b)
{
	probe_describe(rb, s, b);
	buf_addf(b, ", every %gs for up to %gs", s->every_s, s->timeout_wait_s);
}

/* Running -------------------------------------------------------------- */

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
	struct step_live *lv = arg;
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
		session_observed(s, i, "%ld %s %.1f ms (first byte %.1f ms)",
		    res->status, res->cache[0] ? res->cache : "-",
		    res->total_ms, res->ttfb_ms);
	else
		session_observed(s, i, "%s", res->error);
	session_record(s, record_name(REC_HTTP_RESULT), i, json_pack(
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
	session_end(s, i, from_verdict(r->checks.verdict), why);
	free(why);
}

static bool
start_probe(struct session *s, size_t i, http_done_fn fn)
{
	const struct rb_step *st = &s->rb->steps[i];
	struct step_live *lv = &s->live[i];
	struct http_req q;
	char *cause = NULL;

	if (http_req_for(s->rb, st->route, st->profile, &q, &cause) != 0) {
		session_end(s, i, STEP_FAILED, cause);
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
	struct step_live *lv = &s->live[i];

	http_cancel(lv->probe);
	lv->probe = NULL;
	sample_cancel(lv->sampler);
	lv->sampler = NULL;
	session_end(s, i, STEP_SKIPPED, "cancelled");
}

/* measure ---------------------------------------------------------------- */

static void
measure_done(const struct sample_stats *stats, void *arg)
{
	struct step_live *lv = arg;
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
	session_observed(s, i, "%zu/%zu answered, p50 %.1f ms, p95 %.1f ms, max "
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
	session_record(s, record_name(REC_MEASURE_RESULT), i, json_pack(
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
	session_end(s, i, state, why);
	free(why);
}

static void
measure_start_step(struct session *s, size_t i)
{
	const struct rb_step *st = &s->rb->steps[i];
	struct step_live *lv = &s->live[i];
	struct http_req q;
	char *cause = NULL;

	if (http_req_for(s->rb, st->route, st->profile, &q, &cause) != 0) {
		session_end(s, i, STEP_FAILED, cause);
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
	struct step_live *lv = arg;
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
		session_observed(s, i, "held after %u probe%s, %.1f s (%s)", r->polls,
		    r->polls == 1 ? "" : "s", loop_now() - lv->started,
		    lv->last);
		session_end(s, i, from_verdict(r->checks.verdict), NULL);
		return;
	}
	if (loop_now() + st->every_s > lv->deadline) {
		session_observed(s, i, "did not hold within %g s (%u probes; last: "
		    "%s)", st->timeout_wait_s, r->polls, lv->last);
		session_record(s, record_name(REC_WAIT_RESULT), i,
		    json_pack("{s:I, s:o}", "probes",
		    (json_int_t)r->polls, "checks", checks_json(&r->checks)));
		char *why = first_miss(&r->checks);
		session_end(s, i, STEP_FAILED, why ? why : "timed out");
		free(why);
		return;
	}
	session_changed(s, i);
	timer_arm(lv->poll, st->every_s);
}

static void
wait_poll(void *arg)
{
	struct step_live *lv = arg;

	start_probe(lv->s, lv->step, wait_done);
}

static void
wait_start_step(struct session *s, size_t i)
{
	struct step_live *lv = &s->live[i];

	lv->deadline = lv->started + s->rb->steps[i].timeout_wait_s;
	lv->poll = timer_new(s->loop, wait_poll, lv);
	wait_poll(lv);
}

static void
wait_cancel(struct session *s, size_t i)
{
	struct step_live *lv = &s->live[i];

	http_cancel(lv->probe);
	lv->probe = NULL;
	session_end(s, i, STEP_SKIPPED, "cancelled");
}

static void
probe_release(struct session *s, size_t i)
{
	http_cancel(s->live[i].probe);
	sample_cancel(s->live[i].sampler);
}

static const char *const http_keys[] = { "route", "profile", "expect", NULL };
static const char *const measure_keys[] = { "route", "profile", "samples",
	"concurrency", "compare", "expect", NULL };
static const char *const wait_keys[] = { "route", "profile", "expect",
	"every_s", "timeout_s", NULL };

const struct step_kind step_http = {
	.name = "http",
	.keys = http_keys,
	.result = REC_HTTP_RESULT,
	.load = http_load,
	.describe = probe_describe,
	.start = http_start_step,
	.cancel = probe_cancel,
	.release = probe_release,
};

const struct step_kind step_measure = {
	.name = "measure",
	.keys = measure_keys,
	.measures = true,
	.result = REC_MEASURE_RESULT,
	.load = measure_load,
	.describe = measure_describe,
	.start = measure_start_step,
	.cancel = probe_cancel,
	.release = probe_release,
};

const struct step_kind step_wait = {
	.name = "wait",
	.keys = wait_keys,
	.result = REC_WAIT_RESULT,
	.load = wait_load,
	.describe = wait_describe,
	.start = wait_start_step,
	.cancel = wait_cancel,
	.release = probe_release,
};
