#!/bin/sh
# purge_liar.sh: a purge against tests/tools/unlinkliar, a server that lies:
# an UNLINK answer outside 0..batch size is a protocol error (the batch is in
# doubt, never counted as deleted), and a DUMP error in the middle of a
# backed-up purge fails the batch before any UNLINK is sent.  Speaks TAP.
# Needs $REHEARSE and $UNLINKLIAR.
set -u
: "${REHEARSE:=./rehearse}" "${UNLINKLIAR:=./tests/tools/unlinkliar}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
lpid=
. "$top_srcdir/tests/lib.sh"
cleanup_hook() { [ -z "$lpid" ] || kill "$lpid" 2>/dev/null; }
liar() {	# liar ARGS...: starts the liar, sets $lport
	[ -n "$lpid" ] && { kill "$lpid"; wait "$lpid"; } 2>/dev/null
	rm -f "$tmp/port" "$tmp/log"
	"$UNLINKLIAR" --port-file "$tmp/port" --log "$tmp/log" "$@" &
	lpid=$!
	i=0
	while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	lport=$(cat "$tmp/port")
}
runbook() {	# runbook BACKUP [MAX_KEYS]
	cat >"$tmp/rb.yml" <<EOR
runbook: a liar
owner: ops
redis: { url: "redis://127.0.0.1:$lport/0", timeout_ms: 1000 }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"], max_keys: ${2:-5000} }
steps:
  - { title: Purge the blog pages, purge: { route: blog, backup: $1 } }
EOR
}

for lie in 8 -1 18446744073709551615; do
	liar --keys 3 --unlink "$lie"
	runbook false
	"$REHEARSE" run --batch --yes --audit "$tmp/a$n.jsonl" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc = 1 ] && grep -q "protocol error: UNLINK of 3 keys answered" "$tmp/out" &&
	    grep -q '"type":"purge.done".*"deleted":0,.*"in_doubt":3' "$tmp/a$n.jsonl" &&
	    ! grep -q "deleted [1-9]" "$tmp/out"
	ok $? "UNLINK answering $lie for 3 keys: a protocol error, the batch in doubt, never counted"
done

# Three batches pipelined in one group (backup: true): the first answer is
# a lie, so the connection is reset and the other two are in doubt too.
liar --keys 500 --unlink 999
runbook true
"$REHEARSE" run --batch --yes --audit "$tmp/c.jsonl" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "protocol error: UNLINK of 200 keys answered 999" "$tmp/out" &&
    grep -q '"type":"purge.done".*"deleted":0,"gone":0,"in_doubt":500' "$tmp/c.jsonl"
ok $? "a lie on the first of three pipelined batches: all 500 keys in doubt, none counted"

# 500 keys: the probe and the first 299 DUMPs are honest, then NOPERM.
liar --keys 500 --dump-error 300
runbook true
"$REHEARSE" run --batch --yes --audit "$tmp/b.jsonl" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 1 ] && grep -q "DUMP answered 'NOPERM" "$tmp/out" && ! grep -q UNLINK "$tmp/log" &&
    grep -q '"type":"purge.done".*"deleted":0,' "$tmp/b.jsonl"
ok $? "a DUMP error in the middle of a backed-up purge fails it before any UNLINK"
bk=$(ls "$tmp"/.backups/b.step1.backup.jsonl 2>/dev/null)
[ -n "$bk" ] && [ "$(wc -l <"$bk")" = 2 ] && grep -q '"type":"end","state":"failed","saved":0' "$bk"
ok $? "its backup holds no key of the failed batch, and says the purge failed"

# 12000 keys, groups of 5000: the probe, the first group and 1000 DUMPs of
# the second are honest, then NOPERM.  The first group is synced, then
# unlinked PURGE_DEPTH (3) batches at a time, with the second group's DUMPs
# already sent before its first UNLINK (Redis does not wait for the sync).
# The error stops the purge: the UNLINKs in flight are answered, no other
# is sent, so at least 3 batches and at most the first group go, nothing of
# the second; the backup holds exactly the first group, and the rest of
# the keys are counted as not touched.
liar --keys 12000 --dump-error 7002
runbook true 12000
"$REHEARSE" run --batch --yes --audit "$tmp/g.jsonl" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
rc=$?
before=$(awk '$1 == "DUMP" { d++ } $1 == "UNLINK" { print d; exit }' "$tmp/log")
bk=$(ls "$tmp"/.backups/g.step1.backup.jsonl 2>/dev/null)
deleted=$(sed -n 's/.*"type":"purge.done".*"deleted":\([0-9]*\),.*/\1/p' "$tmp/g.jsonl")
untouched=$(sed -n 's/.*"type":"purge.done".*"untouched":\([0-9]*\),.*/\1/p' "$tmp/g.jsonl")
unlinks=$(grep -c '^UNLINK$' "$tmp/log")
echo "# deleted=${deleted:-none} untouched=${untouched:-none} UNLINKs=$unlinks, $before DUMPs before the first"
[ $rc = 1 ] && grep -q "DUMP answered 'NOPERM" "$tmp/out" &&
    [ -n "$deleted" ] && [ "$deleted" -ge 600 ] && [ "$deleted" -le 5000 ] &&
    [ $((deleted % 200)) = 0 ] && [ "$unlinks" = $((deleted / 200)) ] &&
    [ "$untouched" = $((12000 - deleted)) ] &&
    grep -q "^1 .*fail .*deleted $deleted of 12000 previewed (0 already gone, 0 in doubt) in [0-9]* ms; $untouched not touched" "$tmp/out" &&
    [ -n "$before" ] && [ "$before" -gt 5001 ] &&
    [ -n "$bk" ] && [ "$(grep -c '"type":"key"' "$bk")" = 5000 ] &&
    grep -q '"type":"end","state":"failed","saved":5000' "$bk"
ok $? "a DUMP error in the second group stops the purge: only keys of the first group (synced, with $before DUMPs of the second sent before the first UNLINK) are deleted, ${deleted:-?} of them, the rest not touched"

echo "1..$n"
