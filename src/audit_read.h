/* audit_read.h: reading audit logs back.  A reader hands out lines with
 * bounded memory; a verifier walks them and checks the hash chain, the
 * sequence, the session and the framing, one line at a time, so that a log
 * of any size is checked in constant memory. */
#ifndef REHEARSE_AUDIT_READ_H
#define REHEARSE_AUDIT_READ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "audit_chain.h"

struct audit_reader;

struct audit_line {
	size_t		 lineno;	/* 1-based */
	off_t		 offset;	/* of the line's first byte */
	off_t		 end;		/* one past its newline */
	const char	*text;		/* without the newline; valid until next */
	size_t		 len;
	bool		 complete;	/* ended by a newline */
	bool		 overlong;	/* longer than AUDIT_MAX_LINE, cut */
};

/* Opens a log for reading.  Returns NULL with *cause set. */
struct audit_reader *audit_reader_open(const char *path, char **cause);
/* 1 with the next line, 0 at the end, -1 on a read error (*cause set). */
int	 audit_reader_next(struct audit_reader *, struct audit_line *,
	     char **cause);
void	 audit_reader_close(struct audit_reader *);
/* Goes to offset, the start of line lines_before + 1; forgets the end of
 * file, so that a growing log can be read on.  Returns 0, or -1. */
int	 audit_reader_seek(struct audit_reader *, off_t offset,
	     size_t lines_before);

enum verify_status {
	VERIFY_INTACT,		/* every record chains, session.end last */
	VERIFY_OPEN,		/* intact so far, but never ended */
	VERIFY_TORN,		/* intact up to a torn final line */
	VERIFY_BAD,		/* edited, missing, reordered, inserted... */
	VERIFY_NEED_KEY,	/* sealed: needs the key (or the right one) */
};

#define VERIFY_MAX_INTENTS 256

struct verify_intent {
	uint64_t	 seq;
	char		 type[40];
};

struct verify {
	const struct audit_key *key;	/* NULL or unsealed: plain SHA-256 */
	enum verify_status status;
	char		*reason;	/* why not intact */
	size_t		 bad_line;	/* line of the first problem */
	uint64_t	 bad_seq;	/* its seq when it had one */

	size_t		 lines;
	uint64_t	 records;	/* valid records seen */
	uint64_t	 last_seq;
	size_t		 last_line;
	char		 prev[AUDIT_HEX];	/* hash of the last good line */
	char		 session[80];
	char		 first_ts[32];
	char		 last_ts[32];
	char		 last_type[40];
	bool		 sealed;
	char		 key_id[17];
	bool		 ended;		/* last record is session.end */
	size_t		 resumes;
	size_t		 recovered;	/* torn lines a resume recovered */

	size_t		 torn_line;	/* a line that is not a record yet */
	size_t		 torn_len;
	bool		 torn_complete;

	size_t		 clock_back;	/* warnings: ts earlier than before */
	size_t		 clock_back_line;

	struct verify_intent intents[VERIFY_MAX_INTENTS]; /* without result */
	size_t		 nintents;
	size_t		 intents_dropped;
	size_t		 unknown;	/* intents closed as outcome unknown */
};

void	 verify_init(struct verify *, const struct audit_key *key);
void	 verify_done(struct verify *);
/* Checks one more line.  Returns false once the log is known bad (or needs
 * a key); further lines are then ignored. */
bool	 verify_line(struct verify *, const struct audit_line *);
/* The same, for a line its caller has parsed already (o: the line as a
 * JSON object, NULL when it is not one), so that a reader that needs the
 * record too parses each line once.  o stays the caller's. */
bool	 verify_record(struct verify *, const struct audit_line *, json_t *o);
/* What verify_finish() would settle on, without settling: the log as it
 * is so far (for a viewer of a log still being written). */
enum verify_status verify_outcome(const struct verify *);
/* Why an unsealed chain that holds is not proof: next to "intact". */
#define VERIFY_UNSEALED_WHY "a chain without a key proves order, not " \
	"authorship: whoever can write the file can edit it and re-chain it"
/* "sealed" or "unsealed", once the first record was read; "" before. */
const char *verify_seal(const struct verify *);
/* After the last line: settles INTACT, OPEN, TORN or BAD. */
void	 verify_finish(struct verify *);
/* Reads and checks a whole file.  Returns 0, or -1 when it cannot be read
 * (*cause set). */
int	 verify_file(struct verify *, const char *path, char **cause);

#endif
