/* readout.c: see readout.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "readout.h"
#include "scan.h"
#include "textesc.h"
#include "xmalloc.h"

struct readouts;

/* An INFO section's reply finds its readouts and section. */
struct sec_ctx {
	struct readouts	*ro;
	enum info_section sec;
};

struct readouts {
	struct loop	*loop;
	struct redis	*redis;
	const struct runbook *rb;
	struct readout	 r;
	struct timer	*tick;
	struct timer	*walk_timer;	/* paced: the next walk */
	struct scan	*scan;		/* the walk running, or NULL */
	size_t		 walk_route;	/* the route it counts */
	double		 walk_started;	/* of the whole walk (every route) */
	bool		 paced;		/* readouts_start(): on the timer */
	bool		 now;		/* this walk was asked for: unpaced */
	struct sec_ctx	 secctx[INFO_NSECTIONS];
	char		 mode[16];	/* redis_mode (server_mode) of this round */
	bool		 cluster;
	void		(*changed)(void *);
	void		*arg;
	double		 ping_sent;
	bool		 busy;		/* PING/INFO/DBSIZE in flight */
	char		 round_why[256];	/* first problem of this round */
	unsigned	 denied;	/* INFO sections refused (NOPERM) */
	char		 denied_why[160];	/* the first refusal */
	/* Cluster mode (readout.h). */
	struct cluster	*cl;		/* watched, or NULL */
	struct readouts	*parent;	/* a node's: the cluster's readouts */
	size_t		 node;		/* a node's: its index */
	struct readouts	**nodes;	/* the cluster's: one per node */
	size_t		 nnodes;
	bool		 clustered;	/* switched to per-node readouts */
	char		**pats;		/* a node's walk: its patterns */
	size_t		 npats_max;
};

/* Route sample TTLs: one PTTL per sample key. */
struct ttl_ctx {
	struct readouts	*ro;
	size_t		 route;
	size_t		 i;
};

static const char *const section_name[INFO_NSECTIONS] = {
	"server", "clients", "memory", "stats", "replication"
};

static void
notify(struct readouts *ro)
{
	if (ro->parent != NULL)
		ro = ro->parent;
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

/* Pure parts ----------------------------------------------------------------- */

const char *
readout_section_name(int section)
{
	return section >= 0 && section < INFO_NSECTIONS ?
	    section_name[section] : "?";
}

double
rate_sample(struct rate *r, long long value, double now)
{
	if (!r->have) {
		r->have = true;
		r->reset = false;
		r->per_s = -1;
	} else if (value < r->last) {
		r->reset = true;	/* restart, CONFIG RESETSTAT */
		r->per_s = -1;
	} else if (now <= r->last_at)
		return r->per_s;	/* no time between: nothing new */
	else {
		r->reset = false;
		r->per_s = (double)(value - r->last) / (now - r->last_at);
	}
	r->last = value;
	r->last_at = now;
	return r->per_s;
}

double
readout_pace_pause(double call_s)
{
	return scan_pause(READOUT_PACE, call_s);
}

double
readout_walk_interval(double refresh_s, double walk_s)
{
	return walk_s > refresh_s ? walk_s : refresh_s;
}

bool
readout_stale(const struct readout *x, double refresh_s, double now,
    double *age_s)
{
	double age = now - x->at;

	if (!x->valid)
		return false;
	if (age < 0)
		age = 0;
	if (age_s != NULL)
		*age_s = age;
	return age > READOUT_STALE_ROUNDS * refresh_s + READOUT_STALE_S;
}

void
readout_duration(double s, char *buf, size_t len)
{
	long n;

	if (!(s > 0))
		s = 0;
	if (s > 360000000)
		s = 360000000;
	n = (long)(s + 0.5);
	if (n < 60)
		snprintf(buf, len, "%ld s", n);
	else if (n < 3600)
		snprintf(buf, len, "%ldm%02lds", n / 60, n % 60);
	else
		snprintf(buf, len, "%ldh%02ldm", n / 3600, n % 3600 / 60);
}

void
readout_route_text(const struct readout *x, size_t route, double now,
    char *buf, size_t len)
{
	const struct route_keys *rk = &x->routes[route];
	char count[48] = "", ago[24], next[24], state[300];
	const char *sep;

	if (rk->known)
		snprintf(count, sizeof count, "%s%zu keys", rk->over ? ">" : "",
		    rk->count);
	if (rk->counting && rk->progress >= 0)
		snprintf(state, sizeof state, "counting %d%%",
		    (int)(rk->progress * 100));
	else if (rk->counting)
		snprintf(state, sizeof state, "count queued");
	else if (rk->error[0] != '\0')
		snprintf(state, sizeof state, "count failed: %s", rk->error);
	else if (rk->known) {
		readout_duration(now - rk->at, ago, sizeof ago);
		snprintf(state, sizeof state, "counted %s ago", ago);
	} else
		snprintf(state, sizeof state, "not counted");
	sep = count[0] != '\0' ? ", " : "";
	if (!rk->counting && x->walk_next > 0) {
		readout_duration(x->walk_next - now, next, sizeof next);
		snprintf(buf, len, "%s%s%s, next in %s", count, sep, state,
		    next);
	} else
		snprintf(buf, len, "%s%s%s", count, sep, state);
}

/* Route counts ---------------------------------------------------------------- */

static void	walk_route(struct readouts *, size_t);
static bool	cluster_sync(struct readouts *);

/* A node's readouts: whether its node is a primary the topology lists
 * (only those hold keys of their own). */
static bool
node_counted(const struct readouts *ro)
{
	const struct cluster_node *n = cluster_node(ro->cl, ro->node);

	return n != NULL && n->listed && n->primary;
}

/* A node's walk of route i: the route's patterns this node holds keys of
 * (all but those pinned to a slot another primary owns) into ro->pats;
 * their number.  A route with none is counted 0 on this node, at once. */
static size_t
node_patterns(struct readouts *ro, size_t i)
{
	const struct rb_route *rt = &ro->rb->routes[i];
	struct route_keys *rk = &ro->r.routes[i];
	size_t j, n = 0;
	int slot;

	if (rt->nkeys > ro->npats_max) {
		ro->pats = xreallocarray(ro->pats, rt->nkeys, sizeof *ro->pats);
		ro->npats_max = rt->nkeys;
	}
	for (j = 0; j < rt->nkeys; j++) {
		slot = cluster_pattern_slot(rt->keys[j]);
		if (slot < 0 || cluster_slot_owner(ro->cl, (unsigned)slot) ==
		    (int)ro->node)
			ro->pats[n++] = rt->keys[j];
	}
	if (n == 0 && rt->nkeys > 0) {
		rk->counting = false;
		rk->known = true;
		rk->count = 0;
		rk->over = false;
		rk->error[0] = '\0';
		rk->at = loop_now();
	}
	return n;
}

static void
ttl_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct ttl_ctx *c = arg;
	struct readouts *ro = c->ro;
	struct route_keys *rk = &ro->r.routes[c->route];

	(void)r;
	(void)err;
	if (rep != NULL && rep->type == REDIS_REPLY_INTEGER &&
	    c->i < rk->nsample)
		rk->sample_ttl_ms[c->i] = rep->integer;
	free(c);
	notify(ro);
}

static void
count_step(struct scan *s, void *arg)
{
	struct readouts *ro = arg;
	struct route_keys *rk = &ro->r.routes[ro->walk_route];
	double p = scan_progress(s);

	/* Redraw when the percentage moves, not on every call. */
	if ((int)(p * 100) != (int)(rk->progress * 100)) {
		rk->progress = p;
		notify(ro);
	}
}

static void
count_done(struct scan *s, void *arg)
{
	struct readouts *ro = arg;
	size_t route = ro->walk_route;
	struct route_keys *rk = &ro->r.routes[route];
	const struct scan_result *res = scan_result(s);
	const char *argv[2];
	size_t lens[2], i;
	struct ttl_ctx *t;

	ro->scan = NULL;
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
			t->route = route;
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
	walk_route(ro, route + 1);
	notify(ro);
}

/* Starts counting route i or the next one with keys; after the last, plans
 * the next walk (paced) or leaves it to the next refresh. */
static void
walk_route(struct readouts *ro, size_t i)
{
	struct scan_opts o;
	double interval;

	while (i < ro->rb->nroutes && (ro->rb->routes[i].nkeys == 0 ||
	    (ro->parent != NULL && node_patterns(ro, i) == 0)))
		i++;
	if (i >= ro->rb->nroutes) {
		ro->r.walk_s = loop_now() - ro->walk_started;
		ro->now = false;
		if (ro->paced) {
			interval = readout_walk_interval(ro->rb->redis.refresh_s,
			    ro->r.walk_s);
			ro->r.walk_next = loop_now() + interval;
			timer_arm(ro->walk_timer, interval);
		}
		return;
	}
	memset(&o, 0, sizeof o);
	o.patterns = ro->rb->routes[i].keys;
	o.npatterns = ro->rb->routes[i].nkeys;
	if (ro->parent != NULL) {
		o.patterns = ro->pats;
		o.npatterns = node_patterns(ro, i);
	}
	o.limit = READOUT_COUNT_LIMIT;
	o.sample = READOUT_SAMPLE;
	if (ro->paced) {
		o.pace = ro->now ? 0 : READOUT_PACE;
		o.call_s = ro->now ? 0 : READOUT_CALL_S;
		o.step = count_step;
	}
	ro->walk_route = i;
	ro->r.routes[i].progress = 0;
	ro->scan = scan_start(ro->redis, &o, count_done, ro);
}

/* The runbook's node is known not to be a cluster's (its walk would see
 * only that node's share of a cluster's keys). */
static bool
single_node(const struct readouts *ro)
{
	switch (cluster_mode(ro->cl)) {
	case CLUSTER_OFF:
		return true;
	case CLUSTER_ON:
		return false;
	case CLUSTER_UNKNOWN:
		break;
	}
	/* Not known yet: our own INFO may say so.  A user who may not read
	   INFO cannot be told either way: its node is counted, as before
	   cluster mode existed (a purge refuses such a node). */
	if (strncmp(ro->r.sec_why[INFO_SERVER], "not permitted", 13) == 0)
		return true;
	return ro->r.valid && ro->r.sec_ok[INFO_SERVER] && !ro->cluster &&
	    !ro->r.node.cluster;
}

/* A whole walk: every route with keys is queued, then counted in turn. */
static void
walk_start(struct readouts *ro)
{
	size_t i;

	if (ro->scan != NULL)
		return;
	if (ro->parent != NULL && !node_counted(ro)) {
		/* A replica (or a primary no longer listed): its keys are
		   its primary's, counted there. */
		for (i = 0; i < ro->rb->nroutes; i++)
			ro->r.routes[i].counting = false;
		ro->r.walk_next = 0;
		return;
	}
	if (ro->cl != NULL && ro->parent == NULL && !single_node(ro))
		return;		/* a cluster's keys are counted per node */
	timer_disarm(ro->walk_timer);
	ro->r.walk_next = 0;
	ro->walk_started = loop_now();
	for (i = 0; i < ro->rb->nroutes; i++) {
		if (ro->rb->routes[i].nkeys == 0)
			continue;
		ro->r.routes[i].counting = true;
		ro->r.routes[i].progress = -1;
	}
	walk_route(ro, 0);
}

static void
walk_due(void *arg)
{
	struct readouts *ro = arg;

	walk_start(ro);
	notify(ro);
}

void
readouts_recount(struct readouts *ro)
{
	size_t i;

	if (ro->clustered) {
		for (i = 0; i < ro->nnodes; i++)
			readouts_recount(ro->nodes[i]);
		return;
	}
	if (ro->scan != NULL) {
		scan_cancel(ro->scan);
		ro->scan = NULL;
		ro->r.routes[ro->walk_route].counting = false;
	}
	/* Someone is waiting: this walk goes at full speed, as a purge's
	   preview does; the ones on the timer after it are paced again. */
	ro->now = true;
	walk_start(ro);
	notify(ro);
}

/* INFO, PING, DBSIZE ------------------------------------------------------------ */

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
	if (ro->denied == INFO_NSECTIONS)
		round_problem(ro, "INFO refused: %s", ro->denied_why);
	ro->denied = 0;
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
info_server(struct readouts *ro, const char *s, size_t n)
{
	long long v;

	ro->mode[0] = '\0';
	ro->cluster = false;
	/* Valkey 8 names it server_mode. */
	if (!info_text(s, n, "redis_mode", ro->mode, sizeof ro->mode))
		info_text(s, n, "server_mode", ro->mode, sizeof ro->mode);
	if (info_field(s, n, "cluster_enabled", &v))
		ro->cluster = v == 1;
	if (strcmp(ro->mode, "sentinel") == 0)
		round_problem(ro, "a Sentinel (redis_mode:sentinel), not a "
		    "data node");
}

static void
info_clients(struct readouts *ro, const char *s, size_t n)
{
	long long v;

	if (info_field(s, n, "connected_clients", &v))
		ro->r.clients = v;
}

static bool
info_memory(struct readouts *ro, const char *s, size_t n)
{
	struct readout *x = &ro->r;
	long long v;

	if (!info_field(s, n, "used_memory", &v)) {
		round_problem(ro, "INFO has no used_memory");
		return false;
	}
	x->used_memory = v;
	x->maxmemory = -1;
	if (info_field(s, n, "maxmemory", &v) && v >= 0)
		x->maxmemory = v;
	x->maxmemory_policy[0] = '\0';
	info_text(s, n, "maxmemory_policy", x->maxmemory_policy,
	    sizeof x->maxmemory_policy);
	return true;
}

static void
info_stats(struct readouts *ro, const char *s, size_t n)
{
	struct readout *x = &ro->r;
	double now = loop_now();
	long long v;

	if (info_field(s, n, "keyspace_hits", &v)) {
		x->hits = v;
		rate_sample(&x->hits_rate, v, now);
	}
	if (info_field(s, n, "keyspace_misses", &v)) {
		x->misses = v;
		rate_sample(&x->misses_rate, v, now);
	}
	if (info_field(s, n, "evicted_keys", &v)) {
		x->evicted = v;
		rate_sample(&x->evicted_rate, v, now);
	}
	if (info_field(s, n, "instantaneous_ops_per_sec", &v))
		x->ops_per_sec = v;
	if (info_field(s, n, "expired_keys", &v))
		x->expired = v;
	x->hit_ratio = x->hits + x->misses > 0 ?
	    (double)x->hits / (double)(x->hits + x->misses) : -1;
	if (x->hits_rate.reset || x->misses_rate.reset ||
	    x->evicted_rate.reset)
		snprintf(x->rate_note, sizeof x->rate_note, "counters went "
		    "down (restart or CONFIG RESETSTAT): rates start over");
	else if (x->hits_rate.per_s >= 0 && x->misses_rate.per_s >= 0 &&
	    x->evicted_rate.per_s >= 0)
		x->rate_note[0] = '\0';
}

static void
info_replication(struct readouts *ro, const char *s, size_t n)
{
	struct readout *x = &ro->r;
	long long v;

	info_role(s, n, &x->node);
	if (x->node.mode[0] == '\0')
		snprintf(x->node.mode, sizeof x->node.mode, "%s", ro->mode);
	x->node.cluster = x->node.cluster || ro->cluster ||
	    strcmp(x->node.mode, "cluster") == 0;
	x->link_status[0] = '\0';
	x->repl_offset = -1;
	x->master_io_s = -1;
	if (strcmp(x->node.role, "replica") != 0)
		return;
	info_text(s, n, "master_link_status", x->link_status,
	    sizeof x->link_status);
	if (info_field(s, n, "slave_repl_offset", &v) ||
	    info_field(s, n, "master_repl_offset", &v))
		x->repl_offset = v;
	if (info_field(s, n, "master_last_io_seconds_ago", &v))
		x->master_io_s = v;
}

static void
info_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct sec_ctx *c = arg;
	struct readouts *ro = c->ro;
	struct readout *x = &ro->r;
	enum info_section sec = c->sec;
	const char *name = section_name[sec];
	char *e;

	(void)r;
	x->sec_ok[sec] = false;
	if (rep == NULL) {
		round_problem(ro, "INFO: %s", err);
		e = esc_str(err, 0);
		snprintf(x->sec_why[sec], sizeof x->sec_why[sec], "INFO %s: "
		    "%s", name, e);
		free(e);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		/* A section this user may not read is said in its place;
		   the readout is unknown only when no section is allowed. */
		if (rep->len >= 6 && memcmp(rep->str, "NOPERM", 6) == 0) {
			snprintf(x->sec_why[sec], sizeof x->sec_why[sec],
			    "not permitted for this user: INFO %s", name);
			if (ro->denied++ == 0)
				snprintf(ro->denied_why, sizeof ro->denied_why,
				    "%.*s", err_len(rep), rep->str);
		} else {
			round_problem(ro, "INFO refused: %.*s", err_len(rep),
			    rep->str);
			e = esc_text(rep->str, (size_t)err_len(rep), 0);
			snprintf(x->sec_why[sec], sizeof x->sec_why[sec],
			    "INFO %s refused: %s", name, e);
			free(e);
		}
		return;
	}
	if (rep->type != REDIS_REPLY_STRING) {
		round_problem(ro, "INFO answered something other than text");
		snprintf(x->sec_why[sec], sizeof x->sec_why[sec], "INFO %s "
		    "answered something other than text", name);
		return;
	}
	switch (sec) {
	case INFO_SERVER:
		info_server(ro, rep->str, rep->len);
		break;
	case INFO_CLIENTS:
		info_clients(ro, rep->str, rep->len);
		break;
	case INFO_MEMORY:
		if (!info_memory(ro, rep->str, rep->len)) {
			snprintf(x->sec_why[sec], sizeof x->sec_why[sec],
			    "INFO memory has no used_memory");
			return;
		}
		break;
	case INFO_STATS:
		info_stats(ro, rep->str, rep->len);
		break;
	case INFO_REPLICATION:
		info_replication(ro, rep->str, rep->len);
		break;
	case INFO_NSECTIONS:
		return;
	}
	if (strcmp(ro->mode, "sentinel") == 0)
		return;		/* not a data node: nothing it says counts */
	x->sec_ok[sec] = true;
	x->sec_why[sec][0] = '\0';
	x->valid = true;
	x->at = loop_now();
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
	const char *ping[] = { "PING" }, *dbsize[] = { "DBSIZE" };
	const char *info[2] = { "INFO", NULL };
	int sec;

	if (ro->cl != NULL && ro->parent == NULL && cluster_sync(ro))
		return;
	if (redis_status(ro->redis)->state != REDIS_UP || ro->busy)
		return;
	ro->ping_sent = loop_now();
	ro->denied = 0;
	/* Pipelined; the last reply ends the round. */
	if (redis_commandv(ro->redis, ping_reply, ro, 1, ping) != 0)
		return;
	for (sec = 0; sec < INFO_NSECTIONS; sec++) {
		info[1] = section_name[sec];
		if (redis_commandv(ro->redis, info_reply, &ro->secctx[sec], 2,
		    info) != 0)
			return;
	}
	if (redis_commandv(ro->redis, dbsize_reply, ro, 1, dbsize) != 0)
		return;
	ro->busy = true;
	/* On the timer, walks come when walk_timer says (the first one
	   now); alone, each refresh counts unless a walk is running. */
	if (!ro->paced || (ro->r.walk_next == 0 && !timer_armed(ro->walk_timer)))
		walk_start(ro);
}

/* Cluster mode ------------------------------------------------------------ */

/* Readouts of node i of the cluster, driven by the cluster's. */
static struct readouts *
node_new(struct readouts *ro, size_t i)
{
	struct readouts *n;

	n = readouts_new(ro->loop, cluster_node(ro->cl, i)->conn, ro->rb, NULL,
	    NULL);
	n->parent = ro;
	n->cl = ro->cl;
	n->node = i;
	n->paced = ro->paced;
	n->now = ro->now;
	return n;
}

/* Switches to per-node readouts once the cluster is found, and gives each
 * new node its own; then refreshes every node.  Returns whether the
 * readouts are per node. */
static bool
cluster_sync(struct readouts *ro)
{
	size_t i, n;

	if (!ro->clustered) {
		if (cluster_mode(ro->cl) != CLUSTER_ON ||
		    !cluster_known(ro->cl))
			return false;
		/* What the runbook's node alone counted is a share of the
		   cluster's keys, not the count: it goes. */
		if (ro->scan != NULL) {
			scan_cancel(ro->scan);
			ro->scan = NULL;
		}
		timer_disarm(ro->walk_timer);
		ro->r.walk_next = 0;
		for (i = 0; i < ro->r.nroutes; i++) {
			ro->r.routes[i].counting = false;
			ro->r.routes[i].known = false;
		}
		ro->clustered = true;
	}
	n = cluster_nnodes(ro->cl);
	if (n > ro->nnodes) {
		ro->nodes = xreallocarray(ro->nodes, n, sizeof *ro->nodes);
		for (i = ro->nnodes; i < n; i++)
			ro->nodes[i] = node_new(ro, i);
		ro->nnodes = n;
	}
	for (i = 0; i < ro->nnodes; i++) {
		ro->nodes[i]->paced = ro->paced;
		readouts_refresh(ro->nodes[i]);
	}
	notify(ro);
	return true;
}

void
readouts_cluster(struct readouts *ro, struct cluster *cl)
{
	ro->cl = cl;
}

bool
readouts_clustered(const struct readouts *ro)
{
	return ro->clustered;
}

size_t
readouts_nnodes(const struct readouts *ro)
{
	return ro->nnodes;
}

bool
readouts_node(const struct readouts *ro, size_t i, struct readout_node *out)
{
	const struct cluster_node *n;

	memset(out, 0, sizeof *out);
	if (i >= ro->nnodes || (n = cluster_node(ro->cl, i)) == NULL ||
	    !n->listed)
		return false;
	out->node = n;
	out->r = &ro->nodes[i]->r;
	out->up = redis_status(n->conn)->state == REDIS_UP;
	redis_describe(n->conn, out->conn, sizeof out->conn);
	out->failing = n->state[0] != '\0' && strcmp(n->state, "ok") != 0;
	out->counted = n->primary;
	return true;
}

static void
sum_add(struct readout_sum *s, bool known, double v)
{
	if (known) {
		s->v += v;
		s->known++;
	} else
		s->missing++;
}

void
readouts_totals(const struct readouts *ro, struct readout_totals *t)
{
	struct readout_node rn;
	const struct readout *x;
	bool ok, mem, stats;
	size_t i;

	memset(t, 0, sizeof *t);
	if (!ro->clustered)
		return;
	t->problem = cluster_problem(ro->cl);
	for (i = 0; i < ro->nnodes; i++) {
		if (!readouts_node(ro, i, &rn))
			continue;
		x = rn.r;
		t->nodes++;
		if (rn.node->primary)
			t->primaries++;
		else
			t->replicas++;
		if (!rn.up)
			t->down++;
		if (rn.failing)
			t->failing++;
		/* Only what the node's last round read counts as known. */
		ok = rn.up && x->state == READOUT_OK;
		mem = ok && x->sec_ok[INFO_MEMORY] && x->used_memory >= 0;
		stats = ok && x->sec_ok[INFO_STATS];
		sum_add(&t->used_memory, mem, (double)x->used_memory);
		if (mem && x->maxmemory == 0)
			t->no_limit++;
		else
			sum_add(&t->maxmemory, mem && x->maxmemory > 0,
			    (double)x->maxmemory);
		sum_add(&t->ops, stats, (double)x->ops_per_sec);
		sum_add(&t->hits, stats && x->hits_rate.per_s >= 0,
		    x->hits_rate.per_s);
		sum_add(&t->misses, stats && x->misses_rate.per_s >= 0,
		    x->misses_rate.per_s);
		sum_add(&t->evicted, stats && x->evicted_rate.per_s >= 0,
		    x->evicted_rate.per_s);
		if (rn.node->primary)
			sum_add(&t->keys, ok, (double)x->dbsize);
	}
}

/* Whether node i holds keys route may match: a pattern of it is not
 * pinned to a slot, or pinned to one i owns. */
static bool
route_here(const struct readouts *ro, size_t route, size_t i)
{
	const struct rb_route *rt = &ro->rb->routes[route];
	size_t j;
	int slot;

	for (j = 0; j < rt->nkeys; j++) {
		slot = cluster_pattern_slot(rt->keys[j]);
		if (slot < 0 || cluster_slot_owner(ro->cl, (unsigned)slot) ==
		    (int)i)
			return true;
	}
	return false;
}

void
readouts_route_total(const struct readouts *ro, size_t route,
    struct route_total *t)
{
	struct readout_node rn;
	const struct route_keys *rk;
	char *e;
	size_t i;

	memset(t, 0, sizeof *t);
	t->progress = 1;
	if (!ro->clustered || route >= ro->r.nroutes)
		return;
	for (i = 0; i < ro->nnodes; i++) {
		/* A node that owns none of the slots the route's patterns
		   are pinned to holds none of its keys, up or down. */
		if (!readouts_node(ro, i, &rn) || !rn.node->primary ||
		    !route_here(ro, route, i))
			continue;
		rk = &rn.r->routes[route];
		if (rk->counting) {
			t->counting = true;
			if (rk->progress < t->progress)
				t->progress = rk->progress;
		}
		if (rk->error[0] != '\0' && t->error[0] == '\0') {
			e = esc_str(rn.node->addr, 0);
			snprintf(t->error, sizeof t->error, "%s: %s", e,
			    rk->error);
			free(e);
		}
		/* A count from a node that is down now is not today's. */
		sum_add(&t->count, rk->known && rn.up && rk->error[0] == '\0',
		    (double)rk->count);
		if (rk->known && rk->over)
			t->over = true;
		if (rk->known && (t->at == 0 || rk->at < t->at))
			t->at = rk->at;
	}
}

bool
readouts_settled(const struct readouts *ro)
{
	const struct readout *x;
	struct readout_node rn;
	size_t i, j;

	if (!ro->clustered) {
		x = &ro->r;
		if (x->rounds < 1)
			return false;
		for (j = 0; j < x->nroutes; j++)
			if (x->routes[j].counting)
				return false;
		return true;
	}
	for (i = 0; i < ro->nnodes; i++) {
		if (!readouts_node(ro, i, &rn) || !rn.up)
			continue;
		if (rn.r->rounds < 1 || rn.node->state[0] == '\0')
			return false;
		for (j = 0; j < rn.r->nroutes; j++)
			if (rn.r->routes[j].counting)
				return false;
	}
	return true;
}

void
readout_sum_text(const struct readout_sum *s, char *buf, size_t len)
{
	if (s->known == 0)
		snprintf(buf, len, "--");
	else if (s->missing > 0)
		snprintf(buf, len, ">=%.0f (partial)", s->v);
	else
		snprintf(buf, len, "%.0f", s->v);
}

void
readout_route_total_text(const struct readouts *ro, size_t route,
    double now, char *buf, size_t len)
{
	struct route_total t;
	char count[64] = "", ago[24], state[400];
	const struct readout_sum *c = &t.count;

	readouts_route_total(ro, route, &t);
	if (c->known > 0 && c->missing == 0)
		snprintf(count, sizeof count, "%s%.0f keys", t.over ? ">" : "",
		    c->v);
	else if (c->known > 0)
		snprintf(count, sizeof count, ">=%.0f keys (%zu of %zu "
		    "primaries not counted)", c->v, c->missing, c->known +
		    c->missing);
	if (t.counting)
		snprintf(state, sizeof state, "counting %d%%",
		    (int)(t.progress < 0 ? 0 : t.progress * 100));
	else if (t.error[0] != '\0')
		snprintf(state, sizeof state, "count failed on %s", t.error);
	else if (c->known > 0) {
		readout_duration(now - t.at, ago, sizeof ago);
		snprintf(state, sizeof state, "counted %s ago", ago);
	} else
		snprintf(state, sizeof state, "not counted");
	snprintf(buf, len, "%s%s%s", count, count[0] ? ", " : "", state);
}

static void
tick(void *arg)
{
	struct readouts *ro = arg;

	double next = ro->rb->redis.refresh_s;

	readouts_refresh(ro);
	/* Not connected yet (or again): look soon, not a whole interval
	   later.  A cluster's nodes are each looked at on the interval. */
	if (!ro->clustered && redis_status(ro->redis)->state != REDIS_UP &&
	    next > 0.25)
		next = 0.25;
	timer_arm(ro->tick, next);
}

struct readouts *
readouts_new(struct loop *l, struct redis *r, const struct runbook *rb,
    void (*changed)(void *), void *arg)
{
	struct readouts *ro = xcalloc(1, sizeof *ro);
	int sec;

	ro->loop = l;
	ro->redis = r;
	ro->rb = rb;
	ro->changed = changed;
	ro->arg = arg;
	ro->r.hit_ratio = -1;
	ro->r.ping_ms = -1;
	ro->r.used_memory = -1;
	ro->r.maxmemory = -1;
	ro->r.clients = -1;
	ro->r.repl_offset = -1;
	ro->r.master_io_s = -1;
	ro->r.hits_rate.per_s = -1;
	ro->r.misses_rate.per_s = -1;
	ro->r.evicted_rate.per_s = -1;
	for (sec = 0; sec < INFO_NSECTIONS; sec++) {
		ro->secctx[sec].ro = ro;
		ro->secctx[sec].sec = (enum info_section)sec;
	}
	ro->r.nroutes = rb->nroutes;
	ro->r.routes = xcalloc(rb->nroutes + 1, sizeof *ro->r.routes);
	ro->tick = timer_new(l, tick, ro);
	ro->walk_timer = timer_new(l, walk_due, ro);
	return ro;
}

void
readouts_start(struct readouts *ro)
{
	ro->paced = true;
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
	/* The cluster may be gone by now: nothing here asks it. */
	for (i = 0; i < ro->nnodes; i++)
		readouts_free(ro->nodes[i]);
	free(ro->nodes);
	free(ro->pats);
	timer_free(ro->tick);
	timer_free(ro->walk_timer);
	if (ro->scan != NULL)
		scan_cancel(ro->scan);
	for (i = 0; i < ro->r.nroutes; i++)
		for (j = 0; j < ro->r.routes[i].nsample; j++)
			free(ro->r.routes[i].sample[j]);
	free(ro->r.routes);
	free(ro);
}
