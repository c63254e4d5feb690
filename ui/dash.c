/* dash.c: the guided walkthrough, as a screen: its key table, its actions
 * and the hooks by which the session, the readouts and the monitor mark it
 * dirty.  Every destructive key goes through a confirmation that shows
 * what will happen.  The panes are drawn by dash_panes.c. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curses_inc.h"
#include "dash.h"
#include "dashboard.h"
#include "glyphs.h"
#include "loop.h"
#include "monitor.h"
#include "overlay.h"
#include "policy.h"
#include "purge.h"
#include "readout.h"
#include "runbook_show.h"
#include "screen.h"
#include "session.h"
#include "textesc.h"
#include "xmalloc.h"

#define TYPE_ABOVE	1000	/* purges over this many keys: type the count */
#define INPUT_MAX	200	/* bytes of a reason or a note */
#define QUIT_WAIT_S	2.0	/* for a stopped command to report its end */

bool
dash_visible(const struct dash *d, size_t i)
{
	return d->filter[0] == '\0' || strcasestr(d->rb->steps[i].title,
	    d->filter) != NULL;
}

/* Answers of the overlays -------------------------------------------------- */

static void
start_step(void *arg, const char *unused)
{
	struct dash *d = arg;
	char *cause = NULL;

	(void)unused;
	if (session_start(d->session, d->action_step, &cause) != 0) {
		ui_say(d->ui, "%s", cause);
		free(cause);
	}
}

static void
purge_yes(void *arg, const char *unused)
{
	struct dash *d = arg;
	char *cause = NULL;

	(void)unused;
	if (session_confirm(d->session, d->purge_step, &cause) != 0) {
		ui_say(d->ui, "%s", cause);
		free(cause);
		session_cancel(d->session, d->purge_step);
	}
}

static void
purge_no(void *arg, const char *unused)
{
	struct dash *d = arg;

	(void)unused;
	session_cancel(d->session, d->purge_step);
	ui_say(d->ui, "purge cancelled: nothing was deleted");
}

static void
rollback_yes(void *arg, const char *unused)
{
	struct dash *d = arg;
	char *cause = NULL;

	(void)unused;
	if (session_rollback(d->session, 0, &cause) != 0) {
		ui_say(d->ui, "%s", cause);
		free(cause);
	} else
		ui_say(d->ui, "rollback running");
}

static void
skip_with(void *arg, const char *reason)
{
	struct dash *d = arg;

	session_skip(d->session, d->action_step, reason[0] ? reason :
	    "skipped by the operator");
}

static void
note_with(void *arg, const char *text)
{
	struct dash *d = arg;

	if (text[0] != '\0') {
		session_note(d->session, d->action_step, text);
		ui_say(d->ui, "note added to step %zu", d->action_step + 1);
	}
}

static void
manual_pass(void *arg, const char *note)
{
	struct dash *d = arg;

	session_manual(d->session, d->action_step, true, note[0] ? note : NULL);
}

static void
manual_fail(void *arg, const char *note)
{
	struct dash *d = arg;

	session_manual(d->session, d->action_step, false, note[0] ? note :
	    "failed by the operator");
}

static void
filter_with(void *arg, const char *text)
{
	struct dash *d = arg;
	size_t i;

	snprintf(d->filter, sizeof d->filter, "%s", text);
	if (!dash_visible(d, d->sel)) {
		for (i = 0; i < d->rb->nsteps && !dash_visible(d, i); i++)
			;
		if (i < d->rb->nsteps)
			d->sel = i;
		else
			ui_say(d->ui, "no step matches; / and Enter clears the "
			    "filter");
	}
}

static bool
session_idle(void *arg)
{
	return !session_busy(((struct dash *)arg)->session);
}

static void
quit_yes(void *arg, const char *unused)
{
	struct dash *d = arg;
	size_t i;

	(void)unused;
	for (i = 0; i < d->rb->nsteps; i++)
		session_cancel(d->session, i);
	ui_quit(d->ui);
	/* Let a cancelled command report its end before the log closes. */
	ui_quit_when(d->ui, session_idle, d, QUIT_WAIT_S);
}

/* Enter on a step: what happens is the policy's to say. */
static void
run_selected(struct dash *d)
{
	const struct rb_step *st = &d->rb->steps[d->sel];
	const struct step_run *r = session_step(d->session, d->sel);
	struct policy_decision pd;
	const struct rb_cmd *cmd;
	struct screen *box;
	char *what;

	if (r->state != STEP_PENDING) {
		ui_say(d->ui, "step %zu is %s", d->sel + 1,
		    step_state_name(r->state));
		return;
	}
	d->action_step = d->sel;
	pd = policy_decide(d->rb, d->sel, POLICY_DASHBOARD, d->env->read_only ?
	    POLICY_READ_ONLY : 0);
	switch (pd.verdict) {
	case POLICY_SKIP:
		session_skip(d->session, d->sel, pd.why);
		ui_say(d->ui, "step %zu skipped: %s", d->sel + 1, pd.why);
		return;
	case POLICY_REFUSE:
		session_refuse(d->session, d->sel, pd.why);
		ui_say(d->ui, "step %zu refused: %s", d->sel + 1, pd.why);
		return;
	case POLICY_RUN:
		start_step(d, "");
		if (step_kind_of(st)->person)
			ui_say(d->ui, "manual step: p marks it pass, f marks it "
			    "fail");
		return;
	case POLICY_ASK:
		break;
	}
	switch (pd.show) {
	case POLICY_SHOW_PREVIEW:
		/* Purges preview first and ask when the count is known. */
		start_step(d, "");
		return;
	case POLICY_SHOW_COMMAND:
		cmd = step_kind_of(st)->command(d->rb, st);
		what = xprintf("%s%s", cmd->shell ? "sh -c " : "", cmd->text);
		box = overlay_confirm(d->ui, "Run this command?", NULL,
		    start_step, NULL, d);
		overlay_confirm_line(box, what);
		free(what);
		what = xprintf("in %s", d->rb->dir);
		overlay_confirm_line(box, what);
		free(what);
		return;
	case POLICY_SHOW_STEP:
	case POLICY_SHOW_NONE:
		box = overlay_confirm(d->ui, "Start this step?", NULL,
		    start_step, NULL, d);
		overlay_confirm_line(box, st->title);
		what = step_describe(d->rb, st);
		overlay_confirm_line(box, what);
		free(what);
		if (st->why != NULL)
			overlay_confirm_line(box, st->why);
		overlay_confirm_line(box, "the runbook asks before this step "
		    "starts (confirm: true)");
		return;
	}
}

/* Keys ------------------------------------------------------------------------ */

static struct dash *
dash_of(struct screen *s)
{
	return s->data;
}

static void
key_move(struct screen *s, int key)
{
	struct dash *d = dash_of(s);
	int delta = key == 'j' || key == KEY_DOWN ? 1 : -1;
	size_t i = d->sel;

	do {
		if (delta > 0 && i + 1 < d->rb->nsteps)
			i++;
		else if (delta < 0 && i > 0)
			i--;
		else
			return;
	} while (!dash_visible(d, i));
	d->sel = i;
}

static void
key_run(struct screen *s, int key)
{
	(void)key;
	run_selected(dash_of(s));	/* read-only: probes only, actions skip */
}

static void
key_skip(struct screen *s, int key)
{
	struct dash *d = dash_of(s);

	(void)key;
	d->action_step = d->sel;
	overlay_input(d->ui, "skip: why?", INPUT_MAX, false, skip_with, d);
}

static void
key_note(struct screen *s, int key)
{
	struct dash *d = dash_of(s);

	(void)key;
	d->action_step = d->sel;
	overlay_input(d->ui, "note:", INPUT_MAX, false, note_with, d);
}

static void
key_manual(struct screen *s, int key)
{
	struct dash *d = dash_of(s);
	struct policy_decision pd;

	if (!step_kind_of(&d->rb->steps[d->sel])->person) {
		ui_say(d->ui, "p and f mark manual steps");
		return;
	}
	d->action_step = d->sel;
	if (session_step(d->session, d->sel)->state == STEP_PENDING) {
		pd = policy_decide(d->rb, d->sel, POLICY_DASHBOARD, 0);
		if (pd.verdict != POLICY_RUN) {
			ui_say(d->ui, "%s", pd.why ? pd.why : "not now");
			return;
		}
		start_step(d, "");
	}
	overlay_input(d->ui, key == 'p' ? "pass; a note (optional):" :
	    "fail; what is wrong:", INPUT_MAX, false, key == 'p' ?
	    manual_pass : manual_fail, d);
}

static void
key_rollback(struct screen *s, int key)
{
	struct dash *d = dash_of(s);
	struct screen *box;

	(void)key;
	if (d->rb->nrollbacks == 0) {
		ui_say(d->ui, "this runbook has no rollback");
		return;
	}
	box = overlay_confirm(d->ui, "Run the rollback now?", NULL,
	    rollback_yes, NULL, d);
	overlay_confirm_line(box, d->rb->rollbacks[0].name);
	overlay_confirm_line(box, d->rb->rollbacks[0].run.text);
}

static void
key_filter(struct screen *s, int key)
{
	(void)key;
	overlay_input(s->ui, "filter:", INPUT_MAX, false, filter_with,
	    s->data);
}

static void
key_recount(struct screen *s, int key)
{
	struct dash *d = dash_of(s);

	(void)key;
	if (d->ro == NULL) {
		ui_say(d->ui, "no Redis readouts to recount");
		return;
	}
	readouts_recount(d->ro);
	readouts_refresh(d->ro);
	ui_say(d->ui, "refreshing the readouts, counting the routes' keys "
	    "again");
}

static const char *const dash_help_note[] = {
	"Every destructive key asks first.",
	NULL
};

static void
key_help(struct screen *s, int key)
{
	(void)key;
	overlay_help(s->ui, "rehearse: keys", dash_help_note);
}

static void
key_quit(struct screen *s, int key)
{
	struct dash *d = dash_of(s);
	struct screen *box;

	(void)key;
	if (session_busy(d->session)) {
		box = overlay_confirm(d->ui, "Something is running. Stop it and "
		    "quit?", NULL, quit_yes, NULL, d);
		overlay_confirm_line(box, "the step is stopped and recorded as "
		    "such");
	} else
		quit_yes(d, "");
}

static const struct ui_key dash_keys[] = {
	{ { 'j', 'k', KEY_DOWN, KEY_UP }, "j k, arrows", "j/k select",
	    "select a step", key_move, true },
	{ { '\n', '\r', KEY_ENTER, 'r' }, "Enter, r", "Enter run",
	    "run the selected step", key_run, true },
	{ { 's' }, "s", "s skip", "skip it (asks a reason)", key_skip, false },
	{ { 'p', 'f' }, "p, f", "p/f pass/fail",
	    "mark a manual step pass or fail", key_manual, false },
	{ { 'a' }, "a", "a note", "add a note to the step", key_note, false },
	{ { 'b' }, "b", "b rollback", "run the rollback (asks first)",
	    key_rollback, false },
	/* r runs the step (with Enter): c is the recount key. */
	{ { 'c' }, "c", "c recount", "refresh the readouts, count keys now",
	    key_recount, true },
	{ { '/' }, "/", "/ filter", "filter steps by title", key_filter, true },
	{ { '?' }, "?", "? help", NULL, key_help, true },
	{ { 'q' }, "q", "q quit", "quit (asks while something runs)", key_quit,
	    true },
	{ { 0 }, NULL, NULL, NULL, NULL, false }
};

/* The screen ------------------------------------------------------------------ */

static void
dash_screen_draw(struct screen *s)
{
	dash_draw(dash_of(s));
}

static bool
dash_screen_key(struct screen *s, int key)
{
	(void)key;
	ui_say_clear(s->ui);
	return false;
}

static void
dash_screen_tick(struct screen *s)
{
	struct dash *d = dash_of(s);
	char now[sizeof d->clock];

	/* Counters ("waiting 3.2 s") move even when nothing arrives. */
	dash_clock_text(d, now, sizeof now);
	if (strcmp(now, d->clock) != 0)
		ui_dirty(s->ui);
}

static const struct ui_key *
dash_screen_keys(struct screen *s)
{
	(void)s;
	return dash_keys;
}

static void
dash_screen_refused(struct screen *s, int key)
{
	(void)key;
	ui_say(s->ui, "read-only: no action keys");
}

static const struct screen_ops dash_ops = {
	.name = "dashboard",
	.draw = dash_screen_draw,
	.key = dash_screen_key,
	.tick = dash_screen_tick,
	.keys = dash_screen_keys,
	.refused = dash_screen_refused,
};

/* The core's hooks -------------------------------------------------------------- */

static void
previewed(struct session *s, size_t i, const struct purge *p, void *arg)
{
	struct dash *d = arg;
	const struct purge_report *rep = purge_report(p);
	struct screen *box;
	const char *k;
	size_t j, len;
	char *title, *count, *e;

	(void)s;
	d->purge_step = i;
	title = xprintf("Purge %zu keys of route %s?", rep->previewed,
	    d->rb->routes[d->rb->steps[i].route].name);
	count = xprintf("%zu", rep->previewed);
	box = overlay_confirm(d->ui, title, rep->previewed > TYPE_ABOVE ?
	    count : NULL, purge_yes, purge_no, d);
	free(title);
	free(count);
	for (j = 0; purge_sample(p, j, &k, &len) && j < PURGE_SAMPLE;
	    j++) {
		e = esc_text(k, len, ESC_BACKSLASH);
		overlay_confirm_line(box, e);
		free(e);
	}
	if (rep->warning[0] != '\0') {	/* escaped by the purge */
		e = xprintf("warning: %s", rep->warning);
		overlay_confirm_line(box, e);
		free(e);
	}
	if (rep->previewed > TYPE_ABOVE) {
		e = xprintf("more than %d keys: type %zu to confirm", TYPE_ABOVE,
		    rep->previewed);
		overlay_confirm_line(box, e);
		free(e);
	}
}

static void
on_changed(struct session *s, size_t i, void *arg)
{
	struct dash *d = arg;

	(void)s;
	if (i == RB_NONE) {	/* the rollback */
		snprintf(d->rollback_seen, sizeof d->rollback_seen,
		    "last run: finished (see the output pane)");
	}
	ui_dirty(d->ui);
}

static void
on_output(struct session *s, size_t i, const char *line, size_t len,
    bool err, void *arg)
{
	struct dash *d = arg;
	char *e = session_output_text(s, line, len);

	(void)i;
	if (d->nout == DASH_OUT_LINES) {
		free(d->out[0]);
		memmove(d->out, d->out + 1, (DASH_OUT_LINES - 1) *
		    sizeof *d->out);
		d->nout--;
	}
	d->out[d->nout++] = xprintf("%c %s", err ? '!' : '|', e);
	free(e);
	ui_dirty(d->ui);
}

static void
changed_cb(void *arg)
{
	ui_dirty(((struct dash *)arg)->ui);
}

static void
on_interrupt(struct ui *u, void *arg)
{
	(void)arg;
	/* ^C is q: it asks while something runs. */
	key_quit(screen_base(u), 'q');
}

static void
on_terminate(struct ui *u, void *arg)
{
	(void)u;
	quit_yes(arg, "");
}

int
dashboard_main(struct rehearsal *env)
{
	struct session_hooks hooks = { on_changed, on_output, previewed, NULL };
	struct ui_hooks uh = { on_interrupt, on_terminate, NULL };
	struct dash d;
	int status = EXIT_OK;
	size_t i;

	memset(&d, 0, sizeof d);
	d.env = env;
	d.rb = env->rb;
	d.g = glyphs_get(glyphs_locale_utf8());
	d.purge_step = RB_NONE;
	uh.arg = &d;
	d.ui = ui_new(env->loop, 0.25, env->read_only, &uh);
	hooks.arg = &d;
	/* The rehearsal holds the session, readouts and monitor. */
	rehearsal_listen(env, &hooks, changed_cb);
	d.session = env->session;
	d.ro = env->readouts;
	d.mon = env->monitor;
	screen_push(d.ui, &dash_ops, &d);
	ui_run(d.ui);
	for (i = 0; i < d.rb->nsteps; i++)
		if (session_step(d.session, i)->state == STEP_FAILED)
			status = EXIT_FAILED;
	ui_free(d.ui);
	for (i = 0; i < d.nout; i++)
		free(d.out[i]);
	return status;
}
