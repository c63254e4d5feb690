/* test_screen.c: the screen stack, key tables and the shared overlays,
 * driven by ui_key() without a terminal (nothing here draws). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "overlay.h"
#include "screen.h"
#include "tap.h"
#include "xmalloc.h"

struct probe {
	int		 ran;		/* the key of the last action */
	int		 refused;	/* the key of the last refusal */
	int		 freed;
	char		 got[64];	/* what an overlay answered */
	int		 yes, no;
};

static void
act(struct screen *s, int key)
{
	((struct probe *)s->data)->ran = key;
}

static const struct ui_key keys[] = {
	{ { 'j', 'k' }, "j k", "j/k move", "move", act, true },
	{ { 'd' }, "d", "d delete", "delete", act, false },
	{ { 0 }, NULL, NULL, NULL, NULL, false }
};

static const struct ui_key *
table(struct screen *s)
{
	(void)s;
	return keys;
}

static void
refused(struct screen *s, int key)
{
	((struct probe *)s->data)->refused = key;
}

static void
freed(struct screen *s)
{
	((struct probe *)s->data)->freed++;
}

static const struct screen_ops probe_ops = {
	.name = "probe",
	.keys = table,
	.refused = refused,
	.free = freed,
};

static void
answer(void *arg, const char *text)
{
	struct probe *p = arg;

	snprintf(p->got, sizeof p->got, "%s", text);
	p->yes++;
}

static void
refuse(void *arg, const char *text)
{
	(void)text;
	((struct probe *)arg)->no++;
}

static void
type(struct ui *u, const char *s)
{
	for (; *s != '\0'; s++)
		ui_key(u, (unsigned char)*s);
}

START_TEST(the_table_runs_the_key_and_refuses_read_only)
{
	struct loop *l = loop_new();
	struct ui *u = ui_new(l, 0, true, NULL);
	struct probe p;
	struct screen *s;

	memset(&p, 0, sizeof p);
	s = screen_push(u, &probe_ops, &p);
	ui_key(u, 'k');
	ck_assert_int_eq(p.ran, 'k');
	ui_key(u, 'd');		/* not allowed read-only */
	ck_assert_int_eq(p.ran, 'k');
	ck_assert_int_eq(p.refused, 'd');
	ck_assert(!ui_key_run(s, keys, 'x'));
	ui_free(u);
	ck_assert_int_eq(p.freed, 1);
	loop_free(l);
}
END_TEST

START_TEST(overlays_sit_over_the_base_and_take_the_keys)
{
	struct loop *l = loop_new();
	struct ui *u = ui_new(l, 0, false, NULL);
	struct probe p;
	struct screen *s;

	memset(&p, 0, sizeof p);
	s = screen_push(u, &probe_ops, &p);
	overlay_help(u, "keys", NULL);
	ck_assert_ptr_eq(screen_base(u), s);
	ck_assert_ptr_ne(screen_top(u), s);
	ui_key(u, 'j');		/* any key closes the help, and only that */
	ck_assert_ptr_eq(screen_top(u), s);
	ck_assert_int_eq(p.ran, 0);
	ui_key(u, 'd');		/* not read-only: runs */
	ck_assert_int_eq(p.ran, 'd');
	ui_free(u);
	loop_free(l);
}
END_TEST

START_TEST(input_edits_and_answers_on_enter_only)
{
	struct loop *l = loop_new();
	struct ui *u = ui_new(l, 0, false, NULL);
	struct probe p;

	memset(&p, 0, sizeof p);
	screen_push(u, &probe_ops, &p);
	overlay_input(u, "note:", 3, false, answer, &p);
	type(u, "ab");
	ui_key(u, 127);		/* backspace */
	type(u, "cdef");	/* at most 3 bytes */
	ui_key(u, '\r');
	ck_assert_int_eq(p.yes, 1);
	ck_assert_str_eq(p.got, "acd");
	overlay_input(u, "note:", 10, false, answer, &p);
	type(u, "xyz");
	ui_key(u, 27);		/* Esc: nothing */
	ck_assert_int_eq(p.yes, 1);
	ck_assert(screen_top(u)->ops == &probe_ops);
	ui_free(u);
	loop_free(l);
}
END_TEST

START_TEST(a_confirmation_needs_the_exact_text)
{
	struct loop *l = loop_new();
	struct ui *u = ui_new(l, 0, false, NULL);
	struct probe p;

	memset(&p, 0, sizeof p);
	screen_push(u, &probe_ops, &p);
	overlay_confirm(u, "Purge 1500 keys?", "1500", answer, refuse, &p);
	type(u, "y1499\r");	/* y is text here, not yes */
	ck_assert_int_eq(p.yes, 0);
	ck_assert_int_eq(p.no, 1);
	ck_assert(ui_said(u));
	overlay_confirm(u, "Purge 1500 keys?", "1500", answer, refuse, &p);
	type(u, "1500\r");
	ck_assert_int_eq(p.yes, 1);
	overlay_confirm(u, "Run it?", NULL, answer, refuse, &p);
	ui_say_clear(u);
	ui_key(u, 'x');		/* neither y nor n: still asking */
	ck_assert(screen_top(u)->ops != &probe_ops);
	ui_key(u, 'n');
	ck_assert_int_eq(p.no, 2);
	ck_assert(ui_said(u));	/* "cancelled: nothing done" */
	overlay_confirm(u, "Run it?", NULL, answer, refuse, &p);
	ui_key(u, 'y');
	ck_assert_int_eq(p.yes, 2);
	ck_assert(screen_top(u)->ops == &probe_ops);
	ui_free(u);
	loop_free(l);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("screen");
	TCase *tc = tcase_create("screen");

	tcase_add_test(tc, the_table_runs_the_key_and_refuses_read_only);
	tcase_add_test(tc, overlays_sit_over_the_base_and_take_the_keys);
	tcase_add_test(tc, input_edits_and_answers_on_enter_only);
	tcase_add_test(tc, a_confirmation_needs_the_exact_text);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
