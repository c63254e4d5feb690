/* fuzz_audit.c: the audit log reader and verifier on untrusted bytes.  A
 * log comes from a machine that may have crashed or been tampered with; the
 * verifier must say so, never crash, and agree with itself: the file read
 * through the reader and the same lines handed straight to verify_line()
 * get the same verdict, with or without a key. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chain.h"
#include "audit_read.h"
#include "fuzz.h"

/* The key the sealed seeds were written with (tests/fuzz/corpus/audit). */
#define FUZZ_KEY "rehearse-fuzz-key-0123456789abcd"

/* What verify.h promises about a finished verification of `lines` lines
 * numbered 1..lines. */
static void
check_verdict(const struct verify *v, size_t lines)
{
	FUZZ_CHECK((unsigned)v->status <= VERIFY_NEED_KEY);
	FUZZ_CHECK(v->lines <= lines);
	FUZZ_CHECK(v->bad_line <= v->lines);
	FUZZ_CHECK(v->records <= v->lines);
	FUZZ_CHECK(v->last_line <= v->lines);
	FUZZ_CHECK(v->torn_line <= v->lines);
	FUZZ_CHECK(v->nintents <= VERIFY_MAX_INTENTS);
	FUZZ_CHECK(v->recovered <= v->lines && v->resumes <= v->records);
	/* seq starts at 1 and goes up by one: no gap, no reordering. */
	FUZZ_CHECK(v->last_seq == v->records);
	FUZZ_CHECK(memchr(v->session, '\0', sizeof v->session) != NULL);
	FUZZ_CHECK(memchr(v->last_ts, '\0', sizeof v->last_ts) != NULL);
	FUZZ_CHECK(memchr(v->last_type, '\0', sizeof v->last_type) != NULL);
	FUZZ_CHECK(strlen(v->prev) == 64);
	switch (v->status) {
	case VERIFY_INTACT:
		FUZZ_CHECK(v->reason == NULL);
		FUZZ_CHECK(v->ended && v->records > 0 && v->torn_line == 0);
		FUZZ_CHECK(v->lines == lines);
		break;
	case VERIFY_OPEN:
		FUZZ_CHECK(v->reason != NULL);
		FUZZ_CHECK(!v->ended && v->records > 0 && v->torn_line == 0);
		FUZZ_CHECK(v->bad_line == v->last_line);
		FUZZ_CHECK(v->lines == lines);
		break;
	case VERIFY_TORN:
		FUZZ_CHECK(v->reason != NULL);
		FUZZ_CHECK(v->torn_line != 0 && !v->torn_complete);
		FUZZ_CHECK(v->bad_line == v->torn_line);
		FUZZ_CHECK(v->lines == lines);
		break;
	case VERIFY_BAD:
		FUZZ_CHECK(v->reason != NULL);
		break;
	case VERIFY_NEED_KEY:
		FUZZ_CHECK(v->reason != NULL);
		FUZZ_CHECK(v->records == 0 && v->bad_line == v->lines);
		break;
	}
	/* The reason may quote the log (a type, a key id, the JSON error):
	 * its users escape it, so only its length is looked at here. */
	if (v->reason != NULL)
		FUZZ_CHECK(strlen(v->reason) > 0);
}

/* Both verifications of the same bytes must agree. */
static void
check_same(const struct verify *a, const struct verify *b)
{
	FUZZ_CHECK(a->status == b->status);
	FUZZ_CHECK(a->bad_line == b->bad_line && a->bad_seq == b->bad_seq);
	FUZZ_CHECK(a->lines == b->lines && a->records == b->records);
	FUZZ_CHECK(strcmp(a->prev, b->prev) == 0);
	FUZZ_CHECK((a->reason == NULL) == (b->reason == NULL));
	FUZZ_CHECK(a->reason == NULL || strcmp(a->reason, b->reason) == 0);
}

/* Splits the input on '\n' the way the reader does and feeds verify_line
 * directly, up to the first line it refuses, as verify_file() does. */
static void
verify_split(struct verify *v, const uint8_t *data, size_t size)
{
	struct audit_line l;
	const uint8_t *p = data, *end = data + size, *nl;
	size_t lineno = 0;

	while (p < end) {
		memset(&l, 0, sizeof l);
		nl = memchr(p, '\n', (size_t)(end - p));
		l.lineno = ++lineno;
		l.offset = (off_t)(p - data);
		l.text = (const char *)p;
		l.len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		l.complete = nl != NULL;
		l.end = l.offset + (off_t)l.len + (nl != NULL);
		if (l.len > AUDIT_MAX_LINE) {
			/* The reader hands out no text for these. */
			l.overlong = true;
			l.text = "";
			l.len = 0;
		}
		if (!verify_line(v, &l))
			break;
		p = nl != NULL ? nl + 1 : end;
	}
	verify_finish(v);
}

/* Lines in the input, as the reader counts them. */
static size_t
count_lines(const uint8_t *data, size_t size)
{
	size_t i, n = 0;

	for (i = 0; i < size; i++)
		n += data[i] == '\n';
	return n + (size > 0 && data[size - 1] != '\n');
}

/* The input with the prev and hash of every complete record made right
 * again (with key, or plain SHA-256), so that mutations reach the checks
 * behind the hash (sequence, session, resumes, torn lines, intents,
 * session.end) instead of all stopping at it.  Caller frees. */
static uint8_t *
rechain(const uint8_t *data, size_t size, const struct audit_key *key)
{
	static const char tag[] = "\"prev\":\"";
	uint8_t *out = malloc(size + 1), *p, *end, *nl;
	char prev[AUDIT_HEX], h[AUDIT_HEX], *line;
	const char *hash;
	size_t len, body;

	if (out == NULL)
		abort();
	memcpy(out, data, size);
	audit_genesis(key, prev);
	for (p = out, end = out + size; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;		/* a torn tail stays torn */
		line = (char *)p;
		len = (size_t)(nl - p);
		if (!audit_line_split(line, len, &body, &hash))
			continue;
		/* The writer puts prev last: ...,"prev":"<64 hex>". */
		if (body >= sizeof tag + 64 && line[body - 1] == '"' &&
		    memcmp(line + body - 65 - (sizeof tag - 1), tag,
		    sizeof tag - 1) == 0)
			memcpy(line + body - 65, prev, 64);
		audit_line_hash(key, line, body, h);
		memcpy(line + (hash - line), h, 64);
		audit_hash(key, line, len, prev);
	}
	return out;
}

/* Verifies data with key through the reader and line by line; the two
 * must agree and keep the invariants.  The reader's verdict in *v. */
static void
verify_both(struct verify *v, const uint8_t *data, size_t size,
    const struct audit_key *key)
{
	struct verify split;
	const char *path = fuzz_file(data, size);
	char *cause = NULL;
	size_t lines = count_lines(data, size);

	verify_init(v, key);
	if (verify_file(v, path, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		abort();
	}
	check_verdict(v, lines);
	verify_init(&split, key);
	verify_split(&split, data, size);
	check_same(v, &split);
	verify_done(&split);
}

/* The reader against a plain split, on the input repeated past the
 * reader's 64 KiB chunks (and past AUDIT_MAX_LINE when the input holds no
 * newline), so that its buffer moves, grows and drops overlong lines. */
static void
check_reader(const uint8_t *data, size_t size)
{
	struct audit_reader *rd;
	struct audit_line l;
	uint8_t *big;
	const uint8_t *p, *end, *nl;
	size_t want, total, i, lineno = 0, len;
	char *cause = NULL;
	int rc;

	if (size == 0)
		return;
	want = memchr(data, '\n', size) != NULL ? 160 * 1024 :
	    AUDIT_MAX_LINE + 70 * 1024;
	total = (want / size + 1) * size;
	if ((big = malloc(total)) == NULL)
		abort();
	for (i = 0; i < total; i += size)
		memcpy(big + i, data, size);
	if ((rd = audit_reader_open(fuzz_file(big, total), &cause)) == NULL)
		abort();
	p = big;
	end = big + total;
	while ((rc = audit_reader_next(rd, &l, &cause)) == 1) {
		FUZZ_CHECK(p < end);
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		FUZZ_CHECK(l.lineno == ++lineno);
		FUZZ_CHECK(l.offset == (off_t)(p - big));
		FUZZ_CHECK(l.end == l.offset + (off_t)len + (nl != NULL));
		FUZZ_CHECK(l.complete == (nl != NULL));
		FUZZ_CHECK(l.overlong == (len > AUDIT_MAX_LINE));
		/* An overlong line comes without its text, or (when its
		 * newline arrived with the chunk that made it overlong)
		 * whole; its readers look at neither. */
		if (!l.overlong || l.len != 0)
			FUZZ_CHECK(l.len == len && memcmp(l.text, p, len) == 0);
		p = nl != NULL ? nl + 1 : end;
	}
	FUZZ_CHECK(rc == 0 && p == end);
	audit_reader_close(rd);
	free(big);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct audit_key key;
	struct verify plain, keyed;
	uint8_t *again;

	if (key.len == 0) {
		key.len = strlen(FUZZ_KEY);
		memcpy(key.bytes, FUZZ_KEY, key.len);
	}

	verify_both(&plain, data, size, NULL);
	verify_both(&keyed, data, size, &key);
	/* Unsealed: a key is refused at the first record; sealed: without
	 * the key nothing is vouched for. */
	if (plain.records > 0)
		FUZZ_CHECK(keyed.status == VERIFY_NEED_KEY &&
		    keyed.bad_line == 1 && !plain.sealed);
	if (keyed.records > 0)
		FUZZ_CHECK(keyed.sealed && plain.status == VERIFY_NEED_KEY);
	verify_done(&plain);
	verify_done(&keyed);

	/* The same log with its chain repaired, plain and sealed. */
	again = rechain(data, size, NULL);
	verify_both(&plain, again, size, NULL);
	verify_done(&plain);
	free(again);
	again = rechain(data, size, &key);
	verify_both(&keyed, again, size, &key);
	verify_done(&keyed);
	free(again);

	check_reader(data, size);
	return 0;
}
