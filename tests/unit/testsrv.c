/* testsrv.c: see testsrv.h. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "buf.h"
#include "testsrv.h"
#include "xmalloc.h"

int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* In a child before exec: it dies with the test, and keeps the test's
 * output (the TAP stream) free. */
static void
detach_child(const char *log)
{
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		close(fd);
	}
	if (log != NULL && (fd = open(log, O_WRONLY | O_CREAT | O_APPEND,
	    0600)) >= 0) {
		dup2(fd, 2);
		close(fd);
	}
}

static int
spawn(struct testredis *t, const char *extra)
{
	char port[16], *cmd;
	redisContext *c;
	struct timeval tv = { 0, 200000 };
	int i;

	snprintf(port, sizeof port, "%d", t->port);
	if ((t->pid = fork()) < 0)
		return -1;
	if (t->pid == 0) {
		char *log = xprintf("%s/redis.stderr", t->dir);
		detach_child(log);
		cmd = xprintf("exec \"${REDIS_SERVER:-redis-server}\" "
		    "--port %s --bind 127.0.0.1 "
		    "--unixsocket %s --unixsocketperm 700 --save '' "
		    "--appendonly no --dir %s --logfile %s/redis.log "
		    "--daemonize no %s", port, t->sock, t->dir, t->dir,
		    extra ? extra : "");
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		c = redisConnectWithTimeout("127.0.0.1", t->port, tv);
		if (c != NULL && c->err == 0) {
			redisFree(c);
			return 0;
		}
		redisFree(c);
		usleep(50000);
	}
	return -1;
}

int
testredis_start(struct testredis *t, const char *extra)
{
	memset(t, 0, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "/tmp/rehearse-redis-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->sock, sizeof t->sock, "%s/redis.sock", t->dir);
	if ((t->port = free_port()) < 0)
		return -1;
	snprintf(t->url, sizeof t->url, "redis://127.0.0.1:%d/0", t->port);
	return spawn(t, extra);
}

int
testredis_restart(struct testredis *t, const char *extra)
{
	return spawn(t, extra);
}

static void
reap(struct testredis *t, int sig)
{
	if (t->pid <= 0)
		return;
	kill(t->pid, SIGCONT);
	kill(t->pid, sig);
	waitpid(t->pid, NULL, 0);
	t->pid = 0;
}

void
testredis_stop(struct testredis *t)
{
	reap(t, SIGTERM);
}

void
testredis_kill(struct testredis *t)
{
	reap(t, SIGKILL);
}

void
testredis_cleanup(struct testredis *t)
{
	char *cmd;

	testredis_kill(t);
	if (t->dir[0] != '\0') {
		cmd = xprintf("rm -rf '%s'", t->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", t->dir);
		free(cmd);
	}
}

int
testredis_cli(struct testredis *t, char **out, const char *fmt, ...)
{
	va_list ap;
	char *args, *cmd, chunk[4096];
	struct buf b;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	xvasprintf(&args, fmt, ap);
	va_end(ap);
	cmd = xprintf("redis-cli -p %d %s 2>&1", t->port, args);
	free(args);
	if ((p = popen(cmd, "r")) == NULL) {
		free(cmd);
		return -1;
	}
	buf_init(&b);
	buf_add(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
		buf_add(&b, chunk, n);
	st = pclose(p);
	free(cmd);
	if (out != NULL)
		*out = buf_detach(&b);
	else
		buf_free(&b);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool
run_until(struct loop *l, bool (*done)(void *), void *arg, double seconds)
{
	return loop_run_until(l, done, arg, seconds);
}

void
run_for(struct loop *l, double seconds)
{
	run_until(l, NULL, NULL, seconds);
}

struct runbook *
test_runbook(const char *fmt, ...)
{
	va_list ap;
	char *text;
	struct diags d;
	struct runbook *rb;

	va_start(ap, fmt);
	xvasprintf(&text, fmt, ap);
	va_end(ap);
	diags_init(&d);
	rb = runbook_load_buffer("test.yml", text, strlen(text), &d);
	if (rb == NULL) {
		diags_print(&d, "test.yml", stderr);
		fatal("test runbook does not load");
	}
	diags_done(&d);
	free(text);
	return rb;
}

int
teststage_start(struct teststage *t, const char *redis_url, int delay_ms)
{
	const char *top = getenv("top_builddir");
	char portfile[128], buf[32], *bin;
	FILE *f;
	int i;

	memset(t, 0, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "/tmp/rehearse-stage-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->version_file, sizeof t->version_file, "%s/version", t->dir);
	snprintf(portfile, sizeof portfile, "%s/port", t->dir);
	bin = xprintf("%s/tests/stage/stage", top ? top : ".");
	if ((t->pid = fork()) == 0) {
		char delay[16], *log = xprintf("%s/stage.log", t->dir);
		detach_child(log);
		snprintf(delay, sizeof delay, "%d", delay_ms);
		execl(bin, bin, "--port", "0", "--port-file", portfile,
		    "--redis", redis_url, "--db-delay-ms", delay,
		    "--version-file", t->version_file, (char *)NULL);
		_exit(127);
	}
	free(bin);
	for (i = 0; i < 200; i++) {
		if ((f = fopen(portfile, "r")) != NULL) {
			if (fgets(buf, sizeof buf, f) != NULL)
				t->port = atoi(buf);
			fclose(f);
			if (t->port > 0) {
				snprintf(t->base, sizeof t->base,
				    "http://127.0.0.1:%d", t->port);
				return 0;
			}
		}
		usleep(25000);
	}
	return -1;
}

void
teststage_stop(struct teststage *t)
{
	char *cmd;

	if (t->pid > 0) {
		kill(t->pid, SIGTERM);
		waitpid(t->pid, NULL, 0);
		t->pid = 0;
	}
	if (t->dir[0] != '\0') {
		cmd = xprintf("rm -rf '%s'", t->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", t->dir);
		free(cmd);
	}
}

int
teststage_deploy(struct teststage *t, const char *version)
{
	const char *top = getenv("top_srcdir");
	char *cmd = xprintf("STAGE_VERSION_FILE='%s' '%s/runbooks/demo/"
	    "deploy.sh' '%s' >/dev/null", t->version_file, top ? top : ".",
	    version);
	int st = system(cmd);

	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
