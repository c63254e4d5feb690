/* purge_cluster.c: a purge across a Redis Cluster (see purge.h,
 * purge_set_cluster, and cluster.h).
 *
 * Checks: every slot has a primary, and every primary answers CLUSTER INFO
 * with cluster_state:ok, now (not from the last refresh); a primary that
 * is down refuses the purge at once rather than waiting for a failover.
 *
 * Preview: one SCAN walk per primary, all at once, each with the rules of
 * a single node (scan.h); a pattern whose hash tag pins one slot is walked
 * on its owner only.  A key seen by two walks (a slot migrating) counts
 * once, for the first.  The keys are then sorted by slot.
 *
 * Deletion: per primary a queue of the keys it owns at the confirmation,
 * in slot order; each UNLINK holds keys of one slot only (at most
 * PURGE_BATCH), and at most PURGE_DEPTH * PURGE_BATCH keys are in flight
 * per queue, so that a primary lost mid-purge leaves at most that many in
 * doubt.  The cluster module follows MOVED and ASK, and holds a command
 * whose primary is down until one is up (a failover) or CLUSTER_WAIT_S
 * pass: then it was never run, and its keys are untouched.  Keys are
 * settled once: deleted, gone, in doubt or an error; a key is never sent
 * twice.  With a backup, GROUP_KEYS keys at a time in slot order: their
 * DUMP and PTTL, the lines synced, then their UNLINKs. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "purge_impl.h"
#include "textesc.h"
#include "xmalloc.h"

#define WAIT_TICK_S	0.05
#define TOPOLOGY_WAIT_S	5.0	/* for a topology (the rehearsal waited) */
#define QUEUE_KEYS	(PURGE_DEPTH * PURGE_BATCH)	/* in flight, per queue */
#define BACKED_UP	0x01	/* cdone: its line is written */
#define SETTLED		0x02	/* cdone: its fate is known (or in doubt) */
#define DOUBT_KEY_MAX	1024	/* a longer key in doubt is counted, not named */
#define DOUBT_BYTES	(128 * 1024)	/* of keys in doubt named, in all */

struct cscan {
	struct purge	*p;
	struct scan	*scan;
	int		 node;
	char		**patterns;	/* the route's; not owned */
	size_t		 npatterns;
};

struct cqueue {
	size_t		*idx;		/* into ckeys, slot order */
	size_t		 n, cap, pos;
	size_t		 inflight;	/* keys */
	int		 node;		/* owner at load; -1: none */
	bool		 dead;		/* a batch waited CLUSTER_WAIT_S for a
					   primary: the rest stays untouched */
};

struct cbatch {
	struct purge	*p;
	size_t		 q;
	size_t		 first;		/* in the queue */
	size_t		 n;
};

struct cdump {
	struct purge	*p;
	size_t		 i;		/* the key, in ckeys */
	int		 answers;	/* of DUMP and PTTL */
	int		 node;		/* who answered the DUMP */
	char		*dump;
	size_t		 dlen;
	bool		 dumped;	/* DUMP answered a string */
	bool		 nil;		/* DUMP answered nil or PTTL -2 */
	long long	 pttl;
	bool		 bad;		/* an answer made the backup fail */
	char		 why[REPLY_SHOWN + 80];
};

static void	cadvance(struct purge *);

static void
fail_preview(struct purge *p, enum purge_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail_preview(struct purge *p, enum purge_state st, const char *fmt, ...)
{
	va_list ap;
	char raw[320];

	if (p->rep.state != PURGE_PREVIEWING)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	p->check_failed = true;
	p->rep.state = st;
	purge_set_reason(p, "%s", raw);
	purge_changed(p);
}

static int
node_send(struct purge *p, struct redis *r, redis_reply_fn fn, void *arg,
    int argc, const char **argv, const size_t *lens)
{
	if (redis_command(r, fn, arg, argc, argv, lens) != 0)
		return -1;
	p->outstanding++;
	return 0;
}

/* Preview: the walks -------------------------------------------------- */

static int
by_slot(const void *a, const void *b)
{
	const struct ckey *x = a, *y = b;

	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* UNLINK batches the keys make: one slot each, PURGE_BATCH at most. */
static size_t
count_batches(const struct purge *p)
{
	size_t i, j, n = 0;

	for (i = 0; i < p->nckeys; i = j) {
		for (j = i; j < p->nckeys && p->ckeys[j].slot ==
		    p->ckeys[i].slot; j++)
			;
		n += (j - i + PURGE_BATCH - 1) / PURGE_BATCH;
	}
	return n;
}

static void
free_scans(struct purge *p)
{
	size_t i;

	for (i = 0; i < p->ncscans; i++) {
		scan_cancel(p->cscans[i].scan);
		free(p->cscans[i].patterns);
	}
	free(p->cscans);
	p->cscans = NULL;
	p->ncscans = p->cscans_left = 0;
}

/* Every walk ended: their keys, once each, become the preview. */
static void
merge(struct purge *p)
{
	const struct scan_result *res;
	struct keyset tmp;
	size_t i, pos, len, nn = 0, cap = 0, k, over = 0;
	const char *key;
	int *found = NULL;
	size_t limit = p->route->allow_broad ? PURGE_HARD_LIMIT :
	    (size_t)p->route->max_keys;
	char addr[128];

	for (i = 0; i < p->ncscans; i++) {
		res = scan_result(p->cscans[i].scan);
		snprintf(addr, sizeof addr, "%s", cluster_node(p->cluster,
		    (size_t)p->cscans[i].node)->addr);
		if (res->failed && strstr(res->error, "NOPERM") != NULL) {
			fail_preview(p, PURGE_REFUSED, "this Redis user may not "
			    "run SCAN on %s, which the preview needs: %s", addr,
			    res->error);
			goto out;
		}
		if (res->failed) {
			fail_preview(p, PURGE_FAILED, "the preview failed on %s: "
			    "%s", addr, res->error);
			goto out;
		}
		if (res->over_limit)
			p->rep.over_limit = true;
		over += res->count;
	}
	if (p->rep.over_limit) {
		p->rep.counted = true;
		p->rep.previewed = over > limit ? over : limit + 1;
		p->rep.preview_ms = (loop_now() - p->cwait_since) * 1000.0;
		fail_preview(p, PURGE_REFUSED, p->route->allow_broad ? "more than "
		    "%ld keys match: too many for one purge" : "more than %ld "
		    "keys match, the route's max_keys; narrow the patterns or "
		    "set allow_broad", p->route->allow_broad ?
		    (long)PURGE_HARD_LIMIT : p->route->max_keys);
		goto out;
	}
	for (i = 0; i < p->ncscans && !p->rep.over_limit; i++) {
		keyset_init(&tmp, true);
		scan_take_keys(p->cscans[i].scan, &tmp);
		for (pos = 0; keyset_next(&tmp, &pos, &key, &len);) {
			if (!keyset_add(&p->keys, key, len))
				continue;
			if (nn == cap) {
				cap = cap ? 2 * cap : 1024;
				found = xreallocarray(found, cap, sizeof *found);
			}
			found[nn++] = p->cscans[i].node;
			purge_shard(p, p->cscans[i].node)->previewed++;
		}
		keyset_done(&tmp);
		if (p->keys.count > limit)
			p->rep.over_limit = true;
	}
	p->rep.counted = true;
	p->rep.previewed = p->keys.count;
	p->rep.preview_ms = (loop_now() - p->cwait_since) * 1000.0;
	if (p->rep.over_limit) {
		p->rep.previewed = p->keys.count;
		fail_preview(p, PURGE_REFUSED, p->route->allow_broad ? "more than "
		    "%ld keys match: too many for one purge" : "more than %ld "
		    "keys match, the route's max_keys; narrow the patterns or "
		    "set allow_broad", p->route->allow_broad ?
		    (long)PURGE_HARD_LIMIT : p->route->max_keys);
		goto out;
	}
	p->ckeys = xcalloc(nn + 1, sizeof *p->ckeys);
	p->cdone = xcalloc(nn + 1, 1);
	p->sample = xcalloc(PURGE_SAMPLE + 1, sizeof *p->sample);
	for (pos = 0, k = 0; k < nn && keyset_next(&p->keys, &pos, &key,
	    &len); k++) {
		p->ckeys[k].key = key;
		p->ckeys[k].len = len;
		p->ckeys[k].slot = cluster_keyslot(key, len);
		p->ckeys[k].node = found[k];
		if (p->nsample < PURGE_SAMPLE) {
			p->sample[p->nsample].key = xmalloc(len + 1);
			memcpy(p->sample[p->nsample].key, key, len);
			p->sample[p->nsample].key[len] = '\0';
			p->sample[p->nsample++].len = len;
		}
	}
	p->nckeys = k;
	qsort(p->ckeys, p->nckeys, sizeof *p->ckeys, by_slot);
	p->rep.batches_total = count_batches(p);
	if (cluster_moves(p->cluster) != p->cmoves)
		snprintf(p->rep.warning, sizeof p->rep.warning, "slots moved "
		    "between primaries while the preview walked them (a reshard "
		    "or a failover): a key that moved meanwhile may not be "
		    "counted; preview again once the cluster is still");
	free(found);
	free_scans(p);
	if (p->backup_path != NULL)
		purge_probe_backup(p);
	else
		purge_acl_probe(p);
	return;
out:
	free(found);
	free_scans(p);
}

static void
scan_done(struct scan *s, void *arg)
{
	struct cscan *c = arg;
	struct purge *p = c->p;

	(void)s;
	if (--p->cscans_left == 0)
		merge(p);
}

static void
start_walks(struct purge *p)
{
	struct cluster *cl = p->cluster;
	const struct cluster_node *n;
	struct scan_opts o;
	size_t i, j, nn = cluster_nnodes(cl);
	int slot;

	p->cscans = xcalloc(nn + 1, sizeof *p->cscans);
	for (i = 0; i < nn; i++) {
		struct cscan *c = &p->cscans[p->ncscans];

		n = cluster_node(cl, i);
		if (!n->primary || n->nslots == 0)
			continue;
		c->p = p;
		c->node = (int)i;
		c->patterns = xcalloc(p->route->nkeys + 1, sizeof *c->patterns);
		for (j = 0; j < p->route->nkeys; j++) {
			slot = cluster_pattern_slot(p->route->keys[j]);
			if (slot < 0 || cluster_slot_owner(cl, (unsigned)slot) ==
			    (int)i)
				c->patterns[c->npatterns++] = p->route->keys[j];
		}
		if (c->npatterns == 0) {
			free(c->patterns);
			memset(c, 0, sizeof *c);
			continue;
		}
		purge_shard(p, (int)i)->walked = true;	/* in the preview */
		p->ncscans++;
	}
	p->cscans_left = p->ncscans;
	p->cmoves = cluster_moves(cl);
	if (p->ncscans == 0) {
		merge(p);	/* nothing to walk: no key can match */
		return;
	}
	for (i = 0; i < p->ncscans; i++) {
		memset(&o, 0, sizeof o);
		o.patterns = p->cscans[i].patterns;
		o.npatterns = p->cscans[i].npatterns;
		o.keep = true;
		o.limit = p->route->allow_broad ? PURGE_HARD_LIMIT :
		    (size_t)p->route->max_keys;
		p->cscans[i].scan = scan_start(cluster_node(cl,
		    (size_t)p->cscans[i].node)->conn, &o, scan_done,
		    &p->cscans[i]);
	}
}

/* Preview: the checks ------------------------------------------------- */

static void
state_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct purge *p = arg;
	char addr[128], state[32];
	const char *s;
	size_t l;

	if (purge_answered(p))
		return;
	p->checks--;
	if (p->rep.state != PURGE_PREVIEWING || p->check_failed)
		goto out;
	redis_address(r, addr, sizeof addr);
	if (rep == NULL) {
		fail_preview(p, PURGE_REFUSED, "the cluster is not ok: primary %s "
		    "failed: %s; nothing was deleted", addr, err);
		goto out;
	}
	if (rep->type != REDIS_REPLY_STRING || (s = memmem(rep->str, rep->len,
	    "cluster_state:", 14)) == NULL) {
		char text[REPLY_SHOWN + 1];

		fail_preview(p, PURGE_REFUSED, "cannot tell whether the cluster "
		    "is ok: CLUSTER INFO on %s answered '%s'; the purge needs "
		    "permission to run it (ACL +cluster|info)", addr,
		    purge_reply_text(rep, text, sizeof text));
		goto out;
	}
	s += 14;
	for (l = 0; s + l < rep->str + rep->len && l < sizeof state - 1 &&
	    s[l] >= 'a' && s[l] <= 'z'; l++)
		state[l] = s[l];
	state[l] = '\0';
	if (strcmp(state, "ok") != 0)
		fail_preview(p, PURGE_REFUSED, "the cluster is not ok: primary %s "
		    "says cluster_state:%s; nothing was deleted", addr, state);
out:
	if (p->checks == 0 && !p->check_failed &&
	    p->rep.state == PURGE_PREVIEWING)
		start_walks(p);
}

/* The topology is known: every slot owned, every primary up and ok. */
static void
check_state(struct purge *p)
{
	struct cluster *cl = p->cluster;
	const struct cluster_node *n;
	const char *argv[] = { "CLUSTER", "INFO" };
	const size_t lens[] = { 7, 4 };
	unsigned s, e;
	size_t i;
	char d[200];

	for (s = 0; s < CLUSTER_SLOTS; s++) {
		if (cluster_slot_owner(cl, s) >= 0)
			continue;
		for (e = s; e + 1 < CLUSTER_SLOTS && cluster_slot_owner(cl,
		    e + 1) < 0; e++)
			;
		fail_preview(p, PURGE_REFUSED, "the cluster is not ok: slots "
		    "%u-%u have no primary; nothing was deleted", s, e);
		return;
	}
	for (i = 0; i < cluster_nnodes(cl); i++) {
		n = cluster_node(cl, i);
		if (!n->primary)
			continue;
		if (redis_status(n->conn)->state != REDIS_UP) {
			redis_describe(n->conn, d, sizeof d);
			fail_preview(p, PURGE_REFUSED, "the cluster is not ok: "
			    "primary %s is %s; nothing was deleted", n->addr, d);
			return;
		}
	}
	p->checks = 0;
	for (i = 0; i < cluster_nnodes(cl); i++) {
		n = cluster_node(cl, i);
		if (!n->primary)
			continue;
		if (node_send(p, n->conn, state_reply, p, 2, argv, lens) != 0) {
			fail_preview(p, PURGE_FAILED, "cannot ask %s: not "
			    "connected", n->addr);
			return;
		}
		p->checks++;
	}
}

static void
wait_fired(evutil_socket_t fd, short what, void *arg)
{
	struct purge *p = arg;
	struct cluster *cl = p->cluster;
	struct timeval tv = { 0, (suseconds_t)(WAIT_TICK_S * 1e6) };
	const char *prob;

	(void)fd;
	(void)what;
	if (p->rep.state != PURGE_PREVIEWING)
		return;
	if (cluster_known(cl) && cluster_error(cl)[0] == '\0' &&
	    (cluster_settled(cl) || loop_now() - p->cwait_since >
	    TOPOLOGY_WAIT_S)) {
		check_state(p);
		return;
	}
	if (loop_now() - p->cwait_since > TOPOLOGY_WAIT_S) {
		prob = cluster_problem(cl);
		fail_preview(p, PURGE_FAILED, "the cluster's topology could not "
		    "be read: %s", cluster_error(cl)[0] != '\0' ?
		    cluster_error(cl) : prob != NULL ? prob : "no answer");
		return;
	}
	evtimer_add(p->cwait, &tv);
}

void
purge_cluster_preview(struct purge *p)
{
	p->rep.cluster = true;
	p->cwait_since = loop_now();
	if (p->cwait == NULL)
		p->cwait = evtimer_new(redis_loop_base(p->redis), wait_fired, p);
	wait_fired(-1, 0, p);
}

void
purge_cluster_stop(struct purge *p)
{
	if (p->cwait != NULL) {
		event_free(p->cwait);
		p->cwait = NULL;
	}
	free_scans(p);
}

/* Deletion: UNLINK queues --------------------------------------------- */

static void
note_error(struct purge_shard *sh, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note_error(struct purge_shard *sh, const char *fmt, ...)
{
	va_list ap;
	char raw[200], *e;

	if (sh->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	e = esc_str(raw, 0);
	snprintf(sh->error, sizeof sh->error, "%s", e);
	free(e);
}

static void
free_queues(struct purge *p)
{
	size_t i;

	for (i = 0; i < p->ncq; i++)
		free(p->cq[i].idx);
	free(p->cq);
	p->cq = NULL;
	p->ncq = 0;
}

/* The keys of [first, end) that are to go, each in the queue of the
 * primary that owns its slot now (the last queue: no owner yet). */
static void
load_queues(struct purge *p, size_t first, size_t end, bool backed_up)
{
	size_t i, nn = cluster_nnodes(p->cluster), qi;
	struct cqueue *q;
	int owner;

	free_queues(p);
	p->ncq = nn + 1;
	p->cq = xcalloc(p->ncq, sizeof *p->cq);
	for (i = 0; i < p->ncq; i++)
		p->cq[i].node = i < nn ? (int)i : -1;
	for (i = first; i < end; i++) {
		if (p->cdone[i] & SETTLED)
			continue;
		if (backed_up && !(p->cdone[i] & BACKED_UP))
			continue;
		owner = cluster_slot_owner(p->cluster, p->ckeys[i].slot);
		qi = owner >= 0 && (size_t)owner < nn ? (size_t)owner : nn;
		q = &p->cq[qi];
		if (q->n == q->cap) {
			q->cap = q->cap ? 2 * q->cap : 256;
			q->idx = xreallocarray(q->idx, q->cap, sizeof *q->idx);
		}
		q->idx[q->n++] = i;
	}
}

/* Names a key in doubt on its shard; the names are bounded so that the
 * purge.done record stays far below the audit log's longest line. */
static void
doubt(struct purge *p, struct purge_shard *sh, const struct ckey *k)
{
	if (sh->ndoubt >= QUEUE_KEYS || k->len > DOUBT_KEY_MAX ||
	    p->cdoubt_bytes + k->len > DOUBT_BYTES) {
		sh->doubt_cut = true;
		return;
	}
	p->cdoubt_bytes += k->len;
	if (sh->ndoubt % 64 == 0)
		sh->doubt = xreallocarray(sh->doubt, sh->ndoubt + 64,
		    sizeof *sh->doubt);
	sh->doubt[sh->ndoubt].key = xmalloc(k->len + 1);
	memcpy(sh->doubt[sh->ndoubt].key, k->key, k->len);
	sh->doubt[sh->ndoubt].key[k->len] = '\0';
	sh->doubt[sh->ndoubt++].len = k->len;
}

static void
batch_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct cbatch *b = arg;
	struct purge *p = b->p;
	struct cqueue *q;
	struct purge_shard *sh;
	char text[REPLY_SHOWN + 1];
	size_t j, n = b->n;
	unsigned slot;
	int node;

	if (purge_answered(p)) {
		free(b);
		return;
	}
	q = &p->cq[b->q];
	q->inflight -= n;
	p->cinflight--;
	node = r != NULL ? cluster_node_of(p->cluster, r) : -1;
	if (node < 0)
		node = q->node >= 0 ? q->node : 0;
	sh = purge_shard(p, node);
	if (rep == NULL && cluster_unsent(err)) {
		/* No server saw it: untouched, counted at the end; so are the
		   keys its queue has still to send. */
		note_error(sh, "%s", err);
		q->dead = true;
	} else if (rep == NULL || p->desync) {
		for (j = 0; j < n; j++) {
			p->cdone[q->idx[b->first + j]] |= SETTLED;
			doubt(p, sh, &p->ckeys[q->idx[b->first + j]]);
		}
		sh->in_doubt += n;
		p->rep.in_doubt += n;
		note_error(sh, "%s", err != NULL ? err : "replies out of step");
	} else if (rep->type == REDIS_REPLY_ERROR) {
		for (j = 0; j < n; j++)
			p->cdone[q->idx[b->first + j]] |= SETTLED;
		sh->errors += n;
		p->rep.errors += n;
		note_error(sh, "UNLINK failed: %s", purge_reply_text(rep, text,
		    sizeof text));
		purge_fail(p, "UNLINK failed on %s: %s", sh->node,
		    purge_reply_text(rep, text, sizeof text));
	} else if (rep->type != REDIS_REPLY_INTEGER || rep->integer < 0 ||
	    (unsigned long long)rep->integer > n) {
		for (j = 0; j < n; j++) {
			p->cdone[q->idx[b->first + j]] |= SETTLED;
			doubt(p, sh, &p->ckeys[q->idx[b->first + j]]);
		}
		sh->in_doubt += n;
		p->rep.in_doubt += n;
		p->desync = true;
		note_error(sh, "an impossible UNLINK reply");
		purge_fail(p, "protocol error: UNLINK of %zu keys on %s answered "
		    "%s%lld (the connection was reset)", n, sh->node,
		    rep->type == REDIS_REPLY_INTEGER ? "" : "a non-integer ",
		    rep->type == REDIS_REPLY_INTEGER ? (long long)rep->integer :
		    0LL);
		redis_reset(r, "protocol error: an impossible UNLINK reply");
	} else {
		for (j = 0; j < n; j++)
			p->cdone[q->idx[b->first + j]] |= SETTLED;
		sh->deleted += (size_t)rep->integer;
		sh->gone += n - (size_t)rep->integer;
		sh->batches++;
		if (sh->slots == NULL)
			sh->slots = xcalloc(CLUSTER_SLOTS / 8, 1);
		slot = p->ckeys[q->idx[b->first]].slot;
		sh->slots[slot / 8] |= (unsigned char)(1u << (slot % 8));
		p->rep.deleted += (size_t)rep->integer;
		p->rep.gone += n - (size_t)rep->integer;
		p->rep.batches++;
		purge_changed(p);
	}
	free(b);
	cadvance(p);
}

/* Sends from every queue until each has QUEUE_KEYS keys in flight. */
static void
pump_queues(struct purge *p)
{
	const char *argv[PURGE_BATCH + 1];
	size_t lens[PURGE_BATCH + 1], qi, n;
	struct cqueue *q;
	struct cbatch *b;
	unsigned slot;

	argv[0] = "UNLINK";
	lens[0] = 6;
	for (qi = 0; qi < p->ncq; qi++) {
		q = &p->cq[qi];
		while (!p->failed && !p->cancel && !q->dead && q->pos < q->n) {
			slot = p->ckeys[q->idx[q->pos]].slot;
			for (n = 0; n < PURGE_BATCH && q->pos + n < q->n &&
			    p->ckeys[q->idx[q->pos + n]].slot == slot; n++) {
				argv[n + 1] = p->ckeys[q->idx[q->pos + n]].key;
				lens[n + 1] = p->ckeys[q->idx[q->pos + n]].len;
			}
			if (q->inflight + n > QUEUE_KEYS)
				break;
			b = xcalloc(1, sizeof *b);
			b->p = p;
			b->q = qi;
			b->first = q->pos;
			b->n = n;
			if (cluster_command(p->cluster, slot, batch_reply, b,
			    (int)n + 1, argv, lens) != 0) {
				free(b);
				if (p->cinflight == 0)
					purge_fail(p, "too many commands wait for "
					    "the cluster");
				break;
			}
			p->outstanding++;
			p->cinflight++;
			q->inflight += n;
			q->pos += n;
		}
	}
}

static bool
queues_drained(const struct purge *p)
{
	size_t i;

	for (i = 0; i < p->ncq; i++)
		if (!p->cq[i].dead && p->cq[i].pos < p->cq[i].n)
			return false;
	return true;
}

/* Deletion: backup groups --------------------------------------------- */

static void
dump_settle(struct cdump *c)
{
	struct purge *p = c->p;
	struct purge_shard *sh = purge_shard(p, c->node >= 0 ? c->node :
	    p->ckeys[c->i].node);
	const struct ckey *k = &p->ckeys[c->i];
	char *cause = NULL;
	size_t before;

	if (p->failed)
		return;
	if (c->bad) {
		note_error(sh, "%s", c->why);
		purge_fail(p, "%s on %s; nothing of this batch was deleted",
		    c->why, sh->node);
		return;
	}
	if (!c->dumped || c->nil) {
		p->cdone[c->i] |= SETTLED;
		sh->gone++;
		p->rep.gone++;
		return;
	}
	before = backup_pending(p->backup);
	if (backup_add(p->backup, k->key, k->len, c->dump, c->dlen, c->pttl,
	    &cause) != 0) {
		purge_fail(p, "%s; nothing of this batch was deleted", cause);
		free(cause);
		return;
	}
	p->avg_line = p->avg_line == 0 ? (double)(backup_pending(p->backup) -
	    before) : 0.9 * p->avg_line + 0.1 * (double)(backup_pending(
	    p->backup) - before);
	p->cdone[c->i] |= BACKED_UP;
	sh->backed_up++;
	p->rep.backed_up++;
}

static void
dump_answer(struct redis *r, redisReply *rep, const char *err, void *arg,
    bool is_dump)
{
	struct cdump *c = arg;
	struct purge *p = c->p;
	char text[REPLY_SHOWN + 1];

	if (purge_answered(p)) {
		if (++c->answers == 2) {
			free(c->dump);
			free(c);
		}
		return;
	}
	if (rep == NULL) {
		c->bad = true;
		snprintf(c->why, sizeof c->why, "Redis failed while backing up: "
		    "%.200s", err);
	} else if (is_dump) {
		c->node = r != NULL ? cluster_node_of(p->cluster, r) : -1;
		if (rep->type == REDIS_REPLY_STRING) {
			c->dump = xmalloc(rep->len + 1);
			memcpy(c->dump, rep->str, rep->len);
			c->dlen = rep->len;
			c->dumped = true;
		} else if (rep->type == REDIS_REPLY_NIL)
			c->nil = true;
		else {
			/* Only nil means gone (see DESIGN). */
			c->bad = true;
			snprintf(c->why, sizeof c->why, "DUMP answered '%s' while "
			    "backing up", purge_reply_text(rep, text,
			    sizeof text));
		}
	} else if (rep->type != REDIS_REPLY_INTEGER || rep->integer < -2) {
		c->bad = true;
		snprintf(c->why, sizeof c->why, "PTTL answered '%s' while backing "
		    "up", purge_reply_text(rep, text, sizeof text));
	} else if (rep->integer == -2)
		c->nil = true;
	else
		c->pttl = rep->integer;
	if (++c->answers < 2)
		return;
	dump_settle(c);
	free(c->dump);
	free(c);
	p->cdumps_waiting--;
	cadvance(p);
}

static void
dump_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	dump_answer(r, rep, err, arg, true);
}

static void
pttl_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	dump_answer(r, rep, err, arg, false);
}

/* The open group: DUMP+PTTL pairs in flight (fewer for large values, as
 * on one node), until GROUP_KEYS keys or about GROUP_BYTES of lines. */
static void
pump_dumps(struct purge *p)
{
	const char *argv[2];
	size_t lens[2], window = DUMP_WINDOW;
	struct cdump *c;
	const struct ckey *k;

	if (p->avg_line == 0)
		window = DUMP_FIRST;
	else if ((double)GROUP_BYTES / p->avg_line / 4 < (double)window)
		window = (size_t)((double)GROUP_BYTES / p->avg_line / 4) + 1;
	while (!p->failed && !p->cancel && p->cdumps_waiting < window &&
	    p->cdump_next < p->nckeys && p->cdump_next - p->cgroup_first <
	    GROUP_KEYS && backup_pending(p->backup) < GROUP_BYTES) {
		k = &p->ckeys[p->cdump_next];
		c = xcalloc(1, sizeof *c);
		c->p = p;
		c->i = p->cdump_next;
		c->node = -1;
		argv[1] = k->key;
		lens[1] = k->len;
		argv[0] = "DUMP";
		lens[0] = 4;
		if (cluster_command(p->cluster, k->slot, dump_reply, c, 2, argv,
		    lens) != 0) {
			free(c);
			purge_fail(p, "too many commands wait for the cluster; "
			    "nothing of this batch was deleted");
			return;
		}
		p->outstanding++;
		argv[0] = "PTTL";
		if (cluster_command(p->cluster, k->slot, pttl_reply, c, 2, argv,
		    lens) != 0) {
			c->answers++;	/* its DUMP's answer frees it */
			c->bad = true;
			snprintf(c->why, sizeof c->why, "too many commands wait "
			    "for the cluster");
		} else
			p->outstanding++;
		p->cdumps_waiting++;
		p->cdump_next++;
	}
}

/* The group's lines are all in: synced, its keys may go. */
static void
group_synced(struct purge *p)
{
	char *cause = NULL;

	p->cgroup_end = p->cdump_next;
	if (backup_sync(p->backup, &cause) != 0) {
		p->rep.errors++;
		purge_fail(p, "%s; nothing of this batch was deleted", cause);
		free(cause);
		return;
	}
	snprintf(p->backup_hash, sizeof p->backup_hash, "%s",
	    backup_writer_hash(p->backup));
	load_queues(p, p->cgroup_first, p->cgroup_end, true);
	p->cunlinking = true;
}

/* End ----------------------------------------------------------------- */

/* Keys never settled are untouched, on the shard that owns them now. */
static void
count_untouched(struct purge *p)
{
	size_t i;
	int owner;

	p->rep.untouched = 0;
	for (i = 0; i < p->nckeys; i++) {
		if (p->cdone[i] & SETTLED)
			continue;
		owner = cluster_slot_owner(p->cluster, p->ckeys[i].slot);
		purge_shard(p, owner >= 0 ? owner : p->ckeys[i].node)->
		    untouched++;
		p->rep.untouched++;
	}
}

/* The reason of a purge that did not delete every key: per shard. */
static void
shard_reason(struct purge *p)
{
	char buf[320];
	size_t i, used = 0;
	const struct purge_shard *sh;
	int n;

	buf[0] = '\0';
	for (i = 0; i < p->rep.nshards && used < sizeof buf - 1; i++) {
		sh = &p->rep.shards[i];
		if (sh->in_doubt == 0 && sh->untouched == 0)
			continue;
		n = snprintf(buf + used, sizeof buf - used, "%s%s: %zu in doubt, "
		    "%zu untouched%s%.120s", used ? "; " : "", sh->node,
		    sh->in_doubt, sh->untouched, sh->error[0] ? " (" : "",
		    sh->error);
		if (n > 0)
			used += (size_t)n;
		if (used < sizeof buf - 1 && sh->error[0] != '\0')
			used += (size_t)snprintf(buf + used, sizeof buf - used,
			    ")");
	}
	purge_set_reason(p, "%s", buf);
}

static void
cadvance(struct purge *p)
{
	if (p->rep.state != PURGE_RUNNING)
		return;
	if (p->backup != NULL && !p->cunlinking) {
		pump_dumps(p);
		if (p->cdumps_waiting == 0 && !p->failed && (p->cdump_next >
		    p->cgroup_first || p->cdump_next == p->nckeys))
			group_synced(p);
	}
	if (p->backup == NULL || p->cunlinking)
		pump_queues(p);
	if (p->cinflight > 0 || p->cdumps_waiting > 0)
		return;
	if (!p->failed && !p->cancel && p->backup != NULL && p->cunlinking &&
	    p->cgroup_end < p->nckeys) {
		/* The next group. */
		p->cunlinking = false;
		p->cgroup_first = p->cgroup_end;
		free_queues(p);
		cadvance(p);
		return;
	}
	if (!p->failed && !p->cancel && (!queues_drained(p) ||
	    (p->backup != NULL && !p->cunlinking)))
		return;		/* a queue waits for room in the cluster */
	count_untouched(p);
	free_queues(p);
	if (p->failed)
		purge_end(p, PURGE_FAILED);
	else if (p->cancel && p->rep.untouched > 0) {
		purge_set_reason(p, "cancelled after %zu of %zu batches",
		    p->rep.batches, p->rep.batches_total);
		purge_end(p, PURGE_CANCELLED);
	} else if (p->rep.in_doubt > 0 || p->rep.untouched > 0) {
		shard_reason(p);
		purge_end(p, PURGE_FAILED);
	} else
		purge_end(p, PURGE_DONE);
}

void
purge_cluster_confirm(struct purge *p)
{
	if (p->backup == NULL)
		load_queues(p, 0, p->nckeys, false);
	cadvance(p);
}
