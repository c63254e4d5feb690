/* overlay.h: the overlays every screen shares: the help (generated from the
 * key table of the screen below), a confirmation box (y/n, or a text to
 * type) and a line of text input on the status line. */
#ifndef REHEARSE_OVERLAY_H
#define REHEARSE_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>

struct screen;
struct ui;

/* Called with what was typed ("" for a y/n answer). */
typedef void (*overlay_fn)(void *arg, const char *text);

/* Shows the keys of the base screen's table under title, then the lines
 * of note (NULL-terminated, may be NULL); any key closes it. */
void		 overlay_help(struct ui *, const char *title,
		     const char *const *note);
/* Asks title; need: the text to type, or NULL for y/n.  yes or no (may be
 * NULL) is called after the box closes. */
struct screen	*overlay_confirm(struct ui *, const char *title,
		     const char *need, overlay_fn yes, overlay_fn no,
		     void *arg);
/* Adds a line (escaped) to the box of a confirmation. */
void		 overlay_confirm_line(struct screen *, const char *text);
/* Reads a line of at most max bytes after prompt; fn gets it on Enter,
 * nothing happens on Esc.  utf8: take bytes above 0x7f too. */
void		 overlay_input(struct ui *, const char *prompt, size_t max,
		     bool utf8, overlay_fn fn, void *arg);
/* Draws a box centred on the screen: a title bar, the lines, a footer. */
void		 overlay_box(const char *title, const char *const *lines,
		     size_t n, const char *footer);

#endif
