/* runner.c: see runner.h. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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
	struct timer	*linger;	/* output still open after the exit */
	struct timer	*settle;	/* its group looked at after the exit */
	bool		 settled;	/* what it left was counted, stopped */
	bool		 keep_background;
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

char *
run_background_text(const struct run_result *res)
{
	char *t, *held;

	held = res->output_held ? xstrdup("; its output was still held "
	    "open by a process outside its group, not waited for") :
	    xstrdup("");
	if (res->stopped > 0)
		t = xprintf("; stopped %d process%s left running%s",
		    res->stopped, res->stopped == 1 ? "" : "es", held);
	else if (res->stopped < 0)
		t = xprintf("; stopped what it left running (how many is "
		    "unknown)%s", held);
	else if (res->left_running > 0)
		t = xprintf("; left %d process%s running (keep_background)%s",
		    res->left_running, res->left_running == 1 ? "" : "es",
		    held);
	else if (res->left_running < 0)
		t = xprintf("; left what it started running (keep_background; "
		    "how many is unknown)%s", held);
	else
		return held;
	free(held);
	return t;
}

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

struct secrets_cb {
	void		(*add)(void *, const char *);
	void		*arg;
};

static void
secret_value_cb(const char *name, void *arg)
{
	struct secrets_cb *cb = arg;
	const char *v;

	if ((v = getenv(name)) != NULL)
		cb->add(cb->arg, v);
}

void
run_secrets(const struct rb_cmd *c, void (*add)(void *, const char *),
    void *arg)
{
	struct secrets_cb cb = { add, arg };

	rb_cmd_vars(c, secret_value_cb, &cb);
}

static void
note_cb(void *arg, const char *v)
{
	struct run_result *res = arg;

	res->expanded = xreallocarray(res->expanded, res->nexpanded + 1,
	    sizeof *res->expanded);
	res->expanded[res->nexpanded++] = xstrdup(v);
}

/* The values of the ${NAME} the command uses, kept in the result. */
static void
note_expansions(struct run_result *res, const struct rb_cmd *c)
{
	run_secrets(c, note_cb, res);
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

struct names_cb {
	const char	*name;
	size_t		 len;
	bool		 found;
};

static void
names_cb(const char *name, void *arg)
{
	struct names_cb *cb = arg;

	if (strlen(name) == cb->len && memcmp(name, cb->name, cb->len) == 0)
		cb->found = true;
}

/* True when the command's text names ${name} (name: len bytes). */
static bool
names_var(const struct rb_cmd *c, const char *name, size_t len)
{
	struct names_cb cb = { name, len, false };

	rb_cmd_vars(c, names_cb, &cb);
	return cb.found;
}

/* The child's environment: rehearse's, less the runbook's secret
 * variables that the command does not list in pass_env.  A shell command
 * also sees the ones its text names as ${NAME}: the shell expands them.
 * The strings are environ's; only the array is new. */
static char **
build_env(const struct rb_cmd *c, char *const *secret_vars)
{
	extern char **environ;
	char **env, *const *v;
	const char *eq;
	size_t n, k = 0, len, i;
	bool keep;

	for (n = 0; environ[n] != NULL; n++)
		continue;
	env = xcalloc(n + 1, sizeof *env);
	for (i = 0; i < n; i++) {
		if ((eq = strchr(environ[i], '=')) == NULL)
			continue;
		len = (size_t)(eq - environ[i]);
		keep = true;
		for (v = secret_vars; v != NULL && *v != NULL; v++)
			if (strlen(*v) == len &&
			    memcmp(*v, environ[i], len) == 0)
				keep = false;
		for (v = c->pass_env; !keep && v != NULL && *v != NULL; v++)
			if (strlen(*v) == len &&
			    memcmp(*v, environ[i], len) == 0)
				keep = true;
		if (!keep && c->shell)
			keep = names_var(c, environ[i], len);
		if (keep)
			env[k++] = environ[i];
	}
	return env;
}

/* Each kept part holds RUNNER_SLACK bytes more than it will show: a cut
 * is made after redaction (run_capture_text), so that a secret across a
 * cut is whole in what is scrubbed and leaves no piece of itself. */
#define KEEP	(RUNNER_CAPTURE + RUNNER_SLACK)

static void
capture(struct run *r, const char *p, size_t len)
{
	size_t room;

	r->res.bytes += len;
	if (r->head.len < KEEP) {
		room = KEEP - r->head.len;
		if (room > len)
			room = len;
		buf_add(&r->head, p, room);
		p += room;
		len -= room;
	}
	if (len == 0)
		return;
	buf_add(&r->tail, p, len);
	if (r->tail.len > 2 * KEEP) {
		/* Keep the last KEEP bytes. */
		size_t drop = r->tail.len - KEEP;
		r->omitted += drop;
		memmove(r->tail.data, r->tail.data + drop, KEEP);
		r->tail.len = KEEP;
		r->tail.data[r->tail.len] = '\0';
	}
}

static char *
scrubbed(const char *p, run_scrub_fn scrub, void *arg)
{
	return scrub != NULL ? scrub(p, strlen(p), arg) : xstrdup(p);
}

char *
run_capture_text(const struct run_result *res, run_scrub_fn scrub, void *arg)
{
	const char *head = res->head != NULL ? res->head : "";
	const char *tail = res->tail != NULL ? res->tail : "";
	char *joined, *h, *t, *out;
	size_t hl, skip, tl;

	if (res->omitted == 0) {
		/* All of it: one text, nothing cut. */
		xasprintf(&joined, "%s%s", head, tail);
		out = scrubbed(joined, scrub, arg);
		free(joined);
		return out;
	}
	/* The head loses its last RUNNER_SLACK bytes after redaction, the
	 * tail its first ones; neither cuts a UTF-8 character. */
	h = scrubbed(head, scrub, arg);
	hl = strlen(h);
	hl = hl > RUNNER_SLACK ? hl - RUNNER_SLACK : 0;
	while (hl > 0 && ((unsigned char)h[hl] & 0xc0) == 0x80)
		hl--;
	h[hl] = '\0';
	t = scrubbed(tail, scrub, arg);
	tl = strlen(t);
	skip = tl > RUNNER_SLACK ? RUNNER_SLACK : tl;
	while (skip < tl && ((unsigned char)t[skip] & 0xc0) == 0x80)
		skip++;
	xasprintf(&out, "%s\n... %zu bytes not kept ...\n%s", h,
	    res->omitted + 2 * RUNNER_SLACK,
	    t + skip);
	explicit_bzero(h, strlen(h));
	explicit_bzero(t, tl);
	free(h);
	free(t);
	return out;
}

static void
emit(struct stream *s, const char *p, size_t len)
{
	s->run->res.lines++;
	if (s->run->line != NULL)
		s->run->line(p, len, s->err, s->run->arg);
}

static void	maybe_done(struct run *);
static void	stream_close(struct stream *);

/* Reads once: 1 when data came, 0 at the end (the stream is closed), -1
 * when there is nothing to read now. */
static int
stream_read(struct stream *s)
{
	char chunk[16384];
	ssize_t n;
	size_t i, start;

	n = read(s->fd, chunk, sizeof chunk);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return -1;
	if (n <= 0) {
		stream_close(s);
		return 0;
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
	return 1;
}

static void
stream_close(struct stream *s)
{
	if (!s->open)
		return;
	if (s->line.len > 0)
		emit(s, s->line.data, s->line.len);
	buf_reset(&s->line);
	event_del(s->ev);
	close(s->fd);
	s->open = false;
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;

	(void)fd;
	(void)what;
	if (stream_read(s) == 0)
		maybe_done(s->run);
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
	if (r->tail.len > KEEP) {
		size_t drop = r->tail.len - KEEP;
		r->omitted += drop;
		memmove(r->tail.data, r->tail.data + drop, KEEP);
		r->tail.len = KEEP;
		r->tail.data[r->tail.len] = '\0';
	}
	res->head = r->head.data;
	res->tail = r->tail.data;
	res->omitted = r->omitted;
	res->capture = run_capture_text(res, NULL, NULL);
	if (r->done != NULL)
		r->done(res, r->arg);
	timer_free(r->deadline);
	timer_free(r->kill_timer);
	timer_free(r->linger);
	timer_free(r->settle);
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
	if (r->exited && r->settled && !r->out.open && !r->errs.open)
		finish(r);
}

/* How many live processes are in process group pgid (from /proc); -1
 * when that cannot be told. */
static int
group_count(pid_t pgid)
{
	char path[300], stat[512], *p;
	struct dirent *e;
	long grp;
	ssize_t n;
	DIR *d;
	int fd, count = 0;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, stat, sizeof stat - 1);
		close(fd);
		if (n <= 0)
			continue;
		stat[n] = '\0';
		/* pid (comm) state ppid pgrp ...; comm may hold anything. */
		if ((p = strrchr(stat, ')')) == NULL || p[1] != ' ')
			continue;
		if (p[2] == 'Z' || p[2] == 'X')
			continue;	/* dead, not yet reaped */
		if (sscanf(p + 3, "%*d %ld", &grp) == 1 && grp == (long)pgid)
			count++;
	}
	closedir(d);
	return count;
}

/* After the exit: what is still reading from the pipes is read now, and
 * the pipes are closed: a process that left the group (setsid) or that
 * keep_background kept must not hold the step open. */
static void
linger_done(void *arg)
{
	struct run *r = arg;
	struct stream *s[2] = { &r->out, &r->errs };
	int i, n;

	for (i = 0; i < 2; i++) {
		if (!s[i]->open)
			continue;
		/* Bounded: what is in the pipe now, and no more. */
		for (n = 0; n < 64 && stream_read(s[i]) == 1; n++)
			continue;
		if (s[i]->open) {
			/* Expected of what keep_background kept; otherwise
			 * something outside the group holds it. */
			if (!r->keep_background || r->res.left_running == 0)
				r->res.output_held = true;
			stream_close(s[i]);
		}
	}
	maybe_done(r);
}

/* What the group left running is stopped, unless the command asked to
 * keep it; either way it is counted.  -1: some, but /proc cannot say how
 * many. */
static void
group_settle(void *arg)
{
	struct run *r = arg;
	int left;

	left = kill(-r->pid, 0) == 0 ? group_count(r->pid) : 0;
	if (r->keep_background)
		r->res.left_running = left;
	else {
		kill(-r->pid, SIGKILL);
		r->res.stopped = left;
	}
	r->settled = true;
	if (r->out.open || r->errs.open)
		timer_arm(r->linger, RUNNER_LINGER_S);
	maybe_done(r);
}

/* From the loop, on SIGCHLD: the command exited and is reaped.  What it
 * left in its group is looked at RUNNER_SETTLE_S later, so that a daemon
 * caught between its fork and its setsid is not taken for a leftover. */
static void
child_exited(pid_t pid, int status, void *arg)
{
	struct run *r = arg;

	(void)pid;
	r->status = status;
	r->exited = true;
	timer_disarm(r->deadline);
	timer_disarm(r->kill_timer);
	if (kill(-r->pid, 0) == 0)
		timer_arm(r->settle, RUNNER_SETTLE_S);
	else
		group_settle(r);
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

/* In the child, before exec: every descriptor from 3 up is closed, so
 * that the command holds nothing of rehearse's (the Redis connection,
 * curl's sockets, the audit log, whatever rehearse itself inherited).
 * Only async-signal-safe calls: the parent may have threads. */
static void
close_from_3(void)
{
	struct rlimit rl;
	char dents[4096];
	long n, off, fd, max;
	int dir;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
#endif
	/* Older kernels: the open descriptors from /proc, read raw. */
	if ((dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) >= 0) {
		while ((n = syscall(SYS_getdents64, dir, dents,
		    sizeof dents)) > 0) {
			for (off = 0; off < n;) {
				/* struct linux_dirent64: ino, off, reclen,
				 * type, name. */
				unsigned short reclen;
				const char *name = dents + off + 19;

				memcpy(&reclen, dents + off + 16,
				    sizeof reclen);
				for (fd = 0; *name >= '0' && *name <= '9';
				    name++)
					fd = fd * 10 + (*name - '0');
				if (*name == '\0' && fd >= 3 && fd != dir)
					close((int)fd);
				off += reclen;
			}
		}
		close(dir);
		return;
	}
	max = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : 65536;
	for (fd = 3; fd < max; fd++)
		close((int)fd);
}

struct run *
run_start(struct loop *l, const struct rb_cmd *c, const char *dir,
    char *const *secret_vars, long timeout_s, run_line_fn line,
    run_done_fn done, void *arg, char **cause)
{
	int out[2], err[2], nul, o, e;
	char **argv, **env;
	struct run *r;
	sigset_t none;
	pid_t pid;

	if ((argv = build_argv(c, cause)) == NULL)
		return NULL;
	if (pipe2(out, O_CLOEXEC) != 0) {
		xasprintf(cause, "cannot make pipes: %s", strerror(errno));
		cmd_argv_free(argv);
		return NULL;
	}
	if (pipe2(err, O_CLOEXEC) != 0) {
		xasprintf(cause, "cannot make pipes: %s", strerror(errno));
		close(out[0]);
		close(out[1]);
		cmd_argv_free(argv);
		return NULL;
	}
	env = build_env(c, secret_vars);
	if ((pid = fork()) < 0) {
		xasprintf(cause, "cannot fork: %s", strerror(errno));
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		free(env);
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
		signal(SIGHUP, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Above 2 first, so that a pipe that happens to be 1 or 2
		 * (rehearse started with them closed) is not lost. */
		o = fcntl(out[1], F_DUPFD_CLOEXEC, 3);
		e = fcntl(err[1], F_DUPFD_CLOEXEC, 3);
		nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		if (nul < 0 || dup2(nul, 0) < 0) {
			dprintf(2, "rehearse: cannot open /dev/null: %s\n",
			    strerror(errno));
			_exit(126);
		}
		close_from_3();
		if (dir != NULL && chdir(dir) != 0) {
			dprintf(2, "rehearse: cannot enter %s: %s\n", dir,
			    strerror(errno));
			_exit(126);
		}
		execvpe(argv[0], argv, env);
		dprintf(2, "rehearse: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	setpgid(pid, pid);
	close(out[1]);
	close(err[1]);
	free(env);
	cmd_argv_free(argv);
	r = xcalloc(1, sizeof *r);
	r->loop = l;
	r->pid = pid;
	r->line = line;
	r->done = done;
	r->arg = arg;
	r->keep_background = c->keep_background;
	r->started = loop_now();
	r->res.started = true;
	note_expansions(&r->res, c);
	buf_init(&r->head);
	buf_init(&r->tail);
	stream_open(r, &r->out, out[0], false);
	stream_open(r, &r->errs, err[0], true);
	r->deadline = timer_new(l, timed_out, r);
	r->kill_timer = timer_new(l, kill_now, r);
	r->linger = timer_new(l, linger_done, r);
	r->settle = timer_new(l, group_settle, r);
	if (timeout_s > 0)
		timer_arm(r->deadline, (double)timeout_s);
	loop_child(l, pid, child_exited, r);
	return r;
}
