/* step_purge.c: the purge kind: deletes the keys of a route's patterns.
 * It previews first (the count and a sample, recorded as purge.preview),
 * asks, records purge.intent when confirmed and purge.done at the end;
 * with backup: true each key is dumped to a backup file before it goes
 * (see purge.c for the walk itself). */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cluster.h"
#include "purge.h"
#include "record.h"
#include "runbook_load.h"
#include "session_step.h"
#include "xmalloc.h"

static void
purge_load(struct rb_loader *L, struct rb_step *s, const struct ynode *n,
    size_t idx)
{
	const struct ynode *c;
	struct rb_route *r;

	(void)idx;
	if (n->type == YN_MAP) {
		rbl_field_bool(L, n, "backup", false, &s->backup);
		if ((c = ymap_get(n, "route")) == NULL) {
			rbl_err(L, n, "%s is missing", rbl_at(L, "purge.route"));
			return;
		}
		s->route = rbl_resolve(L, c, "purge.route", RBL_ROUTE);
	} else {
		c = n;
		s->route = rbl_resolve(L, n, "purge", RBL_ROUTE);
	}
	if (s->route == RB_NONE)
		return;
	r = &L->rb->routes[s->route];
	if (r->nkeys == 0)
		rbl_err(L, c, "%s: route '%s' has no keys to purge",
		    rbl_at(L, "purge"), r->name);
}

static void
purge_describe(const struct runbook *rb, const struct rb_step *s,
    struct buf *b)
{
	buf_addf(b, " %s", s->route != RB_NONE ? rb->routes[s->route].name :
	    "?");
	if (s->backup)
		buf_adds(b, ", with backup");
}

static json_t *
patterns(const struct rb_route *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < r->nkeys; i++)
		json_array_append_new(a, audit_json_bytes(r->keys[i],
		    strlen(r->keys[i])));
	return a;
}

/* A cluster purge's preview per shard: [{node, previewed}]. */
static json_t *
shards_preview(const struct purge_report *rep)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < rep->nshards; i++)
		if (rep->shards[i].walked)
			json_array_append_new(a, json_pack("{s:s, s:I}", "node",
			    rep->shards[i].node, "previewed",
			    (json_int_t)rep->shards[i].previewed));
	return a;
}

static bool
shard_said(const struct purge_shard *sh)
{
	return sh->previewed || sh->deleted || sh->gone || sh->in_doubt ||
	    sh->untouched || sh->errors || sh->backed_up || sh->batches;
}

/* ... and at its end: every shard that has something to say. */
static json_t *
shards_done(const struct purge_report *rep)
{
	json_t *a = json_array(), *o, *keys;
	const struct purge_shard *sh;
	static char slots[16384 * 7];	/* every slot, one by one, at worst */
	size_t i, j;

	for (i = 0; i < rep->nshards; i++) {
		sh = &rep->shards[i];
		if (!shard_said(sh))
			continue;
		o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		    "node", sh->node, "previewed", (json_int_t)sh->previewed,
		    "deleted", (json_int_t)sh->deleted, "gone",
		    (json_int_t)sh->gone, "in_doubt", (json_int_t)sh->in_doubt,
		    "untouched", (json_int_t)sh->untouched, "errors",
		    (json_int_t)sh->errors, "backed_up",
		    (json_int_t)sh->backed_up, "batches",
		    (json_int_t)sh->batches);
		if (sh->error[0] != '\0')
			json_object_set_new(o, "error", json_string(sh->error));
		purge_shard_slots(sh, slots, sizeof slots);
		json_object_set_new(o, "slots", json_string(slots));
		if (sh->ndoubt > 0) {
			keys = json_array();
			for (j = 0; j < sh->ndoubt; j++)
				json_array_append_new(keys, audit_json_bytes(
				    sh->doubt[j].key, sh->doubt[j].len));
			json_object_set_new(o, "in_doubt_keys", keys);
		}
		if (sh->doubt_cut)
			json_object_set_new(o, "in_doubt_keys_cut", json_true());
		json_array_append_new(a, o);
	}
	return a;
}

/* "; by shard: 127.0.0.1:7001 1002, ..." of the preview. */
static const char *
shards_text(const struct purge_report *rep, bool done)
{
	static char b[400];
	size_t i, used = 0, n = 0;
	int w;

	b[0] = '\0';
	if (!rep->cluster)
		return b;
	for (i = 0; i < rep->nshards && used < sizeof b - 1; i++) {
		const struct purge_shard *sh = &rep->shards[i];

		if (done ? !shard_said(sh) : !sh->walked)
			continue;
		w = done ? snprintf(b + used, sizeof b - used, "%s%s %zu deleted"
		    "%s", n ? ", " : "; by shard: ", sh->node, sh->deleted,
		    sh->in_doubt ? " (some in doubt)" : "") :
		    snprintf(b + used, sizeof b - used, "%s%s %zu", n ? ", " :
		    " across the cluster: ", sh->node, sh->previewed);
		if (w > 0)
			used += (size_t)w;
		n++;
	}
	return b;
}

/* "; N not touched", for the observed text of a purge that stopped. */
static const char *
untouched_text(size_t n)
{
	static char b[48];

	snprintf(b, sizeof b, "; %zu not touched", n);
	return b;
}

static void
purge_event(struct purge *p, void *arg)
{
	struct step_live *lv = arg;
	struct session *s = lv->s;
	size_t i = lv->step, j, len;
	const struct purge_report *rep = purge_report(p);
	const struct rb_route *route = &s->rb->routes[s->rb->steps[i].route];
	const char *k;
	json_t *sample, *rec;

	switch (rep->state) {
	case PURGE_READY:
		sample = json_array();
		for (j = 0; purge_sample(p, j, &k, &len); j++)
			json_array_append_new(sample, audit_json_bytes(k, len));
		session_observed(s, i, "%zu keys match%s%s%s", rep->previewed,
		    shards_text(rep, false), rep->warning[0] != '\0' ?
		    "; warning: " : "", rep->warning);
		rec = json_pack("{s:s, s:o, s:I, s:I, s:o}", "route",
		    route->name, "patterns", patterns(route), "previewed",
		    (json_int_t)rep->previewed, "max_keys",
		    (json_int_t)route->max_keys, "sample", sample);
		if (rep->warning[0] != '\0')
			json_object_set_new(rec, "warning",
			    json_string(rep->warning));
		if (rep->cluster) {
			json_object_set_new(rec, "cluster", json_true());
			json_object_set_new(rec, "shards", shards_preview(rep));
		}
		session_record(s, record_name(REC_PURGE_PREVIEW), i, rec);
		session_changed(s, i);
		if (s->hooks.previewed != NULL)
			s->hooks.previewed(s, i, p, s->hooks.arg);
		return;
	case PURGE_RUNNING:
		session_observed(s, i, "deleted %zu of %zu (batch %zu of %zu)%s",
		    rep->deleted, rep->previewed, rep->batches,
		    rep->batches_total, shards_text(rep, true));
		session_changed(s, i);
		return;
	case PURGE_REFUSED:
		if (rep->counted)
			session_observed(s, i, "%s%zu keys match", rep->over_limit ?
			    "more than " : "", rep->previewed);
		else
			session_observed(s, i, "refused before counting");
		rec = json_pack("{s:s, s:o, s:I, s:b, s:b, s:s}", "route",
		    route->name, "patterns", patterns(route), "previewed",
		    (json_int_t)rep->previewed, "counted", rep->counted,
		    "over_limit", rep->over_limit, "refused", rep->reason);
		if (rep->cluster)
			json_object_set_new(rec, "cluster", json_true());
		session_record(s, record_name(REC_PURGE_PREVIEW), i, rec);
		session_end(s, i, STEP_FAILED, rep->reason);
		break;
	case PURGE_DONE:
	case PURGE_CANCELLED:
	case PURGE_FAILED:
		if (lv->intent != 0) {
			rec = json_pack("{s:s, s:s, s:I, s:I, "
			    "s:I, s:I, s:I, s:I, s:I, s:f, s:s, s:o, s:o}",
			    "route", route->name,
			    "state", purge_state_name(rep->state), "previewed",
			    (json_int_t)rep->previewed, "deleted",
			    (json_int_t)rep->deleted, "gone",
			    (json_int_t)rep->gone, "in_doubt",
			    (json_int_t)rep->in_doubt, "untouched",
			    (json_int_t)rep->untouched, "errors",
			    (json_int_t)rep->errors, "backed_up",
			    (json_int_t)rep->backed_up, "ms", rep->ms, "reason",
			    rep->reason, "backup", lv->backup != NULL ?
			    json_string(lv->backup) : json_null(), "backup_hash",
			    purge_backup_hash(p) != NULL ?
			    json_string(purge_backup_hash(p)) : json_null());
			if (rep->cluster) {
				json_object_set_new(rec, "cluster", json_true());
				json_object_set_new(rec, "shards",
				    shards_done(rep));
			}
			audit_result(s->audit, lv->intent,
			    record_name(REC_PURGE_DONE), (unsigned)i + 1, rec);
		}
		/* A purge that stopped also says what it never touched. */
		session_observed(s, i, "deleted %zu of %zu previewed (%zu already gone, "
		    "%zu in doubt) in %.0f ms%s%s", rep->deleted, rep->previewed,
		    rep->gone, rep->in_doubt, rep->ms, rep->state == PURGE_DONE ?
		    "" : untouched_text(rep->untouched), shards_text(rep, true));
		if (rep->state == PURGE_DONE)
			session_end(s, i, STEP_PASSED, NULL);
		else if (rep->state == PURGE_CANCELLED && lv->intent == 0 &&
		    lv->refused == NULL)
			session_end(s, i, STEP_SKIPPED, rep->reason);
		else
			session_end(s, i, STEP_FAILED, lv->refused != NULL ?
			    lv->refused : rep->reason);
		break;
	default:
		return;
	}
	/* Ended: the purge is freed on the next step start or at the end. */
}

/* A purge's backup goes to a .backups/ directory next to the log (made on
 * the first backup, mode 0700), hidden so that neither the replay picker
 * nor a shell glob of the state dir takes it for a log.  The path is
 * absolute: the audit log records it, and a restore may run elsewhere. */
static char *
backup_path(struct session *s, size_t i)
{
	const char *log, *base;
	char *dir, *real, *path;
	size_t len;

	if (s->audit == NULL)
		return NULL;
	log = audit_path(s->audit);
	base = strrchr(log, '/');
	dir = base == NULL ? xstrdup(".") : base == log ? xstrdup("/") :
	    xprintf("%.*s", (int)(base - log), log);
	base = base == NULL ? log : base + 1;
	if ((real = realpath(dir, NULL)) == NULL)
		real = xstrdup(dir);
	free(dir);
	len = strlen(base);
	if (len > 6 && strcmp(base + len - 6, ".jsonl") == 0)
		len -= 6;
	dir = xprintf("%s/.backups", strcmp(real, "/") == 0 ? "" : real);
	if (mkdir(dir, 0700) == 0) {
		/* Durable before a file is made in it. */
		int fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			(void)fsync(fd);
			close(fd);
		}
	}
	path = xprintf("%s/%.*s.step%zu.backup.jsonl", dir, (int)len, base,
	    i + 1);
	free(dir);
	free(real);
	return path;
}

static void
purge_start_step(struct session *s, size_t i)
{
	const struct rb_step *st = &s->rb->steps[i];
	struct step_live *lv = &s->live[i];
	char *bpath = st->backup ? backup_path(s, i) : NULL;

	if (s->redis == NULL) {
		session_end(s, i, STEP_FAILED, "the runbook has no redis section");
		free(bpath);
		return;
	}
	if (redis_status(s->redis)->state != REDIS_UP && (s->cluster == NULL ||
	    cluster_mode(s->cluster) != CLUSTER_ON)) {
		char d[300], *why;
		redis_describe(s->redis, d, sizeof d);
		why = xprintf("Redis is %s", d);
		session_end(s, i, STEP_FAILED, why);
		free(why);
		free(bpath);
		return;
	}
	purge_free(lv->purge);
	free(lv->refused);
	lv->refused = NULL;
	free(lv->backup);
	lv->backup = bpath;
	lv->purge = purge_new(s->redis, &s->rb->routes[st->route], bpath,
	    purge_event, lv);
	purge_set_cluster(lv->purge, s->cluster);
	if (s->audit != NULL)
		purge_set_key(lv->purge, audit_seal_key(s->audit));
	purge_preview(lv->purge);
}

static void
purge_cancel_step(struct session *s, size_t i)
{
	if (s->live[i].purge != NULL)
		purge_cancel(s->live[i].purge);
}

static int
purge_confirm_step(struct session *s, size_t i, char **cause)
{
	struct step_live *lv = &s->live[i];
	const struct rb_step *st = &s->rb->steps[i];
	const struct purge_report *rep;

	if (lv->purge == NULL ||
	    purge_report(lv->purge)->state != PURGE_READY) {
		xasprintf(cause, "step %zu has no purge waiting", i + 1);
		return -1;
	}
	if (s->audit == NULL || audit_refused(s->audit)) {
		*cause = session_refusal(s);
		free(lv->refused);
		lv->refused = xstrdup(*cause);
		purge_cancel(lv->purge);
		return -1;
	}
	rep = purge_report(lv->purge);
	lv->intent = audit_intent(s->audit, record_name(REC_PURGE_INTENT),
	    (unsigned)i + 1,
	    json_pack("{s:s, s:o, s:I, s:o}", "route",
	    s->rb->routes[st->route].name, "patterns",
	    patterns(&s->rb->routes[st->route]), "previewed",
	    (json_int_t)rep->previewed, "backup", lv->backup ?
	    json_string(lv->backup) : json_null()));
	if (lv->intent == 0) {
		*cause = session_refusal(s);
		free(lv->refused);
		lv->refused = xstrdup(*cause);
		purge_cancel(lv->purge);
		return -1;
	}
	return purge_confirm(lv->purge);
}


static void
purge_release(struct session *s, size_t i)
{
	purge_free(s->live[i].purge);
	free(s->live[i].backup);
	free(s->live[i].refused);
}

static const char *const purge_keys[] = { "route", "backup", NULL };

const struct step_kind step_purge = {
	.name = "purge",
	.keys = purge_keys,
	.acts = true,
	.upsets_timing = true,
	.preview = true,
	.refusal = "refused: a purge changes the world; run with --yes to "
	    "allow it",
	.intent = REC_PURGE_INTENT,
	.result = REC_PURGE_DONE,
	.load = purge_load,
	.describe = purge_describe,
	.start = purge_start_step,
	.cancel = purge_cancel_step,
	.confirm = purge_confirm_step,
	.release = purge_release,
};
