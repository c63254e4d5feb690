/* http.h: HTTP probes on the event loop, through libcurl's multi interface
 * (socket and timer callbacks on libevent), never blocking.  A probe keeps
 * the status, the timing phases of httpstat (DNS, connect, TLS, server,
 * transfer, total), the size, every response header and the start of the
 * body.  Headers over 64 KB are refused, bodies are capped in the write
 * callback, trickling servers hit a low-speed limit, redirects are followed
 * only when asked and never with credentials to another host. */
#ifndef REHEARSE_HTTP_H
#define REHEARSE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "runbook.h"

#define HTTP_MAX_HEADERS	(64 * 1024)	/* all response headers */
#define HTTP_KEEP_BODY		(256 * 1024)	/* kept for matching */
#define HTTP_MAX_BODY		(16 * 1024 * 1024) /* read at most */
#define HTTP_MAX_REDIRECTS	5

struct http_req {
	const char	*url;
	bool		 head;
	bool		 follow;	/* follow redirects */
	long		 timeout_ms;	/* the whole request */
	const struct rb_header *headers; /* from the runbook, may be NULL */
	size_t		 nheaders;
	const struct rb_header *headers2; /* a profile's, may be NULL */
	size_t		 nheaders2;
	const char	*cookie;	/* secret: the Cookie value, or NULL */
	const char	*auth_header;	/* secret: "Name: value", or NULL */
	bool		 insecure;
	const char	*ca_file;
};

struct http_header {
	char		*name;		/* as received; untrusted */
	char		*value;		/* as received, trimmed; untrusted */
};

struct http_result {
	bool		 ok;		/* a response was received */
	char		 error[256];	/* why not (escaped) */
	int		 curl_code;
	long		 status;
	double		 dns_ms;
	double		 connect_ms;
	double		 tls_ms;
	double		 server_ms;	/* request sent to first byte */
	double		 transfer_ms;	/* first byte to last */
	double		 total_ms;
	double		 ttfb_ms;	/* start to first byte */
	size_t		 size;		/* body bytes received */
	size_t		 header_bytes;
	char		*body;		/* the first HTTP_KEEP_BODY bytes */
	size_t		 body_len;
	bool		 body_cut;	/* more came than was kept */
	struct http_header *headers;	/* of the last response */
	size_t		 nheaders;
	unsigned	 redirects;
	char		*final_url;
	char		 cache[16];	/* from X-Cache: HIT, MISS, ... or "" */
};

struct http;
struct http_probe;

typedef void (*http_done_fn)(struct http_probe *, const struct http_result *,
    void *arg);

struct http	*http_new(struct loop *);
void		 http_free(struct http *);
/* Starts a request; done is called once, from the loop.  The result is
 * valid during the call only. */
struct http_probe *http_start(struct http *, const struct http_req *,
		     http_done_fn done, void *arg);
/* Abandons a request; done is not called. */
void		 http_cancel(struct http_probe *);
/* The first value of a header (case-insensitive), or NULL. */
const char	*http_header(const struct http_result *, const char *name);
/* base_url + path, or url. Returns a new string. */
char		*http_route_url(const struct runbook *, const struct rb_route *);
/* The request for a route as the runbook says, with the profile's cookie
 * and header read from the environment (profile RB_NONE: anonymous).
 * Returns 0 (free with http_req_done), or -1 with *cause set, naming the
 * unset variable but never a value. */
int		 http_req_for(const struct runbook *, size_t route,
		     size_t profile, struct http_req *, char **cause);
void		 http_req_done(struct http_req *);

#endif
