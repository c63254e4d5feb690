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
#include "log_digest.h"
#include "record.h"
#include "textesc.h"
#include "xmalloc.h"

#define MAX_STEPS 10000
#define MAX_SHARDS 2000		/* rows of one purge in the shards table */

/* What the report lists beside the digest's steps and header. */
struct report {
	struct buf	 purges, commands, notes, unknown;
	size_t		 npurges, ncommands, nnotes, nunknown;
	struct buf	 shards, sums;	/* a cluster purge's, per shard */
	size_t		 nshards, nsums;
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
cell(struct buf *b, const char *s)
{
	char *m = md(s);

	buf_addf(b, " %s |", m);
	free(m);
}

/* An integer member, as a cell: its digits, or "?" when the log has
 * something else there. */
static void
int_cell(struct buf *b, json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	char num[32];

	if (json_is_integer(v))
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else
		snprintf(num, sizeof num, "?");
	cell(b, num);
}

/* A cluster purge's purge.done: a row per shard ("shards": [{"node",
 * "previewed", "deleted", "gone", "in_doubt", "untouched", "errors",
 * "batches", "backed_up"}]), and a note when the shards' counts do not
 * add up to the purge's (the log is untrusted: it is said, not fixed). */
static void
take_shards(struct report *r, json_int_t step, json_t *d)
{
	static const char *const sum_of[] = { "previewed", "deleted", "gone",
	    "in_doubt" };
	json_t *shards = json_object_get(d, "shards"), *sh;
	json_int_t sum[4] = { 0, 0, 0, 0 };
	char num[32];
	size_t i, k;

	if (!json_is_array(shards) || json_array_size(shards) == 0)
		return;
	snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, step);
	json_array_foreach(shards, i, sh) {
		for (k = 0; k < 4; k++)
			sum[k] += json_integer_value(json_object_get(sh,
			    sum_of[k]));
		if (i >= MAX_SHARDS)
			continue;
		buf_adds(&r->shards, "|");
		cell(&r->shards, num);
		cell(&r->shards, str(d, "route"));
		cell(&r->shards, str(sh, "node"));
		int_cell(&r->shards, sh, "previewed");
		int_cell(&r->shards, sh, "deleted");
		int_cell(&r->shards, sh, "gone");
		int_cell(&r->shards, sh, "in_doubt");
		int_cell(&r->shards, sh, "untouched");
		int_cell(&r->shards, sh, "errors");
		int_cell(&r->shards, sh, "batches");
		int_cell(&r->shards, sh, "backed_up");
		buf_adds(&r->shards, "\n");
		r->nshards++;
	}
	if (json_array_size(shards) > MAX_SHARDS)
		buf_addf(&r->sums, "- step %s: %zu more shards not listed\n",
		    num, json_array_size(shards) - MAX_SHARDS);
	for (k = 0; k < 4; k++) {
		/* A failed-over shard appears as its old and its new primary:
		   the preview's count is split between them, never added
		   twice. */
		if (sum[k] == json_integer_value(json_object_get(d, sum_of[k])))
			continue;
		buf_addf(&r->sums, "- step %s: the shards' %s add up to %"
		    JSON_INTEGER_FORMAT ", the purge says %" JSON_INTEGER_FORMAT
		    "\n", num, sum_of[k], sum[k], json_integer_value(
		    json_object_get(d, sum_of[k])));
		r->nsums++;
	}
}

/* The lists: purges, commands, notes and outcomes unknown.  The header
 * and the steps come from the digest. */
static void
take(struct report *r, json_t *o)
{
	const char *type = str(o, "type"), *ts = str(o, "ts");
	json_t *d = json_object_get(o, "data");
	json_int_t n = json_integer_value(json_object_get(o, "step"));
	enum record_type t = record_type_of(type);
	char num[32];

	if (type == NULL)
		return;
	if (t == REC_PURGE_DONE) {
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
		take_shards(r, n, d);
	} else if (t == REC_RUN_DONE || t == REC_ROLLBACK_CHECK_RESULT ||
	    t == REC_ROLLBACK_DONE) {
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
	} else if (t == REC_NOTE || t == REC_MANUAL) {
		char *m = md(str(d, t == REC_NOTE ? "text" : "note")),
		    *a = md(str(o, "actor")), *w = md(ts);
		if (m[0] != '\0') {
			buf_addf(&r->notes, "- step %" JSON_INTEGER_FORMAT ", %s, "
			    "%s%s%s: %s\n", n, w, a, t == REC_MANUAL ?
			    ", marked " : "", t == REC_MANUAL ?
			    str(d, "verdict") : "", m);
			r->nnotes++;
		}
		free(m);
		free(a);
		free(w);
	} else if (t == REC_INTENT_UNKNOWN) {
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

/* One row of the steps table. */
static void
step_row(const struct ld_step *s, size_t n)
{
	const char *verdict = ld_str(s->verdict), *observed = ld_str(s->observed),
	    *reason = ld_str(s->reason);
	struct buf b;
	char *line;

	if (ld_str(s->title) == NULL && verdict == NULL)
		return;
	buf_init(&b);
	buf_addf(&b, "| %zu |", n);
	cell(&b, ld_str(s->title));
	cell(&b, ld_str(s->kind));
	cell(&b, verdict ? verdict : "no verdict");
	line = reason && reason[0] && verdict && strcmp(verdict, "pass") != 0 ?
	    xprintf("%s -- %s", observed ? observed : "", reason) :
	    xstrdup(observed ? observed : "");
	cell(&b, line);
	free(line);
	printf("%s\n", b.data);
	buf_free(&b);
}

/* The title and the table of facts: runbook, people, times, the log's
 * verification.  Returns the exit status, worsened by the verification. */
static int
header(const struct log_digest *ld, const struct verify *vp, int status)
{
	char *e, when[400];

	e = md(ld->title ? ld_str(ld->title) : "(no session.start)");
	printf("# Rehearsal report: %s\n\n| | |\n|---|---|\n", e);
	free(e);
	row("Runbook", ld_str(ld->path));
	row("Runbook SHA-256", ld_str(ld->sha256));
	row("Owner", ld_str(ld->owner));
	row("Environment", ld_str(ld->environment));
	row("Operator", ld_str(ld->actor));
	row("Host", ld_str(ld->host));
	if (ld->redis_user != NULL)
		row("Redis user", ld_str(ld->redis_user));
	row("Started", ld_str(ld->first_ts));
	row("Last record", ld_str(ld->last_ts));
	switch (vp->status) {
	case VERIFY_INTACT:
		snprintf(when, sizeof when, "intact: %" PRIu64 " records, %s%s",
		    vp->records, verify_seal(vp), vp->sealed ? "" :
		    " (" VERIFY_UNSEALED_WHY ")");
		break;
	case VERIFY_NEED_KEY:
		snprintf(when, sizeof when, "not checked: %s", vp->reason);
		status = status ? status : EXIT_USAGE;
		break;
	default:
		snprintf(when, sizeof when, "NOT INTACT at line %zu: %s",
		    vp->bad_line, vp->reason);
		status = status ? status : EXIT_FAILED;
		break;
	}
	row("Audit log", when);
	return status;
}

static int
cmd_report(const struct cli_args *a)
{
	struct audit_key key;
	struct audit_reader *rd;
	struct audit_line l;
	struct verify v;
	struct report r;
	struct log_digest ld;
	const char *keyfile = cli_get(a, 'k');
	char *cause = NULL, *e;
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
	buf_init(&r.shards);
	buf_init(&r.sums);
	verify_init(&v, &key);
	log_digest_init(&ld, MAX_STEPS, true);
	while ((rc = audit_reader_next(rd, &l, &cause)) == 1) {
		/* Parsed once, for the verifier, the digest and the lists. */
		o = log_digest_parse(&l);
		verify_record(&v, &l, o);
		if (l.complete && o != NULL) {
			log_digest_feed(&ld, l.lineno, o);
			take(&r, o);
		}
		json_decref(o);
	}
	audit_reader_close(rd);
	if (rc < 0) {
		fprintf(stderr, "rehearse: %s\n", cause);
		free(cause);
		status = EXIT_USAGE;
	}
	verify_finish(&v);

	status = header(&ld, &v, status);
	printf("\n## Steps\n\n| # | Step | Kind | Verdict | Observed |\n"
	    "|---|---|---|---|---|\n");
	for (i = 1; i <= ld.nsteps; i++)
		step_row(log_digest_step(&ld, i), i);
	if (r.npurges > 0)
		printf("\n## Purges\n\n| Step | Route | Previewed | Deleted | "
		    "Already gone | In doubt | ms | State |\n"
		    "|---|---|---|---|---|---|---|---|\n%s", r.purges.data);
	if (r.nshards > 0)
		printf("\n## Shards\n\nA cluster purge, per primary (a shard "
		    "that failed over shows its old and its new primary).\n\n"
		    "| Step | Route | Primary | Previewed | Deleted | Already gone "
		    "| In doubt | Untouched | Errors | Batches | Backed up |\n"
		    "|---|---|---|---|---|---|---|---|---|---|---|\n%s%s%s",
		    r.shards.data, r.sums.len > 0 ? "\n" : "",
		    r.sums.len > 0 ? r.sums.data : "");
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
	log_digest_done(&ld);
	buf_free(&r.purges);
	buf_free(&r.commands);
	buf_free(&r.notes);
	buf_free(&r.unknown);
	buf_free(&r.shards);
	buf_free(&r.sums);
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
