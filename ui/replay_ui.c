/* replay_ui.c: the replay browser's entry, and what its screens share:
 * opening a log, indexing it a chunk per loop turn (so that the first
 * screen comes before the whole log is read and keys answer while a big
 * log is still being checked), following it as it grows, playing it back,
 * and the detail screen of one record. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "curses_inc.h"
#include "draw.h"
#include "glyphs.h"
#include "loop.h"
#include "overlay.h"
#include "replay.h"
#include "replay_ui.h"
#include "rui.h"
#include "screen.h"
#include "textesc.h"
#include "xmalloc.h"

#define FIRST_CHUNK	2000	/* lines indexed before the first screen */
#define CHUNK		5000	/* lines indexed per loop turn after it */
#define FOLLOW_POLL	0.25	/* seconds between looks at a followed log */
#define TICK_S		0.5

bool
rui_showing(struct rui *u, const struct screen_ops *ops)
{
	struct screen *s = screen_top(u->ui);

	return s != NULL && s->ops == ops;
}

static const char *const rui_help_note[] = {
	"",
	"Nothing here writes, connects or runs anything.",
	NULL
};

void
rui_help(struct rui *u)
{
	overlay_help(u->ui, "rehearse replay: keys", rui_help_note);
}

/* Opening a log ----------------------------------------------------------- */

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

void
rui_close(struct rui *u)
{
	while (screen_top(u->ui) != NULL && !rui_showing(u, &rui_pick_ops))
		screen_pop(u->ui);
	close_log(u);
}

int
rui_open(struct rui *u, const char *path, char **cause)
{
	close_log(u);
	if ((u->r = replay_open(path, u->env->key, u->env->follow, cause)) ==
	    NULL)
		return -1;
	if (replay_index(u->r, FIRST_CHUNK, cause) < 0) {
		snprintf(u->error, sizeof u->error, "%s", *cause);
		free(*cause);
		*cause = NULL;
	}
	u->stick = u->env->follow;
	u->cur = u->stick ? rui_last_line(u) : replay_find(u->r, 0, 1,
	    &u->filter);
	ui_say_clear(u->ui);
	screen_push(u->ui, &rui_view_ops, u);
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
		ui_dirty(u->ui);
		return;		/* keep what was read; look no further */
	}
	if (u->stick && replay_lines(u->r) != before) {
		u->cur = rui_last_line(u);
		u->top = 0;
	}
	if (rc == 1)
		timer_arm(u->index_timer, 0);
	else if (u->env->follow)
		timer_arm(u->index_timer, FOLLOW_POLL);
	if (replay_lines(u->r) != before || rc == 0 || u->cur == 0)
		if (rui_showing(u, &rui_view_ops))
			ui_dirty(u->ui);
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
		ui_say(u->ui, "played to the end");
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
	ui_dirty(u->ui);
}

void
rui_play_toggle(struct rui *u)
{
	u->playing = !u->playing;
	if (u->playing) {
		u->stick = false;
		ui_say(u->ui, "playing at %gx (space pauses, + and - change "
		    "speed)", u->env->speed);
		play_schedule(u);
	} else {
		timer_disarm(u->play_timer);
		ui_say(u->ui, "paused on line %zu", u->cur);
	}
}

/* The detail of one record ------------------------------------------------ */

/* Reads line's record in full into the detail; false when it cannot be. */
static bool
detail_read(struct rui *u, size_t line)
{
	size_t i;

	buf_reset(&u->detail);
	buf_add(&u->detail, "", 0);
	if (replay_detail(u->r, line, &u->detail) != 0) {
		ui_say(u->ui, "line %zu cannot be read back", line);
		return false;
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
	return true;
}

void
rui_detail_open(struct rui *u, size_t line)
{
	if (line != 0 && detail_read(u, line) &&
	    !rui_showing(u, &rui_detail_ops))
		screen_push(u->ui, &rui_detail_ops, u);
}

static void
detail_draw(struct screen *s)
{
	struct rui *u = s->data;
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
		const char *t = u->detail.data + u->dline[i];
		const char *nl = strchr(t, '\n');
		char *one = xstrndup(t, nl ? (size_t)(nl - t) : strlen(t));

		if (strncmp(one, "verification: the first", 23) == 0 ||
		    strncmp(one, "verification: after", 19) == 0)
			ui_attr(PAIR_FAIL, A_BOLD, true);
		ui_put(y, 0, COLS, one);
		ui_attr(PAIR_FAIL, A_BOLD, false);
		free(one);
	}
}

static void
detail_back(struct screen *s, int key)
{
	(void)key;
	screen_pop(s->ui);
}

static void
detail_scroll(struct screen *s, int key)
{
	struct rui *u = s->data;
	size_t h = LINES > 2 ? (size_t)LINES - 2 : 1;

	switch (key) {
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
	default:
		u->dtop = u->ndline > h ? u->ndline - h : 0;
		break;
	}
}

static void
detail_next(struct screen *s, int key)
{
	struct rui *u = s->data;
	size_t l;

	l = replay_find(u->r, u->dline_of, key == 'n' ? 1 : -1, &u->filter);
	if (l != 0) {
		u->cur = l;
		detail_read(u, l);
	}
}

static void
detail_help(struct screen *s, int key)
{
	(void)key;
	rui_help(s->data);
}

static const struct ui_key detail_keys[] = {
	{ { 'j', 'k', KEY_DOWN, KEY_UP }, "j k, arrows", "j/k scroll",
	    "scroll", detail_scroll, true },
	{ { ' ', KEY_NPAGE, KEY_PPAGE }, "space PgDn PgUp", NULL, "a screen",
	    detail_scroll, true },
	{ { 'g', 'G', KEY_HOME, KEY_END }, "g G, Home End", NULL,
	    "top, bottom", detail_scroll, true },
	{ { 'n', 'p' }, "n p", "n/p next/previous",
	    "the next, the previous record", detail_next, true },
	{ { '?' }, "?", "? help", NULL, detail_help, true },
	{ { 'q', 27, '\r', '\n', KEY_ENTER }, "q, Esc, Enter", "q back",
	    "back to the timeline", detail_back, true },
	{ { 0 }, NULL, NULL, NULL, NULL, false }
};

static const struct ui_key *
detail_table(struct screen *s)
{
	(void)s;
	return detail_keys;
}

const struct screen_ops rui_detail_ops = {
	.name = "replay-detail",
	.draw = detail_draw,
	.keys = detail_table,
};

/* The browser ------------------------------------------------------------- */

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
	u.loop = loop_new();
	u.ui = ui_new(u.loop, TICK_S, true, NULL);
	u.index_timer = timer_new(u.loop, on_index, &u);
	u.play_timer = timer_new(u.loop, on_play, &u);
	u.pick_timer = timer_new(u.loop, rui_pick_check, &u);
	if (env->log == NULL) {
		if (rp_dir_open(&u.dir, env->dir, env->key, &cause) != 0) {
			fprintf(stderr, "rehearse: replay: %s\n", cause);
			free(cause);
			status = EXIT_USAGE;
			goto out;
		}
		u.have_dir = true;
		screen_push(u.ui, &rui_pick_ops, &u);
		timer_arm(u.pick_timer, 0);
	} else if (rui_open(&u, env->log, &cause) != 0) {
		char *e = esc_str(cause, 0);

		fprintf(stderr, "rehearse: replay: %s\n", e);
		free(e);
		free(cause);
		status = EXIT_USAGE;
		goto out;
	}
	ui_run(u.ui);
out:
	ui_free(u.ui);
	close_log(&u);
	if (u.have_dir)
		rp_dir_free(&u.dir);
	timer_free(u.index_timer);
	timer_free(u.play_timer);
	timer_free(u.pick_timer);
	loop_free(u.loop);
	buf_free(&u.detail);
	free(u.dline);
	return status;
}
