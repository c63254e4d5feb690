/* expect.c: see expect.h. */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "expect.h"
#include "textesc.h"
#include "xmalloc.h"

#define SHOWN_MAX 120	/* bytes of an observed value shown */

const char *
verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_PASS:
		return "pass";
	case VERDICT_DEGRADED:
		return "degraded";
	case VERDICT_FAIL:
		return "fail";
	case VERDICT_SKIPPED:
		return "skipped";
	}
	return "?";
}

static void
add(struct checks *c, enum verdict v, char *what, char *expected,
    char *observed)
{
	c->v = xreallocarray(c->v, c->n + 1, sizeof *c->v);
	c->v[c->n].what = what;
	c->v[c->n].expected = expected;
	c->v[c->n].observed = observed;
	c->v[c->n].verdict = v;
	c->n++;
	if (v == VERDICT_FAIL || (v == VERDICT_DEGRADED &&
	    c->verdict == VERDICT_PASS))
		c->verdict = v;
}

/* An untrusted value, escaped and shortened for display. */
static char *
shown(const char *s, size_t len)
{
	char *e = esc_text(s, len > SHOWN_MAX ? SHOWN_MAX : len, ESC_BACKSLASH);
	char *t;

	if (len <= SHOWN_MAX)
		return e;
	t = xprintf("%s...", e);
	free(e);
	return t;
}

static const char *
op_name(enum match_op op)
{
	static const char *const n[] = { "equals", "contains", "matches",
	    "present", "absent" };

	return n[op];
}

static bool
match_one(const struct matcher *m, const char *v, size_t len)
{
	switch (m->op) {
	case MATCH_EQUALS:
		return strlen(m->value) == len && memcmp(m->value, v, len) == 0;
	case MATCH_CONTAINS:
		return memmem(v, len, m->value, strlen(m->value)) != NULL;
	case MATCH_MATCHES:
		return regexec(&m->re, v, 0, NULL, 0) == 0;
	case MATCH_PRESENT:
	case MATCH_ABSENT:
		return true;
	}
	return false;
}

static bool
status_ok(const struct expect *e, long status)
{
	size_t i;

	if (e == NULL || e->nstatus == 0)
		return status >= 200 && status < 300;
	for (i = 0; i < e->nstatus; i++)
		if (e->status[i] == status)
			return true;
	return false;
}

static void
check_status(const struct expect *e, long status, struct checks *c)
{
	struct buf want;
	size_t i;
	bool ok = status_ok(e, status);

	buf_init(&want);
	if (e == NULL || e->nstatus == 0)
		buf_adds(&want, "2xx");
	else {
		for (i = 0; i < e->nstatus; i++)
			buf_addf(&want, "%s%d", i ? " or " : "", e->status[i]);
	}
	add(c, ok ? VERDICT_PASS : VERDICT_FAIL, xstrdup("status"),
	    buf_detach(&want), xprintf("%ld", status));
}

static void
check_time(const char *what, double ms, long max_ms, long soft_ms,
    struct checks *c)
{
	if (max_ms > 0)
		add(c, ms > max_ms ? VERDICT_FAIL : VERDICT_PASS,
		    xprintf("%s at most", what), xprintf("%ld ms", max_ms),
		    xprintf("%.1f ms", ms));
	if (soft_ms > 0)
		add(c, ms > soft_ms ? VERDICT_DEGRADED : VERDICT_PASS,
		    xprintf("%s within", what), xprintf("%ld ms", soft_ms),
		    xprintf("%.1f ms", ms));
}

static void
check_headers(const struct expect *e, const struct http_result *r,
    struct checks *c)
{
	const struct header_expect *h;
	const struct matcher *m;
	size_t i, j, k, count;
	const char *first;
	bool ok;

	for (i = 0; i < e->nheaders; i++) {
		h = &e->headers[i];
		count = 0;
		first = NULL;
		for (k = 0; k < r->nheaders; k++) {
			if (strcasecmp(r->headers[k].name, h->name) == 0 &&
			    count++ == 0)
				first = r->headers[k].value;
		}
		for (j = 0; j < h->nm; j++) {
			m = &h->m[j];
			if (m->op == MATCH_ABSENT)
				ok = count == 0;
			else if (m->op == MATCH_PRESENT)
				ok = count > 0;
			else {
				/* Any instance of a repeated header may match. */
				ok = false;
				for (k = 0; k < r->nheaders && !ok; k++) {
					if (strcasecmp(r->headers[k].name,
					    h->name) == 0)
						ok = match_one(m,
						    r->headers[k].value,
						    strlen(r->headers[k].value));
				}
			}
			add(c, ok ? VERDICT_PASS : VERDICT_FAIL,
			    xprintf("header %s %s", h->name, op_name(m->op)),
			    m->value ? esc_str(m->value, ESC_BACKSLASH) :
			    xstrdup(""), first ? shown(first, strlen(first)) :
			    xstrdup("(absent)"));
		}
	}
}

static void
check_body(const struct expect *e, const struct http_result *r,
    struct checks *c)
{
	const struct matcher *m;
	const char *body = r->body ? r->body : "";
	size_t i;
	bool ok;

	for (i = 0; i < e->nbody; i++) {
		m = &e->body[i];
		ok = match_one(m, body, r->body_len);
		if (m->op == MATCH_EQUALS && r->body_cut)
			ok = false;	/* more came than was kept */
		add(c, ok ? VERDICT_PASS : VERDICT_FAIL,
		    xprintf("body %s", op_name(m->op)),
		    esc_str(m->value, ESC_BACKSLASH), shown(body, r->body_len));
	}
}

void
expect_check(const struct expect *e, const struct http_result *r,
    struct checks *c)
{
	memset(c, 0, sizeof *c);
	c->verdict = VERDICT_PASS;
	if (!r->ok) {
		add(c, VERDICT_FAIL, xstrdup("response"), xstrdup("a response"),
		    xstrdup(r->error));
		return;
	}
	check_status(e, r->status, c);
	if (e == NULL)
		return;
	check_time("time", r->total_ms, e->max_ms, e->soft_ms, c);
	check_headers(e, r, c);
	check_body(e, r, c);
}

void
expect_check_sample(const struct expect *e, const struct sample_stats *s,
    struct checks *c)
{
	size_t i, bad = 0;
	long first_bad = 0;

	memset(c, 0, sizeof *c);
	c->verdict = VERDICT_PASS;
	add(c, s->errors ? VERDICT_FAIL : VERDICT_PASS, xstrdup("responses"),
	    xprintf("%zu", s->n), s->errors ? xprintf("%zu of %zu (first "
	    "error: %s)", s->ok, s->n, s->first_error) : xprintf("%zu", s->ok));
	for (i = 0; i < s->ntimes; i++) {
		if (!status_ok(e, s->statuses[i]) && bad++ == 0)
			first_bad = s->statuses[i];
	}
	add(c, bad ? VERDICT_FAIL : VERDICT_PASS, xstrdup("statuses"),
	    e && e->nstatus ? xstrdup("as expected") : xstrdup("2xx"),
	    bad ? xprintf("%zu unexpected (first %ld)", bad, first_bad) :
	    xstrdup("all as expected"));
	if (e == NULL || s->ok == 0)
		return;
	if (e->p95_ms > 0)
		add(c, s->p95_ms > e->p95_ms ? VERDICT_FAIL : VERDICT_PASS,
		    xstrdup("p95 at most"), xprintf("%ld ms", e->p95_ms),
		    xprintf("%.1f ms", s->p95_ms));
	check_time("slowest", s->max_ms, e->max_ms, 0, c);
	check_time("p95", s->p95_ms, 0, e->soft_ms, c);
}

void
checks_free(struct checks *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].what);
		free(c->v[i].expected);
		free(c->v[i].observed);
	}
	free(c->v);
	memset(c, 0, sizeof *c);
}
