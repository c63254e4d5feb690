/* dashboard.h: the curses dashboard.  It draws what the core reports and
 * drives the core's session; it never talks to Redis, HTTP or the audit
 * file itself. */
#ifndef REHEARSE_DASHBOARD_H
#define REHEARSE_DASHBOARD_H

#include "frontend.h"
#include "rehearsal.h"

/* Runs the dashboard until the operator quits; returns the exit status. */
int	 dashboard_main(struct rehearsal *);

#endif
