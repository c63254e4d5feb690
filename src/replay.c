/* replay.c: an audit log read back for `rehearse replay`: a sparse index
 * built in one streaming pass (with the verification), records read back
 * on demand, filters, and the list of logs for the picker.
 *
 * Memory does not grow with the log: the index holds at most MAX_BLOCKS
 * entries; when it is full, neighbouring blocks are merged and the blocks
 * become twice as long.  A record is found by seeking to its block and
 * reading at most one block's lines. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit_chain.h"
#include "fileio.h"
#include "replay.h"
#include "textesc.h"
#include "xmalloc.h"

#define MAX_BLOCKS	8192
#define FIRST_BLOCK	64	/* lines per block to begin with */
#define MAX_TYPES	63	/* bit 63 stands for every other type */
#define MAX_DETAIL	20000	/* lines of one record's detail */
#define MAX_ENTRIES	10000	/* logs listed by the picker */

struct block {
	off_t		 offset;	/* of its first line */
	uint64_t	 types;
	long		 step_min, step_max;	/* 0, 0: no step */
	unsigned	 flags;
};

struct replay {
	char		*path;
	bool		 follow;
	int		 fd;		/* for fstat */
	struct audit_reader *ix;	/* the index pass */
	struct audit_reader *rd;	/* reading back */
	size_t		 rd_next;	/* line rd hands out next; 0 unknown */
	struct verify	 v;
	size_t		 lines;
	off_t		 done;		/* one past the last indexed line */
	off_t		 size;
	bool		 caught_up;

	struct block	*blocks;
	size_t		 nblocks;
	size_t		 k;		/* lines per block */
	char		 types[MAX_TYPES][40];
	size_t		 ntypes;
	bool		 more_types;

	struct rp_info	 info;
	struct rp_step	*steps;
	size_t		 nsteps;
	size_t		 first_fail;
	size_t		 nfail;
};

/* Small helpers ------------------------------------------------------------ */

/* Copies src into dst (size bytes), cut at a character boundary. */
static void
copy_cut(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size) {
		n = size - 1;
		/* Back off over UTF-8 continuation bytes. */
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The escaped text of a JSON string (NULs and all), into dst. */
static void
copy_str(char *dst, size_t size, json_t *v)
{
	char *e;

	if (!json_is_string(v)) {
		dst[0] = '\0';
		return;
	}
	e = esc_text(json_string_value(v), json_string_length(v), 0);
	copy_cut(dst, size, e);
	free(e);
}

static const char *
sval(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool
is(json_t *o, const char *k, const char *want)
{
	const char *s = sval(o, k);

	return s != NULL && strcmp(s, want) == 0;
}

static bool
nonempty(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) && json_string_length(v) > 0;
}

static double
num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* Appends the escaped value of field k (a string, number or boolean). */
static void
add_field(struct buf *b, json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (json_is_string(v))
		esc_append(b, json_string_value(v), json_string_length(v), 0);
	else if (json_is_integer(v))
		buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		buf_addf(b, "%.1f", json_real_value(v));
	else if (json_is_boolean(v))
		buf_adds(b, json_is_true(v) ? "true" : "false");
	else
		buf_adds(b, "-");
}

static bool
any_check_failed(json_t *d)
{
	json_t *checks = json_object_get(d, "checks"), *c;
	size_t i;

	json_array_foreach(checks, i, c) {
		if (is(c, "verdict", "fail"))
			return true;
	}
	return false;
}

/* Two digits at s, or -1. */
static int
two(const char *s)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

double
replay_parse_ts(const char *s)
{
	struct tm tm;
	int ms = 0, hi, lo;

	/* Exactly YYYY-MM-DDTHH:MM:SS, then an optional .mmm: no sscanf,
	 * which would skip white space (and so control characters). */
	if (s == NULL || strlen(s) < 19 || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return 0;
	memset(&tm, 0, sizeof tm);
	if ((hi = two(s)) < 0 || (lo = two(s + 2)) < 0)
		return 0;
	tm.tm_year = hi * 100 + lo;
	tm.tm_mon = two(s + 5);
	tm.tm_mday = two(s + 8);
	tm.tm_hour = two(s + 11);
	tm.tm_min = two(s + 14);
	tm.tm_sec = two(s + 17);
	if (s[19] == '.' && isdigit((unsigned char)s[20]) &&
	    isdigit((unsigned char)s[21]) && isdigit((unsigned char)s[22]))
		ms = (s[20] - '0') * 100 + (s[21] - '0') * 10 + (s[22] - '0');
	if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 ||
	    tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 ||
	    tm.tm_sec < 0 || tm.tm_sec > 60)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm) + ms / 1000.0;
}

/* One record ------------------------------------------------------------- */

/* The one-line summary of a record of type `type` with data d. */
static void
summarise(const char *type, json_t *o, json_t *d, struct rp_rec *rec)
{
	struct buf b;
	const char *tail;
	char *dump;
	json_t *cmp;

	buf_init(&b);
	buf_add(&b, "", 0);
	tail = strrchr(type, '.');
	if (strcmp(type, "session.start") == 0) {
		buf_adds(&b, "\"");
		add_field(&b, json_object_get(d, "runbook"), "title");
		buf_adds(&b, "\" by ");
		add_field(&b, o, "actor");
		buf_adds(&b, " on ");
		add_field(&b, d, "hostname");
		buf_adds(&b, " (");
		add_field(&b, json_object_get(d, "runbook"), "path");
		buf_adds(&b, json_is_true(json_object_get(d, "sealed")) ?
		    ", sealed)" : ")");
	} else if (strcmp(type, "session.end") == 0) {
		buf_adds(&b, "ended: ");
		add_field(&b, d, "records");
		buf_adds(&b, " records");
	} else if (strcmp(type, "session.resume") == 0) {
		buf_adds(&b, "resumed after record ");
		add_field(&b, d, "after");
		buf_adds(&b, " (the log had ");
		add_field(&b, d, "previous");
		buf_adds(&b, ")");
	} else if (strcmp(type, "intent.unknown") == 0) {
		rec->flags |= RP_WARN;
		buf_adds(&b, "outcome unknown: record ");
		add_field(&b, d, "intent");
		buf_adds(&b, " (");
		add_field(&b, d, "type");
		buf_adds(&b, ") never got a result");
	} else if (strcmp(type, "step.start") == 0) {
		add_field(&b, d, "title");
		buf_adds(&b, " (");
		add_field(&b, d, "kind");
		buf_adds(&b, ")");
	} else if (strcmp(type, "step.result") == 0 ||
	    strcmp(type, "manual") == 0) {
		if (is(d, "verdict", "fail"))
			rec->flags |= RP_FAIL;
		else if (!is(d, "verdict", "pass"))
			rec->flags |= RP_WARN;
		add_field(&b, d, "verdict");
		if (nonempty(d, "observed")) {
			buf_adds(&b, ": ");
			add_field(&b, d, "observed");
		}
		if (nonempty(d, "note")) {
			buf_adds(&b, ": ");
			add_field(&b, d, "note");
		}
		if (nonempty(d, "reason")) {
			buf_adds(&b, " -- ");
			add_field(&b, d, "reason");
		}
	} else if (strcmp(type, "http.result") == 0 ||
	    strcmp(type, "measure.result") == 0) {
		add_field(&b, d, "route");
		buf_adds(&b, " as ");
		add_field(&b, d, "profile");
		buf_adds(&b, ": ");
		if (strcmp(type, "measure.result") == 0) {
			add_field(&b, d, "ok");
			buf_adds(&b, "/");
			add_field(&b, d, "samples");
			buf_addf(&b, " answered, p50 %.1f ms, p95 %.1f ms",
			    num(d, "p50_ms"), num(d, "p95_ms"));
			if ((cmp = json_object_get(d, "compare")) != NULL) {
				buf_adds(&b, "; against ");
				add_field(&b, cmp, "with");
				buf_adds(&b, ": ");
				add_field(&b, cmp, "verdict");
			}
		} else if (json_is_false(json_object_get(d, "ok"))) {
			rec->flags |= RP_FAIL;
			buf_adds(&b, "no response: ");
			add_field(&b, d, "error");
		} else {
			add_field(&b, d, "status");
			buf_adds(&b, " ");
			add_field(&b, d, "cache");
			buf_addf(&b, " %.1f ms", num(d, "total_ms"));
		}
		if (any_check_failed(d))
			rec->flags |= RP_FAIL;
	} else if (json_object_get(d, "exit") != NULL) {
		/* run.done, rollback_check.result, rollback.done... */
		if (json_is_true(json_object_get(d, "timed_out"))) {
			buf_adds(&b, "timed out");
			rec->flags |= RP_FAIL;
		} else if (json_integer_value(json_object_get(d, "signal"))) {
			buf_adds(&b, "killed by signal ");
			add_field(&b, d, "signal");
			rec->flags |= RP_FAIL;
		} else {
			buf_adds(&b, "exit ");
			add_field(&b, d, "exit");
			if (json_integer_value(json_object_get(d, "exit")) != 0)
				rec->flags |= RP_FAIL;
		}
		buf_addf(&b, " in %.0f ms, ", num(d, "ms"));
		add_field(&b, d, "lines");
		buf_adds(&b, " lines: ");
		add_field(&b, d, "command");
	} else if (strcmp(type, "purge.preview") == 0) {
		add_field(&b, d, "route");
		buf_adds(&b, ": ");
		add_field(&b, d, "previewed");
		buf_adds(&b, " keys previewed");
	} else if (strcmp(type, "purge.done") == 0) {
		if (json_integer_value(json_object_get(d, "in_doubt")) > 0)
			rec->flags |= RP_FAIL;
		add_field(&b, d, "route");
		buf_adds(&b, ": deleted ");
		add_field(&b, d, "deleted");
		buf_adds(&b, " of ");
		add_field(&b, d, "previewed");
		buf_adds(&b, " previewed (");
		add_field(&b, d, "gone");
		buf_adds(&b, " already gone, ");
		add_field(&b, d, "in_doubt");
		buf_adds(&b, " in doubt), ");
		add_field(&b, d, "state");
	} else if (strcmp(type, "wait.result") == 0) {
		rec->flags |= RP_FAIL;
		dump = json_dumps(d, JSON_COMPACT);
		buf_adds(&b, "timed out ");
		if (dump != NULL)
			esc_append(&b, dump, strlen(dump), 0);
		free(dump);
	} else if (strcmp(type, "note") == 0) {
		add_field(&b, d, "text");
	} else if (tail != NULL && strcmp(tail, ".intent") == 0) {
		buf_adds(&b, "about to act: ");
		if (sval(d, "command") != NULL)
			add_field(&b, d, "command");
		else if (sval(d, "route") != NULL) {
			buf_adds(&b, "purge ");
			add_field(&b, d, "route");
			buf_adds(&b, ", ");
			add_field(&b, d, "previewed");
			buf_adds(&b, " keys previewed");
		} else if ((dump = json_dumps(d, JSON_COMPACT)) != NULL) {
			esc_append(&b, dump, strlen(dump), 0);
			free(dump);
		}
	} else if ((dump = json_dumps(d, JSON_COMPACT)) != NULL) {
		esc_append(&b, dump, strlen(dump), 0);
		free(dump);
	}
	copy_cut(rec->summary, sizeof rec->summary, b.data);
	buf_free(&b);
}

/* Fills rec from one line; returns the parsed record (caller decrefs) or
 * NULL when the line is not one. */
static json_t *
parse(const struct audit_line *l, struct rp_rec *rec)
{
	json_error_t jerr;
	json_t *o, *d, *v;
	char *e, *t;

	memset(rec, 0, sizeof *rec);
	rec->line = l->lineno;
	rec->offset = l->offset;
	if (l->overlong) {
		rec->flags = RP_BAD;
		snprintf(rec->type, sizeof rec->type, "(overlong)");
		snprintf(rec->summary, sizeof rec->summary, "a line over %d "
		    "bytes: not a record, not shown", AUDIT_MAX_LINE);
		return NULL;
	}
	o = json_loadb(l->text, l->len, JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		rec->flags = RP_BAD;
		snprintf(rec->type, sizeof rec->type, l->complete ?
		    "(not a record)" : "(torn)");
		e = esc_text(l->text, l->len < 120 ? l->len : 120, 0);
		t = xprintf("%s%s: %s", l->complete ? "not JSON" :
		    "an unfinished last line", l->complete ? "" :
		    " (the writer stopped mid-record)", e);
		copy_cut(rec->summary, sizeof rec->summary, t);
		free(t);
		free(e);
		return NULL;
	}
	v = json_object_get(o, "seq");
	rec->seq = json_is_integer(v) ? json_integer_value(v) : 0;
	copy_str(rec->ts, sizeof rec->ts, json_object_get(o, "ts"));
	rec->t = replay_parse_ts(sval(o, "ts"));
	v = json_object_get(o, "step");
	rec->step = json_is_integer(v) && json_integer_value(v) > 0 &&
	    json_integer_value(v) <= 1000000 ? (long)json_integer_value(v) : 0;
	v = json_object_get(o, "type");
	if (!json_is_string(v)) {
		rec->flags = RP_BAD;
		snprintf(rec->type, sizeof rec->type, "(no type)");
	} else
		copy_str(rec->type, sizeof rec->type, v);
	d = json_object_get(o, "data");
	summarise(json_is_string(v) ? json_string_value(v) : "", o, d, rec);
	return o;
}

/* Opening and indexing ------------------------------------------------------ */

struct replay *
replay_open(const char *path, const struct audit_key *key, bool follow,
    char **cause)
{
	struct replay *r;
	struct stat st;

	r = xcalloc(1, sizeof *r);
	r->path = xstrdup(path);
	r->follow = follow;
	r->k = FIRST_BLOCK;
	verify_init(&r->v, key);
	if ((r->ix = audit_reader_open(path, cause)) == NULL ||
	    (r->rd = audit_reader_open(path, cause)) == NULL) {
		replay_free(r);
		return NULL;
	}
	if ((r->fd = open_regular(path, O_RDONLY, 0, cause)) < 0) {
		replay_free(r);
		return NULL;
	}
	if (fstat(r->fd, &st) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		replay_free(r);
		return NULL;
	}
	r->size = st.st_size;
	r->blocks = xcalloc(MAX_BLOCKS, sizeof *r->blocks);
	return r;
}

void
replay_free(struct replay *r)
{
	if (r == NULL)
		return;
	audit_reader_close(r->ix);
	audit_reader_close(r->rd);
	if (r->fd > 0)
		close(r->fd);
	verify_done(&r->v);
	free(r->blocks);
	free(r->steps);
	free(r->path);
	free(r);
}

static unsigned
type_bit(struct replay *r, const char *type)
{
	size_t i;

	for (i = 0; i < r->ntypes; i++) {
		if (strcmp(r->types[i], type) == 0)
			return (unsigned)i;
	}
	if (r->ntypes < MAX_TYPES) {
		snprintf(r->types[r->ntypes], sizeof r->types[0], "%s", type);
		return (unsigned)r->ntypes++;
	}
	r->more_types = true;
	return 63;
}

static struct rp_step *
step_at(struct replay *r, long n)
{
	if (n < 1 || n > RP_MAX_STEPS)
		return NULL;
	if ((size_t)n > r->nsteps) {
		r->steps = xreallocarray(r->steps, (size_t)n, sizeof *r->steps);
		memset(r->steps + r->nsteps, 0, ((size_t)n - r->nsteps) *
		    sizeof *r->steps);
		r->nsteps = (size_t)n;
	}
	return &r->steps[n - 1];
}

/* Takes what the header and the step list need from a record. */
static void
take(struct replay *r, json_t *o, const struct rp_rec *rec)
{
	const char *type = sval(o, "type");
	json_t *d = json_object_get(o, "data"), *rb;
	struct rp_step *s = step_at(r, rec->step);

	if (type == NULL)
		return;
	if (rec->ts[0] != '\0') {
		if (r->info.first_ts[0] == '\0')
			copy_cut(r->info.first_ts, sizeof r->info.first_ts,
			    rec->ts);
		copy_cut(r->info.last_ts, sizeof r->info.last_ts, rec->ts);
	}
	r->info.ended = strcmp(type, "session.end") == 0;
	if (strcmp(type, "session.start") == 0 && r->info.session[0] == '\0') {
		rb = json_object_get(d, "runbook");
		copy_str(r->info.title, sizeof r->info.title,
		    json_object_get(rb, "title"));
		copy_str(r->info.owner, sizeof r->info.owner,
		    json_object_get(rb, "owner"));
		copy_str(r->info.environment, sizeof r->info.environment,
		    json_object_get(rb, "environment"));
		copy_str(r->info.actor, sizeof r->info.actor,
		    json_object_get(o, "actor"));
		copy_str(r->info.host, sizeof r->info.host,
		    json_object_get(d, "hostname"));
		copy_str(r->info.session, sizeof r->info.session,
		    json_object_get(o, "session"));
		r->info.sealed = json_is_true(json_object_get(d, "sealed"));
	} else if (strcmp(type, "step.start") == 0 && s != NULL) {
		copy_str(s->title, sizeof s->title, json_object_get(d, "title"));
		copy_str(s->kind, sizeof s->kind, json_object_get(d, "kind"));
		snprintf(s->verdict, sizeof s->verdict, "running");
		if (s->first_line == 0)
			s->first_line = rec->line;
	} else if (strcmp(type, "step.result") == 0 && s != NULL) {
		copy_str(s->verdict, sizeof s->verdict,
		    json_object_get(d, "verdict"));
		if (s->first_line == 0)
			s->first_line = rec->line;
	}
}

static void
index_line(struct replay *r, const struct audit_line *l)
{
	struct rp_rec rec;
	struct block *b;
	json_t *o;
	size_t i, line = r->lines + 1;

	o = parse(l, &rec);
	verify_line(&r->v, l);
	if ((line - 1) % r->k == 0) {
		if (r->nblocks == MAX_BLOCKS) {
			/* Full: merge neighbours, blocks twice as long. */
			for (i = 0; i < MAX_BLOCKS / 2; i++) {
				b = &r->blocks[2 * i];
				b[0].types |= b[1].types;
				b[0].flags |= b[1].flags;
				if (b[1].step_min != 0 && (b[0].step_min == 0 ||
				    b[1].step_min < b[0].step_min))
					b[0].step_min = b[1].step_min;
				if (b[1].step_max > b[0].step_max)
					b[0].step_max = b[1].step_max;
				r->blocks[i] = b[0];
			}
			r->nblocks = MAX_BLOCKS / 2;
			r->k *= 2;
		}
		b = &r->blocks[r->nblocks++];
		memset(b, 0, sizeof *b);
		b->offset = l->offset;
	}
	b = &r->blocks[r->nblocks - 1];
	b->types |= (uint64_t)1 << type_bit(r, rec.type);
	b->flags |= rec.flags;
	if (rec.step != 0) {
		if (b->step_min == 0 || rec.step < b->step_min)
			b->step_min = rec.step;
		if (rec.step > b->step_max)
			b->step_max = rec.step;
	}
	if (rec.flags & (RP_FAIL | RP_BAD)) {
		if (r->first_fail == 0)
			r->first_fail = line;
		r->nfail++;
	}
	if (o != NULL) {
		take(r, o, &rec);
		json_decref(o);
	}
	r->lines = line;
	r->done = l->end;
}

int
replay_index(struct replay *r, size_t max_lines, char **cause)
{
	struct audit_line l;
	struct stat st;
	size_t i;
	int rc;

	if (fstat(r->fd, &st) != 0) {
		xasprintf(cause, "%s: %s", r->path, strerror(errno));
		return -1;
	}
	if (st.st_size < r->done) {
		xasprintf(cause, "%s shrank from %lld to %lld bytes: it was "
		    "truncated or replaced; what was read is shown", r->path,
		    (long long)r->done, (long long)st.st_size);
		return -1;
	}
	r->size = st.st_size;
	if (r->caught_up && r->follow && r->size > r->done &&
	    audit_reader_seek(r->ix, r->done, r->lines) != 0) {
		xasprintf(cause, "%s: cannot seek: %s", r->path,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < max_lines; i++) {
		if ((rc = audit_reader_next(r->ix, &l, cause)) < 0)
			return -1;
		if (rc == 0)
			break;
		if (!l.complete && !l.overlong && r->follow) {
			/* Being written: wait for its newline. */
			break;
		}
		index_line(r, &l);
	}
	r->caught_up = i < max_lines;
	return r->caught_up ? 0 : 1;
}

size_t
replay_lines(const struct replay *r)
{
	return r->lines;
}

void
replay_progress(const struct replay *r, off_t *done, off_t *size)
{
	*done = r->done;
	*size = r->size;
}

bool
replay_caught_up(const struct replay *r)
{
	return r->caught_up;
}

const struct rp_info *
replay_info(const struct replay *r)
{
	return &r->info;
}

size_t
replay_nsteps(const struct replay *r)
{
	return r->nsteps;
}

const struct rp_step *
replay_step(const struct replay *r, size_t i)
{
	return i < r->nsteps ? &r->steps[i] : NULL;
}

size_t
replay_first_failure(const struct replay *r)
{
	return r->first_fail;
}

size_t
replay_failures(const struct replay *r)
{
	return r->nfail;
}

size_t
replay_bad_line(const struct replay *r)
{
	if (r->v.status == VERIFY_BAD || r->v.status == VERIFY_NEED_KEY)
		return r->v.bad_line;
	return 0;
}

enum verify_status
replay_verdict(const struct replay *r, char *out, size_t len)
{
	const struct verify *v = &r->v;
	char *e = esc_str(v->reason ? v->reason : "", 0), *t;
	enum verify_status st = verify_outcome(v);

	if (st == VERIFY_NEED_KEY)
		t = xprintf("sealed: not verified (%s)", e);
	else if (st == VERIFY_BAD && v->status == VERIFY_BAD)
		t = v->bad_seq != 0 ? xprintf("TAMPERED at record %" PRIu64
		    " (line %zu): %s", v->bad_seq, v->bad_line, e) :
		    xprintf("TAMPERED at line %zu: %s", v->bad_line, e);
	else if (!r->caught_up && !r->follow) {
		st = v->status;
		t = xprintf("checking: %lld%%, intact so far", (long long)
		    (r->size > 0 ? r->done * 100 / r->size : 0));
	} else if (v->records == 0 && v->torn_line == 0) {
		st = VERIFY_OPEN;
		t = xprintf("empty so far");
	} else if (st == VERIFY_BAD)
		t = xprintf("TAMPERED at line %zu: not a record", v->torn_line);
	else if (st == VERIFY_TORN)
		t = xprintf("torn tail: line %zu is an unfinished record (the "
		    "writer stopped mid-record)", v->torn_line);
	else if (st == VERIFY_OPEN)
		t = xprintf("intact so far, %" PRIu64 " records, not ended "
		    "(%s)%s", v->records, r->follow ? "following" :
		    "still running, or it stopped", v->sealed ? "" :
		    ", unsealed");
	else
		t = xprintf("intact: %" PRIu64 " records, chain verified%s",
		    v->records, v->sealed ? " with the key" : " (unsealed: "
		    VERIFY_UNSEALED_WHY ")");
	copy_cut(out, len, t);	/* at a character boundary */
	free(t);
	free(e);
	return st;
}

/* Reading back ----------------------------------------------------------- */

static int
read_line(struct replay *r, size_t line, struct audit_line *l)
{
	size_t b = (line - 1) / r->k;
	char *cause = NULL;

	if (line < 1 || line > r->lines)
		return -1;
	if (r->rd_next == 0 || line < r->rd_next ||
	    line - r->rd_next >= r->k) {
		if (audit_reader_seek(r->rd, r->blocks[b].offset, b * r->k) != 0)
			return -1;
		r->rd_next = b * r->k + 1;
	}
	while (r->rd_next <= line) {
		if (audit_reader_next(r->rd, l, &cause) != 1) {
			free(cause);
			r->rd_next = 0;
			return -1;
		}
		r->rd_next++;
	}
	return 0;
}

int
replay_get(struct replay *r, size_t line, struct rp_rec *rec)
{
	struct audit_line l;
	size_t bad = replay_bad_line(r);

	if (read_line(r, line, &l) != 0)
		return -1;
	json_decref(parse(&l, rec));
	if (bad != 0 && line >= bad)
		rec->flags |= RP_AFTER_BAD;
	return 0;
}

static void
detail_value(struct buf *b, const char *path, json_t *v, size_t *lines)
{
	const char *k, *p, *nl, *end;
	json_t *c;
	size_t i;
	char sub[256];

	if (*lines >= MAX_DETAIL)
		return;
	if (json_is_object(v) && json_object_size(v) > 0) {
		json_object_foreach(v, k, c) {
			snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." :
			    "", k);
			detail_value(b, sub, c, lines);
		}
		return;
	}
	if (json_is_array(v) && json_array_size(v) > 0) {
		json_array_foreach(v, i, c) {
			snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			detail_value(b, sub, c, lines);
		}
		return;
	}
	esc_append(b, path, strlen(path), 0);
	buf_adds(b, ": ");
	if (json_is_string(v)) {
		p = json_string_value(v);
		end = p + json_string_length(v);
		if (memchr(p, '\n', (size_t)(end - p)) == NULL) {
			esc_append(b, p, (size_t)(end - p), 0);
			buf_addc(b, '\n');
			(*lines)++;
			return;
		}
		buf_addc(b, '\n');
		(*lines)++;
		while (p < end && *lines < MAX_DETAIL) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			buf_adds(b, "    | ");
			esc_append(b, p, (size_t)(nl - p), 0);
			buf_addc(b, '\n');
			(*lines)++;
			p = nl + 1;
		}
		return;
	}
	if (json_is_integer(v))
		buf_addf(b, "%" JSON_INTEGER_FORMAT "\n", json_integer_value(v));
	else if (json_is_real(v))
		buf_addf(b, "%g\n", json_real_value(v));
	else if (json_is_true(v))
		buf_adds(b, "true\n");
	else if (json_is_false(v))
		buf_adds(b, "false\n");
	else if (json_is_object(v))
		buf_adds(b, "{}\n");
	else if (json_is_array(v))
		buf_adds(b, "[]\n");
	else
		buf_adds(b, "null\n");
	(*lines)++;
}

int
replay_detail(struct replay *r, size_t line, struct buf *b)
{
	struct audit_line l;
	struct rp_rec rec;
	json_t *o;
	size_t bad = replay_bad_line(r), n = 0;
	char why[512];

	if (read_line(r, line, &l) != 0)
		return -1;
	o = parse(&l, &rec);
	buf_addf(b, "line %zu, byte %lld, %zu bytes\n", line,
	    (long long)l.offset, l.len);
	if (bad != 0 && line == bad) {
		replay_verdict(r, why, sizeof why);
		buf_addf(b, "verification: the first problem is here: %s\n",
		    why);
	} else if (bad != 0 && line > bad)
		buf_addf(b, "verification: after the first problem (line "
		    "%zu): not vouched for\n", bad);
	else if (line <= r->v.last_line || r->v.torn_line == line)
		buf_adds(b, r->v.torn_line == line ? "verification: not a "
		    "record\n" : "verification: chains to the record before "
		    "it\n");
	buf_adds(b, "\n");
	if (o == NULL) {
		buf_addf(b, "%s: %s\n", rec.type, rec.summary);
		if (!l.overlong && l.len > 120) {
			buf_adds(b, "\nthe line, escaped:\n");
			esc_append(b, l.text, l.len < 4096 ? l.len : 4096, 0);
			buf_addc(b, '\n');
		}
		return 0;
	}
	detail_value(b, "", o, &n);
	if (n >= MAX_DETAIL)
		buf_addf(b, "... (cut at %d lines)\n", MAX_DETAIL);
	json_decref(o);
	return 0;
}

/* Filters -------------------------------------------------------------- */

bool
replay_filter_empty(const struct rp_filter *f)
{
	return f == NULL || (f->type[0] == '\0' && f->step == 0 &&
	    !f->failures && f->text[0] == '\0');
}

static bool
contains_ci(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle), i, j;

	if (m == 0)
		return true;
	for (i = 0; i + m <= n; i++) {
		for (j = 0; j < m; j++) {
			if (tolower((unsigned char)hay[i + j]) !=
			    tolower((unsigned char)needle[j]))
				break;
		}
		if (j == m)
			return true;
	}
	return false;
}

static uint64_t
type_mask(const struct replay *r, const char *prefix)
{
	uint64_t m = 0;
	size_t i, n = strlen(prefix);

	if (n == 0)
		return ~(uint64_t)0;
	for (i = 0; i < r->ntypes; i++) {
		if (strncmp(r->types[i], prefix, n) == 0)
			m |= (uint64_t)1 << i;
	}
	if (r->more_types)
		m |= (uint64_t)1 << 63;
	return m;
}

static bool
block_may_match(const struct block *b, uint64_t mask,
    const struct rp_filter *f)
{
	if ((b->types & mask) == 0)
		return false;
	if (f->step != 0 && (b->step_min == 0 || f->step < b->step_min ||
	    f->step > b->step_max))
		return false;
	if (f->failures && (b->flags & (RP_FAIL | RP_WARN | RP_BAD)) == 0)
		return false;
	return true;
}

static bool
line_matches(struct replay *r, size_t line, const struct rp_filter *f)
{
	struct audit_line l;
	struct rp_rec rec;

	if (read_line(r, line, &l) != 0)
		return false;
	if (f->text[0] != '\0' && (l.overlong ||
	    !contains_ci(l.text, l.len, f->text)))
		return false;
	if (f->type[0] == '\0' && f->step == 0 && !f->failures)
		return true;
	json_decref(parse(&l, &rec));
	if (f->type[0] != '\0' && strncmp(rec.type, f->type,
	    strlen(f->type)) != 0)
		return false;
	if (f->step != 0 && rec.step != f->step)
		return false;
	if (f->failures && (rec.flags & (RP_FAIL | RP_WARN | RP_BAD)) == 0)
		return false;
	return true;
}

size_t
replay_find(struct replay *r, size_t from, int dir,
    const struct rp_filter *f)
{
	uint64_t mask;
	size_t line, b, first, last, found;

	if (replay_filter_empty(f)) {
		if (dir > 0)
			return from < r->lines ? from + 1 : 0;
		return from > 1 ? (from > r->lines ? r->lines : from - 1) : 0;
	}
	mask = type_mask(r, f->type);
	if (dir > 0) {
		line = from + 1;
		while (line <= r->lines) {
			b = (line - 1) / r->k;
			last = (b + 1) * r->k;
			if (!block_may_match(&r->blocks[b], mask, f)) {
				line = last + 1;
				continue;
			}
			for (; line <= last && line <= r->lines; line++) {
				if (line_matches(r, line, f))
					return line;
			}
		}
		return 0;
	}
	line = from > r->lines + 1 ? r->lines : from - 1;
	while (line >= 1) {
		b = (line - 1) / r->k;
		first = b * r->k + 1;
		if (block_may_match(&r->blocks[b], mask, f)) {
			found = 0;
			for (; first <= line; first++) {
				if (line_matches(r, first, f))
					found = first;
			}
			if (found != 0)
				return found;
		}
		line = b * r->k;
	}
	return 0;
}

/* The picker's list of logs ------------------------------------------------- */

static int
by_name_desc(const void *a, const void *b)
{
	return strcmp(((const struct rp_entry *)b)->name,
	    ((const struct rp_entry *)a)->name);
}

/* The first record: date, title and operator. */
static void
entry_head(struct rp_entry *e)
{
	struct audit_reader *rd;
	struct audit_line l;
	char *cause = NULL;
	json_t *o;
	const char *ts;

	snprintf(e->title, sizeof e->title, "(no session.start)");
	if ((rd = audit_reader_open(e->path, &cause)) == NULL) {
		snprintf(e->state, sizeof e->state, "cannot be read");
		e->checked = true;
		e->status = VERIFY_BAD;
		free(cause);
		return;
	}
	if (audit_reader_next(rd, &l, &cause) == 1 && !l.overlong &&
	    (o = json_loadb(l.text, l.len, JSON_ALLOW_NUL, NULL)) != NULL) {
		if (is(o, "type", "session.start")) {
			copy_str(e->title, sizeof e->title, json_object_get(
			    json_object_get(json_object_get(o, "data"),
			    "runbook"), "title"));
			copy_str(e->actor, sizeof e->actor,
			    json_object_get(o, "actor"));
			/* Only from a well-formed ts: digits and separators
			 * checked one by one. */
			if ((ts = sval(o, "ts")) != NULL &&
			    replay_parse_ts(ts) != 0)
				snprintf(e->date, sizeof e->date, "%.10s %.5s",
				    ts, ts + 11);
		}
		json_decref(o);
	}
	free(cause);
	audit_reader_close(rd);
}

int
rp_dir_open(struct rp_dir *d, const char *dir, const struct audit_key *key,
    char **cause)
{
	DIR *dp;
	struct dirent *de;
	struct stat st;
	struct rp_entry *e;
	size_t n;
	char *path;

	memset(d, 0, sizeof *d);
	d->key = key;
	if ((dp = opendir(dir)) == NULL) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(dp)) != NULL && d->n < MAX_ENTRIES) {
		n = strlen(de->d_name);
		if (n < 7 || strcmp(de->d_name + n - 6, ".jsonl") != 0 ||
		    de->d_name[0] == '.')
			continue;
		path = xprintf("%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		d->e = xreallocarray(d->e, d->n + 1, sizeof *d->e);
		e = &d->e[d->n++];
		memset(e, 0, sizeof *e);
		e->path = path;
		e->name = esc_str(de->d_name, 0);
		snprintf(e->state, sizeof e->state, "not checked yet");
	}
	closedir(dp);
	if (d->n > 0)
		qsort(d->e, d->n, sizeof *d->e, by_name_desc);
	for (n = 0; n < d->n; n++)
		entry_head(&d->e[n]);
	return 0;
}

static void
entry_count(struct rp_entry *e, const struct audit_line *l)
{
	json_t *o;

	/* Only step results matter here: skip the parse for the others. */
	if (l->overlong || memmem(l->text, l->len, "\"step.result\"", 13) ==
	    NULL)
		return;
	if ((o = json_loadb(l->text, l->len, JSON_ALLOW_NUL, NULL)) == NULL)
		return;
	if (is(o, "type", "step.result")) {
		if (is(json_object_get(o, "data"), "verdict", "pass"))
			e->pass++;
		else if (is(json_object_get(o, "data"), "verdict", "fail"))
			e->fail++;
		else
			e->other++;
	}
	json_decref(o);
}

static void
entry_finish(struct rp_entry *e)
{
	const struct verify *v = &e->v;

	verify_finish(&e->v);
	e->checked = true;
	e->status = v->status;
	e->ended = v->ended;
	switch (v->status) {
	case VERIFY_INTACT:
		snprintf(e->state, sizeof e->state, "intact%s", v->sealed ?
		    ", sealed" : " (unsealed)");
		break;
	case VERIFY_OPEN:
		snprintf(e->state, sizeof e->state, "intact, not ended%s",
		    v->sealed ? ", sealed" : " (unsealed)");
		break;
	case VERIFY_TORN:
		snprintf(e->state, sizeof e->state, "torn tail");
		break;
	case VERIFY_NEED_KEY:
		snprintf(e->state, sizeof e->state, "sealed (needs --key)");
		break;
	case VERIFY_BAD:
		if (v->bad_seq != 0)
			snprintf(e->state, sizeof e->state, "TAMPERED at "
			    "record %" PRIu64, v->bad_seq);
		else
			snprintf(e->state, sizeof e->state, "TAMPERED at "
			    "line %zu", v->bad_line);
		break;
	}
	audit_reader_close(e->rd);
	e->rd = NULL;
	verify_done(&e->v);
}

int
rp_dir_check(struct rp_dir *d, size_t max_lines)
{
	struct rp_entry *e;
	struct audit_line l;
	char *cause = NULL;
	size_t n = 0;
	int rc;

	while (d->next < d->n && n < max_lines) {
		e = &d->e[d->next];
		if (e->checked) {
			d->next++;
			continue;
		}
		if (e->rd == NULL) {
			verify_init(&e->v, d->key);
			if ((e->rd = audit_reader_open(e->path, &cause)) ==
			    NULL) {
				free(cause);
				cause = NULL;
				e->checked = true;
				e->status = VERIFY_BAD;
				snprintf(e->state, sizeof e->state,
				    "cannot be read");
				verify_done(&e->v);
				continue;
			}
			snprintf(e->state, sizeof e->state, "checking");
		}
		while (n < max_lines && (rc = audit_reader_next(e->rd, &l,
		    &cause)) == 1) {
			n++;
			entry_count(e, &l);
			verify_line(&e->v, &l);
		}
		if (n >= max_lines)
			break;
		free(cause);
		cause = NULL;
		entry_finish(e);
		d->next++;
	}
	return d->next < d->n;
}

void
rp_dir_free(struct rp_dir *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->e[i].path);
		free(d->e[i].name);
		audit_reader_close(d->e[i].rd);
		if (!d->e[i].checked)
			verify_done(&d->e[i].v);
	}
	free(d->e);
	memset(d, 0, sizeof *d);
}
