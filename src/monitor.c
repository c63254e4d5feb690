/* monitor.c: see monitor.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"
#include "sample.h"
#include "xmalloc.h"

struct slot;

struct monitor {
	struct loop	*loop;
	struct http	*http;
	const struct runbook *rb;
	double		 every_s;
	struct watch	*w;
	struct http_probe **probes;
	struct slot	*slots;		/* the probes' arguments */
	size_t		 n;
	struct timer	*tick;
	void		(*changed)(void *);
	void		*arg;
};

struct slot {
	struct monitor	*m;
	size_t		 i;
};

static void
summarise(struct watch *w)
{
	struct sample_stats st;

	memset(&st, 0, sizeof st);
	st.times = w->history;
	st.ntimes = w->nhistory;
	sample_summarise(&st);
	w->p50_ms = st.p50_ms;
	w->p95_ms = st.p95_ms;
}

static void
answered(struct http_probe *p, const struct http_result *r, void *arg)
{
	struct slot *s = arg;
	struct monitor *m = s->m;
	struct watch *w = &m->w[s->i];

	(void)p;
	m->probes[s->i] = NULL;
	w->waiting = false;
	w->seen = true;
	w->ok = r->ok;
	w->status = r->status;
	w->total_ms = r->total_ms;
	w->ttfb_ms = r->ttfb_ms;
	snprintf(w->cache, sizeof w->cache, "%s", r->cache[0] ? r->cache :
	    "-");
	snprintf(w->error, sizeof w->error, "%s", r->error);
	if (r->ok) {
		if (w->nhistory == MONITOR_HISTORY) {
			memmove(w->history, w->history + 1,
			    (MONITOR_HISTORY - 1) * sizeof *w->history);
			w->nhistory--;
		}
		w->history[w->nhistory++] = r->total_ms;
		summarise(w);
	}
	if (m->changed != NULL)
		m->changed(m->arg);
}

static void
tick(void *arg)
{
	struct monitor *m = arg;
	struct http_req q;
	struct slot *s;
	char *cause = NULL;
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (m->w[i].waiting)
			continue;	/* still hung: it shows as waiting */
		if (http_req_for(m->rb, m->w[i].route, m->w[i].profile, &q,
		    &cause) != 0) {
			snprintf(m->w[i].error, sizeof m->w[i].error, "%s",
			    cause);
			free(cause);
			cause = NULL;
			continue;
		}
		s = &m->slots[i];
		s->m = m;
		s->i = i;
		m->w[i].waiting = true;
		m->w[i].sent = loop_now();
		m->probes[i] = http_start(m->http, &q, answered, s);
		http_req_done(&q);
	}
	timer_arm(m->tick, m->every_s);
}

struct monitor *
monitor_new(struct loop *l, struct http *h, const struct runbook *rb,
    double every_s, void (*changed)(void *), void *arg)
{
	struct monitor *m = xcalloc(1, sizeof *m);
	size_t i, p;

	m->loop = l;
	m->http = h;
	m->rb = rb;
	m->every_s = every_s;
	m->changed = changed;
	m->arg = arg;
	m->w = xcalloc(rb->nroutes * (rb->http.nprofiles + 1) + 1,
	    sizeof *m->w);
	for (i = 0; i < rb->nroutes; i++) {
		if (rb->routes[i].path == NULL && rb->routes[i].url == NULL)
			continue;
		m->w[m->n].route = i;
		m->w[m->n++].profile = RB_NONE;
		if (rb->routes[i].expect_logged_in == NULL)
			continue;
		for (p = 0; p < rb->http.nprofiles; p++) {
			m->w[m->n].route = i;
			m->w[m->n++].profile = p;
		}
	}
	m->probes = xcalloc(m->n + 1, sizeof *m->probes);
	m->slots = xcalloc(m->n + 1, sizeof *m->slots);
	m->tick = timer_new(l, tick, m);
	return m;
}

void
monitor_start(struct monitor *m)
{
	timer_arm(m->tick, 0);
}

size_t
monitor_count(const struct monitor *m)
{
	return m->n;
}

const struct watch *
monitor_get(const struct monitor *m, size_t i)
{
	return &m->w[i];
}

void
monitor_free(struct monitor *m)
{
	size_t i;

	if (m == NULL)
		return;
	timer_free(m->tick);
	for (i = 0; i < m->n; i++)
		http_cancel(m->probes[i]);
	free(m->probes);
	free(m->slots);
	free(m->w);
	free(m);
}
