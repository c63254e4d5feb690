/* pinglat: PING round trips to a Redis server, spread over a window, with
 * their percentiles -- for tests/bench/scan_budget.sh.
 *
 *	pinglat PORT COUNT SECONDS
 *
 * Connects to 127.0.0.1:PORT, sends COUNT PINGs (RESP inline, one at a
 * time) evenly spread over SECONDS, and prints one line:
 *	pings N p50 X p99 Y max Z	(milliseconds)
 * Exit 1 on any error (a reply other than +PONG, a closed connection, a
 * reply not within 5 s). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One PING; its round trip in seconds, or <0 on error. */
static double
ping(int fd)
{
	char buf[64];
	size_t got = 0;
	ssize_t n;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	double t0 = now_s();

	if (write(fd, "PING\r\n", 6) != 6)
		return -1;
	while (got < 7) {
		if (poll(&p, 1, 5000) != 1)
			return -1;
		n = read(fd, buf + got, sizeof buf - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	if (got != 7 || memcmp(buf, "+PONG\r\n", 7) != 0)
		return -1;
	return now_s() - t0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	double *lat, gap, next;
	long count, i;
	int fd, one = 1;

	if (argc != 4 || (count = strtol(argv[2], NULL, 10)) < 1 ||
	    count > 10000000) {
		fprintf(stderr, "usage: pinglat PORT COUNT SECONDS\n");
		return 2;
	}
	gap = strtod(argv[3], NULL) / (double)count;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("pinglat: connect");
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if ((lat = calloc((size_t)count, sizeof *lat)) == NULL)
		return 1;
	next = now_s();
	for (i = 0; i < count; i++) {
		double wait = next - now_s();

		if (wait > 0) {
			struct timespec ts = { (time_t)wait,
			    (long)((wait - (double)(time_t)wait) * 1e9) };
			nanosleep(&ts, NULL);
		}
		next += gap;
		if ((lat[i] = ping(fd)) < 0) {
			fprintf(stderr, "pinglat: PING %ld failed\n", i + 1);
			return 1;
		}
	}
	qsort(lat, (size_t)count, sizeof *lat, cmp_double);
	printf("pings %ld p50 %.3f p99 %.3f max %.3f\n", count,
	    lat[count / 2] * 1e3, lat[(count * 99) / 100] * 1e3,
	    lat[count - 1] * 1e3);
	free(lat);
	close(fd);
	return 0;
}
