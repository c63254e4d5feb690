/* test_runbook.c: the runbook schema.  The corpus under tests/runbooks/bad
 * holds one broken runbook per file; NAME.expect lists the errors it must
 * produce, one "LINE:COL: fragment" per line, and no others. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runbook.h"
#include "tap.h"
#include "xmalloc.h"

static char **corpus;
static size_t ncorpus;

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
corpus_scan(void)
{
	char *dir = tap_srcpath("tests/runbooks/bad");
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t len;

	if (d == NULL) {
		fprintf(stderr, "cannot open %s\n", dir);
		exit(99);
	}
	while ((e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".yml") != 0)
			continue;
		corpus = xreallocarray(corpus, ncorpus + 1, sizeof *corpus);
		corpus[ncorpus++] = xstrndup(e->d_name, len - 4);
	}
	closedir(d);
	free(dir);
	qsort(corpus, ncorpus, sizeof *corpus, str_cmp);
}

START_TEST(bad_runbook)
{
	const char *name = corpus[_i];
	char *rel = xprintf("tests/runbooks/bad/%s.yml", name);
	char *path = tap_srcpath(rel);
	char *exp = xprintf("%.*s.expect", (int)(strlen(path) - 4), path);
	struct diags d;
	struct runbook *rb;
	char line[512], *frag;
	unsigned l, c;
	size_t i, expected = 0;
	bool *used;
	FILE *f;

	diags_init(&d);
	rb = runbook_load(path, &d);
	ck_assert_msg(rb == NULL, "%s loaded without error", name);
	used = xcalloc(d.n + 1, sizeof *used);
	ck_assert_msg((f = fopen(exp, "r")) != NULL, "no %s", exp);
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		ck_assert_msg(sscanf(line, "%u:%u:", &l, &c) == 2,
		    "%s: bad expect line '%s'", name, line);
		frag = strstr(line, ": ") + 2;
		expected++;
		for (i = 0; i < d.n; i++) {
			if (!used[i] && d.v[i].level == DIAG_ERROR &&
			    d.v[i].line == l && d.v[i].col == c &&
			    strstr(d.v[i].msg, frag) != NULL)
				break;
		}
		if (i == d.n) {
			for (i = 0; i < d.n; i++)
				fprintf(stderr, "# %s: got %u:%u: %s\n", name,
				    d.v[i].line, d.v[i].col, d.v[i].msg);
			ck_abort_msg("%s: no error '%s' at %u:%u", name, frag,
			    l, c);
		}
		used[i] = true;
	}
	fclose(f);
	ck_assert_msg(d.nerrors == expected, "%s: %zu errors, %zu expected",
	    name, d.nerrors, expected);
	free(used);
	diags_done(&d);
	free(rel);
	free(path);
	free(exp);
}
END_TEST

static struct runbook *
load_text(const char *text, struct diags *d)
{
	diags_init(d);
	return runbook_load_buffer("inline.yml", text, strlen(text), d);
}

static struct runbook *
load_ok(const char *text)
{
	struct diags d;
	struct runbook *rb = load_text(text, &d);

	ck_assert_msg(rb != NULL, "load failed: %s", d.n ? d.v[0].msg : "");
	diags_done(&d);
	return rb;
}

START_TEST(examples_are_clean)
{
	const char *names[] = { "runbooks/demo.yml", "runbooks/minimal.yml",
	    "runbooks/incident-cache-stampede.yml", "runbooks/purge-blog.yml" };
	struct runbook *rb;
	struct diags d;
	char *path;
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		path = tap_srcpath(names[i]);
		diags_init(&d);
		rb = runbook_load(path, &d);
		ck_assert_msg(rb != NULL && d.n == 0, "%s: %s", names[i],
		    d.n ? d.v[0].msg : "");
		runbook_free(rb);
		diags_done(&d);
		free(path);
	}
}
END_TEST

START_TEST(demo_structure)
{
	char *path = tap_srcpath("runbooks/demo.yml");
	struct diags d;
	struct runbook *rb;
	const struct rb_step *s;
	size_t i, m;

	diags_init(&d);
	rb = runbook_load(path, &d);
	ck_assert_ptr_nonnull(rb);
	ck_assert_str_eq(rb->environment, "staging");
	ck_assert(rb->has_redis);
	ck_assert_int_eq(rb->redis.kind, REDIS_TCP);
	ck_assert_str_eq(rb->redis.host, "127.0.0.1");
	ck_assert_int_eq(rb->redis.port, 6390);
	ck_assert_int_eq(rb->redis.db, 0);
	ck_assert_uint_eq(strlen(rb->sha256), 64);
	/* Every kind of the checklist appears, in the article's order. */
	ck_assert_int_eq(rb->steps[0].kind, STEP_MEASURE);
	ck_assert_int_eq(rb->steps[rb->nsteps - 1].kind, STEP_MANUAL);
	for (i = 0, m = 0; i < rb->nsteps; i++) {
		s = &rb->steps[i];
		m |= 1u << s->kind;
		if (s->kind == STEP_MEASURE && s->compare != RB_NONE)
			ck_assert_int_eq(rb->steps[s->compare].kind,
			    STEP_MEASURE);
		if (s->kind == STEP_PURGE || s->kind == STEP_RUN)
			ck_assert(s->confirm);
	}
	ck_assert_uint_eq(m, (1u << STEP_NKINDS) - 1);
	runbook_free(rb);
	diags_done(&d);
	free(path);
}
END_TEST

#define HEAD "runbook: t\nowner: o\n"

START_TEST(redis_urls)
{
	struct runbook *rb;
	struct diags d;

	rb = load_ok(HEAD "redis: { url: 'redis://10.0.0.1' }\n"
	    "steps: [{ title: x, manual: y }]\n");
	ck_assert_str_eq(rb->redis.host, "10.0.0.1");
	ck_assert_int_eq(rb->redis.port, 6379);
	ck_assert_int_eq(rb->redis.db, 0);
	ck_assert_int_eq(rb->redis.timeout_ms, 1000);
	ck_assert(rb->redis.refresh_s == 2.0);
	runbook_free(rb);

	rb = load_ok(HEAD "redis: { url: 'unix:///run/redis.sock?db=3', "
	    "refresh_s: 0.5 }\nsteps: [{ title: x, manual: y }]\n");
	ck_assert_int_eq(rb->redis.kind, REDIS_UNIX);
	ck_assert_str_eq(rb->redis.path, "/run/redis.sock");
	ck_assert_int_eq(rb->redis.db, 3);
	ck_assert(rb->redis.refresh_s == 0.5);
	runbook_free(rb);

	rb = load_ok(HEAD "redis: { url: 'redis://[::1]:7000/12' }\n"
	    "steps: [{ title: x, manual: y }]\n");
	ck_assert_str_eq(rb->redis.host, "::1");
	ck_assert_int_eq(rb->redis.port, 7000);
	ck_assert_int_eq(rb->redis.db, 12);
	runbook_free(rb);

	/* A password in the URL: accepted with a warning, never shown. */
	rb = load_text(HEAD "redis: { url: 'redis://app:s3cr%40t@h:6390/1' }\n"
	    "steps: [{ title: x, manual: y }]\n", &d);
	ck_assert_ptr_nonnull(rb);
	ck_assert_uint_eq(d.nwarnings, 1);
	ck_assert_str_eq(rb->redis.user, "app");
	ck_assert_str_eq(rb->redis.url_password, "s3cr@t");
	ck_assert_ptr_null(strstr(rb->redis.url, "s3cr"));
	ck_assert_ptr_null(strstr(d.v[0].msg, "s3cr"));
	runbook_free(rb);
	diags_done(&d);
}
END_TEST

START_TEST(defaults_and_forms)
{
	struct runbook *rb = load_ok(HEAD
	    "redis: { url: 'redis://127.0.0.1:6390' }\n"
	    "http:\n"
	    "  base_url: http://127.0.0.1:8090\n"
	    "  profiles: { user: { cookie_env: SESSION } }\n"
	    "routes:\n"
	    "  - name: home\n"
	    "    path: /\n"
	    "    keys: 'anp:page:/'\n"
	    "    expect:\n"
	    "      status: [200, 304]\n"
	    "      headers:\n"
	    "        X-Cache: HIT\n"
	    "        Cache-Control: { contains: max-age, matches: '^public' }\n"
	    "        Set-Cookie: { absent: true }\n"
	    "      body: { contains: hello }\n"
	    "rollback:\n"
	    "  - { name: back, run: [./deploy.sh, 'a b', '${V}'], "
	    "check: ./deploy.sh --dry-run, check_safe: true }\n"
	    "steps:\n"
	    "  - { id: m1, title: m, measure: home }\n"
	    "  - { title: p, purge: home }\n"
	    "  - { title: r, run: { command: 'echo hi | cat', shell: true, "
	    "timeout_s: 5 } }\n"
	    "  - { title: h, http: { route: home, profile: user } }\n"
	    "  - { title: h2, http: { route: home, profile: anonymous } }\n"
	    "  - { title: w, wait: { route: home, expect: { status: 200 } } }\n"
	    "  - { title: m2, measure: { route: home, compare: m1, "
	    "samples: 5, concurrency: 5 } }\n"
	    "  - { title: c, rollback_check: back, confirm: true }\n");
	const struct expect *e = rb->routes[0].expect;

	ck_assert_uint_eq(rb->routes[0].nkeys, 1);
	ck_assert_int_eq(rb->routes[0].max_keys, 10000);
	ck_assert_uint_eq(e->nstatus, 2);
	ck_assert_int_eq(e->status[1], 304);
	ck_assert_uint_eq(e->nheaders, 3);
	ck_assert_int_eq(e->headers[0].m[0].op, MATCH_EQUALS);
	ck_assert_uint_eq(e->headers[1].nm, 2);
	ck_assert_int_eq(e->headers[1].m[1].op, MATCH_MATCHES);
	ck_assert_int_eq(e->headers[2].m[0].op, MATCH_ABSENT);
	ck_assert_int_eq(e->body[0].op, MATCH_CONTAINS);
	ck_assert_uint_eq(rb->rollbacks[0].run.argc, 3);
	ck_assert_str_eq(rb->rollbacks[0].run.argv[2], "${V}");
	ck_assert_str_eq(rb->rollbacks[0].run.text, "./deploy.sh 'a b' ${V}");
	ck_assert_int_eq(rb->rollbacks[0].timeout_s, 300);
	ck_assert_int_eq(rb->steps[0].samples, 20);
	ck_assert_int_eq(rb->steps[0].concurrency, 1);
	ck_assert(!rb->steps[0].confirm);
	ck_assert(rb->steps[1].confirm);
	ck_assert(rb->steps[2].cmd.shell);
	ck_assert_ptr_null(rb->steps[2].cmd.argv);
	ck_assert_int_eq(rb->steps[2].timeout_s, 5);
	ck_assert_uint_eq(rb->steps[3].profile, 0);
	ck_assert_uint_eq(rb->steps[4].profile, RB_NONE);
	ck_assert(rb->steps[5].every_s == 1.0);
	ck_assert(rb->steps[5].timeout_wait_s == 60.0);
	ck_assert_uint_eq(rb->steps[6].compare, 0);
	ck_assert(rb->steps[7].confirm);
	ck_assert_uint_eq(runbook_step(rb, "m1"), 0);
	runbook_free(rb);
}
END_TEST

START_TEST(typing_is_schema_driven)
{
	/* The Norway problem: text fields take any scalar as text. */
	struct runbook *rb = load_ok("runbook: 1.5.2\nowner: no\n"
	    "environment: on\nsteps: [{ title: 'yes', manual: null-ish }]\n");

	ck_assert_str_eq(rb->title, "1.5.2");
	ck_assert_str_eq(rb->owner, "no");
	ck_assert_str_eq(rb->environment, "on");
	ck_assert_str_eq(rb->steps[0].title, "yes");
	runbook_free(rb);
}
END_TEST

START_TEST(sha256_of_the_bytes)
{
	/* Known digest of this exact text, computed by sha256sum. */
	const char *y = "runbook: t\nowner: o\nsteps: [{title: x, manual: y}]\n";
	struct runbook *rb = load_ok(y);

	ck_assert_str_eq(rb->sha256,
	    "cccde892cf7e0999011ad540705e239dda234bb37a38034f57b5a918495f8a06");
	runbook_free(rb);
}
END_TEST

START_TEST(missing_and_unreadable_files)
{
	struct diags d;

	diags_init(&d);
	ck_assert_ptr_null(runbook_load("/nonexistent/rb.yml", &d));
	ck_assert_ptr_nonnull(strstr(d.v[0].msg, "cannot open"));
	diags_done(&d);
	diags_init(&d);
	ck_assert_ptr_null(runbook_load("/", &d));
	ck_assert_ptr_nonnull(strstr(d.v[0].msg, "not a regular file"));
	diags_done(&d);
}
END_TEST

START_TEST(all_errors_are_reported)
{
	/* 150 bad steps: every one is counted, the first 100 are kept. */
	char buf[16384];
	size_t off;
	struct diags d;
	int i;

	off = (size_t)snprintf(buf, sizeof buf, HEAD "steps:\n");
	for (i = 0; i < 150; i++)
		off += (size_t)snprintf(buf + off, sizeof buf - off,
		    "  - { title: s%d, manul: x }\n", i);
	ck_assert_ptr_null(load_text(buf, &d));
	ck_assert_uint_eq(d.nerrors, 300);	/* unknown key + no kind */
	ck_assert_uint_eq(d.n, DIAG_MAX);
	ck_assert_ptr_nonnull(strstr(d.v[1].msg, "did you mean 'manual'"));
	diags_done(&d);
}
END_TEST

/* An error under a section names the section once ("redis: unknown key",
 * not "redis: redis: unknown key"). */
START_TEST(section_named_once)
{
	static const char *const text[] = {
		"runbook: r\nowner: o\nredis: { url: \"redis://h/0\", x: 1 }\n"
		"steps:\n  - { title: T, manual: m }\n",
		"runbook: r\nowner: o\nhttp: { base_url: \"http://h\", x: 1 }\n"
		"steps:\n  - { title: T, manual: m }\n",
	};
	static const char *const want[] = { "redis: unknown key 'x'",
	    "http: unknown key 'x'" };
	struct diags d;
	size_t i;

	for (i = 0; i < 2; i++) {
		ck_assert_ptr_null(load_text(text[i], &d));
		ck_assert_uint_eq(d.nerrors, 1);
		ck_assert_str_eq(d.v[0].msg, want[i]);
		diags_done(&d);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("runbook");
	TCase *tc = tcase_create("corpus");
	TCase *tu = tcase_create("schema");

	corpus_scan();
	tcase_add_loop_test(tc, bad_runbook, 0, (int)ncorpus);
	suite_add_tcase(s, tc);
	tcase_add_test(tu, examples_are_clean);
	tcase_add_test(tu, demo_structure);
	tcase_add_test(tu, redis_urls);
	tcase_add_test(tu, defaults_and_forms);
	tcase_add_test(tu, typing_is_schema_driven);
	tcase_add_test(tu, sha256_of_the_bytes);
	tcase_add_test(tu, missing_and_unreadable_files);
	tcase_add_test(tu, all_errors_are_reported);
	tcase_add_test(tu, section_named_once);
	suite_add_tcase(s, tu);
	return tap_run(s);
}
