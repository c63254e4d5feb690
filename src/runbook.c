/* runbook.c: the runbook schema on top of yamltree: the whole document,
 * rollbacks, steps, secret variables, and the lookups of runbook.h.  The
 * helpers for one field are in runbook_field.c, the redis: section in
 * runbook_redis.c, http: and the routes in runbook_http.c.  Each loader
 * reports every problem it finds and carries on, so that one run of
 * `rehearse lint` shows all the errors of a file. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_chain.h"
#include "buf.h"
#include "cmdline.h"
#include "runbook_load.h"
#include "suggest.h"
#include "textesc.h"
#include "xmalloc.h"

/* Rollbacks ----------------------------------------------------------- */

static const char *
rollback_name_at(const struct runbook *rb, size_t i)
{
	return rb->rollbacks[i].name;
}

static void
load_rollback(struct rb_loader *L, const struct ynode *n, size_t idx)
{
	static const char *const keys[] = { "name", "run", "check",
	    "check_safe", "timeout_s", "shell", "pass_env", "keep_background",
	    NULL };
	struct rb_rollback *r = &L->rb->rollbacks[idx];
	const struct ynode *v;
	bool shell;
	struct rb_cmd opts;

	snprintf(L->ctx, sizeof L->ctx, "rollback %zu", idx + 1);
	if (!rbl_want_map(L, n, "rollback"))
		return;
	r->name = rbl_load_name(L, n, "rollback", idx, rollback_name_at);
	rbl_check_keys(L, n, "", keys);
	rbl_field_bool(L, n, "shell", false, &shell);
	rbl_field_long(L, n, "timeout_s", 1, 86400, 300, &r->timeout_s);
	if ((v = ymap_get(n, "run")) == NULL)
		rbl_err(L, n, "%s is missing", rbl_at(L, "run"));
	else
		rbl_load_cmd(L, v, "run", shell, &r->run);
	if ((v = ymap_get(n, "check")) != NULL) {
		r->has_check = true;	/* even when it failed to load */
		rbl_load_cmd(L, v, "check", shell, &r->check);
	}
	/* pass_env and keep_background hold for run and check alike. */
	memset(&opts, 0, sizeof opts);
	rbl_load_cmd_opts(L, n, &opts);
	r->run.pass_env = opts.pass_env;
	r->run.npass_env = opts.npass_env;
	r->run.keep_background = opts.keep_background;
	if (r->has_check) {
		r->check.pass_env = rbl_argv_copy(opts.pass_env);
		r->check.npass_env = opts.npass_env;
		r->check.keep_background = opts.keep_background;
	}
	rbl_field_bool(L, n, "check_safe", false, &r->check_safe);
	if (r->check_safe && v == NULL)
		rbl_err(L, ymap_get(n, "check_safe"), "%s: there is no check to "
		    "call safe", rbl_at(L, "check_safe"));
}

/* Steps --------------------------------------------------------------- */

/* A NULL-terminated list of the names for "did you mean"; caller frees. */
static const char **
name_list(struct rb_loader *L, enum rbl_ref which)
{
	struct runbook *rb = L->rb;
	size_t n = which == 0 ? rb->nroutes : which == 1 ? rb->nrollbacks :
	    rb->http.nprofiles, i, out = 0;
	const char **v = xcalloc(n + 1, sizeof *v);
	const char *s;

	for (i = 0; i < n; i++) {
		s = which == 0 ? rb->routes[i].name : which == 1 ?
		    rb->rollbacks[i].name : rb->http.profiles[i].name;
		if (s != NULL)
			v[out++] = s;
	}
	return v;
}

/* Resolves a reference to a route (0), rollback (1) or profile (2). */
size_t
rbl_resolve(struct rb_loader *L, const struct ynode *n, const char *field,
    enum rbl_ref which)
{
	static const char *const what[] = { "route", "rollback", "profile" };
	const char **names;
	const char *hint;
	char *name, *s;
	size_t idx;

	if ((name = rbl_text(L, n, field)) == NULL)
		return RB_NONE;
	idx = which == 0 ? runbook_route(L->rb, name) : which == 1 ?
	    runbook_rollback(L->rb, name) : runbook_profile(L->rb, name);
	if (idx == RB_NONE) {
		names = name_list(L, which);
		hint = suggest(name, names);
		s = rbl_shown(n);
		if (hint != NULL)
			rbl_err(L, n, "%s: no %s named '%s' (did you mean '%s'?)",
			    rbl_at(L, field), what[which], s, hint);
		else if (names[0] == NULL)
			rbl_err(L, n, "%s: no %s named '%s'; the runbook defines "
			    "no %s", rbl_at(L, field), what[which], s,
			    which == 2 ? "http.profiles" : which == 0 ?
			    "routes" : "rollback");
		else
			rbl_err(L, n, "%s: no %s named '%s'", rbl_at(L, field),
			    what[which], s);
		free(s);
		free(names);
	}
	free(name);
	return idx;
}

static bool
step_id_ok(const char *id)
{
	if (strlen(id) > RB_MAX_NAME)
		return false;
	for (; *id != '\0'; id++)
		if (!isalnum((unsigned char)*id) && strchr("._-", *id) == NULL)
			return false;
	return true;
}

static void
load_step(struct rb_loader *L, const struct ynode *n, size_t idx)
{
	static const char *const common[] = { "id", "title", "why", "expect",
	    "owner_note", "confirm" };
	const char *keys[sizeof common / sizeof common[0] + STEP_NKINDS + 1];
	const struct step_kind *kind;
	struct rb_step *s = &L->rb->steps[idx];
	const struct ynode *kn = NULL, *v;
	size_t k, nkinds = 0, j, nc = sizeof common / sizeof common[0];
	bool confirm, always;
	struct buf names;

	s->line = n->line;
	s->col = n->col;
	s->route = s->profile = s->rollback = s->compare = RB_NONE;
	snprintf(L->ctx, sizeof L->ctx, "step %zu", idx + 1);
	if (!rbl_want_map(L, n, "step"))
		return;
	if ((s->id = rbl_field_text(L, n, "id", false)) != NULL) {
		v = ymap_get(n, "id");
		if (!step_id_ok(s->id)) {
			rbl_err(L, v, "%s: use letters, digits, '.', '_' and '-' "
			    "(at most %d)", rbl_at(L, "id"), RB_MAX_NAME);
			free(s->id);
			s->id = NULL;
		} else {
			for (j = 0; j < idx; j++) {
				if (L->rb->steps[j].id != NULL &&
				    strcmp(L->rb->steps[j].id, s->id) == 0)
					rbl_err(L, v, "%s: step id '%s' is used "
					    "twice (first by step %zu)",
					    rbl_at(L, "id"), s->id, j + 1);
			}
			snprintf(L->ctx, sizeof L->ctx, "step %zu (%s)",
			    idx + 1, s->id);
		}
	}
	/* The keys of a step: the common ones and one per kind. */
	memcpy(keys, common, sizeof common);
	for (k = 0; k < STEP_NKINDS; k++)
		keys[nc + k] = step_kinds[k]->name;
	keys[nc + STEP_NKINDS] = NULL;
	rbl_check_keys(L, n, "", keys);
	s->title = rbl_field_text(L, n, "title", true);
	s->why = rbl_field_text(L, n, "why", false);
	s->expect_text = rbl_field_text(L, n, "expect", false);
	s->owner_note = rbl_field_text(L, n, "owner_note", false);
	for (k = 0; k < STEP_NKINDS; k++) {
		if ((v = ymap_get(n, step_kinds[k]->name)) == NULL)
			continue;
		if (nkinds++ == 0) {
			s->kind = (enum step_kind_id)k;
			kn = v;
		} else
			rbl_err(L, v, "%s: has both '%s' and '%s'; a step does "
			    "exactly one thing", rbl_at(L, ""),
			    step_kind_name(s->kind), step_kinds[k]->name);
	}
	if (nkinds == 0) {
		buf_init(&names);
		for (k = 0; k < STEP_NKINDS; k++)
			buf_addf(&names, "%s%s", k == 0 ? "" : ", ",
			    step_kinds[k]->name);
		buf_add(&names, "", 1);
		rbl_err(L, n, "%s: says nothing to do: give exactly one of %s",
		    rbl_at(L, ""), names.data);
		buf_free(&names);
		return;
	}
	kind = step_kinds[s->kind];
	if (kind->keys != NULL && kn->type == YN_MAP)
		rbl_check_keys(L, kn, kind->name, kind->keys);
	kind->load(L, s, kn, idx);
	/* What always changes the world always asks first. */
	always = kind->acts && !kind->check_safe;
	rbl_field_bool(L, n, "confirm", always, &confirm);
	if (!confirm && always) {
		rbl_err(L, ymap_get(n, "confirm"), "%s: %s steps always ask "
		    "for confirmation", rbl_at(L, "confirm"), kind->name);
		confirm = true;
	}
	s->confirm = confirm;
}

static void
resolve_compares(struct rb_loader *L)
{
	struct runbook *rb = L->rb;
	const struct ynode *n;
	size_t i, t;
	char *id;

	for (i = 0; i < rb->nsteps; i++) {
		if ((n = L->compare[i]) == NULL)
			continue;
		if (rb->steps[i].id != NULL)
			snprintf(L->ctx, sizeof L->ctx, "step %zu (%s)", i + 1,
			    rb->steps[i].id);
		else
			snprintf(L->ctx, sizeof L->ctx, "step %zu", i + 1);
		if ((id = rbl_text(L, n, "measure.compare")) == NULL)
			continue;
		t = runbook_step(rb, id);
		if (t == RB_NONE) {
			char *s = rbl_shown(n);
			rbl_err(L, n, "%s: no step has id '%s'",
			    rbl_at(L, "measure.compare"), s);
			free(s);
		} else if (t >= i)
			rbl_err(L, n, "%s: step '%s' does not come before this one",
			    rbl_at(L, "measure.compare"), id);
		else if (!step_kind_of(&rb->steps[t])->measures)
			rbl_err(L, n, "%s: step '%s' is not a measure step (it is "
			    "%s)", rbl_at(L, "measure.compare"), id,
			    step_kind_name(rb->steps[t].kind));
		else {
			rb->steps[i].compare = t;
			if (rb->steps[t].route != rb->steps[i].route)
				rbl_warn(L, n, "%s: step '%s' measures another "
				    "route", rbl_at(L, "measure.compare"), id);
		}
		free(id);
	}
	L->ctx[0] = '\0';
}

/* Secret variables ---------------------------------------------------- */

static void
add_secret_var(struct runbook *rb, const char *name)
{
	size_t i;

	if (name == NULL)
		return;
	for (i = 0; i < rb->nsecret_vars; i++)
		if (strcmp(rb->secret_vars[i], name) == 0)
			return;
	rb->secret_vars = xreallocarray(rb->secret_vars, rb->nsecret_vars + 2,
	    sizeof *rb->secret_vars);
	rb->secret_vars[rb->nsecret_vars++] = xstrdup(name);
	rb->secret_vars[rb->nsecret_vars] = NULL;
}

void
rb_cmd_vars(const struct rb_cmd *c, void (*fn)(const char *, void *),
    void *arg)
{
	const char *p, *end;
	char *name;

	for (p = c->text; p != NULL && (p = strstr(p, "${")) != NULL;
	    p = end) {
		if ((end = strchr(p + 2, '}')) == NULL)
			break;
		name = xstrndup(p + 2, (size_t)(end - p - 2));
		if (*name != '\0' && rbl_env_name_ok(name))
			fn(name, arg);
		free(name);
	}
}

static void
add_var_cb(const char *name, void *arg)
{
	add_secret_var(arg, name);
}

/* Every ${NAME} of a command's text. */
static void
add_cmd_vars(struct runbook *rb, const struct rb_cmd *c)
{
	rb_cmd_vars(c, add_var_cb, rb);
}

/* Collects rb->secret_vars, then warns of a pass_env name that is none of
 * them: it is passed anyway, so it is most likely a typo. */
static void
collect_secret_vars(struct rb_loader *L)
{
	struct runbook *rb = L->rb;
	const struct pass_env_at *at;
	const char *hint;
	size_t i;

	if (rb->has_redis) {
		add_secret_var(rb, rb->redis.password_env);
		add_secret_var(rb, rb->redis.sentinel_password_env);
	}
	for (i = 0; i < rb->http.nprofiles; i++) {
		add_secret_var(rb, rb->http.profiles[i].cookie_env);
		add_secret_var(rb, rb->http.profiles[i].header_env);
	}
	for (i = 0; i < rb->nrollbacks; i++) {
		add_cmd_vars(rb, &rb->rollbacks[i].run);
		add_cmd_vars(rb, &rb->rollbacks[i].check);
	}
	for (i = 0; i < rb->nsteps; i++)	/* a step's own command, if any */
		add_cmd_vars(rb, &rb->steps[i].cmd);
	if (rb->secret_vars == NULL)
		rb->secret_vars = xcalloc(1, sizeof *rb->secret_vars);
	for (i = 0; i < L->npass_at; i++) {
		at = &L->pass_at[i];
		if (runbook_secret_var(rb, at->n->str))
			continue;
		snprintf(L->ctx, sizeof L->ctx, "%s", at->ctx);
		hint = suggest(at->n->str, (const char *const *)rb->secret_vars);
		if (hint != NULL)
			rbl_warn(L, at->n, "%s: %s is not a secret of this runbook "
			    "(did you mean %s?)", rbl_at(L, "pass_env"), at->n->str,
			    hint);
		else
			rbl_warn(L, at->n, "%s: %s is not a secret of this runbook; "
			    "commands see it anyway", rbl_at(L, "pass_env"),
			    at->n->str);
	}
	L->ctx[0] = '\0';
}

bool
runbook_secret_var(const struct runbook *rb, const char *name)
{
	size_t i;

	for (i = 0; i < rb->nsecret_vars; i++)
		if (strcmp(rb->secret_vars[i], name) == 0)
			return true;
	return false;
}

/* The whole document -------------------------------------------------- */

static const struct ynode *
want_list(struct rb_loader *L, const struct ynode *root, const char *key)
{
	const struct ynode *n = ymap_get(root, key);

	if (n == NULL || ynode_is_null(n))
		return NULL;
	if (n->type != YN_SEQ) {
		rbl_err(L, n, "%s: expected a list, found %s", key,
		    ynode_describe(n));
		return NULL;
	}
	return n;
}

static void
load_root(struct rb_loader *L, const struct ynode *root)
{
	static const char *const keys[] = { "runbook", "owner", "environment",
	    "summary", "redis", "http", "routes", "rollback", "steps", NULL };
	struct runbook *rb = L->rb;
	const struct ynode *n;
	size_t i;

	if (root->type != YN_MAP) {
		rbl_err(L, root, "the top level must be a mapping with runbook, "
		    "owner and steps, not %s", ynode_describe(root));
		return;
	}
	rbl_check_keys(L, root, "", keys);
	rb->title = rbl_field_text(L, root, "runbook", true);
	rb->owner = rbl_field_text(L, root, "owner", true);
	rb->environment = rbl_field_text(L, root, "environment", false);
	if (rb->environment == NULL)
		rb->environment = xstrdup("unspecified");
	rb->summary = rbl_field_text(L, root, "summary", false);
	if ((n = ymap_get(root, "redis")) != NULL)
		rbl_load_redis(L, n);
	if ((n = ymap_get(root, "http")) != NULL)
		rbl_load_http(L, n);
	if ((n = want_list(L, root, "routes")) != NULL) {
		rb->routes = xcalloc(n->n, sizeof *rb->routes);
		rb->nroutes = n->n;
		for (i = 0; i < n->n; i++)
			rbl_load_route(L, n->items[i], i);
		L->ctx[0] = '\0';
	}
	if ((n = want_list(L, root, "rollback")) != NULL) {
		rb->rollbacks = xcalloc(n->n, sizeof *rb->rollbacks);
		rb->nrollbacks = n->n;
		for (i = 0; i < n->n; i++)
			load_rollback(L, n->items[i], i);
		L->ctx[0] = '\0';
	}
	n = want_list(L, root, "steps");
	if (n == NULL) {
		if (ymap_get(root, "steps") == NULL ||
		    ynode_is_null(ymap_get(root, "steps")))
			rbl_err(L, ymap_get(root, "steps") ? ymap_get(root,
			    "steps") : root, "steps: a runbook needs at least "
			    "one step");
		return;
	}
	if (n->n == 0 || n->n > RB_MAX_STEPS) {
		rbl_err(L, n, "steps: a runbook has from 1 to %d steps, not %zu",
		    RB_MAX_STEPS, n->n);
		if (n->n == 0)
			return;
	}
	rb->nsteps = n->n > RB_MAX_STEPS ? RB_MAX_STEPS : n->n;
	rb->steps = xcalloc(rb->nsteps, sizeof *rb->steps);
	L->compare = xcalloc(rb->nsteps, sizeof *L->compare);
	for (i = 0; i < rb->nsteps; i++)
		load_step(L, n->items[i], i);
	L->ctx[0] = '\0';
	resolve_compares(L);
	collect_secret_vars(L);
}

static char *
runbook_dir(const char *path)
{
	char *copy = xstrdup(path), *dir, *real;

	dir = xstrdup(dirname(copy));
	free(copy);
	if ((real = realpath(dir, NULL)) != NULL) {
		free(dir);
		return real;
	}
	return dir;
}

struct runbook *
runbook_load_buffer(const char *path, const char *buf, size_t len,
    struct diags *d)
{
	struct ydoc doc;
	struct rb_loader L;
	struct runbook *rb;
	size_t errors = d->nerrors;

	rb = xcalloc(1, sizeof *rb);
	rb->path = xstrdup(path);
	rb->dir = runbook_dir(path);
	rb->size = len;
	audit_hash(NULL, buf, len, rb->sha256);

	memset(&L, 0, sizeof L);
	L.d = d;
	L.rb = rb;
	if (ydoc_parse(&doc, buf, len, d) == 0) {
		if (doc.root == NULL)
			diag_add(d, DIAG_ERROR, 1, 1, "the file is empty; a "
			    "runbook needs at least runbook, owner and steps");
		else
			load_root(&L, doc.root);
	}
	ydoc_free(&doc);
	free(L.compare);
	free(L.pass_at);
	diags_sort(d);
	if (d->nerrors > errors) {
		runbook_free(rb);
		return NULL;
	}
	return rb;
}

struct runbook *
runbook_load(const char *path, struct diags *d)
{
	struct runbook *rb;
	struct stat st;
	struct buf b;
	char chunk[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		diag_add(d, DIAG_ERROR, 0, 0, "cannot open: %s",
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		diag_add(d, DIAG_ERROR, 0, 0, "not a regular file");
		close(fd);
		return NULL;
	}
	if (st.st_size > (off_t)YAML_MAX_BYTES) {
		diag_add(d, DIAG_ERROR, 0, 0, "file is %lld bytes; the limit for "
		    "a runbook is %u bytes", (long long)st.st_size,
		    YAML_MAX_BYTES);
		close(fd);
		return NULL;
	}
	buf_init(&b);
	buf_add(&b, "", 0);
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			diag_add(d, DIAG_ERROR, 0, 0, "cannot read: %s",
			    strerror(errno));
			buf_free(&b);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		buf_add(&b, chunk, (size_t)n);
		if (b.len > YAML_MAX_BYTES)
			break;	/* grew while we read; the parser says so */
	}
	close(fd);
	rb = runbook_load_buffer(path, b.data, b.len, d);
	buf_free(&b);
	return rb;
}

static void
rb_tls_free(struct rb_tls *t)
{
	free(t->ca_file);
	free(t->cert_file);
	free(t->key_file);
	free(t->server_name);
}

void
runbook_free(struct runbook *rb)
{
	size_t i, j;

	if (rb == NULL)
		return;
	free(rb->path);
	free(rb->dir);
	free(rb->title);
	free(rb->owner);
	free(rb->environment);
	free(rb->summary);
	free(rb->redis.url);
	free(rb->redis.host);
	free(rb->redis.path);
	free(rb->redis.user);
	if (rb->redis.url_password != NULL) {
		explicit_bzero(rb->redis.url_password,
		    strlen(rb->redis.url_password));
		free(rb->redis.url_password);
	}
	free(rb->redis.password_env);
	rb_tls_free(&rb->redis.tls);
	for (i = 0; i < rb->redis.nsentinels; i++)
		free(rb->redis.sentinels[i].host);
	free(rb->redis.sentinels);
	for (i = 0; i < rb->redis.nnodes; i++)
		free(rb->redis.nodes[i].host);
	free(rb->redis.nodes);
	free(rb->redis.master);
	free(rb->redis.sentinel_user);
	free(rb->redis.sentinel_password_env);
	rb_tls_free(&rb->redis.sentinel_tls);
	free(rb->http.base_url);
	free(rb->http.ca_file);
	for (i = 0; i < rb->http.nheaders; i++) {
		free(rb->http.headers[i].name);
		free(rb->http.headers[i].value);
	}
	free(rb->http.headers);
	for (i = 0; i < rb->http.nprofiles; i++) {
		struct rb_profile *p = &rb->http.profiles[i];
		free(p->name);
		free(p->cookie_env);
		free(p->header_env);
		for (j = 0; j < p->nheaders; j++) {
			free(p->headers[j].name);
			free(p->headers[j].value);
		}
		free(p->headers);
	}
	free(rb->http.profiles);
	for (i = 0; i < rb->nroutes; i++) {
		struct rb_route *r = &rb->routes[i];
		free(r->name);
		free(r->path);
		free(r->url);
		for (j = 0; j < r->nkeys; j++)
			free(r->keys[j]);
		free(r->keys);
		rbl_expect_free(r->expect);
		rbl_expect_free(r->expect_logged_in);
	}
	free(rb->routes);
	for (i = 0; i < rb->nrollbacks; i++) {
		free(rb->rollbacks[i].name);
		rbl_cmd_free(&rb->rollbacks[i].run);
		rbl_cmd_free(&rb->rollbacks[i].check);
	}
	free(rb->rollbacks);
	for (i = 0; i < rb->nsteps; i++) {
		struct rb_step *s = &rb->steps[i];
		free(s->id);
		free(s->title);
		free(s->why);
		free(s->expect_text);
		free(s->owner_note);
		rbl_expect_free(s->expect);
		rbl_cmd_free(&s->cmd);
		free(s->instruction);
	}
	free(rb->steps);
	cmd_argv_free(rb->secret_vars);
	free(rb);
}

static size_t
find(const char *name, size_t n, const void *base, size_t stride,
    size_t offset)
{
	const char *p = base;
	const char *s;
	size_t i;

	for (i = 0; i < n; i++) {
		memcpy(&s, p + i * stride + offset, sizeof s);
		if (s != NULL && strcmp(s, name) == 0)
			return i;
	}
	return RB_NONE;
}

size_t
runbook_route(const struct runbook *rb, const char *name)
{
	return find(name, rb->nroutes, rb->routes, sizeof *rb->routes,
	    offsetof(struct rb_route, name));
}

size_t
runbook_rollback(const struct runbook *rb, const char *name)
{
	return find(name, rb->nrollbacks, rb->rollbacks, sizeof *rb->rollbacks,
	    offsetof(struct rb_rollback, name));
}

size_t
runbook_profile(const struct runbook *rb, const char *name)
{
	return find(name, rb->http.nprofiles, rb->http.profiles,
	    sizeof *rb->http.profiles, offsetof(struct rb_profile, name));
}

size_t
runbook_step(const struct runbook *rb, const char *id)
{
	return find(id, rb->nsteps, rb->steps, sizeof *rb->steps,
	    offsetof(struct rb_step, id));
}
