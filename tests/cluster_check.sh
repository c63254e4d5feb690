#!/bin/bash
# cluster_check.sh: `rehearse check` on a real Redis Cluster (3 primaries,
# 3 replicas): a cluster line, one line per node from its own connection,
# the totals and each route's count over every primary (a hash-tagged
# pattern walked on its owner only); a primary failed over (its replica
# promoted) leaves the old one down, a warning that makes the totals
# partial; a cluster whose primary is gone (3
# primaries, no replica: cluster_state:fail) fails the check, and no total
# is shown as complete.  Text, TAP and JSON.  Speaks TAP.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cluster_lib.sh"

if ! cluster_start c 3 1; then
	echo "1..0 # SKIP no cluster could be made (see above)"
	exit 0
fi
p1=${cl_primaries%% *}
fill() {	# fill PORT: 3000 route keys over every slot, 500 in one hash tag
	i=0; while [ $i -lt 3000 ]; do echo "SET anp:page:/blog/p$i v"; i=$((i + 1)); done |
	    cl_cli "$1" -c >/dev/null 2>&1
	i=0; while [ $i -lt 500 ]; do echo "SET {tagged}:page:$i v"; i=$((i + 1)); done |
	    cl_cli "$1" -c >/dev/null 2>&1
}
fill "$p1"
runbook() {	# runbook FILE PORT
	cat >"$1" <<EOR
runbook: cluster check
owner: ops
redis: { url: "redis://127.0.0.1:$2/0", timeout_ms: 1000 }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"] }
  - { name: tagged, keys: ["{tagged}:page:*"] }
steps:
  - { title: Sign off, manual: "all green" }
EOR
}
[ "$(cl_total)" = 3500 ]
ok $? "the cluster holds 3500 keys over its 3 primaries"

owner=$(cl_owner "{tagged}")
other=
for p in $cl_primaries; do [ "$p" != "$owner" ] && other=$p; done
# MONITOR on the owner and on another primary: the tagged pattern is
# walked on the first only.
cl_cli "$owner" MONITOR >"$tmp/mon.owner" 2>&1 &
pids="$pids $!"
cl_cli "$other" MONITOR >"$tmp/mon.other" 2>&1 &
pids="$pids $!"
cl_poll 5 grep -q OK "$tmp/mon.owner" && cl_poll 5 grep -q OK "$tmp/mon.other"

# The runbook names a replica: the cluster is found from it.
rep=${cl_replicas%% *}
runbook "$tmp/rb.yml" "$rep"
"$REHEARSE" check "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 0 ] && grep -q "^ok   redis: up, .*, cluster mode$" "$tmp/out" &&
    grep -q "^ok   cluster: 3 primaries, 3 replicas, state ok$" "$tmp/out" &&
    [ "$(grep -c '^ok   node 127.0.0.1:[0-9]*: primary, [0-9]* slots, cluster_state ok, [0-9]* bytes used, no limit, hit ratio [^,]*, [0-9]* ops/s, [0-9]* keys$' "$tmp/out")" = 3 ] &&
    [ "$(grep -c '^ok   node 127.0.0.1:[0-9]*: replica of 127.0.0.1:[0-9]*, cluster_state ok, [0-9]* bytes used' "$tmp/out")" = 3 ] &&
    grep -q "^ok   total: 6 nodes, [0-9]* bytes used, [0-9]* ops/s, 3500 keys$" "$tmp/out" &&
    grep -q "^ok   route blog: 3000 keys, counted" "$tmp/out" &&
    grep -q "^ok   route tagged: 500 keys, counted" "$tmp/out" && grep -q "^ok: 0 failed" "$tmp/out"
ok $? "check names the cluster, each node, the totals and each route's count over every primary"

# Each node's own figures: its DBSIZE is its own, not the seed's.
for p in $cl_primaries; do
	d=$(cl_cli "$p" DBSIZE)
	grep -q "^ok   node 127.0.0.1:$p: primary, .*, $d keys$" "$tmp/out" || break
done
ok $? "each primary's line has its own key count (from its own connection)"

grep -q 'MATCH.*{tagged}' "$tmp/mon.owner" && ! grep -q '{tagged}' "$tmp/mon.other" &&
    grep -q 'MATCH.*anp:page:/blog/\*' "$tmp/mon.other"
ok $? "a hash-tagged pattern is walked on the primary that owns its slot only"

! grep -q -i -E '"(keys|flushall|flushdb)"' "$tmp/mon.owner" "$tmp/mon.other"
ok $? "MONITOR shows no KEYS, no FLUSH*"

"$REHEARSE" check --format json "$tmp/rb.yml" >"$tmp/json" 2>"$tmp/err"
jq -e '.cluster.state == "ok" and .cluster.problem == null and
    .cluster.primaries == 3 and .cluster.replicas == 3 and
    (.cluster.nodes | length) == 6 and
    ([.cluster.nodes[] | select(.role == "primary") | .keys] | add) == 3500 and
    ([.cluster.nodes[] | select(.role == "replica") | .primary] | all(. != null)) and
    .cluster.totals.keys == {"sum": 3500, "known": 3, "missing": 0} and
    .cluster.totals.partial == false and
    (.cluster.routes[] | select(.route == "blog") | .keys.sum) == 3000 and
    (.cluster.routes[] | select(.route == "tagged") | .keys.sum) == 500 and
    ([.cluster.nodes[] | .routes[] | select(.route == "tagged") | .keys] | sort) == [0, 0, 500] and
    .redis.cluster_enabled == true and .failed == 0' "$tmp/json" >/dev/null
ok $? "--format json: the cluster member with its nodes, totals and routes"

"$REHEARSE" check --format tap "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && grep -q "^ok 2 - cluster: 3 primaries, 3 replicas, state ok$" "$tmp/out" &&
    [ "$(grep -c '^# ok node ' "$tmp/out")" = 6 ] && grep -q "^# total: 6 nodes, .*3500 keys$" "$tmp/out" &&
    grep -q "^1\.\.3$" "$tmp/out"
ok $? "--format tap: one test for the cluster, its nodes as comments"

# A primary killed, its replica promoted: the new primary is counted, the
# old one (a replica now, down) is a warning and makes the totals over
# every node partial; the keys (primaries) are complete; the check passes.
runbook "$tmp/rb.yml" "$p1"
set -- $cl_primaries
victim=$2
cl_kill_primary "$victim" 2>"$tmp/err"
"$REHEARSE" check "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 0 ] && [ -n "$cl_promoted" ] &&
    grep -q "^ok   node 127.0.0.1:$cl_promoted: primary, [0-9]* slots, cluster_state ok, .*, [0-9]* keys$" "$tmp/out" &&
    grep -q -E "^warn node 127.0.0.1:$victim: replica( of 127.0.0.1:$cl_promoted)?, down" "$tmp/out" &&
    grep -q "^warn total: 6 nodes, >=[0-9]* (partial) bytes used, >=[0-9]* (partial) ops/s, 3500 keys; 1 of 6 nodes did not answer$" "$tmp/out" &&
    grep -q "^ok   cluster: 3 primaries, 3 replicas, state ok$" "$tmp/out" &&
    grep -q "^ok   route blog: 3000 keys, counted" "$tmp/out" && grep -q "^ok: 0 failed" "$tmp/out"
ok $? "a primary failed over: its replica counted as the primary, the old one a warning; totals over every node partial, never complete"

# 3 primaries, no replica: one killed, the others say cluster_state:fail.
cluster_start d 3 0 || exit 1
fill "${cl_primaries%% *}"
set -- $cl_primaries
dead=$1 alive=$2
runbook "$tmp/d.yml" "$alive"
"$REHEARSE" check "$tmp/d.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && grep -q "^ok   total: 3 nodes, .* 3500 keys$" "$tmp/out"
ok $? "a cluster of 3 primaries without replicas checks ok"

eval "dpid=\$cl_pid_$dead"
{ kill -KILL "$dpid"; wait "$dpid"; } 2>/dev/null
cl_dead="$cl_dead $dead"
failing() { cl_cli "$alive" CLUSTER INFO | tr -d '\r' | grep -q '^cluster_state:fail$'; }
cl_poll 30 failing
"$REHEARSE" check "$tmp/d.yml" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 1 ] && grep -q "^FAIL cluster: 3 primaries, 0 replicas, not ok: " "$tmp/out" &&
    grep -q "^FAIL node 127.0.0.1:$dead: primary, [0-9]* slots, down" "$tmp/out" &&
    grep -q "^FAIL node 127.0.0.1:$alive: primary, [0-9]* slots, cluster_state fail" "$tmp/out" &&
    grep -q "^warn total: 3 nodes, >=[0-9]* (partial) bytes used, .*, >=[0-9]* (partial) keys; 1 of 3 nodes did not answer$" "$tmp/out" &&
    grep -q "^warn route blog: >=[0-9]* keys (1 of 3 primaries not counted)" "$tmp/out" &&
    { [ "$(cl_owner '{tagged}')" = "$dead" ] || grep -q "^ok   route tagged: 500 keys, counted" "$tmp/out"; } &&
    ! grep -q "route blog: 3000 keys" "$tmp/out" && grep -q "^FAIL: 1 failed" "$tmp/out"
ok $? "a primary down and cluster_state:fail fail the check; every total says partial"

"$REHEARSE" check --format json "$tmp/d.yml" >"$tmp/json" 2>"$tmp/err"
[ $? = 1 ] && jq -e --arg dead "127.0.0.1:$dead" '.cluster.state == "not ok" and
    (.cluster.problem | type) == "string" and
    (.cluster.nodes[] | select(.node == $dead) | .up == false and .keys == null and .readout == "unknown") and
    ([.cluster.nodes[] | select(.cluster_state == "fail")] | length) >= 1 and
    .cluster.totals.partial == true and .cluster.totals.keys.missing == 1 and
    (.cluster.routes[] | select(.route == "blog") | .keys.missing) == 1 and
    .failed == 1' "$tmp/json" >/dev/null
ok $? "--format json: the node down has no figures (null), the totals are marked partial"

echo "1..$n"
