/* fuzz_replay.c: `rehearse replay`'s reader on an untrusted log: the index
 * pass, records read back, the detail view, the filters, and a log that
 * grows while it is followed.  replay.h promises that everything handed out
 * is escaped text; the filters are checked against a brute-force scan (the
 * sparse index must never skip a matching line), and the followed log
 * against the same log read whole. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chain.h"
#include "buf.h"
#include "fuzz.h"
#include "replay.h"

#define MAX_CHECKED	600	/* lines read back one by one, at most */

/* The input's lines, split as the reader splits them. */
struct lines {
	const char	**text;
	size_t		 *len;
	bool		 *overlong;
	size_t		  n;
	size_t		  complete;	/* lines ended by a newline */
};

static void
split(struct lines *ls, const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *nl;
	size_t n = 0, i;

	for (i = 0; i < size; i++)
		n += data[i] == '\n';
	n += size > 0 && data[size - 1] != '\n';
	ls->text = calloc(n + 1, sizeof *ls->text);
	ls->len = calloc(n + 1, sizeof *ls->len);
	ls->overlong = calloc(n + 1, sizeof *ls->overlong);
	if (ls->text == NULL || ls->len == NULL || ls->overlong == NULL)
		abort();
	ls->n = ls->complete = 0;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		ls->text[ls->n] = (const char *)p;
		ls->len[ls->n] = nl != NULL ? (size_t)(nl - p) :
		    (size_t)(end - p);
		ls->overlong[ls->n] = ls->len[ls->n] > AUDIT_MAX_LINE;
		ls->n++;
		ls->complete += nl != NULL;
		p = nl != NULL ? nl + 1 : end;
	}
	FUZZ_CHECK(ls->n == n);
}

static void
lines_free(struct lines *ls)
{
	free(ls->text);
	free(ls->len);
	free(ls->overlong);
}

/* Indexes to the end; the reader must not fail on a regular file. */
static void
index_all(struct replay *r)
{
	char *cause = NULL;
	size_t turns = 0;
	int rc;

	while ((rc = replay_index(r, 37, &cause)) == 1)
		FUZZ_CHECK(++turns < 1000000);
	if (rc != 0) {
		fprintf(stderr, "replay_index: %s\n", cause);
		abort();
	}
}

static void
check_rec(const struct rp_rec *rec, size_t line)
{
	FUZZ_CHECK(rec->line == line);
	FUZZ_CHECK(rec->step >= 0);
	fuzz_check_str("rec.ts", rec->ts, 0);
	fuzz_check_str("rec.type", rec->type, 0);
	fuzz_check_str("rec.summary", rec->summary, 0);
}

static void
check_header(struct replay *r)
{
	const struct rp_info *info = replay_info(r);
	const struct rp_step *s;
	char verdict[512];
	enum verify_status st;
	size_t i, lines = replay_lines(r);

	fuzz_check_str("info.title", info->title, 0);
	fuzz_check_str("info.owner", info->owner, 0);
	fuzz_check_str("info.environment", info->environment, 0);
	fuzz_check_str("info.actor", info->actor, 0);
	fuzz_check_str("info.host", info->host, 0);
	fuzz_check_str("info.session", info->session, 0);
	fuzz_check_str("info.first_ts", info->first_ts, 0);
	fuzz_check_str("info.last_ts", info->last_ts, 0);
	FUZZ_CHECK(replay_nsteps(r) <= RP_MAX_STEPS);
	for (i = 0; i < replay_nsteps(r); i++) {
		s = replay_step(r, i);
		FUZZ_CHECK(s != NULL);
		fuzz_check_str("step.title", s->title, 0);
		fuzz_check_str("step.kind", s->kind, 0);
		fuzz_check_str("step.verdict", s->verdict, 0);
		FUZZ_CHECK(s->first_line <= lines);
	}
	FUZZ_CHECK(replay_step(r, replay_nsteps(r)) == NULL);
	st = replay_verdict(r, verdict, sizeof verdict);
	FUZZ_CHECK((unsigned)st <= VERIFY_NEED_KEY);
	fuzz_check_str("verdict", verdict, 0);
	FUZZ_CHECK(replay_bad_line(r) <= lines);
	FUZZ_CHECK(replay_first_failure(r) <= lines);
	FUZZ_CHECK(replay_failures(r) <= lines);
	FUZZ_CHECK((replay_first_failure(r) == 0) == (replay_failures(r) == 0));
}

static void
check_detail(struct replay *r, size_t line)
{
	struct buf b;

	if (line < 1 || line > replay_lines(r))
		return;
	buf_init(&b);
	buf_add(&b, "", 0);
	FUZZ_CHECK(replay_detail(r, line, &b) == 0);
	FUZZ_CHECK(strlen(b.data) == b.len);
	fuzz_check_inert("detail", b.data, b.len, INERT_NL);
	buf_free(&b);
}

static bool
contains_ci(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle), i, j;

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

/* What the filter lets through, decided line by line. */
static bool
brute_match(struct replay *r, const struct lines *ls, size_t line,
    const struct rp_filter *f)
{
	struct rp_rec rec;

	if (f->text[0] != '\0' && (ls->overlong[line - 1] ||
	    !contains_ci(ls->text[line - 1], ls->len[line - 1], f->text)))
		return false;
	FUZZ_CHECK(replay_get(r, line, &rec) == 0);
	if (f->type[0] != '\0' && strncmp(rec.type, f->type,
	    strlen(f->type)) != 0)
		return false;
	if (f->step != 0 && rec.step != f->step)
		return false;
	if (f->failures && (rec.flags & (RP_FAIL | RP_WARN | RP_BAD)) == 0)
		return false;
	return true;
}

/* replay_find finds exactly the lines the brute force does: all of them
 * going forward, the last three going back (each step back rereads the
 * block up to the line: a parse per line). */
static void
check_filter(struct replay *r, const struct lines *ls,
    const struct rp_filter *f)
{
	size_t lines = replay_lines(r), line, got, steps;
	bool *match;

	if (lines > MAX_CHECKED)
		return;
	if ((match = calloc(lines + 1, sizeof *match)) == NULL)
		abort();
	for (line = 1; line <= lines; line++)
		match[line] = brute_match(r, ls, line, f);
	got = 0;
	for (line = 1; line <= lines + 1; line++) {
		if (line <= lines && !match[line])
			continue;
		got = replay_find(r, got, 1, f);
		FUZZ_CHECK(got == (line <= lines ? line : 0));
		if (got == 0)
			break;
	}
	got = lines + 1;
	steps = 0;
	for (line = lines; steps < 3; line--) {
		if (line >= 1 && !match[line])
			continue;
		got = replay_find(r, got, -1, f);
		FUZZ_CHECK(got == line);
		steps++;
		if (line == 0)
			break;
	}
	free(match);
}

/* A filter text from the input itself, so that some lines match. */
static void
text_from(char *dst, size_t size, const struct lines *ls, unsigned pick)
{
	size_t i, n, len;
	const char *t;

	dst[0] = '\0';
	if (ls->n == 0)
		return;
	i = pick % ls->n;
	t = ls->text[i];
	len = ls->overlong[i] ? 0 : ls->len[i];
	if (len == 0)
		return;
	n = 1 + (pick >> 8) % 6;
	if (n > len)
		n = len;
	i = (pick >> 4) % (len - n + 1);
	memcpy(dst, t + i, n < size ? n : size - 1);
	dst[n < size ? n : size - 1] = '\0';
}

static void
check_filters(struct replay *r, const struct lines *ls, const uint8_t *data,
    size_t size)
{
	struct rp_filter f;
	struct rp_rec rec;
	unsigned pick = size > 2 ? data[size - 1] | data[size / 2] << 8 : 0;
	size_t lines = replay_lines(r);
	unsigned which;

	/* No filter: every line, in order. */
	FUZZ_CHECK(replay_filter_empty(NULL));
	FUZZ_CHECK(replay_find(r, 0, 1, NULL) == (lines > 0 ? 1 : 0));
	FUZZ_CHECK(replay_find(r, lines + 1, -1, NULL) == lines);
	FUZZ_CHECK(replay_find(r, lines, 1, NULL) == 0);

	/* One of the filters below for each input: each costs a scan. */
	for (which = 0; which < 6; which++) {
		if (which != pick % 6)
			continue;
		memset(&f, 0, sizeof f);
		switch (which) {
		case 0:
			f.failures = true;
			break;
		case 1:
			snprintf(f.type, sizeof f.type, "step.");
			f.text[0] = 'e';
			break;
		case 2:
		case 3:
			/* A prefix of a type that is there, with failures. */
			if (lines == 0)
				continue;
			FUZZ_CHECK(replay_get(r, 1 + pick % lines, &rec) == 0);
			snprintf(f.type, sizeof f.type, "%.*s",
			    (int)(1 + (pick >> 3) % 8), rec.type);
			f.failures = which == 3;
			break;
		case 4:
			if (lines == 0)
				continue;
			FUZZ_CHECK(replay_get(r, 1 + pick % lines, &rec) == 0);
			f.step = rec.step != 0 ? rec.step : 1;
			break;
		case 5:
			text_from(f.text, sizeof f.text, ls, pick);
			if (f.text[0] == '\0')
				continue;
			break;
		}
		check_filter(r, ls, &f);
	}
}

/* The same bytes written in two parts while followed: the lines both
 * readings index hold the same records. */
static void
check_follow(struct replay *whole, const uint8_t *data, size_t size,
    const struct lines *ls)
{
	struct rp_rec a, b;
	struct replay *r;
	const char *path;
	char *cause = NULL, verdict[512];
	size_t cut = size > 0 ? (size_t)data[0] * size / 256 : 0, line;

	path = fuzz_file(data, cut);
	if ((r = replay_open(path, NULL, true, &cause)) == NULL)
		abort();
	index_all(r);
	check_header(r);
	fuzz_file_append(path, data + cut, size - cut);
	index_all(r);
	check_header(r);
	replay_verdict(r, verdict, sizeof verdict);

	/* A last line without its newline is waited for, not indexed. */
	FUZZ_CHECK(replay_lines(r) == ls->complete);
	for (line = 1; line <= replay_lines(r) && line <= MAX_CHECKED;
	    line++) {
		FUZZ_CHECK(replay_get(r, line, &a) == 0);
		FUZZ_CHECK(replay_get(whole, line, &b) == 0);
		FUZZ_CHECK(a.seq == b.seq && a.step == b.step);
		FUZZ_CHECK((a.flags & ~RP_AFTER_BAD) ==
		    (b.flags & ~RP_AFTER_BAD));
		FUZZ_CHECK(strcmp(a.type, b.type) == 0);
		FUZZ_CHECK(strcmp(a.ts, b.ts) == 0);
		FUZZ_CHECK(strcmp(a.summary, b.summary) == 0);
	}
	replay_free(r);
}

/* The picker's list of logs, on a directory holding the input. */
static void
check_dir(const char *path)
{
	struct rp_dir d;
	struct rp_entry *e;
	char dir[64], link[96], *cause = NULL;
	size_t turns = 0;

	snprintf(dir, sizeof dir, "/tmp/rehearse-fuzz-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(link, sizeof link, "%s/20261126T100000Z-fuzz.jsonl", dir);
	if (symlink(path, link) != 0)
		abort();
	FUZZ_CHECK(rp_dir_open(&d, dir, NULL, &cause) == 0);
	FUZZ_CHECK(d.n == 1);
	while (rp_dir_check(&d, 1000) == 1)
		FUZZ_CHECK(++turns < 1000000);
	e = &d.e[0];
	FUZZ_CHECK(e->checked);
	FUZZ_CHECK((unsigned)e->status <= VERIFY_NEED_KEY);
	fuzz_check_str("entry.name", e->name, 0);
	fuzz_check_str("entry.date", e->date, 0);
	fuzz_check_str("entry.title", e->title, 0);
	fuzz_check_str("entry.actor", e->actor, 0);
	fuzz_check_str("entry.state", e->state, 0);
	rp_dir_free(&d);
	unlink(link);
	rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct replay *r;
	struct rp_rec rec;
	struct lines ls;
	const char *path = fuzz_file(data, size);
	char *cause = NULL;
	size_t lines, line;

	split(&ls, data, size);
	if ((r = replay_open(path, NULL, false, &cause)) == NULL) {
		fprintf(stderr, "replay_open: %s\n", cause);
		abort();
	}
	index_all(r);
	FUZZ_CHECK(replay_caught_up(r));
	lines = replay_lines(r);
	FUZZ_CHECK(lines == ls.n);
	check_header(r);

	for (line = 1; line <= lines && line <= MAX_CHECKED; line++) {
		FUZZ_CHECK(replay_get(r, line, &rec) == 0);
		check_rec(&rec, line);
	}
	if (lines > MAX_CHECKED) {
		FUZZ_CHECK(replay_get(r, lines, &rec) == 0);
		check_rec(&rec, lines);
	}
	FUZZ_CHECK(replay_get(r, 0, &rec) == -1);
	FUZZ_CHECK(replay_get(r, lines + 1, &rec) == -1);

	check_detail(r, 1);
	check_detail(r, 2);
	check_detail(r, lines);
	check_detail(r, replay_bad_line(r));
	check_detail(r, replay_first_failure(r));
	check_detail(r, lines / 2);

	check_filters(r, &ls, data, size);
	check_dir(path);
	check_follow(r, data, size, &ls);

	replay_free(r);
	lines_free(&ls);
	return 0;
}
