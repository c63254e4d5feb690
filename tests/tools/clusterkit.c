/* clusterkit.c: what the cluster tests need from a Redis Cluster, done
 * independently of rehearse (hiredis' blocking API only; builds with
 * hiredis 0.14 and 1.x).
 *
 *   clusterkit load PORT PREFIX N [--tagged TAG] [--binary] [--value-bytes B]
 *	writes N keys to the cluster that the node on 127.0.0.1:PORT is part
 *	of: each key goes to the primary owning its slot (the topology from
 *	that node's CLUSTER SLOTS), SETs pipelined 1000 a node at a time,
 *	every node working at once.  The keys, for i = 0 .. N-1:
 *	  PREFIX<i>		(spread over all slots)
 *	  --tagged TAG:	PREFIX{TAG}<i>	(every key in the slot of TAG)
 *	  --binary:		the key above followed by the bytes 00 ff \n \r
 *			\t space " ' \ * ? [ ] ESC and then, as i % 4 is
 *			0, 1, 2, 3: "{}", "{", "}{", "{" <the byte i/4 % 16>
 *			"}" -- the first three hash the whole key (no tag),
 *			the last puts a quarter of the keys in 16 slots.
 *	Every key matches the SCAN pattern PREFIX* (PREFIX{TAG}* with
 *	--tagged); values are B bytes ("v"..., default 16).
 *   clusterkit count PORT PATTERN
 *	the number of keys matching PATTERN on all primaries (SCAN MATCH
 *	COUNT 1000 on each to cursor 0, keys seen twice counted once) on
 *	stdout; "shard ADDR keys N" per primary on stderr.  Exact while
 *	nothing moves slots.
 *   clusterkit keyslot KEY...	the slot of each KEY (CRC16-XMODEM of the key,
 *	or of its hash tag, mod 16384), one a line.
 *   clusterkit keyslot -q	the same for each line of stdin, a key quoted
 *	as redis-cli prints one ("a\x00b"; a bare word is taken as it is).
 *   clusterkit keyslot-check PORT N [SEED]
 *	N random keys (0-40 bytes, any byte, braces often) whose slots are
 *	compared with CLUSTER KEYSLOT on that node; exit 1 at the first
 *	disagreement, naming the key in hex.
 *   clusterkit monitor-check FILE...
 *	reads `redis-cli monitor` output (one file per node) and exits 1,
 *	naming FILE:LINE, on any KEYS, FLUSHALL or FLUSHDB, and on any
 *	command with several keys (DEL, UNLINK, EXISTS, MGET, MSET, TOUCH,
 *	RENAME, COPY, EVAL's keys, MIGRATE ... KEYS, ...) not all of one slot.
 *	A last line cut short (the monitor was killed) is left out.
 *   clusterkit floor PORT PATTERN
 *	the benchmark floor: for each primary, one after another, SCAN MATCH
 *	PATTERN COUNT 1000 to cursor 0 (one call at a time), then UNLINK of
 *	the keys found, grouped by slot (200 keys or one slot per command,
 *	all pipelined); prints per shard
 *	  shard ADDR keys N ms T scan_ms S unlink_ms U calls C
 *	(N the keys UNLINK said it removed, C the SCAN calls) and at the end
 *	  slowest_ms T total_ms T
 *
 * CLUSTERKIT_USER and CLUSTERKIT_PASSWORD, when set, are sent with AUTH on
 * every connection.  Exit status: 0 done, 1 a failure (named on stderr),
 * 2 usage.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <hiredis/hiredis.h>

#define NSLOTS		16384
#define MAXNODES	1000
#define PIPE		1000	/* commands a node at a time (load) */
#define UNLINK_BATCH	200	/* keys of one UNLINK (PURGE_BATCH) */
#define KEYMAX		4096

struct node {
	char		 host[64];
	int		 port;
	redisContext	*c;
	size_t		 queued;	/* replies still to read */
};

static struct node nodes[MAXNODES];
static size_t nnodes;
static int slot_owner[NSLOTS];
static uint16_t crctab[256];

static void die(const char *, ...) __attribute__((format(printf, 1, 2),
    noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("clusterkit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		die("out of memory");
	return p;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Slots ------------------------------------------------------------------ */

/* CRC16-CCITT as XMODEM has it: polynomial 0x1021, initial 0, no
 * reflection, no final xor (CRC16("123456789") = 0x31c3). */
static void
crc_init(void)
{
	unsigned i, j;
	uint16_t c;

	for (i = 0; i < 256; i++) {
		c = (uint16_t)(i << 8);
		for (j = 0; j < 8; j++)
			c = (c & 0x8000) ? (uint16_t)((c << 1) ^ 0x1021) :
			    (uint16_t)(c << 1);
		crctab[i] = c;
	}
}

static uint16_t
crc16(const unsigned char *p, size_t n)
{
	uint16_t c = 0;

	while (n-- > 0)
		c = (uint16_t)((c << 8) ^ crctab[((c >> 8) ^ *p++) & 0xff]);
	return c;
}

/* The hash tag: from the first '{' to the next '}', when not empty. */
static unsigned
keyslot(const char *key, size_t len)
{
	const char *open, *close;

	open = memchr(key, '{', len);
	if (open != NULL) {
		close = memchr(open + 1, '}', len - (size_t)(open + 1 - key));
		if (close != NULL && close > open + 1)
			return crc16((const unsigned char *)open + 1,
			    (size_t)(close - open - 1)) & (NSLOTS - 1);
	}
	return crc16((const unsigned char *)key, len) & (NSLOTS - 1);
}

/* Connections and topology ------------------------------------------------ */

static redisReply *
command(redisContext *c, const char *what, int argc, const char **argv,
    const size_t *lens)
{
	redisReply *r;

	r = redisCommandArgv(c, argc, argv, lens);
	if (r == NULL)
		die("%s: %s", what, c->errstr);
	return r;
}

static redisContext *
connect_to(const char *host, int port)
{
	struct timeval tv = { 10, 0 };
	const char *user = getenv("CLUSTERKIT_USER");
	const char *pw = getenv("CLUSTERKIT_PASSWORD");
	const char *argv[3];
	size_t lens[3];
	redisContext *c;
	redisReply *r;
	int n = 0;

	c = redisConnectWithTimeout(host, port, tv);
	if (c == NULL || c->err)
		die("cannot connect to %s:%d: %s", host, port, c != NULL ?
		    c->errstr : "out of memory");
	tv.tv_sec = 60;
	redisSetTimeout(c, tv);
	if (pw != NULL) {
		argv[n++] = "AUTH";
		if (user != NULL)
			argv[n++] = user;
		argv[n++] = pw;
		for (int i = 0; i < n; i++)
			lens[i] = strlen(argv[i]);
		r = command(c, "AUTH", n, argv, lens);
		if (r->type == REDIS_REPLY_ERROR)
			die("AUTH on %s:%d: %s", host, port, r->str);
		freeReplyObject(r);
	}
	return c;
}

static size_t
node_add(const char *host, size_t hlen, long long port)
{
	size_t i;

	if (hlen == 0 || hlen >= sizeof nodes[0].host || port < 1 ||
	    port > 65535)
		die("CLUSTER SLOTS names a node that cannot be: '%.*s' port %lld",
		    (int)(hlen > 64 ? 64 : hlen), host, port);
	for (i = 0; i < nnodes; i++)
		if (nodes[i].port == port && strlen(nodes[i].host) == hlen &&
		    memcmp(nodes[i].host, host, hlen) == 0)
			return i;
	if (nnodes == MAXNODES)
		die("CLUSTER SLOTS names more than %d primaries", MAXNODES);
	memcpy(nodes[nnodes].host, host, hlen);
	nodes[nnodes].host[hlen] = '\0';
	nodes[nnodes].port = (int)port;
	return nnodes++;
}

/* The primaries and who owns each slot, from CLUSTER SLOTS; then a
 * connection to each primary. */
static void
topology(int port)
{
	const char *argv[] = { "CLUSTER", "SLOTS" };
	size_t lens[] = { 7, 5 };
	redisContext *c;
	redisReply *r, *e, *n;
	size_t i, k;
	long long a, b, s;

	for (s = 0; s < NSLOTS; s++)
		slot_owner[s] = -1;
	c = connect_to("127.0.0.1", port);
	r = command(c, "CLUSTER SLOTS", 2, argv, lens);
	if (r->type != REDIS_REPLY_ARRAY)
		die("CLUSTER SLOTS on port %d: %s", port,
		    r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
	for (i = 0; i < r->elements; i++) {
		e = r->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER ||
		    e->element[2]->type != REDIS_REPLY_ARRAY ||
		    e->element[2]->elements < 2)
			die("CLUSTER SLOTS: entry %zu is not [start end [host "
			    "port ...] ...]", i);
		a = e->element[0]->integer;
		b = e->element[1]->integer;
		n = e->element[2];
		if (a < 0 || b >= NSLOTS || a > b)
			die("CLUSTER SLOTS: range %lld-%lld", a, b);
		if (n->element[0]->type != REDIS_REPLY_STRING ||
		    n->element[1]->type != REDIS_REPLY_INTEGER)
			die("CLUSTER SLOTS: entry %zu names no host and port", i);
		/* An empty host (Redis 7: the node does not know its own
		 * address) is the one asked. */
		if (n->element[0]->len == 0)
			k = node_add("127.0.0.1", 9, n->element[1]->integer);
		else
			k = node_add(n->element[0]->str, n->element[0]->len,
			    n->element[1]->integer);
		for (s = a; s <= b; s++)
			slot_owner[s] = (int)k;
	}
	freeReplyObject(r);
	redisFree(c);
	for (s = 0; s < NSLOTS; s++)
		if (slot_owner[s] < 0)
			die("slot %lld has no primary (is the cluster ok?)", s);
	for (i = 0; i < nnodes; i++)
		nodes[i].c = connect_to(nodes[i].host, nodes[i].port);
}

static void
node_flush(struct node *nd)
{
	int done = 0;

	while (!done)
		if (redisBufferWrite(nd->c, &done) != REDIS_OK)
			die("writing to %s:%d: %s", nd->host, nd->port,
			    nd->c->errstr);
}

static redisReply *
node_reply(struct node *nd)
{
	void *r;

	if (redisGetReply(nd->c, &r) != REDIS_OK || r == NULL)
		die("reading from %s:%d: %s", nd->host, nd->port,
		    nd->c->errstr);
	nd->queued--;
	return r;
}

/* Sends what every node has waiting, then reads every reply: the nodes
 * work at the same time.  Replies must be +OK (SET) or integers (UNLINK,
 * added to *sum when it is not NULL). */
static void
drain(long long *sum)
{
	redisReply *r;
	size_t i;

	for (i = 0; i < nnodes; i++)
		if (nodes[i].queued > 0)
			node_flush(&nodes[i]);
	for (i = 0; i < nnodes; i++)
		while (nodes[i].queued > 0) {
			r = node_reply(&nodes[i]);
			if (r->type == REDIS_REPLY_ERROR)
				die("%s:%d answered: %s", nodes[i].host,
				    nodes[i].port, r->str);
			if (r->type == REDIS_REPLY_INTEGER && sum != NULL)
				*sum += r->integer;
			freeReplyObject(r);
		}
}

/* load ------------------------------------------------------------------- */

static size_t
make_key(char *buf, const char *prefix, const char *tag, bool binary,
    unsigned long i)
{
	static const char tail[] = "\0\xff\n\r\t \"'\\*?[]\x1b";
	size_t n;

	if (tag != NULL)
		n = (size_t)snprintf(buf, KEYMAX, "%s{%s}%lu", prefix, tag, i);
	else
		n = (size_t)snprintf(buf, KEYMAX, "%s%lu", prefix, i);
	if (!binary)
		return n;
	memcpy(buf + n, tail, sizeof tail - 1);
	n += sizeof tail - 1;
	switch (i % 4) {
	case 0:
		memcpy(buf + n, "{}", 2);
		n += 2;
		break;
	case 1:
		buf[n++] = '{';
		break;
	case 2:
		memcpy(buf + n, "}{", 2);
		n += 2;
		break;
	default:
		buf[n++] = '{';
		buf[n++] = (char)(i / 4 % 16);
		buf[n++] = '}';
		break;
	}
	return n;
}

static int
cmd_load(int argc, char **argv)
{
	const char *prefix, *tag = NULL, *av[3];
	size_t lens[3], vlen = 16;
	char key[KEYMAX], *value;
	unsigned long n, i;
	bool binary = false;
	double t0;
	int k;

	if (argc < 4)
		return -1;
	prefix = argv[2];
	if (strlen(prefix) > KEYMAX - 100)
		die("the prefix is too long");
	n = strtoul(argv[3], NULL, 10);
	for (k = 4; k < argc; k++) {
		if (strcmp(argv[k], "--tagged") == 0 && k + 1 < argc)
			tag = argv[++k];
		else if (strcmp(argv[k], "--binary") == 0)
			binary = true;
		else if (strcmp(argv[k], "--value-bytes") == 0 && k + 1 < argc)
			vlen = strtoul(argv[++k], NULL, 10);
		else
			return -1;
	}
	if (tag != NULL && strlen(tag) > 100)
		die("the tag is too long");
	value = xmalloc(vlen);
	memset(value, 'v', vlen);
	topology(atoi(argv[1]));
	t0 = now_ms();
	av[0] = "SET";
	lens[0] = 3;
	av[2] = value;
	lens[2] = vlen;
	for (i = 0; i < n; i++) {
		struct node *nd;

		lens[1] = make_key(key, prefix, tag, binary, i);
		av[1] = key;
		nd = &nodes[slot_owner[keyslot(key, lens[1])]];
		if (redisAppendCommandArgv(nd->c, 3, av, lens) != REDIS_OK)
			die("out of memory");
		if (++nd->queued == PIPE)
			drain(NULL);
	}
	drain(NULL);
	fprintf(stderr, "clusterkit: %lu keys on %zu primaries in %.0f ms\n",
	    n, nnodes, now_ms() - t0);
	free(value);
	return 0;
}

/* A set of keys (SCAN may return a key twice) ----------------------------- */

struct kset {
	char	**k;
	size_t	 *len;
	size_t	  n;
	size_t	  cap;		/* a power of two */
};

static uint64_t
fnv(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n-- > 0)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}

static void kset_add(struct kset *, const char *, size_t);

static void
kset_grow(struct kset *s)
{
	struct kset o = *s;
	size_t i;

	s->cap = o.cap == 0 ? 1024 : o.cap * 2;
	s->k = calloc(s->cap, sizeof *s->k);
	s->len = calloc(s->cap, sizeof *s->len);
	if (s->k == NULL || s->len == NULL)
		die("out of memory");
	s->n = 0;
	for (i = 0; i < o.cap; i++)
		if (o.k[i] != NULL) {
			kset_add(s, o.k[i], o.len[i]);
			free(o.k[i]);
		}
	free(o.k);
	free(o.len);
}

/* Adds a copy of the key; false when it was there. */
static bool
kset_put(struct kset *s, const char *key, size_t len)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap)
		kset_grow(s);
	for (i = fnv(key, len) & (s->cap - 1); s->k[i] != NULL;
	    i = (i + 1) & (s->cap - 1))
		if (s->len[i] == len && memcmp(s->k[i], key, len) == 0)
			return false;
	s->k[i] = xmalloc(len);
	memcpy(s->k[i], key, len);
	s->len[i] = len;
	s->n++;
	return true;
}

static void
kset_add(struct kset *s, const char *key, size_t len)
{
	(void)kset_put(s, key, len);
}

static void
kset_free(struct kset *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->k[i]);
	free(s->k);
	free(s->len);
	memset(s, 0, sizeof *s);
}

/* Walks SCAN MATCH pattern COUNT 1000 on one node to cursor 0; each new
 * key goes into s.  Returns the number of calls. */
static unsigned long
scan_node(struct node *nd, const char *pattern, struct kset *s)
{
	char cursor[32] = "0";
	const char *av[6] = { "SCAN", cursor, "MATCH", pattern, "COUNT",
	    "1000" };
	size_t lens[6] = { 4, 1, 5, strlen(pattern), 5, 4 };
	redisReply *r, *keys;
	unsigned long calls = 0;
	size_t i;

	do {
		lens[1] = strlen(cursor);
		r = command(nd->c, "SCAN", 6, av, lens);
		calls++;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[0]->len >= sizeof cursor ||
		    r->element[1]->type != REDIS_REPLY_ARRAY)
			die("SCAN on %s:%d: %s", nd->host, nd->port,
			    r->type == REDIS_REPLY_ERROR ? r->str :
			    "not [cursor [keys]]");
		memcpy(cursor, r->element[0]->str, r->element[0]->len);
		cursor[r->element[0]->len] = '\0';
		keys = r->element[1];
		for (i = 0; i < keys->elements; i++)
			if (keys->element[i]->type == REDIS_REPLY_STRING)
				kset_add(s, keys->element[i]->str,
				    keys->element[i]->len);
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return calls;
}

static int
cmd_count(int argc, char **argv)
{
	struct kset s;
	size_t i, total = 0;

	if (argc != 3)
		return -1;
	topology(atoi(argv[1]));
	for (i = 0; i < nnodes; i++) {
		memset(&s, 0, sizeof s);
		scan_node(&nodes[i], argv[2], &s);
		fprintf(stderr, "shard %s:%d keys %zu\n", nodes[i].host,
		    nodes[i].port, s.n);
		total += s.n;
		kset_free(&s);
	}
	printf("%zu\n", total);
	return 0;
}

/* floor ------------------------------------------------------------------ */

struct skey {
	unsigned	 slot;
	const char	*k;
	size_t		 len;
};

static int
skey_cmp(const void *a, const void *b)
{
	const struct skey *x = a, *y = b;

	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int
cmd_floor(int argc, char **argv)
{
	const char **av;
	size_t *lens, i, j, m, nk;
	struct skey *keys;
	struct kset s;
	double t0, t1, t2, slowest = 0, total = 0;
	long long deleted;
	unsigned long calls;

	if (argc != 3)
		return -1;
	topology(atoi(argv[1]));
	av = xmalloc((UNLINK_BATCH + 1) * sizeof *av);
	lens = xmalloc((UNLINK_BATCH + 1) * sizeof *lens);
	av[0] = "UNLINK";
	lens[0] = 6;
	for (i = 0; i < nnodes; i++) {
		struct node *nd = &nodes[i];

		memset(&s, 0, sizeof s);
		t0 = now_ms();
		calls = scan_node(nd, argv[2], &s);
		t1 = now_ms();
		keys = xmalloc(s.n * sizeof *keys);
		for (j = 0, nk = 0; j < s.cap; j++)
			if (s.k[j] != NULL) {
				keys[nk].k = s.k[j];
				keys[nk].len = s.len[j];
				keys[nk].slot = keyslot(s.k[j], s.len[j]);
				nk++;
			}
		qsort(keys, nk, sizeof *keys, skey_cmp);
		deleted = 0;
		for (j = 0; j < nk; j += m) {
			for (m = 0; j + m < nk && m < UNLINK_BATCH &&
			    keys[j + m].slot == keys[j].slot; m++) {
				av[m + 1] = keys[j + m].k;
				lens[m + 1] = keys[j + m].len;
			}
			if (redisAppendCommandArgv(nd->c, (int)m + 1, av,
			    lens) != REDIS_OK)
				die("out of memory");
			/* Bounded: the replies of a window stay small. */
			if (++nd->queued == PIPE)
				drain(&deleted);
		}
		drain(&deleted);
		t2 = now_ms();
		printf("shard %s:%d keys %lld ms %.1f scan_ms %.1f unlink_ms "
		    "%.1f calls %lu\n", nd->host, nd->port, deleted, t2 - t0,
		    t1 - t0, t2 - t1, calls);
		if (t2 - t0 > slowest)
			slowest = t2 - t0;
		total += t2 - t0;
		free(keys);
		kset_free(&s);
	}
	printf("slowest_ms %.1f total_ms %.1f\n", slowest, total);
	free(av);
	free(lens);
	return 0;
}

/* Quoted keys (redis-cli's way of printing one) --------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* One argument at *pp: "..." with \\ \" \n \r \t \a \b \xHH, or a bare
 * word up to a space.  Into out (its length in *len); *pp after it.
 * Returns false when the quotes do not close. */
static bool
unquote(const char **pp, const char *end, char *out, size_t max, size_t *len)
{
	const char *p = *pp;
	size_t n = 0;
	int h, l;

	if (p < end && *p != '"') {
		while (p < end && *p != ' ' && n < max)
			out[n++] = *p++;
		*pp = p;
		*len = n;
		return true;
	}
	for (p++; p < end && *p != '"'; p++) {
		char c = *p;

		if (c == '\\' && p + 1 < end) {
			p++;
			switch (*p) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'a': c = '\a'; break;
			case 'b': c = '\b'; break;
			case 'x':
				if (p + 2 < end && (h = hexval(p[1])) >= 0 &&
				    (l = hexval(p[2])) >= 0) {
					c = (char)(h * 16 + l);
					p += 2;
				} else
					c = 'x';
				break;
			default: c = *p; break;
			}
		}
		if (n < max)
			out[n++] = c;
	}
	if (p >= end)
		return false;
	*pp = p + 1;
	*len = n;
	return true;
}

static void
print_hex(FILE *f, const char *k, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%02x", (unsigned char)k[i]);
}

static int
cmd_keyslot(int argc, char **argv)
{
	char *line = NULL, key[KEYMAX];
	const char *p;
	size_t cap = 0, len;
	ssize_t got;
	int i;

	if (argc < 2)
		return -1;
	if (strcmp(argv[1], "-q") != 0) {
		for (i = 1; i < argc; i++)
			printf("%u\n", keyslot(argv[i], strlen(argv[i])));
		return 0;
	}
	while ((got = getline(&line, &cap, stdin)) > 0) {
		if (line[got - 1] == '\n')
			line[--got] = '\0';
		p = line;
		if (!unquote(&p, line + got, key, sizeof key, &len))
			die("stdin: unclosed quotes: %s", line);
		printf("%u\n", keyslot(key, len));
	}
	free(line);
	return 0;
}

static int
cmd_keyslot_check(int argc, char **argv)
{
	const char *av[3] = { "CLUSTER", "KEYSLOT", NULL };
	size_t lens[3] = { 7, 7, 0 }, i, j, n, start, len[PIPE];
	char (*keys)[48];
	unsigned long seed;
	redisContext *c;
	redisReply *r;
	struct node nd;
	size_t tagged = 0;

	if (argc != 3 && argc != 4)
		return -1;
	n = strtoul(argv[2], NULL, 10);
	seed = argc == 4 ? strtoul(argv[3], NULL, 10) : (unsigned long)time(NULL);
	srandom((unsigned)seed);
	c = connect_to("127.0.0.1", atoi(argv[1]));
	memset(&nd, 0, sizeof nd);
	nd.c = c;
	snprintf(nd.host, sizeof nd.host, "127.0.0.1");
	nd.port = atoi(argv[1]);
	keys = xmalloc(PIPE * sizeof *keys);
	for (start = 0; start < n; start += PIPE) {
		size_t m = n - start < PIPE ? n - start : PIPE;

		for (i = 0; i < m; i++) {
			len[i] = (size_t)(random() % 41);
			for (j = 0; j < len[i]; j++) {
				long x = random() % 8;

				/* Braces often, so that tags of every shape
				 * ("{}", "{{a}}", "a{b", "}{") come up. */
				keys[i][j] = x == 0 ? '{' : x == 1 ? '}' :
				    x == 2 ? (char)('a' + random() % 3) :
				    (char)(random() % 256);
			}
			if (memchr(keys[i], '{', len[i]) != NULL)
				tagged++;
			av[2] = keys[i];
			lens[2] = len[i];
			if (redisAppendCommandArgv(c, 3, av, lens) != REDIS_OK)
				die("out of memory");
			nd.queued++;
		}
		node_flush(&nd);
		for (i = 0; i < m; i++) {
			r = node_reply(&nd);
			if (r->type != REDIS_REPLY_INTEGER)
				die("CLUSTER KEYSLOT: %s", r->type ==
				    REDIS_REPLY_ERROR ? r->str : "not an integer");
			if ((unsigned long long)r->integer !=
			    keyslot(keys[i], len[i])) {
				fprintf(stderr, "clusterkit: key ");
				print_hex(stderr, keys[i], len[i]);
				fprintf(stderr, " (seed %lu): CLUSTER KEYSLOT "
				    "%lld, ours %u\n", seed, r->integer,
				    keyslot(keys[i], len[i]));
				return 1;
			}
			freeReplyObject(r);
		}
	}
	printf("%zu random keys (%zu with a '{'; seed %lu): every slot "
	    "agrees with CLUSTER KEYSLOT\n", n, tagged, seed);
	free(keys);
	redisFree(c);
	return 0;
}

/* monitor-check ---------------------------------------------------------- */

#define MAXARGS	4096

struct mcmd {
	char	*arg[MAXARGS];
	size_t	 len[MAXARGS];
	int	 n;
};

static bool
named(const struct mcmd *m, int i, const char *name)
{
	return i < m->n && m->len[i] == strlen(name) &&
	    strncasecmp(m->arg[i], name, m->len[i]) == 0;
}

/* The argument numbers of the keys of a command, into k; how many. */
static int
key_args(const struct mcmd *m, int *k)
{
	static const char *const all[] = { "DEL", "UNLINK", "EXISTS", "MGET",
	    "TOUCH", "WATCH", "SINTER", "SUNION", "SDIFF", "SINTERSTORE",
	    "SUNIONSTORE", "SDIFFSTORE", "PFCOUNT", "PFMERGE", "RENAME",
	    "RENAMENX", "RPOPLPUSH", "SINTERCARD", NULL };
	int i, nk = 0, numkeys;

	for (i = 0; all[i] != NULL; i++)
		if (named(m, 0, all[i])) {
			for (int j = 1; j < m->n; j++)
				k[nk++] = j;
			return nk;
		}
	if (named(m, 0, "MSET") || named(m, 0, "MSETNX")) {
		for (i = 1; i < m->n; i += 2)
			k[nk++] = i;
		return nk;
	}
	if (named(m, 0, "SMOVE") || named(m, 0, "LMOVE") ||
	    named(m, 0, "COPY") || named(m, 0, "BLMOVE")) {
		for (i = 1; i < 3 && i < m->n; i++)
			k[nk++] = i;
		return nk;
	}
	if (named(m, 0, "BLPOP") || named(m, 0, "BRPOP")) {
		for (i = 1; i < m->n - 1; i++)
			k[nk++] = i;
		return nk;
	}
	if (named(m, 0, "EVAL") || named(m, 0, "EVALSHA") ||
	    named(m, 0, "EVAL_RO") || named(m, 0, "EVALSHA_RO") ||
	    named(m, 0, "FCALL") || named(m, 0, "FCALL_RO")) {
		numkeys = m->n > 2 ? atoi(m->arg[2]) : 0;
		for (i = 3; i < 3 + numkeys && i < m->n; i++)
			k[nk++] = i;
		return nk;
	}
	if (named(m, 0, "MIGRATE"))
		for (i = 6; i < m->n; i++)
			if (named(m, i, "KEYS")) {
				for (i++; i < m->n; i++)
					k[nk++] = i;
				return nk;
			}
	return 0;
}

static int
cmd_monitor_check(int argc, char **argv)
{
	static struct mcmd m;
	static int k[MAXARGS];
	char *line = NULL, buf[KEYMAX];
	const char *p, *end;
	size_t cap = 0, len, lineno, cmds = 0, multi = 0;
	ssize_t got;
	FILE *f;
	int fi, i, nk, bad = 0;

	if (argc < 2)
		return -1;
	for (fi = 1; fi < argc; fi++) {
		if ((f = fopen(argv[fi], "r")) == NULL)
			die("%s: %s", argv[fi], strerror(errno));
		lineno = 0;
		while ((got = getline(&line, &cap, f)) > 0) {
			lineno++;
			if (line[got - 1] != '\n')
				break;	/* cut short: the monitor was killed */
			line[--got] = '\0';
			if (got > 0 && line[got - 1] == '\r')
				line[--got] = '\0';
			if (strcmp(line, "OK") == 0 || got == 0)
				continue;
			end = line + got;
			/* 1700000000.123456 [0 127.0.0.1:5000] "CMD" "arg" */
			if ((p = strstr(line, "] ")) == NULL || line[0] == '[' ||
			    strchr(line, '[') == NULL || strchr(line, '[') > p) {
				fprintf(stderr, "%s:%zu: not a MONITOR line: "
				    "%.80s\n", argv[fi], lineno, line);
				bad = 1;
				continue;
			}
			p += 2;
			for (i = 0; i < m.n; i++)
				free(m.arg[i]);
			m.n = 0;
			while (p < end && m.n < MAXARGS) {
				if (!unquote(&p, end, buf, sizeof buf, &len)) {
					fprintf(stderr, "%s:%zu: unclosed quotes\n",
					    argv[fi], lineno);
					bad = 1;
					break;
				}
				m.arg[m.n] = xmalloc(len + 1);
				memcpy(m.arg[m.n], buf, len);
				m.arg[m.n][len] = '\0';
				m.len[m.n++] = len;
				while (p < end && *p == ' ')
					p++;
			}
			if (m.n == 0)
				continue;
			cmds++;
			if (named(&m, 0, "KEYS") || named(&m, 0, "FLUSHALL") ||
			    named(&m, 0, "FLUSHDB")) {
				fprintf(stderr, "%s:%zu: %s: %.200s\n", argv[fi],
				    lineno, m.arg[0], line);
				bad = 1;
				continue;
			}
			nk = key_args(&m, k);
			if (nk > 1)
				multi++;
			for (i = 1; i < nk; i++)
				if (keyslot(m.arg[k[i]], m.len[k[i]]) !=
				    keyslot(m.arg[k[0]], m.len[k[0]])) {
					fprintf(stderr, "%s:%zu: cross-slot %s "
					    "(slots %u and %u): %.200s\n",
					    argv[fi], lineno, m.arg[0],
					    keyslot(m.arg[k[0]], m.len[k[0]]),
					    keyslot(m.arg[k[i]], m.len[k[i]]),
					    line);
					bad = 1;
					break;
				}
		}
		if (ferror(f))
			die("%s: %s", argv[fi], strerror(errno));
		fclose(f);
	}
	for (i = 0; i < m.n; i++)
		free(m.arg[i]);
	free(line);
	printf("%zu commands (%zu with several keys) in %d files: %s\n", cmds,
	    multi, argc - 1, bad ? "FAILED" : "no KEYS, no FLUSH*, no "
	    "cross-slot command");
	return bad;
}

int
main(int argc, char **argv)
{
	int rc = -1;

	crc_init();
	if (argc >= 2) {
		if (strcmp(argv[1], "load") == 0)
			rc = cmd_load(argc - 1, argv + 1);
		else if (strcmp(argv[1], "count") == 0)
			rc = cmd_count(argc - 1, argv + 1);
		else if (strcmp(argv[1], "keyslot") == 0)
			rc = cmd_keyslot(argc - 1, argv + 1);
		else if (strcmp(argv[1], "keyslot-check") == 0)
			rc = cmd_keyslot_check(argc - 1, argv + 1);
		else if (strcmp(argv[1], "monitor-check") == 0)
			rc = cmd_monitor_check(argc - 1, argv + 1);
		else if (strcmp(argv[1], "floor") == 0)
			rc = cmd_floor(argc - 1, argv + 1);
	}
	if (rc < 0) {
		fprintf(stderr, "usage: clusterkit load PORT PREFIX N [--tagged "
		    "TAG] [--binary] [--value-bytes B]\n"
		    "       clusterkit count PORT PATTERN\n"
		    "       clusterkit keyslot KEY... | -q\n"
		    "       clusterkit keyslot-check PORT N [SEED]\n"
		    "       clusterkit monitor-check FILE...\n"
		    "       clusterkit floor PORT PATTERN\n");
		return 2;
	}
	return rc;
}
