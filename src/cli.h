/* cli.h: the command line: global options and the subcommand table. */
#ifndef REHEARSE_CLI_H
#define REHEARSE_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes shared by every subcommand. */
#define EXIT_OK		0
#define EXIT_FAILED	1	/* an expectation or a verification failed */
#define EXIT_USAGE	2	/* usage error, unreadable file, bad runbook */

struct cli_cmd {
	const char	*name;
	const char	*args;		/* synopsis after the name */
	const char	*help;		/* one line for --help */
	int		(*exec)(int argc, char **argv);	/* NULL: not yet */
};

/* Runs the program; returns the exit status. */
int	 cli_main(int argc, char **argv);
/* Prints "rehearse: message" and a hint to stderr; returns EXIT_USAGE. */
int	 cli_usage_error(const char *cmd, const char *fmt, ...)
	     __attribute__((format(printf, 2, 3)));

/* What the dashboard (in ui/, linked by main.c) gets from the core. */
struct loop;
struct runbook;
struct audit;
struct redis;
struct http;

struct dash_env {
	struct loop	*loop;
	const struct runbook *rb;
	struct audit	*audit;
	struct redis	*redis;		/* NULL without a redis section */
	struct http	*http;
	bool		 read_only;
};

typedef int (*dashboard_fn)(struct dash_env *);

/* What the replay browser (in ui/) gets: a log, or a directory to pick
 * one from.  Nothing here can reach the network or run a command. */
struct audit_key;
struct replay_env {
	const char	*log;		/* NULL: pick from dir */
	const char	*dir;
	const struct audit_key *key;	/* NULL: unsealed logs only */
	bool		 follow;
	double		 speed;		/* playback, 1 = as recorded */
	double		 max_wait;	/* longest pause when playing, s */
};

typedef int (*replay_fn)(struct replay_env *);

/* main.c hands the dashboard to the command line: the arrow goes from the
 * program to ui/, never from src/ to ui/. */
void	 cli_set_dashboard(dashboard_fn);
dashboard_fn cli_dashboard(void);
void	 cli_set_replay(replay_fn);
replay_fn cli_replay(void);

/* Subcommands, one file each. */
int	 cmd_lint(int argc, char **argv);
int	 cmd_verify(int argc, char **argv);
int	 cmd_run(int argc, char **argv);
int	 cmd_check(int argc, char **argv);
int	 cmd_report(int argc, char **argv);
int	 cmd_replay(int argc, char **argv);
int	 cmd_restore(int argc, char **argv);

#endif
