/* draw.h: what the screens share: starting and stopping curses, colour
 * pairs with monochrome fallbacks, resizing, and width-aware text. */
#ifndef REHEARSE_DRAW_H
#define REHEARSE_DRAW_H

#include <stdbool.h>

enum ui_pair {
	PAIR_OK = 1,
	PAIR_FAIL,
	PAIR_WARN,
	PAIR_HEAD,
	PAIR_BANNER,
};

/* Starts curses (raw keys, no echo, no cursor, non-blocking reads) and the
 * colour pairs, unless NO_COLOR is set or the terminal has none; arranges
 * for the terminal to be restored on exit and on fatal errors. */
void	 ui_start(void);
/* Restores the terminal; safe to call more than once. */
void	 ui_stop(void);
/* Takes the terminal's new size (after SIGWINCH). */
void	 ui_resize(void);
/* Turns pair on or off, or the monochrome attribute without colour. */
void	 ui_attr(int pair, unsigned long mono, bool on);

/* Writes the UTF-8 string s at y,x in at most width columns, counting each
 * character's display width (wide characters take two, combining marks
 * none); what does not fit is left out.  Returns the columns written. */
int	 ui_put(int y, int x, int width, const char *s);

#endif
