#!/bin/sh
# cluster_hostile.sh: rehearse against a Redis Cluster node that lies
# (tests/tools/badredis, cluster modes): a topology of 5000 nodes, slot
# ranges out of 0..16383 or backwards, a CLUSTER SHARDS reply of 2,000,000
# elements, MOVED or ASK to itself forever, TRYAGAIN forever.  For each,
# `rehearse check` and `rehearse run --batch --yes` of a purge must end
# within 15 s with exit 1 or 2 and an error that names the problem -- no
# crash (no signal, no sanitizer report, no core), no escape sequence, no
# claim that a key was deleted, an audit log that verifies.  The baseline
# (cluster-ok: a one-node cluster owning every slot) must purge its 3 keys.
# Redirections are only met by keyed commands, which a check does not send:
# there the check need only end in time, without a crash.  Speaks TAP.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
REHEARSE=$(cd "$(dirname "$REHEARSE")" && pwd)/$(basename "$REHEARSE")
: "${BADREDIS:=$top_builddir/tests/tools/badredis}"
BADREDIS=$(cd "$(dirname "$BADREDIS")" && pwd)/$(basename "$BADREDIS")
tmp=$(mktemp -d)
bpid=
. "$top_srcdir/tests/lib.sh"
cleanup_hook() { [ -z "$bpid" ] || kill "$bpid" 2>/dev/null; }
cd "$tmp" || exit 1

# bad MODE: (re)starts badredis in MODE; its port in $bport; the runbook
# $tmp/rb.yml purges the route's keys on it.
bad() {
	[ -n "$bpid" ] && { kill "$bpid"; wait "$bpid" 2>/dev/null; }
	rm -f "$tmp/bport"
	"$BADREDIS" "$tmp/bport" "$1" 2>"$tmp/badredis.err" &
	bpid=$!
	_i=0
	while [ ! -s "$tmp/bport" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	bport=$(cat "$tmp/bport")
	cat >"$tmp/rb.yml" <<EOR
runbook: hostile cluster
owner: ops
redis: { url: "redis://127.0.0.1:$bport/0", timeout_ms: 1000 }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"], max_keys: 50000 }
steps:
  - { title: Purge the blog pages, purge: blog }
EOR
}

# runit WHAT: `rehearse WHAT` on $tmp/rb.yml (check, or run --batch --yes),
# bounded by timeout 20; $st, $took (ms), $tmp/out, $tmp/err, $tmp/a.jsonl.
runit() {
	rm -f "$tmp/a.jsonl" "$tmp"/core*
	_t0=$(now_ms)
	if [ "$1" = check ]; then
		timeout 20 "$REHEARSE" check "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
	else
		timeout 20 "$REHEARSE" run --batch --yes --audit "$tmp/a.jsonl" \
		    "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
	fi
	st=$?
	took=$(( $(now_ms) - _t0 ))
}

# sane: no crash, no sanitizer report, no core, no escape, in time.
sane() {
	[ $st -lt 124 ] && [ $took -lt 15000 ] &&
	    ! grep -q -E 'AddressSanitizer|LeakSanitizer|runtime error:|Assertion' \
	        "$tmp/out" "$tmp/err" &&
	    ! ls "$tmp"/core* >/dev/null 2>&1 &&
	    ! LC_ALL=C grep -q "$(printf '\033')" "$tmp/out" "$tmp/err"
}
# named REGEX: the error names the problem, and not the old refusal.
named() {
	grep -q -i -E -- "$1" "$tmp/out" "$tmp/err" &&
	    ! grep -q 'not supported yet' "$tmp/out" "$tmp/err"
}
# nothing_claimed: the audit log verifies and says no key was deleted.
nothing_claimed() {
	[ -s "$tmp/a.jsonl" ] && "$REHEARSE" verify "$tmp/a.jsonl" >/dev/null 2>&1 &&
	    ! grep -q '"deleted":[1-9]' "$tmp/a.jsonl"
}

# The baseline ----------------------------------------------------------
bad cluster-ok
runit check
[ $st = 0 ] && sane && grep -q 'cluster' "$tmp/out"
ok $? "cluster-ok: check passes against a one-node cluster (exit $st, $took ms)"
runit run
[ $st = 0 ] && sane && [ -s "$tmp/a.jsonl" ] &&
    grep -q '"type":"purge.done".*"deleted":3' "$tmp/a.jsonl"
ok $? "cluster-ok: the purge deletes the 3 keys the node has (exit $st, $took ms)"

# case MODE REGEX CHECK-EXIT DESCRIPTION: check and run against MODE.
# CHECK-EXIT: "fail" (1 or 2, named) or "any" (0 or 1: the check sends
# nothing the mode lies about).
hostile() {
	bad "$1"
	runit check
	if [ "$3" = fail ]; then
		{ [ $st = 1 ] || [ $st = 2 ]; } && sane && named "$2"
		ok $? "$1: check ends with a named error (exit $st, $took ms): $4"
	else
		{ [ $st = 0 ] || [ $st = 1 ]; } && sane
		ok $? "$1: check ends in time without a crash (exit $st, $took ms)"
	fi
	runit run
	{ [ $st = 1 ] || [ $st = 2 ]; } && sane && named "$2" && nothing_claimed
	ok $? "$1: run --batch --yes fails with a named error, deletes nothing (exit $st, $took ms): $4"
}

hostile cluster-many-nodes 'nodes|topology' fail "5000 nodes, over the bound"
hostile cluster-bad-slots 'slot' fail "ranges 9000-8500 and 16000-17000"
hostile cluster-huge-shards 'topology|element|too (many|large|big)|reply|bound' fail \
    "a 2,000,000-element CLUSTER SHARDS"
hostile cluster-moved-loop 'redirect|MOVED' any "MOVED to itself forever"
hostile cluster-ask-loop 'redirect|ASK' any "ASK to itself forever"
hostile cluster-tryagain 'TRYAGAIN|redirect|retr' any "TRYAGAIN forever"

# The hostile modes left badredis as it was: it still answers.
[ "$(redis-cli -p "$bport" PING 2>/dev/null)" = PONG ]
ok $? "badredis still answers after the runs"

echo "1..$n"
