/* step.c: the table of step kinds; see step.h. */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "runbook.h"
#include "step.h"

/* One line per kind, in the order of enum step_kind_id. */
const struct step_kind *const step_kinds[STEP_NKINDS] = {
	[STEP_HTTP] = &step_http,
	[STEP_MEASURE] = &step_measure,
	[STEP_WAIT] = &step_wait,
	[STEP_PURGE] = &step_purge,
	[STEP_RUN] = &step_run,
	[STEP_ROLLBACK_CHECK] = &step_rollback_check,
	[STEP_MANUAL] = &step_manual,
};

const struct step_kind *
step_kind(enum step_kind_id k)
{
	return step_kinds[k];
}

const struct step_kind *
step_kind_of(const struct rb_step *st)
{
	return step_kinds[st->kind];
}

const char *
step_kind_name(enum step_kind_id k)
{
	return (unsigned)k < STEP_NKINDS ? step_kinds[k]->name : "?";
}

int
step_kind_find(const char *name, size_t len)
{
	int k;

	for (k = 0; k < STEP_NKINDS; k++)
		if (strlen(step_kinds[k]->name) == len &&
		    memcmp(step_kinds[k]->name, name, len) == 0)
			return k;
	return -1;
}

bool
step_acts(const struct runbook *rb, size_t i)
{
	const struct rb_step *st = &rb->steps[i];
	const struct step_kind *k = step_kind_of(st);

	if (!k->acts)
		return false;
	return !(k->check_safe && rb->rollbacks[st->rollback].check_safe);
}

char *
step_describe(const struct runbook *rb, const struct rb_step *st)
{
	const struct step_kind *k = step_kind_of(st);
	struct buf b;

	buf_init(&b);
	buf_adds(&b, k->name);
	if (k->describe != NULL)
		k->describe(rb, st, &b);
	return buf_detach(&b);
}
