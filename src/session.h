/* session.h: the step engine the dashboard and batch mode share.  It owns
 * the step states (pending, running, passed, degraded, failed, skipped with
 * a reason), runs each kind of step through its struct step_kind (step.h),
 * keeps results and measurements for later comparison, and records every
 * transition in the audit log.
 *
 * In a read-only session (and in check) a step that changes the world
 * (step_acts(): purge, run, and rollback checks not marked safe) only
 * skips, whatever the caller decided: its kind's start is not reached;
 * nor is the rollback. */
#ifndef REHEARSE_SESSION_H
#define REHEARSE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "audit.h"
#include "expect.h"
#include "http.h"
#include "loop.h"
#include "purge.h"
#include "redis.h"
#include "runbook.h"
#include "sample.h"

enum step_state {
	STEP_PENDING,
	STEP_RUNNING,
	STEP_PASSED,
	STEP_DEGRADED,
	STEP_FAILED,
	STEP_SKIPPED,
};

struct step_run {
	enum step_state	 state;
	char		*observed;	/* one line: what was seen (escaped) */
	char		*reason;	/* why failed or skipped (escaped) */
	struct checks	 checks;	/* of the last response or sample */
	bool		 has_stats;	/* measure: stats kept for compare */
	struct sample_stats stats;	/* without the per-request arrays */
	bool		 has_cmp;
	struct comparison cmp;
	double		 ms;
	time_t		 ended;		/* wall clock when it got its verdict */
	unsigned	 polls;		/* wait: probes made */
	size_t		 nnotes;
};

struct cluster;
struct session;

struct session_hooks {
	/* A step changed state (or made progress); step is RB_NONE for
	 * the rollback (so for output). */
	void	(*changed)(struct session *, size_t step, void *arg);
	/* A line of a command's output. */
	void	(*output)(struct session *, size_t step, const char *line,
		    size_t len, bool err, void *arg);
	/* A purge was previewed: confirm with session_confirm() or stop it
	 * with session_cancel(). */
	void	(*previewed)(struct session *, size_t step,
		    const struct purge *, void *arg);
	void	*arg;
};

struct session_opts {
	bool		 read_only;
	bool		 check_mode;	/* rehearse check: unsafe steps skip */
	struct cluster	*cluster;	/* the redis's cluster, or NULL */
};

/* redis may be NULL (no redis section); audit may be NULL (check). */
struct session	*session_new(struct loop *, const struct runbook *,
		     struct audit *, struct redis *, struct http *,
		     const struct session_opts *, const struct session_hooks *);
void		 session_free(struct session *);
/* Starts a pending step.  Returns 0, or -1 with *cause (busy, not pending). */
int		 session_start(struct session *, size_t step, char **cause);
/* Confirms a previewed purge; its intent is recorded first. */
int		 session_confirm(struct session *, size_t step, char **cause);
/* Stops a running step (a purge between batches, a command by signal). */
void		 session_cancel(struct session *, size_t step);
/* Marks a step without running it. */
void		 session_skip(struct session *, size_t step, const char *reason);
void		 session_refuse(struct session *, size_t step,
		     const char *reason);
/* The operator's verdict on a manual step. */
void		 session_manual(struct session *, size_t step, bool pass,
		     const char *note);
void		 session_note(struct session *, size_t step, const char *text);
/* Runs a rollback's command now, whatever the current step.  Not in a
 * read-only session. */
int		 session_rollback(struct session *, size_t rollback,
		     char **cause);
/* A verdict recovered from an earlier log (resume). */
void		 session_restore(struct session *, size_t step,
		     enum step_state, const char *observed);
const struct step_run *session_step(const struct session *, size_t step);
bool		 session_busy(const struct session *);
/* A line of a command's output as a screen may show it: every secret
 * redacted, control characters escaped.  A new string. */
char		*session_output_text(const struct session *, const char *line,
		     size_t len);
/* The audit log as the screen names it: "ok", "REFUSED", or
 * "none (read-only)" when there is none. */
const char	*session_audit_text(const struct session *);
/* Why the audit log stopped taking records, or NULL while it takes them
 * (or when there is none). */
const char	*session_audit_refusal(const struct session *);
const char	*step_state_name(enum step_state);
/* True for the kinds that change the world in this session. */
bool		 session_step_is_action(const struct session *, size_t step);

#endif
