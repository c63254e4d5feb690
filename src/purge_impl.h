/* purge_impl.h: what the files of the purge module share (callers include
 * purge.h): purge.c has a purge's life, the checks before the preview, the
 * preview and cancel; purge_acl.c the UNLINK permission check before the
 * confirmation; purge_delete.c the deletion (backed-up groups,
 * UNLINK batches) from purge_confirm() on; purge_restore.c the restore. */
#ifndef REHEARSE_PURGE_IMPL_H
#define REHEARSE_PURGE_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include "backup.h"
#include "keyset.h"
#include "purge.h"
#include "scan.h"

#define GROUP_BYTES	(8u * 1024 * 1024)	/* backup lines per sync */
#define GROUP_KEYS	5000			/* keys per sync */
#define DUMP_WINDOW	2048			/* DUMP+PTTL pairs in flight */
#define DUMP_FIRST	4			/* ... before a size is known */
#define REPLY_SHOWN	200			/* bytes of a server error kept */

/* A key of the group being backed up: its DUMP, then its PTTL. */
struct dump_ctx {
	struct purge	*p;
	const char	*key;		/* in the keyset's arena */
	size_t		 len;
	char		*dump;		/* copy of DUMP's reply */
	size_t		 dlen;
	bool		 dumped;	/* DUMP answered a string */
	bool		 orphan;	/* its PTTL was never sent */
};

struct purge {
	struct redis	*redis;
	const struct rb_route *route;
	char		*backup_path;
	struct audit_key key;		/* seals the backup; len 0: none */
	struct backup_writer *backup;
	char		 backup_hash[AUDIT_HEX];
	purge_event_fn	 fn;
	void		*arg;
	struct purge_report rep;
	struct scan	*scan;
	struct scan_sample *sample;
	size_t		 nsample;
	struct keyset	 keys;		/* exactly what the preview counted */
	size_t		 pos;		/* next key in the arena */
	double		 started;
	bool		 cancel;
	int		 checks;	/* INFO replies still to come */
	bool		 check_failed;
	bool		 seed_replica;	/* INFO replication said so */
	char		 seed_master[80];
	bool		 seed_cluster;	/* INFO cluster: cluster_enabled:1 */
	/* Backed up in groups: each group's DUMP+PTTL pairs are answered,
	 * its lines synced with one fdatasync, then its keys unlinked in
	 * batches of PURGE_BATCH, pipelined.  While a group's last answers
	 * come in (and while it is synced) the next group's pairs are in
	 * flight already, so Redis never waits for the sync: at most two
	 * groups, the one being received (rx) and the one being sent (tx). */
	const char	**gkeys;	/* rx group's keys to unlink (backed
					 * up, not synced yet) */
	size_t		*glens;
	size_t		 gn, gcap;
	size_t		 dumps_waiting;	/* DUMP+PTTL pairs in flight */
	unsigned long	 tx_group, rx_group;	/* rx <= tx <= rx + 1 */
	size_t		 tx_sent;	/* pairs sent in the tx group */
	size_t		 rx_done;	/* pairs answered in the rx group */
	size_t		 gsize[2];	/* pairs of a closed group, by number */
	const char	**ready_keys;	/* synced keys not unlinked yet: */
	size_t		*ready_lens;	/* [ready_head, ready_n) */
	size_t		 ready_head, ready_n, ready_cap;
	size_t		 unlink_sent;	/* keys of the UNLINKs sent */
	size_t		 dump_gone;	/* keys whose DUMP answered nil */
	size_t		*ubatch;	/* keys of the UNLINKs in flight, a */
	size_t		 ub_first, ub_n, ub_cap;	/* ring, oldest first */
	size_t		 unlinks_waiting;
	bool		 failed;	/* the group failed: nothing more goes */
	bool		 desync;	/* a reply could not be true: later ones
					 * cannot be paired with their commands */
	double		 avg_line;	/* bytes of a backup line, running */
	size_t		 outstanding;	/* commands sent and not answered */
	bool		 zombie;	/* freed by the caller: gone with the
					 * last answer */
	struct event	*later;
	/* The UNLINK permission check (purge_acl.c), on connections of its
	 * own: one, or one per primary in a cluster. */
	struct acl_conn	*acl;
	size_t		 nacl;
	size_t		 acl_left;	/* connections not finished */
	struct event	*acl_ev;	/* closes them on the next loop turn */
	bool		 acl_done;	/* answered, refused or given up */
	struct acl_key {
		const char	*key;	/* in keys' arena */
		size_t		 len;
	}		*acl_keys;	/* what the check asks about */
	size_t		 nacl_keys;

	/* Cluster (purge_cluster.c). */
	struct cluster	*cluster;
	bool		 in_cluster;	/* the purge goes across the cluster */
	struct event	*cwait;		/* polls for the topology */
	double		 cwait_since;
	unsigned long	 cmoves;	/* cluster_moves() when the walks began */
	struct cscan	*cscans;	/* one walk per primary */
	size_t		 ncscans, cscans_left;
	struct ckey {
		const char	*key;	/* in keys' arena */
		size_t		 len;
		unsigned	 slot;
		int		 node;	/* the walk that found it */
	}		*ckeys;		/* the previewed keys, by slot */
	size_t		 nckeys;
	unsigned char	*cdone;		/* per key: 1 backed up (to unlink) */
	struct cqueue	*cq;		/* UNLINK queues, one per node */
	size_t		 ncq;
	size_t		 cinflight;	/* UNLINK batches in flight */
	size_t		 cgroup_first, cgroup_end;	/* the backup group */
	size_t		 cdump_next;	/* next key of the group to dump */
	size_t		 cdumps_waiting;
	size_t		 cdoubt_bytes;	/* of the keys in doubt named */
	bool		 cunlinking;	/* the group is synced: unlinking */
};

/* One connection of the UNLINK permission check: MULTI, an UNLINK per
 * key of acl_keys[first, first + n), DISCARD. */
struct acl_conn {
	struct purge	*p;
	struct redis	*r;
	size_t		 first, n;
	size_t		 answered;	/* UNLINKs answered */
	bool		 sent;		/* MULTI went */
	bool		 done;
};

/* DUMP and PTTL of one previewed key before anyone confirms (purge.c). */
void		 purge_probe_backup(struct purge *);
/* The deletion has failed (the reason, escaped): nothing more is sent;
 * the purge ends when the last reply in flight is in. */
void		 purge_fail(struct purge *, const char *fmt, ...)
		     __attribute__((format(printf, 2, 3)));
/* Ends a running purge (purge_delete.c): its state, time, backup. */
void		 purge_end(struct purge *, enum purge_state);
/* The shard record of cluster node i (grown as needed). */
struct purge_shard *purge_shard(struct purge *, int node);
/* The cluster path (purge_cluster.c): from the checks on; and from the
 * confirmation on. */
void		 purge_cluster_preview(struct purge *);
void		 purge_cluster_confirm(struct purge *);
void		 purge_cluster_stop(struct purge *);
/* A key's command: to its slot's primary in a cluster, else to the
 * purge's connection (as purge_send). */
int		 purge_send_key(struct purge *, const char *key, size_t len,
		     redis_reply_fn, void *arg, int argc, const char **argv,
		     const size_t *lens);

/* Previewed and checked: PURGE_READY (and tells the caller). */
void		 purge_ready(struct purge *);
/* May this user UNLINK the sample's keys?  Refuses, warns (it cannot
 * tell) or goes on to purge_ready(). */
void		 purge_acl_probe(struct purge *);
/* Closes the check's connection at once (purge_free). */
void		 purge_acl_stop(struct purge *);
/* Tells the caller on the next loop turn, never from inside a call. */
void		 purge_changed(struct purge *);
/* The reason of a refusal, failure or cancel, escaped. */
void		 purge_set_reason(struct purge *, const char *fmt, ...)
		     __attribute__((format(printf, 2, 3)));
/* A server's error reply or a wrong type, for a reason. */
const char	*purge_reply_text(const redisReply *, char *buf, size_t len);
/* Sends a command whose answer comes back to this purge. */
int		 purge_send(struct purge *, redis_reply_fn, void *arg,
		     int argc, const char **argv, const size_t *lens);
/* Called first by every callback: true when the purge was freed meanwhile
 * (and is gone now if this was the last answer). */
bool		 purge_answered(struct purge *);

#endif
