/* cli.h: the command line.  Each sub-command is an entry (its usage lines,
 * options and exec) in its own cmd_*.c, listed in one table in cli.c; one
 * parser reads the options of all of them, and `rehearse --help`, each
 * `rehearse CMD --help` and the bash completion are made from the table. */
#ifndef REHEARSE_CLI_H
#define REHEARSE_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes shared by every subcommand. */
#define EXIT_OK		0
#define EXIT_FAILED	1	/* an expectation or a verification failed */
#define EXIT_USAGE	2	/* usage error, unreadable file, bad runbook */

struct frontend;
struct cli_args;

/* An option of a sub-command (-h, --help is every command's). */
struct cli_opt {
	int		 key;		/* cli_has() and cli_get() ask by it */
	bool		 letter;	/* key is also the short option -KEY */
	const char	*name;		/* the long option --NAME */
	const char	*arg;		/* its argument ("FILE"), or NULL */
	const char	*words;		/* completing the argument: words, ""
					   for files, NULL for nothing */
	const char	*help;		/* one line for CMD --help */
};

/* One synopsis line of a sub-command. */
struct cli_usage {
	const char	*line;		/* after "rehearse " */
	const char	*help;		/* one line for rehearse --help */
};

struct cli_cmd {
	const char	*name;
	const struct cli_usage *usage;	/* ends with a NULL line */
	const char	*about;		/* more for CMD --help, or NULL */
	const struct cli_opt *opts;	/* ends with key 0 */
	int		(*exec)(const struct cli_args *);
};

/* A parsed command line. */
struct cli_args {
	const struct cli_cmd *cmd;
	const struct frontend *fe;	/* the screens; members may be NULL */
	const char	*value[128];	/* by key: the last value, "" a flag */
	int		 argc;		/* the operands */
	char		**argv;
};

/* Runs the program; returns the exit status. */
int		 cli_main(int argc, char **argv, const struct frontend *);
bool		 cli_has(const struct cli_args *, int key);
/* The option's argument, or NULL when not given. */
const char	*cli_get(const struct cli_args *, int key);
/* Prints "rehearse: CMD: message" and a hint to stderr; returns
 * EXIT_USAGE. */
int		 cli_usage_error(const char *cmd, const char *fmt, ...)
		     __attribute__((format(printf, 2, 3)));
/* Prints "rehearse: CAUSE" on stderr, escaped. */
void		 cli_cause(const char *cause);
/* Says cause (when not NULL), frees it and returns status. */
int		 cli_failed(char *cause, int status);

/* The entries, one file each. */
extern const struct cli_cmd cmd_run_entry;
extern const struct cli_cmd cmd_check_entry;
extern const struct cli_cmd cmd_lint_entry;
extern const struct cli_cmd cmd_replay_entry;
extern const struct cli_cmd cmd_verify_entry;
extern const struct cli_cmd cmd_report_entry;
extern const struct cli_cmd cmd_restore_entry;

#endif
