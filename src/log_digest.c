/* log_digest.c: the one fold of an audit log; see log_digest.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log_digest.h"
#include "textesc.h"
#include "xmalloc.h"

void
log_digest_init(struct log_digest *ld, size_t max_steps, bool keep_text)
{
	memset(ld, 0, sizeof *ld);
	ld->max_steps = max_steps;
	ld->keep_text = keep_text;
}

/* Replaces a kept reference with a string member of o (or NULL). */
static void
keep(json_t **dst, json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	json_decref(*dst);
	*dst = json_is_string(v) ? json_incref(v) : NULL;
}

static void
step_clear(struct ld_step *s)
{
	json_decref(s->title);
	json_decref(s->kind);
	json_decref(s->verdict);
	json_decref(s->observed);
	json_decref(s->reason);
}

void
log_digest_done(struct log_digest *ld)
{
	size_t i;

	for (i = 0; i < ld->nsteps; i++)
		step_clear(&ld->steps[i]);
	free(ld->steps);
	json_decref(ld->title);
	json_decref(ld->owner);
	json_decref(ld->environment);
	json_decref(ld->redis_user);
	json_decref(ld->path);
	json_decref(ld->sha256);
	json_decref(ld->actor);
	json_decref(ld->host);
	json_decref(ld->session);
	json_decref(ld->first_ts);
	json_decref(ld->last_ts);
	memset(ld, 0, sizeof *ld);
}

json_t *
log_digest_parse(const struct audit_line *l)
{
	json_t *o;

	if (l->overlong)
		return NULL;
	o = json_loadb(l->text, l->len, JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The step a record is about, grown on first use; NULL when it has none. */
static struct ld_step *
step_of(struct log_digest *ld, json_t *o)
{
	json_t *v = json_object_get(o, "step");
	json_int_t n;

	if (!json_is_integer(v))
		return NULL;
	n = json_integer_value(v);
	if (n < 1 || (size_t)n > ld->max_steps)
		return NULL;
	if ((size_t)n > ld->nsteps) {
		ld->steps = xreallocarray(ld->steps, (size_t)n,
		    sizeof *ld->steps);
		memset(ld->steps + ld->nsteps, 0, ((size_t)n - ld->nsteps) *
		    sizeof *ld->steps);
		ld->nsteps = (size_t)n;
	}
	return &ld->steps[n - 1];
}

static void
take_start(struct log_digest *ld, json_t *o, json_t *d)
{
	json_t *rb = json_object_get(d, "runbook");

	ld->started = true;
	keep(&ld->title, rb, "title");
	keep(&ld->owner, rb, "owner");
	keep(&ld->environment, rb, "environment");
	keep(&ld->path, rb, "path");
	keep(&ld->sha256, rb, "sha256");
	keep(&ld->actor, o, "actor");
	keep(&ld->host, d, "hostname");
	keep(&ld->session, o, "session");
	keep(&ld->redis_user, d, "redis_user");
	ld->sealed = json_is_true(json_object_get(d, "sealed"));
}

unsigned
log_digest_feed(struct log_digest *ld, size_t line, json_t *o)
{
	json_t *d, *ts, *type;
	struct ld_step *s;
	unsigned flags;

	ld->last = REC_UNKNOWN;
	ld->touched = NULL;
	type = json_object_get(o, "type");
	flags = o == NULL ? LD_BAD : record_judge(o) |
	    (json_is_string(type) ? 0 : LD_BAD);
	if (flags & (RECORD_FAIL | LD_BAD)) {
		if (ld->first_failure == 0)
			ld->first_failure = line;
		ld->failures++;
	}
	if (!json_is_string(type))
		return flags;
	d = json_object_get(o, "data");
	ts = json_object_get(o, "ts");
	if (json_is_string(ts) && json_string_length(ts) > 0) {
		if (ld->first_ts == NULL)
			ld->first_ts = json_incref(ts);
		json_decref(ld->last_ts);
		ld->last_ts = json_incref(ts);
	}
	ld->last = record_type_of(json_string_value(type));
	ld->ended = ld->last == REC_SESSION_END;
	if (ld->last == REC_SESSION_START && !ld->started)
		take_start(ld, o, d);
	if ((s = step_of(ld, o)) == NULL)
		return flags;
	ld->touched = s;
	switch (ld->last) {
	case REC_STEP_START:
		keep(&s->title, d, "title");
		keep(&s->kind, d, "kind");
		s->attempts++;
		s->running = true;
		s->acted = false;
		if (s->first_line == 0)
			s->first_line = line;
		break;
	case REC_STEP_RESULT:
		keep(&s->verdict, d, "verdict");
		if (ld->keep_text) {
			keep(&s->observed, d, "observed");
			keep(&s->reason, d, "reason");
		}
		s->running = false;
		s->acted = false;
		if (s->first_line == 0)
			s->first_line = line;
		break;
	default:
		if (record_is_intent(json_string_value(type)))
			s->acted = true;	/* until a step.result */
		break;
	}
	return flags;
}

int
log_digest_file(struct log_digest *ld, struct verify *v, const char *path,
    char **cause)
{
	struct audit_reader *rd;
	struct audit_line l;
	json_t *o;
	int rc;

	if ((rd = audit_reader_open(path, cause)) == NULL)
		return -1;
	while ((rc = audit_reader_next(rd, &l, cause)) == 1) {
		o = log_digest_parse(&l);
		if (v != NULL)
			verify_record(v, &l, o);
		if (l.complete)
			log_digest_feed(ld, l.lineno, o);
		json_decref(o);
	}
	audit_reader_close(rd);
	if (v != NULL)
		verify_finish(v);
	return rc < 0 ? -1 : 0;
}

const struct ld_step *
log_digest_step(const struct log_digest *ld, size_t n)
{
	return n >= 1 && n <= ld->nsteps ? &ld->steps[n - 1] : NULL;
}

const char *
ld_str(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : NULL;
}

void
ld_cut(char *dst, size_t size, const char *src)
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

void
ld_escape(char *dst, size_t size, const json_t *v)
{
	char *e;

	if (!json_is_string(v)) {
		dst[0] = '\0';
		return;
	}
	e = esc_text(json_string_value(v), json_string_length(v), 0);
	ld_cut(dst, size, e);
	free(e);
}
