/* cmd_restore.c: `rehearse restore [--replace] [--any-key] [--audit FILE]
 * [--audit-key FILE] RUNBOOK BACKUP`: puts back the keys a purge backed
 * up, after verifying the whole backup, with its intent and result in an
 * audit log. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "backup.h"
#include "cli.h"
#include "cluster.h"
#include "purge.h"
#include "record.h"
#include "redis.h"
#include "rehearsal.h"
#include "runbook.h"
#include "xmalloc.h"

struct restoring {
	const char	*backup;	/* the path given */
	const char	*key_file;	/* --audit-key */
	bool		 any_key;
	struct restore_check chk;
	struct backup_reader *br;
	int		 status;	/* why opening failed */
	struct restore_report rep;
	bool		 done;
};

static void
restored(const struct restore_report *rep, void *arg)
{
	struct restoring *r = arg;

	r->rep = *rep;
	r->done = true;
}

static bool
restore_over(void *arg)
{
	return ((struct restoring *)arg)->done;
}

/* The backup is verified whole before anything else happens. */
static int
verify_backup(struct rehearsal *rh, void *arg, char **cause)
{
	struct restoring *st = arg;
	struct audit_key key;

	if (!rh->rb->has_redis) {
		*cause = xstrdup("the runbook has no redis: section");
		return -1;
	}
	memset(&key, 0, sizeof key);
	if (st->key_file != NULL && audit_key_load(&key, st->key_file,
	    cause) != 0)
		return -1;
	st->br = purge_restore_check(st->backup, rh->rb, &key, st->any_key,
	    &st->chk, cause);
	explicit_bzero(&key, sizeof key);
	if (st->br == NULL) {
		if (st->chk.verify_failed)
			st->status = EXIT_FAILED;
		return -1;
	}
	if (!st->chk.ended)
		fprintf(stderr, "rehearse: warning: the backup has no end line "
		    "(its purge was cut off); restoring the %zu keys it "
		    "holds\n", st->chk.keys);
	if (st->chk.torn)
		fprintf(stderr, "rehearse: warning: a torn last line was "
		    "ignored (its keys were never deleted)\n");
	return 0;
}

/* Restores from the verified backup; returns the exit status. */
static int
restore(struct rehearsal *rh, struct restoring *st, bool replace)
{
	struct cluster *cl = NULL;
	const char *problem;
	char desc[300], *abs;
	uint64_t intent;
	int status = EXIT_OK;

	/* A cluster (found or declared): each key goes to its slot's
	   primary. */
	if (rh->cluster != NULL && cluster_mode(rh->cluster) == CLUSTER_ON)
		cl = rh->cluster;

	if ((abs = realpath(st->backup, NULL)) == NULL)
		abs = xstrdup(st->backup);
	if (cl != NULL && (problem = cluster_problem(cl)) != NULL) {
		/* As a purge: not while a slot has no primary that is up and
		   ok (its keys would wait, then fail, half restored). */
		fprintf(stderr, "rehearse: the cluster is not ok: %s; nothing "
		    "was restored\n", problem);
		status = EXIT_FAILED;
		backup_reader_free(st->br);
	} else if (cl == NULL && redis_status(rh->redis)->state != REDIS_UP) {
		redis_describe(rh->redis, desc, sizeof desc);
		fprintf(stderr, "rehearse: Redis is %s\n", desc);
		status = EXIT_FAILED;
		backup_reader_free(st->br);
	} else if ((intent = audit_intent(rh->audit,
	    record_name(REC_RESTORE_INTENT), 0,
	    json_pack("{s:s, s:s, s:s, s:I, s:b, s:b, s:b}", "backup", abs,
	    "backup_hash", st->chk.hash, "route", st->chk.route, "keys",
	    (json_int_t)st->chk.keys, "ended", st->chk.ended, "replace",
	    replace, "any_key", st->any_key))) == 0) {
		fprintf(stderr, "rehearse: the audit log cannot be written\n");
		status = EXIT_FAILED;
		backup_reader_free(st->br);
	} else {
		if (cl != NULL)
			purge_restore_cluster(rh->redis, cl, st->br, replace,
			    restored, st);
		else
			purge_restore(rh->redis, st->br, replace, restored, st);
		loop_run_until(rh->loop, restore_over, st, LOOP_FOREVER);
		audit_result(rh->audit, intent,
		    record_name(REC_RESTORE_DONE), 0, json_pack(
		    "{s:I, s:I, s:I, s:I, s:s}", "restored",
		    (json_int_t)st->rep.restored, "existed",
		    (json_int_t)st->rep.existed, "expired",
		    (json_int_t)st->rep.expired, "errors",
		    (json_int_t)st->rep.errors, "error", st->rep.error));
		printf("restored %zu keys, %zu kept (they exist; --replace "
		    "overwrites), %zu expired meanwhile, %zu errors\n",
		    st->rep.restored, st->rep.existed, st->rep.expired,
		    st->rep.errors);
		if (st->rep.errors > 0) {
			cli_cause(st->rep.error);
			status = EXIT_FAILED;
		}
	}
	free(abs);
	return status;
}

static int
cmd_restore(const struct cli_args *a)
{
	struct rehearsal_opts o;
	struct restoring st;
	struct rehearsal *rh;
	char *cause = NULL;

	if (a->argc != 2)
		return cli_usage_error("restore", "give a runbook and a backup "
		    "file");
	memset(&st, 0, sizeof st);
	st.backup = a->argv[1];
	st.key_file = cli_get(a, 'k');
	st.any_key = cli_has(a, 'A');
	st.status = EXIT_USAGE;
	memset(&o, 0, sizeof o);
	o.runbook = a->argv[0];
	o.log = true;
	o.audit = cli_get(a, 'a');
	o.audit_key = st.key_file;
	o.mode = POLICY_BATCH;
	o.parts = REHEARSAL_REDIS | REHEARSAL_SETTLE;
	o.loaded = verify_backup;
	o.arg = &st;
	if ((rh = rehearsal_open(&o, &cause)) == NULL) {
		backup_reader_free(st.br);
		return cli_failed(cause, st.status);
	}
	return rehearsal_close(rh, restore(rh, &st, cli_has(a, 'r')));
}

static const struct cli_opt restore_opts[] = {
	{ 'r', false, "replace", NULL, NULL,
	  "overwrite keys that exist (by default they are kept)" },
	{ 'A', false, "any-key", NULL, NULL,
	  "restore keys outside the route's patterns too" },
	{ 'a', false, "audit", "FILE", "", "write the audit log to FILE" },
	{ 'k', false, "audit-key", "FILE", "",
	  "the key of a sealed backup; seals the audit log" },
	{ 0, false, NULL, NULL, NULL, NULL },
};

static const struct cli_usage restore_usage[] = {
	{ "restore [--replace] [--any-key] [--audit FILE] [--audit-key FILE] "
	  "RUNBOOK BACKUP", "put back the keys a purge backed up" },
	{ NULL, NULL },
};

const struct cli_cmd cmd_restore_entry = {
	"restore", restore_usage,
	"Verifies the whole BACKUP first (chain, seal, bounds, and that every "
	"key matches\nthe route's patterns), then puts its keys back into the "
	"runbook's Redis (on a\ncluster, each key on the primary that owns its "
	"slot).",
	restore_opts, cmd_restore,
};
