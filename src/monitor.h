/* monitor.h: live HTTP readouts for the dashboard: every few seconds one
 * anonymous request per route (and one per profile on routes that expect
 * logged-in traffic), keeping the last results: status, total and first
 * byte times, cache status, and a history for a sparkline, p50 and p95.
 * A route that hangs shows as waiting, with the seconds counting. */
#ifndef REHEARSE_MONITOR_H
#define REHEARSE_MONITOR_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "loop.h"
#include "runbook.h"

#define MONITOR_HISTORY 40

struct watch {
	size_t		 route;
	size_t		 profile;	/* RB_NONE: anonymous */
	bool		 waiting;	/* a request is in flight */
	double		 sent;		/* loop_now() when it left */
	bool		 seen;		/* answered at least once */
	bool		 ok;
	long		 status;
	double		 total_ms;
	double		 ttfb_ms;
	char		 cache[16];
	char		 error[256];
	double		 history[MONITOR_HISTORY];	/* total_ms */
	size_t		 nhistory;
	double		 p50_ms;
	double		 p95_ms;
};

struct monitor;

struct monitor	*monitor_new(struct loop *, struct http *,
		     const struct runbook *, double every_s,
		     void (*changed)(void *), void *arg);
void		 monitor_free(struct monitor *);
void		 monitor_start(struct monitor *);
size_t		 monitor_count(const struct monitor *);
const struct watch *monitor_get(const struct monitor *, size_t);

#endif
