/* cmd_replay.c: `rehearse replay [--follow] [--key FILE] [LOG]`: the
 * command line of the replay browser.  It checks what it is given and hands
 * over to the browser in ui/ (set by main.c).  Replay opens files for
 * reading only; it connects nowhere and runs nothing. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "audit_chain.h"
#include "cli.h"
#include "frontend.h"
#include "replay.h"
#include "xmalloc.h"

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

static int
cmd_replay(const struct cli_args *a)
{
	struct replay_env env;
	struct audit_key key;
	struct replay *r;
	struct stat st;
	const char *keyfile = cli_get(a, 'k'), *v;
	char *cause = NULL, *dir = NULL, *log = NULL;
	int (*fn)(struct replay_env *) = a->fe != NULL ? a->fe->replay : NULL;
	int status;

	memset(&env, 0, sizeof env);
	env.speed = 1;
	env.max_wait = 2;
	env.follow = cli_has(a, 'f');
	if ((v = cli_get(a, 's')) != NULL && !number(v, 0.01, 10000, &env.speed))
		return cli_usage_error("replay", "--speed: '%s' is not a number "
		    "from 0.01 to 10000", v);
	if ((v = cli_get(a, 'w')) != NULL && !number(v, 0, 3600, &env.max_wait))
		return cli_usage_error("replay", "--max-wait: '%s' is not a "
		    "number of seconds from 0 to 3600", v);
	if (a->argc > 1)
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
	if (a->argc == 1)
		log = xstrdup(a->argv[0]);
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

static const struct cli_opt replay_opts[] = {
	{ 'f', true, "follow", NULL, NULL, "watch a rehearsal in progress as "
	  "records are appended\n                         (without LOG: the "
	  "newest log)" },
	{ 'k', false, "key", "FILE", "",
	  "the key a sealed log was written with" },
	{ 'k', false, "audit-key", "FILE", "", "the same as --key" },
	{ 's', false, "speed", "X", NULL,
	  "playback speed, 1 = as recorded (default 1)" },
	{ 'w', false, "max-wait", "S", NULL,
	  "longest pause between records when playing (default 2)" },
	{ 0, false, NULL, NULL, NULL, NULL },
};

static const struct cli_usage replay_usage[] = {
	{ "replay [-f|--follow] [--key FILE] [--speed X] [--max-wait S] [LOG]",
	  "browse a past rehearsal read-only (no LOG: pick one)" },
	{ NULL, NULL },
};

const struct cli_cmd cmd_replay_entry = {
	"replay", replay_usage,
	"Browses an audit log read-only: the steps with their final states, "
	"every\nrecord, filters, search, playback.  Without LOG, picks from the "
	"logs in\n$XDG_STATE_HOME/rehearse (~/.local/state/rehearse).  Keys: ? "
	"in the browser.",
	replay_opts, cmd_replay,
};
