/* dashboard.c: the guided walkthrough.  Events (keys, replies, timers) set
 * a dirty flag; the screen is drawn once per loop turn from what the core
 * reports.  Every destructive key goes through a confirmation that shows
 * what will happen. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "curses_inc.h"
#include "dashboard.h"
#include "draw.h"
#include "glyphs.h"
#include "loop.h"
#include "monitor.h"
#include "policy.h"
#include "purge.h"
#include "readout.h"
#include "redis.h"
#include "runbook_show.h"
#include "session.h"
#include "textesc.h"
#include "xmalloc.h"

#define OUT_LINES	200
#define TYPE_ABOVE	1000	/* purges over this many keys: type the count */

enum mode {
	MODE_NORMAL,
	MODE_CONFIRM,
	MODE_INPUT,
	MODE_HELP,
};

struct dash;
typedef void (*dash_fn)(struct dash *, const char *input);

struct dash {
	struct dash_env	*env;
	const struct runbook *rb;
	struct session	*session;
	struct readouts	*ro;
	struct monitor	*mon;
	const struct glyphs *g;
	size_t		 sel;
	enum mode	 mode;
	/* confirmation */
	char		*confirm_title;
	char		*confirm_body[12];
	size_t		 nbody;
	char		*confirm_need;	/* text to type, or NULL: y/n */
	dash_fn		 on_yes;
	dash_fn		 on_no;
	/* text input */
	char		*prompt;
	struct buf	 input;
	dash_fn		 on_input;
	char		 filter[64];
	char		*out[OUT_LINES];
	size_t		 nout;
	char		 message[256];
	size_t		 purge_step;	/* previewed, awaiting an answer */
	size_t		 action_step;	/* for on_yes / on_input */
	bool		 dirty;
	bool		 quit;
	bool		 quit_asked;
	struct event	*stdin_ev;
	struct timer	*tick;
	char		 rollback_seen[128];
};

static struct dash *active;	/* for the exit paths */
static void
say(struct dash *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct dash *d, const char *fmt, ...)
{
	va_list ap;
	char raw[256], *e;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	e = esc_str(raw, 0);
	snprintf(d->message, sizeof d->message, "%s", e);
	free(e);
	d->dirty = true;
}

/* Drawing ---------------------------------------------------------------- */

static int
state_pair(enum step_state s)
{
	switch (s) {
	case STEP_PASSED:
		return PAIR_OK;
	case STEP_FAILED:
		return PAIR_FAIL;
	case STEP_DEGRADED:
	case STEP_RUNNING:
		return PAIR_WARN;
	default:
		return 0;
	}
}

static const char *
state_glyph(const struct dash *d, enum step_state s)
{
	switch (s) {
	case STEP_PASSED:
		return d->g->pass;
	case STEP_FAILED:
		return d->g->fail;
	case STEP_DEGRADED:
		return d->g->degraded;
	case STEP_SKIPPED:
		return d->g->skipped;
	case STEP_RUNNING:
		return d->g->running;
	case STEP_PENDING:
		break;
	}
	return d->g->pending;
}

static bool
visible(const struct dash *d, size_t i)
{
	return d->filter[0] == '\0' || strcasestr(d->rb->steps[i].title,
	    d->filter) != NULL;
}

static void
draw_header(struct dash *d)
{
	const struct runbook *rb = d->rb;
	char line[512];
	const char *audit = "none (read-only)";

	if (d->env->audit != NULL)
		audit = audit_refused(d->env->audit) ? "REFUSED" : "ok";
	snprintf(line, sizeof line, " rehearse  %s  owner: %s  env: %s  audit: "
	    "%s", rb->title, rb->owner, rb->environment, audit);
	ui_attr(PAIR_HEAD, A_REVERSE, true);
	mvhline(0, 0, ' ', COLS);
	{
		char *e = esc_str(line, 0);
		ui_put(0, 0, COLS, e);
		free(e);
	}
	ui_attr(PAIR_HEAD, A_REVERSE, false);
	if (d->env->read_only || (d->env->audit != NULL &&
	    audit_refused(d->env->audit))) {
		ui_attr(PAIR_BANNER, A_REVERSE | A_BOLD, true);
		mvhline(1, 0, ' ', COLS);
		if (d->env->read_only)
			ui_put(1, 0, COLS, " READ-ONLY: live readouts only; no "
			    "purge, no command, nothing written");
		else {
			char *e = xprintf(" THE AUDIT LOG STOPPED (%s): "
			    "destructive actions are refused",
			    audit_refusal(d->env->audit));
			ui_put(1, 0, COLS, e);
			free(e);
		}
		ui_attr(PAIR_BANNER, A_REVERSE | A_BOLD, false);
	}
}

static int
draw_steps(struct dash *d, int top, int height, int width)
{
	const struct step_run *r;
	size_t i, first = 0, shown = 0;
	char line[256], *t;
	int y = top;

	if (d->sel >= (size_t)height)
		first = d->sel - (size_t)height + 1;
	for (i = first; i < d->rb->nsteps && y < top + height; i++) {
		if (!visible(d, i))
			continue;
		r = session_step(d->session, i);
		t = esc_str(d->rb->steps[i].title, 0);
		snprintf(line, sizeof line, "%c%2zu %s %s", i == d->sel ? '>' :
		    ' ', i + 1, state_glyph(d, r->state), t);
		free(t);
		if (i == d->sel)
			attron(A_REVERSE);
		ui_attr(state_pair(r->state), A_BOLD, state_pair(r->state) != 0);
		ui_put(y, 0, width - 1, line);
		ui_attr(state_pair(r->state), A_BOLD, false);
		if (i == d->sel)
			attroff(A_REVERSE);
		y++;
		shown++;
	}
	(void)shown;
	return y;
}

/* Wraps text over at most rows lines of width. */
static int
wrap(int y, int x, int width, int rows, const char *label, const char *text)
{
	char *e, *s;
	size_t len;
	int used = 0, lw = (int)strlen(label);

	if (text == NULL || rows <= 0)
		return y;
	e = esc_str(text, 0);
	s = e;
	attron(A_BOLD);
	ui_put(y, x, width, label);
	attroff(A_BOLD);
	while (*s != '\0' && used < rows) {
		len = strlen(s);
		if ((int)len > width - lw)
			len = (size_t)(width - lw);
		ui_put(y + used, x + lw, (int)len, s);
		s += len;
		used++;
	}
	free(e);
	return y + (used ? used : 1);
}

static void
draw_detail(struct dash *d, int top, int left, int height, int width)
{
	const struct rb_step *st = &d->rb->steps[d->sel];
	const struct step_run *r = session_step(d->session, d->sel);
	char *what = step_describe(d->rb, st), *line;
	int y = top, end = top + height;
	size_t i;

	line = xprintf("Step %zu: ", d->sel + 1);
	y = wrap(y, left, width, 1, line, st->title);
	free(line);
	y = wrap(y, left, width, 2, "does:     ", what);
	free(what);
	y = wrap(y, left, width, 2, "why:      ", st->why);
	y = wrap(y, left, width, 2, "expect:   ", st->expect_text);
	y = wrap(y, left, width, 2, "owner:    ", st->owner_note);
	if (step_kind_of(st)->person)
		y = wrap(y, left, width, 2, "check:    ", st->instruction);
	ui_attr(state_pair(r->state), A_BOLD, state_pair(r->state) != 0);
	y = wrap(y, left, width, 1, "state:    ", step_state_name(r->state));
	ui_attr(state_pair(r->state), A_BOLD, false);
	if (y < end)
		y = wrap(y, left, width, 2, "observed: ", r->observed);
	if (y < end && r->reason != NULL && r->state != STEP_PASSED)
		y = wrap(y, left, width, 2, "why not:  ", r->reason);
	for (i = 0; i < r->checks.n && y < end; i++) {
		if (r->checks.v[i].verdict == VERDICT_PASS)
			continue;
		line = xprintf("%s %s: expected %s, got %s",
		    verdict_name(r->checks.v[i].verdict), r->checks.v[i].what,
		    r->checks.v[i].expected, r->checks.v[i].observed);
		ui_attr(PAIR_FAIL, A_BOLD, true);
		ui_put(y++, left + 2, width - 2, line);
		ui_attr(PAIR_FAIL, A_BOLD, false);
		free(line);
	}
}

static const char *
human_bytes(long long n, char *buf, size_t len)
{
	if (n >= 1 << 30)
		snprintf(buf, len, "%.1fG", (double)n / (1 << 30));
	else if (n >= 1 << 20)
		snprintf(buf, len, "%.1fM", (double)n / (1 << 20));
	else if (n >= 1 << 10)
		snprintf(buf, len, "%.1fK", (double)n / (1 << 10));
	else
		snprintf(buf, len, "%lld", n);
	return buf;
}

static int
draw_redis(struct dash *d, int y, int left, int width)
{
	const struct readout *x;
	char state[300], mem[32], line[512], role[200];
	size_t i;
	bool up;

	if (d->env->redis == NULL)
		return y;
	redis_describe(d->env->redis, state, sizeof state);
	x = readouts_get(d->ro);
	up = redis_status(d->env->redis)->state == REDIS_UP;
	readout_describe_role(&x->node, role, sizeof role);
	ui_attr(up ? PAIR_OK : PAIR_FAIL, A_BOLD, true);
	snprintf(line, sizeof line, "redis %s%s%s", state, up && x->state ==
	    READOUT_OK ? ", " : "", up && x->state == READOUT_OK ? role : "");
	ui_put(y, left, width, line);
	ui_attr(up ? PAIR_OK : PAIR_FAIL, A_BOLD, false);
	y++;
	if (up && x->state == READOUT_UNKNOWN) {
		/* Unknown is unknown: no stale or zero numbers. */
		snprintf(line, sizeof line, "  readouts unknown: %s", x->why);
		ui_attr(PAIR_FAIL, A_BOLD, true);
		ui_put(y++, left, width, line);
		ui_attr(PAIR_FAIL, A_BOLD, false);
	} else if (x->valid) {
		snprintf(line, sizeof line, "  mem %s  hit %s  ops %lld/s  keys %lld"
		    "  evicted %lld  clients %lld", human_bytes(x->used_memory,
		    mem, sizeof mem), x->hit_ratio < 0 ? "n/a" : "", x->ops_per_sec,
		    x->dbsize, x->evicted, x->clients);
		if (x->hit_ratio >= 0) {
			char ratio[16];
			snprintf(ratio, sizeof ratio, "%.2f", x->hit_ratio);
			snprintf(line, sizeof line, "  mem %s  hit %s  ops %lld/s  "
			    "keys %lld  evicted %lld  clients %lld", mem, ratio,
			    x->ops_per_sec, x->dbsize, x->evicted, x->clients);
		}
		ui_put(y++, left, width, line);
	}
	for (i = 0; i < x->nroutes; i++) {
		const struct route_keys *rk = &x->routes[i];
		if (d->rb->routes[i].nkeys == 0)
			continue;
		if (rk->known)
			snprintf(line, sizeof line, "  %s: %s%zu keys",
			    d->rb->routes[i].name, rk->over ? ">" : "",
			    rk->count);
		else
			snprintf(line, sizeof line, "  %s: counting...",
			    d->rb->routes[i].name);
		ui_put(y++, left, width, line);
	}
	return y;
}

static int
draw_http(struct dash *d, int y, int left, int width)
{
	const struct watch *w;
	struct buf spark;
	char line[512], *e;
	size_t i;

	for (i = 0; i < monitor_count(d->mon); i++) {
		w = monitor_get(d->mon, i);
		const char *who = w->profile == RB_NONE ? "anon" :
		    d->rb->http.profiles[w->profile].name;
		buf_init(&spark);
		buf_add(&spark, "", 0);
		glyphs_sparkline(d->g, w->history, w->nhistory, 12, &spark);
		if (w->waiting && loop_now() - w->sent > 1.0)
			snprintf(line, sizeof line, "%-12.12s %-9.9s waiting %.1f s",
			    d->rb->routes[w->route].name, who,
			    loop_now() - w->sent);
		else if (!w->seen)
			snprintf(line, sizeof line, "%-12.12s %-9.9s ...",
			    d->rb->routes[w->route].name, who);
		else if (!w->ok)
			snprintf(line, sizeof line, "%-12.12s %-9.9s %s",
			    d->rb->routes[w->route].name, who, w->error);
		else
			snprintf(line, sizeof line, "%-12.12s %-9.9s %3ld %-6.6s "
			    "%6.1f ms  fb %6.1f  %s  p50 %.1f p95 %.1f",
			    d->rb->routes[w->route].name, who, w->status,
			    w->cache, w->total_ms, w->ttfb_ms, spark.data,
			    w->p50_ms, w->p95_ms);
		buf_free(&spark);
		e = esc_str(line, 0);
		ui_attr(w->seen && !w->ok ? PAIR_FAIL : 0, A_BOLD,
		    w->seen && !w->ok);
		ui_put(y++, left, width, e);
		ui_attr(PAIR_FAIL, A_BOLD, false);
		free(e);
	}
	return y;
}

static void
draw_output(struct dash *d, int top, int left, int height, int width)
{
	size_t first, i;
	int y = top;

	if (height <= 0 || d->nout == 0)
		return;
	first = d->nout > (size_t)height ? d->nout - (size_t)height : 0;
	for (i = first; i < d->nout && y < top + height; i++)
		ui_put(y++, left, width, d->out[i]);
}

static void
draw_rollback_bar(struct dash *d, int y)
{
	const struct rb_rollback *rl;
	char line[512], check[96], when[16], *e;
	struct tm tm;
	size_t i;

	mvhline(y, 0, ' ', COLS);
	if (d->rb->nrollbacks == 0) {
		ui_put(y, 0, COLS, " no rollback in this runbook");
		return;
	}
	rl = &d->rb->rollbacks[0];
	/* When its check last ran, and how it went. */
	check[0] = '\0';
	for (i = 0; i < d->rb->nsteps; i++) {
		const struct step_run *r = session_step(d->session, i);
		if (d->rb->steps[i].rollback != 0 || r->ended == 0)
			continue;
		localtime_r(&r->ended, &tm);
		strftime(when, sizeof when, "%H:%M:%S", &tm);
		snprintf(check, sizeof check, "  | check %s at %s",
		    step_state_name(r->state), when);
	}
	if (check[0] == '\0' && rl->has_check)
		snprintf(check, sizeof check, "  | check not run yet");
	snprintf(line, sizeof line, " [b] rollback %s: %s%s%s%s", rl->name,
	    rl->run.text, check, d->rollback_seen[0] ? "  | " : "",
	    d->rollback_seen);
	e = esc_str(line, 0);
	ui_attr(PAIR_WARN, A_BOLD, true);
	ui_put(y, 0, COLS, e);
	ui_attr(PAIR_WARN, A_BOLD, false);
	free(e);
}

static void
draw_status(struct dash *d, int y)
{
	const char *keys = d->env->read_only ?
	    " j/k select  / filter  ? help  q quit" :
	    " j/k select  Enter run  s skip  p/f pass/fail  a note  b rollback"
	    "  / filter  ? help  q quit";

	mvhline(y, 0, ' ', COLS);
	attron(A_REVERSE);
	mvhline(y, 0, ' ', COLS);
	if (d->mode == MODE_INPUT) {
		char *line = xprintf(" %s %s_", d->prompt, d->input.data ?
		    d->input.data : "");
		ui_put(y, 0, COLS, line);
		free(line);
	} else if (d->message[0] != '\0') {
		ui_put(y, 0, COLS, " ");
		ui_put(y, 1, COLS - 1, d->message);
	} else
		ui_put(y, 0, COLS, keys);
	attroff(A_REVERSE);
}

static void
draw_box(const char *title, const char *const *body,
    size_t n, const char *footer)
{
	int w = COLS - 8 > 76 ? 76 : COLS - 8, h = (int)n + 4, x = (COLS - w) / 2,
	    y = (LINES - h) / 2, i;

	if (w < 20)
		w = COLS;
	for (i = 0; i < h; i++)
		mvhline(y + i, x, ' ', w);
	ui_attr(PAIR_HEAD, A_REVERSE, true);
	mvhline(y, x, ' ', w);
	ui_put(y, x + 1, w - 2, title);
	ui_attr(PAIR_HEAD, A_REVERSE, false);
	for (i = 0; i < (int)n; i++)
		ui_put(y + 2 + i, x + 2, w - 4, body[i]);
	attron(A_BOLD);
	ui_put(y + h - 1, x + 2, w - 4, footer);
	attroff(A_BOLD);
}

static void
draw(struct dash *d)
{
	int top = (d->env->read_only || (d->env->audit != NULL &&
	    audit_refused(d->env->audit))) ? 2 : 1;
	int bottom = LINES - 2, leftw = COLS / 3 < 24 ? 24 : COLS / 3;
	int right = leftw + 1, rw = COLS - right, y, outh;

	if (leftw > 44)
		leftw = 44, right = 45, rw = COLS - right;
	erase();
	draw_header(d);
	if (LINES < 12 || COLS < 40) {
		ui_put(top, 0, COLS, "terminal too small");
		refresh();
		return;
	}
	draw_steps(d, top, bottom - top, leftw);
	mvvline(top, leftw, ACS_VLINE, bottom - top);
	draw_detail(d, top, right, (bottom - top) / 2, rw);
	y = top + (bottom - top) / 2;
	mvhline(y++, right, ACS_HLINE, rw);
	y = draw_redis(d, y, right, rw);
	y = draw_http(d, y, right, rw);
	outh = bottom - y - 1;
	if (outh > 0 && d->nout > 0) {
		mvhline(y++, right, ACS_HLINE, rw);
		draw_output(d, y, right, outh, rw);
	}
	draw_rollback_bar(d, bottom);
	draw_status(d, LINES - 1);
	if (d->mode == MODE_CONFIRM)
		draw_box(d->confirm_title,
		    (const char *const *)d->confirm_body, d->nbody,
		    d->confirm_need ? "type the text shown, then Enter; Esc "
		    "cancels" : "y: do it   n or Esc: cancel");
	else if (d->mode == MODE_HELP) {
		static const char *const help[] = { "j k, arrows   select a step",
		    "Enter, r      run the selected step",
		    "s             skip it (asks a reason)",
		    "p, f          mark a manual step pass or fail",
		    "a             add a note to the step",
		    "b             run the rollback (asks first)",
		    "/             filter steps by title",
		    "q             quit (asks while something runs)",
		    "Every destructive key asks first." };
		draw_box("rehearse: keys", help, 9, "any key closes");
	}
	refresh();
	d->dirty = false;
}

/* Actions ---------------------------------------------------------------- */

static void
confirm_clear(struct dash *d)
{
	size_t i;

	free(d->confirm_title);
	d->confirm_title = NULL;
	for (i = 0; i < d->nbody; i++)
		free(d->confirm_body[i]);
	d->nbody = 0;
	free(d->confirm_need);
	d->confirm_need = NULL;
	d->mode = MODE_NORMAL;
}

static void
ask(struct dash *d, const char *title, const char *need, dash_fn yes,
    dash_fn no)
{
	d->confirm_title = esc_str(title, 0);
	d->confirm_need = need ? xstrdup(need) : NULL;
	d->on_yes = yes;
	d->on_no = no;
	d->mode = MODE_CONFIRM;
	buf_reset(&d->input);
	d->dirty = true;
}

static void
body(struct dash *d, const char *text)
{
	if (d->nbody < 12)
		d->confirm_body[d->nbody++] = esc_str(text, 0);
}

static void
input(struct dash *d, const char *prompt, dash_fn fn)
{
	free(d->prompt);
	d->prompt = xstrdup(prompt);
	buf_reset(&d->input);
	d->on_input = fn;
	d->mode = MODE_INPUT;
	d->dirty = true;
}

static void
start_step(struct dash *d, const char *unused)
{
	char *cause = NULL;

	(void)unused;
	if (session_start(d->session, d->action_step, &cause) != 0) {
		say(d, "%s", cause);
		free(cause);
	}
}

static void
purge_yes(struct dash *d, const char *unused)
{
	char *cause = NULL;

	(void)unused;
	if (session_confirm(d->session, d->purge_step, &cause) != 0) {
		say(d, "%s", cause);
		free(cause);
		session_cancel(d->session, d->purge_step);
	}
}

static void
purge_no(struct dash *d, const char *unused)
{
	(void)unused;
	session_cancel(d->session, d->purge_step);
	say(d, "purge cancelled: nothing was deleted");
}

static void
rollback_yes(struct dash *d, const char *unused)
{
	char *cause = NULL;

	(void)unused;
	if (session_rollback(d->session, 0, &cause) != 0) {
		say(d, "%s", cause);
		free(cause);
	} else
		say(d, "rollback running");
}

static void
skip_with(struct dash *d, const char *reason)
{
	session_skip(d->session, d->action_step, reason[0] ? reason :
	    "skipped by the operator");
}

static void
note_with(struct dash *d, const char *text)
{
	if (text[0] != '\0') {
		session_note(d->session, d->action_step, text);
		say(d, "note added to step %zu", d->action_step + 1);
	}
}

static void
manual_pass(struct dash *d, const char *note)
{
	session_manual(d->session, d->action_step, true, note[0] ? note : NULL);
}

static void
manual_fail(struct dash *d, const char *note)
{
	session_manual(d->session, d->action_step, false, note[0] ? note :
	    "failed by the operator");
}

static void
filter_with(struct dash *d, const char *text)
{
	size_t i;

	snprintf(d->filter, sizeof d->filter, "%s", text);
	if (!visible(d, d->sel)) {
		for (i = 0; i < d->rb->nsteps && !visible(d, i); i++)
			;
		if (i < d->rb->nsteps)
			d->sel = i;
		else
			say(d, "no step matches; / and Enter clears the filter");
	}
	d->dirty = true;
}

static void
quit_yes(struct dash *d, const char *unused)
{
	size_t i;

	(void)unused;
	for (i = 0; i < d->rb->nsteps; i++)
		session_cancel(d->session, i);
	d->quit = true;
	loop_exit(d->env->loop);
}

/* Enter on a step: what happens is the policy's to say. */
static void
run_selected(struct dash *d)
{
	const struct rb_step *st = &d->rb->steps[d->sel];
	const struct step_run *r = session_step(d->session, d->sel);
	struct policy_decision pd;
	const struct rb_cmd *cmd;
	char *what;

	if (r->state != STEP_PENDING) {
		say(d, "step %zu is %s", d->sel + 1, step_state_name(r->state));
		return;
	}
	d->action_step = d->sel;
	pd = policy_decide(d->rb, d->sel, POLICY_DASHBOARD, d->env->read_only ?
	    POLICY_READ_ONLY : 0);
	switch (pd.verdict) {
	case POLICY_SKIP:
		session_skip(d->session, d->sel, pd.why);
		say(d, "step %zu skipped: %s", d->sel + 1, pd.why);
		return;
	case POLICY_REFUSE:
		session_refuse(d->session, d->sel, pd.why);
		say(d, "step %zu refused: %s", d->sel + 1, pd.why);
		return;
	case POLICY_RUN:
		start_step(d, "");
		if (step_kind_of(st)->person)
			say(d, "manual step: p marks it pass, f marks it fail");
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
		ask(d, "Run this command?", NULL, start_step, NULL);
		body(d, what);
		free(what);
		what = xprintf("in %s", d->rb->dir);
		body(d, what);
		free(what);
		return;
	case POLICY_SHOW_STEP:
	case POLICY_SHOW_NONE:
		ask(d, "Start this step?", NULL, start_step, NULL);
		body(d, st->title);
		what = step_describe(d->rb, st);
		body(d, what);
		free(what);
		if (st->why != NULL)
			body(d, st->why);
		body(d, "the runbook asks before this step starts (confirm: true)");
		return;
	}
}

static void
previewed(struct session *s, size_t i, const struct purge *p, void *arg)
{
	struct dash *d = arg;
	const struct purge_report *rep = purge_report(p);
	const char *k;
	size_t j, len;
	char *title, *count, *e;

	(void)s;
	d->purge_step = i;
	title = xprintf("Purge %zu keys of route %s?", rep->previewed,
	    d->rb->routes[d->rb->steps[i].route].name);
	count = xprintf("%zu", rep->previewed);
	ask(d, title, rep->previewed > TYPE_ABOVE ? count : NULL, purge_yes,
	    purge_no);
	free(title);
	free(count);
	for (j = 0; purge_sample(p, j, &k, &len) && j < PURGE_SAMPLE; j++) {
		e = esc_text(k, len, ESC_BACKSLASH);
		body(d, e);
		free(e);
	}
	if (rep->previewed > TYPE_ABOVE) {
		e = xprintf("more than %d keys: type %zu to confirm", TYPE_ABOVE,
		    rep->previewed);
		body(d, e);
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
	d->dirty = true;
}

static void
on_output(struct session *s, size_t i, const char *line, size_t len,
    bool err, void *arg)
{
	struct dash *d = arg;
	char *clean = audit_scrub(d->env->audit, line, len);
	char *e = esc_str(clean, 0);

	(void)s;
	(void)i;
	if (d->nout == OUT_LINES) {
		free(d->out[0]);
		memmove(d->out, d->out + 1, (OUT_LINES - 1) * sizeof *d->out);
		d->nout--;
	}
	d->out[d->nout++] = xprintf("%c %s", err ? '!' : '|', e);
	free(e);
	free(clean);
	d->dirty = true;
}

/* Keys ------------------------------------------------------------------- */

static void
key_input(struct dash *d, int ch)
{
	char *text;
	dash_fn fn;

	if (ch == 27) {
		d->mode = MODE_NORMAL;
		return;
	}
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		text = xstrdup(d->input.data ? d->input.data : "");
		fn = d->on_input;
		d->mode = MODE_NORMAL;
		fn(d, text);
		free(text);
		return;
	}
	if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && d->input.len > 0) {
		d->input.data[--d->input.len] = '\0';
		return;
	}
	if (ch >= 0x20 && ch < 0x7f && d->input.len < 200)
		buf_addc(&d->input, (char)ch);
}

static void
key_confirm(struct dash *d, int ch)
{
	dash_fn yes = d->on_yes, no = d->on_no;
	bool ok;

	if (d->confirm_need != NULL) {
		if (ch == 27) {
			confirm_clear(d);
			if (no)
				no(d, "");
			return;
		}
		if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
			ok = d->input.data != NULL &&
			    strcmp(d->input.data, d->confirm_need) == 0;
			confirm_clear(d);
			if (ok)
				yes(d, "");
			else {
				if (no)
					no(d, "");
				say(d, "the text did not match: nothing done");
			}
			return;
		}
		key_input(d, ch);
		d->mode = MODE_CONFIRM;
		return;
	}
	if (ch == 'y' || ch == 'Y') {
		confirm_clear(d);
		yes(d, "");
	} else if (ch == 'n' || ch == 'N' || ch == 27 || ch == 'q') {
		confirm_clear(d);
		say(d, "cancelled: nothing done");
		if (no)
			no(d, "");
	}
}

static void
select_move(struct dash *d, int delta)
{
	size_t i = d->sel;

	do {
		if (delta > 0 && i + 1 < d->rb->nsteps)
			i++;
		else if (delta < 0 && i > 0)
			i--;
		else
			return;
	} while (!visible(d, i));
	d->sel = i;
}

static void
key_normal(struct dash *d, int ch)
{
	const struct rb_step *st = &d->rb->steps[d->sel];

	d->message[0] = '\0';
	switch (ch) {
	case 'j':
	case KEY_DOWN:
		select_move(d, 1);
		return;
	case 'k':
	case KEY_UP:
		select_move(d, -1);
		return;
	case '?':
		d->mode = MODE_HELP;
		return;
	case '/':
		input(d, "filter:", filter_with);
		return;
	case 'q':
		if (session_busy(d->session)) {
			ask(d, "Something is running. Stop it and quit?", NULL,
			    quit_yes, NULL);
			body(d, "the step is stopped and recorded as such");
		} else
			quit_yes(d, "");
		return;
	}
	if (d->env->read_only) {
		if (ch == '\n' || ch == '\r' || ch == KEY_ENTER || ch == 'r')
			run_selected(d);	/* probes only: actions skip */
		else if (strchr("spfab", ch) != NULL)
			say(d, "read-only: no action keys");
		return;
	}
	switch (ch) {
	case '\n':
	case '\r':
	case KEY_ENTER:
	case 'r':
		run_selected(d);
		break;
	case 's':
		d->action_step = d->sel;
		input(d, "skip: why?", skip_with);
		break;
	case 'a':
		d->action_step = d->sel;
		input(d, "note:", note_with);
		break;
	case 'p':
	case 'f':
		if (!step_kind_of(st)->person) {
			say(d, "p and f mark manual steps");
			break;
		}
		if (session_step(d->session, d->sel)->state == STEP_PENDING) {
			struct policy_decision pd = policy_decide(d->rb, d->sel,
			    POLICY_DASHBOARD, 0);

			if (pd.verdict != POLICY_RUN) {
				say(d, "%s", pd.why ? pd.why : "not now");
				break;
			}
			start_step((d->action_step = d->sel, d), "");
		}
		d->action_step = d->sel;
		input(d, ch == 'p' ? "pass; a note (optional):" :
		    "fail; what is wrong:", ch == 'p' ? manual_pass :
		    manual_fail);
		break;
	case 'b':
		if (d->rb->nrollbacks == 0) {
			say(d, "this runbook has no rollback");
			break;
		}
		ask(d, "Run the rollback now?", NULL, rollback_yes, NULL);
		body(d, d->rb->rollbacks[0].name);
		body(d, d->rb->rollbacks[0].run.text);
		break;
	}
}

static void
on_key(evutil_socket_t fd, short what, void *arg)
{
	struct dash *d = arg;
	int ch;

	(void)fd;
	(void)what;
	while ((ch = getch()) != ERR) {
		if (ch == KEY_RESIZE)
			continue;
		switch (d->mode) {
		case MODE_NORMAL:
			key_normal(d, ch);
			break;
		case MODE_CONFIRM:
			key_confirm(d, ch);
			break;
		case MODE_INPUT:
			key_input(d, ch);
			break;
		case MODE_HELP:
			d->mode = MODE_NORMAL;
			break;
		}
		d->dirty = true;
		if (d->quit)
			return;
	}
	if (d->dirty)
		draw(d);
}

static void
on_tick(void *arg)
{
	struct dash *d = arg;

	/* Counters ("waiting 3.2 s") move even when nothing arrives. */
	draw(d);
	timer_arm(d->tick, 0.25);
}

static void
on_winch(int sig, void *arg)
{
	struct dash *d = arg;

	(void)sig;
	ui_resize();
	draw(d);
}

static void
on_term(int sig, void *arg)
{
	struct dash *d = arg;

	(void)sig;
	quit_yes(d, "");
}

static void
on_int(int sig, void *arg)
{
	struct dash *d = arg;

	(void)sig;
	key_normal(d, 'q');
	draw(d);
}

static void
changed_cb(void *arg)
{
	((struct dash *)arg)->dirty = true;
}

int
dashboard_main(struct dash_env *env)
{
	struct session_hooks hooks = { on_changed, on_output, previewed, NULL };
	struct session_opts so = { env->read_only, false };
	struct dash d;
	bool utf8 = glyphs_locale_utf8();
	int status = EXIT_OK;
	size_t i;

	memset(&d, 0, sizeof d);
	d.env = env;
	d.rb = env->rb;
	d.g = glyphs_get(utf8);
	d.purge_step = RB_NONE;
	buf_init(&d.input);
	hooks.arg = &d;
	d.session = session_new(env->loop, env->rb, env->audit, env->redis,
	    env->http, &so, &hooks);
	if (env->redis != NULL) {
		d.ro = readouts_new(env->loop, env->redis, env->rb, changed_cb,
		    &d);
		readouts_start(d.ro);
	}
	d.mon = monitor_new(env->loop, env->http, env->rb, 2.0, changed_cb,
	    &d);
	monitor_start(d.mon);

	active = &d;
	ui_start();
	d.stdin_ev = event_new(loop_base(env->loop), 0, EV_READ | EV_PERSIST,
	    on_key, &d);
	event_add(d.stdin_ev, NULL);
	loop_signal(env->loop, SIGWINCH, on_winch, &d);
	loop_signal(env->loop, SIGTERM, on_term, &d);
	loop_signal(env->loop, SIGHUP, on_term, &d);
	loop_signal(env->loop, SIGINT, on_int, &d);
	d.tick = timer_new(env->loop, on_tick, &d);
	draw(&d);
	timer_arm(d.tick, 0.25);
	while (!d.quit)
		event_base_loop(loop_base(env->loop), EVLOOP_ONCE);
	/* Let a cancelled command report its end before the log closes. */
	for (i = 0; i < 40 && session_busy(d.session); i++)
		event_base_loop(loop_base(env->loop), EVLOOP_ONCE | EVLOOP_NONBLOCK),
		    usleep(50000);
	ui_stop();
	for (i = 0; i < d.rb->nsteps; i++)
		if (session_step(d.session, i)->state == STEP_FAILED)
			status = EXIT_FAILED;
	event_free(d.stdin_ev);
	timer_free(d.tick);
	monitor_free(d.mon);
	session_free(d.session);
	readouts_free(d.ro);
	confirm_clear(&d);
	for (i = 0; i < d.nout; i++)
		free(d.out[i]);
	free(d.prompt);
	buf_free(&d.input);
	active = NULL;
	return status;
}
