/* cli.c: the table of sub-commands, the one option parser, and the help
 * and the bash completion made from the table. */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "textesc.h"
#include "xmalloc.h"

/* The table: `rehearse --help` lists the commands in this order. */
static const struct cli_cmd *const cli_table[] = {
	&cmd_run_entry,
	&cmd_check_entry,
	&cmd_lint_entry,
	&cmd_restore_entry,
	&cmd_replay_entry,
	&cmd_verify_entry,
	&cmd_report_entry,
};
#define NCOMMANDS (sizeof cli_table / sizeof cli_table[0])

/* The options of rehearse itself, before any command. */
static const struct cli_opt global_opts[] = {
	{ 'V', true, "version", NULL, NULL, "show the version" },
	{ 'C', false, "completion", "SHELL", "bash",
	  "print the completion script for SHELL (bash)" },
	{ 0, false, NULL, NULL, NULL, NULL },
};

static const struct cli_opt help_opt =
	{ 'h', true, "help", NULL, NULL, "show this help" };

bool
cli_has(const struct cli_args *a, int key)
{
	return key > 0 && key < 128 && a->value[key] != NULL;
}

const char *
cli_get(const struct cli_args *a, int key)
{
	return key > 0 && key < 128 ? a->value[key] : NULL;
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

void
cli_cause(const char *cause)
{
	char *e = esc_str(cause, 0);

	fprintf(stderr, "rehearse: %s\n", e);
	free(e);
}

int
cli_failed(char *cause, int status)
{
	if (cause != NULL)
		cli_cause(cause);
	free(cause);
	return status;
}

/* Help ------------------------------------------------------------------ */

static void
help_opt_line(FILE *f, const struct cli_opt *o)
{
	char left[64];

	snprintf(left, sizeof left, "%s%c%s--%s%s%s", o->letter ? "-" : "",
	    o->letter ? o->key : ' ', o->letter ? ", " : "", o->name,
	    o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");
	fprintf(f, "  %-22s %s\n", o->letter ? left : left + 1, o->help);
}

static void
help_usage(FILE *f)
{
	const struct cli_usage *u;
	const struct cli_opt *o;
	size_t i;

	fprintf(f, "usage: rehearse [-hV] [--completion SHELL]\n"
	    "       rehearse COMMAND [OPTIONS] [ARGS...]\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		for (u = cli_table[i]->usage; u->line != NULL; u++)
			fprintf(f, "  rehearse %s\n      %s\n", u->line, u->help);
	fprintf(f, "\noptions:\n");
	help_opt_line(f, &help_opt);
	for (o = global_opts; o->key != 0; o++)
		help_opt_line(f, o);
	fprintf(f, "\n'rehearse COMMAND --help' shows a command's options.\n"
	    "Exit status: 0 success, 1 an expectation or verification "
	    "failed,\n2 usage error or invalid runbook.  See rehearse(1).\n");
}

static void
help_cmd(FILE *f, const struct cli_cmd *c)
{
	const struct cli_usage *u;
	const struct cli_opt *o;

	for (u = c->usage; u->line != NULL; u++)
		fprintf(f, "%s rehearse %s\n", u == c->usage ? "usage:" :
		    "      ", u->line);
	if (c->about != NULL)
		fprintf(f, "\n%s\n", c->about);
	fprintf(f, "\noptions:\n");
	for (o = c->opts; o->key != 0; o++)
		help_opt_line(f, o);
	help_opt_line(f, &help_opt);
	fprintf(f, "\nSee rehearse(1).\n");
}

/* Completion ------------------------------------------------------------ */

/* The options of a table as completion words. */
static void
complete_words(FILE *f, const struct cli_opt *opts)
{
	const struct cli_opt *o;

	for (o = opts; o->key != 0; o++) {
		if (o->letter)
			fprintf(f, " -%c", o->key);
		fprintf(f, " --%s", o->name);
	}
}

/* The arguments of a table's options, for the case in _rehearse. */
static void
complete_args(FILE *f, const char *cmd, const struct cli_opt *opts)
{
	const struct cli_opt *o;

	for (o = opts; o->key != 0; o++) {
		if (o->arg == NULL)
			continue;
		fprintf(f, "\t%s:--%s", cmd, o->name);
		if (o->letter)
			fprintf(f, "|%s:-%c", cmd, o->key);
		if (o->words == NULL)
			fprintf(f, ") return ;;\n");
		else if (*o->words == '\0')
			fprintf(f, ") COMPREPLY=($(compgen -f -- \"$cur\")); "
			    "return ;;\n");
		else
			fprintf(f, ") COMPREPLY=($(compgen -W \"%s\" -- "
			    "\"$cur\")); return ;;\n", o->words);
	}
}

/* The names of the commands, sep between them. */
static void
complete_names(FILE *f, const char *sep)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "%s%s", i > 0 ? sep : "", cli_table[i]->name);
}

static void
complete_bash(FILE *f)
{
	size_t i;

	fprintf(f, "# bash completion for rehearse, made by "
	    "`rehearse --completion bash`\n"
	    "# from its command table (src/cli.c).\n"
	    "_rehearse()\n{\n"
	    "\tlocal cur prev cmd opts words=\n"
	    "\tcur=${COMP_WORDS[COMP_CWORD]}\n"
	    "\tprev=${COMP_WORDS[COMP_CWORD-1]}\n"
	    "\tCOMPREPLY=()\n"
	    "\tcmd=\n"
	    "\tif [ \"$COMP_CWORD\" -gt 1 ]; then\n"
	    "\t\tcase ${COMP_WORDS[1]} in\n\t\t");
	complete_names(f, "|");
	fprintf(f, ") cmd=${COMP_WORDS[1]} ;;\n"
	    "\t\t*) cmd=run ;;\t# rehearse [OPTIONS] RUNBOOK: run\n"
	    "\t\tesac\n\tfi\n"
	    "\tcase $cmd:$prev in\n");
	complete_args(f, "*", global_opts);
	for (i = 0; i < NCOMMANDS; i++)
		complete_args(f, cli_table[i]->name, cli_table[i]->opts);
	fprintf(f, "\tesac\n\tcase $cmd in\n\t\"\") words=\"");
	complete_names(f, " ");
	fprintf(f, "\"\n\t\topts=\"-h --help");
	complete_words(f, global_opts);
	complete_words(f, cmd_run_entry.opts);
	fprintf(f, "\" ;;\n");
	for (i = 0; i < NCOMMANDS; i++) {
		fprintf(f, "\t%s) opts=\"-h --help", cli_table[i]->name);
		complete_words(f, cli_table[i]->opts);
		fprintf(f, "\" ;;\n");
	}
	fprintf(f, "\tesac\n"
	    "\tif [[ $cur == -* ]]; then\n"
	    "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	    "\telse\n"
	    "\t\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\") "
	    "$(compgen -f -- \"$cur\"))\n"
	    "\tfi\n"
	    "}\n"
	    "complete -o filenames -F _rehearse rehearse\n");
}

/* Parsing --------------------------------------------------------------- */

/*
 * Reads the options of c (and -h) from argv[1...] into a; the operands
 * are left in a->argc and a->argv.  label names the command in errors
 * (NULL: rehearse itself).  Returns -1 to go on, or an exit status
 * (--help was printed, or a usage error).
 */
static int
cli_parse(const struct cli_cmd *c, const char *label, int argc, char **argv,
    struct cli_args *a)
{
	struct option lo[64];
	char shortopts[64] = ":h";
	size_t n = 0, len = 2;
	const struct cli_opt *o;
	int ch;

	for (o = c->opts; o->key != 0 && n + 2 < 64; o++) {
		lo[n].name = o->name;
		lo[n].has_arg = o->arg != NULL ? required_argument : no_argument;
		lo[n].flag = NULL;
		lo[n++].val = o->key;
		if (o->letter && len + 3 < sizeof shortopts) {
			shortopts[len++] = (char)o->key;
			if (o->arg != NULL)
				shortopts[len++] = ':';
		}
	}
	lo[n].name = "help";
	lo[n].has_arg = no_argument;
	lo[n].flag = NULL;
	lo[n++].val = 'h';
	memset(&lo[n], 0, sizeof lo[n]);
	shortopts[len] = '\0';

	a->cmd = c;
	optind = 0;	/* glibc: start over */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		if (ch == 'h') {
			if (c->usage == NULL)
				help_usage(stdout);	/* rehearse's own */
			else
				help_cmd(stdout, c);
			return EXIT_OK;
		}
		if (ch == ':')
			return cli_usage_error(label, "missing argument for "
			    "'%s'", argv[optind - 1]);
		if (ch == '?' || ch <= 0 || ch >= 128)
			return cli_usage_error(label, "unknown option '%s'",
			    argv[optind - 1]);
		a->value[ch] = optarg != NULL ? optarg : "";
	}
	a->argc = argc - optind;
	a->argv = argv + optind;
	return -1;
}

static const struct cli_cmd *
cli_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, cli_table[i]->name) == 0)
			return cli_table[i];
	return NULL;
}

/* Whether argv[1] is one of rehearse's own options. */
static bool
global_option(const char *arg)
{
	const struct cli_opt *o;
	size_t len;

	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 ||
	    strcmp(arg, "-V") == 0 || strcmp(arg, "-hV") == 0 ||
	    strcmp(arg, "-Vh") == 0)
		return true;
	for (o = global_opts; o->key != 0; o++) {
		len = strlen(o->name);
		if (strncmp(arg, "--", 2) == 0 && strncmp(arg + 2, o->name,
		    len) == 0 && (arg[2 + len] == '\0' || arg[2 + len] == '='))
			return true;
	}
	return false;
}

static const struct cli_cmd global_entry = {
	"rehearse", NULL, NULL, global_opts, NULL,
};

static int
cli_global(int argc, char **argv)
{
	struct cli_args a;
	const char *shell;
	int status;

	memset(&a, 0, sizeof a);
	if ((status = cli_parse(&global_entry, NULL, argc, argv, &a)) >= 0)
		return status;
	if (a.argc > 0)
		return cli_usage_error(NULL, "'%s' after the options of rehearse "
		    "itself", a.argv[0]);
	if ((shell = cli_get(&a, 'C')) != NULL) {
		if (strcmp(shell, "bash") != 0)
			return cli_usage_error(NULL, "--completion: no completion "
			    "for '%s' (only bash)", shell);
		complete_bash(stdout);
		return EXIT_OK;
	}
	printf("rehearse %s\n", PACKAGE_VERSION);
	return EXIT_OK;
}

int
cli_main(int argc, char **argv, const struct frontend *fe)
{
	const struct cli_cmd *c;
	struct cli_args a;
	struct stat st;
	int status;

	if (argc < 2) {
		help_usage(stderr);
		return EXIT_USAGE;
	}
	if (global_option(argv[1]))
		return cli_global(argc, argv);
	memset(&a, 0, sizeof a);
	a.fe = fe;
	if ((c = cli_find(argv[1])) != NULL) {
		if ((status = cli_parse(c, c->name, argc - 1, argv + 1,
		    &a)) >= 0)
			return status;
		return c->exec(&a);
	}
	/* "rehearse [OPTIONS] RUNBOOK" is "rehearse run [OPTIONS] RUNBOOK". */
	if (argv[1][0] != '-' && (stat(argv[1], &st) != 0 ||
	    !S_ISREG(st.st_mode)))
		return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
	if ((status = cli_parse(&cmd_run_entry, NULL, argc, argv, &a)) >= 0)
		return status;
	return cmd_run_entry.exec(&a);
}
