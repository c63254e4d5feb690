/* cluster.h: a Redis Cluster (or Valkey cluster) as one target.
 *
 * Found from the runbook's node (INFO cluster says cluster_enabled:1 on
 * each new connection of the seed), or declared (redis.cluster: true, with
 * redis.nodes as more seeds).  The topology comes from CLUSTER SHARDS
 * (Redis 7+, Valkey) or CLUSTER SLOTS (older), asked of any node that is
 * up, again every refresh_s, after a MOVED and after a node is lost.  Every
 * node gets a connection of its own (struct redis: the runbook's TLS, ACL
 * user and password, timeouts and reply bounds; db 0).
 *
 * Nodes are never forgotten: node i stays node i for the cluster's life
 * (a failed-over primary is a replica, or gone, from then on), so that a
 * caller can count per node without its numbers moving under it.  At
 * most CLUSTER_MAX_NODES.
 *
 * A command for a slot goes to the primary that owns it.  A MOVED answer
 * moves the slot at once (a refresh follows) and the command goes to the
 * new owner; an ASK answer sends it once more, to the node named, after
 * ASKING: at most CLUSTER_REDIRECTS of these.  A TRYAGAIN answer (keys of
 * a slot being migrated) is retried after a short pause for at most
 * CLUSTER_TRYAGAIN_MAX_S, CLUSTERDOWN (a failover) for CLUSTER_WAIT_S.  A command
 * whose slot has no primary that is up waits (a failover is usually under
 * CLUSTER_WAIT_S) and fails when that time is over; that failure, like any
 * before the command left, is recognised by cluster_unsent(): no server
 * ever saw it.  Any other failure is the connection's: the command may or
 * may not have run.
 *
 * The server is untrusted here too: a topology that names more nodes than
 * CLUSTER_MAX_NODES, slot numbers out of range, or redirections that go
 * round are named errors, never trusted. */
#ifndef REHEARSE_CLUSTER_H
#define REHEARSE_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "redis.h"
#include "runbook.h"

#define CLUSTER_SLOTS		16384
#define CLUSTER_MAX_NODES	1000
#define CLUSTER_REDIRECTS	5	/* MOVED, ASK, TRYAGAIN per command */
#define CLUSTER_WAIT_S		20.0	/* for a slot's primary to come */
#define CLUSTER_TRYAGAIN_S	0.05	/* pause before a TRYAGAIN retry */
#define CLUSTER_TRYAGAIN_MAX_S	5.0	/* TRYAGAIN answers for this long */

enum cluster_mode {
	CLUSTER_UNKNOWN,	/* not asked yet (the seed is not up) */
	CLUSTER_OFF,		/* a standalone server */
	CLUSTER_ON,
};

struct cluster_node {
	char		 addr[128];	/* host:port, as the topology says */
	char		 host[100];
	int		 port;
	char		 id[48];	/* node id, or "" */
	bool		 primary;	/* owns slots now */
	bool		 listed;	/* in the last topology */
	int		 primary_of;	/* a replica: its primary's index,
					   or -1 */
	size_t		 nslots;	/* slots owned now */
	char		 state[32];	/* CLUSTER INFO cluster_state, or "" */
	struct redis	*conn;
};

struct cluster;

/* seed: the runbook's connection (not owned; started by the caller). */
struct cluster	*cluster_new(struct loop *, struct redis *seed,
		     const struct rb_redis *, const char *password);
void		 cluster_free(struct cluster *);
/* Starts watching the seed (call before or after redis_start(seed)). */
void		 cluster_start(struct cluster *);
enum cluster_mode cluster_mode(const struct cluster *);
/* A topology is known (every slot may not have an owner). */
bool		 cluster_known(const struct cluster *);
/* Known, or could not be had; and every node it names is connected or
 * failed once, and the primaries that are up told their state: what a
 * command that waits for the start (REHEARSAL_SETTLE) waits for. */
bool		 cluster_settled(const struct cluster *);
/* Why a purge cannot go on now: a slot with no primary, a primary that is
 * down or whose cluster_state is not ok, no topology yet; NULL when every
 * slot has a primary that is up and says ok. */
const char	*cluster_problem(struct cluster *);
/* The topology's error (a hostile or broken answer), or "". */
const char	*cluster_error(const struct cluster *);
size_t		 cluster_nnodes(const struct cluster *);
const struct cluster_node *cluster_node(const struct cluster *, size_t i);
/* Goes up whenever a slot changes owner (a refresh, a MOVED) or an ASK
 * is followed: a caller can tell that slots moved while it worked. */
unsigned long	 cluster_moves(const struct cluster *);
/* The node that owns slot now, or -1. */
int		 cluster_slot_owner(const struct cluster *, unsigned slot);
/* The node of a connection of this cluster, or -1. */
int		 cluster_node_of(const struct cluster *, const struct redis *);
/* Called when the mode, the topology or a node's state changed (from the
 * loop; may be NULL). */
void		 cluster_on_change(struct cluster *, void (*fn)(struct cluster *,
		     void *), void *arg);
/* Asks for the topology again now. */
void		 cluster_refresh(struct cluster *);
/* Sends a command for slot (see above).  fn is called exactly once, from
 * the loop, with the connection that answered (NULL when none did).
 * Returns -1 (fn not called) only when too many commands wait. */
int		 cluster_command(struct cluster *, unsigned slot, redis_reply_fn,
		     void *arg, int argc, const char **argv, const size_t *lens);
/* The same, to one node (no redirection is followed). */
int		 cluster_node_command(struct cluster *, size_t node,
		     redis_reply_fn, void *arg, int argc, const char **argv,
		     const size_t *lens);
/* err of a command that no server received. */
bool		 cluster_unsent(const char *err);

/* The slot of a key: CRC16 (XMODEM) of the key, or of its hash tag (the
 * bytes between the first '{' and the next '}', when there are any), mod
 * 16384. */
unsigned	 cluster_keyslot(const char *key, size_t len);
/* The one slot every key matching a SCAN pattern hashes to (its hash tag
 * comes before any wildcard), or -1 when keys of many slots may match. */
int		 cluster_pattern_slot(const char *pattern);

#endif
