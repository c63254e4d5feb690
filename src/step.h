/* step.h: what a kind of step is.  Each kind is one struct step_kind in
 * its family's file (step_http.c: http, measure, wait; step_purge.c;
 * step_command.c: run, rollback_check, and the rollback itself;
 * step_manual.c), listed in step_kinds[] (step.c).  The loader, the
 * description, the policy, the session and the screens ask the kind; none
 * of them switches on it.  Adding a kind is one file, one enum value and
 * one line of the table. */
#ifndef REHEARSE_STEP_H
#define REHEARSE_STEP_H

#include <stdbool.h>
#include <stddef.h>

#include "record.h"

struct buf;
struct rb_cmd;
struct rb_loader;
struct rb_step;
struct runbook;
struct session;
struct ynode;

/* The index of a kind in step_kinds[]: what struct rb_step holds. */
enum step_kind_id {
	STEP_HTTP,
	STEP_MEASURE,
	STEP_WAIT,
	STEP_PURGE,
	STEP_RUN,
	STEP_ROLLBACK_CHECK,
	STEP_MANUAL,
	STEP_NKINDS
};

struct step_kind {
	const char	*name;		/* the runbook key; "kind" of step.start */
	/* The keys of its mapping form, NULL-terminated; NULL when it is
	 * written as a scalar only. */
	const char *const *keys;

	/* How it changes the world (policy_decide reads these). */
	bool		 acts;		/* it changes the world ... */
	bool		 check_safe;	/* ... unless its rollback's check is
					 * marked check_safe */
	bool		 person;	/* it needs a person's verdict */
	bool		 measures;	/* a timing */
	bool		 upsets_timing;	/* a timing after it means nothing when
					 * it was skipped (a purge) */
	bool		 preview;	/* it shows what it would do, then asks */
	const char	*refusal;	/* why a batch without --yes refuses it */

	/* Record types: of its intent (when it acts; REC_UNKNOWN: none) and
	 * of its result, which holds what it observed (see rehearse-audit(5)). */
	enum record_type intent;
	enum record_type result;

	/* Loads the node under its key into s (step idx); reports problems. */
	void		(*load)(struct rb_loader *, struct rb_step *s,
			    const struct ynode *, size_t idx);
	/* Appends what it does after its name ("measure" + " home, 20
	 * samples"). */
	void		(*describe)(const struct runbook *,
			    const struct rb_step *, struct buf *);
	/* The command to show before it runs (an acting kind that asks),
	 * or NULL. */
	const struct rb_cmd *(*command)(const struct runbook *,
			    const struct rb_step *);
	/* Starts step i of the session; it ends through session_end(). */
	void		(*start)(struct session *, size_t i);
	/* Stops it; ends it now or when what it started stops. */
	void		(*cancel)(struct session *, size_t i);
	/* The operator confirms what it previewed; NULL when it does not
	 * preview.  Returns 0, or -1 with *cause. */
	int		(*confirm)(struct session *, size_t i, char **cause);
	/* Frees what step i holds when the session ends; may be NULL. */
	void		(*release)(struct session *, size_t i);
};

extern const struct step_kind step_http, step_measure, step_wait;
extern const struct step_kind step_purge;
extern const struct step_kind step_run, step_rollback_check;
extern const struct step_kind step_manual;

/* The table, indexed by enum step_kind_id. */
extern const struct step_kind *const step_kinds[STEP_NKINDS];

const struct step_kind *step_kind(enum step_kind_id);
const struct step_kind *step_kind_of(const struct rb_step *);
/* "http", "measure", ... ("?" out of range). */
const char	*step_kind_name(enum step_kind_id);
/* The kind of that name (len bytes), or -1. */
int		 step_kind_find(const char *name, size_t len);
/* Whether step i changes the world (an unsafe rollback check does). */
bool		 step_acts(const struct runbook *, size_t i);
/* What step s does, in one line ("http home as alice"); caller frees. */
char		*step_describe(const struct runbook *, const struct rb_step *);

/* The rollback (not a step: one key away on the dashboard); runs the
 * rollback's command, recording rollback.intent and rollback.done.
 * Returns 0, or -1 with *cause.  (step_command.c) */
int		 step_rollback_start(struct session *, size_t rollback,
		     char **cause);

#endif
