/* log_digest.h: one fold of an audit log into what its readers show: the
 * session's header, the steps with their verdicts and attempts, actions
 * whose intent has no step result yet, and the first failure.  It is fed
 * one parsed record at a time, so a log of any size is folded in one pass
 * beside the verifier; replay, report and resume all read a log this way.
 *
 * Values are kept as references to the records' JSON strings (NULL when a
 * record lacked them): each reader escapes them for where it shows them. */
#ifndef REHEARSE_LOG_DIGEST_H
#define REHEARSE_LOG_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "audit_read.h"
#include "record.h"

#define LD_BAD		0x04	/* not a record: not JSON, torn, no type */

struct ld_step {
	json_t		*title;		/* from its last step.start */
	json_t		*kind;
	json_t		*verdict;	/* from its last step.result */
	json_t		*observed;	/* (kept only with keep_text) */
	json_t		*reason;	/* (kept only with keep_text) */
	size_t		 first_line;	/* its first step.start or result */
	size_t		 attempts;	/* step.start records */
	bool		 running;	/* started after its last result */
	bool		 acted;		/* an intent since its start or result */
};

struct log_digest {
	size_t		 max_steps;	/* steps beyond are not folded */
	bool		 keep_text;	/* keep observed and reason */

	/* From the first session.start. */
	bool		 started;
	json_t		*title, *owner, *environment;	/* its runbook's */
	json_t		*path, *sha256;
	json_t		*actor, *host, *session;
	json_t		*redis_user;	/* the ACL user, or NULL */
	bool		 sealed;

	json_t		*first_ts, *last_ts;
	bool		 ended;		/* the last record is session.end */

	struct ld_step	*steps;		/* step n is steps[n - 1] */
	size_t		 nsteps;
	size_t		 first_failure;	/* line; 0 none */
	size_t		 failures;	/* records judged RECORD_FAIL or bad */

	/* The record fed last. */
	enum record_type last;
	struct ld_step	*touched;	/* the step it was about, or NULL */
};

void	 log_digest_init(struct log_digest *, size_t max_steps,
	     bool keep_text);
void	 log_digest_done(struct log_digest *);
/* Parses a line as the verifier and the digest want it: an object, or
 * NULL (not JSON, not an object, overlong).  Caller decrefs. */
json_t	*log_digest_parse(const struct audit_line *);
/* Folds one line's record (o NULL: not a record).  Returns how it is
 * judged: RECORD_FAIL, RECORD_WARN and LD_BAD bits. */
unsigned log_digest_feed(struct log_digest *, size_t line, json_t *o);
/* Reads a whole log into the digest, and into v when not NULL.  Only
 * complete lines are folded.  0, or -1 when it cannot be read. */
int	 log_digest_file(struct log_digest *, struct verify *v,
	     const char *path, char **cause);
/* Step n (1-based), or NULL. */
const struct ld_step *log_digest_step(const struct log_digest *, size_t n);
/* A string member of a kept value: its text, or NULL. */
const char *ld_str(const json_t *);
/* Copies src into dst (size bytes), cut at a character boundary. */
void	 ld_cut(char *dst, size_t size, const char *src);
/* The escaped text of a JSON string (NULs and all) into dst, cut at a
 * character boundary; "" when v is not a string. */
void	 ld_escape(char *dst, size_t size, const json_t *v);

#endif
