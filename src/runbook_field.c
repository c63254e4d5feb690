/* runbook_field.c: the loader's helpers for one field (see
 * runbook_load.h): texts, numbers, booleans, names, headers, matchers,
 * expectations and commands. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmdline.h"
#include "runbook_load.h"
#include "suggest.h"
#include "textesc.h"
#include "xmalloc.h"

/* "ctx: field" for messages; valid until four more calls. */
const char *
rbl_at(struct rb_loader *L, const char *field)
{
	char *p = L->paths[L->ring++ & 3];

	if (L->ctx[0] != '\0' && field[0] != '\0')
		snprintf(p, sizeof L->paths[0], "%s: %s", L->ctx, field);
	else if (L->ctx[0] != '\0')
		snprintf(p, sizeof L->paths[0], "%s", L->ctx);
	else
		snprintf(p, sizeof L->paths[0], "%s", field);
	return p;
}

static void
rbl_verr(struct rb_loader *L, enum diag_level lvl, const struct ynode *at,
    const char *fmt, va_list ap)
{
	char *msg;

	xvasprintf(&msg, fmt, ap);
	diag_add(L->d, lvl, at ? at->line : 0, at ? at->col : 0, "%s", msg);
	free(msg);
}

void
rbl_err(struct rb_loader *L, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rbl_verr(L, DIAG_ERROR, at, fmt, ap);
	va_end(ap);
}

void
rbl_warn(struct rb_loader *L, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rbl_verr(L, DIAG_WARNING, at, fmt, ap);
	va_end(ap);
}

/* A scalar's text made safe for a message, shortened; caller frees. */
char *
rbl_shown(const struct ynode *n)
{
	size_t len = n->len > 60 ? 60 : n->len;
	char *s = esc_text(n->str, len, ESC_BACKSLASH), *t;

	if (len == n->len)
		return s;
	t = xprintf("%s...", s);
	free(s);
	return t;
}

bool
rbl_want_map(struct rb_loader *L, const struct ynode *n, const char *field)
{
	if (n->type == YN_MAP)
		return true;
	rbl_err(L, n, "%s: expected a mapping, found %s", rbl_at(L, field),
	    ynode_describe(n));
	return false;
}

/* Reports keys of map that are not in allowed, with a hint. */
void
rbl_check_keys(struct rb_loader *L, const struct ynode *map, const char *field,
    const char *const *allowed)
{
	const struct ynode *k;
	const char *hint;
	char *s;
	size_t i, j;

	for (i = 0; i < map->n; i++) {
		k = map->pairs[i].key;
		for (j = 0; allowed[j] != NULL; j++) {
			if (strlen(allowed[j]) == k->len &&
			    memcmp(allowed[j], k->str, k->len) == 0)
				break;
		}
		if (allowed[j] != NULL)
			continue;
		s = rbl_shown(k);
		hint = strlen(k->str) == k->len ? suggest(k->str, allowed) :
		    NULL;
		field = rbl_at(L, field);
		if (hint != NULL)
			rbl_err(L, k, "%s%sunknown key '%s' (did you mean '%s'?)",
			    field, *field ? ": " : "", s, hint);
		else
			rbl_err(L, k, "%s%sunknown key '%s'", field,
			    *field ? ": " : "", s);
		free(s);
	}
}

/* Text of a scalar; NULL (after an error) for other nodes, empty values and
 * values holding a NUL. */
char *
rbl_text(struct rb_loader *L, const struct ynode *n, const char *field)
{
	if (n->type != YN_SCALAR) {
		rbl_err(L, n, "%s: expected text, found %s", rbl_at(L, field),
		    ynode_describe(n));
		return NULL;
	}
	if (ynode_is_null(n) || n->len == 0) {
		rbl_err(L, n, "%s: is empty", rbl_at(L, field));
		return NULL;
	}
	if (memchr(n->str, '\0', n->len) != NULL) {
		rbl_err(L, n, "%s: contains a NUL character", rbl_at(L, field));
		return NULL;
	}
	return xstrdup(n->str);
}

/* Text of map[key]; NULL when absent (an error if required). */
char *
rbl_field_text(struct rb_loader *L, const struct ynode *map, const char *key,
    bool required)
{
	const struct ynode *n = ymap_get(map, key);

	if (n == NULL) {
		if (required)
			rbl_err(L, map, "%s is missing", rbl_at(L, key));
		return NULL;
	}
	return rbl_text(L, n, key);
}

static bool
get_long(struct rb_loader *L, const struct ynode *n, const char *field,
    long min, long max, long *out)
{
	char *end;
	long v;

	if (n->type != YN_SCALAR || !n->plain || ynode_is_null(n)) {
		rbl_err(L, n, "%s: expected an integer, found %s", rbl_at(L, field),
		    ynode_describe(n));
		return false;
	}
	errno = 0;
	v = strtol(n->str, &end, 10);
	if (end == n->str || *end != '\0' || errno != 0 ||
	    !(isdigit((unsigned char)n->str[0]) || n->str[0] == '-')) {
		char *s = rbl_shown(n);
		rbl_err(L, n, "%s: expected an integer, found '%s'", rbl_at(L, field), s);
		free(s);
		return false;
	}
	if (v < min || v > max) {
		rbl_err(L, n, "%s: must be from %ld to %ld, not %ld", rbl_at(L, field),
		    min, max, v);
		return false;
	}
	*out = v;
	return true;
}

void
rbl_field_long(struct rb_loader *L, const struct ynode *map, const char *key,
    long min, long max, long dflt, long *out)
{
	const struct ynode *n = ymap_get(map, key);

	*out = dflt;
	if (n != NULL)
		get_long(L, n, key, min, max, out);
}

void
rbl_field_double(struct rb_loader *L, const struct ynode *map, const char *key,
    double min, double max, double dflt, double *out)
{
	const struct ynode *n = ymap_get(map, key);
	char *end;
	double v;

	*out = dflt;
	if (n == NULL)
		return;
	if (n->type != YN_SCALAR || !n->plain || ynode_is_null(n)) {
		rbl_err(L, n, "%s: expected a number, found %s", rbl_at(L, key),
		    ynode_describe(n));
		return;
	}
	errno = 0;
	v = strtod(n->str, &end);
	if (end == n->str || *end != '\0' || errno != 0 || v != v ||
	    !(isdigit((unsigned char)n->str[0]) || n->str[0] == '-' ||
	    n->str[0] == '.')) {
		char *s = rbl_shown(n);
		rbl_err(L, n, "%s: expected a number, found '%s'", rbl_at(L, key), s);
		free(s);
		return;
	}
	if (v < min || v > max) {
		rbl_err(L, n, "%s: must be from %g to %g, not %g", rbl_at(L, key), min,
		    max, v);
		return;
	}
	*out = v;
}

static bool
get_bool(struct rb_loader *L, const struct ynode *n, const char *field, bool *out)
{
	static const char *const t[] = { "true", "True", "TRUE", NULL };
	static const char *const f[] = { "false", "False", "FALSE", NULL };
	static const char *const ambiguous[] = { "yes", "Yes", "YES", "no",
	    "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n",
	    "N", NULL };
	size_t i;

	if (n->type == YN_SCALAR && n->plain) {
		for (i = 0; t[i] != NULL; i++)
			if (strcmp(n->str, t[i]) == 0)
				return *out = true;
		for (i = 0; f[i] != NULL; i++)
			if (strcmp(n->str, f[i]) == 0) {
				*out = false;
				return true;
			}
		for (i = 0; ambiguous[i] != NULL; i++)
			if (strcmp(n->str, ambiguous[i]) == 0) {
				rbl_err(L, n, "%s: '%s' is ambiguous in YAML; "
				    "write true or false", rbl_at(L, field),
				    n->str);
				return false;
			}
	}
	if (n->type == YN_SCALAR && !ynode_is_null(n)) {
		char *s = rbl_shown(n);
		rbl_err(L, n, "%s: expected true or false, found '%s'",
		    rbl_at(L, field), s);
		free(s);
	} else
		rbl_err(L, n, "%s: expected true or false, found %s", rbl_at(L, field),
		    ynode_describe(n));
	return false;
}

void
rbl_field_bool(struct rb_loader *L, const struct ynode *map, const char *key,
    bool dflt, bool *out)
{
	const struct ynode *n = ymap_get(map, key);

	*out = dflt;
	if (n != NULL && !get_bool(L, n, key, out))
		*out = dflt;
}

/* Names of routes, rollbacks, profiles: short and free of controls. */
bool
rbl_check_name(struct rb_loader *L, const struct ynode *n, const char *field,
    const char *name)
{
	size_t len = strlen(name);

	if (len > RB_MAX_NAME) {
		rbl_err(L, n, "%s: longer than %d characters", rbl_at(L, field),
		    RB_MAX_NAME);
		return false;
	}
	if (!esc_is_clean(name, len, 0) || isspace((unsigned char)name[0]) ||
	    isspace((unsigned char)name[len - 1])) {
		rbl_err(L, n, "%s: names cannot hold control characters or start "
		    "or end with a space", rbl_at(L, field));
		return false;
	}
	return true;
}

bool
rbl_env_name_ok(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (s++; *s != '\0'; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

char *
rbl_field_env(struct rb_loader *L, const struct ynode *map, const char *key)
{
	char *v = rbl_field_text(L, map, key, false);

	if (v != NULL && !rbl_env_name_ok(v)) {
		char *s = rbl_shown(ymap_get(map, key));
		rbl_err(L, ymap_get(map, key), "%s: '%s' is not an environment "
		    "variable name (letters, digits and '_')", rbl_at(L, key), s);
		free(s);
		free(v);
		return NULL;
	}
	return v;
}

static bool
header_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) &&
		    strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return false;
	}
	return true;
}

/* A mapping of header name -> value (http.headers, profile headers). */
void
rbl_load_headers(struct rb_loader *L, const struct ynode *n, const char *field,
    struct rb_header **out, size_t *nout)
{
	const struct ynode *k, *v;
	char *s, *val;
	size_t i, j;

	*out = NULL;
	*nout = 0;
	if (!rbl_want_map(L, n, field))
		return;
	*out = xcalloc(n->n, sizeof **out);
	for (i = 0; i < n->n; i++) {
		k = n->pairs[i].key;
		v = n->pairs[i].value;
		if (!header_name_ok(k->str) || strlen(k->str) != k->len) {
			s = rbl_shown(k);
			rbl_err(L, k, "%s: '%s' is not a valid header name",
			    rbl_at(L, field), s);
			free(s);
			continue;
		}
		for (j = 0; j < *nout; j++) {
			if (strcasecmp((*out)[j].name, k->str) == 0)
				rbl_err(L, k, "%s: header '%s' is given twice",
				    rbl_at(L, field), k->str);
		}
		if ((val = rbl_text(L, v, field)) == NULL)
			continue;
		if (strpbrk(val, "\r\n") != NULL) {
			rbl_err(L, v, "%s: header '%s' holds a line break",
			    rbl_at(L, field), k->str);
			free(val);
			continue;
		}
		(*out)[*nout].name = xstrdup(k->str);
		(*out)[(*nout)++].value = val;
	}
}

/* Matchers ------------------------------------------------------------ */

static void
matcher_add(struct matcher **m, size_t *nm, enum match_op op, char *value)
{
	*m = xreallocarray(*m, *nm + 1, sizeof **m);
	memset(&(*m)[*nm], 0, sizeof **m);
	(*m)[*nm].op = op;
	(*m)[*nm].value = value;
	(*nm)++;
}

static void
load_matcher(struct rb_loader *L, const struct ynode *n, const char *field,
    bool header, struct matcher **m, size_t *nm)
{
	static const char *const keys[] = { "equals", "contains", "matches",
	    "present", "absent", NULL };
	static const char *const body_keys[] = { "equals", "contains",
	    "matches", NULL };
	const struct ynode *k, *v;
	char *text, errbuf[256];
	bool b;
	int rc;
	size_t i;
	struct matcher *last;

	*m = NULL;
	*nm = 0;
	if (n->type == YN_SCALAR) {
		if ((text = rbl_text(L, n, field)) != NULL)
			matcher_add(m, nm, MATCH_EQUALS, text);
		return;
	}
	if (n->type != YN_MAP) {
		rbl_err(L, n, "%s: expected text or a mapping of equals, contains, "
		    "matches%s, found %s", rbl_at(L, field),
		    header ? ", present, absent" : "", ynode_describe(n));
		return;
	}
	rbl_check_keys(L, n, field, header ? keys : body_keys);
	if (n->n == 0)
		rbl_err(L, n, "%s: an empty matcher checks nothing", rbl_at(L, field));
	for (i = 0; i < n->n; i++) {
		k = n->pairs[i].key;
		v = n->pairs[i].value;
		if (strcmp(k->str, "present") == 0 ||
		    strcmp(k->str, "absent") == 0) {
			if (!header || !get_bool(L, v, k->str, &b))
				continue;
			if (!b) {
				rbl_err(L, v, "%s: %s: false checks nothing; use "
				    "%s: true", rbl_at(L, field), k->str,
				    k->str[0] == 'p' ? "absent" : "present");
				continue;
			}
			matcher_add(m, nm, k->str[0] == 'p' ? MATCH_PRESENT :
			    MATCH_ABSENT, NULL);
			continue;
		}
		if (strcmp(k->str, "equals") != 0 &&
		    strcmp(k->str, "contains") != 0 &&
		    strcmp(k->str, "matches") != 0)
			continue;	/* reported by check_keys */
		if ((text = rbl_text(L, v, k->str)) == NULL)
			continue;
		matcher_add(m, nm, k->str[0] == 'e' ? MATCH_EQUALS :
		    k->str[0] == 'c' ? MATCH_CONTAINS : MATCH_MATCHES, text);
		last = &(*m)[*nm - 1];
		if (last->op != MATCH_MATCHES)
			continue;
		rc = regcomp(&last->re, text, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			regerror(rc, &last->re, errbuf, sizeof errbuf);
			rbl_err(L, v, "%s: matches: bad regular expression: %s",
			    rbl_at(L, field), errbuf);
			free(last->value);
			(*nm)--;
		}
	}
	for (i = 0; i < *nm && *nm > 1; i++) {
		if ((*m)[i].op == MATCH_ABSENT) {
			rbl_err(L, n, "%s: absent cannot be combined with other "
			    "matchers", rbl_at(L, field));
			break;
		}
	}
}

static void
matchers_free(struct matcher *m, size_t nm)
{
	size_t i;

	for (i = 0; i < nm; i++) {
		if (m[i].op == MATCH_MATCHES)
			regfree(&m[i].re);
		free(m[i].value);
	}
	free(m);
}

/* Expectations -------------------------------------------------------- */

void
rbl_expect_free(struct expect *e)
{
	size_t i;

	if (e == NULL)
		return;
	free(e->status);
	for (i = 0; i < e->nheaders; i++) {
		free(e->headers[i].name);
		matchers_free(e->headers[i].m, e->headers[i].nm);
	}
	free(e->headers);
	matchers_free(e->body, e->nbody);
	free(e);
}

struct expect *
rbl_load_expect(struct rb_loader *L, const struct ynode *n, const char *field)
{
	static const char *const keys[] = { "status", "max_ms", "soft_ms",
	    "p95_ms", "headers", "body", NULL };
	const struct ynode *s, *h, *k, *ms, *soft;
	struct expect *e;
	char sub[96];
	long v;
	size_t i, j;

	if (!rbl_want_map(L, n, field))
		return NULL;
	rbl_check_keys(L, n, field, keys);
	e = xcalloc(1, sizeof *e);
	if ((s = ymap_get(n, "status")) != NULL) {
		snprintf(sub, sizeof sub, "%s.status", field);
		if (s->type == YN_SEQ) {
			if (s->n == 0)
				rbl_err(L, s, "%s: an empty list accepts nothing",
				    rbl_at(L, sub));
			e->status = xcalloc(s->n, sizeof *e->status);
			for (i = 0; i < s->n; i++) {
				if (get_long(L, s->items[i], sub, 100, 599, &v))
					e->status[e->nstatus++] = (int)v;
			}
		} else if (get_long(L, s, sub, 100, 599, &v)) {
			e->status = xmalloc(sizeof *e->status);
			e->status[e->nstatus++] = (int)v;
		}
	}
	snprintf(sub, sizeof sub, "%s.max_ms", field);
	if ((ms = ymap_get(n, "max_ms")) != NULL)
		get_long(L, ms, sub, 1, 600000, &e->max_ms);
	snprintf(sub, sizeof sub, "%s.soft_ms", field);
	if ((soft = ymap_get(n, "soft_ms")) != NULL)
		get_long(L, soft, sub, 1, 600000, &e->soft_ms);
	snprintf(sub, sizeof sub, "%s.p95_ms", field);
	if ((k = ymap_get(n, "p95_ms")) != NULL)
		get_long(L, k, sub, 1, 600000, &e->p95_ms);
	if (e->soft_ms > 0 && e->max_ms > 0 && e->soft_ms >= e->max_ms)
		rbl_err(L, soft, "%s.soft_ms: must be below max_ms (%ld), not %ld",
		    rbl_at(L, field), e->max_ms, e->soft_ms);
	if ((h = ymap_get(n, "headers")) != NULL) {
		snprintf(sub, sizeof sub, "%s.headers", field);
		if (rbl_want_map(L, h, sub)) {
			e->headers = xcalloc(h->n, sizeof *e->headers);
			for (i = 0; i < h->n; i++) {
				k = h->pairs[i].key;
				if (!header_name_ok(k->str) ||
				    strlen(k->str) != k->len) {
					char *t = rbl_shown(k);
					rbl_err(L, k, "%s: '%s' is not a valid "
					    "header name", rbl_at(L, sub), t);
					free(t);
					continue;
				}
				for (j = 0; j < e->nheaders; j++) {
					if (strcasecmp(e->headers[j].name,
					    k->str) == 0)
						rbl_err(L, k, "%s: header '%s' is "
						    "given twice (names ignore "
						    "case)", rbl_at(L, sub), k->str);
				}
				snprintf(sub, sizeof sub, "%s.headers.%s", field,
				    k->str);
				e->headers[e->nheaders].name = xstrdup(k->str);
				load_matcher(L, h->pairs[i].value, sub, true,
				    &e->headers[e->nheaders].m,
				    &e->headers[e->nheaders].nm);
				e->nheaders++;
				snprintf(sub, sizeof sub, "%s.headers", field);
			}
		}
	}
	if ((k = ymap_get(n, "body")) != NULL) {
		snprintf(sub, sizeof sub, "%s.body", field);
		load_matcher(L, k, sub, false, &e->body, &e->nbody);
	}
	return e;
}

/* Commands ------------------------------------------------------------ */

void
rbl_cmd_free(struct rb_cmd *c)
{
	free(c->text);
	cmd_argv_free(c->argv);
	cmd_argv_free(c->pass_env);
	memset(c, 0, sizeof *c);
}

/* pass_env: a list of variable names, each once.  Returns the names,
 * NULL-terminated, or NULL when there are none or the list is bad. */
static char **
load_pass_env(struct rb_loader *L, const struct ynode *map, size_t *np)
{
	const struct ynode *n = ymap_get(map, "pass_env"), *it;
	char **names, *s;
	size_t i, j, k = 0;

	*np = 0;
	if (n == NULL || ynode_is_null(n))
		return NULL;
	if (n->type != YN_SEQ) {
		rbl_err(L, n, "%s: expected a list of variable names, found %s",
		    rbl_at(L, "pass_env"), ynode_describe(n));
		return NULL;
	}
	names = xcalloc(n->n + 1, sizeof *names);
	for (i = 0; i < n->n; i++) {
		it = n->items[i];
		if (it->type != YN_SCALAR || ynode_is_null(it)) {
			rbl_err(L, it, "%s: each item must be a variable name, "
			    "found %s", rbl_at(L, "pass_env"), ynode_describe(it));
			continue;
		}
		if (strlen(it->str) != it->len || !rbl_env_name_ok(it->str)) {
			s = rbl_shown(it);
			rbl_err(L, it, "%s: '%s' is not an environment variable "
			    "name (letters, digits and '_')", rbl_at(L, "pass_env"),
			    s);
			free(s);
			continue;
		}
		for (j = 0; j < k; j++)
			if (strcmp(names[j], it->str) == 0)
				break;
		if (j < k) {
			rbl_err(L, it, "%s: %s is listed twice", rbl_at(L, "pass_env"),
			    it->str);
			continue;
		}
		names[k++] = xstrdup(it->str);
		L->pass_at = xreallocarray(L->pass_at, L->npass_at + 1,
		    sizeof *L->pass_at);
		L->pass_at[L->npass_at].n = it;
		snprintf(L->pass_at[L->npass_at].ctx,
		    sizeof L->pass_at[0].ctx, "%s", L->ctx);
		L->npass_at++;
	}
	if (k == 0) {
		free(names);
		return NULL;
	}
	*np = k;
	return names;
}

/* pass_env and keep_background of map, given to c. */
void
rbl_load_cmd_opts(struct rb_loader *L, const struct ynode *map, struct rb_cmd *c)
{
	c->pass_env = load_pass_env(L, map, &c->npass_env);
	rbl_field_bool(L, map, "keep_background", false, &c->keep_background);
}

char **
rbl_argv_copy(char *const *v)
{
	char **out;
	size_t i, n;

	if (v == NULL)
		return NULL;
	for (n = 0; v[n] != NULL; n++)
		continue;
	out = xcalloc(n + 1, sizeof *out);
	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

bool
rbl_load_cmd(struct rb_loader *L, const struct ynode *n, const char *field,
    bool shell, struct rb_cmd *c)
{
	struct cmd_error ce;
	char *text, *w;
	size_t i;
	unsigned col;

	memset(c, 0, sizeof *c);
	c->line = n->line;
	c->col = n->col;
	c->shell = shell;
	if (n->type == YN_SEQ) {
		if (shell) {
			rbl_err(L, n, "%s: with shell: true the command must be "
			    "one text, not a list", rbl_at(L, field));
			return false;
		}
		if (n->n == 0) {
			rbl_err(L, n, "%s: the command is empty", rbl_at(L, field));
			return false;
		}
		c->list = true;
		c->argv = xcalloc(n->n + 1, sizeof *c->argv);
		for (i = 0; i < n->n; i++) {
			if (n->items[i]->type != YN_SCALAR ||
			    ynode_is_null(n->items[i])) {
				rbl_err(L, n->items[i], "%s: each word must be "
				    "text, found %s", rbl_at(L, field),
				    ynode_describe(n->items[i]));
				goto fail;
			}
			if ((w = rbl_text(L, n->items[i], field)) == NULL)
				goto fail;
			c->argv[c->argc++] = w;
			free(cmd_expand_word(w, NULL, NULL, &ce));
			if (ce.msg != NULL) {
				rbl_err(L, n->items[i], "%s: %s", rbl_at(L, field),
				    ce.msg);
				free(ce.msg);
				goto fail;
			}
		}
		c->text = cmd_join(c->argv);
		return true;
	}
	if ((text = rbl_text(L, n, field)) == NULL)
		return false;
	c->text = text;
	if (shell)
		return true;
	if (cmd_split(text, NULL, NULL, &c->argv, &c->argc, &ce) != 0) {
		/* Point at the character when the text sits on one line. */
		col = n->col;
		if (strchr(text, '\n') == NULL && strlen(text) == n->len)
			col += (unsigned)ce.offset + (n->plain ? 0 : 1);
		diag_add(L->d, DIAG_ERROR, n->line, col, "%s: %s", rbl_at(L, field),
		    ce.msg);
		free(ce.msg);
		goto fail;
	}
	return true;
fail:
	rbl_cmd_free(c);
	return false;
}

/* The name of a route or rollback: required, a valid name, not taken by
 * one of the first idx; on success the context becomes "WHAT 'NAME'". */
char *
rbl_load_name(struct rb_loader *L, const struct ynode *n, const char *what,
    size_t idx, const char *(*name_at)(const struct runbook *, size_t))
{
	const struct ynode *v = ymap_get(n, "name");
	char *name = rbl_field_text(L, n, "name", true);
	const char *other;
	size_t j;

	if (name == NULL)
		return NULL;
	if (!rbl_check_name(L, v, "name", name)) {
		free(name);
		return NULL;
	}
	for (j = 0; j < idx; j++) {
		if ((other = name_at(L->rb, j)) != NULL &&
		    strcmp(other, name) == 0) {
			rbl_err(L, v, "%s: %s '%s' is defined twice", rbl_at(L, "name"),
			    what, name);
			break;
		}
	}
	snprintf(L->ctx, sizeof L->ctx, "%s '%s'", what, name);
	return name;
}
