/* cmd_run.c: `rehearse [run] RUNBOOK`, the dashboard, and
 * `rehearse run --batch` (with --resume): the steps without a screen,
 * progress on stderr and a summary on stdout. */
#include "config.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "frontend.h"
#include "purge.h"
#include "rehearsal.h"
#include "runbook.h"
#include "session.h"
#include "textesc.h"
#include "xmalloc.h"

/* A batch run: its rehearsal and what its output knows. */
struct runctx {
	struct rehearsal *rh;
	bool		 yes;
	double		 last_progress;
	bool		 gone[2];	/* stdout, stderr: the reader went away */
	const char	*from;		/* --from */
	size_t		 first;		/* the step --from names */
};

static void
print_escaped(FILE *f, const char *prefix, const char *s)
{
	char *e = esc_str(s, 0);

	fprintf(f, "%s%s\n", prefix, e);
	free(e);
}

/* Whether stdout or stderr failed: EPIPE when the reader of a pipe went
 * away (`2>&1 | head -3`; SIGPIPE is ignored), EIO when the terminal of a
 * dropped ssh did.  Such a stream is pointed at /dev/null, so that nothing
 * more is written there, and a batch run stops as on SIGTERM (stop false:
 * the steps are over, the output is only dropped). */
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
		if (stop && !c->rh->interrupted)
			rehearsal_stop(c->rh, i == 0 ?
			    "standard output went away" :
			    "standard error went away");
	}
}

static void
on_changed(struct session *s, size_t i, void *arg)
{
	struct runctx *c = arg;
	const struct step_run *r;
	double now = loop_now();

	if (i == RB_NONE)
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
	char *clean = audit_scrub(c->rh->audit, line, len);
	char *e = esc_str(clean, ESC_KEEP_TAB);

	(void)s;
	(void)i;
	fprintf(stderr, "  %c %s\n", err ? '!' : '|', e);
	streams_check(c, true);
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

	if (rep->warning[0] != '\0')	/* escaped by the purge */
		fprintf(stderr, "  warning: %s\n", rep->warning);
	fprintf(stderr, "  preview: %zu keys match; sample:\n", rep->previewed);
	for (j = 0; purge_sample(p, j, &k, &len) && j < PURGE_SAMPLE; j++) {
		e = esc_text(k, len, ESC_BACKSLASH);
		fprintf(stderr, "    %s\n", e);
		free(e);
	}
	streams_check(c, true);	/* a reader gone: no purge after all */
	if (c->rh->interrupted || !c->yes) {
		session_cancel(s, i);
		return;
	}
	if (session_confirm(s, i, &cause) != 0) {
		print_escaped(stderr, "  ", cause);
		free(cause);
		session_cancel(s, i);
	}
}

static void
print_summary(struct runctx *c)
{
	const struct runbook *rb = c->rh->rb;
	const struct step_run *r;
	char *t;
	size_t i;

	printf("%-4s %-8s %-36s %s\n", "step", "verdict", "title", "observed");
	for (i = 0; i < rb->nsteps; i++) {
		r = session_step(c->rh->session, i);
		t = esc_str(rb->steps[i].title, 0);
		printf("%-4zu %-8s %-36.36s %s%s%s\n", i + 1,
		    step_state_name(r->state), t, r->observed ? r->observed : "",
		    r->reason && r->state != STEP_PASSED ? " -- " : "",
		    r->reason && r->state != STEP_PASSED ? r->reason : "");
		free(t);
	}
}

/* --from: a step id or number, checked before the log is opened. */
static int
resolve_from(struct rehearsal *rh, void *arg, char **cause)
{
	struct runctx *c = arg;
	unsigned long n;
	char *endp, *e;

	if (c->from == NULL ||
	    (c->first = runbook_step(rh->rb, c->from)) != RB_NONE)
		return 0;
	n = strtoul(c->from, &endp, 10);
	if (*endp != '\0' || n < 1 || n > rh->rb->nsteps) {
		e = esc_str(c->from, 0);
		xasprintf(cause, "--from: no step '%s'", e);
		free(e);
		return -1;
	}
	c->first = n - 1;
	return 0;
}

/* The steps in order, the summary; returns the exit status. */
static int
run_batch(struct runctx *c)
{
	struct session_hooks hooks = { on_changed, on_output, on_previewed,
	    c };
	struct rehearsal *rh = c->rh;
	size_t i, failed;
	char *e;

	print_escaped(stderr, "rehearse: audit log ", audit_path(rh->audit));
	streams_check(c, true);
	rehearsal_listen(rh, &hooks, NULL);
	for (i = 0; i < rh->rb->nsteps; i++) {
		if (session_step(rh->session, i)->state != STEP_PENDING)
			continue;	/* a verdict from the resumed log */
		if (i < c->first || rh->interrupted) {
			session_skip(rh->session, i, i < c->first ?
			    "before --from" : "interrupted");
			continue;
		}
		e = esc_str(rh->rb->steps[i].title, 0);
		fprintf(stderr, "step %zu/%zu: %s\n", i + 1, rh->rb->nsteps, e);
		free(e);
		streams_check(c, true);
		if (rh->interrupted) {
			session_skip(rh->session, i, "interrupted");
			continue;
		}
		rehearsal_run_step(rh, i);
	}
	print_summary(c);
	streams_check(c, false);	/* the steps are over */
	failed = rehearsal_failed(rh);
	if (audit_refused(rh->audit)) {
		print_escaped(stderr, "rehearse: the audit log stopped: ",
		    audit_refusal(rh->audit));
		failed++;
	}
	if (rh->interrupted)
		failed++;	/* the runbook did not run to its end */
	return failed > 0 ? EXIT_FAILED : EXIT_OK;
}

/* The dashboard: the same runbook, audit log and connections as a batch
 * run, driven by a person.  A read-only dashboard writes no log. */
static int
run_dashboard(const struct cli_args *a, struct rehearsal_opts *o)
{
	struct rehearsal *rh;
	char *cause = NULL;

	if (a->fe == NULL || a->fe->dashboard == NULL || !isatty(0) ||
	    !isatty(1)) {
		fprintf(stderr, "rehearse: the dashboard needs a terminal; "
		    "without one, use rehearse run --batch\n");
		return EXIT_USAGE;
	}
	if (cli_has(a, 'R') || cli_has(a, 'f') || cli_has(a, 'y'))
		return cli_usage_error("run", "--resume, --from and --yes go "
		    "with --batch");
	o->log = !cli_has(a, 'r');
	o->mode = POLICY_DASHBOARD;
	o->parts = REHEARSAL_HTTP | REHEARSAL_REDIS | REHEARSAL_SESSION |
	    REHEARSAL_LIVE;
	if ((rh = rehearsal_open(o, &cause)) == NULL)
		return cli_failed(cause, EXIT_USAGE);
	return rehearsal_close(rh, a->fe->dashboard(rh));
}

static int
cmd_run(const struct cli_args *a)
{
	struct rehearsal_opts o;
	struct runctx c;
	const char *resume = cli_get(a, 'R');
	bool read_only = cli_has(a, 'r');
	char *cause = NULL;

	if (resume != NULL ? a->argc != 0 : a->argc != 1)
		return cli_usage_error("run", "%s", resume != NULL ?
		    "--resume takes the log, not a runbook" : a->argc == 0 ?
		    "no runbook given" : "give one runbook");
	memset(&o, 0, sizeof o);
	o.runbook = a->argv[0];
	o.audit = cli_get(a, 'a');
	o.audit_key = cli_get(a, 'k');
	o.pflags = read_only ? POLICY_READ_ONLY : 0;
	if (!cli_has(a, 'b'))
		return run_dashboard(a, &o);
	memset(&c, 0, sizeof c);
	c.yes = cli_has(a, 'y');
	c.from = cli_get(a, 'f');
	if (read_only && (c.yes || resume != NULL))
		return cli_usage_error("run", "--read-only goes with neither "
		    "--yes nor --resume");
	if (resume != NULL && (o.audit != NULL || c.from != NULL))
		return cli_usage_error("run", "--resume continues its own log "
		    "from where it stopped: no --audit, no --from");
	o.resume = resume;
	o.log = true;
	o.mode = POLICY_BATCH;
	o.pflags |= c.yes ? POLICY_YES : 0;
	o.parts = REHEARSAL_HTTP | REHEARSAL_REDIS | REHEARSAL_SETTLE |
	    REHEARSAL_SESSION | REHEARSAL_SIGNALS;
	o.loaded = resolve_from;
	o.arg = &c;
	if ((c.rh = rehearsal_open(&o, &cause)) == NULL)
		return cli_failed(cause, EXIT_USAGE);
	return rehearsal_close(c.rh, run_batch(&c));
}

static const struct cli_opt run_opts[] = {
	{ 'b', false, "batch", NULL, NULL,
	  "run the steps without a screen, progress on stderr" },
	{ 'y', false, "yes", NULL, NULL,
	  "with --batch: the confirmations are given" },
	{ 'r', false, "read-only", NULL, NULL,
	  "only what changes nothing: no purge, no command, no log" },
	{ 'f', false, "from", "STEP", NULL,
	  "with --batch: skip the steps before STEP (an id or a number)" },
	{ 'a', false, "audit", "FILE", "", "write the audit log to FILE" },
	{ 'k', false, "audit-key", "FILE", "",
	  "seal the audit log with the key in FILE" },
	{ 'R', false, "resume", "LOG", "",
	  "with --batch: continue the rehearsal of LOG after a crash" },
	{ 0, false, NULL, NULL, NULL, NULL },
};

static const struct cli_usage run_usage[] = {
	{ "[run] [--read-only] [--audit FILE] [--audit-key FILE] RUNBOOK",
	  "the dashboard: walk a runbook's checklist with live readouts" },
	{ "run --batch [--yes|--read-only] [--from STEP] [--audit FILE] "
	  "[--audit-key FILE] RUNBOOK",
	  "run a runbook's steps without a screen" },
	{ "run --batch --resume LOG [--yes] [--audit-key FILE]",
	  "continue a rehearsal from its audit log" },
	{ NULL, NULL },
};

const struct cli_cmd cmd_run_entry = {
	"run", run_usage,
	"Opens the dashboard on RUNBOOK, or with --batch runs its steps in "
	"order without\na screen.  Without --yes, steps that change the world "
	"or need a person are\nrefused in a batch run.  The word run may be "
	"left out.",
	run_opts, cmd_run,
};
