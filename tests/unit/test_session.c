/* test_session.c: the step engine through session.h only, against a real
 * loop and a real audit log in a temporary folder, with steps that need no
 * server (commands that are true, false or sleep; manual steps; a probe of
 * a port nobody listens on).  The
 * state machine (start, cancel, skip, refuse, manual, note) and the
 * records each transition writes; read-only and check sessions; resume (a
 * log cut while an action ran, read back by log_digest and continued: done
 * steps kept, the action's outcome unknown); the rollback is one call away whatever the step, and a
 * read-only session cannot reach it or any action. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "log_digest.h"
#include "session.h"
#include "tap.h"
#include "testsrv.h"
#include "xmalloc.h"

struct seen {
	bool		 rollback_done;
	size_t		 lines;
};

static void
changed(struct session *s, size_t step, void *arg)
{
	(void)s;
	if (step == RB_NONE)	/* the rollback */
		((struct seen *)arg)->rollback_done = true;
}

static void
output(struct session *s, size_t step, const char *line, size_t len,
    bool err, void *arg)
{
	(void)s;
	(void)step;
	(void)line;
	(void)len;
	(void)err;
	((struct seen *)arg)->lines++;
}

static bool
rolled_back(void *arg)
{
	return ((struct seen *)arg)->rollback_done;
}

static bool
step_done(void *arg)
{
	return session_step(arg, 0)->state != STEP_RUNNING;
}

/* A session on a fresh log in a temporary folder. */
struct fixture {
	char		 dir[64];
	char		*log;
	struct runbook	*rb;
	struct loop	*loop;
	struct http	*http;
	struct audit	*audit;
	struct session	*s;
	struct seen	 seen;
};

static void
fixture_open(struct fixture *fx, const char *yaml, bool read_only,
    bool check_mode)
{
	struct session_hooks hooks = { changed, output, NULL, NULL };
	struct session_opts so = { read_only, check_mode, NULL };
	struct audit_opts ao = { 0 };
	char *cause = NULL;

	memset(fx, 0, sizeof *fx);
	strcpy(fx->dir, "/tmp/rehearse-session-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx->dir));
	fx->log = xprintf("%s/log.jsonl", fx->dir);
	ck_assert_ptr_nonnull(fx->rb = test_runbook("%s", yaml));
	fx->loop = loop_new();
	fx->http = http_new(fx->loop);
	ao.path = fx->log;
	ao.rb = fx->rb;
	fx->audit = audit_open(&ao, &cause);
	ck_assert_msg(fx->audit != NULL, "audit_open: %s", cause);
	hooks.arg = &fx->seen;
	fx->s = session_new(fx->loop, fx->rb, fx->audit, NULL, fx->http, &so,
	    &hooks);
}

/* The text of the file at path (caller frees). */
static char *
slurp(const char *path)
{
	char *data;
	FILE *f;
	size_t n;

	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	data = xmalloc(1 << 18);
	n = fread(data, 1, (1 << 18) - 1, f);
	data[n] = '\0';
	fclose(f);
	return data;
}

/* Ends the session and the log, removes the folder; the log's text
 * (caller frees). */
static char *
fixture_close(struct fixture *fx)
{
	char *data;

	session_free(fx->s);
	ck_assert_int_eq(audit_close(fx->audit), 0);
	data = slurp(fx->log);
	unlink(fx->log);
	rmdir(fx->dir);
	free(fx->log);
	runbook_free(fx->rb);
	http_free(fx->http);
	loop_free(fx->loop);
	return data;
}

/* How many times needle is in text. */
static size_t
count(const char *text, const char *needle)
{
	size_t n = 0;

	while ((text = strstr(text, needle)) != NULL) {
		n++;
		text += strlen(needle);
	}
	return n;
}

/* The record of type in text for step (1-based), or NULL: its line. */
static char *
record_of(const char *text, const char *type, unsigned step)
{
	char *want = xprintf("\"type\":\"%s\",\"step\":%u,", type, step);
	const char *p = strstr(text, want), *b, *e;
	char *line = NULL;

	if (p != NULL) {
		for (b = p; b > text && b[-1] != '\n'; b--)
			;
		e = strchr(p, '\n');
		line = xstrndup(b, e != NULL ? (size_t)(e - b) : strlen(b));
	}
	free(want);
	return line;
}

/* Asserts that step's step.result says verdict (and holds fragment). */
static void
assert_result(const char *text, unsigned step, const char *verdict,
    const char *fragment)
{
	char *line = record_of(text, "step.result", step);
	char *v = xprintf("\"verdict\":\"%s\"", verdict);

	ck_assert_msg(line != NULL, "no step.result for step %u", step);
	ck_assert_msg(strstr(line, v) != NULL, "step %u: %s", step, line);
	if (fragment != NULL)
		ck_assert_msg(strstr(line, fragment) != NULL, "step %u: %s",
		    step, line);
	free(v);
	free(line);
}

struct waiting {
	struct session	*s;
	size_t		 step;
};

static bool
not_running(void *arg)
{
	struct waiting *w = arg;

	return session_step(w->s, w->step)->state != STEP_RUNNING;
}

/* Runs the loop until step is no longer running (10 s at most). */
static void
settle(struct fixture *fx, size_t step)
{
	struct waiting w = { fx->s, step };

	ck_assert_msg(run_until(fx->loop, not_running, &w, 10),
	    "step %zu still running", step + 1);
}

static const char *commands_yaml =
    "runbook: t\nowner: o\nsteps:\n"
    "  - { title: yes, run: [\"true\"] }\n"
    "  - { title: no, run: [\"false\"] }\n"
    "  - { title: slow, run: [sleep, '30'] }\n"
    "  - { title: look, manual: all green? }\n"
    "  - { title: look again, manual: still green? }\n";

START_TEST(commands_pass_fail_and_cancel)
{
	struct fixture fx;
	char *cause = NULL, *log, *intent, *done;

	fixture_open(&fx, commands_yaml, false, false);
	ck_assert(session_step_is_action(fx.s, 0));
	ck_assert(!session_step_is_action(fx.s, 3));
	ck_assert_int_eq(session_step(fx.s, 0)->state, STEP_PENDING);

	ck_assert_int_eq(session_start(fx.s, 0, &cause), 0);
	ck_assert_int_eq(session_step(fx.s, 0)->state, STEP_RUNNING);
	ck_assert(session_busy(fx.s));
	settle(&fx, 0);
	ck_assert_int_eq(session_step(fx.s, 0)->state, STEP_PASSED);
	ck_assert(!session_busy(fx.s));
	ck_assert_ptr_nonnull(session_step(fx.s, 0)->observed);
	ck_assert(session_step(fx.s, 0)->ended != 0);

	/* A step with a verdict is not started again. */
	ck_assert_int_eq(session_start(fx.s, 0, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "not pending"));
	free(cause);

	ck_assert_int_eq(session_start(fx.s, 1, &cause), 0);
	settle(&fx, 1);
	ck_assert_int_eq(session_step(fx.s, 1)->state, STEP_FAILED);
	ck_assert_ptr_nonnull(session_step(fx.s, 1)->reason);

	/* Cancelled while running: stopped by signal, failed. */
	ck_assert_int_eq(session_start(fx.s, 2, &cause), 0);
	run_for(fx.loop, 0.2);
	ck_assert_int_eq(session_step(fx.s, 2)->state, STEP_RUNNING);
	session_cancel(fx.s, 2);
	settle(&fx, 2);
	ck_assert_int_eq(session_step(fx.s, 2)->state, STEP_FAILED);
	/* Cancelling a step that does not run changes nothing. */
	session_cancel(fx.s, 3);
	ck_assert_int_eq(session_step(fx.s, 3)->state, STEP_PENDING);
	log = fixture_close(&fx);

	/* Each command: step.start, its intent, its result naming the
	 * intent, then step.result, in that order. */
	ck_assert_uint_eq(count(log, "\"type\":\"step.start\""), 3);
	ck_assert_uint_eq(count(log, "\"type\":\"run.intent\""), 3);
	ck_assert_uint_eq(count(log, "\"type\":\"run.done\""), 3);
	intent = strstr(log, "\"type\":\"run.intent\",\"step\":1,");
	done = strstr(log, "\"type\":\"run.done\",\"step\":1,");
	ck_assert(strstr(log, "\"type\":\"step.start\",\"step\":1,") < intent);
	ck_assert(intent != NULL && done != NULL && intent < done);
	ck_assert(done < strstr(log, "\"type\":\"step.result\",\"step\":1,"));
	assert_result(log, 1, "pass", NULL);
	assert_result(log, 2, "fail", NULL);
	assert_result(log, 3, "fail", NULL);
	done = record_of(log, "run.done", 3);
	ck_assert_ptr_nonnull(strstr(done, "\"signal\":15"));
	free(done);
	ck_assert_ptr_null(record_of(log, "step.start", 4));
	free(log);
}
END_TEST

START_TEST(skip_refuse_manual_and_notes)
{
	struct fixture fx;
	char *cause = NULL, *log, *line;

	fixture_open(&fx, commands_yaml, false, false);
	session_skip(fx.s, 0, "before --from");
	ck_assert_int_eq(session_step(fx.s, 0)->state, STEP_SKIPPED);
	ck_assert_str_eq(session_step(fx.s, 0)->reason, "before --from");
	session_refuse(fx.s, 1, "refused: a command changes the world");
	ck_assert_int_eq(session_step(fx.s, 1)->state, STEP_FAILED);
	ck_assert_ptr_nonnull(strstr(session_step(fx.s, 1)->reason,
	    "changes the world"));
	/* Neither ran anything. */
	ck_assert_int_eq(session_start(fx.s, 1, &cause), -1);
	free(cause);

	/* A manual step waits for the operator, then takes the verdict. */
	ck_assert_int_eq(session_start(fx.s, 3, &cause), 0);
	run_for(fx.loop, 0.1);
	ck_assert_int_eq(session_step(fx.s, 3)->state, STEP_RUNNING);
	session_note(fx.s, 3, "graphs flat");
	session_note(fx.s, 3, "p95 fine");
	ck_assert_uint_eq(session_step(fx.s, 3)->nnotes, 2);
	session_manual(fx.s, 3, true, "looks right");
	ck_assert_int_eq(session_step(fx.s, 3)->state, STEP_PASSED);
	ck_assert_ptr_nonnull(strstr(session_step(fx.s, 3)->observed,
	    "marked pass by the operator: looks right"));
	ck_assert_int_eq(session_start(fx.s, 4, &cause), 0);
	session_manual(fx.s, 4, false, "a red graph");
	ck_assert_int_eq(session_step(fx.s, 4)->state, STEP_FAILED);
	ck_assert_str_eq(session_step(fx.s, 4)->reason, "a red graph");
	/* A manual verdict on a step that is not manual is ignored. */
	session_manual(fx.s, 2, true, "no");
	ck_assert_int_eq(session_step(fx.s, 2)->state, STEP_PENDING);
	ck_assert(!session_busy(fx.s));
	log = fixture_close(&fx);

	assert_result(log, 1, "skipped", "before --from");
	assert_result(log, 2, "fail", "changes the world");
	assert_result(log, 4, "pass", NULL);
	assert_result(log, 5, "fail", "a red graph");
	ck_assert_uint_eq(count(log, "\"type\":\"run.intent\""), 0);
	ck_assert_uint_eq(count(log, "\"type\":\"note\",\"step\":4,"), 2);
	ck_assert_ptr_nonnull(strstr(log, "graphs flat"));
	line = record_of(log, "manual", 4);
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, "\"verdict\":\"pass\""));
	ck_assert_ptr_nonnull(strstr(line, "looks right"));
	free(line);
	ck_assert(strstr(log, "\"type\":\"manual\",\"step\":4,") <
	    strstr(log, "\"type\":\"step.result\",\"step\":4,"));
	ck_assert_ptr_null(record_of(log, "manual", 3));
	free(log);
}
END_TEST

START_TEST(read_only_and_check_sessions_act_on_nothing)
{
	struct fixture fx;
	char *cause = NULL, *log;
	int mode;

	for (mode = 0; mode < 2; mode++) {
		fixture_open(&fx, commands_yaml, mode == 0, mode == 1);
		/* A read-only session reaches no action at all; a check
		 * session has them but skips them when started. */
		if (mode == 0)
			ck_assert(!session_step_is_action(fx.s, 0));
		ck_assert_int_eq(session_start(fx.s, 0, &cause), 0);
		ck_assert_int_eq(session_start(fx.s, 2, &cause), 0);
		run_for(fx.loop, 0.1);
		ck_assert_int_eq(session_step(fx.s, 0)->state, STEP_SKIPPED);
		ck_assert_int_eq(session_step(fx.s, 2)->state, STEP_SKIPPED);
		ck_assert_str_eq(session_step(fx.s, 0)->reason, mode == 0 ?
		    "read-only session" : "not a read-only check");
		ck_assert(!session_busy(fx.s));
		log = fixture_close(&fx);
		ck_assert_uint_eq(count(log, "\"type\":\"run.intent\""), 0);
		ck_assert_uint_eq(count(log, "\"type\":\"run.done\""), 0);
		assert_result(log, 1, "skipped", NULL);
		assert_result(log, 3, "skipped", NULL);
		free(log);
	}
}
END_TEST

START_TEST(resume_keeps_done_steps_and_marks_the_unknown)
{
	struct fixture fx;
	struct session_hooks hooks = { changed, output, NULL, NULL };
	struct session_opts rw = { false, false, NULL };
	struct audit_opts ao = { 0 };
	struct log_digest ld;
	char *cause = NULL, *cut, *cmd, *log, *intent, *unknown, *line;
	const char *yaml =
	    "runbook: t\nowner: o\nsteps:\n"
	    "  - { title: first, run: [\"true\"] }\n"
	    "  - { title: slow, run: [sleep, '30'] }\n"
	    "  - { title: last, run: [\"true\"] }\n";

	/* A rehearsal cut (as by kill -9) while step 2's command ran: a copy
	 * of its log taken then. */
	fixture_open(&fx, yaml, false, false);
	ck_assert_int_eq(session_start(fx.s, 0, &cause), 0);
	settle(&fx, 0);
	ck_assert_int_eq(session_step(fx.s, 0)->state, STEP_PASSED);
	ck_assert_int_eq(session_start(fx.s, 1, &cause), 0);
	run_for(fx.loop, 0.2);
	cut = xprintf("%s/cut.jsonl", fx.dir);
	cmd = xprintf("cp '%s' '%s'", fx.log, cut);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	session_cancel(fx.s, 1);
	settle(&fx, 1);
	session_free(fx.s);
	ck_assert_int_eq(audit_close(fx.audit), 0);
	unlink(fx.log);
	free(fx.log);
	fx.log = cut;

	/* What resume reads back (log_digest): step 1 passed, step 2 acted
	 * and has no result, step 3 never started. */
	log_digest_init(&ld, fx.rb->nsteps, true);
	ck_assert_int_eq(log_digest_file(&ld, NULL, cut, &cause), 0);
	ck_assert_str_eq(ld_str(log_digest_step(&ld, 1)->verdict), "pass");
	ck_assert(!log_digest_step(&ld, 1)->acted);
	ck_assert(log_digest_step(&ld, 2)->acted);
	ck_assert(log_digest_step(&ld, 2)->running);
	ck_assert_ptr_null(log_digest_step(&ld, 2)->verdict);
	ck_assert(log_digest_step(&ld, 3) == NULL ||
	    log_digest_step(&ld, 3)->attempts == 0);
	ck_assert(!ld.ended);
	log_digest_done(&ld);

	/* Resumed: the writer closes the open intent as outcome unknown. */
	ao.path = cut;
	ao.rb = fx.rb;
	ao.resume = true;
	fx.audit = audit_open(&ao, &cause);
	ck_assert_msg(fx.audit != NULL, "resume: %s", cause);
	hooks.arg = &fx.seen;
	fx.s = session_new(fx.loop, fx.rb, fx.audit, NULL, fx.http, &rw, &hooks);
	session_restore(fx.s, 0, STEP_PASSED, "exit 0 in 0.0 s");
	session_restore(fx.s, 1, STEP_FAILED, "outcome unknown: check by hand");
	/* Done steps are kept: not pending, not run again. */
	ck_assert_int_eq(session_step(fx.s, 0)->state, STEP_PASSED);
	ck_assert_str_eq(session_step(fx.s, 0)->observed, "exit 0 in 0.0 s");
	ck_assert_int_eq(session_start(fx.s, 0, &cause), -1);
	free(cause);
	ck_assert_int_eq(session_start(fx.s, 1, &cause), -1);
	free(cause);
	ck_assert_int_eq(session_step(fx.s, 2)->state, STEP_PENDING);
	ck_assert_int_eq(session_start(fx.s, 2, &cause), 0);
	settle(&fx, 2);
	ck_assert_int_eq(session_step(fx.s, 2)->state, STEP_PASSED);
	log = fixture_close(&fx);

	/* One session.resume; step 2's intent has no result but an
	 * intent.unknown naming it; step 1 ran once; step 3 ran after the
	 * resume. */
	ck_assert_uint_eq(count(log, "\"type\":\"session.resume\""), 1);
	ck_assert_uint_eq(count(log, "\"type\":\"run.intent\",\"step\":1,"), 1);
	ck_assert_uint_eq(count(log, "\"type\":\"run.intent\",\"step\":2,"), 1);
	ck_assert_uint_eq(count(log, "\"type\":\"run.done\",\"step\":2,"), 0);
	ck_assert_ptr_null(record_of(log, "step.result", 2));
	ck_assert_uint_eq(count(log, "\"type\":\"intent.unknown\""), 1);
	line = record_of(log, "run.intent", 2);
	intent = strstr(line, "\"seq\":");
	ck_assert_ptr_nonnull(intent);
	unknown = xprintf("\"intent\":%ld", strtol(intent + 6, NULL, 10));
	free(line);
	line = strstr(log, "\"type\":\"intent.unknown\"");
	ck_assert_ptr_nonnull(strstr(line, unknown));
	ck_assert(strstr(log, "\"type\":\"session.resume\"") < line);
	free(unknown);
	assert_result(log, 1, "pass", NULL);
	assert_result(log, 3, "pass", NULL);
	ck_assert(line < strstr(log, "\"type\":\"run.intent\",\"step\":3,"));
	free(log);
}
END_TEST

START_TEST(probe_of_a_closed_port_fails_with_its_record)
{
	struct fixture fx;
	char *cause = NULL, *log, *yaml, *line;

	/* A free port: bound and released, nobody listens there. */
	yaml = xprintf("runbook: t\nowner: o\n"
	    "http: { base_url: \"http://127.0.0.1:%d\", timeout_ms: 2000 }\n"
	    "routes:\n  - { name: home, path: / }\n"
	    "steps:\n  - { title: probe, http: home }\n", free_port());
	fixture_open(&fx, yaml, false, false);
	free(yaml);
	ck_assert(!session_step_is_action(fx.s, 0));
	ck_assert_int_eq(session_start(fx.s, 0, &cause), 0);
	settle(&fx, 0);
	ck_assert_int_eq(session_step(fx.s, 0)->state, STEP_FAILED);
	ck_assert_ptr_nonnull(session_step(fx.s, 0)->reason);
	log = fixture_close(&fx);
	line = record_of(log, "http.result", 1);
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, "\"verdict\":\"fail\""));
	free(line);
	ck_assert(strstr(log, "\"type\":\"http.result\",\"step\":1,") <
	    strstr(log, "\"type\":\"step.result\",\"step\":1,"));
	assert_result(log, 1, "fail", NULL);
	free(log);
}
END_TEST

START_TEST(rollback_any_time_and_never_read_only)
{
	char dir[] = "/tmp/rehearse-session-XXXXXX", *log, *marker, *cause = NULL;
	struct runbook *rb;
	struct loop *l = loop_new();
	struct http *h = http_new(l);
	struct session_hooks hooks = { changed, output, NULL, NULL };
	struct session_opts rw = { false, false, NULL }, ro = { true, false, NULL };
	struct audit_opts ao = { 0 };
	struct seen seen = { false, 0 };
	struct session *s;
	struct audit *a;
	char *data;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	marker = xprintf("%s/rolled-back", dir);
	log = xprintf("%s/log.jsonl", dir);
	rb = test_runbook("runbook: t\nowner: o\nrollback:\n"
	    "  - { name: back, run: [sh, -c, 'echo rolling back; touch %s'] }\n"
	    "steps:\n  - { title: slow, run: [sleep, '30'] }\n", marker);
	ao.path = log;
	ao.rb = rb;
	ck_assert_ptr_nonnull(a = audit_open(&ao, &cause));
	hooks.arg = &seen;

	/* A read-only session: no rollback, and the command only skips. */
	s = session_new(l, rb, a, NULL, h, &ro, &hooks);
	ck_assert_int_eq(session_rollback(s, 0, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "read-only"));
	free(cause);
	ck_assert(session_step_is_action(s, 0) == false);
	ck_assert_int_eq(session_start(s, 0, &cause), 0);
	ck_assert_int_eq(session_step(s, 0)->state, STEP_SKIPPED);
	session_free(s);
	ck_assert_int_eq(access(marker, F_OK), -1);

	/* A full session: the rollback runs while a step is running. */
	s = session_new(l, rb, a, NULL, h, &rw, &hooks);
	ck_assert_int_eq(session_start(s, 0, &cause), 0);
	ck_assert_int_eq(session_step(s, 0)->state, STEP_RUNNING);
	ck_assert_int_eq(session_rollback(s, 0, &cause), 0);
	ck_assert(run_until(l, rolled_back, &seen, 10));
	ck_assert_int_eq(access(marker, F_OK), 0);
	ck_assert_uint_ge(seen.lines, 1);
	ck_assert_int_eq(session_step(s, 0)->state, STEP_RUNNING);
	session_cancel(s, 0);
	ck_assert(run_until(l, step_done, s, 10));
	ck_assert_int_eq(session_step(s, 0)->state, STEP_FAILED);
	session_free(s);
	audit_close(a);

	data = slurp(log);
	ck_assert_ptr_nonnull(strstr(data, "\"type\":\"rollback.intent\""));
	ck_assert_ptr_nonnull(strstr(data, "\"type\":\"rollback.done\""));
	ck_assert_ptr_nonnull(strstr(data, "rolling back"));
	ck_assert(strstr(data, "rollback.intent") < strstr(data,
	    "rollback.done"));
	free(data);
	unlink(marker);
	unlink(log);
	rmdir(dir);
	free(marker);
	free(log);
	runbook_free(rb);
	http_free(h);
	loop_free(l);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("session");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, commands_pass_fail_and_cancel);
	tcase_add_test(tc, skip_refuse_manual_and_notes);
	tcase_add_test(tc, read_only_and_check_sessions_act_on_nothing);
	tcase_add_test(tc, probe_of_a_closed_port_fails_with_its_record);
	tcase_add_test(tc, resume_keeps_done_steps_and_marks_the_unknown);
	tcase_add_test(tc, rollback_any_time_and_never_read_only);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
