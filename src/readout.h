/* readout.h: live Redis readouts on a timer (the runbook's refresh_s):
 * PING round trip, used memory, keyspace hits and misses and the hit ratio,
 * instantaneous ops/s, evicted and expired keys, connected clients, DBSIZE,
 * and per route the number of keys matching its patterns with a small
 * sample and their TTLs, the node's role and whether it is in cluster
 * mode.  All of it is read-only.
 *
 * Unknown is unknown: a round whose INFO or DBSIZE did not complete, was
 * refused (NOPERM, unknown command) or came from a Sentinel leaves the
 * readout READOUT_UNKNOWN with the reason, never zeros that look real. */
#ifndef REHEARSE_READOUT_H
#define REHEARSE_READOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "redis.h"
#include "runbook.h"

#define READOUT_SAMPLE		5
#define READOUT_COUNT_LIMIT	1000000	/* count no further than this */

struct route_keys {
	bool		 known;		/* counted at least once */
	bool		 counting;	/* a walk is running */
	size_t		 count;
	bool		 over;		/* more than READOUT_COUNT_LIMIT */
	double		 at;		/* loop_now() of the last count */
	char		 error[256];
	char		*sample[READOUT_SAMPLE];	/* binary keys */
	size_t		 sample_len[READOUT_SAMPLE];
	long long	 sample_ttl_ms[READOUT_SAMPLE];	/* -1: none, -2: gone */
	size_t		 nsample;
};

enum readout_state {
	READOUT_PENDING,		/* no round finished yet */
	READOUT_OK,			/* the last round read INFO and DBSIZE */
	READOUT_UNKNOWN,		/* the last round did not: see why */
};

/* What INFO says about the node (see info_role). */
struct redis_role {
	char		 role[16];	/* "master", "replica" or "" */
	char		 mode[16];	/* redis_mode (Valkey: server_mode):
					   standalone, cluster,
					   sentinel, or "" */
	char		 master_host[128];	/* replicas; escaped */
	long long	 master_port;	/* replicas; 0 when not given */
	bool		 cluster;	/* cluster_enabled:1 */
};

struct readout {
	enum readout_state state;
	char		 why[256];	/* READOUT_UNKNOWN: the reason */
	struct redis_role node;		/* from the last INFO */
	bool		 valid;		/* INFO was read at least once */
	double		 at;		/* loop_now() of the last INFO */
	double		 ping_ms;
	long long	 used_memory;
	long long	 hits;
	long long	 misses;
	double		 hit_ratio;	/* <0 when there was no lookup */
	long long	 ops_per_sec;
	long long	 evicted;
	long long	 expired;
	long long	 clients;
	long long	 dbsize;
	struct route_keys *routes;	/* one per runbook route */
	size_t		 nroutes;
	unsigned long	 rounds;	/* completed refreshes */
};

struct readouts;

/* Refreshes every refresh_s while Redis is up; changed is called after
 * each update (may be NULL). */
struct readouts	*readouts_new(struct loop *, struct redis *,
		     const struct runbook *, void (*changed)(void *), void *arg);
/* Free after redis_free(): replies that fail then still find the readouts. */
void		 readouts_free(struct readouts *);
void		 readouts_start(struct readouts *);
/* Refreshes now (the user pressed a key, or a test wants fresh numbers). */
void		 readouts_refresh(struct readouts *);
const struct readout *readouts_get(const struct readouts *);
/* Parses the value of field in an INFO reply; false when absent. */
bool		 info_field(const char *info, size_t len, const char *field,
		     long long *out);
/* The text value of field (up to the line's end, escaped, at most len-1
 * bytes) into buf; false when absent. */
bool		 info_text(const char *info, size_t ilen, const char *field,
		     char *buf, size_t len);
/* role (slave is called replica), redis_mode, master_host/master_port and
 * cluster_enabled from an INFO reply; false when it names no role. */
bool		 info_role(const char *info, size_t len, struct redis_role *);
/* "master", "replica of HOST:PORT", plus ", cluster mode"; or "role
 * unknown". */
void		 readout_describe_role(const struct redis_role *, char *buf,
		     size_t len);
/* One line on the readout's state: "ok", "waiting for the first readout"
 * or "unknown: WHY". */
void		 readout_describe(const struct readout *, char *buf,
		     size_t len);

#endif
