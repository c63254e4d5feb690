/* readout.h: live Redis readouts on a timer (the runbook's refresh_s):
 * PING round trip, used memory against maxmemory and the policy, keyspace
 * hits, misses and evictions per second (between two INFO samples),
 * instantaneous ops/s, connected clients, DBSIZE, the node's role (and on a
 * replica the link status, offset and last I/O), and per route the number
 * of keys matching its patterns with a small sample and their TTLs.  All
 * of it is read-only.
 *
 * INFO is asked per section (server, clients, memory, stats, replication):
 * a section the user may not read (NOPERM) is named as such and the others
 * still show.  Unknown is unknown: a round whose INFO or DBSIZE did not
 * complete, was refused or came from a Sentinel leaves the readout
 * READOUT_UNKNOWN with the reason, never zeros that look real; a rate is
 * unknown (<0) until two samples exist, and a counter that went down
 * (restart, CONFIG RESETSTAT) starts it over with a note.
 *
 * Watching costs little: once readouts_start() runs them on the timer, the
 * route counts walk one route at a time, paced (after each SCAN call a
 * pause of READOUT_PACE times its round trip, and calls kept near
 * READOUT_CALL_S), and the next walk waits readout_walk_interval() after
 * the last one ended.  readouts_refresh() alone (rehearse check) and
 * readouts_recount() (someone asked) walk at full speed.
 *
 * Cluster mode (readouts_cluster()): the readouts start as above, on the
 * runbook's node, and switch once the cluster says cluster mode and knows
 * its topology.  From then on each node has readouts of its own, from its
 * own connection (the round above, on every refresh), and the route
 * counts walk every primary at the same time, each walk paced as above; a
 * pattern whose hash tag pins it to one slot (cluster_pattern_slot) is
 * walked only on the primary that owns that slot.  Totals are sums over
 * the nodes the topology lists (keys and route counts over the primaries
 * only: a replica holds its primary's keys again); a node that did not
 * answer makes a total partial (missing > 0), never a smaller number shown
 * as complete. */
#ifndef REHEARSE_READOUT_H
#define REHEARSE_READOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "redis.h"
#include "runbook.h"

#define READOUT_SAMPLE		5
#define READOUT_COUNT_LIMIT	1000000	/* count no further than this */
/* A paced walk pauses this many times each SCAN call's round trip: SCAN
 * then takes under 1/(1+READOUT_PACE) (2.5%) of the server's time while a walk
 * runs, and about half of that over time (see readout_walk_interval). */
#define READOUT_PACE		40.0
/* A paced walk's calls aim at this round trip (a purge's at 1 ms): a PING
 * that arrives during one waits at most about this long. */
#define READOUT_CALL_S		0.0002
/* A readout is stale (drawn dimmed, with its age) once its last INFO is
 * older than this many refresh intervals plus READOUT_STALE_S. */
#define READOUT_STALE_ROUNDS	2.0
#define READOUT_STALE_S		1.0

struct route_keys {
	bool		 known;		/* counted at least once */
	bool		 counting;	/* a walk is running or queued */
	double		 progress;	/* of the running walk, 0..1; <0 queued */
	size_t		 count;
	bool		 over;		/* more than READOUT_COUNT_LIMIT */
	double		 at;		/* loop_now() of the last count */
	char		 error[256];
	char		*sample[READOUT_SAMPLE];	/* binary keys */
	size_t		 sample_len[READOUT_SAMPLE];
	long long	 sample_ttl_ms[READOUT_SAMPLE];	/* -1: none, -2: gone */
	size_t		 nsample;
};

/* A counter read twice: its rate per second between the two samples. */
struct rate {
	bool		 have;		/* a sample was taken */
	long long	 last;		/* its value */
	double		 last_at;	/* and when (seconds) */
	double		 per_s;		/* <0: unknown (one sample, or reset) */
	bool		 reset;		/* the last sample went down */
};

/* The INFO sections a round asks for. */
enum info_section {
	INFO_SERVER,
	INFO_CLIENTS,
	INFO_MEMORY,
	INFO_STATS,
	INFO_REPLICATION,
	INFO_NSECTIONS
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
	/* Per section: read in the last round; else why not ("not
	   permitted for this user: INFO memory", or the error). */
	bool		 sec_ok[INFO_NSECTIONS];
	char		 sec_why[INFO_NSECTIONS][200];
	long long	 used_memory;	/* <0: unknown */
	long long	 maxmemory;	/* 0: no limit; <0: unknown */
	char		 maxmemory_policy[32];	/* "" unknown; escaped */
	long long	 hits;		/* lifetime counters, as INFO says */
	long long	 misses;
	double		 hit_ratio;	/* lifetime; <0 when no lookup (check) */
	struct rate	 hits_rate;	/* per second, between samples */
	struct rate	 misses_rate;
	struct rate	 evicted_rate;
	char		 rate_note[128];	/* "" or why a rate started over */
	long long	 ops_per_sec;
	long long	 evicted;
	long long	 expired;
	long long	 clients;	/* <0: unknown */
	char		 link_status[16];	/* replicas: master_link_status */
	long long	 repl_offset;	/* replicas: slave_repl_offset; <0 */
	long long	 master_io_s;	/* replicas: master_last_io_seconds_ago */
	long long	 dbsize;
	struct route_keys *routes;	/* one per runbook route */
	size_t		 nroutes;
	unsigned long	 rounds;	/* completed refreshes */
	double		 walk_next;	/* loop_now() of the next walk; 0: none
					   planned (one is running or off) */
	double		 walk_s;	/* wall time of the last whole walk */
};

struct readouts;
struct cluster;
struct cluster_node;

/* A node's readout in cluster mode (readouts_node). */
struct readout_node {
	const struct cluster_node *node;	/* addr, primary, state, ... */
	const struct readout *r;	/* its own readout */
	bool		 up;		/* its connection is up */
	char		 conn[300];	/* its connection's state, in words */
	bool		 failing;	/* says a cluster_state other than ok */
	bool		 counted;	/* a primary: its routes are counted */
};

/* A sum over nodes: of the nodes it is over, known answered and missing
 * did not (missing > 0: partial; known == 0: unknown). */
struct readout_sum {
	double		 v;
	size_t		 known;
	size_t		 missing;
};

/* The cluster's totals (readouts_totals). */
struct readout_totals {
	size_t		 nodes;		/* listed in the topology */
	size_t		 primaries;
	size_t		 replicas;
	size_t		 down;		/* connection not up */
	size_t		 failing;	/* cluster_state not ok */
	struct readout_sum used_memory;
	struct readout_sum maxmemory;	/* over nodes with a limit */
	size_t		 no_limit;	/* nodes without a maxmemory */
	struct readout_sum ops;		/* instantaneous ops/s */
	struct readout_sum hits;	/* per second */
	struct readout_sum misses;
	struct readout_sum evicted;
	struct readout_sum keys;	/* DBSIZE, primaries */
	const char	*problem;	/* cluster_problem(), or NULL: ok */
};

/* A route's count over every primary (readouts_route_total). */
struct route_total {
	struct readout_sum count;	/* known: primaries counted */
	bool		 over;		/* a primary counted over the limit */
	bool		 counting;	/* a primary's walk runs or waits */
	double		 progress;	/* the least of the running walks */
	double		 at;		/* the oldest count's loop_now() */
	char		 error[300];	/* a primary's failure ("ADDR: why") */
};

/* Refreshes every refresh_s while Redis is up; changed is called after
 * each update (may be NULL). */
struct readouts	*readouts_new(struct loop *, struct redis *,
		     const struct runbook *, void (*changed)(void *), void *arg);
/* Free after redis_free(): replies that fail then still find the readouts. */
void		 readouts_free(struct readouts *);
/* Refreshes on the timer, route counts paced (see above). */
void		 readouts_start(struct readouts *);
/* Refreshes now (the user pressed a key, or a test wants fresh numbers). */
void		 readouts_refresh(struct readouts *);
/* Counts the routes again now: stops a walk that runs, starts over. */
void		 readouts_recount(struct readouts *);
/* Whether the readout is older than it should be at now (the server
 * stopped answering or the connection is down); its age in *age_s. */
bool		 readout_stale(const struct readout *, double refresh_s,
		     double now, double *age_s);
/* Takes a sample of a counter at now (seconds): the rate since the last
 * sample, or <0 for the first sample or a counter that went down (then
 * r->reset is set); a sample at the same instant changes nothing.
 * Returns r->per_s. */
double		 rate_sample(struct rate *, long long value, double now);
/* The pause after a paced SCAN call whose round trip took call_s. */
double		 readout_pace_pause(double call_s);
/* How long after a whole walk that took walk_s the next one starts: the
 * refresh interval, or the walk's own duration when that is longer. */
double		 readout_walk_interval(double refresh_s, double walk_s);
/* "server", "memory": the section's name as INFO takes it. */
const char	*readout_section_name(int section);
/* "42 s", "1m10s", "2h05m": a duration for the screen. */
void		 readout_duration(double s, char *buf, size_t len);
/* One route's count line after its name: "1234 keys, counted 42 s ago,
 * next in 1m10s", "counting 38%", "queued", or the error. */
void		 readout_route_text(const struct readout *, size_t route,
		     double now, char *buf, size_t len);
const struct readout *readouts_get(const struct readouts *);
/* Watches cl (NULL: never a cluster) for cluster mode: see above.  Call
 * before readouts_start() or readouts_refresh(). */
void		 readouts_cluster(struct readouts *, struct cluster *);
/* The readouts are per node now (cluster mode, topology known). */
bool		 readouts_clustered(const struct readouts *);
/* The nodes (0 unless clustered); node i is the cluster's node i. */
size_t		 readouts_nnodes(const struct readouts *);
/* Node i's readout, false past the end or when the topology no longer
 * lists it. */
bool		 readouts_node(const struct readouts *, size_t i,
		     struct readout_node *);
void		 readouts_totals(const struct readouts *,
		     struct readout_totals *);
void		 readouts_route_total(const struct readouts *, size_t route,
		     struct route_total *);
/* Every node that is up finished a round, and no count runs (what
 * `check` waits for); single-node: the readout's first round. */
bool		 readouts_settled(const struct readouts *);
/* "3000", ">=2000 (partial)" (a node did not answer), "--" (none did):
 * a sum as a count. */
void		 readout_sum_text(const struct readout_sum *, char *buf,
		     size_t len);
/* readout_route_text() for a route's total over the primaries:
 * "3000 keys, counted 2 s ago", ">=2000 keys (1 of 3 primaries not
 * counted), ...", "counting 38%". */
void		 readout_route_total_text(const struct readouts *,
		     size_t route, double now, char *buf, size_t len);
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
