/* runner.h: running a runbook's commands on the event loop.  argv is
 * executed directly (no shell unless the runbook says shell: true), ${NAME}
 * expands from the environment into one argument, the working directory is
 * the runbook's, stdout and stderr are streamed line by line, a bounded
 * capture is kept, and a timeout sends SIGTERM then SIGKILL to the whole
 * process group. */
#ifndef REHEARSE_RUNNER_H
#define REHEARSE_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "loop.h"
#include "runbook.h"

#define RUNNER_CAPTURE		(32 * 1024)	/* kept: head and tail each */
#define RUNNER_LINE		4096		/* longer lines are split */
#define RUNNER_GRACE_S		2.0		/* SIGTERM to SIGKILL */

struct run_result {
	bool		 started;	/* the command was executed */
	char		 error[256];	/* why not, or "" */
	int		 exit_code;	/* -1 when killed by a signal */
	int		 signal;	/* that signal, or 0 */
	bool		 timed_out;
	bool		 killed;	/* SIGKILL after ignoring SIGTERM */
	double		 ms;
	size_t		 bytes;		/* all output */
	size_t		 lines;
	char		*capture;	/* head ... tail, NUL-terminated */
	char		**expanded;	/* values of ${NAME} used (secrets) */
	size_t		 nexpanded;
};

struct run;

/* line: one line of output (without its newline), err: from stderr. */
typedef void (*run_line_fn)(const char *line, size_t len, bool err, void *);
typedef void (*run_done_fn)(const struct run_result *, void *);

/* Starts cmd in dir.  done is called once, from the loop; the result is
 * valid during the call.  Returns NULL only after calling nothing: then
 * *cause says why (an unset variable, a fork failure). */
struct run	*run_start(struct loop *, const struct rb_cmd *, const char *dir,
		     long timeout_s, run_line_fn, run_done_fn, void *arg,
		     char **cause);
/* Stops the command (SIGTERM to its group, SIGKILL after the grace). */
void		 run_stop(struct run *);
/* Calls add(arg, value) for the value of every ${NAME} the command uses:
 * they may be secrets, to keep out of logs and screens. */
void		 run_secrets(const struct rb_cmd *, void (*add)(void *,
		     const char *), void *arg);
/* The display form of a command: its text, with ${NAME} unexpanded. */
const char	*run_command_text(const struct rb_cmd *);

#endif
