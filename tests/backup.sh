#!/bin/sh
# backup.sh: backed-up purges and `rehearse restore` against a private
# redis-server: a backup that cannot be taken is refused before anything is
# deleted; every key round-trips (NUL, newline, 0xff, escapes, 10 MB, every
# TTL case); restore verifies the chain (sealed with the audit key), refuses
# keys outside the route, never blocks on a FIFO and logs the backup's path
# and hash.  Speaks TAP.  Needs $REHEARSE and $top_srcdir.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
mpid=
. "$top_srcdir/tests/lib.sh"
cleanup_hook() { [ -z "$mpid" ] || kill "$mpid" 2>/dev/null; }
cli() { redis-cli -p $rport "$@"; }
runbook() {	# runbook FILE PATTERN [user]
	cat >"$1" <<EOR
runbook: backup rehearsal
owner: ops
redis: { url: "redis://${3:+$3@}127.0.0.1:$rport/0", timeout_ms: 2000 ${3:+, password_env: RH_PW} }
routes:
  - { name: blog, keys: ["$2"], max_keys: 5000 }
steps:
  - { title: Purge the blog pages, purge: { route: blog, backup: true } }
EOR
}
fill() { i=0; while [ $i -lt "$2" ]; do echo "SET $1$i v"; i=$((i + 1)); done | cli >/dev/null; }

# 1. DUMP renamed away: refused at the preview, nothing deleted.
start_redis --rename-command DUMP ""
runbook "$tmp/rb.yml" "anp:page:/blog/*"
fill anp:page:/blog/p 300
"$REHEARSE" run --batch --yes --audit "$tmp/a1.jsonl" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "the backup cannot be taken: DUMP answered 'ERR unknown command" "$tmp/out" &&
    [ "$(cli DBSIZE)" = 300 ] && ! grep -q purge.intent "$tmp/a1.jsonl"
ok $? "DUMP renamed away: the purge is refused at the preview, before confirmation, nothing deleted"
kill $rpid; wait $rpid 2>/dev/null

# 2. An ACL user without PTTL: refused the same way, naming NOPERM.
start_redis --enable-debug-command yes
cli ACL SETUSER ops on '>pw-for-ops' '~*' '+@all' '-pttl' >/dev/null
fill anp:page:/blog/p 300
runbook "$tmp/acl.yml" "anp:page:/blog/*" ops
RH_PW=pw-for-ops "$REHEARSE" run --batch --yes --audit "$tmp/a2.jsonl" "$tmp/acl.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "PTTL answered 'NOPERM" "$tmp/out" && [ "$(cli DBSIZE)" = 300 ]
ok $? "a user without PTTL: refused at the preview (NOPERM named), nothing deleted"

# 3. Round trip of hard keys and values, every TTL case.
cli FLUSHALL >/dev/null
cli SET "$(printf 'anp:page:/blog/nl\nkey')" v >/dev/null
printf 'SET "anp:page:/blog/nul\\x00key" nulvalue\nSET "anp:page:/blog/ff\\xffkey" "\\xff\\x00\\x1b[31m"\nSET "anp:page:/blog/esc\\x1b]0;owned\\x07" v PX 600000\nSET anp:page:/blog/none v\nRPUSH anp:page:/blog/list a b c\nHSET anp:page:/blog/hash f "\\x00\\xff"\n' | cli >/dev/null
head -c 10485760 /dev/urandom >"$tmp/big"
cli -x SET anp:page:/blog/big <"$tmp/big" >/dev/null
cli -x SET "$(printf 'anp:page:/blog/big2')" <"$tmp/big" >/dev/null
cli EXPIRE anp:page:/blog/big2 3600 >/dev/null
fill anp:page:/blog/p 300
keys=$(cli DBSIZE)
# redis-cli unescapes \xHH only in what it reads from stdin.
digest() { printf 'DEBUG DIGEST-VALUE anp:page:/blog/big anp:page:/blog/big2 anp:page:/blog/none anp:page:/blog/list anp:page:/blog/hash "anp:page:/blog/nul\\x00key" "anp:page:/blog/ff\\xffkey" "anp:page:/blog/esc\\x1b]0;owned\\x07" "anp:page:/blog/nl\\nkey"\n' | cli | tr '\n' ' '; }
before=$(digest)
runbook "$tmp/rb.yml" "anp:page:/blog/*"
"$REHEARSE" run --batch --yes --audit "$tmp/a3.jsonl" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && [ "$(cli DBSIZE)" = 0 ] && [ "$keys" = 309 ] && ! echo "$before" | grep -q 0000000000000000
ok $? "a backed-up purge of $keys keys (NUL, newline, 0xff, ESC, 10 MB, a list, a hash) deletes them all"
bk="$tmp/.backups/a3.step1.backup.jsonl"
"$REHEARSE" restore --audit "$tmp/r3.jsonl" "$tmp/rb.yml" "$bk" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && grep -q "restored 309 keys, 0 kept" "$tmp/out" && [ "$(digest)" = "$before" ]
ok $? "restore puts every one back, byte for byte"
t1=$(printf 'PTTL "anp:page:/blog/esc\\x1b]0;owned\\x07"\n' | cli); t2=$(cli PTTL anp:page:/blog/none); t3=$(cli TTL anp:page:/blog/big2)
[ "$t1" -gt 500000 ] && [ "$t1" -le 600000 ] && [ "$t2" = -1 ] && [ "$t3" -gt 3500 ] && [ "$t3" -le 3600 ]
ok $? "TTLs come back: a PX one less the time spent ($t1 ms), none stays none, an EX one ($t3 s)"

# 4. A key saved with little TTL left is counted as expired, not restored.
cli FLUSHALL >/dev/null
cli SET anp:page:/blog/short v PX 300 >/dev/null
cli SET anp:page:/blog/long v >/dev/null
"$REHEARSE" run --batch --yes --audit "$tmp/a4.jsonl" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
sleep 0.5
"$REHEARSE" restore --audit "$tmp/r4.jsonl" "$tmp/rb.yml" "$tmp/.backups/a4.step1.backup.jsonl" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && grep -q "restored 1 keys, 0 kept (they exist; --replace overwrites), 1 expired" "$tmp/out" &&
    [ "$(cli EXISTS anp:page:/blog/short)" = 0 ]
ok $? "a key whose TTL ran out in the backup is counted as expired"

# 5. The audit log of a restore names the backup's absolute path and hash.
cd "$tmp" && "$REHEARSE" restore --replace --audit r5.jsonl rb.yml .backups/a3.step1.backup.jsonl >out 2>err
rc=$?; cd - >/dev/null
last=$(tail -n 1 "$bk" | sed 's/.*"hash":"\([0-9a-f]*\)"}$/\1/')
[ $rc = 0 ] && grep -q "\"type\":\"restore.intent\".*\"backup\":\"$tmp/.backups/a3.step1.backup.jsonl\",\"backup_hash\":\"$last\"" "$tmp/r5.jsonl" &&
    grep -q "\"type\":\"purge.done\".*\"backup\":\"$tmp/.backups/a3.step1.backup.jsonl\",\"backup_hash\":\"$last\"" "$tmp/a3.jsonl"
ok $? "purge.done and restore.intent record the backup's absolute path and hash"

# 6. Tampering: an edited value, a removed line.
sed '3s/"pttl":-1/"pttl":99/' "$bk" >"$tmp/edited.jsonl"
cli FLUSHALL >/dev/null
"$REHEARSE" restore --audit "$tmp/r6.jsonl" "$tmp/rb.yml" "$tmp/edited.jsonl" >"$tmp/out" 2>"$tmp/err"
rc=$?
grep -q -- '-1' "$bk" && [ $rc = 1 ] && grep -q "edited.jsonl: line 3: the hash does not match" "$tmp/err" && [ "$(cli DBSIZE)" = 0 ]
ok $? "an edited backup is refused, naming the line; nothing restored"
sed '5d' "$bk" >"$tmp/cut.jsonl"
"$REHEARSE" restore --audit "$tmp/r7.jsonl" "$tmp/rb.yml" "$tmp/cut.jsonl" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "line 5: its prev does not name the line before" "$tmp/err" && [ "$(cli DBSIZE)" = 0 ]
ok $? "a backup with a line removed is refused"
head -n 100 "$bk" >"$tmp/short.jsonl"
"$REHEARSE" restore --audit "$tmp/r8.jsonl" "$tmp/rb.yml" "$tmp/short.jsonl" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && grep -q "no end line" "$tmp/err" && grep -q "restored 99 keys" "$tmp/out"
ok $? "a backup cut short (a killed purge) restores what it holds, with a warning"

{ cat "$tmp/short.jsonl"; printf '{"type":"key","key_b64":"YWJj'; } >"$tmp/torn.jsonl"
cli FLUSHALL >/dev/null
"$REHEARSE" restore --audit "$tmp/r8b.jsonl" "$tmp/rb.yml" "$tmp/torn.jsonl" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && grep -q "a torn last line was ignored" "$tmp/err" && grep -q "restored 99 keys" "$tmp/out"
ok $? "a torn last line (a crash while writing) is ignored with a warning"

# 7. Keys outside the route's patterns are refused unless --any-key.
cli FLUSHALL >/dev/null
runbook "$tmp/narrow.yml" "anp:page:/blog/p1*"
"$REHEARSE" restore --audit "$tmp/r9.jsonl" "$tmp/narrow.yml" "$tmp/short.jsonl" >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] && grep -q "matches none of route blog's patterns" "$tmp/err" && [ "$(cli DBSIZE)" = 0 ]
ok $? "a key outside the route's patterns is refused before anything is restored"
"$REHEARSE" restore --any-key --audit "$tmp/r10.jsonl" "$tmp/narrow.yml" "$tmp/short.jsonl" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && [ "$(cli DBSIZE)" = 99 ]
ok $? "--any-key restores them anyway"

# 8. Sealed with the audit key.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/key"; chmod 600 "$tmp/key"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/key2"; chmod 600 "$tmp/key2"
"$REHEARSE" run --batch --yes --audit "$tmp/s.jsonl" --audit-key "$tmp/key" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
sb="$tmp/.backups/s.step1.backup.jsonl"
"$REHEARSE" restore --audit "$tmp/r11.jsonl" "$tmp/rb.yml" "$sb" >"$tmp/out" 2>"$tmp/err"
r1=$?
"$REHEARSE" restore --audit "$tmp/r12.jsonl" --audit-key "$tmp/key2" "$tmp/rb.yml" "$sb" >"$tmp/out" 2>"$tmp/err"
r2=$?
grep -q "sealed with the audit key [0-9a-f]*, not with" "$tmp/err"; r3=$?
"$REHEARSE" restore --audit "$tmp/r13.jsonl" --audit-key "$tmp/key" "$tmp/rb.yml" "$sb" >"$tmp/out" 2>"$tmp/err"
[ $r1 = 2 ] && [ $r2 = 1 ] && [ $r3 = 0 ] && [ $? = 0 ] && grep -q "restored 99 keys" "$tmp/out"
ok $? "a sealed backup needs its audit key: none or another is refused"
"$REHEARSE" restore --audit "$tmp/r14.jsonl" --audit-key "$tmp/key" "$tmp/rb.yml" "$bk" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "not sealed, but an audit key was given" "$tmp/err"
ok $? "with an audit key, an unsealed backup is refused"

# 9. Not a regular file: refused at once, no hang.
mkfifo "$tmp/fifo"
timeout 5 "$REHEARSE" restore --audit "$tmp/r15.jsonl" "$tmp/rb.yml" "$tmp/fifo" >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] && grep -q "fifo: not a regular file" "$tmp/err"
ok $? "a FIFO is refused without blocking"
printf '{"type":"backup"}\000\n' >"$tmp/nul.jsonl"
"$REHEARSE" restore --audit "$tmp/r16.jsonl" "$tmp/rb.yml" "$tmp/nul.jsonl" >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] && grep -q "nul.jsonl: line 1: a NUL byte" "$tmp/err"
ok $? "a NUL byte in a backup is a named error"

# 10. Over several groups (the next backed up while the one before is
# deleted), MONITOR shows every key's DUMP and PTTL before its UNLINK.
cli FLUSHALL >/dev/null
cli DEBUG POPULATE 45000 anp:page:/blog/m >/dev/null
runbook "$tmp/many.yml" "anp:page:/blog/*"
sed -i 's/max_keys: 5000/max_keys: 50000/' "$tmp/many.yml"
cli monitor >"$tmp/monitor" 2>&1 &
mpid=$!
sleep 0.2
"$REHEARSE" run --batch --yes --audit "$tmp/m.jsonl" "$tmp/many.yml" >"$tmp/out" 2>"$tmp/err"
rc=$?
sleep 0.5
kill $mpid; wait $mpid 2>/dev/null
awk '{
	for (i = 1; i <= NF; i++) gsub(/"/, "", $i)
	if ($4 == "DUMP") dumped[$5] = 1
	else if ($4 == "PTTL") { if (!($5 in dumped)) bad++; timed[$5] = 1 }
	else if ($4 == "UNLINK") for (i = 5; i <= NF; i++) { n++; if (!($i in timed)) bad++ }
} END { print n + 0, bad + 0; exit !(n == 45000 && bad == 0) }' "$tmp/monitor" >"$tmp/order"
o=$?
[ $rc = 0 ] && [ $o = 0 ] && [ "$(cli DBSIZE)" = 0 ] &&
    [ "$(grep -c '"type":"key"' "$tmp/.backups/m.step1.backup.jsonl")" = 45000 ]
ok $? "45000 keys in nine groups: every UNLINKed key had its DUMP and PTTL first ($(cat "$tmp/order"))"

# 11. Backups are not logs: the picker's glob and verify of the state dir.
cli FLUSHALL >/dev/null
fill anp:page:/blog/p 10
XDG_STATE_HOME="$tmp/state" "$REHEARSE" run --batch --yes "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && ls "$tmp"/state/rehearse/.backups/*.backup.jsonl >/dev/null 2>&1 &&
    "$REHEARSE" verify "$tmp"/state/rehearse/* >"$tmp/out" 2>"$tmp/err"
ok $? "backups go to .backups/ of the state dir; verify of the state dir's files passes"

echo "1..$n"
