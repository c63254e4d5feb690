/* audit.h: the audit log writer.  Every action of a rehearsal is appended as
 * one JSON line, hash-chained to the line before it and fdatasync'ed before
 * audit_append() returns.  When a record cannot be made durable the writer
 * enters a refused state: it writes nothing more, and callers must refuse
 * destructive actions (audit_refused()).  man/rehearse-audit.5 is the
 * contract for the file. */
#ifndef REHEARSE_AUDIT_H
#define REHEARSE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "audit_chain.h"
#include "runbook.h"

struct audit;

struct audit_opts {
	const char	*path;		/* --audit FILE, or NULL: state dir */
	const char	*key_file;	/* --audit-key FILE, or NULL */
	const struct runbook *rb;	/* names the log, fills session.start */
	bool		 resume;	/* continue the log at path */
	int		 cols;		/* terminal size, 0 when none */
	int		 rows;
};

/* Opens (or, with resume, continues) a log and writes session.start (or
 * session.resume).  Returns the writer, or NULL with *cause set. */
struct audit	*audit_open(const struct audit_opts *, char **cause);
/* Appends one record; data (may be NULL) is taken over.  step is the 1-based
 * step number, 0 for none.  Returns the record's seq, or 0 when the writer
 * is (or just became) refused. */
uint64_t	 audit_append(struct audit *, const char *type, unsigned step,
		     json_t *data);
/* Writes the intent of a destructive action; act only when it returns
 * non-zero.  The result names it: audit_result(a, intent, ...). */
uint64_t	 audit_intent(struct audit *, const char *type, unsigned step,
		     json_t *data);
uint64_t	 audit_result(struct audit *, uint64_t intent, const char *type,
		     unsigned step, json_t *data);
/* Writes session.end with the record count and closes.  Returns 0, or -1
 * when the end could not be recorded (the log then reads as never ended). */
int		 audit_close(struct audit *);

bool		 audit_refused(const struct audit *);
/* Why the writer refuses, or NULL. */
const char	*audit_refusal(const struct audit *);
const char	*audit_path(const struct audit *);
/* The key that seals the log (len 0: not sealed); it seals backups too. */
const struct audit_key *audit_seal_key(const struct audit *);
const char	*audit_session(const struct audit *);
uint64_t	 audit_records(const struct audit *);
/* Registers a secret: no record will ever contain it (it is replaced by
 * "[redacted]").  Values of the runbook's *_env variables are registered by
 * audit_open itself. */
void		 audit_add_secret(struct audit *, const char *value);

/* text with every registered secret replaced by "[redacted]"; a new
 * string.  For what reaches the screen (command output). */
char		*audit_scrub(const struct audit *, const char *text, size_t len);

/* The directory for logs: $XDG_STATE_HOME/rehearse or
 * ~/.local/state/rehearse.  Returns a new string, or NULL with *cause. */
char		*audit_default_dir(char **cause);
/* "my-runbook-title" from a title: lower case, [a-z0-9-], at most 40. */
char		*audit_slug(const char *title);

#endif
