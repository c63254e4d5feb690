/* draw.c: what the screens share. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <wchar.h>

#include "curses_inc.h"
#include "draw.h"
#include "textesc.h"
#include "xmalloc.h"

static bool started;
static bool color;

void
ui_stop(void)
{
	if (started) {
		started = false;
		endwin();
	}
}

void
ui_start(void)
{
	static bool hooked;
	const char *nc = getenv("NO_COLOR");

	initscr();
	started = true;
	if (!hooked) {
		hooked = true;
		atexit(ui_stop);
		fatal_set_hook(ui_stop);
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	color = has_colors() && (nc == NULL || nc[0] == '\0');
	if (color) {
		start_color();
		use_default_colors();
		init_pair(PAIR_OK, COLOR_GREEN, -1);
		init_pair(PAIR_FAIL, COLOR_RED, -1);
		init_pair(PAIR_WARN, COLOR_YELLOW, -1);
		init_pair(PAIR_HEAD, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_BANNER, COLOR_WHITE, COLOR_RED);
	}
}

void
ui_resize(void)
{
	struct winsize ws;

	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
}

void
ui_attr(int pair, unsigned long mono, bool on)
{
	attr_t a = color ? COLOR_PAIR(pair) : (attr_t)mono;

	if (on)
		attron(a);
	else
		attroff(a);
}

int
ui_put(int y, int x, int width, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0, n, total = strlen(s);
	int cols = 0, w;
	uint32_t cp;

	if (width <= 0 || y < 0 || y >= LINES || x < 0 || x >= COLS)
		return 0;
	if (width > COLS - x)
		width = COLS - x;
	while (len < total) {
		if ((n = utf8_decode(p + len, total - len, &cp)) == 0) {
			/* Escaped text holds none; stop rather than guess. */
			break;
		}
		if (esc_is_unsafe_cp(cp) || cp < 0x20 || cp == 0x7f)
			break;
		/* Unknown width (a locale without it): one column. */
		if ((w = cp < 0x80 ? 1 : wcwidth((wchar_t)cp)) < 0)
			w = 1;
		if (cols + w > width)
			break;
		len += n;
		cols += w;
	}
	mvaddnstr(y, x, s, (int)len);
	return cols;
}
