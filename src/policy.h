/* policy.h: the one place that decides whether a step may run.  For a
 * step of a runbook in a mode (the dashboard, `run --batch` with or
 * without --yes, `check`, --read-only) it answers: run it, ask the
 * operator first (and what to show), refuse it (why: the step fails) or
 * skip it (why).  Batch, check and the dashboard all ask here; nothing
 * else decides.  The answer rests on what the step's kind says of itself
 * (struct step_kind: does it change the world, can check_safe make it
 * harmless, does it need a person, does it preview, why is it refused),
 * and on the step's confirm. */
#ifndef REHEARSE_POLICY_H
#define REHEARSE_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "runbook.h"

enum policy_mode {
	POLICY_DASHBOARD,	/* a person at the screen */
	POLICY_BATCH,		/* rehearse run --batch */
	POLICY_CHECK,		/* rehearse check: read-only checks only */
};
#define POLICY_NMODES 3

/* Flags. */
#define POLICY_YES	 0x1	/* --yes: the confirmations are given */
#define POLICY_READ_ONLY 0x2	/* --read-only: nothing that acts runs */

enum policy_verdict {
	POLICY_RUN,		/* start it now */
	POLICY_ASK,		/* ask the operator first: see .show */
	POLICY_REFUSE,		/* do not start it; it fails with .why */
	POLICY_SKIP,		/* do not start it; it is skipped with .why */
};

enum policy_show {
	POLICY_SHOW_NONE,
	POLICY_SHOW_COMMAND,	/* the command and where it runs, y/n */
	POLICY_SHOW_PREVIEW,	/* a purge: start it; ask when the preview
				 * has the count and a sample */
	POLICY_SHOW_STEP,	/* confirm: true: the step and why, y/n */
};

struct policy_decision {
	enum policy_verdict verdict;
	enum policy_show show;	/* with POLICY_ASK */
	const char	*why;	/* REFUSE, SKIP: the reason (static) */
};

/* The decision for step i; flags are POLICY_YES | POLICY_READ_ONLY. */
struct policy_decision policy_decide(const struct runbook *, size_t step,
		     enum policy_mode, unsigned flags);
const char	*policy_verdict_name(enum policy_verdict);

#endif
