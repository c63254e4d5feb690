#!/bin/bash
# scan_budget.sh: what an open, idle dashboard costs the watched server.
# For each database size (BENCH_KEYS, default 1M and 5M keys made by DEBUG
# POPULATE, all matching the runbook's route): PING p50/p99 of the idle
# server, then with the dashboard open in tmux and left alone, over
# BENCH_SECONDS (default 60) each; the server time SCAN took in that
# window (INFO commandstats, reset at its start) against the wall time; and
# the ratios.  Beside it, what an unpaced walk costs (the behaviour before
# pacing, which re-walked as soon as the last walk ended): one walk by
# `rehearse check`, its SCAN time against its wall time.
# Targets: SCAN at most 5% of the server's time, PING p99 within 1.5x of
# the idle server's.  Run by hand or with `make bench`.
set -u
: "${REHEARSE:=./rehearse}" "${PINGLAT:=./tests/tools/pinglat}" "${top_srcdir:=.}"
: "${BENCH_SECONDS:=60}" "${BENCH_KEYS:=1000000 5000000}" "${BENCH_PINGS:=2000}"
REHEARSE=$(cd "$(dirname "$REHEARSE")" && pwd)/$(basename "$REHEARSE")
PINGLAT=$(cd "$(dirname "$PINGLAT")" && pwd)/$(basename "$PINGLAT")
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
tmux_cols=130

scan_usec() {
	redis-cli -p "$rport" INFO commandstats | tr -d '\r' |
	    sed -n 's/^cmdstat_scan:.*usec=\([0-9]*\),usec_per_call.*/\1/p' |
	    grep . || echo 0
}
now_us() { echo $(( $(date +%s%N) / 1000 )); }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f%%", (b > 0 ? 100 * a / b : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }'; }
field() { sed -n "s/.* $1 \([0-9.]*\).*/\1/p"; }

echo "scan_budget: ${BENCH_SECONDS} s windows, ${BENCH_PINGS} pings each"
for keys in $BENCH_KEYS; do
	start_redis --enable-debug-command yes || { echo "no redis-server"; exit 1; }
	redis-cli -p "$rport" DEBUG POPULATE "$keys" pg 10 >/dev/null
	cat >"$tmp/rb.yml" <<EOR
runbook: scan budget
owner: bench
redis: { url: "redis://127.0.0.1:$rport/0", timeout_ms: 2000 }
routes:
  - { name: pages, keys: ["pg:*"] }
steps:
  - { title: look, manual: look }
EOR
	echo "== $(redis-cli -p "$rport" DBSIZE) keys"
	idle=$("$PINGLAT" "$rport" "$BENCH_PINGS" "$BENCH_SECONDS") || exit 1
	echo "idle server            $idle"

	start "$REHEARSE" run --read-only "$tmp/rb.yml"
	wait_for "pages: (count|counting)" 20 || { screen; exit 1; }
	redis-cli -p "$rport" CONFIG RESETSTAT >/dev/null
	t0=$(now_us)
	dash=$("$PINGLAT" "$rport" "$BENCH_PINGS" "$BENCH_SECONDS") || exit 1
	wall=$(( $(now_us) - t0 ))
	scan=$(scan_usec)
	state=$(screen | sed -n 's/.*\(pages: .*\)/\1/p' | sed 's/ *$//')
	t kill-server 2>/dev/null
	echo "dashboard open, idle   $dash"
	echo "  SCAN time            ${scan} us of ${wall} us wall = $(pct "$scan" "$wall")   (target <= 5%)"
	echo "  PING p50 ratio       $(ratio "$(echo "$dash" | field p50)" "$(echo "$idle" | field p50)")"
	echo "  PING p99 ratio       $(ratio "$(echo "$dash" | field p99)" "$(echo "$idle" | field p99)")   (target <= 1.5x)"
	echo "  screen at the end    $state"

	# Unpaced, as before pacing: one walk back to back, as check does it.
	redis-cli -p "$rport" CONFIG RESETSTAT >/dev/null
	t0=$(now_us)
	"$REHEARSE" check "$tmp/rb.yml" >/dev/null 2>&1
	wall=$(( $(now_us) - t0 ))
	scan=$(scan_usec)
	echo "unpaced walk (check)   SCAN ${scan} us of ${wall} us wall = $(pct "$scan" "$wall") (re-walked back to back before pacing)"
	kill "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	rpid=
done
