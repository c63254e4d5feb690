/* session_step.h: what the session (session.c) offers the step kinds
 * (step_*.c) that run inside it.  Not for the rest of the program: that
 * uses session.h.  A kind's start op starts its work with the session's
 * loop, HTTP, Redis and audit log, keeps what it holds in the step's
 * struct step_live, and ends the step with session_end(). */
#ifndef REHEARSE_SESSION_STEP_H
#define REHEARSE_SESSION_STEP_H

#include <stdint.h>

#include <jansson.h>

#include "session.h"
#include "step.h"

/* What a running step holds. */
struct step_live {
	struct http_probe *probe;
	struct sampler	*sampler;
	struct purge	*purge;
	struct run	*run;
	struct timer	*poll;
	double		 started;
	double		 deadline;
	uint64_t	 intent;	/* its intent record, or 0 */
	char		*refused;	/* why the purge could not be confirmed */
	char		*backup;	/* the purge's backup file, or NULL */
	size_t		 step;
	struct session	*s;
	char		*last;		/* wait: the last observation */
};

struct session {
	struct loop	*loop;
	const struct runbook *rb;
	struct audit	*audit;		/* NULL in check */
	struct redis	*redis;		/* NULL without a redis section */
	struct cluster	*cluster;	/* redis is a cluster's seed, or NULL */
	struct http	*http;
	struct session_opts opts;
	struct session_hooks hooks;
	struct step_run	*steps;
	struct step_live *live;
	size_t		 running;	/* steps in flight */
	struct run	*rollback_run;
};

/* Ends step i with a state and a reason (or NULL); records step.result. */
void		 session_end(struct session *, size_t i, enum step_state,
		     const char *reason);
/* Sets what step i observed (escaped). */
void		 session_observed(struct session *, size_t i,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Appends a record for step i (none without a log); takes data. */
void		 session_record(struct session *, const char *type, size_t i,
		     json_t *data);
/* Tells the hooks that step i changed (RB_NONE: the rollback). */
void		 session_changed(struct session *, size_t i);
/* Why an action is refused when the log cannot take its intent;
 * caller frees. */
char		*session_refusal(const struct session *);

#endif
