/* screen.c: the stack of screens, the loop turn that draws when dirty, and
 * the key tables.  See screen.h. */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "curses_inc.h"
#include "draw.h"
#include "loop.h"
#include "screen.h"
#include "textesc.h"
#include "xmalloc.h"

#define UI_DEPTH	8

struct ui {
	struct loop	*loop;
	struct screen	*stack[UI_DEPTH];
	size_t		 n;
	bool		 read_only;
	bool		 dirty;
	bool		 quit;
	bool		 (*quit_done)(void *);
	void		*quit_arg;
	bool		 quit_late;	/* the wait after quitting is over */
	struct ui_hooks	 hooks;
	char		 message[256];
	double		 tick_s;
	struct timer	*tick;
	struct timer	*quit_timer;
	struct event	*stdin_ev;
	struct event	*sigs[4];	/* SIGWINCH, SIGTERM, SIGHUP, SIGINT */
};

static void
ui_on_tick(void *arg)
{
	struct ui *u = arg;
	size_t i;

	for (i = 0; i < u->n; i++)
		if (u->stack[i]->ops->tick != NULL)
			u->stack[i]->ops->tick(u->stack[i]);
	timer_arm(u->tick, u->tick_s);
}

static void
ui_on_quit_timer(void *arg)
{
	((struct ui *)arg)->quit_late = true;
}

struct ui *
ui_new(struct loop *l, double tick_s, bool read_only,
    const struct ui_hooks *hooks)
{
	struct ui *u = xcalloc(1, sizeof *u);

	u->loop = l;
	u->read_only = read_only;
	u->tick_s = tick_s;
	if (hooks != NULL)
		u->hooks = *hooks;
	u->tick = timer_new(l, ui_on_tick, u);
	u->quit_timer = timer_new(l, ui_on_quit_timer, u);
	u->dirty = true;
	return u;
}

void
ui_free(struct ui *u)
{
	if (u == NULL)
		return;
	while (u->n > 0)
		screen_pop(u);
	if (u->stdin_ev != NULL)
		event_free(u->stdin_ev);
	timer_free(u->tick);
	timer_free(u->quit_timer);
	free(u);
}

struct loop *
ui_loop(struct ui *u)
{
	return u->loop;
}

bool
ui_read_only(const struct ui *u)
{
	return u->read_only;
}

void
ui_dirty(struct ui *u)
{
	u->dirty = true;
}

void
ui_quit(struct ui *u)
{
	u->quit = true;
}

bool
ui_quitting(const struct ui *u)
{
	return u->quit;
}

void
ui_quit_when(struct ui *u, bool (*done)(void *), void *arg, double timeout_s)
{
	u->quit_done = done;
	u->quit_arg = arg;
	u->quit_late = false;
	timer_arm(u->quit_timer, timeout_s);
}

/* The stack ---------------------------------------------------------------- */

struct screen *
screen_push(struct ui *u, const struct screen_ops *ops, void *data)
{
	struct screen *s;

	if (u->n == UI_DEPTH)
		fatal("too many screens");
	s = xcalloc(1, sizeof *s);
	s->ops = ops;
	s->ui = u;
	s->data = data;
	u->stack[u->n++] = s;
	u->dirty = true;
	return s;
}

void
screen_pop(struct ui *u)
{
	struct screen *s;

	if (u->n == 0)
		return;
	s = u->stack[--u->n];
	if (s->ops->free != NULL)
		s->ops->free(s);
	free(s);
	u->dirty = true;
}

struct screen *
screen_top(struct ui *u)
{
	return u->n > 0 ? u->stack[u->n - 1] : NULL;
}

struct screen *
screen_base(struct ui *u)
{
	size_t i;

	for (i = u->n; i > 0; i--)
		if (!u->stack[i - 1]->ops->overlay)
			return u->stack[i - 1];
	return NULL;
}

/* The message and the status line ------------------------------------------- */

void
ui_say(struct ui *u, const char *fmt, ...)
{
	va_list ap;
	char raw[256], *e;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	e = esc_str(raw, 0);
	snprintf(u->message, sizeof u->message, "%s", e);
	free(e);
	u->dirty = true;
}

void
ui_say_clear(struct ui *u)
{
	u->message[0] = '\0';
}

bool
ui_said(const struct ui *u)
{
	return u->message[0] != '\0';
}

void
ui_draw_status(struct ui *u)
{
	struct screen *s = screen_base(u);
	const struct ui_key *k = NULL;
	struct buf b;

	attron(A_REVERSE);
	mvhline(LINES - 1, 0, ' ', COLS);
	if (u->message[0] != '\0') {
		ui_put(LINES - 1, 0, COLS, " ");
		ui_put(LINES - 1, 1, COLS - 1, u->message);
	} else {
		if (s != NULL && s->ops->keys != NULL)
			k = s->ops->keys(s);
		buf_init(&b);
		buf_add(&b, "", 0);
		for (; k != NULL && k->keys[0] != 0; k++)
			if (k->status != NULL && (k->read_only || !u->read_only))
				buf_addf(&b, " %s ", k->status);
		ui_put(LINES - 1, 0, COLS, b.data);
		buf_free(&b);
	}
	attroff(A_REVERSE);
}

/* Keys ----------------------------------------------------------------------- */

bool
ui_key_run(struct screen *s, const struct ui_key *k, int key)
{
	size_t i;

	for (; k != NULL && k->keys[0] != 0; k++) {
		for (i = 0; i < sizeof k->keys / sizeof k->keys[0] &&
		    k->keys[i] != 0; i++) {
			if (k->keys[i] != key)
				continue;
			if (!k->read_only && s->ui->read_only) {
				if (s->ops->refused != NULL)
					s->ops->refused(s, key);
			} else
				k->action(s, key);
			return true;
		}
	}
	return false;
}

void
ui_key(struct ui *u, int key)
{
	struct screen *s = screen_top(u);

	if (s == NULL)
		return;
	u->dirty = true;
	if (s->ops->key != NULL && s->ops->key(s, key))
		return;
	if (s->ops->keys != NULL)
		ui_key_run(s, s->ops->keys(s), key);
}

static void
ui_on_stdin(evutil_socket_t fd, short what, void *arg)
{
	struct ui *u = arg;
	int ch;

	(void)fd;
	(void)what;
	while (!u->quit && (ch = getch()) != ERR)
		if (ch != KEY_RESIZE)
			ui_key(u, ch);
}

/* The loop ------------------------------------------------------------------- */

static void
ui_on_winch(int sig, void *arg)
{
	struct ui *u = arg;
	size_t i;

	(void)sig;
	ui_resize();
	for (i = 0; i < u->n; i++)
		if (u->stack[i]->ops->resize != NULL)
			u->stack[i]->ops->resize(u->stack[i]);
	u->dirty = true;
}

static void
ui_on_signal(int sig, void *arg)
{
	struct ui *u = arg;

	if (sig == SIGINT && u->hooks.interrupt != NULL)
		u->hooks.interrupt(u, u->hooks.arg);
	else if (sig != SIGINT && u->hooks.terminate != NULL)
		u->hooks.terminate(u, u->hooks.arg);
	else
		u->quit = true;
	u->dirty = true;
}

/* Draws the topmost full screen (it covers the full screens under it: a
 * screen draws only the cells it fills), then the status line, then the
 * overlays over it. */
static void
ui_draw(struct ui *u)
{
	size_t i, top = 0;

	erase();
	for (i = 0; i < u->n; i++)
		if (!u->stack[i]->ops->overlay)
			top = i;
	if (u->n > 0 && !u->stack[top]->ops->overlay)
		u->stack[top]->ops->draw(u->stack[top]);
	ui_draw_status(u);
	for (i = 0; i < u->n; i++)
		if (u->stack[i]->ops->overlay)
			u->stack[i]->ops->draw(u->stack[i]);
	refresh();
	u->dirty = false;
}

static bool
ui_done(struct ui *u)
{
	if (!u->quit)
		return false;
	return u->quit_done == NULL || u->quit_late || u->quit_done(u->quit_arg);
}

void
ui_run(struct ui *u)
{
	struct event_base *base = loop_base(u->loop);
	size_t i;

	ui_start();
	u->stdin_ev = event_new(base, 0, EV_READ | EV_PERSIST, ui_on_stdin, u);
	event_add(u->stdin_ev, NULL);
	u->sigs[0] = loop_signal(u->loop, SIGWINCH, ui_on_winch, u);
	u->sigs[1] = loop_signal(u->loop, SIGTERM, ui_on_signal, u);
	u->sigs[2] = loop_signal(u->loop, SIGHUP, ui_on_signal, u);
	u->sigs[3] = loop_signal(u->loop, SIGINT, ui_on_signal, u);
	if (u->tick_s > 0)
		timer_arm(u->tick, u->tick_s);
	/* One loop turn, then one drawing if anything changed (tmux's
	 * server_client_check_redraw). */
	while (!ui_done(u)) {
		if (u->dirty && !u->quit)
			ui_draw(u);
		event_base_loop(base, EVLOOP_ONCE);
	}
	/* The loop outlives the ui (the dashboard's is the rehearsal's): no
	 * signal may reach a freed ui. */
	for (i = 0; i < sizeof u->sigs / sizeof u->sigs[0]; i++)
		event_del(u->sigs[i]);
	event_del(u->stdin_ev);
	timer_disarm(u->tick);
	timer_disarm(u->quit_timer);
	ui_stop();
}
