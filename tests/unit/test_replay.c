/* test_replay.c: reading audit logs back for `rehearse replay`: the sparse
 * index (also once it has merged its blocks), reading records back,
 * filters against a brute-force scan, verification states, following a
 * growing log, hostile lines, and the picker's list of logs. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "audit_chain.h"
#include "replay.h"
#include "tap.h"
#include "xmalloc.h"

static char tmpdir[64];
static struct runbook *rb;

static void
setup(void)
{
	struct diags d;
	char *path = tap_srcpath("runbooks/demo.yml");

	snprintf(tmpdir, sizeof tmpdir, "/tmp/rehearse-replay-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	diags_init(&d);
	rb = runbook_load(path, &d);
	ck_assert_ptr_nonnull(rb);
	diags_done(&d);
	free(path);
}

static void
teardown(void)
{
	char *cmd = xprintf("rm -rf '%s'", tmpdir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	runbook_free(rb);
}

static char *
tpath(const char *name)
{
	return xprintf("%s/%s", tmpdir, name);
}

/* A real log: per step a step.start, a note and a step.result; step 3
 * fails, step 4 is degraded; n steps (numbered 1..n, cycling 1..9). */
static void
write_steps(const char *path, int n)
{
	struct audit_opts o = { .path = path, .rb = rb };
	char *cause = NULL;
	struct audit *a = audit_open(&o, &cause);
	int i;
	unsigned s;

	ck_assert_msg(a != NULL, "audit_open: %s", cause ? cause : "");
	for (i = 0; i < n; i++) {
		s = (unsigned)(i % 9) + 1;
		audit_append(a, "step.start", s, json_pack("{s:s, s:s}",
		    "title", s == 3 ? "the failing one" : "a step", "kind",
		    "http"));
		audit_append(a, "note", s, json_pack("{s:s}", "text",
		    i % 7 == 0 ? "Needle in the haystack" : "hay"));
		audit_append(a, "step.result", s, json_pack("{s:s, s:s, s:s}",
		    "verdict", s == 3 ? "fail" : s == 4 ? "degraded" : "pass",
		    "observed", "200 HIT", "reason", ""));
	}
	ck_assert_int_eq(audit_close(a), 0);
}

static struct replay *
open_all(const char *path, bool follow)
{
	char *cause = NULL;
	struct replay *r = replay_open(path, NULL, follow, &cause);
	int rc;

	ck_assert_msg(r != NULL, "replay_open: %s", cause ? cause : "");
	while ((rc = replay_index(r, 1000, &cause)) == 1)
		;
	ck_assert_msg(rc == 0, "replay_index: %s", cause ? cause : "");
	return r;
}

static void
append(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

START_TEST(index_and_read_back)
{
	char *path = tpath("a.jsonl"), v[512];
	struct replay *r;
	struct rp_rec rec;
	const struct rp_step *s;
	size_t i;

	write_steps(path, 900);
	r = open_all(path, false);
	ck_assert_uint_eq(replay_lines(r), 2 + 900 * 3);
	ck_assert_int_eq(replay_verdict(r, v, sizeof v), VERIFY_INTACT);
	ck_assert_msg(strstr(v, "intact: 2702 records") != NULL, "%s", v);
	ck_assert_msg(strstr(v, "(unsealed: a chain without a key") != NULL, "%s", v);
	ck_assert_str_eq(replay_info(r)->title, "blog page cache, release "
	    "1.5.2");
	ck_assert(replay_info(r)->ended);
	ck_assert_uint_eq(replay_nsteps(r), 9);
	s = replay_step(r, 2);
	ck_assert_str_eq(s->title, "the failing one");
	ck_assert_str_eq(s->verdict, "fail");
	ck_assert_uint_eq(s->first_line, 1 + 2 * 3 + 1);
	ck_assert_str_eq(replay_step(r, 3)->verdict, "degraded");
	/* The first failure: step 3's first step.result, line 1 + 6 + 3. */
	ck_assert_uint_eq(replay_first_failure(r), 10);
	ck_assert_uint_eq(replay_failures(r), 100);
	/* Any line, any order: its seq is its line. */
	for (i = 1; i <= replay_lines(r); i += 97) {
		ck_assert_int_eq(replay_get(r, i, &rec), 0);
		ck_assert_int_eq(rec.seq, (long long)i);
	}
	for (i = replay_lines(r); i > 131; i -= 131) {
		ck_assert_int_eq(replay_get(r, i, &rec), 0);
		ck_assert_int_eq(rec.seq, (long long)i);
	}
	ck_assert_int_eq(replay_get(r, 10, &rec), 0);
	ck_assert_str_eq(rec.type, "step.result");
	ck_assert(rec.flags & RP_FAIL);
	ck_assert_int_eq(rec.step, 3);
	ck_assert_msg(strstr(rec.summary, "fail: 200 HIT") != NULL, "%s",
	    rec.summary);
	ck_assert_int_eq(replay_get(r, replay_lines(r) + 1, &rec), -1);
	ck_assert_int_eq(replay_get(r, 0, &rec), -1);
	replay_free(r);
	free(path);
}
END_TEST

/* Every filter agrees with a brute-force scan, forwards and backwards. */
static void
check_filter(struct replay *r, const struct rp_filter *f)
{
	size_t n = replay_lines(r), i, l, *want, nwant = 0, k;
	struct rp_rec rec;
	char *line;
	FILE *fp;

	want = xcalloc(n + 1, sizeof *want);
	for (i = 1; i <= n; i++) {
		ck_assert_int_eq(replay_get(r, i, &rec), 0);
		if (f->type[0] && strncmp(rec.type, f->type,
		    strlen(f->type)) != 0)
			continue;
		if (f->step && rec.step != f->step)
			continue;
		if (f->failures && !(rec.flags & (RP_FAIL | RP_WARN | RP_BAD)))
			continue;
		want[nwant++] = i;
	}
	(void)fp;
	(void)line;
	if (f->text[0] != '\0') {
		/* Text: only these notes carry it. */
		k = 0;
		for (i = 0; i < nwant; i++) {
			ck_assert_int_eq(replay_get(r, want[i], &rec), 0);
			if (strstr(rec.summary, "Needle") != NULL)
				want[k++] = want[i];
		}
		nwant = k;
	}
	for (i = 0, l = 0; (l = replay_find(r, l, 1, f)) != 0; i++) {
		ck_assert_uint_lt(i, nwant);
		ck_assert_uint_eq(l, want[i]);
	}
	ck_assert_uint_eq(i, nwant);
	for (i = nwant, l = n + 1; (l = replay_find(r, l, -1, f)) != 0; ) {
		ck_assert_uint_gt(i, 0);
		ck_assert_uint_eq(l, want[--i]);
	}
	ck_assert_uint_eq(i, 0);
	free(want);
}

START_TEST(filters_match_a_full_scan)
{
	char *path = tpath("f.jsonl");
	struct replay *r;
	struct rp_filter f;

	write_steps(path, 400);
	r = open_all(path, false);
	memset(&f, 0, sizeof f);
	check_filter(r, &f);
	snprintf(f.type, sizeof f.type, "step.");
	check_filter(r, &f);
	f.step = 3;
	check_filter(r, &f);
	memset(&f, 0, sizeof f);
	f.failures = true;
	check_filter(r, &f);
	f.step = 4;
	check_filter(r, &f);
	memset(&f, 0, sizeof f);
	snprintf(f.text, sizeof f.text, "nEEDLE");	/* any case */
	check_filter(r, &f);
	snprintf(f.type, sizeof f.type, "session");	/* no note: none */
	ck_assert_uint_eq(replay_find(r, 0, 1, &f), 0);
	memset(&f, 0, sizeof f);
	snprintf(f.type, sizeof f.type, "no.such.type");
	ck_assert_uint_eq(replay_find(r, 0, 1, &f), 0);
	ck_assert_uint_eq(replay_find(r, replay_lines(r) + 1, -1, &f), 0);
	replay_free(r);
	free(path);
}
END_TEST

/* More lines than the index has blocks of its first size: the blocks
 * merge, and reading back and filtering still agree. */
START_TEST(index_stays_bounded_on_big_logs)
{
	char *path = tpath("big.jsonl");
	FILE *f = fopen(path, "w");
	struct replay *r;
	struct rp_rec rec;
	struct rp_filter flt;
	size_t i, n = 600000, l, count;

	ck_assert_ptr_nonnull(f);
	for (i = 1; i <= n; i++)
		fprintf(f, "{\"seq\":%zu,\"ts\":\"2026-11-26T08:00:00.000Z\","
		    "\"type\":\"%s\",\"step\":%zu,\"data\":{\"verdict\":"
		    "\"%s\"}}\n", i, i % 1000 == 0 ? "step.result" : "note",
		    i / 1000 + 1, i == 500000 ? "fail" : "pass");
	fclose(f);
	r = open_all(path, false);
	ck_assert_uint_eq(replay_lines(r), n);
	for (i = 1; i <= n; i += 4999) {
		ck_assert_int_eq(replay_get(r, i, &rec), 0);
		ck_assert_int_eq(rec.seq, (long long)i);
	}
	ck_assert_int_eq(replay_get(r, n, &rec), 0);
	ck_assert_int_eq(rec.seq, (long long)n);
	memset(&flt, 0, sizeof flt);
	snprintf(flt.type, sizeof flt.type, "step.result");
	for (l = 0, count = 0; (l = replay_find(r, l, 1, &flt)) != 0; count++)
		ck_assert_uint_eq(l % 1000, 0);
	ck_assert_uint_eq(count, n / 1000);
	flt.step = 451;
	ck_assert_uint_eq(replay_find(r, 0, 1, &flt), 450000);
	memset(&flt, 0, sizeof flt);
	flt.failures = true;
	ck_assert_uint_eq(replay_find(r, 0, 1, &flt), 500000);
	ck_assert_uint_eq(replay_find(r, n + 1, -1, &flt), 500000);
	ck_assert_uint_eq(replay_find(r, 500000, 1, &flt), 0);
	replay_free(r);
	free(path);
}
END_TEST

START_TEST(tampered_log_names_the_record)
{
	char *path = tpath("t.jsonl"), v[512], *text;
	struct replay *r;
	struct rp_rec rec;
	struct buf b;
	FILE *f;
	long len;
	char *p;

	write_steps(path, 30);
	f = fopen(path, "r+");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = xmalloc((size_t)len + 1);
	ck_assert_int_eq(fread(text, 1, (size_t)len, f), (size_t)len);
	text[len] = '\0';
	/* The first "fail" after record 40 (record 64, a step.result) now
	 * says "pass". */
	p = strstr(text, "{\"seq\":40,");
	ck_assert_ptr_nonnull(p);
	p = strstr(p, "\"fail\"");
	ck_assert_ptr_nonnull(p);
	memcpy(p, "\"pass\"", 6);
	rewind(f);
	fwrite(text, 1, (size_t)len, f);
	fclose(f);
	free(text);

	r = open_all(path, false);
	ck_assert_int_eq(replay_verdict(r, v, sizeof v), VERIFY_BAD);
	ck_assert_msg(strstr(v, "TAMPERED at record 64 (line 64)") != NULL,
	    "%s", v);
	ck_assert_uint_eq(replay_bad_line(r), 64);
	ck_assert_int_eq(replay_get(r, 63, &rec), 0);
	ck_assert(!(rec.flags & RP_AFTER_BAD));
	ck_assert_int_eq(replay_get(r, 64, &rec), 0);
	ck_assert(rec.flags & RP_AFTER_BAD);
	ck_assert_int_eq(replay_get(r, 80, &rec), 0);
	ck_assert(rec.flags & RP_AFTER_BAD);
	buf_init(&b);
	buf_add(&b, "", 0);
	ck_assert_int_eq(replay_detail(r, 80, &b), 0);
	ck_assert_msg(strstr(b.data, "not vouched for") != NULL, "%s", b.data);
	buf_free(&b);
	replay_free(r);
	free(path);
}
END_TEST

START_TEST(follow_waits_for_the_newline)
{
	char *path = tpath("follow.jsonl"), *copy = tpath("src.jsonl"), v[512];
	char *text, *nl;
	struct replay *r, *plain;
	char *cause = NULL;
	FILE *f;
	long len;
	size_t half;

	write_steps(copy, 3);
	f = fopen(copy, "r");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = xmalloc((size_t)len + 1);
	ck_assert_int_eq(fread(text, 1, (size_t)len, f), (size_t)len);
	text[len] = '\0';
	fclose(f);
	/* The first two lines, then half of the third. */
	nl = strchr(strchr(text, '\n') + 1, '\n') + 1;
	append(path, text, (size_t)(nl - text));
	half = (size_t)(strchr(nl, '\n') - nl) / 2;
	append(path, nl, half);

	r = open_all(path, true);
	ck_assert_uint_eq(replay_lines(r), 2);
	ck_assert_int_eq(replay_verdict(r, v, sizeof v), VERIFY_OPEN);
	plain = open_all(path, false);
	ck_assert_uint_eq(replay_lines(plain), 3);
	ck_assert_int_eq(replay_verdict(plain, v, sizeof v), VERIFY_TORN);
	replay_free(plain);

	/* The rest arrives. */
	append(path, nl + half, strlen(nl + half));
	ck_assert_int_eq(replay_index(r, 1000, &cause), 0);
	ck_assert_uint_eq(replay_lines(r), 2 + 9);
	ck_assert_int_eq(replay_verdict(r, v, sizeof v), VERIFY_INTACT);

	/* Truncated under the viewer: said, not crashed. */
	ck_assert_int_eq(truncate(path, 10), 0);
	ck_assert_int_eq(replay_index(r, 1000, &cause), -1);
	ck_assert_msg(strstr(cause, "shrank") != NULL, "%s", cause);
	free(cause);
	ck_assert_uint_eq(replay_lines(r), 11);
	replay_free(r);
	free(text);
	free(path);
	free(copy);
}
END_TEST

/* Nothing that comes out of the core could drive a terminal. */
static void
assert_inert(const char *s, size_t len, bool newlines)
{
	size_t i;
	const unsigned char *p = (const unsigned char *)s;

	for (i = 0; i < len; i++) {
		ck_assert_msg(p[i] >= 0x20 || (newlines && p[i] == '\n'),
		    "control byte 0x%02x at %zu in '%s'", p[i], i, s);
		ck_assert_msg(p[i] != 0x7f, "DEL at %zu", i);
		ck_assert_msg(!(p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f), "C1 control at %zu", i);
		ck_assert_msg(!(p[i] == 0xe2 && i + 2 < len && p[i + 1] == 0x80 &&
		    p[i + 2] >= 0xaa && p[i + 2] <= 0xae), "bidi at %zu", i);
	}
}

START_TEST(hostile_lines_are_shown_inert)
{
	char *path = tpath("hostile.jsonl");
	FILE *f = fopen(path, "w");
	struct replay *r;
	struct rp_rec rec;
	struct buf b;
	size_t i;
	char *big;

	ck_assert_ptr_nonnull(f);
	/* 1: escapes inside JSON strings, everywhere a string can be. */
	fprintf(f, "{\"seq\":1,\"ts\":\"\\u001b[2J2026\",\"session\":"
	    "\"\\u001b]0;pwned\\u0007\",\"actor\":\"\\u009b31m\",\"type\":"
	    "\"session.start\\u001b[5m\",\"step\":null,\"data\":{\"runbook\":"
	    "{\"title\":\"\\u202egnp.exe\\u001b[31m\"},\"hostname\":"
	    "\"a\\u0000b\"}}\n");
	/* 2: raw ESC and invalid UTF-8: not JSON. */
	fprintf(f, "\x1b[2J\x1b]0;title\x07 \xff\xfe \xc2\x9b""31m\n");
	/* 3: a multi-line command output full of controls. */
	fprintf(f, "{\"seq\":3,\"type\":\"run.done\",\"step\":2,\"data\":{"
	    "\"command\":\"x\\r\\u001b[1A\",\"exit\":1,\"output\":"
	    "\"ok\\n\\u001b[31mred\\u001b[0m\\n\\t\\u0008\\u007f\\n\"}}\n");
	/* 4: nesting deeper than the parser takes. */
	for (i = 0; i < 5000; i++)
		fputc('[', f);
	fputc('\n', f);
	/* 5: a record over the longest line. */
	big = xmalloc(AUDIT_MAX_LINE + 100);
	memset(big, 'a', AUDIT_MAX_LINE + 99);
	big[AUDIT_MAX_LINE + 99] = '\0';
	fprintf(f, "{\"seq\":5,\"type\":\"note\",\"data\":{\"text\":\"%s\"}}\n",
	    big);
	free(big);
	/* 6: numbers and types of the wrong kind. */
	fprintf(f, "{\"seq\":\"six\",\"type\":6,\"step\":-1,\"data\":[1,2]}\n");
	fprintf(f, "{\"seq\":7,\"type\":\"step.start\",\"step\":"
	    "99999999999999999,\"data\":{\"title\":{\"x\":1}}}\n");
	/* 8: a torn last line. */
	fprintf(f, "{\"seq\":8,\"type\":\"no");
	fclose(f);

	r = open_all(path, false);
	ck_assert_uint_eq(replay_lines(r), 8);
	buf_init(&b);
	for (i = 1; i <= 8; i++) {
		ck_assert_int_eq(replay_get(r, i, &rec), 0);
		assert_inert(rec.type, strlen(rec.type), false);
		assert_inert(rec.summary, strlen(rec.summary), false);
		assert_inert(rec.ts, strlen(rec.ts), false);
		buf_reset(&b);
		buf_add(&b, "", 0);
		ck_assert_int_eq(replay_detail(r, i, &b), 0);
		assert_inert(b.data, b.len, true);
	}
	assert_inert(replay_info(r)->title, strlen(replay_info(r)->title),
	    false);
	assert_inert(replay_info(r)->actor, strlen(replay_info(r)->actor),
	    false);
	ck_assert_int_eq(replay_get(r, 2, &rec), 0);
	ck_assert(rec.flags & RP_BAD);
	ck_assert_int_eq(replay_get(r, 4, &rec), 0);
	ck_assert(rec.flags & RP_BAD);
	ck_assert_int_eq(replay_get(r, 5, &rec), 0);
	ck_assert_str_eq(rec.type, "(overlong)");
	ck_assert_int_eq(replay_get(r, 8, &rec), 0);
	ck_assert_str_eq(rec.type, "(torn)");
	ck_assert_int_eq(replay_get(r, 3, &rec), 0);
	ck_assert(rec.flags & RP_FAIL);
	buf_reset(&b);
	buf_add(&b, "", 0);
	ck_assert_int_eq(replay_detail(r, 3, &b), 0);
	ck_assert_msg(strstr(b.data, "    | \\x1b[31mred\\x1b[0m\n") != NULL,
	    "%s", b.data);
	ck_assert_uint_eq(replay_nsteps(r), 2);	/* 2 (run.done), not 99999... */
	buf_free(&b);
	replay_free(r);
	free(path);
}
END_TEST

START_TEST(picker_lists_and_checks_logs)
{
	char *dir = tpath("logs"), *a, *b, *c, *junk;
	struct rp_dir d;
	char *cause = NULL;
	int guard = 0;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	a = xprintf("%s/20261101T100000Z-a.jsonl", dir);
	b = xprintf("%s/20261102T100000Z-b.jsonl", dir);
	c = xprintf("%s/20261103T100000Z-c.jsonl", dir);
	junk = xprintf("%s/notes.txt", dir);
	write_steps(a, 5);
	write_steps(b, 5);
	append(b, "{\"seq\":99}\n", 11);	/* after session.end */
	write_steps(c, 2);
	ck_assert_int_eq(truncate(c, 700), 0);	/* torn */
	append(junk, "x\n", 2);

	ck_assert_int_eq(rp_dir_open(&d, dir, NULL, &cause), 0);
	ck_assert_uint_eq(d.n, 3);
	ck_assert_str_eq(d.e[0].path, c);	/* newest first */
	ck_assert_str_eq(d.e[2].path, a);
	ck_assert_str_eq(d.e[2].title, "blog page cache, release 1.5.2");
	while (rp_dir_check(&d, 7) == 1)
		ck_assert_int_lt(++guard, 1000);
	ck_assert(d.e[2].checked);
	ck_assert_int_eq(d.e[2].status, VERIFY_INTACT);
	ck_assert_str_eq(d.e[2].state, "intact (unsealed)");
	ck_assert_uint_eq(d.e[2].pass, 3);	/* steps 1, 2, 5 */
	ck_assert_uint_eq(d.e[2].fail, 1);
	ck_assert_uint_eq(d.e[2].other, 1);
	ck_assert(d.e[2].ended);
	ck_assert_int_eq(d.e[1].status, VERIFY_BAD);
	ck_assert_msg(strncmp(d.e[1].state, "TAMPERED", 8) == 0, "%s",
	    d.e[1].state);
	ck_assert_int_eq(d.e[0].status, VERIFY_TORN);
	rp_dir_free(&d);
	ck_assert_int_eq(rp_dir_open(&d, "/nonexistent/dir", NULL, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "/nonexistent/dir"));
	free(cause);
	free(a);
	free(b);
	free(c);
	free(junk);
	free(dir);
}
END_TEST

START_TEST(timestamps)
{
	ck_assert(replay_parse_ts("1970-01-01T00:00:01.500Z") == 1.5);
	ck_assert(replay_parse_ts("2026-11-26T10:38:38.902Z") -
	    replay_parse_ts("2026-11-26T10:38:37.902Z") == 1.0);
	ck_assert(replay_parse_ts("2026-13-26T10:38:38Z") == 0);
	ck_assert(replay_parse_ts("yesterday") == 0);
	ck_assert(replay_parse_ts("") == 0);
	ck_assert(replay_parse_ts(NULL) == 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("replay");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, index_and_read_back);
	tcase_add_test(tc, filters_match_a_full_scan);
	tcase_add_test(tc, index_stays_bounded_on_big_logs);
	tcase_add_test(tc, tampered_log_names_the_record);
	tcase_add_test(tc, follow_waits_for_the_newline);
	tcase_add_test(tc, hostile_lines_are_shown_inert);
	tcase_add_test(tc, picker_lists_and_checks_logs);
	tcase_add_test(tc, timestamps);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
