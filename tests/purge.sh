#!/bin/sh
# purge.sh: `rehearse run --batch` on purge steps, and `rehearse restore`,
# against a private redis-server on a free loopback port.  MONITOR records
# every command the program sends: never KEYS, never FLUSHDB or FLUSHALL.
# Speaks TAP.  Needs $REHEARSE and $top_srcdir.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
mpid=
. "$top_srcdir/tests/lib.sh"
cleanup_hook() { [ -z "$mpid" ] || kill "$mpid" 2>/dev/null; }
start_redis --enable-debug-command yes	# DEBUG POPULATE is used below
cli() { redis-cli -p $rport "$@"; }

runbook() {	# runbook FILE MAXKEYS [extra redis settings]
	cat >"$1" <<EOR
runbook: purge rehearsal
owner: ops
redis: { url: "redis://127.0.0.1:$rport/0", timeout_ms: 500 ${3:-} }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"], max_keys: $2 }
  - { name: odd, keys: ["odd:*"] }
steps:
  - { id: purge-blog, title: Purge the blog pages, purge: { route: blog, backup: true } }
  - { id: purge-odd, title: Purge the odd keys, purge: odd }
EOR
}
fill() {	# fill PREFIX COUNT
	i=0
	while [ $i -lt "$2" ]; do echo "SET $1$i v EX 600"; i=$((i + 1)); done | cli >/dev/null
}
run() {
	"$REHEARSE" run --batch "$@" >"$tmp/out" 2>"$tmp/err"
	echo $? >"$tmp/rc"
}
rc() { cat "$tmp/rc"; }

runbook "$tmp/rb.yml" 5000
fill "anp:page:/blog/post-" 1500
fill "anp:page:/shop/item-" 300
printf 'SET "odd:with space" v\nSET "odd:glob*?[x]" v\n' | cli >/dev/null
cli SET "$(printf 'odd:new\nline')" v >/dev/null

cli monitor >"$tmp/monitor" 2>&1 &
mpid=$!
sleep 0.2

run --audit "$tmp/a1.jsonl" "$tmp/rb.yml"
[ "$(rc)" = 1 ] && grep -q "refused: a purge changes the world" "$tmp/out" &&
    [ "$(cli DBSIZE)" = 1803 ]
ok $? "without --yes every purge is refused and nothing is deleted"

run --yes --audit "$tmp/a2.jsonl" "$tmp/rb.yml"
[ "$(rc)" = 0 ] && [ "$(cli DBSIZE)" = 300 ] &&
    grep -q "^1    pass .*deleted 1500 of 1500 previewed" "$tmp/out" &&
    grep -q "^2    pass .*deleted 3 of 3 previewed" "$tmp/out"
ok $? "with --yes the route's keys and the binary keys are purged, the rest stays"

grep -q "preview: 1500 keys match; sample:" "$tmp/err" && grep -q '^    odd:new\\nline$' "$tmp/err"
ok $? "the preview counts the keys and shows a sample, escaped"

"$REHEARSE" verify "$tmp/a2.jsonl" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && grep -q '"type":"purge.intent"' "$tmp/a2.jsonl" &&
    grep -q '"type":"purge.done".*"deleted":1500' "$tmp/a2.jsonl"
ok $? "the audit log verifies and holds the intent and the result"

# The intent is written before the first UNLINK.
awk '/purge.intent/ { i = NR } /purge.done/ { d = NR } END { exit !(i && d && i < d) }' "$tmp/a2.jsonl"
ok $? "the intent record comes before the result"

kill $mpid 2>/dev/null
wait $mpid 2>/dev/null
mpid=
grep -q '"SCAN"' "$tmp/monitor" && grep -q '"UNLINK"' "$tmp/monitor" &&
    ! grep -q -i -E '"(KEYS|FLUSHDB|FLUSHALL)"' "$tmp/monitor"
ok $? "MONITOR saw SCAN and UNLINK, never KEYS, FLUSHDB or FLUSHALL"

backup=$(ls "$tmp"/.backups/a2.step1.backup.jsonl 2>/dev/null)
[ -n "$backup" ] && [ "$(wc -l <"$backup")" = 1502 ] && [ "$(stat -c %a "$backup")" = 600 ]
ok $? "the purge backed the keys up first (in .backups/, a header, one line per key and an end line, mode 0600)"

"$REHEARSE" restore --audit "$tmp/a3.jsonl" "$tmp/rb.yml" "$backup" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && grep -q "restored 1500 keys" "$tmp/out" && [ "$(cli DBSIZE)" = 1800 ] &&
    [ "$(cli TTL anp:page:/blog/post-7)" -gt 500 ]
ok $? "rehearse restore puts the keys back with their TTLs"

# Over max_keys: refused.
runbook "$tmp/small.yml" 1000
run --yes --audit "$tmp/a4.jsonl" "$tmp/small.yml"
[ "$(rc)" = 1 ] && grep -q "more than 1000 keys match" "$tmp/out" && [ "$(cli DBSIZE)" = 1800 ]
ok $? "a purge over max_keys is refused"

# Wrong password: a clear state, exit 1, no crash.
cli CONFIG SET requirepass hunter22 >/dev/null
runbook "$tmp/pw.yml" 5000 ", password_env: RH_TEST_PW"
RH_TEST_PW=wrong-one run --yes --audit "$tmp/a5.jsonl" "$tmp/pw.yml"
[ "$(rc)" = 1 ] && grep -q "authentication failed" "$tmp/out" && ! grep -q "wrong-one" "$tmp/out" "$tmp/err" "$tmp/a5.jsonl"
ok $? "a wrong password is reported, and never shown"

run --yes --audit "$tmp/a6.jsonl" "$tmp/pw.yml"
[ "$(rc)" = 2 ] && grep -q "RH_TEST_PW, which is not set" "$tmp/err"
ok $? "an unset password variable is a usage error"

RH_TEST_PW=hunter22 run --yes --audit "$tmp/a7.jsonl" "$tmp/pw.yml"
[ "$(rc)" = 0 ] && ! grep -q hunter22 "$tmp/a7.jsonl"
ok $? "the right password works and never reaches the log"
REDISCLI_AUTH=hunter22 redis-cli -p $rport CONFIG SET requirepass "" >/dev/null 2>&1

# Redis down: the step fails with the state, after the timeout, no hang.
kill $rpid; wait $rpid 2>/dev/null; rpid=
run --yes --audit "$tmp/a8.jsonl" "$tmp/rb.yml"
[ "$(rc)" = 1 ] && grep -q "Redis is down" "$tmp/out"
ok $? "Redis down: the purge fails with Redis's state"

# Redis hangs (SIGSTOP) in the middle of a purge: exactly how many keys
# went is reported, and the batch in flight is counted as in doubt.
start_redis --enable-debug-command yes
fill "anp:page:/blog/post-" 40000
runbook "$tmp/big.yml" 50000
"$REHEARSE" run --batch --yes --audit "$tmp/a9.jsonl" "$tmp/big.yml" >"$tmp/out" 2>"$tmp/err" &
runpid=$!
i=0
while ! grep -q purge.intent "$tmp/a9.jsonl" 2>/dev/null && [ $i -lt 1000 ]; do
	sleep 0.01; i=$((i + 1))
done
sleep 0.05
kill -STOP $rpid
wait $runpid
echo $? >"$tmp/rc"
kill -CONT $rpid
left=$(cli DBSIZE)
deleted=$(sed -n 's/.*"type":"purge.done".*"deleted":\([0-9]*\).*/\1/p' "$tmp/a9.jsonl")
doubt=$(sed -n 's/.*"type":"purge.done".*"in_doubt":\([0-9]*\).*/\1/p' "$tmp/a9.jsonl")
echo "# deleted=${deleted:-none} in_doubt=${doubt:-none} left=${left:-none}"
[ "$(rc)" = 1 ] && [ -n "$deleted" ] && [ -n "$doubt" ] && [ -n "$left" ] &&
    [ "$deleted" -lt 40000 ] &&
    [ $((40000 - deleted - doubt)) -le "$left" ] && [ "$left" -le $((40000 - deleted)) ]
ok $? "a purge cut off by a hung Redis reports what it deleted (the rest is counted in doubt)"

"$REHEARSE" verify -q "$tmp/a9.jsonl"
ok $? "the log of an interrupted purge verifies"

# Ctrl-C during the preview: nothing is deleted, the step is skipped.
cli FLUSHALL >/dev/null
cli DEBUG POPULATE 400000 other >/dev/null
fill "anp:page:/blog/post-" 50
"$REHEARSE" run --batch --yes --audit "$tmp/a10.jsonl" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err" &
runpid=$!
i=0
while ! grep -q step.start "$tmp/a10.jsonl" 2>/dev/null && [ $i -lt 1000 ]; do
	sleep 0.005; i=$((i + 1))
done
kill -INT $runpid
wait $runpid
echo $? >"$tmp/rc"
[ "$(rc)" = 1 ] && [ "$(cli DBSIZE)" = 400050 ] && grep -q "skipped .*interrupted" "$tmp/out" &&
    ! grep -q purge.intent "$tmp/a10.jsonl"
ok $? "an interrupt during the preview deletes nothing and exits 1"

echo "1..$n"
