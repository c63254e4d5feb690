/* sentinel.h: a Redis master found through Sentinel.  The master
 * connection is an ordinary struct redis (scan, purge and the readouts use
 * it as any other) whose every connection attempt first asks the sentinels
 * of the runbook, in order, `SENTINEL get-master-addr-by-name NAME`, then
 * connects to the answer and checks with ROLE that the node is the master
 * (a replica or a Sentinel answering is dropped, and the sentinels are
 * asked again after the backoff).
 *
 * A failover is followed two ways: a connection to the sentinel that
 * answered is subscribed to +switch-master, and a message for NAME that
 * names a new address drops the master connection at once (every waiting
 * command fails with "failover: master NAME moved from A to B") and
 * reconnects to the new master; and any loss of the master connection asks
 * the sentinels again.  Each change of address is reported to the on_change
 * hook (the audit log's redis.master record).
 *
 * The sentinels are not trusted more than any Redis peer: their replies are
 * bounded (1 MiB, the array's shape, an address of at most 255 printable
 * bytes, a port from 1 to 65535) and every surprise is a named error. */
#ifndef REHEARSE_SENTINEL_H
#define REHEARSE_SENTINEL_H

#include <stddef.h>

#include "loop.h"
#include "runbook.h"

struct redis;
struct sentinel;

/* Why the master's address is what it is (a redis.master record). */
enum sentinel_reason {
	SENTINEL_RESOLVED,		/* the first answer */
	SENTINEL_SWITCH_MASTER,		/* a +switch-master message */
	SENTINEL_RERESOLVED,		/* asked again after a disconnect */
};

struct sentinel_change {
	const char	*master;	/* the name the sentinels know */
	const char	*address;	/* "host:port" now */
	const char	*previous;	/* before, or NULL the first time */
	enum sentinel_reason reason;
	const char	*sentinel;	/* "host:port" of the one that told */
};

/* cfg (nsentinels > 0) must outlive it; the passwords (may be NULL) are
 * copied and never shown or logged.  Nothing is connected before
 * sentinel_start. */
struct sentinel	*sentinel_new(struct loop *, const struct rb_redis *cfg,
		     const char *password, const char *sentinel_password);
void		 sentinel_free(struct sentinel *);
/* Why a connection cannot be made at all (a TLS file of redis.tls or
 * sentinel_tls that cannot be read), or NULL. */
const char	*sentinel_setup_error(const struct sentinel *);
/* Called on every change of the master's address (may be NULL). */
void		 sentinel_on_change(struct sentinel *, void (*fn)(
		     const struct sentinel_change *, void *), void *arg);
void		 sentinel_start(struct sentinel *);
/* The master connection; owned by the sentinel. */
struct redis	*sentinel_master(struct sentinel *);
/* The master's "host:port", or NULL before the first answer. */
const char	*sentinel_address(const struct sentinel *);
/* "master NAME at HOST:PORT since 02:10:03 (switch-master, was A)" or
 * "master NAME: not resolved yet"; escaped, for a screen or stdout. */
void		 sentinel_describe(const struct sentinel *, char *buf,
		     size_t len);
/* "resolved", "switch-master", "re-resolved after disconnect". */
const char	*sentinel_reason_name(enum sentinel_reason);

#endif
