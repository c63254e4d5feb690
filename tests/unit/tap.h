/* tap.h: run a check suite and report every test as a TAP line, so that the
 * automake TAP driver (and .ci/run) count individual tests. */
#ifndef REHEARSE_TAP_H
#define REHEARSE_TAP_H

#include <check.h>

/* Runs s, prints TAP on stdout; returns 0 (the TAP lines carry failures). */
/* A test that cannot run here (no root, no namespace): reported as a TAP
 * skip with the reason by tap_run, instead of silently left out. */
void	 tap_skip(const char *name, const char *why);
int	 tap_run(Suite *s);
/* $top_srcdir/rel, for test data; caller frees. */
char	*tap_srcpath(const char *rel);

#endif
