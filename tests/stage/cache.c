/* cache.c: see cache.h. */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "cache.h"
#include "stage.h"

/* Connect and command timeout: a hung Redis costs a request this much. */
#define CACHE_TIMEOUT_MS 250

struct cache {
	pthread_mutex_t	 lock;	/* guards ctx */
	redisContext	*ctx;	/* NULL while disconnected */
	char		*host;	/* TCP host; NULL for a unix socket */
	int		 port;
	char		*path;	/* unix socket path; NULL for TCP */
	long		 db;	/* SELECTed after every connect */
};

static void	cache_errf(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
cache_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Parse the decimal number in [s, end) into *out within [min, max]. */
static int
cache_number(const char *s, const char *end, long min, long max, long *out)
{
	char	 buf[24], *stop;
	size_t	 len = (size_t)(end - s);
	long	 v;

	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtol(buf, &stop, 10);
	if (*stop != '\0' || buf[0] == '-' || buf[0] == '+' || v < min ||
	    v > max)
		return -1;
	*out = v;
	return 0;
}

static int
cache_parse(struct cache *c, const char *url, char *err, size_t errlen)
{
	const char	*p, *q, *hostend, *colon;
	long		 port = 6379;

	if (strncmp(url, "unix://", 7) == 0) {
		p = url + 7;
		if (*p != '/') {
			cache_errf(err, errlen, "%s: a unix:// URL needs an "
			    "absolute path (unix:///PATH)", url);
			return -1;
		}
		q = strchr(p, '?');
		c->path = xstrndup(p, q != NULL ? (size_t)(q - p) : strlen(p));
		if (q != NULL && (strncmp(q, "?db=", 4) != 0 ||
		    cache_number(q + 4, q + strlen(q), 0, INT_MAX, &c->db) != 0)) {
			cache_errf(err, errlen, "%s: only ?db=N may follow the "
			    "socket path", url);
			return -1;
		}
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		cache_errf(err, errlen, "%s: not a redis://HOST:PORT[/DB] or "
		    "unix:///PATH URL", url);
		return -1;
	}
	p = url + 8;
	if (strchr(p, '@') != NULL) {
		cache_errf(err, errlen, "%s: the stage app does not use "
		    "passwords", url);
		return -1;
	}
	hostend = strchr(p, '/');
	if (hostend == NULL)
		hostend = p + strlen(p);
	colon = memchr(p, ':', (size_t)(hostend - p));
	if (colon != NULL &&
	    cache_number(colon + 1, hostend, 1, 65535, &port) != 0) {
		cache_errf(err, errlen, "%s: bad port", url);
		return -1;
	}
	c->port = (int)port;
	q = colon != NULL ? colon : hostend;
	c->host = q == p ? xstrdup("127.0.0.1") : xstrndup(p, (size_t)(q - p));
	if (*hostend == '/' && hostend[1] != '\0' &&
	    cache_number(hostend + 1, hostend + strlen(hostend), 0, INT_MAX,
	    &c->db) != 0) {
		cache_errf(err, errlen, "%s: bad database number", url);
		return -1;
	}
	return 0;
}

struct cache *
cache_new(const char *url, char *err, size_t errlen)
{
	struct cache	*c;

	c = xcalloc(1, sizeof *c);
	pthread_mutex_init(&c->lock, NULL);
	if (cache_parse(c, url, err, errlen) != 0) {
		cache_free(c);
		return NULL;
	}
	return c;
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	if (c->ctx != NULL)
		redisFree(c->ctx);
	pthread_mutex_destroy(&c->lock);
	free(c->host);
	free(c->path);
	free(c);
}

/* Drop the connection after an I/O error; the next command reconnects. */
static void
cache_drop(struct cache *c, char *err, size_t errlen)
{
	const char	*why = c->ctx->errstr[0] != '\0' ? c->ctx->errstr :
			    "connection lost";

	cache_errf(err, errlen, "redis: %s", why);
	redisFree(c->ctx);
	c->ctx = NULL;
}

/* Connect and SELECT; called with the lock held. */
static int
cache_connect(struct cache *c, char *err, size_t errlen)
{
	struct timeval	 tv = { 0, CACHE_TIMEOUT_MS * 1000 };
	redisReply	*r;
	char		 db[24];
	const char	*argv[2];
	size_t		 argvlen[2];

	if (c->path != NULL)
		c->ctx = redisConnectUnixWithTimeout(c->path, tv);
	else
		c->ctx = redisConnectWithTimeout(c->host, c->port, tv);
	if (c->ctx == NULL)
		fatal("out of memory");
	if (c->ctx->err != 0 || redisSetTimeout(c->ctx, tv) != REDIS_OK) {
		cache_drop(c, err, errlen);
		return -1;
	}
	if (c->db == 0)
		return 0;
	snprintf(db, sizeof db, "%ld", c->db);
	argv[0] = "SELECT";
	argv[1] = db;
	argvlen[0] = 6;
	argvlen[1] = strlen(db);
	r = redisCommandArgv(c->ctx, 2, argv, argvlen);
	if (r == NULL) {
		cache_drop(c, err, errlen);
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		cache_errf(err, errlen, "redis SELECT: %.80s", r->str);
		freeReplyObject(r);
		redisFree(c->ctx);
		c->ctx = NULL;
		return -1;
	}
	freeReplyObject(r);
	return 0;
}

/*
 * Run a command; called with the lock held.  A kept connection that broke
 * (Redis restarted) is reconnected and the command tried once more.
 */
static redisReply *
cache_command(struct cache *c, int argc, const char **argv,
    const size_t *argvlen, char *err, size_t errlen)
{
	redisReply	*r;
	int		 attempt, fresh;

	for (attempt = 0; attempt < 2; attempt++) {
		fresh = 0;
		if (c->ctx == NULL) {
			if (cache_connect(c, err, errlen) != 0)
				return NULL;
			fresh = 1;
		}
		r = redisCommandArgv(c->ctx, argc, argv, argvlen);
		if (r != NULL) {
			if (r->type != REDIS_REPLY_ERROR)
				return r;
			cache_errf(err, errlen, "redis: %.80s", r->str);
			freeReplyObject(r);
			return NULL;
		}
		cache_drop(c, err, errlen);
		if (fresh)
			break;
	}
	return NULL;
}

enum cache_result
cache_get(struct cache *c, const char *key, char **value, char *err,
    size_t errlen)
{
	redisReply		*r;
	const char		*argv[2] = { "GET", key };
	size_t			 argvlen[2] = { 3, strlen(key) };
	enum cache_result	 res = CACHE_MISS;

	*value = NULL;
	pthread_mutex_lock(&c->lock);
	r = cache_command(c, 2, argv, argvlen, err, errlen);
	pthread_mutex_unlock(&c->lock);
	if (r == NULL)
		return CACHE_ERROR;
	if (r->type == REDIS_REPLY_STRING) {
		*value = xstrndup(r->str, r->len);
		res = CACHE_HIT;
	} else if (r->type != REDIS_REPLY_NIL) {
		cache_errf(err, errlen, "redis: GET answered type %d", r->type);
		res = CACHE_ERROR;
	}
	freeReplyObject(r);
	return res;
}

int
cache_set(struct cache *c, const char *key, const char *value, int ttl,
    char *err, size_t errlen)
{
	redisReply	*r;
	char		 ex[24];
	const char	*argv[5] = { "SET", key, value, "EX", ex };
	size_t		 argvlen[5];

	snprintf(ex, sizeof ex, "%d", ttl);
	argvlen[0] = 3;
	argvlen[1] = strlen(key);
	argvlen[2] = strlen(value);
	argvlen[3] = 2;
	argvlen[4] = strlen(ex);
	pthread_mutex_lock(&c->lock);
	r = cache_command(c, 5, argv, argvlen, err, errlen);
	pthread_mutex_unlock(&c->lock);
	if (r == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}
