/* replay.c: an audit log read back for `rehearse replay`: a sparse index
 * built in one streaming pass (with the verification), records read back
 * on demand, and filters (the list of logs for the picker is replay_dir.c).
 *
 * Memory does not grow with the log: the index holds at most MAX_BLOCKS
 * entries; when it is full, neighbouring blocks are merged and the blocks
 * become twice as long.  A record is found by seeking to its block and
 * reading at most one block's lines. */
#include "config.h"

#include <ctype.h>
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
#include "log_digest.h"
#include "record.h"
#include "replay.h"
#include "textesc.h"
#include "xmalloc.h"

/* A record's flags are the digest's judgement, bit for bit. */
_Static_assert(RP_FAIL == RECORD_FAIL && RP_WARN == RECORD_WARN &&
    RP_BAD == LD_BAD, "replay's flags are the digest's");

#define MAX_BLOCKS	8192
#define FIRST_BLOCK	64	/* lines per block to begin with */
#define MAX_TYPES	63	/* bit 63 stands for every other type */
#define MAX_DETAIL	20000	/* lines of one record's detail */

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
	struct log_digest ld;		/* the fold behind info and steps */
};

/* Small helpers ------------------------------------------------------------ */

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

/* Fills rec from one line and its record o (parsed by the caller; NULL
 * when the line is not one).  The index pass needs neither the judgement
 * (the digest makes it) nor the summary: without `shown` both are left
 * out. */
static void
fill(const struct audit_line *l, json_t *o, struct rp_rec *rec, bool shown)
{
	struct buf b;
	json_t *v;
	char *e, *t;

	memset(rec, 0, sizeof *rec);
	rec->line = l->lineno;
	rec->offset = l->offset;
	if (l->overlong) {
		rec->flags = RP_BAD;
		snprintf(rec->type, sizeof rec->type, "(overlong)");
		snprintf(rec->summary, sizeof rec->summary, "a line over %d "
		    "bytes: not a record, not shown", AUDIT_MAX_LINE);
		return;
	}
	if (o == NULL) {
		rec->flags = RP_BAD;
		snprintf(rec->type, sizeof rec->type, l->complete ?
		    "(not a record)" : "(torn)");
		e = esc_text(l->text, l->len < 120 ? l->len : 120, 0);
		t = xprintf("%s%s: %s", l->complete ? "not JSON" :
		    "an unfinished last line", l->complete ? "" :
		    " (the writer stopped mid-record)", e);
		ld_cut(rec->summary, sizeof rec->summary, t);
		free(t);
		free(e);
		return;
	}
	v = json_object_get(o, "seq");
	rec->seq = json_is_integer(v) ? json_integer_value(v) : 0;
	ld_escape(rec->ts, sizeof rec->ts, json_object_get(o, "ts"));
	v = json_object_get(o, "ts");
	rec->t = replay_parse_ts(json_is_string(v) ? json_string_value(v) :
	    NULL);
	v = json_object_get(o, "step");
	rec->step = json_is_integer(v) && json_integer_value(v) > 0 &&
	    json_integer_value(v) <= 1000000 ? (long)json_integer_value(v) : 0;
	v = json_object_get(o, "type");
	if (!json_is_string(v)) {
		rec->flags = RP_BAD;
		snprintf(rec->type, sizeof rec->type, "(no type)");
	} else
		ld_escape(rec->type, sizeof rec->type, v);
	if (!shown)
		return;
	rec->flags |= record_judge(o);
	buf_init(&b);
	buf_add(&b, "", 0);
	record_summary(&b, o);
	ld_cut(rec->summary, sizeof rec->summary, b.data);
	buf_free(&b);
}

/* Parses one line and fills rec; returns the record (caller decrefs) or
 * NULL when the line is not one. */
static json_t *
parse(const struct audit_line *l, struct rp_rec *rec)
{
	json_t *o = log_digest_parse(l);

	fill(l, o, rec, true);
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
	log_digest_init(&r->ld, RP_MAX_STEPS, false);
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
	log_digest_done(&r->ld);
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

/* What the header and the step list show, from the digest after a record
 * was fed to it. */
static void
show_digest(struct replay *r, const struct rp_rec *rec)
{
	const struct log_digest *ld = &r->ld;
	const struct ld_step *d;
	struct rp_step *s;

	if (r->nsteps < ld->nsteps) {
		r->steps = xreallocarray(r->steps, ld->nsteps, sizeof *r->steps);
		memset(r->steps + r->nsteps, 0, (ld->nsteps - r->nsteps) *
		    sizeof *r->steps);
		r->nsteps = ld->nsteps;
	}
	if (rec->ts[0] != '\0') {
		if (r->info.first_ts[0] == '\0')
			ld_cut(r->info.first_ts, sizeof r->info.first_ts,
			    rec->ts);
		ld_cut(r->info.last_ts, sizeof r->info.last_ts, rec->ts);
	}
	r->info.ended = ld->ended;
	if (ld->last == REC_SESSION_START && r->info.session[0] == '\0') {
		ld_escape(r->info.title, sizeof r->info.title, ld->title);
		ld_escape(r->info.owner, sizeof r->info.owner, ld->owner);
		ld_escape(r->info.environment, sizeof r->info.environment,
		    ld->environment);
		ld_escape(r->info.actor, sizeof r->info.actor, ld->actor);
		ld_escape(r->info.host, sizeof r->info.host, ld->host);
		ld_escape(r->info.session, sizeof r->info.session, ld->session);
		r->info.sealed = ld->sealed;
	}
	if ((d = ld->touched) == NULL || (ld->last != REC_STEP_START &&
	    ld->last != REC_STEP_RESULT))
		return;
	s = &r->steps[d - ld->steps];
	ld_escape(s->title, sizeof s->title, d->title);
	ld_escape(s->kind, sizeof s->kind, d->kind);
	if (d->running)
		snprintf(s->verdict, sizeof s->verdict, "running");
	else
		ld_escape(s->verdict, sizeof s->verdict, d->verdict);
	s->first_line = d->first_line;
}

static void
index_line(struct replay *r, const struct audit_line *l)
{
	struct rp_rec rec;
	struct block *b;
	json_t *o;
	size_t i, line = r->lines + 1;

	/* Parsed once, for the verifier, the digest and the index. */
	o = log_digest_parse(l);
	fill(l, o, &rec, false);
	verify_record(&r->v, l, o);
	rec.flags |= log_digest_feed(&r->ld, line, o);
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
	show_digest(r, &rec);
	json_decref(o);
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
	return r->ld.first_failure;
}

size_t
replay_failures(const struct replay *r)
{
	return r->ld.failures;
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
	ld_cut(out, len, t);	/* at a character boundary */
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

/* A cluster purge's record: a line per shard, in words, before the
 * fields ("shard 127.0.0.1:7001: previewed 1005, deleted 1005, ..."). */
static void
detail_shards(struct buf *b, json_t *o)
{
	static const char *const field[] = { "previewed", "deleted", "gone",
	    "in_doubt", "untouched", "errors", "batches", "backed_up" };
	static const char *const word[] = { "previewed", "deleted",
	    "already gone", "in doubt", "untouched", "errors", "batches",
	    "backed up" };
	json_t *shards = json_object_get(json_object_get(o, "data"), "shards");
	json_t *sh, *node, *v;
	size_t i, k, n;

	if (!json_is_array(shards) || json_array_size(shards) == 0)
		return;
	buf_addf(b, "per shard (%zu):\n", json_array_size(shards));
	json_array_foreach(shards, i, sh) {
		if (i >= MAX_DETAIL / 2) {
			buf_addf(b, "  ... %zu more\n", json_array_size(shards) -
			    i);
			break;
		}
		node = json_object_get(sh, "node");
		buf_adds(b, "  shard ");
		if (json_is_string(node))
			esc_append(b, json_string_value(node),
			    json_string_length(node), 0);
		else
			buf_adds(b, "?");
		buf_adds(b, ":");
		for (k = n = 0; k < sizeof field / sizeof field[0]; k++) {
			v = json_object_get(sh, field[k]);
			if (!json_is_integer(v))
				continue;
			buf_addf(b, "%s %s %" JSON_INTEGER_FORMAT, n++ ? "," : "",
			    word[k], json_integer_value(v));
		}
		buf_addc(b, '\n');
	}
	buf_addc(b, '\n');
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
	detail_shards(b, o);
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
