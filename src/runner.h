/* runner.h: running a runbook's commands on the event loop.  argv is
 * executed directly (no shell unless the runbook says shell: true), ${NAME}
 * expands from the environment into one argument, the working directory is
 * the runbook's, stdout and stderr are streamed line by line, a bounded
 * capture is kept, and a timeout sends SIGTERM then SIGKILL to the whole
 * process group.  A command inherits nothing of rehearse's: descriptors 0
 * (/dev/null), 1 and 2 only, and an environment without the runbook's
 * secret variables unless its pass_env lists them.  What it leaves
 * running in its process group is stopped when it exits (counted), unless
 * it says keep_background. */
#ifndef REHEARSE_RUNNER_H
#define REHEARSE_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "loop.h"
#include "runbook.h"

#define RUNNER_CAPTURE		(32 * 1024)	/* kept: head and tail each */
#define RUNNER_SLACK		(16 * 1024)	/* kept past a cut, scrubbed,
						 * then dropped */
#define RUNNER_LINE		4096		/* longer lines are split */
#define RUNNER_GRACE_S		2.0		/* SIGTERM to SIGKILL */
#define RUNNER_LINGER_S		0.5		/* output read after the exit */
#define RUNNER_SETTLE_S		0.02		/* its group looked at after
						 * the exit */

struct run_result {
	bool		 started;	/* the command was executed */
	char		 error[256];	/* why not, or "" */
	int		 exit_code;	/* -1 when killed by a signal */
	int		 signal;	/* that signal, or 0 */
	bool		 timed_out;
	bool		 killed;	/* SIGKILL after ignoring SIGTERM */
	int		 stopped;	/* processes of its group stopped
					 * after it exited; -1: some, but
					 * how many is unknown (no /proc) */
	int		 left_running;	/* kept running (keep_background);
					 * -1 as above */
	bool		 output_held;	/* its output was still open after
					 * the exit (a process that left
					 * the group); not waited for */
	double		 ms;
	size_t		 bytes;		/* all output */
	size_t		 lines;
	char		*capture;	/* head ... tail, NUL-terminated, not
					 * scrubbed: see run_capture_text() */
	const char	*head;		/* the parts kept, with their slack */
	const char	*tail;
	size_t		 omitted;	/* bytes between them, not kept */
	char		**expanded;	/* values of ${NAME} used (secrets) */
	size_t		 nexpanded;
};

struct run;

/* line: one line of output (without its newline), err: from stderr. */
typedef void (*run_line_fn)(const char *line, size_t len, bool err, void *);
typedef void (*run_done_fn)(const struct run_result *, void *);

/* Starts cmd in dir.  secret_vars (NULL-terminated, may be NULL) are the
 * variables kept from its environment unless cmd->pass_env lists them
 * (the runbook's secret_vars).  done is called once, from the loop; the
 * result is valid during the call.  Returns NULL only after calling
 * nothing: then *cause says why (an unset variable, a fork failure). */
struct run	*run_start(struct loop *, const struct rb_cmd *, const char *dir,
		     char *const *secret_vars, long timeout_s, run_line_fn,
		     run_done_fn, void *arg, char **cause);
/* Stops the command (SIGTERM to its group, SIGKILL after the grace). */
void		 run_stop(struct run *);
/* Calls add(arg, value) for the value of every ${NAME} the command uses:
 * they may be secrets, to keep out of logs and screens. */
void		 run_secrets(const struct rb_cmd *, void (*add)(void *,
		     const char *), void *arg);
typedef char *(*run_scrub_fn)(const char *text, size_t len, void *arg);

/* The output kept, for a record or a screen: all of it when it is at most
 * 2 * (RUNNER_CAPTURE + RUNNER_SLACK) bytes, otherwise about the first and
 * the last RUNNER_CAPTURE bytes around a line "... N bytes not kept ...".
 * scrub (may be NULL) returns a new redacted copy; it sees each part
 * before it is cut, so that a secret across a cut leaves no piece of
 * itself.  A new string. */
char		*run_capture_text(const struct run_result *, run_scrub_fn,
		     void *arg);
/* "; stopped 2 processes left running" and the like, or "": what the
 * command left behind, to append to what was observed.  A new string. */
char		*run_background_text(const struct run_result *);
/* The display form of a command: its text, with ${NAME} unexpanded. */
const char	*run_command_text(const struct rb_cmd *);

#endif
