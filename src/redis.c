/* redis.c: see redis.h.
 *
 * hiredis does the protocol only (redisFormatCommandArgv and a redisReader,
 * the API 0.14 and 1.x share); libevent owns the socket through a
 * bufferevent.  The reader's object functions are hiredis' own, wrapped so
 * that a reply announcing absurd element counts becomes a named error
 * instead of a giant calloc. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "redis.h"
#include "textesc.h"
#include "tls.h"
#include "xmalloc.h"

#define BACKOFF_FIRST	0.25	/* seconds */
#define BACKOFF_MAX	30.0
#define READ_CHUNK	16384	/* bytes fed to the reader at a time */

/* One command in flight: replies come back in order, so the oldest one's
 * deadline is the one to watch. */
struct pending {
	redis_reply_fn	 fn;
	void		*arg;
	double		 deadline;
	struct pending	*next;
};

struct redis {
	struct loop	*loop;
	const struct rb_redis *cfg;
	char		*password;
	/*
	 * The connection.  bev is the bufferevent rehearse reads and writes:
	 * the socket's, or for rediss:// the TLS filter put on it once TCP is
	 * connected (bufferevent_openssl_filter_new; freeing the filter frees
	 * the SSL and the socket).  NULL when not connected.
	 */
	struct bufferevent *bev;
	bool		 connected;	/* connected (TLS: handshake done) */
	struct tls_ctx	*tls;		/* rediss://: built once, or NULL */
	char		*setup_error;	/* the TLS files could not be used */
	SSL		*ssl;		/* the filter's, while there is one */
	/* redis:// reset before any reply: a TLS handshake on the same port
	 * tells "this port speaks TLS" from other resets. */
	bool		 probing;
	char		 probe_why[256];	/* the reset, if it is not TLS */
	redisReader	*reader;	/* fresh for every connection */
	redisReplyObjectFunctions fns;	/* hiredis' own, wrapped */
	const redisReplyObjectFunctions *hfns;
	unsigned long long fed;		/* bytes fed to this reader */
	unsigned long long reply_start;	/* fed when the current reply began */
	size_t		 elements;	/* announced in the current reply */
	char		 guard[128];	/* why the wrapped functions refused */
	bool		 at_start;	/* the reader's next byte starts a reply */
	unsigned long	 gen;		/* bumped whenever the connection goes */
	bool		 going_down;

	struct redis_status st;
	size_t		 max_reply;	/* bytes */
	struct timer	*deadline;	/* connect or oldest command */
	struct timer	*retry;
	struct pending	*head;		/* commands in flight, oldest first */
	struct pending	*tail;
	size_t		 npending;
	struct pending	*spare;		/* answered entries, for reuse */
	size_t		 nspare;
	double		 burst_now;	/* loop_now() when this chunk was fed; */
	bool		 in_read;	/* ... used by commands sent from it */
	double		 connect_started;
	double		 ping_sent;
	void		(*on_state)(struct redis *, void *);
	void		*on_state_arg;

	/* Sentinel hooks (redis.h): what the handshake accepts, the
	 * resolver that gives each attempt its address, pub/sub messages. */
	enum redis_expect expect;
	char		 role_refused[128];	/* ROLE's error, this handshake */
	void		(*resolve)(struct redis *, void *);
	void		*resolve_arg;
	bool		 resolving;	/* waiting for redis_connect_to() */
	char		*to_host;	/* the resolver's address, or NULL */
	int		 to_port;
	void		(*on_push)(struct redis *, redisReply *, void *);
	void		*on_push_arg;
};

static void	redis_connect(struct redis *);
static void	deadline_fired(void *);
static void	retry_fired(void *);

/* Handshake steps, passed as callback arguments. */
static char	step_auth[] = "AUTH";
static char	step_select[] = "SELECT";
static char	step_ping[] = "PING";
static char	step_role[] = "ROLE";
static char	step_info[] = "INFO replication";

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

/* A connection without its TLS context. */
static struct redis *
redis_make(struct loop *l, const struct rb_redis *cfg, const char *password)
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
	r->max_reply = (size_t)(cfg->max_reply_mb > 0 ? cfg->max_reply_mb :
	    REDIS_MAX_REPLY_MB_DEFAULT) << 20;
	r->deadline = timer_new(l, deadline_fired, r);
	r->retry = timer_new(l, retry_fired, r);
	return r;
}

struct redis *
redis_new(struct loop *l, const struct rb_redis *cfg, const char *password)
{
	struct redis *r = redis_make(l, cfg, password);

	if (cfg->tls.on && cfg->kind == REDIS_TCP)
		r->tls = tls_ctx_new(&cfg->tls, cfg->tls.field != NULL ?
		    cfg->tls.field : "redis.tls", &r->setup_error);
	return r;
}

struct redis *
redis_new_like(const struct redis *r)
{
	struct redis *n = redis_make(r->loop, r->cfg, r->password);

	n->tls = tls_ctx_ref(r->tls);
	if (r->setup_error != NULL)
		n->setup_error = xstrdup(r->setup_error);
	/* Sentinel: the node r is connected to now (its address came from
	 * the resolver), held to the same role. */
	n->expect = r->expect;
	if (r->to_host != NULL) {
		n->to_host = xstrdup(r->to_host);
		n->to_port = r->to_port;
	}
	return n;
}

struct redis *
redis_new_at(const struct redis *r, const char *host, int port)
{
	struct redis *n = redis_new_like(r);

	free(n->to_host);
	n->to_host = xstrdup(host);
	n->to_port = port;
	n->expect = REDIS_EXPECT_DATA;
	return n;
}

void
redis_address(const struct redis *r, char *buf, size_t len)
{
	const char *h = r->to_host != NULL ? r->to_host : r->cfg->host;
	int port = r->to_host != NULL ? r->to_port : r->cfg->port;

	if (r->to_host == NULL && r->cfg->kind == REDIS_UNIX)
		snprintf(buf, len, "%s", r->cfg->path);
	else
		snprintf(buf, len, strchr(h != NULL ? h : "", ':') != NULL ?
		    "[%s]:%d" : "%s:%d", h != NULL ? h : "?", port);
}

const char *
redis_setup_error(const struct redis *r)
{
	return r->setup_error;
}

bool
redis_tls_unchecked(const struct redis *r)
{
	return r->tls != NULL && !tls_ctx_verifies(r->tls);
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
		r->npending--;
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

/* Closes the socket and forgets the reader (with any partial reply). */
static void
drop_connection(struct redis *r)
{
	r->gen++;
	if (r->bev != NULL) {
		bufferevent_free(r->bev);	/* closes the socket */
		r->bev = NULL;
	}
	r->ssl = NULL;
	r->probing = false;
	if (r->reader != NULL) {
		redisReaderFree(r->reader);
		r->reader = NULL;
	}
	r->connected = false;
}

/* Throws the connection away and goes down; safe from any callback. */
static void
go_down(struct redis *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
go_down(struct redis *r, const char *fmt, ...)
{
	char msg[256], *e;
	va_list ap;

	if (r->going_down)
		return;
	r->going_down = true;
	r->resolving = false;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	e = esc_str(msg, 0);
	snprintf(r->st.error, sizeof r->st.error, "%s", e);
	free(e);
	timer_disarm(r->deadline);
	drop_connection(r);
	r->st.failures++;
	r->st.rtt_ms = -1;
	fail_pending(r, r->st.error);
	schedule_retry(r);
	r->going_down = false;
	set_state(r, REDIS_DOWN);
}

static void
arm_deadline(struct redis *r)
{
	double now = loop_now();

	if (r->head != NULL)
		timer_arm(r->deadline, r->head->deadline - now);
	else if (r->st.state == REDIS_CONNECTING && r->bev != NULL &&
	    !r->connected)
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
	else if (r->head == NULL && r->st.state == REDIS_CONNECTING &&
	    r->probing)
		go_down(r, "%s", r->probe_why);
	else if (r->head == NULL && r->st.state == REDIS_CONNECTING &&
	    r->ssl != NULL && !tls_heard(r->ssl))
		go_down(r, "this port does not speak TLS (no answer to the TLS "
		    "handshake within %ld ms)", r->cfg->timeout_ms);
	else if (r->head == NULL && r->st.state == REDIS_CONNECTING &&
	    r->ssl != NULL)
		go_down(r, "TLS: the handshake did not finish within %ld ms",
		    r->cfg->timeout_ms);
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

/* Reader object functions --------------------------------------------- */

/*
 * Every aggregate header goes through here before hiredis allocates its
 * element array: the elements announced by one reply, nested ones
 * included, may not pass REDIS_MAX_ELEMENTS.  Returning NULL makes the
 * reader fail (hiredis calls it out of memory); guard says the real reason.
 */
static bool
elements_ok(struct redis *r, long long n)
{
	if (n < 0 || (unsigned long long)n > REDIS_MAX_ELEMENTS - r->elements) {
		snprintf(r->guard, sizeof r->guard, "reply of %lld%s elements "
		    "(over the limit of %d)", n, r->elements > 0 ? " more" : "",
		    REDIS_MAX_ELEMENTS);
		return false;
	}
	r->elements += (size_t)n;
	return true;
}

#if defined(HIREDIS_MAJOR) && HIREDIS_MAJOR >= 1
static void *
guarded_array(const redisReadTask *t, size_t n)
{
	struct redis *r = t->privdata;

	if (!elements_ok(r, n > (size_t)LLONG_MAX ? LLONG_MAX : (long long)n))
		return NULL;
	return r->hfns->createArray(t, n);
}
#else
static void *
guarded_array(const redisReadTask *t, int n)
{
	struct redis *r = t->privdata;

	if (!elements_ok(r, n))
		return NULL;
	return r->hfns->createArray(t, n);
}
#endif

static void
new_reader(struct redis *r)
{
	if ((r->reader = redisReaderCreate()) == NULL)
		fatal("out of memory creating a Redis reader");
	r->hfns = r->reader->fn;
	r->fns = *r->hfns;
	r->fns.createArray = guarded_array;
	r->reader->fn = &r->fns;
	r->reader->privdata = r;
	r->fed = 0;
	r->reply_start = 0;
	r->elements = 0;
	r->guard[0] = '\0';
	r->at_start = true;
}

/* Sending ------------------------------------------------------------- */

#define SPARE_MAX	4096	/* pending entries kept for reuse */

static struct pending *
pending_get(struct redis *r)
{
	struct pending *p = r->spare;

	if (p == NULL)
		return xmalloc(sizeof *p);
	r->spare = p->next;
	r->nspare--;
	return p;
}

static void
pending_put(struct redis *r, struct pending *p)
{
	if (r->nspare >= SPARE_MAX) {
		free(p);
		return;
	}
	p->next = r->spare;
	r->spare = p;
	r->nspare++;
}

/* Appends the decimal digits of v to d; returns the end. */
static char *
put_digits(char *d, size_t v)
{
	char tmp[24], *t = tmp + sizeof tmp;

	do
		*--t = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	memcpy(d, t, (size_t)(tmp + sizeof tmp - t));
	return d + (tmp + sizeof tmp - t);
}

/*
 * Appends the command as RESP (an array of bulk strings, what
 * redisFormatCommandArgv makes) straight into the output buffer: a
 * pipelined burst of DUMPs and UNLINKs formats 100,000 commands, and
 * hiredis' formatter spends most of its time in sprintf.  Small commands
 * are built on the stack and added in one piece.
 */
static int
format_into(struct evbuffer *out, int argc, const char **argv,
    const size_t *lens)
{
	char small[1024], *d = small, *big = NULL;
	size_t need = 16, i;
	int rc;

	for (i = 0; i < (size_t)argc; i++) {
		if (lens[i] > ((size_t)-1) / 2 - need)
			fatal("a Redis command too large to format");
		need += lens[i] + 26;
	}
	if (need > sizeof small)
		d = big = xmalloc(need);
	{
		char *s = d;

		*d++ = '*';
		d = put_digits(d, (size_t)argc);
		*d++ = '\r';
		*d++ = '\n';
		for (i = 0; i < (size_t)argc; i++) {
			*d++ = '$';
			d = put_digits(d, lens[i]);
			*d++ = '\r';
			*d++ = '\n';
			if (lens[i] > 0)
				memcpy(d, argv[i], lens[i]);
			d += lens[i];
			*d++ = '\r';
			*d++ = '\n';
		}
		rc = evbuffer_add(out, s, (size_t)(d - s));
	}
	free(big);
	return rc;
}

static int
send_cmd(struct redis *r, redis_reply_fn fn, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	struct pending *p;

	if (r->bev == NULL || !r->connected || r->going_down ||
	    r->npending >= REDIS_MAX_PENDING)
		return -1;
	if (format_into(bufferevent_get_output(r->bev), argc, argv, lens) != 0)
		return -1;
	p = pending_get(r);
	p->fn = fn;
	p->arg = arg;
	p->next = NULL;
	/* Sent while replies are read: the time the chunk was fed, at
	 * most one chunk old, so the deadline can only come early. */
	p->deadline = (r->in_read ? r->burst_now : loop_now()) + timeout_s(r);
	if (r->tail != NULL)
		r->tail->next = p;
	else
		r->head = p;
	r->tail = p;
	r->npending++;
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
	return send_cmd(r, fn, arg, argc, argv, lens);
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

/* Receiving ----------------------------------------------------------- */

/* A pub/sub message: ["message", channel, payload] or ["pmessage",
 * pattern, channel, payload], every element a string. */
static bool
is_message(const redisReply *rep)
{
	size_t i, want;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3)
		return false;
	for (i = 0; i < rep->elements; i++)
		if (rep->element[i]->type != REDIS_REPLY_STRING)
			return false;
	if (rep->element[0]->len == 7 &&
	    memcmp(rep->element[0]->str, "message", 7) == 0)
		want = 3;
	else if (rep->element[0]->len == 8 &&
	    memcmp(rep->element[0]->str, "pmessage", 8) == 0)
		want = 4;
	else
		return false;
	return rep->elements == want;
}

/* Hands one complete reply to the oldest command, then frees it.  Returns
 * false when the connection went away meanwhile. */
static bool
deliver(struct redis *r, redisReply *rep)
{
	unsigned long gen = r->gen;
	struct pending *p = r->head;

	if (r->on_push != NULL && is_message(rep)) {
		r->on_push(r, rep, r->on_push_arg);
		freeReplyObject(rep);
		return r->gen == gen;
	}
	if (p == NULL) {
		freeReplyObject(rep);
		go_down(r, "protocol error: a reply arrived with no command "
		    "waiting");
		return false;
	}
	r->head = p->next;
	if (r->head == NULL)
		r->tail = NULL;
	r->npending--;
	/* The timer stays at the answered command's deadline, which is no
	 * later than the next one's: deadline_fired re-arms it for the new
	 * oldest, so it need not be moved for every reply. */
	if (p->fn != NULL)
		p->fn(r, rep, NULL, p->arg);
	pending_put(r, p);
	freeReplyObject(rep);
	return r->gen == gen;
}

/*
 * A fast path for the byte cap: a reply that is one bulk string announces
 * its length in its header, so one announcing more than the cap is refused
 * before any of it is buffered.  Only when the header is complete in the
 * reader's buffer (an sds, NUL-terminated); otherwise the byte count in
 * read_cb still bounds it.
 */
static bool
bulk_header_over(const struct redis *r)
{
	const char *p = r->reader->buf + r->reader->pos, *cr;
	size_t n = r->reader->len - r->reader->pos;
	long long len;
	char *end;

	if (!r->at_start || n < 2 || p[0] != '$')
		return false;
	if ((cr = memchr(p, '\r', n < 24 ? n : 24)) == NULL)
		return false;
	len = strtoll(p + 1, &end, 10);
	return end == cr && len > 0 && (unsigned long long)len > r->max_reply;
}

/* Bytes that are not RESP; during the handshake, perhaps not Redis. */
static void
protocol_error(struct redis *r)
{
	go_down(r, "%sprotocol error: %s", r->st.state == REDIS_CONNECTING ?
	    "not a Redis server? " : "", r->reader->errstr);
}

static void	read_burst(struct redis *, struct evbuffer *, unsigned long);

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct redis *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned long gen = r->gen;

	if (r->reader == NULL)
		fatal("redis: read before the connection was made");
	r->in_read = true;
	read_burst(r, in, gen);
	r->in_read = false;
}

static void
read_burst(struct redis *r, struct evbuffer *in, unsigned long gen)
{
	struct evbuffer_iovec v;
	void *rep;
	size_t n;

	/* Fed from the input buffer's own memory (the reader copies it),
	 * and drained before any callback runs: a callback may drop the
	 * connection, and the buffer with it. */
	while (evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		n = v.iov_len < READ_CHUNK ? v.iov_len : READ_CHUNK;
		/* A TLS alert record (type 21, version 3.x) as the first
		 * answer to a plaintext handshake. */
		if (r->fed == 0 && r->ssl == NULL && r->st.state ==
		    REDIS_CONNECTING && v.iov_len >= 2 &&
		    ((unsigned char *)v.iov_base)[0] == 0x15 &&
		    ((unsigned char *)v.iov_base)[1] == 0x03) {
			go_down(r, "this port speaks TLS: use rediss://");
			return;
		}
		if (redisReaderFeed(r->reader, v.iov_base, n) != REDIS_OK) {
			protocol_error(r);
			return;
		}
		evbuffer_drain(in, n);
		r->fed += (unsigned long long)n;
		/* Commands sent by the callbacks of this chunk's replies take
		 * this time for their deadline (a little early, never late). */
		r->burst_now = loop_now();
		for (;;) {
			bool had = r->reader->len > r->reader->pos;

			if (bulk_header_over(r)) {
				go_down(r, "reply over %zu MiB", r->max_reply >> 20);
				return;
			}
			if (redisReaderGetReply(r->reader, &rep) != REDIS_OK) {
				if (r->guard[0] != '\0')
					go_down(r, "%s", r->guard);
				else
					protocol_error(r);
				return;
			}
			if (rep == NULL) {
				if (had)	/* it has begun reading one */
					r->at_start = false;
				break;
			}
			r->at_start = true;
			/* What the reader still holds belongs to the next. */
			r->reply_start = r->fed - (r->reader->len -
			    r->reader->pos);
			r->elements = 0;
			if (!deliver(r, rep) || r->gen != gen)
				return;
		}
		if (r->fed - r->reply_start > r->max_reply) {
			go_down(r, "reply over %zu MiB", r->max_reply >> 20);
			return;
		}
	}
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
		if (err != NULL && strstr(err, "protocol error") != NULL)
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
		else if (strcmp(what, "AUTH") == 0 && r->cfg->user != NULL)
			go_down(r, "the server refused user '%s' (%s)%s",
			    r->cfg->user, e, r->password == NULL ? "; no password "
			    "was given (password_env)" : "");
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

/* ROLE's first element: "master", "slave" (a replica), "sentinel". */
static void
handshake_role(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	const redisReply *e0;

	if (r->st.state != REDIS_CONNECTING)
		return;
	if (rep == NULL) {
		handshake_step(r, rep, err, arg);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		/* Renamed or denied: only the master check needs it, and it
		 * has INFO replication's role (asked right behind) then. */
		if (r->expect == REDIS_EXPECT_MASTER) {
			char *e = esc_text(rep->str, rep->len > 120 ? 120 :
			    rep->len, 0);

			snprintf(r->role_refused, sizeof r->role_refused, "%s",
			    e);
			free(e);
		}
		return;
	}
	r->role_refused[0] = '\0';
	e0 = rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 ?
	    rep->element[0] : NULL;
	if (e0 == NULL || (e0->type != REDIS_REPLY_STRING &&
	    e0->type != REDIS_REPLY_STATUS)) {
		/* Redis answers ROLE with an array or an error: this is
		 * something else, or a reply nothing asked for. */
		go_down(r, "not a Redis server? ROLE was not answered with "
		    "a role");
		return;
	}
	if (e0->len == 8 && memcmp(e0->str, "sentinel", 8) == 0)
		go_down(r, "this is a Sentinel (redis_mode sentinel): use "
		    "redis.sentinels and redis.master");
	else if (r->expect == REDIS_EXPECT_MASTER && (e0->len != 6 ||
	    memcmp(e0->str, "master", 6) != 0)) {
		const char *h = r->to_host != NULL ? r->to_host :
		    r->cfg->host != NULL ? r->cfg->host : "?";
		char *t = esc_text(e0->str, e0->len > 32 ? 32 : e0->len, 0);

		go_down(r, "%s:%d is not the master (ROLE %s)", h,
		    r->to_host != NULL ? r->to_port : r->cfg->port,
		    strcmp(t, "slave") == 0 ? "slave: a replica" : t);
		free(t);
	}
}

/* Sentinel's master check when ROLE was refused: role: of INFO
 * replication. */
static void
handshake_info_role(struct redis *r, redisReply *rep, const char *err,
    void *arg)
{
	const char *p;

	if (r->st.state != REDIS_CONNECTING || r->role_refused[0] == '\0')
		return;
	if (rep == NULL) {
		handshake_step(r, rep, err, arg);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		go_down(r, "cannot tell whether this node is the master: this "
		    "user may run neither ROLE (%s) nor INFO replication",
		    r->role_refused);
		return;
	}
	if (rep->type != REDIS_REPLY_STRING) {
		go_down(r, "not a Redis server? INFO was not answered with "
		    "text");
		return;
	}
	/* "role:master" at the start of a line of the reply. */
	for (p = rep->str; p != NULL; ) {
		size_t left = rep->len - (size_t)(p - rep->str);

		if (left >= 11 && memcmp(p, "role:master", 11) == 0 &&
		    (left == 11 || p[11] == '\r' || p[11] == '\n'))
			return;
		p = memchr(p, '\n', left);
		if (p != NULL)
			p++;
	}
	go_down(r, "%s:%d is not the master (INFO replication has no "
	    "role:master)", r->to_host != NULL ? r->to_host : r->cfg->host ?
	    r->cfg->host : "?", r->to_host != NULL ? r->to_port :
	    r->cfg->port);
}

static void
handshake_done(struct redis *r, redisReply *rep, const char *err, void *arg)
{
	(void)arg;
	if (r->st.state != REDIS_CONNECTING)
		return;
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		handshake_step(r, rep, err, step_ping);
		return;
	}
	if (rep->type != REDIS_REPLY_STATUS || rep->len != 4 ||
	    memcmp(rep->str, "PONG", 4) != 0) {
		go_down(r, "not a Redis server? PING was not answered PONG");
		return;
	}
	r->st.rtt_ms = (loop_now() - r->ping_sent) * 1000.0;
	r->st.failures = 0;
	r->st.error[0] = '\0';
	r->st.connects++;
	set_state(r, REDIS_UP);
}

static void
start_handshake(struct redis *r)
{
	const char *argv[3];
	size_t lens[3];
	char db[16];
	int n = 0;

	r->connected = true;
	new_reader(r);
	/* Reading starts now: nothing can be read before there is a reader. */
	bufferevent_enable(r->bev, EV_READ);
	/* An ACL user without a password is a nopass user: Redis 6+ and
	 * Valkey take any password for those, the empty one included. */
	if (r->password != NULL || r->cfg->user != NULL) {
		argv[n++] = "AUTH";
		if (r->cfg->user != NULL)
			argv[n++] = r->cfg->user;
		argv[n++] = r->password != NULL ? r->password : "";
		for (int i = 0; i < n; i++)
			lens[i] = strlen(argv[i]);
		send_cmd(r, handshake_step, step_auth, n, argv, lens);
	}
	/* ROLE before SELECT: a Sentinel has no databases, and says so
	 * more clearly in ROLE than in SELECT's error. */
	if (r->expect != REDIS_EXPECT_SENTINEL) {
		argv[0] = "ROLE";
		lens[0] = 4;
		send_cmd(r, handshake_role, step_role, 1, argv, lens);
	}
	if (r->expect == REDIS_EXPECT_MASTER) {
		argv[0] = "INFO";
		argv[1] = "replication";
		lens[0] = 4;
		lens[1] = 11;
		r->role_refused[0] = '\0';
		send_cmd(r, handshake_info_role, step_info, 2, argv, lens);
	}
	if (r->cfg->db != 0 && r->expect != REDIS_EXPECT_SENTINEL) {
		snprintf(db, sizeof db, "%d", r->cfg->db);
		argv[0] = "SELECT";
		argv[1] = db;
		lens[0] = 6;
		lens[1] = strlen(db);
		send_cmd(r, handshake_step, step_select, 2, argv, lens);
	}
	argv[0] = "PING";
	lens[0] = 4;
	r->ping_sent = loop_now();
	if (send_cmd(r, handshake_done, NULL, 1, argv, lens) != 0)
		go_down(r, "cannot send to Redis");
}

static void	event_cb(struct bufferevent *, short, void *);
static int	open_socket(struct redis *, char *, size_t);

/* Puts a TLS filter on bev (the connected socket) with ssl; bev becomes
 * the filter's.  Returns false when it went down. */
static bool
put_filter(struct redis *r, SSL *ssl, bufferevent_event_cb cb)
{
	struct bufferevent *f, *under = r->bev;

	f = bufferevent_openssl_filter_new(loop_base(r->loop), under, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (f == NULL) {	/* libevent freed ssl (BEV_OPT_CLOSE_ON_FREE) */
		go_down(r, "TLS: cannot start a TLS connection");
		return false;
	}
	r->bev = f;
	r->ssl = ssl;
	/* A peer that closes without close_notify: an EOF, not an error. */
	bufferevent_openssl_set_allow_dirty_shutdown(f, 1);
	bufferevent_setcb(f, read_cb, NULL, cb, r);
	bufferevent_enable(f, EV_WRITE);
	/* A filter on a connected bufferevent waits for the socket's write
	 * callback to start the handshake, and with nothing written that
	 * never comes: called once, from the loop, it sends the ClientHello. */
	bufferevent_trigger(under, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
	return true;
}

/* TCP is up: the TLS handshake, bounded by the connect deadline. */
static void
start_tls(struct redis *r)
{
	char msg[256];
	SSL *ssl;

	/* With Sentinel, the name checked is the one the sentinels gave. */
	if ((ssl = tls_ssl_new(r->tls, r->to_host != NULL ? r->to_host :
	    r->cfg->host, msg, sizeof msg)) == NULL)
		go_down(r, "%s", msg);
	else
		put_filter(r, ssl, event_cb);
}

static void
probe_cb(struct bufferevent *bev, short what, void *arg)
{
	struct redis *r = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		go_down(r, "this port speaks TLS: use rediss://");
	else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		go_down(r, "%s", r->probe_why);
}

/*
 * redis:// was reset (or closed) before any reply.  A Redis TLS port does
 * that to a plaintext command, and so do other things: a TLS handshake on
 * the same port (nothing checked, nothing sent after it) tells which.
 * Returns false when it cannot be tried (why stands).
 */
static bool
probe_tls(struct redis *r, const char *why)
{
	struct pending *p;
	char msg[256];
	SSL *ssl;
	int fd;

	if (r->cfg->kind != REDIS_TCP || r->tls != NULL || r->probing ||
	    r->fed != 0 || r->st.state != REDIS_CONNECTING ||
	    (ssl = tls_probe_ssl()) == NULL)
		return false;
	snprintf(r->probe_why, sizeof r->probe_why, "%s", why);
	drop_connection(r);
	/* Only the handshake's own steps are waiting: dropped unanswered. */
	while ((p = r->head) != NULL) {
		r->head = p->next;
		free(p);
	}
	r->tail = NULL;
	r->npending = 0;
	if ((fd = open_socket(r, msg, sizeof msg)) < 0 ||
	    (r->bev = bufferevent_socket_new(loop_base(r->loop), fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    bufferevent_socket_connect(r->bev, NULL, 0) != 0) {
		SSL_free(ssl);
		go_down(r, "%s", r->probe_why);
		return true;
	}
	if (!put_filter(r, ssl, probe_cb))
		return true;
	r->ssl = NULL;		/* not a rediss:// connection */
	r->probing = true;
	r->connect_started = loop_now();
	arm_deadline(r);
	return true;
}

/* Why the TLS connection failed, from OpenSSL's queue of bev. */
static void
tls_down(struct redis *r, struct bufferevent *bev, int sockerr)
{
	unsigned long e, first = 0;
	char msg[256];

	/* Handed back newest first, so the last is the cause; libevent
	 * queues SSL_get_error()'s code too (SSL_ERROR_SSL...), which is
	 * not an OpenSSL error (no library). */
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (ERR_GET_LIB(e) != 0)
			first = e;
	if (r->st.state == REDIS_CONNECTING)
		tls_explain(r->ssl, first, sockerr != 0 ?
		    evutil_socket_error_to_string(sockerr) : NULL, msg,
		    sizeof msg);
	else if (first != 0)
		snprintf(msg, sizeof msg, "TLS: %s",
		    ERR_reason_error_string(first) != NULL ?
		    ERR_reason_error_string(first) : "error");
	else
		snprintf(msg, sizeof msg, "%s", sockerr != 0 ?
		    evutil_socket_error_to_string(sockerr) : "connection lost");
	go_down(r, "%s", msg);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct redis *r = arg;
	int e = EVUTIL_SOCKET_ERROR();
	unsigned long gen = r->gen;
	char why[256];

	/* The TLS filter reports the end before the bytes that came with
	 * it have been read: they are read first (a reply, an error). */
	if (!(what & BEV_EVENT_CONNECTED) && r->reader != NULL &&
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		read_cb(bev, r);
		if (r->gen != gen)
			return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		if (r->tls != NULL && r->ssl == NULL)
			start_tls(r);
		else
			start_handshake(r);
		return;
	}
	if (r->ssl != NULL && (what & BEV_EVENT_ERROR)) {
		tls_down(r, bev, e);
		return;
	}
	if (r->ssl != NULL && !r->connected) {
		tls_down(r, bev, 0);	/* closed during the handshake */
		return;
	}
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof why, "connection closed");
	else if (what & BEV_EVENT_ERROR)
		snprintf(why, sizeof why, "%s", e != 0 ?
		    evutil_socket_error_to_string(e) : "connection lost");
	else
		return;
	if (!r->connected || !probe_tls(r, why))
		go_down(r, "%s", why);
}

/* Opens a non-blocking, close-on-exec socket and starts connecting.
 * Returns the descriptor, or -1 with msg set. */
static int
open_socket(struct redis *r, char *msg, size_t len)
{
	struct sockaddr_storage ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	struct addrinfo hints, *ai = NULL;
	socklen_t sslen;
	char port[16];
	int fd, rc;

	memset(&ss, 0, sizeof ss);
	if (r->cfg->kind == REDIS_UNIX && r->to_host == NULL) {
		if (strlen(r->cfg->path) >= sizeof sun->sun_path) {
			snprintf(msg, len, "socket path too long");
			return -1;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, r->cfg->path, strlen(r->cfg->path) + 1);
		sslen = sizeof *sun;
	} else {
		memset(&hints, 0, sizeof hints);
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV;
		const char *host = r->to_host != NULL ? r->to_host :
		    r->cfg->host;

		snprintf(port, sizeof port, "%d", r->to_host != NULL ?
		    r->to_port : r->cfg->port);
		if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
			snprintf(msg, len, "cannot resolve %s: %s", host,
			    gai_strerror(rc));
			return -1;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sslen = ai->ai_addrlen;
		freeaddrinfo(ai);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		snprintf(msg, len, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sslen) != 0 &&
	    errno != EINPROGRESS) {
		snprintf(msg, len, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void	open_now(struct redis *);

static void
redis_connect(struct redis *r)
{
	timer_disarm(r->retry);
	if (r->bev != NULL || r->resolving)
		return;
	r->connect_started = loop_now();
	set_state(r, REDIS_CONNECTING);
	if (r->setup_error != NULL) {
		go_down(r, "%s", r->setup_error);
		return;
	}
	if (r->resolve != NULL) {
		r->resolving = true;
		r->resolve(r, r->resolve_arg);
		return;
	}
	open_now(r);
}

static void
open_now(struct redis *r)
{
	char msg[256];
	int fd;

	if ((fd = open_socket(r, msg, sizeof msg)) < 0) {
		go_down(r, "%s", msg);
		return;
	}
	r->bev = bufferevent_socket_new(loop_base(r->loop), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (r->bev == NULL)
		fatal("cannot put the Redis socket on the event loop");
	bufferevent_setcb(r->bev, read_cb, NULL, event_cb, r);
	/* The socket is connecting: libevent reports when it is done. */
	if (bufferevent_socket_connect(r->bev, NULL, 0) != 0) {
		go_down(r, "cannot connect: %s", strerror(errno));
		return;
	}
	bufferevent_enable(r->bev, EV_WRITE);
	arm_deadline(r);
}

void
redis_expect(struct redis *r, enum redis_expect e)
{
	r->expect = e;
}

void
redis_on_resolve(struct redis *r, void (*fn)(struct redis *, void *),
    void *arg)
{
	r->resolve = fn;
	r->resolve_arg = arg;
}

void
redis_connect_to(struct redis *r, const char *host, int port)
{
	if (!r->resolving || r->st.state != REDIS_CONNECTING)
		return;		/* a late answer: the attempt is over */
	r->resolving = false;
	free(r->to_host);
	r->to_host = xstrdup(host);
	r->to_port = port;
	r->connect_started = loop_now();	/* the connect's own timeout */
	open_now(r);
}

void
redis_resolve_failed(struct redis *r, const char *why)
{
	if (r->resolving && r->st.state == REDIS_CONNECTING)
		go_down(r, "%s", why);
}

void
redis_on_push(struct redis *r, void (*fn)(struct redis *, redisReply *,
    void *), void *arg)
{
	r->on_push = fn;
	r->on_push_arg = arg;
}

void
redis_start(struct redis *r)
{
	redis_connect(r);
}

void
redis_reset(struct redis *r, const char *why)
{
	if (r->bev != NULL || r->st.state != REDIS_DOWN)
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
	if (r == NULL)
		return;
	r->going_down = true;	/* callbacks may not send any more */
	drop_connection(r);
	fail_pending(r, "shutting down");
	while (r->spare != NULL) {
		struct pending *p = r->spare;

		r->spare = p->next;
		free(p);
	}
	timer_free(r->deadline);
	timer_free(r->retry);
	free(r->to_host);
	tls_ctx_free(r->tls);
	free(r->setup_error);
	if (r->password != NULL) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	free(r);
}
