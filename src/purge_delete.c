/* purge_delete.c: the deletion phase of a purge (see purge.h and
 * purge_impl.h), from purge_confirm() on: without a backup, UNLINK batches
 * of the previewed keys, PURGE_DEPTH in flight; with one, groups of
 * DUMP+PTTL pairs whose lines are written and synced before their keys are
 * unlinked (PURGE_DEPTH batches in flight too), the next group's pairs in
 * flight meanwhile. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "purge_impl.h"
#include "textesc.h"
#include "xmalloc.h"

static void	advance(struct purge *);
static void	pump_unlinks(struct purge *);
static void	group_backed_up(struct purge *);
static void	check_group(struct purge *);
static void	group_add(struct purge *, const char *, size_t);
static void	pump_dumps(struct purge *);

/* Deleting --------------------------------------------------------------- */

void
purge_end(struct purge *p, enum purge_state st)
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
	purge_changed(p);
}

/* The group has failed: nothing more is sent; the purge ends when the last
 * reply in flight is in. */
void
purge_fail(struct purge *p, const char *fmt, ...)
{
	va_list ap;
	char raw[320];

	if (p->failed)
		return;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	purge_set_reason(p, "%s", raw);
}

/* Moves the deletion on after any answer: keeps DUMP+PTTL pairs in flight,
 * syncs each group once all its pairs are answered, keeps PURGE_DEPTH
 * UNLINK batches in flight, and ends the purge when nothing is left in
 * flight. */
static void
advance(struct purge *p)
{
	if (!p->failed) {
		if (p->backup != NULL) {
			pump_dumps(p);
			check_group(p);
		}
		pump_unlinks(p);
	}
	if (p->dumps_waiting > 0 || p->unlinks_waiting > 0)
		return;
	p->rep.untouched = p->rep.previewed - p->unlink_sent - p->dump_gone;
	if (p->failed)
		purge_end(p, PURGE_FAILED);
	else if (p->cancel && (p->pos < p->keys.arena_len ||
	    p->ready_head < p->ready_n)) {
		purge_set_reason(p, "cancelled after %zu of %zu batches",
		    p->rep.batches, p->rep.batches_total);
		purge_end(p, PURGE_CANCELLED);
	} else if (p->pos >= p->keys.arena_len && p->ready_head == p->ready_n)
		purge_end(p, PURGE_DONE);
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

	if (purge_answered(p))
		return;
	p->unlinks_waiting--;
	/* Batches are sent and answered in order. */
	n = ubatch_pop(p);
	if (rep == NULL) {
		/* Whether Redis deleted this batch is unknown. */
		p->rep.in_doubt += n;
		purge_fail(p, "Redis failed during batch %zu of %zu: %s",
		    p->rep.batches + 1, p->rep.batches_total, err);
	} else if (rep->type == REDIS_REPLY_ERROR) {
		p->rep.errors += n;
		purge_fail(p, "UNLINK failed: %.*s", (int)(rep->len >
		    REPLY_SHOWN ? REPLY_SHOWN : rep->len), rep->str ? rep->str :
		    "");
	} else if (rep->type != REDIS_REPLY_INTEGER || rep->integer < 0 ||
	    (unsigned long long)rep->integer > n) {
		/* A reply that cannot be true: nothing after it can be paired
		 * with its command either. */
		p->rep.in_doubt += n;
		p->desync = true;
		purge_fail(p, "protocol error: UNLINK of %zu keys answered %s%lld "
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
		purge_changed(p);
	} else
		p->rep.in_doubt += n;	/* cannot be paired any more */
	advance(p);
}

/* The next key to unlink: without a backup the next previewed key, with
 * one the next key of the synced groups. */
static bool
next_unlink(struct purge *p, const char **key, size_t *len)
{
	if (p->backup == NULL)
		return keyset_next(&p->keys, &p->pos, key, len);
	if (p->ready_head == p->ready_n)
		return false;
	*key = p->ready_keys[p->ready_head];
	*len = p->ready_lens[p->ready_head++];
	if (p->ready_head == p->ready_n)
		p->ready_head = p->ready_n = 0;
	return true;
}

/* Sends UNLINK batches of PURGE_BATCH keys until PURGE_DEPTH are in flight:
 * Redis always has the next batch while an answer travels back, and a
 * failure leaves at most PURGE_DEPTH batches in doubt.  A cancel sends no
 * more (with a backup, the synced keys not sent yet stay). */
static void
pump_unlinks(struct purge *p)
{
	const char *argv[PURGE_BATCH + 1];
	size_t lens[PURGE_BATCH + 1], n;

	argv[0] = "UNLINK";
	lens[0] = 6;
	while (!p->failed && !p->cancel && p->unlinks_waiting < PURGE_DEPTH) {
		for (n = 0; n < PURGE_BATCH && next_unlink(p, &argv[n + 1],
		    &lens[n + 1]); n++)
			;
		if (n == 0)
			break;
		if (purge_send(p, unlink_reply, p, (int)n + 1, argv,
		    lens) != 0) {
			purge_fail(p, "Redis is not connected (%zu of %zu "
			    "batches done)", p->rep.batches,
			    p->rep.batches_total);
			break;
		}
		ubatch_push(p, n);
		p->unlinks_waiting++;
		p->unlink_sent += n;
	}
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
		purge_fail(p, "%s; nothing of this batch was deleted", cause);
		free(cause);
		return;
	}
	snprintf(p->backup_hash, sizeof p->backup_hash, "%s",
	    backup_writer_hash(p->backup));
	/* On disk: its keys may go, PURGE_DEPTH batches at a time. */
	if (p->ready_n + p->gn > p->ready_cap) {
		p->ready_cap = p->ready_n + p->gn + GROUP_KEYS;
		p->ready_keys = xreallocarray(p->ready_keys, p->ready_cap,
		    sizeof *p->ready_keys);
		p->ready_lens = xreallocarray(p->ready_lens, p->ready_cap,
		    sizeof *p->ready_lens);
	}
	memcpy(p->ready_keys + p->ready_n, p->gkeys, p->gn * sizeof *p->gkeys);
	memcpy(p->ready_lens + p->ready_n, p->glens, p->gn * sizeof *p->glens);
	p->ready_n += p->gn;
	p->gn = 0;
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
	if (purge_answered(p)) {
		free(c->dump);
		free(c);
		return;
	}
	if (p->failed)
		;
	else if (rep == NULL)
		purge_fail(p, "Redis failed while backing up: %s; nothing of "
		    "this batch was deleted", err);
	else if (rep->type != REDIS_REPLY_INTEGER || rep->integer < -2)
		purge_fail(p, "PTTL answered '%s' while backing up; nothing of "
		    "this batch was deleted", purge_reply_text(rep, text,
		    sizeof text));
	else if (!c->dumped || rep->integer == -2) {
		p->rep.gone++;		/* nil DUMP: gone; never unlinked */
		p->dump_gone++;
	}
	else {
		before = backup_pending(p->backup);
		if (backup_add(p->backup, c->key, c->len, c->dump, c->dlen,
		    rep->integer, &cause) != 0) {
			purge_fail(p, "%s; nothing of this batch was deleted",
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
	if (purge_answered(p)) {
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
		purge_fail(p, "Redis failed while backing up: %s; nothing of "
		    "this batch was deleted", err);
	else if (rep->type == REDIS_REPLY_STRING) {
		c->dump = xmalloc(rep->len + 1);
		memcpy(c->dump, rep->str, rep->len);
		c->dlen = rep->len;
		c->dumped = true;
	} else if (rep->type != REDIS_REPLY_NIL)
		/* Only nil means gone: an error (NOPERM, a renamed DUMP)
		 * must never let the key be deleted unsaved. */
		purge_fail(p, "DUMP answered '%s' while backing up; nothing of "
		    "this batch was deleted", purge_reply_text(rep, text,
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
		if (purge_send(p, dump_reply, c, 2, argv, lens) != 0) {
			free(c);
			purge_fail(p, "Redis is not connected; nothing of this "
			    "batch was deleted");
			break;
		}
		p->pos = pos;
		p->tx_sent++;
		p->dumps_waiting++;
		argv[0] = "PTTL";
		if (purge_send(p, pttl_reply, c, 2, argv, lens) != 0) {
			c->orphan = true;	/* dump_reply frees it */
			purge_fail(p, "Redis is not connected; nothing of this "
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
			purge_set_reason(p, "%s; nothing was deleted", cause);
			free(cause);
			purge_end(p, PURGE_FAILED);
			return 0;
		}
		snprintf(p->backup_hash, sizeof p->backup_hash, "%s",
		    backup_writer_hash(p->backup));
	}
	if (p->in_cluster)
		purge_cluster_confirm(p);
	else
		advance(p);
	return 0;
}
