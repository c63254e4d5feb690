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

#include "redis.h"
#include "runbook.h"

#define PURGE_BATCH		200		/* keys per UNLINK */
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

struct purge_report {
	enum purge_state state;
	size_t		 previewed;	/* distinct keys the preview found */
	bool		 over_limit;	/* the preview stopped counting */
	size_t		 deleted;	/* UNLINK confirmed */
	size_t		 gone;		/* previewed, but gone by then */
	size_t		 in_doubt;	/* in flight when Redis failed */
	size_t		 errors;
	size_t		 backed_up;
	size_t		 batches;	/* done */
	size_t		 batches_total;
	double		 preview_ms;
	double		 ms;		/* from confirmation to the end */
	char		 reason[320];	/* refused, failed or cancelled: why */
};

struct purge;

/* Progress and state changes: called from the loop. */
typedef void (*purge_event_fn)(struct purge *, void *arg);

/* backup_path: NULL for none; the file must not exist. */
struct purge	*purge_new(struct redis *, const struct rb_route *,
		     const char *backup_path, purge_event_fn, void *arg);
void		 purge_free(struct purge *);
void		 purge_preview(struct purge *);
/* Starts deleting; only in PURGE_READY.  Returns -1 otherwise. */
int		 purge_confirm(struct purge *);
/* Stops after the batch in flight. */
void		 purge_cancel(struct purge *);
const struct purge_report *purge_report(const struct purge *);
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

/* Restores a backup file written by a purge.  done is called once. */
int		 purge_restore(struct redis *, const char *path, bool replace,
		     void (*done)(const struct restore_report *, void *),
		     void *arg, char **cause);

#endif
