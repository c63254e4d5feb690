#!/bin/bash
# cluster_dash.sh: the dashboard's Redis pane on a real Redis Cluster, in a
# real terminal (tmux): the cluster's state, its totals, a line per node
# from its own connection and each route's count over every primary; in a
# narrow terminal the lines are cut, never wrapped; in a short one the
# nodes that do not fit are counted; a replica killed shows DOWN and makes
# the totals partial; a primary killed in a cluster without replicas shows
# NOT OK, DOWN and cluster_state:fail.  Speaks TAP.
set -u
LC_ALL=C.UTF-8 LANG=C.UTF-8; export LC_ALL LANG
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
REHEARSE=$(cd "$(dirname "$REHEARSE")" && pwd)/$(basename "$REHEARSE")
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cluster_lib.sh"
ok_diag=ok_screen

if ! cluster_start c 3 1; then
	echo "1..0 # SKIP no cluster could be made (see above)"
	exit 0
fi
p1=${cl_primaries%% *}
fill() {
	i=0; while [ $i -lt 3000 ]; do echo "SET anp:page:/blog/p$i v"; i=$((i + 1)); done |
	    cl_cli "$1" -c >/dev/null 2>&1
	i=0; while [ $i -lt 500 ]; do echo "SET {tagged}:page:$i v"; i=$((i + 1)); done |
	    cl_cli "$1" -c >/dev/null 2>&1
}
fill "$p1"
runbook() {	# runbook FILE PORT
	cat >"$1" <<EOR
runbook: cluster pane
owner: ops
redis: { url: "redis://127.0.0.1:$2/0", timeout_ms: 1000, refresh_s: 0.5 }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"] }
  - { name: tagged, keys: ["{tagged}:page:*"] }
steps:
  - { title: Sign off, manual: "all green" }
EOR
}
# pane: the right-hand part of the screen (after the divider).
pane() { screen | sed -n 's/^[^│]*│//p'; }

runbook "$tmp/rb.yml" "$p1"
start "$REHEARSE" run --read-only "$tmp/rb.yml"
wait_for "redis cluster ok: 3 primaries, 3 replicas" 15 &&
    wait_for "blog: 3000 keys, counted" 15 && wait_for "tagged: 500 keys, counted" 15 &&
    wait_for "total: mem [0-9.]+[KMG]? +keys 3500 +ops [0-9]+/s +hits [0-9]+/s +misses [0-9]+/s" 10
ok $? "the pane shows the cluster's state, its totals (3500 keys) and each route's count over every primary"

for p in $cl_primaries; do
	d=$(cl_cli "$p" DBSIZE)
	screen | grep -q -E "  P 127\.0\.0\.1:$p mem [0-9.]+[KMG]?, no limit  keys $d  ops [0-9]+/s" || break
done
r=$?
[ $r = 0 ] && [ "$(screen | grep -c -E '  R 127\.0\.0\.1:[0-9]+ <:[0-9]+ mem ')" = 3 ]
ok $? "a line per node: each primary with its own key count, each replica with its primary"
keys q
wait_for "EXITED" 5

# Narrow: 52 columns; every row of the pane is one of its lines, cut.
start -x 52 -y 30 "$REHEARSE" run --read-only "$tmp/rb.yml"
wait_for "blog: 3000 keys, c" 15 && wait_for "tagged: 500 keys, c" 15
pane >"$tmp/pane"
bad=$(grep -v -E '^(redis cluster ok: 3 pri|  total: mem |  [PR] 127\.0\.0\.1:[0-9]+ |  blog: |  tagged: |Step |does: |check: |state: |─+$| *$)' "$tmp/pane")
[ -z "$bad" ] && [ "$(grep -c '^  [PR] 127' "$tmp/pane")" = 6 ]
ok $? "in 52 columns each line is cut at the edge, none wraps onto the next row"
[ -n "$bad" ] && printf '%s\n' "$bad" | sed 's/^/# bad row: /'
keys q
wait_for "EXITED" 5

# Short: the nodes that do not fit are counted on the last row left.
start -x 100 -y 18 "$REHEARSE" run --read-only "$tmp/rb.yml"
wait_for "blog: 3000 keys" 15 && wait_for "\+[0-9]+ more nodes" 5 &&
    screen | grep -q "  P 127.0.0.1" && screen | grep -q "no rollback in this runbook"
ok $? "in 18 rows the nodes that do not fit are counted (+N more nodes); the bars stay"
keys q
wait_for "EXITED" 5

start "$REHEARSE" run --read-only "$tmp/rb.yml"
wait_for "blog: 3000 keys, counted" 15
victim=${cl_replicas##* }
eval "vpid=\$cl_pid_$victim"
{ kill -KILL "$vpid"; wait "$vpid"; } 2>/dev/null
wait_for "  R 127\.0\.0\.1:$victim <:[0-9]+ DOWN: " 10 &&
    wait_for "total, 1 of 6 nodes unknown: mem >=[0-9.]+[KMG]?\? " 10 &&
    wait_for "redis cluster ok: 3 primaries, 3 replicas" 5 && screen | grep -q "keys 3500 "
ok $? "a replica killed shows DOWN at once; the totals over every node say partial, the keys stay complete"
keys q
wait_for "EXITED" 5

# No replicas: a primary killed, the others say cluster_state:fail.
cluster_start d 3 0 || exit 1
fill "${cl_primaries%% *}"
set -- $cl_primaries
dead=$1 alive=$2
runbook "$tmp/d.yml" "$alive"
start "$REHEARSE" run --read-only "$tmp/d.yml"
wait_for "redis cluster ok: 3 primaries, 0 replicas" 15 && wait_for "blog: 3000 keys, counted" 15
eval "dpid=\$cl_pid_$dead"
{ kill -KILL "$dpid"; wait "$dpid"; } 2>/dev/null
wait_for "redis cluster NOT OK: primary 127\.0\.0\.1:$dead is down" 10 &&
    wait_for "  P 127\.0\.0\.1:$dead DOWN: " 5 &&
    wait_for "  P 127\.0\.0\.1:[0-9]+ cluster_state:fail" 20 &&
    wait_for "blog: >=[0-9]+ keys \(1 of 3 primaries not counted\)" 10 &&
    ! screen | grep -q "blog: 3000 keys"
ok $? "a primary killed: NOT OK, DOWN, cluster_state:fail, the route's count partial"
keys q
wait_for "EXITED" 5

echo "1..$n"
