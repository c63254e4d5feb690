/* cluster.c: see cluster.h. */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "textesc.h"
#include "xmalloc.h"

#define NOT_RUN		"not run: "
#define QUICK_S		0.1	/* a refresh after a MOVED or a lost node */
#define TICK_S		0.1	/* waiting commands are looked at */
#define FIELD_MAX	256	/* bytes of a topology string kept */

/* A command on its way: copied, so that it can be sent again. */
struct creq {
	struct cluster	*cl;
	unsigned	 slot;
	int		 node;		/* fixed node (cluster_node_command), or
					   -1: the slot's owner */
	int		 ask;		/* ASK: this node, once; else -1 */
	redis_reply_fn	 fn;
	void		*arg;
	int		 argc;
	const char	**argv;		/* into bytes */
	size_t		*lens;
	char		*bytes;
	int		 redirects;
	double		 since;		/* first sent */
	double		 not_before;	/* TRYAGAIN: not sooner */
	double		 tryagain;	/* the first TRYAGAIN, or 0 */
	char		 why[200];	/* why it waits */
	struct creq	*next;		/* waiting list */
};

struct cluster {
	struct loop	*loop;
	struct redis	*seed;
	const struct rb_redis *cfg;
	char		*password;
	enum cluster_mode mode;
	struct cluster_node *nodes;
	size_t		 nnodes;
	int16_t		 slots[CLUSTER_SLOTS];	/* owner node, or -1 */
	bool		 known;
	unsigned long	 moves;		/* cluster_moves() */
	bool		 use_slots;	/* CLUSTER SHARDS is not known */
	bool		 refreshing;
	int		 infos;		/* CLUSTER INFO replies to come */
	unsigned long	 seed_connects;	/* INFO cluster asked for these */
	char		 error[256];
	char		 problem[400];
	struct timer	*refresh;
	double		 refresh_at;	/* when it fires */
	struct timer	*tick;
	struct creq	*wait_head, *wait_tail;
	size_t		 nwaiting;
	size_t		 outstanding;	/* our commands on any connection */
	bool		 zombie;
	void		(*on_change)(struct cluster *, void *);
	void		*on_change_arg;
	struct event	*later;
};

static void	dispatch(struct creq *);
static void	refresh_soon(struct cluster *);
static void	node_state(struct redis *, void *);

/* Slots ------------------------------------------------------------------ */

static uint16_t crc_table[256];

static void
crc_init(void)
{
	unsigned i, j;
	uint16_t c;

	for (i = 0; i < 256; i++) {
		c = (uint16_t)(i << 8);
		for (j = 0; j < 8; j++)
			c = (c & 0x8000) ? (uint16_t)((c << 1) ^ 0x1021) :
			    (uint16_t)(c << 1);
		crc_table[i] = c;
	}
}

static uint16_t
crc16(const unsigned char *s, size_t len)
{
	uint16_t c = 0;
	size_t i;

	if (crc_table[1] == 0)
		crc_init();
	for (i = 0; i < len; i++)
		c = (uint16_t)((c << 8) ^ crc_table[((c >> 8) ^ s[i]) & 0xff]);
	return c;
}

unsigned
cluster_keyslot(const char *key, size_t len)
{
	const char *open, *close;

	open = memchr(key, '{', len);
	if (open != NULL) {
		close = memchr(open + 1, '}', len - (size_t)(open + 1 - key));
		if (close != NULL && close > open + 1)
			return crc16((const unsigned char *)open + 1,
			    (size_t)(close - open - 1)) & (CLUSTER_SLOTS - 1);
	}
	return crc16((const unsigned char *)key, len) & (CLUSTER_SLOTS - 1);
}

static bool
is_glob(char c)
{
	return c == '*' || c == '?' || c == '[' || c == '\\';
}

int
cluster_pattern_slot(const char *p)
{
	const char *open, *close, *s;

	for (s = p; *s != '\0' && !is_glob(*s); s++)
		;
	if (*s == '\0')
		return (int)cluster_keyslot(p, strlen(p));	/* one key */
	/* Every matching key has this tag only if it is all literal, from
	 * the start to its '}', and not empty. */
	if ((open = strchr(p, '{')) == NULL || open > s ||
	    (close = strchr(open + 1, '}')) == NULL || close > s ||
	    close == open + 1)
		return -1;
	return (int)(crc16((const unsigned char *)open + 1,
	    (size_t)(close - open - 1)) & (CLUSTER_SLOTS - 1));
}

/* Life ------------------------------------------------------------------- */

static void
notify(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *cl = arg;

	(void)fd;
	(void)what;
	if (cl->on_change != NULL)
		cl->on_change(cl, cl->on_change_arg);
}

static void
changed(struct cluster *cl)
{
	if (cl->later != NULL)
		event_active(cl->later, 0, 0);
}

static void
set_error(struct cluster *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_error(struct cluster *cl, const char *fmt, ...)
{
	va_list ap;
	char raw[256], *e;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	e = esc_str(raw, 0);
	snprintf(cl->error, sizeof cl->error, "%s", e);
	free(e);
	changed(cl);
}

static void
destroy(struct cluster *cl)
{
	event_free(cl->later);
	free(cl->nodes);
	if (cl->password != NULL) {
		explicit_bzero(cl->password, strlen(cl->password));
		free(cl->password);
	}
	free(cl);
}

/* Sends one of our own commands (its callback starts with answered()). */
static int
own_send(struct cluster *cl, struct redis *r, redis_reply_fn fn, void *arg,
    int argc, const char **argv, const size_t *lens)
{
	if (redis_command(r, fn, arg, argc, argv, lens) != 0)
		return -1;
	cl->outstanding++;
	return 0;
}

static int
own_sendv(struct cluster *cl, struct redis *r, redis_reply_fn fn, void *arg,
    int argc, const char **argv)
{
	size_t lens[4];
	int i;

	for (i = 0; i < argc && i < 4; i++)
		lens[i] = strlen(argv[i]);
	return own_send(cl, r, fn, arg, argc, argv, lens);
}

/* True when the cluster was freed meanwhile (gone with the last answer). */
static bool
answered(struct cluster *cl)
{
	cl->outstanding--;
	if (!cl->zombie)
		return false;
	if (cl->outstanding == 0)
		destroy(cl);
	return true;
}

static void
creq_free(struct creq *q)
{
	free(q->bytes);
	free(q->argv);
	free(q->lens);
	free(q);
}

/* The command's end: its caller hears it (r: who answered, or NULL). */
static void
finish(struct creq *q, struct redis *r, redisReply *rep, const char *err)
{
	q->fn(r, rep, err, q->arg);
	creq_free(q);
}

static void
fail_not_run(struct creq *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail_not_run(struct creq *q, const char *fmt, ...)
{
	va_list ap;
	char msg[300];
	size_t n = strlen(NOT_RUN);

	memcpy(msg, NOT_RUN, n + 1);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof msg - n, fmt, ap);
	va_end(ap);
	finish(q, NULL, NULL, msg);
}

bool
cluster_unsent(const char *err)
{
	return err != NULL && strncmp(err, NOT_RUN, strlen(NOT_RUN)) == 0;
}

/* Every waiting command fails (the cluster goes). */
static void
fail_waiting(struct cluster *cl, const char *why)
{
	struct creq *q;

	while ((q = cl->wait_head) != NULL) {
		cl->wait_head = q->next;
		cl->nwaiting--;
		fail_not_run(q, "%s", why);
	}
	cl->wait_tail = NULL;
}

void
cluster_free(struct cluster *cl)
{
	size_t i;

	if (cl == NULL)
		return;
	timer_free(cl->refresh);
	timer_free(cl->tick);
	cl->refresh = cl->tick = NULL;
	cl->on_change = NULL;
	cl->zombie = true;
	cl->outstanding++;	/* held while the connections go */
	fail_waiting(cl, "shutting down");
	redis_on_state(cl->seed, NULL, NULL);
	for (i = 0; i < cl->nnodes; i++) {
		if (cl->nodes[i].conn != cl->seed)
			redis_free(cl->nodes[i].conn);
		cl->nodes[i].conn = NULL;
	}
	/* Answers still to come on the seed hold pointers to it. */
	answered(cl);
}

/* Nodes ------------------------------------------------------------------ */

static void
node_addr(char *buf, size_t len, const char *host, int port)
{
	snprintf(buf, len, strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d",
	    host, port);
}

static int
find_node(const struct cluster *cl, const char *host, int port)
{
	size_t i;

	for (i = 0; i < cl->nnodes; i++)
		if (cl->nodes[i].port == port &&
		    strcmp(cl->nodes[i].host, host) == 0)
			return (int)i;
	return -1;
}

/* The node host:port, added (with its connection, started) when new; -1
 * when there are CLUSTER_MAX_NODES already or the name is too long. */
static int
add_node(struct cluster *cl, const char *host, int port)
{
	struct cluster_node *n;
	char seed[160], addr[160];
	int i;

	if ((i = find_node(cl, host, port)) >= 0)
		return i;
	if (cl->nnodes >= CLUSTER_MAX_NODES || strlen(host) >= sizeof n->host ||
	    port < 1 || port > 65535)
		return -1;
	if (cl->nnodes % 16 == 0)
		cl->nodes = xreallocarray(cl->nodes, cl->nnodes + 16,
		    sizeof *cl->nodes);
	n = &cl->nodes[cl->nnodes];
	memset(n, 0, sizeof *n);
	snprintf(n->host, sizeof n->host, "%s", host);
	n->port = port;
	node_addr(n->addr, sizeof n->addr, host, port);
	n->primary_of = -1;
	/* The runbook's node is the seed's connection. */
	redis_address(cl->seed, seed, sizeof seed);
	node_addr(addr, sizeof addr, host, port);
	if (strcmp(seed, addr) == 0 && cluster_node_of(cl, cl->seed) < 0)
		n->conn = cl->seed;
	else {
		n->conn = redis_new_at(cl->seed, host, port);
		redis_on_state(n->conn, node_state, cl);
		redis_start(n->conn);
	}
	return (int)cl->nnodes++;
}

size_t
cluster_nnodes(const struct cluster *cl)
{
	return cl->nnodes;
}

const struct cluster_node *
cluster_node(const struct cluster *cl, size_t i)
{
	return i < cl->nnodes ? &cl->nodes[i] : NULL;
}

unsigned long
cluster_moves(const struct cluster *cl)
{
	return cl->moves;
}

int
cluster_slot_owner(const struct cluster *cl, unsigned slot)
{
	return slot < CLUSTER_SLOTS ? cl->slots[slot] : -1;
}

int
cluster_node_of(const struct cluster *cl, const struct redis *r)
{
	size_t i;

	for (i = 0; i < cl->nnodes; i++)
		if (cl->nodes[i].conn == r)
			return (int)i;
	return -1;
}

enum cluster_mode
cluster_mode(const struct cluster *cl)
{
	return cl->mode;
}

bool
cluster_known(const struct cluster *cl)
{
	return cl->known;
}

bool
cluster_settled(const struct cluster *cl)
{
	const struct redis_status *st;
	size_t i;

	if (cl->mode == CLUSTER_OFF || cl->error[0] != '\0')
		return true;
	if (!cl->known)
		return false;
	for (i = 0; i < cl->nnodes; i++) {
		if (!cl->nodes[i].listed)
			continue;
		st = redis_status(cl->nodes[i].conn);
		if (st->state == REDIS_CONNECTING || (st->state == REDIS_DOWN &&
		    st->failures == 0))
			return false;
		if (st->state == REDIS_UP && cl->nodes[i].primary &&
		    cl->nodes[i].state[0] == '\0')
			return false;
	}
	return true;
}

const char *
cluster_error(const struct cluster *cl)
{
	return cl->error;
}

void
cluster_on_change(struct cluster *cl, void (*fn)(struct cluster *, void *),
    void *arg)
{
	cl->on_change = fn;
	cl->on_change_arg = arg;
}

const char *
cluster_problem(struct cluster *cl)
{
	const struct cluster_node *n;
	char d[200];
	unsigned s, e;
	size_t i;

	if (cl->mode != CLUSTER_ON) {
		snprintf(cl->problem, sizeof cl->problem, "%s",
		    cl->mode == CLUSTER_OFF ? "not a cluster" :
		    "not known yet whether this is a cluster");
		return cl->problem;
	}
	if (!cl->known) {
		snprintf(cl->problem, sizeof cl->problem, "the cluster's "
		    "topology is not known yet%s%s", cl->error[0] ? ": " : "",
		    cl->error);
		return cl->problem;
	}
	for (s = 0; s < CLUSTER_SLOTS; s++) {
		if (cl->slots[s] >= 0)
			continue;
		for (e = s; e + 1 < CLUSTER_SLOTS && cl->slots[e + 1] < 0; e++)
			;
		snprintf(cl->problem, sizeof cl->problem, "slots %u-%u have no "
		    "primary", s, e);
		return cl->problem;
	}
	for (i = 0; i < cl->nnodes; i++) {
		n = &cl->nodes[i];
		if (!n->primary)
			continue;
		if (redis_status(n->conn)->state != REDIS_UP) {
			redis_describe(n->conn, d, sizeof d);
			snprintf(cl->problem, sizeof cl->problem, "primary %s is %s",
			    n->addr, d);
			return cl->problem;
		}
		if (strcmp(n->state, "ok") != 0) {
			snprintf(cl->problem, sizeof cl->problem, "primary %s says "
			    "cluster_state:%s", n->addr, n->state[0] ? n->state :
			    "(not read yet)");
			return cl->problem;
		}
	}
	return NULL;
}

/* Topology --------------------------------------------------------------- */

/* The value of name in a flat key/value array (CLUSTER SHARDS' maps; a
 * RESP3 map on hiredis 1.x has the same elements), or NULL. */
static const redisReply *
kv(const redisReply *m, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i + 1 < m->elements; i += 2) {
		const redisReply *k = m->element[i];

		if (k->type == REDIS_REPLY_STRING && k->len == n &&
		    memcmp(k->str, name, n) == 0)
			return m->element[i + 1];
	}
	return NULL;
}

static bool
is_list(const redisReply *r)
{
#ifdef REDIS_REPLY_MAP
	if (r->type == REDIS_REPLY_MAP)
		return true;
#endif
	return r->type == REDIS_REPLY_ARRAY;
}

static bool
text(const redisReply *r, char *buf, size_t len)
{
	if (r == NULL || (r->type != REDIS_REPLY_STRING &&
	    r->type != REDIS_REPLY_STATUS) || r->len >= len ||
	    memchr(r->str, '\0', r->len) != NULL)
		return false;
	memcpy(buf, r->str, r->len);
	buf[r->len] = '\0';
	return true;
}

static bool
integer(const redisReply *r, long long lo, long long hi, long long *v)
{
	if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer < lo ||
	    r->integer > hi)
		return false;
	*v = r->integer;
	return true;
}

/* What one answer says, checked whole before any of it is taken (a
 * hostile answer must not make us connect anywhere): its nodes, by their
 * index in the answer, and the slot map. */
struct tnode {
	char		 host[100];
	int		 port;
	char		 id[48];
	bool		 primary;	/* owns slots */
	int		 primary_of;	/* a replica's primary, or -1 */
};

struct topo {
	const char	*from;		/* the node that answered */
	const char	*from_host;
	bool		 tls;
	int16_t		 slots[CLUSTER_SLOTS];
	struct tnode	 n[CLUSTER_MAX_NODES];
	size_t		 nn;
	char		 err[256];
};

static int
topo_fail(struct topo *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
topo_fail(struct topo *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(t->err, sizeof t->err, "cluster topology from %s: ",
	    t->from);
	va_start(ap, fmt);
	vsnprintf(t->err + n, sizeof t->err - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A node the answer names: its index in the answer, or -1 (t->err). */
static int
topo_node(struct topo *t, const char *host, long long port, const char *id)
{
	size_t i;

	if (host[0] == '\0' || strcmp(host, "?") == 0)
		host = t->from_host;	/* "the node you asked" */
	if (strlen(host) >= sizeof t->n[0].host)
		return topo_fail(t, "a node address longer than %zu bytes",
		    sizeof t->n[0].host - 1);
	for (i = 0; i < t->nn; i++)
		if (t->n[i].port == port && strcmp(t->n[i].host, host) == 0)
			return (int)i;
	if (t->nn >= CLUSTER_MAX_NODES)
		return topo_fail(t, "more than %d nodes", CLUSTER_MAX_NODES);
	snprintf(t->n[t->nn].host, sizeof t->n[0].host, "%s", host);
	t->n[t->nn].port = (int)port;
	snprintf(t->n[t->nn].id, sizeof t->n[0].id, "%s", id);
	t->n[t->nn].primary_of = -1;
	return (int)t->nn++;
}

static int
topo_range(struct topo *t, long long a, long long b, int node)
{
	long long s;

	if (a < 0 || b >= CLUSTER_SLOTS || a > b)
		return topo_fail(t, "slot range %lld-%lld is not within 0-%d",
		    a, b, CLUSTER_SLOTS - 1);
	for (s = a; s <= b; s++)
		t->slots[s] = (int16_t)node;
	if (node >= 0)
		t->n[node].primary = true;
	return 0;
}

/* CLUSTER SHARDS: [ {slots: [a, b, ...], nodes: [ {id, ip, endpoint,
 * port, tls-port, role, health, ...}, ... ]}, ... ] */
static int
parse_shards(struct topo *t, const redisReply *rep)
{
	size_t i, j, k, first;

	if (!is_list(rep))
		return topo_fail(t, "CLUSTER SHARDS answered a reply of type "
		    "%d", rep->type);
	if (rep->elements > CLUSTER_MAX_NODES)
		return topo_fail(t, "%zu shards; at most %d", rep->elements,
		    CLUSTER_MAX_NODES);
	for (i = 0; i < rep->elements; i++) {
		const redisReply *sh = rep->element[i], *sl, *nl, *nd;
		int primary = -1, idx;
		char host[FIELD_MAX], role[32], health[32], id[48];
		long long port, a, b;

		if (!is_list(sh) || (sl = kv(sh, "slots")) == NULL ||
		    !is_list(sl) || (nl = kv(sh, "nodes")) == NULL ||
		    !is_list(nl) || sl->elements % 2 != 0)
			return topo_fail(t, "shard %zu is not {slots, nodes}", i);
		first = t->nn;
		for (j = 0; j < nl->elements; j++) {
			nd = nl->element[j];
			if (!is_list(nd))
				return topo_fail(t, "shard %zu: a node is not a "
				    "map", i);
			if (!text(kv(nd, "endpoint"), host, sizeof host) &&
			    !text(kv(nd, "ip"), host, sizeof host))
				return topo_fail(t, "shard %zu: a node without "
				    "an address", i);
			if (!(t->tls && integer(kv(nd, "tls-port"), 1, 65535,
			    &port)) && !integer(kv(nd, "port"), 1, 65535, &port))
				return topo_fail(t, "shard %zu: node %.60s has no "
				    "port from 1 to 65535", i, host);
			if (!text(kv(nd, "role"), role, sizeof role))
				role[0] = '\0';
			if (!text(kv(nd, "health"), health, sizeof health))
				health[0] = '\0';
			if (!text(kv(nd, "id"), id, sizeof id))
				id[0] = '\0';
			if ((idx = topo_node(t, host, port, id)) < 0)
				return -1;
			/* A failed master that was not replaced yet still
			   owns the slots: its commands wait. */
			if (strcmp(role, "master") == 0 && (primary < 0 ||
			    strcmp(health, "failed") != 0))
				primary = idx;
		}
		if (sl->elements > 0 && primary < 0)
			return topo_fail(t, "shard %zu owns slots but has no "
			    "primary", i);
		for (k = 0; k < sl->elements; k += 2) {
			if (!integer(sl->element[k], -(1LL << 40), 1LL << 40, &a) ||
			    !integer(sl->element[k + 1], -(1LL << 40), 1LL << 40,
			    &b))
				return topo_fail(t, "shard %zu: slots are not "
				    "integers", i);
			if (topo_range(t, a, b, primary) != 0)
				return -1;
		}
		for (k = first; k < t->nn; k++)
			if ((int)k != primary)
				t->n[k].primary_of = primary;
	}
	return 0;
}

/* CLUSTER SLOTS: [ [a, b, [ip, port, id, ...], [replica...], ...], ... ] */
static int
parse_slots(struct topo *t, const redisReply *rep)
{
	size_t i, j;

	if (!is_list(rep))
		return topo_fail(t, "CLUSTER SLOTS answered a reply of type %d",
		    rep->type);
	if (rep->elements > CLUSTER_SLOTS)
		return topo_fail(t, "%zu slot ranges; at most %d", rep->elements,
		    CLUSTER_SLOTS);
	for (i = 0; i < rep->elements; i++) {
		const redisReply *e = rep->element[i], *nd;
		char host[FIELD_MAX], id[48];
		long long a, b, port;
		int primary = -1, idx;

		if (!is_list(e) || e->elements < 3 ||
		    !integer(e->element[0], -(1LL << 40), 1LL << 40, &a) ||
		    !integer(e->element[1], -(1LL << 40), 1LL << 40, &b))
			return topo_fail(t, "range %zu is not [start, end, node, "
			    "...]", i);
		for (j = 2; j < e->elements; j++) {
			nd = e->element[j];
			if (!is_list(nd) || nd->elements < 2 ||
			    !text(nd->element[0], host, sizeof host) ||
			    !integer(nd->element[1], 1, 65535, &port))
				return topo_fail(t, "range %zu: a node is not "
				    "[ip, port, ...]", i);
			if (nd->elements < 3 || !text(nd->element[2], id,
			    sizeof id))
				id[0] = '\0';
			if ((idx = topo_node(t, host, port, id)) < 0)
				return -1;
			if (j == 2)
				primary = idx;
			else
				t->n[idx].primary_of = primary;
		}
		if (topo_range(t, a, b, primary) != 0)
			return -1;
	}
	return 0;
}

static void	ask_info(struct cluster *, size_t);

/* The answer is right: it is the topology now.  Its nodes are added
 * (connected) as needed; nodes it does not name stay, unlisted. */
static int
take(struct cluster *cl, struct topo *t)
{
	int map[CLUSTER_MAX_NODES];
	size_t i;
	unsigned s;

	for (i = 0; i < t->nn; i++)
		if ((map[i] = add_node(cl, t->n[i].host, t->n[i].port)) < 0)
			return topo_fail(t, "more than %d nodes over time",
			    CLUSTER_MAX_NODES);
	for (i = 0; i < cl->nnodes; i++) {
		cl->nodes[i].listed = cl->nodes[i].primary = false;
		cl->nodes[i].primary_of = -1;
		cl->nodes[i].nslots = 0;
	}
	for (i = 0; i < t->nn; i++) {
		struct cluster_node *n = &cl->nodes[map[i]];

		n->listed = true;
		n->primary = t->n[i].primary;
		if (!n->primary && t->n[i].primary_of >= 0)
			n->primary_of = map[t->n[i].primary_of];
		if (t->n[i].id[0] != '\0')
			snprintf(n->id, sizeof n->id, "%s", t->n[i].id);
	}
	for (s = 0; s < CLUSTER_SLOTS; s++) {
		int16_t o = t->slots[s] >= 0 ? (int16_t)map[t->slots[s]] : -1;

		if (cl->known && o != cl->slots[s])
			cl->moves++;
		cl->slots[s] = o;
		if (cl->slots[s] >= 0)
			cl->nodes[cl->slots[s]].nslots++;
	}
	cl->known = true;
	cl->error[0] = '\0';
	changed(cl);
	return 0;
}

static void
topology_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct cluster *cl = arg;
	struct topo *t;
	char from[160], text_[201];
	size_t i;
	int rc, n;

	(void)err;
	if (answered(cl))
		return;
	cl->refreshing = false;
	redis_address(r, from, sizeof from);
	if (rep == NULL) {
		refresh_soon(cl);	/* another node, after a moment */
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(text_, sizeof text_, "%.*s", (int)(rep->len > 200 ? 200 :
		    rep->len), rep->str);
		if (!cl->use_slots && (strstr(text_, "nknown subcommand") ||
		    strstr(text_, "unknown command"))) {
			cl->use_slots = true;	/* before Redis 7 */
			cluster_refresh(cl);
			return;
		}
		set_error(cl, "cluster topology from %s: %s", from, text_);
		return;
	}
	t = xcalloc(1, sizeof *t);
	t->from = from;
	n = cluster_node_of(cl, r);
	t->from_host = n >= 0 ? cl->nodes[n].host : cl->cfg->host != NULL ?
	    cl->cfg->host : "";
	t->tls = cl->cfg->tls.on;
	for (i = 0; i < CLUSTER_SLOTS; i++)
		t->slots[i] = -1;
	rc = cl->use_slots ? parse_slots(t, rep) : parse_shards(t, rep);
	if (rc == 0)
		rc = take(cl, t);
	if (rc != 0)
		set_error(cl, "%s", t->err);
	free(t);
	if (rc == 0)
		for (i = 0; i < cl->nnodes; i++)
			if (cl->nodes[i].listed)
				ask_info(cl, i);
	/* Commands waiting for an owner may have one now. */
	if (cl->wait_head != NULL && cl->tick != NULL)
		timer_arm(cl->tick, 0);
}

/* CLUSTER INFO of each primary: is it ok? */
static void
info_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct cluster *cl = arg;
	const char *p;
	int n;
	size_t l;

	(void)err;
	if (answered(cl))
		return;
	cl->infos--;
	if ((n = cluster_node_of(cl, r)) < 0)
		return;
	cl->nodes[n].state[0] = '\0';
	if (rep != NULL && rep->type == REDIS_REPLY_STRING &&
	    (p = memmem(rep->str, rep->len, "cluster_state:", 14)) != NULL) {
		p += 14;
		for (l = 0; p + l < rep->str + rep->len && l < sizeof
		    cl->nodes[n].state - 1 && p[l] >= 'a' && p[l] <= 'z'; l++)
			;
		memcpy(cl->nodes[n].state, p, l);
		cl->nodes[n].state[l] = '\0';
	} else if (rep != NULL && rep->type == REDIS_REPLY_ERROR)
		snprintf(cl->nodes[n].state, sizeof cl->nodes[n].state,
		    "unreadable");
	changed(cl);
}

static void
ask_info(struct cluster *cl, size_t i)
{
	const char *argv[] = { "CLUSTER", "INFO" };

	if (redis_status(cl->nodes[i].conn)->state == REDIS_UP &&
	    own_sendv(cl, cl->nodes[i].conn, info_reply, cl, 2, argv) == 0)
		cl->infos++;
}

/* The node to ask: a primary that is up, else any node that is up, else
 * the seed. */
static struct redis *
pick(struct cluster *cl)
{
	size_t i;

	for (i = 0; i < cl->nnodes; i++)
		if (cl->nodes[i].primary &&
		    redis_status(cl->nodes[i].conn)->state == REDIS_UP)
			return cl->nodes[i].conn;
	for (i = 0; i < cl->nnodes; i++)
		if (redis_status(cl->nodes[i].conn)->state == REDIS_UP)
			return cl->nodes[i].conn;
	return redis_status(cl->seed)->state == REDIS_UP ? cl->seed : NULL;
}

void
cluster_refresh(struct cluster *cl)
{
	const char *shards[] = { "CLUSTER", "SHARDS" };
	const char *slots[] = { "CLUSTER", "SLOTS" };
	struct redis *r;

	if (cl->mode != CLUSTER_ON || cl->zombie)
		return;
	timer_arm(cl->refresh, cl->cfg->refresh_s);
	cl->refresh_at = loop_now() + cl->cfg->refresh_s;
	if (cl->refreshing || (r = pick(cl)) == NULL)
		return;
	if (own_sendv(cl, r, topology_reply, cl, 2, cl->use_slots ? slots :
	    shards) == 0)
		cl->refreshing = true;
}

static void
refresh_fired(void *arg)
{
	cluster_refresh(arg);
}

/* A refresh within QUICK_S; one that is due sooner stays (a stream of
 * calls must not keep pushing it away). */
static void
refresh_soon(struct cluster *cl)
{
	double now = loop_now();

	if (cl->refresh == NULL || cl->mode != CLUSTER_ON)
		return;
	if (timer_armed(cl->refresh) && cl->refresh_at <= now + QUICK_S)
		return;
	timer_arm(cl->refresh, QUICK_S);
	cl->refresh_at = now + QUICK_S;
}

/* Finding the mode ----------------------------------------------------- */

static void
mode_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct cluster *cl = arg;

	(void)r;
	(void)err;
	if (answered(cl))
		return;
	if (rep == NULL || rep->type != REDIS_REPLY_STRING)
		return;		/* unknown still; asked again next time */
	if (memmem(rep->str, rep->len, "cluster_enabled:1", 17) != NULL) {
		if (cl->mode != CLUSTER_ON) {
			cl->mode = CLUSTER_ON;
			changed(cl);
			cluster_refresh(cl);
		}
	} else if (cl->mode == CLUSTER_UNKNOWN) {
		/* cluster_enabled:0, or no such line (a Sentinel's INFO
		   cluster is empty): not a cluster. */
		cl->mode = CLUSTER_OFF;
		changed(cl);
	}
}

static void
seed_state(struct redis *r, void *arg)
{
	struct cluster *cl = arg;
	const char *argv[] = { "INFO", "cluster" };
	const struct redis_status *st = redis_status(r);

	if (st->state == REDIS_UP && st->connects != cl->seed_connects &&
	    cl->cfg->cluster == RB_CLUSTER_DETECT && cl->mode != CLUSTER_ON) {
		cl->seed_connects = st->connects;
		(void)own_sendv(cl, r, mode_reply, cl, 2, argv);
	}
	node_state(r, arg);
}

static void
node_state(struct redis *r, void *arg)
{
	struct cluster *cl = arg;
	int n = cluster_node_of(cl, r);

	if (cl->mode != CLUSTER_ON)
		return;
	if (redis_status(r)->state == REDIS_UP) {
		if (!cl->known || cl->error[0] != '\0')
			cluster_refresh(cl);
		if (cl->wait_head != NULL && cl->tick != NULL)
			timer_arm(cl->tick, 0);
		if (n >= 0)
			ask_info(cl, (size_t)n);
	} else if (redis_status(r)->state == REDIS_DOWN && n >= 0) {
		cl->nodes[n].state[0] = '\0';
		refresh_soon(cl);
	}
	changed(cl);
}

/* Commands --------------------------------------------------------------- */

/* Appends to the waiting list. */
static void
enqueue(struct cluster *cl, struct creq *q)
{
	q->next = NULL;
	if (cl->wait_tail != NULL)
		cl->wait_tail->next = q;
	else
		cl->wait_head = q;
	cl->wait_tail = q;
	cl->nwaiting++;
}

static void
park(struct creq *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
park(struct creq *q, const char *fmt, ...)
{
	struct cluster *cl = q->cl;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->why, sizeof q->why, fmt, ap);
	va_end(ap);
	enqueue(cl, q);
	if (!timer_armed(cl->tick))
		timer_arm(cl->tick, TICK_S);
	refresh_soon(cl);
}

/* Waiting commands go when their node is up, and fail once they waited
 * CLUSTER_WAIT_S. */
static void
tick_fired(void *arg)
{
	struct cluster *cl = arg;
	struct creq *q, *list = cl->wait_head;
	double now = loop_now();

	cl->wait_head = cl->wait_tail = NULL;
	cl->nwaiting = 0;
	while ((q = list) != NULL) {
		list = q->next;
		if (now - q->since > CLUSTER_WAIT_S)
			fail_not_run(q, "%s (waited %.0f s)", q->why,
			    CLUSTER_WAIT_S);
		else if (now < q->not_before)
			enqueue(cl, q);
		else
			dispatch(q);
	}
	if (cl->wait_head != NULL && cl->tick != NULL &&
	    !timer_armed(cl->tick))
		timer_arm(cl->tick, TICK_S);
}

/* "MOVED 3999 127.0.0.1:6381" or "ASK ...": the slot and node, or false. */
static bool
parse_redirect(const redisReply *rep, size_t skip, long *slot, char *host,
    size_t hlen, int *port)
{
	char buf[200], *sp, *colon, *e;
	long p;

	if (rep->len <= skip || rep->len >= sizeof buf)
		return false;
	memcpy(buf, rep->str + skip, rep->len - skip);
	buf[rep->len - skip] = '\0';
	*slot = strtol(buf, &sp, 10);
	if (sp == buf || *sp != ' ' || *slot < 0 || *slot >= CLUSTER_SLOTS)
		return false;
	sp++;
	if ((colon = strrchr(sp, ':')) == NULL)
		return false;
	p = strtol(colon + 1, &e, 10);
	if (*e != '\0' || p < 1 || p > 65535)
		return false;
	*colon = '\0';
	if (sp[0] == '[' && colon > sp + 1 && colon[-1] == ']') {
		sp++;
		colon[-1] = '\0';
	}
	if (strlen(sp) >= hlen)
		return false;
	snprintf(host, hlen, "%s", sp);
	*port = (int)p;
	return true;
}

static bool
starts(const redisReply *rep, const char *word)
{
	size_t n = strlen(word);

	return rep->type == REDIS_REPLY_ERROR && rep->len >= n &&
	    memcmp(rep->str, word, n) == 0;
}

static void
ignore_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	(void)r;
	(void)rep;
	(void)err;
	answered(arg);
}

static void
req_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct creq *q = arg;
	struct cluster *cl = q->cl;
	char host[128], shown[201];
	long slot;
	int port, n;
	bool ask;

	if (answered(cl)) {
		finish(q, r, rep, err != NULL ? err : "shutting down");
		return;
	}
	if (rep == NULL) {
		refresh_soon(cl);
		finish(q, r, NULL, err);	/* it may have run */
		return;
	}
	ask = starts(rep, "ASK ");
	if (!ask && !starts(rep, "MOVED ") && !starts(rep, "TRYAGAIN") &&
	    !starts(rep, "CLUSTERDOWN")) {
		finish(q, r, rep, NULL);
		return;
	}
	snprintf(shown, sizeof shown, "%.*s", (int)(rep->len > 200 ? 200 :
	    rep->len), rep->str);
	/* TRYAGAIN and CLUSTERDOWN last as long as a migration or a
	   failover: bounded by CLUSTER_WAIT_S, not counted. */
	if (!starts(rep, "TRYAGAIN") && !starts(rep, "CLUSTERDOWN") &&
	    ++q->redirects > CLUSTER_REDIRECTS) {
		char *e = esc_str(shown, 0);

		fail_not_run(q, "more than %d redirections (the last: %s)",
		    CLUSTER_REDIRECTS, e);
		free(e);
		return;
	}
	if (starts(rep, "TRYAGAIN") && q->tryagain == 0)
		q->tryagain = loop_now();
	if (starts(rep, "TRYAGAIN") && loop_now() - q->tryagain >
	    CLUSTER_TRYAGAIN_MAX_S) {
		char *e = esc_str(shown, 0);

		fail_not_run(q, "the slot was still being migrated after %.0f s "
		    "(%s)", CLUSTER_TRYAGAIN_MAX_S, e);
		free(e);
		return;
	}
	if (starts(rep, "TRYAGAIN") || starts(rep, "CLUSTERDOWN")) {
		q->not_before = loop_now() + CLUSTER_TRYAGAIN_S;
		park(q, "%s", shown);
		return;
	}
	if (!parse_redirect(rep, ask ? 4 : 6, &slot, host, sizeof host,
	    &port)) {
		finish(q, r, rep, NULL);	/* not ours to follow */
		return;
	}
	if (host[0] == '\0') {
		n = cluster_node_of(cl, r);
		snprintf(host, sizeof host, "%s", n >= 0 ? cl->nodes[n].host :
		    cl->cfg->host != NULL ? cl->cfg->host : "");
	}
	if ((n = add_node(cl, host, port)) < 0) {
		char *e = esc_str(shown, 0);

		fail_not_run(q, "a redirection to a node that cannot be used "
		    "(%s)", e);
		free(e);
		return;
	}
	cl->moves++;
	if (ask)
		q->ask = n;
	else {
		cl->slots[slot] = (int16_t)n;	/* the topology follows */
		q->slot = (unsigned)slot;	/* the server knows best */
		refresh_soon(cl);
	}
	dispatch(q);
}

static void
dispatch(struct creq *q)
{
	struct cluster *cl = q->cl;
	const char *asking[] = { "ASKING" };
	int n = q->ask >= 0 ? q->ask : q->node >= 0 ? q->node :
	    cl->slots[q->slot];
	struct redis *r;

	if (n < 0) {
		park(q, "slot %u has no primary", q->slot);
		return;
	}
	r = cl->nodes[n].conn;
	if (redis_status(r)->state != REDIS_UP) {
		char d[300];

		redis_describe(r, d, sizeof d);
		park(q, "%s %s is %s", q->node >= 0 ? "node" : "the primary of "
		    "slot", cl->nodes[n].addr, d);
		return;
	}
	if (q->ask >= 0) {
		q->ask = -1;
		if (own_sendv(cl, r, ignore_reply, cl, 1, asking) != 0) {
			park(q, "node %s cannot take more commands",
			    cl->nodes[n].addr);
			return;
		}
	}
	if (redis_command(r, req_reply, q, q->argc, q->argv, q->lens) != 0) {
		park(q, "node %s cannot take more commands", cl->nodes[n].addr);
		return;
	}
	cl->outstanding++;
}

static int
submit(struct cluster *cl, unsigned slot, int node, redis_reply_fn fn,
    void *arg, int argc, const char **argv, const size_t *lens)
{
	struct creq *q;
	size_t total = 0, at = 0;
	int i;

	if (cl->zombie || cl->nwaiting >= REDIS_MAX_PENDING || argc < 1 ||
	    slot >= CLUSTER_SLOTS)
		return -1;
	q = xcalloc(1, sizeof *q);
	q->cl = cl;
	q->slot = slot;
	q->node = node;
	q->ask = -1;
	q->fn = fn;
	q->arg = arg;
	q->argc = argc;
	q->argv = xreallocarray(NULL, (size_t)argc, sizeof *q->argv);
	q->lens = xreallocarray(NULL, (size_t)argc, sizeof *q->lens);
	for (i = 0; i < argc; i++)
		total += (q->lens[i] = lens != NULL ? lens[i] :
		    strlen(argv[i])) + 1;
	q->bytes = xmalloc(total);
	for (i = 0; i < argc; i++) {
		memcpy(q->bytes + at, argv[i], q->lens[i]);
		q->bytes[at + q->lens[i]] = '\0';
		q->argv[i] = q->bytes + at;
		at += q->lens[i] + 1;
	}
	q->since = loop_now();
	dispatch(q);
	return 0;
}

int
cluster_command(struct cluster *cl, unsigned slot, redis_reply_fn fn,
    void *arg, int argc, const char **argv, const size_t *lens)
{
	return submit(cl, slot, -1, fn, arg, argc, argv, lens);
}

int
cluster_node_command(struct cluster *cl, size_t node, redis_reply_fn fn,
    void *arg, int argc, const char **argv, const size_t *lens)
{
	if (node >= cl->nnodes)
		return -1;
	return submit(cl, 0, (int)node, fn, arg, argc, argv, lens);
}

/* Start ------------------------------------------------------------------ */

struct cluster *
cluster_new(struct loop *l, struct redis *seed, const struct rb_redis *cfg,
    const char *password)
{
	struct cluster *cl = xcalloc(1, sizeof *cl);
	size_t i;

	cl->loop = l;
	cl->seed = seed;
	cl->cfg = cfg;
	if (password != NULL)
		cl->password = xstrdup(password);
	for (i = 0; i < CLUSTER_SLOTS; i++)
		cl->slots[i] = -1;
	cl->refresh = timer_new(l, refresh_fired, cl);
	cl->tick = timer_new(l, tick_fired, cl);
	cl->later = event_new(loop_base(l), -1, 0, notify, cl);
	cl->mode = cfg->cluster == RB_CLUSTER_ON ? CLUSTER_ON :
	    cfg->cluster == RB_CLUSTER_OFF ? CLUSTER_OFF : CLUSTER_UNKNOWN;
	return cl;
}

void
cluster_start(struct cluster *cl)
{
	size_t i;

	redis_on_state(cl->seed, seed_state, cl);
	if (cl->mode == CLUSTER_ON) {
		/* Declared: the url's node and redis.nodes are the seeds. */
		(void)add_node(cl, cl->cfg->host, cl->cfg->port);
		for (i = 0; i < cl->cfg->nnodes; i++)
			(void)add_node(cl, cl->cfg->nodes[i].host,
			    cl->cfg->nodes[i].port);
		for (i = 0; i < cl->nnodes; i++)
			cl->nodes[i].listed = false;
		cluster_refresh(cl);
	}
	seed_state(cl->seed, cl);
}
