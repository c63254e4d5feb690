/* audit_read.c: see audit_read.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "audit_read.h"
#include "fileio.h"
#include "record.h"
#include "textesc.h"
#include "xmalloc.h"

#define READ_CHUNK 65536

struct audit_reader {
	int		 fd;
	char		*buf;		/* bytes read, not yet handed out */
	size_t		 start;		/* first unconsumed byte in buf */
	size_t		 end;		/* one past the last byte in buf */
	size_t		 cap;
	bool		 eof;
	size_t		 lineno;
	off_t		 offset;	/* file offset of buf[start] */
};

struct audit_reader *
audit_reader_open(const char *path, char **cause)
{
	struct audit_reader *r;
	int fd;

	/* A FIFO would block the open (and every read) forever. */
	if ((fd = open_regular(path, O_RDONLY, 0, cause)) < 0)
		return NULL;
	r = xcalloc(1, sizeof *r);
	r->fd = fd;
	r->cap = READ_CHUNK * 2;
	r->buf = xmalloc(r->cap);
	return r;
}

void
audit_reader_close(struct audit_reader *r)
{
	if (r == NULL)
		return;
	close(r->fd);
	free(r->buf);
	free(r);
}

int
audit_reader_seek(struct audit_reader *r, off_t offset, size_t lines_before)
{
	if (lseek(r->fd, offset, SEEK_SET) != offset)
		return -1;
	r->start = r->end = 0;
	r->eof = false;
	r->offset = offset;
	r->lineno = lines_before;
	return 0;
}

/* Reads more bytes after r->end; returns bytes read, 0 at EOF, -1. */
static ssize_t
fill(struct audit_reader *r)
{
	ssize_t n;

	if (r->start > 0 && r->start == r->end)
		r->start = r->end = 0;
	if (r->end + READ_CHUNK > r->cap) {
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		if (r->end + READ_CHUNK > r->cap) {
			r->cap = r->end + READ_CHUNK;
			r->buf = xrealloc(r->buf, r->cap);
		}
	}
	do
		n = read(r->fd, r->buf + r->end, READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		r->end += (size_t)n;
	return n;
}

int
audit_reader_next(struct audit_reader *r, struct audit_line *l, char **cause)
{
	char *nl;
	size_t scanned = 0, skip;
	ssize_t n;

	memset(l, 0, sizeof *l);
	for (;;) {
		nl = memchr(r->buf + r->start + scanned, '\n',
		    r->end - r->start - scanned);
		if (nl != NULL)
			break;
		scanned = r->end - r->start;
		if (scanned > AUDIT_MAX_LINE) {
			/* Hand out the first part, drop the rest of the line. */
			l->overlong = true;
			break;
		}
		if (r->eof)
			break;
		if ((n = fill(r)) < 0) {
			xasprintf(cause, "read error: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			r->eof = true;
	}
	if (nl == NULL && !l->overlong && r->end == r->start)
		return 0;
	l->lineno = ++r->lineno;
	l->offset = r->offset;
	l->text = r->buf + r->start;
	if (l->overlong) {
		l->len = AUDIT_MAX_LINE;
		skip = r->end - r->start;
		r->offset += (off_t)skip;
		r->start = r->end;
		/* Discard up to the end of the line. */
		for (;;) {
			r->start = r->end = 0;
			if ((n = fill(r)) <= 0) {
				r->eof = true;
				break;
			}
			if ((nl = memchr(r->buf, '\n', r->end)) != NULL) {
				r->start = (size_t)(nl - r->buf) + 1;
				r->offset += (off_t)r->start;
				break;
			}
			r->offset += n;
		}
		/* The text pointer is stale after the refills; keep a copy of
		 * nothing: callers only learn that the line was overlong. */
		l->text = "";
		l->len = 0;
		l->complete = nl != NULL;
		l->end = r->offset;
		return 1;
	}
	if (nl != NULL) {
		l->len = (size_t)(nl - (r->buf + r->start));
		l->complete = true;
		l->overlong = l->len > AUDIT_MAX_LINE;
		r->start += l->len + 1;
		r->offset += (off_t)l->len + 1;
	} else {
		l->len = r->end - r->start;
		l->complete = false;
		r->offset += (off_t)l->len;
		r->start = r->end;
	}
	l->end = r->offset;
	return 1;
}

/* Verification ----------------------------------------------------------- */

void
verify_init(struct verify *v, const struct audit_key *key)
{
	memset(v, 0, sizeof *v);
	v->key = key;
	v->status = VERIFY_INTACT;
	audit_genesis(NULL, v->prev);
}

void
verify_done(struct verify *v)
{
	free(v->reason);
	v->reason = NULL;
}

static bool
bad(struct verify *v, enum verify_status st, size_t line, uint64_t seq,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static bool
bad(struct verify *v, enum verify_status st, size_t line, uint64_t seq,
    const char *fmt, ...)
{
	va_list ap;

	v->status = st;
	v->bad_line = line;
	v->bad_seq = seq;
	free(v->reason);
	va_start(ap, fmt);
	xvasprintf(&v->reason, fmt, ap);
	va_end(ap);
	return false;
}

static const char *
str_field(json_t *o, const char *k)
{
	json_t *s = json_object_get(o, k);

	return json_is_string(s) ? json_string_value(s) : NULL;
}

static void
copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

static void
intent_open(struct verify *v, uint64_t seq, const char *type)
{
	if (v->nintents == VERIFY_MAX_INTENTS) {
		v->intents_dropped++;
		return;
	}
	v->intents[v->nintents].seq = seq;
	copy(v->intents[v->nintents].type, sizeof v->intents[0].type, type);
	v->nintents++;
}

static void
intent_close(struct verify *v, uint64_t seq)
{
	size_t i;

	for (i = 0; i < v->nintents; i++) {
		if (v->intents[i].seq == seq) {
			v->intents[i] = v->intents[--v->nintents];
			return;
		}
	}
}

/* The first record decides whether the log is sealed. */
static bool
check_first(struct verify *v, json_t *o, size_t line)
{
	json_t *data = json_object_get(o, "data");
	const char *kid = str_field(data, "key_id");
	char want[17], genesis[AUDIT_HEX];

	v->sealed = json_is_true(json_object_get(data, "sealed"));
	if (v->sealed) {
		copy(v->key_id, sizeof v->key_id, kid ? kid : "");
		if (v->key == NULL || v->key->len == 0)
			return bad(v, VERIFY_NEED_KEY, line, 1, "the log is "
			    "sealed (key id %s); verifying it needs the key",
			    v->key_id);
		audit_key_id(v->key, want);
		if (kid == NULL || strcmp(want, kid) != 0)
			return bad(v, VERIFY_NEED_KEY, line, 1, "the log is "
			    "sealed with another key (key id %s, this key is "
			    "%s)", v->key_id, want);
	} else if (v->key != NULL && v->key->len > 0)
		return bad(v, VERIFY_NEED_KEY, line, 1, "the log is not "
		    "sealed; verify it without a key");
	audit_genesis(v->sealed ? v->key : NULL, genesis);
	memcpy(v->prev, genesis, AUDIT_HEX);
	return true;
}

static const struct audit_key *
chain_key(const struct verify *v)
{
	return v->sealed ? v->key : NULL;
}

bool
verify_line(struct verify *v, const struct audit_line *l)
{
	json_t *o = NULL;
	bool ok;

	/* Parse only what the framing lets through, as before. */
	if (v->status == VERIFY_INTACT && !l->overlong && l->complete)
		o = json_loadb(l->text, l->len, JSON_REJECT_DUPLICATES |
		    JSON_ALLOW_NUL, NULL);
	ok = verify_record(v, l, o);
	json_decref(o);
	return ok;
}

/* A record's seq must follow the last one's: none missing, none earlier. */
static bool
in_order(struct verify *v, const struct audit_line *l, uint64_t seq)
{
	if (v->records > 0 && seq > v->last_seq + 1) {
		if (seq == v->last_seq + 2)
			bad(v, VERIFY_BAD, l->lineno, seq, "record %" PRIu64
			    " is missing (line %zu holds record %" PRIu64 ")",
			    v->last_seq + 1, l->lineno, seq);
		else
			bad(v, VERIFY_BAD, l->lineno, seq, "records %" PRIu64
			    " to %" PRIu64 " are missing (line %zu holds "
			    "record %" PRIu64 ")", v->last_seq + 1, seq - 1,
			    l->lineno, seq);
		return false;
	}
	if (v->records > 0 && seq <= v->last_seq) {
		bad(v, VERIFY_BAD, l->lineno, seq, "record %" PRIu64 " on line "
		    "%zu comes after record %" PRIu64 ": reordered or "
		    "inserted", seq, l->lineno, v->last_seq);
		return false;
	}
	return true;
}

/* Takes a record that chains: the end, resumes, intents and results. */
static bool
account(struct verify *v, const struct audit_line *l, json_t *o,
    enum record_type rt, uint64_t seq)
{
	const char *type = str_field(o, "type"), *ts = str_field(o, "ts");
	json_t *data = json_object_get(o, "data"), *j;

	v->ended = false;
	if (rt == REC_SESSION_END) {
		j = json_object_get(data, "records");
		if (!json_is_integer(j) || (uint64_t)json_integer_value(j) != seq) {
			bad(v, VERIFY_BAD, l->lineno, seq, "session.end on line "
			    "%zu counts %" JSON_INTEGER_FORMAT " records, but it "
			    "is record %" PRIu64, l->lineno,
			    json_is_integer(j) ? json_integer_value(j) : -1,
			    seq);
			return false;
		}
		v->ended = true;
	} else if (rt == REC_SESSION_RESUME)
		v->resumes++;
	else if (record_is_intent(type))
		intent_open(v, seq, type);
	else if (rt == REC_INTENT_UNKNOWN) {
		v->unknown++;
		if ((j = json_object_get(data, "intent")) != NULL &&
		    json_is_integer(j))
			intent_close(v, (uint64_t)json_integer_value(j));
	} else if ((j = json_object_get(data, "intent")) != NULL &&
	    json_is_integer(j))
		intent_close(v, (uint64_t)json_integer_value(j));
	v->records++;
	v->last_seq = seq;
	v->last_line = l->lineno;
	copy(v->last_ts, sizeof v->last_ts, ts);
	copy(v->last_type, sizeof v->last_type, type);
	audit_hash(chain_key(v), l->text, l->len, v->prev);
	return true;
}

bool
verify_record(struct verify *v, const struct audit_line *l, json_t *o)
{
	json_error_t jerr;
	json_t *data, *j;
	const char *hash, *type, *prev, *session, *ts;
	char want[AUDIT_HEX];
	size_t body;
	uint64_t seq;
	enum record_type rt;
	bool ok = false;

	if (v->status != VERIFY_INTACT)
		return false;
	v->lines++;
	if (l->overlong)
		return bad(v, VERIFY_BAD, l->lineno, 0, "line %zu is longer "
		    "than %d bytes: not a record", l->lineno, AUDIT_MAX_LINE);
	if (!l->complete || !audit_line_split(l->text, l->len, &body, &hash)) {
		if (v->torn_line != 0)
			return bad(v, VERIFY_BAD, v->torn_line, 0, "line %zu is "
			    "not a record (edited or corrupted)", v->torn_line);
		/* Either a torn tail, or a torn line that the next record (a
		 * session.resume) must account for. */
		v->torn_line = l->lineno;
		v->torn_len = l->len;
		v->torn_complete = l->complete;
		return true;
	}
	if (!json_is_object(o)) {
		/* Parse again, only to say why: once per log. */
		json_decref(json_loadb(l->text, l->len, JSON_REJECT_DUPLICATES |
		    JSON_ALLOW_NUL, &jerr));
		return bad(v, VERIFY_BAD, l->lineno, 0, "line %zu is not valid "
		    "JSON (%s): edited", l->lineno, jerr.text);
	}
	j = json_object_get(o, "seq");
	type = str_field(o, "type");
	prev = str_field(o, "prev");
	session = str_field(o, "session");
	ts = str_field(o, "ts");
	data = json_object_get(o, "data");
	if (!json_is_integer(j) || json_integer_value(j) < 1 || type == NULL ||
	    prev == NULL || session == NULL || ts == NULL ||
	    str_field(o, "actor") == NULL || data == NULL) {
		bad(v, VERIFY_BAD, l->lineno, 0, "line %zu lacks a field every "
		    "record has (seq, ts, session, actor, type, data, prev)",
		    l->lineno);
		goto out;
	}
	seq = (uint64_t)json_integer_value(j);
	rt = record_type_of(type);
	if (strlen(session) >= sizeof v->session || strlen(ts) >= sizeof v->last_ts) {
		bad(v, VERIFY_BAD, l->lineno, seq, "line %zu has an overlong "
		    "session or ts: not a record of ours", l->lineno);
		goto out;
	}
	if (v->records == 0) {
		if (seq != 1 || rt != REC_SESSION_START) {
			bad(v, VERIFY_BAD, l->lineno, seq, "the log does not "
			    "begin with session.start, seq 1 (record %" PRIu64
			    ", %s, on line %zu): its beginning is missing",
			    seq, type, l->lineno);
			goto out;
		}
		if (!check_first(v, o, l->lineno))
			goto out;
		copy(v->session, sizeof v->session, session);
		copy(v->first_ts, sizeof v->first_ts, ts);
	}
	audit_line_hash(chain_key(v), l->text, body, want);
	if (memcmp(want, hash, 64) != 0) {
		bad(v, VERIFY_BAD, l->lineno, seq, "record %" PRIu64 " (line "
		    "%zu) was edited: its content does not match its hash",
		    seq, l->lineno);
		goto out;
	}
	if (!in_order(v, l, seq))
		goto out;
	if (strcmp(session, v->session) != 0) {
		bad(v, VERIFY_BAD, l->lineno, seq, "record %" PRIu64 " (line "
		    "%zu) belongs to another session: inserted", seq,
		    l->lineno);
		goto out;
	}
	if (strlen(prev) != 64 || memcmp(prev, v->prev, 64) != 0) {
		bad(v, VERIFY_BAD, l->lineno, seq, "record %" PRIu64 " (line "
		    "%zu) does not follow record %" PRIu64 ": the record "
		    "before it was replaced, or this one inserted", seq,
		    l->lineno, v->last_seq);
		goto out;
	}
	if (v->torn_line != 0) {
		j = json_object_get(data, "torn_bytes");
		if (rt != REC_SESSION_RESUME || !json_is_integer(j) ||
		    (size_t)json_integer_value(j) != v->torn_len) {
			bad(v, VERIFY_BAD, v->torn_line, 0, "line %zu is not a "
			    "record (edited or corrupted)", v->torn_line);
			goto out;
		}
		v->recovered++;
		v->torn_line = 0;
	}
	if (v->ended && rt != REC_SESSION_RESUME) {
		bad(v, VERIFY_BAD, l->lineno, seq, "record %" PRIu64 " (line "
		    "%zu) follows session.end: appended after the end", seq,
		    l->lineno);
		goto out;
	}
	if (v->records > 0 && strcmp(ts, v->last_ts) < 0) {
		if (v->clock_back++ == 0)
			v->clock_back_line = l->lineno;
	}
	if (!account(v, l, o, rt, seq))
		goto out;
	ok = true;
out:
	return ok;
}

enum verify_status
verify_outcome(const struct verify *v)
{
	if (v->status != VERIFY_INTACT)
		return v->status;
	if (v->torn_line != 0)
		return v->torn_complete ? VERIFY_BAD : VERIFY_TORN;
	if (v->records == 0)
		return VERIFY_BAD;
	return v->ended ? VERIFY_INTACT : VERIFY_OPEN;
}

const char *
verify_seal(const struct verify *v)
{
	if (v->records == 0)
		return "";
	return v->sealed ? "sealed" : "unsealed";
}

void
verify_finish(struct verify *v)
{
	if (v->status != VERIFY_INTACT)
		return;
	switch (verify_outcome(v)) {
	case VERIFY_BAD:
		if (v->torn_line != 0)
			bad(v, VERIFY_BAD, v->torn_line, 0, "line %zu is not a "
			    "record (edited or corrupted)", v->torn_line);
		else
			bad(v, VERIFY_BAD, 0, 0, "the log holds no record");
		break;
	case VERIFY_TORN:
		v->status = VERIFY_TORN;
		v->bad_line = v->torn_line;
		xasprintf(&v->reason, "torn tail: line %zu holds %zu bytes of an "
		    "unfinished record after record %" PRIu64 " (the writer "
		    "stopped mid-record: a crash or a full disk)",
		    v->torn_line, v->torn_len, v->last_seq);
		break;
	case VERIFY_OPEN:
		v->status = VERIFY_OPEN;
		v->bad_line = v->last_line;
		xasprintf(&v->reason, "never ended: the last record is %" PRIu64
		    " (%s, line %zu) and there is no session.end (a crash, or "
		    "the session is still running)", v->last_seq, v->last_type,
		    v->last_line);
		break;
	default:
		break;
	}
}

int
verify_file(struct verify *v, const char *path, char **cause)
{
	struct audit_reader *r;
	struct audit_line l;
	int rc;

	if ((r = audit_reader_open(path, cause)) == NULL)
		return -1;
	while ((rc = audit_reader_next(r, &l, cause)) == 1) {
		if (!verify_line(v, &l))
			break;
	}
	audit_reader_close(r);
	if (rc < 0)
		return -1;
	verify_finish(v);
	return 0;
}
