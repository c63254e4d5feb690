/* test_digest.c: the table of record types (names, pairing, the writers'
 * names all in it) and the one fold of a log (steps, attempts, intents
 * without a result, the first failure, a torn tail). */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "audit_read.h"
#include "log_digest.h"
#include "record.h"
#include "tap.h"
#include "xmalloc.h"

START_TEST(names_round_trip)
{
	enum record_type t;

	for (t = 1; t < REC_NTYPES; t++) {
		ck_assert_int_eq(record_info(t)->type, t);
		ck_assert_str_ne(record_name(t), "");
		ck_assert_int_eq(record_type_of(record_name(t)), t);
	}
	ck_assert_int_eq(record_type_of(NULL), REC_UNKNOWN);
	ck_assert_int_eq(record_type_of("step.resul"), REC_UNKNOWN);
	ck_assert_int_eq(record_type_of("later.kind"), REC_UNKNOWN);
	ck_assert_str_eq(record_name(REC_STEP_RESULT), "step.result");
	ck_assert_str_eq(record_name(REC_NTYPES), "");
}
END_TEST

START_TEST(intents_and_results_pair)
{
	const struct record_info *ri, *p;
	enum record_type t;
	size_t intents = 0;

	for (t = 1; t < REC_NTYPES; t++) {
		ri = record_info(t);
		p = record_info(ri->pair);
		if (ri->role & RECORD_INTENT) {
			intents++;
			ck_assert_msg(p->role & RECORD_RESULT, "%s pairs with "
			    "%s, not a result", ri->name, p->name);
			ck_assert_int_eq(p->pair, t);
			ck_assert(record_is_intent(ri->name));
			/* An intent's name ends in .intent (man page). */
			ck_assert_ptr_nonnull(strstr(ri->name, ".intent"));
		} else if (ri->role & RECORD_RESULT) {
			ck_assert_msg(p->role & RECORD_INTENT, "%s pairs with "
			    "%s, not an intent", ri->name, p->name);
			ck_assert_int_eq(p->pair, t);
			ck_assert(!record_is_intent(ri->name));
		} else {
			ck_assert_int_eq(ri->pair, REC_UNKNOWN);
			ck_assert(!record_is_intent(ri->name));
		}
	}
	ck_assert_uint_eq(intents, 5);
	/* A kind a later version adds is still an intent. */
	ck_assert(record_is_intent("flush.intent"));
	ck_assert(!record_is_intent(".intent"));
	ck_assert(!record_is_intent(NULL));
}
END_TEST

START_TEST(judgements)
{
	static const struct { const char *rec; unsigned want; } c[] = {
		{ "{\"type\":\"step.result\",\"data\":{\"verdict\":\"pass\"}}", 0 },
		{ "{\"type\":\"step.result\",\"data\":{\"verdict\":\"fail\"}}",
		  RECORD_FAIL },
		{ "{\"type\":\"manual\",\"data\":{\"verdict\":\"skipped\"}}",
		  RECORD_WARN },
		{ "{\"type\":\"http.result\",\"data\":{\"ok\":false}}",
		  RECORD_FAIL },
		{ "{\"type\":\"measure.result\",\"data\":{\"ok\":3,\"checks\":"
		  "[{\"verdict\":\"fail\"}]}}", RECORD_FAIL },
		{ "{\"type\":\"run.done\",\"data\":{\"exit\":0}}", 0 },
		{ "{\"type\":\"run.done\",\"data\":{\"exit\":2}}", RECORD_FAIL },
		{ "{\"type\":\"rollback.done\",\"data\":{\"exit\":0,"
		  "\"timed_out\":true}}", RECORD_FAIL },
		{ "{\"type\":\"purge.done\",\"data\":{\"in_doubt\":1}}",
		  RECORD_FAIL },
		{ "{\"type\":\"wait.result\",\"data\":{}}", RECORD_FAIL },
		{ "{\"type\":\"intent.unknown\",\"data\":{}}", RECORD_WARN },
		{ "{\"type\":\"note\",\"data\":{\"text\":\"fail\"}}", 0 },
	};
	json_t *o;
	size_t i;

	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		o = json_loads(c[i].rec, 0, NULL);
		ck_assert_ptr_nonnull(o);
		ck_assert_msg(record_judge(o) == c[i].want, "%s", c[i].rec);
		json_decref(o);
	}
}
END_TEST

/* Every type a log written by rehearse holds is in the table. */
START_TEST(written_types_are_in_the_table)
{
	char *dir = tap_srcpath("tests/fuzz/corpus/audit"), *path, *cause;
	struct audit_reader *rd;
	struct audit_line l;
	struct dirent *de;
	const char *type;
	size_t seen = 0;
	DIR *dp;
	json_t *o;

	ck_assert_ptr_nonnull(dp = opendir(dir));
	while ((de = readdir(dp)) != NULL) {
		/* Logs written by rehearse itself, not the hostile ones. */
		if (strcmp(de->d_name, "demo.jsonl") != 0 &&
		    strcmp(de->d_name, "demo-fail.jsonl") != 0 &&
		    strcmp(de->d_name, "run.jsonl") != 0 &&
		    strcmp(de->d_name, "intent-unknown.jsonl") != 0 &&
		    strcmp(de->d_name, "resumed.jsonl") != 0)
			continue;
		path = xprintf("%s/%s", dir, de->d_name);
		cause = NULL;
		ck_assert_ptr_nonnull(rd = audit_reader_open(path, &cause));
		while (audit_reader_next(rd, &l, &cause) == 1) {
			if ((o = log_digest_parse(&l)) == NULL)
				continue;
			type = ld_str(json_object_get(o, "type"));
			ck_assert_msg(record_type_of(type) != REC_UNKNOWN,
			    "%s:%zu: type %s is not in the table", path,
			    l.lineno, type ? type : "(none)");
			seen++;
			json_decref(o);
		}
		audit_reader_close(rd);
		free(path);
	}
	closedir(dp);
	free(dir);
	ck_assert_uint_gt(seen, 20);
}
END_TEST

/* The writers and readers name types through the table: no source file in
 * src/ or ui/ but record.c spells a dotted type name as a string. */
static void
no_type_literals(const char *dir)
{
	char *d = tap_srcpath(dir), *path, *text, quoted[48];
	enum record_type t;
	struct dirent *de;
	size_t files = 0, n;
	DIR *dp;
	FILE *f;
	long len;

	ck_assert_ptr_nonnull(dp = opendir(d));
	while ((de = readdir(dp)) != NULL) {
		n = strlen(de->d_name);
		if (n < 3 || strcmp(de->d_name + n - 2, ".c") != 0 ||
		    strcmp(de->d_name, "record.c") == 0)
			continue;
		path = xprintf("%s/%s", d, de->d_name);
		ck_assert_ptr_nonnull(f = fopen(path, "r"));
		ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
		len = ftell(f);
		rewind(f);
		text = xcalloc(1, (size_t)len + 1);
		ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		for (t = 1; t < REC_NTYPES; t++) {
			if (strchr(record_name(t), '.') == NULL)
				continue;
			snprintf(quoted, sizeof quoted, "\"%s\"",
			    record_name(t));
			ck_assert_msg(strstr(text, quoted) == NULL, "%s/%s spells "
			    "%s: use record_name()", dir, de->d_name, quoted);
		}
		ck_assert_msg(strstr(text, "\".intent\"") == NULL, "%s/%s "
		    "spells \".intent\": use record_is_intent()", dir,
		    de->d_name);
		free(text);
		free(path);
		files++;
	}
	closedir(dp);
	free(d);
	ck_assert_uint_gt(files, 0);
}

START_TEST(writers_use_the_table)
{
	no_type_literals("src");
	no_type_literals("ui");
}
END_TEST

static char tmpdir[64];

/* A log: step 1 passes; step 2's command started (run.intent) and never
 * reported; step 3 fails, then passes on a second attempt; then the
 * writer stops mid-record (the session.end is cut off, a torn line
 * follows). */
static char *
write_log(void)
{
	struct diags d;
	struct runbook *rb;
	char *rbpath = tap_srcpath("runbooks/demo.yml"), *cause = NULL, *path;
	struct audit_opts o = { 0 };
	struct audit *a;
	FILE *f;
	char *text, *last;
	long n;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/rehearse-digest-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	path = xprintf("%s/log.jsonl", tmpdir);
	diags_init(&d);
	ck_assert_ptr_nonnull(rb = runbook_load(rbpath, &d));
	diags_done(&d);
	o.path = path;
	o.rb = rb;
	a = audit_open(&o, &cause);
	ck_assert_msg(a != NULL, "audit_open: %s", cause ? cause : "");
	audit_append(a, record_name(REC_STEP_START), 1, json_pack("{s:s, s:s}",
	    "title", "first", "kind", "http"));
	audit_append(a, record_name(REC_STEP_RESULT), 1, json_pack("{s:s, s:s}",
	    "verdict", "pass", "observed", "200 HIT"));
	audit_append(a, record_name(REC_STEP_START), 2, json_pack("{s:s, s:s}",
	    "title", "deploy", "kind", "run"));
	audit_intent(a, record_name(REC_RUN_INTENT), 2, json_pack("{s:s}",
	    "command", "deploy.sh"));
	audit_append(a, record_name(REC_STEP_START), 3, json_pack("{s:s, s:s}",
	    "title", "third", "kind", "http"));
	audit_append(a, record_name(REC_STEP_RESULT), 3, json_pack("{s:s, s:s, "
	    "s:s}", "verdict", "fail", "observed", "500", "reason", "status"));
	audit_append(a, record_name(REC_STEP_START), 3, json_pack("{s:s, s:s}",
	    "title", "third, again", "kind", "http"));
	audit_append(a, record_name(REC_STEP_RESULT), 3, json_pack("{s:s, s:s}",
	    "verdict", "pass", "observed", "200"));
	ck_assert_int_eq(audit_close(a), 0);
	runbook_free(rb);
	free(rbpath);

	/* Cut the session.end off and leave half a record instead. */
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = xcalloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	text[n - 1] = '\0';
	ck_assert_ptr_nonnull(last = strrchr(text, '\n'));
	last[1] = '\0';
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "%s{\"seq\":11,\"ts\":\"2026-", text);
	fclose(f);
	free(text);
	return path;
}

START_TEST(digest_folds_steps_attempts_and_intents)
{
	char *path = write_log(), *cause = NULL, *cmd;
	struct log_digest ld;
	struct verify v;
	const struct ld_step *s;

	log_digest_init(&ld, 100, true);
	verify_init(&v, NULL);
	ck_assert_int_eq(log_digest_file(&ld, &v, path, &cause), 0);

	ck_assert(ld.started);
	ck_assert_str_eq(ld_str(ld.title), "blog page cache, release 1.5.2");
	ck_assert_ptr_nonnull(ld_str(ld.session));
	ck_assert_ptr_nonnull(ld_str(ld.first_ts));
	ck_assert(!ld.ended);
	ck_assert_uint_eq(ld.nsteps, 3);

	ck_assert_ptr_nonnull(s = log_digest_step(&ld, 1));
	ck_assert_str_eq(ld_str(s->verdict), "pass");
	ck_assert_str_eq(ld_str(s->observed), "200 HIT");
	ck_assert_uint_eq(s->attempts, 1);
	ck_assert(!s->running && !s->acted);
	ck_assert_uint_eq(s->first_line, 2);

	/* The intent without a result: running, acted, no verdict. */
	ck_assert_ptr_nonnull(s = log_digest_step(&ld, 2));
	ck_assert_ptr_null(s->verdict);
	ck_assert(s->running && s->acted);
	ck_assert_str_eq(ld_str(s->kind), "run");

	/* Two attempts: the last one counts; the failure is remembered. */
	ck_assert_ptr_nonnull(s = log_digest_step(&ld, 3));
	ck_assert_uint_eq(s->attempts, 2);
	ck_assert_str_eq(ld_str(s->title), "third, again");
	ck_assert_str_eq(ld_str(s->verdict), "pass");
	ck_assert_ptr_null(s->reason);
	ck_assert_uint_eq(s->first_line, 6);
	ck_assert_uint_eq(ld.first_failure, 7);
	ck_assert_uint_eq(ld.failures, 1);
	ck_assert_ptr_null(log_digest_step(&ld, 4));
	ck_assert_ptr_null(log_digest_step(&ld, 0));

	/* The verifier, fed the same parsed records: the torn tail, and
	 * the intent without a result. */
	ck_assert_int_eq(v.status, VERIFY_TORN);
	ck_assert_uint_eq(v.torn_line, 10);
	ck_assert_uint_eq(v.nintents, 1);
	ck_assert_str_eq(v.intents[0].type, "run.intent");

	verify_done(&v);
	log_digest_done(&ld);

	/* Without keep_text, and with fewer steps: step 3 is not folded. */
	log_digest_init(&ld, 2, false);
	ck_assert_int_eq(log_digest_file(&ld, NULL, path, &cause), 0);
	ck_assert_uint_eq(ld.nsteps, 2);
	ck_assert_ptr_null(log_digest_step(&ld, 1)->observed);
	ck_assert_uint_eq(ld.failures, 1);
	log_digest_done(&ld);

	free(path);
	cmd = xprintf("rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}
END_TEST

START_TEST(digest_takes_what_is_not_a_record)
{
	struct log_digest ld;
	json_t *o;

	log_digest_init(&ld, 10, false);
	ck_assert_uint_eq(log_digest_feed(&ld, 1, NULL), LD_BAD);
	o = json_pack("{s:i, s:{}}", "step", 1, "data");
	ck_assert_uint_eq(log_digest_feed(&ld, 2, o) & LD_BAD, LD_BAD);
	json_decref(o);
	o = json_pack("{s:s, s:s, s:i, s:{s:s}}", "type", "step.start", "ts",
	    "2026-11-26T10:00:00.000Z", "step", 1000000, "data", "title", "x");
	ck_assert_uint_eq(log_digest_feed(&ld, 3, o), 0);
	ck_assert_ptr_null(ld.touched);	/* beyond max_steps */
	ck_assert_int_eq(ld.last, REC_STEP_START);
	json_decref(o);
	ck_assert_uint_eq(ld.first_failure, 1);
	ck_assert_uint_eq(ld.failures, 2);
	ck_assert_uint_eq(ld.nsteps, 0);
	log_digest_done(&ld);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("digest");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, names_round_trip);
	tcase_add_test(tc, intents_and_results_pair);
	tcase_add_test(tc, judgements);
	tcase_add_test(tc, written_types_are_in_the_table);
	tcase_add_test(tc, writers_use_the_table);
	tcase_add_test(tc, digest_folds_steps_attempts_and_intents);
	tcase_add_test(tc, digest_takes_what_is_not_a_record);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
