/* policy.c: see policy.h. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

static struct policy_decision
decided(enum policy_verdict v, enum policy_show show, const char *why)
{
	struct policy_decision d = { v, show, why };

	return d;
}

/* Whether a step before i upsets a timing and check skips it: a purge. */
static bool
after_skipped_upset(const struct runbook *rb, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (step_kind_of(&rb->steps[j])->upsets_timing)
			return true;
	return false;
}

struct policy_decision
policy_decide(const struct runbook *rb, size_t i, enum policy_mode mode,
    unsigned flags)
{
	const struct rb_step *st = &rb->steps[i];
	const struct step_kind *k = step_kind_of(st);
	bool acts = step_acts(rb, i), ro = (flags & POLICY_READ_ONLY) != 0;
	/* --yes confirms in a batch run only; check and --read-only take none. */
	bool yes = (flags & POLICY_YES) != 0 && !ro && mode == POLICY_BATCH;

	/* What changes the world runs only where it may. */
	if (mode == POLICY_CHECK && (acts || k->person))
		return decided(POLICY_SKIP, POLICY_SHOW_NONE,
		    "not a read-only check");
	if (mode == POLICY_CHECK && k->measures && after_skipped_upset(rb, i))
		return decided(POLICY_SKIP, POLICY_SHOW_NONE,
		    "measures after a purge");
	if (ro && (acts || k->person))	/* (a read-only run keeps no verdict) */
		return decided(POLICY_SKIP, POLICY_SHOW_NONE,
		    "read-only session");

	if (mode == POLICY_DASHBOARD) {
		if (k->person)
			return decided(POLICY_RUN, POLICY_SHOW_NONE, NULL);
		if (acts)
			return decided(POLICY_ASK, k->preview ?
			    POLICY_SHOW_PREVIEW : POLICY_SHOW_COMMAND, NULL);
		if (st->confirm)
			return decided(POLICY_ASK, POLICY_SHOW_STEP, NULL);
		return decided(POLICY_RUN, POLICY_SHOW_NONE, NULL);
	}

	/* Batch and check: nobody to ask.  --yes gives every confirmation;
	 * without it (or in a read-only run, which takes no --yes) what
	 * would ask is refused, or skipped when the run is read-only. */
	if (k->person)
		return yes ? decided(POLICY_RUN, POLICY_SHOW_NONE, NULL) :
		    decided(POLICY_REFUSE, POLICY_SHOW_NONE, "needs a person: "
		    "run it on the dashboard, or confirm it with --yes");
	if (acts && !yes)
		return decided(POLICY_REFUSE, POLICY_SHOW_NONE, k->refusal);
	if (st->confirm && !yes)
		return mode == POLICY_CHECK || ro ?
		    decided(POLICY_SKIP, POLICY_SHOW_NONE, "the runbook asks "
		    "for confirmation (confirm: true), and nobody is asked "
		    "here") :
		    decided(POLICY_REFUSE, POLICY_SHOW_NONE, "refused: the "
		    "runbook asks for confirmation (confirm: true); run with "
		    "--yes to allow it");
	return decided(POLICY_RUN, POLICY_SHOW_NONE, NULL);
}

const char *
policy_verdict_name(enum policy_verdict v)
{
	switch (v) {
	case POLICY_RUN:
		return "run";
	case POLICY_ASK:
		return "ask";
	case POLICY_REFUSE:
		return "refuse";
	case POLICY_SKIP:
		return "skip";
	}
	return "?";
}
