#!/bin/sh
# purge_backup.sh: the deletion phase of a purge of 50,000 keys, plain and
# with backup: true, against a private redis-server; the median "ms" of the
# purge.done record over a few runs each, and the ratio backup/plain (the
# goal: at most 2x).  Beside it, the floor measured in the same run: the
# DUMP and PTTL of every key, pipelined by redis-cli --pipe with nothing
# written anywhere, which no backup can beat, and the backed-up purge's
# ratio to plain + that floor.  Run by hand or with `make bench`.
# Usage: purge_backup.sh [KEYS] [RUNS]
set -eu
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
keys=${1:-50000}
runs=${2:-3}
tmp=$(mktemp -d)
rpid=
trap '[ -n "$rpid" ] && kill "$rpid" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$top_srcdir/tests/lib.sh"
start_redis --enable-debug-command yes
for mode in false true; do
	cat >"$tmp/$mode.yml" <<EOR
runbook: purge benchmark
owner: bench
redis: { url: "redis://127.0.0.1:$rport/0", timeout_ms: 5000 }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"], max_keys: $((keys + 1)) }
steps:
  - { title: Purge, purge: { route: blog, backup: $mode } }
EOR
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for mode in false true; do
	: >"$tmp/ms.$mode"
	r=0
	while [ $r -lt "$runs" ]; do
		redis-cli -p "$rport" FLUSHALL >/dev/null
		redis-cli -p "$rport" DEBUG POPULATE "$keys" anp:page:/blog/post 64 >/dev/null
		"$REHEARSE" run --batch --yes --audit "$tmp/$mode.$r.jsonl" "$tmp/$mode.yml" >/dev/null 2>&1
		sed -n 's/.*"type":"purge.done".*"deleted":\([0-9]*\).*"ms":\([0-9.]*\).*/\1 \2/p' \
		    "$tmp/$mode.$r.jsonl" >"$tmp/done"
		read -r deleted ms <"$tmp/done"
		[ "$deleted" = "$keys" ] || { echo "a run deleted $deleted of $keys" >&2; exit 1; }
		echo "$ms" >>"$tmp/ms.$mode"
		rm -rf "$tmp/.backups"
		r=$((r + 1))
	done
done
# The floor: every key's DUMP and PTTL through redis-cli --pipe.
awk -v n="$keys" 'BEGIN {
	for (i = 0; i < n; i++) {
		k = "anp:page:/blog/post:" i
		printf "*2\r\n$4\r\nDUMP\r\n$%d\r\n%s\r\n", length(k), k
		printf "*2\r\n$4\r\nPTTL\r\n$%d\r\n%s\r\n", length(k), k
	}
}' >"$tmp/pipe"
: >"$tmp/ms.floor"
r=0
while [ $r -lt "$runs" ]; do
	redis-cli -p "$rport" FLUSHALL >/dev/null
	redis-cli -p "$rport" DEBUG POPULATE "$keys" anp:page:/blog/post 64 >/dev/null
	t0=$(date +%s%N)
	redis-cli -p "$rport" --pipe <"$tmp/pipe" >/dev/null
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000 )) | awk '{ printf "%.1f\n", $1 / 1000 }' >>"$tmp/ms.floor"
	r=$((r + 1))
done
floor=$(median <"$tmp/ms.floor")
plain=$(median <"$tmp/ms.false")
backup=$(median <"$tmp/ms.true")
awk -v k="$keys" -v n="$runs" -v p="$plain" -v b="$backup" -v f="$floor" 'BEGIN {
	printf "keys                 %d (64-byte values), median of %d runs\n", k, n
	printf "purge, plain         %.0f ms\n", p
	printf "purge, backup: true  %.0f ms\n", b
	printf "ratio backup/plain   %.2fx (goal: at most 2x)\n", b / p
	printf "floor: DUMP+PTTL of every key (redis-cli --pipe) %.0f ms = %.2fx plain\n", f, f / p
	printf "ratio backup/(plain + floor) %.2fx\n", b / (p + f)
}'
