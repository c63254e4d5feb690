/* test_audit.c: the audit writer, reader and verifier on real files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "audit_chain.h"
#include "audit_read.h"
#include "buf.h"
#include "tap.h"
#include "xmalloc.h"

static char tmpdir[64];
static struct runbook *rb;

static void
setup(void)
{
	struct diags d;
	char *path = tap_srcpath("runbooks/demo.yml");

	snprintf(tmpdir, sizeof tmpdir, "/tmp/rehearse-audit-XXXXXX");
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

static struct audit *
open_log(const char *path, const char *key, bool resume)
{
	struct audit_opts o = { .path = path, .key_file = key, .rb = rb,
	    .resume = resume, .cols = 80, .rows = 24 };
	char *cause = NULL;
	struct audit *a = audit_open(&o, &cause);

	ck_assert_msg(a != NULL, "audit_open: %s", cause ? cause : "");
	return a;
}

static struct audit *
open_fails(const char *path, const char *key, bool resume, const char *frag)
{
	struct audit_opts o = { .path = path, .key_file = key, .rb = rb,
	    .resume = resume };
	char *cause = NULL;
	struct audit *a = audit_open(&o, &cause);

	ck_assert_msg(a == NULL, "audit_open succeeded");
	ck_assert_msg(strstr(cause, frag) != NULL, "cause '%s' lacks '%s'",
	    cause, frag);
	free(cause);
	return NULL;
}

static void
write_log(const char *path, const char *key, int n)
{
	struct audit *a = open_log(path, key, false);
	int i;

	for (i = 0; i < n; i++)
		ck_assert_uint_ne(audit_append(a, "note", (unsigned)i % 5 + 1,
		    json_pack("{s:i}", "i", i)), 0);
	ck_assert_int_eq(audit_close(a), 0);
}

static struct verify *
verify(const char *path, const struct audit_key *key)
{
	static struct verify v;
	char *cause = NULL;

	verify_done(&v);
	verify_init(&v, key);
	ck_assert_msg(verify_file(&v, path, &cause) == 0, "%s", cause);
	return &v;
}

static void
assert_status(const char *path, const struct audit_key *key,
    enum verify_status st, const char *frag)
{
	struct verify *v = verify(path, key);

	ck_assert_msg(v->status == st, "status %d, want %d: %s", v->status, st,
	    v->reason ? v->reason : "intact");
	if (frag != NULL)
		ck_assert_msg(v->reason != NULL && strstr(v->reason, frag) !=
		    NULL, "reason '%s' lacks '%s'", v->reason ? v->reason : "",
		    frag);
}

/* The file's lines, for tampering. */
struct lines {
	char	*v[4096];
	size_t	 n;
};

static void
lines_read(const char *path, struct lines *l)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	ck_assert_ptr_nonnull(f);
	l->n = 0;
	while ((len = getline(&line, &cap, f)) > 0 && l->n < 4096)
		l->v[l->n++] = xstrndup(line, (size_t)len);
	free(line);
	fclose(f);
}

static void
lines_write(const char *path, struct lines *l)
{
	FILE *f = fopen(path, "w");
	size_t i;

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < l->n; i++) {
		fputs(l->v[i], f);
		free(l->v[i]);
	}
	fclose(f);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char chunk[4096];
	size_t n;

	ck_assert_ptr_nonnull(f);
	buf_init(&b);
	buf_add(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return buf_detach(&b);
}

START_TEST(round_trip_and_format)
{
	char *path = tpath("a.jsonl"), *data;
	struct verify *v;
	struct lines l;
	json_t *o, *first;
	struct stat st;
	size_t len;

	write_log(path, NULL, 5);
	v = verify(path, NULL);
	ck_assert_int_eq(v->status, VERIFY_INTACT);
	ck_assert_uint_eq(v->records, 7);	/* start, 5 notes, end */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	lines_read(path, &l);
	ck_assert_uint_eq(l.n, 7);
	first = json_loads(l.v[0], 0, NULL);
	ck_assert_ptr_nonnull(first);
	ck_assert_int_eq(json_integer_value(json_object_get(first, "seq")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(first, "type")),
	    "session.start");
	ck_assert_str_eq(json_string_value(json_object_get(first, "prev")),
	    "0000000000000000000000000000000000000000000000000000000000000000");
	ck_assert(json_is_null(json_object_get(first, "step")));
	o = json_object_get(json_object_get(first, "data"), "runbook");
	ck_assert_str_eq(json_string_value(json_object_get(o, "sha256")),
	    rb->sha256);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    json_object_get(first, "data"), "terminal"), "cols")), 80);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(first,
	    "actor")), "@"));
	json_decref(first);
	o = json_loads(l.v[6], 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(o, "type")),
	    "session.end");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o,
	    "data"), "records")), 7);
	json_decref(o);
	lines_write(path, &l);
	/* Each record's prev is the SHA-256 of the line before it. */
	data = slurp(path, &len);
	ck_assert_uint_eq(data[len - 1], '\n');
	free(data);
	free(path);
}
END_TEST

START_TEST(default_place_and_name)
{
	char *state = tpath("state"), *cause = NULL, *dir;
	struct audit_opts o = { .rb = rb };
	struct audit *a, *b;
	struct stat st;
	regex_t re;
	const char *base;

	setenv("XDG_STATE_HOME", state, 1);
	ck_assert_ptr_nonnull(a = audit_open(&o, &cause));
	ck_assert_ptr_nonnull(b = audit_open(&o, &cause));	/* same second */
	ck_assert_str_ne(audit_path(a), audit_path(b));
	dir = xprintf("%s/rehearse", state);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	base = strrchr(audit_path(a), '/') + 1;
	ck_assert_int_eq(regcomp(&re, "^[0-9]{8}T[0-9]{6}Z-blog-page-cache-"
	    "release-1-5-2\\.jsonl$", REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, base, 0, NULL, 0) == 0, "name %s", base);
	regfree(&re);
	ck_assert_int_eq(audit_close(a), 0);
	ck_assert_int_eq(audit_close(b), 0);
	unsetenv("XDG_STATE_HOME");
	free(dir);
	free(state);
}
END_TEST

START_TEST(slugs)
{
	char *s = audit_slug("Blog page cache, release 1.5.2!");

	ck_assert_str_eq(s, "blog-page-cache-release-1-5-2");
	free(s);
	s = audit_slug("\xe2\x80\xae../../etc");
	ck_assert_str_eq(s, "etc");
	free(s);
	s = audit_slug("///");
	ck_assert_str_eq(s, "runbook");
	free(s);
	s = audit_slug("abcdefghij abcdefghij abcdefghij abcdefghi x y");
	ck_assert_uint_le(strlen(s), 40);
	ck_assert_str_eq(s, "abcdefghij-abcdefghij-abcdefghij-abcdefg");
	free(s);
}
END_TEST

START_TEST(records_are_safe_to_cat)
{
	char *path = tpath("esc.jsonl"), *data;
	const unsigned char *p;
	struct audit *a = open_log(path, NULL, false);
	const char *evil = "a\x1b]0;pwn\x07 b\xc2\x9b" "c \xe2\x80\xae" "d \x7f e";
	const char key[] = "anp:page:\xff\xfe\n*";
	struct lines l;
	json_t *o, *d;
	size_t len, i;

	audit_append(a, "note", 0, json_pack("{s:s, s:o, s:o}", "text", evil,
	    "key", audit_json_bytes(key, sizeof key - 1),
	    "nul", audit_json_bytes("a\0b", 3)));
	audit_close(a);
	data = slurp(path, &len);
	p = (const unsigned char *)data;
	for (i = 0; i < len; i++) {
		ck_assert_msg(p[i] >= 0x20 || p[i] == '\n', "C0 at %zu", i);
		ck_assert_msg(p[i] != 0x7f, "DEL at %zu", i);
		ck_assert_msg(!(p[i] == 0xc2 && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f), "C1 at %zu", i);
		ck_assert_msg(!(p[i] == 0xe2 && p[i + 1] == 0x80 &&
		    p[i + 2] == 0xae), "bidi at %zu", i);
	}
	free(data);
	/* The text decodes back exactly; the binary key is kept escaped. */
	lines_read(path, &l);
	o = json_loads(l.v[1], JSON_ALLOW_NUL, NULL);
	d = json_object_get(o, "data");
	ck_assert_str_eq(json_string_value(json_object_get(d, "text")), evil);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d,
	    "key"), "bytes")), "anp:page:\\xff\\xfe\n*");
	json_decref(o);
	lines_write(path, &l);
	ck_assert_int_eq(verify(path, NULL)->status, VERIFY_INTACT);
	free(path);
}
END_TEST

START_TEST(secrets_never_reach_the_file)
{
	char *path = tpath("sec.jsonl"), *data;
	struct audit *a;
	size_t len;

	setenv("STAGE_SESSION", "sid=0123456789abcdef", 1);
	a = open_log(path, NULL, false);
	audit_add_secret(a, "hunter2-extra");
	audit_append(a, "http.result", 5, json_pack(
	    "{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s}",
	    "echo", "cookie was sid=0123456789abcdef, ok",
	    "headers", "Set-Cookie", "sid=new-session-value",
	    "Cookie", "anything", "X-Cache", "HIT",
	    "password", "p", "api_token", "tkn",
	    "out", "login with hunter2-extra done",
	    "cookie_env", "STAGE_SESSION"));
	audit_close(a);
	data = slurp(path, &len);
	ck_assert_ptr_null(strstr(data, "0123456789abcdef"));
	ck_assert_ptr_null(strstr(data, "new-session-value"));
	ck_assert_ptr_null(strstr(data, "hunter2-extra"));
	ck_assert_ptr_null(strstr(data, "\"tkn\""));
	ck_assert_ptr_nonnull(strstr(data, "cookie was [redacted], ok"));
	ck_assert_ptr_nonnull(strstr(data, "\"X-Cache\":\"HIT\""));
	ck_assert_ptr_nonnull(strstr(data, "\"cookie_env\":\"STAGE_SESSION\""));
	free(data);
	unsetenv("STAGE_SESSION");
	free(path);
}
END_TEST

START_TEST(one_writer_per_log)
{
	char *path = tpath("lock.jsonl"), *link;
	struct audit *a = open_log(path, NULL, false);

	open_fails(path, NULL, true, "in use by another rehearse session");
	audit_close(a);
	/* A finished log is not overwritten by a new session. */
	open_fails(path, NULL, false, "already holds records");
	link = tpath("link.jsonl");
	ck_assert_int_eq(symlink(path, link), 0);
	open_fails(link, NULL, true, "symbolic link");
	free(link);
	free(path);
}
END_TEST

START_TEST(removed_file_refuses)
{
	char *path = tpath("gone.jsonl");
	struct audit *a = open_log(path, NULL, false);

	ck_assert_uint_ne(audit_append(a, "note", 0, NULL), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_uint_eq(audit_append(a, "note", 0, NULL), 0);
	ck_assert(audit_refused(a));
	ck_assert_ptr_nonnull(strstr(audit_refusal(a), "removed"));
	ck_assert_uint_eq(audit_intent(a, "purge.intent", 1, NULL), 0);
	ck_assert_int_eq(audit_close(a), -1);
	free(path);
}
END_TEST

START_TEST(full_file_refuses_and_keeps_what_was_written)
{
	/* RLIMIT_FSIZE makes the kernel refuse writes past 3000 bytes: a
	 * real short write or EFBIG, as on a full disk.  In a child, so that
	 * the limit dies with it. */
	char *path = tpath("full.jsonl");
	struct rlimit rl = { 3000, 3000 };
	struct audit *a;
	struct verify *v;
	uint64_t seq, last = 0;
	int i, fds[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		signal(SIGXFSZ, SIG_IGN);
		a = open_log(path, NULL, false);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(1);
		for (i = 0; i < 100; i++) {
			seq = audit_append(a, "note", 1, json_pack("{s:s}",
			    "text", "some words to fill the file up"));
			if (seq == 0)
				break;
			last = seq;
		}
		/* Refused for good: nothing more, not even the end. */
		if (i == 100 || !audit_refused(a) ||
		    audit_refusal(a) == NULL ||
		    audit_intent(a, "run.intent", 1, NULL) != 0 ||
		    audit_close(a) != -1)
			_exit(2);
		if (write(fds[1], &last, sizeof last) != sizeof last)
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &last, sizeof last), sizeof last);
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
	v = verify(path, NULL);
	ck_assert_msg(v->status == VERIFY_TORN || v->status == VERIFY_OPEN,
	    "status %d %s", v->status, v->reason);
	ck_assert_uint_eq(v->last_seq, last);	/* everything acknowledged */
	free(path);
}
END_TEST

START_TEST(resume_refuses_a_tampered_log)
{
	char *path = tpath("bad.jsonl"), *p;
	struct lines l;

	write_log(path, NULL, 3);
	lines_read(path, &l);
	p = strstr(l.v[2], "\"i\":1");
	ck_assert_ptr_nonnull(p);
	p[4] = '5';
	lines_write(path, &l);
	open_fails(path, NULL, true, "cannot resume: record 3 (line 3) was "
	    "edited");
	free(path);
}
END_TEST

START_TEST(resume_recovers_and_marks_unknown_outcomes)
{
	char *path = tpath("resume.jsonl");
	struct verify *v;
	struct audit *a;
	struct lines l;
	json_t *o, *d;
	uint64_t intent;
	pid_t pid;
	int fd, status;

	/* A writer that crashes after an intent, in the middle of a record;
	 * its exit releases the lock, as a kill -9 would. */
	if ((pid = fork()) == 0) {
		a = open_log(path, NULL, false);
		audit_append(a, "note", 1, NULL);
		audit_intent(a, "purge.intent", 6, json_pack("{s:s}",
		    "pattern", "anp:page:/blog/*"));
		fd = open(path, O_WRONLY | O_APPEND);
		if (write(fd, "{\"seq\":4,\"ts", 12) != 12)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
	v = verify(path, NULL);
	ck_assert_int_eq(v->status, VERIFY_TORN);
	ck_assert_uint_eq(v->nintents, 1);
	intent = v->intents[0].seq;
	ck_assert_uint_eq(intent, 3);

	a = open_log(path, NULL, true);
	ck_assert_msg(audit_append(a, "note", 7, NULL) != 0, "refused: %s",
	    audit_refusal(a));
	ck_assert_int_eq(audit_close(a), 0);
	v = verify(path, NULL);
	ck_assert_msg(v->status == VERIFY_INTACT, "%s", v->reason);
	ck_assert_uint_eq(v->recovered, 1);
	ck_assert_uint_eq(v->resumes, 1);
	ck_assert_uint_eq(v->unknown, 1);
	ck_assert_uint_eq(v->nintents, 0);

	/* The torn line is kept as it was, then the resume accounts for it,
	 * then the intent is marked as outcome unknown. */
	lines_read(path, &l);
	ck_assert_str_eq(l.v[3], "{\"seq\":4,\"ts\n");
	o = json_loads(l.v[4], 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(o, "type")),
	    "session.resume");
	d = json_object_get(o, "data");
	ck_assert_int_eq(json_integer_value(json_object_get(d, "torn_bytes")),
	    12);
	ck_assert_str_eq(json_string_value(json_object_get(d, "previous")),
	    "torn");
	json_decref(o);
	o = json_loads(l.v[5], 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(o, "type")),
	    "intent.unknown");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o,
	    "data"), "intent")), 3);
	json_decref(o);
	lines_write(path, &l);

	/* A finished log can be continued again. */
	a = open_log(path, NULL, true);
	ck_assert(!audit_refused(a));
	ck_assert_int_eq(audit_close(a), 0);
	v = verify(path, NULL);
	ck_assert_int_eq(v->status, VERIFY_INTACT);
	ck_assert_uint_eq(v->resumes, 2);
	free(path);
}
END_TEST

START_TEST(sealed_logs_need_the_key)
{
	char *path = tpath("sealed.jsonl"), *key = tpath("key"),
	    *other = tpath("other"), *cause = NULL, *body;
	struct audit_key k, k2;
	struct lines l;
	json_t *o;
	char hash[AUDIT_HEX], prev[AUDIT_HEX];
	size_t i, blen;
	FILE *f;

	f = fopen(key, "w");
	fputs("correct horse battery staple\n", f);
	fclose(f);
	chmod(key, 0600);
	f = fopen(other, "w");
	fputs("another key of enough length\n", f);
	fclose(f);
	chmod(other, 0600);
	ck_assert_int_eq(audit_key_load(&k, key, &cause), 0);
	ck_assert_int_eq(audit_key_load(&k2, other, &cause), 0);
	write_log(path, key, 3);
	assert_status(path, &k, VERIFY_INTACT, NULL);
	assert_status(path, NULL, VERIFY_NEED_KEY, "needs the key");
	assert_status(path, &k2, VERIFY_NEED_KEY, "another key");
	/* Someone without the key edits a record and rebuilds the chain
	 * with plain SHA-256, as they could for an unsealed log. */
	lines_read(path, &l);
	o = json_loads(l.v[2], 0, NULL);
	json_object_set_new(json_object_get(o, "data"), "i", json_integer(99));
	for (i = 2; i < l.n; i++) {
		if (i > 2)
			o = json_loads(l.v[i], 0, NULL);
		json_object_del(o, "hash");
		if (i > 2)
			json_object_set_new(o, "prev", json_string(prev));
		body = audit_json_encode(o);
		audit_hash(NULL, body, strlen(body), hash);
		free(l.v[i]);
		blen = strlen(body);
		body[blen - 1] = '\0';
		l.v[i] = xprintf("%s,\"hash\":\"%s\"}\n", body, hash);
		audit_hash(NULL, l.v[i], strlen(l.v[i]) - 1, prev);
		free(body);
		json_decref(o);
	}
	lines_write(path, &l);
	assert_status(path, &k, VERIFY_BAD, "edited");
	/* A wrong-permission key file is refused. */
	chmod(key, 0644);
	ck_assert_int_eq(audit_key_load(&k, key, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "chmod 600"));
	free(cause);
	free(path);
	free(key);
	free(other);
}
END_TEST

/* Tampering: each way of changing a finished log is named. */
static char *
tamper_log(void)
{
	char *path = tpath("t.jsonl");

	unlink(path);
	write_log(path, NULL, 6);	/* 8 records */
	return path;
}

START_TEST(tamper_edit)
{
	char *path = tamper_log(), *p;
	struct lines l;

	lines_read(path, &l);
	p = strstr(l.v[3], "\"i\":2");
	ck_assert_ptr_nonnull(p);
	p[4] = '7';
	lines_write(path, &l);
	assert_status(path, NULL, VERIFY_BAD, "record 4 (line 4) was edited");
	free(path);
}
END_TEST

START_TEST(tamper_delete)
{
	char *path = tamper_log();
	struct lines l;

	lines_read(path, &l);
	free(l.v[4]);
	memmove(&l.v[4], &l.v[5], (l.n - 5) * sizeof l.v[0]);
	l.n--;
	lines_write(path, &l);
	assert_status(path, NULL, VERIFY_BAD, "record 5 is missing");
	free(path);
}
END_TEST

START_TEST(tamper_reorder)
{
	char *path = tamper_log(), *t;
	struct lines l;

	lines_read(path, &l);
	t = l.v[3];
	l.v[3] = l.v[4];
	l.v[4] = t;
	lines_write(path, &l);
	assert_status(path, NULL, VERIFY_BAD, "missing");
	lines_read(path, &l);
	t = l.v[3];
	l.v[3] = l.v[4];
	l.v[4] = t;
	/* A copy of an earlier record inserted later. */
	l.v[l.n] = xstrdup(l.v[2]);
	t = l.v[l.n - 1];
	l.v[l.n - 1] = l.v[l.n];
	l.v[l.n] = t;
	l.n++;
	lines_write(path, &l);
	assert_status(path, NULL, VERIFY_BAD, "reordered or inserted");
	free(path);
}
END_TEST

START_TEST(tamper_insert_foreign)
{
	char *path = tamper_log(), *other = tpath("o.jsonl");
	struct lines l, m;

	write_log(other, NULL, 6);
	lines_read(path, &l);
	lines_read(other, &m);
	free(l.v[4]);
	l.v[4] = m.v[4];	/* same seq, another session */
	m.v[4] = xstrdup("");
	lines_write(path, &l);
	lines_write(other, &m);
	assert_status(path, NULL, VERIFY_BAD, "another session");
	free(other);
	free(path);
}
END_TEST

START_TEST(tamper_torn_and_unended)
{
	char *path = tamper_log();
	struct lines l;
	size_t n;

	lines_read(path, &l);
	n = strlen(l.v[l.n - 1]);
	l.v[l.n - 1][n / 2] = '\0';	/* cut the last line in half */
	lines_write(path, &l);
	assert_status(path, NULL, VERIFY_TORN, "torn tail: line 8");
	lines_read(path, &l);
	free(l.v[--l.n]);
	lines_write(path, &l);
	assert_status(path, NULL, VERIFY_OPEN, "never ended");
	free(path);
}
END_TEST

START_TEST(clock_stepping_back_is_a_warning)
{
	char *path = tamper_log(), *body;
	struct lines l;
	json_t *o;
	char hash[AUDIT_HEX], prev[AUDIT_HEX];
	size_t i;
	struct verify *v;

	/* Rewrite the chain honestly with one ts earlier than the last. */
	lines_read(path, &l);
	for (i = 0; i < l.n; i++) {
		o = json_loads(l.v[i], 0, NULL);
		json_object_del(o, "hash");
		if (i == 4)
			json_object_set_new(o, "ts",
			    json_string("2000-01-01T00:00:00.000Z"));
		if (i > 0)
			json_object_set_new(o, "prev", json_string(prev));
		body = audit_json_encode(o);
		audit_hash(NULL, body, strlen(body), hash);
		body[strlen(body) - 1] = '\0';
		free(l.v[i]);
		l.v[i] = xprintf("%s,\"hash\":\"%s\"}\n", body, hash);
		audit_hash(NULL, l.v[i], strlen(l.v[i]) - 1, prev);
		free(body);
		json_decref(o);
	}
	lines_write(path, &l);
	v = verify(path, NULL);
	ck_assert_int_eq(v->status, VERIFY_INTACT);
	ck_assert_uint_eq(v->clock_back, 1);
	ck_assert_uint_eq(v->clock_back_line, 5);
	free(path);
}
END_TEST

START_TEST(oversized_record_is_kept_as_a_stub)
{
	char *path = tpath("big.jsonl");
	struct audit *a = open_log(path, NULL, false);
	char *big = xmalloc(AUDIT_MAX_LINE + 10);
	struct lines l;
	json_t *o;

	memset(big, 'x', AUDIT_MAX_LINE + 9);
	big[AUDIT_MAX_LINE + 9] = '\0';
	ck_assert_uint_ne(audit_append(a, "run.done", 2, json_pack("{s:s, s:i}",
	    "output", big, "intent", 1)), 0);
	audit_close(a);
	free(big);
	lines_read(path, &l);
	o = json_loads(l.v[1], 0, NULL);
	ck_assert(json_is_true(json_object_get(json_object_get(o, "data"),
	    "truncated")));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o,
	    "data"), "intent")), 1);
	json_decref(o);
	lines_write(path, &l);
	ck_assert_int_eq(verify(path, NULL)->status, VERIFY_INTACT);
	free(path);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("audit");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, round_trip_and_format);
	tcase_add_test(tc, default_place_and_name);
	tcase_add_test(tc, slugs);
	tcase_add_test(tc, records_are_safe_to_cat);
	tcase_add_test(tc, secrets_never_reach_the_file);
	tcase_add_test(tc, one_writer_per_log);
	tcase_add_test(tc, removed_file_refuses);
	tcase_add_test(tc, full_file_refuses_and_keeps_what_was_written);
	tcase_add_test(tc, resume_refuses_a_tampered_log);
	tcase_add_test(tc, resume_recovers_and_marks_unknown_outcomes);
	tcase_add_test(tc, sealed_logs_need_the_key);
	tcase_add_test(tc, tamper_edit);
	tcase_add_test(tc, tamper_delete);
	tcase_add_test(tc, tamper_reorder);
	tcase_add_test(tc, tamper_insert_foreign);
	tcase_add_test(tc, tamper_torn_and_unended);
	tcase_add_test(tc, clock_stepping_back_is_a_warning);
	tcase_add_test(tc, oversized_record_is_kept_as_a_stub);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
