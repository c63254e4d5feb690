/* dash_panes.c: drawing the dashboard: the header and its banner, the
 * steps, the selected step's detail, the Redis and HTTP readouts, the
 * output of commands and the rollback bar.  It reads the session, the
 * readouts and the monitor; it changes nothing. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cluster.h"
#include "curses_inc.h"
#include "dash.h"
#include "dashboard.h"
#include "draw.h"
#include "glyphs.h"
#include "loop.h"
#include "monitor.h"
#include "readout.h"
#include "redis.h"
#include "runbook_show.h"
#include "sentinel.h"
#include "session.h"
#include "textesc.h"
#include "xmalloc.h"

static int
state_pair(enum step_state s)
{
	switch (s) {
	case STEP_PASSED:
		return PAIR_OK;
	case STEP_FAILED:
		return PAIR_FAIL;
	case STEP_DEGRADED:
	case STEP_RUNNING:
		return PAIR_WARN;
	default:
		return 0;
	}
}

static const char *
state_glyph(const struct dash *d, enum step_state s)
{
	switch (s) {
	case STEP_PASSED:
		return d->g->pass;
	case STEP_FAILED:
		return d->g->fail;
	case STEP_DEGRADED:
		return d->g->degraded;
	case STEP_SKIPPED:
		return d->g->skipped;
	case STEP_RUNNING:
		return d->g->running;
	case STEP_PENDING:
		break;
	}
	return d->g->pending;
}

static void
draw_header(struct dash *d)
{
	const struct runbook *rb = d->rb;
	char line[512];
	const char *audit = session_audit_text(d->session);
	const char *refusal = session_audit_refusal(d->session);

	snprintf(line, sizeof line, " rehearse  %s%s  owner: %s  env: %s  "
	    "audit: %s", rb->has_redis && rb->redis.tls.on &&
	    !rb->redis.tls.verify ? "TLS certificate NOT checked  " : "",
	    rb->title, rb->owner, rb->environment, audit);
	ui_attr(PAIR_HEAD, A_REVERSE, true);
	mvhline(0, 0, ' ', COLS);
	{
		char *e = esc_str(line, 0);
		ui_put(0, 0, COLS, e);
		free(e);
	}
	ui_attr(PAIR_HEAD, A_REVERSE, false);
	if (d->env->read_only || refusal != NULL) {
		ui_attr(PAIR_BANNER, A_REVERSE | A_BOLD, true);
		mvhline(1, 0, ' ', COLS);
		if (d->env->read_only)
			ui_put(1, 0, COLS, " READ-ONLY: live readouts only; no "
			    "purge, no command, nothing written");
		else {
			char *e = xprintf(" THE AUDIT LOG STOPPED (%s): "
			    "destructive actions are refused",
			    refusal);
			ui_put(1, 0, COLS, e);
			free(e);
		}
		ui_attr(PAIR_BANNER, A_REVERSE | A_BOLD, false);
	}
}

static int
draw_steps(struct dash *d, int top, int height, int width)
{
	const struct step_run *r;
	size_t i, first = 0;
	char line[256], *t;
	int y = top;

	if (d->sel >= (size_t)height)
		first = d->sel - (size_t)height + 1;
	for (i = first; i < d->rb->nsteps && y < top + height; i++) {
		if (!dash_visible(d, i))
			continue;
		r = session_step(d->session, i);
		t = esc_str(d->rb->steps[i].title, 0);
		snprintf(line, sizeof line, "%c%2zu %s %s", i == d->sel ? '>' :
		    ' ', i + 1, state_glyph(d, r->state), t);
		free(t);
		if (i == d->sel)
			attron(A_REVERSE);
		ui_attr(state_pair(r->state), A_BOLD, state_pair(r->state) != 0);
		ui_put(y, 0, width - 1, line);
		ui_attr(state_pair(r->state), A_BOLD, false);
		if (i == d->sel)
			attroff(A_REVERSE);
		y++;
	}
	return y;
}

/* Wraps text over at most rows lines of width. */
static int
wrap(int y, int x, int width, int rows, const char *label, const char *text)
{
	char *e, *s;
	size_t len;
	int used = 0, lw = (int)strlen(label);

	if (text == NULL || rows <= 0)
		return y;
	e = esc_str(text, 0);
	s = e;
	attron(A_BOLD);
	ui_put(y, x, width, label);
	attroff(A_BOLD);
	while (*s != '\0' && used < rows) {
		len = strlen(s);
		if ((int)len > width - lw)
			len = (size_t)(width - lw);
		ui_put(y + used, x + lw, (int)len, s);
		s += len;
		used++;
	}
	free(e);
	return y + (used ? used : 1);
}

static void
draw_detail(struct dash *d, int top, int left, int height, int width)
{
	const struct rb_step *st = &d->rb->steps[d->sel];
	const struct step_run *r = session_step(d->session, d->sel);
	char *what = step_describe(d->rb, st), *line;
	int y = top, end = top + height;
	size_t i;

	line = xprintf("Step %zu: ", d->sel + 1);
	y = wrap(y, left, width, 1, line, st->title);
	free(line);
	y = wrap(y, left, width, 2, "does:     ", what);
	free(what);
	y = wrap(y, left, width, 2, "why:      ", st->why);
	y = wrap(y, left, width, 2, "expect:   ", st->expect_text);
	y = wrap(y, left, width, 2, "owner:    ", st->owner_note);
	if (step_kind_of(st)->person)
		y = wrap(y, left, width, 2, "check:    ", st->instruction);
	ui_attr(state_pair(r->state), A_BOLD, state_pair(r->state) != 0);
	y = wrap(y, left, width, 1, "state:    ", step_state_name(r->state));
	ui_attr(state_pair(r->state), A_BOLD, false);
	if (y < end)
		y = wrap(y, left, width, 2, "observed: ", r->observed);
	if (y < end && r->reason != NULL && r->state != STEP_PASSED)
		y = wrap(y, left, width, 2, "why not:  ", r->reason);
	for (i = 0; i < r->checks.n && y < end; i++) {
		if (r->checks.v[i].verdict == VERDICT_PASS)
			continue;
		line = xprintf("%s %s: expected %s, got %s",
		    verdict_name(r->checks.v[i].verdict), r->checks.v[i].what,
		    r->checks.v[i].expected, r->checks.v[i].observed);
		ui_attr(PAIR_FAIL, A_BOLD, true);
		ui_put(y++, left + 2, width - 2, line);
		ui_attr(PAIR_FAIL, A_BOLD, false);
		free(line);
	}
}

static const char *
human_bytes(long long n, char *buf, size_t len)
{
	if (n >= 1 << 30)
		snprintf(buf, len, "%.1fG", (double)n / (1 << 30));
	else if (n >= 1 << 20)
		snprintf(buf, len, "%.1fM", (double)n / (1 << 20));
	else if (n >= 1 << 10)
		snprintf(buf, len, "%.1fK", (double)n / (1 << 10));
	else
		snprintf(buf, len, "%lld", n);
	return buf;
}

/* With Sentinel: which node is master now, since when and why (one line,
 * under the Redis header; sentinel_describe escapes it). */
static int
draw_master(struct dash *d, int y, int left, int width)
{
	char line[600];

	if (d->env->sentinel == NULL)
		return y;
	line[0] = line[1] = ' ';
	sentinel_describe(d->env->sentinel, line + 2, sizeof line - 2);
	ui_put(y, left, width, line);
	return y + 1;
}

/* A rate for the screen: "12/s", "0.5/s", or "--" while unknown. */
static const char *
rate_text(const struct rate *r, char *buf, size_t len)
{
	if (r->per_s < 0)
		snprintf(buf, len, "--");
	else if (r->per_s < 10 && r->per_s != (double)(long long)r->per_s)
		snprintf(buf, len, "%.1f/s", r->per_s);
	else
		snprintf(buf, len, "%.0f/s", r->per_s);
	return buf;
}

/* "mem 1.2M of 2.0G (60%) allkeys-lru", "mem 1.2M, no limit, noeviction" */
static void
memory_text(const struct readout *x, char *buf, size_t len)
{
	char used[32], max[32];
	const char *pol = x->maxmemory_policy[0] ? x->maxmemory_policy :
	    "policy unknown";

	human_bytes(x->used_memory, used, sizeof used);
	if (x->maxmemory < 0)
		snprintf(buf, len, "mem %s, maxmemory unknown", used);
	else if (x->maxmemory == 0)
		snprintf(buf, len, "mem %s, no limit, %s", used, pol);
	else
		snprintf(buf, len, "mem %s of %s (%.0f%%) %s", used,
		    human_bytes(x->maxmemory, max, sizeof max),
		    100.0 * (double)x->used_memory / (double)x->maxmemory, pol);
}

/* One readout line, dimmed when stale. */
static void
readout_line(int y, int left, int width, bool dim, const char *text)
{
	char *e = esc_str(text, 0);

	if (dim)
		attron(A_DIM);
	ui_put(y, left, width, e);
	if (dim)
		attroff(A_DIM);
	free(e);
}

/* Cluster mode ------------------------------------------------------------ */

/* A sum of bytes: "12.2M", ">=8.1M?" (a node did not answer), "--". */
static const char *
sum_bytes(const struct readout_sum *s, char *buf, size_t len)
{
	char h[32];

	if (s->known == 0)
		snprintf(buf, len, "--");
	else
		snprintf(buf, len, "%s%s%s", s->missing ? ">=" : "",
		    human_bytes((long long)s->v, h, sizeof h), s->missing ?
		    "?" : "");
	return buf;
}

/* A sum of a count or a rate: "3500", "12/s", ">=2000?", "--". */
static const char *
sum_count(const struct readout_sum *s, const char *unit, char *buf,
    size_t len)
{
	if (s->known == 0)
		snprintf(buf, len, "--");
	else
		snprintf(buf, len, "%s%.0f%s%s", s->missing ? ">=" : "", s->v,
		    unit, s->missing ? "?" : "");
	return buf;
}

/* A node's problem, or NULL: down, cluster_state not ok, readouts
 * unknown. */
static const char *
node_trouble(const struct readout_node *rn, char *buf, size_t len)
{
	if (!rn->up && strncmp(rn->conn, "down: ", 6) == 0)
		snprintf(buf, len, "DOWN: %s", rn->conn + 6);
	else if (!rn->up)
		snprintf(buf, len, "%s", rn->conn);	/* connecting */
	else if (rn->failing)
		snprintf(buf, len, "cluster_state:%s", rn->node->state);
	else if (rn->r->state == READOUT_UNKNOWN)
		snprintf(buf, len, "readouts unknown: %s", rn->r->why);
	else
		return NULL;
	return buf;
}

/* One node's line, most telling first so that a narrow pane cuts the
 * least: "P 127.0.0.1:7001 mem 2.1M of 4.0G (52%) keys 1505 ops 943/s
 * hits 3/s misses 0/s ev 0/s", a replica "R ... <127.0.0.1:7001", or its
 * trouble. */
static void
node_line(struct dash *d, const struct readout_node *rn, int y, int left,
    int width)
{
	const struct readout *x = rn->r;
	const struct cluster_node *p;
	char line[700], trouble[400], mem[64], used[32], max[32], h[24], m[24];
	char ev[24], of[160] = "";
	bool stale = readout_stale(x, d->rb->redis.refresh_s, loop_now(),
	    NULL);

	if (!rn->node->primary && rn->node->primary_of >= 0 &&
	    (p = cluster_node(d->env->cluster, (size_t)rn->node->primary_of)) !=
	    NULL) {
		/* "<:7001" on the same host: narrow panes cut less. */
		if (strcmp(p->host, rn->node->host) == 0)
			snprintf(of, sizeof of, " <:%d", p->port);
		else
			snprintf(of, sizeof of, " <%s", p->addr);
	}
	if (node_trouble(rn, trouble, sizeof trouble) != NULL) {
		snprintf(line, sizeof line, "  %c %s%s %s", rn->node->primary ?
		    'P' : 'R', rn->node->addr, of, trouble);
		ui_attr(rn->node->primary ? PAIR_FAIL : PAIR_WARN, A_BOLD, true);
		readout_line(y, left, width, false, line);
		ui_attr(rn->node->primary ? PAIR_FAIL : PAIR_WARN, A_BOLD,
		    false);
		return;
	}
	if (!x->valid)
		snprintf(mem, sizeof mem, "...");
	else if (!x->sec_ok[INFO_MEMORY] || x->used_memory < 0)
		snprintf(mem, sizeof mem, "mem --");
	else if (x->maxmemory > 0)
		snprintf(mem, sizeof mem, "mem %s of %s (%.0f%%)",
		    human_bytes(x->used_memory, used, sizeof used),
		    human_bytes(x->maxmemory, max, sizeof max), 100.0 *
		    (double)x->used_memory / (double)x->maxmemory);
	else
		snprintf(mem, sizeof mem, "mem %s%s", human_bytes(x->used_memory,
		    used, sizeof used), x->maxmemory == 0 ? ", no limit" : "");
	snprintf(line, sizeof line, "  %c %s%s %s", rn->node->primary ? 'P' :
	    'R', rn->node->addr, of, mem);
	if (rn->node->primary && x->valid)
		snprintf(line + strlen(line), sizeof line - strlen(line),
		    "  keys %lld", x->dbsize);
	if (x->valid && x->sec_ok[INFO_STATS])
		snprintf(line + strlen(line), sizeof line - strlen(line),
		    "  ops %lld/s  hits %s  misses %s  ev %s", x->ops_per_sec,
		    rate_text(&x->hits_rate, h, sizeof h),
		    rate_text(&x->misses_rate, m, sizeof m),
		    rate_text(&x->evicted_rate, ev, sizeof ev));
	readout_line(y, left, width, stale, line);
}

/* The order nodes are drawn in: those in trouble first, then primaries,
 * then replicas (a short pane shows what matters). */
static int
node_rank(const struct readout_node *rn)
{
	char t[8];

	if (node_trouble(rn, t, sizeof t) != NULL)
		return rn->node->primary ? 0 : 1;
	return rn->node->primary ? 2 : 3;
}

/* The Redis pane on a cluster: the cluster's state, its totals, a line per
 * node (as many as fit above maxy, the rest counted) and the routes'
 * counts over every primary. */
static int
draw_cluster(struct dash *d, int y, int left, int width, int maxy)
{
	struct readout_totals t;
	struct readout_node rn;
	char line[700], mem[64], keys[64], ops[48], h[48], m[48], ev[48];
	char unk[64];
	double now = loop_now();
	size_t i, nroutes = 0, shown = 0, listed = 0, fit;
	int rank, room;

	readouts_totals(d->ro, &t);
	if (t.problem == NULL)
		snprintf(line, sizeof line, "redis cluster ok: %zu primar%s, %zu "
		    "replica%s", t.primaries, t.primaries == 1 ? "y" : "ies",
		    t.replicas, t.replicas == 1 ? "" : "s");
	else
		snprintf(line, sizeof line, "redis cluster NOT OK: %s",
		    t.problem);
	ui_attr(t.problem == NULL ? PAIR_OK : PAIR_FAIL, A_BOLD, true);
	readout_line(y++, left, width, false, line);
	ui_attr(t.problem == NULL ? PAIR_OK : PAIR_FAIL, A_BOLD, false);
	/* A node unknown is said first: a cut line still says it. */
	snprintf(unk, sizeof unk, ", %zu of %zu nodes unknown",
	    t.used_memory.missing, t.nodes);
	snprintf(line, sizeof line, "  total%s: mem %s  keys %s  ops %s  hits %s  "
	    "misses %s  ev %s", t.used_memory.missing > 0 ? unk : "",
	    sum_bytes(&t.used_memory, mem, sizeof mem),
	    sum_count(&t.keys, "", keys, sizeof keys),
	    sum_count(&t.ops, "/s", ops, sizeof ops),
	    sum_count(&t.hits, "/s", h, sizeof h),
	    sum_count(&t.misses, "/s", m, sizeof m),
	    sum_count(&t.evicted, "/s", ev, sizeof ev));
	readout_line(y++, left, width, false, line);
	for (i = 0; i < d->rb->nroutes; i++)
		if (d->rb->routes[i].nkeys > 0)
			nroutes++;
	/* As many nodes as fit above the routes; when not all do, the
	   last row counts the others. */
	room = maxy - y - (int)nroutes;
	for (i = 0; i < readouts_nnodes(d->ro); i++)
		if (readouts_node(d->ro, i, &rn))
			listed++;
	fit = room <= 0 ? 0 : (size_t)room >= listed ? listed :
	    (size_t)room - 1;
	for (rank = 0; rank < 4 && shown < fit; rank++)
		for (i = 0; i < readouts_nnodes(d->ro) && shown < fit; i++) {
			if (!readouts_node(d->ro, i, &rn) ||
			    node_rank(&rn) != rank)
				continue;
			node_line(d, &rn, y++, left, width);
			shown++;
		}
	if (room > 0 && shown < listed) {
		snprintf(line, sizeof line, "  +%zu more nodes", listed - shown);
		readout_line(y++, left, width, false, line);
	}
	for (i = 0; i < d->rb->nroutes; i++) {
		char what[500];

		if (d->rb->routes[i].nkeys == 0)
			continue;
		readout_route_total_text(d->ro, i, now, what, sizeof what);
		snprintf(line, sizeof line, "  %s: %s", d->rb->routes[i].name,
		    what);
		readout_line(y++, left, width, false, line);
	}
	return y;
}

static int
draw_redis(struct dash *d, int y, int left, int width, int maxy)
{
	const struct readout *x;
	char state[300], line[512], role[200], mem[300], h[24], m[24], ev[24];
	char denied[200], age[24];
	double now = loop_now(), age_s = 0;
	size_t i, used;
	bool up, stale, any = false;
	int sec, nden;

	if (d->env->redis == NULL)
		return y;
	if (d->ro != NULL && readouts_clustered(d->ro))
		return draw_cluster(d, y, left, width, maxy);
	redis_describe(d->env->redis, state, sizeof state);
	x = readouts_get(d->ro);
	up = redis_status(d->env->redis)->state == REDIS_UP;
	stale = readout_stale(x, d->rb->redis.refresh_s, now, &age_s) ||
	    (x->valid && !up);
	readout_describe_role(&x->node, role, sizeof role);
	ui_attr(up ? PAIR_OK : PAIR_FAIL, A_BOLD, true);
	snprintf(line, sizeof line, "redis %s%s%s", state, up && x->state ==
	    READOUT_OK ? ", " : "", up && x->state == READOUT_OK ? role : "");
	ui_put(y, left, width, line);
	ui_attr(up ? PAIR_OK : PAIR_FAIL, A_BOLD, false);
	y++;
	y = draw_master(d, y, left, width);
	if (d->env->cluster != NULL && cluster_mode(d->env->cluster) ==
	    CLUSTER_ON) {
		/* Found, its topology not yet: no count of this node alone
		   is shown as the cluster's. */
		const char *pr = cluster_problem(d->env->cluster);

		snprintf(line, sizeof line, "  cluster mode: %s", pr != NULL ?
		    pr : "reading every node");
		ui_attr(PAIR_WARN, A_BOLD, true);
		readout_line(y++, left, width, false, line);
		ui_attr(PAIR_WARN, A_BOLD, false);
	}
	for (sec = 0; sec < INFO_NSECTIONS; sec++)
		any = any || x->sec_ok[sec];
	if (up && x->state == READOUT_UNKNOWN && !any && !stale) {
		/* Unknown is unknown: no stale or zero numbers. */
		snprintf(line, sizeof line, "  readouts unknown: %s", x->why);
		ui_attr(PAIR_FAIL, A_BOLD, true);
		ui_put(y++, left, width, line);
		ui_attr(PAIR_FAIL, A_BOLD, false);
	}
	/* The sections this user may not read, named: "not permitted for
	   this user: INFO memory, stats". */
	snprintf(denied, sizeof denied, "  not permitted for this user: INFO ");
	used = strlen(denied);
	nden = 0;
	for (sec = 0; sec < INFO_NSECTIONS; sec++) {
		if (x->sec_ok[sec] || strncmp(x->sec_why[sec], "not permitted",
		    13) != 0)
			continue;
		snprintf(denied + used, sizeof denied - used, "%s%s",
		    nden++ == 0 ? "" : ", ", readout_section_name(sec));
		used = strlen(denied);
	}
	if (nden == 0)
		denied[0] = '\0';
	if (denied[0] != '\0') {
		ui_attr(PAIR_WARN, A_BOLD, true);
		readout_line(y++, left, width, false, denied);
		ui_attr(PAIR_WARN, A_BOLD, false);
	}
	if (x->valid) {
		if (stale) {
			readout_duration(age_s, age, sizeof age);
			snprintf(line, sizeof line, "  readouts %s old: not "
			    "refreshing", age);
			readout_line(y++, left, width, true, line);
		}
		if (x->used_memory >= 0 && (x->sec_ok[INFO_MEMORY] || stale))
			memory_text(x, mem, sizeof mem);
		else
			snprintf(mem, sizeof mem, "mem --");
		snprintf(line, sizeof line, "  %s  keys %lld  clients %s",
		    mem, x->dbsize, x->clients >= 0 ? "" : "--");
		if (x->clients >= 0)
			snprintf(line + strlen(line), sizeof line - strlen(line),
			    "%lld", x->clients);
		readout_line(y++, left, width, stale, line);
		if (x->sec_ok[INFO_STATS] || stale || x->hits_rate.have) {
			snprintf(line, sizeof line, "  hits %s  misses %s  "
			    "evictions %s  ops %lld/s",
			    rate_text(&x->hits_rate, h, sizeof h),
			    rate_text(&x->misses_rate, m, sizeof m),
			    rate_text(&x->evicted_rate, ev, sizeof ev),
			    x->ops_per_sec);
			readout_line(y++, left, width, stale, line);
			if (x->rate_note[0] != '\0') {
				snprintf(line, sizeof line, "  %s",
				    x->rate_note);
				readout_line(y++, left, width, stale, line);
			}
		}
		if (strcmp(x->node.role, "replica") == 0) {
			snprintf(line, sizeof line, "  link %s  offset %lld  "
			    "last I/O from master %s", x->link_status[0] ?
			    x->link_status : "unknown", x->repl_offset,
			    x->master_io_s < 0 ? "unknown" : "");
			if (x->master_io_s >= 0)
				snprintf(line + strlen(line), sizeof line -
				    strlen(line), "%lld s ago", x->master_io_s);
			readout_line(y++, left, width, stale, line);
		}
	}
	for (i = 0; i < x->nroutes; i++) {
		char what[400];

		if (d->rb->routes[i].nkeys == 0)
			continue;
		readout_route_text(x, i, now, what, sizeof what);
		snprintf(line, sizeof line, "  %s: %s", d->rb->routes[i].name,
		    what);
		readout_line(y++, left, width, stale && !x->routes[i].counting,
		    line);
	}
	return y;
}

static int
draw_http(struct dash *d, int y, int left, int width)
{
	const struct watch *w;
	struct buf spark;
	char line[512], *e;
	size_t i;

	for (i = 0; i < monitor_count(d->mon); i++) {
		w = monitor_get(d->mon, i);
		const char *who = w->profile == RB_NONE ? "anon" :
		    d->rb->http.profiles[w->profile].name;
		buf_init(&spark);
		buf_add(&spark, "", 0);
		glyphs_sparkline(d->g, w->history, w->nhistory, 12, &spark);
		if (w->waiting && loop_now() - w->sent > 1.0)
			snprintf(line, sizeof line, "%-12.12s %-9.9s waiting %.1f s",
			    d->rb->routes[w->route].name, who,
			    loop_now() - w->sent);
		else if (!w->seen)
			snprintf(line, sizeof line, "%-12.12s %-9.9s ...",
			    d->rb->routes[w->route].name, who);
		else if (!w->ok)
			snprintf(line, sizeof line, "%-12.12s %-9.9s %s",
			    d->rb->routes[w->route].name, who, w->error);
		else
			snprintf(line, sizeof line, "%-12.12s %-9.9s %3ld %-6.6s "
			    "%6.1f ms  fb %6.1f  %s  p50 %.1f p95 %.1f",
			    d->rb->routes[w->route].name, who, w->status,
			    w->cache, w->total_ms, w->ttfb_ms, spark.data,
			    w->p50_ms, w->p95_ms);
		buf_free(&spark);
		e = esc_str(line, 0);
		ui_attr(w->seen && !w->ok ? PAIR_FAIL : 0, A_BOLD,
		    w->seen && !w->ok);
		ui_put(y++, left, width, e);
		ui_attr(PAIR_FAIL, A_BOLD, false);
		free(e);
	}
	return y;
}

static void
draw_output(struct dash *d, int top, int left, int height, int width)
{
	size_t first, i;
	int y = top;

	if (height <= 0 || d->nout == 0)
		return;
	first = d->nout > (size_t)height ? d->nout - (size_t)height : 0;
	for (i = first; i < d->nout && y < top + height; i++)
		ui_put(y++, left, width, d->out[i]);
}

static void
draw_rollback_bar(struct dash *d, int y)
{
	const struct rb_rollback *rl;
	char line[512], check[96], when[16], *e;
	struct tm tm;
	size_t i;

	mvhline(y, 0, ' ', COLS);
	if (d->rb->nrollbacks == 0) {
		ui_put(y, 0, COLS, " no rollback in this runbook");
		return;
	}
	rl = &d->rb->rollbacks[0];
	/* When its check last ran, and how it went. */
	check[0] = '\0';
	for (i = 0; i < d->rb->nsteps; i++) {
		const struct step_run *r = session_step(d->session, i);
		if (d->rb->steps[i].rollback != 0 || r->ended == 0)
			continue;
		localtime_r(&r->ended, &tm);
		strftime(when, sizeof when, "%H:%M:%S", &tm);
		snprintf(check, sizeof check, "  | check %s at %s",
		    step_state_name(r->state), when);
	}
	if (check[0] == '\0' && rl->has_check)
		snprintf(check, sizeof check, "  | check not run yet");
	snprintf(line, sizeof line, " [b] rollback %s: %s%s%s%s", rl->name,
	    rl->run.text, check, d->rollback_seen[0] ? "  | " : "",
	    d->rollback_seen);
	e = esc_str(line, 0);
	ui_attr(PAIR_WARN, A_BOLD, true);
	ui_put(y, 0, COLS, e);
	ui_attr(PAIR_WARN, A_BOLD, false);
	free(e);
}

void
dash_draw(struct dash *d)
{
	int top = d->env->read_only || session_audit_refusal(d->session) !=
	    NULL ? 2 : 1;
	int bottom = LINES - 2, leftw = COLS / 3 < 24 ? 24 : COLS / 3;
	int right = leftw + 1, rw = COLS - right, y, outh;

	if (leftw > 44)
		leftw = 44, right = 45, rw = COLS - right;
	draw_header(d);
	dash_clock_text(d, d->clock, sizeof d->clock);
	if (LINES < 12 || COLS < 40) {
		ui_put(top, 0, COLS, "terminal too small");
		return;
	}
	draw_steps(d, top, bottom - top, leftw);
	mvvline(top, leftw, ACS_VLINE, bottom - top);
	draw_detail(d, top, right, (bottom - top) / 2, rw);
	y = top + (bottom - top) / 2;
	mvhline(y++, right, ACS_HLINE, rw);
	y = draw_redis(d, y, right, rw, bottom - (int)monitor_count(d->mon));
	y = draw_http(d, y, right, rw);
	outh = bottom - y - 1;
	if (outh > 0 && d->nout > 0) {
		mvhline(y++, right, ACS_HLINE, rw);
		draw_output(d, y, right, outh, rw);
	}
	draw_rollback_bar(d, bottom);
}

void
dash_clock_text(const struct dash *d, char *buf, size_t len)
{
	const struct watch *w;
	size_t i, used = 0;
	int n;

	buf[0] = '\0';
	if (d->ro != NULL && readouts_clustered(d->ro)) {
		/* A node that goes down or comes back says so itself. */
		struct readout_node rn;

		for (i = 0; i < readouts_nnodes(d->ro) && used + 2 < len; i++)
			buf[used++] = !readouts_node(d->ro, i, &rn) ? '-' :
			    !rn.up ? 'd' : rn.failing ? 'f' : 'u';
		buf[used] = '\0';
	}
	if (d->env->redis != NULL) {
		/* "connecting (1.2 s)", "down: ... (retry in 3 s)"; the
		   second, for the readouts' ages ("counted 42 s ago") */
		redis_describe(d->env->redis, buf + used, len - used);
		used = strlen(buf);
		if (d->ro != NULL && used < len) {
			n = snprintf(buf + used, len - used, " %.0f",
			    loop_now());
			if (n > 0)
				used += (size_t)n;
		}
	}
	for (i = 0; i < monitor_count(d->mon) && used < len; i++) {
		w = monitor_get(d->mon, i);
		if (!w->waiting || loop_now() - w->sent <= 1.0)
			continue;
		n = snprintf(buf + used, len - used, "%zu %.1f;", i,
		    loop_now() - w->sent);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}
