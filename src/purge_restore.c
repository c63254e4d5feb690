/* purge_restore.c: putting back what a purge backed up (see purge.h,
 * purge_restore_check() and purge_restore()). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "backup.h"
#include "cluster.h"
#include "purge_impl.h"
#include "textesc.h"
#include "xmalloc.h"

/* Restore ---------------------------------------------------------------- */

#define RESTORE_WINDOW 64

struct restore {
	struct redis	*redis;
	struct cluster	*cl;		/* a cluster: by slot; else NULL */
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
		/* On a cluster the key goes to its slot's primary; MOVED,
		   ASK and TRYAGAIN are followed there. */
		if (rs->cl != NULL ? cluster_command(rs->cl,
		    cluster_keyslot((const char *)rec.key, rec.klen),
		    restore_reply, rs, argc, argv, lens) == 0 :
		    redis_command(rs->redis, restore_reply, rs, argc, argv,
		    lens) == 0)
			rs->in_flight++;
		else {
			rs->rep.errors++;
			snprintf(rs->rep.error, sizeof rs->rep.error, "%s",
			    rs->cl != NULL ? "too many commands wait for the "
			    "cluster" : "Redis is not connected");
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

static void
restore_start(struct redis *r, struct cluster *cl, struct backup_reader *br,
    bool replace, void (*done)(const struct restore_report *, void *),
    void *arg)
{
	struct restore *rs;

	rs = xcalloc(1, sizeof *rs);
	rs->redis = r;
	rs->cl = cl;
	rs->br = br;
	rs->replace = replace;
	rs->done = done;
	rs->arg = arg;
	rs->later = event_new(redis_loop_base(r), -1, 0, restore_finish, rs);
	restore_pump(rs);
}

void
purge_restore(struct redis *r, struct backup_reader *br, bool replace,
    void (*done)(const struct restore_report *, void *), void *arg)
{
	restore_start(r, NULL, br, replace, done, arg);
}

void
purge_restore_cluster(struct redis *r, struct cluster *cl,
    struct backup_reader *br, bool replace,
    void (*done)(const struct restore_report *, void *), void *arg)
{
	restore_start(r, cl, br, replace, done, arg);
}
