/* tlsfront.c: TLS in front of a plaintext test server (tests/tls.sh puts
 * it before tests/tools/badredis, so that every hostile mode can be met
 * over rediss:// too).
 *
 *   tlsfront PORTFILE CERT KEY BACKEND-PORT
 *
 * Listens on 127.0.0.1, on a port the kernel picks, written to PORTFILE
 * (written aside, then renamed).  Each connection gets a process of its
 * own: the TLS handshake (10 s at most), a plaintext connection to
 * 127.0.0.1:BACKEND-PORT, then bytes both ways until either side closes.
 * Those processes end with it (PR_SET_PDEATHSIG). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static void die(const char *) __attribute__((noreturn));

static void
die(const char *what)
{
	fprintf(stderr, "tlsfront: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
backend(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
		die("connect to the backend");
	return fd;
}

/* Writes all of buf to fd; false when it cannot. */
static int
write_all(int fd, const char *buf, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, buf, n)) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 1;
}

static void relay(SSL_CTX *, int, int) __attribute__((noreturn));

static void
relay(SSL_CTX *ctx, int cfd, int bport)
{
	struct pollfd p[2];
	char buf[16384];
	SSL *ssl;
	int bfd, n;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	alarm(10);
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, cfd) != 1)
		exit(1);
	if (SSL_accept(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		exit(0);
	}
	alarm(0);
	bfd = backend(bport);
	p[0].fd = cfd;
	p[1].fd = bfd;
	p[0].events = p[1].events = POLLIN;
	for (;;) {
		/* What OpenSSL already holds is read before polling. */
		if (SSL_pending(ssl) == 0 && poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (SSL_pending(ssl) > 0 || (p[0].revents & (POLLIN | POLLHUP |
		    POLLERR))) {
			if ((n = SSL_read(ssl, buf, sizeof buf)) <= 0)
				break;
			if (!write_all(bfd, buf, (size_t)n))
				break;
			p[0].revents = 0;
			continue;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((n = (int)read(bfd, buf, sizeof buf)) <= 0)
				break;
			if (SSL_write(ssl, buf, n) != n)
				break;
		}
	}
	SSL_shutdown(ssl);
	exit(0);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	char tmp[4096];
	SSL_CTX *ctx;
	FILE *f;
	int lfd, cfd, one = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: tlsfront PORTFILE CERT KEY "
		    "BACKEND-PORT\n");
		return 2;
	}
	signal(SIGCHLD, SIG_IGN);	/* children reap themselves */
	signal(SIGPIPE, SIG_IGN);
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate_chain_file(ctx, argv[2]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[3], SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) != 0)
		die("listen");
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
	if ((f = fopen(tmp, "w")) == NULL)
		die(tmp);
	fprintf(f, "%d\n", ntohs(sin.sin_port));
	if (fclose(f) != 0 || rename(tmp, argv[1]) != 0)
		die(argv[1]);
	for (;;) {
		if ((cfd = accept(lfd, NULL, NULL)) < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		switch (fork()) {
		case -1:
			die("fork");
		case 0:
			close(lfd);
			relay(ctx, cfd, atoi(argv[4]));
		default:
			close(cfd);
		}
	}
}
