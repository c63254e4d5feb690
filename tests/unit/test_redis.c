/* test_redis.c: the Redis connection, SCAN counting, purge and readouts,
 * against a real redis-server that the test starts, kills, stops (SIGSTOP)
 * and restarts. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "loop.h"
#include "backup.h"
#include "purge.h"
#include "readout.h"
#include "redis.h"
#include "scan.h"
#include "tap.h"
#include "testsrv.h"
#include "xmalloc.h"

static struct testredis srv;
static struct loop *loop;

static void
setup(void)
{
	ck_assert_int_eq(testredis_start(&srv, NULL), 0);
	loop = loop_new();
}

static void
teardown(void)
{
	loop_free(loop);
	testredis_cleanup(&srv);
}

/* Synchronous client for setting the scene. */
static redisContext *
sync_client(void)
{
	redisContext *c = redisConnect("127.0.0.1", srv.port);

	ck_assert_msg(c != NULL && c->err == 0, "connect");
	return c;
}

static void
set_key(redisContext *c, const char *key, size_t len, long ttl)
{
	const char *argv[5] = { "SET", key, "value", "PX", NULL };
	size_t lens[5] = { 3, len, 5, 2, 0 };
	char ttlbuf[32];
	redisReply *r;

	snprintf(ttlbuf, sizeof ttlbuf, "%ld", ttl);
	argv[4] = ttlbuf;
	lens[4] = strlen(ttlbuf);
	r = redisCommandArgv(c, ttl > 0 ? 5 : 3, argv, lens);
	ck_assert_ptr_nonnull(r);
	freeReplyObject(r);
}

/* n keys named PREFIX%d, pipelined. */
static void
fill(const char *fmt, int n)
{
	const char *pct = strstr(fmt, "%d");
	int plen = (int)(pct - fmt);

	redisContext *c = sync_client();
	redisReply *r;
	char key[128];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof key, "%.*s%d", plen, fmt, i);
		redisAppendCommand(c, "SET %s v", key);
	}
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(redisGetReply(c, (void **)&r), REDIS_OK);
		freeReplyObject(r);
	}
	redisFree(c);
}

static long long
dbsize(void)
{
	redisContext *c = sync_client();
	redisReply *r = redisCommand(c, "DBSIZE");
	long long n = r->integer;

	freeReplyObject(r);
	redisFree(c);
	return n;
}

static bool
exists(const char *key, size_t len)
{
	redisContext *c = sync_client();
	const char *argv[2] = { "EXISTS", key };
	size_t lens[2] = { 6, len };
	redisReply *r = redisCommandArgv(c, 2, argv, lens);
	bool e = r->integer == 1;

	freeReplyObject(r);
	redisFree(c);
	return e;
}

static bool
is_up(void *arg)
{
	return redis_status(arg)->state == REDIS_UP;
}

static bool
is_down(void *arg)
{
	return redis_status(arg)->state == REDIS_DOWN;
}

static struct runbook *
rb_timeout(const char *url, long timeout_ms, const char *extra)
{
	return test_runbook("runbook: t\nowner: o\nredis: { url: '%s', "
	    "timeout_ms: %ld, refresh_s: 0.2 %s }\nroutes:\n"
	    "  - { name: blog, keys: ['anp:page:/blog/*'], max_keys: 5000 }\n"
	    "  - { name: both, keys: ['a:*', 'a:1*'] }\n"
	    "  - { name: odd, keys: ['odd:*'] }\n"
	    "steps: [{ title: x, manual: y }]\n", url, timeout_ms,
	    extra ? extra : "");
}

static struct runbook *
rb_with(const char *url, const char *extra)
{
	return rb_timeout(url, 300, extra);
}

START_TEST(connects_and_measures)
{
	struct runbook *rb = rb_with(srv.url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);
	char desc[256];

	ck_assert_int_eq(redis_status(r)->state, REDIS_DOWN);
	redis_start(r);
	ck_assert_int_eq(redis_status(r)->state, REDIS_CONNECTING);
	ck_assert(run_until(loop, is_up, r, 5));
	ck_assert(redis_status(r)->rtt_ms >= 0);
	redis_describe(r, desc, sizeof desc);
	ck_assert_msg(strncmp(desc, "up, ", 4) == 0, "%s", desc);
	redis_free(r);
	runbook_free(rb);
}
END_TEST

START_TEST(unix_socket_and_db)
{
	char *url = xprintf("unix://%s?db=3", srv.sock);
	struct runbook *rb = rb_with(url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);

	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	redis_free(r);
	runbook_free(rb);
	free(url);
}
END_TEST

START_TEST(missing_database)
{
	char *url = xprintf("redis://127.0.0.1:%d/99", srv.port);
	struct runbook *rb = rb_with(url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);

	redis_start(r);
	ck_assert(run_until(loop, is_down, r, 5));
	ck_assert_msg(strstr(redis_status(r)->error, "cannot select database "
	    "99") != NULL, "%s", redis_status(r)->error);
	ck_assert(redis_status(r)->next_try > loop_now());
	redis_free(r);
	runbook_free(rb);
	free(url);
}
END_TEST

START_TEST(passwords)
{
	struct runbook *rb = rb_with(srv.url, NULL);
	struct redis *r;

	ck_assert_int_eq(testredis_cli(&srv, NULL, "CONFIG SET requirepass "
	    "s3cret-pw"), 0);
	r = redis_new(loop, &rb->redis, "s3cret-pw");
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	redis_free(r);

	r = redis_new(loop, &rb->redis, "wrong");
	redis_start(r);
	ck_assert(run_until(loop, is_down, r, 5));
	ck_assert_msg(strstr(redis_status(r)->error, "authentication failed")
	    != NULL, "%s", redis_status(r)->error);
	ck_assert_ptr_null(strstr(redis_status(r)->error, "wrong"));
	redis_free(r);

	r = redis_new(loop, &rb->redis, NULL);
	redis_start(r);
	ck_assert(run_until(loop, is_down, r, 5));
	ck_assert_msg(strstr(redis_status(r)->error, "needs a password") !=
	    NULL, "%s", redis_status(r)->error);
	redis_free(r);
	runbook_free(rb);
}
END_TEST

START_TEST(down_at_start_then_up)
{
	struct runbook *rb;
	struct redis *r;
	int port = srv.port;

	testredis_stop(&srv);
	rb = rb_with(srv.url, NULL);
	r = redis_new(loop, &rb->redis, NULL);
	redis_start(r);
	ck_assert(run_until(loop, is_down, r, 5));
	ck_assert_msg(strstr(redis_status(r)->error, "refused") != NULL, "%s",
	    redis_status(r)->error);
	ck_assert_int_eq(testredis_restart(&srv, NULL), 0);
	ck_assert_int_eq(srv.port, port);
	/* Backoff: it comes back by itself. */
	ck_assert(run_until(loop, is_up, r, 10));
	ck_assert_uint_eq(redis_status(r)->failures, 0);
	redis_free(r);
	runbook_free(rb);
}
END_TEST

/* A TCP service that is not Redis: it answers like a web server. */
static void
http_accept(evutil_socket_t fd, short what, void *arg)
{
	static const char resp[] = "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Length: 0\r\n\r\n";
	int c = accept(fd, NULL, NULL);

	(void)what;
	(void)arg;
	if (c >= 0) {
		if (write(c, resp, sizeof resp - 1) < 0)
			perror("write");
		close(c);
	}
}

START_TEST(not_a_redis_server)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct event *ev;
	struct runbook *rb;
	struct redis *r;
	char *url;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	ev = event_new(loop_base(loop), fd, EV_READ | EV_PERSIST, http_accept,
	    NULL);
	event_add(ev, NULL);
	url = xprintf("redis://127.0.0.1:%d/0", ntohs(sa.sin_port));
	rb = rb_with(url, NULL);
	r = redis_new(loop, &rb->redis, NULL);
	redis_start(r);
	ck_assert(run_until(loop, is_down, r, 5));
	ck_assert_msg(strstr(redis_status(r)->error, "rotocol") != NULL ||
	    strstr(redis_status(r)->error, "closed") != NULL, "%s",
	    redis_status(r)->error);
	redis_free(r);
	event_free(ev);
	close(fd);
	runbook_free(rb);
	free(url);
}
END_TEST

struct reply_seen {
	bool		 done;
	bool		 ok;
	char		 err[256];
	double		 at;
};

static void
note_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct reply_seen *s = arg;

	(void)r;
	s->done = true;
	s->ok = rep != NULL;
	s->at = loop_now();
	if (err != NULL)
		snprintf(s->err, sizeof s->err, "%s", err);
}

static bool
seen(void *arg)
{
	return ((struct reply_seen *)arg)->done;
}

START_TEST(hung_server_times_out)
{
	struct runbook *rb = rb_with(srv.url, NULL);	/* timeout 300 ms */
	struct redis *r = redis_new(loop, &rb->redis, NULL);
	const char *ping[] = { "PING" };
	struct reply_seen s = { 0 };
	double sent;

	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	kill(srv.pid, SIGSTOP);
	sent = loop_now();
	ck_assert_int_eq(redis_commandv(r, note_reply, &s, 1, ping), 0);
	ck_assert(run_until(loop, seen, &s, 5));
	ck_assert(!s.ok);
	ck_assert_msg(strstr(s.err, "no reply within 300 ms") != NULL, "%s",
	    s.err);
	ck_assert(s.at - sent < 1.5);
	ck_assert_int_eq(redis_status(r)->state, REDIS_DOWN);
	/* While it is stopped, connecting times out too; then it recovers. */
	run_for(loop, 1.0);
	ck_assert_int_ne(redis_status(r)->state, REDIS_UP);
	kill(srv.pid, SIGCONT);
	ck_assert(run_until(loop, is_up, r, 10));
	redis_free(r);
	runbook_free(rb);
}
END_TEST

START_TEST(killed_and_restarted)
{
	struct runbook *rb = rb_with(srv.url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);

	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	testredis_kill(&srv);
	ck_assert(run_until(loop, is_down, r, 5));
	ck_assert_int_eq(testredis_restart(&srv, NULL), 0);
	ck_assert(run_until(loop, is_up, r, 10));
	ck_assert_uint_eq(redis_status(r)->connects, 2);
	redis_free(r);
	runbook_free(rb);
}
END_TEST

/* SCAN ----------------------------------------------------------------- */

struct scan_wait {
	bool		 done;
};

static void
scan_finished(struct scan *s, void *arg)
{
	(void)s;
	((struct scan_wait *)arg)->done = true;
}

static bool
scan_is_done(void *arg)
{
	return ((struct scan_wait *)arg)->done;
}

static const struct scan_result *
walk(struct redis *r, const struct rb_route *route, size_t limit,
    struct scan **sp)
{
	struct scan_opts o = { route->keys, route->nkeys, limit, false, 5, 0, 0, 0, NULL };
	struct scan_wait w = { false };

	*sp = scan_start(r, &o, scan_finished, &w);
	ck_assert(run_until(loop, scan_is_done, &w, 20));
	return scan_result(*sp);
}

static const char *const odd_keys[] = {
	"odd:with space", "odd:glob*?[x]", "odd:new\nline", "odd:\xff\xfe",
	"odd:nul\0byte", "odd:\x1b[31mred",
};
static const size_t odd_lens[] = { 14, 13, 12, 6, 12, 13 };

static void
fill_odd(void)
{
	redisContext *c = sync_client();
	size_t i;

	for (i = 0; i < sizeof odd_lens / sizeof odd_lens[0]; i++)
		set_key(c, odd_keys[i], odd_lens[i], 0);
	redisFree(c);
}

START_TEST(scan_counts_exactly)
{
	struct runbook *rb = rb_with(srv.url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);
	const struct scan_result *res;
	struct scan *s;

	fill("anp:page:/blog/post-%d", 3000);
	fill("anp:page:/shop/item-%d", 1000);
	fill("a:%d", 500);	/* a:1* overlaps a:* */
	fill_odd();
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));

	res = walk(r, &rb->routes[0], 0, &s);
	ck_assert(res->complete && !res->failed);
	ck_assert_uint_eq(res->count, 3000);
	ck_assert_uint_eq(res->nsample, 5);
	ck_assert_uint_gt(res->calls, 1);
	ck_assert(res->count_hint >= 10 && res->count_hint <= 10000);
	scan_free(s);

	res = walk(r, &rb->routes[1], 0, &s);
	ck_assert_uint_eq(res->count, 500);	/* not 500 + the a:1* ones */
	scan_free(s);

	res = walk(r, &rb->routes[2], 0, &s);
	ck_assert_uint_eq(res->count, 6);	/* binary keys counted */
	scan_free(s);

	res = walk(r, &rb->routes[0], 1000, &s);
	ck_assert(res->over_limit && !res->complete);
	ck_assert_uint_gt(res->count, 1000);
	scan_free(s);
	redis_free(r);
	runbook_free(rb);
}
END_TEST

/* Purge ---------------------------------------------------------------- */

struct pwatch {
	enum purge_state state;
	size_t		 progress;	/* events while running */
	bool		 cancel_at_first;
	bool		 kill_at_first;
	struct purge	*p;
};

static void
pevent(struct purge *p, void *arg)
{
	struct pwatch *w = arg;
	const struct purge_report *rep = purge_report(p);

	w->state = rep->state;
	if (rep->state == PURGE_RUNNING && rep->batches > 0) {
		if (w->progress++ == 0) {
			if (w->cancel_at_first)
				purge_cancel(p);
			if (w->kill_at_first)
				testredis_kill(&srv);
		}
	}
}

static bool
settled(void *arg)
{
	enum purge_state s = ((struct pwatch *)arg)->state;

	return s == PURGE_READY || s == PURGE_REFUSED || s == PURGE_DONE ||
	    s == PURGE_CANCELLED || s == PURGE_FAILED;
}

static struct purge *
previewed(struct redis *r, const struct rb_route *route, const char *backup,
    struct pwatch *w)
{
	struct purge *p = purge_new(r, route, backup, pevent, w);

	w->p = p;
	purge_preview(p);
	ck_assert(run_until(loop, settled, w, 20));
	return p;
}

static void
confirm_and_wait(struct purge *p, struct pwatch *w)
{
	ck_assert_int_eq(purge_confirm(p), 0);
	w->state = PURGE_RUNNING;
	ck_assert(run_until(loop, settled, w, 30));
}

START_TEST(purge_deletes_exactly_the_preview)
{
	struct runbook *rb = rb_with(srv.url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);
	const struct purge_report *rep;
	struct pwatch w = { 0 };
	struct purge *p;
	const char *k;
	size_t len;

	fill("anp:page:/blog/post-%d", 1234);
	fill("anp:page:/shop/item-%d", 100);
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	p = previewed(r, &rb->routes[0], NULL, &w);
	rep = purge_report(p);
	ck_assert_int_eq(rep->state, PURGE_READY);
	ck_assert_uint_eq(rep->previewed, 1234);
	ck_assert(purge_sample(p, 0, &k, &len));
	ck_assert_int_eq(strncmp(k, "anp:page:/blog/", 15), 0);
	ck_assert_int_eq(dbsize(), 1334);	/* nothing deleted yet */
	confirm_and_wait(p, &w);
	ck_assert_msg(rep->state == PURGE_DONE, "%s", rep->reason);
	ck_assert_uint_eq(rep->deleted, 1234);
	ck_assert_uint_eq(rep->gone, 0);
	ck_assert_uint_eq(rep->batches, 7);
	ck_assert_uint_ge(w.progress, 2);	/* events coalesce per loop turn */
	ck_assert_int_eq(dbsize(), 100);	/* the shop is untouched */
	purge_free(p);
	redis_free(r);
	runbook_free(rb);
}
END_TEST

START_TEST(purge_binary_keys)
{
	struct runbook *rb = rb_with(srv.url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);
	struct pwatch w = { 0 };
	struct purge *p;
	size_t i;

	fill_odd();
	fill("keep:%d", 3);
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	p = previewed(r, &rb->routes[2], NULL, &w);
	ck_assert_uint_eq(purge_report(p)->previewed, 6);
	confirm_and_wait(p, &w);
	ck_assert_uint_eq(purge_report(p)->deleted, 6);
	for (i = 0; i < 6; i++)
		ck_assert(!exists(odd_keys[i], odd_lens[i]));
	ck_assert_int_eq(dbsize(), 3);
	purge_free(p);
	redis_free(r);
	runbook_free(rb);
}
END_TEST

START_TEST(purge_counts_keys_already_gone)
{
	struct runbook *rb = rb_with(srv.url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);
	struct pwatch w = { 0 };
	struct purge *p;

	fill("anp:page:/blog/post-%d", 50);
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	p = previewed(r, &rb->routes[0], NULL, &w);
	ck_assert_int_eq(testredis_cli(&srv, NULL, "DEL anp:page:/blog/post-1 "
	    "anp:page:/blog/post-2"), 0);
	/* A key created after the preview is not purged: preview = action. */
	ck_assert_int_eq(testredis_cli(&srv, NULL, "SET anp:page:/blog/new v"),
	    0);
	confirm_and_wait(p, &w);
	ck_assert_uint_eq(purge_report(p)->deleted, 48);
	ck_assert_uint_eq(purge_report(p)->gone, 2);
	ck_assert(exists("anp:page:/blog/new", 18));
	purge_free(p);
	redis_free(r);
	runbook_free(rb);
}
END_TEST

START_TEST(purge_refuses_too_many)
{
	struct runbook *rb = rb_with(srv.url, NULL);	/* max_keys 5000 */
	struct redis *r = redis_new(loop, &rb->redis, NULL);
	struct pwatch w = { 0 };
	struct purge *p;
	struct rb_route broad;

	fill("anp:page:/blog/post-%d", 6000);
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	p = previewed(r, &rb->routes[0], NULL, &w);
	ck_assert_int_eq(purge_report(p)->state, PURGE_REFUSED);
	ck_assert_ptr_nonnull(strstr(purge_report(p)->reason, "max_keys"));
	ck_assert_int_eq(purge_confirm(p), -1);
	purge_free(p);
	ck_assert_int_eq(dbsize(), 6000);

	/* allow_broad lets it through. */
	broad = rb->routes[0];
	broad.allow_broad = true;
	w.state = PURGE_NEW;
	p = previewed(r, &broad, NULL, &w);
	ck_assert_int_eq(purge_report(p)->state, PURGE_READY);
	ck_assert_uint_eq(purge_report(p)->previewed, 6000);
	purge_free(p);

	/* A pattern that matches everything never gets that far. */
	{
		char star[] = "*";
		char *keys[] = { star };
		broad.keys = keys;
		broad.nkeys = 1;
		w.state = PURGE_NEW;
		p = previewed(r, &broad, NULL, &w);
		ck_assert_int_eq(purge_report(p)->state, PURGE_REFUSED);
		ck_assert_ptr_nonnull(strstr(purge_report(p)->reason,
		    "matches every key"));
		purge_free(p);
	}
	ck_assert_int_eq(dbsize(), 6000);
	redis_free(r);
	runbook_free(rb);
}
END_TEST

START_TEST(purge_cancel_between_batches)
{
	struct runbook *rb = rb_with(srv.url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);
	struct pwatch w = { .cancel_at_first = true };
	struct purge *p;
	const struct purge_report *rep;

	fill("anp:page:/blog/post-%d", 2000);
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	p = previewed(r, &rb->routes[0], NULL, &w);
	confirm_and_wait(p, &w);
	rep = purge_report(p);
	ck_assert_int_eq(rep->state, PURGE_CANCELLED);
	ck_assert_uint_lt(rep->deleted, 2000);
	ck_assert_uint_eq(rep->deleted % PURGE_BATCH, 0);
	ck_assert_int_eq(dbsize(), 2000 - (long long)rep->deleted);
	/* The batches in flight finish; the rest is not touched. */
	ck_assert_uint_eq(rep->in_doubt, 0);
	ck_assert_uint_eq(rep->deleted + rep->untouched, 2000);
	ck_assert_uint_gt(rep->untouched, 0);
	purge_free(p);
	redis_free(r);
	runbook_free(rb);
}
END_TEST

START_TEST(purge_interrupted_by_a_kill)
{
	struct runbook *rb = rb_with(srv.url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);
	struct pwatch w = { .kill_at_first = true };
	struct purge *p;
	const struct purge_report *rep;

	fill("anp:page:/blog/post-%d", 4000);
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	p = previewed(r, &rb->routes[0], NULL, &w);
	confirm_and_wait(p, &w);
	rep = purge_report(p);
	ck_assert_int_eq(rep->state, PURGE_FAILED);
	/* Exactly the confirmed batches, the PURGE_DEPTH in flight in doubt,
	 * and the rest not touched. */
	ck_assert_uint_eq(rep->deleted % PURGE_BATCH, 0);
	ck_assert_uint_ge(rep->deleted, PURGE_BATCH);
	ck_assert_uint_lt(rep->deleted, 4000 - PURGE_DEPTH * PURGE_BATCH);
	ck_assert_uint_eq(rep->in_doubt, PURGE_DEPTH * PURGE_BATCH);
	ck_assert_uint_eq(rep->deleted + rep->in_doubt + rep->untouched, 4000);
	ck_assert_ptr_nonnull(strstr(rep->reason, "Redis failed during batch"));
	purge_free(p);
	redis_free(r);
	runbook_free(rb);
}
END_TEST

struct restored {
	struct restore_report rep;
	bool		 done;
};

static void
restore_done(const struct restore_report *rep, void *arg)
{
	struct restored *x = arg;

	x->rep = *rep;
	x->done = true;
}

static bool
restore_finished(void *arg)
{
	return ((struct restored *)arg)->done;
}

START_TEST(purge_backup_and_restore)
{
	struct runbook *rb = rb_with(srv.url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);
	struct pwatch w = { 0 };
	struct restored x = { 0 };
	struct backup_reader *br;
	struct restore_check chk;
	char *backup = xprintf("%s/backup.jsonl", srv.dir), *out = NULL,
	    *cause = NULL;
	redisContext *c;
	struct purge *p;
	struct stat st;

	fill("anp:page:/blog/post-%d", 450);
	c = sync_client();
	set_key(c, "anp:page:/blog/\xff\nbinary", 22, 600000);
	redisFree(c);
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	p = previewed(r, &rb->routes[0], backup, &w);
	confirm_and_wait(p, &w);
	ck_assert_msg(purge_report(p)->state == PURGE_DONE, "%s",
	    purge_report(p)->reason);
	ck_assert_uint_eq(purge_report(p)->backed_up, 451);
	ck_assert_int_eq(dbsize(), 0);
	ck_assert_int_eq(stat(backup, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	purge_free(p);

	ck_assert_ptr_nonnull(br = purge_restore_check(backup, rb, NULL,
	    false, &chk, &cause));
	ck_assert(chk.ended);
	purge_restore(r, br, false, restore_done, &x);
	ck_assert(run_until(loop, restore_finished, &x, 20));
	ck_assert_uint_eq(x.rep.restored, 451);
	ck_assert_uint_eq(x.rep.errors, 0);
	ck_assert_int_eq(dbsize(), 451);
	ck_assert(exists("anp:page:/blog/\xff\nbinary", 22));
	/* The TTL came back with it. */
	ck_assert_int_eq(testredis_cli(&srv, &out, "PTTL 'anp:page:/blog/"
	    "post-7'"), 0);
	ck_assert_str_eq(out, "-1\n");
	free(out);
	/* A second restore keeps what exists. */
	x.done = false;
	ck_assert_ptr_nonnull(br = purge_restore_check(backup, rb, NULL,
	    false, &chk, &cause));
	ck_assert(chk.ended);
	purge_restore(r, br, false, restore_done, &x);
	ck_assert(run_until(loop, restore_finished, &x, 20));
	ck_assert_uint_eq(x.rep.existed, 451);
	redis_free(r);
	runbook_free(rb);
	free(backup);
}
END_TEST

static bool
turns(void *arg)
{
	return --*(int *)arg <= 0;
}

/* A purge freed while its commands are in flight (the INFO checks of the
 * preview; the DUMPs of a backed-up deletion) must not be touched by their
 * answers.  Under ASan or valgrind a use after free fails this test. */
START_TEST(purge_freed_with_answers_to_come)
{
	struct runbook *rb = rb_with(srv.url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);
	char *backup = xprintf("%s/freed.backup.jsonl", srv.dir);
	struct pwatch w = { 0 };
	struct purge *p;
	int n;

	fill("anp:page:/blog/post-%d", 3000);
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	p = purge_new(r, &rb->routes[0], NULL, pevent, &w);
	purge_preview(p);		/* INFO replication and cluster sent */
	purge_free(p);
	n = 20;
	run_until(loop, turns, &n, 1);	/* their answers come in */

	unlink(backup);
	p = previewed(r, &rb->routes[0], backup, &w);
	ck_assert_int_eq(purge_report(p)->state, PURGE_READY);
	ck_assert_int_eq(purge_confirm(p), 0);	/* DUMPs in flight */
	purge_free(p);
	n = 50;
	run_until(loop, turns, &n, 2);
	ck_assert_int_eq(dbsize(), 3000);	/* nothing unlinked after free */
	redis_free(r);
	runbook_free(rb);
	unlink(backup);
	free(backup);
}
END_TEST

/* The glob restore checks keys with must agree with Redis's own: each
 * case is asked of the server (SCAN MATCH) and of backup_glob. */
START_TEST(backup_glob_agrees_with_redis)
{
	static const char *const pats[] = { "a*b", "h?llo", "h[ae]llo",
	    "h[^e]llo", "h[a-b]llo", "h\\*llo", "*", "a*", "*b", "a\\", "[z-a]x",
	    "anp:page:/blog/*", "a*a*a*a*a*a*a*a*a*c", "[]", "[a", "x[\\]]y",
	    "*[*]*", "??", "" };
	static const struct { const char *k; size_t len; } keys[] = {
	    { "ab", 2 }, { "axxb", 4 }, { "axxbc", 5 }, { "hello", 5 },
	    { "hallo", 5 }, { "hillo", 5 }, { "hbllo", 5 }, { "hcllo", 5 },
	    { "h*llo", 5 }, { "hllo", 4 }, { "a\\", 2 }, { "yx", 2 },
	    { "anp:page:/blog/\0\xff", 17 }, { "anp:page:/blogx", 15 },
	    { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 42 },
	    { "a", 1 }, { "[", 1 }, { "x]y", 3 }, { "a*b", 3 }, { "\xff\xfe", 2 } };
	redisContext *c = sync_client();
	redisReply *rep;
	size_t i, j, k;
	bool redis_says;

	for (j = 0; j < sizeof keys / sizeof keys[0]; j++) {
		rep = redisCommand(c, "SET %b v", keys[j].k, keys[j].len);
		freeReplyObject(rep);
	}
	for (i = 0; i < sizeof pats / sizeof pats[0]; i++) {
		for (j = 0; j < sizeof keys / sizeof keys[0]; j++) {
			rep = redisCommand(c, "SCAN 0 MATCH %s COUNT 10000",
			    pats[i]);
			ck_assert(rep != NULL && rep->type == REDIS_REPLY_ARRAY);
			redis_says = false;
			for (k = 0; k < rep->element[1]->elements; k++)
				if (rep->element[1]->element[k]->len ==
				    keys[j].len && memcmp(rep->element[1]->
				    element[k]->str, keys[j].k, keys[j].len) == 0)
					redis_says = true;
			freeReplyObject(rep);
			ck_assert_msg(backup_glob(pats[i], keys[j].k,
			    keys[j].len) == redis_says, "pattern '%s', key %zu: "
			    "Redis says %d", pats[i], j, redis_says);
		}
	}
	freeReplyObject(redisCommand(c, "FLUSHALL"));
	redisFree(c);
}
END_TEST

/* Readouts --------------------------------------------------------------- */

static bool
two_rounds(void *arg)
{
	const struct readout *x = readouts_get(arg);

	return x->rounds >= 2 && x->routes[0].known && x->routes[2].known &&
	    x->routes[0].nsample > 0 && x->routes[0].sample_ttl_ms[0] > 0;
}

START_TEST(readouts_report_the_server)
{
	struct runbook *rb = rb_with(srv.url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);
	struct readouts *ro = readouts_new(loop, r, rb, NULL, NULL);
	const struct readout *x;
	redisContext *c;
	int i;

	fill("anp:page:/blog/post-%d", 20);
	c = sync_client();
	for (i = 0; i < 20; i++) {
		char key[64];
		snprintf(key, sizeof key, "anp:page:/blog/post-%d", i);
		set_key(c, key, strlen(key), 60000);
	}
	freeReplyObject(redisCommand(c, "GET anp:page:/blog/post-1"));
	freeReplyObject(redisCommand(c, "GET nothing-here"));
	redisFree(c);
	fill_odd();
	redis_start(r);
	readouts_start(ro);
	ck_assert(run_until(loop, two_rounds, ro, 10));
	x = readouts_get(ro);
	ck_assert(x->valid);
	ck_assert(x->ping_ms >= 0);
	ck_assert_int_gt(x->used_memory, 100000);
	ck_assert_int_ge(x->hits, 1);
	ck_assert_int_ge(x->misses, 1);
	ck_assert(x->hit_ratio > 0 && x->hit_ratio < 1);
	ck_assert_int_ge(x->clients, 1);
	ck_assert_int_eq(x->dbsize, 26);
	ck_assert_uint_eq(x->routes[0].count, 20);
	ck_assert_uint_eq(x->routes[2].count, 6);
	ck_assert(x->routes[0].sample_ttl_ms[0] > 50000);
	ck_assert(!x->routes[1].known || x->routes[1].count == 0);
	/* Redis goes away: the readouts stop, nothing crashes; it returns. */
	testredis_kill(&srv);
	run_for(loop, 0.5);
	ck_assert_int_ne(redis_status(r)->state, REDIS_UP);
	ck_assert_int_eq(testredis_restart(&srv, NULL), 0);
	ck_assert(run_until(loop, is_up, r, 10));
	redis_free(r);
	readouts_free(ro);
	runbook_free(rb);
}
END_TEST

START_TEST(scan_count_adapts)
{
	ck_assert_int_eq(scan_adapt(100, 0.0001, 0), 200);
	ck_assert_int_eq(scan_adapt(100, 0.001, 0), 100);
	ck_assert_int_eq(scan_adapt(100, 0.005, 0), 50);
	ck_assert_int_eq(scan_adapt(8000, 0.0001, 0), 10000);
	ck_assert_int_eq(scan_adapt(10000, 0.0001, 0), 10000);
	ck_assert_int_eq(scan_adapt(12, 0.1, 0), 10);
	ck_assert_int_eq(scan_adapt(10, 0.1, 0), 10);
	/* A paced walk aims lower: 0.2 ms. */
	ck_assert_int_eq(scan_adapt(100, 0.00005, 0.0002), 200);
	ck_assert_int_eq(scan_adapt(100, 0.0002, 0.0002), 100);
	ck_assert_int_eq(scan_adapt(100, 0.0005, 0.0002), 50);
}
END_TEST

START_TEST(info_fields)
{
	const char info[] = "# Server\r\nredis_version:7.0.15\r\n"
	    "used_memory:123456\r\nused_memory_human:1.2M\r\n";
	long long v;

	ck_assert(info_field(info, sizeof info - 1, "used_memory", &v));
	ck_assert_int_eq(v, 123456);
	ck_assert(!info_field(info, sizeof info - 1, "used", &v));
	ck_assert(!info_field(info, sizeof info - 1, "evicted_keys", &v));
}
END_TEST

/* A hostile server ---------------------------------------------------- */

struct badsrv {
	pid_t		 pid;
	int		 port;
	char		 url[64];
	char		 portfile[128];
};

/* Starts tests/tools/badredis in mode (see its header). */
static void
bad_start(struct badsrv *b, const char *mode)
{
	const char *bin = getenv("BADREDIS");
	char path[512];
	FILE *f;
	int i;

	if (bin == NULL) {
		snprintf(path, sizeof path, "%s/tests/tools/badredis",
		    getenv("top_builddir") ? getenv("top_builddir") : ".");
		bin = path;
	}
	snprintf(b->portfile, sizeof b->portfile, "%s/bad.port", srv.dir);
	unlink(b->portfile);
	b->pid = fork();
	ck_assert_int_ge(b->pid, 0);
	if (b->pid == 0) {
		execl(bin, bin, b->portfile, mode, (char *)NULL);
		_exit(127);
	}
	b->port = 0;
	for (i = 0; i < 200 && b->port == 0; i++) {
		if ((f = fopen(b->portfile, "r")) != NULL) {
			if (fscanf(f, "%d", &b->port) != 1)
				b->port = 0;
			fclose(f);
		}
		if (b->port == 0)
			usleep(20000);
	}
	ck_assert_msg(b->port > 0, "badredis %s did not start", bin);
	snprintf(b->url, sizeof b->url, "redis://127.0.0.1:%d/0", b->port);
}

static void
bad_stop(struct badsrv *b)
{
	kill(b->pid, SIGTERM);
	waitpid(b->pid, NULL, 0);
}

/* Sends one command and waits for its callback. */
static void
command_and_wait(struct redis *r, const char *cmd, struct reply_seen *s)
{
	const char *argv[] = { cmd };

	memset(s, 0, sizeof *s);
	ck_assert_int_eq(redis_commandv(r, note_reply, s, 1, argv), 0);
	ck_assert(run_until(loop, seen, s, 10));
}

START_TEST(reply_with_nothing_pending)
{
	struct badsrv b;
	struct runbook *rb;
	struct redis *r;
	struct reply_seen s;

	bad_start(&b, "extra");
	rb = rb_with(b.url, NULL);
	r = redis_new(loop, &rb->redis, NULL);
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	/* PONG answers it; the extra reply that follows has no command. */
	command_and_wait(r, "PING", &s);
	ck_assert(s.ok);
	ck_assert(run_until(loop, is_down, r, 5));
	ck_assert_msg(strstr(redis_status(r)->error, "protocol error: a reply "
	    "arrived with no command waiting") != NULL, "%s",
	    redis_status(r)->error);
	/* Nothing aborted: it backs off and comes back. */
	ck_assert(run_until(loop, is_up, r, 10));
	ck_assert_uint_ge(redis_status(r)->connects, 2);
	redis_free(r);
	runbook_free(rb);
	bad_stop(&b);
}
END_TEST

START_TEST(huge_bulk_is_capped)
{
	struct badsrv b;
	struct runbook *rb;
	struct redis *r;
	struct reply_seen s;
	double t0;

	/* One bulk: refused at its header.  Inside an array: by its bytes. */
	static const char *const modes[] = { "hugebulk", "hugenested" };
	size_t i;

	for (i = 0; i < 2; i++) {
		bad_start(&b, modes[i]);
		rb = rb_timeout(b.url, 20000, ", max_reply_mb: 2");
		r = redis_new(loop, &rb->redis, NULL);
		redis_start(r);
		ck_assert(run_until(loop, is_up, r, 5));
		t0 = loop_now();
		command_and_wait(r, "INFO", &s);
		ck_assert(!s.ok);
		ck_assert_msg(strcmp(s.err, "reply over 2 MiB") == 0, "%s: %s",
		    modes[i], s.err);
		ck_assert(s.at - t0 < 10.0);
		ck_assert_int_eq(redis_status(r)->state, REDIS_DOWN);
		redis_free(r);
		runbook_free(rb);
		bad_stop(&b);
	}
}
END_TEST

START_TEST(huge_bulk_that_stops_times_out)
{
	struct badsrv b;
	struct runbook *rb;
	struct redis *r;
	struct reply_seen s;

	bad_start(&b, "hugebulk-stop");
	rb = rb_with(b.url, NULL);	/* timeout 300 ms */
	r = redis_new(loop, &rb->redis, NULL);
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	command_and_wait(r, "INFO", &s);
	ck_assert(!s.ok);
	ck_assert_msg(strstr(s.err, "no reply within 300 ms") != NULL, "%s",
	    s.err);
	redis_free(r);
	runbook_free(rb);
	bad_stop(&b);
}
END_TEST

START_TEST(huge_array_is_refused)
{
	struct badsrv b;
	struct runbook *rb;
	struct redis *r;
	struct reply_seen s;

	bad_start(&b, "hugearray");
	rb = rb_with(b.url, NULL);
	r = redis_new(loop, &rb->redis, NULL);
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	command_and_wait(r, "DBSIZE", &s);
	ck_assert(!s.ok);
	ck_assert_msg(strstr(s.err, "reply of 2000000000 elements (over the "
	    "limit of 1048576)") != NULL, "%s", s.err);
	redis_free(r);
	runbook_free(rb);
	bad_stop(&b);
}
END_TEST

START_TEST(garbage_is_not_redis)
{
	struct badsrv b;
	struct runbook *rb;
	struct redis *r;

	bad_start(&b, "garbage");
	rb = rb_with(b.url, NULL);
	r = redis_new(loop, &rb->redis, NULL);
	redis_start(r);
	ck_assert(run_until(loop, is_down, r, 5));
	ck_assert_msg(strstr(redis_status(r)->error, "not a Redis server? "
	    "protocol error") != NULL, "%s", redis_status(r)->error);
	ck_assert_ptr_null(strchr(redis_status(r)->error, '\033'));
	redis_free(r);
	runbook_free(rb);
	bad_stop(&b);
}
END_TEST

/* Every socket rehearse opens is close-on-exec. */
START_TEST(socket_is_close_on_exec)
{
	struct runbook *rb = rb_with(srv.url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, NULL);
	struct stat sb;
	int fd, sockets = 0;

	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	for (fd = 3; fd < 1024; fd++) {
		if (fstat(fd, &sb) != 0 || !S_ISSOCK(sb.st_mode))
			continue;
		sockets++;
		ck_assert_msg(fcntl(fd, F_GETFD) & FD_CLOEXEC, "fd %d", fd);
	}
	ck_assert_int_ge(sockets, 1);
	redis_free(r);
	runbook_free(rb);
}
END_TEST

static const struct scan_result *
walk_bounded(struct redis *r, double max_s, struct scan **sp)
{
	static char pattern[] = "anp:*";
	char *pats[] = { pattern };
	struct scan_opts o = { pats, 1, 0, false, 5, max_s, 0, 0, NULL };
	struct scan_wait w = { false };

	*sp = scan_start(r, &o, scan_finished, &w);
	ck_assert(run_until(loop, scan_is_done, &w, 20));
	return scan_result(*sp);
}

START_TEST(scan_that_never_ends_is_bounded)
{
	struct badsrv b;
	struct runbook *rb;
	struct redis *r;
	const struct scan_result *res;
	struct scan *sc;

	bad_start(&b, "scanforever");
	rb = rb_with(b.url, NULL);
	r = redis_new(loop, &rb->redis, NULL);
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	res = walk_bounded(r, 0, &sc);
	ck_assert(res->failed && !res->complete);
	ck_assert_msg(strstr(res->error, "SCAN did not finish") != NULL &&
	    strstr(res->error, "database of 3 keys") != NULL, "%s",
	    res->error);
	ck_assert_uint_lt(res->calls, 100);
	scan_free(sc);
	/* The time bound, on its own. */
	res = walk_bounded(r, 1e-6, &sc);
	ck_assert(res->failed);
	ck_assert_msg(strstr(res->error, "SCAN did not finish within") !=
	    NULL, "%s", res->error);
	ck_assert_uint_eq(res->calls, 1);
	scan_free(sc);
	redis_free(r);
	runbook_free(rb);
	bad_stop(&b);
}
END_TEST

/* A purge whose preview cannot finish is refused, and deletes nothing. */
START_TEST(purge_refuses_an_unfinished_preview)
{
	struct badsrv b;
	struct runbook *rb;
	struct redis *r;
	struct purge *p;
	struct pwatch w = { 0 };

	bad_start(&b, "scanforever");
	rb = rb_with(b.url, NULL);
	r = redis_new(loop, &rb->redis, NULL);
	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	p = previewed(r, &rb->routes[0], NULL, &w);
	ck_assert_int_eq(purge_report(p)->state, PURGE_FAILED);
	ck_assert_msg(strstr(purge_report(p)->reason, "SCAN did not finish")
	    != NULL, "%s", purge_report(p)->reason);
	purge_free(p);
	redis_free(r);
	runbook_free(rb);
	bad_stop(&b);
}
END_TEST

static bool
one_round(void *arg)
{
	return readouts_get(arg)->rounds >= 1;
}

/* The readouts of one round against url (user/password may be NULL). */
static void
readout_round(const char *url, const char *password, struct readout *out)
{
	struct runbook *rb = rb_with(url, NULL);
	struct redis *r = redis_new(loop, &rb->redis, password);
	struct readouts *ro = readouts_new(loop, r, rb, NULL, NULL);

	redis_start(r);
	ck_assert(run_until(loop, is_up, r, 5));
	readouts_refresh(ro);
	ck_assert(run_until(loop, one_round, ro, 10));
	*out = *readouts_get(ro);
	out->routes = NULL;
	redis_free(r);
	readouts_free(ro);
	runbook_free(rb);
}

START_TEST(readouts_know_the_node)
{
	struct readout x;

	readout_round(srv.url, NULL, &x);
	ck_assert_int_eq(x.state, READOUT_OK);
	ck_assert_str_eq(x.node.role, "master");
	ck_assert_str_eq(x.node.mode, "standalone");
	ck_assert(!x.node.cluster);
}
END_TEST

/* An ACL user who may not run INFO: unknown, never zeros. */
START_TEST(readouts_unknown_without_info)
{
	struct readout x;
	char *url;

	ck_assert_int_eq(testredis_cli(&srv, NULL, "ACL SETUSER looker on "
	    "'>look-pw' '~*' '+@all' '-info'"), 0);
	url = xprintf("redis://looker@127.0.0.1:%d/0", srv.port);
	readout_round(url, "look-pw", &x);
	ck_assert_int_eq(x.state, READOUT_UNKNOWN);
	ck_assert(!x.valid);
	ck_assert_msg(strncmp(x.why, "INFO refused: NOPERM", 20) == 0, "%s",
	    x.why);
	free(url);
}
END_TEST

START_TEST(readouts_unknown_from_hostile_servers)
{
	static const struct {
		const char *mode, *why;
	} cases[] = {
		{ "info-hang", "INFO: no reply within 300 ms" },
		{ "info-noperm", "INFO refused: NOPERM" },
		{ "sentinel", "a Sentinel (redis_mode:sentinel)" },
	};
	struct badsrv b;
	struct readout x;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bad_start(&b, cases[i].mode);
		readout_round(b.url, NULL, &x);
		ck_assert_int_eq(x.state, READOUT_UNKNOWN);
		ck_assert_msg(strncmp(x.why, cases[i].why, strlen(cases[i].why))
		    == 0, "%s: %s", cases[i].mode, x.why);
		bad_stop(&b);
	}
	bad_start(&b, "replica");
	readout_round(b.url, NULL, &x);
	ck_assert_int_eq(x.state, READOUT_OK);
	ck_assert_str_eq(x.node.role, "replica");
	ck_assert_str_eq(x.node.master_host, "10.1.2.3");
	ck_assert_int_eq(x.node.master_port, 6380);
	ck_assert(x.node.cluster);
	bad_stop(&b);
}
END_TEST

START_TEST(info_role_parses)
{
	const char info[] = "# Server\r\nredis_mode:standalone\r\n"
	    "# Replication\r\nrole:slave\r\nmaster_host:db\x1b[2J.example\r\n"
	    "master_port:99999\r\n# Cluster\r\ncluster_enabled:0\r\n";
	struct redis_role n;
	char buf[256];

	ck_assert(info_role(info, sizeof info - 1, &n));
	ck_assert_str_eq(n.role, "replica");
	ck_assert_ptr_null(strchr(n.master_host, '\033'));
	ck_assert_int_eq(n.master_port, 0);	/* out of range: not used */
	ck_assert(!n.cluster);
	readout_describe_role(&n, buf, sizeof buf);
	ck_assert_msg(strncmp(buf, "replica of db", 13) == 0, "%s", buf);
	ck_assert(!info_role("redis_mode:sentinel\r\n", 21, &n));
	ck_assert_str_eq(n.mode, "sentinel");
	/* Valkey 8 */
	ck_assert(info_role("server_mode:cluster\r\nrole:master\r\n", 34,
	    &n));
	ck_assert_str_eq(n.mode, "cluster");
	ck_assert(n.cluster);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("redis");
	TCase *tc = tcase_create("redis");

	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, connects_and_measures);
	tcase_add_test(tc, unix_socket_and_db);
	tcase_add_test(tc, missing_database);
	tcase_add_test(tc, passwords);
	tcase_add_test(tc, down_at_start_then_up);
	tcase_add_test(tc, not_a_redis_server);
	tcase_add_test(tc, hung_server_times_out);
	tcase_add_test(tc, killed_and_restarted);
	tcase_add_test(tc, scan_counts_exactly);
	tcase_add_test(tc, purge_deletes_exactly_the_preview);
	tcase_add_test(tc, purge_binary_keys);
	tcase_add_test(tc, purge_counts_keys_already_gone);
	tcase_add_test(tc, purge_refuses_too_many);
	tcase_add_test(tc, purge_cancel_between_batches);
	tcase_add_test(tc, purge_interrupted_by_a_kill);
	tcase_add_test(tc, purge_backup_and_restore);
	tcase_add_test(tc, backup_glob_agrees_with_redis);
	tcase_add_test(tc, purge_freed_with_answers_to_come);
	tcase_add_test(tc, readouts_report_the_server);
	tcase_add_test(tc, info_fields);
	tcase_add_test(tc, scan_count_adapts);
	tcase_add_test(tc, reply_with_nothing_pending);
	tcase_add_test(tc, huge_bulk_is_capped);
	tcase_add_test(tc, huge_bulk_that_stops_times_out);
	tcase_add_test(tc, huge_array_is_refused);
	tcase_add_test(tc, garbage_is_not_redis);
	tcase_add_test(tc, socket_is_close_on_exec);
	tcase_add_test(tc, scan_that_never_ends_is_bounded);
	tcase_add_test(tc, purge_refuses_an_unfinished_preview);
	tcase_add_test(tc, readouts_know_the_node);
	tcase_add_test(tc, readouts_unknown_without_info);
	tcase_add_test(tc, readouts_unknown_from_hostile_servers);
	tcase_add_test(tc, info_role_parses);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
