/* cmd_replay.c: `rehearse replay [--follow] [--key FILE] [LOG]`: the
 * command line of the replay browser.  It checks what it is given and hands
 * over to the browser in ui/ (set by main.c).  Replay opens files for
 * reading only; it connects nowhere and runs nothing. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "audit_chain.h"
#include "cli.h"
#include "replay.h"
#include "xmalloc.h"

static int
usage_help(void)
{
	printf("usage: rehearse replay [--follow] [--key FILE] [--speed X] "
	    "[--max-wait S] [LOG]\n\n"
	    "Browses an audit log read-only: the steps with their final "
	    "states, every\nrecord, filters, search, playback.  Without LOG, "
	    "picks from the logs in\n$XDG_STATE_HOME/rehearse "
	    "(~/.local/state/rehearse).\n"
	    "  -f, --follow      watch a rehearsal in progress as records are "
	    "appended\n"
	    "                    (without LOG: the newest log)\n"
	    "  --key FILE        the key a sealed log was written with\n"
	    "  --speed X         playback speed, 1 = as recorded (default 1)\n"
	    "  --max-wait S      longest pause between records when playing "
	    "(default 2)\n"
	    "Keys: ? in the browser.  See rehearse(1).\n");
	return EXIT_OK;
}

static bool
number(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

/* The newest *.jsonl of dir, or NULL. */
static char *
newest(const char *dir, const struct audit_key *key)
{
	struct rp_dir d;
	char *cause = NULL, *path = NULL;

	if (rp_dir_open(&d, dir, key, &cause) != 0) {
		free(cause);
		return NULL;
	}
	if (d.n > 0)
		path = xstrdup(d.e[0].path);
	rp_dir_free(&d);
	return path;
}

int
cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "key", required_argument, NULL, 'k' },
		{ "audit-key", required_argument, NULL, 'k' },
		{ "speed", required_argument, NULL, 's' },
		{ "max-wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct replay_env env;
	struct audit_key key;
	struct replay *r;
	struct stat st;
	const char *keyfile = NULL;
	char *cause = NULL, *dir = NULL, *log = NULL;
	replay_fn fn = cli_replay();
	int ch, status;

	memset(&env, 0, sizeof env);
	env.speed = 1;
	env.max_wait = 2;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":fh", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			env.follow = true;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 's':
			if (!number(optarg, 0.01, 10000, &env.speed))
				return cli_usage_error("replay", "--speed: '%s' "
				    "is not a number from 0.01 to 10000",
				    optarg);
			break;
		case 'w':
			if (!number(optarg, 0, 3600, &env.max_wait))
				return cli_usage_error("replay", "--max-wait: "
				    "'%s' is not a number of seconds from 0 to "
				    "3600", optarg);
			break;
		case 'h':
			return usage_help();
		default:
			return cli_usage_error("replay", "%s '%s'", ch == ':' ?
			    "missing argument for" : "unknown option",
			    argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("replay", "one log at a time");
	if (fn == NULL) {
		fprintf(stderr, "rehearse: replay: this build has no screen\n");
		return EXIT_USAGE;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "rehearse: replay needs a terminal; for text, "
		    "use 'rehearse report LOG' or 'rehearse verify LOG'\n");
		return EXIT_USAGE;
	}
	memset(&key, 0, sizeof key);
	if (keyfile != NULL && audit_key_load(&key, keyfile, &cause) != 0) {
		fprintf(stderr, "rehearse: %s\n", cause);
		free(cause);
		return EXIT_USAGE;
	}
	env.key = keyfile != NULL ? &key : NULL;
	if (optind < argc)
		log = xstrdup(argv[optind]);
	else {
		if ((dir = audit_default_dir(&cause)) == NULL) {
			fprintf(stderr, "rehearse: replay: %s\n", cause);
			free(cause);
			return EXIT_USAGE;
		}
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "rehearse: replay: no audit logs: %s "
			    "does not exist (no rehearsal recorded yet; give "
			    "a LOG)\n", dir);
			free(dir);
			return EXIT_USAGE;
		}
		if (env.follow && (log = newest(dir, env.key)) == NULL) {
			fprintf(stderr, "rehearse: replay: --follow: no log in "
			    "%s to follow\n", dir);
			free(dir);
			return EXIT_USAGE;
		}
	}
	if (log != NULL) {
		/* Refuse what cannot be opened before the screen starts. */
		if ((r = replay_open(log, env.key, false, &cause)) == NULL) {
			fprintf(stderr, "rehearse: replay: %s\n", cause);
			free(cause);
			free(log);
			free(dir);
			return EXIT_USAGE;
		}
		replay_free(r);
	}
	env.log = log;
	env.dir = dir;
	status = fn(&env);
	explicit_bzero(&key, sizeof key);
	free(log);
	free(dir);
	return status;
}
