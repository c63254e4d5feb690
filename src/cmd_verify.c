/* cmd_verify.c: `rehearse verify [--key FILE] [-q] LOG...`. */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chain.h"
#include "audit_read.h"
#include "cli.h"
#include "textesc.h"
#include "xmalloc.h"

static int
verify_one(const char *path, const struct audit_key *key, bool quiet)
{
	char *name = esc_str(path, ESC_BACKSLASH), *cause = NULL, *e, *sess;
	struct verify v;
	size_t i;
	int status;

	verify_init(&v, key);
	if (verify_file(&v, path, &cause) != 0) {
		e = esc_str(cause, 0);
		fprintf(stderr, "rehearse: %s\n", e);
		free(e);
		free(cause);
		free(name);
		verify_done(&v);
		return EXIT_USAGE;
	}
	switch (v.status) {
	case VERIFY_INTACT:
		status = EXIT_OK;
		if (quiet)
			break;
		/* Everything read from the log is untrusted: escape it. */
		sess = esc_str(v.session, 0);
		e = xprintf("%s to %s", v.first_ts, v.last_ts);
		cause = esc_str(e, 0);
		printf("%s: intact: %" PRIu64 " records, session %s, %s, %s%s",
		    name, v.records, sess, cause, verify_seal(&v), v.sealed ?
		    "" : " (" VERIFY_UNSEALED_WHY ")");
		free(sess);
		free(e);
		free(cause);
		if (v.resumes > 0)
			printf(", resumed %zu time%s", v.resumes,
			    v.resumes == 1 ? "" : "s");
		printf("\n");
		break;
	case VERIFY_NEED_KEY:
		e = esc_str(v.reason, 0);
		fprintf(stderr, "%s: %s\n", name, e);
		free(e);
		status = EXIT_USAGE;
		break;
	default:
		e = esc_str(v.reason, 0);
		fprintf(stderr, "%s:%zu: %s\n", name, v.bad_line, e);
		free(e);
		status = EXIT_FAILED;
		break;
	}
	if (v.status == VERIFY_INTACT || v.status == VERIFY_OPEN ||
	    v.status == VERIFY_TORN) {
		if (v.clock_back > 0)
			fprintf(stderr, "%s:%zu: warning: the clock stepped back "
			    "(%zu time%s); records are ordered by seq\n", name,
			    v.clock_back_line, v.clock_back,
			    v.clock_back == 1 ? "" : "s");
		for (i = 0; i < v.nintents; i++) {
			e = esc_str(v.intents[i].type, 0);
			fprintf(stderr, "%s: warning: record %" PRIu64 " (%s) "
			    "has no result: outcome unknown\n", name,
			    v.intents[i].seq, e);
			free(e);
		}
		if (v.unknown > 0)
			fprintf(stderr, "%s: warning: %zu action%s recorded as "
			    "outcome unknown after a crash\n", name, v.unknown,
			    v.unknown == 1 ? "" : "s");
	}
	verify_done(&v);
	free(name);
	return status;
}

static int
cmd_verify(const struct cli_args *a)
{
	struct audit_key key;
	const char *keyfile = cli_get(a, 'k');
	char *cause = NULL;
	bool quiet = cli_has(a, 'q');
	int i, rc, status = EXIT_OK;

	if (a->argc == 0)
		return cli_usage_error("verify", "no audit log given");
	memset(&key, 0, sizeof key);
	if (keyfile != NULL && audit_key_load(&key, keyfile, &cause) != 0) {
		fprintf(stderr, "rehearse: %s\n", cause);
		free(cause);
		return EXIT_USAGE;
	}
	for (i = 0; i < a->argc; i++) {
		rc = verify_one(a->argv[i], &key, quiet);
		if (rc > status)
			status = rc;
	}
	explicit_bzero(&key, sizeof key);
	return status;
}

static const struct cli_opt verify_opts[] = {
	{ 'k', false, "key", "FILE", "",
	  "the key a sealed log was written with" },
	{ 'k', false, "audit-key", "FILE", "", "the same as --key" },
	{ 'q', true, "quiet", NULL, NULL, "print nothing for intact logs" },
	{ 0, false, NULL, NULL, NULL, NULL },
};

static const struct cli_usage verify_usage[] = {
	{ "verify [--key FILE] [-q|--quiet] LOG...",
	  "check the hash chain of audit logs" },
	{ NULL, NULL },
};

const struct cli_cmd cmd_verify_entry = {
	"verify", verify_usage,
	"Checks the hash chain of each audit log.  Exit 0 when every log is "
	"intact,\n1 when one is not (the first bad record is named), 2 when "
	"one cannot\nbe read or needs a key.",
	verify_opts, cmd_verify,
};
