/* replay_dir.c: the logs of a directory, for the replay picker: each one's
 * first record (date, title, operator), then, a few lines per turn, its
 * verification and its step verdicts.  See replay.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "log_digest.h"
#include "record.h"
#include "replay.h"
#include "textesc.h"
#include "xmalloc.h"

#define MAX_ENTRIES	10000	/* logs listed by the picker */

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
		if (record_type_of(ld_str(json_object_get(o, "type"))) ==
		    REC_SESSION_START) {
			ld_escape(e->title, sizeof e->title, json_object_get(
			    json_object_get(json_object_get(o, "data"),
			    "runbook"), "title"));
			ld_escape(e->actor, sizeof e->actor,
			    json_object_get(o, "actor"));
			/* Only from a well-formed ts: digits and separators
			 * checked one by one. */
			if ((ts = ld_str(json_object_get(o, "ts"))) != NULL &&
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

/* Counts a step result's verdict. */
static void
entry_count(struct rp_entry *e, json_t *o)
{
	const char *verdict;

	if (record_type_of(ld_str(json_object_get(o, "type"))) !=
	    REC_STEP_RESULT)
		return;
	verdict = ld_str(json_object_get(json_object_get(o, "data"),
	    "verdict"));
	if (verdict != NULL && strcmp(verdict, "pass") == 0)
		e->pass++;
	else if (verdict != NULL && strcmp(verdict, "fail") == 0)
		e->fail++;
	else
		e->other++;
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
	json_t *o;
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
			/* Parsed once, for the counts and the verifier. */
			o = log_digest_parse(&l);
			entry_count(e, o);
			verify_record(&e->v, &l, o);
			json_decref(o);
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
