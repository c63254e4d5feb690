/* cmd_check.c: `rehearse check [--format text|tap|json] [--audit FILE]
 * RUNBOOK`: only what cannot change anything (the Redis readouts, the
 * steps the policy lets run in check mode), each result written by the
 * emitter of the format asked. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "cli.h"
#include "readout.h"
#include "redis.h"
#include "rehearsal.h"
#include "runbook.h"
#include "sentinel.h"
#include "session.h"
#include "textesc.h"

/* What check found of Redis, for the emitters. */
struct check_redis {
	bool		 ok;		/* up, read, no route count failed */
	bool		 up;
	const struct readout *x;	/* NULL: not connected */
	const char	*desc;		/* the connection's state */
	const char	*why;		/* why the readout is not ok */
	const char	*role;
	const char	*ratio;		/* the hit ratio, or "n/a" */
};

/* One output format.  n counts TAP test points; out is json's. */
struct check_out {
	const struct check_emitter *em;
	const struct runbook *rb;
	size_t		 n;
	json_t		*out;
	json_t		*steps;
};

struct check_emitter {
	const char	*name;
	void		(*begin)(struct check_out *);
	void		(*redis)(struct check_out *, const struct check_redis *);
	void		(*step)(struct check_out *, size_t step,
			    const struct step_run *, const char *title);
	void		(*end)(struct check_out *, size_t failed);
};

/* The checks of a step that did not pass, one line each after lead. */
static void
print_checks(const char *lead, const struct step_run *r)
{
	size_t j;

	for (j = 0; j < r->checks.n; j++)
		if (r->checks.v[j].verdict != VERDICT_PASS)
			printf("%s%s %s: expected %s, got %s\n", lead,
			    verdict_name(r->checks.v[j].verdict),
			    r->checks.v[j].what, r->checks.v[j].expected,
			    r->checks.v[j].observed);
}

/* redis.tls.verify: false, said on every output (tls and verify). */
#define TLS_UNCHECKED	"TLS certificate NOT checked (redis.tls.verify: false)"

static bool
tls_unchecked(const struct runbook *rb)
{
	return rb->has_redis && rb->redis.tls.on && !rb->redis.tls.verify;
}

static void
text_begin(struct check_out *o)
{
	(void)o;
}

/* The INFO sections this user may not read, as "memory, stats"; false
 * when there is none. */
static bool
denied(const struct readout *x, char *buf, size_t len)
{
	static const char *const name[INFO_NSECTIONS] = { "server",
	    "clients", "memory", "stats", "replication" };
	size_t at = 0;
	int sec;

	buf[0] = '\0';
	for (sec = 0; sec < INFO_NSECTIONS; sec++) {
		if (x->sec_ok[sec] || strncmp(x->sec_why[sec], "not permitted",
		    13) != 0)
			continue;
		at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s",
		    at ? ", " : "", name[sec]);
		if (at >= len)
			break;
	}
	return buf[0] != '\0';
}

static void
text_redis(struct check_out *o, const struct check_redis *cr)
{
	const struct readout *x = cr->x;
	char names[120];
	size_t i;

	printf("%s redis: %s", cr->ok ? "ok  " : "FAIL", cr->desc);
	if (x != NULL && x->state == READOUT_OK) {
		printf(", %s", cr->role);
		if (x->sec_ok[INFO_MEMORY])
			printf(", %lld bytes used", x->used_memory);
		if (x->sec_ok[INFO_STATS])
			printf(", hit ratio %s, %lld ops/s", cr->ratio,
			    x->ops_per_sec);
		printf(", %lld keys", x->dbsize);
	} else if (cr->up)
		printf("; readouts %s", cr->why);
	printf("\n");
	if (x != NULL && x->state == READOUT_OK && denied(x, names,
	    sizeof names))
		printf("note redis: not permitted for this user: INFO %s\n",
		    names);
	if (tls_unchecked(o->rb))
		printf("warn redis: %s\n", TLS_UNCHECKED);
	for (i = 0; x != NULL && i < x->nroutes; i++)
		if (x->routes[i].error[0] != '\0')
			printf("FAIL redis: route %s: %s\n",
			    o->rb->routes[i].name, x->routes[i].error);
}

static void
text_step(struct check_out *o, size_t i, const struct step_run *r,
    const char *t)
{
	(void)o;
	printf("%-4s step %zu: %s: %s%s%s\n", r->state == STEP_FAILED ? "FAIL" :
	    r->state == STEP_SKIPPED ? "skip" : r->state == STEP_DEGRADED ?
	    "slow" : "ok", i + 1, t, r->observed ? r->observed : "",
	    r->reason && r->state != STEP_PASSED ? " -- " : "",
	    r->reason && r->state != STEP_PASSED ? r->reason : "");
	print_checks("       ", r);
}

static void
text_end(struct check_out *o, size_t failed)
{
	(void)o;
	printf("%s: %zu failed\n", failed ? "FAIL" : "ok", failed);
}

static void
tap_redis(struct check_out *o, const struct check_redis *cr)
{
	const struct readout *x = cr->x;
	char names[120];
	size_t i;

	printf("%s %zu - redis: %s", cr->ok ? "ok" : "not ok", ++o->n,
	    cr->desc);
	if (x != NULL && x->state == READOUT_OK)
		printf(", %s", cr->role);
	else if (cr->up)
		printf("; readouts %s", cr->why);
	printf("\n");
	if (x != NULL && x->state == READOUT_OK && denied(x, names,
	    sizeof names))
		printf("# not permitted for this user: INFO %s\n", names);
	if (tls_unchecked(o->rb))
		printf("# %s\n", TLS_UNCHECKED);
	for (i = 0; x != NULL && i < x->nroutes; i++)
		if (x->routes[i].error[0] != '\0')
			printf("# route %s: %s\n", o->rb->routes[i].name,
			    x->routes[i].error);
}

static void
tap_step(struct check_out *o, size_t i, const struct step_run *r,
    const char *t)
{
	printf("%s %zu - step %zu: %s%s%s\n", r->state == STEP_FAILED ?
	    "not ok" : "ok", ++o->n, i + 1, t, r->state == STEP_SKIPPED ?
	    " # SKIP " : "", r->state == STEP_SKIPPED && r->reason ?
	    r->reason : "");
	print_checks("# ", r);
}

static void
tap_end(struct check_out *o, size_t failed)
{
	(void)failed;
	printf("1..%zu\n", o->n);
}

static void
json_begin(struct check_out *o)
{
	o->out = json_object();
	o->steps = json_array();
}

static void
json_redis(struct check_out *o, const struct check_redis *cr)
{
	const struct readout *x = cr->x;
	bool known = x != NULL && x->state == READOUT_OK;
	json_t *js = json_object(), *bad = json_array();
	size_t i;

	json_object_set_new(js, "up", json_boolean(cr->ok));
	json_object_set_new(js, "state", json_string(cr->desc));
	json_object_set_new(js, "readout", json_string(known ? "ok" :
	    "unknown"));
	json_object_set_new(js, "reason", known ? json_null() :
	    json_string(x != NULL && x->state == READOUT_UNKNOWN ? x->why :
	    cr->why));
	json_object_set_new(js, "role", known && x->node.role[0] ?
	    json_string(x->node.role) : json_null());
	json_object_set_new(js, "master_host", known &&
	    x->node.master_host[0] ? json_string(x->node.master_host) :
	    json_null());
	json_object_set_new(js, "cluster_enabled", known ?
	    json_boolean(x->node.cluster) : json_null());
	json_object_set_new(js, "used_memory", known &&
	    x->sec_ok[INFO_MEMORY] ? json_integer((json_int_t)x->used_memory) :
	    json_null());
	json_object_set_new(js, "keys", known ?
	    json_integer((json_int_t)x->dbsize) : json_null());
	json_object_set_new(js, "hit_ratio", !known ||
	    !x->sec_ok[INFO_STATS] || x->hit_ratio < 0 ? json_null() :
	    json_real(x->hit_ratio));
	if (known) {
		char names[120], *p, *q;
		json_t *np = json_array();

		denied(x, names, sizeof names);
		for (p = names; *p != '\0'; p = *q ? q + 2 : q) {
			q = strchr(p, ',');
			if (q == NULL)
				q = p + strlen(p);
			json_array_append_new(np, json_stringn(p,
			    (size_t)(q - p)));
		}
		json_object_set_new(js, "info_not_permitted", np);
	}
	for (i = 0; x != NULL && i < x->nroutes; i++)
		if (x->routes[i].error[0] != '\0')
			json_array_append_new(bad, json_pack("{s:s, s:s}",
			    "route", o->rb->routes[i].name, "error",
			    x->routes[i].error));
	json_object_set_new(js, "route_errors", bad);
	json_object_set_new(js, "tls", json_string(!o->rb->redis.tls.on ?
	    "off" : tls_unchecked(o->rb) ? "not checked" : "checked"));
	json_object_set_new(o->out, "redis", js);
}

static void
json_step(struct check_out *o, size_t i, const struct step_run *r,
    const char *t)
{
	const struct rb_step *st = &o->rb->steps[i];
	json_t *js, *checks = json_array();
	size_t j;

	(void)t;	/* the JSON encoder escapes the title itself */
	for (j = 0; j < r->checks.n; j++)
		json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:s}",
		    "what", r->checks.v[j].what, "expected",
		    r->checks.v[j].expected, "observed",
		    r->checks.v[j].observed, "verdict",
		    verdict_name(r->checks.v[j].verdict)));
	js = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "step",
	    (json_int_t)i + 1, "title", st->title, "kind",
	    step_kind_name(st->kind), "verdict", step_state_name(r->state),
	    "observed", r->observed ? r->observed : "", "reason",
	    r->reason ? r->reason : "", "checks", checks);
	json_array_append_new(o->steps, js);
}

static void
json_end(struct check_out *o, size_t failed)
{
	char *t;

	json_object_set_new(o->out, "steps", o->steps);
	json_object_set_new(o->out, "failed", json_integer((json_int_t)failed));
	t = audit_json_encode(o->out);
	printf("%s\n", t);
	free(t);
	json_decref(o->out);
}

static const struct check_emitter check_emitters[] = {
	{ "text", text_begin, text_redis, text_step, text_end },
	{ "tap", text_begin, tap_redis, tap_step, tap_end },
	{ "json", json_begin, json_redis, json_step, json_end },
};
#define NEMITTERS (sizeof check_emitters / sizeof check_emitters[0])

/* The first round of readouts is over, and the route counts it started
 * are done. */
static bool
readout_settled(void *arg)
{
	const struct readout *x = readouts_get(arg);
	size_t i;

	if (x->rounds < 1)
		return false;
	for (i = 0; i < x->nroutes; i++)
		if (x->routes[i].counting)
			return false;
	return true;
}

/*
 * The Redis part of check: one round of readouts.  Redis is "ok" only when
 * it is up and the round read INFO and DBSIZE (a refused, unfinished or
 * Sentinel INFO is unknown, and unknown fails), and no route count failed.
 * Returns true when ok, after the emitter wrote it.
 */
static bool
check_redis(struct rehearsal *rh, struct check_out *o)
{
	struct check_redis cr;
	const struct readout *x = NULL;
	char desc[1100], why[300], role[300] = "", ratio[16];
	double limit = 5.0 + 3.0 * (double)rh->rb->redis.timeout_ms / 1000.0;
	size_t i, nbad = 0;

	cr.up = redis_status(rh->redis)->state == REDIS_UP;
	if (cr.up) {
		/* The rehearsal frees it after the connection. */
		rh->readouts = readouts_new(rh->loop, rh->redis, rh->rb, NULL,
		    NULL);
		readouts_refresh(rh->readouts);
		loop_run_until(rh->loop, readout_settled, rh->readouts, limit);
		x = readouts_get(rh->readouts);
	}
	/* After the round: a server that misbehaved in it is down now. */
	redis_describe(rh->redis, desc, sizeof desc);
	if (rh->sentinel != NULL) {
		/* "up, 0.2 ms, master NAME at HOST:PORT since ..." */
		size_t used = strlen(desc);

		desc[used++] = ',';
		desc[used++] = ' ';
		sentinel_describe(rh->sentinel, desc + used, sizeof desc - used);
	}
	if (x != NULL && x->state == READOUT_PENDING)
		snprintf(why, sizeof why, "no readout within %.0f s", limit);
	else if (x != NULL)
		readout_describe(x, why, sizeof why);
	else
		snprintf(why, sizeof why, "not connected");
	if (x != NULL)
		readout_describe_role(&x->node, role, sizeof role);
	for (i = 0; x != NULL && i < x->nroutes; i++)
		if (x->routes[i].error[0] != '\0')
			nbad++;
	if (x != NULL && x->hit_ratio >= 0)
		snprintf(ratio, sizeof ratio, "%.2f", x->hit_ratio);
	else
		snprintf(ratio, sizeof ratio, "n/a");
	cr.ok = cr.up && x != NULL && x->state == READOUT_OK && nbad == 0;
	cr.x = x;
	cr.desc = desc;
	cr.why = why;
	cr.role = role;
	cr.ratio = ratio;
	o->em->redis(o, &cr);
	return cr.ok;
}

static int
cmd_check(const struct cli_args *a)
{
	struct rehearsal_opts ro;
	struct rehearsal *rh;
	struct check_out o;
	const char *fmt = cli_get(a, 'F');
	char *cause = NULL, *t;
	size_t i, failed = 0;

	memset(&o, 0, sizeof o);
	o.em = &check_emitters[0];
	for (i = 0; fmt != NULL && i < NEMITTERS; i++)
		if (strcmp(fmt, check_emitters[i].name) == 0)
			o.em = &check_emitters[i];
	if (fmt != NULL && strcmp(o.em->name, fmt) != 0)
		return cli_usage_error("check", "--format takes text, tap or "
		    "json, not '%s'", fmt);
	if (a->argc != 1)
		return cli_usage_error("check", "give one runbook");
	memset(&ro, 0, sizeof ro);
	ro.runbook = a->argv[0];
	ro.audit = cli_get(a, 'a');
	ro.log = ro.audit != NULL;
	ro.mode = POLICY_CHECK;
	/* Signals as in a batch run; `check | head -1`: still its verdict. */
	ro.parts = REHEARSAL_HTTP | REHEARSAL_REDIS | REHEARSAL_SETTLE |
	    REHEARSAL_SESSION | REHEARSAL_SIGNALS;
	if ((rh = rehearsal_open(&ro, &cause)) == NULL)
		return cli_failed(cause, EXIT_USAGE);
	o.rb = rh->rb;
	o.em->begin(&o);
	/* Redis first: its readouts, or why there are none. */
	if (rh->redis != NULL && !check_redis(rh, &o))
		failed++;
	for (i = 0; i < rh->rb->nsteps && !rh->interrupted; i++) {
		rehearsal_run_step(rh, i);	/* or skipped, as the policy says */
		if (session_step(rh->session, i)->state == STEP_FAILED)
			failed++;
		t = esc_str(rh->rb->steps[i].title, 0);
		o.em->step(&o, i, session_step(rh->session, i), t);
		free(t);
	}
	o.em->end(&o, failed);
	return rehearsal_close(rh, failed > 0 || rh->interrupted ?
	    EXIT_FAILED : EXIT_OK);
}

static const struct cli_opt check_opts[] = {
	{ 'F', false, "format", "FORMAT", "text tap json",
	  "text (the default), tap or json" },
	{ 'a', false, "audit", "FILE", "",
	  "write an audit log of the checks to FILE" },
	{ 0, false, NULL, NULL, NULL, NULL },
};

static const struct cli_usage check_usage[] = {
	{ "check [--format text|tap|json] [--audit FILE] RUNBOOK",
	  "run only the read-only checks of a runbook" },
	{ NULL, NULL },
};

const struct cli_cmd cmd_check_entry = {
	"check", check_usage,
	"Runs only what cannot change anything: the Redis readouts, http and "
	"wait steps,\nmeasures before any purge, rollback checks marked "
	"check_safe.  Exit 1 when an\nexpectation fails: a gate for CI.",
	check_opts, cmd_check,
};
