/* purge.c: see purge.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "audit_chain.h"
#include "buf.h"
#include "keyset.h"
#include "purge.h"
#include "scan.h"
#include "textesc.h"
#include "xmalloc.h"

#define PREVIEW_SAMPLE 10

struct purge {
	struct redis	*redis;
	const struct rb_route *route;
	char		*backup_path;
	int		 backup_fd;
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
	/* The batch in flight. */
	size_t		 batch_n;
	size_t		 batch_pos;	/* arena position of its first key */
	size_t		 waiting;	/* backup replies still to come */
	struct buf	 backup;	/* the batch's backup lines */
	bool		 batch_failed;
	struct event	*later;
};

static void	next_batch(struct purge *);

/* Wall-clock milliseconds: a TTL saved in a backup runs on meanwhile. */
static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

struct purge *
purge_new(struct redis *r, const struct rb_route *route,
    const char *backup_path, purge_event_fn fn, void *arg)
{
	struct purge *p = xcalloc(1, sizeof *p);

	p->redis = r;
	p->route = route;
	p->fn = fn;
	p->arg = arg;
	p->backup_fd = -1;
	if (backup_path != NULL)
		p->backup_path = xstrdup(backup_path);
	keyset_init(&p->keys, true);
	buf_init(&p->backup);
	p->later = event_new(redis_loop_base(r), -1, 0, notify, p);
	return p;
}

void
purge_free(struct purge *p)
{
	size_t i;

	if (p == NULL)
		return;
	scan_cancel(p->scan);
	for (i = 0; i < p->nsample; i++)
		free(p->sample[i].key);
	free(p->sample);
	keyset_done(&p->keys);
	buf_free(&p->backup);
	if (p->backup_fd >= 0)
		close(p->backup_fd);
	free(p->backup_path);
	event_free(p->later);
	free(p);
}

const struct purge_report *
purge_report(const struct purge *p)
{
	return &p->rep;
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

static void
preview_done(struct scan *s, void *arg)
{
	struct purge *p = arg;
	const struct scan_result *res = scan_result(s);
	size_t i;

	p->scan = NULL;
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
		p->rep.state = PURGE_READY;
		p->rep.batches_total = (p->rep.previewed + PURGE_BATCH - 1) /
		    PURGE_BATCH;
	}
	scan_free(s);
	changed(p);
}

void
purge_preview(struct purge *p)
{
	struct scan_opts o;
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
	memset(&o, 0, sizeof o);
	o.patterns = p->route->keys;
	o.npatterns = p->route->nkeys;
	o.keep = true;
	o.sample = PREVIEW_SAMPLE;
	o.limit = p->route->allow_broad ? PURGE_HARD_LIMIT :
	    (size_t)p->route->max_keys;
	p->rep.state = PURGE_PREVIEWING;
	p->scan = scan_start(p->redis, &o, preview_done, p);
}

/* Deleting --------------------------------------------------------------- */

static void
end(struct purge *p, enum purge_state st)
{
	p->rep.state = st;
	p->rep.ms = (loop_now() - p->started) * 1000.0;
	if (p->backup_fd >= 0) {
		close(p->backup_fd);
		p->backup_fd = -1;
	}
	changed(p);
}

static void
unlink_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct purge *p = arg;

	(void)r;
	if (rep == NULL) {
		/* Whether Redis deleted this batch is unknown. */
		p->rep.in_doubt += p->batch_n;
		set_reason(p, "Redis failed during batch %zu of %zu: %s",
		    p->rep.batches + 1, p->rep.batches_total, err);
		end(p, PURGE_FAILED);
		return;
	}
	if (rep->type != REDIS_REPLY_INTEGER) {
		p->rep.errors += p->batch_n;
		set_reason(p, "UNLINK failed: %.*s", (int)(rep->len > 200 ? 200 :
		    rep->len), rep->str ? rep->str : "");
		end(p, PURGE_FAILED);
		return;
	}
	p->rep.deleted += (size_t)rep->integer;
	p->rep.gone += p->batch_n - (size_t)rep->integer;
	p->rep.batches++;
	changed(p);
	if (p->cancel && p->pos < p->keys.arena_len) {
		set_reason(p, "cancelled after %zu of %zu batches",
		    p->rep.batches, p->rep.batches_total);
		end(p, PURGE_CANCELLED);
		return;
	}
	next_batch(p);
}

static void
send_unlink(struct purge *p)
{
	const char **argv = xcalloc(p->batch_n + 1, sizeof *argv);
	size_t *lens = xcalloc(p->batch_n + 1, sizeof *lens);
	size_t i, pos = p->batch_pos;

	argv[0] = "UNLINK";
	lens[0] = 6;
	for (i = 1; i <= p->batch_n; i++)
		keyset_next(&p->keys, &pos, &argv[i], &lens[i]);
	if (redis_command(p->redis, unlink_reply, p, (int)p->batch_n + 1, argv,
	    lens) != 0) {
		set_reason(p, "Redis is not connected (%zu of %zu batches "
		    "done)", p->rep.batches, p->rep.batches_total);
		end(p, PURGE_FAILED);
	}
	free(argv);
	free(lens);
}

static char *
base64(const void *p, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)len);
	return out;
}

/* Each key of the batch gets a DUMP and a PTTL; the pair of replies is one
 * backup line. */
struct dump_ctx {
	struct purge	*p;
	const char	*key;
	size_t		 len;
	char		*dump;		/* base64, NULL: the key is gone */
	bool		 orphan;	/* its PTTL was never sent */
};

static void
backup_written(struct purge *p)
{
	ssize_t n;

	do
		n = write(p->backup_fd, p->backup.data, p->backup.len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != p->backup.len || fdatasync(p->backup_fd) != 0) {
		set_reason(p, "cannot write the backup %s: %s; nothing of this "
		    "batch was deleted", p->backup_path, n < 0 ? strerror(errno) :
		    "short write");
		p->rep.errors++;
		end(p, PURGE_FAILED);
		return;
	}
	buf_reset(&p->backup);
	send_unlink(p);
}

static void
pttl_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct dump_ctx *c = arg;
	struct purge *p = c->p;
	json_t *o;
	char *line, *k64;

	(void)r;
	if (rep == NULL || p->batch_failed) {
		if (!p->batch_failed) {
			p->batch_failed = true;
			set_reason(p, "Redis failed while backing up: %s; "
			    "nothing of this batch was deleted", err ? err :
			    "error");
		}
	} else if (c->dump != NULL && rep->type == REDIS_REPLY_INTEGER &&
	    rep->integer != -2) {
		k64 = base64(c->key, c->len);
		o = json_pack("{s:s, s:o, s:I, s:I, s:s}", "key_b64", k64,
		    "key", audit_json_bytes(c->key, c->len),
		    "pttl", (json_int_t)rep->integer,
		    "saved_ms", (json_int_t)wall_ms(), "dump", c->dump);
		line = audit_json_encode(o);
		buf_adds(&p->backup, line);
		buf_addc(&p->backup, '\n');
		free(line);
		free(k64);
		json_decref(o);
		p->rep.backed_up++;
	}
	free(c->dump);
	free(c);
	if (--p->waiting > 0)
		return;
	if (p->batch_failed)
		end(p, PURGE_FAILED);
	else
		backup_written(p);
}

static void
dump_reply(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	struct dump_ctx *c = arg;

	(void)r;
	(void)err;
	if (c->orphan) {
		free(c);
		return;
	}
	if (rep != NULL && rep->type == REDIS_REPLY_STRING)
		c->dump = base64(rep->str, rep->len);
	/* A nil reply: the key is already gone; nothing to back up. */
}

static void
send_backup(struct purge *p)
{
	const char *argv[2];
	size_t lens[2], i, pos = p->batch_pos;
	struct dump_ctx *c;

	p->waiting = p->batch_n;
	p->batch_failed = false;
	for (i = 0; i < p->batch_n; i++) {
		c = xcalloc(1, sizeof *c);
		c->p = p;
		keyset_next(&p->keys, &pos, &c->key, &c->len);
		argv[0] = "DUMP";
		lens[0] = 4;
		argv[1] = c->key;
		lens[1] = c->len;
		if (redis_command(p->redis, dump_reply, c, 2, argv, lens) != 0) {
			free(c);
			break;
		}
		argv[0] = "PTTL";
		if (redis_command(p->redis, pttl_reply, c, 2, argv, lens) != 0) {
			c->orphan = true;	/* dump_reply frees it */
			break;
		}
	}
	if (i < p->batch_n) {
		/* Redis is not up: the replies already sent will fail and the
		 * last of them ends the purge; nothing of the batch goes. */
		p->batch_failed = true;
		set_reason(p, "Redis is not connected; nothing of this batch "
		    "was deleted");
		p->waiting = i;
		if (i == 0)
			end(p, PURGE_FAILED);
	}
}

static void
next_batch(struct purge *p)
{
	const char *key;
	size_t len, n = 0, pos = p->pos;

	while (n < PURGE_BATCH && keyset_next(&p->keys, &pos, &key, &len))
		n++;
	if (n == 0) {
		end(p, PURGE_DONE);
		return;
	}
	p->batch_pos = p->pos;
	p->batch_n = n;
	p->pos = pos;
	if (p->backup_fd >= 0)
		send_backup(p);
	else
		send_unlink(p);
}

static int
fsync_parent(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd, rc = 0;

	if (slash == NULL)
		snprintf(dir, 2, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(dir);
	return rc;
}

int
purge_confirm(struct purge *p)
{
	json_t *h;
	char *line, ts[32];

	if (p->rep.state != PURGE_READY)
		return -1;
	p->started = loop_now();
	p->rep.state = PURGE_RUNNING;
	if (p->backup_path != NULL) {
		p->backup_fd = open(p->backup_path, O_WRONLY | O_CREAT | O_EXCL |
		    O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (p->backup_fd < 0) {
			set_reason(p, "cannot create the backup %s: %s",
			    p->backup_path, strerror(errno));
			end(p, PURGE_FAILED);
			return 0;
		}
		audit_timestamp(ts, sizeof ts);
		h = json_pack("{s:i, s:s, s:I, s:s}", "rehearse_backup", 1,
		    "route", p->route->name, "keys",
		    (json_int_t)p->rep.previewed, "created", ts);
		line = audit_json_encode(h);
		json_decref(h);
		if (dprintf(p->backup_fd, "%s\n", line) < 0 ||
		    fdatasync(p->backup_fd) != 0 || fsync_parent(p->backup_path)
		    != 0) {
			set_reason(p, "cannot write the backup %s: %s",
			    p->backup_path, strerror(errno));
			free(line);
			end(p, PURGE_FAILED);
			return 0;
		}
		free(line);
	}
	next_batch(p);
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
	FILE		*f;
	bool		 replace;
	size_t		 lineno;
	size_t		 in_flight;
	bool		 eof;
	struct restore_report rep;
	void		(*done)(const struct restore_report *, void *);
	void		*arg;
	struct event	*later;
};

static void	restore_pump(struct restore *);

static unsigned char *
unbase64(const char *s, size_t *out_len)
{
	size_t len = strlen(s), pad = 0;
	unsigned char *out = xmalloc(3 * (len / 4) + 3);
	int n;

	if (len % 4 != 0)
		goto bad;
	n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (n < 0)
		goto bad;
	if (len > 0 && s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	*out_len = (size_t)n - pad;
	return out;
bad:
	free(out);
	return NULL;
}

static void
restore_finish(evutil_socket_t fd, short what, void *arg)
{
	struct restore *rs = arg;

	(void)fd;
	(void)what;
	rs->rep.done = true;
	fclose(rs->f);
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
		if (strncmp(rep->str, "BUSYKEY", 7) == 0)
			rs->rep.existed++;
		else {
			rs->rep.errors++;
			snprintf(rs->rep.error, sizeof rs->rep.error, "%.*s",
			    (int)(rep->len > 200 ? 200 : rep->len), rep->str);
		}
	} else
		rs->rep.restored++;
	restore_pump(rs);
}

static void
restore_pump(struct restore *rs)
{
	char *line = NULL;
	size_t cap = 0, klen, dlen;
	ssize_t n;
	json_t *o;
	const char *k64, *d64, *argv[5];
	size_t lens[5];
	unsigned char *key, *dump;
	char ttl[32];
	json_int_t pttl, saved;
	int argc;

	while (!rs->eof && rs->in_flight < RESTORE_WINDOW) {
		if ((n = getline(&line, &cap, rs->f)) <= 0) {
			rs->eof = true;
			break;
		}
		rs->lineno++;
		if ((o = json_loads(line, 0, NULL)) == NULL) {
			rs->rep.errors++;
			snprintf(rs->rep.error, sizeof rs->rep.error, "line %zu of "
			    "the backup is not a record", rs->lineno);
			continue;
		}
		if (json_object_get(o, "rehearse_backup") != NULL) {
			json_decref(o);
			continue;
		}
		k64 = json_string_value(json_object_get(o, "key_b64"));
		d64 = json_string_value(json_object_get(o, "dump"));
		pttl = json_integer_value(json_object_get(o, "pttl"));
		saved = json_integer_value(json_object_get(o, "saved_ms"));
		/* The TTL ran on while the key sat in the backup. */
		if (pttl > 0 && saved > 0) {
			pttl -= wall_ms() - saved;
			if (pttl <= 0)
				pttl = 0;
		}
		key = k64 ? unbase64(k64, &klen) : NULL;
		dump = d64 ? unbase64(d64, &dlen) : NULL;
		if (key == NULL || dump == NULL) {
			rs->rep.errors++;
			snprintf(rs->rep.error, sizeof rs->rep.error, "line %zu of "
			    "the backup lacks a key or a dump", rs->lineno);
		} else if (pttl == 0 || pttl < -1) {
			rs->rep.expired++;
		} else {
			snprintf(ttl, sizeof ttl, "%lld", (long long)(pttl < 0 ?
			    0 : pttl));
			argv[0] = "RESTORE";
			lens[0] = 7;
			argv[1] = (const char *)key;
			lens[1] = klen;
			argv[2] = ttl;
			lens[2] = strlen(ttl);
			argv[3] = (const char *)dump;
			lens[3] = dlen;
			argc = 4;
			if (rs->replace) {
				argv[argc] = "REPLACE";
				lens[argc++] = 7;
			}
			if (redis_command(rs->redis, restore_reply, rs, argc,
			    argv, lens) == 0)
				rs->in_flight++;
			else {
				rs->rep.errors++;
				snprintf(rs->rep.error, sizeof rs->rep.error,
				    "Redis is not connected");
				rs->eof = true;
			}
		}
		free(key);
		free(dump);
		json_decref(o);
	}
	free(line);
	if (rs->eof && rs->in_flight == 0)
		event_active(rs->later, 0, 0);
}

int
purge_restore(struct redis *r, const char *path, bool replace,
    void (*done)(const struct restore_report *, void *), void *arg,
    char **cause)
{
	struct restore *rs;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		xasprintf(cause, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	rs = xcalloc(1, sizeof *rs);
	rs->redis = r;
	rs->f = f;
	rs->replace = replace;
	rs->done = done;
	rs->arg = arg;
	rs->later = event_new(redis_loop_base(r), -1, 0, restore_finish, rs);
	restore_pump(rs);
	return 0;
}
