#!/bin/bash
# cluster_restore.sh: `rehearse restore` on a real Redis Cluster (3
# primaries, 3 replicas): a backup taken by a backed-up purge across the
# cluster (keys over every slot, hash-tagged keys, binary keys, TTLs), or
# on a single server, is put back with each
# key's RESTORE sent to the primary that owns its slot; every key is back,
# readable from its owner, with its TTL; a second restore keeps them; a
# restore while slots move between primaries (redis-cli --cluster reshard)
# follows the redirections and loses nothing; a cluster that is not ok is
# refused before anything is restored.  Speaks TAP.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cluster_lib.sh"
cli() { redis-cli -p "$rport" "$@"; }
runbook() {	# runbook FILE PORT
	cat >"$1" <<EOR
runbook: cluster restore
owner: ops
redis: { url: "redis://127.0.0.1:$2/0", timeout_ms: 2000 }
routes:
  - { name: blog, keys: ["anp:page:/blog/*", "{blog}:page:*"], max_keys: 50000 }
steps:
  - { title: Purge the blog pages, purge: { route: blog, backup: true } }
EOR
}
# The keys: 3000 over every slot (every third with a TTL), 300 in one hash
# tag, and binary ones (NUL, 0xff, ESC, newline) whose values are binary too.
fill() {	# fill CLI...
	{
		i=0
		while [ $i -lt 3000 ]; do
			echo "SET anp:page:/blog/p$i v$i"
			[ $((i % 3)) = 0 ] && echo "EXPIRE anp:page:/blog/p$i 3600"
			i=$((i + 1))
		done
		i=0; while [ $i -lt 300 ]; do echo "SET {blog}:page:$i t$i"; i=$((i + 1)); done
		printf 'SET "anp:page:/blog/nul\\x00key" nulvalue\n'
		printf 'SET "anp:page:/blog/ff\\xffkey" "\\xff\\x00\\x1b[31m" PX 600000\n'
		printf 'SET "anp:page:/blog/esc\\x1b]0;owned\\x07" v\n'
		printf 'SET "anp:page:/blog/nl\\nkey" "a\\nb"\n'
		printf 'RPUSH anp:page:/blog/list a b c\n'
	} | "$@" >/dev/null 2>&1
}
# What the binary keys hold, as redis-cli shows it (escaped).
hard() {	# hard CLI...
	printf 'GET "anp:page:/blog/nul\\x00key"\nGET "anp:page:/blog/ff\\xffkey"\nGET "anp:page:/blog/esc\\x1b]0;owned\\x07"\nGET "anp:page:/blog/nl\\nkey"\nLRANGE anp:page:/blog/list 0 -1\nGET anp:page:/blog/p1234\nGET {blog}:page:77\n' |
	    "$@" --no-raw 2>&1 | grep -a -v '^-> Redirected' | tr '\n' ' '
}
nkeys=3305

if ! cluster_start c 3 1; then
	echo "1..0 # SKIP no cluster could be made (see above)"
	exit 0
fi
p1=${cl_primaries%% *}
set -- $cl_primaries
p2=$2

# The backup: a backed-up purge across the cluster.
fill cl_cli "$p1" -c
before=$(hard cl_cli "$p1" -c)
runbook "$tmp/p.yml" "$p1"
"$REHEARSE" run --batch --yes --audit "$tmp/purge.jsonl" "$tmp/p.yml" >"$tmp/out" 2>"$tmp/err"
rc=$?
bk="$tmp/.backups/purge.step1.backup.jsonl"
[ $rc = 0 ] && [ "$(cl_total)" = 0 ] && [ -s "$bk" ] && echo "$before" | grep -q 'xff' &&
    grep '"type":"purge.done"' "$tmp/purge.jsonl" | grep -q '"cluster":true'
ok $? "a backed-up purge of $nkeys keys (binary, hash-tagged, with TTLs) across the cluster writes its backup"

runbook "$tmp/c.yml" "${cl_replicas%% *}"
"$REHEARSE" restore --audit "$tmp/r1.jsonl" "$tmp/c.yml" "$bk" >"$tmp/out" 2>"$tmp/err"
rc=$?
echo "# restore: $(cat "$tmp/out") (exit $rc)"
[ $rc = 0 ] && grep -q "^restored $nkeys keys, 0 kept (they exist; --replace overwrites), 0 expired meanwhile, 0 errors$" "$tmp/out" &&
    [ "$(cl_total)" = $nkeys ]
ok $? "restore through a replica of the cluster puts all $nkeys keys back over the primaries"

# Each primary holds keys of its own slots only (a node refuses others), and
# the hash-tagged ones are all on their owner.
per=
for p in $cl_primaries; do per="$per $(cl_cli "$p" DBSIZE)"; done
towner=$(cl_owner "{blog}")
[ "$(cl_cli "$towner" CLUSTER COUNTKEYSINSLOT "$(cl_slot '{blog}')")" = 300 ] &&
    for p in $cl_primaries; do [ "$(cl_cli "$p" DBSIZE)" -gt 300 ] || exit 1; done
ok $? "keys spread over every primary (${per# }), the 300 hash-tagged on the owner of {blog}"

after=$(hard cl_cli "$p1" -c)
[ "$after" = "$before" ]
ok $? "binary keys and values come back byte for byte (read from their owners)"
[ "$before" != "$after" ] && { echo "# before: $before"; echo "# after:  $after"; }

t1=$(cl_cli "$p1" -c TTL anp:page:/blog/p999)
t2=$(cl_cli "$p1" -c TTL anp:page:/blog/p1000)
t3=$(printf 'PTTL "anp:page:/blog/ff\\xffkey"\n' | cl_cli "$p1" -c | grep -a -v '^-> Redirected')
[ "$t1" -gt 3500 ] && [ "$t1" -le 3600 ] && [ "$t2" = -1 ] && [ "$t3" -gt 500000 ] && [ "$t3" -le 600000 ]
ok $? "TTLs come back on the owners: EX ($t1 s), none stays none ($t2), PX less the time spent ($t3 ms)"

jq -e -s '[.[] | select(.type == "restore.done")][0].data |
    .restored == '$nkeys' and .errors == 0' "$tmp/r1.jsonl" >/dev/null
ok $? "the audit log's restore.done has the counts"

"$REHEARSE" restore --audit "$tmp/r2.jsonl" "$tmp/c.yml" "$bk" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && grep -q "^restored 0 keys, $nkeys kept" "$tmp/out" && [ "$(cl_total)" = $nkeys ]
ok $? "a second restore keeps every key (BUSYKEY from each owner), --replace not given"

# While slots move: the keys are deleted (on their owners), a reshard of
# 3000 slots from one primary to another starts, and the restore runs.
for p in $cl_primaries; do cl_cli "$p" FLUSHALL >/dev/null; done
[ "$(cl_total)" = 0 ] || echo "# flush left $(cl_total) keys"
cl_reshard "$p1" "$p2" 3000
# Under way once a slot of p1 is migrating.
moving() { cl_cli "$p1" CLUSTER NODES | grep -q -- '->-'; }
cl_poll 10 moving || echo "# the reshard did not start migrating within 10 s"
"$REHEARSE" restore --audit "$tmp/r3.jsonl" "$tmp/c.yml" "$bk" >"$tmp/out" 2>"$tmp/err"
rc=$?
kill -0 "$reshard_pid" 2>/dev/null && echo "# the reshard was still running when the restore ended"
cl_reshard_wait
rs=$?
cl_wait_ok
echo "# restore during the reshard: $(cat "$tmp/out") (exit $rc; reshard exit $rs)"
[ $rc = 0 ] && grep -q "^restored $nkeys keys, 0 kept" "$tmp/out" && [ "$(cl_total)" = $nkeys ] &&
    [ "$(hard cl_cli "$p2" -c)" = "$before" ]
ok $? "a restore while slots move follows the redirections: all $nkeys keys back, none lost"

# A backup taken on a single server goes onto the cluster the same way.
start_redis
fill cli
runbook "$tmp/one.yml" "$rport"
"$REHEARSE" run --batch --yes --audit "$tmp/one.jsonl" "$tmp/one.yml" >"$tmp/out" 2>"$tmp/err"
for p in $cl_primaries; do cl_cli "$p" FLUSHALL >/dev/null; done
"$REHEARSE" restore --audit "$tmp/r5.jsonl" "$tmp/c.yml" "$tmp/.backups/one.step1.backup.jsonl" \
    >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && grep -q "^restored $nkeys keys, 0 kept" "$tmp/out" && [ "$(cl_total)" = $nkeys ] &&
    [ "$(cli DBSIZE)" = 0 ] && [ "$(hard cl_cli "$p2" -c)" = "$before" ]
ok $? "a backup taken on a single server is restored across the cluster, each key on its owner"

# Not ok: a primary with no replica left is killed; nothing is restored.
cluster_start d 3 0 || exit 1
set -- $cl_primaries
runbook "$tmp/d.yml" "$2"
eval "dpid=\$cl_pid_$1"
{ kill -KILL "$dpid"; wait "$dpid"; } 2>/dev/null
cl_dead="$cl_dead $1"
"$REHEARSE" restore --audit "$tmp/r4.jsonl" "$tmp/d.yml" "$bk" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "the cluster is not ok: primary 127.0.0.1:$1 is down" "$tmp/err" &&
    grep -q "nothing was restored" "$tmp/err" && [ "$(cl_cli "$2" DBSIZE)" = 0 ] &&
    [ "$(cl_cli "$3" DBSIZE)" = 0 ] &&
    ! grep -q restore.intent "$tmp/r4.jsonl"
ok $? "a cluster with a primary down: refused before anything is restored"

echo "1..$n"
