/* step_manual.c: the manual kind: an instruction for a person, who marks
 * the step pass or fail (session_manual() records the verdict). */
#include "config.h"

#include "runbook_load.h"
#include "session_step.h"

static void
manual_load(struct rb_loader *L, struct rb_step *s, const struct ynode *n,
    size_t idx)
{
	(void)idx;
	s->instruction = rbl_text(L, n, "manual");
}

static void
manual_start_step(struct session *s, size_t i)
{
	session_observed(s, i, "waiting for the operator");
	session_changed(s, i);
}

static void
manual_cancel(struct session *s, size_t i)
{
	session_end(s, i, STEP_SKIPPED, "cancelled");
}

const struct step_kind step_manual = {
	.name = "manual",
	.person = true,
	.result = REC_MANUAL,
	.load = manual_load,
	.start = manual_start_step,
	.cancel = manual_cancel,
};
