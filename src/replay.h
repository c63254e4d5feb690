/* replay.h: an audit log opened for reading back, for `rehearse replay`.
 *
 * The log is untrusted data from elsewhere.  It is opened read-only and
 * never loaded whole: an index pass reads it line by line (verifying the
 * chain on the way) and keeps only a sparse index, one entry per block of
 * lines, whose number is bounded (blocks grow as the log does), plus the
 * step list and the session's header.  Records are read back on demand by
 * seeking to their block.  Everything handed out is escaped text.
 *
 * No function here connects, executes or writes anything. */
#ifndef REHEARSE_REPLAY_H
#define REHEARSE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit_read.h"
#include "buf.h"

#define RP_FAIL		0x01	/* a failure: verdict fail, exit != 0... */
#define RP_WARN		0x02	/* degraded, skipped, outcome unknown */
#define RP_BAD		0x04	/* not a record: not JSON, torn, overlong */
#define RP_AFTER_BAD	0x08	/* at or after the first problem */

#define RP_MAX_STEPS	1000

struct rp_rec {
	size_t		 line;		/* 1-based line of the file */
	off_t		 offset;
	long long	 seq;		/* 0 when it has none */
	char		 ts[32];	/* escaped, as written */
	double		 t;		/* ts in seconds since the epoch, or 0 */
	char		 type[40];	/* escaped; "(not a record)" */
	long		 step;		/* 0: none */
	unsigned	 flags;
	char		 summary[240];	/* escaped, one line */
};

struct rp_step {
	char		 title[96];	/* escaped */
	char		 kind[24];
	char		 verdict[16];	/* "", "running", or the verdict */
	size_t		 first_line;	/* its step.start */
};

/* What the header shows; escaped. */
struct rp_info {
	char		 title[128];
	char		 owner[96];
	char		 environment[48];
	char		 actor[96];
	char		 host[96];
	char		 session[40];
	char		 first_ts[32];
	char		 last_ts[32];
	bool		 sealed;
	bool		 ended;
};

struct rp_filter {
	char		 type[40];	/* prefix of the type; "" any */
	long		 step;		/* 0 any */
	bool		 failures;	/* RP_FAIL, RP_WARN or RP_BAD only */
	char		 text[80];	/* in the raw line, any case; "" any */
};

struct replay;
struct audit_key;

/* Opens path read-only.  follow: lines not yet ended by a newline are
 * waited for instead of being reported torn.  NULL with *cause set. */
struct replay	*replay_open(const char *path, const struct audit_key *key,
		     bool follow, char **cause);
void		 replay_free(struct replay *);

/* Indexes up to max_lines more lines.  Returns 1 while more of the file
 * remains, 0 when the index has caught up with the end, -1 on a read error
 * or when a followed file shrank (*cause set, caller frees). */
int		 replay_index(struct replay *, size_t max_lines, char **cause);
/* Lines indexed so far; bytes indexed and the file's size when last seen. */
size_t		 replay_lines(const struct replay *);
void		 replay_progress(const struct replay *, off_t *done,
		     off_t *size);
bool		 replay_caught_up(const struct replay *);

const struct rp_info *replay_info(const struct replay *);
size_t		 replay_nsteps(const struct replay *);
const struct rp_step *replay_step(const struct replay *, size_t i);
size_t		 replay_first_failure(const struct replay *);	/* 0: none */
size_t		 replay_failures(const struct replay *);

/* The verification state so far, in words (escaped) and as a status. */
enum verify_status replay_verdict(const struct replay *, char *buf,
		     size_t len);
/* The line of the first problem, 0 when none. */
size_t		 replay_bad_line(const struct replay *);

/* Reads the record on line (1..replay_lines).  0, or -1. */
int		 replay_get(struct replay *, size_t line, struct rp_rec *);
/* The whole record as text for the detail view: one field per line,
 * command output one line per line, every byte escaped.  0, or -1. */
int		 replay_detail(struct replay *, size_t line, struct buf *);

bool		 replay_filter_empty(const struct rp_filter *);
/* The next line after `from` (dir 1) or before it (dir -1) that the filter
 * lets through; 0 when there is none.  from 0 with dir 1 is the first;
 * from replay_lines()+1 with dir -1 the last. */
size_t		 replay_find(struct replay *, size_t from, int dir,
		     const struct rp_filter *);

/* Seconds since the epoch from "2026-11-26T10:38:38.902Z"; 0 if not that. */
double		 replay_parse_ts(const char *);

/* The logs of a directory, for the picker. */
struct rp_entry {
	char		*path;
	char		*name;		/* escaped file name */
	char		 date[24];	/* "2026-11-26 10:38" */
	char		 title[96];
	char		 actor[64];
	size_t		 pass, fail, other;	/* step verdicts */
	bool		 ended;
	bool		 checked;	/* the whole file verified */
	enum verify_status status;
	char		 state[96];	/* "intact", "tampered at record 7"... */
	/* scanning state */
	struct audit_reader *rd;
	struct verify	 v;
};

struct rp_dir {
	struct rp_entry	*e;
	size_t		 n;
	size_t		 next;		/* the next entry to check */
	const struct audit_key *key;
};

/* Lists *.jsonl in dir, newest first.  0, or -1 with *cause set. */
int		 rp_dir_open(struct rp_dir *, const char *dir,
		     const struct audit_key *key, char **cause);
/* Verifies up to max_lines more lines, entry by entry; 1 while some entry
 * is unchecked, 0 when all are. */
int		 rp_dir_check(struct rp_dir *, size_t max_lines);
void		 rp_dir_free(struct rp_dir *);

#endif
