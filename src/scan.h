/* scan.h: walking the keys that match a route's patterns with SCAN MATCH,
 * never KEYS.  COUNT adapts so that each call stays near a millisecond on
 * the server; keys SCAN returns twice are counted once; only cursor 0 ends
 * a walk (a call may return no key and a non-zero cursor).
 *
 * A walk is bounded: it starts with DBSIZE, and fails when one pattern's
 * calls have asked (their COUNT added up) for more than 4 slots per key of
 * the database plus 100000 without the cursor coming back to 0, or when it
 * takes longer than max_s (default 300 s).  A server whose cursor never
 * comes back to 0 cannot keep a walk going.
 *
 * A walk is unpaced unless opts.pace says otherwise (a purge's preview is
 * someone waiting): with pace N, each call is followed by a pause of N
 * times its round trip, so that the walk takes about 1/(N+1) of the
 * server's time; pauses do not count against max_s. */
#ifndef REHEARSE_SCAN_H
#define REHEARSE_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "keyset.h"
#include "redis.h"

struct scan;

struct scan_opts {
	char *const	*patterns;
	size_t		 npatterns;
	size_t		 limit;		/* stop once over this; 0: no limit */
	bool		 keep;		/* keep every key (a purge needs them) */
	size_t		 sample;	/* keep the first N keys for display */
	double		 max_s;		/* time bound, pauses left out; 0: 300 s */
	double		 pace;		/* 0: unpaced; N: pause N x each call */
	double		 call_s;	/* round trip a call aims at; 0: 1 ms */
	/* Called after each SCAN reply of a walk that goes on (may be
	   NULL), e.g. to show scan_progress(). */
	void		(*step)(struct scan *, void *);
};

struct scan_sample {
	char		*key;		/* binary; NUL-terminated for convenience */
	size_t		 len;
};

struct scan_result {
	bool		 complete;	/* every pattern walked to cursor 0 */
	bool		 over_limit;	/* stopped: more than opts.limit keys */
	bool		 failed;
	char		 error[256];
	size_t		 count;		/* distinct keys seen */
	struct keyset	 keys;		/* all of them when opts.keep */
	struct scan_sample *sample;
	size_t		 nsample;
	unsigned long	 calls;		/* SCAN round trips */
	long		 count_hint;	/* COUNT at the end */
	double		 ms;		/* wall time of the walk */
};

/* Starts a walk; done is called once from the loop when it ends (complete,
 * over the limit or failed), never from inside scan_start. */
struct scan	*scan_start(struct redis *, const struct scan_opts *,
		     void (*done)(struct scan *, void *), void *arg);
const struct scan_result *scan_result(const struct scan *);
/* Stops a walk without calling done, and frees it (now or when the reply in
 * flight arrives). */
void		 scan_cancel(struct scan *);
/* About how far the walk is, 0..0.99: the patterns done and, of the one
 * being walked, the slots asked for against DBSIZE; or the keys found
 * against opts.limit when that is further. */
double		 scan_progress(const struct scan *);
/* The pause after a paced call that took call_s: pace x call_s, at most
 * 10 s. */
double		 scan_pause(double pace, double call_s);
/* Frees a walk that has ended. */
void		 scan_free(struct scan *);
/* The COUNT for the next call after one that took seconds: doubled under
 * half of target (0: 1 ms), halved over twice it, between 10 and 10000. */
long		 scan_adapt(long count, double seconds, double target);
/* Moves the kept keys out of a finished walk into dst. */
void		 scan_take_keys(struct scan *, struct keyset *dst);

#endif
