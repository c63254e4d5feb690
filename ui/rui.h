/* rui.h: the replay browser's screens, shared by their files:
 * replay_ui.c (opening, following and playing a log; the detail screen;
 * replay_main), replay_pick.c (the picker of logs) and replay_view.c (the
 * steps and the timeline of one log). */
#ifndef REHEARSE_RUI_H
#define REHEARSE_RUI_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "replay.h"

#define RUI_INPUT_MAX	79	/* bytes of a search or a filter */

struct glyphs;
struct replay_env;
struct screen_ops;
struct timer;
struct ui;

struct rui {
	struct replay_env *env;
	struct loop	*loop;
	struct ui	*ui;
	const struct glyphs *g;
	/* picker */
	struct rp_dir	 dir;
	bool		 have_dir;
	size_t		 psel;
	struct timer	*pick_timer;
	/* viewer */
	struct replay	*r;
	size_t		 cur, top;	/* lines; 0: nothing to show */
	bool		 steps_focus;
	size_t		 ssel;
	struct rp_filter filter;
	char		 search[80];
	bool		 playing;
	size_t		 play_next;
	bool		 stick;		/* follow: stay on the newest record */
	struct timer	*index_timer;
	struct timer	*play_timer;
	char		 error[256];
	/* detail */
	struct buf	 detail;
	size_t		*dline;		/* offsets of the detail's lines */
	size_t		 ndline;
	size_t		 dtop;
	size_t		 dline_of;	/* the record shown */
};

extern const struct screen_ops rui_pick_ops;
extern const struct screen_ops rui_view_ops;
extern const struct screen_ops rui_detail_ops;

/* Whether the top screen is the one of ops. */
bool	 rui_showing(struct rui *, const struct screen_ops *);
/* Opens the log at path and shows it; -1 with the reason said. */
int	 rui_open(struct rui *, const char *path, char **cause);
/* Closes the log shown; back to the picker. */
void	 rui_close(struct rui *);
/* The last line that passes the filter, or 0. */
size_t	 rui_last_line(struct rui *);
/* Shows the record of line in full. */
void	 rui_detail_open(struct rui *, size_t line);
/* Starts or stops playing from the cursor. */
void	 rui_play_toggle(struct rui *);
/* Opens the help of the top screen. */
void	 rui_help(struct rui *);
/* The picker's timer: verifies the logs listed a chunk at a time. */
void	 rui_pick_check(void *);

#endif
