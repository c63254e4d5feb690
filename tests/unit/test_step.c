/* test_step.c: the table of step kinds (src/step.c): every kind has what
 * the loader, the policy and the session ask of it; names are unique; the
 * loader accepts exactly the keys a kind lists. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runbook.h"
#include "tap.h"
#include "xmalloc.h"

START_TEST(every_kind_has_every_op)
{
	const struct step_kind *k;
	int i;

	for (i = 0; i < STEP_NKINDS; i++) {
		k = step_kinds[i];
		ck_assert_ptr_nonnull(k);
		ck_assert_ptr_nonnull(k->name);
		ck_assert_ptr_nonnull(k->load);
		ck_assert_ptr_nonnull(k->start);
		ck_assert_ptr_nonnull(k->cancel);
		ck_assert_int_ne(k->result, REC_UNKNOWN);
		ck_assert_ptr_eq(step_kind(i), k);
		ck_assert_str_eq(step_kind_name(i), k->name);
		/* What acts records its intent first and says why a batch
		 * refuses it; it previews (and is confirmed) or shows its
		 * command. */
		if (k->acts) {
			ck_assert_msg(k->intent != REC_UNKNOWN &&
			    k->refusal != NULL, "%s acts without an intent or a "
			    "refusal", k->name);
			/* Its intent is one, and its result closes it. */
			ck_assert(record_info(k->intent)->role & RECORD_INTENT);
			ck_assert_int_eq(record_info(k->intent)->pair, k->result);
			ck_assert_msg(k->preview ? k->confirm != NULL :
			    k->command != NULL, "%s acts and shows nothing",
			    k->name);
		} else
			ck_assert_msg(k->intent == REC_UNKNOWN &&
			    k->confirm == NULL,
			    "%s does not act but has an intent", k->name);
		ck_assert(!k->check_safe || k->acts);
		ck_assert(!k->preview || k->confirm != NULL);
	}
	ck_assert_str_eq(step_kind_name(STEP_NKINDS), "?");
}
END_TEST

START_TEST(names_are_unique)
{
	int i, j;

	for (i = 0; i < STEP_NKINDS; i++) {
		for (j = i + 1; j < STEP_NKINDS; j++)
			ck_assert_str_ne(step_kinds[i]->name,
			    step_kinds[j]->name);
		ck_assert_int_eq(step_kind_find(step_kinds[i]->name,
		    strlen(step_kinds[i]->name)), i);
	}
	ck_assert_int_eq(step_kind_find("htt", 3), -1);
	ck_assert_int_eq(step_kind_find("https", 5), -1);
}
END_TEST

/* A runbook with one step of kind k written as a mapping with key. */
static bool
unknown_key(const struct step_kind *k, const char *key)
{
	static const char frame[] =
	    "runbook: keys\nowner: ops\n"
	    "redis: { url: \"redis://127.0.0.1:6379/0\" }\n"
	    "http: { base_url: \"http://127.0.0.1:8080\" }\n"
	    "routes:\n  - { name: home, path: /, keys: \"page:*\" }\n"
	    "rollback:\n  - { name: back, run: \"true\", check: \"true\" }\n"
	    "steps:\n  - { id: m, title: T, %s: { %s: x } }\n";
	struct diags d;
	struct runbook *rb;
	char *buf, *want;
	bool found = false;
	size_t i;

	buf = xprintf(frame, k->name, key);
	want = xprintf("unknown key '%s'", key);
	diags_init(&d);
	rb = runbook_load_buffer("keys.yml", buf, strlen(buf), &d);
	for (i = 0; i < d.n; i++)
		if (strstr(d.v[i].msg, want) != NULL)
			found = true;
	runbook_free(rb);
	diags_done(&d);
	free(want);
	free(buf);
	return found;
}

START_TEST(loader_takes_exactly_the_kinds_keys)
{
	const struct step_kind *k;
	size_t j;
	int i;

	for (i = 0; i < STEP_NKINDS; i++) {
		k = step_kinds[i];
		if (k->keys == NULL)
			continue;	/* a scalar only */
		for (j = 0; k->keys[j] != NULL; j++)
			ck_assert_msg(!unknown_key(k, k->keys[j]),
			    "%s refuses its own key %s", k->name, k->keys[j]);
		ck_assert_msg(unknown_key(k, "no_such_key"),
		    "%s takes a key it does not list", k->name);
		/* A key of another kind is not one of its own. */
		ck_assert_msg(unknown_key(k, i == STEP_RUN ? "samples" :
		    "command"), "%s takes another kind's key", k->name);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("step");
	TCase *tc = tcase_create("step");

	tcase_add_test(tc, every_kind_has_every_op);
	tcase_add_test(tc, names_are_unique);
	tcase_add_test(tc, loader_takes_exactly_the_kinds_keys);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
