/* rehearsal.h: one rehearsal, put together in one place: the runbook, its
 * Redis password, the audit log (new, or resumed with the verdicts it
 * holds), the event loop, HTTP, Redis (and a short wait for its first
 * answer), the session and, for a screen, the live readouts and the HTTP
 * monitor.  The dashboard, `run --batch`, `check` and `restore` each open
 * one with the parts they need and close it to get their exit status. */
#ifndef REHEARSE_REHEARSAL_H
#define REHEARSE_REHEARSAL_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"
#include "session.h"

struct rehearsal;

/* The parts of a rehearsal (rehearsal_opts.parts). */
#define REHEARSAL_HTTP		0x01	/* HTTP probes */
#define REHEARSAL_REDIS		0x02	/* connect, when there is a redis: */
#define REHEARSAL_SETTLE	0x04	/* wait until Redis answered or failed */
#define REHEARSAL_SESSION	0x08	/* the step engine */
#define REHEARSAL_LIVE		0x10	/* readouts and monitor, started */
#define REHEARSAL_SIGNALS	0x20	/* SIGINT, SIGTERM, SIGHUP stop it
					   (rehearsal_stop); SIGPIPE ignored */

struct rehearsal_opts {
	const char	*runbook;	/* path; NULL with resume: the log's */
	const char	*resume;	/* continue this audit log, or NULL */
	bool		 log;		/* write an audit log */
	const char	*audit;		/* --audit FILE, or NULL: state dir */
	const char	*audit_key;	/* --audit-key FILE, or NULL */
	enum policy_mode mode;		/* for policy_decide() */
	unsigned	 pflags;	/* POLICY_YES | POLICY_READ_ONLY */
	unsigned	 parts;		/* REHEARSAL_* */
	/* Called once the runbook is loaded, before anything is opened or
	 * written: 0, or -1 with *cause (NULL: already said). */
	int		(*loaded)(struct rehearsal *, void *arg, char **cause);
	void		*arg;
};

/* What is open; members are NULL when not asked for (or no redis:). */
struct rehearsal {
	struct runbook	*rb;
	struct loop	*loop;
	struct audit	*audit;
	struct redis	*redis;		/* with Sentinel, the master's */
	struct sentinel	*sentinel;	/* redis.sentinels, or NULL */
	struct cluster	*cluster;	/* watches redis: found or declared
					   cluster mode (cluster.h); NULL
					   with sentinels or cluster: false */
	struct http	*http;
	struct session	*session;
	struct readouts	*readouts;	/* live, or one round of check's:
					   freed after the connection */
	struct monitor	*monitor;
	bool		 read_only;	/* --read-only */
	enum policy_mode mode;
	unsigned	 pflags;
	size_t		 current;	/* the step rehearsal_run_step() runs,
					   or RB_NONE */
	bool		 interrupted;	/* rehearsal_stop() was called */
	struct session_hooks client;	/* rehearsal_listen() */
	void		(*live_changed)(void *);
};

/* Opens a rehearsal.  Returns it, or NULL with *cause set (NULL when the
 * runbook's own diagnostics, printed on stderr, say why): exit status 2,
 * unless opts->loaded decided otherwise.  Loader warnings are printed. */
struct rehearsal *rehearsal_open(const struct rehearsal_opts *, char **cause);
/* Frees everything; returns status, or EXIT_FAILED for EXIT_OK when the
 * audit log could not be ended. */
int		 rehearsal_close(struct rehearsal *, int status);
/* Who hears the session (hooks->arg also goes to live_changed, which is
 * called when a readout or the monitor changed; may be NULL). */
void		 rehearsal_listen(struct rehearsal *,
		     const struct session_hooks *, void (*live_changed)(void *));
/* Runs step i to its end, or marks it as the policy says. */
void		 rehearsal_run_step(struct rehearsal *, size_t step);
/* Stops as SIGTERM does: the current step is cancelled (a command's group
 * gets SIGTERM, then SIGKILL), interrupted is set; why (may be NULL) is
 * said on stderr. */
void		 rehearsal_stop(struct rehearsal *, const char *why);
/* The number of failed steps. */
size_t		 rehearsal_failed(const struct rehearsal *);

#endif
