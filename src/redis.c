/* redis.c: see redis.h. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "redis.h"
#include "textesc.h"
#include "xmalloc.h"

#define BACKOFF_FIRST	0.25	/* seconds */
#define BACKOFF_MAX	30.0

/* One command in flight: replies come back in order, so the oldest one's
 * deadline is the one to watch. */
struct pending {
	struct redis	*r;
	redis_reply_fn	 fn;
	void		*arg;
	double		 deadline;
	bool		 internal;	/* part of the handshake */
	struct pending	*next;
};

struct redis {
	struct loop	*loop;
	const struct rb_redis *cfg;
	char		*password;
	redisAsyncContext *ac;		/* NULL when not connected */
	struct redis_status st;
	struct timer	*deadline;	/* connect or oldest command */
	struct timer	*retry;
	struct pending	*head;		/* commands in flight, oldest first */
	struct pending	*tail;
	double		 connect_started;
	double		 ping_sent;
	void		(*on_state)(struct redis *, void *);
	void		*on_state_arg;
};

static void	redis_connect(struct redis *);
static void	deadline_fired(void *);
static void	retry_fired(void *);

/* Handshake steps, passed as callback arguments. */
static char	step_auth[] = "AUTH";
static char	step_select[] = "SELECT";
static char	step_ping[] = "PING";

static double
timeout_s(const struct redis *r)
{
	return (double)r->cfg->timeout_ms / 1000.0;
}

static void
set_state(struct redis *r, enum redis_state s)
{
	bool changed = r->st.state != s;

	r->st.state = s;
	if (changed)
		r->st.since = loop_now();
	if (r->on_state != NULL)
		r->on_state(r, r->on_state_arg);
}

struct redis *
redis_new(struct loop *l, const struct rb_redis *cfg, const char *password)
{
	struct redis *r = xcalloc(1, sizeof *r);

	r->loop = l;
	r->cfg = cfg;
	if (password != NULL)
		r->password = xstrdup(password);
	else if (cfg->url_password != NULL)
		r->password = xstrdup(cfg->url_password);
	r->st.state = REDIS_DOWN;
	r->st.rtt_ms = -1;
	r->deadline = timer_new(l, deadline_fired, r);
	r->retry = timer_new(l, retry_fired, r);
	return r;
}

struct event_base *
redis_loop_base(const struct redis *r)
{
	return loop_base(r->loop);
}

const struct redis_status *
redis_status(const struct redis *r)
{
	return &r->st;
}

void
redis_on_state(struct redis *r, void (*fn)(struct redis *, void *), void *arg)
{
	r->on_state = fn;
	r->on_state_arg = arg;
}

void
redis_describe(const struct redis *r, char *buf, size_t len)
{
	double now = loop_now();

	switch (r->st.state) {
	case REDIS_UP:
		if (r->st.rtt_ms >= 0)
			snprintf(buf, len, "up, %.1f ms", r->st.rtt_ms);
		else
			snprintf(buf, len, "up");
		break;
	case REDIS_CONNECTING:
		snprintf(buf, len, "connecting (%.1f s)", now - r->st.since);
		break;
	case REDIS_DOWN:
		if (r->st.next_try > now)
			snprintf(buf, len, "down: %s (retry in %.0f s)",
			    r->st.error, r->st.next_try - now + 0.5);
		else
			snprintf(buf, len, "down: %s", r->st.error);
		break;
	}
}

/* Fails every command in flight; their callbacks see NULL and err. */
static void
fail_pending(struct redis *r, const char *err)
{
	struct pending *p;

	while ((p = r->head) != NULL) {
		r->head = p->next;
		if (r->head == NULL)
			r->tail = NULL;
		if (p->fn != NULL)
			p->fn(r, NULL, err, p->arg);
		free(p);
	}
}

static void
schedule_retry(struct redis *r)
{
	double delay = BACKOFF_FIRST;
	unsigned i;

	for (i = 1; i < r->st.failures && delay < BACKOFF_MAX; i++)
		delay *= 2;
	if (delay > BACKOFF_MAX)
		delay = BACKOFF_MAX;
	/* +-20% so that many clients do not come back in step. */
	delay *= 0.8 + 0.4 * ((double)rand() / RAND_MAX);
	r->st.next_try = loop_now() + delay;
	timer_arm(r->retry, delay);
}

/* Throws the context away and goes down.  Safe from hiredis callbacks: the
 * context is only freed by hiredis itself there. */
static void
go_down(struct redis *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
go_down(struct redis *r, const char *fmt, ...)
{
	redisAsyncContext *ac = r->ac;
	char msg[256], *e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	e = esc_str(msg, 0);
	snprintf(r->st.error, sizeof r->st.error, "%s", e);
	free(e);
	timer_disarm(r->deadline);
	r->ac = NULL;
	if (ac != NULL) {
		ac->data = NULL;	/* its callbacks must not find us */
		redisAsyncFree(ac);
	}
	r->st.failures++;
	r->st.rtt_ms = -1;
	fail_pending(r, r->st.error);
	schedule_retry(r);
	set_state(r, REDIS_DOWN);
}

static void
arm_deadline(struct redis *r)
{
	double now = loop_now();

	if (r->head != NULL)
		timer_arm(r->deadline, r->head->deadline - now);
	else if (r->st.state == REDIS_CONNECTING && r->ac != NULL &&
	    !(r->ac->c.flags & REDIS_CONNECTED))
		timer_arm(r->deadline, r->connect_started + timeout_s(r) - now);
	else
		timer_disarm(r->deadline);
}

static void
deadline_fired(void *arg)
{
	struct redis *r = arg;
	double now = loop_now();

	if (r->head != NULL && r->head->deadline <= now)
		go_down(r, "no reply within %ld ms", r->cfg->timeout_ms);
	else if (r->head == NULL && r->st.state == REDIS_CONNECTING)
		go_down(r, "cannot connect within %ld ms", r->cfg->timeout_ms);
	else
		arm_deadline(r);
}

static void
retry_fired(void *arg)
{
	redis_connect(arg);
}

/* hiredis calls this with the reply, or NULL when the context went away. */
static void
reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct pending *p = privdata;
	struct redis *r = ac->data;
	redisReply *rep = reply;
	const char *err = NULL;
	char buf[256];

	if (r == NULL) {
		/* Context thrown away: go_down already failed this command. */
		return;
	}
	/* Oldest first: this is the head. */
	if (r->head == p) {
		r->head = p->next;
		if (r->head == NULL)
			r->tail = NULL;
	}
	if (rep == NULL) {
		snprintf(buf, sizeof buf, "%s", ac->errstr[0] ? ac->errstr :
		    "connection lost");
		err = buf;
	}
	arm_deadline(r);
	if (p->fn != NULL)
		p->fn(r, rep, err, p->arg);
	free(p);
}

static int
send_cmd(struct redis *r, redis_reply_fn fn, void *arg, bool internal,
    int argc, const char **argv, const size_t *lens)
{
	struct pending *p;

	if (r->ac == NULL)
		return -1;
	p = xcalloc(1, sizeof *p);
	p->r = r;
	p->fn = fn;
	p->arg = arg;
	p->internal = internal;
	p->deadline = loop_now() + timeout_s(r);
	if (redisAsyncCommandArgv(r->ac, reply_cb, p, argc, argv, lens) !=
	    REDIS_OK) {
		free(p);
		return -1;
	}
	if (r->tail != NULL)
		r->tail->next = p;
	else
		r->head = p;
	r->tail = p;
	if (r->head == p)
		arm_deadline(r);
	return 0;
}

int
redis_command(struct redis *r, redis_reply_fn fn, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	if (r->st.state != REDIS_UP)
		return -1;
	return send_cmd(r, fn, arg, false, argc, argv, lens);
}

int
redis_commandv(struct redis *r, redis_reply_fn fn, void *arg, int argc,
    const char **argv)
{
	size_t lens[16];
	int i;

	if (argc > 16)
		fatal("redis_commandv: too many words");
	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	return redis_command(r, fn, arg, argc, argv, lens);
}

/* The handshake: AUTH, SELECT, PING, pipelined; each step must succeed. */
static void
handshake_step(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	const char *what = arg;
	char *e;

	if (r->st.state != REDIS_CONNECTING)
		return;
	if (rep == NULL) {
		/* A server that answers with something other than RESP. */
		if (err != NULL && strstr(err, "rotocol") != NULL)
			go_down(r, "not a Redis server? %s", err);
		else
			go_down(r, "%s", err != NULL ? err : "connection lost");
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		e = esc_text(rep->str, rep->len, 0);
		if (strncmp(rep->str, "NOAUTH", 6) == 0)
			go_down(r, "the server needs a password (set "
			    "password_env)");
		else if (strcmp(what, "AUTH") == 0)
			go_down(r, "authentication failed: %s", e);
		else if (strcmp(what, "SELECT") == 0)
			go_down(r, "cannot select database %d: %s", r->cfg->db,
			    e);
		else
			go_down(r, "%s failed: %s", what, e);
		free(e);
	}
}

static void
handshake_done(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	(void)arg;
	if (r->st.state != REDIS_CONNECTING)
		return;
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		if (rep != NULL && rep->type == REDIS_REPLY_ERROR &&
		    strncmp(rep->str, "NOAUTH", 6) == 0)
			go_down(r, "the server needs a password (set "
			    "password_env)");
		else
			handshake_step(r, rep, err, step_ping);
		return;
	}
	r->st.rtt_ms = (loop_now() - r->ping_sent) * 1000.0;
	r->st.failures = 0;
	r->st.error[0] = '\0';
	r->st.connects++;
	set_state(r, REDIS_UP);
}

static void
connect_cb(const redisAsyncContext *cac, int status)
{
	struct redis *r = cac->data;
	const char *argv[3];
	size_t lens[3];
	char db[16];
	int n = 0;

	if (r == NULL)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback. */
		r->ac = NULL;
		go_down(r, "%s", cac->errstr[0] ? cac->errstr :
		    "cannot connect");
		return;
	}
	if (r->password != NULL) {
		argv[n++] = "AUTH";
		if (r->cfg->user != NULL)
			argv[n++] = r->cfg->user;
		argv[n++] = r->password;
		for (int i = 0; i < n; i++)
			lens[i] = strlen(argv[i]);
		send_cmd(r, handshake_step, step_auth, true, n, argv, lens);
	}
	if (r->cfg->db != 0) {
		snprintf(db, sizeof db, "%d", r->cfg->db);
		argv[0] = "SELECT";
		argv[1] = db;
		lens[0] = 6;
		lens[1] = strlen(db);
		send_cmd(r, handshake_step, step_select, true, 2, argv, lens);
	}
	argv[0] = "PING";
	lens[0] = 4;
	r->ping_sent = loop_now();
	send_cmd(r, handshake_done, NULL, true, 1, argv, lens);
}

static void
disconnect_cb(const redisAsyncContext *cac, int status)
{
	struct redis *r = cac->data;

	if (r == NULL)
		return;	/* we threw it away ourselves */
	/* hiredis frees the context after this callback. */
	r->ac = NULL;
	if (status == REDIS_OK)
		go_down(r, "connection closed");
	else
		go_down(r, "%s", cac->errstr[0] ? cac->errstr :
		    "connection lost");
}

static void
redis_connect(struct redis *r)
{
	redisAsyncContext *ac;

	timer_disarm(r->retry);
	if (r->ac != NULL)
		return;
	if (r->cfg->kind == REDIS_UNIX)
		ac = redisAsyncConnectUnix(r->cfg->path);
	else
		ac = redisAsyncConnect(r->cfg->host, r->cfg->port);
	if (ac == NULL)
		fatal("out of memory connecting to Redis");
	r->connect_started = loop_now();
	set_state(r, REDIS_CONNECTING);
	if (ac->err) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s", ac->errstr);
		redisAsyncFree(ac);
		go_down(r, "%s", msg);
		return;
	}
	ac->data = r;
	r->ac = ac;
	if (redisLibeventAttach(ac, loop_base(r->loop)) != REDIS_OK)
		fatal("cannot attach Redis to the event loop");
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	arm_deadline(r);
}

void
redis_start(struct redis *r)
{
	redis_connect(r);
}

void
redis_reset(struct redis *r, const char *why)
{
	if (r->ac != NULL || r->st.state != REDIS_DOWN)
		go_down(r, "%s", why);
}

void
redis_retry_now(struct redis *r)
{
	if (r->st.state == REDIS_DOWN)
		redis_connect(r);
}

void
redis_free(struct redis *r)
{
	redisAsyncContext *ac;

	if (r == NULL)
		return;
	if ((ac = r->ac) != NULL) {
		r->ac = NULL;
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	fail_pending(r, "shutting down");
	timer_free(r->deadline);
	timer_free(r->retry);
	if (r->password != NULL) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	free(r);
}
