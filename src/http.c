/* http.c: see http.h.  libcurl's multi interface driven by libevent: curl
 * tells us which sockets to watch (socket callback) and when to wake it
 * (timer callback); we call curl_multi_socket_action from those events. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "buf.h"
#include "http.h"
#include "textesc.h"
#include "xmalloc.h"

struct http {
	struct loop	*loop;
	CURLM		*multi;
	struct event	*timer;
	int		 running;
};

struct http_probe {
	struct http	*h;
	CURL		*easy;
	struct curl_slist *hdrs;
	char		*url;		/* of the hop in flight */
	bool		 head;
	bool		 follow;
	bool		 credentials;	/* cookie, auth header or profile headers */
	long		 timeout_ms;
	double		 started;
	double		 prior_ms;	/* earlier hops of a redirect chain */
	char		 errbuf[CURL_ERROR_SIZE];
	bool		 header_overflow;
	bool		 body_overflow;
	bool		 in_headers;
	struct http_result res;
	http_done_fn	 done;
	void		*arg;
	struct http_req	 req;		/* for redirects: the same request */
	struct event	*refused;	/* reports a request never sent */
};

/* A socket curl wants watched. */
struct sock {
	struct http	*h;
	curl_socket_t	 fd;
	struct event	*ev;
};

static void	check_done(struct http *);

static void
on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct sock *s = arg;
	struct http *h = s->h;
	int flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, fd, flags, &h->running);
	check_done(h);
}

static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	struct sock *s = socketp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_free(s->ev);
			free(s);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->h = h;
		s->fd = fd;
		curl_multi_assign(h->multi, fd, s);
	} else
		event_free(s->ev);
	s->ev = event_new(loop_base(h->loop), fd, kind, on_socket_event, s);
	event_add(s->ev, NULL);
	return 0;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;

	(void)fd;
	(void)what;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &h->running);
	check_done(h);
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(h->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(h->timer, &tv);
	return 0;
}

/* Close-on-exec ------------------------------------------------------------
 *
 * libcurl opens its sockets without FD_CLOEXEC.  A command rehearse runs
 * closes every descriptor above 2 before exec anyway; marking them too
 * keeps them from any other exec (a library's helper, a later change). */

static void
set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl >= 0 && !(fl & FD_CLOEXEC))
		fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* Called by curl for each socket it opens, before it connects. */
static int
sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	(void)arg;
	(void)purpose;
	set_cloexec(fd);
	return CURL_SOCKOPT_OK;
}

#define FD_SEEN_MAX	4096	/* descriptors above are not tracked */

/* Marks in seen (FD_SEEN_MAX bits) the descriptors open now. */
static void
fds_open(unsigned char *seen)
{
	struct dirent *e;
	DIR *d;
	long fd;
	char *end;

	memset(seen, 0, FD_SEEN_MAX / 8);
	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		fd = strtol(e->d_name, &end, 10);
		if (*end == '\0' && end != e->d_name && fd >= 0 &&
		    fd < FD_SEEN_MAX && fd != dirfd(d))
			seen[fd / 8] |= (unsigned char)(1u << (fd % 8));
	}
	closedir(d);
}

struct http *
http_new(struct loop *l)
{
	struct http *h = xcalloc(1, sizeof *h);
	unsigned char before[FD_SEEN_MAX / 8], after[FD_SEEN_MAX / 8];
	int fd;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatal("cannot initialise libcurl");
	h->loop = l;
	/* curl_multi_init() makes a socketpair to wake itself, without
	 * close-on-exec (libcurl 7.88) and out of reach of any option:
	 * what it opened is marked here. */
	fds_open(before);
	if ((h->multi = curl_multi_init()) == NULL)
		fatal("cannot create a libcurl multi handle");
	fds_open(after);
	for (fd = 0; fd < FD_SEEN_MAX; fd++)
		if ((after[fd / 8] & ~before[fd / 8]) & (1u << (fd % 8)))
			set_cloexec(fd);
	h->timer = evtimer_new(loop_base(l), on_timer, h);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

/* Results ---------------------------------------------------------------- */

static void
headers_clear(struct http_result *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->nheaders = 0;
}

static void
result_clear(struct http_result *r)
{
	headers_clear(r);
	free(r->body);
	free(r->final_url);
	memset(r, 0, sizeof *r);
}

const char *
http_header(const struct http_result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static size_t
header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_probe *p = arg;
	struct http_result *r = &p->res;
	size_t len = size * n, nl, vl;
	const char *colon, *v;

	r->header_bytes += len;
	if (r->header_bytes > HTTP_MAX_HEADERS) {
		p->header_overflow = true;
		return 0;	/* aborts the transfer */
	}
	nl = len;
	while (nl > 0 && (data[nl - 1] == '\n' || data[nl - 1] == '\r'))
		nl--;
	if (nl >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		headers_clear(r);	/* a new response: 1xx or a redirect */
		p->in_headers = true;
		return len;
	}
	if (nl == 0) {
		p->in_headers = false;
		return len;
	}
	if ((colon = memchr(data, ':', nl)) == NULL)
		return len;	/* a folded or malformed line: ignored */
	v = colon + 1;
	vl = nl - (size_t)(v - data);
	while (vl > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	r->headers = xreallocarray(r->headers, r->nheaders + 1,
	    sizeof *r->headers);
	r->headers[r->nheaders].name = xstrndup(data, (size_t)(colon - data));
	r->headers[r->nheaders].value = xmalloc(vl + 1);
	memcpy(r->headers[r->nheaders].value, v, vl);
	r->headers[r->nheaders].value[vl] = '\0';
	r->nheaders++;
	return len;
}

static size_t
write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_probe *p = arg;
	struct http_result *r = &p->res;
	size_t len = size * n, keep;

	if (r->size + len > HTTP_MAX_BODY) {
		p->body_overflow = true;
		return 0;
	}
	r->size += len;
	if (r->body_len < HTTP_KEEP_BODY) {
		keep = HTTP_KEEP_BODY - r->body_len;
		if (keep > len)
			keep = len;
		if (r->body == NULL)
			r->body = xmalloc(HTTP_KEEP_BODY + 1);
		memcpy(r->body + r->body_len, data, keep);
		r->body_len += keep;
		r->body[r->body_len] = '\0';
		if (keep < len)
			r->body_cut = true;
	} else
		r->body_cut = true;
	return len;
}

/* Requests --------------------------------------------------------------- */

static bool
add_header(struct http_probe *p, const char *name, const char *value)
{
	char *line;

	if (strpbrk(value, "\r\n") != NULL)
		return false;
	line = xprintf("%s: %s", name, value);
	p->hdrs = curl_slist_append(p->hdrs, line);
	explicit_bzero(line, strlen(line));
	free(line);
	return true;
}

static int
setup_easy(struct http_probe *p)
{
	const struct http_req *q = &p->req;
	CURL *e;
	size_t i;
	char ua[64];

	if ((p->easy = e = curl_easy_init()) == NULL)
		fatal("cannot create a libcurl handle");
	p->hdrs = NULL;
	for (i = 0; i < q->nheaders; i++)
		add_header(p, q->headers[i].name, q->headers[i].value);
	for (i = 0; i < q->nheaders2; i++)
		add_header(p, q->headers2[i].name, q->headers2[i].value);
	if (q->cookie != NULL && !add_header(p, "Cookie", q->cookie)) {
		snprintf(p->res.error, sizeof p->res.error, "the cookie holds "
		    "a line break; not sent");
		return -1;
	}
	if (q->auth_header != NULL) {
		if (strpbrk(q->auth_header, "\r\n") != NULL ||
		    strchr(q->auth_header, ':') == NULL) {
			snprintf(p->res.error, sizeof p->res.error, "the "
			    "header_env value is not one \"Name: value\" line; "
			    "not sent");
			return -1;
		}
		p->hdrs = curl_slist_append(p->hdrs, q->auth_header);
	}
	snprintf(ua, sizeof ua, "User-Agent: rehearse/%s", PACKAGE_VERSION);
	p->hdrs = curl_slist_append(p->hdrs, ua);
	curl_easy_setopt(e, CURLOPT_URL, p->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->hdrs);
	curl_easy_setopt(e, CURLOPT_NOBODY, p->head ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);	/* we do it */
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, p->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, p->timeout_ms);
	/* A trickle: under 64 bytes a second for 2 seconds is a stall. */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 64L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 2L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
#if LIBCURL_VERSION_NUM >= 0x075700
	/* A name whose DNS server never answers: without this, removing the
	 * timed-out transfer waits for the resolver thread (the system's DNS
	 * timeout, 30 s and more), freezing the loop.  The thread is left to
	 * finish on its own. */
	curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
#endif
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, p);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, p);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	if (q->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (q->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, q->ca_file);
	p->errbuf[0] = '\0';
	if (curl_multi_add_handle(p->h->multi, e) != CURLM_OK)
		fatal("cannot add a libcurl transfer");
	return 0;
}

static void
easy_done(struct http_probe *p)
{
	if (p->easy != NULL) {
		curl_multi_remove_handle(p->h->multi, p->easy);
		curl_easy_cleanup(p->easy);
		p->easy = NULL;
	}
	curl_slist_free_all(p->hdrs);
	p->hdrs = NULL;
}

static void
probe_free(struct http_probe *p)
{
	easy_done(p);
	if (p->refused != NULL)
		event_free(p->refused);
	result_clear(&p->res);
	free(p->url);
	free(p);
}

static double
info_ms(CURL *e, CURLINFO what)
{
	curl_off_t us = 0;

	curl_easy_getinfo(e, what, &us);
	return (double)us / 1000.0;
}

static void
fill_timings(struct http_probe *p)
{
	struct http_result *r = &p->res;
	CURL *e = p->easy;
	double dns = info_ms(e, CURLINFO_NAMELOOKUP_TIME_T);
	double conn = info_ms(e, CURLINFO_CONNECT_TIME_T);
	double tls = info_ms(e, CURLINFO_APPCONNECT_TIME_T);
	double pre = info_ms(e, CURLINFO_PRETRANSFER_TIME_T);
	double start = info_ms(e, CURLINFO_STARTTRANSFER_TIME_T);
	double total = info_ms(e, CURLINFO_TOTAL_TIME_T);

	r->dns_ms = dns;
	r->connect_ms = conn > dns ? conn - dns : 0;
	r->tls_ms = tls > conn ? tls - conn : 0;
	r->server_ms = start > pre ? start - pre : 0;
	r->transfer_ms = total > start ? total - start : 0;
	r->total_ms = p->prior_ms + total;
	r->ttfb_ms = p->prior_ms + start;
}

/* Same scheme, host and port: credentials may follow a redirect there. */
static bool
same_origin(const char *a, const char *b)
{
	CURLU *ua = curl_url(), *ub = curl_url();
	char *sa = NULL, *sb = NULL, *ha = NULL, *hb = NULL, *pa = NULL,
	    *pb = NULL;
	bool same = false;

	if (curl_url_set(ua, CURLUPART_URL, a, 0) == CURLUE_OK &&
	    curl_url_set(ub, CURLUPART_URL, b, 0) == CURLUE_OK &&
	    curl_url_get(ua, CURLUPART_SCHEME, &sa, 0) == CURLUE_OK &&
	    curl_url_get(ub, CURLUPART_SCHEME, &sb, 0) == CURLUE_OK &&
	    curl_url_get(ua, CURLUPART_HOST, &ha, 0) == CURLUE_OK &&
	    curl_url_get(ub, CURLUPART_HOST, &hb, 0) == CURLUE_OK &&
	    curl_url_get(ua, CURLUPART_PORT, &pa, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK &&
	    curl_url_get(ub, CURLUPART_PORT, &pb, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK)
		same = strcasecmp(sa, sb) == 0 && strcasecmp(ha, hb) == 0 &&
		    strcmp(pa, pb) == 0;
	curl_free(sa);
	curl_free(sb);
	curl_free(ha);
	curl_free(hb);
	curl_free(pa);
	curl_free(pb);
	curl_url_cleanup(ua);
	curl_url_cleanup(ub);
	return same;
}

static void
set_error(struct http_probe *p, CURLcode code)
{
	struct http_result *r = &p->res;
	const char *what, *detail = p->errbuf[0] ? p->errbuf :
	    curl_easy_strerror(code);
	char raw[512], *e;

	switch (code) {
	case CURLE_COULDNT_RESOLVE_HOST:
		what = "cannot resolve the host";
		break;
	case CURLE_COULDNT_CONNECT:
		what = "cannot connect";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		what = "timed out";
		break;
	case CURLE_GOT_NOTHING:
		what = "the server closed the connection without a response";
		break;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		what = "the connection failed";
		break;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
		what = "not an HTTP response";
		break;
	case CURLE_OUT_OF_MEMORY:
		/* What libcurl says of one header over its own 100 KB cap. */
		what = "response headers too large: refused";
		detail = "";
		break;
	case CURLE_WRITE_ERROR:
		what = p->header_overflow ? "response headers over 64 KB: "
		    "refused" : p->body_overflow ? "response body over 16 MB: "
		    "refused" : "cannot keep the response";
		detail = "";
		break;
	default:
		what = "request failed";
		break;
	}
	snprintf(raw, sizeof raw, "%s%s%s", what, detail[0] ? ": " : "",
	    detail);
	e = esc_str(raw, 0);
	if (strlen(e) >= sizeof r->error)
		e[sizeof r->error - 1] = '\0';
	memcpy(r->error, e, strlen(e) + 1);
	free(e);
}

static void
finish(struct http_probe *p, CURLcode code)
{
	struct http_result *r = &p->res;
	char *redirect = NULL, *eff = NULL;
	const char *xc;
	long status = 0;
	size_t i;

	r->curl_code = (int)code;
	fill_timings(p);
	if (code == CURLE_OK) {
		curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
		r->status = status;
		r->ok = true;
		curl_easy_getinfo(p->easy, CURLINFO_REDIRECT_URL, &redirect);
		curl_easy_getinfo(p->easy, CURLINFO_EFFECTIVE_URL, &eff);
		free(r->final_url);
		r->final_url = eff ? xstrdup(eff) : NULL;
		if (p->follow && redirect != NULL && status >= 300 &&
		    status < 400) {
			if (r->redirects >= HTTP_MAX_REDIRECTS) {
				snprintf(r->error, sizeof r->error, "more than "
				    "%d redirects", HTTP_MAX_REDIRECTS);
				r->ok = false;
			} else if (p->credentials && !same_origin(p->url,
			    redirect)) {
				snprintf(r->error, sizeof r->error, "a redirect "
				    "to another host was not followed: it "
				    "would carry credentials");
			} else {
				/* Next hop, same request, same headers. */
				char *next = xstrdup(redirect);
				p->prior_ms = r->total_ms;
				easy_done(p);
				free(p->url);
				p->url = next;
				r->redirects++;
				free(r->body);
				r->body = NULL;
				r->body_len = 0;
				r->size = 0;
				r->body_cut = false;
				r->header_bytes = 0;
				if (setup_easy(p) == 0)
					return;		/* not done yet */
				r->ok = false;
			}
		}
	} else
		set_error(p, code);
	r->cache[0] = '\0';
	if ((xc = http_header(r, "X-Cache")) != NULL) {
		for (i = 0; xc[i] != '\0' && i < sizeof r->cache - 1 &&
		    isalnum((unsigned char)xc[i]); i++)
			r->cache[i] = (char)toupper((unsigned char)xc[i]);
		r->cache[i] = '\0';
		if (i == 0)
			snprintf(r->cache, sizeof r->cache, "other");
	}
	easy_done(p);
	if (p->done != NULL)
		p->done(p, r, p->arg);
	probe_free(p);
}

static void
check_done(struct http *h)
{
	CURLMsg *m;
	int left;
	struct http_probe *p;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&p);
		finish(p, m->data.result);
	}
}

static void
report_refused(evutil_socket_t fd, short what, void *arg)
{
	struct http_probe *p = arg;

	(void)fd;
	(void)what;
	if (p->done != NULL)
		p->done(p, &p->res, p->arg);
	probe_free(p);
}

struct http_probe *
http_start(struct http *h, const struct http_req *q, http_done_fn done,
    void *arg)
{
	struct http_probe *p = xcalloc(1, sizeof *p);

	p->h = h;
	p->req = *q;
	p->url = xstrdup(q->url);
	p->head = q->head;
	p->follow = q->follow;
	p->timeout_ms = q->timeout_ms > 0 ? q->timeout_ms : 5000;
	p->credentials = q->cookie != NULL || q->auth_header != NULL ||
	    q->nheaders2 > 0;
	p->done = done;
	p->arg = arg;
	p->started = loop_now();
	if (setup_easy(p) != 0) {
		/* Refused before sending (a header with a line break): report
		 * it from the loop like any other failure. */
		easy_done(p);
		p->refused = event_new(loop_base(h->loop), -1, 0, report_refused,
		    p);
		event_active(p->refused, 0, 0);
	}
	return p;
}

void
http_cancel(struct http_probe *p)
{
	if (p != NULL)
		probe_free(p);
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	curl_multi_cleanup(h->multi);
	event_free(h->timer);
	free(h);
	curl_global_cleanup();
}

char *
http_route_url(const struct runbook *rb, const struct rb_route *r)
{
	const char *base = rb->http.base_url;
	size_t len;

	if (r->url != NULL)
		return xstrdup(r->url);
	if (r->path == NULL || base == NULL)
		return NULL;
	len = strlen(base);
	while (len > 0 && base[len - 1] == '/')
		len--;
	return xprintf("%.*s%s", (int)len, base, r->path);
}

int
http_req_for(const struct runbook *rb, size_t route, size_t profile,
    struct http_req *q, char **cause)
{
	const struct rb_route *r = &rb->routes[route];
	const struct rb_profile *pr;
	const char *v;
	char *u;

	memset(q, 0, sizeof *q);
	if ((u = http_route_url(rb, r)) == NULL) {
		xasprintf(cause, "route %s has no url", r->name);
		return -1;
	}
	q->url = u;
	q->head = r->head;
	q->follow = r->follow_redirects;
	q->timeout_ms = rb->has_http ? rb->http.timeout_ms : 5000;
	q->headers = rb->http.headers;
	q->nheaders = rb->http.nheaders;
	q->insecure = rb->http.insecure;
	q->ca_file = rb->http.ca_file;
	if (profile == RB_NONE)
		return 0;
	pr = &rb->http.profiles[profile];
	q->headers2 = pr->headers;
	q->nheaders2 = pr->nheaders;
	if (pr->cookie_env != NULL) {
		if ((v = getenv(pr->cookie_env)) == NULL) {
			xasprintf(cause, "profile %s: the environment variable "
			    "%s (cookie_env) is not set", pr->name,
			    pr->cookie_env);
			goto fail;
		}
		q->cookie = v;
	}
	if (pr->header_env != NULL) {
		if ((v = getenv(pr->header_env)) == NULL) {
			xasprintf(cause, "profile %s: the environment variable "
			    "%s (header_env) is not set", pr->name,
			    pr->header_env);
			goto fail;
		}
		q->auth_header = v;
	}
	return 0;
fail:
	http_req_done(q);
	return -1;
}

void
http_req_done(struct http_req *q)
{
	free((char *)(uintptr_t)q->url);
	memset(q, 0, sizeof *q);
}
