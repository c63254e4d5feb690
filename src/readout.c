/* readout.c: see readout.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readout.h"
#include "scan.h"
#include "xmalloc.h"

struct readouts {
	struct loop	*loop;
	struct redis	*redis;
	const struct runbook *rb;
	struct readout	 r;
	struct timer	*tick;
	struct scan	**scans;	/* per route, while counting */
	struct ttl_ctx	*routectx;	/* per route: the walk's argument */
	void		(*changed)(void *);
	void		*arg;
	double		 ping_sent;
	bool		 busy;		/* PING/INFO/DBSIZE in flight */
};

/* Route sample TTLs: one PTTL per sample key. */
struct ttl_ctx {
	struct readouts	*ro;
	size_t		 route;
	size_t		 i;
};

static void
notify(struct readouts *ro)
{
	if (ro->changed != NULL)
		ro->changed(ro->arg);
}

bool
info_field(const char *info, size_t len, const char *field, long long *out)
{
	size_t flen = strlen(field);
	const char *p = info, *end = info + len, *nl;
	char num[32];
	size_t n;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) > flen && memcmp(p, field, flen) == 0 &&
		    p[flen] == ':') {
			n = (size_t)(nl - p) - flen - 1;
			if (n >= sizeof num)
				return false;
			memcpy(num, p + flen + 1, n);
			num[n] = '\0';
			*out = strtoll(num, NULL, 10);
			return true;
		}
		p = nl + 1;
	}
	return false;
}

static void
ttl_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct ttl_ctx *c = arg;
	struct route_keys *rk = &c->ro->r.routes[c->route];

	struct readouts *ro = c->ro;

	(void)r;
	(void)err;
	if (rep != NULL && rep->type == REDIS_REPLY_INTEGER &&
	    c->i < rk->nsample)
		rk->sample_ttl_ms[c->i] = rep->integer;
	free(c);
	notify(ro);
}

static void
count_done(struct scan *s, void *arg)
{
	struct ttl_ctx *c = arg;
	struct readouts *ro = c->ro;
	struct route_keys *rk = &ro->r.routes[c->route];
	const struct scan_result *res = scan_result(s);
	const char *argv[2];
	size_t lens[2], i;
	struct ttl_ctx *t;

	ro->scans[c->route] = NULL;	/* c is ro->routectx[route] */
	rk->counting = false;
	rk->at = loop_now();
	if (res->failed)
		snprintf(rk->error, sizeof rk->error, "%s", res->error);
	else {
		rk->error[0] = '\0';
		rk->known = true;
		rk->count = res->count;
		rk->over = res->over_limit;
		for (i = 0; i < rk->nsample; i++)
			free(rk->sample[i]);
		rk->nsample = 0;
		for (i = 0; i < res->nsample && i < READOUT_SAMPLE; i++) {
			rk->sample[i] = xmalloc(res->sample[i].len + 1);
			memcpy(rk->sample[i], res->sample[i].key,
			    res->sample[i].len + 1);
			rk->sample_len[i] = res->sample[i].len;
			rk->sample_ttl_ms[i] = -1;
			rk->nsample++;
			t = xcalloc(1, sizeof *t);
			t->ro = ro;
			t->route = c->route;
			t->i = i;
			argv[0] = "PTTL";
			lens[0] = 4;
			argv[1] = rk->sample[i];
			lens[1] = rk->sample_len[i];
			if (redis_command(ro->redis, ttl_reply, t, 2, argv,
			    lens) != 0)
				free(t);
		}
	}
	scan_free(s);
	notify(ro);
}

static void
count_routes(struct readouts *ro)
{
	struct scan_opts o;
	size_t i;

	for (i = 0; i < ro->rb->nroutes; i++) {
		if (ro->rb->routes[i].nkeys == 0 || ro->scans[i] != NULL)
			continue;
		memset(&o, 0, sizeof o);
		o.patterns = ro->rb->routes[i].keys;
		o.npatterns = ro->rb->routes[i].nkeys;
		o.limit = READOUT_COUNT_LIMIT;
		o.sample = READOUT_SAMPLE;
		ro->r.routes[i].counting = true;
		ro->scans[i] = scan_start(ro->redis, &o, count_done,
		    &ro->routectx[i]);
	}
}

static void
dbsize_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct readouts *ro = arg;

	(void)r;
	(void)err;
	ro->busy = false;
	if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
		ro->r.dbsize = rep->integer;
	ro->r.rounds++;
	notify(ro);
}

static void
info_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct readouts *ro = arg;
	struct readout *x = &ro->r;
	long long v;

	(void)r;
	(void)err;
	if (rep == NULL || rep->type != REDIS_REPLY_STRING)
		return;
	x->valid = true;
	x->at = loop_now();
	if (info_field(rep->str, rep->len, "used_memory", &v))
		x->used_memory = v;
	if (info_field(rep->str, rep->len, "keyspace_hits", &v))
		x->hits = v;
	if (info_field(rep->str, rep->len, "keyspace_misses", &v))
		x->misses = v;
	if (info_field(rep->str, rep->len, "instantaneous_ops_per_sec", &v))
		x->ops_per_sec = v;
	if (info_field(rep->str, rep->len, "evicted_keys", &v))
		x->evicted = v;
	if (info_field(rep->str, rep->len, "expired_keys", &v))
		x->expired = v;
	if (info_field(rep->str, rep->len, "connected_clients", &v))
		x->clients = v;
	x->hit_ratio = x->hits + x->misses > 0 ?
	    (double)x->hits / (double)(x->hits + x->misses) : -1;
}

static void
ping_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct readouts *ro = arg;

	(void)r;
	(void)err;
	if (rep != NULL && rep->type != REDIS_REPLY_ERROR)
		ro->r.ping_ms = (loop_now() - ro->ping_sent) * 1000.0;
}

void
readouts_refresh(struct readouts *ro)
{
	const char *ping[] = { "PING" }, *info[] = { "INFO" },
	    *dbsize[] = { "DBSIZE" };

	if (redis_status(ro->redis)->state != REDIS_UP || ro->busy)
		return;
	ro->ping_sent = loop_now();
	/* Pipelined; the last reply ends the round. */
	if (redis_commandv(ro->redis, ping_reply, ro, 1, ping) != 0 ||
	    redis_commandv(ro->redis, info_reply, ro, 1, info) != 0 ||
	    redis_commandv(ro->redis, dbsize_reply, ro, 1, dbsize) != 0)
		return;
	ro->busy = true;
	count_routes(ro);
}

static void
tick(void *arg)
{
	struct readouts *ro = arg;

	readouts_refresh(ro);
	timer_arm(ro->tick, ro->rb->redis.refresh_s);
}

struct readouts *
readouts_new(struct loop *l, struct redis *r, const struct runbook *rb,
    void (*changed)(void *), void *arg)
{
	struct readouts *ro = xcalloc(1, sizeof *ro);

	ro->loop = l;
	ro->redis = r;
	ro->rb = rb;
	ro->changed = changed;
	ro->arg = arg;
	ro->r.hit_ratio = -1;
	ro->r.ping_ms = -1;
	ro->r.nroutes = rb->nroutes;
	ro->r.routes = xcalloc(rb->nroutes + 1, sizeof *ro->r.routes);
	ro->scans = xcalloc(rb->nroutes + 1, sizeof *ro->scans);
	ro->routectx = xcalloc(rb->nroutes + 1, sizeof *ro->routectx);
	for (size_t i = 0; i < rb->nroutes; i++) {
		ro->routectx[i].ro = ro;
		ro->routectx[i].route = i;
	}
	ro->tick = timer_new(l, tick, ro);
	return ro;
}

void
readouts_start(struct readouts *ro)
{
	timer_arm(ro->tick, 0);
}

const struct readout *
readouts_get(const struct readouts *ro)
{
	return &ro->r;
}

void
readouts_free(struct readouts *ro)
{
	size_t i, j;

	if (ro == NULL)
		return;
	timer_free(ro->tick);
	for (i = 0; i < ro->r.nroutes; i++) {
		if (ro->scans[i] != NULL)
			scan_cancel(ro->scans[i]);
		for (j = 0; j < ro->r.routes[i].nsample; j++)
			free(ro->r.routes[i].sample[j]);
	}
	free(ro->scans);
	free(ro->routectx);
	free(ro->r.routes);
	free(ro);
}
