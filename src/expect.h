/* expect.h: checking what a route answered against what the runbook
 * expects.  Each check yields pass, degraded or fail with the observed
 * value, escaped: header values and bodies are untrusted text. */
#ifndef REHEARSE_EXPECT_H
#define REHEARSE_EXPECT_H

#include <stddef.h>

#include "http.h"
#include "runbook.h"
#include "sample.h"

enum verdict {
	VERDICT_PASS,
	VERDICT_DEGRADED,	/* within status, over a soft time bound */
	VERDICT_FAIL,
	VERDICT_SKIPPED,
};

struct check {
	char		*what;		/* "status", "header Cache-Control contains" */
	char		*expected;
	char		*observed;	/* escaped */
	enum verdict	 verdict;
};

struct checks {
	struct check	*v;
	size_t		 n;
	enum verdict	 verdict;	/* the worst of them; pass when none */
};

const char	*verdict_name(enum verdict);
/* Checks one response; e may be NULL (then: a 2xx status). */
void		 expect_check(const struct expect *e,
		     const struct http_result *r, struct checks *out);
/* Checks a sample of responses: every response answered with an expected
 * status, and p95_ms, max_ms, soft_ms against the sample's figures. */
void		 expect_check_sample(const struct expect *e,
		     const struct sample_stats *s, struct checks *out);
void		 checks_free(struct checks *);

#endif
