/* replay.c: the replay browser.  The log is indexed a chunk per loop turn,
 * so the first screen comes before the whole log is read and keys answer
 * while a big log is still being checked; only the rows on screen are read
 * back.  Every string drawn comes escaped from the core (src/replay.c). */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "curses_inc.h"
#include "draw.h"
#include "glyphs.h"
#include "loop.h"
#include "replay.h"
#include "replay_ui.h"
#include "textesc.h"
#include "xmalloc.h"

#define FIRST_CHUNK	2000	/* lines indexed before the first screen */
#define CHUNK		5000	/* lines indexed per loop turn after it */
#define PICK_CHUNK	20000	/* lines the picker verifies per turn */
#define FOLLOW_POLL	0.25	/* seconds between looks at a followed log */
#define STEPS_WIDTH	34

enum rmode {
	RM_PICK,
	RM_VIEW,
	RM_DETAIL,
	RM_HELP,
	RM_INPUT,
};

struct rui;
typedef void (*input_fn)(struct rui *, const char *);

struct rui {
	struct replay_env *env;
	struct loop	*loop;
	const struct glyphs *g;
	enum rmode	 mode;
	enum rmode	 back;		/* where help and input return to */
	/* picker */
	struct rp_dir	 dir;
	bool		 have_dir;
	size_t		 psel;
	struct timer	*pick_timer;
	/* viewer */
	struct replay	*r;
	size_t		 cur, top;	/* lines; 0: nothing to show */
	bool		 steps_focus;
	size_t		 ssel;
	struct rp_filter filter;
	char		 search[80];
	bool		 playing;
	size_t		 play_next;
	bool		 stick;		/* follow: stay on the newest record */
	struct timer	*index_timer;
	struct timer	*play_timer;
	char		 error[256];
	/* detail */
	struct buf	 detail;
	size_t		*dline;		/* offsets of the detail's lines */
	size_t		 ndline;
	size_t		 dtop;
	size_t		 dline_of;	/* the record shown */
	/* input */
	char		 prompt[64];
	struct buf	 input;
	input_fn	 on_input;
	char		 message[256];
	bool		 quit;
	struct event	*stdin_ev;
	struct timer	*tick;
};

static void
say(struct rui *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct rui *u, const char *fmt, ...)
{
	va_list ap;
	char raw[256], *e;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	e = esc_str(raw, 0);
	snprintf(u->message, sizeof u->message, "%s", e);
	free(e);
}

static int
verdict_pair(const char *v)
{
	if (strcmp(v, "pass") == 0)
		return PAIR_OK;
	if (strcmp(v, "fail") == 0)
		return PAIR_FAIL;
	if (v[0] != '\0')
		return PAIR_WARN;
	return 0;
}

static const char *
verdict_glyph(const struct rui *u, const char *v)
{
	if (strcmp(v, "pass") == 0)
		return u->g->pass;
	if (strcmp(v, "fail") == 0)
		return u->g->fail;
	if (strcmp(v, "degraded") == 0)
		return u->g->degraded;
	if (strcmp(v, "skipped") == 0)
		return u->g->skipped;
	if (strcmp(v, "running") == 0)
		return u->g->running;
	return u->g->pending;
}

/* Geometry ------------------------------------------------------------- */

static int
list_top(void)
{
	return 3;
}

static int
list_height(void)
{
	int h = LINES - list_top() - 1;

	return h > 1 ? h : 1;
}

static int
steps_width(void)
{
	return COLS >= 72 ? STEPS_WIDTH : 0;
}

/* Cursor and scrolling -------------------------------------------------- */

static size_t
last_line(struct rui *u)
{
	return replay_find(u->r, replay_lines(u->r) + 1, -1, &u->filter);
}

/* Keeps cur on a matching line and top such that cur is on screen. */
static void
settle(struct rui *u)
{
	size_t n = replay_lines(u->r), l;
	int i, h = list_height();

	if (n == 0) {
		u->cur = u->top = 0;
		return;
	}
	if (u->cur == 0 || u->cur > n)
		u->cur = replay_find(u->r, 0, 1, &u->filter);
	if (u->cur == 0) {
		u->top = 0;
		return;
	}
	if (u->top == 0) {
		/* Placed afresh: the newest at the bottom when following,
		 * else some context above the cursor. */
		u->top = u->cur;
		for (i = u->stick ? 1 : h * 2 / 3; i < h; i++) {
			if ((l = replay_find(u->r, u->top, -1, &u->filter)) == 0)
				break;
			u->top = l;
		}
		return;
	}
	if (u->top > u->cur)
		u->top = u->cur;
	/* Is cur within h rows of top? */
	l = u->top;
	for (i = 1; i < h && l != u->cur; i++)
		if ((l = replay_find(u->r, l, 1, &u->filter)) == 0)
			break;
	if (l == u->cur)
		return;
	/* No: cur on the last row. */
	u->top = u->cur;
	for (i = 1; i < h; i++) {
		if ((l = replay_find(u->r, u->top, -1, &u->filter)) == 0)
			break;
		u->top = l;
	}
}

static void
cursor_by(struct rui *u, int delta)
{
	size_t l;

	while (delta != 0) {
		l = replay_find(u->r, u->cur, delta > 0 ? 1 : -1, &u->filter);
		if (l == 0)
			break;
		u->cur = l;
		delta += delta > 0 ? -1 : 1;
	}
	if (u->env->follow)
		u->stick = u->cur == last_line(u);
}

static void
refilter(struct rui *u)
{
	size_t l;

	u->top = 0;
	if (u->cur != 0 && (l = replay_find(u->r, u->cur - 1, 1, &u->filter)) !=
	    0)
		u->cur = l;
	else
		u->cur = last_line(u);
	if (u->cur == 0)
		say(u, "no record matches the filter (c clears it)");
}

/* Drawing -------------------------------------------------------------- */

static void
draw_picker(struct rui *u)
{
	struct rp_entry *e;
	char line[512], steps[64];
	size_t i, first = 0;
	int y, h = LINES - 3, pair;

	ui_attr(PAIR_HEAD, A_REVERSE, true);
	mvhline(0, 0, ' ', COLS);
	snprintf(line, sizeof line, " rehearse replay: %zu audit logs in %s",
	    u->dir.n, u->env->dir);
	{
		char *esc = esc_str(line, 0);
		ui_put(0, 0, COLS, esc);
		free(esc);
	}
	ui_attr(PAIR_HEAD, A_REVERSE, false);
	attron(A_BOLD);
	ui_put(1, 0, COLS, "  date              runbook                        "
	    "operator          steps                 verification");
	attroff(A_BOLD);
	if (u->dir.n == 0)
		ui_put(3, 2, COLS - 2, "no audit log here yet");
	if (h < 1)
		h = 1;
	if (u->psel >= (size_t)h)
		first = u->psel - (size_t)h + 1;
	for (i = first, y = 2; i < u->dir.n && y < 2 + h; i++, y++) {
		e = &u->dir.e[i];
		if (e->checked)
			snprintf(steps, sizeof steps, "%zu pass %zu fail%s%s",
			    e->pass, e->fail, e->other ? " +" : "",
			    e->ended || e->status == VERIFY_BAD ? "" :
			    " (not ended)");
		else
			snprintf(steps, sizeof steps, "...");
		if (i == u->psel)
			attron(A_REVERSE);
		mvhline(y, 0, ' ', COLS);
		snprintf(line, sizeof line, "%c %-17s ", i == u->psel ? '>' :
		    ' ', e->date[0] ? e->date : "?");
		ui_put(y, 0, 20, line);
		ui_put(y, 20, 30, e->title);
		ui_put(y, 51, 17, e->actor);
		ui_put(y, 69, 21, steps);
		pair = !e->checked ? 0 : e->status == VERIFY_INTACT ? PAIR_OK :
		    e->status == VERIFY_BAD ? PAIR_FAIL : PAIR_WARN;
		ui_attr(pair, A_BOLD, pair != 0);
		ui_put(y, 91, COLS - 91, e->state);
		ui_attr(pair, A_BOLD, false);
		if (i == u->psel)
			attroff(A_REVERSE);
		if (COLS < 100 && i == u->psel) {
			/* Narrow: the file name and state on the status line. */
			snprintf(u->message, sizeof u->message, "%s: %s",
			    e->name, e->state);
		}
	}
}

/* "10:38:38.902Z" of "2026-11-26T10:38:38.902Z"; "" when too short. */
static const char *
clock_of(const char *ts)
{
	return strlen(ts) > 11 ? ts + 11 : "";
}

static void
draw_header(struct rui *u)
{
	const struct rp_info *in = replay_info(u->r);
	char line[1024], v[512];
	enum verify_status st;
	struct buf b;
	int pair;

	/* "2026-11-26 10:38:38 .. 10:41:02", the date again if it changed */
	snprintf(line, sizeof line, " %s  env: %s  owner: %s  by %s on %s  "
	    "%.10s %.8s .. %.*s%.8s", in->title[0] ? in->title :
	    in->session[0] ? "(untitled)" : "(no session.start)", in->environment, in->owner, in->actor,
	    in->host, in->first_ts, clock_of(in->first_ts),
	    strncmp(in->first_ts, in->last_ts, 10) != 0 ? 11 : 0, in->last_ts,
	    clock_of(in->last_ts));
	ui_attr(PAIR_HEAD, A_REVERSE, true);
	mvhline(0, 0, ' ', COLS);
	ui_put(0, 0, COLS, line);
	ui_attr(PAIR_HEAD, A_REVERSE, false);

	st = replay_verdict(u->r, v, sizeof v);
	pair = st == VERIFY_INTACT ? PAIR_OK : st == VERIFY_BAD ? PAIR_BANNER :
	    PAIR_WARN;
	if (u->error[0] != '\0') {
		snprintf(line, sizeof line, " %s", u->error);
		pair = PAIR_BANNER;
	} else
		snprintf(line, sizeof line, " %s", v);
	ui_attr(pair, pair == PAIR_BANNER ? A_REVERSE | A_BOLD : A_BOLD, true);
	if (pair == PAIR_BANNER)
		mvhline(1, 0, ' ', COLS);
	ui_put(1, 0, COLS, line);
	ui_attr(pair, pair == PAIR_BANNER ? A_REVERSE | A_BOLD : A_BOLD,
	    false);

	buf_init(&b);
	buf_addf(&b, " %zu records  %zu failures", replay_lines(u->r),
	    replay_failures(u->r));
	if (u->env->follow)
		buf_adds(&b, replay_info(u->r)->ended ? "  [FOLLOWING: the "
		    "session ended]" : u->stick ? "  [FOLLOWING]" :
		    "  [FOLLOW: paused, G resumes]");
	if (u->playing)
		buf_addf(&b, "  [PLAYING %gx]", u->env->speed);
	if (!replay_filter_empty(&u->filter)) {
		buf_adds(&b, "  filter:");
		if (u->filter.type[0] != '\0') {
			buf_adds(&b, " type ");
			esc_append(&b, u->filter.type, strlen(u->filter.type),
			    0);
		}
		if (u->filter.step != 0)
			buf_addf(&b, " step %ld", u->filter.step);
		if (u->filter.failures)
			buf_adds(&b, " failures");
	}
	snprintf(line, sizeof line, "%s", b.data);
	buf_free(&b);
	attron(A_BOLD);
	ui_put(2, 0, COLS, line);
	attroff(A_BOLD);
}

static void
draw_steps(struct rui *u, int top, int height, int width)
{
	const struct rp_step *s;
	size_t i, first = 0, n = replay_nsteps(u->r);
	char line[256];
	int y, pair;

	if (width <= 0)
		return;
	if (u->ssel >= n && n > 0)
		u->ssel = n - 1;
	if (u->ssel >= (size_t)height)
		first = u->ssel - (size_t)height + 1;
	for (i = first, y = top; i < n && y < top + height; i++, y++) {
		s = replay_step(u->r, i);
		snprintf(line, sizeof line, "%c%2zu %s %s", u->steps_focus &&
		    i == u->ssel ? '>' : ' ', i + 1, verdict_glyph(u,
		    s->verdict), s->title[0] ? s->title : "(not started)");
		if (u->steps_focus && i == u->ssel)
			attron(A_REVERSE);
		if (u->filter.step == (long)i + 1)
			attron(A_BOLD);
		pair = verdict_pair(s->verdict);
		ui_attr(pair, A_BOLD, pair != 0);
		ui_put(y, 0, width - 1, line);
		ui_attr(pair, A_BOLD, false);
		attroff(A_REVERSE | A_BOLD);
	}
	for (y = top; y < top + height; y++)
		mvaddch(y, width - 1, ACS_VLINE);
}

static void
draw_timeline(struct rui *u, int top, int left, int height, int width)
{
	struct rp_rec rec;
	size_t l = u->top;
	char line[512], when[16], step[16];
	const char *mark;
	int y, pair;

	if (u->cur == 0) {
		ui_put(top, left, width, replay_lines(u->r) == 0 ?
		    " (no record yet)" : " no record matches the filter "
		    "(c clears it)");
		return;
	}
	for (y = top; y < top + height && l != 0; y++) {
		if (replay_get(u->r, l, &rec) != 0)
			break;
		snprintf(when, sizeof when, "%.12s", clock_of(rec.ts));
		if (rec.step)
			snprintf(step, sizeof step, "#%ld", rec.step);
		else
			step[0] = '\0';
		mark = rec.flags & RP_BAD ? "?" : rec.flags & RP_FAIL ?
		    u->g->fail : rec.flags & RP_WARN ? "!" : " ";
		if (l == u->cur && !u->steps_focus)
			attron(A_REVERSE);
		mvhline(y, left, ' ', width);
		if (rec.flags & RP_AFTER_BAD) {
			ui_attr(PAIR_FAIL, A_BOLD, true);
			ui_put(y, left, 1, "#");
			ui_attr(PAIR_FAIL, A_BOLD, false);
		}
		snprintf(line, sizeof line, "%7zu %-12s", l, when);
		ui_put(y, left + 1, width - 1, line);
		pair = rec.flags & (RP_BAD | RP_FAIL) ? PAIR_FAIL :
		    rec.flags & RP_WARN ? PAIR_WARN : 0;
		ui_attr(pair, A_BOLD, pair != 0);
		ui_put(y, left + 22, width - 22, mark);
		ui_put(y, left + 24, width - 24 < 16 ? width - 24 : 16,
		    rec.type);
		ui_put(y, left + 41, width - 41, step);
		ui_attr(pair, A_BOLD, false);
		ui_put(y, left + 46, width - 46, rec.summary);
		if (l == u->cur && !u->steps_focus)
			attroff(A_REVERSE);
		l = replay_find(u->r, l, 1, &u->filter);
	}
}

static void
draw_detail(struct rui *u)
{
	size_t i;
	int y, h = LINES - 2;
	char line[128];

	ui_attr(PAIR_HEAD, A_REVERSE, true);
	mvhline(0, 0, ' ', COLS);
	snprintf(line, sizeof line, " record on line %zu   (j/k scroll, n/p "
	    "next/previous record, q back)", u->dline_of);
	ui_put(0, 0, COLS, line);
	ui_attr(PAIR_HEAD, A_REVERSE, false);
	for (i = u->dtop, y = 1; i < u->ndline && y < 1 + h; i++, y++) {
		const char *s = u->detail.data + u->dline[i];
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		char *t = xstrndup(s, n);

		if (strncmp(t, "verification: the first", 23) == 0 ||
		    strncmp(t, "verification: after", 19) == 0)
			ui_attr(PAIR_FAIL, A_BOLD, true);
		ui_put(y, 0, COLS, t);
		ui_attr(PAIR_FAIL, A_BOLD, false);
		free(t);
	}
}

static void
draw_help(void)
{
	static const char *const lines[] = {
		"rehearse replay: keys",
		"",
		"j k, arrows     move          PgDn PgUp    a screen",
		"g G, Home End   first, last   Enter        the record in full",
		"Tab             steps <-> timeline (Enter on a step: its records)",
		"/ TEXT          search; n N   next, previous match",
		"t TYPE          only records whose type begins with TYPE",
		"s N             only step N   F  failures only   c  clear",
		"x               the first failure   ] [  next, previous failure",
		"space           play, pause   + -  faster, slower",
		"q               back to the list, or quit",
		"",
		"Nothing here writes, connects or runs anything.",
		"any key to go back",
	};
	size_t i, n = sizeof lines / sizeof lines[0];
	int w = 70, top = (LINES - (int)n - 2) / 2, left = (COLS - w) / 2;

	if (top < 0)
		top = 0;
	if (left < 0)
		left = 0;
	for (i = 0; i < n + 2; i++)
		mvhline(top + (int)i, left, ' ', w);
	for (i = 0; i < n; i++)
		ui_put(top + 1 + (int)i, left + 2, w - 4, lines[i]);
}

static void
draw(struct rui *u)
{
	int sw;
	char *e;

	erase();
	if (u->r == NULL)
		draw_picker(u);
	else if (u->mode == RM_DETAIL || (u->mode == RM_HELP &&
	    u->back == RM_DETAIL))
		draw_detail(u);
	else {
		settle(u);
		draw_header(u);
		sw = steps_width();
		draw_steps(u, list_top(), list_height(), sw);
		draw_timeline(u, list_top(), sw, list_height(), COLS - sw);
	}
	if (u->mode == RM_HELP)
		draw_help();
	attron(A_REVERSE);
	mvhline(LINES - 1, 0, ' ', COLS);
	if (u->mode == RM_INPUT) {
		e = esc_text(u->input.data, u->input.len, 0);
		mvprintw(LINES - 1, 0, "%s ", u->prompt);
		ui_put(LINES - 1, (int)strlen(u->prompt) + 1, COLS -
		    (int)strlen(u->prompt) - 1, e);
		free(e);
	} else if (u->message[0] != '\0')
		ui_put(LINES - 1, 0, COLS, u->message);
	else if (u->mode == RM_PICK)
		ui_put(LINES - 1, 0, COLS, " j/k move  Enter open  q quit");
	else
		ui_put(LINES - 1, 0, COLS, " j/k move  Enter detail  / search  "
		    "t type  s step  F failures  c clear  x first failure  "
		    "space play  ? help  q quit");
	attroff(A_REVERSE);
	refresh();
}

/* Opening a log ----------------------------------------------------------- */

static void on_index(void *);

static void
close_log(struct rui *u)
{
	timer_disarm(u->index_timer);
	timer_disarm(u->play_timer);
	replay_free(u->r);
	u->r = NULL;
	u->playing = false;
	memset(&u->filter, 0, sizeof u->filter);
	u->error[0] = '\0';
	u->cur = u->top = 0;
}

static int
open_log(struct rui *u, const char *path)
{
	char *cause = NULL;

	close_log(u);
	if ((u->r = replay_open(path, u->env->key, u->env->follow, &cause)) ==
	    NULL) {
		say(u, "%s", cause);
		free(cause);
		return -1;
	}
	if (replay_index(u->r, FIRST_CHUNK, &cause) < 0) {
		snprintf(u->error, sizeof u->error, "%s", cause);
		free(cause);
	}
	u->stick = u->env->follow;
	u->cur = u->stick ? last_line(u) : replay_find(u->r, 0, 1, &u->filter);
	u->mode = RM_VIEW;
	u->message[0] = '\0';
	timer_arm(u->index_timer, 0);
	return 0;
}

static void
on_index(void *arg)
{
	struct rui *u = arg;
	char *cause = NULL, *e;
	size_t before;
	int rc;

	if (u->r == NULL)
		return;
	before = replay_lines(u->r);
	rc = replay_index(u->r, CHUNK, &cause);
	if (rc < 0) {
		e = esc_str(cause, 0);
		snprintf(u->error, sizeof u->error, "%s", e);
		free(e);
		free(cause);
		return;		/* keep what was read; look no further */
	}
	if (u->stick && replay_lines(u->r) != before) {
		u->cur = last_line(u);
		u->top = 0;
	}
	if (rc == 1)
		timer_arm(u->index_timer, 0);
	else if (u->env->follow)
		timer_arm(u->index_timer, FOLLOW_POLL);
	if (replay_lines(u->r) != before || rc == 0 || u->cur == 0)
		if (u->mode == RM_VIEW)
			draw(u);
}

/* Playback ------------------------------------------------------------- */

static void
play_schedule(struct rui *u)
{
	struct rp_rec a, b;
	double gap = 0;

	u->play_next = replay_find(u->r, u->cur, 1, &u->filter);
	if (u->play_next == 0) {
		if (u->env->follow) {
			timer_arm(u->play_timer, FOLLOW_POLL);
			return;
		}
		u->playing = false;
		say(u, "played to the end");
		return;
	}
	if (replay_get(u->r, u->cur, &a) == 0 &&
	    replay_get(u->r, u->play_next, &b) == 0 && a.t > 0 && b.t > a.t)
		gap = (b.t - a.t) / u->env->speed;
	if (gap > u->env->max_wait)
		gap = u->env->max_wait;
	timer_arm(u->play_timer, gap);
}

static void
on_play(void *arg)
{
	struct rui *u = arg;

	if (!u->playing || u->r == NULL)
		return;
	if (u->play_next != 0)
		u->cur = u->play_next;
	play_schedule(u);
	draw(u);
}

static void
play_toggle(struct rui *u)
{
	u->playing = !u->playing;
	if (u->playing) {
		u->stick = false;
		say(u, "playing at %gx (space pauses, + and - change speed)",
		    u->env->speed);
		play_schedule(u);
	} else {
		timer_disarm(u->play_timer);
		say(u, "paused on line %zu", u->cur);
	}
}

/* Detail ---------------------------------------------------------------- */

static void
detail_open(struct rui *u, size_t line)
{
	size_t i;

	if (line == 0)
		return;
	buf_reset(&u->detail);
	buf_add(&u->detail, "", 0);
	if (replay_detail(u->r, line, &u->detail) != 0) {
		say(u, "line %zu cannot be read back", line);
		return;
	}
	free(u->dline);
	u->ndline = 0;
	u->dline = xreallocarray(NULL, 1, sizeof *u->dline);
	u->dline[u->ndline++] = 0;
	for (i = 0; i < u->detail.len; i++) {
		if (u->detail.data[i] == '\n' && i + 1 < u->detail.len) {
			u->dline = xreallocarray(u->dline, u->ndline + 1,
			    sizeof *u->dline);
			u->dline[u->ndline++] = i + 1;
		}
	}
	u->dtop = 0;
	u->dline_of = line;
	u->mode = RM_DETAIL;
}

/* Input -------------------------------------------------------------------- */

static void
input(struct rui *u, const char *prompt, input_fn fn)
{
	snprintf(u->prompt, sizeof u->prompt, "%s", prompt);
	buf_reset(&u->input);
	buf_add(&u->input, "", 0);
	u->on_input = fn;
	u->back = u->mode;
	u->mode = RM_INPUT;
}

static void
search_next(struct rui *u, int dir)
{
	struct rp_filter f = u->filter;
	size_t l;

	if (u->search[0] == '\0') {
		say(u, "no search yet: / and some text");
		return;
	}
	snprintf(f.text, sizeof f.text, "%s", u->search);
	l = replay_find(u->r, u->cur, dir, &f);
	if (l == 0)	/* wrap around */
		l = replay_find(u->r, dir > 0 ? 0 : replay_lines(u->r) + 1,
		    dir, &f);
	if (l == 0) {
		say(u, "not found: %s", u->search);
		return;
	}
	if (!replay_filter_empty(&u->filter) && replay_find(u->r, l - 1, 1,
	    &u->filter) != l) {
		say(u, "found on line %zu, hidden by the filter", l);
		return;
	}
	say(u, "\"%s\" on line %zu%s", u->search, l, (dir > 0 && l <= u->cur) ||
	    (dir < 0 && l >= u->cur) ? " (wrapped)" : "");
	u->cur = l;
	u->stick = false;
}

static void
with_search(struct rui *u, const char *text)
{
	snprintf(u->search, sizeof u->search, "%s", text);
	if (text[0] != '\0')
		search_next(u, 1);
}

static void
with_type(struct rui *u, const char *text)
{
	snprintf(u->filter.type, sizeof u->filter.type, "%s", text);
	refilter(u);
}

static void
with_step(struct rui *u, const char *text)
{
	char *end;
	long n = strtol(text, &end, 10);

	if (text[0] == '\0') {
		u->filter.step = 0;
	} else if (*end != '\0' || n < 1 || n > RP_MAX_STEPS) {
		say(u, "not a step number: %s", text);
		return;
	} else
		u->filter.step = n;
	refilter(u);
}

static void
key_input(struct rui *u, int ch)
{
	input_fn fn;
	char *text;

	switch (ch) {
	case 27:
		u->mode = u->back;
		return;
	case '\r':
	case '\n':
	case KEY_ENTER:
		u->mode = u->back;
		fn = u->on_input;
		text = xstrdup(u->input.data);
		fn(u, text);
		free(text);
		return;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		while (u->input.len > 0) {
			u->input.len--;
			if (((unsigned char)u->input.data[u->input.len] &
			    0xc0) != 0x80)
				break;
		}
		u->input.data[u->input.len] = '\0';
		return;
	}
	if (ch >= 0x20 && ch <= 0xff && ch != 0x7f && u->input.len < 79)
		buf_addc(&u->input, (char)ch);
}

/* Keys --------------------------------------------------------------------- */

static void
key_pick(struct rui *u, int ch)
{
	switch (ch) {
	case 'q':
	case 27:
		u->quit = true;
		break;
	case 'j':
	case KEY_DOWN:
		if (u->psel + 1 < u->dir.n)
			u->psel++;
		break;
	case 'k':
	case KEY_UP:
		if (u->psel > 0)
			u->psel--;
		break;
	case 'g':
	case KEY_HOME:
		u->psel = 0;
		break;
	case 'G':
	case KEY_END:
		u->psel = u->dir.n > 0 ? u->dir.n - 1 : 0;
		break;
	case '\r':
	case '\n':
	case KEY_ENTER:
		if (u->psel < u->dir.n)
			open_log(u, u->dir.e[u->psel].path);
		break;
	case '?':
		u->back = u->mode;
		u->mode = RM_HELP;
		break;
	}
}

static void
key_detail(struct rui *u, int ch)
{
	size_t h = LINES > 2 ? (size_t)LINES - 2 : 1, l;

	switch (ch) {
	case 'q':
	case 27:
	case '\r':
	case '\n':
	case KEY_ENTER:
		u->mode = RM_VIEW;
		break;
	case 'j':
	case KEY_DOWN:
		if (u->dtop + 1 < u->ndline)
			u->dtop++;
		break;
	case 'k':
	case KEY_UP:
		if (u->dtop > 0)
			u->dtop--;
		break;
	case ' ':
	case KEY_NPAGE:
		u->dtop = u->dtop + h < u->ndline ? u->dtop + h : u->dtop;
		break;
	case KEY_PPAGE:
		u->dtop = u->dtop > h ? u->dtop - h : 0;
		break;
	case 'g':
	case KEY_HOME:
		u->dtop = 0;
		break;
	case 'G':
	case KEY_END:
		u->dtop = u->ndline > h ? u->ndline - h : 0;
		break;
	case 'n':
	case 'p':
		l = replay_find(u->r, u->dline_of, ch == 'n' ? 1 : -1,
		    &u->filter);
		if (l != 0) {
			u->cur = l;
			detail_open(u, l);
		}
		break;
	case '?':
		u->back = u->mode;
		u->mode = RM_HELP;
		break;
	}
}

static void
key_steps(struct rui *u, int ch)
{
	const struct rp_step *s;
	size_t n = replay_nsteps(u->r);

	switch (ch) {
	case 'j':
	case KEY_DOWN:
		if (u->ssel + 1 < n)
			u->ssel++;
		break;
	case 'k':
	case KEY_UP:
		if (u->ssel > 0)
			u->ssel--;
		break;
	case '\r':
	case '\n':
	case KEY_ENTER:
		if (n == 0)
			break;
		s = replay_step(u->r, u->ssel);
		u->filter.step = (long)u->ssel + 1;
		u->cur = s->first_line;
		refilter(u);
		u->steps_focus = false;
		u->stick = false;
		say(u, "the records of step %zu (c clears)", u->ssel + 1);
		break;
	}
}

static void
key_view(struct rui *u, int ch)
{
	struct rp_filter f;
	size_t l;
	int h = list_height();

	u->message[0] = '\0';
	switch (ch) {
	case 'q':
		if (u->have_dir) {
			close_log(u);
			u->mode = RM_PICK;
		} else
			u->quit = true;
		return;
	case '\t':
		u->steps_focus = !u->steps_focus && steps_width() > 0;
		return;
	case '?':
		u->back = u->mode;
		u->mode = RM_HELP;
		return;
	case '/':
		input(u, "search:", with_search);
		return;
	case 'n':
		search_next(u, 1);
		return;
	case 'N':
		search_next(u, -1);
		return;
	case 't':
		input(u, "type (prefix, empty for any):", with_type);
		return;
	case 's':
		input(u, "step (number, empty for any):", with_step);
		return;
	case 'F':
		u->filter.failures = !u->filter.failures;
		refilter(u);
		return;
	case 'c':
		memset(&u->filter, 0, sizeof u->filter);
		refilter(u);
		say(u, "filters cleared");
		return;
	case 'x':
		if ((l = replay_first_failure(u->r)) == 0) {
			say(u, "no failure in this log%s", replay_caught_up(
			    u->r) ? "" : " so far");
			return;
		}
		if (replay_find(u->r, l - 1, 1, &u->filter) != l) {
			memset(&u->filter, 0, sizeof u->filter);
			say(u, "the first failure, line %zu (filters cleared)",
			    l);
		} else
			say(u, "the first failure, line %zu", l);
		u->cur = l;
		u->top = 0;
		u->stick = false;
		return;
	case ']':
	case '[':
		f = u->filter;
		f.failures = true;
		if ((l = replay_find(u->r, u->cur, ch == ']' ? 1 : -1, &f)) ==
		    0)
			say(u, "no %s failure", ch == ']' ? "later" :
			    "earlier");
		else {
			u->cur = l;
			u->stick = false;
		}
		return;
	case ' ':
		play_toggle(u);
		return;
	case '+':
	case '=':
		if (u->env->speed < 1000)
			u->env->speed *= 2;
		say(u, "speed %gx", u->env->speed);
		return;
	case '-':
		if (u->env->speed > 0.25)
			u->env->speed /= 2;
		say(u, "speed %gx", u->env->speed);
		return;
	}
	if (u->steps_focus) {
		key_steps(u, ch);
		return;
	}
	switch (ch) {
	case 'j':
	case KEY_DOWN:
		cursor_by(u, 1);
		break;
	case 'k':
	case KEY_UP:
		cursor_by(u, -1);
		break;
	case KEY_NPAGE:
	case 6:		/* ^F */
		cursor_by(u, h - 1);
		break;
	case KEY_PPAGE:
	case 2:		/* ^B */
		cursor_by(u, -(h - 1));
		break;
	case 'g':
	case KEY_HOME:
		u->cur = replay_find(u->r, 0, 1, &u->filter);
		u->top = 0;
		u->stick = false;
		break;
	case 'G':
	case KEY_END:
		u->cur = last_line(u);
		u->stick = u->env->follow;
		break;
	case '\r':
	case '\n':
	case KEY_ENTER:
		detail_open(u, u->cur);
		break;
	}
}

static void
on_key(evutil_socket_t fd, short what, void *arg)
{
	struct rui *u = arg;
	int ch;

	(void)fd;
	(void)what;
	while ((ch = getch()) != ERR) {
		if (ch == KEY_RESIZE)
			continue;
		switch (u->mode) {
		case RM_PICK:
			key_pick(u, ch);
			break;
		case RM_VIEW:
			key_view(u, ch);
			break;
		case RM_DETAIL:
			key_detail(u, ch);
			break;
		case RM_HELP:
			u->mode = u->back;
			break;
		case RM_INPUT:
			key_input(u, ch);
			break;
		}
		if (u->quit)
			return;
	}
	draw(u);
}

static void
on_pick(void *arg)
{
	struct rui *u = arg;

	if (rp_dir_check(&u->dir, PICK_CHUNK))
		timer_arm(u->pick_timer, 0);
	if (u->mode == RM_PICK)
		draw(u);
}

static void
on_tick(void *arg)
{
	struct rui *u = arg;

	if (u->mode == RM_VIEW && u->r != NULL && !replay_caught_up(u->r))
		draw(u);
	timer_arm(u->tick, 0.5);
}

static void
on_winch(int sig, void *arg)
{
	struct rui *u = arg;

	(void)sig;
	ui_resize();
	u->top = 0;
	draw(u);
}

static void
on_quit(int sig, void *arg)
{
	(void)sig;
	((struct rui *)arg)->quit = true;
}

static bool
quitting(void *arg)
{
	return ((struct rui *)arg)->quit;
}

int
replay_main(struct replay_env *env)
{
	struct rui u;
	char *cause = NULL;
	int status = EXIT_OK;

	memset(&u, 0, sizeof u);
	u.env = env;
	u.g = glyphs_get(glyphs_locale_utf8());
	buf_init(&u.detail);
	buf_init(&u.input);
	u.loop = loop_new();
	u.index_timer = timer_new(u.loop, on_index, &u);
	u.play_timer = timer_new(u.loop, on_play, &u);
	u.pick_timer = timer_new(u.loop, on_pick, &u);
	u.tick = timer_new(u.loop, on_tick, &u);
	if (env->log == NULL) {
		if (rp_dir_open(&u.dir, env->dir, env->key, &cause) != 0) {
			fprintf(stderr, "rehearse: replay: %s\n", cause);
			free(cause);
			status = EXIT_USAGE;
			goto out;
		}
		u.have_dir = true;
		u.mode = RM_PICK;
		timer_arm(u.pick_timer, 0);
	}

	ui_start();
	if (env->log != NULL && open_log(&u, env->log) != 0) {
		ui_stop();
		fprintf(stderr, "rehearse: replay: %s\n", u.message);
		status = EXIT_USAGE;
		goto out;
	}
	u.stdin_ev = event_new(loop_base(u.loop), 0, EV_READ | EV_PERSIST,
	    on_key, &u);
	event_add(u.stdin_ev, NULL);
	loop_signal(u.loop, SIGWINCH, on_winch, &u);
	loop_signal(u.loop, SIGTERM, on_quit, &u);
	loop_signal(u.loop, SIGHUP, on_quit, &u);
	loop_signal(u.loop, SIGINT, on_quit, &u);
	draw(&u);
	timer_arm(u.tick, 0.5);
	loop_run_until(u.loop, quitting, &u, LOOP_FOREVER);
	ui_stop();
out:
	if (u.stdin_ev != NULL)
		event_free(u.stdin_ev);
	close_log(&u);
	if (u.have_dir)
		rp_dir_free(&u.dir);
	timer_free(u.index_timer);
	timer_free(u.play_timer);
	timer_free(u.pick_timer);
	timer_free(u.tick);
	loop_free(u.loop);
	buf_free(&u.detail);
	buf_free(&u.input);
	free(u.dline);
	return status;
}
