/* screen.h: the screen layer.  A screen is a set of ops over its own data;
 * screens sit on a stack, the top one takes the keys and every one is
 * drawn bottom to top (overlays over the screen below).  ui_run() owns
 * stdin, SIGWINCH, SIGTERM, SIGHUP and SIGINT, and draws once per loop
 * turn, only when an event marked the screen dirty.  Key tables generate
 * the help overlay and the status line. */
#ifndef REHEARSE_SCREEN_H
#define REHEARSE_SCREEN_H

#include <stdbool.h>
#include <stddef.h>

struct loop;
struct screen;
struct ui;

/* One line of a key table; a table ends with an entry whose keys[0] is 0. */
struct ui_key {
	int		 keys[5];	/* the keys that do it, 0-terminated */
	const char	*name;		/* as the help shows them: "j k, arrows" */
	const char	*status;	/* as the status line shows it, or NULL */
	const char	*help;		/* what it does, or NULL: not in the help */
	void		(*action)(struct screen *, int key);
	bool		 read_only;	/* allowed in a read-only session */
};

struct screen_ops {
	const char	*name;
	/* Draws the whole screen (or, for an overlay, its part). */
	void		(*draw)(struct screen *);
	/* Sees a key before the key table; true: handled. May be NULL. */
	bool		(*key)(struct screen *, int key);
	/* Called every tick of the ui; marks dirty only when a shown text
	 * changed.  May be NULL. */
	void		(*tick)(struct screen *);
	/* The terminal changed size (already taken).  May be NULL. */
	void		(*resize)(struct screen *);
	/* Frees data.  May be NULL. */
	void		(*free)(struct screen *);
	/* The key table now in force (it may depend on a mode), or NULL. */
	const struct ui_key *(*keys)(struct screen *);
	/* A key of the table that is not allowed read-only was pressed. */
	void		(*refused)(struct screen *, int key);
	/* An overlay: drawn over the screen below, and not given the
	 * status line. */
	bool		 overlay;
};

struct screen {
	const struct screen_ops *ops;
	struct ui	*ui;
	void		*data;
};

/* What ui_run() does on a signal; NULL members: quit. */
struct ui_hooks {
	void		(*interrupt)(struct ui *, void *arg);	/* SIGINT */
	void		(*terminate)(struct ui *, void *arg);	/* SIGTERM, HUP */
	void		*arg;
};

/* A ui on loop; tick_s: seconds between ticks (0: none). */
struct ui	*ui_new(struct loop *, double tick_s, bool read_only,
		     const struct ui_hooks *);
/* Frees the ui and every screen still on it. */
void		 ui_free(struct ui *);
struct loop	*ui_loop(struct ui *);
bool		 ui_read_only(const struct ui *);
/* Starts curses, draws and runs the loop until ui_quit() and then until
 * ui_quit_when()'s condition holds (or its time is up); stops curses. */
void		 ui_run(struct ui *);
/* Asks ui_run() to return. */
void		 ui_quit(struct ui *);
/* After ui_quit(), keeps the loop turning until done(arg) is true or
 * timeout_s have passed (a stopped command reporting its end). */
void		 ui_quit_when(struct ui *, bool (*done)(void *), void *arg,
		     double timeout_s);
bool		 ui_quitting(const struct ui *);
/* Something shown changed: draw at the end of this loop turn. */
void		 ui_dirty(struct ui *);

/* Pushes a new screen of ops with data on the ui; returns it. */
struct screen	*screen_push(struct ui *, const struct screen_ops *, void *data);
/* Pops and frees the top screen. */
void		 screen_pop(struct ui *);
/* The top screen, or NULL. */
struct screen	*screen_top(struct ui *);
/* The topmost screen that is not an overlay, or NULL. */
struct screen	*screen_base(struct ui *);

/* The message of the status line: set (escaped), or cleared with NULL. */
void		 ui_say(struct ui *, const char *fmt, ...)
		     __attribute__((format(printf, 2, 3)));
void		 ui_say_clear(struct ui *);
bool		 ui_said(const struct ui *);
/* Gives key to the top screen, as if typed: its key hook, then its
 * table.  Marks the ui dirty. */
void		 ui_key(struct ui *, int key);
/* Runs the entry of the table that has key; false when none has it. */
bool		 ui_key_run(struct screen *, const struct ui_key *, int key);
/* The status line: the input being typed, else the message, else the
 * keys of the base screen's table (those allowed, when read-only). */
void		 ui_draw_status(struct ui *);

#endif
