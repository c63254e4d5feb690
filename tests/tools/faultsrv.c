/* faultsrv.c: a misbehaving HTTP server for tests/faults.sh.
 *
 *   faultsrv PORTFILE
 *
 * Listens on 127.0.0.1, on a port the kernel picks, and writes that port to
 * PORTFILE (complete when it appears: written aside, then renamed).  One
 * thread, poll(2) only.  After reading a request line and its headers it
 * behaves by path:
 *
 *   /hang      accepts and never answers (the connection stays open)
 *   /reset     reads the request, then closes with SO_LINGER 0: a RST
 *   /garbage   answers bytes that are not HTTP (with escape sequences in
 *              them), then closes
 *   /slow      trickles a valid response, one byte per second
 *   /ok        a valid 200 response, then closes
 *   other      a valid 404, then closes
 *
 * It runs until it is killed. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN	512
#define REQMAX	8192

enum mode { READING, HANG, SLOW };

struct conn {
	int		 fd;
	enum mode	 mode;
	char		 req[REQMAX];
	size_t		 len;
	size_t		 sent;		/* /slow: bytes of the answer sent */
	double		 next;		/* /slow: when the next byte goes */
};

static struct conn conns[MAXCONN];
static size_t nconns;

static const char slow_answer[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n"
    "Connection: close\r\n\r\n"
    "one byte per second is a valid answer, but who will wait for it?";

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void
drop(size_t i)
{
	close(conns[i].fd);
	conns[i] = conns[--nconns];
}

static void
answer(int fd, int status, const char *reason, const char *body)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: "
	    "text/plain\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\n\r\n", status, reason, strlen(body));
	write_all(fd, head, (size_t)n);
	write_all(fd, body, strlen(body));
}

static void
garbage(int fd)
{
	static const char esc[] = "\033[2J\033]0;pwned\007\233\342\200\256";
	char bytes[600];
	unsigned long x = 0x2545F491u;
	size_t i;

	for (i = 0; i < sizeof bytes; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		bytes[i] = (char)(x & 0xff);
	}
	bytes[0] = '\001';		/* never "HTTP/" by chance */
	memcpy(bytes + 40, esc, sizeof esc - 1);
	write_all(fd, bytes, sizeof bytes);
}

/* The request is complete: act on its path.  Returns 1 to keep the
 * connection, 0 when it was closed. */
static int
dispatch(size_t i)
{
	struct conn *c = &conns[i];
	char path[256] = "";
	struct linger lg = { 1, 0 };

	if (sscanf(c->req, "%*s %255s", path) != 1)
		path[0] = '\0';
	if (strcmp(path, "/hang") == 0) {
		c->mode = HANG;
		return 1;
	}
	if (strcmp(path, "/slow") == 0) {
		c->mode = SLOW;
		c->sent = 0;
		c->next = now();
		return 1;
	}
	if (strcmp(path, "/reset") == 0)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	else if (strcmp(path, "/garbage") == 0)
		garbage(c->fd);
	else if (strcmp(path, "/ok") == 0)
		answer(c->fd, 200, "OK", "ok\n");
	else
		answer(c->fd, 404, "Not Found", "no such fault\n");
	drop(i);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof sa;
	struct pollfd pfd[MAXCONN + 1];
	char tmpname[4096];
	FILE *f;
	size_t i;
	int lfd, one = 1, timeout, n, fd;
	double t, wait;

	if (argc != 2) {
		fprintf(stderr, "usage: faultsrv PORTFILE\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		perror("faultsrv: socket");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(lfd, 64) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
		perror("faultsrv: bind");
		return 1;
	}
	snprintf(tmpname, sizeof tmpname, "%s.tmp", argv[1]);
	if ((f = fopen(tmpname, "w")) == NULL ||
	    fprintf(f, "%u\n", (unsigned)ntohs(sa.sin_port)) < 0 ||
	    fclose(f) != 0 || rename(tmpname, argv[1]) != 0) {
		perror("faultsrv: port file");
		return 1;
	}
	for (;;) {
		pfd[0].fd = lfd;
		pfd[0].events = nconns < MAXCONN ? POLLIN : 0;
		timeout = -1;
		t = now();
		for (i = 0; i < nconns; i++) {
			pfd[i + 1].fd = conns[i].fd;
			pfd[i + 1].events = POLLIN;
			pfd[i + 1].revents = 0;
			if (conns[i].mode == SLOW) {
				wait = conns[i].next - t;
				n = wait <= 0 ? 0 : (int)(wait * 1000) + 1;
				if (timeout < 0 || n < timeout)
					timeout = n;
			}
		}
		n = poll(pfd, nconns + 1, timeout);
		if (n < 0 && errno != EINTR) {
			perror("faultsrv: poll");
			return 1;
		}
		/* Connections, from the last one: drop() moves the last. */
		t = now();
		for (i = nconns; i-- > 0;) {
			struct conn *c = &conns[i];
			ssize_t got;

			if (n > 0 && (pfd[i + 1].revents & (POLLIN | POLLHUP |
			    POLLERR))) {
				if (c->mode == READING) {
					got = read(c->fd, c->req + c->len,
					    REQMAX - 1 - c->len);
					if (got <= 0) {
						drop(i);
						continue;
					}
					c->len += (size_t)got;
					c->req[c->len] = '\0';
					if (strstr(c->req, "\r\n\r\n") != NULL ||
					    c->len == REQMAX - 1) {
						if (!dispatch(i))
							continue;
					}
				} else {
					char sink[1024];
					got = read(c->fd, sink, sizeof sink);
					if (got <= 0) {
						drop(i);	/* the client left */
						continue;
					}
				}
			}
			if (c->mode == SLOW && c->next <= t) {
				if (write(c->fd, slow_answer + c->sent, 1) != 1 ||
				    ++c->sent == sizeof slow_answer - 1) {
					drop(i);
					continue;
				}
				c->next = t + 1.0;
			}
		}
		if (n > 0 && (pfd[0].revents & POLLIN) &&
		    (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
			memset(&conns[nconns], 0, sizeof conns[nconns]);
			conns[nconns].fd = fd;
			conns[nconns].mode = READING;
			nconns++;
		}
	}
}
