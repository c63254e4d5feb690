/* runbook.h: a runbook loaded from YAML and validated; immutable after
 * runbook_load() returns it.  man/rehearse-runbook.5 is the contract for the
 * format; this header mirrors it. */
#ifndef REHEARSE_RUNBOOK_H
#define REHEARSE_RUNBOOK_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "step.h"

#define RB_NONE ((size_t)-1)	/* no index: no profile, no compare target;
				 * the rollback in session hooks */

enum match_op {
	MATCH_EQUALS,
	MATCH_CONTAINS,
	MATCH_MATCHES,
	MATCH_PRESENT,
	MATCH_ABSENT,
};

struct matcher {
	enum match_op	 op;
	char		*value;		/* NULL for present and absent */
	regex_t		 re;		/* compiled when op is MATCH_MATCHES */
};

struct header_expect {
	char		*name;		/* compared case-insensitively */
	struct matcher	*m;
	size_t		 nm;
};

/* An expectation; a limit of 0 means "not set". */
struct expect {
	int		*status;	/* accepted statuses */
	size_t		 nstatus;
	long		 max_ms;	/* slower fails */
	long		 soft_ms;	/* slower is degraded */
	long		 p95_ms;	/* measure: p95 above fails */
	struct header_expect *headers;
	size_t		 nheaders;
	struct matcher	*body;
	size_t		 nbody;
};

struct rb_header {
	char		*name;
	char		*value;
};

enum redis_kind {
	REDIS_TCP,
	REDIS_UNIX,
};

/* redis.tls and redis.sentinel_tls. */
struct rb_tls {
	bool		 on;		/* rediss://, or tls: given */
	bool		 verify;	/* check the chain and name (default) */
	char		*ca_file;	/* trusted CAs; NULL: the system's */
	char		*cert_file;	/* client certificate (mutual TLS) */
	char		*key_file;	/* its private key */
	char		*server_name;	/* SNI and name checked; NULL: host */
	const char	*field;		/* "redis.tls" or "redis.sentinel_tls",
					   for messages; static */
};

/* One "host:port" of redis.sentinels. */
struct rb_hostport {
	char		*host;
	int		 port;
};

enum rb_cluster {
	RB_CLUSTER_DETECT,	/* redis.cluster not given: INFO cluster says */
	RB_CLUSTER_ON,		/* redis.cluster: true */
	RB_CLUSTER_OFF,		/* redis.cluster: false: never a cluster */
};

struct rb_redis {
	char		*url;		/* as written, password masked; or NULL
					   with sentinels */
	enum redis_kind	 kind;
	char		*host;		/* REDIS_TCP; NULL with sentinels */
	int		 port;
	char		*path;		/* REDIS_UNIX */
	int		 db;
	char		*user;		/* ACL user: URL or username; NULL */
	char		*url_password;	/* secret; from the URL, or NULL */
	char		*password_env;	/* variable holding the password */
	struct rb_tls	 tls;

	/* Sentinel: the master's address is asked of these. */
	struct rb_hostport *sentinels;
	size_t		 nsentinels;	/* 0: no Sentinel */
	char		*master;	/* the name the sentinels know */
	char		*sentinel_user;	/* ACL user on the sentinels, or NULL */
	char		*sentinel_password_env;
	struct rb_tls	 sentinel_tls;

	/* Cluster: found from the node (INFO cluster), or declared. */
	enum rb_cluster	 cluster;
	struct rb_hostport *nodes;	/* more seed nodes (redis.nodes) */
	size_t		 nnodes;
	long		 timeout_ms;
	double		 refresh_s;
	long		 max_reply_mb;	/* bytes of one reply, in MiB */
};

struct rb_profile {
	char		*name;
	char		*cookie_env;	/* variable holding the Cookie value */
	char		*header_env;	/* variable holding "Name: value" */
	struct rb_header *headers;
	size_t		 nheaders;
};

struct rb_http {
	char		*base_url;	/* NULL when every route has a url */
	long		 timeout_ms;
	struct rb_header *headers;	/* sent with every request */
	size_t		 nheaders;
	bool		 insecure;
	char		*ca_file;
	struct rb_profile *profiles;
	size_t		 nprofiles;
};

struct rb_route {
	char		*name;
	char		*path;		/* joined to base_url, or NULL */
	char		*url;		/* absolute, or NULL */
	bool		 head;		/* HEAD instead of GET */
	bool		 follow_redirects;
	char		**keys;		/* Redis glob patterns */
	size_t		 nkeys;
	long		 max_keys;
	bool		 allow_broad;
	struct expect	*expect;	/* anonymous; may be NULL */
	struct expect	*expect_logged_in; /* with a profile; may be NULL */
	unsigned	 line;
	unsigned	 col;
};

/* A command: argv words (with ${NAME} still unexpanded) or shell text. */
struct rb_cmd {
	char		*text;		/* as written, or the words joined */
	char		**argv;		/* NULL-terminated; NULL when shell */
	size_t		 argc;
	bool		 shell;		/* run text with /bin/sh -c */
	bool		 list;		/* written as a list of words */
	char		**pass_env;	/* secret variables it may see (pass_env);
					 * NULL-terminated, or NULL */
	size_t		 npass_env;
	bool		 keep_background; /* what it leaves running keeps
					 * running after it exits */
	unsigned	 line;
	unsigned	 col;
};

struct rb_rollback {
	char		*name;
	struct rb_cmd	 run;
	struct rb_cmd	 check;		/* text NULL when there is none */
	bool		 has_check;
	bool		 check_safe;	/* check may run in `rehearse check` */
	long		 timeout_s;
};

struct rb_step {
	char		*id;		/* NULL when the runbook gives none */
	char		*title;
	char		*why;
	char		*expect_text;	/* expected result in words */
	char		*owner_note;
	bool		 confirm;	/* ask first; always true for the
					 * kinds that always act (read by
					 * policy_decide only) */
	enum step_kind_id	 kind;		/* index in step_kinds[] */
	unsigned	 line;
	unsigned	 col;

	size_t		 route;		/* http, measure, wait, purge */
	size_t		 profile;	/* RB_NONE: anonymous */
	struct expect	*expect;	/* http, measure, wait override */

	long		 samples;	/* measure */
	long		 concurrency;
	size_t		 compare;	/* step index, or RB_NONE */

	double		 every_s;	/* wait */
	double		 timeout_wait_s;

	bool		 backup;	/* purge */

	struct rb_cmd	 cmd;		/* run */
	long		 timeout_s;

	size_t		 rollback;	/* rollback_check */

	char		*instruction;	/* manual */
};

struct runbook {
	char		*path;		/* as given to runbook_load() */
	char		*dir;		/* directory commands run in */
	char		 sha256[65];	/* hex digest of the bytes loaded */
	size_t		 size;

	char		*title;
	char		*owner;
	char		*environment;
	char		*summary;

	bool		 has_redis;
	struct rb_redis	 redis;
	bool		 has_http;
	struct rb_http	 http;

	struct rb_route	*routes;
	size_t		 nroutes;
	struct rb_rollback *rollbacks;
	size_t		 nrollbacks;
	struct rb_step	*steps;
	size_t		 nsteps;

	/* The variables that hold secrets: password_env, cookie_env,
	 * header_env and every ${NAME} of a command.  NULL-terminated.  A
	 * command sees them only when its pass_env lists them. */
	char		**secret_vars;
	size_t		 nsecret_vars;
};

/* Loads and validates path.  Returns the runbook, or NULL with every problem
 * of the file in d (warnings may be present either way). */
struct runbook	*runbook_load(const char *path, struct diags *d);
/* Same from memory; path is used for messages and as the base directory. */
struct runbook	*runbook_load_buffer(const char *path, const char *buf,
		     size_t len, struct diags *d);
void		 runbook_free(struct runbook *);

/* Index of the named route, rollback, profile or step id, or RB_NONE. */
size_t		 runbook_route(const struct runbook *, const char *);
size_t		 runbook_rollback(const struct runbook *, const char *);
size_t		 runbook_profile(const struct runbook *, const char *);
size_t		 runbook_step(const struct runbook *, const char *);
/* Calls fn(name, arg) for each ${NAME} of the command's text, in order
 * (a name may come more than once). */
void		 rb_cmd_vars(const struct rb_cmd *, void (*fn)(const char *,
		     void *), void *arg);
/* True when name is one of rb->secret_vars. */
bool		 runbook_secret_var(const struct runbook *, const char *name);
/* True when a Redis glob pattern matches every key ("*", "?*", ""). */
bool		 pattern_matches_all(const char *);

#endif
