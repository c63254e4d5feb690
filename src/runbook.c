/* runbook.c: the runbook schema on top of yamltree.  Each section has a
 * loader that reports every problem it finds and carries on, so that one run
 * of `rehearse lint` shows all the errors of a file. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "buf.h"
#include "cmdline.h"
#include "runbook.h"
#include "suggest.h"
#include "textesc.h"
#include "xmalloc.h"
#include "yamltree.h"

#define MAX_STEPS	500
#define MAX_NAME	64

struct loader {
	struct diags	*d;
	struct runbook	*rb;
	char		 ctx[160];	/* "step 3 (deploy)", or "" */
	char		 paths[4][320];	/* ring of "ctx: field" strings */
	int		 ring;
	const struct ynode **compare;	/* per step: compare target node */
	struct pass_env_at {
		const struct ynode *n;	/* one name of a pass_env list */
		char		 ctx[160];
	}		*pass_at;	/* checked once every secret is known */
	size_t		 npass_at;
};

/* "ctx: field" for messages; valid until four more calls. */
static const char *
P(struct loader *L, const char *field)
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
verr(struct loader *L, enum diag_level lvl, const struct ynode *at,
    const char *fmt, va_list ap)
{
	char *msg;

	xvasprintf(&msg, fmt, ap);
	diag_add(L->d, lvl, at ? at->line : 0, at ? at->col : 0, "%s", msg);
	free(msg);
}

static void
err(struct loader *L, const struct ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
warn(struct loader *L, const struct ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
err(struct loader *L, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(L, DIAG_ERROR, at, fmt, ap);
	va_end(ap);
}

static void
warn(struct loader *L, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(L, DIAG_WARNING, at, fmt, ap);
	va_end(ap);
}

/* A scalar's text made safe for a message, shortened; caller frees. */
static char *
shown(const struct ynode *n)
{
	size_t len = n->len > 60 ? 60 : n->len;
	char *s = esc_text(n->str, len, ESC_BACKSLASH), *t;

	if (len == n->len)
		return s;
	t = xprintf("%s...", s);
	free(s);
	return t;
}

static bool
want_map(struct loader *L, const struct ynode *n, const char *field)
{
	if (n->type == YN_MAP)
		return true;
	err(L, n, "%s: expected a mapping, found %s", P(L, field),
	    ynode_describe(n));
	return false;
}

/* Reports keys of map that are not in allowed, with a hint. */
static void
check_keys(struct loader *L, const struct ynode *map, const char *field,
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
		s = shown(k);
		hint = strlen(k->str) == k->len ? suggest(k->str, allowed) :
		    NULL;
		field = P(L, field);
		if (hint != NULL)
			err(L, k, "%s%sunknown key '%s' (did you mean '%s'?)",
			    field, *field ? ": " : "", s, hint);
		else
			err(L, k, "%s%sunknown key '%s'", field,
			    *field ? ": " : "", s);
		free(s);
	}
}

/* Text of a scalar; NULL (after an error) for other nodes, empty values and
 * values holding a NUL. */
static char *
get_text(struct loader *L, const struct ynode *n, const char *field)
{
	if (n->type != YN_SCALAR) {
		err(L, n, "%s: expected text, found %s", P(L, field),
		    ynode_describe(n));
		return NULL;
	}
	if (ynode_is_null(n) || n->len == 0) {
		err(L, n, "%s: is empty", P(L, field));
		return NULL;
	}
	if (memchr(n->str, '\0', n->len) != NULL) {
		err(L, n, "%s: contains a NUL character", P(L, field));
		return NULL;
	}
	return xstrdup(n->str);
}

/* Text of map[key]; NULL when absent (an error if required). */
static char *
field_text(struct loader *L, const struct ynode *map, const char *key,
    bool required)
{
	const struct ynode *n = ymap_get(map, key);

	if (n == NULL) {
		if (required)
			err(L, map, "%s is missing", P(L, key));
		return NULL;
	}
	return get_text(L, n, key);
}

static bool
get_long(struct loader *L, const struct ynode *n, const char *field,
    long min, long max, long *out)
{
	char *end;
	long v;

	if (n->type != YN_SCALAR || !n->plain || ynode_is_null(n)) {
		err(L, n, "%s: expected an integer, found %s", P(L, field),
		    ynode_describe(n));
		return false;
	}
	errno = 0;
	v = strtol(n->str, &end, 10);
	if (end == n->str || *end != '\0' || errno != 0 ||
	    !(isdigit((unsigned char)n->str[0]) || n->str[0] == '-')) {
		char *s = shown(n);
		err(L, n, "%s: expected an integer, found '%s'", P(L, field), s);
		free(s);
		return false;
	}
	if (v < min || v > max) {
		err(L, n, "%s: must be from %ld to %ld, not %ld", P(L, field),
		    min, max, v);
		return false;
	}
	*out = v;
	return true;
}

static void
field_long(struct loader *L, const struct ynode *map, const char *key,
    long min, long max, long dflt, long *out)
{
	const struct ynode *n = ymap_get(map, key);

	*out = dflt;
	if (n != NULL)
		get_long(L, n, key, min, max, out);
}

static void
field_double(struct loader *L, const struct ynode *map, const char *key,
    double min, double max, double dflt, double *out)
{
	const struct ynode *n = ymap_get(map, key);
	char *end;
	double v;

	*out = dflt;
	if (n == NULL)
		return;
	if (n->type != YN_SCALAR || !n->plain || ynode_is_null(n)) {
		err(L, n, "%s: expected a number, found %s", P(L, key),
		    ynode_describe(n));
		return;
	}
	errno = 0;
	v = strtod(n->str, &end);
	if (end == n->str || *end != '\0' || errno != 0 || v != v ||
	    !(isdigit((unsigned char)n->str[0]) || n->str[0] == '-' ||
	    n->str[0] == '.')) {
		char *s = shown(n);
		err(L, n, "%s: expected a number, found '%s'", P(L, key), s);
		free(s);
		return;
	}
	if (v < min || v > max) {
		err(L, n, "%s: must be from %g to %g, not %g", P(L, key), min,
		    max, v);
		return;
	}
	*out = v;
}

static bool
get_bool(struct loader *L, const struct ynode *n, const char *field, bool *out)
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
				err(L, n, "%s: '%s' is ambiguous in YAML; "
				    "write true or false", P(L, field),
				    n->str);
				return false;
			}
	}
	if (n->type == YN_SCALAR && !ynode_is_null(n)) {
		char *s = shown(n);
		err(L, n, "%s: expected true or false, found '%s'",
		    P(L, field), s);
		free(s);
	} else
		err(L, n, "%s: expected true or false, found %s", P(L, field),
		    ynode_describe(n));
	return false;
}

static void
field_bool(struct loader *L, const struct ynode *map, const char *key,
    bool dflt, bool *out)
{
	const struct ynode *n = ymap_get(map, key);

	*out = dflt;
	if (n != NULL && !get_bool(L, n, key, out))
		*out = dflt;
}

/* Names of routes, rollbacks, profiles: short and free of controls. */
static bool
check_name(struct loader *L, const struct ynode *n, const char *field,
    const char *name)
{
	size_t len = strlen(name);

	if (len > MAX_NAME) {
		err(L, n, "%s: longer than %d characters", P(L, field),
		    MAX_NAME);
		return false;
	}
	if (!esc_is_clean(name, len, 0) || isspace((unsigned char)name[0]) ||
	    isspace((unsigned char)name[len - 1])) {
		err(L, n, "%s: names cannot hold control characters or start "
		    "or end with a space", P(L, field));
		return false;
	}
	return true;
}

static bool
env_name_ok(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (s++; *s != '\0'; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

static char *
field_env(struct loader *L, const struct ynode *map, const char *key)
{
	char *v = field_text(L, map, key, false);

	if (v != NULL && !env_name_ok(v)) {
		char *s = shown(ymap_get(map, key));
		err(L, ymap_get(map, key), "%s: '%s' is not an environment "
		    "variable name (letters, digits and '_')", P(L, key), s);
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
static void
load_headers(struct loader *L, const struct ynode *n, const char *field,
    struct rb_header **out, size_t *nout)
{
	const struct ynode *k, *v;
	char *s, *val;
	size_t i, j;

	*out = NULL;
	*nout = 0;
	if (!want_map(L, n, field))
		return;
	*out = xcalloc(n->n, sizeof **out);
	for (i = 0; i < n->n; i++) {
		k = n->pairs[i].key;
		v = n->pairs[i].value;
		if (!header_name_ok(k->str) || strlen(k->str) != k->len) {
			s = shown(k);
			err(L, k, "%s: '%s' is not a valid header name",
			    P(L, field), s);
			free(s);
			continue;
		}
		for (j = 0; j < *nout; j++) {
			if (strcasecmp((*out)[j].name, k->str) == 0)
				err(L, k, "%s: header '%s' is given twice",
				    P(L, field), k->str);
		}
		if ((val = get_text(L, v, field)) == NULL)
			continue;
		if (strpbrk(val, "\r\n") != NULL) {
			err(L, v, "%s: header '%s' holds a line break",
			    P(L, field), k->str);
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
load_matcher(struct loader *L, const struct ynode *n, const char *field,
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
		if ((text = get_text(L, n, field)) != NULL)
			matcher_add(m, nm, MATCH_EQUALS, text);
		return;
	}
	if (n->type != YN_MAP) {
		err(L, n, "%s: expected text or a mapping of equals, contains, "
		    "matches%s, found %s", P(L, field),
		    header ? ", present, absent" : "", ynode_describe(n));
		return;
	}
	check_keys(L, n, field, header ? keys : body_keys);
	if (n->n == 0)
		err(L, n, "%s: an empty matcher checks nothing", P(L, field));
	for (i = 0; i < n->n; i++) {
		k = n->pairs[i].key;
		v = n->pairs[i].value;
		if (strcmp(k->str, "present") == 0 ||
		    strcmp(k->str, "absent") == 0) {
			if (!header || !get_bool(L, v, k->str, &b))
				continue;
			if (!b) {
				err(L, v, "%s: %s: false checks nothing; use "
				    "%s: true", P(L, field), k->str,
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
		if ((text = get_text(L, v, k->str)) == NULL)
			continue;
		matcher_add(m, nm, k->str[0] == 'e' ? MATCH_EQUALS :
		    k->str[0] == 'c' ? MATCH_CONTAINS : MATCH_MATCHES, text);
		last = &(*m)[*nm - 1];
		if (last->op != MATCH_MATCHES)
			continue;
		rc = regcomp(&last->re, text, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			regerror(rc, &last->re, errbuf, sizeof errbuf);
			err(L, v, "%s: matches: bad regular expression: %s",
			    P(L, field), errbuf);
			free(last->value);
			(*nm)--;
		}
	}
	for (i = 0; i < *nm && *nm > 1; i++) {
		if ((*m)[i].op == MATCH_ABSENT) {
			err(L, n, "%s: absent cannot be combined with other "
			    "matchers", P(L, field));
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

static void
expect_free(struct expect *e)
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

static struct expect *
load_expect(struct loader *L, const struct ynode *n, const char *field)
{
	static const char *const keys[] = { "status", "max_ms", "soft_ms",
	    "p95_ms", "headers", "body", NULL };
	const struct ynode *s, *h, *k, *ms, *soft;
	struct expect *e;
	char sub[96];
	long v;
	size_t i, j;

	if (!want_map(L, n, field))
		return NULL;
	check_keys(L, n, field, keys);
	e = xcalloc(1, sizeof *e);
	if ((s = ymap_get(n, "status")) != NULL) {
		snprintf(sub, sizeof sub, "%s.status", field);
		if (s->type == YN_SEQ) {
			if (s->n == 0)
				err(L, s, "%s: an empty list accepts nothing",
				    P(L, sub));
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
		err(L, soft, "%s.soft_ms: must be below max_ms (%ld), not %ld",
		    P(L, field), e->max_ms, e->soft_ms);
	if ((h = ymap_get(n, "headers")) != NULL) {
		snprintf(sub, sizeof sub, "%s.headers", field);
		if (want_map(L, h, sub)) {
			e->headers = xcalloc(h->n, sizeof *e->headers);
			for (i = 0; i < h->n; i++) {
				k = h->pairs[i].key;
				if (!header_name_ok(k->str) ||
				    strlen(k->str) != k->len) {
					char *t = shown(k);
					err(L, k, "%s: '%s' is not a valid "
					    "header name", P(L, sub), t);
					free(t);
					continue;
				}
				for (j = 0; j < e->nheaders; j++) {
					if (strcasecmp(e->headers[j].name,
					    k->str) == 0)
						err(L, k, "%s: header '%s' is "
						    "given twice (names ignore "
						    "case)", P(L, sub), k->str);
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

static void
cmd_free(struct rb_cmd *c)
{
	free(c->text);
	cmd_argv_free(c->argv);
	cmd_argv_free(c->pass_env);
	memset(c, 0, sizeof *c);
}

/* pass_env: a list of variable names, each once.  Returns the names,
 * NULL-terminated, or NULL when there are none or the list is bad. */
static char **
load_pass_env(struct loader *L, const struct ynode *map, size_t *np)
{
	const struct ynode *n = ymap_get(map, "pass_env"), *it;
	char **names, *s;
	size_t i, j, k = 0;

	*np = 0;
	if (n == NULL || ynode_is_null(n))
		return NULL;
	if (n->type != YN_SEQ) {
		err(L, n, "%s: expected a list of variable names, found %s",
		    P(L, "pass_env"), ynode_describe(n));
		return NULL;
	}
	names = xcalloc(n->n + 1, sizeof *names);
	for (i = 0; i < n->n; i++) {
		it = n->items[i];
		if (it->type != YN_SCALAR || ynode_is_null(it)) {
			err(L, it, "%s: each item must be a variable name, "
			    "found %s", P(L, "pass_env"), ynode_describe(it));
			continue;
		}
		if (strlen(it->str) != it->len || !env_name_ok(it->str)) {
			s = shown(it);
			err(L, it, "%s: '%s' is not an environment variable "
			    "name (letters, digits and '_')", P(L, "pass_env"),
			    s);
			free(s);
			continue;
		}
		for (j = 0; j < k; j++)
			if (strcmp(names[j], it->str) == 0)
				break;
		if (j < k) {
			err(L, it, "%s: %s is listed twice", P(L, "pass_env"),
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
static void
load_cmd_opts(struct loader *L, const struct ynode *map, struct rb_cmd *c)
{
	c->pass_env = load_pass_env(L, map, &c->npass_env);
	field_bool(L, map, "keep_background", false, &c->keep_background);
}

static char **
argv_copy(char *const *v)
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

static bool
load_cmd(struct loader *L, const struct ynode *n, const char *field,
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
			err(L, n, "%s: with shell: true the command must be "
			    "one text, not a list", P(L, field));
			return false;
		}
		if (n->n == 0) {
			err(L, n, "%s: the command is empty", P(L, field));
			return false;
		}
		c->list = true;
		c->argv = xcalloc(n->n + 1, sizeof *c->argv);
		for (i = 0; i < n->n; i++) {
			if (n->items[i]->type != YN_SCALAR ||
			    ynode_is_null(n->items[i])) {
				err(L, n->items[i], "%s: each word must be "
				    "text, found %s", P(L, field),
				    ynode_describe(n->items[i]));
				goto fail;
			}
			if ((w = get_text(L, n->items[i], field)) == NULL)
				goto fail;
			c->argv[c->argc++] = w;
			free(cmd_expand_word(w, NULL, NULL, &ce));
			if (ce.msg != NULL) {
				err(L, n->items[i], "%s: %s", P(L, field),
				    ce.msg);
				free(ce.msg);
				goto fail;
			}
		}
		c->text = cmd_join(c->argv);
		return true;
	}
	if ((text = get_text(L, n, field)) == NULL)
		return false;
	c->text = text;
	if (shell)
		return true;
	if (cmd_split(text, NULL, NULL, &c->argv, &c->argc, &ce) != 0) {
		/* Point at the character when the text sits on one line. */
		col = n->col;
		if (strchr(text, '\n') == NULL && strlen(text) == n->len)
			col += (unsigned)ce.offset + (n->plain ? 0 : 1);
		diag_add(L->d, DIAG_ERROR, n->line, col, "%s: %s", P(L, field),
		    ce.msg);
		free(ce.msg);
		goto fail;
	}
	return true;
fail:
	cmd_free(c);
	return false;
}

/* Redis --------------------------------------------------------------- */

static char *
url_part(CURLU *u, CURLUPart part)
{
	char *p = NULL, *s;

	if (curl_url_get(u, part, &p, CURLU_URLDECODE) != CURLUE_OK)
		return NULL;
	s = xstrdup(p);
	curl_free(p);
	return s;
}

static bool
parse_db(const char *s, int *db)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 65535 ||
	    !isdigit((unsigned char)*s))
		return false;
	*db = (int)v;
	return true;
}

static void
load_redis_url(struct loader *L, const struct ynode *n, struct rb_redis *r)
{
	CURLU *u;
	CURLUcode rc;
	char *url, *s, *q;

	if ((url = get_text(L, n, "url")) == NULL)
		return;
	r->port = 6379;
	if (strncmp(url, "unix://", 7) == 0) {
		r->kind = REDIS_UNIX;
		r->path = xstrdup(url + 7);
		if ((q = strchr(r->path, '?')) != NULL) {
			*q++ = '\0';
			if (strncmp(q, "db=", 3) != 0 || !parse_db(q + 3, &r->db))
				err(L, n, "%s: after '?' only db=N (0 to 65535) "
				    "is understood", P(L, "url"));
		}
		if (r->path[0] != '/')
			err(L, n, "%s: a unix socket needs an absolute path, as "
			    "in unix:///run/redis/redis.sock", P(L, "url"));
		r->url = url;
		return;
	}
	if (strncmp(url, "rediss://", 9) == 0) {
		err(L, n, "%s: rediss:// (TLS) is not supported; use redis:// "
		    "or unix://", P(L, "url"));
		free(url);
		return;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		err(L, n, "%s: expected redis://[USER[:PASSWORD]@]HOST[:PORT]"
		    "[/DB] or unix:///PATH[?db=N]", P(L, "url"));
		free(url);
		return;
	}
	r->kind = REDIS_TCP;
	if ((u = curl_url()) == NULL)
		fatal("out of memory parsing a URL");
	rc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (rc != CURLUE_OK) {
		err(L, n, "%s: not a valid URL (%s)", P(L, "url"),
		    curl_url_strerror(rc));
		curl_url_cleanup(u);
		free(url);
		return;
	}
	r->host = url_part(u, CURLUPART_HOST);
	if (r->host != NULL && r->host[0] == '[') {	/* IPv6 literal */
		s = xstrndup(r->host + 1, strlen(r->host) - 2);
		free(r->host);
		r->host = s;
	}
	if ((s = url_part(u, CURLUPART_PORT)) != NULL) {
		r->port = atoi(s);
		free(s);
	}
	r->user = url_part(u, CURLUPART_USER);
	if (r->user != NULL && r->user[0] == '\0') {
		free(r->user);
		r->user = NULL;
	}
	r->url_password = url_part(u, CURLUPART_PASSWORD);
	if ((s = url_part(u, CURLUPART_PATH)) != NULL) {
		if (strcmp(s, "/") != 0 && strcmp(s, "") != 0 &&
		    !parse_db(s + 1, &r->db))
			err(L, n, "%s: the path must be a database number from "
			    "0 to 65535, as in redis://host:6379/0",
			    P(L, "url"));
		free(s);
	}
	if ((s = url_part(u, CURLUPART_QUERY)) != NULL) {
		err(L, n, "%s: redis:// URLs take no query", P(L, "url"));
		free(s);
	}
	curl_url_cleanup(u);
	if (r->url_password != NULL) {
		warn(L, n, "%s: holds a password; prefer password_env so that "
		    "the runbook holds no secret", P(L, "url"));
		/* Keep the URL for display without the secret. */
		free(url);
		url = xprintf("redis://%s%s***@%s:%d/%d", r->user ? r->user :
		    "", ":", r->host ? r->host : "", r->port, r->db);
	}
	r->url = url;
}

static void
load_redis(struct loader *L, const struct ynode *n)
{
	static const char *const keys[] = { "url", "password_env",
	    "timeout_ms", "refresh_s", "max_reply_mb", NULL };
	struct rb_redis *r = &L->rb->redis;
	const struct ynode *u;

	if (!want_map(L, n, "redis"))
		return;
	L->rb->has_redis = true;
	snprintf(L->ctx, sizeof L->ctx, "redis");
	check_keys(L, n, "redis", keys);
	if ((u = ymap_get(n, "url")) == NULL)
		err(L, n, "%s is missing", P(L, "url"));
	else
		load_redis_url(L, u, r);
	r->password_env = field_env(L, n, "password_env");
	field_long(L, n, "timeout_ms", 1, 60000, 1000, &r->timeout_ms);
	field_double(L, n, "refresh_s", 0.2, 3600, 2, &r->refresh_s);
	field_long(L, n, "max_reply_mb", 1, 4096, 64, &r->max_reply_mb);
	L->ctx[0] = '\0';
}

/* HTTP ---------------------------------------------------------------- */

static bool
http_url_ok(struct loader *L, const struct ynode *n, const char *field,
    const char *url)
{
	CURLU *u;
	CURLUcode rc;
	char *scheme = NULL;
	bool ok = true;

	if ((u = curl_url()) == NULL)
		fatal("out of memory parsing a URL");
	rc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (rc != CURLUE_OK) {
		err(L, n, "%s: not a valid URL (%s)", P(L, field),
		    curl_url_strerror(rc));
		ok = false;
	} else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0)) {
		err(L, n, "%s: must be an http:// or https:// URL", P(L, field));
		ok = false;
	}
	curl_free(scheme);
	curl_url_cleanup(u);
	return ok;
}

static void
load_profile(struct loader *L, const struct ynode *k, const struct ynode *n,
    struct rb_profile *p)
{
	static const char *const keys[] = { "cookie_env", "header_env",
	    "headers", NULL };
	const struct ynode *h;

	p->name = xstrdup(k->str);
	snprintf(L->ctx, sizeof L->ctx, "http.profiles.%s", p->name);
	if (strcmp(p->name, "anonymous") == 0)
		err(L, k, "%s: 'anonymous' is reserved for requests without "
		    "credentials", L->ctx);
	check_name(L, k, "name", p->name);
	if (!want_map(L, n, "profile"))
		goto out;
	check_keys(L, n, "", keys);
	p->cookie_env = field_env(L, n, "cookie_env");
	p->header_env = field_env(L, n, "header_env");
	if ((h = ymap_get(n, "headers")) != NULL)
		load_headers(L, h, "headers", &p->headers, &p->nheaders);
	if (ymap_get(n, "cookie_env") == NULL &&
	    ymap_get(n, "header_env") == NULL && h == NULL)
		err(L, n, "%s: a profile needs cookie_env, header_env or "
		    "headers", L->ctx);
out:
	L->ctx[0] = '\0';
}

static void
load_http(struct loader *L, const struct ynode *n)
{
	static const char *const keys[] = { "base_url", "timeout_ms",
	    "headers", "insecure", "ca_file", "profiles", NULL };
	struct rb_http *h = &L->rb->http;
	const struct ynode *v, *k;
	size_t i;

	if (!want_map(L, n, "http"))
		return;
	L->rb->has_http = true;
	check_keys(L, n, "http", keys);
	snprintf(L->ctx, sizeof L->ctx, "http");
	if ((h->base_url = field_text(L, n, "base_url", false)) != NULL &&
	    !http_url_ok(L, ymap_get(n, "base_url"), "base_url", h->base_url)) {
		free(h->base_url);
		h->base_url = NULL;
	}
	field_long(L, n, "timeout_ms", 1, 600000, 5000, &h->timeout_ms);
	field_bool(L, n, "insecure", false, &h->insecure);
	h->ca_file = field_text(L, n, "ca_file", false);
	if ((v = ymap_get(n, "headers")) != NULL)
		load_headers(L, v, "headers", &h->headers, &h->nheaders);
	L->ctx[0] = '\0';
	if ((v = ymap_get(n, "profiles")) == NULL)
		return;
	if (!want_map(L, v, "http.profiles"))
		return;
	h->profiles = xcalloc(v->n, sizeof *h->profiles);
	for (i = 0; i < v->n; i++) {
		k = v->pairs[i].key;
		if (ynode_is_null(k) || k->len == 0 ||
		    strlen(k->str) != k->len) {
			err(L, k, "http.profiles: a profile needs a name");
			continue;
		}
		load_profile(L, k, v->pairs[i].value, &h->profiles[h->nprofiles++]);
	}
}

/* The name of a route or rollback: required, a valid name, not taken by
 * one of the first idx; on success the context becomes "WHAT 'NAME'". */
static char *
load_name(struct loader *L, const struct ynode *n, const char *what,
    size_t idx, const char *(*name_at)(const struct runbook *, size_t))
{
	const struct ynode *v = ymap_get(n, "name");
	char *name = field_text(L, n, "name", true);
	const char *other;
	size_t j;

	if (name == NULL)
		return NULL;
	if (!check_name(L, v, "name", name)) {
		free(name);
		return NULL;
	}
	for (j = 0; j < idx; j++) {
		if ((other = name_at(L->rb, j)) != NULL &&
		    strcmp(other, name) == 0) {
			err(L, v, "%s: %s '%s' is defined twice", P(L, "name"),
			    what, name);
			break;
		}
	}
	snprintf(L->ctx, sizeof L->ctx, "%s '%s'", what, name);
	return name;
}

static const char *
route_name_at(const struct runbook *rb, size_t i)
{
	return rb->routes[i].name;
}

static const char *
rollback_name_at(const struct runbook *rb, size_t i)
{
	return rb->rollbacks[i].name;
}

/* Routes -------------------------------------------------------------- */

bool
pattern_matches_all(const char *p)
{
	if (*p == '\0')
		return true;
	for (; *p != '\0'; p++)
		if (*p != '*' && *p != '?')
			return false;
	return true;
}

static void
load_keys(struct loader *L, const struct ynode *n, struct rb_route *r)
{
	const struct ynode *item;
	size_t i, count = n->type == YN_SEQ ? n->n : 1;
	char *k;

	if (n->type == YN_MAP) {
		err(L, n, "%s: expected a pattern or a list of patterns, found "
		    "a mapping", P(L, "keys"));
		return;
	}
	if (count == 0) {
		err(L, n, "%s: the list is empty; leave keys out instead",
		    P(L, "keys"));
		return;
	}
	r->keys = xcalloc(count, sizeof *r->keys);
	for (i = 0; i < count; i++) {
		item = n->type == YN_SEQ ? n->items[i] : n;
		if ((k = get_text(L, item, "keys")) == NULL)
			continue;
		if (pattern_matches_all(k)) {
			char *s = shown(item);
			err(L, item, "%s: pattern '%s' matches every key; name "
			    "the keys of this route", P(L, "keys"), s);
			free(s);
			free(k);
			continue;
		}
		r->keys[r->nkeys++] = k;
	}
}

static void
load_route(struct loader *L, const struct ynode *n, size_t idx)
{
	static const char *const keys[] = { "name", "path", "url", "method",
	    "follow_redirects", "keys", "max_keys", "allow_broad", "expect",
	    "expect_logged_in", NULL };
	struct runbook *rb = L->rb;
	struct rb_route *r = &rb->routes[idx];
	const struct ynode *v;
	char *m;

	r->line = n->line;
	r->col = n->col;
	snprintf(L->ctx, sizeof L->ctx, "route %zu", idx + 1);
	if (!want_map(L, n, "route"))
		return;
	r->name = load_name(L, n, "route", idx, route_name_at);
	check_keys(L, n, "", keys);
	r->path = field_text(L, n, "path", false);
	r->url = field_text(L, n, "url", false);
	if (r->path != NULL && r->url != NULL)
		err(L, ymap_get(n, "url"), "%s: give path or url, not both",
		    P(L, "url"));
	if (r->path != NULL && r->path[0] != '/')
		err(L, ymap_get(n, "path"), "%s: must start with '/'",
		    P(L, "path"));
	if (r->path != NULL && strpbrk(r->path, " \t\r\n") != NULL)
		err(L, ymap_get(n, "path"), "%s: cannot hold spaces or line "
		    "breaks; percent-encode them", P(L, "path"));
	if (r->url != NULL)
		http_url_ok(L, ymap_get(n, "url"), "url", r->url);
	if ((m = field_text(L, n, "method", false)) != NULL) {
		if (strcmp(m, "HEAD") == 0)
			r->head = true;
		else if (strcmp(m, "GET") != 0)
			err(L, ymap_get(n, "method"), "%s: must be GET or HEAD "
			    "(probes never change anything)", P(L, "method"));
		free(m);
	}
	field_bool(L, n, "follow_redirects", false, &r->follow_redirects);
	if ((v = ymap_get(n, "keys")) != NULL)
		load_keys(L, v, r);
	field_long(L, n, "max_keys", 1, 10000000, 10000, &r->max_keys);
	field_bool(L, n, "allow_broad", false, &r->allow_broad);
	if (ymap_get(n, "max_keys") != NULL && r->nkeys == 0 &&
	    ymap_get(n, "keys") == NULL)
		warn(L, ymap_get(n, "max_keys"), "%s: has no effect without "
		    "keys", P(L, "max_keys"));
	if ((v = ymap_get(n, "expect")) != NULL)
		r->expect = load_expect(L, v, "expect");
	if ((v = ymap_get(n, "expect_logged_in")) != NULL)
		r->expect_logged_in = load_expect(L, v, "expect_logged_in");
	if (r->path != NULL && (!rb->has_http || rb->http.base_url == NULL))
		err(L, ymap_get(n, "path"), "%s: a path needs http.base_url "
		    "(or give the route a full url)", P(L, "path"));
	if ((r->nkeys > 0 || ymap_get(n, "keys") != NULL) && !rb->has_redis)
		err(L, ymap_get(n, "keys"), "%s: keys need a redis: section "
		    "with the server's url", P(L, "keys"));
}

/* Rollbacks ----------------------------------------------------------- */

static void
load_rollback(struct loader *L, const struct ynode *n, size_t idx)
{
	static const char *const keys[] = { "name", "run", "check",
	    "check_safe", "timeout_s", "shell", "pass_env", "keep_background",
	    NULL };
	struct rb_rollback *r = &L->rb->rollbacks[idx];
	const struct ynode *v;
	bool shell;
	struct rb_cmd opts;

	snprintf(L->ctx, sizeof L->ctx, "rollback %zu", idx + 1);
	if (!want_map(L, n, "rollback"))
		return;
	r->name = load_name(L, n, "rollback", idx, rollback_name_at);
	check_keys(L, n, "", keys);
	field_bool(L, n, "shell", false, &shell);
	field_long(L, n, "timeout_s", 1, 86400, 300, &r->timeout_s);
	if ((v = ymap_get(n, "run")) == NULL)
		err(L, n, "%s is missing", P(L, "run"));
	else
		load_cmd(L, v, "run", shell, &r->run);
	if ((v = ymap_get(n, "check")) != NULL) {
		r->has_check = true;	/* even when it failed to load */
		load_cmd(L, v, "check", shell, &r->check);
	}
	/* pass_env and keep_background hold for run and check alike. */
	memset(&opts, 0, sizeof opts);
	load_cmd_opts(L, n, &opts);
	r->run.pass_env = opts.pass_env;
	r->run.npass_env = opts.npass_env;
	r->run.keep_background = opts.keep_background;
	if (r->has_check) {
		r->check.pass_env = argv_copy(opts.pass_env);
		r->check.npass_env = opts.npass_env;
		r->check.keep_background = opts.keep_background;
	}
	field_bool(L, n, "check_safe", false, &r->check_safe);
	if (r->check_safe && v == NULL)
		err(L, ymap_get(n, "check_safe"), "%s: there is no check to "
		    "call safe", P(L, "check_safe"));
}

/* Steps --------------------------------------------------------------- */

static const char *const kind_names[STEP_NKINDS] = {
	[STEP_HTTP] = "http",
	[STEP_MEASURE] = "measure",
	[STEP_WAIT] = "wait",
	[STEP_PURGE] = "purge",
	[STEP_RUN] = "run",
	[STEP_ROLLBACK_CHECK] = "rollback_check",
	[STEP_MANUAL] = "manual",
};

const char *
step_kind_name(enum step_kind k)
{
	return (unsigned)k < STEP_NKINDS ? kind_names[k] : "?";
}

bool
step_is_destructive(const struct rb_step *s)
{
	return s->kind == STEP_PURGE || s->kind == STEP_RUN;
}

/* A NULL-terminated list of the names for "did you mean"; caller frees. */
static const char **
name_list(struct loader *L, int which)
{
	struct runbook *rb = L->rb;
	size_t n = which == 0 ? rb->nroutes : which == 1 ? rb->nrollbacks :
	    rb->http.nprofiles, i, out = 0;
	const char **v = xcalloc(n + 1, sizeof *v);
	const char *s;

	for (i = 0; i < n; i++) {
		s = which == 0 ? rb->routes[i].name : which == 1 ?
		    rb->rollbacks[i].name : rb->http.profiles[i].name;
		if (s != NULL)
			v[out++] = s;
	}
	return v;
}

/* Resolves a reference to a route (0), rollback (1) or profile (2). */
static size_t
resolve(struct loader *L, const struct ynode *n, const char *field, int which)
{
	static const char *const what[] = { "route", "rollback", "profile" };
	const char **names;
	const char *hint;
	char *name, *s;
	size_t idx;

	if ((name = get_text(L, n, field)) == NULL)
		return RB_NONE;
	idx = which == 0 ? runbook_route(L->rb, name) : which == 1 ?
	    runbook_rollback(L->rb, name) : runbook_profile(L->rb, name);
	if (idx == RB_NONE) {
		names = name_list(L, which);
		hint = suggest(name, names);
		s = shown(n);
		if (hint != NULL)
			err(L, n, "%s: no %s named '%s' (did you mean '%s'?)",
			    P(L, field), what[which], s, hint);
		else if (names[0] == NULL)
			err(L, n, "%s: no %s named '%s'; the runbook defines "
			    "no %s", P(L, field), what[which], s,
			    which == 2 ? "http.profiles" : which == 0 ?
			    "routes" : "rollback");
		else
			err(L, n, "%s: no %s named '%s'", P(L, field),
			    what[which], s);
		free(s);
		free(names);
	}
	free(name);
	return idx;
}

/* route (+ profile, expect) of an http, measure or wait step. */
static void
load_probe_target(struct loader *L, struct rb_step *s, const struct ynode *n,
    const char *field)
{
	const struct ynode *r = n->type == YN_MAP ? ymap_get(n, "route") : n;
	const struct ynode *p, *e;
	char sub[64];

	s->profile = RB_NONE;
	snprintf(sub, sizeof sub, "%s.route", field);
	if (r == NULL) {
		err(L, n, "%s is missing", P(L, sub));
		return;
	}
	s->route = resolve(L, r, n->type == YN_MAP ? sub : field, 0);
	if (s->route != RB_NONE && L->rb->routes[s->route].path == NULL &&
	    L->rb->routes[s->route].url == NULL)
		err(L, r, "%s: route '%s' has no path or url to request",
		    P(L, field), L->rb->routes[s->route].name);
	if (n->type != YN_MAP)
		return;
	if ((p = ymap_get(n, "profile")) != NULL &&
	    !(p->type == YN_SCALAR && strcmp(p->str, "anonymous") == 0)) {
		snprintf(sub, sizeof sub, "%s.profile", field);
		s->profile = resolve(L, p, sub, 2);
	}
	if ((e = ymap_get(n, "expect")) != NULL) {
		snprintf(sub, sizeof sub, "%s.expect", field);
		s->expect = load_expect(L, e, sub);
	}
}

static void
load_step_kind(struct loader *L, struct rb_step *s, const struct ynode *n,
    size_t idx)
{
	static const char *const http_keys[] = { "route", "profile", "expect",
	    NULL };
	static const char *const measure_keys[] = { "route", "profile",
	    "samples", "concurrency", "compare", "expect", NULL };
	static const char *const wait_keys[] = { "route", "profile", "expect",
	    "every_s", "timeout_s", NULL };
	static const char *const purge_keys[] = { "route", "backup", NULL };
	static const char *const run_keys[] = { "command", "shell",
	    "timeout_s", "pass_env", "keep_background", NULL };
	const struct ynode *c;
	struct rb_route *r;
	bool shell;

	switch (s->kind) {
	case STEP_HTTP:
		if (n->type == YN_MAP)
			check_keys(L, n, "http", http_keys);
		load_probe_target(L, s, n, "http");
		break;
	case STEP_MEASURE:
		s->samples = 20;
		s->concurrency = 1;
		s->compare = RB_NONE;
		if (n->type == YN_MAP) {
			check_keys(L, n, "measure", measure_keys);
			field_long(L, n, "samples", 1, 10000, 20, &s->samples);
			field_long(L, n, "concurrency", 1, 32, 1,
			    &s->concurrency);
			if (s->concurrency > s->samples)
				err(L, ymap_get(n, "concurrency"), "%s: is more "
				    "than samples (%ld)", P(L, "concurrency"),
				    s->samples);
			L->compare[idx] = ymap_get(n, "compare");
		}
		load_probe_target(L, s, n, "measure");
		break;
	case STEP_WAIT:
		if (!want_map(L, n, "wait"))
			break;
		check_keys(L, n, "wait", wait_keys);
		load_probe_target(L, s, n, "wait");
		if (s->expect == NULL && ymap_get(n, "expect") == NULL)
			err(L, n, "%s is missing: a wait polls until an "
			    "expectation holds", P(L, "wait.expect"));
		field_double(L, n, "every_s", 0.1, 3600, 1, &s->every_s);
		field_double(L, n, "timeout_s", 1, 86400, 60,
		    &s->timeout_wait_s);
		if (s->every_s > s->timeout_wait_s)
			err(L, ymap_get(n, "every_s"), "%s: is longer than "
			    "timeout_s", P(L, "wait.every_s"));
		break;
	case STEP_PURGE:
		if (n->type == YN_MAP) {
			check_keys(L, n, "purge", purge_keys);
			field_bool(L, n, "backup", false, &s->backup);
			if ((c = ymap_get(n, "route")) == NULL) {
				err(L, n, "%s is missing", P(L, "purge.route"));
				break;
			}
			s->route = resolve(L, c, "purge.route", 0);
		} else {
			c = n;
			s->route = resolve(L, n, "purge", 0);
		}
		if (s->route == RB_NONE)
			break;
		r = &L->rb->routes[s->route];
		if (r->nkeys == 0)
			err(L, c, "%s: route '%s' has no keys to purge",
			    P(L, "purge"), r->name);
		break;
	case STEP_RUN:
		s->timeout_s = 300;
		if (n->type != YN_MAP) {
			load_cmd(L, n, "run", false, &s->cmd);
			break;
		}
		check_keys(L, n, "run", run_keys);
		field_bool(L, n, "shell", false, &shell);
		field_long(L, n, "timeout_s", 1, 86400, 300, &s->timeout_s);
		if ((c = ymap_get(n, "command")) == NULL)
			err(L, n, "%s is missing", P(L, "run.command"));
		else
			load_cmd(L, c, "run.command", shell, &s->cmd);
		load_cmd_opts(L, n, &s->cmd);
		break;
	case STEP_ROLLBACK_CHECK:
		s->rollback = resolve(L, n, "rollback_check", 1);
		if (s->rollback != RB_NONE &&
		    !L->rb->rollbacks[s->rollback].has_check)
			err(L, n, "%s: rollback '%s' has no check command",
			    P(L, "rollback_check"),
			    L->rb->rollbacks[s->rollback].name);
		break;
	case STEP_MANUAL:
		s->instruction = get_text(L, n, "manual");
		break;
	}
}

static bool
step_id_ok(const char *id)
{
	if (strlen(id) > MAX_NAME)
		return false;
	for (; *id != '\0'; id++)
		if (!isalnum((unsigned char)*id) && strchr("._-", *id) == NULL)
			return false;
	return true;
}

static void
load_step(struct loader *L, const struct ynode *n, size_t idx)
{
	static const char *const keys[] = { "id", "title", "why", "expect",
	    "owner_note", "confirm", "http", "measure", "wait", "purge", "run",
	    "rollback_check", "manual", NULL };
	struct rb_step *s = &L->rb->steps[idx];
	const struct ynode *kn = NULL, *v;
	size_t k, nkinds = 0, j;
	bool confirm;

	s->line = n->line;
	s->col = n->col;
	s->route = s->profile = s->rollback = s->compare = RB_NONE;
	snprintf(L->ctx, sizeof L->ctx, "step %zu", idx + 1);
	if (!want_map(L, n, "step"))
		return;
	if ((s->id = field_text(L, n, "id", false)) != NULL) {
		v = ymap_get(n, "id");
		if (!step_id_ok(s->id)) {
			err(L, v, "%s: use letters, digits, '.', '_' and '-' "
			    "(at most %d)", P(L, "id"), MAX_NAME);
			free(s->id);
			s->id = NULL;
		} else {
			for (j = 0; j < idx; j++) {
				if (L->rb->steps[j].id != NULL &&
				    strcmp(L->rb->steps[j].id, s->id) == 0)
					err(L, v, "%s: step id '%s' is used "
					    "twice (first by step %zu)",
					    P(L, "id"), s->id, j + 1);
			}
			snprintf(L->ctx, sizeof L->ctx, "step %zu (%s)",
			    idx + 1, s->id);
		}
	}
	check_keys(L, n, "", keys);
	s->title = field_text(L, n, "title", true);
	s->why = field_text(L, n, "why", false);
	s->expect_text = field_text(L, n, "expect", false);
	s->owner_note = field_text(L, n, "owner_note", false);
	for (k = 0; k < STEP_NKINDS; k++) {
		if ((v = ymap_get(n, kind_names[k])) == NULL)
			continue;
		if (nkinds++ == 0) {
			s->kind = (enum step_kind)k;
			kn = v;
		} else
			err(L, v, "%s: has both '%s' and '%s'; a step does "
			    "exactly one thing", P(L, ""),
			    kind_names[s->kind], kind_names[k]);
	}
	if (nkinds == 0) {
		err(L, n, "%s: says nothing to do: give exactly one of http, "
		    "measure, wait, purge, run, rollback_check, manual",
		    P(L, ""));
		return;
	}
	load_step_kind(L, s, kn, idx);
	field_bool(L, n, "confirm", step_is_destructive(s), &confirm);
	if (!confirm && step_is_destructive(s)) {
		err(L, ymap_get(n, "confirm"), "%s: %s steps always ask for "
		    "confirmation", P(L, "confirm"), kind_names[s->kind]);
		confirm = true;
	}
	s->confirm = confirm;
}

static void
resolve_compares(struct loader *L)
{
	struct runbook *rb = L->rb;
	const struct ynode *n;
	size_t i, t;
	char *id;

	for (i = 0; i < rb->nsteps; i++) {
		if ((n = L->compare[i]) == NULL)
			continue;
		if (rb->steps[i].id != NULL)
			snprintf(L->ctx, sizeof L->ctx, "step %zu (%s)", i + 1,
			    rb->steps[i].id);
		else
			snprintf(L->ctx, sizeof L->ctx, "step %zu", i + 1);
		if ((id = get_text(L, n, "measure.compare")) == NULL)
			continue;
		t = runbook_step(rb, id);
		if (t == RB_NONE) {
			char *s = shown(n);
			err(L, n, "%s: no step has id '%s'",
			    P(L, "measure.compare"), s);
			free(s);
		} else if (t >= i)
			err(L, n, "%s: step '%s' does not come before this one",
			    P(L, "measure.compare"), id);
		else if (rb->steps[t].kind != STEP_MEASURE)
			err(L, n, "%s: step '%s' is not a measure step (it is "
			    "%s)", P(L, "measure.compare"), id,
			    kind_names[rb->steps[t].kind]);
		else {
			rb->steps[i].compare = t;
			if (rb->steps[t].route != rb->steps[i].route)
				warn(L, n, "%s: step '%s' measures another "
				    "route", P(L, "measure.compare"), id);
		}
		free(id);
	}
	L->ctx[0] = '\0';
}

/* Secret variables ---------------------------------------------------- */

static void
add_secret_var(struct runbook *rb, const char *name)
{
	size_t i;

	if (name == NULL)
		return;
	for (i = 0; i < rb->nsecret_vars; i++)
		if (strcmp(rb->secret_vars[i], name) == 0)
			return;
	rb->secret_vars = xreallocarray(rb->secret_vars, rb->nsecret_vars + 2,
	    sizeof *rb->secret_vars);
	rb->secret_vars[rb->nsecret_vars++] = xstrdup(name);
	rb->secret_vars[rb->nsecret_vars] = NULL;
}

void
rb_cmd_vars(const struct rb_cmd *c, void (*fn)(const char *, void *),
    void *arg)
{
	const char *p, *end;
	char *name;

	for (p = c->text; p != NULL && (p = strstr(p, "${")) != NULL;
	    p = end) {
		if ((end = strchr(p + 2, '}')) == NULL)
			break;
		name = xstrndup(p + 2, (size_t)(end - p - 2));
		if (*name != '\0' && env_name_ok(name))
			fn(name, arg);
		free(name);
	}
}

static void
add_var_cb(const char *name, void *arg)
{
	add_secret_var(arg, name);
}

/* Every ${NAME} of a command's text. */
static void
add_cmd_vars(struct runbook *rb, const struct rb_cmd *c)
{
	rb_cmd_vars(c, add_var_cb, rb);
}

/* Collects rb->secret_vars, then warns of a pass_env name that is none of
 * them: it is passed anyway, so it is most likely a typo. */
static void
collect_secret_vars(struct loader *L)
{
	struct runbook *rb = L->rb;
	const struct pass_env_at *at;
	const char *hint;
	size_t i;

	if (rb->has_redis)
		add_secret_var(rb, rb->redis.password_env);
	for (i = 0; i < rb->http.nprofiles; i++) {
		add_secret_var(rb, rb->http.profiles[i].cookie_env);
		add_secret_var(rb, rb->http.profiles[i].header_env);
	}
	for (i = 0; i < rb->nrollbacks; i++) {
		add_cmd_vars(rb, &rb->rollbacks[i].run);
		add_cmd_vars(rb, &rb->rollbacks[i].check);
	}
	for (i = 0; i < rb->nsteps; i++)
		if (rb->steps[i].kind == STEP_RUN)
			add_cmd_vars(rb, &rb->steps[i].cmd);
	if (rb->secret_vars == NULL)
		rb->secret_vars = xcalloc(1, sizeof *rb->secret_vars);
	for (i = 0; i < L->npass_at; i++) {
		at = &L->pass_at[i];
		if (runbook_secret_var(rb, at->n->str))
			continue;
		snprintf(L->ctx, sizeof L->ctx, "%s", at->ctx);
		hint = suggest(at->n->str, (const char *const *)rb->secret_vars);
		if (hint != NULL)
			warn(L, at->n, "%s: %s is not a secret of this runbook "
			    "(did you mean %s?)", P(L, "pass_env"), at->n->str,
			    hint);
		else
			warn(L, at->n, "%s: %s is not a secret of this runbook; "
			    "commands see it anyway", P(L, "pass_env"),
			    at->n->str);
	}
	L->ctx[0] = '\0';
}

bool
runbook_secret_var(const struct runbook *rb, const char *name)
{
	size_t i;

	for (i = 0; i < rb->nsecret_vars; i++)
		if (strcmp(rb->secret_vars[i], name) == 0)
			return true;
	return false;
}

/* The whole document -------------------------------------------------- */

static const struct ynode *
want_list(struct loader *L, const struct ynode *root, const char *key)
{
	const struct ynode *n = ymap_get(root, key);

	if (n == NULL || ynode_is_null(n))
		return NULL;
	if (n->type != YN_SEQ) {
		err(L, n, "%s: expected a list, found %s", key,
		    ynode_describe(n));
		return NULL;
	}
	return n;
}

static void
load_root(struct loader *L, const struct ynode *root)
{
	static const char *const keys[] = { "runbook", "owner", "environment",
	    "summary", "redis", "http", "routes", "rollback", "steps", NULL };
	struct runbook *rb = L->rb;
	const struct ynode *n;
	size_t i;

	if (root->type != YN_MAP) {
		err(L, root, "the top level must be a mapping with runbook, "
		    "owner and steps, not %s", ynode_describe(root));
		return;
	}
	check_keys(L, root, "", keys);
	rb->title = field_text(L, root, "runbook", true);
	rb->owner = field_text(L, root, "owner", true);
	rb->environment = field_text(L, root, "environment", false);
	if (rb->environment == NULL)
		rb->environment = xstrdup("unspecified");
	rb->summary = field_text(L, root, "summary", false);
	if ((n = ymap_get(root, "redis")) != NULL)
		load_redis(L, n);
	if ((n = ymap_get(root, "http")) != NULL)
		load_http(L, n);
	if ((n = want_list(L, root, "routes")) != NULL) {
		rb->routes = xcalloc(n->n, sizeof *rb->routes);
		rb->nroutes = n->n;
		for (i = 0; i < n->n; i++)
			load_route(L, n->items[i], i);
		L->ctx[0] = '\0';
	}
	if ((n = want_list(L, root, "rollback")) != NULL) {
		rb->rollbacks = xcalloc(n->n, sizeof *rb->rollbacks);
		rb->nrollbacks = n->n;
		for (i = 0; i < n->n; i++)
			load_rollback(L, n->items[i], i);
		L->ctx[0] = '\0';
	}
	n = want_list(L, root, "steps");
	if (n == NULL) {
		if (ymap_get(root, "steps") == NULL ||
		    ynode_is_null(ymap_get(root, "steps")))
			err(L, ymap_get(root, "steps") ? ymap_get(root,
			    "steps") : root, "steps: a runbook needs at least "
			    "one step");
		return;
	}
	if (n->n == 0 || n->n > MAX_STEPS) {
		err(L, n, "steps: a runbook has from 1 to %d steps, not %zu",
		    MAX_STEPS, n->n);
		if (n->n == 0)
			return;
	}
	rb->nsteps = n->n > MAX_STEPS ? MAX_STEPS : n->n;
	rb->steps = xcalloc(rb->nsteps, sizeof *rb->steps);
	L->compare = xcalloc(rb->nsteps, sizeof *L->compare);
	for (i = 0; i < rb->nsteps; i++)
		load_step(L, n->items[i], i);
	L->ctx[0] = '\0';
	resolve_compares(L);
	collect_secret_vars(L);
}

static void
sha256_hex(const char *buf, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL))
		fatal("SHA-256 failed");
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

static char *
runbook_dir(const char *path)
{
	char *copy = xstrdup(path), *dir, *real;

	dir = xstrdup(dirname(copy));
	free(copy);
	if ((real = realpath(dir, NULL)) != NULL) {
		free(dir);
		return real;
	}
	return dir;
}

struct runbook *
runbook_load_buffer(const char *path, const char *buf, size_t len,
    struct diags *d)
{
	struct ydoc doc;
	struct loader L;
	struct runbook *rb;
	size_t errors = d->nerrors;

	rb = xcalloc(1, sizeof *rb);
	rb->path = xstrdup(path);
	rb->dir = runbook_dir(path);
	rb->size = len;
	sha256_hex(buf, len, rb->sha256);

	memset(&L, 0, sizeof L);
	L.d = d;
	L.rb = rb;
	if (ydoc_parse(&doc, buf, len, d) == 0) {
		if (doc.root == NULL)
			diag_add(d, DIAG_ERROR, 1, 1, "the file is empty; a "
			    "runbook needs at least runbook, owner and steps");
		else
			load_root(&L, doc.root);
	}
	ydoc_free(&doc);
	free(L.compare);
	free(L.pass_at);
	diags_sort(d);
	if (d->nerrors > errors) {
		runbook_free(rb);
		return NULL;
	}
	return rb;
}

struct runbook *
runbook_load(const char *path, struct diags *d)
{
	struct runbook *rb;
	struct stat st;
	struct buf b;
	char chunk[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		diag_add(d, DIAG_ERROR, 0, 0, "cannot open: %s",
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		diag_add(d, DIAG_ERROR, 0, 0, "not a regular file");
		close(fd);
		return NULL;
	}
	if (st.st_size > (off_t)YAML_MAX_BYTES) {
		diag_add(d, DIAG_ERROR, 0, 0, "file is %lld bytes; the limit for "
		    "a runbook is %u bytes", (long long)st.st_size,
		    YAML_MAX_BYTES);
		close(fd);
		return NULL;
	}
	buf_init(&b);
	buf_add(&b, "", 0);
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			diag_add(d, DIAG_ERROR, 0, 0, "cannot read: %s",
			    strerror(errno));
			buf_free(&b);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		buf_add(&b, chunk, (size_t)n);
		if (b.len > YAML_MAX_BYTES)
			break;	/* grew while we read; the parser says so */
	}
	close(fd);
	rb = runbook_load_buffer(path, b.data, b.len, d);
	buf_free(&b);
	return rb;
}

void
runbook_free(struct runbook *rb)
{
	size_t i, j;

	if (rb == NULL)
		return;
	free(rb->path);
	free(rb->dir);
	free(rb->title);
	free(rb->owner);
	free(rb->environment);
	free(rb->summary);
	free(rb->redis.url);
	free(rb->redis.host);
	free(rb->redis.path);
	free(rb->redis.user);
	if (rb->redis.url_password != NULL) {
		explicit_bzero(rb->redis.url_password,
		    strlen(rb->redis.url_password));
		free(rb->redis.url_password);
	}
	free(rb->redis.password_env);
	free(rb->http.base_url);
	free(rb->http.ca_file);
	for (i = 0; i < rb->http.nheaders; i++) {
		free(rb->http.headers[i].name);
		free(rb->http.headers[i].value);
	}
	free(rb->http.headers);
	for (i = 0; i < rb->http.nprofiles; i++) {
		struct rb_profile *p = &rb->http.profiles[i];
		free(p->name);
		free(p->cookie_env);
		free(p->header_env);
		for (j = 0; j < p->nheaders; j++) {
			free(p->headers[j].name);
			free(p->headers[j].value);
		}
		free(p->headers);
	}
	free(rb->http.profiles);
	for (i = 0; i < rb->nroutes; i++) {
		struct rb_route *r = &rb->routes[i];
		free(r->name);
		free(r->path);
		free(r->url);
		for (j = 0; j < r->nkeys; j++)
			free(r->keys[j]);
		free(r->keys);
		expect_free(r->expect);
		expect_free(r->expect_logged_in);
	}
	free(rb->routes);
	for (i = 0; i < rb->nrollbacks; i++) {
		free(rb->rollbacks[i].name);
		cmd_free(&rb->rollbacks[i].run);
		cmd_free(&rb->rollbacks[i].check);
	}
	free(rb->rollbacks);
	for (i = 0; i < rb->nsteps; i++) {
		struct rb_step *s = &rb->steps[i];
		free(s->id);
		free(s->title);
		free(s->why);
		free(s->expect_text);
		free(s->owner_note);
		expect_free(s->expect);
		cmd_free(&s->cmd);
		free(s->instruction);
	}
	free(rb->steps);
	cmd_argv_free(rb->secret_vars);
	free(rb);
}

static size_t
find(const char *name, size_t n, const void *base, size_t stride,
    size_t offset)
{
	const char *p = base;
	const char *s;
	size_t i;

	for (i = 0; i < n; i++) {
		memcpy(&s, p + i * stride + offset, sizeof s);
		if (s != NULL && strcmp(s, name) == 0)
			return i;
	}
	return RB_NONE;
}

size_t
runbook_route(const struct runbook *rb, const char *name)
{
	return find(name, rb->nroutes, rb->routes, sizeof *rb->routes,
	    offsetof(struct rb_route, name));
}

size_t
runbook_rollback(const struct runbook *rb, const char *name)
{
	return find(name, rb->nrollbacks, rb->rollbacks, sizeof *rb->rollbacks,
	    offsetof(struct rb_rollback, name));
}

size_t
runbook_profile(const struct runbook *rb, const char *name)
{
	return find(name, rb->http.nprofiles, rb->http.profiles,
	    sizeof *rb->http.profiles, offsetof(struct rb_profile, name));
}

size_t
runbook_step(const struct runbook *rb, const char *id)
{
	return find(id, rb->nsteps, rb->steps, sizeof *rb->steps,
	    offsetof(struct rb_step, id));
}
