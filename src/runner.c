/* runner.c: see runner.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmdline.h"
#include "runner.h"
#include "xmalloc.h"

struct stream {
	struct run	*run;
	int		 fd;
	bool		 err;
	struct event	*ev;
	struct buf	 line;
	bool		 open;
};

struct run {
	struct loop	*loop;
	pid_t		 pid;
	struct stream	 out;
	struct stream	 errs;
	struct timer	*deadline;
	struct timer	*kill_timer;
	struct timer	*reap;		/* polls for the exit */
	double		 started;
	bool		 exited;
	int		 status;
	struct run_result res;
	struct buf	 head;		/* the first RUNNER_CAPTURE bytes */
	struct buf	 tail;		/* a ring of the last ones */
	size_t		 omitted;
	run_line_fn	 line;
	run_done_fn	 done;
	void		*arg;
};

const char *
run_command_text(const struct rb_cmd *c)
{
	return c->text;
}

static const char *
env_lookup(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

void
run_secrets(const struct rb_cmd *c, void (*add)(void *, const char *),
    void *arg)
{
	const char *p, *end, *v;
	char *name;

	for (p = c->text; (p = strstr(p, "${")) != NULL; p = end) {
		if ((end = strchr(p, '}')) == NULL)
			break;
		name = xstrndup(p + 2, (size_t)(end - p - 2));
		if ((v = getenv(name)) != NULL)
			add(arg, v);
		free(name);
	}
}

static void
note_expansions(struct run_result *res, const struct rb_cmd *c)
{
	const char *p, *end, *v;
	char *name;

	for (p = c->text; (p = strstr(p, "${")) != NULL; p = end) {
		if ((end = strchr(p, '}')) == NULL)
			break;
		name = xstrndup(p + 2, (size_t)(end - p - 2));
		if ((v = getenv(name)) != NULL) {
			res->expanded = xreallocarray(res->expanded,
			    res->nexpanded + 1, sizeof *res->expanded);
			res->expanded[res->nexpanded++] = xstrdup(v);
		}
		free(name);
	}
}

/* The argv to execute, ${NAME} expanded: a list's words one by one; a
 * text split again with the values, so that quoting keeps its meaning
 * ('${NAME}' in single quotes stays as written). */
static char **
build_argv(const struct rb_cmd *c, char **cause)
{
	struct cmd_error ce;
	char **argv;
	size_t i, n;

	if (c->shell) {
		argv = xcalloc(4, sizeof *argv);
		argv[0] = xstrdup("/bin/sh");
		argv[1] = xstrdup("-c");
		argv[2] = xstrdup(c->text);	/* the shell expands ${NAME} */
		return argv;
	}
	if (!c->list) {
		if (cmd_split(c->text, env_lookup, NULL, &argv, &n, &ce) != 0) {
			*cause = ce.msg;
			return NULL;
		}
		return argv;
	}
	argv = xcalloc(c->argc + 1, sizeof *argv);
	for (i = 0; i < c->argc; i++) {
		argv[i] = cmd_expand_word(c->argv[i], env_lookup, NULL, &ce);
		if (argv[i] == NULL) {
			*cause = ce.msg;
			cmd_argv_free(argv);
			return NULL;
		}
	}
	return argv;
}

static void
capture(struct run *r, const char *p, size_t len)
{
	size_t room;

	r->res.bytes += len;
	if (r->head.len < RUNNER_CAPTURE) {
		room = RUNNER_CAPTURE - r->head.len;
		if (room > len)
			room = len;
		buf_add(&r->head, p, room);
		p += room;
		len -= room;
	}
	if (len == 0)
		return;
	buf_add(&r->tail, p, len);
	if (r->tail.len > 2 * RUNNER_CAPTURE) {
		/* Keep the last RUNNER_CAPTURE bytes. */
		size_t drop = r->tail.len - RUNNER_CAPTURE;
		r->omitted += drop;
		memmove(r->tail.data, r->tail.data + drop, RUNNER_CAPTURE);
		r->tail.len = RUNNER_CAPTURE;
		r->tail.data[r->tail.len] = '\0';
	}
}

static void
emit(struct stream *s, const char *p, size_t len)
{
	s->run->res.lines++;
	if (s->run->line != NULL)
		s->run->line(p, len, s->err, s->run->arg);
}

static void	maybe_done(struct run *);

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	char chunk[16384];
	ssize_t n;
	size_t i, start;

	(void)what;
	n = read(fd, chunk, sizeof chunk);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (s->line.len > 0)
			emit(s, s->line.data, s->line.len);
		buf_reset(&s->line);
		event_del(s->ev);
		close(s->fd);
		s->open = false;
		maybe_done(s->run);
		return;
	}
	capture(s->run, chunk, (size_t)n);
	for (start = 0, i = 0; i < (size_t)n; i++) {
		if (chunk[i] != '\n')
			continue;
		buf_add(&s->line, chunk + start, i - start);
		emit(s, s->line.data, s->line.len);
		buf_reset(&s->line);
		start = i + 1;
	}
	buf_add(&s->line, chunk + start, (size_t)n - start);
	while (s->line.len >= RUNNER_LINE) {
		emit(s, s->line.data, RUNNER_LINE);
		memmove(s->line.data, s->line.data + RUNNER_LINE,
		    s->line.len - RUNNER_LINE);
		s->line.len -= RUNNER_LINE;
		s->line.data[s->line.len] = '\0';
	}
}

static void
finish(struct run *r)
{
	struct run_result *res = &r->res;
	size_t i;

	res->ms = (loop_now() - r->started) * 1000.0;
	if (WIFEXITED(r->status))
		res->exit_code = WEXITSTATUS(r->status);
	else if (WIFSIGNALED(r->status)) {
		res->exit_code = -1;
		res->signal = WTERMSIG(r->status);
	}
	if (r->tail.len > RUNNER_CAPTURE) {
		size_t drop = r->tail.len - RUNNER_CAPTURE;
		r->omitted += drop;
		memmove(r->tail.data, r->tail.data + drop, RUNNER_CAPTURE);
		r->tail.len = RUNNER_CAPTURE;
		r->tail.data[r->tail.len] = '\0';
	}
	if (r->omitted == 0 && r->tail.len > 0)
		xasprintf(&res->capture, "%s%s", r->head.data, r->tail.data);
	else if (r->omitted > 0)
		xasprintf(&res->capture, "%s\n... %zu bytes not kept ...\n%s",
		    r->head.data ? r->head.data : "", r->omitted,
		    r->tail.data ? r->tail.data : "");
	else
		res->capture = xstrdup(r->head.data ? r->head.data : "");
	if (r->done != NULL)
		r->done(res, r->arg);
	timer_free(r->deadline);
	timer_free(r->kill_timer);
	timer_free(r->reap);
	event_free(r->out.ev);
	event_free(r->errs.ev);
	buf_free(&r->out.line);
	buf_free(&r->errs.line);
	buf_free(&r->head);
	buf_free(&r->tail);
	free(res->capture);
	for (i = 0; i < res->nexpanded; i++) {
		explicit_bzero(res->expanded[i], strlen(res->expanded[i]));
		free(res->expanded[i]);
	}
	free(res->expanded);
	free(r);
}

static void
maybe_done(struct run *r)
{
	if (r->exited && !r->out.open && !r->errs.open)
		finish(r);
}

static void
reap_poll(void *arg)
{
	struct run *r = arg;
	pid_t p;

	if (r->exited)
		return;
	p = waitpid(r->pid, &r->status, WNOHANG);
	if (p == r->pid) {
		r->exited = true;
		timer_disarm(r->deadline);
		timer_disarm(r->kill_timer);
		/* Whatever the group left behind goes too. */
		kill(-r->pid, SIGKILL);
		maybe_done(r);
		return;
	}
	timer_arm(r->reap, 0.02);
}

static void
kill_now(void *arg)
{
	struct run *r = arg;

	if (!r->exited) {
		r->res.killed = true;
		kill(-r->pid, SIGKILL);
	}
}

void
run_stop(struct run *r)
{
	if (r == NULL || r->exited)
		return;
	kill(-r->pid, SIGTERM);
	if (!timer_armed(r->kill_timer))
		timer_arm(r->kill_timer, RUNNER_GRACE_S);
}

static void
timed_out(void *arg)
{
	struct run *r = arg;

	r->res.timed_out = true;
	run_stop(r);
}

static void
stream_open(struct run *r, struct stream *s, int fd, bool err)
{
	s->run = r;
	s->fd = fd;
	s->err = err;
	s->open = true;
	buf_init(&s->line);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	s->ev = event_new(loop_base(r->loop), fd, EV_READ | EV_PERSIST,
	    on_read, s);
	event_add(s->ev, NULL);
}

struct run *
run_start(struct loop *l, const struct rb_cmd *c, const char *dir,
    long timeout_s, run_line_fn line, run_done_fn done, void *arg,
    char **cause)
{
	int out[2], err[2];
	char **argv;
	struct run *r;
	pid_t pid;

	if ((argv = build_argv(c, cause)) == NULL)
		return NULL;
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
		xasprintf(cause, "cannot make pipes: %s", strerror(errno));
		cmd_argv_free(argv);
		return NULL;
	}
	if ((pid = fork()) < 0) {
		xasprintf(cause, "cannot fork: %s", strerror(errno));
		cmd_argv_free(argv);
		return NULL;
	}
	if (pid == 0) {
		/* Its own process group, so that a timeout reaches the
		 * whole tree; default signal handling; no terminal input. */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		dup2(out[1], 1);
		dup2(err[1], 2);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		if (dir != NULL && chdir(dir) != 0) {
			dprintf(2, "rehearse: cannot enter %s: %s\n", dir,
			    strerror(errno));
			_exit(126);
		}
		execvp(argv[0], argv);
		dprintf(2, "rehearse: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	setpgid(pid, pid);
	close(out[1]);
	close(err[1]);
	cmd_argv_free(argv);
	r = xcalloc(1, sizeof *r);
	r->loop = l;
	r->pid = pid;
	r->line = line;
	r->done = done;
	r->arg = arg;
	r->started = loop_now();
	r->res.started = true;
	note_expansions(&r->res, c);
	buf_init(&r->head);
	buf_init(&r->tail);
	stream_open(r, &r->out, out[0], false);
	stream_open(r, &r->errs, err[0], true);
	r->deadline = timer_new(l, timed_out, r);
	r->kill_timer = timer_new(l, kill_now, r);
	r->reap = timer_new(l, reap_poll, r);
	if (timeout_s > 0)
		timer_arm(r->deadline, (double)timeout_s);
	timer_arm(r->reap, 0.01);
	return r;
}
