/* scan.c: see scan.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "scan.h"
#include "textesc.h"
#include "xmalloc.h"

#define COUNT_FIRST	100
#define COUNT_MIN	10
#define COUNT_MAX	10000
#define CALL_S		0.001	/* a call's round trip, unless opts.call_s */
/* A walk of one pattern fails once the COUNT of its calls adds up to more
 * than this many times DBSIZE (at the start) plus SCAN_SLACK: SCAN visits
 * at least COUNT slots per call, and the tables hold at most about twice
 * as many slots as keys. */
#define SCAN_SLOTS_PER_KEY	4
#define SCAN_SLACK		100000
/* When DBSIZE is refused (an ACL user without it, rename-command), only
 * this budget of slots (a database of a billion keys) and the time bound
 * are left. */
#define SCAN_BUDGET_BLIND	(4000000000ULL + SCAN_SLACK)
#define SCAN_MAX_S_DEFAULT	300.0
#define SCAN_PAUSE_MAX_S	10.0

struct scan {
	struct redis	*redis;
	struct scan_opts opts;
	struct scan_result res;
	void		(*done)(struct scan *, void *);
	void		*arg;
	size_t		 pattern;	/* index being walked */
	char		 cursor[32];
	long long	 dbsize;	/* at the start; <0 until known */
	unsigned long long budget;	/* of COUNT, for one pattern */
	unsigned long long asked;	/* COUNT asked so far, this pattern */
	double		 max_s;
	double		 started;
	double		 sent;
	bool		 in_flight;
	bool		 cancelled;
	bool		 finished;
	struct event	*later;		/* reports the end from the loop */
	struct event	*pause;		/* paced: the next call, later */
	double		 paused_s;	/* paced: time spent pausing */
};

static void	scan_next(struct scan *);

long
scan_adapt(long count, double seconds, double target)
{
	/* Keep each call near target (a millisecond): doubled under half
	   of it, halved over twice it. */
	if (target <= 0)
		target = CALL_S;
	if (seconds < target / 2 && count < COUNT_MAX)
		return count * 2 > COUNT_MAX ? COUNT_MAX : count * 2;
	if (seconds > target * 2 && count > COUNT_MIN)
		return count / 2 < COUNT_MIN ? COUNT_MIN : count / 2;
	return count;
}

double
scan_pause(double pace, double call_s)
{
	double p;

	if (pace <= 0 || call_s <= 0)
		return 0;
	p = pace * call_s;
	return p > SCAN_PAUSE_MAX_S ? SCAN_PAUSE_MAX_S : p;
}

double
scan_progress(const struct scan *s)
{
	double f = 0;

	if (s->res.complete)
		return 1;
	if (s->opts.npatterns == 0)
		return 0;
	if (s->dbsize > 0)
		f = (double)s->asked / (double)s->dbsize;
	f = ((double)s->pattern + f) / (double)s->opts.npatterns;
	/* A walk that stops at the limit is that far along, too. */
	if (s->opts.limit > 0 &&
	    (double)s->res.count / (double)s->opts.limit > f)
		f = (double)s->res.count / (double)s->opts.limit;
	return f > 0.99 ? 0.99 : f;
}

static void
resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	scan_next(arg);
}

static void
report(evutil_socket_t fd, short what, void *arg)
{
	struct scan *s = arg;

	(void)fd;
	(void)what;
	s->done(s, s->arg);
}

/* Ends the walk; the callback runs on the next loop turn. */
static void
finish(struct scan *s)
{
	s->finished = true;
	s->res.ms = (loop_now() - s->started) * 1000.0;
	event_active(s->later, 0, 0);
}

static void
fail(struct scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(struct scan *s, const char *fmt, ...)
{
	char msg[256], *e;
	va_list ap;

	s->res.failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	e = esc_str(msg, 0);	/* it may hold the server's words */
	snprintf(s->res.error, sizeof s->res.error, "%s", e);
	free(e);
	finish(s);
}

static void
add_key(struct scan *s, const char *key, size_t len)
{
	struct scan_sample *sm;

	if (!keyset_add(&s->res.keys, key, len))
		return;		/* SCAN may return a key twice */
	s->res.count++;
	if (s->res.nsample < s->opts.sample) {
		s->res.sample = xreallocarray(s->res.sample, s->res.nsample + 1,
		    sizeof *s->res.sample);
		sm = &s->res.sample[s->res.nsample++];
		sm->key = xmalloc(len + 1);
		memcpy(sm->key, key, len);
		sm->key[len] = '\0';
		sm->len = len;
	}
}

static void
scan_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct scan *s = arg;
	redisReply *cur, *keys;
	double dt = loop_now() - s->sent;
	size_t i;

	(void)r;
	s->in_flight = false;
	if (s->cancelled) {
		s->finished = true;
		scan_free(s);
		return;
	}
	s->res.calls++;
	if (rep == NULL) {
		fail(s, "%s", err);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		fail(s, "SCAN failed: %.*s", (int)(rep->len > 200 ? 200 :
		    rep->len), rep->str);
		return;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    (cur = rep->element[0])->type != REDIS_REPLY_STRING ||
	    cur->len >= sizeof s->cursor ||
	    (keys = rep->element[1])->type != REDIS_REPLY_ARRAY) {
		fail(s, "SCAN returned something unexpected");
		return;
	}
	for (i = 0; i < keys->elements; i++) {
		if (keys->element[i]->type == REDIS_REPLY_STRING)
			add_key(s, keys->element[i]->str, keys->element[i]->len);
	}
	if (s->opts.limit > 0 && s->res.count > s->opts.limit) {
		s->res.over_limit = true;
		finish(s);
		return;
	}
	s->asked += (unsigned long long)s->res.count_hint;
	s->res.count_hint = scan_adapt(s->res.count_hint, dt,
	    s->opts.call_s);
	memcpy(s->cursor, cur->str, cur->len);
	s->cursor[cur->len] = '\0';
	if (strcmp(s->cursor, "0") == 0) {
		s->asked = 0;
		if (++s->pattern == s->opts.npatterns) {
			s->res.complete = true;
			finish(s);
			return;
		}
	} else if (s->asked > s->budget && s->dbsize < 0) {
		fail(s, "SCAN did not finish: %lu calls asked for %llu slots "
		    "(DBSIZE was refused, so the bound is a billion keys), and "
		    "the cursor never came back to 0", s->res.calls, s->asked);
		return;
	} else if (s->asked > s->budget) {
		fail(s, "SCAN did not finish: %lu calls asked for %llu slots, "
		    "more than %d per key of a database of %lld keys, and the "
		    "cursor never came back to 0", s->res.calls, s->asked,
		    SCAN_SLOTS_PER_KEY, s->dbsize);
		return;
	} else if (loop_now() - s->started - s->paused_s > s->max_s) {
		fail(s, "SCAN did not finish within %.0f s (%lu calls)",
		    s->max_s, s->res.calls);
		return;
	}
	if (s->opts.step != NULL)
		s->opts.step(s, s->arg);
	if (s->opts.pace > 0) {
		struct timeval tv;
		double p = scan_pause(s->opts.pace, dt);

		s->paused_s += p;
		tv.tv_sec = (time_t)p;
		tv.tv_usec = (suseconds_t)((p - (double)tv.tv_sec) * 1e6);
		evtimer_add(s->pause, &tv);
		return;
	}
	scan_next(s);
}

/* DBSIZE first: it sets the bound on the walk. */
static void
dbsize_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct scan *s = arg;

	(void)r;
	s->in_flight = false;
	if (s->cancelled) {
		s->finished = true;
		scan_free(s);
		return;
	}
	if (rep == NULL) {
		fail(s, "%s", err);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		/* Refused, not broken: walk with the blind bound. */
		s->budget = SCAN_BUDGET_BLIND;
		scan_next(s);
		return;
	}
	if (rep->type != REDIS_REPLY_INTEGER || rep->integer < 0) {
		fail(s, "DBSIZE returned something unexpected");
		return;
	}
	s->dbsize = rep->integer;
	s->budget = (unsigned long long)rep->integer * SCAN_SLOTS_PER_KEY +
	    SCAN_SLACK;
	scan_next(s);
}

static void
scan_next(struct scan *s)
{
	const char *argv[6];
	size_t lens[6];
	char count[24];

	snprintf(count, sizeof count, "%ld", s->res.count_hint);
	argv[0] = "SCAN";
	argv[1] = s->cursor;
	argv[2] = "MATCH";
	argv[3] = s->opts.patterns[s->pattern];
	argv[4] = "COUNT";
	argv[5] = count;
	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	s->sent = loop_now();
	if (redis_command(s->redis, scan_reply, s, 6, argv, lens) != 0) {
		fail(s, "Redis is not connected");
		return;
	}
	s->in_flight = true;
}

struct scan *
scan_start(struct redis *r, const struct scan_opts *o,
    void (*done)(struct scan *, void *), void *arg)
{
	struct scan *s = xcalloc(1, sizeof *s);

	s->redis = r;
	s->opts = *o;
	s->done = done;
	s->arg = arg;
	s->started = loop_now();
	s->res.count_hint = COUNT_FIRST;
	keyset_init(&s->res.keys, o->keep);
	snprintf(s->cursor, sizeof s->cursor, "0");
	s->dbsize = -1;
	s->max_s = o->max_s > 0 ? o->max_s : SCAN_MAX_S_DEFAULT;
	s->later = event_new(redis_loop_base(r), -1, 0, report, s);
	s->pause = evtimer_new(redis_loop_base(r), resume, s);
	if (o->npatterns == 0) {
		s->res.complete = true;
		finish(s);
	} else if (redis_commandv(r, dbsize_reply, s, 1,
	    (const char *[]){ "DBSIZE" }) != 0)
		fail(s, "Redis is not connected");
	else
		s->in_flight = true;
	return s;
}

const struct scan_result *
scan_result(const struct scan *s)
{
	return &s->res;
}

void
scan_cancel(struct scan *s)
{
	if (s == NULL)
		return;
	s->cancelled = true;
	event_del(s->later);
	event_del(s->pause);
	if (!s->in_flight)
		scan_free(s);
}

void
scan_free(struct scan *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->in_flight) {	/* freed when its reply arrives */
		s->cancelled = true;
		return;
	}
	event_free(s->later);
	event_free(s->pause);
	for (i = 0; i < s->res.nsample; i++)
		free(s->res.sample[i].key);
	free(s->res.sample);
	keyset_done(&s->res.keys);
	free(s);
}

void
scan_take_keys(struct scan *s, struct keyset *dst)
{
	*dst = s->res.keys;
	keyset_init(&s->res.keys, false);
}
