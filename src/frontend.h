/* frontend.h: what the command line asks of the screens in ui/.  main.c
 * links them in and hands them to cli_main(): the arrow goes from the
 * program to ui/, never from src/ to ui/. */
#ifndef REHEARSE_FRONTEND_H
#define REHEARSE_FRONTEND_H

#include <stdbool.h>

#include "cli.h"	/* the exit codes */

struct rehearsal;
struct audit_key;

/* What the replay browser gets: a log, or a directory to pick one from.
 * Nothing here can reach the network or run a command. */
struct replay_env {
	const char	*log;		/* NULL: pick from dir */
	const char	*dir;
	const struct audit_key *key;	/* NULL: unsealed logs only */
	bool		 follow;
	double		 speed;		/* playback, 1 = as recorded */
	double		 max_wait;	/* longest pause when playing, s */
};

struct frontend {
	/* The dashboard on an open rehearsal, until the person quits;
	 * returns the exit status. */
	int	(*dashboard)(struct rehearsal *);
	/* The replay browser; returns the exit status. */
	int	(*replay)(struct replay_env *);
};

#endif
