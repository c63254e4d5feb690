/* cmd_check.c: `rehearse check [--format text|tap|json] [--audit FILE]
 * RUNBOOK`: only what cannot change anything (the Redis readouts, the
 * steps the policy lets run in check mode), each result written by the
 * emitter of the format asked. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "cli.h"
#include "cluster.h"
#include "readout.h"
#include "redis.h"
#include "rehearsal.h"
#include "runbook.h"
#include "sentinel.h"
#include "session.h"
#include "textesc.h"

/* What check found of Redis, for the emitters. */
struct check_redis {
	bool		 ok;		/* up, read, no route count failed */
	bool		 up;
	bool		 cluster;	/* cluster mode: readouts per node */
	const struct readout *x;	/* NULL: not connected, or cluster */
	const char	*desc;		/* the connection's state */
	const char	*why;		/* why the readout is not ok */
	const char	*role;
	const char	*ratio;		/* the hit ratio, or "n/a" */
};

/* What check found of a cluster (cluster mode only). */
struct check_cluster {
	bool		 ok;		/* no problem, no route count failed */
	struct cluster	*cl;
	struct readouts	*ro;
	struct readout_totals t;
};

/* One output format.  n counts TAP test points; out is json's. */
struct check_out {
	const struct check_emitter *em;
	const struct runbook *rb;
	size_t		 n;
	json_t		*out;
	json_t		*steps;
};

struct check_emitter {
	const char	*name;
	void		(*begin)(struct check_out *);
	void		(*redis)(struct check_out *, const struct check_redis *);
	void		(*cluster)(struct check_out *,
			    const struct check_cluster *);
	void		(*step)(struct check_out *, size_t step,
			    const struct step_run *, const char *title);
	void		(*end)(struct check_out *, size_t failed);
};

/* The checks of a step that did not pass, one line each after lead. */
static void
print_checks(const char *lead, const struct step_run *r)
{
	size_t j;

	for (j = 0; j < r->checks.n; j++)
		if (r->checks.v[j].verdict != VERDICT_PASS)
			printf("%s%s %s: expected %s, got %s\n", lead,
			    verdict_name(r->checks.v[j].verdict),
			    r->checks.v[j].what, r->checks.v[j].expected,
			    r->checks.v[j].observed);
}

/* redis.tls.verify: false, said on every output (tls and verify). */
#define TLS_UNCHECKED	"TLS certificate NOT checked (redis.tls.verify: false)"

static bool
tls_unchecked(const struct runbook *rb)
{
	return rb->has_redis && rb->redis.tls.on && !rb->redis.tls.verify;
}

static void
text_begin(struct check_out *o)
{
	(void)o;
}

/* The INFO sections this user may not read, as "memory, stats"; false
 * when there is none. */
static bool
denied(const struct readout *x, char *buf, size_t len)
{
	static const char *const name[INFO_NSECTIONS] = { "server",
	    "clients", "memory", "stats", "replication" };
	size_t at = 0;
	int sec;

	buf[0] = '\0';
	for (sec = 0; sec < INFO_NSECTIONS; sec++) {
		if (x->sec_ok[sec] || strncmp(x->sec_why[sec], "not permitted",
		    13) != 0)
			continue;
		at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s",
		    at ? ", " : "", name[sec]);
		if (at >= len)
			break;
	}
	return buf[0] != '\0';
}

static void
text_redis(struct check_out *o, const struct check_redis *cr)
{
	const struct readout *x = cr->x;
	char names[120];
	size_t i;

	printf("%s redis: %s", cr->ok ? "ok  " : "FAIL", cr->desc);
	if (x != NULL && x->state == READOUT_OK) {
		printf(", %s", cr->role);
		if (x->sec_ok[INFO_MEMORY])
			printf(", %lld bytes used", x->used_memory);
		if (x->sec_ok[INFO_STATS])
			printf(", hit ratio %s, %lld ops/s", cr->ratio,
			    x->ops_per_sec);
		printf(", %lld keys", x->dbsize);
	} else if (cr->cluster)
		printf(", %s", cr->role);
	else if (cr->up)
		printf("; readouts %s", cr->why);
	printf("\n");
	if (x != NULL && x->state == READOUT_OK && denied(x, names,
	    sizeof names))
		printf("note redis: not permitted for this user: INFO %s\n",
		    names);
	if (tls_unchecked(o->rb))
		printf("warn redis: %s\n", TLS_UNCHECKED);
	for (i = 0; x != NULL && i < x->nroutes; i++)
		if (x->routes[i].error[0] != '\0')
			printf("FAIL redis: route %s: %s\n",
			    o->rb->routes[i].name, x->routes[i].error);
}

/* Cluster mode: the nodes, their totals and the routes' counts. ------- */

/* How a node's line starts: ok, FAIL (a primary that is down, failing or
 * unread: the cluster is not ok), warn (a replica that is). */
static const char *
node_result(const struct readout_node *rn)
{
	bool good = rn->up && !rn->failing && rn->r->state == READOUT_OK &&
	    rn->node->state[0] != '\0';

	return good ? "ok" : rn->node->primary ? "FAIL" : "warn";
}

/* "primary, 5461 slots, cluster_state ok, 1048576 bytes used of 0 (no
 * limit), hit ratio 0.50, 12 ops/s, 1000 keys"; escaped. */
static void
node_text(const struct check_cluster *cc, const struct readout_node *rn,
    char *buf, size_t len)
{
	const struct cluster_node *n = rn->node, *p;
	const struct readout *x = rn->r;
	size_t at;
	char *e;

#define ADD(...) do {							\
	if (at < len)							\
		at += (size_t)snprintf(buf + at, len - at, __VA_ARGS__);\
} while (0)
	at = 0;
	buf[0] = '\0';
	if (n->primary)
		ADD("primary, %zu slots", n->nslots);
	else if (n->primary_of >= 0 && (p = cluster_node(cc->cl,
	    (size_t)n->primary_of)) != NULL) {
		e = esc_str(p->addr, 0);
		ADD("replica of %s", e);
		free(e);
	} else
		ADD("replica");
	if (!rn->up) {
		ADD(", %s", rn->conn);
		return;
	}
	e = esc_str(n->state, 0);
	ADD(", cluster_state %s", n->state[0] ? e : "unknown");
	free(e);
	if (x->state != READOUT_OK) {
		ADD("; readouts %s", x->state == READOUT_UNKNOWN ? "unknown: " :
		    "not read");
		if (x->state == READOUT_UNKNOWN)
			ADD("%s", x->why);
		return;
	}
	if (x->sec_ok[INFO_MEMORY]) {
		ADD(", %lld bytes used", x->used_memory);
		if (x->maxmemory > 0)
			ADD(" of %lld", x->maxmemory);
		else if (x->maxmemory == 0)
			ADD(", no limit");
	}
	if (x->sec_ok[INFO_STATS]) {
		if (x->hit_ratio >= 0)
			ADD(", hit ratio %.2f", x->hit_ratio);
		else
			ADD(", hit ratio n/a");
		ADD(", %lld ops/s", x->ops_per_sec);
	}
	if (n->primary)
		ADD(", %lld keys", x->dbsize);
#undef ADD
}

/* "3 primaries, 3 replicas, state ok" or the problem. */
static void
cluster_text(const struct check_cluster *cc, char *buf, size_t len)
{
	const struct readout_totals *t = &cc->t;

	snprintf(buf, len, "%zu primar%s, %zu replica%s, %s%s", t->primaries,
	    t->primaries == 1 ? "y" : "ies", t->replicas, t->replicas == 1 ?
	    "" : "s", t->problem == NULL ? "state ok" : "not ok: ",
	    t->problem == NULL ? "" : t->problem);
}

/* "6 nodes, 3145728 bytes used, 36 ops/s, 3000 keys", each sum partial
 * (">=N (partial)") when a node did not answer. */
static void
totals_text(const struct check_cluster *cc, char *buf, size_t len)
{
	const struct readout_totals *t = &cc->t;
	char mem[64], ops[64], keys[64];

	readout_sum_text(&t->used_memory, mem, sizeof mem);
	readout_sum_text(&t->ops, ops, sizeof ops);
	readout_sum_text(&t->keys, keys, sizeof keys);
	snprintf(buf, len, "%zu nodes, %s bytes used, %s ops/s, %s keys",
	    t->nodes, mem, ops, keys);
	if (t->used_memory.missing > 0 || t->keys.missing > 0)
		snprintf(buf + strlen(buf), len - strlen(buf), "; %zu of %zu "
		    "nodes did not answer", t->used_memory.missing, t->nodes);
}

static bool
totals_partial(const struct readout_totals *t)
{
	return t->used_memory.missing > 0 || t->ops.missing > 0 ||
	    t->keys.missing > 0;
}

static void
text_cluster(struct check_out *o, const struct check_cluster *cc)
{
	struct readout_node rn;
	struct route_total rt;
	char line[1400], what[600], *e;
	size_t i;

	cluster_text(cc, line, sizeof line);
	printf("%s cluster: %s\n", cc->t.problem == NULL ? "ok  " : "FAIL",
	    line);
	for (i = 0; i < readouts_nnodes(cc->ro); i++) {
		if (!readouts_node(cc->ro, i, &rn))
			continue;
		node_text(cc, &rn, line, sizeof line);
		e = esc_str(rn.node->addr, 0);
		printf("%-4s node %s: %s\n", node_result(&rn), e, line);
		free(e);
	}
	totals_text(cc, line, sizeof line);
	printf("%s total: %s\n", totals_partial(&cc->t) ? "warn" : "ok  ",
	    line);
	for (i = 0; i < o->rb->nroutes; i++) {
		if (o->rb->routes[i].nkeys == 0)
			continue;
		readouts_route_total(cc->ro, i, &rt);
		readout_route_total_text(cc->ro, i, loop_now(), what,
		    sizeof what);
		printf("%s route %s: %s\n", rt.error[0] ? "FAIL" :
		    rt.count.missing > 0 ? "warn" : "ok  ",
		    o->rb->routes[i].name, what);
	}
}

static void
tap_cluster(struct check_out *o, const struct check_cluster *cc)
{
	struct readout_node rn;
	struct route_total rt;
	char line[1400], what[600], *e;
	size_t i;

	cluster_text(cc, line, sizeof line);
	printf("%s %zu - cluster: %s\n", cc->ok ? "ok" : "not ok", ++o->n,
	    line);
	for (i = 0; i < readouts_nnodes(cc->ro); i++) {
		if (!readouts_node(cc->ro, i, &rn))
			continue;
		node_text(cc, &rn, line, sizeof line);
		e = esc_str(rn.node->addr, 0);
		printf("# %s node %s: %s\n", node_result(&rn), e, line);
		free(e);
	}
	totals_text(cc, line, sizeof line);
	printf("# total: %s\n", line);
	for (i = 0; i < o->rb->nroutes; i++) {
		if (o->rb->routes[i].nkeys == 0)
			continue;
		readouts_route_total(cc->ro, i, &rt);
		readout_route_total_text(cc->ro, i, loop_now(), what,
		    sizeof what);
		printf("# route %s: %s\n", o->rb->routes[i].name, what);
	}
}

/* A string from a peer (a node's address), escaped, for JSON. */
static json_t *
jesc(const char *s)
{
	char *e = esc_str(s, 0);
	json_t *j = json_string(e);

	free(e);
	return j != NULL ? j : json_null();
}

/* {"sum": N|null, "known": N, "missing": N} */
static json_t *
json_sum(const struct readout_sum *s)
{
	return json_pack("{s:o, s:I, s:I}", "sum", s->known > 0 ?
	    json_integer((json_int_t)s->v) : json_null(), "known",
	    (json_int_t)s->known, "missing", (json_int_t)s->missing);
}

static json_t *
json_rate(const struct readout_node *rn, const struct rate *r)
{
	return rn->up && rn->r->state == READOUT_OK &&
	    rn->r->sec_ok[INFO_STATS] && r->per_s >= 0 ? json_real(r->per_s) :
	    json_null();
}

static json_t *
json_node(struct check_out *o, const struct check_cluster *cc,
    const struct readout_node *rn)
{
	const struct cluster_node *n = rn->node, *p = NULL;
	const struct readout *x = rn->r;
	bool known = rn->up && x->state == READOUT_OK;
	bool mem = known && x->sec_ok[INFO_MEMORY];
	bool stats = known && x->sec_ok[INFO_STATS];
	json_t *js = json_object(), *routes = json_array();
	size_t i;

	if (n->primary_of >= 0)
		p = cluster_node(cc->cl, (size_t)n->primary_of);
	json_object_set_new(js, "node", jesc(n->addr));
	json_object_set_new(js, "id", n->id[0] ? jesc(n->id) : json_null());
	json_object_set_new(js, "role", json_string(n->primary ? "primary" :
	    "replica"));
	json_object_set_new(js, "primary", p != NULL ? jesc(p->addr) :
	    json_null());
	json_object_set_new(js, "slots", json_integer((json_int_t)n->nslots));
	json_object_set_new(js, "cluster_state", n->state[0] ?
	    jesc(n->state) : json_null());
	json_object_set_new(js, "up", json_boolean(rn->up));
	json_object_set_new(js, "state", jesc(rn->conn));
	json_object_set_new(js, "readout", json_string(known ? "ok" :
	    "unknown"));
	json_object_set_new(js, "reason", known ? json_null() :
	    jesc(!rn->up ? rn->conn : x->state == READOUT_UNKNOWN ? x->why :
	    "no readout"));
	json_object_set_new(js, "used_memory", mem ?
	    json_integer((json_int_t)x->used_memory) : json_null());
	json_object_set_new(js, "maxmemory", mem && x->maxmemory >= 0 ?
	    json_integer((json_int_t)x->maxmemory) : json_null());
	json_object_set_new(js, "maxmemory_policy", mem &&
	    x->maxmemory_policy[0] ? json_string(x->maxmemory_policy) :
	    json_null());
	json_object_set_new(js, "ops_per_sec", stats ?
	    json_integer((json_int_t)x->ops_per_sec) : json_null());
	json_object_set_new(js, "hit_ratio", stats && x->hit_ratio >= 0 ?
	    json_real(x->hit_ratio) : json_null());
	json_object_set_new(js, "hits_per_s", json_rate(rn, &x->hits_rate));
	json_object_set_new(js, "misses_per_s", json_rate(rn,
	    &x->misses_rate));
	json_object_set_new(js, "evictions_per_s", json_rate(rn,
	    &x->evicted_rate));
	json_object_set_new(js, "keys", known && n->primary ?
	    json_integer((json_int_t)x->dbsize) : json_null());
	for (i = 0; n->primary && i < x->nroutes; i++) {
		if (o->rb->routes[i].nkeys == 0)
			continue;
		json_array_append_new(routes, json_pack("{s:s, s:o, s:o}",
		    "route", o->rb->routes[i].name, "keys", rn->up &&
		    x->routes[i].known && x->routes[i].error[0] == '\0' ?
		    json_integer((json_int_t)x->routes[i].count) : json_null(),
		    "error", x->routes[i].error[0] ?
		    json_string(x->routes[i].error) : json_null()));
	}
	json_object_set_new(js, "routes", routes);
	return js;
}

static void
json_cluster(struct check_out *o, const struct check_cluster *cc)
{
	const struct readout_totals *t = &cc->t;
	struct readout_node rn;
	struct route_total rt;
	json_t *js = json_object(), *nodes = json_array(),
	    *routes = json_array(), *tot;
	size_t i;

	json_object_set_new(js, "state", json_string(t->problem == NULL ? "ok" :
	    "not ok"));
	json_object_set_new(js, "problem", t->problem != NULL ?
	    jesc(t->problem) : json_null());
	json_object_set_new(js, "primaries", json_integer((json_int_t)
	    t->primaries));
	json_object_set_new(js, "replicas", json_integer((json_int_t)
	    t->replicas));
	for (i = 0; i < readouts_nnodes(cc->ro); i++)
		if (readouts_node(cc->ro, i, &rn))
			json_array_append_new(nodes, json_node(o, cc, &rn));
	json_object_set_new(js, "nodes", nodes);
	tot = json_pack("{s:I, s:I, s:I, s:o, s:o, s:I, s:o, s:o, s:b}",
	    "nodes", (json_int_t)t->nodes, "down", (json_int_t)t->down,
	    "failing", (json_int_t)t->failing, "used_memory",
	    json_sum(&t->used_memory), "maxmemory", json_sum(&t->maxmemory),
	    "no_limit", (json_int_t)t->no_limit, "ops_per_sec",
	    json_sum(&t->ops), "keys", json_sum(&t->keys), "partial",
	    totals_partial(t));
	json_object_set_new(js, "totals", tot);
	for (i = 0; i < o->rb->nroutes; i++) {
		if (o->rb->routes[i].nkeys == 0)
			continue;
		readouts_route_total(cc->ro, i, &rt);
		json_array_append_new(routes, json_pack("{s:s, s:o, s:b, s:o}",
		    "route", o->rb->routes[i].name, "keys",
		    json_sum(&rt.count), "over", rt.over, "error",
		    rt.error[0] ? jesc(rt.error) : json_null()));
	}
	json_object_set_new(js, "routes", routes);
	json_object_set_new(o->out, "cluster", js);
}

static void
text_step(struct check_out *o, size_t i, const struct step_run *r,
    const char *t)
{
	(void)o;
	printf("%-4s step %zu: %s: %s%s%s\n", r->state == STEP_FAILED ? "FAIL" :
	    r->state == STEP_SKIPPED ? "skip" : r->state == STEP_DEGRADED ?
	    "slow" : "ok", i + 1, t, r->observed ? r->observed : "",
	    r->reason && r->state != STEP_PASSED ? " -- " : "",
	    r->reason && r->state != STEP_PASSED ? r->reason : "");
	print_checks("       ", r);
}

static void
text_end(struct check_out *o, size_t failed)
{
	(void)o;
	printf("%s: %zu failed\n", failed ? "FAIL" : "ok", failed);
}

static void
tap_redis(struct check_out *o, const struct check_redis *cr)
{
	const struct readout *x = cr->x;
	char names[120];
	size_t i;

	printf("%s %zu - redis: %s", cr->ok ? "ok" : "not ok", ++o->n,
	    cr->desc);
	if ((x != NULL && x->state == READOUT_OK) || cr->cluster)
		printf(", %s", cr->role);
	else if (cr->up)
		printf("; readouts %s", cr->why);
	printf("\n");
	if (x != NULL && x->state == READOUT_OK && denied(x, names,
	    sizeof names))
		printf("# not permitted for this user: INFO %s\n", names);
	if (tls_unchecked(o->rb))
		printf("# %s\n", TLS_UNCHECKED);
	for (i = 0; x != NULL && i < x->nroutes; i++)
		if (x->routes[i].error[0] != '\0')
			printf("# route %s: %s\n", o->rb->routes[i].name,
			    x->routes[i].error);
}

static void
tap_step(struct check_out *o, size_t i, const struct step_run *r,
    const char *t)
{
	printf("%s %zu - step %zu: %s%s%s\n", r->state == STEP_FAILED ?
	    "not ok" : "ok", ++o->n, i + 1, t, r->state == STEP_SKIPPED ?
	    " # SKIP " : "", r->state == STEP_SKIPPED && r->reason ?
	    r->reason : "");
	print_checks("# ", r);
}

static void
tap_end(struct check_out *o, size_t failed)
{
	(void)failed;
	printf("1..%zu\n", o->n);
}

static void
json_begin(struct check_out *o)
{
	o->out = json_object();
	o->steps = json_array();
}

static void
json_redis(struct check_out *o, const struct check_redis *cr)
{
	const struct readout *x = cr->x;
	bool known = x != NULL && x->state == READOUT_OK;
	json_t *js = json_object(), *bad = json_array();
	size_t i;

	json_object_set_new(js, "up", json_boolean(cr->ok));
	json_object_set_new(js, "state", json_string(cr->desc));
	json_object_set_new(js, "readout", json_string(known ? "ok" :
	    cr->cluster ? "per node" : "unknown"));
	json_object_set_new(js, "reason", known || cr->cluster ? json_null() :
	    json_string(x != NULL && x->state == READOUT_UNKNOWN ? x->why :
	    cr->why));
	json_object_set_new(js, "role", known && x->node.role[0] ?
	    json_string(x->node.role) : json_null());
	json_object_set_new(js, "master_host", known &&
	    x->node.master_host[0] ? json_string(x->node.master_host) :
	    json_null());
	json_object_set_new(js, "cluster_enabled", known ?
	    json_boolean(x->node.cluster) : cr->cluster ? json_true() :
	    json_null());
	json_object_set_new(js, "used_memory", known &&
	    x->sec_ok[INFO_MEMORY] ? json_integer((json_int_t)x->used_memory) :
	    json_null());
	json_object_set_new(js, "keys", known ?
	    json_integer((json_int_t)x->dbsize) : json_null());
	json_object_set_new(js, "hit_ratio", !known ||
	    !x->sec_ok[INFO_STATS] || x->hit_ratio < 0 ? json_null() :
	    json_real(x->hit_ratio));
	if (known) {
		char names[120], *p, *q;
		json_t *np = json_array();

		denied(x, names, sizeof names);
		for (p = names; *p != '\0'; p = *q ? q + 2 : q) {
			q = strchr(p, ',');
			if (q == NULL)
				q = p + strlen(p);
			json_array_append_new(np, json_stringn(p,
			    (size_t)(q - p)));
		}
		json_object_set_new(js, "info_not_permitted", np);
	}
	for (i = 0; x != NULL && i < x->nroutes; i++)
		if (x->routes[i].error[0] != '\0')
			json_array_append_new(bad, json_pack("{s:s, s:s}",
			    "route", o->rb->routes[i].name, "error",
			    x->routes[i].error));
	json_object_set_new(js, "route_errors", bad);
	json_object_set_new(js, "tls", json_string(!o->rb->redis.tls.on ?
	    "off" : tls_unchecked(o->rb) ? "not checked" : "checked"));
	json_object_set_new(o->out, "redis", js);
}

static void
json_step(struct check_out *o, size_t i, const struct step_run *r,
    const char *t)
{
	const struct rb_step *st = &o->rb->steps[i];
	json_t *js, *checks = json_array();
	size_t j;

	(void)t;	/* the JSON encoder escapes the title itself */
	for (j = 0; j < r->checks.n; j++)
		json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:s}",
		    "what", r->checks.v[j].what, "expected",
		    r->checks.v[j].expected, "observed",
		    r->checks.v[j].observed, "verdict",
		    verdict_name(r->checks.v[j].verdict)));
	js = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "step",
	    (json_int_t)i + 1, "title", st->title, "kind",
	    step_kind_name(st->kind), "verdict", step_state_name(r->state),
	    "observed", r->observed ? r->observed : "", "reason",
	    r->reason ? r->reason : "", "checks", checks);
	json_array_append_new(o->steps, js);
}

static void
json_end(struct check_out *o, size_t failed)
{
	char *t;

	json_object_set_new(o->out, "steps", o->steps);
	json_object_set_new(o->out, "failed", json_integer((json_int_t)failed));
	t = audit_json_encode(o->out);
	printf("%s\n", t);
	free(t);
	json_decref(o->out);
}

static const struct check_emitter check_emitters[] = {
	{ "text", text_begin, text_redis, text_cluster, text_step, text_end },
	{ "tap", text_begin, tap_redis, tap_cluster, tap_step, tap_end },
	{ "json", json_begin, json_redis, json_cluster, json_step, json_end },
};
#define NEMITTERS (sizeof check_emitters / sizeof check_emitters[0])

/* The first round of readouts is over (on every node of a cluster that is
 * up), and the route counts it started are done. */
static bool
readout_settled(void *arg)
{
	return readouts_settled(arg);
}

static bool
clustered(const struct rehearsal *rh)
{
	return rh->cluster != NULL && cluster_mode(rh->cluster) ==
	    CLUSTER_ON;
}

/*
 * The cluster part of check, after check_redis: ok when the cluster has no
 * problem (cluster_problem(): every slot has a primary that is up and says
 * cluster_state:ok) and no route count failed on a primary.  A replica
 * that is down or failing is a warning, not a failure.
 */
static bool
check_cluster(struct rehearsal *rh, struct check_out *o)
{
	struct check_cluster cc;
	struct route_total rt;
	size_t i;

	memset(&cc, 0, sizeof cc);
	cc.cl = rh->cluster;
	cc.ro = rh->readouts;
	readouts_totals(cc.ro, &cc.t);
	if (!readouts_clustered(cc.ro))
		cc.t.problem = cluster_problem(rh->cluster);
	cc.ok = cc.t.problem == NULL;
	for (i = 0; i < rh->rb->nroutes; i++) {
		readouts_route_total(cc.ro, i, &rt);
		if (rt.error[0] != '\0')
			cc.ok = false;
	}
	o->em->cluster(o, &cc);
	return cc.ok;
}

/*
 * The Redis part of check: one round of readouts.  Redis is "ok" only when
 * it is up and the round read INFO and DBSIZE (a refused, unfinished or
 * Sentinel INFO is unknown, and unknown fails), and no route count failed.
 * Returns true when ok, after the emitter wrote it.
 */
static bool
check_redis(struct rehearsal *rh, struct check_out *o)
{
	struct check_redis cr;
	const struct readout *x = NULL;
	char desc[1100], why[300], role[300] = "", ratio[16];
	double limit = 5.0 + 3.0 * (double)rh->rb->redis.timeout_ms / 1000.0;
	size_t i, nbad = 0;

	cr.up = redis_status(rh->redis)->state == REDIS_UP;
	if (cr.up || clustered(rh)) {
		/* The rehearsal frees it after the connection. */
		rh->readouts = readouts_new(rh->loop, rh->redis, rh->rb, NULL,
		    NULL);
		/* A cluster's nodes were waited for (REHEARSAL_SETTLE). */
		readouts_cluster(rh->readouts, rh->cluster);
		readouts_refresh(rh->readouts);
		loop_run_until(rh->loop, readout_settled, rh->readouts, limit);
		if (!readouts_clustered(rh->readouts))
			x = readouts_get(rh->readouts);
	}
	/* After the round: a server that misbehaved in it is down now. */
	redis_describe(rh->redis, desc, sizeof desc);
	if (rh->sentinel != NULL) {
		/* "up, 0.2 ms, master NAME at HOST:PORT since ..." */
		size_t used = strlen(desc);

		desc[used++] = ',';
		desc[used++] = ' ';
		sentinel_describe(rh->sentinel, desc + used, sizeof desc - used);
	}
	if (x != NULL && x->state == READOUT_PENDING)
		snprintf(why, sizeof why, "no readout within %.0f s", limit);
	else if (x != NULL)
		readout_describe(x, why, sizeof why);
	else
		snprintf(why, sizeof why, "not connected");
	if (x != NULL)
		readout_describe_role(&x->node, role, sizeof role);
	else if (clustered(rh))
		snprintf(role, sizeof role, "cluster mode");
	for (i = 0; x != NULL && i < x->nroutes; i++)
		if (x->routes[i].error[0] != '\0')
			nbad++;
	if (x != NULL && x->hit_ratio >= 0)
		snprintf(ratio, sizeof ratio, "%.2f", x->hit_ratio);
	else
		snprintf(ratio, sizeof ratio, "n/a");
	/* A cluster: the connection to the runbook's node here, the
	   readouts in the cluster's lines. */
	cr.ok = cr.up && ((x != NULL && x->state == READOUT_OK && nbad == 0) ||
	    (x == NULL && clustered(rh)));
	cr.x = x;
	cr.cluster = x == NULL && clustered(rh);
	cr.desc = desc;
	cr.why = why;
	cr.role = role;
	cr.ratio = ratio;
	o->em->redis(o, &cr);
	return cr.ok;
}

static int
cmd_check(const struct cli_args *a)
{
	struct rehearsal_opts ro;
	struct rehearsal *rh;
	struct check_out o;
	const char *fmt = cli_get(a, 'F');
	char *cause = NULL, *t;
	size_t i, failed = 0;

	memset(&o, 0, sizeof o);
	o.em = &check_emitters[0];
	for (i = 0; fmt != NULL && i < NEMITTERS; i++)
		if (strcmp(fmt, check_emitters[i].name) == 0)
			o.em = &check_emitters[i];
	if (fmt != NULL && strcmp(o.em->name, fmt) != 0)
		return cli_usage_error("check", "--format takes text, tap or "
		    "json, not '%s'", fmt);
	if (a->argc != 1)
		return cli_usage_error("check", "give one runbook");
	memset(&ro, 0, sizeof ro);
	ro.runbook = a->argv[0];
	ro.audit = cli_get(a, 'a');
	ro.log = ro.audit != NULL;
	ro.mode = POLICY_CHECK;
	/* Signals as in a batch run; `check | head -1`: still its verdict. */
	ro.parts = REHEARSAL_HTTP | REHEARSAL_REDIS | REHEARSAL_SETTLE |
	    REHEARSAL_SESSION | REHEARSAL_SIGNALS;
	if ((rh = rehearsal_open(&ro, &cause)) == NULL)
		return cli_failed(cause, EXIT_USAGE);
	o.rb = rh->rb;
	o.em->begin(&o);
	/* Redis first: its readouts, or why there are none. */
	if (rh->redis != NULL && !check_redis(rh, &o))
		failed++;
	if (rh->redis != NULL && clustered(rh) && rh->readouts != NULL &&
	    !check_cluster(rh, &o))
		failed++;
	for (i = 0; i < rh->rb->nsteps && !rh->interrupted; i++) {
		rehearsal_run_step(rh, i);	/* or skipped, as the policy says */
		if (session_step(rh->session, i)->state == STEP_FAILED)
			failed++;
		t = esc_str(rh->rb->steps[i].title, 0);
		o.em->step(&o, i, session_step(rh->session, i), t);
		free(t);
	}
	o.em->end(&o, failed);
	return rehearsal_close(rh, failed > 0 || rh->interrupted ?
	    EXIT_FAILED : EXIT_OK);
}

static const struct cli_opt check_opts[] = {
	{ 'F', false, "format", "FORMAT", "text tap json",
	  "text (the default), tap or json" },
	{ 'a', false, "audit", "FILE", "",
	  "write an audit log of the checks to FILE" },
	{ 0, false, NULL, NULL, NULL, NULL },
};

static const struct cli_usage check_usage[] = {
	{ "check [--format text|tap|json] [--audit FILE] RUNBOOK",
	  "run only the read-only checks of a runbook" },
	{ NULL, NULL },
};

const struct cli_cmd cmd_check_entry = {
	"check", check_usage,
	"Runs only what cannot change anything: the Redis readouts, http and "
	"wait steps,\nmeasures before any purge, rollback checks marked "
	"check_safe.  Exit 1 when an\nexpectation fails: a gate for CI.",
	check_opts, cmd_check,
};
