/*
 * stage.h: the stage app, a small real web service with a Redis page cache
 * that the tests, the benchmarks and the demo of rehearse run against.
 */
#ifndef STAGE_STAGE_H
#define STAGE_STAGE_H

#include <stddef.h>

struct cache;

/* What every request needs; read-only once the daemon runs. */
struct stage {
	struct cache	*cache;		/* the shared page cache */
	const char	*version_file;	/* re-read on every request */
	int		 db_delay_ms;	/* what a cache miss costs */
	int		 ttl;		/* seconds a cached page lives */
};

/* The version served when the version file is missing or empty. */
#define STAGE_DEFAULT_VERSION "1.5.1"

/* The version with the caching bug: logged-in pages cached publicly. */
#define STAGE_BUGGY_VERSION "1.5.2"

/* Print "stage: MESSAGE" on stderr and abort: impossible states only. */
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	*xcalloc(size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
/* A malloc'd, formatted string. */
char	*xprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
