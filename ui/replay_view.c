/* replay_view.c: one audit log in the replay browser: a header with the
 * verdict of the chain, the steps on the left, the timeline of records on
 * the right; filters, search and the keys that move through them.  Only
 * the rows on screen are read back.  Every string drawn comes escaped from
 * the core (src/replay.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "curses_inc.h"
#include "draw.h"
#include "glyphs.h"
#include "replay_ui.h"
#include "rui.h"
#include "screen.h"
#include "textesc.h"
#include "overlay.h"
#include "xmalloc.h"

#define STEPS_WIDTH	34

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

size_t
rui_last_line(struct rui *u)
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
		u->stick = u->cur == rui_last_line(u);
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
		u->cur = rui_last_line(u);
	if (u->cur == 0)
		ui_say(u->ui, "no record matches the filter (c clears it)");
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
search_next(struct rui *u, int dir)
{
	struct rp_filter f = u->filter;
	size_t l;

	if (u->search[0] == '\0') {
		ui_say(u->ui, "no search yet: / and some text");
		return;
	}
	snprintf(f.text, sizeof f.text, "%s", u->search);
	l = replay_find(u->r, u->cur, dir, &f);
	if (l == 0)	/* wrap around */
		l = replay_find(u->r, dir > 0 ? 0 : replay_lines(u->r) + 1,
		    dir, &f);
	if (l == 0) {
		ui_say(u->ui, "not found: %s", u->search);
		return;
	}
	if (!replay_filter_empty(&u->filter) && replay_find(u->r, l - 1, 1,
	    &u->filter) != l) {
		ui_say(u->ui, "found on line %zu, hidden by the filter", l);
		return;
	}
	ui_say(u->ui, "\"%s\" on line %zu%s", u->search, l, (dir > 0 && l <= u->cur) ||
	    (dir < 0 && l >= u->cur) ? " (wrapped)" : "");
	u->cur = l;
	u->stick = false;
}

static void
with_search(void *arg, const char *text)
{
	struct rui *u = arg;
	snprintf(u->search, sizeof u->search, "%s", text);
	if (text[0] != '\0')
		search_next(u, 1);
}

static void
with_type(void *arg, const char *text)
{
	struct rui *u = arg;
	snprintf(u->filter.type, sizeof u->filter.type, "%s", text);
	refilter(u);
}

static void
with_step(void *arg, const char *text)
{
	struct rui *u = arg;
	char *end;
	long n = strtol(text, &end, 10);

	if (text[0] == '\0') {
		u->filter.step = 0;
	} else if (*end != '\0' || n < 1 || n > RP_MAX_STEPS) {
		ui_say(u->ui, "not a step number: %s", text);
		return;
	} else
		u->filter.step = n;
	refilter(u);
}

static void
view_draw(struct screen *s)
{
	struct rui *u = s->data;
	int sw = steps_width();

	settle(u);
	draw_header(u);
	draw_steps(u, list_top(), list_height(), sw);
	draw_timeline(u, list_top(), sw, list_height(), COLS - sw);
}

/* Keys ------------------------------------------------------------------------ */

static void
key_back(struct screen *s, int key)
{
	struct rui *u = s->data;

	(void)key;
	if (u->have_dir)
		rui_close(u);
	else
		ui_quit(s->ui);
}

static void
key_focus(struct screen *s, int key)
{
	struct rui *u = s->data;

	(void)key;
	u->steps_focus = !u->steps_focus && steps_width() > 0;
}

static void
key_help(struct screen *s, int key)
{
	(void)key;
	rui_help(s->data);
}

static void
key_ask(struct screen *s, int key)
{
	switch (key) {
	case '/':
		overlay_input(s->ui, "search:", RUI_INPUT_MAX, true,
		    with_search, s->data);
		break;
	case 't':
		overlay_input(s->ui, "type (prefix, empty for any):",
		    RUI_INPUT_MAX, true, with_type, s->data);
		break;
	default:
		overlay_input(s->ui, "step (number, empty for any):",
		    RUI_INPUT_MAX, true, with_step, s->data);
		break;
	}
}

static void
key_search(struct screen *s, int key)
{
	search_next(s->data, key == 'n' ? 1 : -1);
}

static void
key_failures(struct screen *s, int key)
{
	struct rui *u = s->data;

	(void)key;
	u->filter.failures = !u->filter.failures;
	refilter(u);
}

static void
key_clear(struct screen *s, int key)
{
	struct rui *u = s->data;

	(void)key;
	memset(&u->filter, 0, sizeof u->filter);
	refilter(u);
	ui_say(u->ui, "filters cleared");
}

static void
key_first_failure(struct screen *s, int key)
{
	struct rui *u = s->data;
	size_t l;

	(void)key;
	if ((l = replay_first_failure(u->r)) == 0) {
		ui_say(u->ui, "no failure in this log%s", replay_caught_up(u->r) ?
		    "" : " so far");
		return;
	}
	if (replay_find(u->r, l - 1, 1, &u->filter) != l) {
		memset(&u->filter, 0, sizeof u->filter);
		ui_say(u->ui, "the first failure, line %zu (filters cleared)", l);
	} else
		ui_say(u->ui, "the first failure, line %zu", l);
	u->cur = l;
	u->top = 0;
	u->stick = false;
}

static void
key_next_failure(struct screen *s, int key)
{
	struct rui *u = s->data;
	struct rp_filter f = u->filter;
	size_t l;

	f.failures = true;
	if ((l = replay_find(u->r, u->cur, key == ']' ? 1 : -1, &f)) == 0)
		ui_say(u->ui, "no %s failure", key == ']' ? "later" : "earlier");
	else {
		u->cur = l;
		u->stick = false;
	}
}

static void
key_play(struct screen *s, int key)
{
	(void)key;
	rui_play_toggle(s->data);
}

static void
key_speed(struct screen *s, int key)
{
	struct rui *u = s->data;

	if (key == '-') {
		if (u->env->speed > 0.25)
			u->env->speed /= 2;
	} else if (u->env->speed < 1000)
		u->env->speed *= 2;
	ui_say(u->ui, "speed %gx", u->env->speed);
}

/* j, k and Enter on the steps, when they have the focus. */
static void
steps_key(struct rui *u, int key)
{
	const struct rp_step *st;
	size_t n = replay_nsteps(u->r);

	if (key == 'j' || key == KEY_DOWN) {
		if (u->ssel + 1 < n)
			u->ssel++;
	} else if (key == 'k' || key == KEY_UP) {
		if (u->ssel > 0)
			u->ssel--;
	} else if (n > 0) {
		st = replay_step(u->r, u->ssel);
		u->filter.step = (long)u->ssel + 1;
		u->cur = st->first_line;
		refilter(u);
		u->steps_focus = false;
		u->stick = false;
		ui_say(u->ui, "the records of step %zu (c clears)", u->ssel + 1);
	}
}

static void
key_move(struct screen *s, int key)
{
	struct rui *u = s->data;
	int h = list_height();

	if (u->steps_focus) {
		if (key == 'j' || key == 'k' || key == KEY_DOWN || key == KEY_UP)
			steps_key(u, key);
		return;
	}
	switch (key) {
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
		u->cur = rui_last_line(u);
		u->stick = u->env->follow;
		break;
	}
}

static void
key_enter(struct screen *s, int key)
{
	struct rui *u = s->data;

	if (u->steps_focus)
		steps_key(u, key);
	else
		rui_detail_open(u, u->cur);
}

static const struct ui_key view_keys[] = {
	{ { 'j', 'k', KEY_DOWN, KEY_UP }, "j k, arrows", "j/k move", "move",
	    key_move, true },
	{ { KEY_NPAGE, KEY_PPAGE, 6, 2 }, "PgDn PgUp", NULL, "a screen",
	    key_move, true },
	{ { 'g', 'G', KEY_HOME, KEY_END }, "g G, Home End", NULL,
	    "first, last", key_move, true },
	{ { '\r', '\n', KEY_ENTER }, "Enter", "Enter detail",
	    "the record in full", key_enter, true },
	{ { '\t' }, "Tab", NULL, "steps <-> timeline (Enter on a step: its "
	    "records)", key_focus, true },
	{ { '/' }, "/ TEXT", "/ search", "search", key_ask, true },
	{ { 'n', 'N' }, "n N", NULL, "next, previous match", key_search, true },
	{ { 't' }, "t TYPE", "t type", "only records whose type begins with "
	    "TYPE", key_ask, true },
	{ { 's' }, "s N", "s step", "only step N", key_ask, true },
	{ { 'F' }, "F", "F failures", "failures only", key_failures, true },
	{ { 'c' }, "c", "c clear", "clear the filters", key_clear, true },
	{ { 'x' }, "x", "x first failure", "the first failure",
	    key_first_failure, true },
	{ { ']', '[' }, "] [", NULL, "next, previous failure",
	    key_next_failure, true },
	{ { ' ' }, "space", "space play", "play, pause", key_play, true },
	{ { '+', '=', '-' }, "+ -", NULL, "faster, slower", key_speed, true },
	{ { '?' }, "?", "? help", NULL, key_help, true },
	{ { 'q' }, "q", "q quit", "back to the list, or quit", key_back, true },
	{ { 0 }, NULL, NULL, NULL, NULL, false }
};

static bool
view_key(struct screen *s, int key)
{
	(void)key;
	ui_say_clear(s->ui);
	return false;
}

static const struct ui_key *
view_table(struct screen *s)
{
	(void)s;
	return view_keys;
}

static void
view_tick(struct screen *s)
{
	struct rui *u = s->data;

	/* The verdict says how far the check has gone. */
	if (rui_showing(u, &rui_view_ops) && !replay_caught_up(u->r))
		ui_dirty(s->ui);
}

static void
view_resize(struct screen *s)
{
	((struct rui *)s->data)->top = 0;
}

const struct screen_ops rui_view_ops = {
	.name = "replay-view",
	.draw = view_draw,
	.key = view_key,
	.tick = view_tick,
	.resize = view_resize,
	.keys = view_table,
};
