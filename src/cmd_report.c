/* cmd_report.c: `rehearse report [--key FILE] LOG`: a Markdown summary of a
 * rehearsal to paste into a change request or an incident document.  The
 * log is read once, line by line, and verified on the way; everything
 * taken from it is untrusted text, escaped for the terminal and for
 * Markdown. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit_chain.h"
#include "audit_read.h"
#include "buf.h"
#include "cli.h"
#include "textesc.h"
#include "xmalloc.h"

#define MAX_STEPS 10000

struct rstep {
	char		*title;
	char		*kind;
	char		*verdict;
	char		*observed;
	char		*reason;
};

struct report {
	struct rstep	*steps;
	size_t		 nsteps;
	char		*title, *owner, *environment, *path, *sha, *actor, *host;
	char		*first_ts, *last_ts;
	struct buf	 purges, commands, notes, unknown;
	size_t		 npurges, ncommands, nnotes, nunknown;
};

/* Untrusted text made safe for a terminal and for a Markdown table cell. */
static char *
md(const char *s)
{
	char *e = esc_str(s ? s : "", 0);
	struct buf b;
	const char *p;

	buf_init(&b);
	buf_add(&b, "", 0);
	for (p = e; *p != '\0'; p++) {
		if (strchr("|`*_<>[]#", *p) != NULL)
			buf_addc(&b, '\\');
		buf_addc(&b, *p);
	}
	free(e);
	return buf_detach(&b);
}

static const char *
str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void
set(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

static struct rstep *
step_at(struct report *r, json_int_t n)
{
	if (n < 1 || n > MAX_STEPS)
		return NULL;
	if ((size_t)n > r->nsteps) {
		r->steps = xreallocarray(r->steps, (size_t)n, sizeof *r->steps);
		memset(r->steps + r->nsteps, 0, ((size_t)n - r->nsteps) *
		    sizeof *r->steps);
		r->nsteps = (size_t)n;
	}
	return &r->steps[n - 1];
}

static void
cell(struct buf *b, const char *s)
{
	char *m = md(s);

	buf_addf(b, " %s |", m);
	free(m);
}

static void
take(struct report *r, json_t *o)
{
	const char *type = str(o, "type"), *ts = str(o, "ts");
	json_t *d = json_object_get(o, "data");
	json_int_t n = json_integer_value(json_object_get(o, "step"));
	struct rstep *s = step_at(r, n);
	json_t *rb;
	char num[32];

	if (type == NULL)
		return;
	if (ts != NULL) {
		if (r->first_ts == NULL)
			set(&r->first_ts, ts);
		set(&r->last_ts, ts);
	}
	if (strcmp(type, "session.start") == 0) {
		rb = json_object_get(d, "runbook");
		set(&r->title, str(rb, "title"));
		set(&r->owner, str(rb, "owner"));
		set(&r->environment, str(rb, "environment"));
		set(&r->path, str(rb, "path"));
		set(&r->sha, str(rb, "sha256"));
		set(&r->actor, str(o, "actor"));
		set(&r->host, str(d, "hostname"));
	} else if (strcmp(type, "step.start") == 0 && s != NULL) {
		set(&s->title, str(d, "title"));
		set(&s->kind, str(d, "kind"));
	} else if (strcmp(type, "step.result") == 0 && s != NULL) {
		set(&s->verdict, str(d, "verdict"));
		set(&s->observed, str(d, "observed"));
		set(&s->reason, str(d, "reason"));
	} else if (strcmp(type, "purge.done") == 0) {
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, n);
		buf_adds(&r->purges, "|");
		cell(&r->purges, num);
		cell(&r->purges, str(d, "route"));
#define NUM(k) snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, \
	json_integer_value(json_object_get(d, k))); cell(&r->purges, num)
		NUM("previewed");
		NUM("deleted");
		NUM("gone");
		NUM("in_doubt");
#undef NUM
		snprintf(num, sizeof num, "%.0f", json_real_value(
		    json_object_get(d, "ms")));
		cell(&r->purges, num);
		cell(&r->purges, str(d, "state"));
		buf_adds(&r->purges, "\n");
		r->npurges++;
	} else if (strcmp(type, "run.done") == 0 ||
	    strcmp(type, "rollback_check.result") == 0 ||
	    strcmp(type, "rollback.done") == 0) {
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, n);
		buf_adds(&r->commands, "|");
		cell(&r->commands, n > 0 ? num : "-");
		cell(&r->commands, type);
		cell(&r->commands, str(d, "command") ? str(d, "command") :
		    str(d, "rollback"));
		if (json_object_get(d, "exit") == NULL)
			cell(&r->commands, str(d, "error"));
		else {
			snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT "%s",
			    json_integer_value(json_object_get(d, "exit")),
			    json_is_true(json_object_get(d, "timed_out")) ?
			    " (timed out)" : "");
			cell(&r->commands, num);
		}
		snprintf(num, sizeof num, "%.1f s", json_real_value(
		    json_object_get(d, "ms")) / 1000);
		cell(&r->commands, num);
		buf_adds(&r->commands, "\n");
		r->ncommands++;
	} else if (strcmp(type, "note") == 0 || strcmp(type, "manual") == 0) {
		char *m = md(str(d, strcmp(type, "note") == 0 ? "text" : "note")),
		    *a = md(str(o, "actor")), *t = md(ts);
		if (m[0] != '\0') {
			buf_addf(&r->notes, "- step %" JSON_INTEGER_FORMAT ", %s, "
			    "%s%s%s: %s\n", n, t, a, strcmp(type, "manual") == 0 ?
			    ", marked " : "", strcmp(type, "manual") == 0 ?
			    str(d, "verdict") : "", m);
			r->nnotes++;
		}
		free(m);
		free(a);
		free(t);
	} else if (strcmp(type, "intent.unknown") == 0) {
		char *m = md(str(d, "type"));
		buf_addf(&r->unknown, "- record %" JSON_INTEGER_FORMAT " (%s): "
		    "outcome unknown after a crash\n", json_integer_value(
		    json_object_get(d, "intent")), m);
		free(m);
		r->nunknown++;
	}
}

static void
row(const char *k, const char *v)
{
	char *m = md(v ? v : "-");

	printf("| %s | %s |\n", k, m);
	free(m);
}

static int
cmd_report(const struct cli_args *a)
{
	struct audit_key key;
	struct audit_reader *rd;
	struct audit_line l;
	struct verify v;
	struct report r;
	const char *keyfile = cli_get(a, 'k');
	char *cause = NULL, *e, when[400];
	json_t *o;
	size_t i;
	int rc, status = EXIT_OK;

	if (a->argc != 1)
		return cli_usage_error("report", "give one audit log");
	memset(&key, 0, sizeof key);
	if (keyfile != NULL && audit_key_load(&key, keyfile, &cause) != 0) {
		fprintf(stderr, "rehearse: %s\n", cause);
		free(cause);
		return EXIT_USAGE;
	}
	if ((rd = audit_reader_open(a->argv[0], &cause)) == NULL) {
		e = esc_str(cause, 0);
		fprintf(stderr, "rehearse: %s\n", e);
		free(e);
		free(cause);
		return EXIT_USAGE;
	}
	memset(&r, 0, sizeof r);
	buf_init(&r.purges);
	buf_init(&r.commands);
	buf_init(&r.notes);
	buf_init(&r.unknown);
	verify_init(&v, &key);
	while ((rc = audit_reader_next(rd, &l, &cause)) == 1) {
		verify_line(&v, &l);
		if (!l.complete || l.overlong || (o = json_loadb(l.text, l.len,
		    JSON_ALLOW_NUL, NULL)) == NULL)
			continue;
		take(&r, o);
		json_decref(o);
	}
	audit_reader_close(rd);
	if (rc < 0) {
		fprintf(stderr, "rehearse: %s\n", cause);
		free(cause);
		status = EXIT_USAGE;
	}
	verify_finish(&v);

	e = md(r.title ? r.title : "(no session.start)");
	printf("# Rehearsal report: %s\n\n| | |\n|---|---|\n", e);
	free(e);
	row("Runbook", r.path);
	row("Runbook SHA-256", r.sha);
	row("Owner", r.owner);
	row("Environment", r.environment);
	row("Operator", r.actor);
	row("Host", r.host);
	row("Started", r.first_ts);
	row("Last record", r.last_ts);
	switch (v.status) {
	case VERIFY_INTACT:
		snprintf(when, sizeof when, "intact: %" PRIu64 " records, %s%s",
		    v.records, verify_seal(&v), v.sealed ? "" :
		    " (" VERIFY_UNSEALED_WHY ")");
		break;
	case VERIFY_NEED_KEY:
		snprintf(when, sizeof when, "not checked: %s", v.reason);
		status = status ? status : EXIT_USAGE;
		break;
	default:
		snprintf(when, sizeof when, "NOT INTACT at line %zu: %s",
		    v.bad_line, v.reason);
		status = status ? status : EXIT_FAILED;
		break;
	}
	row("Audit log", when);
	printf("\n## Steps\n\n| # | Step | Kind | Verdict | Observed |\n"
	    "|---|---|---|---|---|\n");
	for (i = 0; i < r.nsteps; i++) {
		struct rstep *s = &r.steps[i];
		struct buf b;
		char *line;

		if (s->title == NULL && s->verdict == NULL)
			continue;
		buf_init(&b);
		buf_addf(&b, "| %zu |", i + 1);
		cell(&b, s->title);
		cell(&b, s->kind);
		cell(&b, s->verdict ? s->verdict : "no verdict");
		line = s->reason && s->reason[0] && s->verdict &&
		    strcmp(s->verdict, "pass") != 0 ?
		    xprintf("%s -- %s", s->observed ? s->observed : "",
		    s->reason) : xstrdup(s->observed ? s->observed : "");
		cell(&b, line);
		free(line);
		printf("%s\n", b.data);
		buf_free(&b);
	}
	if (r.npurges > 0)
		printf("\n## Purges\n\n| Step | Route | Previewed | Deleted | "
		    "Already gone | In doubt | ms | State |\n"
		    "|---|---|---|---|---|---|---|---|\n%s", r.purges.data);
	if (r.ncommands > 0)
		printf("\n## Commands\n\n| Step | Record | Command | Exit | "
		    "Duration |\n|---|---|---|---|---|\n%s", r.commands.data);
	if (r.nnotes > 0)
		printf("\n## Notes\n\n%s", r.notes.data);
	if (r.nunknown > 0 || v.nintents > 0) {
		printf("\n## Outcome unknown\n\n%s", r.nunknown ? r.unknown.data :
		    "");
		for (i = 0; i < v.nintents; i++) {
			e = md(v.intents[i].type);
			printf("- record %" PRIu64 " (%s): no result recorded\n",
			    v.intents[i].seq, e);
			free(e);
		}
	}
	for (i = 0; i < r.nsteps; i++) {
		free(r.steps[i].title);
		free(r.steps[i].kind);
		free(r.steps[i].verdict);
		free(r.steps[i].observed);
		free(r.steps[i].reason);
	}
	free(r.steps);
	free(r.title);
	free(r.owner);
	free(r.environment);
	free(r.path);
	free(r.sha);
	free(r.actor);
	free(r.host);
	free(r.first_ts);
	free(r.last_ts);
	buf_free(&r.purges);
	buf_free(&r.commands);
	buf_free(&r.notes);
	buf_free(&r.unknown);
	verify_done(&v);
	explicit_bzero(&key, sizeof key);
	return status;
}

static const struct cli_opt report_opts[] = {
	{ 'k', false, "key", "FILE", "",
	  "the key a sealed log was written with" },
	{ 0, false, NULL, NULL, NULL, NULL },
};

static const struct cli_usage report_usage[] = {
	{ "report [--key FILE] LOG", "print a Markdown summary of a rehearsal" },
	{ NULL, NULL },
};

const struct cli_cmd cmd_report_entry = {
	"report", report_usage,
	"Prints a Markdown summary of the rehearsal in LOG, with the log's "
	"verification.",
	report_opts, cmd_report,
};
