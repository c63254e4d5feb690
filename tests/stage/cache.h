/* cache.h: the stage app's page cache in Redis (synchronous hiredis). */
#ifndef STAGE_CACHE_H
#define STAGE_CACHE_H

#include <stddef.h>

/* One shared connection behind a mutex; reconnects when Redis went away. */
struct cache;

/* Result of cache_get(). */
enum cache_result {
	CACHE_ERROR = -1,	/* Redis unreachable or refused: see err */
	CACHE_MISS = 0,
	CACHE_HIT = 1
};

/*
 * Parse URL (redis://HOST[:PORT][/DB] or unix:///PATH[?db=N]) and return a
 * cache that connects lazily; NULL with a message in err on a bad URL.
 */
struct cache	*cache_new(const char *url, char *err, size_t errlen);
void		 cache_free(struct cache *);

/* GET key: on a hit *value is a malloc'd copy of the stored value. */
enum cache_result cache_get(struct cache *, const char *key, char **value,
		    char *err, size_t errlen);

/* SET key value EX ttl; 0 on success, -1 with a short reason in err. */
int		 cache_set(struct cache *, const char *key, const char *value,
		    int ttl, char *err, size_t errlen);

#endif
