/* test_cmdline.c: commands split like a shell would, run without one. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "tap.h"

static const char *
lookup(const char *name, void *arg)
{
	(void)arg;
	if (strcmp(name, "EVIL") == 0)
		return "a; rm -rf / $(reboot) \"q\"\nx";
	if (strcmp(name, "EMPTY") == 0)
		return "";
	return NULL;
}

static char **
split_ok(const char *text, cmd_lookup_fn fn, size_t want_argc)
{
	struct cmd_error e;
	char **argv = NULL;
	size_t argc = 0;

	ck_assert_msg(cmd_split(text, fn, NULL, &argv, &argc, &e) == 0,
	    "split of [%s] failed: %s", text, e.msg ? e.msg : "");
	ck_assert_uint_eq(argc, want_argc);
	ck_assert_ptr_null(argv[argc]);
	return argv;
}

static void
split_fails(const char *text, size_t offset, const char *fragment)
{
	struct cmd_error e;
	char **argv = NULL;
	size_t argc = 0;

	ck_assert_int_eq(cmd_split(text, NULL, NULL, &argv, &argc, &e), -1);
	ck_assert_ptr_nonnull(e.msg);
	ck_assert_msg(strstr(e.msg, fragment) != NULL, "[%s]: message '%s' "
	    "lacks '%s'", text, e.msg, fragment);
	ck_assert_uint_eq(e.offset, offset);
	free(e.msg);
}

START_TEST(words_and_quotes)
{
	char **v = split_ok("./deploy.sh  --dry-run 'a b' \"c \\\"d\\\"\" e\\ f",
	    NULL, 5);

	ck_assert_str_eq(v[0], "./deploy.sh");
	ck_assert_str_eq(v[1], "--dry-run");
	ck_assert_str_eq(v[2], "a b");
	ck_assert_str_eq(v[3], "c \"d\"");
	ck_assert_str_eq(v[4], "e f");
	cmd_argv_free(v);
	v = split_ok("x '' \"\"", NULL, 3);
	ck_assert_str_eq(v[1], "");
	ck_assert_str_eq(v[2], "");
	cmd_argv_free(v);
}
END_TEST

START_TEST(expansion_stays_one_argument)
{
	char **v = split_ok("echo ${EVIL} pre${EMPTY}post \"${EVIL}\"", lookup,
	    4);

	ck_assert_str_eq(v[1], "a; rm -rf / $(reboot) \"q\"\nx");
	ck_assert_str_eq(v[2], "prepost");
	ck_assert_str_eq(v[3], v[1]);
	cmd_argv_free(v);
	/* Without a lookup the reference is kept for display. */
	v = split_ok("echo ${EVIL}", NULL, 2);
	ck_assert_str_eq(v[1], "${EVIL}");
	cmd_argv_free(v);
}
END_TEST

START_TEST(unset_variable)
{
	struct cmd_error e;
	char **argv;
	size_t argc;

	ck_assert_int_eq(cmd_split("echo ${NOPE}", lookup, NULL, &argv, &argc,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "NOPE is not set"));
	ck_assert_uint_eq(e.offset, 5);
	free(e.msg);
}
END_TEST

START_TEST(shell_syntax_refused)
{
	split_fails("a | b", 2, "shell syntax");
	split_fails("a; b", 1, "shell syntax");
	split_fails("a && b", 2, "shell syntax");
	split_fails("a > out", 2, "shell syntax");
	split_fails("echo $(id)", 5, "shell");
	split_fails("echo `id`", 5, "shell");
	split_fails("echo \"$(id)\"", 6, "command substitution");
	split_fails("echo # comment", 5, "shell syntax");
	split_fails("echo $HOME", 5, "${NAME}");
	split_fails("echo 'open", 5, "unterminated single quote");
	split_fails("echo \"open", 5, "unterminated double quote");
	split_fails("echo ${1x}", 5, "variable name");
	split_fails("echo ${X", 5, "unterminated");
	split_fails("   ", 0, "empty");
	split_fails("end\\", 3, "backslash");
}
END_TEST

START_TEST(quoted_syntax_is_literal)
{
	char **v = split_ok("grep 'a|b;c' \"x > y\" a#b", NULL, 4);

	ck_assert_str_eq(v[1], "a|b;c");
	ck_assert_str_eq(v[2], "x > y");
	ck_assert_str_eq(v[3], "a#b");
	cmd_argv_free(v);
}
END_TEST

START_TEST(single_quotes_do_not_expand)
{
	char **v = split_ok("echo '${EVIL}'", lookup, 2);

	ck_assert_str_eq(v[1], "${EVIL}");
	cmd_argv_free(v);
}
END_TEST

START_TEST(join_quotes_when_needed)
{
	char a0[] = "./deploy.sh", a1[] = "a b", a2[] = "it's", a3[] = "";
	char *argv[] = { a0, a1, a2, a3, NULL };
	char *s = cmd_join(argv);

	ck_assert_str_eq(s, "./deploy.sh 'a b' 'it'\\''s' ''");
	free(s);
}
END_TEST

START_TEST(expand_word)
{
	struct cmd_error e;
	char *w = cmd_expand_word("--token=${EVIL}", lookup, NULL, &e);

	ck_assert_str_eq(w, "--token=a; rm -rf / $(reboot) \"q\"\nx");
	free(w);
	ck_assert_ptr_null(cmd_expand_word("${NOPE}", lookup, NULL, &e));
	free(e.msg);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cmdline");
	TCase *tc = tcase_create("cmdline");

	tcase_add_test(tc, words_and_quotes);
	tcase_add_test(tc, expansion_stays_one_argument);
	tcase_add_test(tc, unset_variable);
	tcase_add_test(tc, shell_syntax_refused);
	tcase_add_test(tc, quoted_syntax_is_literal);
	tcase_add_test(tc, single_quotes_do_not_expand);
	tcase_add_test(tc, join_quotes_when_needed);
	tcase_add_test(tc, expand_word);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
