/* loop.c: see loop.h. */
#include "config.h"

#include <sys/wait.h>

#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "loop.h"
#include "xmalloc.h"

struct sigwatch;

struct childwatch {
	pid_t		 pid;
	void		(*fn)(pid_t, int, void *);
	void		*arg;
};

struct loop {
	struct event_base *base;
	struct sigwatch	**sigs;		/* freed with the loop */
	size_t		 nsigs;
	struct childwatch *kids;	/* children not yet reaped */
	size_t		 nkids;
	struct event	*sigchld;	/* added with the first child */
	struct timer	*kid_check;	/* a look right after a child is added */
};

struct timer {
	struct event	*ev;
	void		(*fn)(void *);
	void		*arg;
};

struct sigwatch {
	struct event	*ev;
	void		(*fn)(int, void *);
	void		*arg;
};

struct loop *
loop_new(void)
{
	struct loop *l = xcalloc(1, sizeof *l);

	if ((l->base = event_base_new()) == NULL)
		fatal("cannot create the event loop");
	return l;
}

void
loop_free(struct loop *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nsigs; i++) {
		event_free(l->sigs[i]->ev);
		free(l->sigs[i]);
	}
	free(l->sigs);
	if (l->sigchld != NULL)
		event_free(l->sigchld);
	timer_free(l->kid_check);
	free(l->kids);
	event_base_free(l->base);
	free(l);
}

struct event_base *
loop_base(struct loop *l)
{
	return l->base;
}

int
loop_run(struct loop *l)
{
	return event_base_dispatch(l->base) < 0 ? -1 : 0;
}

static void
wake(void *arg)
{
	(void)arg;	/* only ends one turn of the loop */
}

bool
loop_run_until(struct loop *l, bool (*done)(void *), void *arg,
    double seconds)
{
	double end = loop_now() + seconds, now;
	struct timer *t = timer_new(l, wake, NULL);
	bool ok;

	/* The timer wakes the loop at the deadline when nothing else does;
	 * re-armed each turn, so that an early wake cannot leave it unarmed. */
	while (!(ok = done != NULL && done(arg)) && (now = loop_now()) < end) {
		timer_arm(t, end - now);
		event_base_loop(l->base, EVLOOP_ONCE);
	}
	timer_free(t);
	return ok;
}

void
loop_exit(struct loop *l)
{
	event_base_loopbreak(l->base);
}

double
loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
timer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct timer *t = arg;

	(void)fd;
	(void)what;
	t->fn(t->arg);
}

struct timer *
timer_new(struct loop *l, void (*fn)(void *), void *arg)
{
	struct timer *t = xcalloc(1, sizeof *t);

	t->fn = fn;
	t->arg = arg;
	if ((t->ev = evtimer_new(l->base, timer_fire, t)) == NULL)
		fatal("cannot create a timer");
	return t;
}

void
timer_free(struct timer *t)
{
	if (t == NULL)
		return;
	event_free(t->ev);
	free(t);
}

void
timer_arm(struct timer *t, double seconds)
{
	struct timeval tv;

	if (seconds < 0)
		seconds = 0;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	evtimer_add(t->ev, &tv);
}

void
timer_disarm(struct timer *t)
{
	evtimer_del(t->ev);
}

bool
timer_armed(const struct timer *t)
{
	return evtimer_pending(t->ev, NULL) != 0;
}

static void
signal_fire(evutil_socket_t sig, short what, void *arg)
{
	struct sigwatch *w = arg;

	(void)what;
	w->fn((int)sig, w->arg);
}

struct event *
loop_signal(struct loop *l, int sig, void (*fn)(int, void *), void *arg)
{
	struct sigwatch *w = xcalloc(1, sizeof *w);

	w->fn = fn;
	w->arg = arg;
	/* The watcher lives as long as the loop: signals are for good. */
	if ((w->ev = evsignal_new(l->base, sig, signal_fire, w)) == NULL ||
	    evsignal_add(w->ev, NULL) != 0)
		fatal("cannot watch signal %d", sig);
	l->sigs = xreallocarray(l->sigs, l->nsigs + 1, sizeof *l->sigs);
	l->sigs[l->nsigs++] = w;
	return w->ev;
}

/* Reaps the children watched that have exited, one at a time: fn may add
 * a child (the next command). */
static void
child_reap(struct loop *l)
{
	struct childwatch w;
	size_t i;
	int status;

again:
	for (i = 0; i < l->nkids; i++) {
		if (waitpid(l->kids[i].pid, &status, WNOHANG) != l->kids[i].pid)
			continue;
		w = l->kids[i];
		l->kids[i] = l->kids[--l->nkids];
		w.fn(w.pid, status, w.arg);
		goto again;
	}
}

static void
child_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	child_reap(arg);
}

static void
child_check(void *arg)
{
	child_reap(arg);
}

void
loop_child(struct loop *l, pid_t pid, void (*fn)(pid_t, int, void *),
    void *arg)
{
	if (l->sigchld == NULL) {
		if ((l->sigchld = evsignal_new(l->base, SIGCHLD, child_signal,
		    l)) == NULL || evsignal_add(l->sigchld, NULL) != 0)
			fatal("cannot watch SIGCHLD");
		l->kid_check = timer_new(l, child_check, l);
	}
	l->kids = xreallocarray(l->kids, l->nkids + 1, sizeof *l->kids);
	l->kids[l->nkids].pid = pid;
	l->kids[l->nkids].fn = fn;
	l->kids[l->nkids].arg = arg;
	l->nkids++;
	/* It may have exited before SIGCHLD was watched. */
	timer_arm(l->kid_check, 0);
}
