/* backup.h: the backup file of a purge (man/rehearse-audit.5, BACKUP
 * FILES): JSON Lines, a header, one line per saved key, an end line, each
 * line hash-chained to the one before with the audit log's own chain
 * (SHA-256, or HMAC-SHA-256 with the audit key: a sealed backup).  The
 * writer batches lines in memory and makes them durable with one
 * fdatasync; the reader verifies every line as it reads it and bounds what
 * it reads, since a backup file is untrusted input. */
#ifndef REHEARSE_BACKUP_H
#define REHEARSE_BACKUP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "audit_chain.h"

#define BACKUP_FORMAT		2
#define BACKUP_MAX_LINE		(256u * 1024 * 1024)	/* bytes, newline included */
#define BACKUP_MAX_KEYS		10000000		/* lines of keys */

/* Writing --------------------------------------------------------------- */

struct backup_writer;

/* Creates path (which must not exist; mode 0600, O_NOFOLLOW), writes and
 * syncs the header and the directory.  key may be NULL or unsealed.
 * patterns is taken over.  Returns NULL with *cause set. */
struct backup_writer *backup_create(const char *path,
		     const struct audit_key *key, const char *route,
		     json_t *patterns, size_t keys, char **cause);
/* Adds the line of one key to the lines not yet written.  Returns -1 when
 * the line would be longer than BACKUP_MAX_LINE (*cause set). */
int		 backup_add(struct backup_writer *, const char *key,
		     size_t klen, const void *dump, size_t dlen,
		     long long pttl, char **cause);
/* Bytes added and not yet synced. */
size_t		 backup_pending(const struct backup_writer *);
/* Writes the pending lines and fdatasyncs.  After the first failure every
 * call fails (the kernel may have dropped the pages).  -1 with *cause. */
int		 backup_sync(struct backup_writer *, char **cause);
/* Writes and syncs the end line (state: done, cancelled, failed) and
 * closes the file.  -1 with *cause; the writer is closed either way. */
int		 backup_finish(struct backup_writer *, const char *state,
		     char **cause);
/* Keys written (synced or not). */
size_t		 backup_saved(const struct backup_writer *);
/* The hash of the last line synced: names the whole file. */
const char	*backup_writer_hash(const struct backup_writer *);
void		 backup_writer_free(struct backup_writer *);

/* Reading --------------------------------------------------------------- */

struct backup_reader;

struct backup_header {
	char		*route;		/* as the purge named it */
	size_t		 keys;		/* keys the preview counted */
	bool		 sealed;
	char		 created[32];
};

struct backup_rec {
	unsigned char	*key;		/* binary */
	size_t		 klen;
	unsigned char	*dump;
	size_t		 dlen;
	long long	 pttl;		/* -1: no TTL */
	long long	 saved_ms;	/* wall clock, ms since the epoch */
	size_t		 line;
};

/* Opens a backup without blocking on a FIFO or device (only a regular file
 * is taken), reads and verifies its header.  key: the audit key (NULL or
 * empty: none); a sealed backup needs it, and with a key the backup must be
 * sealed with it.  Returns NULL with *cause ("FILE: line N: ..."), and
 * *tampered set when the header's hash did not match. */
struct backup_reader *backup_open(const char *path,
		     const struct audit_key *key, bool *tampered, char **cause);
const struct backup_header *backup_header(const struct backup_reader *);
/* The next saved key, verified.  Returns 1 (rec filled; free it with
 * backup_rec_done), 0 at the end, -1 with *cause. */
int		 backup_read(struct backup_reader *, struct backup_rec *,
		     char **cause);
void		 backup_rec_done(struct backup_rec *);
/* Goes back to the first key; the chain is checked again as it is read. */
int		 backup_rewind(struct backup_reader *, char **cause);
/* After backup_read returned 0: whether the file had its end line (a purge
 * that was killed leaves none), and its state ("done"...) or "". */
bool		 backup_ended(const struct backup_reader *);
const char	*backup_end_state(const struct backup_reader *);
/* The hash of the last line read: after a full read, names the file. */
const char	*backup_reader_hash(const struct backup_reader *);
/* Whether a torn last line (no newline: a crash while writing) was
 * ignored.  Its keys were never deleted: UNLINK waits for the sync. */
bool		 backup_torn(const struct backup_reader *);
/* Whether reading stopped at a line whose hash or prev did not match (an
 * edit, not a format error). */
bool		 backup_tampered(const struct backup_reader *);
void		 backup_reader_free(struct backup_reader *);

/* True when key matches the Redis glob pattern (*, ?, [...], \). */
bool		 backup_glob(const char *pattern, const void *key, size_t len);

#endif
