/* purge.c: see purge.h; the deletion is in purge_delete.c, the check of
 * UNLINK permission in purge_acl.c. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "cluster.h"
#include "purge_impl.h"
#include "textesc.h"
#include "xmalloc.h"

const char *
purge_state_name(enum purge_state s)
{
	static const char *const names[] = { "new", "previewing", "ready",
	    "refused", "running", "done", "cancelled", "failed" };

	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

static void
notify(evutil_socket_t fd, short what, void *arg)
{
	struct purge *p = arg;

	(void)fd;
	(void)what;
	if (p->fn != NULL)
		p->fn(p, p->arg);
}

/* Tells the caller on the next loop turn, never from inside a call. */
void
purge_changed(struct purge *p)
{
	if (p->later != NULL)
		event_active(p->later, 0, 0);
}

void
purge_set_reason(struct purge *p, const char *fmt, ...)
{
	va_list ap;
	char raw[320], *e;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	e = esc_str(raw, 0);
	snprintf(p->rep.reason, sizeof p->rep.reason, "%s", e);
	free(e);
}

/* A server's error reply or a wrong type, for a reason: at most
 * REPLY_SHOWN bytes (set_reason escapes them). */
const char *
purge_reply_text(const redisReply *rep, char *buf, size_t len)
{
	if (rep->type == REDIS_REPLY_ERROR || rep->type == REDIS_REPLY_STATUS)
		snprintf(buf, len, "%.*s", (int)(rep->len > REPLY_SHOWN ?
		    REPLY_SHOWN : rep->len), rep->str ? rep->str : "");
	else
		snprintf(buf, len, "a reply of type %d", rep->type);
	return buf;
}

struct purge *
purge_new(struct redis *r, const struct rb_route *route,
    const char *backup_path, purge_event_fn fn, void *arg)
{
	struct purge *p = xcalloc(1, sizeof *p);

	p->redis = r;
	p->route = route;
	p->fn = fn;
	p->arg = arg;
	if (backup_path != NULL)
		p->backup_path = xstrdup(backup_path);
	keyset_init(&p->keys, true);
	p->later = event_new(redis_loop_base(r), -1, 0, notify, p);
	return p;
}

void
purge_set_cluster(struct purge *p, struct cluster *cl)
{
	p->cluster = cl;
}

struct purge_shard *
purge_shard(struct purge *p, int node)
{
	size_t n = node < 0 ? 0 : (size_t)node, i;
	const struct cluster_node *cn;

	if (n >= p->rep.nshards) {
		p->rep.shards = xreallocarray(p->rep.shards, n + 1,
		    sizeof *p->rep.shards);
		memset(p->rep.shards + p->rep.nshards, 0, (n + 1 -
		    p->rep.nshards) * sizeof *p->rep.shards);
		for (i = p->rep.nshards; i <= n; i++)
			if (p->cluster != NULL && (cn = cluster_node(p->cluster,
			    i)) != NULL)
				snprintf(p->rep.shards[i].node, sizeof
				    p->rep.shards[i].node, "%s", cn->addr);
		p->rep.nshards = n + 1;
	}
	return &p->rep.shards[n];
}

void
purge_shard_slots(const struct purge_shard *sh, char *buf, size_t len)
{
	unsigned s, e;
	size_t used = 0;
	int n;

	buf[0] = '\0';
	if (sh->slots == NULL)
		return;
#define HAS(x) (sh->slots[(x) / 8] & (1u << ((x) % 8)))
	for (s = 0; s < 16384 && used + 1 < len; s = e + 1) {
		if (!HAS(s)) {
			e = s;
			continue;
		}
		for (e = s; e + 1 < 16384 && HAS(e + 1); e++)
			;
		n = s == e ? snprintf(buf + used, len - used, "%s%u", used ?
		    "," : "", s) : snprintf(buf + used, len - used, "%s%u-%u",
		    used ? "," : "", s, e);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0';	/* whole ranges only */
			break;
		}
		used += (size_t)n;
	}
#undef HAS
}

void
purge_set_key(struct purge *p, const struct audit_key *k)
{
	if (k != NULL)
		p->key = *k;
}

static void
destroy(struct purge *p)
{
	size_t i;

	for (i = 0; i < p->nsample; i++)
		free(p->sample[i].key);
	free(p->sample);
	keyset_done(&p->keys);
	backup_writer_free(p->backup);
	free(p->gkeys);
	free(p->glens);
	free(p->ready_keys);
	free(p->ready_lens);
	free(p->ubatch);
	for (i = 0; i < p->rep.nshards; i++) {
		size_t j;

		for (j = 0; j < p->rep.shards[i].ndoubt; j++)
			free(p->rep.shards[i].doubt[j].key);
		free(p->rep.shards[i].doubt);
		free(p->rep.shards[i].slots);
	}
	free(p->rep.shards);
	free(p->ckeys);
	free(p->cdone);
	explicit_bzero(&p->key, sizeof p->key);
	free(p->backup_path);
	free(p);
}

void
purge_free(struct purge *p)
{
	if (p == NULL)
		return;
	scan_cancel(p->scan);
	p->scan = NULL;
	purge_acl_stop(p);
	purge_cluster_stop(p);
	event_free(p->later);
	p->later = NULL;
	p->fn = NULL;
	/* Answers still to come hold pointers to it (and into its keys). */
	if (p->outstanding > 0)
		p->zombie = true;
	else
		destroy(p);
}

/* Sends a command whose answer comes back to this purge. */
int
purge_send(struct purge *p, redis_reply_fn fn, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	if (redis_command(p->redis, fn, arg, argc, argv, lens) != 0)
		return -1;
	p->outstanding++;
	return 0;
}

int
purge_send_key(struct purge *p, const char *key, size_t len,
    redis_reply_fn fn, void *arg, int argc, const char **argv,
    const size_t *lens)
{
	if (!p->in_cluster)
		return purge_send(p, fn, arg, argc, argv, lens);
	if (cluster_command(p->cluster, cluster_keyslot(key, len), fn, arg,
	    argc, argv, lens) != 0)
		return -1;
	p->outstanding++;
	return 0;
}

/* Called first by every callback: true when the purge was freed meanwhile
 * (and is gone now if this was the last answer). */
bool
purge_answered(struct purge *p)
{
	p->outstanding--;
	if (!p->zombie)
		return false;
	if (p->outstanding == 0)
		destroy(p);
	return true;
}

const struct purge_report *
purge_report(const struct purge *p)
{
	return &p->rep;
}

const char *
purge_backup_hash(const struct purge *p)
{
	return p->backup_hash[0] != '\0' ? p->backup_hash : NULL;
}

bool
purge_sample(const struct purge *p, size_t i, const char **key, size_t *len)
{
	if (i >= p->nsample)
		return false;
	*key = p->sample[i].key;
	*len = p->sample[i].len;
	return true;
}

/* Preview ---------------------------------------------------------------- */

/* Whether INFO's text has the line "name:value" (value NULL: any value). */
static bool
info_has(const redisReply *rep, const char *name, const char *value,
    char *out, size_t outlen)
{
	const char *s = rep->str, *end = rep->str + rep->len, *nl;
	size_t n = strlen(name), vl;

	while (s < end) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		vl = (size_t)(nl - s);
		if (vl > 0 && s[vl - 1] == '\r')
			vl--;
		if (vl > n && memcmp(s, name, n) == 0 && s[n] == ':') {
			if (out != NULL)
				snprintf(out, outlen, "%.*s", (int)(vl - n - 1 >
				    64 ? 64 : vl - n - 1), s + n + 1);
			if (value == NULL || (vl - n - 1 == strlen(value) &&
			    memcmp(s + n + 1, value, vl - n - 1) == 0))
				return true;
		}
		s = nl + 1;
	}
	return false;
}

static void	start_scan(struct purge *);

/* The last check before the confirmation: may this user UNLINK the keys
 * (purge_acl.c)? */
static void
probe_done(struct purge *p)
{
	if (p->rep.state == PURGE_PREVIEWING)
		purge_acl_probe(p);
}

/* INFO answers a bulk string (a verbatim string with RESP3 on hiredis 1.x). */
static bool
is_text(const redisReply *rep)
{
#ifdef REDIS_REPLY_VERB
	if (rep->type == REDIS_REPLY_VERB)
		return true;
#endif
	return rep->type == REDIS_REPLY_STRING;
}

static void
refuse(struct purge *p)
{
	p->check_failed = true;
	p->rep.state = PURGE_REFUSED;
}

/* INFO replication and INFO cluster, before the preview: a replica cannot
 * be purged, and a cluster node alone would purge a part of the route:
 * the purge goes across the cluster, or is refused. */
static void
info_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct purge *p = arg;
	char text[REPLY_SHOWN + 1];
	bool cluster;

	(void)r;
	if (purge_answered(p))
		return;
	cluster = p->checks == 1;	/* INFO cluster is the second */
	p->checks--;
	if (p->rep.state != PURGE_PREVIEWING || p->check_failed)
		goto out;
	if (rep == NULL) {
		p->check_failed = true;
		p->rep.state = PURGE_FAILED;
		purge_set_reason(p, "Redis failed before the preview: %s", err);
	} else if (!is_text(rep)) {
		refuse(p);
		purge_set_reason(p, "cannot tell whether this server is a replica or "
		    "a cluster node: INFO %s answered '%s'; the purge needs "
		    "permission to run INFO (ACL +info)", cluster ?
		    "cluster" : "replication", purge_reply_text(rep, text,
		    sizeof text));
	} else if (!cluster) {
		p->seed_replica = info_has(rep, "role", "slave", NULL, 0) ||
		    info_has(rep, "master_host", NULL, NULL, 0);
		if (!info_has(rep, "master_host", NULL, p->seed_master,
		    sizeof p->seed_master))
			snprintf(p->seed_master, sizeof p->seed_master, "?");
	} else
		p->seed_cluster = info_has(rep, "cluster_enabled", "1", NULL, 0);
out:
	if (p->checks > 0)
		return;
	if (!p->check_failed && p->rep.state == PURGE_PREVIEWING) {
		if (p->seed_cluster && p->cluster != NULL) {
			p->in_cluster = true;	/* the replica is fine */
			purge_cluster_preview(p);
			return;
		}
		if (p->seed_cluster) {
			refuse(p);
			purge_set_reason(p, "this server is a cluster node, and "
			    "redis.cluster is false: a purge on one node would "
			    "miss the keys of the others; remove cluster: false");
		} else if (p->seed_replica) {
			refuse(p);
			purge_set_reason(p, "this server is a replica (role:slave, "
			    "master %s): purge on the master", p->seed_master);
		} else {
			start_scan(p);
			return;
		}
	}
	purge_changed(p);
}

/* Previewed and checked: waiting for the confirmation. */
void
purge_ready(struct purge *p)
{
	if (p->rep.state != PURGE_PREVIEWING)
		return;
	p->rep.state = PURGE_READY;
	if (!p->in_cluster)
		p->rep.batches_total = (p->rep.previewed + PURGE_BATCH - 1) /
		    PURGE_BATCH;
	purge_changed(p);
}

/* The backup probe: DUMP and PTTL of one previewed key.  An error means the
 * backup cannot be taken: refused before anyone is asked to confirm. */
static void
probe_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct purge *p = arg;
	char text[REPLY_SHOWN + 1];
	bool last;

	(void)r;
	if (purge_answered(p))
		return;
	last = p->checks == 1;
	p->checks--;
	if (p->rep.state != PURGE_PREVIEWING || p->check_failed)
		goto out;
	if (rep == NULL) {
		p->check_failed = true;
		p->rep.state = PURGE_FAILED;
		purge_set_reason(p, "Redis failed during the preview: %s", err);
	} else if (rep->type == REDIS_REPLY_ERROR || (!last && rep->type !=
	    REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL) || (last &&
	    rep->type != REDIS_REPLY_INTEGER)) {
		refuse(p);
		purge_set_reason(p, "the backup cannot be taken: %s answered '%s'; "
		    "nothing was deleted", last ? "PTTL" : "DUMP",
		    purge_reply_text(rep, text, sizeof text));
	}
out:
	if (p->checks > 0)
		return;
	if (p->check_failed)
		purge_changed(p);
	else
		probe_done(p);
}

void
purge_probe_backup(struct purge *p)
{
	const char *argv[2];
	size_t lens[2], pos = 0;

	if (!keyset_next(&p->keys, &pos, &argv[1], &lens[1])) {
		probe_done(p);
		return;
	}
	argv[0] = "DUMP";
	lens[0] = 4;
	p->checks = 2;
	p->check_failed = false;
	if (purge_send_key(p, argv[1], lens[1], probe_reply, p, 2, argv,
	    lens) != 0) {
		p->checks = 0;
		p->rep.state = PURGE_FAILED;
		purge_set_reason(p, "Redis is not connected");
		purge_changed(p);
		return;
	}
	argv[0] = "PTTL";
	if (purge_send_key(p, argv[1], lens[1], probe_reply, p, 2, argv,
	    lens) != 0)
		p->checks = 1;	/* the DUMP fails and ends the probe */
}

static void
preview_done(struct scan *s, void *arg)
{
	struct purge *p = arg;
	const struct scan_result *res = scan_result(s);
	size_t i;

	p->scan = NULL;
	p->rep.counted = true;
	p->rep.previewed = res->count;
	p->rep.over_limit = res->over_limit;
	p->rep.preview_ms = res->ms;
	p->sample = xcalloc(res->nsample + 1, sizeof *p->sample);
	for (i = 0; i < res->nsample; i++) {
		p->sample[i].len = res->sample[i].len;
		p->sample[i].key = xmalloc(res->sample[i].len + 1);
		memcpy(p->sample[i].key, res->sample[i].key,
		    res->sample[i].len + 1);
	}
	p->nsample = res->nsample;
	if (res->failed && strstr(res->error, "NOPERM") != NULL) {
		p->rep.state = PURGE_REFUSED;
		purge_set_reason(p, "this Redis user may not run SCAN, which the "
		    "preview needs: %s", res->error);
	} else if (res->failed) {
		p->rep.state = PURGE_FAILED;
		purge_set_reason(p, "the preview failed: %s", res->error);
	} else if (res->over_limit && !p->route->allow_broad) {
		p->rep.state = PURGE_REFUSED;
		purge_set_reason(p, "more than %ld keys match, the route's max_keys; "
		    "narrow the patterns or set allow_broad",
		    p->route->max_keys);
	} else if (res->over_limit) {
		p->rep.state = PURGE_REFUSED;
		purge_set_reason(p, "more than %d keys match: too many for one purge",
		    PURGE_HARD_LIMIT);
	} else {
		scan_take_keys(s, &p->keys);
		scan_free(s);
		if (p->backup_path != NULL)
			purge_probe_backup(p);
		else
			probe_done(p);
		return;
	}
	scan_free(s);
	purge_changed(p);
}

static void
start_scan(struct purge *p)
{
	struct scan_opts o;

	memset(&o, 0, sizeof o);
	o.patterns = p->route->keys;
	o.npatterns = p->route->nkeys;
	o.keep = true;
	o.sample = PURGE_SAMPLE;
	o.limit = p->route->allow_broad ? PURGE_HARD_LIMIT :
	    (size_t)p->route->max_keys;
	p->scan = scan_start(p->redis, &o, preview_done, p);
}

void
purge_preview(struct purge *p)
{
	const char *repl[] = { "INFO", "replication" };
	const char *clus[] = { "INFO", "cluster" };
	const size_t info_lens[] = { 4, 11 }, clus_lens[] = { 4, 7 };
	size_t i;

	if (p->rep.state != PURGE_NEW)
		return;
	for (i = 0; i < p->route->nkeys; i++) {
		if (pattern_matches_all(p->route->keys[i])) {
			p->rep.state = PURGE_REFUSED;
			purge_set_reason(p, "pattern '%s' matches every key",
			    p->route->keys[i]);
			purge_changed(p);
			return;
		}
	}
	if (p->route->nkeys == 0) {
		p->rep.state = PURGE_REFUSED;
		purge_set_reason(p, "route '%s' has no keys", p->route->name);
		purge_changed(p);
		return;
	}
	p->rep.state = PURGE_PREVIEWING;
	if (p->cluster != NULL && cluster_mode(p->cluster) == CLUSTER_ON) {
		/* Known (or declared) already: the seed may even be down. */
		p->in_cluster = true;
		purge_cluster_preview(p);
		return;
	}
	p->checks = 2;
	if (purge_send(p, info_reply, p, 2, repl, info_lens) != 0) {
		p->checks = 0;
		p->rep.state = PURGE_FAILED;
		purge_set_reason(p, "Redis is not connected");
		purge_changed(p);
		return;
	}
	if (purge_send(p, info_reply, p, 2, clus, clus_lens) != 0)
		p->checks = 1;	/* the first fails and ends the checks */
}

void
purge_cancel(struct purge *p)
{
	if (p->rep.state == PURGE_RUNNING)
		p->cancel = true;
	else if (p->rep.state == PURGE_PREVIEWING) {
		scan_cancel(p->scan);
		p->scan = NULL;
		purge_acl_stop(p);
		purge_set_reason(p, "cancelled during the preview; nothing was deleted");
		p->rep.state = PURGE_CANCELLED;
		purge_changed(p);
	} else if (p->rep.state == PURGE_READY || p->rep.state == PURGE_NEW) {
		purge_set_reason(p, "cancelled before any key was deleted");
		p->rep.state = PURGE_CANCELLED;
		purge_changed(p);
	}
}
