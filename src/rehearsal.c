/* rehearsal.c: see rehearsal.h. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_read.h"
#include "cli.h"
#include "cluster.h"
#include "diag.h"
#include "http.h"
#include "log_digest.h"
#include "loop.h"
#include "monitor.h"
#include "readout.h"
#include "record.h"
#include "redis.h"
#include "rehearsal.h"
#include "runbook.h"
#include "sentinel.h"
#include "step.h"
#include "textesc.h"
#include "xmalloc.h"

/* The session's and the live readouts' events, for whoever listens. */
static void
fwd_changed(struct session *s, size_t i, void *arg)
{
	struct rehearsal *rh = arg;

	if (rh->client.changed != NULL)
		rh->client.changed(s, i, rh->client.arg);
}

static void
fwd_output(struct session *s, size_t i, const char *line, size_t len,
    bool err, void *arg)
{
	struct rehearsal *rh = arg;

	if (rh->client.output != NULL)
		rh->client.output(s, i, line, len, err, rh->client.arg);
}

static void
fwd_previewed(struct session *s, size_t i, const struct purge *p, void *arg)
{
	struct rehearsal *rh = arg;

	if (rh->client.previewed != NULL)
		rh->client.previewed(s, i, p, rh->client.arg);
}

static void
fwd_live(void *arg)
{
	struct rehearsal *rh = arg;

	if (rh->live_changed != NULL)
		rh->live_changed(rh->client.arg);
}

void
rehearsal_listen(struct rehearsal *rh, const struct session_hooks *hooks,
    void (*live_changed)(void *))
{
	rh->client = *hooks;
	rh->live_changed = live_changed;
}

void
rehearsal_stop(struct rehearsal *rh, const char *why)
{
	/* A stderr that went away points at /dev/null by now. */
	if (why != NULL)
		fprintf(stderr, "rehearse: %s: stopping the current step\n", why);
	rh->interrupted = true;
	if (rh->session != NULL && rh->current != RB_NONE)
		session_cancel(rh->session, rh->current);
}

static void
on_signal(int sig, void *arg)
{
	rehearsal_stop(arg, sig == SIGINT ? "interrupted" : sig == SIGHUP ?
	    "hung up" : "terminated");
}

static bool
step_settled(void *arg)
{
	struct rehearsal *rh = arg;

	return session_step(rh->session, rh->current)->state != STEP_RUNNING;
}

void
rehearsal_run_step(struct rehearsal *rh, size_t i)
{
	struct policy_decision d = policy_decide(rh->rb, i, rh->mode,
	    rh->pflags);
	char *cause = NULL, *e;

	switch (d.verdict) {
	case POLICY_SKIP:
		session_skip(rh->session, i, d.why);
		return;
	case POLICY_REFUSE:
		session_refuse(rh->session, i, d.why);
		return;
	case POLICY_ASK:	/* not without a screen; never run unasked */
		session_refuse(rh->session, i, "needs a person to confirm it");
		return;
	case POLICY_RUN:
		break;
	}
	rh->current = i;
	if (session_start(rh->session, i, &cause) != 0) {
		e = esc_str(cause, 0);
		fprintf(stderr, "rehearse: %s\n", e);
		free(e);
		free(cause);
		rh->current = RB_NONE;
		return;
	}
	if (step_kind_of(&rh->rb->steps[i])->person)	/* --yes confirms */
		session_manual(rh->session, i, true, "confirmed with --yes");
	loop_run_until(rh->loop, step_settled, rh, LOOP_FOREVER);
	rh->current = RB_NONE;
}

size_t
rehearsal_failed(const struct rehearsal *rh)
{
	size_t i, n = 0;

	for (i = 0; rh->session != NULL && i < rh->rb->nsteps; i++)
		if (session_step(rh->session, i)->state == STEP_FAILED)
			n++;
	return n;
}

/* Resume ----------------------------------------------------------------- */

static enum step_state
state_named(const char *v)
{
	if (strcmp(v, "pass") == 0)
		return STEP_PASSED;
	if (strcmp(v, "degraded") == 0)
		return STEP_DEGRADED;
	if (strcmp(v, "fail") == 0)
		return STEP_FAILED;
	if (strcmp(v, "skipped") == 0)
		return STEP_SKIPPED;
	return STEP_PENDING;
}

/* The runbook a log was written for, from its session.start. */
static char *
log_runbook(const char *log, char sha[65], char **cause)
{
	struct audit_reader *r = audit_reader_open(log, cause);
	struct audit_line l;
	json_t *o, *rbj;
	char *path = NULL;

	if (r == NULL)
		return NULL;
	if (audit_reader_next(r, &l, cause) == 1 &&
	    (o = json_loadb(l.text, l.len, 0, NULL)) != NULL) {
		rbj = json_object_get(json_object_get(o, "data"), "runbook");
		if (json_is_string(json_object_get(rbj, "path")) &&
		    json_is_string(json_object_get(rbj, "sha256"))) {
			path = xstrdup(json_string_value(json_object_get(rbj,
			    "path")));
			snprintf(sha, 65, "%s", json_string_value(
			    json_object_get(rbj, "sha256")));
		}
		json_decref(o);
	}
	audit_reader_close(r);
	if (path == NULL && *cause == NULL)
		xasprintf(cause, "%s: no runbook named in its first record", log);
	return path;
}

/* Verdicts already in the log: those steps keep them. */
static void
replay_verdicts(struct rehearsal *c, const char *log)
{
	struct audit_reader *r;
	struct audit_line l;
	struct log_digest ld;
	const struct ld_step *s;
	char *cause = NULL;
	const char *v;
	json_t *o;
	size_t i;

	if ((r = audit_reader_open(log, &cause)) == NULL) {
		free(cause);
		return;
	}
	log_digest_init(&ld, c->rb->nsteps, true);
	while (audit_reader_next(r, &l, &cause) == 1) {
		if (!l.complete || (o = log_digest_parse(&l)) == NULL)
			continue;
		log_digest_feed(&ld, l.lineno, o);
		json_decref(o);
		if ((s = ld.touched) == NULL || ld.last != REC_STEP_RESULT)
			continue;
		i = (size_t)(s - ld.steps);
		/* The verdict is read from its own member only.  One that is
		 * not a verdict (a log whose redaction rewrote it) does not
		 * make the step pending: that would run a passed deploy
		 * again. */
		v = ld_str(s->verdict);
		if (v == NULL || state_named(v) == STEP_PENDING) {
			char *why = xprintf("outcome unknown: its recorded "
			    "verdict is not one rehearse writes (%s); check by "
			    "hand", v != NULL ? v : "none");

			session_restore(c->session, i, STEP_FAILED, why);
			free(why);
		} else if (state_named(v) != STEP_SKIPPED)
			/* Skipped steps (interrupted, before --from) run
			 * now. */
			session_restore(c->session, i, state_named(v),
			    ld_str(s->observed));
	}
	/* A step whose action started but never reported: its outcome is
	 * unknown.  It is not run again: that is for a person to decide. */
	for (i = 0; i < ld.nsteps; i++)
		if (ld.steps[i].acted)
			session_restore(c->session, i, STEP_FAILED, "outcome "
			    "unknown: the action started before the crash and "
			    "its result was never recorded; check by hand");
	log_digest_done(&ld);
	free(cause);
	audit_reader_close(r);
}

/* Open and close ----------------------------------------------------------- */

static bool
redis_settled(void *arg)
{
	struct rehearsal *rh = arg;
	const struct redis_status *st = redis_status(rh->redis);

	if (st->state == REDIS_DOWN && st->failures > 0)
		return true;
	if (st->state != REDIS_UP)
		return false;
	/* A cluster: once its topology is known (or could not be had). */
	return rh->cluster == NULL || cluster_mode(rh->cluster) ==
	    CLUSTER_OFF || cluster_settled(rh->cluster);
}

/* The runbook (its diagnostics printed), checked against the log it
 * resumes; NULL with *cause, or NULL when the diagnostics said why. */
static struct runbook *
load(const struct rehearsal_opts *o, char **cause)
{
	struct diags d;
	struct runbook *rb;
	const char *path = o->runbook;
	char *logged = NULL, sha[65] = "", *e;

	if (o->resume != NULL) {
		if ((logged = log_runbook(o->resume, sha, cause)) == NULL)
			return NULL;
		path = logged;
	}
	diags_init(&d);
	rb = runbook_load(path, &d);
	diags_print(&d, path, stderr);
	diags_done(&d);
	if (rb != NULL && o->resume != NULL && strcmp(sha, rb->sha256) != 0) {
		e = esc_str(path, 0);
		xasprintf(cause, "%s changed since the log was written; a "
		    "resumed rehearsal must run the same runbook", e);
		free(e);
		runbook_free(rb);
		rb = NULL;
	}
	free(logged);
	return rb;
}

/* The audit log, new or resumed: 0, or -1 with *cause. */
static int
open_log(struct rehearsal *rh, const struct rehearsal_opts *o, char **cause)
{
	struct audit_opts ao;

	memset(&ao, 0, sizeof ao);
	ao.path = o->resume != NULL ? o->resume : o->audit;
	ao.resume = o->resume != NULL;
	ao.key_file = o->audit_key;
	ao.rb = rh->rb;
	return (rh->audit = audit_open(&ao, cause)) == NULL ? -1 : 0;
}

/* The master's address changed: the audit log says so (a redis.master
 * record), and a run without a screen says it on stderr. */
static void
master_changed(const struct sentinel_change *c, void *arg)
{
	struct rehearsal *rh = arg;
	json_t *d;

	if (rh->mode == POLICY_BATCH && c->previous != NULL) {
		char *e = esc_str(c->master, 0);

		fprintf(stderr, "rehearse: redis master %s is now %s (%s, was "
		    "%s)\n", e, c->address, sentinel_reason_name(c->reason),
		    c->previous);
		free(e);
	}
	if (rh->audit == NULL)
		return;
	d = json_pack("{s:s, s:s, s:s?, s:s, s:s}", "master", c->master,
	    "address", c->address, "previous", c->previous, "reason",
	    sentinel_reason_name(c->reason), "sentinel", c->sentinel);
	audit_append(rh->audit, record_name(REC_REDIS_MASTER), 0, d);
}

/* Redis (waited for, briefly, with REHEARSAL_SETTLE) and HTTP. */
static void
connect_all(struct rehearsal *rh, unsigned parts)
{
	if (parts & REHEARSAL_HTTP)
		rh->http = http_new(rh->loop);
	if (rh->redis == NULL)
		return;
	if (rh->sentinel != NULL)
		sentinel_start(rh->sentinel);
	else
		redis_start(rh->redis);
	if (rh->cluster != NULL)
		cluster_start(rh->cluster);
	if (parts & REHEARSAL_SETTLE)
		loop_run_until(rh->loop, redis_settled, rh, 2.0 + 3.0 *
		    (double)rh->rb->redis.timeout_ms / 1000.0);
}

/* The session (its verdicts from the resumed log), readouts, monitor. */
static void
start_session(struct rehearsal *rh, const struct rehearsal_opts *o)
{
	struct session_hooks fwd = { fwd_changed, fwd_output, fwd_previewed,
	    rh };
	struct session_opts so;

	memset(&so, 0, sizeof so);
	so.check_mode = o->mode == POLICY_CHECK;
	so.read_only = rh->read_only || so.check_mode;
	so.cluster = rh->cluster;
	rh->session = session_new(rh->loop, rh->rb, rh->audit, rh->redis,
	    rh->http, &so, &fwd);
	if (o->resume != NULL)
		replay_verdicts(rh, o->resume);
}

struct rehearsal *
rehearsal_open(const struct rehearsal_opts *o, char **cause)
{
	struct rehearsal *rh;
	const char *password = NULL, *spassword = NULL;

	*cause = NULL;
	if (o->parts & REHEARSAL_SIGNALS)
		signal(SIGPIPE, SIG_IGN);	/* EPIPE instead */
	rh = xcalloc(1, sizeof *rh);
	rh->current = RB_NONE;
	rh->mode = o->mode;
	rh->pflags = o->pflags;
	rh->read_only = (o->pflags & POLICY_READ_ONLY) != 0;
	if ((rh->rb = load(o, cause)) == NULL ||
	    (o->loaded != NULL && o->loaded(rh, o->arg, cause) != 0))
		goto fail;
	if (rh->rb->has_redis && rh->rb->redis.password_env != NULL &&
	    (password = getenv(rh->rb->redis.password_env)) == NULL) {
		xasprintf(cause, "redis.password_env names the environment "
		    "variable %s, which is not set", rh->rb->redis.password_env);
		goto fail;
	}
	if (rh->rb->has_redis && rh->rb->redis.sentinel_password_env != NULL &&
	    (spassword = getenv(rh->rb->redis.sentinel_password_env)) == NULL) {
		xasprintf(cause, "redis.sentinel_password_env names the "
		    "environment variable %s, which is not set",
		    rh->rb->redis.sentinel_password_env);
		goto fail;
	}
	rh->loop = loop_new();
	/* Made before the log is opened: its TLS files are read now, and
	 * one that cannot be is the runbook's error, not the session's. */
	if ((o->parts & REHEARSAL_REDIS) && rh->rb->has_redis &&
	    rh->rb->redis.nsentinels > 0) {
		rh->sentinel = sentinel_new(rh->loop, &rh->rb->redis, password,
		    spassword);
		sentinel_on_change(rh->sentinel, master_changed, rh);
		rh->redis = sentinel_master(rh->sentinel);
		if (sentinel_setup_error(rh->sentinel) != NULL) {
			*cause = xstrdup(sentinel_setup_error(rh->sentinel));
			goto fail;
		}
	} else if ((o->parts & REHEARSAL_REDIS) && rh->rb->has_redis) {
		rh->redis = redis_new(rh->loop, &rh->rb->redis, password);
		if (redis_setup_error(rh->redis) != NULL) {
			*cause = xstrdup(redis_setup_error(rh->redis));
			goto fail;
		}
		if (rh->rb->redis.cluster != RB_CLUSTER_OFF &&
		    rh->rb->redis.kind == REDIS_TCP)
			rh->cluster = cluster_new(rh->loop, rh->redis,
			    &rh->rb->redis, password);
	}
	if (o->log && open_log(rh, o, cause) != 0)
		goto fail;
	if (o->parts & REHEARSAL_SIGNALS) {
		loop_signal(rh->loop, SIGINT, on_signal, rh);
		loop_signal(rh->loop, SIGTERM, on_signal, rh);
		loop_signal(rh->loop, SIGHUP, on_signal, rh);
	}
	connect_all(rh, o->parts);
	if (o->parts & REHEARSAL_SESSION)
		start_session(rh, o);
	if (o->parts & REHEARSAL_LIVE) {
		if (rh->redis != NULL) {
			rh->readouts = readouts_new(rh->loop, rh->redis, rh->rb,
			    fwd_live, rh);
			readouts_cluster(rh->readouts, rh->cluster);
			readouts_start(rh->readouts);
		}
		rh->monitor = monitor_new(rh->loop, rh->http, rh->rb, 2.0,
		    fwd_live, rh);
		monitor_start(rh->monitor);
	}
	return rh;
fail:
	cluster_free(rh->cluster);
	if (rh->sentinel != NULL)
		sentinel_free(rh->sentinel);	/* and its master connection */
	else
		redis_free(rh->redis);
	loop_free(rh->loop);
	runbook_free(rh->rb);
	free(rh);
	return NULL;
}

int
rehearsal_close(struct rehearsal *rh, int status)
{
	if (rh == NULL)
		return status;
	/* Whoever listened may be gone (the dashboard's frame): what the
	 * frees below report reaches nobody. */
	memset(&rh->client, 0, sizeof rh->client);
	rh->live_changed = NULL;
	session_free(rh->session);
	if (rh->audit != NULL && audit_close(rh->audit) != 0 &&
	    status == EXIT_OK)
		status = EXIT_FAILED;
	rh->audit = NULL;	/* master_changed writes no more */
	monitor_free(rh->monitor);
	cluster_free(rh->cluster);	/* before the seed it watches */
	if (rh->sentinel != NULL)
		sentinel_free(rh->sentinel);	/* and its master connection */
	else
		redis_free(rh->redis);
	readouts_free(rh->readouts);	/* after the connection: readout.h */
	http_free(rh->http);
	loop_free(rh->loop);
	runbook_free(rh->rb);
	free(rh);
	return status;
}
