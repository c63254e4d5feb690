/* replay_ui.h: the replay browser: a picker of audit logs, and a read-only
 * view of one log (steps, timeline, record detail, filters, search,
 * playback, following a log as it grows).  It reads files and draws; it
 * opens no connection, runs no command and writes no file. */
#ifndef REHEARSE_REPLAY_UI_H
#define REHEARSE_REPLAY_UI_H

#include "frontend.h"

/* Runs the browser until the person quits; returns the exit status. */
int	 replay_main(struct replay_env *);

#endif
