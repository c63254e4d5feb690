/* unlinkliar: the smallest RESP server a purge test needs, which lies on
 * purpose.  It keeps a few keys ("anp:page:/blog/post-N", N < --keys),
 * answers PING, AUTH, SELECT, INFO, SCAN, DUMP, PTTL and UNLINK, and:
 *   --unlink N      answers every UNLINK with the integer N (a lie);
 *   --dump-error K  answers DUMP with a NOPERM error from the K-th DUMP on
 *                   (1-based), after an honest probe.
 * Every command it receives is appended, one name a line, to --log FILE,
 * so a test can tell whether an UNLINK was ever sent.  Plain blocking
 * sockets on 127.0.0.1; the port it listens on is written to --port-file.
 * One client at a time; exits on SIGTERM. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_ARGS	1024
#define MAX_ARG		(1024 * 1024)

static long	 nkeys = 3;
static long long unlink_answer;
static bool	 unlink_lies;		/* else: the truth */
static long	 dump_error_from;	/* 0: never */
static long	 dumps;
static FILE	*cmdlog;

struct conn {
	FILE	*in;
	FILE	*out;
};

/* Reads one RESP array of bulk strings.  Returns argc, 0 at EOF, -1 bad. */
static int
read_cmd(struct conn *c, char **argv, size_t *lens)
{
	char line[64];
	long n, i, len;

	if (fgets(line, sizeof line, c->in) == NULL)
		return 0;
	if (line[0] != '*' || (n = strtol(line + 1, NULL, 10)) <= 0 ||
	    n > MAX_ARGS)
		return -1;
	for (i = 0; i < n; i++) {
		if (fgets(line, sizeof line, c->in) == NULL || line[0] != '$' ||
		    (len = strtol(line + 1, NULL, 10)) < 0 || len > MAX_ARG)
			return -1;
		argv[i] = malloc((size_t)len + 2);	/* and CRLF */
		if (argv[i] == NULL || fread(argv[i], 1, (size_t)len + 2,
		    c->in) != (size_t)len + 2)
			return -1;
		argv[i][len] = '\0';
		lens[i] = (size_t)len;
	}
	return (int)n;
}

/* Whether key is one of ours: anp:page:/blog/post-N with N < nkeys. */
static bool
ours(const char *key, size_t len)
{
	static const char prefix[] = "anp:page:/blog/post-";
	char *end;
	long n;

	if (len <= sizeof prefix - 1 || memcmp(key, prefix, sizeof prefix - 1))
		return false;
	n = strtol(key + sizeof prefix - 1, &end, 10);
	return end == key + len && n >= 0 && n < nkeys;
}

static void
bulk(FILE *out, const char *s, size_t len)
{
	fprintf(out, "$%zu\r\n", len);
	fwrite(s, 1, len, out);
	fputs("\r\n", out);
}

static void
serve(struct conn *c)
{
	char *argv[MAX_ARGS];
	size_t lens[MAX_ARGS];
	char key[64];
	int argc, i;
	long k;

	while ((argc = read_cmd(c, argv, lens)) > 0) {
		fprintf(cmdlog, "%s\n", argv[0]);
		fflush(cmdlog);
		if (strcasecmp(argv[0], "PING") == 0)
			fputs("+PONG\r\n", c->out);
		else if (strcasecmp(argv[0], "AUTH") == 0 ||
		    strcasecmp(argv[0], "SELECT") == 0)
			fputs("+OK\r\n", c->out);
		else if (strcasecmp(argv[0], "INFO") == 0) {
			const char *t = "# Replication\r\nrole:master\r\n"
			    "# Cluster\r\ncluster_enabled:0\r\n";
			bulk(c->out, t, strlen(t));
		} else if (strcasecmp(argv[0], "SCAN") == 0) {
			/* One call: cursor 0 and every key. */
			fprintf(c->out, "*2\r\n$1\r\n0\r\n*%ld\r\n", nkeys);
			for (k = 0; k < nkeys; k++) {
				snprintf(key, sizeof key,
				    "anp:page:/blog/post-%ld", k);
				bulk(c->out, key, strlen(key));
			}
		} else if (strcasecmp(argv[0], "DUMP") == 0 && argc == 2) {
			dumps++;
			if (dump_error_from > 0 && dumps >= dump_error_from)
				fputs("-NOPERM this user has no permissions to "
				    "run the 'dump' command\r\n", c->out);
			else if (ours(argv[1], lens[1]))
				/* Not a real RDB payload: never restored. */
				bulk(c->out, "\x00\x01v\x0a\x00zzzzzzzz", 13);
			else
				fputs("$-1\r\n", c->out);
		} else if (strcasecmp(argv[0], "PTTL") == 0 && argc == 2)
			fprintf(c->out, ":%d\r\n", ours(argv[1], lens[1]) ? -1 :
			    -2);
		else if (strcasecmp(argv[0], "UNLINK") == 0)
			fprintf(c->out, ":%lld\r\n", unlink_lies ?
			    unlink_answer : (long long)(argc - 1));
		else
			fprintf(c->out, "-ERR unknown command '%s'\r\n",
			    argv[0]);
		fflush(c->out);
		for (i = 0; i < argc; i++)
			free(argv[i]);
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	const char *port_file = NULL, *log_file = "/dev/null";
	struct conn c;
	FILE *pf;
	int s, fd, i, one = 1;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--unlink") == 0) {
			unlink_answer = strtoll(argv[i + 1], NULL, 10);
			unlink_lies = true;
		}
		else if (strcmp(argv[i], "--dump-error") == 0)
			dump_error_from = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--keys") == 0)
			nkeys = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--port-file") == 0)
			port_file = argv[i + 1];
		else if (strcmp(argv[i], "--log") == 0)
			log_file = argv[i + 1];
		else {
			fprintf(stderr, "unlinkliar: bad option %s\n", argv[i]);
			return 2;
		}
	}
	if (port_file == NULL || (cmdlog = fopen(log_file, "a")) == NULL) {
		fprintf(stderr, "usage: unlinkliar --port-file F [--log F] "
		    "[--keys N] [--unlink N] [--dump-error K]\n");
		return 2;
	}
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(s, 4) != 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &sl) != 0)
		return 1;
	if ((pf = fopen(port_file, "w")) == NULL)
		return 1;
	fprintf(pf, "%d\n", ntohs(sa.sin_port));
	fclose(pf);
	for (;;) {
		if ((fd = accept(s, NULL, NULL)) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		c.in = fdopen(fd, "r");
		c.out = fdopen(dup(fd), "w");
		if (c.in == NULL || c.out == NULL)
			return 1;
		serve(&c);
		fclose(c.in);
		fclose(c.out);
	}
}
