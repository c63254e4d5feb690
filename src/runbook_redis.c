/* runbook_redis.c: the redis: section of a runbook (see runbook_load.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

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
	if (strncmp(url, "rediss://", 9) == 0) {
		rbl_err(L, n, "%s: rediss:// (TLS) is not supported; use redis:// "
		    "or unix://", rbl_at(L, "url"));
		free(url);
		return;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		rbl_err(L, n, "%s: expected redis://[USER[:PASSWORD]@]HOST[:PORT]"
		    "[/DB] or unix:///PATH[?db=N]", rbl_at(L, "url"));
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
		rbl_err(L, n, "%s: redis:// URLs take no query", rbl_at(L, "url"));
		free(s);
	}
	curl_url_cleanup(u);
	if (r->url_password != NULL) {
		rbl_warn(L, n, "%s: holds a password; prefer password_env so that "
		    "the runbook holds no secret", rbl_at(L, "url"));
		/* Keep the URL for display without the secret. */
		free(url);
		url = xprintf("redis://%s%s***@%s:%d/%d", r->user ? r->user :
		    "", ":", r->host ? r->host : "", r->port, r->db);
	}
	r->url = url;
}

void
rbl_load_redis(struct rb_loader *L, const struct ynode *n)
{
	static const char *const keys[] = { "url", "password_env",
	    "timeout_ms", "refresh_s", "max_reply_mb", NULL };
	struct rb_redis *r = &L->rb->redis;
	const struct ynode *u;

	if (!rbl_want_map(L, n, "redis"))
		return;
	L->rb->has_redis = true;
	snprintf(L->ctx, sizeof L->ctx, "redis");
	rbl_check_keys(L, n, "", keys);	/* the context names redis */
	if ((u = ymap_get(n, "url")) == NULL)
		rbl_err(L, n, "%s is missing", rbl_at(L, "url"));
	else
		load_redis_url(L, u, r);
	r->password_env = rbl_field_env(L, n, "password_env");
	rbl_field_long(L, n, "timeout_ms", 1, 60000, 1000, &r->timeout_ms);
	rbl_field_double(L, n, "refresh_s", 0.2, 3600, 2, &r->refresh_s);
	rbl_field_long(L, n, "max_reply_mb", 1, 4096, 64, &r->max_reply_mb);
	L->ctx[0] = '\0';
}

