/* testsrv.h: real servers for the tests: a private redis-server on a free
 * loopback port (and a unix socket) in a temporary directory, and a loop
 * runner with a deadline. */
#ifndef REHEARSE_TESTSRV_H
#define REHEARSE_TESTSRV_H

#include <stdbool.h>
#include <sys/types.h>

#include "loop.h"
#include "runbook.h"

struct testredis {
	pid_t		 pid;
	int		 port;
	char		 dir[64];
	char		 sock[128];
	char		 url[160];	/* redis://127.0.0.1:PORT/0 */
};

/* Starts $REDIS_SERVER (default redis-server; the Valkey runs of the
 * tests set valkey-server) with extra: more "--option value" words, or NULL;
 * returns 0 once it answers. */
int	 testredis_start(struct testredis *, const char *extra);
/* Starts it again on the same port and directory. */
int	 testredis_restart(struct testredis *, const char *extra);
void	 testredis_stop(struct testredis *);	/* SIGTERM and wait */
void	 testredis_kill(struct testredis *);	/* SIGKILL and wait */
void	 testredis_cleanup(struct testredis *);	/* stop, remove the dir */
/* Runs redis-cli against it; returns its exit status.  Output goes to out
 * (may be NULL: discarded). */
int	 testredis_cli(struct testredis *, char **out, const char *fmt, ...)
	     __attribute__((format(printf, 3, 4)));
/* A free loopback TCP port (bound and released). */
int	 free_port(void);

struct teststage {
	pid_t		 pid;
	int		 port;
	char		 dir[64];
	char		 version_file[128];
	char		 base[64];	/* http://127.0.0.1:PORT */
};

/* Starts the stage app ($top_builddir/tests/stage/stage) against redis_url
 * with a database delay of delay_ms; returns 0 once it listens. */
int	 teststage_start(struct teststage *, const char *redis_url,
	     int delay_ms);
void	 teststage_stop(struct teststage *);
/* Runs runbooks/demo/deploy.sh VERSION against the stage's version file. */
int	 teststage_deploy(struct teststage *, const char *version);

/* Runs the loop until done(arg) is true or seconds pass; true if done. */
bool	 run_until(struct loop *, bool (*done)(void *), void *arg,
	     double seconds);
/* Runs the loop for a while. */
void	 run_for(struct loop *, double seconds);

/* A minimal runbook with a redis section pointing at url. */
struct runbook *test_runbook(const char *yaml_fmt, ...)
	     __attribute__((format(printf, 1, 2)));

#endif
