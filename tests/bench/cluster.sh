#!/bin/sh
# cluster.sh: counting and purging a route's keys across a Redis Cluster
# against the floor.  A 3-primary cluster (no replicas, tests/cluster_lib.sh)
# holds 3,000,000 keys (64-byte values), 50,000 of them the route's
# (anp:page:/blog/post<i>, spread over all slots by clusterkit load).  Each
# run, interleaved so that both see the same machine:
#   floor  `clusterkit floor`: for each primary, one after another, a
#          blocking SCAN MATCH COUNT 1000 walk, then UNLINK grouped by slot
#          (200 keys or one slot a command, pipelined): each shard's time
#          is what a single-node purge of its keys costs; the slowest and
#          the sum are kept;
#   ours   `rehearse run --batch --yes` of a purge runbook of the route:
#          its time is the preview (step.start to purge.preview in the
#          audit log: the count over every primary) plus the deletion
#          (purge.done "ms"); the wall time of the whole run (start,
#          connections, topology, audit log, exit) is printed beside it.
# The 50,000 keys are loaded again before every measurement; the other
# 2,950,000 stay.  Printed: the medians, ours / slowest shard's floor (the
# issue's goal: at most 1.2, the shards working at the same time) and ours
# / the floor's total, and each primary's SCAN server time during our run
# (INFO commandstats usec_per_call; the goal: near a millisecond).
# Run by hand or with `make bench`.
# Usage: cluster.sh [TOTAL_KEYS] [ROUTE_KEYS] [RUNS]
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
: "${CLUSTERKIT:=$top_builddir/tests/tools/clusterkit}"
total=${1:-3000000}
route=${2:-50000}
runs=${3:-3}
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cluster_lib.sh"
kit() { "$CLUSTERKIT" "$@"; }
die() { echo "cluster.sh: $*" >&2; exit 1; }

cluster_start bench 3 0 || die "no cluster"
seed=${cl_primaries%% *}
t0=$(now_ms)
kit load "$seed" anp:page:/shop/item $((total - route)) --value-bytes 64 2>/dev/null ||
    die "cannot load the other keys"
echo "# $((total - route)) other keys loaded in $(( $(now_ms) - t0 )) ms" >&2
cat >"$tmp/rb.yml" <<EOR
runbook: cluster purge benchmark
owner: bench
redis: { url: "redis://127.0.0.1:$seed/0", timeout_ms: 5000 }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"], max_keys: $((route + 1)) }
steps:
  - { title: Purge, purge: blog }
EOR
reload() {
	kit load "$seed" anp:page:/blog/post "$route" --value-bytes 64 2>/dev/null &&
	    [ "$(kit count "$seed" 'anp:page:/blog/*' 2>/dev/null)" = "$route" ] ||
	    die "cannot load the route's keys"
}
# ms_of TS: milliseconds of the day of an ISO time (2026-12-02T10:01:23.779Z).
ms_of() { echo "$1" | awk -F'[T:Z]' '{ printf "%.0f\n", ($2 * 3600 + $3 * 60 + $4) * 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
: >"$tmp/floor.slowest"; : >"$tmp/floor.total"; : >"$tmp/ours"; : >"$tmp/wall"
: >"$tmp/preview"; : >"$tmp/delete"
ours_ok=1
why=
r=0
while [ $r -lt "$runs" ]; do
	reload
	cl_resetstat
	kit floor "$seed" 'anp:page:/blog/*' >"$tmp/floor.$r" || die "the floor failed"
	[ "$(awk '/^shard/ { s += $4 } END { print s }' "$tmp/floor.$r")" = "$route" ] ||
	    die "the floor deleted $(awk '/^shard/ { s += $4 } END { print s }' "$tmp/floor.$r") of $route"
	sed 's/^/# floor: /' "$tmp/floor.$r" >&2
	awk '/^slowest_ms/ { print $2 >>"'"$tmp/floor.slowest"'"; print $4 >>"'"$tmp/floor.total"'" }' "$tmp/floor.$r"
	for p in $cl_primaries; do
		echo "# floor SCAN on $p: $(cl_cli "$p" INFO commandstats | tr -d '\r' |
		    sed -n 's/^cmdstat_scan:\(calls=[0-9]*\).*\(usec_per_call=[0-9.]*\).*/\1 \2/p')" >&2
	done
	[ $ours_ok = 1 ] || { r=$((r + 1)); continue; }
	reload
	cl_resetstat
	t0=$(now_ms)
	"$REHEARSE" run --batch --yes --audit "$tmp/a.$r.jsonl" "$tmp/rb.yml" \
	    >"$tmp/out.$r" 2>&1
	st=$?
	wall=$(( $(now_ms) - t0 ))
	done_line=$(grep '"type":"purge.done"' "$tmp/a.$r.jsonl" 2>/dev/null)
	# The record's own "deleted" and "ms" come first (then the shards').
	deleted=$(echo "$done_line" | grep -o '"deleted":[0-9]*' | head -1 | cut -d: -f2)
	if [ $st != 0 ] || [ "$deleted" != "$route" ]; then
		ours_ok=0
		why="exit $st, deleted '${deleted:-none}' of $route: $(grep -m1 -E 'fail|refused|error' "$tmp/out.$r")"
		r=$((r + 1))
		continue
	fi
	[ "$(cl_total)" = $((total - route)) ] || die "our purge left $(cl_total) keys, not $((total - route))"
	start=$(ms_of "$(grep '"type":"step.start"' "$tmp/a.$r.jsonl" | sed -n 's/.*"ts":"\([^"]*\)".*/\1/p')")
	prev=$(ms_of "$(grep '"type":"purge.preview"' "$tmp/a.$r.jsonl" | sed -n 's/.*"ts":"\([^"]*\)".*/\1/p')")
	del=$(echo "$done_line" | grep -o '"ms":[0-9.]*' | head -1 | cut -d: -f2)
	echo $((prev - start)) >>"$tmp/preview"
	echo "$del" >>"$tmp/delete"
	echo "$((prev - start)) $del" | awk '{ print $1 + $2 }' >>"$tmp/ours"
	echo "$wall" >>"$tmp/wall"
	echo "# ours: preview $((prev - start)) ms, deletion $del ms, wall $wall ms" >&2
	for p in $cl_primaries; do
		echo "$p $(cl_cli "$p" INFO commandstats | tr -d '\r' |
		    sed -n 's/^cmdstat_scan:calls=\([0-9]*\),usec=\([0-9]*\),usec_per_call=\([0-9.]*\).*/\1 \2 \3/p')"
	done >"$tmp/scan.$r"
	r=$((r + 1))
done

slowest=$(median <"$tmp/floor.slowest")
ftotal=$(median <"$tmp/floor.total")
echo "keys                 $total on 3 primaries (64-byte values), $route of the route, median of $runs runs"
echo "floor, slowest shard $slowest ms"
echo "floor, all shards    $ftotal ms (one after another)"
if [ $ours_ok = 0 ]; then
	echo "ours                 not measured: $why"
	exit 1
fi
ours=$(median <"$tmp/ours")
awk -v o="$ours" -v p="$(median <"$tmp/preview")" -v d="$(median <"$tmp/delete")" \
    -v w="$(median <"$tmp/wall")" -v s="$slowest" -v t="$ftotal" 'BEGIN {
	printf "ours                 %.0f ms (preview %.0f + deletion %.0f; wall %.0f)\n", o, p, d, w
	printf "ratio ours/slowest   %.2fx (goal: at most 1.2x)\n", o / s
	printf "ratio ours/total     %.2fx\n", o / t
}'
last=$((runs - 1))
while read -r p calls usec per; do
	printf 'SCAN on %s          %s calls, %s usec, %s usec per call\n' "$p" "$calls" "$usec" "$per"
done <"$tmp/scan.$last"
