/* test_session.c: the rollback is one call away whatever the step, and a
 * read-only session cannot reach it or any action. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
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
	if (step == (size_t)-1)
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

START_TEST(rollback_any_time_and_never_read_only)
{
	char dir[] = "/tmp/rehearse-session-XXXXXX", *log, *marker, *cause = NULL;
	struct runbook *rb;
	struct loop *l = loop_new();
	struct http *h = http_new(l);
	struct session_hooks hooks = { changed, output, NULL, NULL };
	struct session_opts rw = { false, false }, ro = { true, false };
	struct audit_opts ao = { 0 };
	struct seen seen = { false, 0 };
	struct session *s;
	struct audit *a;
	char *data;
	FILE *f;
	size_t n;

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

	f = fopen(log, "r");
	data = xmalloc(1 << 16);
	n = fread(data, 1, (1 << 16) - 1, f);
	data[n] = '\0';
	fclose(f);
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
	tcase_add_test(tc, rollback_any_time_and_never_read_only);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
