/* runbook_load.h: what the runbook loader's files share (runbook.c,
 * runbook_field.c, runbook_redis.c, runbook_http.c and each step kind's
 * load op in step_*.c).  Not for the rest of the program: the loaded
 * struct runbook of runbook.h is the interface.
 *
 * Every helper reports a problem into L->d, naming where it is ("step 3
 * (deploy): http.route: ..."), and carries on, so that one run of lint
 * shows every error of a file. */
#ifndef REHEARSE_RUNBOOK_LOAD_H
#define REHEARSE_RUNBOOK_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "runbook.h"
#include "yamltree.h"

#define RB_MAX_STEPS	500
#define RB_MAX_NAME	64

struct rb_loader {
	struct diags	*d;
	struct runbook	*rb;
	char		 ctx[160];	/* "step 3 (deploy)", or "" */
	char		 paths[4][320];	/* ring of "ctx: field" strings */
	int		 ring;
	const struct ynode **compare;	/* per step: compare target node */
	struct pass_env_at {
		const struct ynode *n;	/* one name of a pass_env list */
		char		 ctx[160];
	}		*pass_at;	/* checked once every secret is known */
	size_t		 npass_at;
};

/* What rbl_resolve() looks up. */
enum rbl_ref {
	RBL_ROUTE,
	RBL_ROLLBACK,
	RBL_PROFILE,
};

/* "ctx: field" for messages; valid until four more calls. */
const char	*rbl_at(struct rb_loader *, const char *field);
void		 rbl_err(struct rb_loader *, const struct ynode *at,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void		 rbl_warn(struct rb_loader *, const struct ynode *at,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A scalar's text made safe for a message, shortened; caller frees. */
char		*rbl_shown(const struct ynode *);
/* True for a mapping; otherwise reports it. */
bool		 rbl_want_map(struct rb_loader *, const struct ynode *,
		     const char *field);
/* Reports keys of map that are not in allowed (NULL-terminated), with a
 * "did you mean". */
void		 rbl_check_keys(struct rb_loader *, const struct ynode *map,
		     const char *field, const char *const *allowed);
/* Text of a scalar; NULL (after an error) for other nodes, empty values
 * and values holding a NUL. */
char		*rbl_text(struct rb_loader *, const struct ynode *,
		     const char *field);
/* The text under key of map; NULL when absent (an error when required). */
char		*rbl_field_text(struct rb_loader *, const struct ynode *map,
		     const char *key, bool required);
/* The number under key, from lo to hi; def when absent or bad. */
void		 rbl_field_long(struct rb_loader *, const struct ynode *map,
		     const char *key, long lo, long hi, long def, long *out);
void		 rbl_field_double(struct rb_loader *, const struct ynode *map,
		     const char *key, double lo, double hi, double def,
		     double *out);
void		 rbl_field_bool(struct rb_loader *, const struct ynode *map,
		     const char *key, bool def, bool *out);
/* A name of a route, rollback or profile: letters, digits, "._-". */
bool		 rbl_check_name(struct rb_loader *, const struct ynode *,
		     const char *field, const char *name);
/* True for an environment variable name: letters, digits, '_'. */
bool		 rbl_env_name_ok(const char *);
/* The environment variable name under key, or NULL. */
char		*rbl_field_env(struct rb_loader *, const struct ynode *map,
		     const char *key);
void		 rbl_load_headers(struct rb_loader *, const struct ynode *,
		     const char *field, struct rb_header **, size_t *);
struct expect	*rbl_load_expect(struct rb_loader *, const struct ynode *,
		     const char *field);
void		 rbl_expect_free(struct expect *);
/* A command: a list of words, or a text (split into words unless
 * shell).  False after an error. */
bool		 rbl_load_cmd(struct rb_loader *, const struct ynode *,
		     const char *field, bool shell, struct rb_cmd *);
/* pass_env and keep_background of map, given to c. */
void		 rbl_load_cmd_opts(struct rb_loader *, const struct ynode *map,
		     struct rb_cmd *);
void		 rbl_cmd_free(struct rb_cmd *);
char		**rbl_argv_copy(char *const *);
/* The name of a route or rollback: required, a valid name, not taken by
 * one of the first idx; on success the context becomes "WHAT 'NAME'". */
char		*rbl_load_name(struct rb_loader *, const struct ynode *,
		     const char *what, size_t idx,
		     const char *(*name_at)(const struct runbook *, size_t));
/* Resolves a reference by name, with a "did you mean"; RB_NONE when
 * there is none (after an error). */
size_t		 rbl_resolve(struct rb_loader *, const struct ynode *,
		     const char *field, enum rbl_ref);

/* The sections (runbook_redis.c, runbook_http.c). */
void		 rbl_load_redis(struct rb_loader *, const struct ynode *);
void		 rbl_load_http(struct rb_loader *, const struct ynode *);
void		 rbl_load_route(struct rb_loader *, const struct ynode *,
		     size_t idx);

#endif
