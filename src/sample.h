/* sample.h: measuring a route: N requests, one after another or several at
 * a time, giving min, p50, p95 and max, a tally of cache statuses and
 * errors; and comparing two measurements without mistaking a lucky cache
 * hit for a real change. */
#ifndef REHEARSE_SAMPLE_H
#define REHEARSE_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

struct sample_stats {
	size_t		 n;		/* requests made */
	size_t		 ok;		/* with a response */
	size_t		 errors;	/* without one */
	size_t		 bad_status;	/* responses outside 2xx/3xx */
	double		 min_ms;
	double		 p50_ms;
	double		 p95_ms;
	double		 max_ms;
	size_t		 hit;		/* X-Cache: HIT */
	size_t		 miss;		/* X-Cache: MISS */
	size_t		 other;		/* another X-Cache, or none */
	long		 first_status;
	char		 first_error[256];
	double		*times;		/* total_ms of each response */
	size_t		 ntimes;
	long		*statuses;	/* of each response */
};

struct sampler;

/* Starts samples requests, concurrency at a time.  done is called once,
 * from the loop. */
struct sampler	*sample_start(struct http *, const struct http_req *,
		     size_t samples, size_t concurrency,
		     void (*done)(const struct sample_stats *, void *),
		     void *arg);
/* Stops; done is not called. */
void		 sample_cancel(struct sampler *);
/* Fills the percentiles from times (nearest rank). */
void		 sample_summarise(struct sample_stats *);
void		 sample_stats_free(struct sample_stats *);

enum compare_verdict {
	COMPARE_SAME,
	COMPARE_FASTER,
	COMPARE_SLOWER,
	COMPARE_NOT_COMPARABLE,	/* cache states differ, or no responses */
};

struct comparison {
	enum compare_verdict verdict;
	double		 d_p50_ms;	/* after - before */
	double		 d_p95_ms;
	double		 hit_before;	/* 0..1 */
	double		 hit_after;
	char		 note[256];
};

void		 sample_compare(const struct sample_stats *before,
		     const struct sample_stats *after, struct comparison *);
const char	*compare_verdict_name(enum compare_verdict);

#endif
