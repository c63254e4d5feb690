#!/bin/sh
# purge_doubt.sh: a purge whose connection is killed (CLIENT KILL TYPE
# normal, from redis-cli) while UNLINK batches are in flight stops: the
# keys of the batches in flight are "in doubt" (at most PURGE_DEPTH x
# PURGE_BATCH = 600), never counted as deleted; the rest is "not touched";
# the step and purge.done say so; nothing more is deleted after the kill;
# the keys left agree; resume does not take the purge for done, and a
# restore of its backup puts back exactly what went (the in-doubt keys
# that were not deleted are found in place).  A real redis-server, 200,000
# keys, `run --batch`.  Speaks TAP.  Needs $REHEARSE and $top_srcdir.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
runpid=
. "$top_srcdir/tests/lib.sh"
cleanup_hook() { [ -z "$runpid" ] || kill "$runpid" 2>/dev/null; }
start_redis --enable-debug-command yes
cli() { redis-cli -p $rport "$@"; }
total=200000
runbook() {	# runbook FILE BACKUP
	cat >"$1" <<EOR
runbook: purge in doubt
owner: ops
redis: { url: "redis://127.0.0.1:$rport/0", timeout_ms: 2000 }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"], max_keys: 300000 }
steps:
  - { title: Purge the blog, purge: { route: blog, backup: $2 } }
  - { title: Look at the graphs, manual: "all green?" }
EOR
}
field() {	# field NAME LOG: a number of the log's purge.done
	sed -n "s/.*\"type\":\"purge.done\".*\"$1\":\\([0-9]*\\).*/\\1/p" "$2"
}
# purge_and_kill NAME: starts the purge, kills its connection once keys
# are going, waits for the run; sets deleted, doubt, untouched, gone.
purge_and_kill() {
	cli FLUSHALL >/dev/null
	cli DEBUG POPULATE $total anp:page:/blog/post 32 >/dev/null
	"$REHEARSE" run --batch --yes --audit "$tmp/$1.jsonl" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err" &
	runpid=$!
	i=0
	while ! grep -q purge.intent "$tmp/$1.jsonl" 2>/dev/null && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
	i=0
	while [ "$(cli DBSIZE)" -gt $((total - 2000)) ] && [ $i -lt 2000 ]; do i=$((i + 1)); done
	killed=$(cli CLIENT KILL TYPE normal)
	t0=$(now_ms)
	wait $runpid
	echo $? >"$tmp/rc"
	runpid=
	took=$(( $(now_ms) - t0 ))
	deleted=$(field deleted "$tmp/$1.jsonl")
	doubt=$(field in_doubt "$tmp/$1.jsonl")
	untouched=$(field untouched "$tmp/$1.jsonl")
	gone=$(field gone "$tmp/$1.jsonl")
	left=$(cli DBSIZE)
	echo "# $1: killed $killed connection(s); deleted=${deleted:-none} in_doubt=${doubt:-none} untouched=${untouched:-none} left=$left; the run ended $took ms after"
}
# The counts add up, the batches in flight are in doubt, and the keys
# left lie between "all in-doubt keys deleted" and "none of them".
honest() {
	[ -n "$deleted" ] && [ -n "$doubt" ] && [ -n "$untouched" ] && [ "$gone" = 0 ] &&
	    [ $((deleted + doubt + untouched)) = $total ] &&
	    [ "$deleted" -gt 0 ] && [ "$doubt" -gt 0 ] && [ "$doubt" -le 600 ] &&
	    [ $((doubt % 200)) = 0 ] && [ "$untouched" -gt 0 ] &&
	    [ "$left" -ge $((total - deleted - doubt)) ] && [ "$left" -le $((total - deleted)) ]
}

runbook "$tmp/rb.yml" false
purge_and_kill plain
[ "$(cat "$tmp/rc")" = 1 ] && honest && [ "$took" -lt 5000 ]
ok $? "a killed connection stops the purge: ${deleted:-?} deleted, the ${doubt:-?} keys in flight in doubt, ${untouched:-?} not touched; $left left agrees"

grep -q "^1 .*fail .*deleted $deleted of $total previewed (0 already gone, $doubt in doubt) in [0-9]* ms; $untouched not touched -- Redis failed during batch" "$tmp/out" &&
    grep -q '"type":"purge.done".*"state":"failed"' "$tmp/plain.jsonl" &&
    grep -q '"type":"purge.done".*"reason":"Redis failed during batch' "$tmp/plain.jsonl"
ok $? "the step says what happened (deleted, in doubt, not touched) and purge.done records the same"

# Redis is up again at once (a killed client, not a dead server): had the
# purge carried on after reconnecting, keys would still be going.
sleep 1
[ "$(cli DBSIZE)" = "$left" ]
ok $? "nothing is deleted after the kill ($left keys left a second later)"

"$REHEARSE" verify -q "$tmp/plain.jsonl" && "$REHEARSE" report "$tmp/plain.jsonl" >"$tmp/report" 2>&1 &&
    grep -q "| 1 | blog | $total | $deleted | 0 | $doubt |" "$tmp/report"
ok $? "the log verifies and the report's purge line has the in-doubt keys"

# Resume: the purge is not taken for done and not run again; the next
# step runs.
"$REHEARSE" run --batch --resume "$tmp/plain.jsonl" >"$tmp/out" 2>"$tmp/err"
grep -q "^1 .*fail .*$doubt in doubt" "$tmp/out" && [ "$(cli DBSIZE)" = "$left" ] &&
    [ "$(grep -c '"type":"purge.intent"' "$tmp/plain.jsonl")" = 1 ]
ok $? "resume keeps the purge failed with its keys in doubt and does not purge again"

# With a backup: the keys in doubt were backed up (synced before their
# UNLINK); a restore puts back what went, and finds in place what did
# not go.
runbook "$tmp/rb.yml" true
purge_and_kill backup
backup=$(ls "$tmp"/.backups/backup.step1.backup.jsonl 2>/dev/null)
saved=$(grep -c '"type":"key"' "$backup" 2>/dev/null)
[ "$(cat "$tmp/rc")" = 1 ] && honest && [ -n "$saved" ] && [ "$saved" -ge $((deleted + doubt)) ]
ok $? "with backup: the same accounting, and the ${saved:-?} keys backed up include every key deleted or in doubt"

"$REHEARSE" restore --audit "$tmp/restore.jsonl" "$tmp/rb.yml" "$backup" >"$tmp/out" 2>"$tmp/err"
restored=$(sed -n 's/.*"type":"restore.done".*"restored":\([0-9]*\).*/\1/p' "$tmp/restore.jsonl")
existed=$(sed -n 's/.*"type":"restore.done".*"existed":\([0-9]*\).*/\1/p' "$tmp/restore.jsonl")
echo "# restore: restored=${restored:-none} existed=${existed:-none} of $saved"
[ "$(cli DBSIZE)" = $total ] && [ -n "$restored" ] && [ "$restored" = $((total - left)) ] &&
    [ "$restored" -ge "$deleted" ] && [ "$restored" -le $((deleted + doubt)) ] &&
    [ $((restored + existed)) = "$saved" ]
ok $? "restore puts back exactly the keys that went (${restored:-?}: the deleted and the in-doubt ones that were), the rest found in place"

echo "1..$n"
