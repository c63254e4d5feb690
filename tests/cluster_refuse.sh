#!/bin/sh
# cluster_refuse.sh: purges are refused before the preview on a replica,
# on a Redis Cluster node when the runbook says redis.cluster: false (a real
# 3-node cluster made here; tests/cluster_purge.sh purges across one), and
# when INFO is not allowed the refusal names the permission.  Nothing is
# deleted in any case.  Speaks TAP.  Needs $REHEARSE and $top_srcdir.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"

# more_redis NAME ARGS...: another private server on a free port; its port
# in $port, its pid appended to $pids.  Ours only when it has our pid.
next_port=
more_redis() {
	name=$1; shift
	: "${next_port:=$((rport + 1))}"
	for _a in 1 2 3 4 5 6 7 8 9 10; do
		while redis-cli -p "$next_port" ping >/dev/null 2>&1 ||
		    redis-cli -p $((next_port + 10000)) ping >/dev/null 2>&1; do
			next_port=$((next_port + 1))
		done
		mkdir -p "$tmp/$name"
		"${REDIS_SERVER:-redis-server}" --port "$next_port" --bind 127.0.0.1 --save '' \
		    --appendonly no --dir "$tmp/$name" --logfile "$tmp/$name/log" \
		    "$@" >/dev/null 2>&1 &
		_p=$!
		_i=0
		while ! redis-cli -p "$next_port" ping >/dev/null 2>&1 && [ $_i -lt 100 ]; do
			sleep 0.05; _i=$((_i + 1))
		done
		if [ "$(redis-cli -p "$next_port" INFO server 2>/dev/null | tr -d '\r' |
		    sed -n 's/^process_id://p')" = "$_p" ]; then
			pids="$pids $_p"; port=$next_port; next_port=$((next_port + 1))
			return 0
		fi
		kill $_p 2>/dev/null
		next_port=$((next_port + 1))
	done
	return 1
}
runbook() {	# runbook FILE PORT PATTERN [user] [more redis keys]
	cat >"$1" <<EOR
runbook: cluster refusal
owner: ops
redis: { url: "redis://${4:+$4@}127.0.0.1:$2/0", timeout_ms: 2000 ${4:+, password_env: RH_PW} ${5:-} }
routes:
  - { name: blog, keys: ["$3"], max_keys: 50000 }
steps:
  - { title: Purge the blog pages, purge: { route: blog, backup: true } }
EOR
}

# A replica.
start_redis
more_redis replica --replicaof 127.0.0.1 "$rport"
rep=$port
i=0; while [ $i -lt 20 ] && ! redis-cli -p $rep INFO replication | grep -q master_link_status:up; do sleep 0.1; i=$((i + 1)); done
i=0; while [ $i -lt 300 ]; do echo "SET anp:page:/blog/p$i v"; i=$((i + 1)); done | redis-cli -p $rport >/dev/null
sleep 0.3
runbook "$tmp/rep.yml" $rep "anp:page:/blog/*"
"$REHEARSE" run --batch --yes --audit "$tmp/a1.jsonl" "$tmp/rep.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "this server is a replica (role:slave, master 127.0.0.1)" "$tmp/out" &&
    ! grep -q "purge.preview.*previewed\":[1-9]" "$tmp/a1.jsonl" && [ "$(redis-cli -p $rport DBSIZE)" = 300 ]
ok $? "a purge on a replica is refused before the preview, naming it a replica"

# A user that may not run INFO.
redis-cli -p $rport ACL SETUSER noinfo on '>pw-noinfo' '~*' '+@all' '-info' >/dev/null
runbook "$tmp/noinfo.yml" $rport "anp:page:/blog/*" noinfo
RH_PW=pw-noinfo "$REHEARSE" run --batch --yes --audit "$tmp/a2.jsonl" "$tmp/noinfo.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "cannot tell whether this server is a replica or a cluster node: INFO replication answered 'NOPERM" "$tmp/out" &&
    grep -q "permission to run INFO" "$tmp/out" && [ "$(redis-cli -p $rport DBSIZE)" = 300 ]
ok $? "without permission to run INFO the refusal names the permission"

# A real 3-node cluster.
for c in c1 c2 c3; do
	more_redis $c --cluster-enabled yes --cluster-config-file "$tmp/$c/nodes.conf" --cluster-node-timeout 2000
	eval "p_$c=$port"
done
redis-cli --cluster create 127.0.0.1:$p_c1 127.0.0.1:$p_c2 127.0.0.1:$p_c3 \
    --cluster-replicas 0 --cluster-yes >"$tmp/create" 2>&1
cluster_ok() {
	for p in $p_c1 $p_c2 $p_c3; do
		redis-cli -p $p CLUSTER INFO | grep -q cluster_state:ok || return 1
	done
}
i=0; while [ $i -lt 300 ] && ! cluster_ok; do sleep 0.1; i=$((i + 1)); done
total() { echo $(( $(redis-cli -p $p_c1 DBSIZE) + $(redis-cli -p $p_c2 DBSIZE) + $(redis-cli -p $p_c3 DBSIZE) )); }
# SET is idempotent: fill again while a node still settles its view.
tries=0
while [ "$(total)" != 3000 ] && [ $tries -lt 10 ]; do
	i=0; while [ $i -lt 3000 ]; do echo "SET anp:page:/blog/p$i v"; i=$((i + 1)); done | redis-cli -c -p $p_c1 >/dev/null 2>&1
	tries=$((tries + 1)); [ "$(total)" = 3000 ] || sleep 0.5
done
[ "$(total)" = 3000 ]
ok $? "a 3-node cluster holds 3000 route keys spread over its nodes"

runbook "$tmp/c.yml" $p_c1 "anp:page:/blog/*" "" ", cluster: false"
"$REHEARSE" run --batch --yes --audit "$tmp/a3.jsonl" "$tmp/c.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "this server is a cluster node, and redis.cluster is false: a purge on one node would miss the keys of the others" "$tmp/out" &&
    ! grep -q "keys match" "$tmp/err" && [ "$(total)" = 3000 ]
ok $? "with cluster: false a purge on a cluster node is refused before the preview (no partial count), all 3000 keys stay"

# The keys of one hash tag in a slot of one node; purge pointed at another.
i=0; while [ $i -lt 500 ]; do echo "SET {tagged}:page:$i v"; i=$((i + 1)); done | redis-cli -c -p $p_c1 >/dev/null 2>&1
owner=$(for p in $p_c1 $p_c2 $p_c3; do
	[ "$(redis-cli -p $p CLUSTER COUNTKEYSINSLOT $(redis-cli -p $p CLUSTER KEYSLOT '{tagged}'))" = 500 ] && echo $p; done)
other=$p_c1; [ "$owner" = $p_c1 ] && other=$p_c2
runbook "$tmp/t.yml" $other "{tagged}:page:*" "" ", cluster: false"
"$REHEARSE" run --batch --yes --audit "$tmp/a4.jsonl" "$tmp/t.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "redis.cluster is false" "$tmp/out" && ! grep -q "pass" "$tmp/out" && [ "$(total)" = 3500 ]
ok $? "on a node holding none of the route's slots, with cluster: false: refused, never 'pass, deleted 0 of 0'; the 500 keys stay"

# Found from the node (no cluster key): the same purge goes across the cluster.
runbook "$tmp/f.yml" $other "{tagged}:page:*"
"$REHEARSE" run --batch --yes --audit "$tmp/a5.jsonl" "$tmp/f.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && grep -q "deleted 500 of 500 previewed" "$tmp/out" && grep -q "500 keys match across the cluster: 127.0.0.1:$owner 500" "$tmp/err" &&
    [ "$(total)" = 3000 ] && ! grep -q CROSSSLOT "$tmp/out"
ok $? "without redis.cluster the node's INFO cluster makes it a cluster purge: the hash tag's 500 keys, walked on their owner only"

echo "1..$n"
