/* runbook_http.c: the http: section and the routes of a runbook (see
 * runbook_load.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "runbook_load.h"
#include "xmalloc.h"

/* HTTP ---------------------------------------------------------------- */

static bool
http_url_ok(struct rb_loader *L, const struct ynode *n, const char *field,
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
		rbl_err(L, n, "%s: not a valid URL (%s)", rbl_at(L, field),
		    curl_url_strerror(rc));
		ok = false;
	} else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0)) {
		rbl_err(L, n, "%s: must be an http:// or https:// URL", rbl_at(L, field));
		ok = false;
	}
	curl_free(scheme);
	curl_url_cleanup(u);
	return ok;
}

static void
load_profile(struct rb_loader *L, const struct ynode *k, const struct ynode *n,
    struct rb_profile *p)
{
	static const char *const keys[] = { "cookie_env", "header_env",
	    "headers", NULL };
	const struct ynode *h;

	p->name = xstrdup(k->str);
	snprintf(L->ctx, sizeof L->ctx, "http.profiles.%s", p->name);
	if (strcmp(p->name, "anonymous") == 0)
		rbl_err(L, k, "%s: 'anonymous' is reserved for requests without "
		    "credentials", L->ctx);
	rbl_check_name(L, k, "name", p->name);
	if (!rbl_want_map(L, n, "profile"))
		goto out;
	rbl_check_keys(L, n, "", keys);
	p->cookie_env = rbl_field_env(L, n, "cookie_env");
	p->header_env = rbl_field_env(L, n, "header_env");
	if ((h = ymap_get(n, "headers")) != NULL)
		rbl_load_headers(L, h, "headers", &p->headers, &p->nheaders);
	if (ymap_get(n, "cookie_env") == NULL &&
	    ymap_get(n, "header_env") == NULL && h == NULL)
		rbl_err(L, n, "%s: a profile needs cookie_env, header_env or "
		    "headers", L->ctx);
out:
	L->ctx[0] = '\0';
}

void
rbl_load_http(struct rb_loader *L, const struct ynode *n)
{
	static const char *const keys[] = { "base_url", "timeout_ms",
	    "headers", "insecure", "ca_file", "profiles", NULL };
	struct rb_http *h = &L->rb->http;
	const struct ynode *v, *k;
	size_t i;

	if (!rbl_want_map(L, n, "http"))
		return;
	L->rb->has_http = true;
	rbl_check_keys(L, n, "http", keys);
	snprintf(L->ctx, sizeof L->ctx, "http");
	if ((h->base_url = rbl_field_text(L, n, "base_url", false)) != NULL &&
	    !http_url_ok(L, ymap_get(n, "base_url"), "base_url", h->base_url)) {
		free(h->base_url);
		h->base_url = NULL;
	}
	rbl_field_long(L, n, "timeout_ms", 1, 600000, 5000, &h->timeout_ms);
	rbl_field_bool(L, n, "insecure", false, &h->insecure);
	h->ca_file = rbl_field_text(L, n, "ca_file", false);
	if ((v = ymap_get(n, "headers")) != NULL)
		rbl_load_headers(L, v, "headers", &h->headers, &h->nheaders);
	L->ctx[0] = '\0';
	if ((v = ymap_get(n, "profiles")) == NULL)
		return;
	if (!rbl_want_map(L, v, "http.profiles"))
		return;
	h->profiles = xcalloc(v->n, sizeof *h->profiles);
	for (i = 0; i < v->n; i++) {
		k = v->pairs[i].key;
		if (ynode_is_null(k) || k->len == 0 ||
		    strlen(k->str) != k->len) {
			rbl_err(L, k, "http.profiles: a profile needs a name");
			continue;
		}
		load_profile(L, k, v->pairs[i].value, &h->profiles[h->nprofiles++]);
	}
}

static const char *
route_name_at(const struct runbook *rb, size_t i)
{
	return rb->routes[i].name;
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
load_keys(struct rb_loader *L, const struct ynode *n, struct rb_route *r)
{
	const struct ynode *item;
	size_t i, count = n->type == YN_SEQ ? n->n : 1;
	char *k;

	if (n->type == YN_MAP) {
		rbl_err(L, n, "%s: expected a pattern or a list of patterns, found "
		    "a mapping", rbl_at(L, "keys"));
		return;
	}
	if (count == 0) {
		rbl_err(L, n, "%s: the list is empty; leave keys out instead",
		    rbl_at(L, "keys"));
		return;
	}
	r->keys = xcalloc(count, sizeof *r->keys);
	for (i = 0; i < count; i++) {
		item = n->type == YN_SEQ ? n->items[i] : n;
		if ((k = rbl_text(L, item, "keys")) == NULL)
			continue;
		if (pattern_matches_all(k)) {
			char *s = rbl_shown(item);
			rbl_err(L, item, "%s: pattern '%s' matches every key; name "
			    "the keys of this route", rbl_at(L, "keys"), s);
			free(s);
			free(k);
			continue;
		}
		r->keys[r->nkeys++] = k;
	}
}

void
rbl_load_route(struct rb_loader *L, const struct ynode *n, size_t idx)
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
	if (!rbl_want_map(L, n, "route"))
		return;
	r->name = rbl_load_name(L, n, "route", idx, route_name_at);
	rbl_check_keys(L, n, "", keys);
	r->path = rbl_field_text(L, n, "path", false);
	r->url = rbl_field_text(L, n, "url", false);
	if (r->path != NULL && r->url != NULL)
		rbl_err(L, ymap_get(n, "url"), "%s: give path or url, not both",
		    rbl_at(L, "url"));
	if (r->path != NULL && r->path[0] != '/')
		rbl_err(L, ymap_get(n, "path"), "%s: must start with '/'",
		    rbl_at(L, "path"));
	if (r->path != NULL && strpbrk(r->path, " \t\r\n") != NULL)
		rbl_err(L, ymap_get(n, "path"), "%s: cannot hold spaces or line "
		    "breaks; percent-encode them", rbl_at(L, "path"));
	if (r->url != NULL)
		http_url_ok(L, ymap_get(n, "url"), "url", r->url);
	if ((m = rbl_field_text(L, n, "method", false)) != NULL) {
		if (strcmp(m, "HEAD") == 0)
			r->head = true;
		else if (strcmp(m, "GET") != 0)
			rbl_err(L, ymap_get(n, "method"), "%s: must be GET or HEAD "
			    "(probes never change anything)", rbl_at(L, "method"));
		free(m);
	}
	rbl_field_bool(L, n, "follow_redirects", false, &r->follow_redirects);
	if ((v = ymap_get(n, "keys")) != NULL)
		load_keys(L, v, r);
	rbl_field_long(L, n, "max_keys", 1, 10000000, 10000, &r->max_keys);
	rbl_field_bool(L, n, "allow_broad", false, &r->allow_broad);
	if (ymap_get(n, "max_keys") != NULL && r->nkeys == 0 &&
	    ymap_get(n, "keys") == NULL)
		rbl_warn(L, ymap_get(n, "max_keys"), "%s: has no effect without "
		    "keys", rbl_at(L, "max_keys"));
	if ((v = ymap_get(n, "expect")) != NULL)
		r->expect = rbl_load_expect(L, v, "expect");
	if ((v = ymap_get(n, "expect_logged_in")) != NULL)
		r->expect_logged_in = rbl_load_expect(L, v, "expect_logged_in");
	if (r->path != NULL && (!rb->has_http || rb->http.base_url == NULL))
		rbl_err(L, ymap_get(n, "path"), "%s: a path needs http.base_url "
		    "(or give the route a full url)", rbl_at(L, "path"));
	if ((r->nkeys > 0 || ymap_get(n, "keys") != NULL) && !rb->has_redis)
		rbl_err(L, ymap_get(n, "keys"), "%s: keys need a redis: section "
		    "with the server's url", rbl_at(L, "keys"));
}

