/* cmd_run.c: `rehearse run --batch [--yes] RUNBOOK` and `rehearse restore`.
 *
 * This version runs runbooks whose steps are purges: the session engine
 * that runs every kind of step, and the dashboard, come later.  Each purge
 * is previewed, recorded, refused without --yes, then done in batches with
 * its intent written to the audit log before the first key goes. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_chain.h"
#include "cli.h"
#include "loop.h"
#include "purge.h"
#include "redis.h"
#include "runbook.h"
#include "textesc.h"
#include "xmalloc.h"

enum verdict {
	V_PASS,
	V_FAIL,
	V_SKIPPED,
};

static const char *const verdict_names[] = { "pass", "fail", "skipped" };

struct batch {
	struct loop	*loop;
	struct runbook	*rb;
	struct audit	*audit;
	struct redis	*redis;
	bool		 yes;
	bool		 interrupted;
	struct purge	*purge;		/* the purge running now */
	double		 last_progress;
	enum verdict	*verdicts;
	char		**why;
};

static bool
up_or_given_up(void *arg)
{
	struct batch *b = arg;

	return redis_status(b->redis)->state == REDIS_UP || b->interrupted;
}

static bool
purge_settled(void *arg)
{
	struct batch *b = arg;
	enum purge_state s = purge_report(b->purge)->state;

	return s != PURGE_NEW && s != PURGE_PREVIEWING && s != PURGE_RUNNING;
}

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
wait_for(struct batch *b, bool (*pred)(void *), double seconds)
{
	return wait_loop(b->loop, pred, b, seconds);
}

static void
on_signal(int sig, void *arg)
{
	struct batch *b = arg;

	fprintf(stderr, "rehearse: %s: stopping after the current batch\n",
	    sig == SIGINT ? "interrupted" : "terminated");
	b->interrupted = true;
	if (b->purge != NULL)
		purge_cancel(b->purge);
}

static void
on_progress(struct purge *p, void *arg)
{
	struct batch *b = arg;
	const struct purge_report *r = purge_report(p);
	double now = loop_now();

	if (r->state != PURGE_RUNNING || now - b->last_progress < 0.5)
		return;
	b->last_progress = now;
	fprintf(stderr, "  deleted %zu of %zu keys (batch %zu of %zu)\n",
	    r->deleted, r->previewed, r->batches, r->batches_total);
}

static json_t *
sample_json(struct purge *p)
{
	json_t *a = json_array();
	const char *k;
	size_t i, len;

	for (i = 0; purge_sample(p, i, &k, &len); i++)
		json_array_append_new(a, audit_json_bytes(k, len));
	return a;
}

static json_t *
patterns_json(const struct rb_route *route)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < route->nkeys; i++)
		json_array_append_new(a, audit_json_bytes(route->keys[i],
		    strlen(route->keys[i])));
	return a;
}

static char *
backup_path(struct batch *b, size_t step)
{
	const char *log = audit_path(b->audit);
	size_t len = strlen(log);

	if (len > 6 && strcmp(log + len - 6, ".jsonl") == 0)
		len -= 6;
	return xprintf("%.*s.step%zu.backup.jsonl", (int)len, log, step + 1);
}

static enum verdict
run_purge(struct batch *b, size_t i, char **why)
{
	const struct rb_step *s = &b->rb->steps[i];
	const struct rb_route *route = &b->rb->routes[s->route];
	const struct purge_report *r;
	char *bpath = NULL, *e;
	const char *k;
	size_t j, len;
	uint64_t intent;
	enum verdict v;
	char desc[300];

	if (redis_status(b->redis)->state != REDIS_UP &&
	    !wait_for(b, up_or_given_up, 2.0 + 3.0 *
	    (double)b->rb->redis.timeout_ms / 1000.0)) {
		/* Retries go on in the background; say what the last one
		 * found rather than "connecting". */
		if (redis_status(b->redis)->error[0] != '\0')
			*why = xprintf("Redis is down: %s",
			    redis_status(b->redis)->error);
		else {
			redis_describe(b->redis, desc, sizeof desc);
			*why = xprintf("Redis is %s", desc);
		}
		return V_FAIL;
	}
	if (b->interrupted) {
		*why = xstrdup("interrupted");
		return V_SKIPPED;
	}
	if (s->backup)
		bpath = backup_path(b, i);
	b->purge = purge_new(b->redis, route, bpath, on_progress, b);
	purge_preview(b->purge);
	wait_for(b, purge_settled, 1e9);
	r = purge_report(b->purge);
	e = esc_str(route->name, 0);
	if (r->over_limit)
		fprintf(stderr, "  preview: more than %ld keys of route %s "
		    "match", route->allow_broad ? (long)PURGE_HARD_LIMIT :
		    route->max_keys, e);
	else
		fprintf(stderr, "  preview: %zu keys of route %s match",
		    r->previewed, e);
	free(e);
	for (j = 0; j < route->nkeys; j++) {
		e = esc_str(route->keys[j], ESC_BACKSLASH);
		fprintf(stderr, " %s", e);
		free(e);
	}
	fprintf(stderr, "\n");
	for (j = 0; purge_sample(b->purge, j, &k, &len) && j < 5; j++) {
		e = esc_text(k, len, ESC_BACKSLASH);
		fprintf(stderr, "    %s\n", e);
		free(e);
	}
	audit_append(b->audit, "purge.preview", (unsigned)i + 1, json_pack(
	    "{s:s, s:o, s:I, s:b, s:I, s:o, s:f, s:s}", "route", route->name,
	    "patterns", patterns_json(route), "previewed",
	    (json_int_t)r->previewed, "over_limit", r->over_limit,
	    "max_keys", (json_int_t)route->max_keys, "sample",
	    sample_json(b->purge), "ms", r->preview_ms, "state",
	    purge_state_name(r->state)));
	if (r->state == PURGE_CANCELLED || b->interrupted) {
		*why = xstrdup("interrupted before anything was deleted");
		v = V_SKIPPED;
		goto out;
	}
	if (r->state != PURGE_READY) {
		*why = xstrdup(r->reason);
		v = V_FAIL;
		goto out;
	}
	if (!b->yes) {
		*why = xstrdup("refused: a purge changes the world; run with "
		    "--yes to allow it");
		v = V_FAIL;
		goto out;
	}
	if (audit_refused(b->audit)) {
		*why = xprintf("refused: the audit log cannot be written (%s)",
		    audit_refusal(b->audit));
		v = V_FAIL;
		goto out;
	}
	intent = audit_intent(b->audit, "purge.intent", (unsigned)i + 1,
	    json_pack("{s:s, s:o, s:I, s:o}", "route", route->name,
	    "patterns", patterns_json(route), "previewed",
	    (json_int_t)r->previewed, "backup", bpath ? json_string(bpath) :
	    json_null()));
	if (intent == 0) {
		*why = xprintf("refused: the audit log cannot be written (%s)",
		    audit_refusal(b->audit));
		v = V_FAIL;
		goto out;
	}
	b->last_progress = loop_now();
	purge_confirm(b->purge);
	wait_for(b, purge_settled, 1e9);
	fprintf(stderr, "  deleted %zu, already gone %zu, in doubt %zu, errors "
	    "%zu, %.0f ms\n", r->deleted, r->gone, r->in_doubt, r->errors,
	    r->ms);
	audit_result(b->audit, intent, "purge.done", (unsigned)i + 1, json_pack(
	    "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:s}",
	    "route", route->name, "state", purge_state_name(r->state),
	    "previewed", (json_int_t)r->previewed,
	    "deleted", (json_int_t)r->deleted, "gone", (json_int_t)r->gone,
	    "in_doubt", (json_int_t)r->in_doubt,
	    "errors", (json_int_t)r->errors,
	    "backed_up", (json_int_t)r->backed_up,
	    "batches", (json_int_t)r->batches, "ms", r->ms,
	    "reason", r->reason));
	if (r->state == PURGE_DONE) {
		*why = xprintf("deleted %zu keys%s", r->deleted,
		    r->gone ? " (some were already gone)" : "");
		v = V_PASS;
	} else {
		*why = xprintf("%s after deleting %zu keys", r->reason,
		    r->deleted);
		v = V_FAIL;
	}
out:
	purge_free(b->purge);
	b->purge = NULL;
	free(bpath);
	return v;
}


static const char *
env_lookup(const char *name, const char *what, int *status)
{
	const char *v;

	if (name == NULL)
		return NULL;
	if ((v = getenv(name)) == NULL) {
		fprintf(stderr, "rehearse: %s names the environment variable "
		    "%s, which is not set\n", what, name);
		*status = EXIT_USAGE;
	}
	return v;
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
	struct audit_opts ao;
	struct batch b;
	struct diags d;
	const char *from = NULL, *password;
	char *cause = NULL, *e;
	bool batch = false;
	size_t i, first = 0, failed = 0;
	int ch, status = EXIT_OK;

	memset(&b, 0, sizeof b);
	memset(&ao, 0, sizeof ao);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			batch = true;
			break;
		case 'y':
			b.yes = true;
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
			fprintf(stderr, "rehearse: run --read-only is not "
			    "available yet in this version\n");
			return EXIT_USAGE;
		case 'R':
			fprintf(stderr, "rehearse: run --resume is not "
			    "available yet in this version\n");
			return EXIT_USAGE;
		case 'h':
			printf("usage: rehearse run --batch [--yes] [--from STEP] "
			    "[--audit FILE] [--audit-key FILE] RUNBOOK\n\n"
			    "This version runs runbooks whose steps are purges, "
			    "without a screen.\n");
			return EXIT_OK;
		case ':':
			return cli_usage_error("run", "missing argument for "
			    "'%s'", argv[optind - 1]);
		default:
			return cli_usage_error("run", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("run", "%s", optind >= argc ?
		    "no runbook given" : "give one runbook");
	if (!batch) {
		fprintf(stderr, "rehearse: the dashboard is not available yet "
		    "in this version; use rehearse run --batch\n");
		return EXIT_USAGE;
	}
	diags_init(&d);
	b.rb = runbook_load(argv[optind], &d);
	diags_print(&d, argv[optind], stderr);
	diags_done(&d);
	if (b.rb == NULL)
		return EXIT_USAGE;
	for (i = 0; i < b.rb->nsteps; i++) {
		if (b.rb->steps[i].kind != STEP_PURGE) {
			fprintf(stderr, "rehearse: this version runs only purge "
			    "steps in batch mode; step %zu is a %s step\n",
			    i + 1, step_kind_name(b.rb->steps[i].kind));
			runbook_free(b.rb);
			return EXIT_USAGE;
		}
	}
	if (from != NULL) {
		if ((first = runbook_step(b.rb, from)) == RB_NONE) {
			char *endp;
			unsigned long n = strtoul(from, &endp, 10);
			if (*endp != '\0' || n < 1 || n > b.rb->nsteps) {
				e = esc_str(from, 0);
				fprintf(stderr, "rehearse: --from: no step '%s'\n",
				    e);
				free(e);
				runbook_free(b.rb);
				return EXIT_USAGE;
			}
			first = n - 1;
		}
	}
	password = env_lookup(b.rb->redis.password_env, "redis.password_env",
	    &status);
	if (status != EXIT_OK) {
		runbook_free(b.rb);
		return status;
	}
	ao.rb = b.rb;
	if ((b.audit = audit_open(&ao, &cause)) == NULL) {
		e = esc_str(cause, 0);
		fprintf(stderr, "rehearse: %s\n", e);
		free(e);
		free(cause);
		runbook_free(b.rb);
		return EXIT_USAGE;
	}
	e = esc_str(audit_path(b.audit), 0);
	fprintf(stderr, "rehearse: audit log %s\n", e);
	free(e);

	b.loop = loop_new();
	loop_signal(b.loop, SIGINT, on_signal, &b);
	loop_signal(b.loop, SIGTERM, on_signal, &b);
	b.redis = redis_new(b.loop, &b.rb->redis, password);
	redis_start(b.redis);
	b.verdicts = xcalloc(b.rb->nsteps, sizeof *b.verdicts);
	b.why = xcalloc(b.rb->nsteps, sizeof *b.why);
	for (i = 0; i < b.rb->nsteps; i++) {
		const struct rb_step *s = &b.rb->steps[i];

		if (i < first || b.interrupted) {
			b.verdicts[i] = V_SKIPPED;
			b.why[i] = xstrdup(i < first ? "before --from" :
			    "interrupted");
		} else {
			e = esc_str(s->title, 0);
			fprintf(stderr, "step %zu/%zu: %s\n", i + 1,
			    b.rb->nsteps, e);
			free(e);
			audit_append(b.audit, "step.start", (unsigned)i + 1,
			    json_pack("{s:s, s:s}", "title", s->title, "kind",
			    step_kind_name(s->kind)));
			b.verdicts[i] = run_purge(&b, i, &b.why[i]);
		}
		audit_append(b.audit, "step.result", (unsigned)i + 1, json_pack(
		    "{s:s, s:s}", "verdict", verdict_names[b.verdicts[i]],
		    "observed", b.why[i]));
		if (b.verdicts[i] == V_FAIL)
			failed++;
	}

	printf("%-4s %-8s %-36s %s\n", "step", "verdict", "title", "observed");
	for (i = 0; i < b.rb->nsteps; i++) {
		char *t = esc_str(b.rb->steps[i].title, 0);
		e = esc_str(b.why[i], 0);
		printf("%-4zu %-8s %-36.36s %s\n", i + 1,
		    verdict_names[b.verdicts[i]], t, e);
		free(t);
		free(e);
		free(b.why[i]);
	}
	if (audit_refused(b.audit)) {
		e = esc_str(audit_refusal(b.audit), 0);
		fprintf(stderr, "rehearse: the audit log stopped: %s\n", e);
		free(e);
		failed++;
	}
	if (audit_close(b.audit) != 0)
		failed++;
	if (b.interrupted)
		failed++;	/* the runbook did not run to its end */
	redis_free(b.redis);
	loop_free(b.loop);
	free(b.verdicts);
	free(b.why);
	runbook_free(b.rb);
	return failed > 0 ? EXIT_FAILED : EXIT_OK;
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

static bool
redis_settled(void *arg)
{
	struct redis *r = arg;

	return redis_status(r)->state != REDIS_CONNECTING;
}


int
cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "replace", no_argument, NULL, 'r' },
		{ "audit", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct audit_opts ao;
	struct restoring st;
	struct audit *a;
	struct diags d;
	struct runbook *rb;
	struct loop *l;
	struct redis *r;
	bool replace = false;
	char *cause = NULL, desc[300], *e;
	const char *password;
	uint64_t intent;
	int ch, status = EXIT_OK;

	memset(&ao, 0, sizeof ao);
	memset(&st, 0, sizeof st);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			replace = true;
			break;
		case 'a':
			ao.path = optarg;
			break;
		case 'h':
			printf("usage: rehearse restore [--replace] [--audit FILE] "
			    "RUNBOOK BACKUP\n");
			return EXIT_OK;
		default:
			return cli_usage_error("restore", "bad option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind + 2 != argc)
		return cli_usage_error("restore", "give a runbook and a backup "
		    "file");
	diags_init(&d);
	rb = runbook_load(argv[optind], &d);
	diags_print(&d, argv[optind], stderr);
	diags_done(&d);
	if (rb == NULL)
		return EXIT_USAGE;
	if (!rb->has_redis) {
		fprintf(stderr, "rehearse: the runbook has no redis: section\n");
		runbook_free(rb);
		return EXIT_USAGE;
	}
	password = env_lookup(rb->redis.password_env, "redis.password_env",
	    &status);
	if (status != EXIT_OK) {
		runbook_free(rb);
		return status;
	}
	ao.rb = rb;
	if ((a = audit_open(&ao, &cause)) == NULL) {
		fprintf(stderr, "rehearse: %s\n", cause);
		free(cause);
		runbook_free(rb);
		return EXIT_USAGE;
	}
	l = loop_new();
	r = redis_new(l, &rb->redis, password);
	redis_start(r);
	wait_loop(l, redis_settled, r, 2.0 + 3.0 *
	    (double)rb->redis.timeout_ms / 1000.0);
	if (redis_status(r)->state != REDIS_UP) {
		redis_describe(r, desc, sizeof desc);
		fprintf(stderr, "rehearse: Redis is %s\n", desc);
		status = EXIT_FAILED;
	} else if ((intent = audit_intent(a, "restore.intent", 0, json_pack(
	    "{s:s, s:b}", "backup", argv[optind + 1], "replace", replace))) ==
	    0) {
		fprintf(stderr, "rehearse: the audit log cannot be written\n");
		status = EXIT_FAILED;
	} else if (purge_restore(r, argv[optind + 1], replace, restored, &st,
	    &cause) != 0) {
		e = esc_str(cause, 0);
		fprintf(stderr, "rehearse: %s\n", e);
		free(e);
		free(cause);
		audit_result(a, intent, "restore.done", 0, json_pack("{s:s}",
		    "error", "cannot open the backup"));
		status = EXIT_USAGE;
	} else {
		wait_loop(l, restore_over, &st, 1e9);
		audit_result(a, intent, "restore.done", 0, json_pack(
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
			e = esc_str(st.rep.error, 0);
			fprintf(stderr, "rehearse: %s\n", e);
			free(e);
			status = EXIT_FAILED;
		}
	}
	audit_close(a);
	redis_free(r);
	loop_free(l);
	runbook_free(rb);
	return status;
}
