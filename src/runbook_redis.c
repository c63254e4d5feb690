/* runbook_redis.c: the redis: section of a runbook (see runbook_load.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "buf.h"
#include "runbook_load.h"
#include "xmalloc.h"

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
load_redis_url(struct rb_loader *L, const struct ynode *n, struct rb_redis *r)
{
	CURLU *u;
	CURLUcode rc;
	char *url, *s, *q;

	if ((url = rbl_text(L, n, "url")) == NULL)
		return;
	r->port = 6379;
	if (strncmp(url, "unix://", 7) == 0) {
		r->kind = REDIS_UNIX;
		r->path = xstrdup(url + 7);
		if ((q = strchr(r->path, '?')) != NULL) {
			*q++ = '\0';
			if (strncmp(q, "db=", 3) != 0 || !parse_db(q + 3, &r->db))
				rbl_err(L, n, "%s: after '?' only db=N (0 to 65535) "
				    "is understood", rbl_at(L, "url"));
		}
		if (r->path[0] != '/')
			rbl_err(L, n, "%s: a unix socket needs an absolute path, as "
			    "in unix:///run/redis/redis.sock", rbl_at(L, "url"));
		r->url = url;
		return;
	}
	if (strncmp(url, "rediss://", 9) == 0)
		r->tls.on = true;
	else if (strncmp(url, "redis+sentinel://", 17) == 0 ||
	    strncmp(url, "redis-sentinel://", 17) == 0 ||
	    strncmp(url, "sentinel://", 11) == 0) {
		rbl_err(L, n, "%s: a Sentinel is written as redis.sentinels: "
		    "[\"host:port\", ...] and redis.master: NAME, in place of "
		    "url", rbl_at(L, "url"));
		free(url);
		return;
	} else if (strncmp(url, "redis://", 8) != 0) {
		rbl_err(L, n, "%s: expected redis[s]://[USER[:PASSWORD]@]HOST"
		    "[:PORT][/DB] or unix:///PATH[?db=N]", rbl_at(L, "url"));
		free(url);
		return;
	}
	r->kind = REDIS_TCP;
	if ((u = curl_url()) == NULL)
		fatal("out of memory parsing a URL");
	rc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (rc != CURLUE_OK) {
		rbl_err(L, n, "%s: not a valid URL (%s)", rbl_at(L, "url"),
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
			rbl_err(L, n, "%s: the path must be a database number from "
			    "0 to 65535, as in redis://host:6379/0",
			    rbl_at(L, "url"));
		free(s);
	}
	if ((s = url_part(u, CURLUPART_QUERY)) != NULL) {
		rbl_err(L, n, "%s: redis:// and rediss:// URLs take no query "
		    "(TLS settings go in redis.tls)", rbl_at(L, "url"));
		free(s);
	}
	curl_url_cleanup(u);
	if (r->url_password != NULL) {
		rbl_warn(L, n, "%s: holds a password; prefer password_env so that "
		    "the runbook holds no secret", rbl_at(L, "url"));
		/* Keep the URL for display without the secret. */
		free(url);
		url = xprintf("%s://%s%s***@%s:%d/%d", r->tls.on ? "rediss" :
		    "redis", r->user ? r->user : "", ":", r->host ? r->host : "",
		    r->port, r->db);
	}
	r->url = url;
}

/* A relative file name is taken from the runbook's directory. */
static char *
in_dir(struct rb_loader *L, char *path)
{
	char *abs;

	if (path == NULL || path[0] == '/' || path[0] == '\0' ||
	    L->rb->dir == NULL)
		return path;
	abs = xprintf("%s/%s", L->rb->dir, path);
	free(path);
	return abs;
}

/* tls: true, false, or a mapping of the settings (which turns TLS on). */
static void
load_tls(struct rb_loader *L, const struct ynode *map, const char *key,
    struct rb_tls *t)
{
	static const char *const keys[] = { "ca_file", "cert_file",
	    "key_file", "server_name", "verify", NULL };
	const struct ynode *n = ymap_get(map, key);
	char ctx[sizeof L->ctx];

	t->verify = true;
	t->field = strcmp(key, "tls") == 0 ? "redis.tls" : "redis.sentinel_tls";
	if (n == NULL)
		return;
	if (n->type == YN_SCALAR) {
		bool on = false;

		rbl_field_bool(L, map, key, false, &on);
		t->on = t->on || on;
		return;
	}
	if (!rbl_want_map(L, n, key))
		return;
	t->on = true;
	memcpy(ctx, L->ctx, sizeof ctx);
	if (snprintf(L->ctx, sizeof L->ctx, "%s.%s", ctx, key) >=
	    (int)sizeof L->ctx)
		fatal("runbook context too long");
	rbl_check_keys(L, n, "", keys);
	t->ca_file = in_dir(L, rbl_field_text(L, n, "ca_file", false));
	t->cert_file = in_dir(L, rbl_field_text(L, n, "cert_file", false));
	t->key_file = in_dir(L, rbl_field_text(L, n, "key_file", false));
	t->server_name = rbl_field_text(L, n, "server_name", false);
	rbl_field_bool(L, n, "verify", true, &t->verify);
	if ((t->cert_file == NULL) != (t->key_file == NULL))
		rbl_err(L, n, "%s: cert_file and key_file go together (a client "
		    "certificate needs its key)", L->ctx);
	if (!t->verify)
		rbl_warn(L, ymap_get(n, "verify"), "%s: the server's certificate "
		    "is not checked: anyone on the path can read and change "
		    "what rehearse sends, the password included", rbl_at(L,
		    "verify"));
	memcpy(L->ctx, ctx, sizeof ctx);
}

/* host:port, host alone (port def), or [v6]:port. */
static bool
parse_hostport(const char *s, int def, struct rb_hostport *hp)
{
	const char *colon, *host = s, *end;
	char *e;
	long port = def;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return false;
		host = s + 1;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return false;
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon)
			return false;	/* a bare IPv6 address: needs [] */
		end = colon != NULL ? colon : s + strlen(s);
	}
	if (end == host)
		return false;
	if (colon != NULL) {
		errno = 0;
		port = strtol(colon + 1, &e, 10);
		if (colon[1] == '\0' || *e != '\0' || errno != 0 || port < 1 ||
		    port > 65535 || !isdigit((unsigned char)colon[1]))
			return false;
	}
	hp->host = xstrndup(host, (size_t)(end - host));
	hp->port = (int)port;
	return true;
}

static void
load_sentinels(struct rb_loader *L, const struct ynode *map,
    struct rb_redis *r)
{
	const struct ynode *n = ymap_get(map, "sentinels"), *it;
	char *s;
	size_t i;

	if (n->type != YN_SEQ || n->n == 0) {
		rbl_err(L, n, "%s: expected a list of \"host:port\", found %s",
		    rbl_at(L, "sentinels"), n->type == YN_SEQ ? "an empty list" :
		    ynode_describe(n));
		return;
	}
	if (n->n > 64) {
		rbl_err(L, n, "%s: %zu sentinels; at most 64", rbl_at(L,
		    "sentinels"), n->n);
		return;
	}
	r->sentinels = xcalloc(n->n, sizeof *r->sentinels);
	for (i = 0; i < n->n; i++) {
		it = n->items[i];
		if ((s = rbl_text(L, it, "sentinels")) == NULL)
			continue;
		if (!parse_hostport(s, 26379, &r->sentinels[r->nsentinels]))
			rbl_err(L, it, "%s: '%s' is not host:port (a port from 1 "
			    "to 65535; IPv6 as [addr]:port)", rbl_at(L,
			    "sentinels"), s);
		else
			r->nsentinels++;
		free(s);
	}
	if ((r->master = rbl_field_text(L, map, "master", true)) != NULL &&
	    strlen(r->master) > 255)
		rbl_err(L, ymap_get(map, "master"), "%s: longer than 255 bytes",
		    rbl_at(L, "master"));
	if (r->master != NULL && r->nsentinels > 0) {
		struct buf b;

		buf_init(&b);
		buf_addf(&b, "%s via sentinel%s", r->master,
		    r->nsentinels > 1 ? "s" : "");
		for (i = 0; i < r->nsentinels; i++)
			buf_addf(&b, strchr(r->sentinels[i].host, ':') ?
			    "%s[%s]:%d" : "%s%s:%d", i ? ", " : " ",
			    r->sentinels[i].host, r->sentinels[i].port);
		r->url = buf_detach(&b);
	}
	r->sentinel_user = rbl_field_text(L, map, "sentinel_username", false);
	r->sentinel_password_env = rbl_field_env(L, map,
	    "sentinel_password_env");
	load_tls(L, map, "sentinel_tls", &r->sentinel_tls);
}

/* redis.cluster (true, false, or absent: INFO cluster decides) and
 * redis.nodes, the other seed nodes of a declared cluster. */
static void
load_cluster(struct rb_loader *L, const struct ynode *map, struct rb_redis *r)
{
	const struct ynode *c = ymap_get(map, "cluster"),
	    *n = ymap_get(map, "nodes"), *it;
	bool on = false;
	char *s;
	size_t i;

	if (c != NULL) {
		rbl_field_bool(L, map, "cluster", false, &on);
		r->cluster = on ? RB_CLUSTER_ON : RB_CLUSTER_OFF;
	}
	if (on && r->nsentinels > 0)
		rbl_err(L, c, "%s: a Sentinel-managed master is not a cluster; "
		    "give either sentinels or cluster", rbl_at(L, "cluster"));
	else if (on && r->kind == REDIS_UNIX)
		rbl_err(L, c, "%s: a cluster's nodes are reached over TCP; the "
		    "url names a unix socket", rbl_at(L, "cluster"));
	else if (on && r->db != 0)
		rbl_err(L, c, "%s: a cluster has only database 0; the url names "
		    "database %d", rbl_at(L, "cluster"), r->db);
	if (n == NULL)
		return;
	if (!on) {
		rbl_err(L, n, "%s: only with cluster: true (the seed nodes of a "
		    "cluster)", rbl_at(L, "nodes"));
		return;
	}
	if (n->type != YN_SEQ || n->n == 0 || n->n > 64) {
		rbl_err(L, n, "%s: expected a list of 1 to 64 \"host:port\", "
		    "found %s", rbl_at(L, "nodes"), n->type != YN_SEQ ?
		    ynode_describe(n) : n->n == 0 ? "an empty list" :
		    "more than 64");
		return;
	}
	r->nodes = xcalloc(n->n, sizeof *r->nodes);
	for (i = 0; i < n->n; i++) {
		it = n->items[i];
		if ((s = rbl_text(L, it, "nodes")) == NULL)
			continue;
		if (!parse_hostport(s, 6379, &r->nodes[r->nnodes]))
			rbl_err(L, it, "%s: '%s' is not host:port (a port from 1 "
			    "to 65535; IPv6 as [addr]:port)", rbl_at(L, "nodes"),
			    s);
		else
			r->nnodes++;
		free(s);
	}
}

void
rbl_load_redis(struct rb_loader *L, const struct ynode *n)
{
	static const char *const keys[] = { "url", "username", "password_env",
	    "tls", "db", "sentinels", "master", "sentinel_username",
	    "sentinel_password_env", "sentinel_tls", "timeout_ms", "refresh_s",
	    "max_reply_mb", "cluster", "nodes", NULL };
	static const char *const sentinel_only[] = { "master",
	    "sentinel_username", "sentinel_password_env", "sentinel_tls", NULL };
	struct rb_redis *r = &L->rb->redis;
	const struct ynode *u, *x;
	char *user;
	long db;
	size_t i;

	if (!rbl_want_map(L, n, "redis"))
		return;
	L->rb->has_redis = true;
	snprintf(L->ctx, sizeof L->ctx, "redis");
	rbl_check_keys(L, n, "", keys);	/* the context names redis */
	u = ymap_get(n, "url");
	if (ymap_get(n, "sentinels") != NULL) {
		if (u != NULL)
			rbl_err(L, u, "%s: give either url or sentinels (with "
			    "sentinels, the master's address is asked of them)",
			    rbl_at(L, "url"));
		r->kind = REDIS_TCP;
		load_sentinels(L, n, r);
		rbl_field_long(L, n, "db", 0, 65535, 0, &db);
		r->db = (int)db;
	} else {
		if (u == NULL)
			rbl_err(L, n, "%s is missing (or give sentinels and "
			    "master)", rbl_at(L, "url"));
		else
			load_redis_url(L, u, r);
		for (i = 0; sentinel_only[i] != NULL; i++)
			if ((x = ymap_get(n, sentinel_only[i])) != NULL)
				rbl_err(L, x, "%s: only with sentinels",
				    rbl_at(L, sentinel_only[i]));
		if ((x = ymap_get(n, "db")) != NULL)
			rbl_err(L, x, "%s: with url, the database is the URL's "
			    "path, as in redis://host:6379/2", rbl_at(L, "db"));
	}
	if ((user = rbl_field_text(L, n, "username", false)) != NULL) {
		if (r->user != NULL && strcmp(r->user, user) != 0)
			rbl_err(L, ymap_get(n, "username"), "%s: '%s', but the "
			    "url names the user '%s'", rbl_at(L, "username"),
			    user, r->user);
		free(r->user);
		r->user = user;
	}
	if (r->user != NULL && strlen(r->user) > 255)
		rbl_err(L, n, "%s: the user name is longer than 255 bytes",
		    rbl_at(L, "username"));
	x = ymap_get(n, "tls");
	if (x != NULL && u != NULL && r->kind == REDIS_TCP && !r->tls.on) {
		bool on = x->type == YN_MAP;

		if (!on)
			rbl_field_bool(L, n, "tls", false, &on);
		if (on)
			rbl_err(L, x, "%s: the url says redis:// (plaintext); "
			    "use rediss:// for TLS", rbl_at(L, "tls"));
	}
	if (r->kind == REDIS_UNIX && x != NULL)
		rbl_err(L, x, "%s: a unix socket does not take TLS",
		    rbl_at(L, "tls"));
	load_tls(L, n, "tls", &r->tls);
	load_cluster(L, n, r);
	r->password_env = rbl_field_env(L, n, "password_env");
	rbl_field_long(L, n, "timeout_ms", 1, 60000, 1000, &r->timeout_ms);
	rbl_field_double(L, n, "refresh_s", 0.2, 3600, 2, &r->refresh_s);
	rbl_field_long(L, n, "max_reply_mb", 1, 4096, 64, &r->max_reply_mb);
	L->ctx[0] = '\0';
}
