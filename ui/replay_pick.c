/* replay_pick.c: the picker of the replay browser: the audit logs of a
 * directory, newest first, each verified a chunk at a time while the list
 * is already on screen. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curses_inc.h"
#include "draw.h"
#include "loop.h"
#include "replay_ui.h"
#include "rui.h"
#include "screen.h"
#include "textesc.h"
#include "xmalloc.h"

#define PICK_CHUNK	20000	/* lines the picker verifies per turn */

static void
pick_row(struct rui *u, size_t i, int y)
{
	struct rp_entry *e = &u->dir.e[i];
	char line[512], steps[64];
	int pair;

	if (e->checked)
		snprintf(steps, sizeof steps, "%zu pass %zu fail%s%s", e->pass,
		    e->fail, e->other ? " +" : "", e->ended || e->status ==
		    VERIFY_BAD ? "" : " (not ended)");
	else
		snprintf(steps, sizeof steps, "...");
	if (i == u->psel)
		attron(A_REVERSE);
	mvhline(y, 0, ' ', COLS);
	snprintf(line, sizeof line, "%c %-17s ", i == u->psel ? '>' : ' ',
	    e->date[0] ? e->date : "?");
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
		ui_say(u->ui, "%s: %s", e->name, e->state);
	}
}

static void
pick_draw(struct screen *s)
{
	struct rui *u = s->data;
	char line[512], *esc;
	size_t i, first = 0;
	int y, h = LINES - 3;

	ui_attr(PAIR_HEAD, A_REVERSE, true);
	mvhline(0, 0, ' ', COLS);
	snprintf(line, sizeof line, " rehearse replay: %zu audit logs in %s",
	    u->dir.n, u->env->dir);
	esc = esc_str(line, 0);
	ui_put(0, 0, COLS, esc);
	free(esc);
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
	for (i = first, y = 2; i < u->dir.n && y < 2 + h; i++, y++)
		pick_row(u, i, y);
}

void
rui_pick_check(void *arg)
{
	struct rui *u = arg;

	if (rp_dir_check(&u->dir, PICK_CHUNK))
		timer_arm(u->pick_timer, 0);
	if (rui_showing(u, &rui_pick_ops))
		ui_dirty(u->ui);
}

static void
pick_quit(struct screen *s, int key)
{
	(void)key;
	ui_quit(s->ui);
}

static void
pick_move(struct screen *s, int key)
{
	struct rui *u = s->data;

	switch (key) {
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
	default:
		u->psel = u->dir.n > 0 ? u->dir.n - 1 : 0;
		break;
	}
}

static void
pick_open(struct screen *s, int key)
{
	struct rui *u = s->data;
	char *cause = NULL;

	(void)key;
	if (u->psel < u->dir.n && rui_open(u, u->dir.e[u->psel].path,
	    &cause) != 0) {
		ui_say(u->ui, "%s", cause);
		free(cause);
	}
}

static void
pick_help(struct screen *s, int key)
{
	(void)key;
	rui_help(s->data);
}

static const struct ui_key pick_keys[] = {
	{ { 'j', 'k', KEY_DOWN, KEY_UP }, "j k, arrows", "j/k move", "move",
	    pick_move, true },
	{ { 'g', 'G', KEY_HOME, KEY_END }, "g G, Home End", NULL,
	    "first, last", pick_move, true },
	{ { '\n', '\r', KEY_ENTER }, "Enter", "Enter open", "open the log",
	    pick_open, true },
	{ { '?' }, "?", NULL, NULL, pick_help, true },
	{ { 'q', 27 }, "q", "q quit", "quit", pick_quit, true },
	{ { 0 }, NULL, NULL, NULL, NULL, false }
};

static const struct ui_key *
pick_table(struct screen *s)
{
	(void)s;
	return pick_keys;
}

const struct screen_ops rui_pick_ops = {
	.name = "replay-pick",
	.draw = pick_draw,
	.keys = pick_table,
};
