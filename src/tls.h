/* tls.h: the OpenSSL side of rediss:// -- one SSL_CTX per connection
 * settings (struct rb_tls), built once with its files loaded, one SSL per
 * connection with SNI and the name to check, and failures told in words
 * ("TLS: the certificate has expired (...)") instead of OpenSSL's codes.
 * The connection itself stays libevent's (bufferevent_openssl in redis.c). */
#ifndef REHEARSE_TLS_H
#define REHEARSE_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "runbook.h"

struct tls_ctx;

/*
 * The context of t: TLS 1.2 or later, the CA file (or the system's trusted
 * CAs), the client certificate and key.  NULL with *cause (allocated) when
 * a file cannot be read or used; the cause names the runbook field, as in
 * "redis.tls.ca_file: cannot read /x: No such file or directory".  field
 * is "redis.tls" or "redis.sentinel_tls".
 */
struct tls_ctx	*tls_ctx_new(const struct rb_tls *t, const char *field,
		     char **cause);
/* One more user of the context (NULL stays NULL); each user frees it. */
struct tls_ctx	*tls_ctx_ref(struct tls_ctx *);
void		 tls_ctx_free(struct tls_ctx *);
/* Whether the peer's certificate is checked (verify: true). */
bool		 tls_ctx_verifies(const struct tls_ctx *);

/*
 * A new SSL for one connection to host (the URL's): SNI and the name
 * checked are t->server_name, else host; an IP literal is checked as an
 * IP address (and sent without SNI).  NULL with msg set on failure.
 */
SSL		*tls_ssl_new(struct tls_ctx *, const char *host, char *msg,
		     size_t len);

/*
 * Why a TLS connection failed, in words: err is the first OpenSSL error
 * of the connection (bufferevent_get_openssl_error), 0 if none; sys is
 * errno's text or NULL; ssl may be NULL.  Writes msg and returns it.
 */
const char	*tls_explain(SSL *ssl, unsigned long err, const char *sys,
		     char *msg, size_t len);
/* Whether the server answered the ClientHello (a handshake that stops
 * later is slow or broken TLS, not a plaintext port). */
bool		 tls_heard(const SSL *);
/* Whether err says the peer does not speak TLS at all (a plaintext
 * reply to the ClientHello). */
bool		 tls_err_not_tls(unsigned long err);

/* An SSL that checks nothing, for a probe: does this port speak TLS?
 * NULL when OpenSSL cannot make one. */
SSL		*tls_probe_ssl(void);

#endif
