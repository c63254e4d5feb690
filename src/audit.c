/* audit.c: the audit log writer; see audit.h.
 *
 * Durability: one write() per record on an O_APPEND descriptor, then
 * fdatasync() before the caller hears "done".  The first failure of either
 * is final: the kernel may have dropped the dirty pages, so a retried fsync
 * could report success for data that is gone.  The writer then refuses. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "audit.h"
#include "audit_chain.h"
#include "audit_read.h"
#include "audit_redact.h"
#include "buf.h"
#include "fileio.h"
#include "record.h"
#include "xmalloc.h"

struct audit {
	int		 fd;
	char		*path;
	dev_t		 dev;
	ino_t		 ino;
	struct audit_key key;
	char		 session[80];	/* 32 hex digits when we made it */
	char		*actor;
	uint64_t	 seq;		/* of the last record written */
	char		 prev[AUDIT_HEX];
	bool		 refused;
	bool		 created;	/* this start created the file */
	char		*refusal;
	struct redactor	 red;		/* the secrets it must not hold */
};

static void
refuse(struct audit *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
refuse(struct audit *a, const char *fmt, ...)
{
	va_list ap;

	if (a->refused)
		return;
	a->refused = true;
	va_start(ap, fmt);
	xvasprintf(&a->refusal, fmt, ap);
	va_end(ap);
}

bool
audit_refused(const struct audit *a)
{
	return a->refused;
}

const char *
audit_refusal(const struct audit *a)
{
	return a->refusal;
}

const struct audit_key *
audit_seal_key(const struct audit *a)
{
	return &a->key;
}

const char *
audit_path(const struct audit *a)
{
	return a->path;
}

const char *
audit_session(const struct audit *a)
{
	return a->session;
}

uint64_t
audit_records(const struct audit *a)
{
	return a->seq;
}

void
audit_add_secret(struct audit *a, const char *value)
{
	redactor_add(&a->red, value);
}

char *
audit_scrub(const struct audit *a, const char *text, size_t len)
{
	char *s = a != NULL ? redactor_scrub(&a->red, text, len) : NULL;

	return s != NULL ? s : xstrndup(text, len);
}

/* Writing ------------------------------------------------------------------ */

/* The file must still be the one we locked: not removed, not replaced. */
static bool
still_ours(struct audit *a)
{
	struct stat st;

	if (fstat(a->fd, &st) != 0) {
		refuse(a, "cannot stat the audit log: %s", strerror(errno));
		return false;
	}
	if (st.st_nlink == 0) {
		refuse(a, "the audit log %s was removed", a->path);
		return false;
	}
	if (stat(a->path, &st) != 0 || st.st_dev != a->dev ||
	    st.st_ino != a->ino) {
		refuse(a, "the audit log %s was moved or replaced", a->path);
		return false;
	}
	return true;
}

static char *
build_line(struct audit *a, const char *type, unsigned step, json_t *data)
{
	char ts[32], hash[AUDIT_HEX], *body;
	json_t *rec, *clean;
	struct buf line;
	size_t len;

	audit_timestamp(ts, sizeof ts);
	clean = redactor_copy(&a->red, data);
	rec = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:s}",
	    "seq", (json_int_t)(a->seq + 1), "ts", ts, "session", a->session,
	    "actor", a->actor, "type", type,
	    "step", step > 0 ? json_integer(step) : json_null(),
	    "data", clean, "prev", a->prev);
	if (rec == NULL)
		fatal("cannot build an audit record of type %s", type);
	body = audit_json_encode(rec);
	json_decref(rec);
	len = strlen(body);
	audit_hash(&a->key, body, len, hash);
	buf_init(&line);
	buf_add(&line, body, len - 1);		/* without the closing brace */
	buf_addf(&line, "%s%s\"}\n", AUDIT_HASH_TAG, hash);
	free(body);
	return buf_detach(&line);
}

/* Appends one line with a single write() and makes it durable. */
static uint64_t
append_line(struct audit *a, const char *prefix, const char *type,
    unsigned step, json_t *data)
{
	char *line, *out;
	size_t len, plen = strlen(prefix), done;
	ssize_t n;
	json_t *small;

	line = build_line(a, type, step, data);
	len = strlen(line);
	if (len > AUDIT_MAX_LINE) {
		/* Never lose the event: keep that it happened and its size. */
		free(line);
		small = json_pack("{s:b, s:I}", "truncated", 1,
		    "bytes", (json_int_t)len);
		if (json_is_integer(json_object_get(data, "intent")))
			json_object_set(small, "intent",
			    json_object_get(data, "intent"));
		line = build_line(a, type, step, small);
		json_decref(small);
		len = strlen(line);
	}
	out = xmalloc(plen + len + 1);
	memcpy(out, prefix, plen);
	memcpy(out + plen, line, len + 1);
	do
		n = write(a->fd, out, plen + len);
	while (n < 0 && errno == EINTR);
	done = n < 0 ? 0 : (size_t)n;
	if (n < 0)
		refuse(a, "cannot write the audit log: %s", strerror(errno));
	else if (done < plen + len)
		refuse(a, "short write to the audit log (%zu of %zu bytes): "
		    "the disk may be full", done, plen + len);
	else if (fdatasync(a->fd) != 0)
		refuse(a, "fdatasync of the audit log failed: %s; the record "
		    "may not be on disk", strerror(errno));
	if (!a->refused) {
		a->seq++;
		audit_hash(&a->key, line, len - 1, a->prev);
	}
	free(out);
	free(line);
	return a->refused ? 0 : a->seq;
}

uint64_t
audit_append(struct audit *a, const char *type, unsigned step, json_t *data)
{
	uint64_t seq = 0;

	if (data == NULL)
		data = json_object();
	if (!a->refused && still_ours(a))
		seq = append_line(a, "", type, step, data);
	json_decref(data);
	return seq;
}

uint64_t
audit_intent(struct audit *a, const char *type, unsigned step, json_t *data)
{
	return audit_append(a, type, step, data);
}

uint64_t
audit_result(struct audit *a, uint64_t intent, const char *type,
    unsigned step, json_t *data)
{
	if (data == NULL)
		data = json_object();
	json_object_set_new(data, "intent", json_integer((json_int_t)intent));
	return audit_append(a, type, step, data);
}

/* Opening ------------------------------------------------------------------ */

char *
audit_default_dir(char **cause)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	struct passwd *pw;

	if (xdg != NULL && xdg[0] == '/')
		return xprintf("%s/rehearse", xdg);
	if (home == NULL || home[0] != '/') {
		if ((pw = getpwuid(geteuid())) == NULL || pw->pw_dir == NULL) {
			xasprintf(cause, "no home directory for the audit logs "
			    "(set XDG_STATE_HOME or use --audit FILE)");
			return NULL;
		}
		home = pw->pw_dir;
	}
	return xprintf("%s/.local/state/rehearse", home);
}

char *
audit_slug(const char *title)
{
	struct buf b;
	bool dash = false;
	const char *p;

	buf_init(&b);
	buf_add(&b, "", 0);
	for (p = title; *p != '\0'; p++) {
		if (isalnum((unsigned char)*p) && (unsigned char)*p < 0x80) {
			if (b.len + (dash && b.len > 0) >= 40)
				break;
			if (dash && b.len > 0)
				buf_addc(&b, '-');
			dash = false;
			buf_addc(&b, (char)tolower((unsigned char)*p));
		} else
			dash = true;
	}
	if (b.len == 0)
		buf_adds(&b, "runbook");
	return buf_detach(&b);
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* mkdir -p with mode 0700; every directory created is made durable by an
 * fsync of its parent. */
static int
make_dirs(const char *path, char **cause)
{
	char *p = xstrdup(path), *s, *parent;
	struct stat st;
	int rc = 0;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (stat(p, &st) != 0) {
			if (mkdir(p, 0700) != 0 && errno != EEXIST) {
				xasprintf(cause, "cannot create %s: %s", p,
				    strerror(errno));
				rc = -1;
				break;
			}
			parent = xstrdup(p);
			*strrchr(parent, '/') = '\0';
			fsync_dir(parent[0] != '\0' ? parent : "/");
			free(parent);
		} else if (!S_ISDIR(st.st_mode)) {
			xasprintf(cause, "%s is not a directory", p);
			rc = -1;
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

static char *
dir_of(const char *path)
{
	char *d = xstrdup(path), *slash = strrchr(d, '/');

	if (slash == NULL) {
		free(d);
		return xstrdup(".");
	}
	if (slash == d)
		slash[1] = '\0';
	else
		*slash = '\0';
	return d;
}

/* The directory a log is written in, opened and checked.  Anyone who may
 * write to it may remove or replace the log, so (as ssh does for ~/.ssh):
 * the state directory must be a real directory (not a symbolic link), the
 * user's own, and writable by nobody else.  A directory named by --audit
 * FILE may be reached through links (the user named it) and may be owned
 * by root, but may be written by group or others only when it is sticky
 * (/tmp), where nobody else can remove or rename the user's file.  Returns
 * the directory's descriptor, or -1 with *cause. */
static int
open_dir(const char *dir, bool state_dir, char **cause)
{
	struct stat st;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY |
	    (state_dir ? O_NOFOLLOW : 0));
	if (fd < 0) {
		if (state_dir && (errno == ELOOP || errno == ENOTDIR) &&
		    lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
			xasprintf(cause, "%s: the audit log directory is a "
			    "symbolic link; refusing to follow it (make it a "
			    "directory of your own, or use --audit FILE)", dir);
		else
			xasprintf(cause, "%s: cannot open the audit log "
			    "directory: %s", dir, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		xasprintf(cause, "%s: cannot stat the audit log directory: %s",
		    dir, strerror(errno));
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid() && (state_dir || st.st_uid != 0)) {
		xasprintf(cause, "%s: the audit log directory belongs to user "
		    "%lu, not to you (%lu): its owner could rewrite the log",
		    dir, (unsigned long)st.st_uid, (unsigned long)geteuid());
		close(fd);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (state_dir || (st.st_mode & S_ISVTX) == 0)) {
		xasprintf(cause, "%s: the audit log directory is writable by "
		    "%s (mode %04o): they could remove or replace the log; "
		    "chmod go-w it", dir, (st.st_mode & S_IWOTH) ? "everyone" :
		    "its group", (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	return fd;
}

/* Opens a->path (in the directory dfd, as name) for appending; with create,
 * the file must be new (exclusive) or empty.  Returns 0, 1 when exclusive
 * and the name is taken, or -1 with *cause. */
static int
open_log(struct audit *a, int dfd, const char *name, bool create,
    bool exclusive, char **cause)
{
	int flags = O_WRONLY | O_APPEND | O_NOFOLLOW;
	struct stat st;

	a->created = false;
	if (create) {
		a->fd = open_regular_at(dfd, name, a->path, flags | O_CREAT |
		    O_EXCL, 0600, cause);
		if (a->fd >= 0)
			a->created = true;
		else if (errno == EEXIST) {
			free(*cause);
			*cause = NULL;
			if (exclusive)
				return 1;
		}
	}
	if (a->fd < 0 && (*cause == NULL) &&
	    (a->fd = open_regular_at(dfd, name, a->path, flags, 0, cause)) < 0) {
		if (errno == ELOOP) {
			free(*cause);
			xasprintf(cause, "%s: refusing to follow a symbolic link "
			    "for the audit log", a->path);
		}
		return -1;
	}
	if (a->fd < 0)
		return -1;
	if (flock(a->fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			xasprintf(cause, "%s: the audit log is in use by another "
			    "rehearse session", a->path);
		else
			xasprintf(cause, "%s: cannot lock the audit log: %s",
			    a->path, strerror(errno));
		return -1;
	}
	if (fstat(a->fd, &st) != 0) {
		xasprintf(cause, "%s: cannot stat the audit log: %s", a->path,
		    strerror(errno));
		return -1;
	}
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	if (st.st_uid != geteuid()) {
		xasprintf(cause, "%s: the audit log belongs to user %lu, not to "
		    "you (%lu)", a->path, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		return -1;
	}
	if (create && st.st_size > 0) {
		xasprintf(cause, "%s: already holds records; continue it with "
		    "rehearse run --resume, or choose a new file", a->path);
		return -1;
	}
	if ((st.st_mode & 0077) != 0 && fchmod(a->fd, 0600) != 0) {
		xasprintf(cause, "%s: the audit log is readable by others and "
		    "cannot be made private: %s", a->path, strerror(errno));
		return -1;
	}
	if (a->created)
		fsync(dfd);
	return 0;
}

/* A start that failed (a full disk): the file it created goes again, so
 * that no empty or half-written log is left behind. */
static void
remove_created(struct audit *a)
{
	struct stat st;
	char *dir;

	if (!a->created || a->fd < 0)
		return;
	if (stat(a->path, &st) == 0 && st.st_dev == a->dev &&
	    st.st_ino == a->ino && unlink(a->path) == 0) {
		dir = dir_of(a->path);
		fsync_dir(dir);
		free(dir);
	}
}

static char *
actor_name(void)
{
	struct passwd *pw = getpwuid(geteuid());
	const char *user = pw != NULL ? pw->pw_name : getenv("USER");
	char host[256];

	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	return xprintf("%s@%s", user != NULL ? user : "unknown", host);
}

static void
register_runbook_secrets(struct audit *a, const struct runbook *rb)
{
	size_t i;

	if (rb == NULL)
		return;
	if (rb->has_redis) {
		audit_add_secret(a, rb->redis.url_password);
		if (rb->redis.password_env != NULL)
			audit_add_secret(a, getenv(rb->redis.password_env));
		if (rb->redis.sentinel_password_env != NULL)
			audit_add_secret(a,
			    getenv(rb->redis.sentinel_password_env));
	}
	for (i = 0; i < rb->http.nprofiles; i++) {
		const struct rb_profile *p = &rb->http.profiles[i];
		const char *v, *colon;

		if (p->cookie_env != NULL)
			audit_add_secret(a, getenv(p->cookie_env));
		if (p->header_env != NULL && (v = getenv(p->header_env)) != NULL) {
			audit_add_secret(a, v);
			/* The value alone may be logged apart from its name. */
			if ((colon = strchr(v, ':')) != NULL) {
				colon++;
				while (*colon == ' ')
					colon++;
				audit_add_secret(a, colon);
			}
		}
	}
}

static json_t *
start_data(struct audit *a, const struct audit_opts *o)
{
	char host[256], kid[17];
	json_t *d, *rb = json_null();

	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	if (o->rb != NULL)
		rb = json_pack("{s:s, s:s, s:s, s:s, s:s}",
		    "path", o->rb->path, "sha256", o->rb->sha256,
		    "title", o->rb->title, "owner", o->rb->owner,
		    "environment", o->rb->environment);
	d = json_pack("{s:i, s:s, s:o, s:s, s:i, s:o, s:b}",
	    "format", AUDIT_FORMAT, "version", PACKAGE_VERSION, "runbook", rb,
	    "hostname", host, "pid", (int)getpid(),
	    "terminal", o->cols > 0 ? json_pack("{s:i, s:i}", "cols", o->cols,
	    "rows", o->rows) : json_null(), "sealed", a->key.len > 0);
	/* The ACL user rehearse logs into Redis as (never its password). */
	if (o->rb != NULL && o->rb->has_redis && o->rb->redis.user != NULL)
		json_object_set_new(d, "redis_user",
		    json_string(o->rb->redis.user));
	if (a->key.len > 0) {
		audit_key_id(&a->key, kid);
		json_object_set_new(d, "key_id", json_string(kid));
	}
	return d;
}

static void
audit_free(struct audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	free(a->path);
	free(a->actor);
	free(a->refusal);
	redactor_free(&a->red);
	explicit_bzero(&a->key, sizeof a->key);
	free(a);
}

/* The last component of path. */
static const char *
base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

static int
open_new(struct audit *a, const struct audit_opts *o, char **cause)
{
	char stamp[32], *dir, *slug, *base, *name;
	time_t now = time(NULL);
	struct tm tm;
	int i, rc, dfd;

	if (o->path != NULL) {
		a->path = xstrdup(o->path);
		if (base_of(a->path)[0] == '\0') {
			xasprintf(cause, "%s: names a directory, not a file",
			    a->path);
			return -1;
		}
		dir = dir_of(a->path);
		rc = make_dirs(dir, cause);
		dfd = rc == 0 ? open_dir(dir, false, cause) : -1;
		free(dir);
		if (dfd < 0)
			return -1;
		rc = open_log(a, dfd, base_of(a->path), true, false, cause);
		close(dfd);
		return rc;
	}
	if ((dir = audit_default_dir(cause)) == NULL)
		return -1;
	if (make_dirs(dir, cause) != 0 || (dfd = open_dir(dir, true,
	    cause)) < 0) {
		free(dir);
		return -1;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	slug = audit_slug(o->rb != NULL ? o->rb->title : "session");
	base = xprintf("%s-%s", stamp, slug);
	free(slug);
	rc = 1;
	for (i = 1; i <= 100 && rc == 1; i++) {
		free(a->path);
		name = i == 1 ? xprintf("%s.jsonl", base) :
		    xprintf("%s-%d.jsonl", base, i);
		a->path = xprintf("%s/%s", dir, name);
		rc = open_log(a, dfd, name, true, true, cause);
		free(name);
	}
	close(dfd);
	free(base);
	free(dir);
	if (rc == 1)
		xasprintf(cause, "%s: too many logs named alike", a->path);
	return rc == 0 ? 0 : -1;
}

static int
open_resume(struct audit *a, const struct audit_opts *o, json_t **data,
    char **prefix, struct verify *v, char **cause)
{
	char *dir;
	size_t i;
	int dfd, rc;

	a->path = xstrdup(o->path);
	dir = dir_of(a->path);
	dfd = open_dir(dir, false, cause);
	free(dir);
	if (dfd < 0)
		return -1;
	rc = open_log(a, dfd, base_of(a->path), false, false, cause);
	close(dfd);
	if (rc != 0)
		return -1;
	/* Locked: nobody appends while we read. */
	if (verify_file(v, a->path, cause) != 0)
		return -1;
	if (v->status == VERIFY_BAD || v->status == VERIFY_NEED_KEY) {
		xasprintf(cause, "%s: cannot resume: %s", a->path, v->reason);
		return -1;
	}
	snprintf(a->session, sizeof a->session, "%s", v->session);
	a->seq = v->last_seq;
	memcpy(a->prev, v->prev, AUDIT_HEX);
	*data = json_pack("{s:s, s:i, s:s, s:I}", "version", PACKAGE_VERSION,
	    "pid", (int)getpid(), "previous", v->status == VERIFY_INTACT ?
	    "ended" : v->status == VERIFY_TORN ? "torn" : "never ended",
	    "after", (json_int_t)v->last_seq);
	if (v->status == VERIFY_TORN) {
		json_object_set_new(*data, "torn_bytes",
		    json_integer((json_int_t)v->torn_len));
		*prefix = xstrdup("\n");	/* finish the torn line */
	}
	if (v->nintents > 0) {
		json_t *open = json_array();
		for (i = 0; i < v->nintents; i++)
			json_array_append_new(open,
			    json_integer((json_int_t)v->intents[i].seq));
		json_object_set_new(*data, "open_intents", open);
	}
	return 0;
}

struct audit *
audit_open(const struct audit_opts *o, char **cause)
{
	struct audit *a = xcalloc(1, sizeof *a);
	unsigned char rnd[16];
	char *prefix = NULL;
	json_t *data = NULL;
	struct verify v;
	size_t i;
	int rc;

	a->fd = -1;
	a->actor = actor_name();
	if (o->key_file != NULL &&
	    audit_key_load(&a->key, o->key_file, cause) != 0) {
		audit_free(a);
		return NULL;
	}
	register_runbook_secrets(a, o->rb);
	verify_init(&v, &a->key);
	if (o->resume) {
		if (o->path == NULL) {
			xasprintf(cause, "resuming needs the log to continue");
			rc = -1;
		} else
			rc = open_resume(a, o, &data, &prefix, &v, cause);
	} else {
		if (RAND_bytes(rnd, sizeof rnd) != 1)
			fatal("no random bytes for a session id");
		for (i = 0; i < sizeof rnd; i++)
			snprintf(a->session + 2 * i, 3, "%02x", rnd[i]);
		audit_genesis(&a->key, a->prev);
		rc = open_new(a, o, cause);
		if (rc == 0)
			data = start_data(a, o);
	}
	if (rc != 0) {
		if (!o->resume)
			remove_created(a);
		verify_done(&v);
		audit_free(a);
		return NULL;
	}
	if (append_line(a, prefix ? prefix : "", record_name(o->resume ?
	    REC_SESSION_RESUME : REC_SESSION_START), 0, data) == 0) {
		xasprintf(cause, "%s: %s", a->path, a->refusal);
		if (!o->resume)
			remove_created(a);
		json_decref(data);
		free(prefix);
		verify_done(&v);
		audit_free(a);
		return NULL;
	}
	json_decref(data);
	free(prefix);
	/* Intents that never got a result: their outcome is unknown. */
	for (i = 0; i < v.nintents; i++)
		audit_append(a, record_name(REC_INTENT_UNKNOWN), 0,
		    json_pack("{s:I, s:s}",
		    "intent", (json_int_t)v.intents[i].seq,
		    "type", v.intents[i].type));
	verify_done(&v);
	return a;
}

int
audit_close(struct audit *a)
{
	int rc = 0;

	if (a == NULL)
		return 0;
	if (audit_append(a, record_name(REC_SESSION_END), 0,
	    json_pack("{s:I}", "records",
	    (json_int_t)(a->seq + 1))) == 0)
		rc = -1;
	audit_free(a);
	return rc;
}
