/* purge_acl.c: before a purge is confirmed, whether this Redis user may
 * UNLINK the previewed keys (see purge.h and purge_impl.h).
 *
 * The method: on a connection of its own, MULTI; once it answered OK,
 * UNLINK of each key checked (PURGE_ACL_KEYS of the previewed keys, spread
 * evenly, and the first key of every pattern, since ACL key patterns may
 * allow one pattern and not another), one command a key, then DISCARD; the
 * connection is closed after.  Redis checks ACL (command and key
 * patterns) when it queues a command, so each UNLINK answers QUEUED or
 * NOPERM naming the refusal, and nothing runs: no EXEC is ever sent, and
 * the server drops the transaction with the connection even if DISCARD is
 * refused (checked with redis-server 7.0 and valkey-server 8.0).
 *
 * Why not on the purge's connection: readouts and other modules share it,
 * and anything they sent between MULTI and DISCARD would be queued, not
 * run.  Why MULTI alone first, never pipelined with the UNLINKs: a user
 * who may not run MULTI gets NOPERM for it, and the UNLINK right behind it
 * would then really delete the key before anyone confirmed.  Why not ACL
 * DRYRUN: it needs the username (ACL WHOAMI) and permission to run ACL,
 * which the restricted users whose permissions matter rarely have, and it
 * is not in Redis 6; MULTI needs only MULTI.  When the check cannot be
 * made (MULTI refused, the second connection fails), the preview carries
 * a warning and the purge goes on by the usual rules: an UNLINK refused
 * later fails the purge, counted as always. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "cluster.h"
#include "purge_impl.h"
#include "textesc.h"
#include "xmalloc.h"

/* Closes the check's connections on the next loop turn (never from inside
 * one of their callbacks) and lets the preview go on. */
static void
acl_finish(struct purge *p)
{
	if (p->acl_done)
		return;
	p->acl_done = true;
	if (p->acl_ev != NULL)
		event_active(p->acl_ev, 0, 0);
	if (p->rep.state == PURGE_PREVIEWING)
		purge_ready(p);
}

/* One connection is through; the check is once all are. */
static void
conn_done(struct acl_conn *c)
{
	if (c->done)
		return;
	c->done = true;
	if (--c->p->acl_left == 0)
		acl_finish(c->p);
}

static void
acl_warn(struct purge *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
acl_warn(struct purge *p, const char *fmt, ...)
{
	va_list ap;
	char raw[320], *e;

	if (p->acl_done)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	e = esc_str(raw, 0);
	snprintf(p->rep.warning, sizeof p->rep.warning, "cannot tell whether "
	    "this Redis user may run UNLINK on the keys: %s", e);
	free(e);
	acl_finish(p);
}

static void
close_all(struct purge *p)
{
	size_t i;

	for (i = 0; i < p->nacl; i++) {
		struct redis *r = p->acl[i].r;

		p->acl[i].r = NULL;
		redis_free(r);		/* fails what is still in flight */
	}
}

static void
acl_free_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	close_all(arg);
}

static int
acl_send(struct acl_conn *c, redis_reply_fn fn, int argc, const char **argv,
    const size_t *lens)
{
	if (c->r == NULL || redis_command(c->r, fn, c, argc, argv, lens) != 0)
		return -1;
	c->p->outstanding++;
	return 0;
}

static void
discard_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct acl_conn *c = arg;

	(void)r;
	(void)rep;
	(void)err;
	if (purge_answered(c->p))
		return;
	/* Refused or not, the connection goes now, and the transaction
	 * with it. */
	conn_done(c);
}

/* Redirections say the slot moved meanwhile, not that UNLINK is refused. */
static bool
redirected(const redisReply *rep)
{
	return rep->len >= 4 && (memcmp(rep->str, "MOVED", 5) == 0 ||
	    memcmp(rep->str, "ASK ", 4) == 0 || memcmp(rep->str, "TRYAGAIN",
	    rep->len < 8 ? rep->len : 8) == 0 || memcmp(rep->str,
	    "CLUSTERDOWN", rep->len < 11 ? rep->len : 11) == 0);
}

/* The answer to UNLINK of the answered-th key of its connection. */
static void
queued_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct acl_conn *c = arg;
	struct purge *p = c->p;
	char text[REPLY_SHOWN + 1], *k;
	size_t i;

	(void)r;
	if (purge_answered(p))
		return;
	i = c->first + c->answered++;
	if (p->acl_done || p->rep.state != PURGE_PREVIEWING)
		return;
	if (rep == NULL) {
		acl_warn(p, "its connection failed: %s", err);
		return;
	}
	if (rep->type == REDIS_REPLY_STATUS && rep->len == 6 &&
	    memcmp(rep->str, "QUEUED", 6) == 0)
		return;		/* allowed; the next key, or DISCARD */
	if (rep->type != REDIS_REPLY_ERROR || redirected(rep)) {
		acl_warn(p, "UNLINK in MULTI answered '%s'", purge_reply_text(
		    rep, text, sizeof text));
		return;
	}
	/* An error when queueing: NOPERM (the command or the key's pattern),
	 * or UNLINK renamed away.  The purge could not run: refused. */
	k = i < p->nacl_keys ? esc_text(p->acl_keys[i].key,
	    p->acl_keys[i].len, ESC_BACKSLASH) : xstrdup("?");
	p->check_failed = true;
	p->rep.state = PURGE_REFUSED;
	purge_set_reason(p, "this Redis user may not run UNLINK on key '%.80s': "
	    "%s; nothing was deleted", k, purge_reply_text(rep, text,
	    sizeof text));
	free(k);
	acl_finish(p);
	purge_changed(p);
}

/* MULTI answered: only now the UNLINKs may go (see the top). */
static void
multi_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct acl_conn *c = arg;
	struct purge *p = c->p;
	char text[REPLY_SHOWN + 1];
	const char *argv[2];
	size_t lens[2], i;

	(void)r;
	if (purge_answered(p) || p->acl_done)
		return;
	if (rep == NULL) {
		acl_warn(p, "its connection failed: %s", err);
		return;
	}
	if (rep->type != REDIS_REPLY_STATUS || rep->len != 2 ||
	    memcmp(rep->str, "OK", 2) != 0) {
		acl_warn(p, "MULTI answered '%s'", purge_reply_text(rep, text,
		    sizeof text));
		return;
	}
	argv[0] = "UNLINK";
	lens[0] = 6;
	for (i = c->first; i < c->first + c->n; i++) {
		argv[1] = p->acl_keys[i].key;
		lens[1] = p->acl_keys[i].len;
		if (acl_send(c, queued_reply, 2, argv, lens) != 0) {
			acl_warn(p, "its connection failed");
			return;
		}
	}
	argv[0] = "DISCARD";
	lens[0] = 7;
	if (acl_send(c, discard_reply, 1, argv, lens) != 0)
		acl_warn(p, "its connection failed");
}

static void
acl_state(struct redis *r, void *arg)
{
	struct acl_conn *c = arg;
	struct purge *p = c->p;
	const struct redis_status *st = redis_status(r);
	const char *argv[1] = { "MULTI" };
	const size_t lens[1] = { 5 };

	if (p->acl_done || c->done)
		return;
	if (st->state == REDIS_UP && !c->sent) {
		c->sent = true;
		if (acl_send(c, multi_reply, 1, argv, lens) != 0)
			acl_warn(p, "its connection failed");
	} else if (st->state == REDIS_DOWN && st->failures > 0)
		acl_warn(p, "a second connection for the check failed: %s",
		    st->error);
}

/* The keys checked: every step-th previewed key, and for each pattern the
 * first key it matches when none of those did. */
static void
pick_keys(struct purge *p)
{
	size_t n = p->keys.count, step, pos = 0, i = 0, len, j, k, cap;
	const char *key;
	bool *seen;

	cap = PURGE_ACL_KEYS + p->route->nkeys;
	p->acl_keys = xcalloc(cap, sizeof *p->acl_keys);
	seen = xcalloc(p->route->nkeys + 1, sizeof *seen);
	step = n > PURGE_ACL_KEYS ? (n + PURGE_ACL_KEYS - 1) / PURGE_ACL_KEYS :
	    1;
	for (; keyset_next(&p->keys, &pos, &key, &len); i++) {
		bool take = i % step == 0 && p->nacl_keys < PURGE_ACL_KEYS;

		for (j = 0; j < p->route->nkeys; j++) {
			if (seen[j] || !backup_glob(p->route->keys[j], key, len))
				continue;
			seen[j] = true;
			take = true;
		}
		if (take && p->nacl_keys < cap) {
			p->acl_keys[p->nacl_keys].key = key;
			p->acl_keys[p->nacl_keys++].len = len;
		}
		for (k = 0; k < p->route->nkeys && seen[k]; k++)
			;
		if (k == p->route->nkeys && p->nacl_keys >= PURGE_ACL_KEYS)
			break;
	}
	free(seen);
}

/* A cluster's keys are checked on the primary that owns each: sorted by
 * owner, one connection per owner. */
static int	by_owner_cl_sort(const void *, const void *);
static const struct cluster *sort_cl;

static int
by_owner_cl_sort(const void *a, const void *b)
{
	const struct acl_key *x = a, *y = b;
	int ox = cluster_slot_owner(sort_cl, cluster_keyslot(x->key, x->len));
	int oy = cluster_slot_owner(sort_cl, cluster_keyslot(y->key, y->len));

	return ox < oy ? -1 : ox > oy;
}

static void
add_conn(struct purge *p, struct redis *r, size_t first, size_t n)
{
	struct acl_conn *c = &p->acl[p->nacl++];

	c->p = p;
	c->r = r;
	c->first = first;
	c->n = n;
	p->acl_left++;
	redis_on_state(r, acl_state, c);
}

void
purge_acl_probe(struct purge *p)
{
	size_t i, j;
	int owner;

	pick_keys(p);
	if (p->nacl_keys == 0) {
		purge_ready(p);
		return;
	}
	p->acl_ev = event_new(redis_loop_base(p->redis), -1, 0, acl_free_cb,
	    p);
	if (!p->in_cluster) {
		p->acl = xcalloc(1, sizeof *p->acl);
		add_conn(p, redis_new_like(p->redis), 0, p->nacl_keys);
	} else {
		sort_cl = p->cluster;
		qsort(p->acl_keys, p->nacl_keys, sizeof *p->acl_keys,
		    by_owner_cl_sort);
		p->acl = xcalloc(p->nacl_keys, sizeof *p->acl);
		for (i = 0; i < p->nacl_keys; i = j) {
			owner = cluster_slot_owner(p->cluster, cluster_keyslot(
			    p->acl_keys[i].key, p->acl_keys[i].len));
			for (j = i + 1; j < p->nacl_keys && cluster_slot_owner(
			    p->cluster, cluster_keyslot(p->acl_keys[j].key,
			    p->acl_keys[j].len)) == owner; j++)
				;
			if (owner < 0) {
				acl_warn(p, "a key's slot has no primary");
				return;
			}
			add_conn(p, redis_new_at(cluster_node(p->cluster,
			    (size_t)owner)->conn, cluster_node(p->cluster,
			    (size_t)owner)->host, cluster_node(p->cluster,
			    (size_t)owner)->port), i, j - i);
		}
	}
	for (i = 0; i < p->nacl; i++)
		if (p->acl[i].r != NULL)
			redis_start(p->acl[i].r);
}

void
purge_acl_stop(struct purge *p)
{
	p->acl_done = true;
	if (p->acl_ev != NULL) {
		event_free(p->acl_ev);
		p->acl_ev = NULL;
	}
	close_all(p);
	free(p->acl);
	p->acl = NULL;
	p->nacl = 0;
	free(p->acl_keys);
	p->acl_keys = NULL;
	p->nacl_keys = 0;
}
