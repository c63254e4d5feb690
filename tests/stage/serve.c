/* serve.c: see serve.h. */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "serve.h"
#include "stage.h"

/* Longest version string and user name taken from files and requests. */
#define SERVE_VERSION_MAX 64
#define SERVE_NAME_MAX 32

/* Requests between their first call and serve_completed(). */
static atomic_int serve_requests;

/* The version in the version file: first word of the first line. */
static void
serve_version(const struct stage *st, char *out, size_t outlen)
{
	FILE	*f;
	char	 line[256];
	size_t	 n = 0;
	char	*p;

	out[0] = '\0';
	if ((f = fopen(st->version_file, "r")) != NULL) {
		if (fgets(line, sizeof line, f) != NULL) {
			for (p = line; *p == ' ' || *p == '\t'; p++)
				continue;
			/* Printable ASCII only: it goes into a header. */
			while (*p > ' ' && *p < 0x7f && n + 1 < outlen)
				out[n++] = *p++;
			out[n] = '\0';
		}
		fclose(f);
	}
	if (out[0] == '\0')
		snprintf(out, outlen, "%s", STAGE_DEFAULT_VERSION);
}

/* A user name is 1 to 32 of [A-Za-z0-9_.]. */
static int
serve_name_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > SERVE_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '.'))
			return 0;
	}
	return 1;
}

/* The user of a valid stage_session=s-NAME-HEX cookie; 0 when anonymous. */
static int
serve_session(struct MHD_Connection *conn, char *name, size_t namelen)
{
	const char	*v, *dash;
	size_t		 len;

	v = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND,
	    "stage_session");
	if (v == NULL || strncmp(v, "s-", 2) != 0)
		return 0;
	v += 2;
	if ((dash = strrchr(v, '-')) == NULL || dash[1] == '\0' ||
	    strspn(dash + 1, "0123456789abcdef") != strlen(dash + 1))
		return 0;
	len = (size_t)(dash - v);
	if (!serve_name_ok(v, len) || len >= namelen)
		return 0;
	memcpy(name, v, len);
	name[len] = '\0';
	return 1;
}

/* Sleep for the cost of a database query. */
static void
serve_db(const struct stage *st)
{
	struct timespec	ts;

	ts.tv_sec = st->db_delay_ms / 1000;
	ts.tv_nsec = (long)(st->db_delay_ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

/* Append s to f with HTML special characters escaped. */
static void
serve_html_escape(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
			break;
		}
	}
}

/* The page at path as the database would render it; user NULL: anonymous. */
static char *
serve_render(const char *path, const char *version, const char *user)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		fatal("open_memstream: out of memory");
	fputs("<!doctype html>\n<html><head><meta charset=\"utf-8\">"
	    "<title>", f);
	serve_html_escape(f, path);
	fputs(" - stage</title></head>\n<body>\n<h1>", f);
	serve_html_escape(f, path);
	fputs("</h1>\n", f);
	if (user != NULL) {
		fputs("<p class=\"user\">Hello, ", f);
		serve_html_escape(f, user);
		fputs("</p>\n", f);
	} else
		fputs("<p class=\"user\">Welcome, visitor. "
		    "<a href=\"/login\">Log in</a></p>\n", f);
	fputs("<p>Rendered by stage ", f);
	serve_html_escape(f, version);
	fputs(".</p>\n</body></html>\n", f);
	if (fclose(f) != 0 || buf == NULL)
		fatal("open_memstream: out of memory");
	return buf;
}

/* A response owning body, with the headers every response carries. */
static struct MHD_Response *
serve_response(char *body, const char *type, const char *version)
{
	struct MHD_Response	*r;

	r = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL)
		fatal("MHD_create_response_from_buffer failed");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "X-Stage-Version", version);
	return r;
}

static serve_result
serve_queue(struct MHD_Connection *conn, unsigned int status,
    struct MHD_Response *r)
{
	serve_result	ret;

	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A short plain-text answer that no cache may keep. */
static serve_result
serve_text(struct MHD_Connection *conn, unsigned int status,
    const char *version, const char *text)
{
	struct MHD_Response	*r;

	r = serve_response(xstrdup(text), "text/plain; charset=utf-8",
	    version);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	return serve_queue(conn, status, r);
}

static serve_result
serve_not_allowed(struct MHD_Connection *conn, const char *version,
    const char *allow)
{
	struct MHD_Response	*r;

	r = serve_response(xstrdup("method not allowed\n"),
	    "text/plain; charset=utf-8", version);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	return serve_queue(conn, MHD_HTTP_METHOD_NOT_ALLOWED, r);
}

/* Replace anything but printable ASCII: the text goes into a header. */
static void
serve_header_safe(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s < ' ' || *s >= 0x7f)
			*s = '?';
	}
}

/* 16 random hex digits for a session id. */
static void
serve_random_hex(char *out, size_t outlen)
{
	static atomic_uint	 counter;
	unsigned char		 b[8];
	FILE			*f;
	size_t			 i, got = 0;
	unsigned long		 mix;

	if ((f = fopen("/dev/urandom", "rb")) != NULL) {
		got = fread(b, 1, sizeof b, f);
		fclose(f);
	}
	if (got != sizeof b) {
		/* Unguessable is not needed here: unique is enough. */
		mix = (unsigned long)time(NULL) * 2654435761UL ^
		    (unsigned long)atomic_fetch_add(&counter, 1) << 20 ^
		    (unsigned long)clock();
		for (i = 0; i < sizeof b; i++, mix >>= 8)
			b[i] = (unsigned char)mix;
	}
	for (i = 0; i < sizeof b && 2 * i + 2 < outlen; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static serve_result
serve_login(struct MHD_Connection *conn, const char *version)
{
	struct MHD_Response	*r;
	const char		*user;
	char			 hex[17], *cookie;

	user = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
	    "user");
	if (user == NULL || *user == '\0')
		user = "alice";
	if (!serve_name_ok(user, strlen(user)))
		return serve_text(conn, MHD_HTTP_BAD_REQUEST, version,
		    "bad user name: 1 to 32 of A-Z a-z 0-9 _ .\n");
	serve_random_hex(hex, sizeof hex);
	cookie = xprintf("stage_session=s-%s-%s; Path=/; HttpOnly", user,
	    hex);
	r = serve_response(xprintf("logged in as %s\n", user),
	    "text/plain; charset=utf-8", version);
	MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	free(cookie);
	return serve_queue(conn, MHD_HTTP_OK, r);
}

/* Split a cache value "STORED-AT\nPAGE"; 0 when it is not one. */
static int
serve_unpack(const char *value, long long *stored, const char **page)
{
	char	*end;

	*stored = strtoll(value, &end, 10);
	if (end == value || *end != '\n')
		return 0;
	*page = end + 1;
	return 1;
}

/* The cache-control headers of a page that anyone may cache. */
static void
serve_public(struct MHD_Response *r, const struct stage *st,
    const char *xcache, long long age, int db_calls)
{
	char	buf[64];

	snprintf(buf, sizeof buf, "public, max-age=%d", st->ttl);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, buf);
	MHD_add_response_header(r, "X-Cache", xcache);
	snprintf(buf, sizeof buf, "%lld", age);
	MHD_add_response_header(r, MHD_HTTP_HEADER_AGE, buf);
	snprintf(buf, sizeof buf, "%d", db_calls);
	MHD_add_response_header(r, "X-DB-Calls", buf);
}

static serve_result
serve_page(struct MHD_Connection *conn, const struct stage *st,
    const char *path, const char *version)
{
	struct MHD_Response	*r;
	char			 user[SERVE_NAME_MAX + 1], err[160] = "";
	char			*key, *value = NULL, *body;
	const char		*page;
	enum cache_result	 res;
	long long		 stored, now;
	int			 logged_in, shared;

	logged_in = serve_session(conn, user, sizeof user);
	/* 1.5.2 forgets that a logged-in page is personal. */
	shared = !logged_in || strcmp(version, STAGE_BUGGY_VERSION) == 0;
	if (!shared) {
		serve_db(st);
		r = serve_response(serve_render(path, version, user),
		    "text/html; charset=utf-8", version);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
		    "private, no-store");
		MHD_add_response_header(r, "X-Cache", "BYPASS");
		MHD_add_response_header(r, "X-DB-Calls", "1");
		return serve_queue(conn, MHD_HTTP_OK, r);
	}

	key = xprintf("anp:page:%s", path);
	res = cache_get(st->cache, key, &value, err, sizeof err);
	if (res == CACHE_HIT && serve_unpack(value, &stored, &page)) {
		now = (long long)time(NULL);
		r = serve_response(xstrdup(page), "text/html; charset=utf-8",
		    version);
		serve_public(r, st, "HIT", now > stored ? now - stored : 0, 0);
	} else {
		serve_db(st);
		body = serve_render(path, version, logged_in ? user : NULL);
		if (res != CACHE_ERROR) {
			free(value);
			value = xprintf("%lld\n%s", (long long)time(NULL), body);
			if (cache_set(st->cache, key, value, st->ttl, err,
			    sizeof err) == 0)
				err[0] = '\0';
		}
		r = serve_response(body, "text/html; charset=utf-8", version);
		serve_public(r, st, "MISS", 0, 1);
		if (err[0] != '\0') {
			serve_header_safe(err);
			MHD_add_response_header(r, "X-Cache-Error", err);
		}
	}
	free(value);
	free(key);
	return serve_queue(conn, MHD_HTTP_OK, r);
}

/* "/", or anything under /blog/ or /shop/. */
static int
serve_is_page(const char *url)
{
	return strcmp(url, "/") == 0 || strncmp(url, "/blog/", 6) == 0 ||
	    strncmp(url, "/shop/", 6) == 0;
}

serve_result
serve_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *http_version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	static int		 started;
	const struct stage	*st = cls;
	char			 version[SERVE_VERSION_MAX];
	char			 line[SERVE_VERSION_MAX + 1];
	int			 get, post;

	(void)http_version;
	(void)upload_data;
	/* First call: headers only.  Then any body, discarded. */
	if (*con_cls == NULL) {
		*con_cls = &started;
		atomic_fetch_add(&serve_requests, 1);
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}

	serve_version(st, version, sizeof version);
	get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;

	if (strcmp(url, "/health") == 0) {
		if (!get)
			return serve_not_allowed(conn, version, "GET, HEAD");
		return serve_text(conn, MHD_HTTP_OK, version, "ok\n");
	}
	if (strcmp(url, "/version") == 0) {
		if (!get)
			return serve_not_allowed(conn, version, "GET, HEAD");
		snprintf(line, sizeof line, "%s\n", version);
		return serve_text(conn, MHD_HTTP_OK, version, line);
	}
	if (strcmp(url, "/login") == 0) {
		if (!get && !post)
			return serve_not_allowed(conn, version,
			    "GET, HEAD, POST");
		return serve_login(conn, version);
	}
	if (serve_is_page(url)) {
		if (!get)
			return serve_not_allowed(conn, version, "GET, HEAD");
		return serve_page(conn, st, url, version);
	}
	return serve_text(conn, MHD_HTTP_NOT_FOUND, version, "not found\n");
}

void
serve_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	if (*con_cls != NULL) {
		*con_cls = NULL;
		atomic_fetch_sub(&serve_requests, 1);
	}
}

int
serve_active(void)
{
	return atomic_load(&serve_requests);
}
