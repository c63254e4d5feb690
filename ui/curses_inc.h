/* curses_inc.h: the one place that includes curses, picking the header that
 * configure found.  Only ui/ includes this file; src/ never sees curses. */
#ifndef REHEARSE_CURSES_INC_H
#define REHEARSE_CURSES_INC_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif

#if defined(HAVE_NCURSESW_CURSES_H)
#include <ncursesw/curses.h>
#elif defined(HAVE_CURSES_H)
#include <curses.h>
#else
#error "no curses header; configure should have stopped"
#endif

#endif
