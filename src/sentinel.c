/* sentinel.c: see sentinel.h.
 *
 * Three kinds of connection, each a struct redis: the master connection
 * (its resolver hook asks the sentinels before every attempt), one query
 * connection per sentinel (made when first needed, kept for the next
 * question), and the watch: a connection to the sentinel that answered
 * last, subscribed to +switch-master (a subscribed connection can run no
 * other command, hence apart from the query one). */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis.h"
#include "sentinel.h"
#include "textesc.h"
#include "xmalloc.h"

#define ADDR_MAX	300	/* "host:port" text, host at most 255 */
#define HOST_MAX	255
#define PAYLOAD_MAX	1024	/* a +switch-master message */
#define SENTINEL_REPLY_MB 1	/* bytes of one sentinel reply, in MiB */
#define NONE		SIZE_MAX

struct sentinel {
	struct loop	*loop;
	const struct rb_redis *cfg;
	struct rb_redis	*scfg;		/* one per sentinel, fields borrowed */
	struct redis	**q;		/* query connections, one each */
	struct redis	*watch;		/* subscribed to +switch-master */
	size_t		 watch_at;	/* its sentinel, or NONE */
	struct redis	*master;
	char		*spass;		/* the sentinels' password */

	/* One round of questions, for one attempt of the master. */
	bool		 resolving;
	unsigned long	 round;		/* bumped for every round */
	size_t		 at;		/* the sentinel asked now */
	bool		 waiting;	/* for q[at] to be up */
	size_t		 unknown;	/* sentinels that said nil */
	char		 errs[200];	/* why the others did not answer */

	char		 addr[ADDR_MAX];	/* the master now, or "" */
	char		 prev[ADDR_MAX];	/* before the last change */
	time_t		 since;
	enum sentinel_reason why;
	void		(*on_change)(const struct sentinel_change *, void *);
	void		*on_change_arg;
	bool		 closing;
};

/* A question in flight: its round, so that a late answer is ignored. */
struct ask {
	struct sentinel	*s;
	unsigned long	 round;
	size_t		 at;
};

static void	ask(struct sentinel *);

const char *
sentinel_reason_name(enum sentinel_reason r)
{
	switch (r) {
	case SENTINEL_RESOLVED:
		return "resolved";
	case SENTINEL_SWITCH_MASTER:
		return "switch-master";
	case SENTINEL_RERESOLVED:
		return "re-resolved after disconnect";
	}
	return "?";
}

static void
hostport(char *buf, size_t len, const char *host, int port)
{
	snprintf(buf, len, strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d",
	    host, port);
}

static void
sentinel_name(const struct sentinel *s, size_t i, char *buf, size_t len)
{
	hostport(buf, len, s->cfg->sentinels[i].host, s->cfg->sentinels[i].port);
}

/* The master's address changed (or was found): remember and report it. */
static void
set_address(struct sentinel *s, const char *addr, enum sentinel_reason why,
    const char *told)
{
	struct sentinel_change c;

	if (strcmp(s->addr, addr) == 0)
		return;
	snprintf(s->prev, sizeof s->prev, "%s", s->addr);
	snprintf(s->addr, sizeof s->addr, "%s", addr);
	s->since = time(NULL);
	s->why = why;
	if (s->on_change == NULL)
		return;
	c.master = s->cfg->master;
	c.address = s->addr;
	c.previous = s->prev[0] != '\0' ? s->prev : NULL;
	c.reason = why;
	c.sentinel = told;
	s->on_change(&c, s->on_change_arg);
}

/*
 * An address from a sentinel: a host of 1 to 255 bytes of what host names
 * and IP addresses are made of, and a port of digits from 1 to 65535.
 * Returns true with host copied (NUL-terminated) and *port set.
 */
static bool
valid_address(const char *h, size_t hlen, const char *p, size_t plen,
    char host[HOST_MAX + 1], int *port)
{
	long v = 0;
	size_t i;

	if (hlen == 0 || hlen > HOST_MAX || plen == 0 || plen > 5)
		return false;
	for (i = 0; i < hlen; i++)
		if (!isalnum((unsigned char)h[i]) && strchr(".:-_%",
		    h[i]) == NULL)
			return false;
	for (i = 0; i < plen; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		v = v * 10 + (p[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (int)v;
	return true;
}

/* Why sentinel i gave no address, added to the round's list. */
static void
note_failure(struct sentinel *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note_failure(struct sentinel *s, const char *fmt, ...)
{
	char name[ADDR_MAX], msg[160];
	size_t used = strlen(s->errs);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sentinel_name(s, s->at, name, sizeof name);
	/* Cut when full: the first sentinels' reasons are kept. */
	if (used < sizeof s->errs - 1 && snprintf(s->errs + used,
	    sizeof s->errs - used, "%s%s: %s", used > 0 ? "; " : "", name,
	    msg) < 0)
		s->errs[used] = '\0';
}

/* Every sentinel was asked and none gave an address. */
static void
round_failed(struct sentinel *s)
{
	char *why, *name = esc_str(s->cfg->master, 0);

	s->resolving = false;
	if (s->unknown > 0 && s->errs[0] == '\0')
		why = xprintf("the sentinels do not know master %s", name);
	else if (s->unknown > 0)
		why = xprintf("the sentinels do not know master %s (%s)", name,
		    s->errs);
	else
		why = xprintf("no sentinel gave the address of master %s: %s",
		    name, s->errs);
	free(name);
	redis_resolve_failed(s->master, why);
	free(why);
}

static void
next_sentinel(struct sentinel *s)
{
	s->waiting = false;
	s->at++;
	ask(s);
}

/* The watch ---------------------------------------------------------- */

static void
subscribed(struct redis *w, redisReply *rep, const char *err, void *arg)
{
	(void)arg;
	if (rep == NULL) {
		(void)err;	/* the connection is down already, and says why */
		return;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[0]->len != 9 ||
	    memcmp(rep->element[0]->str, "subscribe", 9) != 0)
		redis_reset(w, "SUBSCRIBE +switch-master: not a subscribe "
		    "confirmation");
}

static void
watch_state(struct redis *w, void *arg)
{
	static const char *argv[] = { "SUBSCRIBE", "+switch-master" };
	struct sentinel *s = arg;

	if (s->closing || redis_status(w)->state != REDIS_UP)
		return;
	if (redis_commandv(w, subscribed, s, 2, argv) != 0)
		redis_reset(w, "cannot subscribe to +switch-master");
}

/* "+switch-master" "NAME OLDIP OLDPORT NEWIP NEWPORT" */
static void
watch_message(struct redis *w, redisReply *rep, void *arg)
{
	struct sentinel *s = arg;
	const redisReply *ch = rep->element[rep->elements - 2];
	const redisReply *pl = rep->element[rep->elements - 1];
	const char *tok[5], *p, *end;
	size_t tlen[5], n = 0;
	char host[HOST_MAX + 1], addr[ADDR_MAX], told[ADDR_MAX], *msg;
	char *name;
	int port;

	if (s->closing || ch->len != 14 ||
	    memcmp(ch->str, "+switch-master", 14) != 0)
		return;
	if (pl->len > PAYLOAD_MAX) {
		redis_reset(w, "a +switch-master message over 1024 bytes");
		return;
	}
	for (p = pl->str, end = pl->str + pl->len; p < end && n < 5;) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		tok[n] = p;
		while (p < end && *p != ' ')
			p++;
		tlen[n] = (size_t)(p - tok[n]);
		n++;
	}
	while (p < end && *p == ' ')
		p++;
	if (n != 5 || p != end || !valid_address(tok[3], tlen[3], tok[4],
	    tlen[4], host, &port)) {
		redis_reset(w, "a +switch-master message that is not \"NAME "
		    "OLD-IP OLD-PORT NEW-IP NEW-PORT\"");
		return;
	}
	if (tlen[0] != strlen(s->cfg->master) ||
	    memcmp(tok[0], s->cfg->master, tlen[0]) != 0)
		return;		/* another master's failover */
	hostport(addr, sizeof addr, host, port);
	if (strcmp(addr, s->addr) == 0)
		return;		/* already followed */
	sentinel_name(s, s->watch_at, told, sizeof told);
	name = esc_str(s->cfg->master, 0);
	msg = xprintf("failover: master %s moved from %s to %s", name,
	    s->addr[0] != '\0' ? s->addr : "(unknown)", addr);
	free(name);
	set_address(s, addr, SENTINEL_SWITCH_MASTER, told);
	/* Every waiting command fails with msg; then connect at once (the
	 * sentinels are asked, and now name the new master). */
	redis_reset(s->master, msg);
	free(msg);
	redis_retry_now(s->master);
}

/* Watches through sentinel i (the one that answered last). */
static void
watch_through(struct sentinel *s, size_t i)
{
	if (s->watch != NULL && s->watch_at == i)
		return;
	redis_free(s->watch);
	s->watch = redis_new(s->loop, &s->scfg[i], s->spass);
	s->watch_at = i;
	redis_expect(s->watch, REDIS_EXPECT_SENTINEL);
	redis_on_push(s->watch, watch_message, s);
	redis_on_state(s->watch, watch_state, s);
	redis_start(s->watch);
}

/* Asking ------------------------------------------------------------- */

static void
answered(struct redis *q, redisReply *rep, const char *err, void *arg)
{
	struct ask *a = arg;
	struct sentinel *s = a->s;
	char host[HOST_MAX + 1], addr[ADDR_MAX], told[ADDR_MAX], *e;
	bool first;
	int port;

	(void)q;
	if (s->closing || !s->resolving || a->round != s->round ||
	    a->at != s->at) {
		free(a);
		return;
	}
	free(a);
	if (rep == NULL) {
		note_failure(s, "%s", err != NULL ? err : "connection lost");
		next_sentinel(s);
		return;
	}
	if (rep->type == REDIS_REPLY_NIL) {
		s->unknown++;
		next_sentinel(s);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		e = esc_text(rep->str, rep->len > 80 ? 80 : rep->len, 0);
		note_failure(s, "%s", e);
		free(e);
		next_sentinel(s);
		return;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->type != REDIS_REPLY_STRING ||
	    !valid_address(rep->element[0]->str, rep->element[0]->len,
	    rep->element[1]->str, rep->element[1]->len, host, &port)) {
		note_failure(s, "not an address (host of at most 255 bytes, "
		    "port 1 to 65535)");
		next_sentinel(s);
		return;
	}
	s->resolving = false;
	first = s->addr[0] == '\0';
	hostport(addr, sizeof addr, host, port);
	sentinel_name(s, s->at, told, sizeof told);
	set_address(s, addr, first ? SENTINEL_RESOLVED : SENTINEL_RERESOLVED,
	    told);
	watch_through(s, s->at);
	redis_connect_to(s->master, host, port);
}

static void
send_question(struct sentinel *s)
{
	const char *argv[] = { "SENTINEL", "get-master-addr-by-name",
	    s->cfg->master };
	const size_t lens[] = { 8, 23, strlen(s->cfg->master) };
	struct ask *a = xmalloc(sizeof *a);

	a->s = s;
	a->round = s->round;
	a->at = s->at;
	s->waiting = false;
	if (redis_command(s->q[s->at], answered, a, 3, argv, lens) != 0) {
		free(a);
		note_failure(s, "cannot send to it");
		next_sentinel(s);
	}
}

/* A query connection changed state: the one waited for is up, or down. */
static void
query_state(struct redis *q, void *arg)
{
	struct sentinel *s = arg;
	const struct redis_status *st = redis_status(q);

	if (s->closing || !s->resolving || !s->waiting || s->at >=
	    s->cfg->nsentinels || q != s->q[s->at])
		return;
	if (st->state == REDIS_UP)
		send_question(s);
	else if (st->state == REDIS_DOWN) {
		note_failure(s, "%s", st->error);
		next_sentinel(s);
	}
}

/* Asks sentinel s->at, or says that none answered. */
static void
ask(struct sentinel *s)
{
	struct redis *q;

	if (s->at >= s->cfg->nsentinels) {
		round_failed(s);
		return;
	}
	q = s->q[s->at];
	if (redis_status(q)->state == REDIS_UP) {
		send_question(s);
		return;
	}
	/* Down (perhaps waiting for its backoff) or connecting: wait for
	 * it, trying now rather than after its backoff. */
	s->waiting = true;
	if (redis_status(q)->connects == 0 && redis_status(q)->failures == 0 &&
	    redis_status(q)->state == REDIS_DOWN)
		redis_start(q);
	else
		redis_retry_now(q);
}

/* The master connection's resolver: a new round. */
static void
resolve(struct redis *m, void *arg)
{
	struct sentinel *s = arg;

	(void)m;
	if (s->closing)
		return;
	s->resolving = true;
	s->round++;
	s->at = 0;
	s->waiting = false;
	s->unknown = 0;
	s->errs[0] = '\0';
	ask(s);
}

/* Life ----------------------------------------------------------------- */

struct sentinel *
sentinel_new(struct loop *l, const struct rb_redis *cfg, const char *password,
    const char *sentinel_password)
{
	struct sentinel *s = xcalloc(1, sizeof *s);
	size_t i;

	s->loop = l;
	s->cfg = cfg;
	s->watch_at = NONE;
	if (sentinel_password != NULL)
		s->spass = xstrdup(sentinel_password);
	s->scfg = xcalloc(cfg->nsentinels, sizeof *s->scfg);
	s->q = xcalloc(cfg->nsentinels, sizeof *s->q);
	for (i = 0; i < cfg->nsentinels; i++) {
		struct rb_redis *c = &s->scfg[i];

		c->kind = REDIS_TCP;
		c->host = cfg->sentinels[i].host;
		c->port = cfg->sentinels[i].port;
		c->user = cfg->sentinel_user;
		c->tls = cfg->sentinel_tls;
		c->timeout_ms = cfg->timeout_ms;
		c->refresh_s = cfg->refresh_s;
		c->max_reply_mb = SENTINEL_REPLY_MB;
	}
	s->master = redis_new(l, cfg, password);
	redis_expect(s->master, REDIS_EXPECT_MASTER);
	redis_on_resolve(s->master, resolve, s);
	/* The query connections now: their TLS files are read once, and an
	 * error in them is known before anything starts. */
	for (i = 0; i < cfg->nsentinels; i++) {
		s->q[i] = redis_new(l, &s->scfg[i], s->spass);
		redis_expect(s->q[i], REDIS_EXPECT_SENTINEL);
		redis_on_state(s->q[i], query_state, s);
	}
	return s;
}

const char *
sentinel_setup_error(const struct sentinel *s)
{
	const char *e = redis_setup_error(s->master);

	if (e == NULL && s->cfg->nsentinels > 0)
		e = redis_setup_error(s->q[0]);	/* all share sentinel_tls */
	return e;
}

void
sentinel_on_change(struct sentinel *s, void (*fn)(
    const struct sentinel_change *, void *), void *arg)
{
	s->on_change = fn;
	s->on_change_arg = arg;
}

void
sentinel_start(struct sentinel *s)
{
	redis_start(s->master);
}

struct redis *
sentinel_master(struct sentinel *s)
{
	return s->master;
}

const char *
sentinel_address(const struct sentinel *s)
{
	return s->addr[0] != '\0' ? s->addr : NULL;
}

void
sentinel_describe(const struct sentinel *s, char *buf, size_t len)
{
	char when[16], line[700], *e;
	struct tm tm;

	if (s->addr[0] == '\0')
		snprintf(line, sizeof line, "master %s: not resolved yet",
		    s->cfg->master);
	else {
		localtime_r(&s->since, &tm);
		strftime(when, sizeof when, "%H:%M:%S", &tm);
		snprintf(line, sizeof line, "master %s at %s since %s (%s%s%s)",
		    s->cfg->master, s->addr, when, sentinel_reason_name(s->why),
		    s->prev[0] != '\0' ? ", was " : "", s->prev);
	}
	e = esc_str(line, 0);
	snprintf(buf, len, "%s", e);
	free(e);
}

void
sentinel_free(struct sentinel *s)
{
	size_t i;

	if (s == NULL)
		return;
	s->closing = true;	/* the frees below call back: ignored */
	redis_free(s->master);
	redis_free(s->watch);
	for (i = 0; i < s->cfg->nsentinels; i++)
		redis_free(s->q[i]);
	free(s->q);
	free(s->scfg);
	if (s->spass != NULL) {
		explicit_bzero(s->spass, strlen(s->spass));
		free(s->spass);
	}
	free(s);
}
