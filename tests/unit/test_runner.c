/* test_runner.c: commands run without a shell, in the runbook's folder,
 * with ${NAME} expanded into one argument, streamed and bounded. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
run_secret(const char *cmd, const char *dir, char *const *secret_vars,
    long timeout, struct got *g)
{
	struct runbook *rb = rb_with(cmd);
	struct loop *l = loop_new();
	char *cause = NULL;

	memset(g, 0, sizeof *g);
	ck_assert_msg(run_start(l, &rb->steps[0].cmd, dir, secret_vars,
	    timeout, on_line, on_done, g, &cause) != NULL, "%s", cause);
	ck_assert(run_until(l, is_done, g, 20));
	loop_free(l);
	runbook_free(rb);
}

static void
run_it(const char *cmd, const char *dir, long timeout, struct got *g)
{
	run_secret(cmd, dir, NULL, timeout, g);
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
	ck_assert_ptr_null(run_start(l, &rb->steps[0].cmd, NULL, NULL, 10, on_line,
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

/* Replaces every SECRETSECRET with [redacted]. */
static char *
scrub_secret(const char *text, size_t len, void *arg)
{
	const char *p = text, *hit;
	char *out = xcalloc(1, len + 1), *o = out;

	(void)arg;
	while ((hit = strstr(p, "SECRETSECRET")) != NULL) {
		memcpy(o, p, (size_t)(hit - p));
		o += hit - p;
		memcpy(o, "[redacted]", 10);
		o += 10;
		p = hit + 12;
	}
	strcpy(o, p);
	return out;
}

static char *cut_text;

static void
on_done_cut(const struct run_result *res, void *arg)
{
	cut_text = run_capture_text(res, scrub_secret, NULL);
	on_done(res, arg);
}

START_TEST(a_secret_across_a_cut_leaves_no_piece)
{
	struct runbook *rb;
	struct loop *l = loop_new();
	char *cause = NULL, *p;
	struct got g;

	/* One secret across the place where the head is cut (32 KB), one
	 * across the place where the tail starts (32 KB before the end). */
	rb = rb_with("[sh, -c, 'head -c 32762 /dev/zero | tr \"\\\\0\" a; "
	    "printf SECRETSECRET; head -c 200000 /dev/zero | tr \"\\\\0\" b; "
	    "printf SECRETSECRET; head -c 32762 /dev/zero | tr \"\\\\0\" c']");
	memset(&g, 0, sizeof g);
	ck_assert_msg(run_start(l, &rb->steps[0].cmd, NULL, NULL, 10, NULL,
	    on_done_cut, &g, &cause) != NULL, "%s", cause);
	ck_assert(run_until(l, is_done, &g, 20));
	ck_assert_uint_eq(g.res.bytes, 32762 + 12 + 200000 + 12 + 32762);
	ck_assert_ptr_nonnull(strstr(cut_text, "bytes not kept"));
	for (p = cut_text; *p != '\0'; p++)
		ck_assert_msg(!(*p >= 'A' && *p <= 'Z'), "a piece of the secret "
		    "at %zu: %.20s", (size_t)(p - cut_text), p);
	ck_assert_uint_ge(strlen(cut_text), 2 * RUNNER_CAPTURE - 100);
	ck_assert_uint_le(strlen(cut_text), 2 * RUNNER_CAPTURE + 100);
	free(cut_text);
	got_free(&g);
	loop_free(l);
	runbook_free(rb);
}
END_TEST

START_TEST(only_descriptors_0_1_2)
{
	struct got g;
	int fd = open("/dev/null", O_RDONLY);	/* not close-on-exec */
	int fd2 = dup(fd);

	ck_assert_int_ge(fd, 3);
	run_it("[sh, -c, 'ls /proc/self/fd | tr \"\\\\n\" \" \"']", NULL, 10,
	    &g);
	ck_assert_int_eq(g.res.exit_code, 0);
	/* ls's own descriptor is 3; nothing else of ours. */
	ck_assert_str_eq(g.lines[0], "0 1 2 3 ");
	got_free(&g);
	close(fd);
	close(fd2);
}
END_TEST

START_TEST(secret_variables_are_withheld_unless_passed)
{
	char pw[] = "RUNNER_PW", tok[] = "RUNNER_TOKEN";
	char *secrets[] = { pw, tok, NULL };
	struct got g;

	setenv("RUNNER_PW", "pw-1", 1);
	setenv("RUNNER_TOKEN", "tok-2", 1);
	setenv("RUNNER_PLAIN", "plain-3", 1);
	run_secret("[sh, -c, 'echo \"$RUNNER_PW/$RUNNER_TOKEN/$RUNNER_PLAIN\"']",
	    NULL, secrets, 10, &g);
	ck_assert_str_eq(g.lines[0], "//plain-3");
	got_free(&g);
	run_secret("{ command: [sh, -c, 'echo \"$RUNNER_PW/$RUNNER_TOKEN\"'], "
	    "pass_env: [RUNNER_TOKEN] }", NULL, secrets, 10, &g);
	ck_assert_str_eq(g.lines[0], "/tok-2");
	got_free(&g);
	/* A shell command sees what its own text names. */
	run_secret("{ command: 'echo \"${RUNNER_PW}/$RUNNER_TOKEN\"', "
	    "shell: true }", NULL, secrets, 10, &g);
	ck_assert_str_eq(g.lines[0], "pw-1/");
	got_free(&g);
	unsetenv("RUNNER_PW");
	unsetenv("RUNNER_TOKEN");
	unsetenv("RUNNER_PLAIN");
}
END_TEST

static bool
alive(pid_t pid)
{
	char path[64], st[256], *p;
	FILE *f;
	bool live = false;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	if (fgets(st, sizeof st, f) != NULL && (p = strrchr(st, ')')) != NULL)
		live = p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return live;
}

/* Whether pid is gone within a second: SIGKILL has been sent, but the
 * kernel closes a process's pipes (the runner's end-of-output) before it
 * shows as a zombie, so a check right after the run can still see it. */
static bool
gone_soon(pid_t pid)
{
	int i;

	for (i = 0; i < 100 && alive(pid); i++)
		usleep(10000);
	return !alive(pid);
}

START_TEST(what_is_left_running_is_stopped_and_counted)
{
	struct got g;
	pid_t a, b;

	run_it("{ command: 'sleep 60 & echo $!; sleep 60 & echo $!', shell: true }",
	    NULL, 10, &g);
	ck_assert_int_eq(g.res.exit_code, 0);
	ck_assert_int_eq(g.res.stopped, 2);
	ck_assert_int_eq(g.res.left_running, 0);
	ck_assert(!g.res.output_held);
	a = (pid_t)atol(g.lines[0]);
	b = (pid_t)atol(g.lines[1]);
	ck_assert(gone_soon(a) && gone_soon(b));
	got_free(&g);

	run_it("{ command: 'sleep 60 & echo $!', shell: true, "
	    "keep_background: true }", NULL, 10, &g);
	ck_assert_int_eq(g.res.exit_code, 0);
	ck_assert_int_eq(g.res.stopped, 0);
	ck_assert_int_eq(g.res.left_running, 1);
	ck_assert(!g.res.output_held);
	a = (pid_t)atol(g.lines[0]);
	ck_assert(alive(a));
	kill(a, SIGKILL);
	got_free(&g);
}
END_TEST

START_TEST(output_held_outside_the_group_does_not_hold_the_step)
{
	struct got g;
	double t0 = loop_now();
	pid_t a;

	run_it("{ command: 'setsid sleep 60 & echo $!', shell: true }", NULL, 10,
	    &g);
	ck_assert(loop_now() - t0 < 5);
	ck_assert_int_eq(g.res.exit_code, 0);
	ck_assert(g.res.output_held);
	a = (pid_t)atol(g.lines[0]);
	ck_assert(alive(a));		/* not ours to stop: it left */
	kill(a, SIGKILL);
	got_free(&g);
}
END_TEST

START_TEST(only_the_commands_children_are_reaped)
{
	struct got g;
	pid_t other;
	int status;

	/* A child of rehearse that is not a command (a test server, say)
	 * is left to whoever started it. */
	if ((other = fork()) == 0)
		_exit(7);
	usleep(50000);
	run_it("true", NULL, 10, &g);
	ck_assert_int_eq(g.res.exit_code, 0);
	ck_assert_int_eq(waitpid(other, &status, 0), other);
	ck_assert_int_eq(WEXITSTATUS(status), 7);
	got_free(&g);
}
END_TEST

START_TEST(a_quick_exit_is_reaped_without_polling)
{
	struct got g;
	double t0 = loop_now();

	/* It exits before SIGCHLD is watched: the first look finds it. */
	run_it("true", NULL, 10, &g);
	ck_assert(g.done);
	ck_assert(loop_now() - t0 < 1);
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
	tcase_add_test(tc, a_secret_across_a_cut_leaves_no_piece);
	tcase_add_test(tc, only_descriptors_0_1_2);
	tcase_add_test(tc, secret_variables_are_withheld_unless_passed);
	tcase_add_test(tc, what_is_left_running_is_stopped_and_counted);
	tcase_add_test(tc, output_held_outside_the_group_does_not_hold_the_step);
	tcase_add_test(tc, only_the_commands_children_are_reaped);
	tcase_add_test(tc, a_quick_exit_is_reaped_without_polling);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
