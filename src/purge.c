/* purge.c: see purge.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "backup.h"
#include "buf.h"
#include "keyset.h"
#include "purge.h"
#include "scan.h"
#include "textesc.h"
#include "xmalloc.h"

#define GROUP_BYTES	(8u * 1024 * 1024)	/* backup lines per sync */
#define GROUP_KEYS	5000			/* keys per sync */
#define DUMP_WINDOW	2048			/* DUMP+PTTL pairs in flight */
#define DUMP_FIRST	4			/* ... before a size is known */
#define REPLY_SHOWN	200			/* bytes of a server error kept */

/* A key of the group being backed up: its DUMP, then its PTTL. */
struct dump_ctx {
	struct purge	*p;
	const char	*key;		/* in the keyset's arena */
	size_t		 len;
	char		*dump;		/* copy of DUMP's reply */
	size_t		 dlen;
	bool		 dumped;	/* DUMP answered a string */
	bool		 orphan;	/* its PTTL was never sent */
};

struct purge {
	struct redis	*redis;
	const struct rb_route *route;
	char		*backup_path;
	struct audit_key key;		/* seals the backup; len 0: none */
	struct backup_writer *backup;
	char		 backup_hash[AUDIT_HEX];
	purge_event_fn	 fn;
	void		*arg;
	struct purge_report rep;
	struct scan	*scan;
	struct scan_sample *sample;
	size_t		 nsample;
	struct keyset	 keys;		/* exactly what the preview counted */
	size_t		 pos;		/* next key in the arena */
	double		 started;
	bool		 cancel;
	int		 checks;	/* INFO replies still to come */
	bool		 check_failed;
	/* Backed up in groups: each group's DUMP+PTTL pairs are answered,
	 * its lines synced with one fdatasync, then its keys unlinked in
	 * batches of PURGE_BATCH, pipelined.  While a group's last answers
	 * come in (and while it is synced) the next group's pairs are in
	 * flight already, so Redis never waits for the sync: at most two
	 * groups, the one being received (rx) and the one being sent (tx). */
	const char	**gkeys;	/* rx group's keys to unlink (backed
					 * up), or without a backup a batch */
	size_t		*glens;
	size_t		 gn, gcap;
	size_t		 dumps_waiting;	/* DUMP+PTTL pairs in flight */
	unsigned long	 tx_group, rx_group;	/* rx <= tx <= rx + 1 */
	size_t		 tx_sent;	/* pairs sent in the tx group */
	size_t		 rx_done;	/* pairs answered in the rx group */
	size_t		 gsize[2];	/* pairs of a closed group, by number */
	size_t		*ubatch;	/* keys of the UNLINKs in flight, a */
	size_t		 ub_first, ub_n, ub_cap;	/* ring, oldest first */
	size_t		 unlinks_waiting;
	bool		 failed;	/* the group failed: nothing more goes */
	bool		 desync;	/* a reply could not be true: later ones
					 * cannot be paired with their commands */
	double		 avg_line;	/* bytes of a backup line, running */
	size_t		 outstanding;	/* commands sent and not answered */
	bool		 zombie;	/* freed by the caller: gone with the
					 * last answer */
	struct event	*later;
};

static void	advance(struct purge *);
static void	send_unlinks(struct purge *);
static void	group_backed_up(struct purge *);
static void	check_group(struct purge *);
static void	group_add(struct purge *, const char *, size_t);
static void	pump_dumps(struct purge *);

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
static void
changed(struct purge *p)
{
	if (p->later != NULL)
		event_active(p->later, 0, 0);
}

static void
set_reason(struct purge *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_reason(struct purge *p, const char *fmt, ...)
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
static const char *
reply_text(const redisReply *rep, char *buf, size_t len)
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
	free(p->ubatch);
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
static int
send_cmd(struct purge *p, redis_reply_fn fn, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	if (redis_command(p->redis, fn, arg, argc, argv, lens) != 0)
		return -1;
	p->outstanding++;
	return 0;
}

/* Called first by every callback: true when the purge was freed meanwhile
 * (and is gone now if this was the last answer). */
static bool
answered(struct purge *p)
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
 * be purged, and a cluster node would purge a part of the route. */
static void
info_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct purge *p = arg;
	char text[REPLY_SHOWN + 1], host[80];
	bool cluster;

	(void)r;
	if (answered(p))
		return;
	cluster = p->checks == 1;	/* INFO cluster is the second */
	p->checks--;
	if (p->rep.state != PURGE_PREVIEWING || p->check_failed)
		goto out;
	if (rep == NULL) {
		p->check_failed = true;
		p->rep.state = PURGE_FAILED;
		set_reason(p, "Redis failed before the preview: %s", err);
	} else if (!is_text(rep)) {
		refuse(p);
		set_reason(p, "cannot tell whether this server is a replica or "
		    "a cluster node: INFO %s answered '%s'; the purge needs "
		    "permission to run INFO (ACL +info)", cluster ?
		    "cluster" : "replication", reply_text(rep, text,
		    sizeof text));
	} else if (!cluster && (info_has(rep, "role", "slave", NULL, 0) ||
	    info_has(rep, "master_host", NULL, host, sizeof host))) {
		if (!info_has(rep, "master_host", NULL, host, sizeof host))
			snprintf(host, sizeof host, "?");
		refuse(p);
		set_reason(p, "this server is a replica (role:slave, master "
		    "%s): purge on the master", host);
	} else if (cluster && info_has(rep, "cluster_enabled", "1", NULL, 0)) {
		refuse(p);
		set_reason(p, "cluster mode: purges across a cluster are not "
		    "supported yet; point the runbook at a standalone server "
		    "or a Sentinel-managed master");
	}
out:
	if (p->checks > 0)
		return;
	if (p->check_failed)
		changed(p);
	else if (p->rep.state == PURGE_PREVIEWING)
		start_scan(p);
}

static void
probe_done(struct purge *p)
{
	if (p->rep.state != PURGE_PREVIEWING)
		return;
	p->rep.state = PURGE_READY;
	p->rep.batches_total = (p->rep.previewed + PURGE_BATCH - 1) /
	    PURGE_BATCH;
	changed(p);
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
	if (answered(p))
		return;
	last = p->checks == 1;
	p->checks--;
	if (p->rep.state != PURGE_PREVIEWING || p->check_failed)
		goto out;
	if (rep == NULL) {
		p->check_failed = true;
		p->rep.state = PURGE_FAILED;
		set_reason(p, "Redis failed during the preview: %s", err);
	} else if (rep->type == REDIS_REPLY_ERROR || (!last && rep->type !=
	    REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL) || (last &&
	    rep->type != REDIS_REPLY_INTEGER)) {
		refuse(p);
		set_reason(p, "the backup cannot be taken: %s answered '%s'; "
		    "nothing was deleted", last ? "PTTL" : "DUMP",
		    reply_text(rep, text, sizeof text));
	}
out:
	if (p->checks > 0)
		return;
	if (p->check_failed)
		changed(p);
	else
		probe_done(p);
}

static void
probe_backup(struct purge *p)
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
	if (send_cmd(p, probe_reply, p, 2, argv, lens) != 0) {
		p->checks = 0;
		p->rep.state = PURGE_FAILED;
		set_reason(p, "Redis is not connected");
		changed(p);
		return;
	}
	argv[0] = "PTTL";
	if (send_cmd(p, probe_reply, p, 2, argv, lens) != 0)
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
	if (res->failed) {
		p->rep.state = PURGE_FAILED;
		set_reason(p, "the preview failed: %s", res->error);
	} else if (res->over_limit && !p->route->allow_broad) {
		p->rep.state = PURGE_REFUSED;
		set_reason(p, "more than %ld keys match, the route's max_keys; "
		    "narrow the patterns or set allow_broad",
		    p->route->max_keys);
	} else if (res->over_limit) {
		p->rep.state = PURGE_REFUSED;
		set_reason(p, "more than %d keys match: too many for one purge",
		    PURGE_HARD_LIMIT);
	} else {
		scan_take_keys(s, &p->keys);
		scan_free(s);
		if (p->backup_path != NULL)
			probe_backup(p);
		else
			probe_done(p);
		return;
	}
	scan_free(s);
	changed(p);
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
			set_reason(p, "pattern '%s' matches every key",
			    p->route->keys[i]);
			changed(p);
			return;
		}
	}
	if (p->route->nkeys == 0) {
		p->rep.state = PURGE_REFUSED;
		set_reason(p, "route '%s' has no keys", p->route->name);
		changed(p);
		return;
	}
	p->rep.state = PURGE_PREVIEWING;
	p->checks = 2;
	if (send_cmd(p, info_reply, p, 2, repl, info_lens) != 0) {
		p->checks = 0;
		p->rep.state = PURGE_FAILED;
		set_reason(p, "Redis is not connected");
		changed(p);
		return;
	}
	if (send_cmd(p, info_reply, p, 2, clus, clus_lens) != 0)
		p->checks = 1;	/* the first fails and ends the checks */
}

/* Deleting --------------------------------------------------------------- */

static void
end(struct purge *p, enum purge_state st)
{
	char *cause = NULL;

	if (p->rep.state != PURGE_RUNNING)
		return;		/* ended already (a reset fails the rest) */
	p->rep.state = st;
	p->rep.ms = (loop_now() - p->started) * 1000.0;
	if (p->backup != NULL) {
		if (backup_finish(p->backup, purge_state_name(st), &cause) == 0)
			snprintf(p->backup_hash, sizeof p->backup_hash, "%s",
			    backup_writer_hash(p->backup));
		else {
			/* Every line of a deleted key is synced already. */
			snprintf(p->backup_hash, sizeof p->backup_hash, "%s",
			    backup_writer_hash(p->backup));
			free(cause);
		}
		backup_writer_free(p->backup);
		p->backup = NULL;
	}
	changed(p);
}

/* The group has failed: nothing more is sent; the purge ends when the last
 * reply in flight is in. */
static void
group_fail(struct purge *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
group_fail(struct purge *p, const char *fmt, ...)
{
	va_list ap;
	char raw[320];

	if (p->failed)
		return;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	set_reason(p, "%s", raw);
}

/* Moves the deletion on after any answer: keeps DUMP+PTTL pairs in flight,
 * syncs and unlinks each group once all its pairs are answered, and ends
 * the purge when nothing is left in flight.  Without a backup, one batch
 * at a time. */
static void
advance(struct purge *p)
{
	const char *key;
	size_t len;

	if (!p->failed) {
		if (p->backup != NULL) {
			pump_dumps(p);
			check_group(p);
		} else if (!p->cancel && p->unlinks_waiting == 0) {
			p->gn = 0;
			while (p->gn < PURGE_BATCH && keyset_next(&p->keys,
			    &p->pos, &key, &len))
				group_add(p, key, len);
			if (p->gn > 0)
				send_unlinks(p);
		}
	}
	if (p->dumps_waiting > 0 || p->unlinks_waiting > 0)
		return;
	if (p->failed)
		end(p, PURGE_FAILED);
	else if (p->pos < p->keys.arena_len && p->cancel) {
		set_reason(p, "cancelled after %zu of %zu batches",
		    p->rep.batches, p->rep.batches_total);
		end(p, PURGE_CANCELLED);
	} else if (p->pos >= p->keys.arena_len)
		end(p, PURGE_DONE);
}

/* The keys of each UNLINK in flight, in the order sent (and answered). */
static void
ubatch_push(struct purge *p, size_t n)
{
	size_t *nb, ncap, i;

	if (p->ub_n == p->ub_cap) {
		ncap = p->ub_cap ? 2 * p->ub_cap : 64;
		nb = xreallocarray(NULL, ncap, sizeof *nb);
		for (i = 0; i < p->ub_n; i++)
			nb[i] = p->ubatch[(p->ub_first + i) % p->ub_cap];
		free(p->ubatch);
		p->ubatch = nb;
		p->ub_cap = ncap;
		p->ub_first = 0;
	}
	p->ubatch[(p->ub_first + p->ub_n++) % p->ub_cap] = n;
}

static size_t
ubatch_pop(struct purge *p)
{
	size_t n;

	if (p->ub_n == 0)
		fatal("purge: an UNLINK answered with none in flight");
	n = p->ubatch[p->ub_first];
	p->ub_first = (p->ub_first + 1) % p->ub_cap;
	p->ub_n--;
	return n;
}

static void
unlink_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct purge *p = arg;
	size_t n;

	if (answered(p))
		return;
	p->unlinks_waiting--;
	/* Batches are sent and answered in order. */
	n = ubatch_pop(p);
	if (rep == NULL) {
		/* Whether Redis deleted this batch is unknown. */
		p->rep.in_doubt += n;
		group_fail(p, "Redis failed during batch %zu of %zu: %s",
		    p->rep.batches + 1, p->rep.batches_total, err);
	} else if (rep->type == REDIS_REPLY_ERROR) {
		p->rep.errors += n;
		group_fail(p, "UNLINK failed: %.*s", (int)(rep->len >
		    REPLY_SHOWN ? REPLY_SHOWN : rep->len), rep->str ? rep->str :
		    "");
	} else if (rep->type != REDIS_REPLY_INTEGER || rep->integer < 0 ||
	    (unsigned long long)rep->integer > n) {
		/* A reply that cannot be true: nothing after it can be paired
		 * with its command either. */
		p->rep.in_doubt += n;
		p->desync = true;
		group_fail(p, "protocol error: UNLINK of %zu keys answered %s%lld "
		    "(batch %zu of %zu is in doubt; the connection was reset)",
		    n, rep->type == REDIS_REPLY_INTEGER ? "" : "a non-integer ",
		    rep->type == REDIS_REPLY_INTEGER ? (long long)rep->integer :
		    0LL, p->rep.batches + 1, p->rep.batches_total);
		redis_reset(r, "protocol error: an impossible UNLINK reply");
	} else if (!p->desync) {
		/* Sent before any failure: a true answer. */
		p->rep.deleted += (size_t)rep->integer;
		p->rep.gone += n - (size_t)rep->integer;
		p->rep.batches++;
		changed(p);
	} else
		p->rep.in_doubt += n;	/* cannot be paired any more */
	advance(p);
}

/* Unlinks the keys gathered (a synced group, or a batch without a
 * backup), PURGE_BATCH at a time, all batches pipelined. */
static void
send_unlinks(struct purge *p)
{
	const char **argv = xcalloc(PURGE_BATCH + 1, sizeof *argv);
	size_t *lens = xcalloc(PURGE_BATCH + 1, sizeof *lens);
	size_t i, n;

	argv[0] = "UNLINK";
	lens[0] = 6;
	for (i = 0; i < p->gn; i += n) {
		n = p->gn - i < PURGE_BATCH ? p->gn - i : PURGE_BATCH;
		memcpy(argv + 1, p->gkeys + i, n * sizeof *argv);
		memcpy(lens + 1, p->glens + i, n * sizeof *lens);
		if (send_cmd(p, unlink_reply, p, (int)n + 1, argv,
		    lens) != 0) {
			group_fail(p, "Redis is not connected (%zu of %zu "
			    "batches done)", p->rep.batches,
			    p->rep.batches_total);
			break;
		}
		ubatch_push(p, n);
		p->unlinks_waiting++;
	}
	p->gn = 0;
	free(argv);
	free(lens);
}

static void
group_add(struct purge *p, const char *key, size_t len)
{
	if (p->gn == p->gcap) {
		p->gcap = p->gcap ? 2 * p->gcap : 256;
		p->gkeys = xreallocarray(p->gkeys, p->gcap, sizeof *p->gkeys);
		p->glens = xreallocarray(p->glens, p->gcap, sizeof *p->glens);
	}
	p->gkeys[p->gn] = key;
	p->glens[p->gn++] = len;
}

/* The backup of the rx group is complete: on disk first, then unlinked. */
static void
group_backed_up(struct purge *p)
{
	char *cause = NULL;

	if (p->failed)
		return;
	if (backup_sync(p->backup, &cause) != 0) {
		p->rep.errors++;
		group_fail(p, "%s; nothing of this batch was deleted", cause);
		free(cause);
		return;
	}
	snprintf(p->backup_hash, sizeof p->backup_hash, "%s",
	    backup_writer_hash(p->backup));
	send_unlinks(p);
}

/* Syncs and unlinks the rx group once it is closed and all its pairs are
 * answered; the next group's pairs are sent first, so that Redis has
 * work while the sync blocks. */
static void
check_group(struct purge *p)
{
	while (!p->failed && p->rx_group != p->tx_group &&
	    p->rx_done == p->gsize[p->rx_group & 1]) {
		p->rx_group++;
		p->rx_done = 0;
		pump_dumps(p);
		group_backed_up(p);
	}
}

/* One DUMP+PTTL pair of the rx group is answered. */
static void
pair_done(struct purge *p)
{
	p->dumps_waiting--;
	p->rx_done++;
	advance(p);
}

static void
pttl_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct dump_ctx *c = arg;
	struct purge *p = c->p;
	char text[REPLY_SHOWN + 1], *cause = NULL;
	size_t before;

	(void)r;
	if (answered(p)) {
		free(c->dump);
		free(c);
		return;
	}
	if (p->failed)
		;
	else if (rep == NULL)
		group_fail(p, "Redis failed while backing up: %s; nothing of "
		    "this batch was deleted", err);
	else if (rep->type != REDIS_REPLY_INTEGER || rep->integer < -2)
		group_fail(p, "PTTL answered '%s' while backing up; nothing of "
		    "this batch was deleted", reply_text(rep, text,
		    sizeof text));
	else if (!c->dumped || rep->integer == -2)
		p->rep.gone++;		/* nil DUMP: gone; never unlinked */
	else {
		before = backup_pending(p->backup);
		if (backup_add(p->backup, c->key, c->len, c->dump, c->dlen,
		    rep->integer, &cause) != 0) {
			group_fail(p, "%s; nothing of this batch was deleted",
			    cause);
			free(cause);
		} else {
			p->avg_line = p->avg_line == 0 ? (double)(backup_pending(
			    p->backup) - before) : 0.9 * p->avg_line + 0.1 *
			    (double)(backup_pending(p->backup) - before);
			group_add(p, c->key, c->len);
			p->rep.backed_up++;
		}
	}
	free(c->dump);
	free(c);
	pair_done(p);
}

static void
dump_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct dump_ctx *c = arg;
	struct purge *p = c->p;
	char text[REPLY_SHOWN + 1];

	(void)r;
	if (answered(p)) {
		if (c->orphan)
			free(c);	/* else its PTTL frees it */
		return;
	}
	if (c->orphan) {
		free(c);
		pair_done(p);
		return;
	}
	if (p->failed)
		return;
	if (rep == NULL)
		group_fail(p, "Redis failed while backing up: %s; nothing of "
		    "this batch was deleted", err);
	else if (rep->type == REDIS_REPLY_STRING) {
		c->dump = xmalloc(rep->len + 1);
		memcpy(c->dump, rep->str, rep->len);
		c->dlen = rep->len;
		c->dumped = true;
	} else if (rep->type != REDIS_REPLY_NIL)
		/* Only nil means gone: an error (NOPERM, a renamed DUMP)
		 * must never let the key be deleted unsaved. */
		group_fail(p, "DUMP answered '%s' while backing up; nothing of "
		    "this batch was deleted", reply_text(rep, text,
		    sizeof text));
}

/* Sends DUMP+PTTL pairs: at most DUMP_WINDOW in flight, fewer for large
 * values (about a quarter of GROUP_BYTES of replies in memory).  A group
 * closes at GROUP_KEYS keys, about GROUP_BYTES of lines, the last key or
 * a cancel; the next one is sent while the closed one is answered, but a
 * third waits until the first is synced. */
static void
pump_dumps(struct purge *p)
{
	const char *argv[2];
	size_t lens[2], window = DUMP_WINDOW, pos;
	struct dump_ctx *c;
	bool more, full;

	/* Until a line's size is known, few: a value may be 10 MB or more. */
	if (p->avg_line == 0)
		window = DUMP_FIRST;
	else if ((double)GROUP_BYTES / p->avg_line / 4 < (double)window)
		window = (size_t)((double)GROUP_BYTES / p->avg_line / 4) + 1;
	while (!p->failed && p->dumps_waiting < window) {
		pos = p->pos;
		more = !p->cancel && keyset_next(&p->keys, &pos, &argv[1],
		    &lens[1]);
		/* Lines of the tx group: estimated, or (while it is also the
		 * rx group) those made so far. */
		full = p->tx_sent >= GROUP_KEYS || (double)p->tx_sent *
		    p->avg_line >= (double)GROUP_BYTES || (p->tx_group ==
		    p->rx_group && backup_pending(p->backup) >= GROUP_BYTES);
		if (full || !more) {
			if (p->tx_sent == 0 || p->tx_group != p->rx_group)
				break;
			p->gsize[p->tx_group & 1] = p->tx_sent;
			p->tx_group++;
			p->tx_sent = 0;
			continue;
		}
		c = xcalloc(1, sizeof *c);
		c->p = p;
		c->key = argv[1];
		c->len = lens[1];
		argv[0] = "DUMP";
		lens[0] = 4;
		if (send_cmd(p, dump_reply, c, 2, argv, lens) != 0) {
			free(c);
			group_fail(p, "Redis is not connected; nothing of this "
			    "batch was deleted");
			break;
		}
		p->pos = pos;
		p->tx_sent++;
		p->dumps_waiting++;
		argv[0] = "PTTL";
		if (send_cmd(p, pttl_reply, c, 2, argv, lens) != 0) {
			c->orphan = true;	/* dump_reply frees it */
			group_fail(p, "Redis is not connected; nothing of this "
			    "batch was deleted");
			break;
		}
	}
}

static json_t *
patterns_json(const struct rb_route *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < r->nkeys; i++)
		json_array_append_new(a, json_string(r->keys[i]));
	return a;
}

int
purge_confirm(struct purge *p)
{
	char *cause = NULL;

	if (p->rep.state != PURGE_READY)
		return -1;
	p->started = loop_now();
	p->rep.state = PURGE_RUNNING;
	if (p->backup_path != NULL) {
		p->backup = backup_create(p->backup_path, &p->key,
		    p->route->name, patterns_json(p->route), p->rep.previewed,
		    &cause);
		if (p->backup == NULL) {
			set_reason(p, "%s; nothing was deleted", cause);
			free(cause);
			end(p, PURGE_FAILED);
			return 0;
		}
		snprintf(p->backup_hash, sizeof p->backup_hash, "%s",
		    backup_writer_hash(p->backup));
	}
	advance(p);
	return 0;
}

void
purge_cancel(struct purge *p)
{
	if (p->rep.state == PURGE_RUNNING)
		p->cancel = true;
	else if (p->rep.state == PURGE_PREVIEWING) {
		scan_cancel(p->scan);
		p->scan = NULL;
		set_reason(p, "cancelled during the preview; nothing was deleted");
		p->rep.state = PURGE_CANCELLED;
		changed(p);
	} else if (p->rep.state == PURGE_READY || p->rep.state == PURGE_NEW) {
		set_reason(p, "cancelled before any key was deleted");
		p->rep.state = PURGE_CANCELLED;
		changed(p);
	}
}

/* Restore ---------------------------------------------------------------- */

#define RESTORE_WINDOW 64

struct restore {
	struct redis	*redis;
	struct backup_reader *br;
	bool		 replace;
	size_t		 in_flight;
	bool		 eof;
	struct restore_report rep;
	void		(*done)(const struct restore_report *, void *);
	void		*arg;
	struct event	*later;
};

static void	restore_pump(struct restore *);

/* Wall-clock milliseconds, as backup.c writes saved_ms. */
static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
restore_finish(evutil_socket_t fd, short what, void *arg)
{
	struct restore *rs = arg;

	(void)fd;
	(void)what;
	rs->rep.done = true;
	backup_reader_free(rs->br);
	event_free(rs->later);
	rs->done(&rs->rep, rs->arg);
	free(rs);
}

static void
restore_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct restore *rs = arg;

	(void)r;
	rs->in_flight--;
	if (rep == NULL) {
		rs->rep.errors++;
		snprintf(rs->rep.error, sizeof rs->rep.error, "%s", err);
		rs->eof = true;		/* stop sending */
	} else if (rep->type == REDIS_REPLY_ERROR) {
		if (rep->len >= 7 && strncmp(rep->str, "BUSYKEY", 7) == 0)
			rs->rep.existed++;
		else {
			rs->rep.errors++;
			snprintf(rs->rep.error, sizeof rs->rep.error, "%.*s",
			    (int)(rep->len > REPLY_SHOWN ? REPLY_SHOWN :
			    rep->len), rep->str);
		}
	} else
		rs->rep.restored++;
	restore_pump(rs);
}

static void
restore_pump(struct restore *rs)
{
	struct backup_rec rec;
	const char *argv[5];
	size_t lens[5];
	char ttl[32], *cause = NULL;
	long long pttl;
	int argc, rc;

	while (!rs->eof && rs->in_flight < RESTORE_WINDOW) {
		if ((rc = backup_read(rs->br, &rec, &cause)) <= 0) {
			if (rc < 0) {
				/* It verified a moment ago: it was changed. */
				rs->rep.errors++;
				snprintf(rs->rep.error, sizeof rs->rep.error,
				    "the backup changed while being restored: "
				    "%s", cause);
				free(cause);
			}
			rs->eof = true;
			break;
		}
		pttl = rec.pttl;
		/* The TTL ran on while the key sat in the backup. */
		if (pttl > 0) {
			pttl -= wall_ms() - rec.saved_ms;
			if (pttl <= 0)
				pttl = 0;
		}
		if (pttl == 0) {
			rs->rep.expired++;
			backup_rec_done(&rec);
			continue;
		}
		snprintf(ttl, sizeof ttl, "%lld", pttl < 0 ? 0LL : pttl);
		argv[0] = "RESTORE";
		lens[0] = 7;
		argv[1] = (const char *)rec.key;
		lens[1] = rec.klen;
		argv[2] = ttl;
		lens[2] = strlen(ttl);
		argv[3] = (const char *)rec.dump;
		lens[3] = rec.dlen;
		argc = 4;
		if (rs->replace) {
			argv[argc] = "REPLACE";
			lens[argc++] = 7;
		}
		if (redis_command(rs->redis, restore_reply, rs, argc, argv,
		    lens) == 0)
			rs->in_flight++;
		else {
			rs->rep.errors++;
			snprintf(rs->rep.error, sizeof rs->rep.error,
			    "Redis is not connected");
			rs->eof = true;
		}
		backup_rec_done(&rec);
	}
	if (rs->eof && rs->in_flight == 0)
		event_active(rs->later, 0, 0);
}

/* The route a backup names, or NULL. */
static const struct rb_route *
route_named(const struct runbook *rb, const char *name)
{
	size_t i;

	for (i = 0; i < rb->nroutes; i++)
		if (strcmp(rb->routes[i].name, name) == 0)
			return &rb->routes[i];
	return NULL;
}

static bool
route_takes(const struct rb_route *route, const void *key, size_t len)
{
	size_t i;

	for (i = 0; i < route->nkeys; i++)
		if (backup_glob(route->keys[i], key, len))
			return true;
	return false;
}

struct backup_reader *
purge_restore_check(const char *path, const struct runbook *rb,
    const struct audit_key *key, bool any_key, struct restore_check *chk,
    char **cause)
{
	struct backup_reader *br;
	const struct rb_route *route = NULL;
	struct backup_rec rec;
	char *e;
	int rc;

	memset(chk, 0, sizeof *chk);
	if ((br = backup_open(path, key, &chk->verify_failed, cause)) == NULL)
		return NULL;
	if (!any_key && (route = route_named(rb, backup_header(br)->route)) ==
	    NULL) {
		e = esc_str(backup_header(br)->route, 0);
		xasprintf(cause, "%s: line 1: the backup is of route '%s', which "
		    "the runbook does not have (--any-key restores it anyway)",
		    path, e);
		free(e);
		backup_reader_free(br);
		return NULL;
	}
	while ((rc = backup_read(br, &rec, cause)) == 1) {
		chk->keys++;
		if (route != NULL && !route_takes(route, rec.key, rec.klen)) {
			e = esc_text(rec.key, rec.klen, 0);
			xasprintf(cause, "%s: line %zu: key '%s' matches none of "
			    "route %s's patterns; nothing was restored "
			    "(--any-key restores it anyway)", path, rec.line, e,
			    route->name);
			free(e);
			backup_rec_done(&rec);
			backup_reader_free(br);
			return NULL;
		}
		backup_rec_done(&rec);
	}
	if (rc < 0) {
		chk->verify_failed = backup_tampered(br);
		backup_reader_free(br);
		return NULL;
	}
	chk->ended = backup_ended(br);
	chk->torn = backup_torn(br);
	snprintf(chk->end_state, sizeof chk->end_state, "%s",
	    backup_end_state(br));
	snprintf(chk->hash, sizeof chk->hash, "%s", backup_reader_hash(br));
	snprintf(chk->route, sizeof chk->route, "%s", backup_header(br)->route);
	if (backup_rewind(br, cause) != 0) {
		backup_reader_free(br);
		return NULL;
	}
	return br;
}

void
purge_restore(struct redis *r, struct backup_reader *br, bool replace,
    void (*done)(const struct restore_report *, void *), void *arg)
{
	struct restore *rs;

	rs = xcalloc(1, sizeof *rs);
	rs->redis = r;
	rs->br = br;
	rs->replace = replace;
	rs->done = done;
	rs->arg = arg;
	rs->later = event_new(redis_loop_base(r), -1, 0, restore_finish, rs);
	restore_pump(rs);
}
