/* test_policy.c: the one decision on whether a step may run, over the
 * whole matrix of step kinds (and their variants: confirm: true,
 * check_safe, a measure after a purge) x modes x flags. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "policy.h"
#include "runbook.h"
#include "tap.h"

static const char runbook[] =
    "runbook: policy\n"
    "owner: qa\n"
    "redis: { url: 'redis://127.0.0.1:1/0' }\n"
    "http: { base_url: 'http://127.0.0.1:1' }\n"
    "routes:\n"
    "  - { name: home, path: /, keys: ['p:*'] }\n"
    "rollback:\n"
    "  - { name: unsafe, run: 'true', check: 'true' }\n"
    "  - { name: safe, run: 'true', check: 'true', check_safe: true }\n"
    "steps:\n"
    "  - { title: http, http: home }\n"
    "  - { title: http confirm, http: home, confirm: true }\n"
    "  - { title: measure before, measure: home }\n"
    "  - { title: wait, wait: { route: home, expect: { status: 200 } } }\n"
    "  - { title: wait confirm, wait: { route: home, expect: { status: 200 } }, confirm: true }\n"
    "  - { title: purge, purge: home }\n"
    "  - { title: measure after, measure: home }\n"
    "  - { title: measure after confirm, measure: home, confirm: true }\n"
    "  - { title: run, run: 'true' }\n"
    "  - { title: unsafe check, rollback_check: unsafe }\n"
    "  - { title: safe check, rollback_check: safe }\n"
    "  - { title: safe check confirm, rollback_check: safe, confirm: true }\n"
    "  - { title: manual, manual: look }\n"
    "  - { title: manual confirm, manual: look, confirm: true }\n";

/* The columns: each mode with each combination of flags. */
static const struct {
	enum policy_mode mode;
	unsigned	 flags;
	const char	*name;
} cols[] = {
	{ POLICY_DASHBOARD, 0, "dashboard" },
	{ POLICY_DASHBOARD, POLICY_YES, "dashboard yes" },
	{ POLICY_DASHBOARD, POLICY_READ_ONLY, "dashboard read-only" },
	{ POLICY_BATCH, 0, "batch" },
	{ POLICY_BATCH, POLICY_YES, "batch --yes" },
	{ POLICY_BATCH, POLICY_READ_ONLY, "batch --read-only" },
	{ POLICY_BATCH, POLICY_READ_ONLY | POLICY_YES, "batch --read-only yes" },
	{ POLICY_CHECK, 0, "check" },
	{ POLICY_CHECK, POLICY_YES, "check yes" },
	{ POLICY_CHECK, POLICY_READ_ONLY, "check read-only" },
};
#define NCOLS (sizeof cols / sizeof cols[0])

/* One row per step: R run, A ask (p preview, c command, s the step),
 * F refuse (the step fails), S skip; a letter per column above. */
static const struct {
	const char	*title;
	bool		 acts;
	const char	*expect;
} rows[] = {
	{ "http",		  false, "R R R R R R R R R R" },
	{ "http confirm",	  false, "As As As F R S S S S S" },
	{ "measure before",	  false, "R R R R R R R R R R" },
	{ "wait",		  false, "R R R R R R R R R R" },
	{ "wait confirm",	  false, "As As As F R S S S S S" },
	{ "purge",		  true,  "Ap Ap S F R S S S S S" },
	{ "measure after",	  false, "R R R R R R R S S S" },
	{ "measure after confirm", false, "As As As F R S S S S S" },
	{ "run",		  true,  "Ac Ac S F R S S S S S" },
	{ "unsafe check",	  true,  "Ac Ac S F R S S S S S" },
	{ "safe check",		  false, "R R R R R R R R R R" },
	{ "safe check confirm",	  false, "As As As F R S S S S S" },
	{ "manual",		  false, "R R S F R S S S S S" },
	{ "manual confirm",	  false, "R R S F R S S S S S" },
};
#define NROWS (sizeof rows / sizeof rows[0])

static struct runbook *
load(void)
{
	struct diags d;
	struct runbook *rb;

	diags_init(&d);
	rb = runbook_load_buffer("policy.yml", runbook, sizeof runbook - 1, &d);
	if (rb == NULL)
		diags_print(&d, "policy.yml", stderr);
	diags_done(&d);
	ck_assert_ptr_nonnull(rb);
	return rb;
}

/* The decision in the notation of rows[]. */
static void
code(const struct policy_decision *d, char out[3])
{
	out[1] = out[2] = '\0';
	switch (d->verdict) {
	case POLICY_RUN:
		out[0] = 'R';
		break;
	case POLICY_ASK:
		out[0] = 'A';
		out[1] = d->show == POLICY_SHOW_PREVIEW ? 'p' : d->show ==
		    POLICY_SHOW_COMMAND ? 'c' : d->show == POLICY_SHOW_STEP ?
		    's' : '?';
		break;
	case POLICY_REFUSE:
		out[0] = 'F';
		break;
	case POLICY_SKIP:
		out[0] = 'S';
		break;
	}
}

START_TEST(the_whole_matrix)
{
	struct runbook *rb = load();
	struct policy_decision d;
	char got[3], want[4];
	const char *p;
	size_t i, j, n;

	ck_assert_uint_eq(rb->nsteps, NROWS);
	for (i = 0; i < NROWS; i++) {
		ck_assert_str_eq(rb->steps[i].title, rows[i].title);
		ck_assert_msg(step_acts(rb, i) == rows[i].acts,
		    "%s: acts", rows[i].title);
		p = rows[i].expect;
		for (j = 0; j < NCOLS; j++) {
			n = strcspn(p, " ");
			ck_assert_uint_le(n, 2);
			memcpy(want, p, n);
			want[n] = '\0';
			p += n + (p[n] == ' ');
			d = policy_decide(rb, i, cols[j].mode, cols[j].flags);
			code(&d, got);
			ck_assert_msg(strcmp(got, want) == 0, "%s in %s: %s, "
			    "expected %s", rows[i].title, cols[j].name, got,
			    want);
			/* A reason exactly when it is not run or asked. */
			ck_assert_msg((d.why != NULL) == (d.verdict ==
			    POLICY_REFUSE || d.verdict == POLICY_SKIP),
			    "%s in %s: why", rows[i].title, cols[j].name);
		}
		ck_assert_msg(*p == '\0', "%s: too many columns", rows[i].title);
	}
	runbook_free(rb);
}
END_TEST

START_TEST(the_reasons)
{
	struct runbook *rb = load();
	struct policy_decision d;

	d = policy_decide(rb, 5, POLICY_BATCH, 0);
	ck_assert_str_eq(d.why, "refused: a purge changes the world; run with "
	    "--yes to allow it");
	d = policy_decide(rb, 8, POLICY_BATCH, 0);
	ck_assert_str_eq(d.why, "refused: a command changes the world; run "
	    "with --yes to allow it");
	d = policy_decide(rb, 9, POLICY_BATCH, 0);
	ck_assert_ptr_nonnull(strstr(d.why, "not marked check_safe"));
	d = policy_decide(rb, 1, POLICY_BATCH, 0);
	ck_assert_ptr_nonnull(strstr(d.why, "confirm: true"));
	ck_assert_ptr_nonnull(strstr(d.why, "--yes"));
	d = policy_decide(rb, 12, POLICY_BATCH, 0);
	ck_assert_ptr_nonnull(strstr(d.why, "needs a person"));
	d = policy_decide(rb, 6, POLICY_CHECK, 0);
	ck_assert_str_eq(d.why, "measures after a purge");
	d = policy_decide(rb, 5, POLICY_CHECK, 0);
	ck_assert_str_eq(d.why, "not a read-only check");
	d = policy_decide(rb, 8, POLICY_BATCH, POLICY_READ_ONLY);
	ck_assert_str_eq(d.why, "read-only session");
	runbook_free(rb);
}
END_TEST

/* The decision reads the kind's properties, not a list of kinds. */
START_TEST(kind_properties)
{
	enum step_kind_id k;

	for (k = 0; k < STEP_NKINDS; k++)
		ck_assert_ptr_nonnull(step_kind(k));
	ck_assert(step_kind(STEP_PURGE)->acts);
	ck_assert(step_kind(STEP_RUN)->acts);
	ck_assert(step_kind(STEP_ROLLBACK_CHECK)->acts);
	ck_assert(step_kind(STEP_ROLLBACK_CHECK)->check_safe);
	ck_assert(!step_kind(STEP_HTTP)->acts);
	ck_assert(step_kind(STEP_MANUAL)->person);
	ck_assert(step_kind(STEP_MEASURE)->measures);
	ck_assert_str_eq(policy_verdict_name(POLICY_ASK), "ask");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_test(tc, the_whole_matrix);
	tcase_add_test(tc, the_reasons);
	tcase_add_test(tc, kind_properties);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
