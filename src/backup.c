/* backup.c: see backup.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "backup.h"
#include "buf.h"
#include "xmalloc.h"

/* Wall-clock milliseconds: a TTL saved in a backup runs on meanwhile. */
static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* NULL when s is not base64 (no line breaks, padded). */
static unsigned char *
unbase64(const char *s, size_t len, size_t *out_len)
{
	size_t pad = 0;
	unsigned char *out;
	int n;

	if (len % 4 != 0 || len > (size_t)BACKUP_MAX_LINE)
		return NULL;
	out = xmalloc(3 * (len / 4) + 3);
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len)) < 0) {
		free(out);
		return NULL;
	}
	if (len > 0 && s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	*out_len = (size_t)n - pad;
	return out;
}

/* One line: the record with its prev, then ,"hash":"H"} where H is the hash
 * of the record as encoded (closing brace included).  prev becomes H. */
static void
chain_line(const struct audit_key *k, json_t *rec, char prev[AUDIT_HEX],
    struct buf *out)
{
	char *body;
	size_t len;

	json_object_set_new(rec, "prev", json_string(prev));
	body = audit_json_encode(rec);
	len = strlen(body);
	audit_hash(k, body, len, prev);
	buf_add(out, body, len - 1);
	buf_addf(out, "%s%s\"}\n", AUDIT_HASH_TAG, prev);
	free(body);
}

/* Writing --------------------------------------------------------------- */

struct backup_writer {
	int		 fd;
	char		*path;
	struct audit_key key;
	char		 prev[AUDIT_HEX];	/* hash of the last line added */
	char		 synced[AUDIT_HEX];	/* ... and of the last synced */
	struct buf	 pending;
	size_t		 saved;
	size_t		 saved_synced;
	bool		 broken;		/* a write or sync failed */
};

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
fsync_parent(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd, rc = -1;

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

struct backup_writer *
backup_create(const char *path, const struct audit_key *key,
    const char *route, json_t *patterns, size_t keys, char **cause)
{
	struct backup_writer *w = xcalloc(1, sizeof *w);
	char ts[32], id[17];
	json_t *h;

	if (key != NULL)
		w->key = *key;
	w->path = xstrdup(path);
	buf_init(&w->pending);
	audit_genesis(&w->key, w->prev);
	w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (w->fd < 0) {
		xasprintf(cause, "cannot create the backup %s: %s", path,
		    strerror(errno));
		json_decref(patterns);
		backup_writer_free(w);
		return NULL;
	}
	audit_timestamp(ts, sizeof ts);
	h = json_pack("{s:s, s:i, s:s, s:o, s:I, s:s}", "type", "backup",
	    "rehearse_backup", BACKUP_FORMAT, "route", route, "patterns",
	    patterns, "keys", (json_int_t)keys, "created", ts);
	if (w->key.len > 0) {
		audit_key_id(&w->key, id);
		json_object_set_new(h, "sealed", json_string(id));
	} else
		json_object_set_new(h, "sealed", json_null());
	chain_line(&w->key, h, w->prev, &w->pending);
	json_decref(h);
	if (backup_sync(w, cause) != 0 || fsync_parent(path) != 0) {
		if (*cause == NULL)
			xasprintf(cause, "cannot sync the directory of the "
			    "backup %s: %s", path, strerror(errno));
		backup_writer_free(w);
		return NULL;
	}
	return w;
}

/* Copies the NUL-terminated s to d; returns the end. */
static char *
put(char *d, const char *s)
{
	size_t n = strlen(s);

	memcpy(d, s, n);
	return d + n;
}

/* Writes the decimal v to d; returns the end. */
static char *
put_int(char *d, long long v)
{
	char digits[24], *e = digits + sizeof digits, *t = e;
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v :
	    (unsigned long long)v;

	do
		*--t = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	if (v < 0)
		*--t = '-';
	memcpy(d, t, (size_t)(e - t));
	return d + (e - t);
}

/* Whether the key can stand in JSON as it is: printable ASCII without "
 * or \ (most keys). */
static bool
plain_key(const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (key[i] < 0x20 || key[i] > 0x7e || key[i] == '"' ||
		    key[i] == '\\')
			return false;
	return true;
}

/* A key line is made by hand rather than through jansson: it is the hot
 * path of a backed-up purge, and all but the key are base64, hex or
 * numbers.  The line is what jansson would read back as the same object;
 * a key that is not plain goes through audit_json_bytes and
 * audit_json_encode, which every text of the log goes through.  The room
 * for the whole line is taken once and filled in place. */
int
backup_add(struct backup_writer *w, const char *key, size_t klen,
    const void *dump, size_t dlen, long long pttl, char **cause)
{
	size_t k64 = 4 * ((klen + 2) / 3), d64 = 4 * ((dlen + 2) / 3);
	size_t kj_len, line;
	char *enc = NULL, *d, *s;
	json_t *kj;

	/* base64 grows by 4/3; the key also appears escaped (up to 6x). */
	if (4 * (klen + dlen) / 3 + 6 * klen + 512 > BACKUP_MAX_LINE) {
		xasprintf(cause, "a key of %zu bytes with a value of %zu bytes "
		    "is too large to back up (lines are at most %u bytes)",
		    klen, dlen, BACKUP_MAX_LINE);
		return -1;
	}
	if (plain_key(key, klen))
		kj_len = klen + 2;
	else {
		kj = audit_json_bytes(key, klen);
		enc = audit_json_encode(kj);
		json_decref(kj);
		kj_len = strlen(enc);
	}
	/* The fixed text, two numbers, prev and the hash: under 300. */
	s = d = buf_space(&w->pending, k64 + d64 + kj_len + 300);
	d = put(d, "{\"type\":\"key\",\"key_b64\":\"");
	EVP_EncodeBlock((unsigned char *)d, (const unsigned char *)key,
	    (int)klen);
	d += k64;
	d = put(d, "\",\"key\":");
	if (enc == NULL) {
		*d++ = '"';
		memcpy(d, key, klen);
		d += klen;
		*d++ = '"';
	} else {
		memcpy(d, enc, kj_len);
		d += kj_len;
		free(enc);
	}
	d = put(d, ",\"pttl\":");
	d = put_int(d, pttl);
	d = put(d, ",\"saved_ms\":");
	d = put_int(d, wall_ms());
	d = put(d, ",\"dump\":\"");
	EVP_EncodeBlock((unsigned char *)d, dump, (int)dlen);
	d += d64;
	d = put(d, "\",\"prev\":\"");
	memcpy(d, w->prev, 64);
	d += 64;
	*d++ = '"';
	*d++ = '}';
	audit_hash(&w->key, s, (size_t)(d - s), w->prev);
	d--;				/* the closing brace */
	d = put(d, AUDIT_HASH_TAG);
	memcpy(d, w->prev, 64);
	d += 64;
	d = put(d, "\"}\n");
	line = (size_t)(d - s);
	if (line > BACKUP_MAX_LINE)
		fatal("a backup line over the bound slipped through");
	buf_added(&w->pending, line);
	w->saved++;
	return 0;
}

size_t
backup_pending(const struct backup_writer *w)
{
	return w->pending.len;
}

size_t
backup_saved(const struct backup_writer *w)
{
	return w->saved;
}

int
backup_sync(struct backup_writer *w, char **cause)
{
	if (w->broken || w->fd < 0) {
		xasprintf(cause, "the backup %s could not be written before",
		    w->path);
		return -1;
	}
	if (write_all(w->fd, w->pending.data, w->pending.len) != 0 ||
	    fdatasync(w->fd) != 0) {
		w->broken = true;
		xasprintf(cause, "cannot write the backup %s: %s", w->path,
		    strerror(errno));
		return -1;
	}
	buf_reset(&w->pending);
	memcpy(w->synced, w->prev, AUDIT_HEX);
	w->saved_synced = w->saved;
	return 0;
}

int
backup_finish(struct backup_writer *w, const char *state, char **cause)
{
	json_t *o;
	int rc;

	if (w->broken || w->fd < 0) {
		xasprintf(cause, "the backup %s could not be written before",
		    w->path);
		return -1;
	}
	/* Keys whose lines were not synced were never deleted (their batch
	 * failed): they stay out of the file. */
	buf_reset(&w->pending);
	memcpy(w->prev, w->synced, AUDIT_HEX);
	w->saved = w->saved_synced;
	o = json_pack("{s:s, s:s, s:I}", "type", "end", "state", state,
	    "saved", (json_int_t)w->saved);
	chain_line(&w->key, o, w->prev, &w->pending);
	json_decref(o);
	rc = backup_sync(w, cause);
	close(w->fd);
	w->fd = -1;
	return rc;
}

const char *
backup_writer_hash(const struct backup_writer *w)
{
	return w->synced;
}

void
backup_writer_free(struct backup_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	buf_free(&w->pending);
	explicit_bzero(&w->key, sizeof w->key);
	free(w->path);
	free(w);
}

/* Reading --------------------------------------------------------------- */

struct backup_reader {
	FILE		*f;
	char		*path;
	struct audit_key key;
	struct backup_header h;
	char		 prev[AUDIT_HEX];
	struct buf	 line;
	size_t		 lineno;
	size_t		 nkeys;
	long		 first_key;	/* file offset of the first key line */
	char		 first_prev[AUDIT_HEX];
	bool		 ended;
	bool		 torn;
	bool		 tampered;	/* a hash or a prev did not match */
	char		 end_state[16];
};

static void
fail(struct backup_reader *r, char **cause, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct backup_reader *r, char **cause, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	xasprintf(cause, "%s: line %zu: %s", r->path, r->lineno, msg);
	free(msg);
}

/* Reads one line into r->line (without its newline).  1: a line, 0: the
 * end of the file, -1: an error (*cause). */
static int
next_line(struct backup_reader *r, char **cause)
{
	int c;

	buf_reset(&r->line);
	r->lineno++;
	while ((c = getc_unlocked(r->f)) != EOF && c != '\n') {
		if (c == '\0') {
			fail(r, cause, "a NUL byte: not a backup line");
			return -1;
		}
		if (r->line.len + 1 >= BACKUP_MAX_LINE) {
			fail(r, cause, "longer than %u bytes", BACKUP_MAX_LINE);
			return -1;
		}
		buf_addc(&r->line, (char)c);
	}
	if (ferror(r->f)) {
		fail(r, cause, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (c == EOF) {
		if (r->line.len > 0)
			r->torn = true;
		return 0;
	}
	return 1;
}

/* Checks the framing and chain of the line read and decodes it. */
static json_t *
verify_line(struct backup_reader *r, int *rc, char **cause)
{
	char hash[AUDIT_HEX];
	const char *claim, *prev;
	size_t body;
	json_t *o;
	json_error_t je;

	*rc = -1;
	if (!audit_line_split(r->line.data, r->line.len, &body, &claim)) {
		fail(r, cause, "not a backup line (it must end with "
		    ",\"hash\":\"<64 hex digits>\"})");
		return NULL;
	}
	audit_line_hash(&r->key, r->line.data, body, hash);
	if (memcmp(hash, claim, 64) != 0) {
		r->tampered = true;
		fail(r, cause, "the hash does not match: the line was changed%s",
		    r->key.len > 0 ? " or sealed with another key" : "");
		return NULL;
	}
	if ((o = json_loadb(r->line.data, r->line.len, JSON_ALLOW_NUL |
	    JSON_REJECT_DUPLICATES, &je)) == NULL || !json_is_object(o)) {
		fail(r, cause, "column %d: not a JSON object: %s", je.column,
		    je.text);
		json_decref(o);
		return NULL;
	}
	prev = json_string_value(json_object_get(o, "prev"));
	if (prev == NULL || strcmp(prev, r->prev) != 0) {
		r->tampered = true;
		fail(r, cause, "its prev does not name the line before: a line "
		    "was removed, added or moved");
		json_decref(o);
		return NULL;
	}
	memcpy(r->prev, claim, 64);
	r->prev[64] = '\0';
	*rc = 1;
	return o;
}

/* Reads the next line, checks its framing and chain and decodes it. */
static json_t *
chained(struct backup_reader *r, int *rc, char **cause)
{
	if ((*rc = next_line(r, cause)) <= 0)
		return NULL;
	return verify_line(r, rc, cause);
}

/* Whether the key given fits how the header says the backup is sealed;
 * said before the hash check so that a missing key is not called an edit. */
static bool
key_fits(struct backup_reader *r, char **cause)
{
	json_t *o = json_loadb(r->line.data, r->line.len, JSON_ALLOW_NUL, NULL);
	const char *sealed = json_string_value(json_object_get(o, "sealed"));
	char id[17];
	bool ok = true;

	if (sealed != NULL && r->key.len == 0) {
		fail(r, cause, "the backup is sealed with the audit key %.16s; "
		    "give it with --audit-key", sealed);
		ok = false;
	} else if (sealed == NULL && r->key.len > 0) {
		r->tampered = true;
		fail(r, cause, "the backup is not sealed, but an audit key was "
		    "given: anyone could have written it");
		ok = false;
	} else if (sealed != NULL) {
		audit_key_id(&r->key, id);
		if (strcmp(id, sealed) != 0) {
			r->tampered = true;
			fail(r, cause, "the backup is sealed with the audit key "
			    "%.16s, not with %s", sealed, id);
			ok = false;
		}
	}
	json_decref(o);
	return ok;
}

struct backup_reader *
backup_open(const char *path, const struct audit_key *key, bool *tampered,
    char **cause)
{
	struct backup_reader *r;
	struct stat st;
	int fd, flags, rc;
	json_t *o;
	const char *type, *route, *created, *sealed;
	json_t *keys;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		xasprintf(cause, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		xasprintf(cause, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	r = xcalloc(1, sizeof *r);
	if ((r->f = fdopen(fd, "r")) == NULL)
		fatal("fdopen: %s", strerror(errno));
	r->path = xstrdup(path);
	if (key != NULL)
		r->key = *key;
	buf_init(&r->line);
	audit_genesis(&r->key, r->prev);
	if ((rc = next_line(r, cause)) <= 0) {
		if (rc == 0)
			xasprintf(cause, "%s: empty or a torn first line: not a "
			    "backup", path);
		backup_reader_free(r);
		return NULL;
	}
	if (!key_fits(r, cause) || (o = verify_line(r, &rc, cause)) == NULL) {
		/* A key that does not fit counts as a failed verification. */
		*tampered = r->tampered;
		backup_reader_free(r);
		return NULL;
	}
	type = json_string_value(json_object_get(o, "type"));
	route = json_string_value(json_object_get(o, "route"));
	created = json_string_value(json_object_get(o, "created"));
	keys = json_object_get(o, "keys");
	sealed = json_string_value(json_object_get(o, "sealed"));
	if (type == NULL || strcmp(type, "backup") != 0 ||
	    json_integer_value(json_object_get(o, "rehearse_backup")) !=
	    BACKUP_FORMAT) {
		fail(r, cause, "not the header of a backup of format %d",
		    BACKUP_FORMAT);
		goto bad;
	}
	if (route == NULL || created == NULL || !json_is_integer(keys) ||
	    json_integer_value(keys) < 0 ||
	    json_integer_value(keys) > BACKUP_MAX_KEYS) {
		fail(r, cause, "the header lacks route, created or keys "
		    "(0..%d)", BACKUP_MAX_KEYS);
		goto bad;
	}
	r->h.route = xstrdup(route);
	r->h.keys = (size_t)json_integer_value(keys);
	r->h.sealed = sealed != NULL;
	snprintf(r->h.created, sizeof r->h.created, "%s", created);
	json_decref(o);
	r->first_key = ftell(r->f);
	memcpy(r->first_prev, r->prev, AUDIT_HEX);
	return r;
bad:
	json_decref(o);
	backup_reader_free(r);
	return NULL;
}

const struct backup_header *
backup_header(const struct backup_reader *r)
{
	return &r->h;
}

static bool
get_b64(json_t *o, const char *name, unsigned char **out, size_t *len)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_string(v))
		return false;
	*out = unbase64(json_string_value(v), json_string_length(v), len);
	return *out != NULL;
}

int
backup_read(struct backup_reader *r, struct backup_rec *rec, char **cause)
{
	json_t *o, *pttl, *saved;
	const char *type, *state;
	int rc;

	memset(rec, 0, sizeof *rec);
	if (r->ended) {
		if (next_line(r, cause) < 0)
			return -1;
		if (r->line.len > 0 || !feof(r->f)) {
			fail(r, cause, "a line after the end line");
			return -1;
		}
		return 0;
	}
	if ((o = chained(r, &rc, cause)) == NULL)
		return rc;
	type = json_string_value(json_object_get(o, "type"));
	if (type != NULL && strcmp(type, "end") == 0) {
		state = json_string_value(json_object_get(o, "state"));
		if (state == NULL || !json_is_integer(json_object_get(o,
		    "saved")) || json_integer_value(json_object_get(o,
		    "saved")) != (json_int_t)r->nkeys) {
			fail(r, cause, "the end line does not count the %zu keys "
			    "before it", r->nkeys);
			json_decref(o);
			return -1;
		}
		snprintf(r->end_state, sizeof r->end_state, "%s", state);
		r->ended = true;
		json_decref(o);
		return backup_read(r, rec, cause);
	}
	pttl = json_object_get(o, "pttl");
	saved = json_object_get(o, "saved_ms");
	if (type == NULL || strcmp(type, "key") != 0) {
		fail(r, cause, "not a key line (type \"key\" or \"end\")");
		goto bad;
	}
	if (++r->nkeys > r->h.keys) {
		fail(r, cause, "more keys than the %zu of the header", r->h.keys);
		goto bad;
	}
	if (!get_b64(o, "key_b64", &rec->key, &rec->klen) ||
	    !get_b64(o, "dump", &rec->dump, &rec->dlen)) {
		fail(r, cause, "key_b64 or dump is not base64");
		goto bad;
	}
	if (!json_is_integer(pttl) || json_integer_value(pttl) < -1 ||
	    !json_is_integer(saved) || json_integer_value(saved) < 0) {
		fail(r, cause, "pttl (-1 or more) or saved_ms is missing");
		goto bad;
	}
	rec->pttl = json_integer_value(pttl);
	rec->saved_ms = json_integer_value(saved);
	rec->line = r->lineno;
	json_decref(o);
	return 1;
bad:
	backup_rec_done(rec);
	json_decref(o);
	return -1;
}

void
backup_rec_done(struct backup_rec *rec)
{
	free(rec->key);
	free(rec->dump);
	memset(rec, 0, sizeof *rec);
}

int
backup_rewind(struct backup_reader *r, char **cause)
{
	if (fseek(r->f, r->first_key, SEEK_SET) != 0) {
		xasprintf(cause, "%s: cannot seek: %s", r->path, strerror(errno));
		return -1;
	}
	clearerr(r->f);
	memcpy(r->prev, r->first_prev, AUDIT_HEX);
	r->lineno = 1;
	r->nkeys = 0;
	r->ended = false;
	r->torn = false;
	r->end_state[0] = '\0';
	return 0;
}

bool
backup_ended(const struct backup_reader *r)
{
	return r->ended;
}

const char *
backup_end_state(const struct backup_reader *r)
{
	return r->end_state;
}

const char *
backup_reader_hash(const struct backup_reader *r)
{
	return r->prev;
}

bool
backup_tampered(const struct backup_reader *r)
{
	return r->tampered;
}

bool
backup_torn(const struct backup_reader *r)
{
	return r->torn;
}

void
backup_reader_free(struct backup_reader *r)
{
	if (r == NULL)
		return;
	if (r->f != NULL)
		fclose(r->f);
	buf_free(&r->line);
	explicit_bzero(&r->key, sizeof r->key);
	free(r->h.route);
	free(r->path);
	free(r);
}

/* Whether the one-byte element of the pattern at p (?, [...], \x or a
 * byte) matches c; *elen is its length in the pattern. */
static bool
glob_one(const unsigned char *p, size_t pl, unsigned char c, size_t *elen)
{
	size_t i = 1;
	bool neg, hit = false;
	unsigned char lo, hi;

	switch (p[0]) {
	case '?':
		*elen = 1;
		return true;
	case '\\':
		if (pl >= 2) {
			*elen = 2;
			return p[1] == c;
		}
		*elen = 1;
		return c == '\\';
	case '[':
		neg = pl > 1 && p[1] == '^';
		if (neg)
			i++;
		while (i < pl && p[i] != ']') {
			if (p[i] == '\\' && i + 1 < pl) {
				hit |= p[i + 1] == c;
				i += 2;
			} else if (i + 2 < pl && p[i + 1] == '-' && p[i + 2] != ']') {
				lo = p[i] < p[i + 2] ? p[i] : p[i + 2];
				hi = p[i] < p[i + 2] ? p[i + 2] : p[i];
				hit |= c >= lo && c <= hi;
				i += 3;
			} else
				hit |= p[i++] == c;
		}
		*elen = i < pl ? i + 1 : i;	/* an open [ runs to the end */
		return hit != neg;
	default:
		*elen = 1;
		return p[0] == c;
	}
}

/* Redis's glob on bytes: * ? [abc] [^a-z] and \x.  Backtracks only to the
 * last star, so the time is at most the product of the two lengths, even
 * for a pattern such as a*a*a*a*b against a long key. */
bool
backup_glob(const char *pattern, const void *key, size_t len)
{
	const unsigned char *p = (const unsigned char *)pattern, *s = key;
	size_t pl = strlen(pattern), pi = 0, si = 0, elen;
	size_t star_p = (size_t)-1, star_s = 0;

	while (si < len) {
		if (pi < pl && p[pi] == '*') {
			while (pi < pl && p[pi] == '*')
				pi++;
			if (pi == pl)
				return true;
			star_p = pi;
			star_s = si;
		} else if (pi < pl && glob_one(p + pi, pl - pi, s[si], &elen)) {
			pi += elen;
			si++;
		} else if (star_p != (size_t)-1) {
			pi = star_p;
			si = ++star_s;
		} else
			return false;
	}
	while (pi < pl && p[pi] == '*')
		pi++;
	return pi == pl;
}
