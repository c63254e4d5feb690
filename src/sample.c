/* sample.c: see sample.h. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "xmalloc.h"

struct slot;

struct sampler {
	struct http	*http;
	struct http_req	 req;
	char		*url;
	size_t		 samples;
	size_t		 concurrency;
	size_t		 started;
	size_t		 finished;
	struct http_probe **probes;	/* in flight, by slot */
	struct slot	*slots;		/* the probes' arguments */
	struct sample_stats st;
	void		(*done)(const struct sample_stats *, void *);
	void		*arg;
};

struct slot {
	struct sampler	*s;
	size_t		 i;
};

static void	launch(struct sampler *, size_t slot);

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
rank(const double *sorted, size_t n, double q)
{
	size_t k = (size_t)ceil(q * (double)n);

	if (k < 1)
		k = 1;
	return sorted[k - 1];
}

void
sample_summarise(struct sample_stats *st)
{
	double *t;

	if (st->ntimes == 0)
		return;
	t = xcalloc(st->ntimes, sizeof *t);
	memcpy(t, st->times, st->ntimes * sizeof *t);
	qsort(t, st->ntimes, sizeof *t, cmp_double);
	st->min_ms = t[0];
	st->max_ms = t[st->ntimes - 1];
	st->p50_ms = rank(t, st->ntimes, 0.50);
	st->p95_ms = rank(t, st->ntimes, 0.95);
	free(t);
}

void
sample_stats_free(struct sample_stats *st)
{
	free(st->times);
	free(st->statuses);
	memset(st, 0, sizeof *st);
}

static void
one_done(struct http_probe *p, const struct http_result *r, void *arg)
{
	struct slot *sl = arg;
	struct sampler *s = sl->s;
	struct sample_stats *st = &s->st;

	(void)p;
	s->probes[sl->i] = NULL;
	s->finished++;
	st->n++;
	if (r->ok) {
		st->ok++;
		st->times[st->ntimes] = r->total_ms;
		st->statuses[st->ntimes++] = r->status;
		if (st->ok == 1)
			st->first_status = r->status;
		if (r->status < 200 || r->status >= 400)
			st->bad_status++;
		if (strcmp(r->cache, "HIT") == 0)
			st->hit++;
		else if (strcmp(r->cache, "MISS") == 0)
			st->miss++;
		else
			st->other++;
	} else {
		st->errors++;
		if (st->first_error[0] == '\0')
			snprintf(st->first_error, sizeof st->first_error, "%s",
			    r->error);
	}
	if (s->started < s->samples) {
		launch(s, sl->i);
		return;
	}
	if (s->finished == s->samples) {
		sample_summarise(st);
		s->done(st, s->arg);
		sample_stats_free(st);
		free(s->probes);
		free(s->slots);
		free(s->url);
		free(s);
	}
}

static void
launch(struct sampler *s, size_t i)
{
	struct slot *sl = &s->slots[i];

	sl->s = s;
	sl->i = i;
	s->started++;
	s->probes[i] = http_start(s->http, &s->req, one_done, sl);
}

struct sampler *
sample_start(struct http *h, const struct http_req *q, size_t samples,
    size_t concurrency, void (*done)(const struct sample_stats *, void *),
    void *arg)
{
	struct sampler *s = xcalloc(1, sizeof *s);
	size_t i;

	if (samples == 0)
		samples = 1;
	if (concurrency == 0)
		concurrency = 1;
	if (concurrency > samples)
		concurrency = samples;
	s->http = h;
	s->req = *q;
	s->url = xstrdup(q->url);
	s->req.url = s->url;
	s->samples = samples;
	s->concurrency = concurrency;
	s->done = done;
	s->arg = arg;
	s->st.times = xcalloc(samples, sizeof *s->st.times);
	s->st.statuses = xcalloc(samples, sizeof *s->st.statuses);
	s->probes = xcalloc(concurrency, sizeof *s->probes);
	s->slots = xcalloc(concurrency, sizeof *s->slots);
	for (i = 0; i < concurrency; i++)
		launch(s, i);
	return s;
}

void
sample_cancel(struct sampler *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->concurrency; i++)
		http_cancel(s->probes[i]);
	sample_stats_free(&s->st);
	free(s->probes);
	free(s->slots);
	free(s->url);
	free(s);
}

const char *
compare_verdict_name(enum compare_verdict v)
{
	switch (v) {
	case COMPARE_SAME:
		return "no real change";
	case COMPARE_FASTER:
		return "faster";
	case COMPARE_SLOWER:
		return "slower";
	case COMPARE_NOT_COMPARABLE:
		return "not comparable";
	}
	return "?";
}

void
sample_compare(const struct sample_stats *b, const struct sample_stats *a,
    struct comparison *c)
{
	double change;

	memset(c, 0, sizeof *c);
	if (b->ok == 0 || a->ok == 0) {
		c->verdict = COMPARE_NOT_COMPARABLE;
		snprintf(c->note, sizeof c->note, "%s sample has no response",
		    b->ok == 0 ? "the earlier" : "the later");
		return;
	}
	c->d_p50_ms = a->p50_ms - b->p50_ms;
	c->d_p95_ms = a->p95_ms - b->p95_ms;
	c->hit_before = (double)b->hit / (double)b->ok;
	c->hit_after = (double)a->hit / (double)a->ok;
	/* A sample served from a warm cache against one that was not says
	 * nothing about the release: tell a lucky hit from a real change. */
	if (c->hit_after - c->hit_before >= 0.5) {
		c->verdict = COMPARE_NOT_COMPARABLE;
		snprintf(c->note, sizeof c->note, "the later sample was %.0f%% "
		    "cache hits, the earlier %.0f%%: a lucky cache hit, not a "
		    "real change; measure both cold or both warm",
		    100 * c->hit_after, 100 * c->hit_before);
		return;
	}
	if (c->hit_before - c->hit_after >= 0.5) {
		c->verdict = COMPARE_NOT_COMPARABLE;
		snprintf(c->note, sizeof c->note, "the later sample was %.0f%% "
		    "cache hits, the earlier %.0f%%: the cache was cold; "
		    "measure both cold or both warm",
		    100 * c->hit_after, 100 * c->hit_before);
		return;
	}
	change = b->p50_ms > 0 ? c->d_p50_ms / b->p50_ms : 0;
	if (change <= -0.2 && c->d_p50_ms <= -5)
		c->verdict = COMPARE_FASTER;
	else if (change >= 0.2 && c->d_p50_ms >= 5)
		c->verdict = COMPARE_SLOWER;
	else
		c->verdict = COMPARE_SAME;
	snprintf(c->note, sizeof c->note, "p50 %.1f -> %.1f ms (%+.0f%%), p95 "
	    "%.1f -> %.1f ms", b->p50_ms, a->p50_ms, 100 * change, b->p95_ms,
	    a->p95_ms);
}
