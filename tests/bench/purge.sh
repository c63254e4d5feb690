#!/bin/sh
# purge.sh: the deletion phase of a plain purge (no backup) of 500,000 keys
# against a private redis-server: the median "ms" of the purge.done record
# over a few runs, beside the floor measured in the same run: the same
# UNLINKs (batches of 200 keys, as the purge sends them) pipelined by
# redis-cli --pipe, and the ratio purge/floor (the goal: at most 1.1x).
# Run by hand or with `make bench`.
# Usage: purge.sh [KEYS] [RUNS]
set -eu
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
keys=${1:-500000}
runs=${2:-5}
batch=200	# PURGE_BATCH in src/purge.h
tmp=$(mktemp -d)
rpid=
trap '[ -n "$rpid" ] && kill "$rpid" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$top_srcdir/tests/lib.sh"
start_redis --enable-debug-command yes
cat >"$tmp/rb.yml" <<EOR
runbook: purge benchmark
owner: bench
redis: { url: "redis://127.0.0.1:$rport/0", timeout_ms: 5000 }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"], max_keys: $((keys + 1)) }
steps:
  - { title: Purge, purge: blog }
EOR
populate() {
	redis-cli -p "$rport" FLUSHALL >/dev/null
	redis-cli -p "$rport" DEBUG POPULATE "$keys" anp:page:/blog/post 64 >/dev/null
}
# The floor's input: every key's UNLINK, $batch keys a command, in the
# order a SCAN walk finds them, as the purge sends them (in the order
# DEBUG POPULATE made them, Redis frees memory in address order and runs
# a third faster than on the same keys in any other order).
floor_input() {
	redis-cli -p "$rport" --scan --pattern 'anp:page:/blog/*' |
	awk -v b="$batch" '
	function flush(   j) {
		if (m == 0) return
		printf "*%d\r\n$6\r\nUNLINK\r\n", m + 1
		for (j = 0; j < m; j++)
			printf "$%d\r\n%s\r\n", length(k[j]), k[j]
		m = 0
	}
	{ k[m++] = $0; if (m == b) flush() }
	END { flush() }' >"$tmp/pipe"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
: >"$tmp/ms.purge"
: >"$tmp/ms.floor"
r=0
# Interleaved, so that both see the same machine.
while [ $r -lt "$runs" ]; do
	populate
	"$REHEARSE" run --batch --yes --audit "$tmp/a.$r.jsonl" "$tmp/rb.yml" >/dev/null 2>&1
	sed -n 's/.*"type":"purge.done".*"deleted":\([0-9]*\).*"ms":\([0-9.]*\).*/\1 \2/p' \
	    "$tmp/a.$r.jsonl" >"$tmp/done"
	read -r deleted ms <"$tmp/done"
	[ "$deleted" = "$keys" ] || { echo "a run deleted $deleted of $keys" >&2; exit 1; }
	echo "$ms" >>"$tmp/ms.purge"
	populate
	floor_input
	t0=$(date +%s%N)
	redis-cli -p "$rport" --pipe <"$tmp/pipe" >"$tmp/pipe.out"
	t1=$(date +%s%N)
	grep -q "errors: 0, replies: $(( (keys + batch - 1) / batch ))" "$tmp/pipe.out" ||
	    { echo "the floor's pipe failed: $(cat "$tmp/pipe.out")" >&2; exit 1; }
	[ "$(redis-cli -p "$rport" DBSIZE)" = 0 ] ||
	    { echo "the floor left keys behind" >&2; exit 1; }
	echo $(( (t1 - t0) / 1000 )) | awk '{ printf "%.1f\n", $1 / 1000 }' >>"$tmp/ms.floor"
	r=$((r + 1))
done
purge=$(median <"$tmp/ms.purge")
floor=$(median <"$tmp/ms.floor")
awk -v k="$keys" -v n="$runs" -v p="$purge" -v f="$floor" -v b="$batch" 'BEGIN {
	printf "keys                 %d (64-byte values), median of %d runs\n", k, n
	printf "purge, plain         %.0f ms\n", p
	printf "floor: UNLINK x %d (redis-cli --pipe) %.0f ms\n", b, f
	printf "ratio purge/floor    %.2fx (goal: at most 1.1x)\n", p / f
}'
