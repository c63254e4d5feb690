/* redis.h: one Redis connection on the event loop: a libevent bufferevent
 * on a non-blocking, close-on-exec socket, with hiredis for the protocol
 * only (its reply reader and command formatter).  Connect and command
 * timeouts, reconnection with backoff, and a state callers can show:
 * connecting; up with the round trip; down with the error and the time of
 * the next try.
 *
 * The server is not trusted.  A reply with no command waiting, a reply over
 * max_reply_mb (or announcing more than REDIS_MAX_ELEMENTS elements), bytes
 * that are not RESP, or no reply within timeout_ms: each drops the
 * connection with a named error, every waiting command fails with it, and
 * the connection comes back after the backoff.  A late reply can never pair
 * with the next command.  Keys travel as argv, never formatted into a
 * command string.
 *
 * rediss:// (redis.tls): once TCP is connected a TLS filter is put on the
 * bufferevent; the handshake is bounded by timeout_ms like the connect,
 * and its failures are named (tls.h).  redis:// reset before any reply is
 * probed with a TLS handshake to tell "this port speaks TLS". */
#ifndef REHEARSE_REDIS_H
#define REHEARSE_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "loop.h"
#include "runbook.h"

/* Limits of one reply (see rehearse-runbook(5), redis.max_reply_mb). */
#define REDIS_MAX_REPLY_MB_DEFAULT	64
#define REDIS_MAX_ELEMENTS	(1 << 20)	/* announced in one reply */
#define REDIS_MAX_PENDING	100000		/* commands in flight */

enum redis_state {
	REDIS_CONNECTING,
	REDIS_UP,
	REDIS_DOWN,
};

struct redis_status {
	enum redis_state state;
	double		 since;		/* loop_now() when the state began */
	double		 rtt_ms;	/* last PING round trip; <0: none yet */
	char		 error[256];	/* why down (escaped), or "" */
	double		 next_try;	/* loop_now() of the next attempt */
	unsigned	 failures;	/* attempts failed in a row */
	unsigned long	 connects;	/* successful connections so far */
};

struct redis;

/* reply is NULL when the command failed (err says why); the reply is freed
 * after the callback returns, so copy what you keep. */
typedef void (*redis_reply_fn)(struct redis *, redisReply *reply,
    const char *err, void *arg);

/* password may be NULL; it is copied and never shown or logged. */
struct redis	*redis_new(struct loop *, const struct rb_redis *,
		     const char *password);
void		 redis_free(struct redis *);
/* A new connection with the same settings and credentials as r (not
 * started), for a caller that needs a connection of its own.  With
 * Sentinel: to the node r is connected to now, not resolved again. */
struct redis	*redis_new_like(const struct redis *r);
/* The same settings, to another node (a cluster's): over TCP to
 * host:port, any data node accepted. */
struct redis	*redis_new_at(const struct redis *r, const char *host,
		     int port);
/* "host:port" ("[v6]:port", or the socket's path) of the node it is
 * meant to reach now. */
void		 redis_address(const struct redis *, char *buf, size_t len);
/* Why the connection cannot even be tried (redis.tls files that cannot
 * be read or used, the runbook field named), or NULL. */
const char	*redis_setup_error(const struct redis *);
/* rediss:// with verify: false: the server's certificate is not checked. */
bool		 redis_tls_unchecked(const struct redis *);
/* Starts connecting (and reconnecting whenever the connection is lost). */
void		 redis_start(struct redis *);
const struct redis_status *redis_status(const struct redis *);
/* "up 0.3 ms", "connecting 1.2 s", "down: ... (retry in 3 s)". */
void		 redis_describe(const struct redis *, char *buf, size_t len);
/* Called on every change of state. */
void		 redis_on_state(struct redis *, void (*fn)(struct redis *,
		     void *), void *arg);
/* Sends a command.  Returns 0 when sent (fn is called exactly once, later),
 * or -1 when the connection is not up or REDIS_MAX_PENDING commands are
 * waiting (fn is not called). */
int		 redis_command(struct redis *, redis_reply_fn fn, void *arg,
		     int argc, const char **argv, const size_t *lens);
/* Same with NUL-terminated words. */
int		 redis_commandv(struct redis *, redis_reply_fn fn, void *arg,
		     int argc, const char **argv);
/* The event base the connection runs on. */
struct event_base *redis_loop_base(const struct redis *);
/* Drops the connection at once (every waiting command fails) and
 * reconnects after the backoff; for tests and for the user's "retry". */
void		 redis_reset(struct redis *, const char *why);
/* Reconnects now instead of waiting for the backoff. */
void		 redis_retry_now(struct redis *);

/* Sentinel hooks (used by sentinel.c) --------------------------------- */

/* What the handshake accepts of the node (ROLE, sent before SELECT). */
enum redis_expect {
	REDIS_EXPECT_DATA,	/* the default: any data node; a Sentinel is
				   refused (use redis.sentinels) */
	REDIS_EXPECT_MASTER,	/* a master only: a replica or a Sentinel is
				   refused, and ROLE must answer */
	REDIS_EXPECT_SENTINEL,	/* a Sentinel: no ROLE, no SELECT */
};
/* Set before redis_start. */
void		 redis_expect(struct redis *, enum redis_expect);
/* With a resolver, every connection attempt first calls fn; the
 * connection stays connecting until redis_connect_to() (the address to
 * use) or redis_resolve_failed() (down with why, retried after the
 * backoff, which calls fn again). */
void		 redis_on_resolve(struct redis *, void (*fn)(struct redis *,
		     void *), void *arg);
void		 redis_connect_to(struct redis *, const char *host, int port);
void		 redis_resolve_failed(struct redis *, const char *why);
/* Pub/sub: a reply that is a message (["message", channel, payload] or
 * the same after "pmessage") goes to fn, with a command pending or none;
 * without fn (the default) it is an answer, or with nothing pending a
 * protocol error.  The reply is bounded as any other and freed after fn
 * returns. */
void		 redis_on_push(struct redis *, void (*fn)(struct redis *,
		     redisReply *, void *), void *arg);

#endif
