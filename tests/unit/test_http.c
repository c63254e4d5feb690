/* test_http.c: HTTP probes, expectations and sampling against real HTTP
 * servers in this process: libevent's evhttp for well-behaved ones, raw
 * sockets for the ill-behaved (silent, garbage, reset, huge headers,
 * trickle), and a name that does not resolve. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "expect.h"
#include "http.h"
#include "loop.h"
#include "sample.h"
#include "tap.h"
#include "testsrv.h"
#include "xmalloc.h"

static struct loop *loop;
static struct http *http;
static struct evhttp *web;
static int port;

/* Well-behaved server ------------------------------------------------------ */

static void
reply(struct evhttp_request *req, int code, const char *body)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, body, strlen(body));
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Other", b);
	evbuffer_free(b);
}

struct delayed {
	struct evhttp_request *req;
	struct event	*ev;
};

static void
slow_reply(evutil_socket_t fd, short what, void *arg)
{
	struct delayed *d = arg;

	(void)fd;
	(void)what;
	reply(d->req, 200, "slow");
	event_free(d->ev);
	free(d);
}

static void
route(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *v;
	char loc[128];

	(void)arg;
	if (strcmp(uri, "/hit") == 0 || strcmp(uri, "/miss") == 0) {
		evhttp_add_header(out, "X-Cache", uri[1] == 'h' ? "HIT" : "MISS");
		evhttp_add_header(out, "Cache-Control", "public, max-age=60");
		evhttp_add_header(out, "Set-Cookie", "a=1");
		evhttp_add_header(out, "Set-Cookie", "b=2");
		reply(req, 200, "<html>hello version 1.5.1</html>");
	} else if (strcmp(uri, "/evil") == 0) {
		evhttp_add_header(out, "X-Evil",
		    "\x1b]0;pwned\x07 \xe2\x80\xae" "fdp \xc2\x9b" "31m \xff");
		reply(req, 200, "body \x1b[2J\x1b[31m red \xe2\x80\xae");
	} else if (strncmp(uri, "/slow", 5) == 0) {
		struct delayed *d = xcalloc(1, sizeof *d);
		struct timeval tv = { 0, 60000 };
		d->req = req;
		d->ev = evtimer_new(loop_base(loop), slow_reply, d);
		evtimer_add(d->ev, &tv);
	} else if (strcmp(uri, "/redirect-same") == 0) {
		evhttp_add_header(out, "Location", "/hit");
		reply(req, 302, "");
	} else if (strcmp(uri, "/redirect-other") == 0) {
		snprintf(loc, sizeof loc, "http://127.0.0.2:%d/hit", port);
		evhttp_add_header(out, "Location", loc);
		reply(req, 302, "");
	} else if (strcmp(uri, "/redirect-loop") == 0) {
		evhttp_add_header(out, "Location", "/redirect-loop");
		reply(req, 302, "");
	} else if (strcmp(uri, "/big") == 0) {
		char *big = xmalloc(1024 * 1024 + 1);
		memset(big, 'x', 1024 * 1024);
		big[1024 * 1024] = '\0';
		reply(req, 200, big);
		free(big);
	} else if (strcmp(uri, "/echo") == 0) {
		v = evhttp_find_header(in, "Cookie");
		char body[512];
		snprintf(body, sizeof body, "cookie=%s auth=%s", v ? v : "-",
		    evhttp_find_header(in, "Authorization") ?
		    evhttp_find_header(in, "Authorization") : "-");
		reply(req, 200, body);
	} else
		reply(req, 404, "not found");
}

/* Ill-behaved servers ------------------------------------------------------ */

enum bad { BAD_SILENT, BAD_GARBAGE, BAD_RESET, BAD_BIGHEADERS,
	BAD_MANYHEADERS, BAD_TRICKLE };

struct badsrv {
	int		 fd;
	int		 port;
	enum bad	 kind;
	struct event	*ev;
	int		 conn[8];
	int		 nconn;
	struct event	*drip;
};

static void
drip(evutil_socket_t fd, short what, void *arg)
{
	struct badsrv *b = arg;
	struct timeval tv = { 0, 300000 };

	(void)fd;
	(void)what;
	if (b->nconn > 0 && write(b->conn[b->nconn - 1], "x", 1) < 0)
		return;
	evtimer_add(b->drip, &tv);
}

static void
bad_accept(evutil_socket_t fd, short what, void *arg)
{
	struct badsrv *b = arg;
	int c = accept(fd, NULL, NULL);
	struct linger lg = { 1, 0 };
	char *big;
	size_t n;

	(void)what;
	if (c < 0)
		return;
	switch (b->kind) {
	case BAD_SILENT:
		break;
	case BAD_GARBAGE:
		if (write(c, "\x01\x02 garbage garbage\r\n\r\n", 21) < 0)
			break;
		close(c);
		return;
	case BAD_RESET:
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(c);
		return;
	case BAD_BIGHEADERS:
		n = 100 * 1024;
		big = xmalloc(n + 64);
		memcpy(big, "HTTP/1.1 200 OK\r\nX-Big: ", 24);
		memset(big + 24, 'a', n);
		memcpy(big + 24 + n, "\r\n\r\n", 4);
		if (write(c, big, 28 + n) < 0)
			perror("write");
		free(big);
		break;
	case BAD_MANYHEADERS:
		/* 100 headers of 1 KB: each fine, together over 64 KB. */
		big = xmalloc(1100);
		if (write(c, "HTTP/1.1 200 OK\r\n", 17) < 0)
			perror("write");
		for (n = 0; n < 100; n++) {
			int len = snprintf(big, 1100, "X-H%zu: ", n);
			memset(big + len, 'b', 1000);
			memcpy(big + len + 1000, "\r\n", 2);
			if (write(c, big, (size_t)len + 1002) < 0)
				break;
		}
		free(big);
		break;
	case BAD_TRICKLE:
		if (write(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n",
		    43) < 0)
			break;
		b->drip = evtimer_new(loop_base(loop), drip, b);
		drip(-1, 0, b);
		break;
	}
	if (b->nconn < 8)
		b->conn[b->nconn++] = c;
}

static void
bad_start(struct badsrv *b, enum bad kind)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;

	memset(b, 0, sizeof *b);
	b->kind = kind;
	b->fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(b->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(b->fd, 8), 0);
	getsockname(b->fd, (struct sockaddr *)&sa, &len);
	b->port = ntohs(sa.sin_port);
	b->ev = event_new(loop_base(loop), b->fd, EV_READ | EV_PERSIST,
	    bad_accept, b);
	event_add(b->ev, NULL);
}

static void
bad_stop(struct badsrv *b)
{
	int i;

	for (i = 0; i < b->nconn; i++)
		close(b->conn[i]);
	if (b->drip != NULL)
		event_free(b->drip);
	event_free(b->ev);
	close(b->fd);
}

/* Fixture ------------------------------------------------------------------ */

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	loop = loop_new();
	http = http_new(loop);
	web = evhttp_new(loop_base(loop));
	port = free_port();
	ck_assert_int_eq(evhttp_bind_socket(web, "127.0.0.1", (uint16_t)port),
	    0);
	ck_assert_int_eq(evhttp_bind_socket(web, "127.0.0.2", (uint16_t)port),
	    0);
	evhttp_set_gencb(web, route, NULL);
}

static void
teardown(void)
{
	evhttp_free(web);
	http_free(http);
	loop_free(loop);
}

struct got {
	bool		 done;
	struct http_result r;	/* shallow copy of scalars */
	char		*body;
	char		*evil;
	char		 cache[16];
	size_t		 nset_cookie;
	double		 wall;
};

static void
got_it(struct http_probe *p, const struct http_result *r, void *arg)
{
	struct got *g = arg;
	const char *e;
	size_t i;

	(void)p;
	g->done = true;
	g->r = *r;
	g->r.headers = NULL;
	g->r.body = NULL;
	g->r.final_url = NULL;
	g->body = r->ok && r->body ? xstrdup(r->body) : NULL;
	e = http_header(r, "X-Evil");
	g->evil = e ? xstrdup(e) : NULL;
	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, "Set-Cookie") == 0)
			g->nset_cookie++;
}

static bool
got_done(void *arg)
{
	return ((struct got *)arg)->done;
}

static void
fetch(const char *url, struct http_req *q, struct got *g)
{
	struct http_req def = { 0 };
	double t0 = loop_now();

	memset(g, 0, sizeof *g);
	if (q == NULL)
		q = &def;
	q->url = url;
	if (q->timeout_ms == 0)
		q->timeout_ms = 2000;
	http_start(http, q, got_it, g);
	ck_assert_msg(run_until(loop, got_done, g, 15), "no answer from %s",
	    url);
	g->wall = loop_now() - t0;
}

static char *
url(const char *path)
{
	return xprintf("http://127.0.0.1:%d%s", port, path);
}

START_TEST(a_response_with_timings_and_headers)
{
	char *u = url("/hit");
	struct got g;

	fetch(u, NULL, &g);
	ck_assert_msg(g.r.ok, "%s", g.r.error);
	ck_assert_int_eq(g.r.status, 200);
	ck_assert_str_eq(g.r.cache, "HIT");
	ck_assert_uint_eq(g.nset_cookie, 2);
	ck_assert_str_eq(g.body, "<html>hello version 1.5.1</html>");
	ck_assert_uint_eq(g.r.size, 32);
	ck_assert(g.r.total_ms > 0);
	ck_assert(g.r.total_ms >= g.r.ttfb_ms);
	ck_assert(g.r.dns_ms + g.r.connect_ms + g.r.tls_ms + g.r.server_ms +
	    g.r.transfer_ms <= g.r.total_ms + 0.01);
	free(g.body);
	free(u);
}
END_TEST

START_TEST(head_requests)
{
	char *u = url("/hit");
	struct http_req q = { .head = true };
	struct got g;

	fetch(u, &q, &g);
	ck_assert(g.r.ok);
	ck_assert_int_eq(g.r.status, 200);
	ck_assert_uint_eq(g.r.size, 0);
	free(u);
}
END_TEST

START_TEST(credentials_are_sent_and_kept_home)
{
	char *u = url("/echo"), *same = url("/redirect-same"),
	    *other = url("/redirect-other");
	struct http_req q = { .cookie = "sid=secret-123",
	    .auth_header = "Authorization: Bearer tkn" };
	struct got g;

	fetch(u, &q, &g);
	ck_assert_str_eq(g.body, "cookie=sid=secret-123 auth=Bearer tkn");
	free(g.body);
	/* Not followed unless asked. */
	fetch(same, &q, &g);
	ck_assert_int_eq(g.r.status, 302);
	/* Followed on the same host. */
	q.follow = true;
	fetch(same, &q, &g);
	ck_assert_int_eq(g.r.status, 200);
	ck_assert_uint_eq(g.r.redirects, 1);
	free(g.body);
	/* Never to another host with credentials. */
	fetch(other, &q, &g);
	ck_assert_int_eq(g.r.status, 302);
	ck_assert_ptr_nonnull(strstr(g.r.error, "not followed"));
	/* Without credentials it is followed. */
	memset(&q, 0, sizeof q);
	q.follow = true;
	fetch(other, &q, &g);
	ck_assert_int_eq(g.r.status, 200);
	free(g.body);
	free(u);
	free(same);
	free(other);
}
END_TEST

START_TEST(redirect_loops_end)
{
	char *u = url("/redirect-loop");
	struct http_req q = { .follow = true };
	struct got g;

	fetch(u, &q, &g);
	ck_assert(!g.r.ok);
	ck_assert_ptr_nonnull(strstr(g.r.error, "more than 5 redirects"));
	free(u);
}
END_TEST

START_TEST(bodies_are_capped)
{
	char *u = url("/big");
	struct got g;

	fetch(u, NULL, &g);
	ck_assert(g.r.ok);
	ck_assert_uint_eq(g.r.size, 1024 * 1024);
	ck_assert_uint_eq(g.r.body_len, HTTP_KEEP_BODY);
	ck_assert(g.r.body_cut);
	free(g.body);
	free(u);
}
END_TEST

struct checked {
	bool		 done;
	const struct expect *e;
	struct checks	 c;
};

static void
check_it(struct http_probe *p, const struct http_result *r, void *arg)
{
	struct checked *x = arg;

	(void)p;
	expect_check(x->e, r, &x->c);
	x->done = true;
}

static bool
checked_done(void *arg)
{
	return ((struct checked *)arg)->done;
}

/* Runs the route's expectation against a real response. */
static void
check_route(const struct runbook *rb, size_t route, struct checked *x)
{
	struct http_req q = { .timeout_ms = 2000 };
	char *u = http_route_url(rb, &rb->routes[route]);

	memset(x, 0, sizeof *x);
	x->e = rb->routes[route].expect;
	q.url = u;
	http_start(http, &q, check_it, x);
	ck_assert(run_until(loop, checked_done, x, 15));
	free(u);
}

static const struct check *
find_check(const struct checks *c, const char *what)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].what, what) == 0)
			return &c->v[i];
	ck_abort_msg("no check '%s'", what);
	return NULL;
}

START_TEST(expectations_pass_degrade_and_fail)
{
	struct runbook *rb = test_runbook("runbook: t\nowner: o\n"
	    "http: { base_url: 'http://127.0.0.1:%d' }\nroutes:\n"
	    "  - name: hit\n    path: /hit\n    expect:\n"
	    "      status: [200, 304]\n"
	    "      headers:\n"
	    "        Cache-Control: { contains: max-age, matches: '^public' }\n"
	    "        X-Cache: HIT\n"
	    "        Set-Cookie: { absent: true }\n"
	    "        X-Missing: { present: true }\n"
	    "      body: { contains: '1.5.1' }\n"
	    "  - name: slow\n    path: /slow\n"
	    "    expect: { max_ms: 100000, soft_ms: 10 }\n"
	    "  - name: slower\n    path: /slow\n"
	    "    expect: { max_ms: 10 }\n"
	    "  - name: gone\n    path: /nowhere\n"
	    "steps: [{ title: x, http: hit }]\n", port);
	struct checked x;

	check_route(rb, 0, &x);
	ck_assert_int_eq(x.c.verdict, VERDICT_FAIL);
	ck_assert_int_eq(find_check(&x.c, "status")->verdict, VERDICT_PASS);
	ck_assert_int_eq(find_check(&x.c, "header Cache-Control contains")->
	    verdict, VERDICT_PASS);
	ck_assert_int_eq(find_check(&x.c, "header Cache-Control matches")->
	    verdict, VERDICT_PASS);
	ck_assert_int_eq(find_check(&x.c, "header X-Cache equals")->verdict,
	    VERDICT_PASS);
	ck_assert_int_eq(find_check(&x.c, "header Set-Cookie absent")->verdict,
	    VERDICT_FAIL);
	ck_assert_str_eq(find_check(&x.c, "header Set-Cookie absent")->observed,
	    "a=1");
	ck_assert_int_eq(find_check(&x.c, "header X-Missing present")->verdict,
	    VERDICT_FAIL);
	ck_assert_str_eq(find_check(&x.c, "header X-Missing present")->observed,
	    "(absent)");
	ck_assert_int_eq(find_check(&x.c, "body contains")->verdict,
	    VERDICT_PASS);
	checks_free(&x.c);

	check_route(rb, 1, &x);	/* 60 ms: over soft_ms, within max_ms */
	ck_assert_int_eq(x.c.verdict, VERDICT_DEGRADED);
	checks_free(&x.c);
	check_route(rb, 2, &x);	/* 60 ms: over max_ms */
	ck_assert_int_eq(x.c.verdict, VERDICT_FAIL);
	ck_assert_int_eq(find_check(&x.c, "time at most")->verdict, VERDICT_FAIL);
	checks_free(&x.c);
	check_route(rb, 3, &x);	/* 404 without an expectation: 2xx wanted */
	ck_assert_int_eq(x.c.verdict, VERDICT_FAIL);
	ck_assert_str_eq(find_check(&x.c, "status")->observed, "404");
	checks_free(&x.c);
	runbook_free(rb);
}
END_TEST

START_TEST(hostile_text_is_kept_raw_and_shown_escaped)
{
	struct runbook *rb = test_runbook("runbook: t\nowner: o\n"
	    "http: { base_url: 'http://127.0.0.1:%d' }\nroutes:\n"
	    "  - name: evil\n    path: /evil\n    expect:\n"
	    "      headers: { X-Evil: { contains: pwned } }\n"
	    "      body: { contains: zzz }\n"
	    "steps: [{ title: x, http: evil }]\n", port);
	const unsigned char *o;
	struct checked x;
	struct got g;
	char *u = url("/evil");
	size_t i, j;

	fetch(u, NULL, &g);
	ck_assert_ptr_nonnull(g.evil);
	ck_assert_ptr_nonnull(strchr(g.evil, '\x1b'));	/* raw in memory */
	free(g.evil);
	free(g.body);
	check_route(rb, 0, &x);
	ck_assert_int_eq(find_check(&x.c, "header X-Evil contains")->verdict,
	    VERDICT_PASS);
	ck_assert_int_eq(find_check(&x.c, "body contains")->verdict,
	    VERDICT_FAIL);
	/* Everything shown is inert: no C0, no C1, no bidi override. */
	for (i = 0; i < x.c.n; i++) {
		o = (const unsigned char *)x.c.v[i].observed;
		for (j = 0; o[j] != '\0'; j++) {
			ck_assert(o[j] >= 0x20 && o[j] != 0x7f);
			ck_assert(!(o[j] == 0xc2 && o[j + 1] >= 0x80 &&
			    o[j + 1] <= 0x9f));
			ck_assert(!(o[j] == 0xe2 && o[j + 1] == 0x80 &&
			    o[j + 2] == 0xae));
		}
	}
	ck_assert_ptr_nonnull(strstr(find_check(&x.c, "header X-Evil contains")->
	    observed, "\\x1b]0;pwned\\x07 \\u202efdp \\u009b31m \\xff"));
	checks_free(&x.c);
	runbook_free(rb);
	free(u);
}
END_TEST

struct sampled {
	bool		 done;
	struct sample_stats st;
	struct checks	 c;
	const struct expect *e;
};

static void
sampled_cb(const struct sample_stats *st, void *arg)
{
	struct sampled *x = arg;

	x->st = *st;
	if (x->e != NULL)
		expect_check_sample(x->e, st, &x->c);
	x->st.times = NULL;
	x->st.statuses = NULL;
	x->done = true;
}

static bool
sampled_done(void *arg)
{
	return ((struct sampled *)arg)->done;
}

static void
sample_path(const char *path, size_t n, size_t conc, const struct expect *e,
    struct sampled *x)
{
	struct http_req q = { .timeout_ms = 3000 };
	char *u = url(path);

	memset(x, 0, sizeof *x);
	x->e = e;
	q.url = u;
	sample_start(http, &q, n, conc, sampled_cb, x);
	ck_assert(run_until(loop, sampled_done, x, 30));
	free(u);
}

START_TEST(sampling_and_comparing)
{
	struct runbook *rb = test_runbook("runbook: t\nowner: o\n"
	    "http: { base_url: 'http://127.0.0.1:%d' }\nroutes:\n"
	    "  - { name: slow, path: /slow, expect: { p95_ms: 10 } }\n"
	    "steps: [{ title: x, measure: slow }]\n", port);
	struct sampled miss, hit, slow;
	struct comparison cmp;

	sample_path("/miss", 12, 3, NULL, &miss);
	ck_assert_uint_eq(miss.st.n, 12);
	ck_assert_uint_eq(miss.st.ok, 12);
	ck_assert_uint_eq(miss.st.miss, 12);
	ck_assert(miss.st.min_ms <= miss.st.p50_ms);
	ck_assert(miss.st.p50_ms <= miss.st.p95_ms);
	ck_assert(miss.st.p95_ms <= miss.st.max_ms);
	sample_path("/hit", 12, 1, NULL, &hit);
	ck_assert_uint_eq(hit.st.hit, 12);
	/* All hits after mostly misses: a lucky cache hit, not a fix. */
	sample_compare(&miss.st, &hit.st, &cmp);
	ck_assert_int_eq(cmp.verdict, COMPARE_NOT_COMPARABLE);
	ck_assert_ptr_nonnull(strstr(cmp.note, "lucky cache hit"));
	/* Same cache state, 60 ms slower: a real change. */
	sample_path("/slow", 6, 2, rb->routes[0].expect, &slow);
	ck_assert_uint_eq(slow.st.other, 6);
	ck_assert(slow.st.min_ms >= 50);
	ck_assert_int_eq(slow.c.verdict, VERDICT_FAIL);	/* p95 over 10 ms */
	checks_free(&slow.c);
	miss.st.hit = miss.st.miss = 0;	/* both without cache: comparable */
	miss.st.other = miss.st.ok;
	sample_compare(&miss.st, &slow.st, &cmp);
	ck_assert_int_eq(cmp.verdict, COMPARE_SLOWER);
	sample_compare(&slow.st, &miss.st, &cmp);
	ck_assert_int_eq(cmp.verdict, COMPARE_FASTER);
	sample_compare(&slow.st, &slow.st, &cmp);
	ck_assert_int_eq(cmp.verdict, COMPARE_SAME);
	runbook_free(rb);
}
END_TEST

START_TEST(sampling_counts_errors)
{
	struct http_req q = { .timeout_ms = 1000 };
	struct sampled x;
	char *u = xprintf("http://127.0.0.1:%d/", free_port());

	memset(&x, 0, sizeof x);
	q.url = u;
	sample_start(http, &q, 4, 2, sampled_cb, &x);
	ck_assert(run_until(loop, sampled_done, &x, 30));
	ck_assert_uint_eq(x.st.errors, 4);
	ck_assert_uint_eq(x.st.ok, 0);
	ck_assert_ptr_nonnull(strstr(x.st.first_error, "cannot connect"));
	free(u);
}
END_TEST

START_TEST(a_silent_server_times_out)
{
	struct badsrv b;
	struct http_req q = { .timeout_ms = 500 };
	struct got g;
	char *u;

	bad_start(&b, BAD_SILENT);
	u = xprintf("http://127.0.0.1:%d/", b.port);
	fetch(u, &q, &g);
	ck_assert(!g.r.ok);
	ck_assert_msg(strstr(g.r.error, "timed out") != NULL, "%s", g.r.error);
	ck_assert(g.wall < 5);
	bad_stop(&b);
	free(u);
}
END_TEST

START_TEST(garbage_reset_refused)
{
	struct badsrv b;
	struct got g;
	char *u;
	int p;

	bad_start(&b, BAD_GARBAGE);
	u = xprintf("http://127.0.0.1:%d/", b.port);
	fetch(u, NULL, &g);
	ck_assert(!g.r.ok);
	ck_assert_msg(strstr(g.r.error, "not an HTTP response") != NULL ||
	    strstr(g.r.error, "connection") != NULL, "%s", g.r.error);
	bad_stop(&b);
	free(u);

	bad_start(&b, BAD_RESET);
	u = xprintf("http://127.0.0.1:%d/", b.port);
	fetch(u, NULL, &g);
	ck_assert(!g.r.ok);
	ck_assert_msg(g.r.error[0] != '\0', "no error");
	bad_stop(&b);
	free(u);

	p = free_port();
	u = xprintf("http://127.0.0.1:%d/", p);
	fetch(u, NULL, &g);
	ck_assert(!g.r.ok);
	ck_assert_msg(strstr(g.r.error, "cannot connect") != NULL, "%s",
	    g.r.error);
	free(u);
}
END_TEST

START_TEST(oversized_headers_are_refused)
{
	struct badsrv b;
	struct got g;
	char *u;

	bad_start(&b, BAD_MANYHEADERS);
	u = xprintf("http://127.0.0.1:%d/", b.port);
	fetch(u, NULL, &g);
	ck_assert(!g.r.ok);
	ck_assert_msg(strstr(g.r.error, "headers over 64 KB") != NULL, "%s",
	    g.r.error);
	bad_stop(&b);
	free(u);
	/* One header of 100 KB. */
	bad_start(&b, BAD_BIGHEADERS);
	u = xprintf("http://127.0.0.1:%d/", b.port);
	fetch(u, NULL, &g);
	ck_assert(!g.r.ok);
	ck_assert_msg(strstr(g.r.error, "headers") != NULL, "%s", g.r.error);
	bad_stop(&b);
	free(u);
}
END_TEST

START_TEST(a_trickle_is_cut_off)
{
	struct badsrv b;
	struct http_req q = { .timeout_ms = 10000 };
	struct got g;
	char *u;

	bad_start(&b, BAD_TRICKLE);
	u = xprintf("http://127.0.0.1:%d/", b.port);
	fetch(u, &q, &g);
	ck_assert(!g.r.ok);
	/* The low-speed limit ends it well before the 10 s timeout. */
	ck_assert_msg(strstr(g.r.error, "timed out") != NULL, "%s", g.r.error);
	ck_assert(g.wall < 8);
	bad_stop(&b);
	free(u);
}
END_TEST

START_TEST(a_name_that_does_not_resolve)
{
	struct http_req q = { .timeout_ms = 1500 };
	struct got g;

	fetch("http://no-such-host.invalid/", &q, &g);
	ck_assert(!g.r.ok);
	ck_assert_msg(strstr(g.r.error, "resolve") != NULL ||
	    strstr(g.r.error, "timed out") != NULL, "%s", g.r.error);
}
END_TEST

/* A name whose DNS server never answers: in a private network and mount
 * namespace (root only), /etc/resolv.conf points at a UDP socket that
 * swallows every query. */
static int
dns_blackhole_child(void)
{
	struct sockaddr_in sa;
	struct ifreq ifr;
	struct http_req q = { .timeout_ms = 1500 };
	char conf[] = "/tmp/rehearse-resolv-XXXXXX";
	int fd, s;
	struct got g;

	if (unshare(CLONE_NEWNS | CLONE_NEWNET) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return 10;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		return 11;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
		return 12;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(53);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0)
		return 13;
	if ((fd = mkstemp(conf)) < 0 || write(fd, "nameserver 127.0.0.1\n"
	    "options timeout:30 attempts:1\n", 52) != 52)
		return 14;
	close(fd);
	if (mount(conf, "/etc/resolv.conf", NULL, MS_BIND, NULL) != 0)
		return 15;
	fetch("http://never-answers.example/", &q, &g);
	unlink(conf);
	if (g.r.ok)
		return 16;
	if (strstr(g.r.error, "timed out") == NULL &&
	    strstr(g.r.error, "resolve") == NULL)
		return 17;
	fprintf(stderr, "# dns: %.2f s: %s\n", g.wall, g.r.error);
	return g.wall < 5 ? 0 : 18;
}

START_TEST(a_dns_server_that_never_answers)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(dns_blackhole_child());
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d",
	    WEXITSTATUS(st));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("http");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, a_response_with_timings_and_headers);
	tcase_add_test(tc, head_requests);
	tcase_add_test(tc, credentials_are_sent_and_kept_home);
	tcase_add_test(tc, redirect_loops_end);
	tcase_add_test(tc, bodies_are_capped);
	tcase_add_test(tc, expectations_pass_degrade_and_fail);
	tcase_add_test(tc, hostile_text_is_kept_raw_and_shown_escaped);
	tcase_add_test(tc, sampling_and_comparing);
	tcase_add_test(tc, sampling_counts_errors);
	tcase_add_test(tc, a_silent_server_times_out);
	tcase_add_test(tc, garbage_reset_refused);
	tcase_add_test(tc, oversized_headers_are_refused);
	tcase_add_test(tc, a_trickle_is_cut_off);
	tcase_add_test(tc, a_name_that_does_not_resolve);
	/* Needs namespaces and a mount: root, as in CI. */
	if (geteuid() == 0)
		tcase_add_test(tc, a_dns_server_that_never_answers);
	else
		tap_skip("a_dns_server_that_never_answers",
		    "needs root for a mount and network namespace");
	suite_add_tcase(s, tc);
	return tap_run(s);
}
