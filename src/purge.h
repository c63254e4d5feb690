/* purge.h: purging the cache keys of one route, the way DESIGN asks:
 * preview (count and sample, from a SCAN walk) -> confirmation by the caller
 * -> UNLINK of exactly the previewed keys in batches, with progress reports
 * -> result (deleted, already gone, errors, time).  Cancellable between
 * batches.  Refuses patterns that match every key and previews over the
 * route's max_keys unless it allows broad purges.  Never KEYS, never
 * FLUSHDB or FLUSHALL.  Optionally backs every key up (DUMP and PTTL) to a
 * file before deleting it; purge_restore() puts such a file back. */
#ifndef REHEARSE_PURGE_H
#define REHEARSE_PURGE_H

#include <stdbool.h>
#include <stddef.h>

#include "audit_chain.h"
#include "redis.h"
#include "runbook.h"

struct backup_reader;
struct cluster;

#define PURGE_BATCH		200		/* keys per UNLINK */
/* UNLINK batches in flight at once: enough that Redis never waits for the
 * next one, few enough that a Redis failing mid-purge leaves at most
 * PURGE_DEPTH * PURGE_BATCH keys in doubt. */
#define PURGE_DEPTH		3
#define PURGE_HARD_LIMIT	10000000	/* even with allow_broad */

enum purge_state {
	PURGE_NEW,
	PURGE_PREVIEWING,
	PURGE_READY,		/* previewed: waiting for purge_confirm() */
	PURGE_REFUSED,		/* will not purge; reason says why */
	PURGE_RUNNING,
	PURGE_DONE,
	PURGE_CANCELLED,	/* stopped between batches */
	PURGE_FAILED,		/* Redis failed in the middle */
};

/* A cluster purge, per node (a shard's primary; a shard that failed over
 * shows its old and its new primary): what it previewed (its SCAN walk
 * found) and what happened to the keys sent to it. */
struct purge_shard {
	char		 node[128];	/* host:port */
	bool		 walked;	/* a primary the preview walked */
	size_t		 previewed;
	size_t		 deleted;
	size_t		 gone;
	size_t		 in_doubt;
	size_t		 untouched;
	size_t		 errors;
	size_t		 backed_up;
	size_t		 batches;
	char		 error[200];	/* its first failure, or "" */
	struct purge_key {
		char		*key;	/* binary, NUL-terminated */
		size_t		 len;
	}		*doubt;		/* the keys in doubt on it (at most */
	size_t		 ndoubt;	/* PURGE_DEPTH * PURGE_BATCH kept) */
	bool		 doubt_cut;	/* some in doubt are not named */
	unsigned char	*slots;		/* bit per slot: a batch of that slot
					   was answered by it, or NULL */
};

/* The slots of a shard's answered batches as ranges ("0-5460,5470"), in
 * buf; "" when none. */
void		 purge_shard_slots(const struct purge_shard *, char *buf,
		     size_t len);

struct purge_report {
	enum purge_state state;
	size_t		 previewed;	/* distinct keys the preview found */
	bool		 counted;	/* the preview walked (else refused or
					 * failed before it) */
	bool		 over_limit;	/* the preview stopped counting */
	size_t		 deleted;	/* UNLINK confirmed */
	size_t		 gone;		/* previewed, but gone by then */
	size_t		 in_doubt;	/* in flight when Redis failed: maybe
					 * deleted, maybe not */
	size_t		 untouched;	/* previewed, no UNLINK ever sent
					 * (set when the purge ends) */
	size_t		 errors;
	size_t		 backed_up;
	size_t		 batches;	/* done */
	size_t		 batches_total;
	double		 preview_ms;
	double		 ms;		/* from confirmation to the end */
	char		 reason[320];	/* refused, failed or cancelled: why */
	char		 warning[400];	/* READY, but something could not be
					 * checked (UNLINK permission) */
	bool		 cluster;	/* purged across a cluster's primaries */
	struct purge_shard *shards;	/* by cluster node (cluster.h); those */
	size_t		 nshards;	/* with nothing to say are all zero */
};

struct purge;

/* Progress and state changes: called from the loop. */
typedef void (*purge_event_fn)(struct purge *, void *arg);

/* backup_path: NULL for none; the file must not exist.  The preview first
 * refuses a replica and a cluster node (INFO replication, INFO cluster;
 * an INFO that is not allowed is a refusal too), then counts (a SCAN that
 * is not allowed is a refusal), then, with a backup, tries DUMP and PTTL
 * on one key and refuses when either answers an error, then checks on a
 * connection of its own that this user may UNLINK each sample key (MULTI,
 * UNLINK..., DISCARD: nothing runs) and refuses naming the key and the
 * error when not; when that cannot be checked, READY carries a warning. */
struct purge	*purge_new(struct redis *, const struct rb_route *,
		     const char *backup_path, purge_event_fn, void *arg);
/* The cluster r is the seed of (rehearsal.h), or NULL: when the preview
 * finds the node in cluster mode (INFO cluster), or the cluster is
 * declared, the purge goes across every primary: it is refused while the
 * cluster is not ok (cluster_problem, CLUSTER INFO of each primary);
 * every primary is walked at once (a pattern whose hash tag pins one slot
 * only on its owner); the keys go in UNLINK batches of one slot each, at
 * most PURGE_DEPTH * PURGE_BATCH keys in flight per primary; a backup
 * takes the keys in slot order, GROUP_KEYS at a time. */
void		 purge_set_cluster(struct purge *, struct cluster *);
/* The audit key that seals the backup (copied); NULL or empty: none. */
void		 purge_set_key(struct purge *, const struct audit_key *);
void		 purge_free(struct purge *);
/* The hash of the backup's last synced line (it names the file), or NULL
 * when there is no backup. */
const char	*purge_backup_hash(const struct purge *);
void		 purge_preview(struct purge *);
/* Starts deleting; only in PURGE_READY.  Returns -1 otherwise. */
int		 purge_confirm(struct purge *);
/* Stops after the batches in flight (at most PURGE_DEPTH). */
void		 purge_cancel(struct purge *);
const struct purge_report *purge_report(const struct purge *);
/* Keys in a preview's sample: all of them are recorded in purge.preview
 * and shown before the confirmation, on the dashboard and in a batch. */
#define PURGE_SAMPLE	10
/* Keys whose UNLINK permission is checked before the confirmation: spread
 * evenly over the previewed keys, and the first key of every pattern. */
#define PURGE_ACL_KEYS	64

/* The i-th key of the preview's sample (binary); false past the end. */
bool		 purge_sample(const struct purge *, size_t i, const char **key,
		     size_t *len);
const char	*purge_state_name(enum purge_state);

struct restore_report {
	size_t		 restored;
	size_t		 existed;	/* kept: the key exists (no replace) */
	size_t		 expired;	/* its TTL ran out meanwhile */
	size_t		 errors;
	char		 error[256];
	bool		 done;
};

/* What verifying a backup found. */
struct restore_check {
	bool		 verify_failed;	/* a hash or a prev did not match */
	size_t		 keys;
	bool		 ended;		/* it has its end line */
	bool		 torn;		/* a torn last line was ignored */
	char		 end_state[16];
	char		 route[128];
	char		 hash[AUDIT_HEX];	/* of its last line: names it */
};

/* Reads and verifies a whole backup before anything is restored: format,
 * chain (sealed with key when it has one), and, unless any_key, that it is
 * of a route of rb and that each key matches one of its patterns.  Returns
 * the reader, rewound, or NULL with *cause (chk->verify_failed: a hash or
 * prev did not match; otherwise the file is unreadable, malformed or
 * refused). */
struct backup_reader *purge_restore_check(const char *path,
		     const struct runbook *rb, const struct audit_key *key,
		     bool any_key, struct restore_check *chk, char **cause);
/* Restores what a checked backup holds (and takes the reader over); the
 * chain is checked again as it is read.  done is called once, from the
 * loop. */
void		 purge_restore(struct redis *, struct backup_reader *,
		     bool replace,
		     void (*done)(const struct restore_report *, void *),
		     void *arg);
/* The same on a cluster (cluster mode on, topology known): each key's
 * RESTORE goes to the primary that owns its slot (cluster_command), with
 * redirections followed; r is the runbook's connection (its loop). */
void		 purge_restore_cluster(struct redis *r, struct cluster *,
		     struct backup_reader *, bool replace,
		     void (*done)(const struct restore_report *, void *),
		     void *arg);

#endif
