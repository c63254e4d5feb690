/* dash.h: the dashboard screen, shared by its two files: dash.c (the
 * screen, its keys and actions) and dash_panes.c (drawing the panes). */
#ifndef REHEARSE_DASH_H
#define REHEARSE_DASH_H

#include <stdbool.h>
#include <stddef.h>

#define DASH_OUT_LINES	200	/* command output kept for the pane */

struct rehearsal;
struct glyphs;
struct monitor;
struct readouts;
struct runbook;
struct session;
struct ui;

struct dash {
	struct rehearsal *env;	/* what it drives: the open rehearsal */
	const struct runbook *rb;
	struct session	*session;
	struct readouts	*ro;
	struct monitor	*mon;
	const struct glyphs *g;
	struct ui	*ui;
	size_t		 sel;
	char		 filter[64];
	char		*out[DASH_OUT_LINES];	/* scrubbed, escaped */
	size_t		 nout;
	size_t		 purge_step;	/* previewed, awaiting an answer */
	size_t		 action_step;	/* for the answer of an overlay */
	char		 rollback_seen[128];
	char		 clock[512];	/* the age texts last drawn */
};

/* Whether step i passes the title filter. */
bool	 dash_visible(const struct dash *, size_t i);
/* Draws the whole dashboard but the status line. */
void	 dash_draw(struct dash *);
/* The texts on screen that change with time alone or without a hook to
 * say so ("waiting 3.2 s", Redis "retry in 3 s"), into buf: the tick
 * redraws when they differ from what was drawn. */
void	 dash_clock_text(const struct dash *, char *buf, size_t len);

#endif
