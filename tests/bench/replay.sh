#!/bin/bash
# replay.sh: `rehearse replay` on a 1,000,000-record log through a real
# terminal (tmux): start to first screen (target: within 1 s), the time to
# check the whole log in the background, and the peak RSS (which must not
# grow with the log).  The obvious alternatives for ratios: `less` showing
# the same file's first screen, and `rehearse verify` reading it whole.
# Run by hand or with `make bench`.  Times are polled through tmux every
# 2 ms: upper bounds.
set -u
: "${REHEARSE:=./rehearse}" "${AUDIT_TOOL:=./tests/tools/audit_tool}" "${top_srcdir:=.}"
REHEARSE=$(cd "$(dirname "$REHEARSE")" && pwd)/$(basename "$REHEARSE")
N=${N:-1000000}
tmp=$(mktemp -d)
sock="$tmp/tmux.sock"
cleanup() {
	tmux -S "$sock" kill-server 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
t() { tmux -S "$sock" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
screen() { t capture-pane -p -t rb; }

"$AUDIT_TOOL" synth "$tmp/big.jsonl" "$top_srcdir/runbooks/demo.yml" "$N"
bytes=$(stat -c %s "$tmp/big.jsonl")
cat "$tmp/big.jsonl" >/dev/null	# warm the page cache for both
t -f /dev/null new-session -d -s rb -x 120 -y 40 "sleep 600"

start=$(now_ms)
t respawn-pane -k -t rb "env LANG=C.UTF-8 /usr/bin/time -f %M -o $tmp/rss $REHEARSE replay $tmp/big.jsonl; sleep 600"
until screen | grep -q -E "^ +[0-9]+ records"; do sleep 0.002; done
first=$(( $(now_ms) - start ))
until screen | grep -q "intact: $N records"; do sleep 0.01; done
whole=$(( $(now_ms) - start ))
t send-keys -t rb G
sleep 0.3
t send-keys -t rb q
until [ -s "$tmp/rss" ]; do sleep 0.05; done
rss=$(cat "$tmp/rss")

start=$(now_ms)
t respawn-pane -k -t rb "env LESS= less $tmp/big.jsonl"
until screen | grep -q '"seq":3,'; do sleep 0.002; done
less_first=$(( $(now_ms) - start ))
t send-keys -t rb q

start=$(now_ms)
"$REHEARSE" verify -q "$tmp/big.jsonl"
verify=$(( $(now_ms) - start ))

echo "replay bench: $N records, $((bytes / 1048576)) MB"
echo "  first screen          $first ms (target 1000; less: $less_first ms, ratio $(awk "BEGIN { printf \"%.1f\", $first / ($less_first ? $less_first : 1) }"))"
echo "  whole log checked     $whole ms (rehearse verify: $verify ms, ratio $(awk "BEGIN { printf \"%.2f\", $whole / ($verify ? $verify : 1) }"))"
echo "  peak RSS              $((rss / 1024)) MB ($rss KB)"
[ "$first" -le 1000 ]
