#!/bin/sh
# cluster_purge.sh: purges across a real Redis Cluster (3 primaries, a
# replica each; tests/cluster_lib.sh), checked against clusterkit's own
# counts and MONITOR on every node:
#  - keys over all slots, with a runbook naming one node and an ACL user
#    that may not run KEYS or FLUSH*: the preview counts exactly what
#    clusterkit counts, per shard; the purge deletes exactly those and
#    nothing else; MONITOR shows no KEYS, no FLUSH*, no cross-slot command
#    and no node refused one (errorstats: no CROSSSLOT); the password is
#    nowhere;
#  - a hash-tag pattern, the runbook naming a node that owns none of its
#    slots: only the owner is scanned, all its keys go;
#  - binary keys;
#  - a purge while `redis-cli --cluster reshard` moves slots: every
#    previewed key gone at the end, the counts add up;
#  - a primary killed mid-purge (its writes held by CLIENT PAUSE, then
#    SIGKILL) and its replica promoted: the keys left are exactly those
#    the purge did not claim, nothing counted twice;
#  - a node down at preview time (a cluster without replicas): refused,
#    nothing deleted;
#  - TLS-only nodes (rediss://, the runbook's CA for every node).
# Speaks TAP.  Needs $REHEARSE, $CLUSTERKIT, $top_srcdir.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
: "${CLUSTERKIT:=$top_builddir/tests/tools/clusterkit}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cluster_lib.sh"
kit() { "$CLUSTERKIT" "$@"; }
rh_pid=
cleanup_hook() { [ -z "$rh_pid" ] || kill "$rh_pid" 2>/dev/null; }

# runbook FILE PORT PATTERN [EXTRA]: a purge of PATTERN through the node on
# PORT, as the ACL user purger (password in $RH_PW).
runbook() {
	cat >"$1" <<EOR
runbook: cluster purge
owner: ops
redis: { url: "redis://purger@127.0.0.1:$2/0", password_env: RH_PW, timeout_ms: 2000${4:+, $4} }
routes:
  - { name: blog, keys: ["$3"], max_keys: 100000 }
steps:
  - { title: Purge the route, purge: blog }
EOR
}
# purge RUNBOOK [N]: rehearse run --batch --yes, bounded by timeout 90;
# $st, $tmp/out, $tmp/err, audit log $tmp/aN.jsonl, purge.done in $tmp/done.
purge() {
	timeout 90 "$REHEARSE" run --batch --yes --audit "$tmp/a${2:-}.jsonl" "$1" \
	    >"$tmp/out" 2>"$tmp/err"
	st=$?
	grep '"type":"purge.done"' "$tmp/a${2:-}.jsonl" >"$tmp/done" 2>/dev/null
}
# field NAME: the purge's own NAME in purge.done (before its shards').
field() { grep -o "\"$1\":[0-9]*" "$tmp/done" | head -1 | cut -d: -f2; }
RH_PW='pw-Cl7 "s3cret"'
export RH_PW

# 7. TLS-only nodes (a function: it runs even when the main cluster did
# not come up) -----------------------------------------------------------
tls_case() {
	# cl_count PATTERN: the keys matching on every primary, over TLS (clusterkit
	# speaks plaintext only).
	cl_count() {
		_t=0
		for _p in $cl_primaries; do
			_t=$((_t + $(cl_cli "$_p" --scan --pattern "$1" | wc -l)))
		done
		echo $_t
	}
	if cl_tls "$tmp/pki" && cluster_start tls 3 0 2>"$tmp/err"; then
		set -- $cl_primaries
		cl_acl_user purger "$RH_PW" '~*' '+@all'
		i=0
		while [ $i -lt 2000 ]; do echo "SET anp:page:/blog/t$i v"; i=$((i + 1)); done |
		    cl_cli "$1" -c >/dev/null 2>&1
		i=0
		while [ $i -lt 500 ]; do echo "SET anp:page:/shop/t$i v"; i=$((i + 1)); done |
		    cl_cli "$1" -c >/dev/null 2>&1
		cat >"$tmp/tls.yml" <<-EOR
	runbook: cluster purge over TLS
	owner: ops
	redis: { url: "rediss://purger@127.0.0.1:$2/0", password_env: RH_PW, timeout_ms: 2000, tls: { ca_file: $cl_tlsdir/ca.crt } }
	routes:
	  - { name: blog, keys: ["anp:page:/blog/*"], max_keys: 100000 }
	steps:
	  - { title: Purge the route, purge: blog }
	EOR
		before=$(cl_count 'anp:page:/blog/*')
		purge "$tmp/tls.yml" 8
		[ "$before" = 2000 ] && [ $st = 0 ] && [ "$(field deleted)" = 2000 ] &&
		    [ "$(cl_count 'anp:page:/blog/*')" = 0 ] && [ "$(cl_total)" = 500 ]
		ok $? "a TLS-only cluster (rediss://, ca_file, ACL user): $before keys previewed and deleted over TLS on every node, the 500 others stay (exit $st)"
	else
		ok 1 "a TLS-only cluster came up"
	fi
}

if ! cluster_start main 3 1 2>"$tmp/err"; then
	ok 1 "a 3-primary cluster with a replica each came up"
	tls_case
	echo "1..$n"
	exit 1
fi
set -- $cl_primaries
p1=$1 p2=$2 p3=$3
cl_acl_user purger "$RH_PW" '~*' '+@all' '-keys' '-flushall' '-flushdb'
ok $? "cluster up ($cl_primaries; replicas $cl_replicas), ACL user purger on every node"

# 1. Keys over all slots ----------------------------------------------------
kit load "$p1" anp:page:/blog/post 3000 2>/dev/null &&
    kit load "$p1" anp:page:/shop/item 20000 2>/dev/null
kit count "$p1" 'anp:page:/blog/*' 2>"$tmp/shards" >/dev/null
runbook "$tmp/all.yml" "$p2" 'anp:page:/blog/*'
cl_resetstat
cl_monitor_start
purge "$tmp/all.yml" 1
cl_monitor_stop
[ $st = 0 ] && [ "$(field previewed)" = 3000 ] && [ "$(field deleted)" = 3000 ] &&
    [ "$(kit count "$p1" 'anp:page:/blog/*' 2>/dev/null)" = 0 ] &&
    [ "$(cl_total)" = 20000 ]
ok $? "3,000 route keys over all slots: previewed 3000, deleted 3000; the 20,000 others stay (exit $st)"
# The per-shard counts of the preview are clusterkit's.
st=0
while read -r _ addr _ count; do
	grep -q "$addr $count" "$tmp/err" || st=1
done <"$tmp/shards"
ok $st "the preview's count per shard is clusterkit's: $(tr '\n' ' ' <"$tmp/shards")"
# Every shard that deleted names the slots of its batches, and a slot's
# owner is the shard that says it (a key of slot S is counted there).
st=0
for p in $p1 $p2 $p3; do
	grep -o "\"node\":\"127.0.0.1:$p\"[^}]*" "$tmp/done" | grep -q '"slots":"[0-9][0-9,-]*"' || st=1
done
k=$(kit keyslot anp:page:/blog/post7 2>/dev/null)
o=$(cl_owner "$k")
grep -o "\"node\":\"127.0.0.1:$o\"[^}]*" "$tmp/done" | grep -o '"slots":"[^"]*"' | tr -d '"' | cut -d: -f2 | tr ',' '\n' |
    awk -F- -v s="$k" '{ e = $2 == "" ? $1 : $2; if (s >= $1 && s <= e) f = 1 } END { exit !f }' || st=1
ok $st "purge.done names the slots each primary answered batches for (slot $k of a key on $o)"
kit monitor-check "$cl_dir"/monitor.* >"$tmp/mc" 2>&1 &&
    [ "$(cl_errorstat CROSSSLOT)" = 0 ] && [ "$(cl_errorstat MOVED)" = 0 ] &&
    grep -q '"UNLINK"' "$cl_dir/monitor.$p1" && grep -q '"UNLINK"' "$cl_dir/monitor.$p3"
ok $? "MONITOR on every node: no KEYS, FLUSH* or cross-slot command; no CROSSSLOT or MOVED refused ($(cat "$tmp/mc"))"
! grep -q -F 's3cret' "$tmp/out" "$tmp/err" "$tmp/a1.jsonl" "$cl_dir"/monitor.* 2>/dev/null
ok $? "the password is not in the output or the audit log"

# 2. A hash tag, through a node that owns none of its slots ------------------
kit load "$p1" 'anp:page:' 500 --tagged blog 2>/dev/null
owner=$(cl_owner '{blog}')
other=$p1
[ "$owner" = "$p1" ] && other=$p2
runbook "$tmp/tag.yml" "$other" 'anp:page:{blog}*'
cl_monitor_start
purge "$tmp/tag.yml" 2
cl_monitor_stop
[ $st = 0 ] && [ "$(field previewed)" = 500 ] && [ "$(field deleted)" = 500 ] &&
    [ "$(kit count "$p1" 'anp:page:{blog}*' 2>/dev/null)" = 0 ] && [ "$(cl_total)" = 20000 ]
ok $? "500 keys of {blog} through $other (owner $owner): previewed 500, deleted 500 (exit $st)"
scanned=$(grep -l '"SCAN"' "$cl_dir"/monitor.* | sed 's/.*monitor\.//' | tr '\n' ' ')
[ "$scanned" = "$owner " ]
ok $? "only the owner of {blog} was scanned (scanned: ${scanned:-none})"

# 3. Binary keys --------------------------------------------------------------
kit load "$p1" 'anp:bin:' 1000 --binary 2>/dev/null
runbook "$tmp/bin.yml" "$p3" 'anp:bin:*'
cl_resetstat
purge "$tmp/bin.yml" 3
[ $st = 0 ] && [ "$(field deleted)" = 1000 ] &&
    [ "$(kit count "$p1" 'anp:bin:*' 2>/dev/null)" = 0 ] &&
    [ "$(cl_errorstat CROSSSLOT)" = 0 ] && [ "$(cl_total)" = 20000 ]
ok $? "1,000 binary keys (00, ff, newlines, braces): all deleted, no CROSSSLOT (exit $st)"

# 3b. Declared: the url's node is down, redis.nodes gives another seed --------
dead=$((p1 + 17))
while redis-cli -p $dead ping >/dev/null 2>&1; do dead=$((dead + 1)); done
kit load "$p1" anp:page:/decl/ 700 2>/dev/null
runbook "$tmp/decl.yml" "$dead" 'anp:page:/decl/*' "cluster: true, nodes: [\"127.0.0.1:$p2\"]"
purge "$tmp/decl.yml" 3b
[ $st = 0 ] && [ "$(field previewed)" = 700 ] && [ "$(field deleted)" = 700 ] &&
    [ "$(kit count "$p1" 'anp:page:/decl/*' 2>/dev/null)" = 0 ] && [ "$(cl_total)" = 20000 ] &&
    grep -q '"cluster":true' "$tmp/done"
ok $? "cluster: true with the url's node down: the topology from redis.nodes, 700 keys previewed and deleted (exit $st)"

# 4. While slots move ---------------------------------------------------------
kit load "$p1" anp:page:/blog/post 30000 2>/dev/null
cl_reshard "$p1" "$p3" 3000 --cluster-pipeline 5
cl_poll 30 grep -q 'Moving slot' "$cl_dir/reshard.log"
runbook "$tmp/mv.yml" "$p2" 'anp:page:/blog/*'
cl_resetstat
purge "$tmp/mv.yml" 4
redirs="MOVED $(cl_errorstat MOVED), ASK $(cl_errorstat ASK), TRYAGAIN $(cl_errorstat TRYAGAIN)"
moving=no
kill -0 "$reshard_pid" 2>/dev/null && moving=yes
cl_reshard_wait 300
rst=$?
cl_wait_ok 60
left=$(kit count "$p1" 'anp:page:/blog/*' 2>/dev/null)
pv=$(field previewed) dl=$(field deleted) gn=$(field gone) dbt=$(field in_doubt)
[ $rst = 0 ] && [ -n "$pv" ] && [ "$((dl + gn))" = "$pv" ] && [ "${dbt:-x}" = 0 ] &&
    [ "$left" = $((30000 - pv)) ] && [ "$(cl_total)" = $((20000 + left)) ]
ok $? "purge during a reshard (still moving at the end: $moving; $redirs): previewed $pv, deleted $dl, gone $gn; $left never previewed are left (exit $st)"
# Whatever was left goes with a second purge, now that nothing moves.
purge "$tmp/mv.yml" 5
[ "$(kit count "$p1" 'anp:page:/blog/*' 2>/dev/null)" = 0 ] && [ "$(cl_total)" = 20000 ]
ok $? "a second purge after the reshard leaves none"

# 5. A primary killed mid-purge ---------------------------------------------
kit load "$p1" anp:page:/blog/post 20000 2>/dev/null
cl_wait_synced 30
victim=$(cl_owner 'anp:page:/blog/post1')
rest=
for p in $cl_primaries; do [ "$p" = "$victim" ] || rest="$rest $p"; done
# Its writes held: UNLINKs reach it and wait; SCAN (a read) goes on.
cl_cli "$victim" CLIENT PAUSE 60000 WRITE >/dev/null
runbook "$tmp/kill.yml" "$victim" 'anp:page:/blog/*'
timeout 120 "$REHEARSE" run --batch --yes --audit "$tmp/a6.jsonl" "$tmp/kill.yml" \
    >"$tmp/out" 2>"$tmp/err" &
rh_pid=$!
# others_done: the other primaries hold no route key any more.
others_done() {
	kit count "$p1" 'anp:page:/blog/*' 2>"$tmp/sh" >/dev/null || return 1
	for _p in $rest; do
		grep -q "^shard 127.0.0.1:$_p keys 0$" "$tmp/sh" || return 1
	done
}
cl_poll 60 others_done
cl_kill_primary "$victim"
kst=$?
wait "$rh_pid"
st=$?
rh_pid=
grep '"type":"purge.done"' "$tmp/a6.jsonl" >"$tmp/done" 2>/dev/null
left=$(kit count "$cl_promoted" 'anp:page:/blog/*' 2>/dev/null)
pv=$(field previewed) dl=$(field deleted) gn=$(field gone) dbt=$(field in_doubt)
[ $kst = 0 ] && [ "$pv" = 20000 ] && [ "$dl" -le "$pv" ] &&
    [ "$left" = $((pv - dl - gn)) ] && [ "$dbt" -le "$left" ] && [ "$(cl_total)" = $((20000 + left)) ]
ok $? "primary $victim killed mid-purge, $cl_promoted promoted: previewed $pv, deleted $dl, gone $gn, in doubt $dbt; the $left left are exactly the ones not claimed (exit $st)"
[ "$dbt" = 0 ] || grep -q 'in doubt' "$tmp/out"
ok $? "the keys in doubt are named with their shard"

# 6. A node down at preview time ----------------------------------------------
if cluster_start down 3 0 2>"$tmp/err"; then
	set -- $cl_primaries
	cl_acl_user purger "$RH_PW" '~*' '+@all'
	kit load "$1" anp:page:/blog/post 3000 2>/dev/null
	eval "dpid=\$cl_pid_$3"
	kill -KILL "$dpid"
	wait "$dpid" 2>/dev/null
	cl_dead=$3
	before=$(( $(cl_cli "$1" DBSIZE) + $(cl_cli "$2" DBSIZE) ))
	runbook "$tmp/down.yml" "$1" 'anp:page:/blog/*'
	purge "$tmp/down.yml" 7
	[ $st = 1 ] && [ "$(( $(cl_cli "$1" DBSIZE) + $(cl_cli "$2" DBSIZE) ))" = "$before" ] &&
	    grep -q -E "$3|down|not ok|fail" "$tmp/out"
	ok $? "a primary down at preview time ($3): refused, nothing deleted on the others (exit $st: $(grep -o -E 'refused.{0,120}' "$tmp/out" | head -1))"
else
	ok 1 "a 3-primary cluster without replicas came up"
fi

tls_case

echo "1..$n"
