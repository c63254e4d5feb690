/* cmd_run.c: `rehearse run --batch` (with --resume) and `rehearse check`
 * on the session engine, and `rehearse restore`. */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_chain.h"
#include "audit_read.h"
#include "backup.h"
#include "cli.h"
#include "http.h"
#include "log_digest.h"
#include "loop.h"
#include "policy.h"
#include "purge.h"
#include "readout.h"
#include "record.h"
#include "redis.h"
#include "runbook.h"
#include "session.h"
#include "textesc.h"
#include "xmalloc.h"

static void
wake(void *arg)
{
	(void)arg;	/* only ends one turn of the loop */
}

/* Runs the loop until pred(arg) or the deadline; false on timeout.  A
 * timer wakes the loop so the deadline holds even when nothing happens. */
static bool
wait_loop(struct loop *l, bool (*pred)(void *), void *arg, double seconds)
{
	double end = loop_now() + seconds;
	struct timer *t = timer_new(l, wake, NULL);
	bool ok = true;

	while (!pred(arg)) {
		if (loop_now() >= end) {
			ok = false;
			break;
		}
		timer_arm(t, end - loop_now() < 0.1 ? end - loop_now() : 0.1);
		event_base_loop(loop_base(l), EVLOOP_ONCE);
	}
	timer_free(t);
	return ok;
}

static bool
redis_settled(void *arg)
{
	const struct redis_status *st = redis_status(arg);

	return st->state == REDIS_UP || (st->state == REDIS_DOWN &&
	    st->failures > 0);
}

static void
print_escaped(FILE *f, const char *prefix, const char *s)
{
	char *e = esc_str(s, 0);

	fprintf(f, "%s%s\n", prefix, e);
	free(e);
}

/* What a run needs: the runbook, its connections, the session. */
struct runctx {
	struct loop	*loop;
	struct runbook	*rb;
	struct audit	*audit;
	struct redis	*redis;
	struct http	*http;
	struct session	*session;
	bool		 yes;
	bool		 interrupted;
	size_t		 current;
	double		 last_progress;
	bool		 quiet;		/* check: no progress lines */
	bool		 gone[2];	/* stdout, stderr: the reader went away */
	enum policy_mode mode;		/* for policy_decide() */
	unsigned	 pflags;
};

/* Stops the run as SIGTERM does: the current step is cancelled (a
 * command's process group gets SIGTERM, then SIGKILL after the grace),
 * its result recorded; the steps left are skipped and the log is ended. */
static void
stop_run(struct runctx *c, const char *why)
{
	if (why != NULL && !c->gone[1])
		fprintf(stderr, "rehearse: %s: stopping the current step\n", why);
	c->interrupted = true;
	if (c->session != NULL && c->current != RB_NONE)
		session_cancel(c->session, c->current);
}

static void
on_signal(int sig, void *arg)
{
	stop_run(arg, sig == SIGINT ? "interrupted" : sig == SIGHUP ?
	    "hung up" : "terminated");
}

/* Whether stdout or stderr failed: EPIPE when the reader of a pipe went
 * away (`2>&1 | head -3`; SIGPIPE is ignored), EIO when the terminal of a
 * dropped ssh did.  Such a stream is pointed at /dev/null, so that nothing
 * more is written there, and a batch run stops as on SIGTERM; `check`
 * (stop false) only drops its output and still ends with its verdict. */
static void
streams_check(struct runctx *c, bool stop)
{
	FILE *f[2] = { stdout, stderr };
	int i, fd;

	for (i = 0; i < 2; i++) {
		if (c->gone[i] || (!ferror(f[i]) && (i == 1 ||
		    fflush(f[i]) == 0)))
			continue;
		c->gone[i] = true;
		clearerr(f[i]);
		if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
			fflush(f[i]);	/* (a failing flush drops the buffer) */
			dup2(fd, fileno(f[i]));
			close(fd);
			clearerr(f[i]);
		}
		if (stop && !c->interrupted)
			stop_run(c, i == 0 ? "standard output went away" :
			    "standard error went away");
	}
}

/* The signals that end a run without a screen; see stop_run(). */
static void
watch_signals(struct runctx *c)
{
	signal(SIGPIPE, SIG_IGN);	/* EPIPE instead: streams_check() */
	loop_signal(c->loop, SIGINT, on_signal, c);
	loop_signal(c->loop, SIGTERM, on_signal, c);
	loop_signal(c->loop, SIGHUP, on_signal, c);
}

static void
on_changed(struct session *s, size_t i, void *arg)
{
	struct runctx *c = arg;
	const struct step_run *r;
	double now = loop_now();

	if (c->quiet || i == (size_t)-1)
		return;
	r = session_step(s, i);
	if (r->state == STEP_RUNNING) {
		if (r->observed != NULL && now - c->last_progress >= 0.5) {
			c->last_progress = now;
			fprintf(stderr, "  %s\n", r->observed);
			streams_check(c, true);
		}
		return;
	}
	fprintf(stderr, "  %s: %s%s%s\n", step_state_name(r->state),
	    r->observed ? r->observed : "-", r->reason && r->state !=
	    STEP_PASSED ? " -- " : "", r->reason && r->state != STEP_PASSED ?
	    r->reason : "");
	streams_check(c, true);
}

static void
on_output(struct session *s, size_t i, const char *line, size_t len,
    bool err, void *arg)
{
	struct runctx *c = arg;
	char *clean = audit_scrub(c->audit, line, len);
	char *e = esc_str(clean, ESC_KEEP_TAB);

	(void)s;
	(void)i;
	if (!c->quiet) {
		fprintf(stderr, "  %c %s\n", err ? '!' : '|', e);
		streams_check(c, true);
	}
	free(e);
	free(clean);
}

static void
on_previewed(struct session *s, size_t i, const struct purge *p, void *arg)
{
	struct runctx *c = arg;
	const struct purge_report *rep = purge_report(p);
	const char *k;
	size_t j, len;
	char *cause = NULL, *e;

	fprintf(stderr, "  preview: %zu keys match; sample:\n", rep->previewed);
	for (j = 0; purge_sample(p, j, &k, &len) && j < PURGE_SAMPLE; j++) {
		e = esc_text(k, len, ESC_BACKSLASH);
		fprintf(stderr, "    %s\n", e);
		free(e);
	}
	streams_check(c, true);	/* a reader gone: no purge after all */
	if (c->interrupted || !c->yes) {
		session_cancel(s, i);
		return;
	}
	if (session_confirm(s, i, &cause) != 0) {
		print_escaped(stderr, "  ", cause);
		free(cause);
		session_cancel(s, i);
	}
}

static bool
step_settled(void *arg)
{
	struct runctx *c = arg;

	return session_step(c->session, c->current)->state != STEP_RUNNING;
}

/* Runs step i to its end, or marks it as the policy says. */
static void
run_step(struct runctx *c, size_t i)
{
	struct policy_decision d = policy_decide(c->rb, i, c->mode, c->pflags);
	char *cause = NULL;

	switch (d.verdict) {
	case POLICY_SKIP:
		session_skip(c->session, i, d.why);
		return;
	case POLICY_REFUSE:
		session_refuse(c->session, i, d.why);
		return;
	case POLICY_ASK:	/* not without a screen; never run unasked */
		session_refuse(c->session, i, "needs a person to confirm it");
		return;
	case POLICY_RUN:
		break;
	}
	c->current = i;
	if (session_start(c->session, i, &cause) != 0) {
		print_escaped(stderr, "rehearse: ", cause);
		free(cause);
		c->current = RB_NONE;
		return;
	}
	if (c->rb->steps[i].kind == STEP_MANUAL)
		session_manual(c->session, i, true, "confirmed with --yes");
	wait_loop(c->loop, step_settled, c, 1e9);
	c->current = RB_NONE;
}

static const char *
password_for(const struct runbook *rb, int *status)
{
	const char *v;

	if (!rb->has_redis || rb->redis.password_env == NULL)
		return NULL;
	if ((v = getenv(rb->redis.password_env)) == NULL) {
		fprintf(stderr, "rehearse: redis.password_env names the "
		    "environment variable %s, which is not set\n",
		    rb->redis.password_env);
		*status = EXIT_USAGE;
	}
	return v;
}

/* Connections: Redis (waited for, briefly) and HTTP. */
static void
connect_all(struct runctx *c, const char *password)
{
	c->http = http_new(c->loop);
	if (!c->rb->has_redis)
		return;
	c->redis = redis_new(c->loop, &c->rb->redis, password);
	redis_start(c->redis);
	wait_loop(c->loop, redis_settled, c->redis, 2.0 + 3.0 *
	    (double)c->rb->redis.timeout_ms / 1000.0);
}

static void
teardown(struct runctx *c)
{
	session_free(c->session);
	redis_free(c->redis);
	http_free(c->http);
	loop_free(c->loop);
	runbook_free(c->rb);
}

static struct runbook *
load(const char *path)
{
	struct diags d;
	struct runbook *rb;

	diags_init(&d);
	rb = runbook_load(path, &d);
	diags_print(&d, path, stderr);
	diags_done(&d);
	return rb;
}

/* The password of a loaded runbook and, with ao, its audit log.  Returns
 * EXIT_OK, or an exit status after saying why; the runbook is then freed. */
static int
open_run(struct runctx *c, struct audit_opts *ao, const char **password)
{
	char *cause = NULL;
	int status = EXIT_OK;

	*password = password_for(c->rb, &status);
	if (status == EXIT_OK && ao != NULL) {
		ao->rb = c->rb;
		if ((c->audit = audit_open(ao, &cause)) == NULL) {
			print_escaped(stderr, "rehearse: ", cause);
			free(cause);
			status = EXIT_USAGE;
		}
	}
	if (status != EXIT_OK) {
		runbook_free(c->rb);
		c->rb = NULL;
	}
	return status;
}

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
replay_verdicts(struct runctx *c, const char *log)
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

static void
print_summary(struct runctx *c)
{
	const struct step_run *r;
	char *t;
	size_t i;

	printf("%-4s %-8s %-36s %s\n", "step", "verdict", "title", "observed");
	for (i = 0; i < c->rb->nsteps; i++) {
		r = session_step(c->session, i);
		t = esc_str(c->rb->steps[i].title, 0);
		printf("%-4zu %-8s %-36.36s %s%s%s\n", i + 1,
		    step_state_name(r->state), t, r->observed ? r->observed : "",
		    r->reason && r->state != STEP_PASSED ? " -- " : "",
		    r->reason && r->state != STEP_PASSED ? r->reason : "");
		free(t);
	}
}

/* The dashboard: the same runbook, audit log and connections as a batch
 * run, driven by a person.  A read-only dashboard writes no log. */
static int
run_dashboard(const char *path, struct audit_opts *ao, bool read_only)
{
	struct dash_env env;
	struct runctx c;
	const char *password;
	int status;

	memset(&c, 0, sizeof c);
	if ((c.rb = load(path)) == NULL)
		return EXIT_USAGE;
	if ((status = open_run(&c, read_only ? NULL : ao, &password)) !=
	    EXIT_OK)
		return status;
	c.loop = loop_new();
	c.http = http_new(c.loop);
	if (c.rb->has_redis) {
		c.redis = redis_new(c.loop, &c.rb->redis, password);
		redis_start(c.redis);
	}
	memset(&env, 0, sizeof env);
	env.loop = c.loop;
	env.rb = c.rb;
	env.audit = c.audit;
	env.redis = c.redis;
	env.http = c.http;
	env.read_only = read_only;
	status = cli_dashboard()(&env);
	if (c.audit != NULL && audit_close(c.audit) != 0 && status == EXIT_OK)
		status = EXIT_FAILED;
	teardown(&c);
	return status;
}

int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "yes", no_argument, NULL, 'y' },
		{ "audit", required_argument, NULL, 'a' },
		{ "audit-key", required_argument, NULL, 'k' },
		{ "from", required_argument, NULL, 'f' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "resume", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct session_hooks hooks = { on_changed, on_output, on_previewed,
	    NULL };
	struct session_opts so = { false, false };
	struct audit_opts ao;
	struct runctx c;
	const char *from = NULL, *password, *resume = NULL, *rbpath;
	char *cause = NULL, *e, *logged = NULL, sha[65] = "";
	bool batch = false;
	size_t i, first = 0, failed = 0;
	int ch, status = EXIT_OK;

	memset(&c, 0, sizeof c);
	memset(&ao, 0, sizeof ao);
	c.current = RB_NONE;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			batch = true;
			break;
		case 'y':
			c.yes = true;
			break;
		case 'a':
			ao.path = optarg;
			break;
		case 'k':
			ao.key_file = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 'r':
			so.read_only = true;
			break;
		case 'R':
			resume = optarg;
			break;
		case 'h':
			printf("usage: rehearse run --batch [--yes] [--read-only] "
			    "[--from STEP] [--audit FILE] [--audit-key FILE] "
			    "RUNBOOK\n"
			    "       rehearse run --batch --resume LOG [--yes] "
			    "[--audit-key FILE]\n");
			return EXIT_OK;
		case ':':
			return cli_usage_error("run", "missing argument for "
			    "'%s'", argv[optind - 1]);
		default:
			return cli_usage_error("run", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (resume != NULL ? optind != argc : optind + 1 != argc)
		return cli_usage_error("run", "%s", resume != NULL ?
		    "--resume takes the log, not a runbook" : optind >= argc ?
		    "no runbook given" : "give one runbook");
	if (!batch) {
		if (cli_dashboard() == NULL || !isatty(0) || !isatty(1)) {
			fprintf(stderr, "rehearse: the dashboard needs a "
			    "terminal; without one, use rehearse run --batch\n");
			return EXIT_USAGE;
		}
		if (resume != NULL || from != NULL || c.yes)
			return cli_usage_error("run", "--resume, --from and --yes "
			    "go with --batch");
		return run_dashboard(argv[optind], &ao, so.read_only);
	}
	/* From here on a vanished reader is EPIPE, never death by SIGPIPE
	 * with the log unended: see streams_check(). */
	signal(SIGPIPE, SIG_IGN);
	if (so.read_only && (c.yes || resume != NULL))
		return cli_usage_error("run", "--read-only goes with neither "
		    "--yes nor --resume");
	if (resume != NULL && (ao.path != NULL || from != NULL))
		return cli_usage_error("run", "--resume continues its own log "
		    "from where it stopped: no --audit, no --from");
	c.mode = POLICY_BATCH;
	c.pflags = (c.yes ? POLICY_YES : 0) | (so.read_only ? POLICY_READ_ONLY :
	    0);
	rbpath = argv[optind];
	if (resume != NULL) {
		if ((logged = log_runbook(resume, sha, &cause)) == NULL) {
			print_escaped(stderr, "rehearse: ", cause);
			free(cause);
			return EXIT_USAGE;
		}
		rbpath = logged;
	}
	if ((c.rb = load(rbpath)) == NULL) {
		free(logged);
		return EXIT_USAGE;
	}
	if (resume != NULL && strcmp(sha, c.rb->sha256) != 0) {
		e = esc_str(rbpath, 0);
		fprintf(stderr, "rehearse: %s changed since the log was written; "
		    "a resumed rehearsal must run the same runbook\n", e);
		free(e);
		free(logged);
		runbook_free(c.rb);
		return EXIT_USAGE;
	}
	free(logged);
	if (from != NULL && (first = runbook_step(c.rb, from)) == RB_NONE) {
		char *endp;
		unsigned long n = strtoul(from, &endp, 10);
		if (*endp != '\0' || n < 1 || n > c.rb->nsteps) {
			e = esc_str(from, 0);
			fprintf(stderr, "rehearse: --from: no step '%s'\n", e);
			free(e);
			runbook_free(c.rb);
			return EXIT_USAGE;
		}
		first = n - 1;
	}
	if (resume != NULL) {
		ao.path = resume;
		ao.resume = true;
	}
	if ((status = open_run(&c, &ao, &password)) != EXIT_OK)
		return status;
	print_escaped(stderr, "rehearse: audit log ", audit_path(c.audit));

	c.loop = loop_new();
	watch_signals(&c);
	streams_check(&c, true);
	connect_all(&c, password);
	hooks.arg = &c;
	c.session = session_new(c.loop, c.rb, c.audit, c.redis, c.http, &so,
	    &hooks);
	if (resume != NULL)
		replay_verdicts(&c, resume);
	for (i = 0; i < c.rb->nsteps; i++) {
		if (session_step(c.session, i)->state != STEP_PENDING)
			continue;	/* a verdict from the resumed log */
		if (i < first || c.interrupted) {
			session_skip(c.session, i, i < first ? "before --from" :
			    "interrupted");
			continue;
		}
		e = esc_str(c.rb->steps[i].title, 0);
		fprintf(stderr, "step %zu/%zu: %s\n", i + 1, c.rb->nsteps, e);
		free(e);
		streams_check(&c, true);
		if (c.interrupted) {
			session_skip(c.session, i, "interrupted");
			continue;
		}
		run_step(&c, i);
	}
	print_summary(&c);
	streams_check(&c, false);	/* the steps are over */
	for (i = 0; i < c.rb->nsteps; i++)
		if (session_step(c.session, i)->state == STEP_FAILED)
			failed++;
	if (audit_refused(c.audit)) {
		print_escaped(stderr, "rehearse: the audit log stopped: ",
		    audit_refusal(c.audit));
		failed++;
	}
	session_free(c.session);
	c.session = NULL;
	if (audit_close(c.audit) != 0)
		failed++;
	if (c.interrupted)
		failed++;	/* the runbook did not run to its end */
	teardown(&c);
	return failed > 0 ? EXIT_FAILED : EXIT_OK;
}

/* rehearse check ---------------------------------------------------------- */

enum format {
	FORMAT_TEXT,
	FORMAT_TAP,
	FORMAT_JSON,
};

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
 * Returns true when ok; prints in the format asked (json: into out).  The
 * readouts go to *rop, for the caller to free after redis_free().
 */
static bool
check_redis(struct runctx *c, enum format fmt, size_t *n, json_t *out,
    struct readouts **rop)
{
	struct readouts *ro = NULL;
	const struct readout *x = NULL;
	char desc[300], why[300], role[300], ratio[16];
	bool up, ok;
	size_t i, nbad = 0;
	json_t *js, *bad;

	up = redis_status(c->redis)->state == REDIS_UP;
	if (up) {
		ro = readouts_new(c->loop, c->redis, c->rb, NULL, NULL);
		readouts_refresh(ro);
		wait_loop(c->loop, readout_settled, ro, 5.0 + 3.0 *
		    (double)c->rb->redis.timeout_ms / 1000.0);
		x = readouts_get(ro);
	}
	/* After the round: a server that misbehaved in it is down now. */
	redis_describe(c->redis, desc, sizeof desc);
	if (x != NULL && x->state == READOUT_PENDING)
		snprintf(why, sizeof why, "no readout within %.0f s", 5.0 +
		    3.0 * (double)c->rb->redis.timeout_ms / 1000.0);
	else if (x != NULL)
		readout_describe(x, why, sizeof why);
	else
		snprintf(why, sizeof why, "not connected");
	if (x != NULL)
		readout_describe_role(&x->node, role, sizeof role);
	for (i = 0; x != NULL && i < x->nroutes; i++)
		if (x->routes[i].error[0] != '\0')
			nbad++;
	ok = up && x != NULL && x->state == READOUT_OK && nbad == 0;
	if (x != NULL && x->hit_ratio >= 0)
		snprintf(ratio, sizeof ratio, "%.2f", x->hit_ratio);
	else
		snprintf(ratio, sizeof ratio, "n/a");
	if (fmt == FORMAT_TEXT) {
		printf("%s redis: %s", ok ? "ok  " : "FAIL", desc);
		if (x != NULL && x->state == READOUT_OK)
			printf(", %s, %lld bytes used, hit ratio %s, %lld ops/s, "
			    "%lld keys", role, x->used_memory, ratio,
			    x->ops_per_sec, x->dbsize);
		else if (up)
			printf("; readouts %s", why);
		printf("\n");
		for (i = 0; x != NULL && i < x->nroutes; i++)
			if (x->routes[i].error[0] != '\0')
				printf("FAIL redis: route %s: %s\n",
				    c->rb->routes[i].name, x->routes[i].error);
	} else if (fmt == FORMAT_TAP) {
		printf("%s %zu - redis: %s", ok ? "ok" : "not ok", ++*n, desc);
		if (x != NULL && x->state == READOUT_OK)
			printf(", %s", role);
		else if (up)
			printf("; readouts %s", why);
		printf("\n");
		for (i = 0; x != NULL && i < x->nroutes; i++)
			if (x->routes[i].error[0] != '\0')
				printf("# route %s: %s\n", c->rb->routes[i].name,
				    x->routes[i].error);
	} else {
		bool known = x != NULL && x->state == READOUT_OK;

		js = json_object();
		json_object_set_new(js, "up", json_boolean(ok));
		json_object_set_new(js, "state", json_string(desc));
		json_object_set_new(js, "readout", json_string(known ? "ok" :
		    "unknown"));
		json_object_set_new(js, "reason", known ? json_null() :
		    json_string(x != NULL && x->state == READOUT_UNKNOWN ?
		    x->why : why));
		json_object_set_new(js, "role", known && x->node.role[0] ?
		    json_string(x->node.role) : json_null());
		json_object_set_new(js, "master_host", known &&
		    x->node.master_host[0] ? json_string(x->node.master_host) :
		    json_null());
		json_object_set_new(js, "cluster_enabled", known ?
		    json_boolean(x->node.cluster) : json_null());
		json_object_set_new(js, "used_memory", known ?
		    json_integer((json_int_t)x->used_memory) : json_null());
		json_object_set_new(js, "keys", known ?
		    json_integer((json_int_t)x->dbsize) : json_null());
		json_object_set_new(js, "hit_ratio", !known ? json_null() :
		    json_real(x->hit_ratio));
		bad = json_array();
		for (i = 0; x != NULL && i < x->nroutes; i++)
			if (x->routes[i].error[0] != '\0')
				json_array_append_new(bad, json_pack("{s:s, s:s}",
				    "route", c->rb->routes[i].name, "error",
				    x->routes[i].error));
		json_object_set_new(js, "route_errors", bad);
		json_object_set_new(out, "redis", js);
	}
	*rop = ro;	/* freed after the connection: see readouts_free */
	return ok;
}

int
cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "audit", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct session_hooks hooks = { on_changed, on_output, NULL, NULL };
	struct session_opts so = { true, true };
	struct audit_opts ao;
	enum format fmt = FORMAT_TEXT;
	struct readouts *ro = NULL;
	struct runctx c;
	const struct step_run *r;
	const char *password;
	char *t;
	size_t i, j, failed = 0, n = 0;
	json_t *out = NULL, *steps = NULL, *js;
	int ch, status = EXIT_OK;

	memset(&c, 0, sizeof c);
	memset(&ao, 0, sizeof ao);
	c.current = RB_NONE;
	c.quiet = true;
	c.mode = POLICY_CHECK;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'F':
			if (strcmp(optarg, "text") == 0)
				fmt = FORMAT_TEXT;
			else if (strcmp(optarg, "tap") == 0)
				fmt = FORMAT_TAP;
			else if (strcmp(optarg, "json") == 0)
				fmt = FORMAT_JSON;
			else
				return cli_usage_error("check", "--format takes "
				    "text, tap or json, not '%s'", optarg);
			break;
		case 'a':
			ao.path = optarg;
			break;
		case 'h':
			printf("usage: rehearse check [--format text|tap|json] "
			    "[--audit FILE] RUNBOOK\n");
			return EXIT_OK;
		case ':':
			return cli_usage_error("check", "missing argument for "
			    "'%s'", argv[optind - 1]);
		default:
			return cli_usage_error("check", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("check", "give one runbook");
	signal(SIGPIPE, SIG_IGN);	/* `check | head -1`: its verdict */
	if ((c.rb = load(argv[optind])) == NULL)
		return EXIT_USAGE;
	if ((status = open_run(&c, ao.path != NULL ? &ao : NULL, &password)) !=
	    EXIT_OK)
		return status;
	c.loop = loop_new();
	watch_signals(&c);
	connect_all(&c, password);
	hooks.arg = &c;
	c.session = session_new(c.loop, c.rb, c.audit, c.redis, c.http, &so,
	    &hooks);
	if (fmt == FORMAT_JSON) {
		out = json_object();
		steps = json_array();
	}
	/* Redis first: its readouts, or why there are none. */
	if (c.redis != NULL && !check_redis(&c, fmt, &n, out, &ro))
		failed++;
	for (i = 0; i < c.rb->nsteps && !c.interrupted; i++) {
		const struct rb_step *st = &c.rb->steps[i];

		run_step(&c, i);	/* or skipped, as the policy says */
		r = session_step(c.session, i);
		if (r->state == STEP_FAILED)
			failed++;
		t = esc_str(st->title, 0);
		if (fmt == FORMAT_TEXT) {
			printf("%-4s step %zu: %s: %s%s%s\n",
			    r->state == STEP_FAILED ? "FAIL" : r->state ==
			    STEP_SKIPPED ? "skip" : r->state == STEP_DEGRADED ?
			    "slow" : "ok", i + 1, t, r->observed ? r->observed :
			    "", r->reason && r->state != STEP_PASSED ? " -- " :
			    "", r->reason && r->state != STEP_PASSED ? r->reason :
			    "");
			for (j = 0; j < r->checks.n; j++)
				if (r->checks.v[j].verdict != VERDICT_PASS)
					printf("       %s %s: expected %s, got %s\n",
					    verdict_name(r->checks.v[j].verdict),
					    r->checks.v[j].what,
					    r->checks.v[j].expected,
					    r->checks.v[j].observed);
		} else if (fmt == FORMAT_TAP) {
			printf("%s %zu - step %zu: %s%s%s\n", r->state ==
			    STEP_FAILED ? "not ok" : "ok", ++n, i + 1, t,
			    r->state == STEP_SKIPPED ? " # SKIP " : "",
			    r->state == STEP_SKIPPED && r->reason ? r->reason : "");
			for (j = 0; j < r->checks.n; j++)
				if (r->checks.v[j].verdict != VERDICT_PASS)
					printf("# %s %s: expected %s, got %s\n",
					    verdict_name(r->checks.v[j].verdict),
					    r->checks.v[j].what,
					    r->checks.v[j].expected,
					    r->checks.v[j].observed);
		} else {
			js = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o}",
			    "step", (json_int_t)i + 1, "title", st->title, "kind",
			    step_kind_name(st->kind), "verdict",
			    step_state_name(r->state), "observed",
			    r->observed ? r->observed : "", "reason",
			    r->reason ? r->reason : "", "checks", json_array());
			for (j = 0; j < r->checks.n; j++)
				json_array_append_new(json_object_get(js,
				    "checks"), json_pack("{s:s, s:s, s:s, s:s}",
				    "what", r->checks.v[j].what, "expected",
				    r->checks.v[j].expected, "observed",
				    r->checks.v[j].observed, "verdict",
				    verdict_name(r->checks.v[j].verdict)));
			json_array_append_new(steps, js);
		}
		free(t);
	}
	if (fmt == FORMAT_TAP)
		printf("1..%zu\n", n);
	else if (fmt == FORMAT_JSON) {
		json_object_set_new(out, "steps", steps);
		json_object_set_new(out, "failed", json_integer((json_int_t)failed));
		t = audit_json_encode(out);
		printf("%s\n", t);
		free(t);
		json_decref(out);
	} else
		printf("%s: %zu failed\n", failed ? "FAIL" : "ok", failed);
	session_free(c.session);
	c.session = NULL;
	if (c.audit != NULL)
		audit_close(c.audit);
	redis_free(c.redis);
	c.redis = NULL;
	readouts_free(ro);
	teardown(&c);
	return failed > 0 || c.interrupted ? EXIT_FAILED : EXIT_OK;
}

/* rehearse restore ------------------------------------------------------- */

struct restoring {
	struct restore_report rep;
	bool		 done;
};

static void
restored(const struct restore_report *rep, void *arg)
{
	struct restoring *r = arg;

	r->rep = *rep;
	r->done = true;
}

static bool
restore_over(void *arg)
{
	return ((struct restoring *)arg)->done;
}



int
cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "replace", no_argument, NULL, 'r' },
		{ "any-key", no_argument, NULL, 'A' },
		{ "audit", required_argument, NULL, 'a' },
		{ "audit-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct audit_opts ao;
	struct restoring st;
	struct restore_check chk;
	struct backup_reader *br = NULL;
	struct audit_key key;
	struct audit *a;
	struct runctx c;
	struct runbook *rb;
	struct loop *l;
	struct redis *r;
	bool replace = false, any_key = false;
	char *cause = NULL, desc[300], *abs = NULL;
	const char *password, *bpath;
	uint64_t intent;
	int ch, status = EXIT_OK;

	memset(&ao, 0, sizeof ao);
	memset(&st, 0, sizeof st);
	memset(&key, 0, sizeof key);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			replace = true;
			break;
		case 'A':
			any_key = true;
			break;
		case 'a':
			ao.path = optarg;
			break;
		case 'k':
			ao.key_file = optarg;
			break;
		case 'h':
			printf("usage: rehearse restore [--replace] [--any-key] "
			    "[--audit FILE] [--audit-key FILE] RUNBOOK BACKUP\n");
			return EXIT_OK;
		default:
			return cli_usage_error("restore", "bad option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind + 2 != argc)
		return cli_usage_error("restore", "give a runbook and a backup "
		    "file");
	bpath = argv[optind + 1];
	memset(&c, 0, sizeof c);
	if ((c.rb = rb = load(argv[optind])) == NULL)
		return EXIT_USAGE;
	if (!rb->has_redis) {
		fprintf(stderr, "rehearse: the runbook has no redis: section\n");
		runbook_free(rb);
		return EXIT_USAGE;
	}
	/* The backup is verified whole before anything else happens. */
	if (ao.key_file != NULL && audit_key_load(&key, ao.key_file,
	    &cause) != 0) {
		print_escaped(stderr, "rehearse: ", cause);
		free(cause);
		runbook_free(rb);
		return EXIT_USAGE;
	}
	br = purge_restore_check(bpath, rb, &key, any_key, &chk, &cause);
	explicit_bzero(&key, sizeof key);
	if (br == NULL) {
		print_escaped(stderr, "rehearse: ", cause);
		free(cause);
		runbook_free(rb);
		return chk.verify_failed ? EXIT_FAILED : EXIT_USAGE;
	}
	if (!chk.ended)
		fprintf(stderr, "rehearse: warning: the backup has no end line "
		    "(its purge was cut off); restoring the %zu keys it "
		    "holds\n", chk.keys);
	if (chk.torn)
		fprintf(stderr, "rehearse: warning: a torn last line was "
		    "ignored (its keys were never deleted)\n");
	if ((abs = realpath(bpath, NULL)) == NULL)
		abs = xstrdup(bpath);
	if ((status = open_run(&c, &ao, &password)) != EXIT_OK) {
		backup_reader_free(br);
		free(abs);
		return status;
	}
	a = c.audit;
	l = loop_new();
	r = redis_new(l, &rb->redis, password);
	redis_start(r);
	wait_loop(l, redis_settled, r, 2.0 + 3.0 *
	    (double)rb->redis.timeout_ms / 1000.0);
	if (redis_status(r)->state != REDIS_UP) {
		redis_describe(r, desc, sizeof desc);
		fprintf(stderr, "rehearse: Redis is %s\n", desc);
		status = EXIT_FAILED;
		backup_reader_free(br);
	} else if ((intent = audit_intent(a, record_name(REC_RESTORE_INTENT), 0,
	    json_pack(
	    "{s:s, s:s, s:s, s:I, s:b, s:b, s:b}", "backup", abs,
	    "backup_hash", chk.hash, "route", chk.route, "keys",
	    (json_int_t)chk.keys, "ended", chk.ended, "replace", replace,
	    "any_key", any_key))) == 0) {
		fprintf(stderr, "rehearse: the audit log cannot be written\n");
		status = EXIT_FAILED;
		backup_reader_free(br);
	} else {
		purge_restore(r, br, replace, restored, &st);
		wait_loop(l, restore_over, &st, 1e9);
		audit_result(a, intent, record_name(REC_RESTORE_DONE), 0,
		    json_pack(
		    "{s:I, s:I, s:I, s:I, s:s}", "restored",
		    (json_int_t)st.rep.restored, "existed",
		    (json_int_t)st.rep.existed, "expired",
		    (json_int_t)st.rep.expired, "errors",
		    (json_int_t)st.rep.errors, "error", st.rep.error));
		printf("restored %zu keys, %zu kept (they exist; --replace "
		    "overwrites), %zu expired meanwhile, %zu errors\n",
		    st.rep.restored, st.rep.existed, st.rep.expired,
		    st.rep.errors);
		if (st.rep.errors > 0) {
			print_escaped(stderr, "rehearse: ", st.rep.error);
			status = EXIT_FAILED;
		}
	}
	free(abs);
	audit_close(a);
	redis_free(r);
	loop_free(l);
	runbook_free(rb);
	return status;
}
