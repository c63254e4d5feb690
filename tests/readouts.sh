#!/bin/bash
# readouts.sh: the dashboard's live Redis readouts against a real
# redis-server, in tmux: a route count says how old it is and when the next
# one comes, c recounts now, rates are "--" until two INFO samples, INFO
# sections the user may not read (ACL) are named while the rest still
# shows, and a server that stops answering (SIGSTOP) leaves its readouts
# dimmed with their age until it answers again (SIGCONT).  Speaks TAP.
set -u
LC_ALL=C.UTF-8 LANG=C.UTF-8; export LC_ALL LANG
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
REHEARSE=$(cd "$(dirname "$REHEARSE")" && pwd)/$(basename "$REHEARSE")
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
ok_diag=ok_screen
tmux_cols=130

# wait_gone REGEX [SECONDS]: until the screen no longer matches.
wait_gone() {
	_end=$(( $(now_ms) + ${2:-10} * 1000 ))
	while [ "$(now_ms)" -lt $_end ]; do
		screen | grep -q -E -- "$1" || return 0
		sleep 0.05
	done
	return 1
}
rc() { redis-cli -p "$rport" "$@"; }
# runbook REFRESH_S: a read-only look at route pages (pg:*).
runbook() {
	cat >"$tmp/rb.yml" <<EOR
runbook: readouts
owner: ops
redis: { url: "redis://127.0.0.1:$rport/0", timeout_ms: 500, refresh_s: $1 }
routes:
  - { name: pages, keys: ["pg:*"] }
steps:
  - { title: look, manual: look }
EOR
}
# seed FROM TO: keys pg:FROM..pg:TO.
seed() {
	for _i in $(seq "$1" "$2"); do echo "SET pg:$_i v"; done | rc >/dev/null
}

if ! start_redis; then
	echo "1..0 # SKIP no redis-server could start"
	exit 0
fi
seed 1 50

# 1. Age and next count; c recounts now; rates -------------------------------

runbook 30	# the next count is 30 s away: only c brings it sooner
start "$REHEARSE" run --read-only "$tmp/rb.yml"
wait_for "pages: 50 keys, counted [0-9] s ago, next in [0-9]+ s" 10
ok $? "a route count says how old it is and when the next comes"

screen | grep -q -E "hits --  misses --  evictions --" &&
    ! screen | grep -q -E "hit 0\.|hits [0-9]"
ok $? "with one INFO sample the rates are unknown (--), no lifetime ratio"

screen | grep -q -E "c recount"
ok $? "the footer names the recount key"

wait_for "pages: 50 keys, counted [2-9] s ago, next in 2[0-9] s" 10
ok $? "the age grows and the next count comes nearer"

seed 51 75
for _i in $(seq 1 40); do echo "GET pg:1"; done | rc >/dev/null
for _i in $(seq 1 10); do echo "GET nope:$_i"; done | rc >/dev/null
sleep 0.3
keys c
wait_for "pages: 75 keys, counted [0-1] s ago, next in (29|30) s" 5
ok $? "c recounts now: the new keys are counted, the next count moves"

wait_for "hits [0-9.]+/s  misses [0-9.]+/s  evictions 0/s" 3 &&
    ! screen | grep -q -E "hits 0/s  misses 0/s"
ok $? "c refreshes INFO: hit and miss rates between the two samples"

rc CONFIG RESETSTAT >/dev/null
sleep 0.3
keys c
wait_for "hits --  misses --" 5 && wait_for "counters went down \(restart or CONFIG RESETSTAT\)" 5
ok $? "counters that went down (CONFIG RESETSTAT) reset the rates, with a note"

screen | grep -q -E "mem [0-9.]+[KMG]?, no limit, noeviction  keys 75  clients [0-9]+"
ok $? "memory against maxmemory (no limit), the policy, clients"
rc CONFIG SET maxmemory 1gb >/dev/null
rc CONFIG SET maxmemory-policy allkeys-lru >/dev/null
keys c
wait_for "mem [0-9.]+[KMG]? of 1\.0G \([0-9]+%\) allkeys-lru" 5
ok $? "maxmemory set: used against the limit, and the policy"
rc CONFIG SET maxmemory 0 >/dev/null
keys q
wait_for "EXITED" 5

# 2. ACL: INFO sections the user may not read --------------------------------

runbook 0.5
rc ACL SETUSER default -info '+info|server' '+info|clients' '+info|stats' \
    '+info|replication' >/dev/null
start "$REHEARSE" run --read-only "$tmp/rb.yml"
wait_for "not permitted for this user: INFO memory" 10 &&
    wait_for "pages: 75 keys" 5 && screen | grep -q -E "hits [0-9.-]+" &&
    screen | grep -q "redis up" && ! screen | grep -q "mem [0-9]"
ok $? "INFO memory refused (ACL): named, no memory figure, the rest shows"
keys q
wait_for "EXITED" 5
"$REHEARSE" check "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && grep -q "^ok   redis: up" "$tmp/out" && ! grep -q "bytes used" "$tmp/out" &&
    grep -q "^note redis: not permitted for this user: INFO memory$" "$tmp/out"
r1=$?
"$REHEARSE" check --format json "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
grep -q '"used_memory":null' "$tmp/out" && grep -q '"info_not_permitted":\["memory"\]' "$tmp/out"
r2=$?
echo "# text $r1, json $r2"
[ $r1 = 0 ] && [ $r2 = 0 ]
ok $? "check with INFO memory refused: passes, no memory figure, the section named (text and json)"

rc ACL SETUSER default -info >/dev/null
start "$REHEARSE" run --read-only "$tmp/rb.yml"
wait_for "not permitted for this user: INFO server, clients, memory, stats, replication" 10 &&
    wait_for "pages: 75 keys, counted" 5
ok $? "INFO refused entirely: every section named, the counts still work"
keys q
wait_for "EXITED" 5
rc ACL SETUSER default +@all >/dev/null

# 3. A server that stops answering -------------------------------------------

start "$REHEARSE" run --read-only "$tmp/rb.yml"
wait_for "hits [0-9.]+/s" 10 && ! screen | grep -q " old: not refreshing"
ok $? "readouts fresh while the server answers"

kill -STOP "$rpid"
wait_for "readouts [0-9]+ s old: not refreshing" 15 &&
    wait_for "readouts ([4-9]|[1-9][0-9]) s old" 10
ok $? "SIGSTOP: the readouts say how old they are"

dim=$(t capture-pane -e -p -t rh | grep -E "mem [0-9.]+[KMG]?, no limit")
case "$dim" in
*$'\e[2m'*) true ;;
*) false ;;
esac
ok $? "SIGSTOP: the stale readouts are dimmed (A_DIM)"

kill -CONT "$rpid"
wait_gone " old: not refreshing" 20 && wait_for "hits [0-9.]+/s" 10
ok $? "SIGCONT: the readouts are fresh again"
line=$(t capture-pane -e -p -t rh | grep -E "mem [0-9.]+[KMG]?, no limit")
case "$line" in
*$'\e[2m'*) false ;;
*) true ;;
esac
ok $? "SIGCONT: no longer dimmed"
keys q
wait_for "EXITED" 5

# 4. A replica: its link, offset and last I/O -----------------------------

mport=$rport
rport=$((mport + 1))
mpid=$rpid
pids="$pids $mpid"
if start_redis --replicaof 127.0.0.1 "$mport"; then
	seed 76 80 2>/dev/null	# refused by a replica: nothing written
	runbook 0.5
	start "$REHEARSE" run --read-only "$tmp/rb.yml"
	wait_for "redis up, [0-9.]+ ms, replica of 127\.0\.0\.1:$mport" 10 &&
	    wait_for "link up  offset [0-9]+  last I/O from master [0-9]+ s ago" 10 &&
	    wait_for "pages: 75 keys" 10
	ok $? "a replica: role, link status, offset and last I/O from its master"
	keys q
	wait_for "EXITED" 5
else
	skip "no second redis-server for the replica"
fi

# 5. c does not wait for the pacing ------------------------------------------
# 600,000 keys: a paced count takes many seconds (each SCAN call kept near
# 0.2 ms and followed by a pause 40 times as long: over 8 s however fast
# the machine), a count at full speed well under a second.
rport=$mport
awk 'BEGIN { for (i = 0; i < 600000; i++) printf "*3\r\n$3\r\nSET\r\n$%d\r\npg:b%d\r\n$1\r\nv\r\n", length("pg:b" i), i }' |
    rc --pipe >/dev/null
total=$(rc DBSIZE)
runbook 0.5
start "$REHEARSE" run --read-only "$tmp/rb.yml"
wait_for "pages: counting [0-9]+%" 10
r1=$?
sleep 1
screen | grep -q "pages: counting" && ! screen | grep -q "pages: $total keys"
r2=$?
keys c
wait_for "pages: $total keys, counted [0-9] s ago" 4
r3=$?
echo "# paced count seen $r1, still counting after 1 s $r2, counted after c $r3"
[ $r1 = 0 ] && [ $r2 = 0 ] && [ $r3 = 0 ]
ok $? "c counts at full speed: $total keys counted within 4 s, while the paced count was still going"
keys q
wait_for "EXITED" 5

echo "1..$n"
