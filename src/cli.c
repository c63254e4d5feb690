/* cli.c: global options and the table of subcommands. */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const struct cli_cmd commands[] = {
	{ "run", "--batch [--yes] [--read-only] [--from STEP] [--audit FILE] "
	  "RUNBOOK",
	  "run a runbook's steps without a screen (the dashboard comes later)",
	  cmd_run },
	{ "run", "--batch --resume LOG [--yes]",
	  "continue a rehearsal from its audit log", cmd_run },
	{ "check", "[--format text|tap|json] [--audit FILE] RUNBOOK",
	  "run only the read-only checks of a runbook", cmd_check },
	{ "lint", "[-q] [--summary] RUNBOOK...",
	  "validate runbooks; errors as FILE:LINE:COL: message", cmd_lint },
	{ "replay", "[--follow] [--key FILE] [--speed X] [--max-wait S] [LOG]",
	  "browse a past rehearsal read-only (no LOG: pick one)", cmd_replay },
	{ "verify", "[--key FILE] [-q] LOG...",
	  "check the hash chain of audit logs", cmd_verify },
	{ "report", "[--key FILE] LOG", "print a Markdown summary of a rehearsal",
	  cmd_report },
	{ "restore", "[--replace] [--any-key] [--audit FILE] [--audit-key FILE] RUNBOOK BACKUP",
	  "put back the keys a purge backed up", cmd_restore },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: rehearse [-hV] [COMMAND] [ARGS...]\n\n");
	for (i = 0; i < NCOMMANDS; i++) {
		fprintf(f, "  rehearse %s %s\n      %s%s\n", commands[i].name,
		    commands[i].args, commands[i].help,
		    commands[i].exec == NULL ? " (not available yet)" : "");
	}
	fprintf(f, "\noptions:\n"
	    "  -h, --help     show this help\n"
	    "  -V, --version  show the version\n\n"
	    "Exit status: 0 success, 1 an expectation or verification "
	    "failed,\n2 usage error or invalid runbook.  See rehearse(1).\n");
}

static dashboard_fn dashboard;

void
cli_set_dashboard(dashboard_fn fn)
{
	dashboard = fn;
}

dashboard_fn
cli_dashboard(void)
{
	return dashboard;
}

static replay_fn replay;

void
cli_set_replay(replay_fn fn)
{
	replay = fn;
}

replay_fn
cli_replay(void)
{
	return replay;
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rehearse: ");
	if (cmd != NULL)
		fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'rehearse %s%s--help' for more information.\n",
	    cmd != NULL ? cmd : "", cmd != NULL ? " " : "");
	return EXIT_USAGE;
}

static int
not_available(const struct cli_cmd *c)
{
	fprintf(stderr, "rehearse: '%s' is not available yet in this version "
	    "(see rehearse(1))\n", c->name);
	return EXIT_USAGE;
}

int
cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *c = NULL;
	struct stat st;
	size_t i;
	int ch;

	/* Options before the command name only; "+" stops at the command. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("rehearse %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			return cli_usage_error(NULL, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[0], commands[i].name) == 0)
			c = &commands[i];
	}
	if (c == NULL) {
		/* "rehearse RUNBOOK" is "rehearse run RUNBOOK". */
		if (stat(argv[0], &st) == 0 && S_ISREG(st.st_mode)) {
			optind = 0;
			argv[-1] = (char *)(uintptr_t)"run";
			return cmd_run(argc + 1, argv - 1);
		}
		return cli_usage_error(NULL, "unknown command '%s'", argv[0]);
	}
	if (c->exec == NULL)
		return not_available(c);
	optind = 0;	/* glibc: reinitialise getopt for the subcommand */
	return c->exec(argc, argv);
}
