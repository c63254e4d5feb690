/* readout.c: see readout.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readout.h"
#include "scan.h"
#include "textesc.h"
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
	char		 round_why[256];	/* first problem of this round */
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

/* The value of field, unescaped, as a pointer into info and a length. */
static bool
info_value(const char *info, size_t len, const char *field, const char **v,
    size_t *vlen)
{
	size_t flen = strlen(field);
	const char *p = info, *end = info + len, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) > flen && memcmp(p, field, flen) == 0 &&
		    p[flen] == ':') {
			*v = p + flen + 1;
			*vlen = (size_t)(nl - *v);
			if (*vlen > 0 && (*v)[*vlen - 1] == '\r')
				(*vlen)--;
			return true;
		}
		p = nl + 1;
	}
	return false;
}

bool
info_field(const char *info, size_t len, const char *field, long long *out)
{
	const char *v;
	size_t vlen;
	char num[32];

	if (!info_value(info, len, field, &v, &vlen) || vlen >= sizeof num)
		return false;
	memcpy(num, v, vlen);
	num[vlen] = '\0';
	*out = strtoll(num, NULL, 10);
	return true;
}

bool
info_text(const char *info, size_t ilen, const char *field, char *buf,
    size_t len)
{
	const char *v;
	size_t vlen;
	char *e;

	if (len == 0 || !info_value(info, ilen, field, &v, &vlen))
		return false;
	e = esc_text(v, vlen, 0);
	snprintf(buf, len, "%s", e);
	free(e);
	return true;
}

bool
info_role(const char *info, size_t len, struct redis_role *out)
{
	long long v;

	memset(out, 0, sizeof *out);
	/* Valkey 8 names it server_mode (and keeps redis_version). */
	if (!info_text(info, len, "redis_mode", out->mode, sizeof out->mode))
		info_text(info, len, "server_mode", out->mode,
		    sizeof out->mode);
	if (info_field(info, len, "cluster_enabled", &v))
		out->cluster = v == 1;
	if (strcmp(out->mode, "cluster") == 0)
		out->cluster = true;
	if (!info_text(info, len, "role", out->role, sizeof out->role))
		return false;
	if (strcmp(out->role, "slave") == 0)
		snprintf(out->role, sizeof out->role, "replica");
	if (strcmp(out->role, "replica") == 0) {
		info_text(info, len, "master_host", out->master_host,
		    sizeof out->master_host);
		if (info_field(info, len, "master_port", &v) && v > 0 &&
		    v < 65536)
			out->master_port = v;
	}
	return true;
}

void
readout_describe_role(const struct redis_role *n, char *buf, size_t len)
{
	const char *cl = n->cluster ? ", cluster mode" : "";

	if (n->role[0] == '\0')
		snprintf(buf, len, "role unknown%s", cl);
	else if (strcmp(n->role, "replica") == 0 && n->master_host[0] != '\0')
		snprintf(buf, len, "replica of %s:%lld%s", n->master_host,
		    n->master_port, cl);
	else
		snprintf(buf, len, "%s%s", n->role, cl);
}

void
readout_describe(const struct readout *x, char *buf, size_t len)
{
	switch (x->state) {
	case READOUT_PENDING:
		snprintf(buf, len, "waiting for the first readout");
		break;
	case READOUT_OK:
		snprintf(buf, len, "ok");
		break;
	case READOUT_UNKNOWN:
		snprintf(buf, len, "unknown: %s", x->why);
		break;
	}
}

/* Notes the first problem of the round (escaped). */
static void
round_problem(struct readouts *ro, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
round_problem(struct readouts *ro, const char *fmt, ...)
{
	char msg[256], *e;
	va_list ap;

	if (ro->round_why[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	e = esc_str(msg, 0);
	snprintf(ro->round_why, sizeof ro->round_why, "%s", e);
	free(e);
}

/* An error reply's text, cut and escaped by round_problem. */
static int
err_len(const redisReply *rep)
{
	return (int)(rep->len > 160 ? 160 : rep->len);
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
	ro->busy = false;
	if (rep == NULL)
		round_problem(ro, "DBSIZE: %s", err);
	else if (rep->type == REDIS_REPLY_ERROR)
		round_problem(ro, "DBSIZE refused: %.*s", err_len(rep), rep->str);
	else if (rep->type != REDIS_REPLY_INTEGER || rep->integer < 0)
		round_problem(ro, "DBSIZE answered something other than a "
		    "count");
	else
		ro->r.dbsize = rep->integer;
	ro->r.at = loop_now();
	if (ro->round_why[0] != '\0') {
		ro->r.state = READOUT_UNKNOWN;
		snprintf(ro->r.why, sizeof ro->r.why, "%s", ro->round_why);
	} else {
		ro->r.state = READOUT_OK;
		ro->r.why[0] = '\0';
	}
	ro->round_why[0] = '\0';
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
	if (rep == NULL) {
		round_problem(ro, "INFO: %s", err);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		round_problem(ro, "INFO refused: %.*s", err_len(rep), rep->str);
		return;
	}
	if (rep->type != REDIS_REPLY_STRING) {
		round_problem(ro, "INFO answered something other than text");
		return;
	}
	info_role(rep->str, rep->len, &x->node);
	if (strcmp(x->node.mode, "sentinel") == 0) {
		round_problem(ro, "a Sentinel (redis_mode:sentinel), not a "
		    "data node");
		return;
	}
	if (!info_field(rep->str, rep->len, "used_memory", &v)) {
		round_problem(ro, "INFO has no used_memory");
		return;
	}
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
