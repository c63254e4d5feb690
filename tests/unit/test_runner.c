/* test_runner.c: commands run without a shell, in the runbook's folder,
 * with ${NAME} expanded into one argument, streamed and bounded. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "runner.h"
#include "tap.h"
#include "testsrv.h"
#include "xmalloc.h"

struct got {
	bool		 done;
	struct run_result res;
	char		*capture;
	char		*lines[8];
	size_t		 nlines;
	size_t		 nexpanded;
};

static void
on_line(const char *line, size_t len, bool err, void *arg)
{
	struct got *g = arg;

	(void)err;
	if (g->nlines < 8)
		g->lines[g->nlines++] = xstrndup(line, len);
}

static void
on_done(const struct run_result *res, void *arg)
{
	struct got *g = arg;

	g->res = *res;
	g->capture = xstrdup(res->capture);
	g->nexpanded = res->nexpanded;
	g->res.capture = NULL;
	g->res.expanded = NULL;
	g->done = true;
}

static bool
is_done(void *arg)
{
	return ((struct got *)arg)->done;
}

static struct runbook *
rb_with(const char *cmd)
{
	return test_runbook("runbook: t\nowner: o\nsteps:\n  - { title: x, "
	    "run: %s }\n", cmd);
}

static void
run_it(const char *cmd, const char *dir, long timeout, struct got *g)
{
	struct runbook *rb = rb_with(cmd);
	struct loop *l = loop_new();
	char *cause = NULL;

	memset(g, 0, sizeof *g);
	ck_assert_msg(run_start(l, &rb->steps[0].cmd, dir, timeout, on_line,
	    on_done, g, &cause) != NULL, "%s", cause);
	ck_assert(run_until(l, is_done, g, 20));
	loop_free(l);
	runbook_free(rb);
}

static void
got_free(struct got *g)
{
	size_t i;

	for (i = 0; i < g->nlines; i++)
		free(g->lines[i]);
	free(g->capture);
}

START_TEST(expansion_is_one_argument_and_never_a_shell)
{
	struct got g;

	setenv("EVIL", "a; echo INJECTED $(id) `id` \"q\" 'x'", 1);
	run_it("\"printf '<%s>\\\\n' ${EVIL} '${EVIL}'\"", NULL, 10, &g);
	ck_assert_int_eq(g.res.exit_code, 0);
	ck_assert_uint_eq(g.nlines, 2);
	ck_assert_str_eq(g.lines[0], "<a; echo INJECTED $(id) `id` \"q\" 'x'>");
	ck_assert_str_eq(g.lines[1], "<${EVIL}>");	/* single quotes */
	ck_assert_uint_ge(g.nexpanded, 1);	/* values kept as secrets */
	got_free(&g);
}
END_TEST

START_TEST(working_directory_and_exit_status)
{
	struct got g;

	run_it("[sh, -c, 'pwd; exit 3']", "/tmp", 10, &g);
	ck_assert_int_eq(g.res.exit_code, 3);
	ck_assert_str_eq(g.lines[0], "/tmp");
	got_free(&g);
	run_it("./no-such-program", "/tmp", 10, &g);
	ck_assert_int_eq(g.res.exit_code, 127);
	ck_assert_ptr_nonnull(strstr(g.capture, "cannot run"));
	got_free(&g);
}
END_TEST

START_TEST(unset_variable_is_refused_before_running)
{
	struct runbook *rb = rb_with("\"echo ${NOT_SET_ANYWHERE}\"");
	struct loop *l = loop_new();
	char *cause = NULL;
	struct got g = { 0 };

	unsetenv("NOT_SET_ANYWHERE");
	ck_assert_ptr_null(run_start(l, &rb->steps[0].cmd, NULL, 10, on_line,
	    on_done, &g, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "NOT_SET_ANYWHERE is not set"));
	free(cause);
	loop_free(l);
	runbook_free(rb);
}
END_TEST

START_TEST(timeout_kills_the_whole_group)
{
	struct got g;
	double t0 = loop_now();

	/* The shell and its child both ignore SIGTERM: SIGKILL ends them. */
	run_it("[sh, -c, \"trap '' TERM; sleep 30 & sleep 30\"]", NULL, 1, &g);
	ck_assert(g.res.timed_out);
	ck_assert(g.res.killed);
	ck_assert_int_eq(g.res.exit_code, -1);
	ck_assert(loop_now() - t0 < 10);
	got_free(&g);
}
END_TEST

START_TEST(capture_is_bounded)
{
	struct got g;

	run_it("[sh, -c, 'yes 0123456789 | head -n 100000']", NULL, 20, &g);
	ck_assert_int_eq(g.res.exit_code, 0);
	ck_assert_uint_eq(g.res.lines, 100000);
	ck_assert_uint_eq(g.res.bytes, 1100000);
	ck_assert_uint_lt(strlen(g.capture), 2 * RUNNER_CAPTURE + 100);
	ck_assert_ptr_nonnull(strstr(g.capture, "bytes not kept"));
	got_free(&g);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("runner");
	TCase *tc = tcase_create("runner");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, expansion_is_one_argument_and_never_a_shell);
	tcase_add_test(tc, working_directory_and_exit_status);
	tcase_add_test(tc, unset_variable_is_refused_before_running);
	tcase_add_test(tc, timeout_kills_the_whole_group);
	tcase_add_test(tc, capture_is_bounded);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
