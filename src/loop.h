/* loop.h: the one event loop of the program (libevent).  Every descriptor,
 * timer, signal and child pipe of rehearse is an event on this loop, so that
 * nothing ever blocks the screen.  Thin on purpose: modules use libevent's
 * own API on loop_base() for descriptors; this adds what they share. */
#ifndef REHEARSE_LOOP_H
#define REHEARSE_LOOP_H

#include <stdbool.h>
#include <sys/types.h>

#include <event2/event.h>

struct loop;
struct timer;

struct loop	*loop_new(void);
void		 loop_free(struct loop *);
struct event_base *loop_base(struct loop *);
/* Runs until loop_exit() or until no event is left.  Returns 0, or -1. */
int		 loop_run(struct loop *);
/* Runs turns of the loop until done(arg) holds (asked before each turn;
 * NULL: never) or seconds pass; true when done.  The one loop driver of
 * the program: batch steps, settle waits, screens and tests use it. */
bool		 loop_run_until(struct loop *, bool (*done)(void *), void *arg,
		     double seconds);
#define LOOP_FOREVER	1e9	/* seconds: no deadline */
void		 loop_exit(struct loop *);
/* Monotonic seconds. */
double		 loop_now(void);

/* A one-shot timer; arming an armed timer moves it. */
struct timer	*timer_new(struct loop *, void (*fn)(void *), void *arg);
void		 timer_free(struct timer *);
void		 timer_arm(struct timer *, double seconds);
void		 timer_disarm(struct timer *);
bool		 timer_armed(const struct timer *);

/* Calls fn(sig, arg) from the loop when sig arrives; returns the event. */
struct event	*loop_signal(struct loop *, int sig, void (*fn)(int, void *),
		     void *arg);

/* Calls fn(pid, status, arg) from the loop once child pid has exited, after
 * reaping it (waitpid's status).  SIGCHLD wakes the loop; nothing polls.
 * Only the children watched are reaped. */
void		 loop_child(struct loop *, pid_t, void (*fn)(pid_t, int, void *),
		     void *arg);

#endif
