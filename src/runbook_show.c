/* runbook_show.c: see runbook_show.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "runbook_show.h"
#include "textesc.h"
#include "xmalloc.h"

/* Prints label and the escaped value when there is one. */
static void
line(FILE *f, const char *label, const char *value)
{
	char *e;

	if (value == NULL)
		return;
	e = esc_str(value, 0);
	fprintf(f, "  %-12s %s\n", label, e);
	free(e);
}

static const char *
plural(size_t n)
{
	return n == 1 ? "" : "s";
}

void
runbook_print_counts(const struct runbook *rb, FILE *f)
{
	char *t = esc_str(rb->title, 0);

	fprintf(f, "\"%s\", %zu step%s, %zu route%s, %zu rollback%s", t,
	    rb->nsteps, plural(rb->nsteps), rb->nroutes, plural(rb->nroutes),
	    rb->nrollbacks, plural(rb->nrollbacks));
	free(t);
}

void
runbook_cmd_extras(struct buf *b, const struct rb_cmd *c)
{
	size_t i;

	for (i = 0; i < c->npass_env; i++)
		buf_addf(b, "%s$%s", i == 0 ? " (sees " : ", ", c->pass_env[i]);
	if (c->npass_env > 0)
		buf_adds(b, ")");
	if (c->keep_background)
		buf_adds(b, " (keeps what it leaves running)");
}

void
runbook_print_summary(const struct runbook *rb, FILE *f)
{
	const struct rb_route *r;
	const struct rb_rollback *rl;
	const struct rb_step *s;
	char *e, *d, *r_text;
	size_t i, j;

	line(f, "runbook", rb->title);
	line(f, "owner", rb->owner);
	line(f, "environment", rb->environment);
	line(f, "summary", rb->summary);
	line(f, "file", rb->path);
	line(f, "sha256", rb->sha256);
	if (rb->has_redis) {
		line(f, "redis", rb->redis.url);
		if (rb->redis.user != NULL)
			line(f, "user", rb->redis.user);
		if (rb->redis.password_env != NULL)
			fprintf(f, "  %-12s from $%s\n", "password",
			    rb->redis.password_env);
		if (rb->redis.tls.on)
			fprintf(f, "  %-12s %s\n", "tls", rb->redis.tls.verify ?
			    "on, certificate checked" :
			    "on, CERTIFICATE NOT CHECKED");
		if (rb->redis.sentinel_user != NULL)
			line(f, "sentinel user", rb->redis.sentinel_user);
		if (rb->redis.sentinel_password_env != NULL)
			fprintf(f, "  %-12s from $%s\n", "sentinel pw",
			    rb->redis.sentinel_password_env);
	}
	if (rb->has_http)
		line(f, "http", rb->http.base_url);
	for (i = 0; i < rb->http.nprofiles; i++)
		line(f, i == 0 ? "profiles" : "", rb->http.profiles[i].name);
	if (rb->nroutes > 0)
		fprintf(f, "\nroutes\n");
	for (i = 0; i < rb->nroutes; i++) {
		r = &rb->routes[i];
		e = esc_str(r->name, 0);
		d = esc_str(r->path ? r->path : r->url ? r->url : "(keys only)",
		    0);
		fprintf(f, "  %-20s %s %s\n", e, r->head ? "HEAD" : "GET", d);
		free(e);
		free(d);
		for (j = 0; j < r->nkeys; j++) {
			e = esc_str(r->keys[j], ESC_BACKSLASH);
			fprintf(f, "  %-20s keys %s (at most %ld)\n", "", e,
			    r->max_keys);
			free(e);
		}
	}
	if (rb->nrollbacks > 0)
		fprintf(f, "\nrollback\n");
	for (i = 0; i < rb->nrollbacks; i++) {
		rl = &rb->rollbacks[i];
		struct buf x;

		e = esc_str(rl->name, 0);
		d = esc_str(rl->run.text, 0);
		fprintf(f, "  %-20s run   %s\n", e, d);
		free(d);
		buf_init(&x);
		buf_add(&x, "", 0);
		runbook_cmd_extras(&x, &rl->run);
		if (x.len > 0) {
			d = esc_str(x.data + 1, 0);
			fprintf(f, "  %-20s       %s\n", "", d);
			free(d);
		}
		buf_free(&x);
		if (rl->has_check) {
			d = esc_str(rl->check.text, 0);
			fprintf(f, "  %-20s check %s%s\n", "", d,
			    rl->check_safe ? " (safe)" : "");
			free(d);
		}
		free(e);
	}
	fprintf(f, "\nsteps\n");
	for (i = 0; i < rb->nsteps; i++) {
		s = &rb->steps[i];
		e = esc_str(s->title, 0);
		d = step_describe(rb, s);
		r_text = esc_str(d, 0);
		fprintf(f, "  %2zu. %-32s %s\n", i + 1, e, r_text);
		free(r_text);
		free(e);
		free(d);
	}
}
