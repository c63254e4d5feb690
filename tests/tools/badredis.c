/* badredis.c: a hostile Redis server for the tests (tests/hostile.sh,
 * tests/unit/test_redis.c and whoever needs a server that lies).
 *
 *   badredis PORTFILE MODE
 *
 * Listens on 127.0.0.1, on a port the kernel picks, and writes that port to
 * PORTFILE (complete when it appears: written aside, then renamed).  One
 * thread, poll(2) only; it runs until it is killed.  It reads RESP commands
 * (arrays of bulk strings, as every client sends) and answers sensibly --
 * PING +PONG, AUTH and SELECT +OK, INFO a small standalone master, DBSIZE
 * :3, SCAN three keys made from the MATCH pattern (each '*' becomes 1, 2
 * or 3) and cursor 0, UNLINK the number of keys given, PTTL :-1, DUMP nil,
 * anything else an unknown-command error -- except where MODE says:
 *
 *   ok            nothing hostile (a baseline for the other modes)
 *   unsolicited   sends a reply as soon as a client connects, before any
 *                 command
 *   extra         after the first PING each reply is followed by an extra
 *                 one that nothing asked for
 *   hugebulk      INFO, DBSIZE and SCAN are answered "$2000000000" and then
 *                 as many bytes as the client takes
 *   hugenested    the same inside an array: "*1" "$2000000000" and bytes
 *   hugebulk-stop "*1" "$2000000000" and 16 bytes, then nothing (the
 *                 connection stays open)
 *   hugearray     INFO, DBSIZE and SCAN are answered "*2000000000" and
 *                 nothing more
 *   scanforever   every SCAN returns a non-zero cursor and three new keys
 *   unlink-over   UNLINK answers 5 more than the number of keys given
 *   unlink-neg    UNLINK answers :-1
 *   info-hang     INFO is never answered, nor anything after it
 *   info-noperm   INFO is answered with a NOPERM error (an ACL user who may
 *                 not run it)
 *   sentinel      like a Sentinel: INFO says redis_mode:sentinel, SCAN and
 *                 DBSIZE are unknown commands
 *   replica       INFO says role:slave with a master_host, and
 *                 cluster_enabled:1
 *   garbage       every command is answered with bytes that are not RESP
 *                 (escape sequences among them), then the connection closes
 *   sentinel-says a Sentinel that says what the environment tells it:
 *                 SENTINEL is answered $BADREDIS_SAYS, ROLE is answered
 *                 [$BADREDIS_ROLE] ("sentinel" when unset), SUBSCRIBE is
 *                 confirmed and followed by $BADREDIS_PUSH (if set); in
 *                 these texts '|' stands for CRLF and {port} for its port
 *   closed        holds its port without listening: every connection is
 *                 refused, and no other server can take the port
 *
 * The cluster modes are a Redis Cluster node (INFO says redis_mode:cluster
 * and cluster_enabled:1; ROLE master; CLUSTER INFO cluster_state:ok;
 * CLUSTER MYID; ASKING, READONLY, READWRITE, MULTI, DISCARD +OK, keyed
 * commands in MULTI +QUEUED, EXEC an empty array; SCAN as above) that owns
 * every slot (CLUSTER SHARDS, SLOTS and NODES say so, with its own
 * address) -- except where the mode says:
 *
 *   cluster-ok    nothing hostile: a one-node cluster; keyed commands
 *                 (UNLINK, DEL, DUMP, PTTL, EXISTS, GET, SET, TYPE, RESTORE,
 *                 TOUCH, TTL, MGET) answered as above
 *   cluster-many-nodes  CLUSTER SHARDS, SLOTS and NODES name 5000 primaries,
 *                 each owning 3 or 4 slots: itself, then 127.1.X.Y on its
 *                 port (loopback addresses where nothing listens, so that a
 *                 client that connects anyway reaches no other test's server)
 *   cluster-bad-slots  the slot ranges it owns are $BADREDIS_SLOTS
 *                 ("A:B,C:D,...", default "0:8191,9000:8500,16000:17000":
 *                 a range that ends before it starts, one past 16383, and
 *                 8192-8999 owned by nobody)
 *   cluster-moved-loop  every keyed command is answered
 *                 -MOVED <its slot> 127.0.0.1:<own port>
 *   cluster-ask-loop    every keyed command is answered
 *                 -ASK <its slot> 127.0.0.1:<own port>, also after ASKING
 *   cluster-tryagain    every keyed command is answered -TRYAGAIN ...
 *   cluster-huge-shards CLUSTER SHARDS and CLUSTER SLOTS are answered with
 *                 an array of 2,000,000 (empty array) elements, all sent
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXCONN		64
#define INMAX		(1 << 20)	/* a client sending more is dropped */
#define HUGE_LEN	2000000000LL

enum mode {
	M_OK, M_UNSOLICITED, M_EXTRA, M_HUGEBULK, M_HUGENESTED, M_HUGEBULK_STOP,
	M_HUGEARRAY, M_SCANFOREVER, M_UNLINK_OVER, M_UNLINK_NEG, M_INFO_HANG,
	M_INFO_NOPERM, M_SENTINEL, M_REPLICA, M_GARBAGE, M_SENTINEL_SAYS,
	M_CLOSED, M_CLUSTER_OK, M_CLUSTER_MANY_NODES, M_CLUSTER_BAD_SLOTS,
	M_CLUSTER_MOVED_LOOP, M_CLUSTER_ASK_LOOP, M_CLUSTER_TRYAGAIN,
	M_CLUSTER_HUGE_SHARDS,
};

static const char *const mode_names[] = {
	"ok", "unsolicited", "extra", "hugebulk", "hugenested", "hugebulk-stop",
	"hugearray",
	"scanforever", "unlink-over", "unlink-neg", "info-hang", "info-noperm",
	"sentinel", "replica", "garbage", "sentinel-says", "closed",
	"cluster-ok", "cluster-many-nodes", "cluster-bad-slots",
	"cluster-moved-loop", "cluster-ask-loop", "cluster-tryagain",
	"cluster-huge-shards", NULL,
};

#define CLUSTER_NSLOTS	16384
#define MANY_NODES	5000
#define HUGE_ELEMENTS	2000000LL

struct conn {
	int		 fd;
	char		*in;
	size_t		 inlen;
	char		*out;
	size_t		 outlen;
	size_t		 outcap;
	long long	 stream;	/* hugebulk: bytes still to send */
	const char	*unit;		/* what is streamed ('x' when NULL);
					   its length divides 65536 */
	bool		 pinged;
	bool		 multi;		/* cluster modes: in MULTI (EXEC
					   answers an empty array) */
	bool		 closing;	/* close once out is sent */
	bool		 hung;		/* info-hang: answers nothing more */
	unsigned long	 scans;
};

static enum mode mode;
static int my_port;
static struct conn conns[MAXCONN];
static size_t nconns;

static void
out_add(struct conn *c, const char *p, size_t n)
{
	if (c->outlen + n > c->outcap) {
		c->outcap = (c->outlen + n) * 2;
		if ((c->out = realloc(c->out, c->outcap)) == NULL)
			abort();
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

static void
out_fmt(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
out_fmt(struct conn *c, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		out_add(c, buf, (size_t)n < sizeof buf ? (size_t)n :
		    sizeof buf - 1);
}

static void
out_bulk(struct conn *c, const char *p, size_t n)
{
	out_fmt(c, "$%zu\r\n", n);
	out_add(c, p, n);
	out_add(c, "\r\n", 2);
}

static bool
is_cluster(void)
{
	return mode >= M_CLUSTER_OK && mode <= M_CLUSTER_HUGE_SHARDS;
}

static void
answer_info(struct conn *c)
{
	char info[1024];

	if (mode == M_SENTINEL)
		snprintf(info, sizeof info, "# Server\r\nredis_version:7.0.0\r\n"
		    "redis_mode:sentinel\r\n\r\n# Sentinel\r\n"
		    "sentinel_masters:1\r\n");
	else
		snprintf(info, sizeof info, "# Server\r\nredis_version:7.0.0\r\n"
		    "redis_mode:%s\r\n\r\n# Clients\r\nconnected_clients:1\r\n"
		    "\r\n# Memory\r\nused_memory:123456\r\n\r\n# Stats\r\n"
		    "instantaneous_ops_per_sec:0\r\nkeyspace_hits:1\r\n"
		    "keyspace_misses:1\r\nexpired_keys:0\r\nevicted_keys:0\r\n"
		    "\r\n# Replication\r\nrole:%s\r\n%s\r\n# Cluster\r\n"
		    "cluster_enabled:%d\r\n", mode == M_REPLICA ||
		    is_cluster() ? "cluster" : "standalone",
		    mode == M_REPLICA ? "slave" : "master",
		    mode == M_REPLICA ? "master_host:10.1.2.3\r\n"
		    "master_port:6380\r\nmaster_link_status:up\r\n" : "",
		    mode == M_REPLICA || is_cluster());
	out_bulk(c, info, strlen(info));
}

/* Three keys from a MATCH pattern: each '*' becomes the digit. */
static void
out_key(struct conn *c, const char *pat, size_t n, char digit)
{
	char key[512];
	size_t i, k = 0;

	for (i = 0; i < n && k < sizeof key - 1; i++)
		key[k++] = pat[i] == '*' ? digit : pat[i];
	out_bulk(c, key, k);
}

static bool
is(const char *w, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(w, name, n) == 0;
}

static void
answer_scan(struct conn *c, int argc, char **argv, size_t *lens)
{
	const char *pat = "key:*";
	size_t plen = 5;
	char key[64];
	int i;

	for (i = 2; i + 1 < argc; i++)
		if (is(argv[i], lens[i], "MATCH")) {
			pat = argv[i + 1];
			plen = lens[i + 1];
		}
	if (mode == M_SCANFOREVER) {
		/* A cursor that never comes back to 0, and keys never seen. */
		out_fmt(c, "*2\r\n$2\r\n17\r\n*3\r\n");
		for (i = 0; i < 3; i++) {
			snprintf(key, sizeof key, "forever:%lu", c->scans * 3 +
			    (unsigned long)i);
			out_bulk(c, key, strlen(key));
		}
		c->scans++;
		return;
	}
	out_fmt(c, "*2\r\n$1\r\n0\r\n*3\r\n");
	out_key(c, pat, plen, '1');
	out_key(c, pat, plen, '2');
	out_key(c, pat, plen, '3');
}

static bool
hostile_big(struct conn *c, const char *cmd, size_t n)
{
	if (!is(cmd, n, "INFO") && !is(cmd, n, "DBSIZE") && !is(cmd, n, "SCAN"))
		return false;
	switch (mode) {
	case M_HUGEBULK:
		out_fmt(c, "$%lld\r\n", HUGE_LEN);
		c->stream = HUGE_LEN;
		return true;
	case M_HUGENESTED:
		out_fmt(c, "*1\r\n$%lld\r\n", HUGE_LEN);
		c->stream = HUGE_LEN;
		return true;
	case M_HUGEBULK_STOP:
		out_fmt(c, "*1\r\n$%lld\r\n0123456789abcdef", HUGE_LEN);
		return true;
	case M_HUGEARRAY:
		out_fmt(c, "*%lld\r\n", HUGE_LEN);
		return true;
	default:
		return false;
	}
}

/* sentinel-says: the text of variable name, '|' as CRLF, {port} as ours. */
static void
say(struct conn *c, const char *name, const char *dflt)
{
	const char *t = getenv(name), *p;
	char port[16];

	if (t == NULL)
		t = dflt;
	snprintf(port, sizeof port, "%d", my_port);
	for (p = t; *p != '\0'; p++)
		if (*p == '|')
			out_add(c, "\r\n", 2);
		else if (strncmp(p, "{port}", 6) == 0) {
			out_add(c, port, strlen(port));
			p += 5;
		} else
			out_add(c, p, 1);
}

/* The cluster modes ------------------------------------------------------- */

static bool
is_cmd_keyed(const char *w, size_t n)
{
	static const char *const keyed[] = { "UNLINK", "DEL", "DUMP", "PTTL",
	    "EXISTS", "GET", "SET", "TYPE", "RESTORE", "TOUCH", "TTL", "MGET",
	    NULL };
	int i;

	for (i = 0; keyed[i] != NULL; i++)
		if (is(w, n, keyed[i]))
			return true;
	return false;
}

/* CRC16-XMODEM of the key or of its hash tag, mod 16384. */
static unsigned
slot_of(const char *k, size_t n)
{
	const char *o, *e;
	unsigned crc = 0;
	size_t i;
	int b;

	if ((o = memchr(k, '{', n)) != NULL &&
	    (e = memchr(o + 1, '}', n - (size_t)(o + 1 - k))) != NULL &&
	    e > o + 1) {
		n = (size_t)(e - o - 1);
		k = o + 1;
	}
	for (i = 0; i < n; i++) {
		crc ^= (unsigned)(unsigned char)k[i] << 8;
		for (b = 0; b < 8; b++)
			crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff :
			    (crc << 1) & 0xffff;
	}
	return crc & (CLUSTER_NSLOTS - 1);
}

struct range {
	long long	 a, b;
};

/* The slot ranges of node i (cluster-bad-slots: all of them, node 0). */
static size_t
node_ranges(size_t i, struct range *r, size_t max)
{
	const char *t, *p;
	char *end;
	size_t n = 0;

	if (mode == M_CLUSTER_MANY_NODES) {
		r[0].a = (long long)(i * CLUSTER_NSLOTS / MANY_NODES);
		r[0].b = (long long)((i + 1) * CLUSTER_NSLOTS / MANY_NODES) - 1;
		return 1;
	}
	if (mode != M_CLUSTER_BAD_SLOTS) {
		r[0].a = 0;
		r[0].b = CLUSTER_NSLOTS - 1;
		return 1;
	}
	if ((t = getenv("BADREDIS_SLOTS")) == NULL)
		t = "0:8191,9000:8500,16000:17000";
	for (p = t; *p != '\0' && n < max; p = *end == ',' ? end + 1 : end) {
		r[n].a = strtoll(p, &end, 10);
		if (*end != ':')
			break;
		r[n].b = strtoll(end + 1, &end, 10);
		n++;
		if (*end != ',')
			break;
	}
	return n;
}

static size_t
nnodes_said(void)
{
	return mode == M_CLUSTER_MANY_NODES ? MANY_NODES : 1;
}

/* Node i: ourselves, then loopback addresses where nothing listens. */
static void
node_addr(size_t i, char *host, size_t len, char *id)
{
	if (i == 0)
		snprintf(host, len, "127.0.0.1");
	else
		snprintf(host, len, "127.1.%zu.%zu", i / 250, i % 250 + 1);
	snprintf(id, 41, "%040zx", i + 0xbad0);
}

static void
out_str(struct conn *c, const char *s)
{
	out_bulk(c, s, strlen(s));
}

static void
answer_shards(struct conn *c)
{
	struct range r[64];
	char host[32], id[48];
	size_t i, k, n, nn = nnodes_said();

	out_fmt(c, "*%zu\r\n", nn);
	for (i = 0; i < nn; i++) {
		n = node_ranges(i, r, 64);
		node_addr(i, host, sizeof host, id);
		out_fmt(c, "*4\r\n");
		out_str(c, "slots");
		out_fmt(c, "*%zu\r\n", 2 * n);
		for (k = 0; k < n; k++)
			out_fmt(c, ":%lld\r\n:%lld\r\n", r[k].a, r[k].b);
		out_str(c, "nodes");
		out_fmt(c, "*1\r\n*14\r\n");
		out_str(c, "id");
		out_str(c, id);
		out_str(c, "port");
		out_fmt(c, ":%d\r\n", my_port);
		out_str(c, "ip");
		out_str(c, host);
		out_str(c, "endpoint");
		out_str(c, host);
		out_str(c, "role");
		out_str(c, "master");
		out_str(c, "replication-offset");
		out_fmt(c, ":0\r\n");
		out_str(c, "health");
		out_str(c, "online");
	}
}

static void
answer_slots(struct conn *c)
{
	struct range r[64];
	char host[32], id[48];
	size_t i, k, n, total = 0, nn = nnodes_said();

	for (i = 0; i < nn; i++)
		total += node_ranges(i, r, 64);
	out_fmt(c, "*%zu\r\n", total);
	for (i = 0; i < nn; i++) {
		n = node_ranges(i, r, 64);
		node_addr(i, host, sizeof host, id);
		for (k = 0; k < n; k++) {
			out_fmt(c, "*3\r\n:%lld\r\n:%lld\r\n*3\r\n", r[k].a,
			    r[k].b);
			out_str(c, host);
			out_fmt(c, ":%d\r\n", my_port);
			out_str(c, id);
		}
	}
}

static void
answer_nodes(struct conn *c)
{
	struct range r[64];
	char host[32], id[48], line[1024];
	size_t i, k, n, len, nn = nnodes_said();
	char *text = NULL;
	size_t tlen = 0;

	for (i = 0; i < nn; i++) {
		n = node_ranges(i, r, 64);
		node_addr(i, host, sizeof host, id);
		len = (size_t)snprintf(line, sizeof line, "%s %s:%d@%d %s - 0 0 "
		    "%zu connected", id, host, my_port, my_port + 10000, i == 0 ?
		    "myself,master" : "master", i + 1);
		for (k = 0; k < n && len < sizeof line - 64; k++)
			len += (size_t)snprintf(line + len, sizeof line - len,
			    r[k].a == r[k].b ? " %lld" : " %lld-%lld", r[k].a,
			    r[k].b);
		line[len++] = '\n';
		if ((text = realloc(text, tlen + len)) == NULL)
			abort();
		memcpy(text + tlen, line, len);
		tlen += len;
	}
	out_bulk(c, text, tlen);
	free(text);
}

/* A cluster mode's own answers; false when the common ones apply. */
static bool
answer_cluster(struct conn *c, int argc, char **argv, size_t *lens)
{
	const char *cmd = argv[0];
	size_t n = lens[0];
	char text[512], host[32], id[48];
	unsigned slot;

	if (is(cmd, n, "ROLE")) {
		out_fmt(c, "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
		return true;
	}
	if (is(cmd, n, "ASKING") || is(cmd, n, "READONLY") ||
	    is(cmd, n, "READWRITE")) {
		out_fmt(c, "+OK\r\n");
		return true;
	}
	/* A transaction (how a client may test a permission): queued, then
	 * discarded; redirections are answered at queueing, as Redis does. */
	if (is(cmd, n, "MULTI") || is(cmd, n, "DISCARD")) {
		c->multi = is(cmd, n, "MULTI");
		out_fmt(c, "+OK\r\n");
		return true;
	}
	if (is(cmd, n, "EXEC")) {
		c->multi = false;
		out_fmt(c, "*0\r\n");
		return true;
	}
	if (is(cmd, n, "CLUSTER") && argc >= 2) {
		const char *sub = argv[1];
		size_t sl = lens[1];

		if (mode == M_CLUSTER_HUGE_SHARDS && (is(sub, sl, "SHARDS") ||
		    is(sub, sl, "SLOTS"))) {
			out_fmt(c, "*%lld\r\n", HUGE_ELEMENTS);
			c->unit = "*0\r\n";
			c->stream = HUGE_ELEMENTS * 4;
		} else if (is(sub, sl, "SHARDS"))
			answer_shards(c);
		else if (is(sub, sl, "SLOTS"))
			answer_slots(c);
		else if (is(sub, sl, "NODES"))
			answer_nodes(c);
		else if (is(sub, sl, "INFO")) {
			snprintf(text, sizeof text, "cluster_enabled:1\r\n"
			    "cluster_state:ok\r\ncluster_slots_assigned:16384\r\n"
			    "cluster_slots_ok:16384\r\ncluster_slots_pfail:0\r\n"
			    "cluster_slots_fail:0\r\ncluster_known_nodes:%zu\r\n"
			    "cluster_size:%zu\r\ncluster_current_epoch:1\r\n"
			    "cluster_my_epoch:1\r\n", nnodes_said(),
			    nnodes_said());
			out_str(c, text);
		} else if (is(sub, sl, "MYID")) {
			node_addr(0, host, sizeof host, id);
			out_str(c, id);
		} else if (is(sub, sl, "KEYSLOT") && argc == 3)
			out_fmt(c, ":%u\r\n", slot_of(argv[2], lens[2]));
		else if (is(sub, sl, "COUNTKEYSINSLOT"))
			out_fmt(c, ":0\r\n");
		else
			out_fmt(c, "-ERR unknown subcommand '%.*s'\r\n",
			    (int)(sl > 64 ? 64 : sl), sub);
		return true;
	}
	if (!is_cmd_keyed(cmd, n) || argc < 2)
		return false;
	slot = slot_of(argv[1], lens[1]);
	switch (mode) {
	case M_CLUSTER_MOVED_LOOP:
		out_fmt(c, "-MOVED %u 127.0.0.1:%d\r\n", slot, my_port);
		return true;
	case M_CLUSTER_ASK_LOOP:
		out_fmt(c, "-ASK %u 127.0.0.1:%d\r\n", slot, my_port);
		return true;
	case M_CLUSTER_TRYAGAIN:
		out_fmt(c, "-TRYAGAIN Multiple keys request during rehashing "
		    "of slot\r\n");
		return true;
	default:
		break;
	}
	if (c->multi)
		out_fmt(c, "+QUEUED\r\n");
	/* UNLINK, DUMP, PTTL: the common answers. */
	else if (is(cmd, n, "GET"))
		out_fmt(c, "$-1\r\n");
	else if (is(cmd, n, "SET") || is(cmd, n, "RESTORE"))
		out_fmt(c, "+OK\r\n");
	else if (is(cmd, n, "EXISTS") || is(cmd, n, "TOUCH") ||
	    is(cmd, n, "DEL"))
		out_fmt(c, ":0\r\n");
	else if (is(cmd, n, "TYPE"))
		out_fmt(c, "+none\r\n");
	else if (is(cmd, n, "TTL"))
		out_fmt(c, ":-2\r\n");
	else if (is(cmd, n, "MGET")) {
		out_fmt(c, "*%d\r\n", argc - 1);
		for (int i = 1; i < argc; i++)
			out_fmt(c, "$-1\r\n");
	} else
		return false;
	return true;
}

static void
answer(struct conn *c, int argc, char **argv, size_t *lens)
{
	const char *cmd = argv[0];
	size_t n = lens[0];

	if (mode == M_GARBAGE) {
		out_fmt(c, "\x1b]0;owned\x07\x1b[2J!garbage\x9b\r\n");
		c->closing = true;
		return;
	}
	if (c->stream > 0 || c->hung)
		return;		/* still "sending" a huge reply, or hung */
	if (hostile_big(c, cmd, n))
		return;
	if (is_cluster() && answer_cluster(c, argc, argv, lens))
		return;
	if (mode == M_SENTINEL_SAYS && is(cmd, n, "SENTINEL")) {
		say(c, "BADREDIS_SAYS", "$-1|");
		return;
	}
	if (mode == M_SENTINEL_SAYS && is(cmd, n, "ROLE")) {
		const char *r = getenv("BADREDIS_ROLE");

		if (r == NULL)
			r = "sentinel";
		out_fmt(c, "*1\r\n$%zu\r\n%s\r\n", strlen(r), r);
		return;
	}
	if (mode == M_SENTINEL_SAYS && is(cmd, n, "SUBSCRIBE") && argc == 2) {
		out_fmt(c, "*3\r\n$9\r\nsubscribe\r\n$%zu\r\n%.*s\r\n:1\r\n",
		    lens[1], (int)lens[1], argv[1]);
		say(c, "BADREDIS_PUSH", "");
		return;
	}
	if (is(cmd, n, "PING")) {
		out_fmt(c, "+PONG\r\n");
		if (mode == M_EXTRA && c->pinged)
			out_fmt(c, "+EXTRA\r\n");
		c->pinged = true;
		return;
	} else if (is(cmd, n, "AUTH") || is(cmd, n, "SELECT"))
		out_fmt(c, "+OK\r\n");
	else if (is(cmd, n, "INFO")) {
		if (mode == M_INFO_HANG) {
			c->hung = true;
			return;
		}
		if (mode == M_INFO_NOPERM)
			out_fmt(c, "-NOPERM this user has no permissions to "
			    "run the 'info' command\r\n");
		else
			answer_info(c);
	} else if (is(cmd, n, "DBSIZE") && mode != M_SENTINEL)
		out_fmt(c, ":3\r\n");
	else if (is(cmd, n, "SCAN") && mode != M_SENTINEL)
		answer_scan(c, argc, argv, lens);
	else if (is(cmd, n, "UNLINK"))
		out_fmt(c, ":%d\r\n", mode == M_UNLINK_NEG ? -1 :
		    mode == M_UNLINK_OVER ? argc - 1 + 5 : argc - 1);
	else if (is(cmd, n, "PTTL"))
		out_fmt(c, ":-1\r\n");
	else if (is(cmd, n, "DUMP"))
		out_fmt(c, "$-1\r\n");
	else
		out_fmt(c, "-ERR unknown command '%.*s'\r\n", (int)(n > 64 ?
		    64 : n), cmd);
	if (mode == M_EXTRA && c->pinged)
		out_fmt(c, "+EXTRA\r\n");
}

/* Parses one "*N\r\n$L\r\nword\r\n..." command at the start of in; returns
 * its length, 0 when incomplete, -1 when it is not RESP. */
static long
parse_cmd(struct conn *c, int *argc, char **argv, size_t *lens, int max)
{
	char *p = c->in, *end = c->in + c->inlen, *nl;
	long n, l;
	int i;

	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return 0;
	if (*p != '*' || (n = strtol(p + 1, NULL, 10)) < 1 || n > max)
		return -1;
	p = nl + 1;
	for (i = 0; i < n; i++) {
		if (p >= end || (nl = memchr(p, '\n', (size_t)(end - p))) ==
		    NULL)
			return 0;
		if (*p != '$' || (l = strtol(p + 1, NULL, 10)) < 0 ||
		    l > INMAX)
			return -1;
		p = nl + 1;
		if (end - p < l + 2)
			return 0;
		argv[i] = p;
		lens[i] = (size_t)l;
		p += l + 2;
	}
	*argc = (int)n;
	return (long)(p - c->in);
}

static void
conn_close(size_t i)
{
	close(conns[i].fd);
	free(conns[i].in);
	free(conns[i].out);
	conns[i] = conns[--nconns];
}

/* Returns false when the connection is to be closed. */
static bool
conn_read(struct conn *c)
{
	char *argv[1024];
	size_t lens[1024];
	int argc;
	ssize_t n;
	long used;

	if (c->inlen == INMAX)
		return false;
	n = read(c->fd, c->in + c->inlen, INMAX - c->inlen);
	if (n <= 0)
		return false;
	c->inlen += (size_t)n;
	while ((used = parse_cmd(c, &argc, argv, lens, 1024)) != 0) {
		if (used < 0)
			return false;
		answer(c, argc, argv, lens);
		memmove(c->in, c->in + used, c->inlen - (size_t)used);
		c->inlen -= (size_t)used;
	}
	return true;
}

static bool
conn_write(struct conn *c)
{
	static char xs[65536];
	static const char *xs_unit;
	size_t ul, off;
	ssize_t n;

	if (c->outlen > 0) {
		n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
		return true;
	}
	if (c->stream > 0) {
		if (xs_unit != c->unit || xs[0] == '\0') {
			ul = c->unit != NULL ? strlen(c->unit) : 1;
			for (size_t i = 0; i + ul <= sizeof xs; i += ul)
				memcpy(xs + i, c->unit != NULL ? c->unit : "x",
				    ul);
			xs_unit = c->unit;
		}
		/* Where the last send stopped inside a unit: the stream is
		 * a whole number of units. */
		ul = c->unit != NULL ? strlen(c->unit) : 1;
		off = (ul - (size_t)(c->stream % (long long)ul)) % ul;
		n = send(c->fd, xs + off, c->stream < (long long)(sizeof xs -
		    off) ? (size_t)c->stream : sizeof xs - off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->stream -= n;
		return true;
	}
	return !c->closing;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof sa;
	struct pollfd pfd[MAXCONN + 1];
	char tmp[4096];
	FILE *f;
	int lfd, one = 1, i;
	size_t k;

	if (argc != 3) {
		fprintf(stderr, "usage: badredis PORTFILE MODE\n");
		return 2;
	}
	for (i = 0; mode_names[i] != NULL; i++)
		if (strcmp(argv[2], mode_names[i]) == 0)
			break;
	if (mode_names[i] == NULL) {
		fprintf(stderr, "badredis: unknown mode '%s'\n", argv[2]);
		return 2;
	}
	mode = (enum mode)i;
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* closed: without SO_REUSEADDR no other socket can bind the port. */
	if (mode != M_CLOSED)
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    (mode != M_CLOSED && listen(lfd, 16) != 0) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
		perror("badredis: listen");
		return 1;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
	if ((f = fopen(tmp, "w")) == NULL) {
		perror(tmp);
		return 1;
	}
	my_port = ntohs(sa.sin_port);
	fprintf(f, "%d\n", my_port);
	if (fclose(f) != 0 || rename(tmp, argv[1]) != 0) {
		perror(argv[1]);
		return 1;
	}
	while (mode == M_CLOSED)
		pause();
	for (;;) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (k = 0; k < nconns; k++) {
			pfd[k + 1].fd = conns[k].fd;
			pfd[k + 1].events = POLLIN;
			if (conns[k].outlen > 0 || conns[k].stream > 0 ||
			    conns[k].closing)
				pfd[k + 1].events |= POLLOUT;
		}
		if (poll(pfd, nconns + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("badredis: poll");
			return 1;
		}
		/* Backwards: closing moves the last connection into slot k. */
		for (k = nconns; k-- > 0;) {
			short re = pfd[k + 1].revents;
			bool keep = true;

			if (re & (POLLIN | POLLHUP | POLLERR))
				keep = conn_read(&conns[k]);
			if (keep && (re & POLLOUT))
				keep = conn_write(&conns[k]);
			if (!keep)
				conn_close(k);
		}
		if ((pfd[0].revents & POLLIN) && nconns < MAXCONN) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC |
			    SOCK_NONBLOCK);
			if (c >= 0) {
				memset(&conns[nconns], 0, sizeof conns[nconns]);
				conns[nconns].fd = c;
				if ((conns[nconns].in = malloc(INMAX)) == NULL)
					abort();
				if (mode == M_UNSOLICITED)
					out_fmt(&conns[nconns], "+SURPRISE\r\n");
				nconns++;
			}
		}
	}
}
