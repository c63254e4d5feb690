/* test_stage.c: the HTTP probes against the stage app and a real Redis:
 * cache headers, logged-in traffic, the 1.5.2 caching bug caught by the
 * demo runbook's own expectations, and cold against warm measurements. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "http.h"
#include "loop.h"
#include "sample.h"
#include "tap.h"
#include "testsrv.h"
#include "xmalloc.h"

static struct testredis redis;
static struct teststage stage;
static struct loop *loop;
static struct http *http;
static struct runbook *rb;

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(testredis_start(&redis, NULL), 0);
	ck_assert_int_eq(teststage_start(&stage, redis.url, 30), 0);
	loop = loop_new();
	http = http_new(loop);
	/* The demo runbook's routes and expectations, on this stage. */
	rb = test_runbook("runbook: t\nowner: o\n"
	    "http:\n  base_url: '%s'\n  timeout_ms: 3000\n"
	    "  profiles: { logged-in: { cookie_env: STAGE_SESSION } }\n"
	    "routes:\n"
	    "  - name: blog-post\n    path: /blog/hello-world\n"
	    "    expect:\n      status: 200\n      headers:\n"
	    "        Cache-Control: { contains: max-age }\n"
	    "        X-Cache: { present: true }\n"
	    "    expect_logged_in:\n      status: 200\n      headers:\n"
	    "        Cache-Control: { contains: private }\n"
	    "        X-Cache: BYPASS\n"
	    "  - name: fresh\n    path: /blog/fresh\n"
	    "    expect: { body: { matches: '^[^H]*$' } }\n"
	    "  - { name: version, path: /version }\n"
	    "steps: [{ title: x, manual: y }]\n", stage.base);
}

static void
teardown(void)
{
	runbook_free(rb);
	http_free(http);
	loop_free(loop);
	teststage_stop(&stage);
	testredis_cleanup(&redis);
}

struct probed {
	bool		 done;
	const struct expect *e;
	struct checks	 c;
	char		 cache[16];
	char		*body;
	char		*set_cookie;
	long		 status;
};

static void
probed_cb(struct http_probe *p, const struct http_result *r, void *arg)
{
	struct probed *x = arg;
	const char *sc;

	(void)p;
	expect_check(x->e, r, &x->c);
	snprintf(x->cache, sizeof x->cache, "%s", r->cache);
	x->body = r->body ? xstrdup(r->body) : xstrdup("");
	x->status = r->status;
	if ((sc = http_header(r, "Set-Cookie")) != NULL)
		x->set_cookie = xstrndup(sc, strcspn(sc, ";"));
	x->done = true;
}

static bool
probed_done(void *arg)
{
	return ((struct probed *)arg)->done;
}

/* As a step would: the request from the runbook, the cookie from the
 * profile's variable. */
static void
probe(size_t route, const char *cookie, struct probed *x)
{
	const struct rb_route *r = &rb->routes[route];
	size_t profile = cookie ? runbook_profile(rb, "logged-in") : RB_NONE;
	struct http_req q;
	char *cause = NULL;

	if (cookie != NULL)
		setenv("STAGE_SESSION", cookie, 1);
	else
		unsetenv("STAGE_SESSION");
	memset(x, 0, sizeof *x);
	x->e = cookie ? r->expect_logged_in : r->expect;
	ck_assert_msg(http_req_for(rb, route, profile, &q, &cause) == 0, "%s",
	    cause);
	http_start(http, &q, probed_cb, x);
	ck_assert(run_until(loop, probed_done, x, 15));
	http_req_done(&q);
}

static void
probed_free(struct probed *x)
{
	checks_free(&x->c);
	free(x->body);
	free(x->set_cookie);
}

static char *
login(void)
{
	struct http_req q = { .timeout_ms = 3000 };
	struct probed x;
	char *u = xprintf("%s/login?user=alice", stage.base), *cookie;

	memset(&x, 0, sizeof x);
	q.url = u;
	http_start(http, &q, probed_cb, &x);
	ck_assert(run_until(loop, probed_done, &x, 15));
	ck_assert_ptr_nonnull(x.set_cookie);
	cookie = x.set_cookie;
	x.set_cookie = NULL;
	probed_free(&x);
	free(u);
	return cookie;
}

START_TEST(anonymous_miss_then_hit)
{
	struct probed x;

	probe(0, NULL, &x);
	ck_assert_str_eq(x.cache, "MISS");
	probed_free(&x);
	probe(0, NULL, &x);
	ck_assert_str_eq(x.cache, "HIT");
	ck_assert_msg(x.c.verdict == VERDICT_PASS, "verdict %s",
	    verdict_name(x.c.verdict));
	probed_free(&x);
}
END_TEST

START_TEST(release_1_5_2_bug_is_caught)
{
	char *cookie = login();
	struct probed x;

	/* 1.5.1: logged-in pages are private and bypass the cache. */
	probe(0, cookie, &x);
	ck_assert_msg(x.c.verdict == VERDICT_PASS, "1.5.1 logged-in: %s",
	    verdict_name(x.c.verdict));
	ck_assert_str_eq(x.cache, "BYPASS");
	probed_free(&x);

	ck_assert_int_eq(teststage_deploy(&stage, "1.5.2"), 0);
	probe(2, NULL, &x);
	ck_assert_ptr_nonnull(strstr(x.body, "1.5.2"));
	probed_free(&x);
	/* 1.5.2: the logged-in check of the runbook fails... */
	probe(0, cookie, &x);
	ck_assert_int_eq(x.c.verdict, VERDICT_FAIL);
	probed_free(&x);
	/* ...and a fresh page fetched logged in is served to everyone. */
	{
		struct http_req q = { .timeout_ms = 3000 };
		char *u = xprintf("%s/blog/fresh", stage.base);
		memset(&x, 0, sizeof x);
		x.e = NULL;
		q.url = u;
		q.cookie = cookie;
		http_start(http, &q, probed_cb, &x);
		ck_assert(run_until(loop, probed_done, &x, 15));
		probed_free(&x);
		free(u);
	}
	probe(1, NULL, &x);
	ck_assert_str_eq(x.cache, "HIT");
	ck_assert_ptr_nonnull(strstr(x.body, "Hello, alice"));
	ck_assert_int_eq(x.c.verdict, VERDICT_FAIL);
	probed_free(&x);

	/* The rollback restores correct behaviour (after a purge). */
	ck_assert_int_eq(teststage_deploy(&stage, "1.5.1"), 0);
	ck_assert_int_eq(testredis_cli(&redis, NULL, "DEL anp:page:/blog/fresh"
	    " anp:page:/blog/hello-world"), 0);
	probe(0, cookie, &x);
	ck_assert_int_eq(x.c.verdict, VERDICT_PASS);
	probed_free(&x);
	probe(1, NULL, &x);
	ck_assert_ptr_null(strstr(x.body, "Hello"));
	probed_free(&x);
	free(cookie);
}
END_TEST

struct measured {
	bool		 done;
	struct sample_stats st;
};

static void
measured_cb(const struct sample_stats *st, void *arg)
{
	struct measured *m = arg;

	m->st = *st;
	m->st.times = NULL;
	m->st.statuses = NULL;
	m->done = true;
}

static bool
measured_done(void *arg)
{
	return ((struct measured *)arg)->done;
}

static void
measure(const char *path, size_t n, struct measured *m)
{
	struct http_req q = { .timeout_ms = 3000 };
	char *u = xprintf("%s%s", stage.base, path);

	memset(m, 0, sizeof *m);
	q.url = u;
	sample_start(http, &q, n, 1, measured_cb, m);
	ck_assert(run_until(loop, measured_done, m, 30));
	free(u);
}

START_TEST(an_unset_profile_variable_is_named)
{
	struct http_req q;
	char *cause = NULL;

	unsetenv("STAGE_SESSION");
	ck_assert_int_eq(http_req_for(rb, 0, runbook_profile(rb, "logged-in"),
	    &q, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "STAGE_SESSION (cookie_env) is "
	    "not set"));
	free(cause);
}
END_TEST

START_TEST(cold_and_warm_are_told_apart)
{
	struct measured cold, warm;
	struct comparison c;
	char key[64];
	int i;

	/* Cold: every request after a purge misses (distinct paths). */
	memset(&cold, 0, sizeof cold);
	for (i = 0; i < 8; i++) {
		struct measured one;
		snprintf(key, sizeof key, "/blog/cold-%d", i);
		measure(key, 1, &one);
		cold.st.n++;
		cold.st.ok += one.st.ok;
		cold.st.miss += one.st.miss;
		cold.st.hit += one.st.hit;
	}
	ck_assert_uint_eq(cold.st.miss, 8);
	measure("/blog/warm", 10, &warm);	/* 1 miss, then hits */
	ck_assert_uint_eq(warm.st.hit, 9);
	ck_assert_uint_eq(warm.st.miss, 1);
	cold.st.p50_ms = cold.st.p95_ms = 35;
	sample_compare(&cold.st, &warm.st, &c);
	ck_assert_int_eq(c.verdict, COMPARE_NOT_COMPARABLE);
	ck_assert_ptr_nonnull(strstr(c.note, "lucky cache hit"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("stage");
	TCase *tc = tcase_create("stage");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, anonymous_miss_then_hit);
	tcase_add_test(tc, release_1_5_2_bug_is_caught);
	tcase_add_test(tc, cold_and_warm_are_told_apart);
	tcase_add_test(tc, an_unset_profile_variable_is_named);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
