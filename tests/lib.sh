# lib.sh: what the shell tests share.  Sourced right after the test made
# its folder:
#	tmp=$(mktemp -d)
#	. "$top_srcdir/tests/lib.sh"
# Sourcing sets n=0 and `trap cleanup EXIT`.  What differs between tests is
# set by variables (before or after sourcing):
#   ok_diag      the command ok runs after a failure (default ok_files)
#   ok_lines     how many lines ok_files prints (default 30)
#   tmux_session, tmux_cols, tmux_rows   what start makes (rh, 100x30)
#   pids         more processes for cleanup to stop (besides $rpid, $spid)
#   KEEP_TMP     set: cleanup leaves $tmp for a look afterwards
# and a test that has more to undo defines cleanup_hook.

n=0
fails=0
rpid=${rpid:-}
spid=${spid:-}
pids=${pids:-}
sock="$tmp/tmux.0.sock"
starts=0
: "${tmux_session:=rh}" "${tmux_cols:=100}" "${tmux_rows:=30}"

# ok STATUS DESCRIPTION: one TAP line; after a failure, $ok_diag's output.
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
		${ok_diag:-ok_files}
	fi
}
# skip REASON: a TAP line for a case that cannot run here.
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
# ok_files: the end of $tmp/out and $tmp/err, as TAP comments.
ok_files() {
	sed 's/^/# /' "$tmp/out" "$tmp/err" 2>/dev/null | tail -n "${ok_lines:-30}"
}
# ok_screen: the tmux pane, as TAP comments.
ok_screen() { screen | sed 's/^/# /'; }

# cleanup_hook: what a test adds to cleanup (run first); nothing here.
cleanup_hook() { :; }
# cleanup: on exit, the test's tmux servers, cleanup_hook, the processes in
# $rpid $spid $pids (continued first: a test may have stopped one), $tmp.
cleanup() {
	for _s in "$tmp"/tmux.*.sock; do
		[ -S "$_s" ] && tmux -S "$_s" kill-server 2>/dev/null
	done
	cleanup_hook
	for _p in $pids $spid $rpid; do
		kill -CONT "$_p" 2>/dev/null
		kill "$_p" 2>/dev/null
	done
	for _p in $pids $spid $rpid; do wait "$_p" 2>/dev/null; done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# now_ms: milliseconds since the epoch.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# start_redis [ARGS...]: a private redis-server on 127.0.0.1:$rport, pid in
# $rpid.  The port is chosen on the first call (from the test's pid) and
# kept by later calls while it is free.  Tests run in parallel, so a port is
# ours only when the server answering on it has our server's pid.
start_redis() {
	: "${rport:=$(( 20000 + $$ % 20000 ))}"
	for _attempt in 1 2 3 4 5 6 7 8 9 10; do
		while redis-cli -p "$rport" ping >/dev/null 2>&1; do
			rport=$((rport + 1))
		done
		"${REDIS_SERVER:-redis-server}" --port "$rport" --bind 127.0.0.1 --save '' \
		    --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" \
		    "$@" >/dev/null 2>&1 &
		rpid=$!
		_i=0
		while ! redis-cli -p "$rport" ping >/dev/null 2>&1 && [ $_i -lt 100 ]; do
			sleep 0.05
			_i=$((_i + 1))
		done
		[ "$(redis-cli -p "$rport" INFO server 2>/dev/null | tr -d '\r' |
		    sed -n 's/^process_id://p')" = "$rpid" ] && return 0
		kill "$rpid" 2>/dev/null
		rport=$((rport + 1))
	done
	return 1
}

# start_stage [ARGS...]: the stage app (tests/stage/) on a free port against
# the Redis on $rport, with the app's ARGS; pid in $spid, port in $sport,
# URL in $base, its stderr in $tmp/stage.log.  Waits for the port file.
start_stage() {
	rm -f "$tmp/port"
	"$top_builddir/tests/stage/stage" --port 0 --port-file "$tmp/port" \
	    --redis "redis://127.0.0.1:$rport/0" "$@" >/dev/null 2>"$tmp/stage.log" &
	spid=$!
	_i=0
	while [ ! -s "$tmp/port" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	sport=$(cat "$tmp/port")
	base="http://127.0.0.1:$sport"
}
# stage_login [QUERY]: the session cookie (NAME=VALUE) the stage app gives
# at /login?QUERY.
stage_login() {
	curl -s -D - -o /dev/null "$base/login${1:+?$1}" |
	    sed -n 's/^Set-Cookie: \([^;]*\).*/\1/p'
}
# stage_env DELAY_MS [QUERY]: a private Redis, the stage app at release
# 1.5.1 with its database DELAY_MS slow, and a login (stage_login QUERY):
# $STAGE_VERSION_FILE and $STAGE_SESSION exported, as the demo's commands
# and profiles want them.
stage_env() {
	start_redis
	export STAGE_VERSION_FILE="$tmp/version"
	echo 1.5.1 >"$STAGE_VERSION_FILE"
	start_stage --db-delay-ms "$1" --version-file "$STAGE_VERSION_FILE"
	STAGE_SESSION=$(stage_login "${2:-}")
	export STAGE_SESSION
}
# demo_link DIR: DIR, with a link to runbooks/demo/ in it: a runbook there
# can run ./demo/deploy.sh.
demo_link() {
	mkdir -p "$1"
	ln -s "$(cd "$top_srcdir/runbooks/demo" && pwd)" "$1/demo"
}
# demo_runbook DIR [SED-ARGS...]: runbooks/demo.yml pointed at $rport and
# $sport, written to DIR/demo.yml (demo_link DIR); SED-ARGS edit it further.
demo_runbook() {
	_dir=$1
	shift
	demo_link "$_dir"
	sed -e "s|127.0.0.1:6390|127.0.0.1:$rport|; s|127.0.0.1:8090|127.0.0.1:$sport|" \
	    "$@" "$top_srcdir/runbooks/demo.yml" >"$_dir/demo.yml"
}

# The tmux helpers: every screen test drives the program in a tmux server
# of its own, on a socket in $tmp (tests run in parallel).
# t ARGS...: tmux on the test's current server.
t() { tmux -S "$sock" "$@"; }
# screen [SESSION]: what the pane shows now.
screen() { t capture-pane -p -t "${1:-$tmux_session}" 2>/dev/null; }
# keys KEY...: typed into the pane.
keys() { t send-keys -t "$tmux_session" "$@"; }
# wait_for REGEX [SECONDS [SESSION]]: until the screen matches (10 s).
wait_for() {
	_end=$(( $(now_ms) + ${2:-10} * 1000 ))
	while [ "$(now_ms)" -lt $_end ]; do
		screen "${3:-$tmux_session}" | grep -q -E -- "$1" && return 0
		sleep 0.05
	done
	return 1
}
# start [-x COLS -y ROWS] ARGS...: the command line ARGS in a fresh tmux
# server ($tmux_cols x $tmux_rows unless given); "EXITED status" is shown
# when it ends.
start() {
	_cols=$tmux_cols
	_rows=$tmux_rows
	[ "$1" = -x ] && { _cols=$2; _rows=$4; shift 4; }
	t kill-server 2>/dev/null
	starts=$((starts + 1))
	sock="$tmp/tmux.$starts.sock"
	t -f /dev/null new-session -d -s "$tmux_session" -x "$_cols" -y "$_rows" \
	    "env LANG=C.UTF-8 $* ; echo EXITED \$?; sleep 120"
}
