#!/bin/bash
# hostile.sh: rehearse against a Redis server that lies (tests/tools/
# badredis): unsolicited replies, a 2 GB bulk reply (streamed alone or in
# an array, or stopped),
# a 2e9-element array, a SCAN cursor that never comes back to 0, INFO that
# hangs or is refused, a Sentinel, a replica in cluster mode, garbage.
# `rehearse check` must end each with a named error and exit 1 -- never
# 134, never a hang (every run is bounded by timeout), never a made-up
# number -- with a small peak RSS for the 2 GB bulk; the dashboard must
# survive a reply with no command waiting.  Only this test's processes are
# signalled (tests run in parallel).  Speaks TAP.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
REHEARSE=$(cd "$(dirname "$REHEARSE")" && pwd)/$(basename "$REHEARSE")
: "${BADREDIS:=$top_builddir/tests/tools/badredis}"
BADREDIS=$(cd "$(dirname "$BADREDIS")" && pwd)/$(basename "$BADREDIS")
tmp=$(mktemp -d)
bpid=
tmux_cols=120
. "$top_srcdir/tests/lib.sh"
cleanup_hook() { [ -z "$bpid" ] || kill "$bpid" 2>/dev/null; }
# After a failure: the screen, then the end of the batch output.
hostile_diag() { screen | sed 's/^/# screen: /'; ok_lines=20 ok_files; }
ok_diag=hostile_diag

# bad MODE: (re)starts badredis in MODE; its port in $bport.
bad() {
	[ -n "$bpid" ] && { kill "$bpid"; wait "$bpid" 2>/dev/null; }
	rm -f "$tmp/bport"
	"$BADREDIS" "$tmp/bport" "$1" 2>"$tmp/badredis.err" &
	bpid=$!
	local i=0
	while [ ! -s "$tmp/bport" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	bport=$(cat "$tmp/bport")
	cat >"$tmp/rb.yml" <<EOR
runbook: hostile
owner: ops
redis: { url: "redis://127.0.0.1:$bport/0", timeout_ms: ${tmo:-500}${2:+, $2} }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"] }
steps:
  - { title: Look, manual: "look" }
EOR
}

# check MODE FORMAT [EXTRA]: runs check against MODE, bounded; $st, $took,
# $rss (KiB) and $tmp/out.
check() {
	bad "$1" "${3:-}"
	local t0
	t0=$(now_ms)
	# Under AddressSanitizer freed blocks wait in a quarantine (256 MiB),
	# which would count in the peak RSS; here only the program's own use
	# should (no effect on a build without it).
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" \
	/usr/bin/time -o "$tmp/rss" -f %M timeout 20 "$REHEARSE" check \
	    --format "$2" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
	st=$?
	took=$(( $(now_ms) - t0 ))
	rss=$(tail -1 "$tmp/rss")
}
no_esc() { ! LC_ALL=C grep -q "$(printf '\033')" "$tmp/out" "$tmp/err"; }

# 1. rehearse check against each hostile mode ------------------------------

check ok tap
[ $st = 0 ] && grep -q '^ok 1 - redis: up, .* ms, master$' "$tmp/out"
ok $? "baseline: check passes against badredis that does not lie"

check unsolicited tap
[ $st = 1 ] && [ $took -lt 5000 ] &&
    grep -q '^not ok 1 - redis: down: not a Redis server? ROLE was not answered with a role' "$tmp/out"
ok $? "a reply before any command: named error, exit 1 in ${took} ms"

check extra tap
[ $st = 1 ] && [ $took -lt 5000 ] &&
    grep -q '^not ok 1 - redis: down: protocol error: a reply arrived with no command waiting' "$tmp/out"
ok $? "an extra reply after a real one: protocol error, exit 1 (not 134) in ${took} ms"

# The peak RSS of a 2 GB bulk reply, over the RSS of a check that read
# nothing big.  One bulk is refused at its header; inside an array it is
# the bytes buffered that stop it (grown by doubling: a bound of 5 times
# the cap).  The first command after the handshake meets it (INFO
# cluster, which tells a cluster's node, or the readouts' INFO).  A long timeout, so that the cap is what stops it (sanitizer
# builds are slower).
base=$rss
tmo=20000 check hugebulk tap
[ $st = 1 ] && [ $took -lt 5000 ] && [ "$rss" -lt $((base + 32768)) ] &&
    grep -q '^not ok 1 - redis: down: reply over 64 MiB' "$tmp/out"
ok $? "a bulk reply announcing 2 GB: 'reply over 64 MiB' at its header, exit 1 in ${took} ms, peak RSS ${rss} KiB (${base} KiB without)"

tmo=20000 check hugenested tap
[ $st = 1 ] && [ $took -lt 15000 ] && [ "$rss" -lt $((base + 5 * 65536 + 32768)) ] &&
    grep -q '^not ok 1 - redis: down: reply over 64 MiB' "$tmp/out"
ok $? "2 GB inside an array: 'reply over 64 MiB' by its bytes, exit 1 in ${took} ms, peak RSS ${rss} KiB"

tmo=20000 check hugenested tap "max_reply_mb: 4"
[ $st = 1 ] && [ "$rss" -lt $((base + 5 * 4096 + 32768)) ] && grep -q 'reply over 4 MiB' "$tmp/out"
ok $? "with max_reply_mb: 4 the same reply stops at 4 MiB, peak RSS ${rss} KiB"

check hugebulk-stop tap
[ $st = 1 ] && [ $took -lt 5000 ] &&
    grep -q '^not ok 1 - redis: down: no reply within 500 ms' "$tmp/out"
ok $? "a 2 GB bulk that stops: 'no reply within 500 ms', exit 1 in ${took} ms"

check hugearray tap
[ $st = 1 ] && [ $took -lt 5000 ] && [ "$rss" -lt $((base + 32768)) ] &&
    grep -q 'reply of 2000000000 elements (over the limit of 1048576)' "$tmp/out"
ok $? "an array header of 2e9 elements: named error, no giant allocation (${rss} KiB)"

check scanforever tap
[ $st = 1 ] && [ $took -lt 5000 ] &&
    grep -q '^not ok 1 - redis: up' "$tmp/out" &&
    grep -q '^# route blog: SCAN did not finish: .* a database of 3 keys, and the cursor never came back to 0' "$tmp/out"
ok $? "a SCAN cursor that never returns to 0: the walk stops with an error in ${took} ms"

check info-hang text
[ $st = 1 ] && [ $took -lt 8000 ] &&
    grep -q '^FAIL redis: down: no reply within 500 ms' "$tmp/out" &&
    ! grep -q 'bytes used' "$tmp/out"
ok $? "INFO that never completes: not 'ok redis: up', exit 1 in ${took} ms"

check info-noperm text
[ $st = 1 ] && grep -q "^FAIL redis: up, .* ms; readouts unknown: INFO refused: NOPERM" "$tmp/out"
ok $? "INFO refused with NOPERM: unknown, and check fails it"

check info-noperm json
[ $st = 1 ] && grep -q '"readout": *"unknown"' "$tmp/out" &&
    grep -q '"used_memory": *null' "$tmp/out" && grep -q '"up": *false' "$tmp/out" &&
    grep -q '"reason": *"INFO refused: NOPERM' "$tmp/out" &&
    ! grep -q '"used_memory": *0' "$tmp/out"
ok $? "json: used_memory is null (never 0) with the reason when INFO is refused"

check sentinel text
[ $st = 1 ] && grep -q '^FAIL redis: up, .*readouts unknown: a Sentinel (redis_mode:sentinel)' "$tmp/out" &&
    grep -q "^FAIL redis: route blog: SCAN failed: ERR unknown command" "$tmp/out"
ok $? "a Sentinel port: unknown, named, check fails"

# It says cluster_enabled:1 and knows no CLUSTER command: the node is
# shown, and the cluster whose topology cannot be read fails the check.
check replica text
[ $st = 1 ] && grep -q '^ok   redis: up, .* ms, replica of 10\.1\.2\.3:6380, cluster mode, 123456 bytes used' "$tmp/out" &&
    grep -q "^FAIL cluster: .*not ok: the cluster's topology is not known yet: cluster topology from 127.0.0.1:[0-9]*: ERR unknown command 'CLUSTER'" "$tmp/out"
ok $? "a replica in cluster mode: the role, its master and cluster mode are shown; a topology that cannot be read fails"

check replica json
[ $st = 1 ] && grep -q '"role": *"replica"' "$tmp/out" &&
    grep -q '"master_host": *"10.1.2.3"' "$tmp/out" && grep -q '"cluster_enabled": *true' "$tmp/out"
ok $? "json: role, master_host and cluster_enabled"

check garbage text
[ $st = 1 ] && grep -q '^FAIL redis: down: not a Redis server? protocol error: .*\\x1b' "$tmp/out" && no_esc
ok $? "garbage bytes: protocol error, escaped (no ESC reaches the terminal)"

# 2. The dashboard survives a reply with no command waiting ------------------

bad extra "refresh_s: 0.5"
start "$REHEARSE" run --audit "$tmp/dash.jsonl" "$tmp/rb.yml"
wait_for "redis down: protocol error: a reply arrived with no command waiting" 10 &&
    wait_for "Look" 2 && wait_for "redis (up|connecting|down: protocol error.*retry)" 5
ok $? "dashboard: the unsolicited reply shows as a protocol error, the screen still drawn"
sleep 1.5
pid=$(pgrep -P "$(t display-message -p -t rh '#{pane_pid}')" -x rehearse)
[ -n "$pid" ] && kill -0 "$pid" && [ "$(t display-message -p -t rh '#{alternate_on}')" = 1 ] &&
    screen | grep -q -E "redis (up|connecting|down)" && screen | grep -q "Look"
ok $? "dashboard: still running after reconnecting and failing again"
keys q
wait_for "EXITED [01]" 5 && [ "$(t display-message -p -t rh '#{alternate_on}')" = 0 ] &&
    "$REHEARSE" verify -q "$tmp/dash.jsonl" && grep -q '"type":"session.end"' "$tmp/dash.jsonl"
ok $? "q quits, the terminal is restored, the log is ended and verifies"

# 3. The dashboard names what it cannot read, and the node's role -----------

dash() {	# dash MODE: the dashboard, read-only, against badredis in MODE
	bad "$1" "refresh_s: 0.5"
	start "$REHEARSE" run --read-only "$tmp/rb.yml"	# a fresh server each time
}
dash info-noperm
wait_for "readouts unknown: INFO refused: NOPERM" 10 && ! screen | grep -q "mem 0"
ok $? "dashboard: INFO refused shows as readouts unknown, with no numbers"
keys q
wait_for "EXITED" 5

dash replica
wait_for "redis up, [0-9.]+ ms, replica of 10\.1\.2\.3:6380, cluster mode" 10
ok $? "dashboard: a replica in cluster mode is named as such"
keys q
wait_for "EXITED" 5

echo "1..$n"
