/*
 * stage.c: the stage app's main: options, the HTTP daemon, clean shutdown.
 *
 * stage [--port N] [--port-file FILE] [--redis URL] [--db-delay-ms N]
 *       [--ttl S] [--version-file FILE] [--pid-file FILE]
 *
 * Listens on 127.0.0.1 only.  SIGTERM or SIGINT: stop, exit 0.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "serve.h"
#include "stage.h"

#define STAGE_DEFAULT_REDIS "redis://127.0.0.1:6390/0"
#define STAGE_DEFAULT_VERSION_FILE "runbooks/demo/state/version"

/* On SIGTERM, requests being answered get this long to finish. */
#define STAGE_DRAIN_MS 5000

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	fputs("stage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		fatal("out of memory");
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t len)
{
	char	*p;

	if ((p = strndup(s, len)) == NULL)
		fatal("out of memory");
	return p;
}

char *
xprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("out of memory");
	return s;
}

/* Stop accepting, let the requests in progress finish, stop. */
static void
stop(struct MHD_Daemon *d)
{
	struct timespec	ts = { 0, 10 * 1000000L };
	MHD_socket	fd;
	int		i;

	fd = MHD_quiesce_daemon(d);
	for (i = 0; i < STAGE_DRAIN_MS / 10 && serve_active() > 0; i++)
		nanosleep(&ts, NULL);
	MHD_stop_daemon(d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: stage [--port N] [--port-file FILE] [--redis URL] "
	    "[--db-delay-ms N]\n"
	    "             [--ttl S] [--version-file FILE] [--pid-file FILE]\n"
	    "  --port N           TCP port on 127.0.0.1 (default 0: any free "
	    "port)\n"
	    "  --port-file FILE   write the port there once listening\n"
	    "  --redis URL        redis://HOST:PORT[/DB] or unix:///PATH "
	    "(default %s)\n"
	    "  --db-delay-ms N    what a cache miss costs (default 80)\n"
	    "  --ttl S            seconds a cached page lives (default 60)\n"
	    "  --version-file F   the deployed version (default "
	    "$STAGE_VERSION_FILE,\n"
	    "                     else %s)\n"
	    "  --pid-file FILE    write the process id there\n",
	    STAGE_DEFAULT_REDIS, STAGE_DEFAULT_VERSION_FILE);
}

/* A whole decimal number in [min, max], or exit 2 naming the option. */
static long
number(const char *opt, const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "stage: --%s: '%s' is not a number from %ld "
		    "to %ld\n", opt, s, min, max);
		exit(2);
	}
	return v;
}

/* Write text to path through a temporary file and rename(2). */
static int
write_atomic(const char *path, const char *text)
{
	char	*tmp;
	FILE	*f;
	int	 ok;

	tmp = xprintf("%s.tmp.%ld", path, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "stage: %s: %s\n", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	ok = fputs(text, f) >= 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		fprintf(stderr, "stage: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "redis", required_argument, NULL, 'r' },
		{ "db-delay-ms", required_argument, NULL, 'd' },
		{ "ttl", required_argument, NULL, 't' },
		{ "version-file", required_argument, NULL, 'v' },
		{ "pid-file", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct stage			 st;
	struct MHD_Daemon		*d;
	const union MHD_DaemonInfo	*info;
	struct sockaddr_in		 sa;
	sigset_t			 set;
	const char			*redis = STAGE_DEFAULT_REDIS;
	const char			*port_file = NULL, *pid_file = NULL;
	char				 err[256], text[32];
	long				 port = 0;
	int				 ch, sig, rc = 0;

	memset(&st, 0, sizeof st);
	st.db_delay_ms = 80;
	st.ttl = 60;
	st.version_file = getenv("STAGE_VERSION_FILE");
	if (st.version_file == NULL || *st.version_file == '\0')
		st.version_file = STAGE_DEFAULT_VERSION_FILE;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			port = number("port", optarg, 0, 65535);
			break;
		case 'P':
			port_file = optarg;
			break;
		case 'r':
			redis = optarg;
			break;
		case 'd':
			st.db_delay_ms = (int)number("db-delay-ms", optarg, 0,
			    600000);
			break;
		case 't':
			st.ttl = (int)number("ttl", optarg, 1, INT_MAX);
			break;
		case 'v':
			st.version_file = optarg;
			break;
		case 'i':
			pid_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((st.cache = cache_new(redis, err, sizeof err)) == NULL) {
		fprintf(stderr, "stage: --redis %s\n", err);
		return 2;
	}

	/* Every thread inherits the mask; main waits for the signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC | MHD_USE_ERROR_LOG,
	    (uint16_t)port, NULL, NULL, serve_request, &st,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    MHD_OPTION_NOTIFY_COMPLETED, serve_completed, &st,
	    MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "stage: cannot listen on 127.0.0.1:%ld\n",
		    port);
		cache_free(st.cache);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || info->port == 0)
		fatal("cannot tell the port the daemon listens on");

	if (pid_file != NULL) {
		snprintf(text, sizeof text, "%ld\n", (long)getpid());
		if (write_atomic(pid_file, text) != 0)
			rc = 1;
	}
	if (rc == 0 && port_file != NULL) {
		snprintf(text, sizeof text, "%u\n", (unsigned int)info->port);
		if (write_atomic(port_file, text) != 0)
			rc = 1;
	}
	if (rc == 0) {
		fprintf(stderr, "stage: listening on http://127.0.0.1:%u/ "
		    "(redis %s, version file %s, db delay %d ms, ttl %d s)\n",
		    (unsigned int)info->port, redis, st.version_file,
		    st.db_delay_ms, st.ttl);
		if (sigwait(&set, &sig) != 0)
			sig = 0;
		fprintf(stderr, "stage: %s, stopping\n",
		    sig == SIGINT ? "SIGINT" : "SIGTERM");
	}

	stop(d);
	cache_free(st.cache);
	if (port_file != NULL)
		unlink(port_file);
	if (pid_file != NULL)
		unlink(pid_file);
	return rc;
}
